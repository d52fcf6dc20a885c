"""The release: the chosen families promoted into gated smeupdates, then an advisory per
update issued in the ledger and merged into every arch dir's updateinfo (modifyrepo_c,
swapped in). SIGKILLed at random checkpoints, a retry converges: same files, the same
advisory ids (never issued twice), updateinfo read back equal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.kits import crash as kit
from tests.kits import releasekit, treekit
from tests.kits.bugzilla_server import BugzillaServer
from updraft.release import choice
from updraft.release.analysis import analyse
from updraft.release.tracker import BugTracker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(kit.timeout())]
CONFIG = str(treekit.CONFIG_FILE)
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).isoformat()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any], dict[str, Any]]:
    """Seed 000's release tree, its analysis' choice and bugs."""
    built = releasekit.build_seed(tmp_path_factory.mktemp("release-rpms"))
    engine = releasekit.seed_tree(kit.scratch("release") / "tree", built)
    with BugzillaServer(releasekit.seed_bugs()) as server:
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    chosen = [package.to_json() for package in choice.resolve(analysis, choice.options(analysis))]
    return engine.layout.root, chosen, {str(k): v.to_json() for k, v in analysis.bugs.items()}


def test_release_promotion_and_advisories_converge(seeded: tuple) -> None:  # type: ignore[type-arg]
    root, chosen, bugs = seeded
    step = kit.Command(call="tests.kits.crash_steps:release",
                       args=["{root}", CONFIG, chosen, bugs, AT])
    kit.record(kit.Suite("release", root, step, kills=6, doubles=1, releases=["9"]).run())


def test_advisory_merge_converges(seeded: tuple) -> None:  # type: ignore[type-arg]
    """After the promotion: the advisories alone (the ledger, then each arch dir's swap)."""
    root, chosen, bugs = seeded
    promoted = kit.clone(root, kit.scratch("promoted") / "tree")
    promote = kit.Command(call="tests.kits.crash_steps:release_promote",
                          args=["{root}", CONFIG, chosen])
    assert promote.run(promoted, kit.NEVER)[0] == 0
    advise = kit.Command(call="tests.kits.crash_steps:release_advise",
                         args=["{root}", CONFIG, chosen, bugs, AT])
    suite = kit.Suite("advisory merge", promoted, advise, kills=5, doubles=1,
                      releases=["9"])
    outcome = kit.record(suite.run())
    assert outcome.checkpoints >= 5
