"""`updraft iso publish` (seed 002: ISOs and jigdos copied, smeos synced and its repodata
written with comps, the other repos hardlinked, the `10` link switched) SIGKILLed at random
checkpoints, createrepo_c running among them: the re-run converges to one publish."""

from __future__ import annotations

import pytest

from tests.kits import crash as kit
from tests.kits import isokit
from tests.kits.signing import SigningKey

pytestmark = [pytest.mark.slow, pytest.mark.timeout(kit.timeout())]


def test_iso_publish_converges(iso_files: isokit.IsoFiles, iso_key: SigningKey) -> None:
    directory = kit.scratch("iso")
    run = isokit.built(directory, iso_files, iso_key)
    publish = kit.Command(["iso", "publish", "--release", "10", "--version", "10.1"],
                          config=directory / "sme.yaml")
    suite = kit.Suite("iso publish", run.engine.layout.root, publish, kills=6, doubles=1,
                      releases=["10"], config=directory / "sme.yaml")
    outcome = kit.record(suite.run(named=["repodata: createrepo_c running"]))
    assert outcome.checkpoints > 6
