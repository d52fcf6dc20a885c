"""The RPM factory builds real packages: read them back with the rpm bindings and rpmkeys."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
import rpm

from updraft.devkit.rpmfactory import (
    BuiltFamily,
    ChangelogEntry,
    FamilySpec,
    Subpackage,
    build_families,
    build_family,
    render_spec,
)

DAG = "Dag Wieers <dag@wieers.com>"
PAYLOAD = 50_000

CLAMAV = FamilySpec(
    name="clamav",
    version="0.97.6",
    release="1",
    epoch=2,
    summary="Anti-virus software",
    description="Clam AntiVirus is a GPL anti-virus toolkit for UNIX (100% free).",
    subpackages=(
        Subpackage("clamav-db", requires=("clamav = 2:0.97.6-1.el4.rf",)),
        Subpackage("clamd", provides=("clamav-daemon = 0.97.6",)),
        Subpackage("clamav-doc", arch="noarch", summary="Documentation for clamav"),
    ),
    requires=("zlib >= 1.2",),
    changelog=(
        ChangelogEntry(
            "Sun Sep 23 2012",
            DAG,
            "0.97.6-1",
            ("- Updated to release 0.97.6. [SME: 7160]", "  Code from Charlie Brady"),
        ),
        ChangelogEntry("Mon Jun 18 2012", DAG, "0.97.5-1", ("- Updated to release 0.97.5.",)),
    ),
    binary_dist=".el4.rf",
    source_dist=".rf",
    payload_bytes=PAYLOAD,
)


def header(path: Path) -> rpm.hdr:
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    with open(path, "rb") as handle:
        return ts.hdrFromFdno(handle.fileno())


def payload_files(path: Path) -> dict[str, bytes]:
    """Regular files in the package's payload -> their content."""
    found = {}
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    with open(path, "rb") as handle:
        hdr = ts.hdrFromFdno(handle.fileno())
        archive = rpm.files(hdr).archive(rpm.fd(handle, flags=hdr[rpm.RPMTAG_PAYLOADCOMPRESSOR]))
        for entry in archive:
            if stat.S_ISREG(entry.mode):
                found[entry.name] = archive.read()
    return found


def requires(hdr: rpm.hdr) -> list[str]:
    return [dep.DNEVR()[2:] for dep in rpm.ds(hdr, "requires") if "rpmlib(" not in dep.N()]


@pytest.fixture(scope="module")
def clamav(tmp_path_factory: pytest.TempPathFactory) -> BuiltFamily:
    return build_family(CLAMAV, tmp_path_factory.mktemp("clamav"), ("i386", "x86_64"))


def by_name(family: BuiltFamily) -> dict[str, Path]:
    return {path.name: path for path in family.files()}


def test_file_names_carry_the_right_dist_and_noarch_comes_once(clamav: BuiltFamily) -> None:
    assert clamav.srpm.name == "clamav-0.97.6-1.rf.src.rpm"
    assert sorted(path.name for path in clamav.binaries) == sorted(
        [
            f"{name}-0.97.6-1.el4.rf.{arch}.rpm"
            for name in ("clamav", "clamav-db", "clamd")
            for arch in ("i386", "x86_64")
        ]
        + ["clamav-doc-0.97.6-1.el4.rf.noarch.rpm"]
    )
    assert sorted(path.name for path in clamav.srpm.parent.iterdir()) == sorted(by_name(clamav))
    assert clamav.files() == [clamav.srpm, *clamav.binaries]


def test_headers_have_nevra_epoch_and_the_rpmforge_sourcerpm(clamav: BuiltFamily) -> None:
    for path in clamav.binaries:
        hdr = header(path)
        name, rest = path.name.split("-0.97.6-")
        arch = rest.removesuffix(".rpm").rsplit(".", 1)[1]
        assert hdr[rpm.RPMTAG_NEVRA] == f"{name}-2:0.97.6-1.el4.rf.{arch}"
        assert hdr[rpm.RPMTAG_EPOCH] == 2
        assert hdr[rpm.RPMTAG_ARCH] == arch
        # Seed 000: the binaries point at an SRPM name that differs from the real file's.
        assert hdr[rpm.RPMTAG_SOURCERPM] == "clamav-0.97.6-1.el4.rf.src.rpm"
    source = header(clamav.srpm)
    assert source.isSource()
    assert (source[rpm.RPMTAG_NAME], source[rpm.RPMTAG_RELEASE]) == ("clamav", "1.rf")
    assert source[rpm.RPMTAG_SOURCERPM] is None


def test_changelog_summary_description_and_deps_read_back(clamav: BuiltFamily) -> None:
    files = by_name(clamav)
    main = header(files["clamav-0.97.6-1.el4.rf.x86_64.rpm"])
    assert main[rpm.RPMTAG_CHANGELOGNAME] == [f"{DAG} - 0.97.6-1", f"{DAG} - 0.97.5-1"]
    assert main[rpm.RPMTAG_CHANGELOGTEXT] == [
        "- Updated to release 0.97.6. [SME: 7160]\n  Code from Charlie Brady",
        "- Updated to release 0.97.5.",
    ]
    assert main[rpm.RPMTAG_SUMMARY] == "Anti-virus software"
    assert main[rpm.RPMTAG_DESCRIPTION] == CLAMAV.description  # the % survived
    assert requires(main) == ["zlib >= 1.2"]
    db = header(files["clamav-db-0.97.6-1.el4.rf.i386.rpm"])
    assert requires(db) == ["clamav = 2:0.97.6-1.el4.rf"]
    clamd = header(files["clamd-0.97.6-1.el4.rf.i386.rpm"])
    assert "P clamav-daemon = 0.97.6" in [dep.DNEVR() for dep in rpm.ds(clamd, "provides")]
    doc = header(files["clamav-doc-0.97.6-1.el4.rf.noarch.rpm"])
    assert doc[rpm.RPMTAG_SUMMARY] == "Documentation for clamav"


def test_each_package_holds_a_file_naming_its_nevr(clamav: BuiltFamily) -> None:
    files = by_name(clamav)
    db = payload_files(files["clamav-db-0.97.6-1.el4.rf.i386.rpm"])
    assert db == {
        "/usr/share/clamav-db/clamav-db.json": b'{"nevr": "clamav-db-2:0.97.6-1.el4.rf"}\n'
    }
    main = payload_files(files["clamav-0.97.6-1.el4.rf.x86_64.rpm"])
    content = main["/usr/share/clamav/clamav.json"]
    assert content.startswith(b'{"nevr": "clamav-2:0.97.6-1.el4.rf"}\n')
    assert len(content) == len(b'{"nevr": "clamav-2:0.97.6-1.el4.rf"}\n') + PAYLOAD
    # Random filler does not compress away, so the file size is realistic.
    assert files["clamav-0.97.6-1.el4.rf.x86_64.rpm"].stat().st_size > PAYLOAD


def test_digests_are_valid_and_nothing_is_signed(clamav: BuiltFamily) -> None:
    paths = [str(path) for path in clamav.files()]
    done = subprocess.run(
        ["rpmkeys", "--checksig", "--nosignature", *paths], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(paths)
    assert all(line.endswith(": digests OK") for line in lines)
    for path in clamav.files():
        hdr = header(path)
        assert hdr[rpm.RPMTAG_RSAHEADER] is None and hdr[rpm.RPMTAG_SIGPGP] is None


def test_noarch_family_is_built_once_whatever_the_arches(tmp_path: Path) -> None:
    spec = FamilySpec(
        name="e-smith-base",
        version="5.0.0",
        release="16",
        main_arch="noarch",
        binary_dist=".el6.sme",
    )
    built = build_family(spec, tmp_path, ("i386", "x86_64"))
    assert built.srpm.name == "e-smith-base-5.0.0-16.el6.sme.src.rpm"
    assert [path.name for path in built.binaries] == ["e-smith-base-5.0.0-16.el6.sme.noarch.rpm"]
    hdr = header(built.binaries[0])
    assert hdr[rpm.RPMTAG_SUMMARY] == "The e-smith-base package"
    assert hdr[rpm.RPMTAG_EPOCH] is None


def test_build_families_keeps_the_order_of_the_specs(tmp_path: Path) -> None:
    specs = [
        FamilySpec(name=f"pkg{number}", version="1.0", release=str(number), binary_dist="")
        for number in (3, 1, 2)
    ]
    built = build_families(specs, tmp_path, ("x86_64",), jobs=2)
    assert [family.srpm.name for family in built] == [
        "pkg3-1.0-3.src.rpm",
        "pkg1-1.0-1.src.rpm",
        "pkg2-1.0-2.src.rpm",
    ]
    assert [[path.name for path in family.binaries] for family in built] == [
        ["pkg3-1.0-3.x86_64.rpm"],
        ["pkg1-1.0-1.x86_64.rpm"],
        ["pkg2-1.0-2.x86_64.rpm"],
    ]


def test_rpmbuild_failure_raises_with_its_output(tmp_path: Path) -> None:
    spec = FamilySpec(name="broken", version="1", release="1", main_arch="nosucharch")
    with pytest.raises(RuntimeError, match=r"rpmbuild of broken-1-1 \(") as caught:
        build_family(spec, tmp_path)
    message = str(caught.value)
    assert "No compatible architectures found for build" in message
    assert len(message.splitlines()) <= 21  # the headline and rpmbuild's last 20 lines
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "spec, problem",
    [
        (FamilySpec(name="bad name", version="1", release="1"), "package name"),
        (FamilySpec(name="x", version="1-2", release="1"), "version"),
        (FamilySpec(name="x", version="1", release="1", summary="two\nlines"), "single line"),
        (
            FamilySpec(
                name="x",
                version="1",
                release="1",
                main_arch="noarch",
                subpackages=(Subpackage("x-arch"),),
            ),
            "noarch",
        ),
        (FamilySpec(name="x", version="1", release="1", subpackages=(Subpackage("x"),)), "repeat"),
        (
            FamilySpec(
                name="x", version="1", release="1", subpackages=(Subpackage("x-a", arch="i386"),)
            ),
            "only lets a subpackage be noarch",
        ),
    ],
)
def test_render_spec_rejects_what_rpmbuild_would_choke_on(spec: FamilySpec, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        render_spec(spec)


def test_render_spec_puts_dist_in_release_and_escapes_percent() -> None:
    text = render_spec(CLAMAV)
    assert "Release: 1%{?dist}\n" in text
    assert "Epoch: 2\n" in text
    assert "%package -n clamav-db\n" in text
    assert "(100%% free)" in text
    assert "* Sun Sep 23 2012 Dag Wieers <dag@wieers.com> - 0.97.6-1\n" in text
