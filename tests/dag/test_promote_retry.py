"""dag.test() of promote whose apply's first try was SIGKILLed mid-journal after the Go:
the apply that runs next (Airflow's retry) finishes the work on the same approval,
succeeds, and its repodata task publishes (issue 16)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.gatekit import Responder, clear_questions
from updraft.devkit.mailsink import MailSink
from updraft.engine.cycle import plan_digest
from updraft.engine.engine import Engine
from updraft.engine.promote import Promotion

pytestmark = pytest.mark.timeout(240)

FAMILY = "clamav-0.97.6-1.el4.rf"
KILL_AT = 20  # a checkpoint inside the journal: 2 of the 6 binaries moved
# The promote DAG's apply (RepoApplyOperator) as a process of its own: scoped,
# granted, on the approved digest (argv: root, digest).
_APPLY = """
import sys
from pathlib import Path
from tests.kits import treekit
from updraft.engine.engine import Engine
from updraft.engine.promote import Promotion
engine = Engine(treekit.sme_config(), Path(sys.argv[1]), trigger="dag")
promotion = Promotion(engine.layout, "clamav-0.97.6-1.el4.rf", "smeupdates", "9")
engine.apply(["9"], promotion, approved=sys.argv[2], grant=True, scoped=True)
"""


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


def _first_try_killed(root: Path) -> None:
    """What the approved apply's first try leaves when it is SIGKILLed midway."""
    engine = Engine(treekit.sme_config(), root)
    promotion = Promotion(engine.layout, FAMILY, "smeupdates", "9")
    digest = plan_digest(engine.preview(["9"], promotion, grant=True, scoped=True).plan)
    killed = subprocess.run([sys.executable, "-c", _APPLY, str(root), digest],
                            env={**os.environ, "UPDRAFT_CRASH_AT": str(KILL_AT)},
                            cwd=treekit.REPO, capture_output=True, text=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list((root / ".updraft/journal").glob("*.jsonl")), "no journal left pending"


def test_a_retried_apply_after_a_kill_succeeds_and_publishes(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    responder = Responder([("approve", "Approve")],
                          before=lambda: _first_try_killed(clamav_tree))
    dag = dagbag.get_dag("promote")
    responder.attach(dag).start()

    run = dag.test(run_conf={"release": "9", "package": FAMILY, "target": "smeupdates"})

    responder.join(timeout=30)
    assert responder.error is None, responder.error
    states = {ti.task_id: ti.state for ti in run.get_task_instances() if ti.map_index <= 0}
    assert run.state == "success", states
    for arch in ("i386", "x86_64"):
        on_disk = sorted(str(p.relative_to(clamav_tree / f"9/smeupdates/{arch}"))
                         for p in (clamav_tree / f"9/smeupdates/{arch}").rglob("*.rpm"))
        assert len(on_disk) == 3
        assert treekit.repo_hrefs(clamav_tree / f"9/smeupdates/{arch}") == on_disk
    assert not list(clamav_tree.glob("9/smetest/*/RPMS/clam*0.97.6*"))
    assert not list((clamav_tree / ".updraft/journal").glob("*.jsonl"))
