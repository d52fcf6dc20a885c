"""The clean mark of the repodata listings (issue 20): a no-op cycle compares no listing
while the files, the listings and the repomd.xml files are as when they last agreed;
anything else is compared again."""

from __future__ import annotations

import json
import os

from updraft.engine.engine import Engine
from updraft.engine.listing import Listings


def _marks(engine: Engine) -> dict[str, str]:
    return dict(json.loads((Listings(engine.layout).directory / "clean.json").read_text()))


def test_a_no_op_cycle_trusts_the_clean_mark_and_a_changed_file_breaks_it(
        engine: Engine) -> None:
    assert engine.update_repos().nothing_to_do
    marked = _marks(engine)
    assert "9" in marked
    compared = []
    original = Listings._compare

    def counting(self: Listings, *args: object, **kwargs: object) -> object:
        compared.append(args[0])
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    Listings._compare = counting  # type: ignore[method-assign]
    try:
        assert engine.update_repos().nothing_to_do
        assert "9" not in compared
        target = engine.layout.root / "9/smeupdates-testing/x86_64/RPMS"
        package = next(target.glob("*.rpm"))
        status = package.stat()
        os.utime(package, ns=(status.st_atime_ns, status.st_mtime_ns + 5 * 10**9))
        result = engine.update_repos()
    finally:
        Listings._compare = original  # type: ignore[method-assign]
    assert "9" in compared
    assert any("repodata out of date: 9/smeupdates-testing/x86_64" in w
               for w in result.plan.warnings), result.plan.warnings
    assert [t.label for t in result.rebuilt] == ["9/smeupdates-testing/x86_64"]
    assert engine.update_repos().nothing_to_do


def test_a_rewritten_listing_breaks_the_mark(engine: Engine) -> None:
    assert engine.update_repos().nothing_to_do
    listings = Listings(engine.layout)
    before = _marks(engine)["9"]
    listing = listings.directory / "9" / "smeupdates-testing" / "i386.json"
    listing.write_text(listing.read_text())  # same bytes, a new ctime: compared again
    assert listings._clean_key("9", engine.pure_plan().tree.releases["9"].fingerprint) != before


def test_after_a_change_only_the_arch_dirs_it_touched_are_compared(engine: Engine) -> None:
    """Each arch dir keeps a clean mark of its own: a file changed in one arch dir
    compares that one's listing, not the release's every listing (issue 20)."""
    assert engine.update_repos().nothing_to_do
    marks = _marks(engine)
    assert "9/smeupdates-testing/i386" in marks and "9/smetest/x86_64" in marks
    compared: list[str] = []
    original = Listings._differs

    def counting(self: Listings, target: object, *args: object) -> str:
        compared.append(target.label)  # type: ignore[attr-defined]
        return original(self, target, *args)  # type: ignore[arg-type]

    Listings._differs = counting  # type: ignore[method-assign]
    try:
        package = next((engine.layout.root / "9/smeupdates-testing/x86_64/RPMS").glob("*.rpm"))
        status = package.stat()
        os.utime(package, ns=(status.st_atime_ns, status.st_mtime_ns + 5 * 10**9))
        result = engine.update_repos()
    finally:
        Listings._differs = original  # type: ignore[method-assign]
    assert compared == ["9/smeupdates-testing/x86_64"]
    assert [t.label for t in result.rebuilt] == ["9/smeupdates-testing/x86_64"]
    assert engine.update_repos().nothing_to_do
