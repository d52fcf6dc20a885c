"""Building a package without Airflow: the plan, where a build lands, and `updraft build`
/ `updraft sign` end to end with real rpmbuild, rpmsign and rpmkeys."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.kits import buildkit, rebasekit, treekit
from tests.kits.signing import make_key
from updraft.build.destination import deduplicated, placement_plan
from updraft.build.source import BuildInputError, find_srpm, plan_build, read_source
from updraft.config.build import BuildOptions
from updraft.config.dist import DistConfig
from updraft.engine.engine import Engine
from updraft.engine.tree import scan
from updraft.errors import ConfigError, PackageNotFound
from updraft.ledger import Ledger
from updraft.upstream.keyring import Keyring
from updraft.upstream.landing import take_inventory

DIST = ".el6.sme"


def _config(**changes: object) -> DistConfig:
    config = treekit.sme_config()
    return config.model_copy(update=changes)


def test_plan_builds_every_arch_dir_with_the_policies_options(tmp_path: Path) -> None:
    source = read_source(buildkit.srpm(tmp_path, "kernel", "2.6.32", "754"))
    overrides = BuildOptions.model_validate({"with": ["debug"], "defines": {"buildid": ".sme"}})

    plan = plan_build(source, treekit.sme_config(), "9", overrides=overrides)

    assert [(j.archdir, j.queue, j.pool, j.mock_config) for j in plan.jobs] == [
        ("i386", "build-i386", "build-i386", "smeserver-9-i386"),
        ("x86_64", "build-x86_64", "build-x86_64", "smeserver-9-x86_64")]
    # The kernel policy says --without debug; the run's --with debug overrides it.
    assert plan.options.rpm_args() == ["--define", "buildid .sme", "--with", "debug",
                                       "--without", "debuginfo"]
    assert plan.priority == 10
    assert "  options: --define buildid .sme --with debug --without debuginfo" in plan.lines()


def test_plan_builds_a_noarch_package_once_and_honours_arches(tmp_path: Path) -> None:
    config = treekit.sme_config()
    noarch = read_source(buildkit.srpm(tmp_path, "e-smith-base", "5.2", "1", noarch=True))

    plan = plan_build(noarch, config, "9")
    assert [job.archdir for job in plan.jobs] == ["i386"]
    assert plan.skipped == ("x86_64: noarch package, built once on i386",)

    hello = read_source(buildkit.srpm(tmp_path, "hello"))
    assert [j.archdir for j in plan_build(hello, config, "9", ["x86_64"]).jobs] == ["x86_64"]
    with pytest.raises(ConfigError, match="release 10 has no arch dir i386"):
        plan_build(hello, config, "10", ["i386"])


def test_input_errors_name_the_file(tmp_path: Path, engine: Engine) -> None:
    binary = next(engine.layout.root.glob("9/smetest/x86_64/RPMS/clamav-*.rpm"))
    with pytest.raises(BuildInputError, match="a binary package .* needs the source RPM"):
        read_source(binary)
    truncated = tmp_path / "hello-1.0-1.src.rpm"
    truncated.write_bytes(buildkit.srpm(tmp_path, "hello").read_bytes()[:2000])
    with pytest.raises(BuildInputError, match=f"{truncated}: .*fetch it again"):
        read_source(truncated)
    with pytest.raises(PackageNotFound, match="samba-4.6.2-12.el7_4.src.rpm: not in the "
                                              "upstream mirrors of release 9"):
        find_srpm("samba-4.6.2-12.el7_4", engine.layout, "9")
    # N-V-R lookups find the SRPM in the tree too.
    found = find_srpm("clamav-0.97.6-1.rf", engine.layout, "9")
    assert found == engine.layout.root / "9/smetest/SRPMS/clamav-0.97.6-1.rf.src.rpm"
    assert find_srpm("clamav-0.97.6-1.rf.src.rpm", engine.layout, "9") == found
    with pytest.raises(PackageNotFound, match=f"{tmp_path}/nowhere.src.rpm: no such file"):
        find_srpm(str(tmp_path / "nowhere.src.rpm"), engine.layout, "9")


def _built(tmp_path: Path, name: str, version: str) -> tuple[Path, list[Path]]:
    """An SRPM and its RPMs for both arches, as the builders leave them."""
    from updraft.build.backend import BuildJob, RpmbuildBackend

    srpm = buildkit.srpm(tmp_path / "in", name, version, "1", dist=DIST)
    outcomes = [RpmbuildBackend().build(BuildJob(
        srpm=srpm, release="9", archdir=arch, target=arch, resultdir=tmp_path / arch,
        dist=DIST)) for arch in ("i386", "x86_64")]
    assert all(outcome.ok for outcome in outcomes), outcomes
    return srpm, deduplicated(outcome.rpms for outcome in outcomes)


def test_a_never_shipped_package_lands_whole_in_smedev(tmp_path: Path, engine: Engine) -> None:
    srpm, rpms = _built(tmp_path, "hello", "1.0")
    assert sorted(path.name for path in rpms) == [
        f"hello-1.0-1{DIST}.i386.rpm", f"hello-1.0-1{DIST}.x86_64.rpm",
        f"hello-doc-1.0-1{DIST}.noarch.rpm"]  # the noarch package once, not per arch
    inventory = take_inventory(scan(engine.layout, ["9"]).releases["9"], engine.config)

    plan = placement_plan(engine, inventory, srpm, rpms)

    assert {action.to_repo for action in plan.actions} == {"smedev"}
    assert {(a.archdir, a.filename) for a in plan.actions if "doc" in a.filename} == {
        ("i386", f"hello-doc-1.0-1{DIST}.noarch.rpm"),
        ("x86_64", f"hello-doc-1.0-1{DIST}.noarch.rpm")}
    assert plan.actions[0].describe().startswith("copy from buildsys to smedev")


def test_a_policy_destination_takes_the_shipped_packages(tmp_path: Path, engine: Engine) -> None:
    srpm, rpms = _built(tmp_path, "clamav", "0.97.7")
    inventory = take_inventory(scan(engine.layout, ["9"]).releases["9"], engine.config)

    plan = placement_plan(engine, inventory, srpm, rpms, destination="smecontribs")

    placed = {(a.filename, a.to_repo) for a in plan.actions}
    assert (f"clamav-0.97.7-1{DIST}.x86_64.rpm", "smecontribs") in placed
    assert (f"clamav-doc-0.97.7-1{DIST}.noarch.rpm", "smedev") in placed
    assert {repo for name, repo in placed if name.endswith(".src.rpm")} == {"smecontribs",
                                                                          "smedev"}


def test_build_and_sign_on_the_command_line(tmp_path: Path, engine: Engine) -> None:
    root = engine.layout.root
    srpm = buildkit.srpm(tmp_path, "clamav", "0.97.7", "1", dist=DIST)

    dry = treekit.run_cli("--root", str(root), "build", str(srpm), "--release", "9",
                          "--dry-run")
    assert dry.returncode == 0 and "(dry run: nothing built)" in dry.stdout
    built = treekit.run_cli("--root", str(root), "build", str(srpm), "--release", "9",
                            "--define", "vendor SME")
    assert built.returncode == 0, built.stderr
    assert f"Build succeeded: clamav-0.97.7-1{DIST} (sme9)" in built.stdout
    build_id = built.stdout.rsplit("build id: ", 1)[1].strip()
    assert not list(root.glob("9/smetest/*/RPMS/clamav-0.97.7*"))  # unsigned: not landed

    key = make_key(tmp_path, "SME Release", passphrase="s3cret words")
    wrong = treekit.run_cli("--root", str(root), "sign", build_id, "--key", key.fingerprint,
                            "--gnupghome", str(key.home),
                            env={"UPDRAFT_GPG_PASSPHRASE": "wrong"})
    assert wrong.returncode == 2 and "bad passphrase" in wrong.stderr
    assert "wrong" not in wrong.stderr.replace("wrong passphrase", "")
    signed = treekit.run_cli("--root", str(root), "sign", build_id, "--key", key.fingerprint,
                             "--gnupghome", str(key.home),
                             env={"UPDRAFT_GPG_PASSPHRASE": "s3cret words"})
    assert signed.returncode == 0, signed.stderr
    assert f"copy from buildsys to smetest (clamav-0.97.7-1{DIST}.x86_64.rpm)" in signed.stdout
    landed = sorted(root.glob("9/smetest/*/RPMS/clamav-0.97.7*"))
    assert len(landed) == 2
    keyring = Keyring(tmp_path / "verify")
    keyring.load([key.public])
    assert all(check.ok and check.key_id == key.key_id
               for check in keyring.check_packages(landed).values())
    ledger = Ledger.open(engine.layout.ledger_url)
    try:
        history = [entry.text for entry in ledger.history("clamav", "9")]
    finally:
        ledger.close()
    for state in ("waiting", "being built", "unsigned", "signed/untested"):
        assert any(state in text for text in history), (state, history)


def test_a_rebase_policy_builds_the_upstream_srpm_with_our_patches(
    tmp_path: Path, engine: Engine
) -> None:
    from updraft.build.package_build import PackageBuild
    from updraft.config.dist import load_config

    sysinit = rebasekit.DEFAULT_FILES["rc.sysinit"]
    ours = rebasekit.make_patch(sysinit, sysinit.replace("dmesg -s", "dmesg -n 1 -s"),
                                "rc.sysinit")
    config = load_config(rebasekit.rebase_config(tmp_path, {"sme-dmesg.patch": ours}))
    engine = Engine(config, engine.layout.root)
    srpm = rebasekit.upstream_srpm(tmp_path / "upstream")  # initscripts-9.03.49-1.el6

    build = PackageBuild.start(engine, str(srpm), "9", arches=["x86_64"], bug="9001")
    rebased = build.prepare()

    assert rebased.name == f"initscripts-9.03.49-1{DIST}.1.src.rpm"
    assert build.record.nvr == f"initscripts-9.03.49-1{DIST}.1"
    outcome = build.build_arch("x86_64")
    assert outcome.ok, outcome.reason
    conclusion = build.conclude()
    assert conclusion.ok and conclusion.rpms
    header = read_source(rebased)
    assert header.release == f"1{DIST}.1"
    text = subprocess.run(["rpm", "-qp", "--changelog", str(rebased)], capture_output=True,
                          text=True, check=True).stdout
    assert "- Rebase on upstream 9.03.49-1 [SME: 9001]" in text.splitlines()[1]
    assert "- Don't try to run plymouth if disabled [SME: 8375]" in text


@pytest.mark.parametrize(("requested", "priority"), [
    ("/srv/upstream/kernel-2.6.32-754.el6.src.rpm", 10), ("kernel-2.6.32-754.el6", 10),
    ("clamav-0.97.7-1.src.rpm", 0), ("", 0), (None, 0)])
def test_policy_priority_is_read_from_the_request(requested: str | None, priority: int) -> None:
    from updraft.build.source import policy_priority

    assert policy_priority(treekit.sme_config(), requested) == priority
