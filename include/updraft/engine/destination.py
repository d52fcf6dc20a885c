"""Destination: the paths an apply may write, checked before a unit is applied.

A destination stays inside its area (the tree, or the state dir where the quarantine
lives) and passes no symbolic link on the way: a link pointing inside the tree
(RPMS -> ../../smeos/i386/RPMS) would write into frozen smeos. A source's directory
passes none either: deleting through a link would delete outside the tree.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from updraft.engine.action import Action
from updraft.safepath import UnsafePath, check_relative, contained, is_plain


def check_paths(root: Path, areas: tuple[Path, ...], unit: list[Action]) -> str:
    """Raise UnsafePath for a path of the unit that leaves its area or passes a link.

    A family's hundred files sit in a few dirs: each dir is resolved once per unit
    (the file itself is then only a plain name that must not be a link). A dir is
    known by its spelling in the plan; the first file of each spelling is checked as
    a Path, the others reuse what that found (a first cycle checks 17,000 files)."""
    checked: set[tuple[str, Path, str]] = set()
    sources: set[str] = set()
    # The dst dir's spelling -> (its area, its path relative to the area as a str).
    places: dict[str, tuple[Path, str]] = {}
    for action in unit:
        # The source's directory: deleting through a link would delete outside the tree.
        # (An absolute source is a file brought in from outside: an upstream mirror.)
        spelled = os.path.dirname(action.src)
        if spelled not in sources:
            parent = Path(action.src).parent
            if not parent.is_absolute() and str(parent) != "." and (
                    ("src", root, str(parent)) not in checked):
                contained(root, str(parent), "source directory")
                checked.add(("src", root, str(parent)))
            sources.add(spelled)
        if action.dst is None:
            continue
        spelled, _, name = action.dst.rpartition("/")
        place = places.get(spelled) if name not in ("", ".", "..") else None
        if place is not None:  # root / dst is place's dir / name: nothing to normalise
            known, directory = place
            _contained_name(known, name if directory == "." else f"{directory}/{name}")
            continue
        target = root / action.dst
        area = next((a for a in areas if target.is_relative_to(a)), None)
        if area is None:
            return f"{action.describe()}: {target} is outside the tree; family left as it was"
        relative = target.relative_to(area)
        _contained_file(area, relative, area == root, checked)
        if spelled and name not in ("", ".", ".."):
            places[spelled] = (area, str(relative.parent))
    return ""


def _contained_file(area: Path, relative: Path, first_may_link: bool,
                    checked: set[tuple[str, Path, str]]) -> None:
    """What contained(area, relative) checks, its directory resolved once per unit."""
    check_relative(str(relative), "destination")
    directory = relative.parent
    if ("dst", area, str(directory)) not in checked:
        if str(directory) != ".":
            try:
                contained(area, str(directory), "destination")
            except UnsafePath as exc:  # said of the file, as contained() of it says
                raise UnsafePath("destination", str(relative), exc.reason) from None
        no_link_below(area, directory, first_may_link=first_may_link)
        checked.add(("dst", area, str(directory)))
    if (area / relative).is_symlink():
        contained(area, str(relative), "destination")  # says where it leads
        raise UnsafePath("destination", str(relative), "is a symlink")


def _contained_name(area: Path, relative: str) -> None:
    """_contained_file for a file whose directory this unit already checked."""
    if not is_plain(os.path.basename(relative)):  # else its directory part is checked
        check_relative(relative, "destination")
    if _is_link(os.path.join(area, relative)):
        contained(area, relative, "destination")  # says where it leads
        raise UnsafePath("destination", relative, "is a symlink")


def _is_link(path: str) -> bool:
    """Path.is_symlink() of a str: False where the path is not there, other errors raise."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return False
        raise


def no_link_below(area: Path, relative: Path, first_may_link: bool) -> None:
    """No directory between area and the file is a link (one pointing inside the tree,
    RPMS -> ../../smeos/i386/RPMS, would write into frozen smeos). The release dir may
    be one: the ISO's `10 -> 10.0`."""
    current = area
    for number, part in enumerate(relative.parts):
        current = current / part
        if current.is_symlink() and not (number == 0 and first_may_link):
            raise UnsafePath("destination", str(relative), f"{current} is a symbolic link")
