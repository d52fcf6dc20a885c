"""`updraft sign BUILD_ID` (rpmsign in the build's workspace, then the landing through
the cycle's journal and repodata) SIGKILLed at random checkpoints: the re-run signs what
is left, lands the family whole, and no signer's scratch (a copy of the secret keyring,
the passphrase file) stays on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import buildkit, treekit
from tests.kits import crash as kit
from tests.kits.signing import SigningKey, make_key

pytestmark = [pytest.mark.slow, pytest.mark.timeout(kit.timeout())]
# No passphrase: its key derivation makes each rpmsign seconds slower, and passphrases
# are the signing tests' (tests/unit/test_build_signing.py); a kill is not about them.
PASSPHRASE = ""


@pytest.fixture(scope="module")
def release_key() -> SigningKey:
    return make_key(kit.scratch("key"), "SME Release")


@pytest.fixture(scope="module")
def built(settled_tree: Path) -> tuple[Path, str]:
    """The settled clamav tree with clamav 0.97.7-1 built (unsigned, not landed)."""
    root = kit.clone(settled_tree, kit.scratch("build") / "tree")
    srpm = buildkit.srpm(root.parent / "in", "clamav", "0.97.7", "1", dist=".el6.sme")
    done = treekit.run_cli("--root", str(root), "build", str(srpm), "--release", "9")
    assert done.returncode == 0, done.stderr
    return root, done.stdout.rsplit("build id: ", 1)[1].strip()


def no_signer_left(root: Path, label: str) -> None:
    scratch = [str(p) for p in root.rglob("sign-*")] + [
        str(p) for p in root.rglob("passphrase")]
    assert not scratch, f"sign {label}: a signer's scratch stayed: {scratch}"


def test_sign_and_land_converges(built: tuple[Path, str], release_key: SigningKey) -> None:
    root, build_id = built
    sign = kit.Command(["sign", build_id, "--key", release_key.fingerprint, "--gnupghome",
                        str(release_key.home)], env={"UPDRAFT_GPG_PASSPHRASE": PASSPHRASE})
    suite = kit.Suite("sign", root, sign, kills=6, doubles=1, check=no_signer_left)
    outcome = kit.record(suite.run(named=["signing: passphrase written"]))
    assert outcome.checkpoints > 5
