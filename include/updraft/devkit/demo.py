"""The demo tree behind `make run`: real RPMs from the SME Server seeds, laid out by a config.

Built packages are cached by a hash of their spec, so a second tree (or a rebuilt one) costs
no rpmbuild run. A tree that has been seeded once is never touched again: the update cycle
moves packages around, and re-placing the originals would undo its work.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from updraft.config.dist import DistConfig, load_config, resolve_root
from updraft.devkit.rpmfactory import (
    BuiltFamily,
    ChangelogEntry,
    FamilySpec,
    Subpackage,
    build_families,
    render_spec,
)
from updraft.engine.layout import Layout
from updraft.errors import UpdraftError

MARKER = ".updraft-demo.json"  # at the tree root; lists what the first seeding placed
_CACHE_VERSION = "1"  # bump when the factory's output changes for the same spec
_MANIFEST = "manifest.json"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

DAG = "Dag Wieers <dag@wieers.com>"
IAN = "Ian Wells <esmith@wellsi.com>"
PACKAGER = "Packager <packager@example.org>"
CLAMAV_DESCRIPTION = (
    "Clam AntiVirus is a GPL anti-virus toolkit for UNIX. The main purpose of this software"
    " is the integration with mail servers (attachment scanning)."
)


@dataclass(frozen=True)
class DemoFamily:
    release: str
    repo: str
    spec: FamilySpec


# -- content -----------------------------------------------------------------------------


def _date(year: int, month: int, day: int) -> str:
    # Spelled out by hand: strftime's %a/%b follow the locale, rpm wants English.
    weekday = datetime.date(year, month, day).weekday()
    return f"{_DAYS[weekday]} {_MONTHS[month - 1]} {day:02d} {year}"


def _entry(when: tuple[int, int, int], author: str, evr: str, *lines: str) -> ChangelogEntry:
    return ChangelogEntry(date=_date(*when), author=author, evr=evr, lines=lines)


def _since(history: Sequence[ChangelogEntry], evr: str) -> tuple[ChangelogEntry, ...]:
    """A version's changelog: its own entry and every older one (history is newest first)."""
    index = next(i for i, entry in enumerate(history) if entry.evr == evr)
    return tuple(history[index:])


CLAMAV_HISTORY = (
    _entry((2012, 9, 23), DAG, "0.97.6-1", "- Updated to release 0.97.6."),
    _entry((2012, 7, 10), DAG, "0.97.5-2", "- Fixed the freshclam cron job mailing on success."),
    _entry((2012, 6, 18), DAG, "0.97.5-1", "- Updated to release 0.97.5."),
)
CLAMAV_EL7_HISTORY = (_entry((2023, 2, 16), PACKAGER, "0.103.8-1", "- Update to 0.103.8."),)

ESMITH_HISTORY = {
    "e-smith-base": (
        _entry((2012, 11, 14), IAN, "5.0.0-16", "- Make CipherSuite secure by default [SME: 6262]"),
        _entry((2012, 10, 30), IAN, "5.0.0-15", "- Keep the domain name on upgrade [SME: 6248]"),
        _entry((2012, 10, 2), IAN, "5.0.0-14", "- Drop ipchains from the console [SME: 6104]"),
        _entry((2012, 7, 2), IAN, "5.0.0-13", "- Roll new stream for SME Server 9."),
    ),
    "e-smith-pop3": (
        _entry((2012, 11, 14), IAN, "2.0.0-2", "- Secure CipherSuite for pop3s [SME: 6262]"),
        _entry((2012, 8, 20), IAN, "2.0.0-1", "- Remove the pop3 proxy templates [SME: 4633]"),
        _entry((2012, 7, 2), IAN, "2.0.0-0", "- Roll new stream for SME Server 9."),
    ),
    "e-smith-apache": (
        _entry((2012, 11, 20), IAN, "2.0.0-7", "- Disable weak SSL protocols [SME: 6769]"),
        _entry((2012, 8, 20), IAN, "2.0.0-6", "- Drop obsolete proxypass templates [SME: 4633]"),
        _entry((2012, 7, 10), IAN, "2.0.0-5", "- Fix ServerName for virtual domains."),
    ),
    "e-smith-base-el7": (
        _entry((2020, 6, 18), IAN, "5.6.0-3", "- Restart php-fpm on new certificates [SME: 11001]"),
        _entry((2020, 6, 11), IAN, "5.6.0-2", "- Fix the backup console menu [SME: 11000]"),
        _entry((2020, 5, 28), IAN, "5.6.0-1", "- Roll new stream for SME Server 10."),
    ),
    "smeserver-newtool": (_entry((2012, 12, 3), IAN, "0.1-1", "- Initial release."),),
}
# The demo Bugzilla's bugs (seed 000's soft-dependency example: only 6248 is not verified).
DEMO_BUGS = {
    6262: ("VERIFIED", "FIXED", "SME Server 9.X", "CipherSuite is not secure by default"),
    6248: ("RESOLVED", "FIXED", "SME Server 9.X", "Domain name lost on upgrade"),
    6104: ("VERIFIED", "FIXED", "SME Server 9.X", "Remove ipchains from the console"),
    4633: ("VERIFIED", "FIXED", "SME Server 9.X", "Remove the pop3 proxy templates"),
    6769: ("VERIFIED", "FIXED", "SME Server 9.X", "Disable weak SSL protocols"),
    11000: ("VERIFIED", "FIXED", "SME Server 10.X", "Backup console menu broken"),
    11001: ("VERIFIED", "FIXED", "SME Server 10.X", "php-fpm not restarted on new certs"),
    # The mission (README's walkthrough): the bugs our initscripts rebase cites (config's
    # policy changelog) and the bumped release package of the 10.1 ISO.
    7217: ("VERIFIED", "FIXED", "SME Server 9.X", "Run rc7.d scripts during runlevel 4"),
    8277: ("VERIFIED", "FIXED", "SME Server 9.X", "dmesg floods the console at boot"),
    8375: ("VERIFIED", "FIXED", "SME Server 9.X", "plymouth runs although disabled"),
    8635: ("VERIFIED", "FIXED", "SME Server 9.X", "Make slapd an alias for ldap"),
    11002: ("VERIFIED", "FIXED", "SME Server 10.X", "Bump smeserver-release to 10.1"),
}


def write_demo_bugs(path: Path) -> None:
    """The demo bugs as `python -m updraft.devkit.bugzilla_standin --bugs` reads them."""
    fields = {str(number): {"status": status, "resolution": resolution, "product": product,
                            "summary": summary}
              for number, (status, resolution, product, summary) in DEMO_BUGS.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fields, indent=1))


ESMITH_SUMMARY = {
    "e-smith-base": "e-smith server and gateway - base module",
    "e-smith-pop3": "e-smith module to configure and run the pop3 daemon",
    "e-smith-apache": "e-smith module to configure and run the apache web server",
    "smeserver-newtool": "A new tool nobody has packaged before",
}


def _clamav(version: str, release: str, dist: str, source_dist: str | None) -> FamilySpec:
    evr = f"{version}-{release}"
    history = CLAMAV_HISTORY if dist.startswith(".el4") else CLAMAV_EL7_HISTORY
    needs_main = (f"clamav = {evr}{dist}",)
    return FamilySpec(
        name="clamav",
        version=version,
        release=release,
        summary="Anti-virus software",
        description=CLAMAV_DESCRIPTION,
        url="http://www.clamav.net/",
        subpackages=(
            Subpackage("clamav-db", summary="Virus database for clamav", requires=needs_main),
            Subpackage("clamd", summary="The Clam AntiVirus daemon", requires=needs_main),
        ),
        changelog=_since(history, evr),
        binary_dist=dist,
        source_dist=source_dist,
    )


def _esmith(
    name: str, evr: str, dist: str, requires: tuple[str, ...] = (), history: str = ""
) -> FamilySpec:
    version, release = evr.split("-")
    return FamilySpec(
        name=name,
        version=version,
        release=release,
        summary=ESMITH_SUMMARY[name],
        url="http://www.contribs.org/",
        main_arch="noarch",
        requires=requires,
        changelog=_since(ESMITH_HISTORY[history or name], evr),
        binary_dist=dist,
    )


def demo_families() -> list[DemoFamily]:
    """The seeds' packages: what sits in which repo of which release."""
    el6 = ".el6.sme"
    base_req = ("e-smith-base >= 5.0.0",)
    nine = [
        ("smeupdates-testing", _clamav("0.97.5", "2", ".el4.rf", ".rf")),
        ("smetest", _clamav("0.97.6", "1", ".el4.rf", ".rf")),
        ("smeupdates-testing", _esmith("e-smith-base", "5.0.0-16", el6)),
        ("smeupdates-testing", _esmith("e-smith-base", "5.0.0-14", el6)),
        ("smeupdates-testing", _esmith("e-smith-pop3", "2.0.0-2", el6, base_req)),
        ("smeupdates-testing", _esmith("e-smith-apache", "2.0.0-7", el6, base_req)),
        ("smeos", _esmith("e-smith-base", "5.0.0-13", el6)),
        ("smeos", _esmith("e-smith-pop3", "2.0.0-0", el6, base_req)),
        ("smeos", _esmith("e-smith-apache", "2.0.0-5", el6, base_req)),
        ("smedev", _esmith("smeserver-newtool", "0.1-1", el6)),
    ]
    el7 = ".el7.sme"
    ten = [
        ("smeos", _esmith("e-smith-base", "5.6.0-1", el7, history="e-smith-base-el7")),
        ("smeupdates-testing", _esmith("e-smith-base", "5.6.0-3", el7, history="e-smith-base-el7")),
        ("smetest", _clamav("0.103.8", "1", ".el7", None)),
    ]
    return [DemoFamily("9", repo, spec) for repo, spec in nine] + [
        DemoFamily("10", repo, spec) for repo, spec in ten
    ]


# -- cache -------------------------------------------------------------------------------


def cache_key(spec: FamilySpec, arches: Sequence[str]) -> str:
    material = json.dumps(
        [_CACHE_VERSION, repr(spec), render_spec(spec), list(arches)], sort_keys=True
    )
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def _load_cached(entry: Path) -> BuiltFamily | None:
    try:
        manifest = json.loads((entry / _MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    family = BuiltFamily(entry / manifest["srpm"], [entry / name for name in manifest["binaries"]])
    return family if all(path.is_file() for path in family.files()) else None


def _store(cache_dir: Path, key: str, built: BuiltFamily) -> BuiltFamily:
    """Move a fresh build into the cache; the rename makes a half-written entry impossible."""
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_dir))
    for path in built.files():
        shutil.move(path, staging / path.name)
    manifest = {"srpm": built.srpm.name, "binaries": [path.name for path in built.binaries]}
    (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    entry = cache_dir / key
    try:
        os.rename(staging, entry)
    except OSError:
        # Another run stored the same key first (or a broken entry sits there): replace it.
        shutil.rmtree(entry, ignore_errors=True)
        os.rename(staging, entry)
    cached = _load_cached(entry)
    if cached is None:
        raise RuntimeError(f"cache entry {entry} is incomplete right after storing it")
    return cached


def build_cached(
    specs: Sequence[FamilySpec], arches: Sequence[str], cache_dir: Path
) -> list[BuiltFamily]:
    """Each spec's packages from the cache, building (in parallel) only the missing ones."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = [cache_key(spec, arches) for spec in specs]
    found = [_load_cached(cache_dir / key) for key in keys]
    missing = [index for index, family in enumerate(found) if family is None]
    if missing:
        with tempfile.TemporaryDirectory(prefix=".build-", dir=cache_dir) as scratch:
            built = build_families([specs[i] for i in missing], Path(scratch), arches)
            for index, family in zip(missing, built, strict=True):
                found[index] = _store(cache_dir, keys[index], family)
    return [family for family in found if family is not None]


# -- placing -----------------------------------------------------------------------------


def _package_arch(path: Path) -> str:
    # The factory names files NAME-VERSION-RELEASE.ARCH.rpm.
    return path.name.removesuffix(".rpm").rsplit(".", 1)[1]


def _place(source: Path, targets: list[Path]) -> list[Path]:
    """Copy into the first target, hardlink the rest to it; existing files stay untouched."""
    placed = []
    first = targets[0]
    if not first.exists():
        first.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, first)
        placed.append(first)
    for other in targets[1:]:
        if not other.exists():
            other.parent.mkdir(parents=True, exist_ok=True)
            os.link(first, other)
            placed.append(other)
    return placed


def _place_family(layout: Layout, item: DemoFamily, built: BuiltFamily) -> list[Path]:
    placed = _place(built.srpm, [layout.source_dir(item.release, item.repo) / built.srpm.name])
    for binary in built.binaries:
        archdirs = layout.archdirs_for(item.release, _package_arch(binary))
        if not archdirs:
            raise UpdraftError(
                f"release {item.release} has no arch directory for {binary.name}; "
                "add its arch to the config's releases"
            )
        dirs = [layout.binary_dir(item.release, item.repo, archdir) for archdir in archdirs]
        placed += _place(binary, [directory / binary.name for directory in dirs])
    return placed


def _check_config(config: DistConfig, families: Sequence[DemoFamily]) -> None:
    for item in families:
        config.check_release(item.release)
        config.check_repo(item.repo)


def build_demo_tree(config: DistConfig, root: Path, cache_dir: Path | None = None) -> list[Path]:
    """Seed root with the demo packages; return the files this call placed.

    Once seeded (the marker file exists) the tree is left as is and nothing is returned.
    """
    root = Path(root)
    marker = root / MARKER
    if marker.exists():
        return []
    cache = Path(cache_dir) if cache_dir is not None else root.parent / ".rpmcache"
    placed = place_families(config, root, demo_families(), cache)
    root.mkdir(parents=True, exist_ok=True)
    layout = Layout(config, root)
    listing = [layout.relative(path) for path in placed]
    marker.write_text(json.dumps({"placed": listing}, indent=1) + "\n")
    return placed


def place_families(config: DistConfig, root: Path, families: Sequence[DemoFamily],
                   cache: Path) -> list[Path]:
    """Build (or take from the cache) and place these families; return what was placed."""
    _check_config(config, families)
    layout = Layout(config, root)
    built: dict[int, BuiltFamily] = {}
    by_release: dict[str, list[int]] = {}
    for index, item in enumerate(families):
        by_release.setdefault(item.release, []).append(index)
    for release, indexes in by_release.items():
        # Arch directories are named after the arch whose packages they hold.
        arches = layout.archdirs(release)
        specs = [families[index].spec for index in indexes]
        built.update(zip(indexes, build_cached(specs, arches, cache), strict=True))
    placed: list[Path] = []
    for index, item in enumerate(families):
        placed += _place_family(layout, item, built[index])
    return placed


def build_mission(config: DistConfig, root: Path, cache_dir: Path | None = None) -> list[str]:
    """What the README's walkthrough needs beyond the seeded tree: the demo key, the
    served upstream (updraft.devkit.demo_upstream) and release 10 ready for its ISO
    (updraft.devkit.demo_iso), all next to the tree; each made once. Returns the upstream's
    files when this call published it."""
    from updraft.devkit import demo_iso, demo_upstream
    from updraft.devkit.demo_key import demo_key

    demo_dir = Path(root).parent
    cache = Path(cache_dir) if cache_dir is not None else demo_dir / ".rpmcache"
    key = demo_key(demo_dir / "keys")
    published = demo_upstream.prepare(config, Path(root), demo_dir, key, cache)
    demo_iso.prepare(config, Path(root), demo_dir, key)
    return published


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m updraft.devkit.demo", description="Seed a demo tree with real SME RPMs."
    )
    parser.add_argument("--config", help="the distribution config (YAML)")
    parser.add_argument("--bugs", help="only write the demo Bugzilla's bugs to this JSON file")
    parser.add_argument("--root", help="the tree root (default: the config's root)")
    parser.add_argument(
        "--cache-dir", help="where built RPMs are kept (default: ROOT/../.rpmcache)"
    )
    args = parser.parse_args(argv)
    if args.bugs:
        write_demo_bugs(Path(args.bugs))
        return 0
    if not args.config:
        parser.error("--config is required to seed a tree")
    try:
        config = load_config(args.config)
        root = resolve_root(config, args.root)
        cache = Path(args.cache_dir) if args.cache_dir else None
        seeded = (root / MARKER).exists()
        placed = build_demo_tree(config, root, cache)
        published = build_mission(config, root, cache)
    except (UpdraftError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    note = f" (already seeded: remove {root / MARKER} to seed again)" if seeded else ""
    print(f"placed {len(placed)} RPMs under {root}{note}")
    if published:
        # stderr: stdout's one line is what the tree got (scripts and tests read it)
        print(f"published the demo upstream ({len(published)} RPMs) under "
              f"{root.parent / 'upstream'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
