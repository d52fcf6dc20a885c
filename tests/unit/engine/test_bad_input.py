"""Bad input: a clear one-line error naming the file/key/package; files quarantined;
nothing lost; the rest of the cycle still done."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.config.dist import load_config
from updraft.engine.engine import Engine
from updraft.engine.lock import tree_lock
from updraft.errors import ConfigError, LockTimeout
from updraft.ledger import Ledger


def _bad_files(good: Path, directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    payload = bytearray(good.read_bytes())
    payload[-4:] = b"XXXX"  # the end of the compressed payload
    files = {
        "corrupt": directory / "corrupt-1.0-1.x86_64.rpm",
        "truncated": directory / "truncated-1.0-1.x86_64.rpm",
        "text": directory / "README.rpm",
    }
    files["corrupt"].write_bytes(bytes(payload))
    files["truncated"].write_bytes(good.read_bytes()[:-100])  # an interrupted download
    files["text"].write_text("this is not a package\n")
    return files


def test_bad_rpms_are_quarantined_and_the_cycle_goes_on(engine: Engine) -> None:
    root = engine.layout.root
    good = root / "9/smetest/x86_64/RPMS/clamd-0.97.6-1.el4.rf.x86_64.rpm"
    bad = _bad_files(good, root / "9/smetest/x86_64/RPMS")
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")

    # Just written: to a cycle they look like copies still under way, and stay put.
    arriving = engine.update_repos()
    assert arriving.ok and all(path.exists() for path in bad.values())
    assert "quarantine" not in arriving.report
    assert "move from smetest to smeupdates-testing (clamd-0.97.6-1.el4.rf.x86_64.rpm)" in (
        arriving.report.splitlines())
    engine.update_repos()
    assert "9" not in engine.settled()  # scanned again while a file is arriving

    # Once the arrival grace is over they are bad packages.
    engine = Engine(engine.config.model_copy(update={"arrival_grace": 0}), root)
    result = engine.update_repos()

    assert result.ok
    lines = result.report.splitlines()
    quarantine = engine.layout.quarantine_dir("9") / "smetest" / "x86_64"  # arch dir kept
    reasons = {
        "corrupt": "payload digest mismatch",
        "truncated": "payload digest mismatch",
        "text": "not a valid RPM header",
    }
    for kind, path in bad.items():
        assert not path.exists()
        kept = quarantine / path.name
        assert kept.read_bytes()  # nothing lost: the bytes are kept for inspection
        reason = (quarantine / (path.name + ".reason")).read_text()
        assert str(path.relative_to(root)) in reason and reasons[kind] in reason
        assert any(line.startswith(f"quarantine from smetest (9/smetest/x86_64/RPMS/{path.name})")
                   and reasons[kind] in line for line in lines)
    ledger = Ledger.open(engine.layout.ledger_url)
    try:
        assert ledger.state_of("9", "README.rpm") == "test failed"
    finally:
        ledger.close()
    assert engine.update_repos().nothing_to_do


def test_unknown_repo_in_a_command_is_one_clear_line(engine: Engine) -> None:
    result = treekit.run_cli("--root", str(engine.layout.root), "promote", "clamav-0.97.6-1.rf",
                             "--to", "smeupdatez")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "updraft: unknown repo 'smeupdatez' (the config has smedev, smetest, smeupdates-testing,"
        " smeupdates, smeos, smeextras, smecontribs, smeaddons, stage)"]


def test_unknown_package_and_wrong_source_repo_are_explained(engine: Engine) -> None:
    root = str(engine.layout.root)
    missing = treekit.run_cli("--root", root, "promote", "clamav-9.9-1", "--to", "smeupdates")
    assert missing.returncode == 2 and "clamav-9.9-1: no such package" in missing.stderr
    wrong = treekit.run_cli("--root", root, "promote", "clamav-0.97.5-2.rf", "--to", "smetest")
    assert wrong.returncode == 2
    assert "smetest takes families from smedev only" in wrong.stderr


_UPSTREAM = ("name: x\nprefix: sme\nreleases: {9: {arches: {i386: [i386]}}}\n"
             "repos: {smetest: {}, smedev: {}}\n")


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\nprefix: [unclosed\n", "not valid YAML: expected ',' or ']', but got '<stream end>'"
     " (while parsing a flow sequence started on line 2)"),
    ("name: x\nprefix: sme\nreleases: {9: {arches: {i386: [i386]}}}\n"
     "repos: {smetest: {max_versions: two}}\n",
     "repos.smetest.max_versions: Input should be a valid integer"),
    ("name: x\nprefix: sme\nreleases: {9: {arches: {i386: [i386]}}}\n"
     "repos: {smetest: {pulls_from: [smedevv]}, smedev: {}}\n"
     "landing: {upstream_updates: smetest, new_packages: smedev}\n",
     "repos.smetest.pulls_from names unknown repo 'smedevv'"),
    ("- just\n- a list\n", "the config must be a mapping"),
    ("name: x\nprefix: sme\nreleases: {9: {arches: {i386: [i386]}}}\n"
     "repos: {smetest: {approval: release_managers}, smedev: {}}\n",
     "repos.smetest.approval names role 'release_managers', but roles.release_managers "
     "lists nobody"),
    ("name: x\nprefix: sme\nreleases: {9: {arches: {i386: [i386]}}}\n"
     "repos: {smetest: {approval: managers}, smedev: {}}\n",
     "repos.smetest.approval: Input should be 'release_managers', 'packagers', 'qa' or "
     "'signers'"),
    ("name: x\nprefix: sme\nschedule: every two hours\n"
     "releases: {9: {arches: {i386: [i386]}}}\nrepos: {smetest: {}, smedev: {}}\n",
     "schedule: Value error, 'every two hours' is not a cron expression"),
    (_UPSTREAM + "upstream: {9: [{name: centos, baseurl: 'ftp://x/{arch}', arches: [i386], "
     "gpgcheck: false}]}\n", "upstream.9.0.baseurl: Value error, 'ftp://x/{arch}' is not an "
     "http://, https:// or file:// URL"),
    (_UPSTREAM + "upstream: {9: [{name: centos, baseurl: 'http://x/{arch}', arches: [i386]}]}\n",
     "centos: gpgcheck or signed_metadata needs `gpgkeys`"),
    (_UPSTREAM + "upstream: {9: [{name: centos, baseurl: 'http://x/{arch}', gpgcheck: false}]}\n",
     "centos: baseurl has {arch} but `arches` is empty"),
    (_UPSTREAM + "upstream: {9: [{name: smetest, baseurl: 'http://x/', gpgcheck: false}]}\n",
     "upstream.9: source name 'smetest' is used twice or is a repo's name"),
    (_UPSTREAM + "upstream: {8: [{name: centos, baseurl: 'http://x/', gpgcheck: false}]}\n",
     "upstream.8: no such release in `releases`"),
])
def test_malformed_config_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).startswith(f"{config}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_malformed_config_on_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("name: x\nprefix: [unclosed\n")
    result = subprocess.run([treekit.sys.executable, "-m", "updraft.cli", "--config", str(config),
                             "status"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"updraft: {config}: line 3: not valid YAML: ")
    assert result.stderr.count("\n") == 1


@pytest.fixture
def immutable(request: pytest.FixtureRequest):
    """chattr +i: the one way to make a directory unwritable for root on ext4."""
    paths: list[Path] = []

    def freeze(path: Path) -> None:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        paths.append(path)

    yield freeze
    for path in paths:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.unhealthy_tree("the family an immutable dir blocks stays unapplied: the test's point")
def test_unwritable_directory_fails_that_family_only(engine: Engine, rpm_store: Path,
                                                      immutable) -> None:
    root = engine.layout.root
    lib = treekit.build(treekit.noarch("e-smith-lib", "2.0.0", "3"), rpm_store, ("x86_64",))
    treekit.place(engine.layout, "9", "smetest", lib)
    engine.update_repos()
    blocked = root / "9/smeupdates/x86_64/RPMS"
    assert blocked.is_dir()  # the cycle lays out every repo's directories
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates/")
    shutil.copy(root / "9/smetest/x86_64/RPMS/e-smith-lib-2.0.0-3.el6.sme.noarch.rpm",
                root / "9/smeupdates-testing/")
    before = set(treekit.rpm_files(root / "9/smetest"))
    immutable(blocked)

    # smeupdates is gated (issue 15): without an override the `cp` would only be held.
    result = engine.update_repos(override=True)

    assert not result.ok and len(result.failures) == 1
    assert "Operation not permitted" in result.failures[0]
    assert "9/smeupdates/x86_64/RPMS" in result.failures[0]
    # The family that could not move is untouched where it was; the other one moved.
    assert {p for p in before if "clamav" in p or "clamd" in p} <= set(
        treekit.rpm_files(root / "9/smetest"))
    assert (root / "9/smeupdates-testing/x86_64/RPMS/e-smith-lib-2.0.0-3.el6.sme.noarch.rpm"
            ).exists()
    cli = treekit.run_cli("--root", str(root), "update-repos", "--override-gate", "--reason",
                          "test", env={"UPDRAFT_SMTP": "127.0.0.1:9"})
    assert cli.returncode == 1
    assert len(cli.stderr.strip().splitlines()) == 1 and "not applied" in cli.stderr

    subprocess.run(["chattr", "-i", str(blocked)], check=True)
    assert engine.update_repos(override=True).ok
    assert (root / "9/smeupdates/x86_64/RPMS/clamav-0.97.6-1.el4.rf.x86_64.rpm").exists()


def test_second_writer_waits_then_names_the_holder(engine: Engine) -> None:
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with tree_lock(engine.layout.state_dir, timeout=5, command="updraft promote (test)"):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    try:
        impatient = Engine(engine.config.model_copy(update={"lock_timeout": 0.3}),
                           engine.layout.root)
        with pytest.raises(LockTimeout) as caught:
            impatient.update_repos()
        assert "updraft promote (test)" in str(caught.value) and "pid" in str(caught.value)
    finally:
        release.set()
        thread.join()
    assert engine.update_repos().nothing_to_do
