"""`update-repos` and `promote` SIGKILLed at random checkpoints (journal, copies,
deletions, ledger, header cache, createrepo_c and the repodata swap): every re-run
converges to the uninterrupted result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import crash as kit

pytestmark = [pytest.mark.slow, pytest.mark.timeout(kit.timeout())]
NO_MAIL = {"UPDRAFT_SMTP": "127.0.0.1:1"}  # an override's mail fails fast (a warning)


def test_update_repos_converges(cycle_tree: Path) -> None:
    suite = kit.Suite("update-repos", cycle_tree, kit.Command(["update-repos"]),
                      kills=12, doubles=3)
    outcome = kit.record(suite.run())
    assert len(outcome.trials) == kit.scale(12)


def test_promote_to_testing_converges(settled_tree: Path) -> None:
    promote = kit.Command(["promote", "clamav-0.97.6-1.rf", "--to", "smeupdates-testing"])
    kit.record(kit.Suite("promote", settled_tree, promote, kills=8, doubles=2).run())


def test_promote_past_the_gate_converges(settled_tree: Path) -> None:
    """Into gated smeupdates with an override: the override recorded once per run."""
    promote = kit.Command(["promote", "clamav-0.97.5-2.rf", "--to", "smeupdates",
                           "--override-gate", "--reason", "x"], env=NO_MAIL)
    kit.record(kit.Suite("promote --override-gate", settled_tree, promote, kills=6,
                         doubles=2).run())
