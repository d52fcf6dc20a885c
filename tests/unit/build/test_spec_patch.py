"""Issue 21.2: a fork is more than patches — seed 000's spec patch (samba.spec.patch, a
unified diff of the spec applied with `patch`), on real SRPMs built by rpmbuild.

The samba test applies the very file config/sme.yaml ships (config/patches/samba/); the
initscripts test adds a %post line and an %install cleanup beside a source patch and
rebuilds the result, reading the scriptlet and the payload back from the binary RPM.
"""

from __future__ import annotations

import datetime
import json
import pickle
import tempfile
from pathlib import Path

import pytest
import rpm

from tests.kits import rebasekit
from tests.kits.rebasekit import (
    DEFAULT_FILES,
    PATCHES_DIR,
    SAMBA_SPEC,
    make_patch,
    samba_config,
    samba_srpm,
    upstream_srpm,
)
from tests.kits.treekit import sme_config
from updraft.build.builder_report import rebase_failed_mail
from updraft.build.rebase import PatchFailed, RebaseRecipe, SpecPatchFailed, rebase
from updraft.config.build import BuildOptions, RebaseSettings
from updraft.config.dist import load_config
from updraft.engine.engine import Engine
from updraft.errors import UpdraftError

WHEN = datetime.date(2017, 11, 2)
PACKAGER = "Jean-Philippe Pialasse <tests@example.org>"

def srpm_files(path: Path) -> dict[str, str]:
    fd = rpm.fd.open(str(path))
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    header = ts.hdrFromFdno(fd)
    archive = rpm.files(header).archive(rpm.fd.open(fd, flags=header["payloadcompressor"]))
    files = {entry.name.lstrip("./"): archive.read().decode(errors="replace")
             for entry in archive if entry.size}
    fd.close()
    return files


def samba_recipe() -> RebaseRecipe:
    policy = next(p for p in sme_config().policies if p.match == "samba*")
    assert policy.rebase is not None and policy.rebase.spec_patch == "samba/samba.spec.patch"
    return RebaseRecipe.from_settings(policy.rebase, PATCHES_DIR, PACKAGER)


def test_the_shipped_samba_spec_patch_applies_to_an_upstream_spec(tmp_path: Path) -> None:
    upstream = samba_srpm(tmp_path)
    rebased = rebase(upstream, samba_recipe(), tmp_path / "work", bug="10429", when=WHEN,
                     dist=".el7.sme")

    assert rebased.srpm.name == "samba-4.6.2-12.el7.sme.1.src.rpm"
    spec = srpm_files(rebased.srpm)["samba.spec"]
    assert "%global with_internal_ldb 1" in spec and "%global with_dc 1" in spec
    assert "%global with_mitkrb5 0" in spec
    assert "Summary: Samba libraries\nRequires: libldb\nGroup: " in spec  # the libs' Requires:
    assert "#Requires: pyldb\n" in spec and "\nRequires: pyldb\n" not in spec
    assert "for i in nmb smb winbind samba; do\n" in spec  # the %install loop
    assert "Environment=KRB5CCNAME=/run/samba/krb5cc_samba" in spec
    assert "- Rebase on upstream 4.6.2-12 [SME: 10429]" in spec
    # the Build? gate's note: the spec's lines moved, so the patch applied at offsets
    assert rebased.notes[0].startswith("spec patch samba/samba.spec.patch: applied, but "
                                       "not exactly (hunk 1: offset")
    assert f"refresh it in {PATCHES_DIR / 'samba'}" in rebased.notes[0]


def test_a_spec_patch_that_no_longer_applies_stops_before_building(tmp_path: Path) -> None:
    moved_on = SAMBA_SPEC.replace("Requires: pyldb\n", "Requires: python2-pyldb\n")
    upstream = samba_srpm(tmp_path, moved_on)
    work = tmp_path / "work"

    with pytest.raises(SpecPatchFailed) as caught:
        rebase(upstream, samba_recipe(), work, when=WHEN, dist=".el7.sme")

    error = caught.value
    assert "\n" not in str(error)
    assert str(error) == (
        "samba-4.6.2-12.el7.src.rpm: our spec patch samba/samba.spec.patch no longer applies "
        "to the new upstream samba.spec (1 of 5 hunks FAILED, first at line 465): update it "
        f"in {PATCHES_DIR / 'samba'} against the new spec and build again; nothing was built")
    assert error.patch == "samba/samba.spec.patch" and error.against == "spec"
    assert "-Requires: pyldb\n+#Requires: pyldb" in error.hunk  # the .rej content
    assert error.hunk.startswith("--- ")  # a unified .rej, as patch writes it
    assert "1 out of 5 hunks FAILED" in error.log
    assert not (work / "out").exists()  # nothing built
    spec = work / "rpmbuild" / "SPECS" / "samba.spec"
    assert spec.read_text() == moved_on  # and the upstream spec not half-patched
    again = pickle.loads(pickle.dumps(error))  # a worker hands it to its caller
    assert type(again) is SpecPatchFailed and again.hunk == error.hunk

    mail = rebase_failed_mail(sme_config(), release="10", srpm=upstream.name,
                              patch=error.patch, hunk=error.hunk, log=error.log,
                              owners=["updatesteam@lists.contribs.org"], against=error.against,
                              tool=error.tool)
    body = mail.get_content()
    assert "Our spec patch samba/samba.spec.patch no longer applies to the new upstream spec." \
        in body and "Update it in" in body and "--- last lines of patch ---" in body


def test_a_malformed_spec_patch_is_refused_with_patch_s_complaint(tmp_path: Path) -> None:
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "bad.spec.patch").write_text(
        "--- samba.spec\n+++ samba.spec\n@@ -1,3 +1,3 @@\n-%global with_dc 0\n")
    recipe = RebaseRecipe.from_settings(RebaseSettings(spec_patch="bad.spec.patch"),
                                        tmp_path / "patches", PACKAGER)
    with pytest.raises(SpecPatchFailed, match=r"bad.spec.patch no longer applies .*"
                                              r"\(patch: \*\*\*\* "):
        rebase(samba_srpm(tmp_path), recipe, tmp_path / "work", when=WHEN)


def test_spec_patch_settings_are_checked() -> None:
    for bad in ("/etc/passwd", "../outside.patch", " "):
        with pytest.raises(ValueError, match="a file under build.patches_dir"):
            RebaseSettings(spec_patch=bad)
    assert RebaseSettings(spec_patch="samba/samba.spec.patch").spec_patch


# -- initscripts: source patches and a spec patch with a %post line and an %install cleanup -----

SYSINIT = DEFAULT_FILES["rc.sysinit"]


def test_source_patches_and_a_spec_patch_together(tmp_path: Path) -> None:
    upstream = upstream_srpm(tmp_path)
    spec = srpm_files(upstream)["initscripts.spec"]
    ours = spec.replace("cp -a . %{buildroot}%{_datadir}/%{name}/\n",
                        "cp -a . %{buildroot}%{_datadir}/%{name}/\n"
                        "rm -rf %{buildroot}%{_datadir}/%{name}/rc.d\n")
    ours = ours.replace("\n%files\n", "\n%post\n/sbin/chkconfig --add sme-runlevel7 || :\n"
                                      "\n%files\n")
    patches = tmp_path / "patches"
    (patches / "initscripts").mkdir(parents=True)
    (patches / "initscripts" / "initscripts.spec.patch").write_text(
        make_patch(spec, ours, "initscripts.spec"))
    (patches / "initscripts" / "dmesg.patch").write_text(
        make_patch(SYSINIT, SYSINIT.replace("dmesg -s 131072", "dmesg -n 1 -s 131072"),
                   "rc.sysinit"))
    settings = RebaseSettings(patches=("initscripts/dmesg.patch",),
                              spec_patch="initscripts/initscripts.spec.patch")
    recipe = RebaseRecipe.from_settings(settings, patches, PACKAGER)

    rebased = rebase(upstream, recipe, tmp_path / "work", bug="8277", when=WHEN, dist=".el6")

    assert rebased.notes == (
        "spec patch initscripts/initscripts.spec.patch: applied cleanly (update it in "
        f"{patches / 'initscripts'} when a new upstream spec stops it applying)",)
    text = srpm_files(rebased.srpm)["initscripts.spec"]
    assert "Patch2000: dmesg.patch" in text and "%patch -P 2000 -p1" in text
    top = tmp_path / "rebuild"
    done = rebasekit.rpmbuild(["--rebuild", str(rebased.srpm)], top, ".el6")
    assert done.returncode == 0, done.stdout
    (binary,) = (top / "RPMS" / "noarch").glob("initscripts-*.rpm")
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    with binary.open("rb") as handle:
        header = ts.hdrFromFdno(handle.fileno())
    assert header[rpm.RPMTAG_POSTIN] == "/sbin/chkconfig --add sme-runlevel7 || :"
    installed = srpm_files(binary)
    assert not [name for name in installed if "/rc.d/" in name]  # the %install cleanup
    sysinit = next(body for name, body in installed.items() if name.endswith("rc.sysinit"))
    assert "dmesg -n 1 -s 131072" in sysinit  # and our source patch


# -- through PackageBuild: the Build? gate's plan says what was applied and what to update ------

def test_the_gate_s_plan_names_the_spec_patch_and_how_it_applied(
        tmp_path: Path, engine: Engine) -> None:
    from updraft.build.package_build import PackageBuild

    engine = Engine(load_config(samba_config(tmp_path)), engine.layout.root)
    build = PackageBuild.start(engine, str(samba_srpm(tmp_path)), "9", arches=["x86_64"])
    assert ("  rebase: spec patch samba/samba.spec.patch applied to the upstream spec first "
            "(when it stops applying, update it under build.patches_dir)") in build.record.plan

    rebased = build.prepare(WHEN)

    assert rebased.name == "samba-4.6.2-12.el6.sme.1.src.rpm"
    notes = [line for line in build.workspace.load().plan if ": applied" in line]
    assert notes == [f"  rebase: {note}" for note in (
        "spec patch samba/samba.spec.patch: applied, but not exactly (hunk 1: offset -37 "
        "lines; hunk 2: offset -57 lines; hunk 3: offset -371 lines; hunk 4: offset -426 "
        f"lines; hunk 5: offset -810 lines): refresh it in {PATCHES_DIR / 'samba'} against "
        "the new upstream spec",)]


def test_with_the_mock_backend_the_rebase_uses_the_release_s_mock_config(
        tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from updraft.build.package_build import PackageBuild

    monkeypatch.setenv("PATH", f"{Path(__file__).resolve().parents[2] / 'standins'}:"
                               "/usr/bin:/bin")
    monkeypatch.setenv("MOCK_STANDIN_ARGV", str(tmp_path / "argv.jsonl"))
    engine = Engine(load_config(samba_config(tmp_path, "mock")), engine.layout.root)
    build = PackageBuild.start(engine, str(samba_srpm(tmp_path)), "9", arches=["x86_64"])
    build.prepare(WHEN)
    calls = [json.loads(line) for line in (tmp_path / "argv.jsonl").read_text().splitlines()]
    assert [call[:3] for call in calls] == [["-r", "smeserver-9-x86_64", "--buildsrpm"],
                                            ["-r", "smeserver-9-x86_64", "--rebuild"]]


# -- anaconda (seed 000): 20 patches after CentOS's, Release: …%{?dist}.1 -------------------------

def test_the_anaconda_policy_adds_its_20_patches_after_upstream_s(tmp_path: Path) -> None:
    policy = next(p for p in sme_config().policies if p.match == "anaconda")
    assert policy.rebase is not None
    numbers = [number for number, _ in policy.rebase.numbered()]
    assert numbers == [*range(10001, 10008), *range(10011, 10024)]
    recipe = RebaseRecipe.from_settings(policy.rebase, PATCHES_DIR, PACKAGER)
    centos = {f"anaconda-centos-{n}.patch": make_patch(
        SYSINIT, SYSINIT.replace(f"# step {n}\n", f"# step {n} (CentOS)\n"), "rc.sysinit")
        for n in (3, 15)}
    upstream = upstream_srpm(tmp_path, name="anaconda", version="13.21.263", release="1",
                             patches=centos)

    # the stand-ins name no file of anaconda's tree: they fail -bp until replaced
    with pytest.raises(PatchFailed, match="our patch 0001-anaconda.id.displayMode.patch no "
                                          "longer applies .*can't find file to patch"):
        rebase(upstream, recipe, tmp_path / "work", when=WHEN, dist=".el6.sme")

    lines = (tmp_path / "work" / "rpmbuild" / "SPECS" / "anaconda.spec").read_text().splitlines()
    assert "Release: 1%{?dist}.1" in lines
    tags = [line for line in lines if line.startswith("Patch")]
    assert tags[:2] == ["Patch0: anaconda-centos-3.patch", "Patch1: anaconda-centos-15.patch"]
    assert tags[2:] == [f"Patch{n}: {Path(name).name}" for n, name in policy.rebase.numbered()]
    applied = [line for line in lines if line.startswith("%patch")]
    assert applied == ["%patch0 -p1", "%patch1 -p1", *[f"%patch{n} -p1" for n in numbers]]
    plan_row = [row for row in _plan_rows(policy.rebase) if "patches" in row]
    assert plan_row[0].startswith("  rebase: 20 patches as Patch10001..10023, macros unchanged")


def _plan_rows(settings: RebaseSettings) -> list[str]:
    from dataclasses import replace

    from updraft.build.source import BuildPlan, read_source

    plan = BuildPlan(source=read_source(upstream_srpm(Path(tempfile.mkdtemp()))), release="9",
                     jobs=(), options=BuildOptions())
    return replace(plan, rebase=settings).lines()


def test_a_spec_patch_of_more_than_the_spec_is_refused(tmp_path: Path) -> None:
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "two.patch").write_text(
        "--- a/samba.spec\n+++ b/samba.spec\n@@ -1 +1 @@\n-%global with_internal_ldb 0\n"
        "+%global with_internal_ldb 1\n--- /dev/null\n+++ b/../../evil\n@@ -0,0 +1 @@\n+x\n")
    recipe = RebaseRecipe.from_settings(RebaseSettings(spec_patch="two.patch"),
                                        tmp_path / "patches", PACKAGER)
    with pytest.raises(UpdraftError, match=r"spec patch two.patch patches 2 files: keep only "
                                           r"the spec's diff in it"):
        rebase(samba_srpm(tmp_path), recipe, tmp_path / "work", when=WHEN)
    assert not (tmp_path.parent / "evil").exists() and not (tmp_path / "work" / "out").exists()
