"""Safe paths: outside data (upstream metadata, RPM headers, file names) never chooses
where a file is written.

One shared check for every place that joins a name or relative path it did not make
itself onto a directory of ours: `contained` refuses absolute paths, `..` (also
URL-encoded), backslashes, NUL and control characters, and a path whose existing parts
resolve outside the area through a symlink; `plain_name` refuses anything but one plain
file name. Both raise UnsafePath, whose str() is one line naming what was refused and why.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path, PurePosixPath

from updraft.errors import UpdraftError


class UnsafePath(UpdraftError):
    """A name or relative path from outside would leave its area (or is no plain name)."""

    def __init__(self, what: str, value: str, reason: str) -> None:
        super().__init__(f"{what}: {value!r} refused: {reason}")
        self.what, self.value, self.reason = what, value, reason


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # NUL and the C0 control characters, DEL


def _problem(text: str) -> str:
    """Why `text` is no safe relative path (in any of its spellings); "" when it is."""
    if not text:
        return "empty"
    if _CONTROL.search(text):
        return "contains NUL or a control character"
    if "\\" in text:
        return "contains a backslash"
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return "is an absolute path"
    if any(part == ".." for part in text.split("/")):
        return "climbs out with '..'"
    return ""


def check_relative(relative: str, what: str) -> PurePosixPath:
    """`relative` as a path that stays below wherever it is joined, or UnsafePath.

    The URL-decoded spelling is checked too ("%2e%2e/x" is "../x" to any server or tool
    that decodes it), and decoding twice catches "%252e%252e".
    """
    spellings = [relative]
    for _ in range(2):
        spellings.append(urllib.parse.unquote(spellings[-1]))
    for spelling in dict.fromkeys(spellings):
        problem = _problem(spelling)
        if problem:
            encoded = " (URL-encoded)" if spelling != relative else ""
            raise UnsafePath(what, relative, problem + encoded)
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if not parts:
        raise UnsafePath(what, relative, "names no file")
    return PurePosixPath(*parts)


def contained(area: Path, relative: str, what: str) -> Path:
    """`area / relative`, guaranteed to be inside `area` on disk; UnsafePath otherwise.

    Existing parts of the path are resolved: a directory (or the file itself) that is a
    symlink pointing out of the area is refused, so writing to the result never lands
    outside it. The area itself may be reached through symlinks (it is ours).
    """
    clean = check_relative(relative, what)
    root = Path(os.path.realpath(area))
    target = Path(area, *clean.parts)
    resolved = Path(os.path.realpath(target))
    if resolved != root and not resolved.is_relative_to(root):
        raise UnsafePath(what, relative, f"resolves outside {area} (through a symlink)")
    if target.is_symlink():
        raise UnsafePath(what, relative, "is a symlink")
    return target


# Names made only of these, not starting with a dot, pass every check below in every
# spelling (no '%' to decode, no separator, no control character): the common case
# (every header field of a 20,000-RPM first scan) skips the general checks.
_PLAIN = re.compile(r"[A-Za-z0-9_+~^][A-Za-z0-9._+~^-]*")


def is_plain(name: str) -> bool:
    """Whether `name` is one plain file name by the quick pattern alone: True means
    plain_name would pass it; False means only that the general checks must decide."""
    return _PLAIN.fullmatch(name) is not None


def plain_name(name: str, what: str) -> str:
    """`name` when it is one plain file name (no directory part, not '.' or '..')."""
    if is_plain(name):
        return name
    if name in ("", ".", ".."):
        raise UnsafePath(what, name, "is no file name")
    clean = check_relative(name, what)
    if len(clean.parts) != 1 or clean.name != name:
        raise UnsafePath(what, name, "is not a plain file name (it has a directory part)")
    if urllib.parse.unquote(name) != name:
        raise UnsafePath(what, name, "is URL-encoded")
    return name
