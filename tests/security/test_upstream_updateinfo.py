"""Real-world updateinfo never breaks a source (issue 15, §6).

updateinfo.xml written by hand as real mirrors carry it (added with modifyrepo_c):
malformed issued dates createrepo_c only reads partly, a URL where a file name belongs,
module collections, a package named in several advisories, missing and duplicate ids,
and a file createrepo_c cannot read at all. The unreadable advisory is skipped with a
warning naming it; the source's packages land and the readable advisories are linked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits import upstreamkit
from tests.kits.signing import SigningKey
from updraft.devkit.rpmfactory import BuiltFamily

pytestmark = pytest.mark.timeout(120)

TZ64 = "tzdata-2012i-2.el5.x86_64.rpm"


def _package(arch: str, filename: str | None = None) -> str:
    name = filename or f"tzdata-2012i-2.el5.{arch}.rpm"
    return (f'<package name="tzdata" version="2012i" release="2.el5" epoch="0" '
            f'arch="{arch}" src="tzdata-2012i-2.el5.src.rpm"><filename>{name}</filename>'
            "</package>")


def _update(body: str, kind: str = "security", ident: str | None = None,
            issued: str = "2012-11-26 10:47:31") -> str:
    id_line = f"<id>{ident}</id>" if ident is not None else ""
    return (f'<update from="centos@example.org" status="final" type="{kind}" version="1">'
            f"{id_line}<title>{ident or 'no id'}</title><release>CentOS 5</release>"
            f'<issued date="{issued}"/><severity>Important</severity>'
            '<references><reference href="https://cve.example.org/CVE-2012-0001" '
            'id="CVE-2012-0001" type="cve" title="CVE-2012-0001"/></references>'
            f"<description>x</description><pkglist>{body}</pkglist></update>")


def _collection(*packages: str, module: bool = False) -> str:
    module_line = ('<module name="tzdata" stream="2012" version="20121126" '
                   'context="abcdef12" arch="x86_64"/>') if module else ""
    return (f'<collection short="el5"><name>CentOS 5</name>{module_line}'
            f"{''.join(packages)}</collection>")


REAL_WORLD = "<?xml version='1.0' encoding='UTF-8'?><updates>" + "".join([
    _update(_collection(_package("x86_64")), ident="CESA-2012:BAD", issued="2019-13-45"),
    _update(_collection(_package("x86_64")), ident="CESA-2012:EMPTY", issued=""),
    _update(_collection(_package("i386"), _package("x86_64")), ident=None),
    _update(_collection(_package("x86_64", "https://mirror.example.org/evil/../../tz.rpm")),
            ident="CESA-2012:URL", kind="bugfix"),
    _update(_collection(_package("x86_64"), module=True), ident="CESA-2012:MODULE"),
    _update(_collection(_package("x86_64")), ident="CESA-2012:1474"),
    _update(_collection(_package("i386")), ident="CESA-2012:1474"),  # listed twice
]) + "</updates>"


@pytest.fixture
def case(tmp_path: Path, families: dict[str, BuiltFamily], keys: dict[str, SigningKey],
         signed: dict[str, Path]) -> Iterator[upstreamkit.Case]:
    made = upstreamkit.make_case(tmp_path, families, keys["centos"].public)
    upstreamkit.publish(made.served, upstreamkit.offer(signed, families,
                                                       ["tzdata-new", "libtevent-new"]))
    yield made
    made.server.stop()


def _carry(case: upstreamkit.Case, xml: str) -> None:
    for arch in upstreamkit.ARCHES:
        upstreamkit.add_updateinfo_xml(case.served / "centos" / arch, xml)


def test_unreadable_advisories_are_skipped_by_name_and_the_source_lands(
        case: upstreamkit.Case, caplog: pytest.LogCaptureFixture) -> None:
    _carry(case, REAL_WORLD)
    with caplog.at_level(logging.WARNING, logger="updraft.upstream.errata"):
        manifest, landed = case.run()

    assert manifest.status == "synced", manifest.reason
    assert case.has("smetest", "x86_64", TZ64) and case.has("smetest", "i386",
                                                            "tzdata-2012i-2.el5.i386.rpm")
    ids = sorted(advisory.id for advisory in manifest.advisories)
    assert ids == ["CESA-2012:1474", "CESA-2012:EMPTY", "CESA-2012:MODULE", "CESA-2012:URL"]
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    assert "advisory 'CESA-2012:BAD' skipped" in warnings and "2019-13-45" in warnings
    assert "has no id" in warnings and "CESA-2012:1474 listed again" in warnings
    # One package named by several advisories: each readable security one is linked.
    linked = sorted({link.advisory for link in landed.security})
    assert linked == ["CESA-2012:1474", "CESA-2012:EMPTY", "CESA-2012:MODULE"]
    assert all(link.family == "tzdata" for link in landed.security)


def test_an_updateinfo_createrepo_c_cannot_read_at_all_blocks_nothing(
        case: upstreamkit.Case, caplog: pytest.LogCaptureFixture) -> None:
    _carry(case, "<?xml version='1.0'?><updates><update type='security'><id>X</id><pkglist>")
    with caplog.at_level(logging.WARNING, logger="updraft.upstream.errata"):
        manifest, _ = case.run()
    assert manifest.status == "synced", manifest.reason
    assert manifest.advisories == []
    assert case.has("smetest", "x86_64", TZ64)
    assert any("unreadable updateinfo" in r.getMessage() for r in caplog.records)


def test_a_source_held_by_a_bad_advisory_recovers_on_the_next_run(
        case: upstreamkit.Case) -> None:
    """Today's failure mode: a traceback each run and nothing from the source lands
    again. The first run must already land, and a second changes nothing."""
    _carry(case, REAL_WORLD)
    first, _ = case.run()
    second, landed = case.run()
    assert first.status == second.status == "synced"
    assert landed.result.plan.empty  # already landed the first time
    assert case.state_of(TZ64) not in (None, "test failed")
