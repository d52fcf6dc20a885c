"""Issue 21.3: el6-era specs on a modern worker.

A CentOS 6 spec says `%if %{dist_name} == rhel`; this machine's rpm refuses it ("bare
words are no longer supported"). The rebase still edits the spec (as text), and the
steps needing rpm either run in the release's build root (mock: the stand-in in
tests/standins/mock records its argv) or fail in one line that says so. The rpmbuild
backend says what it builds against and takes build.nodeps.
"""

from __future__ import annotations

import datetime
import json
import logging
import subprocess
from pathlib import Path

import pytest

from tests.kits import rebasekit
from tests.kits.rebasekit import DEFAULT_FILES, make_patch, upstream_srpm
from updraft.build import spectext
from updraft.build.backend import BuildJob, RpmbuildBackend
from updraft.build.rebase import BuildRoot, PatchFailed, RebaseRecipe, rebase
from updraft.config.build import BuildSettings
from updraft.errors import UpdraftError

MOCK = Path(__file__).resolve().parents[2] / "standins" / "mock"
WHEN = datetime.date(2013, 1, 20)
PACKAGER = "Ian Wells <esmith@example.org>"
SYSINIT = DEFAULT_FILES["rc.sysinit"]
UPSTREAM_FIX = make_patch(SYSINIT, SYSINIT.replace("# step 3\n", "# step three\n"), "rc.sysinit")
DMESG = make_patch(SYSINIT, SYSINIT.replace("dmesg -s 131072", "dmesg -n 1 -s 131072"),
                   "rc.sysinit")

EL6_SPEC = """%define dist_name rhel
%define with_upstart 1
Summary: The inittab file and the /etc/init.d scripts
Name: initscripts
Version: 9.03.49
Release: 1%{?dist}
License: GPLv2
Group: System Environment/Base
BuildArch: noarch
Source0: %{name}-%{version}.tar.gz
%if %{dist_name} == rhel
Patch0: initscripts-upstream-fix.patch
%endif
BuildRoot: %{_tmppath}/%{name}-%{version}-%{release}-root-%(%{__id_u} -n)

%description
The initscripts package contains the basic system scripts used to boot your
Red Hat or Fedora system.

%prep
%setup -q
%if %{dist_name} == rhel
%patch0 -p1
%endif

%build

%install
rm -rf $RPM_BUILD_ROOT
mkdir -p $RPM_BUILD_ROOT%{_datadir}/%{name}
cp -a . $RPM_BUILD_ROOT%{_datadir}/%{name}/

%clean
rm -rf $RPM_BUILD_ROOT

%files
%defattr(-,root,root)
%{_datadir}/%{name}

%changelog
* Mon Jan 07 2013 Lukas Nykryn <lnykryn@redhat.com> - 9.03.49-1
- init.d/functions: fix the plymouth check
"""


def el6_srpm(directory: Path) -> Path:
    """The SRPM CentOS 6 would ship: its spec, byte for byte, with the bare words.

    This machine's rpmbuild cannot parse that spec, so it parses a twin written with
    quotes, whose last line (a %(...) run while parsing) puts the el6 text in its place;
    rpmbuild packs the spec from disk, so the SRPM holds the el6 spec, digests and all.
    """
    top = directory / ".kit-el6"
    for sub in ("SOURCES", "SPECS", "SRPMS"):
        (top / sub).mkdir(parents=True, exist_ok=True)
    rebasekit.tarball(top / "SOURCES" / "initscripts-9.03.49.tar.gz", "initscripts-9.03.49",
                       DEFAULT_FILES)
    (top / "SOURCES" / "initscripts-upstream-fix.patch").write_text(UPSTREAM_FIX)
    real, spec = top / "el6.spec", top / "SPECS" / "initscripts.spec"
    real.write_text(EL6_SPEC)
    twin = EL6_SPEC.replace("%if %{dist_name} == rhel", '%if "%{dist_name}" == "rhel"')
    spec.write_text(twin + "#" + "=" * 60 + f"\n%(cp {real} {spec})\n")
    done = rebasekit.rpmbuild(["-bs", str(spec)], top, ".el6")
    assert done.returncode == 0, done.stdout
    (built,) = (top / "SRPMS").glob("*.src.rpm")
    again = rebasekit.rpmbuild(["-bs", str(spec)], top)  # the spec on disk is el6's now
    assert again.returncode != 0 and "bare words are no longer supported" in again.stdout
    return built


@pytest.fixture(scope="module")
def el6(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return el6_srpm(tmp_path_factory.mktemp("el6"))


def recipe(tmp: Path, diff: str = DMESG) -> RebaseRecipe:
    (tmp / "patches").mkdir(exist_ok=True)
    (tmp / "patches" / "initscripts-9.03.40-dmesg.patch").write_text(diff)
    return RebaseRecipe(patches=(tmp / "patches" / "initscripts-9.03.40-dmesg.patch",),
                        macros={"with_upstart": "0"}, packager=PACKAGER,
                        carried=("- Add -n 1 to the dmesg line [SME: 8277]",))


def test_this_machine_s_rpm_refuses_the_el6_spec(tmp_path: Path) -> None:
    (tmp_path / "el6.spec").write_text(EL6_SPEC)
    done = subprocess.run(["rpmspec", "-P", str(tmp_path / "el6.spec")], capture_output=True,
                          text=True, check=False)
    assert done.returncode != 0 and "bare words are no longer supported" in done.stderr


def test_the_el6_spec_is_edited_as_text_and_rpmbuild_says_to_use_mock(
        el6: Path, tmp_path: Path) -> None:
    with pytest.raises(UpdraftError) as caught:
        rebase(el6, recipe(tmp_path), tmp_path / "work", bug="9001", when=WHEN,
               dist=".el6.sme")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("initscripts-9.03.49-1.el6.src.rpm: this worker's rpm cannot "
                              "parse the rebased spec for rpmbuild -bp (error: ")
    assert "bad %if condition" in message and message.endswith(
        "an el6-era spec must be built in its release's build root: set build.backend: mock "
        "(mock -r <build.mock_config>)")
    assert not (tmp_path / "work" / "out").exists()
    spec = (tmp_path / "work" / "rpmbuild" / "SPECS" / "initscripts.spec").read_text()
    lines = spec.splitlines()
    assert "%if %{dist_name} == rhel" in lines  # upstream's text is kept as it was
    assert "%define with_upstart 0" in lines and "Release: 1%{?dist}.1" in lines
    # ours after upstream's %if branch, so they do not vanish with it
    assert lines[lines.index("Patch0: initscripts-upstream-fix.patch") + 1:][:2] == [
        "%endif", "Patch2000: initscripts-9.03.40-dmesg.patch"]
    assert lines[lines.index("%patch0 -p1") + 1:][:2] == ["%endif", "%patch2000 -p1"]
    at = lines.index("%changelog")
    assert lines[at + 1:at + 5] == [
        "* Sun Jan 20 2013 Ian Wells <esmith@example.org> - 9.03.49-1.el6.sme.1",
        "- Rebase on upstream 9.03.49-1 [SME: 9001]",
        "- Add -n 1 to the dmesg line [SME: 8277]", ""]


def standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    argv = tmp_path / "mock-argv.jsonl"
    monkeypatch.setenv("MOCK_STANDIN_ARGV", str(argv))
    monkeypatch.setenv("MOCK_STANDIN_DIST", ".el6.sme")
    return argv


def calls(argv: Path) -> list[list[str]]:
    return [json.loads(line) for line in argv.read_text().splitlines()]


def test_with_mock_the_spec_steps_run_in_the_release_s_root(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    argv = standin(monkeypatch, tmp_path)
    upstream = upstream_srpm(tmp_path, patches={"initscripts-upstream-fix.patch": UPSTREAM_FIX})
    work = tmp_path / "work"
    root = BuildRoot("smeserver-9-x86_64", mock=str(MOCK))

    rebased = rebase(upstream, recipe(tmp_path), work, bug="9001", when=WHEN,
                     dist=".el6.sme", root=root)

    assert rebased.srpm == work / "out" / "initscripts-9.03.49-1.el6.sme.1.src.rpm"
    top = work / "rpmbuild"
    made = work / "rpmbuild" / "mock-srpm" / rebased.srpm.name
    assert calls(argv) == [
        ["-r", "smeserver-9-x86_64", "--buildsrpm", "--spec", str(top / "SPECS" /
         "initscripts.spec"), "--sources", str(top / "SOURCES"), "--resultdir",
         str(top / "mock-srpm")],
        ["-r", "smeserver-9-x86_64", "--rebuild", str(made), "--short-circuit=prep",
         "--resultdir", str(top / "mock-prep")]]
    assert "Patch #2000 (initscripts-9.03.40-dmesg.patch):" in (top / "prep.log").read_text()


def test_a_patch_that_fails_in_mock_s_prep_is_shown_with_patch_s_lines(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    standin(monkeypatch, tmp_path)
    upstream = upstream_srpm(tmp_path, patches={"initscripts-upstream-fix.patch": UPSTREAM_FIX})
    stale = make_patch(SYSINIT.replace("dmesg -s 131072", "dmesg -s 65536"),
                       SYSINIT.replace("dmesg -s 131072", "dmesg -n 1"), "rc.sysinit")
    with pytest.raises(PatchFailed) as caught:
        rebase(upstream, recipe(tmp_path, stale), tmp_path / "work", when=WHEN,
               root=BuildRoot("smeserver-9-x86_64", mock=str(MOCK)))
    assert "our patch initscripts-9.03.40-dmesg.patch no longer applies (Hunk #1 FAILED" in str(
        caught.value)
    assert "Hunk #1 FAILED" in caught.value.hunk
    assert not (tmp_path / "work" / "out").exists()


def test_the_el6_spec_goes_to_mock_as_edited(el6: Path, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    argv = standin(monkeypatch, tmp_path)
    # the stand-in runs this host's rpmbuild, which refuses el6's spec: mock's own error
    with pytest.raises(UpdraftError, match=r"mock -r smeserver-9-x86_64 --buildsrpm of the "
                                           r"rebased spec failed \(error: .*bad %if"):
        rebase(el6, recipe(tmp_path), tmp_path / "work", when=WHEN,
               root=BuildRoot("smeserver-9-x86_64", mock=str(MOCK)))
    [call] = calls(argv)
    assert call[:3] == ["-r", "smeserver-9-x86_64", "--buildsrpm"]
    assert "Patch2000: initscripts-9.03.40-dmesg.patch" in Path(call[4]).read_text()


# -- the text edits themselves -------------------------------------------------------------------

def test_patch_numbers_kept_or_allocated_and_never_upstream_s() -> None:
    assert spectext.allocate({0, 1, 2000}, 2000, (), 2) == [2001, 2002]
    assert spectext.allocate({0}, 10001, (10001, 10011), 2) == [10001, 10011]
    with pytest.raises(ValueError, match="Patch1 is upstream's too"):
        spectext.allocate({0, 1}, 10001, (1,), 1)
    lines = ["Name: x", "Patch0: a.patch", "", "%prep", "%autosetup -p1", "", "%build"]
    spectext.add_patches(lines, ["ours.patch"], 10001, 1, (10011,))
    assert lines[2] == "Patch10011: ours.patch" and "%patch10011 -p1" not in lines


# -- the rpmbuild backend -------------------------------------------------------------------------

def test_rpmbuild_backend_says_what_it_builds_against_and_takes_nodeps(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    srpm = upstream_srpm(tmp_path)
    job = BuildJob(srpm=srpm, release="9", archdir="x86_64", target="noarch",
                   resultdir=tmp_path / "result", dist=".el6.sme", nodeps=True)
    assert "--nodeps" in RpmbuildBackend().command(job)
    checked = BuildJob(srpm=srpm, release="9", archdir="x86_64", target="noarch",
                       resultdir=tmp_path / "result")
    assert "--nodeps" not in RpmbuildBackend().command(checked)
    assert BuildSettings().nodeps is False and BuildSettings(nodeps=True).nodeps

    with caplog.at_level(logging.WARNING, logger="updraft.build.backend"):
        outcome = RpmbuildBackend().build(job)
    assert outcome.ok, outcome.reason
    assert ("updraft: the rpmbuild backend builds against this worker's own rpmdb and shell, "
            "not release 9's build root (build.nodeps: true, BuildRequires are not checked; "
            "build.backend: mock builds in the release's root)") in caplog.messages
