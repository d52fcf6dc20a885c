"""Seed 000's rebase-and-repatch on real SRPMs: rpmbuild -bp/-bs/--rebuild, no mocks."""

from __future__ import annotations

import datetime
import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest
import rpm
from specfile import Specfile

from tests.kits import rebasekit
from tests.kits.rebasekit import DEFAULT_FILES, make_patch, upstream_srpm
from updraft.build.rebase import PatchFailed, Rebased, RebaseRecipe, rebase
from updraft.config.build import RebaseSettings
from updraft.errors import ConfigError, UpdraftError

SYSINIT = DEFAULT_FILES["rc.sysinit"]
FUNCTIONS = DEFAULT_FILES["rc.d/init.d/functions"]
WHEN = datetime.date(2013, 1, 20)
PACKAGER = "Ian Wells <esmith@example.org>"
CARRIED = ("- Don't try to run plymouth if disabled [SME: 8375]",
           "  Code from Charlie Brady",
           "- Make slapd service an alias for ldap [SME: 8635]")


def _header(path: Path) -> rpm.hdr:
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    with path.open("rb") as handle:
        return ts.hdrFromFdno(handle.fileno())


def _payload(path: Path) -> dict[str, str]:
    """The package's files: path (no leading "/") -> text."""
    fd = rpm.fd.open(str(path))
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    header = ts.hdrFromFdno(fd)
    archive = rpm.files(header).archive(rpm.fd.open(fd, flags=header["payloadcompressor"]))
    files = {entry.name.removeprefix(".").lstrip("/"): archive.read().decode(errors="replace")
             for entry in archive if entry.size}
    fd.close()
    return files


def _patch(tmp: Path, name: str, old: str, new: str, path: str) -> Path:
    target = tmp / "patches" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(make_patch(old, new, path))
    return target


def _prep_lines(spec: Path) -> list[str]:
    with Specfile(spec, sourcedir=spec.parent) as parsed, parsed.sections() as sections:
        return list(sections.prep)


# -- initscripts: upstream's Patch0, then our two patches ---------------------------------------

UPSTREAM_FIX = make_patch(SYSINIT, SYSINIT.replace("# step 3\n", "# step three\n"), "rc.sysinit")
DMESG = SYSINIT.replace("dmesg -s 131072", "dmesg -s 262144")
PLYMOUTH = FUNCTIONS.replace("plymouth --ping\n", "[ -x /bin/plymouth ] && plymouth --ping\n")


@dataclass(frozen=True)
class Initscripts:
    upstream: Path
    rebased: Rebased
    binary: Path  # rpmbuild --rebuild of the rebased SRPM


@pytest.fixture(scope="module")
def initscripts(tmp_path_factory: pytest.TempPathFactory) -> Initscripts:
    tmp = tmp_path_factory.mktemp("initscripts")
    upstream = upstream_srpm(tmp, patches={"initscripts-upstream-fix.patch": UPSTREAM_FIX})
    recipe = RebaseRecipe(
        patches=(_patch(tmp, "initscripts-dmesg.patch", SYSINIT, DMESG, "rc.sysinit"),
                 _patch(tmp, "initscripts-plymouth.patch", FUNCTIONS, PLYMOUTH,
                        "rc.d/init.d/functions")),
        carried=CARRIED, packager=PACKAGER)
    rebased = rebase(upstream, recipe, tmp / "work", bug="9001", when=WHEN, dist=".el6")
    topdir = tmp / "rebuild"
    done = rebasekit.rpmbuild(["--rebuild", str(rebased.srpm)], topdir, ".el6")
    assert done.returncode == 0, done.stdout
    (binary,) = (topdir / "RPMS").rglob("*.rpm")
    return Initscripts(upstream, rebased, binary)


def test_the_new_srpm_carries_our_release_and_changelog(initscripts: Initscripts) -> None:
    rebased = initscripts.rebased
    assert rebased.srpm == rebased.srpm.parent.parent / "out" / \
        "initscripts-9.03.49-1.el6.1.src.rpm"
    assert (rebased.name, rebased.version, rebased.release) == \
        ("initscripts", "9.03.49", "1.el6.1")
    header = _header(rebased.srpm)
    assert header.isSource() and header[rpm.RPMTAG_RELEASE] == "1.el6.1"
    assert header[rpm.RPMTAG_CHANGELOGTEXT][0] == "\n".join(
        ["- Rebase on upstream 9.03.49-1 [SME: 9001]", *CARRIED])
    assert header[rpm.RPMTAG_CHANGELOGNAME][0] == f"{PACKAGER} - 9.03.49-1.el6.1"
    assert header[rpm.RPMTAG_CHANGELOGNAME][1].startswith("Upstream Builder")
    assert rebased.changelog == (f"* Sun Jan 20 2013 {PACKAGER} - 9.03.49-1.el6.1",
                                 "- Rebase on upstream 9.03.49-1 [SME: 9001]", *CARRIED)
    assert "Release: 1%{?dist}.1" in rebased.spec.read_text().splitlines()


def test_our_patches_follow_upstreams(initscripts: Initscripts) -> None:
    spec = initscripts.rebased.spec.read_text().splitlines()
    assert spec.index("Patch0: initscripts-upstream-fix.patch") + 1 == \
        spec.index("Patch2000: initscripts-dmesg.patch")
    assert "Patch2001: initscripts-plymouth.patch" in spec
    prep = _prep_lines(initscripts.rebased.spec)
    assert prep[prep.index("%patch0 -p1"):][:3] == \
        ["%patch0 -p1", "%patch2000 -p1", "%patch2001 -p1"]
    in_srpm = set(_payload(initscripts.rebased.srpm))
    assert {"initscripts-dmesg.patch", "initscripts-plymouth.patch"} <= in_srpm


def test_the_rebuilt_package_holds_our_patched_files(initscripts: Initscripts) -> None:
    files = _payload(initscripts.binary)
    sysinit = files["usr/share/initscripts/rc.sysinit"]
    assert "dmesg -s 262144" in sysinit and "# step three" in sysinit  # ours and upstream's
    assert files["usr/share/initscripts/rc.d/init.d/functions"] == PLYMOUTH
    assert _header(initscripts.binary)[rpm.RPMTAG_RELEASE] == "1.el6.1"


# -- patches that no longer apply -------------------------------------------------------------

def test_a_patch_whose_context_changed_upstream_fails(tmp_path: Path) -> None:
    # Upstream 9.03.50 reworded the line right above dmesg: our patch's context is gone.
    newer = SYSINIT.replace("# step 9\n", "# step nine\n")
    upstream = upstream_srpm(tmp_path, version="9.03.50", files={
        "rc.sysinit": newer, "rc.d/init.d/functions": FUNCTIONS})
    dmesg = _patch(tmp_path, "initscripts-dmesg.patch", SYSINIT, DMESG, "rc.sysinit")
    plymouth = _patch(tmp_path, "initscripts-plymouth.patch", FUNCTIONS, PLYMOUTH,
                      "rc.d/init.d/functions")
    recipe = RebaseRecipe(patches=(plymouth, dmesg))
    with pytest.raises(PatchFailed) as caught:
        rebase(upstream, recipe, tmp_path / "work", dist=".el6")
    failed = caught.value
    assert failed.patch == "initscripts-dmesg.patch"
    assert "@@" in failed.hunk and "-dmesg -s 131072" in failed.hunk
    assert str(failed) == (
        f"initscripts-9.03.50-1.el6.src.rpm: our patch initscripts-dmesg.patch no longer "
        f"applies (Hunk #1 FAILED at 9): refresh it in {tmp_path / 'patches'} and build again")
    assert "FAILED" in failed.log and len(failed.log.splitlines()) <= 40
    assert not any((tmp_path / "work" / "out").glob("*"))
    again = pickle.loads(pickle.dumps(failed))  # a worker hands it to its caller pickled
    assert (str(again), again.patch, again.hunk) == (str(failed), failed.patch, failed.hunk)


def test_an_upstream_patch_that_fails_is_named(tmp_path: Path) -> None:
    broken = make_patch(FUNCTIONS.replace("# helper 3", "# helper x"), FUNCTIONS,
                        "rc.d/init.d/functions")
    upstream = upstream_srpm(tmp_path, patches={"initscripts-broken.patch": broken})
    dmesg = _patch(tmp_path, "initscripts-dmesg.patch", SYSINIT, DMESG, "rc.sysinit")
    with pytest.raises(PatchFailed) as caught:
        rebase(upstream, RebaseRecipe(patches=(dmesg,)), tmp_path / "work")
    assert caught.value.patch == "initscripts-broken.patch"
    assert "upstream's patch initscripts-broken.patch" in str(caught.value)
    assert "\n" not in str(caught.value)


# -- numbering, %autosetup ----------------------------------------------------------------------

def test_numbers_upstream_uses_are_skipped(tmp_path: Path) -> None:
    second = make_patch(FUNCTIONS, FUNCTIONS.replace("# helper 1\n", "# helper one\n"),
                        "rc.d/init.d/functions")
    upstream = upstream_srpm(tmp_path, patches={"a.patch": UPSTREAM_FIX, "b.patch": second})
    dmesg = _patch(tmp_path, "initscripts-dmesg.patch", SYSINIT, DMESG, "rc.sysinit")
    rebased = rebase(upstream, RebaseRecipe(patches=(dmesg,), first_patch=1),
                     tmp_path / "work")
    assert "Patch2: initscripts-dmesg.patch" in rebased.spec.read_text().splitlines()
    prep = _prep_lines(rebased.spec)
    assert prep[prep.index("%patch1 -p1") + 1] == "%patch2 -p1"
    assert rebased.release == "1.1"  # no dist given: none in the name either


def test_autosetup_applies_our_patch_itself(tmp_path: Path) -> None:
    upstream = upstream_srpm(tmp_path, patches={"upstream.patch": UPSTREAM_FIX},
                             autosetup=True)
    dmesg = _patch(tmp_path, "initscripts-dmesg.patch", SYSINIT, DMESG, "rc.sysinit")
    rebased = rebase(upstream, RebaseRecipe(patches=(dmesg,)), tmp_path / "work")
    assert "Patch2000: initscripts-dmesg.patch" in rebased.spec.read_text().splitlines()
    prep = _prep_lines(rebased.spec)
    assert "%autosetup -p1" in prep and not any(line.startswith("%patch") for line in prep)
    topdir = rebased.spec.parent.parent
    assert rebasekit.rpmbuild(["-bp", str(rebased.spec)], topdir).returncode == 0
    sysinit = (topdir / "BUILD" / "initscripts-9.03.49" / "rc.sysinit").read_text()
    assert "dmesg -s 262144" in sysinit and "# step three" in sysinit


def test_autosetup_failure_is_pinned_on_our_patch(tmp_path: Path) -> None:
    # %autopatch runs `patch -s` with no "Patch #N" echo: only its trace names the file.
    upstream = upstream_srpm(tmp_path, files={
        "rc.sysinit": SYSINIT.replace("# step 9\n", "# step nine\n")}, autosetup=True)
    dmesg = _patch(tmp_path, "initscripts-dmesg.patch", SYSINIT, DMESG, "rc.sysinit")
    with pytest.raises(PatchFailed) as caught:
        rebase(upstream, RebaseRecipe(patches=(dmesg,)), tmp_path / "work")
    assert caught.value.patch == "initscripts-dmesg.patch"
    assert "(1 out of 1 hunk FAILED)" in str(caught.value)
    assert "-dmesg -s 131072" in caught.value.hunk


# -- samba: spec macros -------------------------------------------------------------------------

SAMBA_DESCRIPTION = "\n".join([
    "Samba for tests.", "%if %{with_dc}", "Built with the AD DC.", "%else",
    "Built without the AD DC.", "%endif", "%if 0%{?with_internal_ldb}",
    "Built with the internal ldb.", "%endif"])


def test_samba_macros_are_set_and_added(tmp_path: Path) -> None:
    upstream = upstream_srpm(tmp_path, name="samba", version="4.6.2", release="12",
                             files={"README": "samba\n"}, dist=".el7",
                             macros={"with_dc": "0", "with_mitkrb5": "1"},
                             description=SAMBA_DESCRIPTION)
    readme = _patch(tmp_path, "samba-readme.patch", "samba\n", "samba for SME\n", "README")
    recipe = RebaseRecipe(patches=(readme,), macros={"with_dc": "1", "with_mitkrb5": "0",
                                                     "with_internal_ldb": "1"})
    rebased = rebase(upstream, recipe, tmp_path / "work", dist=".el7", when=WHEN)
    with Specfile(rebased.spec, sourcedir=rebased.spec.parent) as spec, \
            spec.macro_definitions() as definitions:
        bodies = {definition.name: definition.body for definition in definitions}
    assert bodies == {"with_dc": "1", "with_mitkrb5": "0", "with_internal_ldb": "1"}
    assert "Built without the AD DC." in _header(upstream)[rpm.RPMTAG_DESCRIPTION]
    description = _header(rebased.srpm)[rpm.RPMTAG_DESCRIPTION]
    assert "Built with the AD DC." in description and "internal ldb" in description
    assert rebased.srpm.name == "samba-4.6.2-12.el7.1.src.rpm"
    assert rebased.changelog[1:] == ("- Rebase on upstream 4.6.2-12",)  # no bug, no carried
    # No %patchN lines upstream to imitate: the form every rpm accepts.
    prep = _prep_lines(rebased.spec)
    assert prep[prep.index("%setup -q") + 1] == "%patch -P 2000 -p1"
    assert _payload(rebased.srpm)["samba-readme.patch"].startswith("--- a/README")


# -- bad input ----------------------------------------------------------------------------------

def test_from_settings_resolves_and_checks_the_patches(tmp_path: Path) -> None:
    (tmp_path / "initscripts-dmesg.patch").write_text(make_patch("a\n", "b\n", "x"))
    settings = RebaseSettings(patches=("initscripts-dmesg.patch",), first_patch=10001,
                              macros={"with_dc": "1"}, changelog=CARRIED)
    recipe = RebaseRecipe.from_settings(settings, tmp_path, PACKAGER, bug_label="Bug")
    assert recipe.patches == (tmp_path / "initscripts-dmesg.patch",)
    assert (recipe.first_patch, recipe.carried, recipe.packager, recipe.bug_label) == \
        (10001, CARRIED, PACKAGER, "Bug")
    missing = RebaseSettings(patches=("initscripts-dmesg.patch", "gone.patch"))
    with pytest.raises(ConfigError, match="gone.patch: patch file not found"):
        RebaseRecipe.from_settings(missing, tmp_path, PACKAGER)


def test_input_that_is_no_source_rpm_is_refused(tmp_path: Path,
                                                initscripts: Initscripts) -> None:
    junk = tmp_path / "junk.src.rpm"
    junk.write_text("not an rpm\n")
    recipe = RebaseRecipe(patches=())
    with pytest.raises(UpdraftError, match="junk.src.rpm: not a readable RPM"):
        rebase(junk, recipe, tmp_path / "work")
    with pytest.raises(UpdraftError, match=f"{initscripts.binary.name}: a binary RPM"):
        rebase(initscripts.binary, recipe, tmp_path / "work")
