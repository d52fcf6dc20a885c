"""The demo tree: real SME RPMs where the config's layout says, built once and cached."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import rpm

from updraft.config.dist import DistConfig, load_config
from updraft.devkit import demo, rpmfactory

CONFIG_FILE = Path(__file__).resolve().parents[3] / "config" / "sme.yaml"
IAN = "Ian Wells <esmith@wellsi.com>"
EXPECTED_FILES = 46  # 13 SRPMs + 19 binaries + 14 extra hardlinks of noarch packages


@dataclass
class Demo:
    config: DistConfig
    root: Path
    cache: Path
    placed: list[Path]


def header(path: Path) -> rpm.hdr:
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    with open(path, "rb") as handle:
        return ts.hdrFromFdno(handle.fileno())


def snapshot(directory: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under directory -> (inode, size, mtime): any rewrite shows up."""
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            info = path.stat()
            found[str(path.relative_to(directory))] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return found


def rpms(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*.rpm"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    base = tmp_path_factory.mktemp("demo")
    config = load_config(CONFIG_FILE)
    placed = demo.build_demo_tree(config, base / "tree")
    return Demo(config, base / "tree", base / ".rpmcache", placed)


@pytest.fixture
def no_rpmbuild(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a cached demo ran a subprocess: {args}")

    monkeypatch.setattr(rpmfactory.subprocess, "run", refuse)


def test_every_package_lands_where_the_layout_says(built: Demo) -> None:
    assert len(built.placed) == EXPECTED_FILES
    assert sorted(str(path.relative_to(built.root)) for path in built.placed) == rpms(built.root)
    names = set(rpms(built.root))
    assert {
        "9/smeupdates-testing/SRPMS/clamav-0.97.5-2.rf.src.rpm",
        "9/smeupdates-testing/i386/RPMS/clamav-db-0.97.5-2.el4.rf.i386.rpm",
        "9/smeupdates-testing/x86_64/RPMS/clamd-0.97.5-2.el4.rf.x86_64.rpm",
        "9/smetest/SRPMS/clamav-0.97.6-1.rf.src.rpm",
        "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
        "9/smeupdates-testing/SRPMS/e-smith-base-5.0.0-14.el6.sme.src.rpm",
        "9/smeupdates-testing/i386/RPMS/e-smith-base-5.0.0-16.el6.sme.noarch.rpm",
        "9/smeos/x86_64/RPMS/e-smith-pop3-2.0.0-0.el6.sme.noarch.rpm",
        "9/smeos/SRPMS/e-smith-apache-2.0.0-5.el6.sme.src.rpm",
        "9/smedev/x86_64/RPMS/smeserver-newtool-0.1-1.el6.sme.noarch.rpm",
        "10/smeos/x86_64/RPMS/e-smith-base-5.6.0-1.el7.sme.noarch.rpm",
        "10/smeupdates-testing/SRPMS/e-smith-base-5.6.0-3.el7.sme.src.rpm",
        "10/smetest/SRPMS/clamav-0.103.8-1.el7.src.rpm",
        "10/smetest/x86_64/RPMS/clamav-db-0.103.8-1.el7.x86_64.rpm",
    } <= names
    # Arch packages only in their own arch dir; release 10 has no i386 at all.
    assert not [name for name in names if "/i386/" in name and name.endswith(".x86_64.rpm")]
    assert not [name for name in names if "/x86_64/" in name and name.endswith(".i386.rpm")]
    assert not [name for name in names if name.startswith("10/") and ".i386." in name]


def test_noarch_packages_are_hardlinked_into_both_release_9_arch_dirs(built: Demo) -> None:
    noarch = list(built.root.glob("9/*/i386/RPMS/*.noarch.rpm"))
    assert len(noarch) == 8
    for path in noarch:
        twin = Path(str(path).replace("/i386/", "/x86_64/"))
        assert path.stat().st_ino == twin.stat().st_ino
        assert path.stat().st_nlink == 2


def test_headers_match_the_seed(built: Demo) -> None:
    binary = header(built.root / "9/smetest/x86_64/RPMS/clamd-0.97.6-1.el4.rf.x86_64.rpm")
    assert binary[rpm.RPMTAG_NEVRA] == "clamd-0.97.6-1.el4.rf.x86_64"
    assert binary[rpm.RPMTAG_EPOCH] is None
    assert binary[rpm.RPMTAG_SOURCERPM] == "clamav-0.97.6-1.el4.rf.src.rpm"
    main = header(built.root / "9/smeupdates-testing/i386/RPMS/clamav-0.97.5-2.el4.rf.i386.rpm")
    assert main[rpm.RPMTAG_SUMMARY] == "Anti-virus software"
    assert main[rpm.RPMTAG_DESCRIPTION] == (
        "Clam AntiVirus is a GPL anti-virus toolkit for UNIX. The main purpose of this "
        "software is the integration with mail servers (attachment scanning)."
    )
    assert main[rpm.RPMTAG_SOURCERPM] == "clamav-0.97.5-2.el4.rf.src.rpm"
    source = header(built.root / "10/smetest/SRPMS/clamav-0.103.8-1.el7.src.rpm")
    assert source.isSource() and source[rpm.RPMTAG_RELEASE] == "1.el7"
    newer = header(built.root / "10/smetest/x86_64/RPMS/clamav-0.103.8-1.el7.x86_64.rpm")
    assert newer[rpm.RPMTAG_SOURCERPM] == "clamav-0.103.8-1.el7.src.rpm"


def test_clamav_changelog_is_dags(built: Demo) -> None:
    hdr = header(built.root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm")
    assert hdr[rpm.RPMTAG_CHANGELOGNAME][0] == "Dag Wieers <dag@wieers.com> - 0.97.6-1"
    assert hdr[rpm.RPMTAG_CHANGELOGTEXT][0] == "- Updated to release 0.97.6."
    when = datetime.datetime.fromtimestamp(hdr[rpm.RPMTAG_CHANGELOGTIME][0], datetime.UTC)
    assert when.date() == datetime.date(2012, 9, 23)


def test_esmith_changelogs_carry_the_bug_numbers_newest_first(built: Demo) -> None:
    hdr = header(
        built.root / "9/smeupdates-testing/i386/RPMS/e-smith-base-5.0.0-16.el6.sme.noarch.rpm"
    )
    names = hdr[rpm.RPMTAG_CHANGELOGNAME]
    assert names == [f"{IAN} - 5.0.0-{release}" for release in (16, 15, 14, 13)]
    texts = hdr[rpm.RPMTAG_CHANGELOGTEXT]
    assert [text.split("[SME: ")[-1].rstrip("]") for text in texts[:3]] == ["6262", "6248", "6104"]
    assert "Make CipherSuite secure by default [SME: 6262]" in texts[0]
    assert "[SME:" not in texts[3]
    times = hdr[rpm.RPMTAG_CHANGELOGTIME]
    assert times == sorted(times, reverse=True)
    assert {datetime.datetime.fromtimestamp(t, datetime.UTC).year for t in times} == {2012}
    older = header(built.root / "9/smeupdates-testing/SRPMS/e-smith-base-5.0.0-14.el6.sme.src.rpm")
    assert older[rpm.RPMTAG_CHANGELOGNAME] == [f"{IAN} - 5.0.0-14", f"{IAN} - 5.0.0-13"]
    el7 = header(
        built.root / "10/smeupdates-testing/x86_64/RPMS/e-smith-base-5.6.0-3.el7.sme.noarch.rpm"
    )
    assert "[SME: 11001]" in el7[rpm.RPMTAG_CHANGELOGTEXT][0]
    assert "[SME: 11000]" in el7[rpm.RPMTAG_CHANGELOGTEXT][1]


def test_esmith_modules_require_the_base(built: Demo) -> None:
    for path in (
        "9/smeos/i386/RPMS/e-smith-pop3-2.0.0-0.el6.sme.noarch.rpm",
        "9/smeupdates-testing/i386/RPMS/e-smith-apache-2.0.0-7.el6.sme.noarch.rpm",
    ):
        hdr = header(built.root / path)
        assert "R e-smith-base >= 5.0.0" in [dep.DNEVR() for dep in rpm.ds(hdr, "requires")]
        assert hdr[rpm.RPMTAG_ARCH] == "noarch"
    pop3 = header(
        built.root / "9/smeupdates-testing/x86_64/RPMS/e-smith-pop3-2.0.0-2.el6.sme.noarch.rpm"
    )
    assert pop3[rpm.RPMTAG_CHANGELOGNAME][:2] == [f"{IAN} - 2.0.0-2", f"{IAN} - 2.0.0-1"]
    assert "[SME: 4633]" in pop3[rpm.RPMTAG_CHANGELOGTEXT][1]


def test_every_file_has_valid_digests(built: Demo) -> None:
    paths = [str(path) for path in built.placed]
    done = subprocess.run(
        ["rpmkeys", "--checksig", "--nosignature", *paths], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = [line.rsplit(": ", 1)[1] for line in done.stdout.splitlines()]
    assert verdicts == ["digests OK"] * len(paths)


def test_a_second_call_builds_nothing_and_changes_nothing(built: Demo, no_rpmbuild: None) -> None:
    tree, cache = snapshot(built.root), snapshot(built.cache)
    assert demo.build_demo_tree(built.config, built.root) == []
    assert snapshot(built.root) == tree
    assert snapshot(built.cache) == cache


def test_a_fresh_tree_is_filled_from_the_cache(built: Demo, no_rpmbuild: None) -> None:
    root = built.root.parent / "fresh"
    placed = demo.build_demo_tree(built.config, root, cache_dir=built.cache)
    assert len(placed) == EXPECTED_FILES
    assert rpms(root) == rpms(built.root)
    # A copy, not a link into the cache: signing the tree must not rewrite the cache.
    cached = {path.stat().st_ino for path in built.cache.rglob("*.rpm")}
    assert not cached & {path.stat().st_ino for path in placed}


def test_a_tree_without_the_marker_only_gets_its_missing_files(
    built: Demo, no_rpmbuild: None
) -> None:
    root = built.root.parent / "partial"
    shutil.copytree(built.root, root, copy_function=os.link)
    (root / demo.MARKER).unlink()
    missing = root / "9/smetest/x86_64/RPMS/clamav-0.97.6-1.el4.rf.x86_64.rpm"
    missing.unlink()
    before = snapshot(root)
    assert demo.build_demo_tree(built.config, root, cache_dir=built.cache) == [missing]
    after = snapshot(root)
    assert {key: after[key] for key in before} == before
    assert (root / demo.MARKER).exists()


def test_cli_reports_what_it_placed(built: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    root = built.root.parent / "cli"
    assert demo.main(["--config", str(CONFIG_FILE), "--root", str(root)]) == 0
    assert capsys.readouterr().out == f"placed {EXPECTED_FILES} RPMs under {root}\n"
    assert demo.main(["--config", str(CONFIG_FILE), "--root", str(root)]) == 0
    assert capsys.readouterr().out.startswith(f"placed 0 RPMs under {root} (already seeded")
