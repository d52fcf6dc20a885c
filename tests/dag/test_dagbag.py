"""The DAG files: they import cleanly, fast, without the heavy parts, and say what they do."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.kits import treekit

DAG_IDS = {"update_repos", "promote", "upstream_sync", "build_package", "release_updates",
           "build_iso", "gate_reminders", "build_batch", "security_reminder",
           "security_announce"}
# Scanning, repodata, signing and the ledger: loaded by tasks, never by a DAG file.
HEAVY = ["rpm", "createrepo_c", "solv", "gnupg", "bugzilla", "specfile",
         "updraft.engine.engine", "updraft.engine.tree", "updraft.engine.package",
         "updraft.ledger", "updraft.engine.repodata", "updraft.upstream.sync"]


def test_no_import_errors_and_every_dag_is_there(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert DAG_IDS <= set(dagbag.dags)


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_every_dag_is_tagged_documented_and_never_catches_up(dagbag, dag_id: str) -> None:
    dag = dagbag.get_dag(dag_id)
    assert "updraft" in dag.tags
    assert dag.catchup is False
    assert dag.doc_md and len(dag.doc_md) > 200


_OWN_CODE_PROBE = """
import importlib, json, pathlib, pkgutil, sys
from airflow.dag_processing.dagbag import DagBag
import updraft_airflow
from updraft_airflow import distribution
for found in pkgutil.walk_packages(updraft_airflow.__path__, "updraft_airflow."):
    importlib.import_module(found.name)
distribution.load()
warm = pathlib.Path(sys.argv[1])
(warm / "warm.py").write_text(
    "from airflow.sdk import DAG\\n"
    "from airflow.providers.standard.operators.empty import EmptyOperator\\n"
    "with DAG('warm', schedule=None):\\n    EmptyOperator(task_id='t')\\n")
DagBag(dag_folder=str(warm))
loaded, reads = set(sys.modules), distribution._load.cache_info().misses
bag = DagBag(dag_folder=sys.argv[2])
assert not bag.import_errors, bag.import_errors
print(json.dumps([sorted(n for n in set(sys.modules) - loaded
                         if not n.startswith("unusual_prefix_")),
                  distribution._load.cache_info().misses - reads]))
"""


def test_a_dag_file_costs_only_its_own_code(tmp_path) -> None:
    """A DAG processor imports the adapter and reads the config once; then parsing the DAG
    files (every 30 s) imports no further module and reads the config no more: a file's
    cost is its own few lines. (Said by what is loaded, not by a stopwatch.)"""
    home, warm = tmp_path / "home", tmp_path / "warm"
    home.mkdir()
    warm.mkdir()
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run([sys.executable, "-c", _OWN_CODE_PROBE, str(warm),
                           str(treekit.REPO / "dags")], capture_output=True, text=True,
                          env=env, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [[], 0]


def test_no_heavy_import_at_dag_top_level() -> None:
    probe = (
        "import json, runpy, sys\n"
        "for path in sys.argv[1:]:\n"
        "    runpy.run_path(path)\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    files = [str(treekit.REPO / "dags" / f"{dag_id}.py") for dag_id in sorted(DAG_IDS)]
    done = subprocess.run([sys.executable, "-c", probe, *files], capture_output=True, text=True,
                          env=dict(os.environ), check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_update_cycle_runs_on_the_configured_schedule_and_on_drops(dagbag) -> None:
    dag = dagbag.get_dag("update_repos")
    assert dag.timetable.timetable.expression == treekit.sme_config().schedule
    [drops] = dag.timetable.asset_condition.objects
    assert drops.uri == "updraft://tree/drops"
    assert [watcher.trigger.serialize()[0] for watcher in drops.watchers] == [
        "updraft_airflow.triggers.TreeDropTrigger"]
    assert dag.get_task("apply").pool == "repo_tree"
    assert dag.get_task("apply").retries == 3 and dag.get_task("repodata").retries == 3


def test_upstream_sync_runs_on_its_own_schedule_one_mirror_task_per_source(dagbag) -> None:
    dag = dagbag.get_dag("upstream_sync")
    assert treekit.sme_config().upstream_schedule == "@hourly"
    assert dag.timetable.expression == "0 * * * *"
    assert dag.timetable.run_immediately is True  # the first sync at start, not an hour on
    assert dag.get_task("land").pool == "repo_tree"
    assert dag.get_task("mirror").is_mapped


def test_release_updates_gates_promotes_in_the_tree_pool_and_waits_deferred(dagbag) -> None:
    dag = dagbag.get_dag("release_updates")
    assert dag.schedule is None or dag.timetable.summary in ("None", "")
    gate = dag.get_task("go_nogo")
    # Go or NoGo, with the families as the form's multiple choice (issue 17: a NoGo)
    assert gate.options == ["Approve", "Reject"] and gate.multiple is False
    assert gate.params.get_param("families").schema["type"] == "array"
    assert dag.get_task("promote").pool == "repo_tree"
    assert dag.get_task("advisory").pool == "repo_tree"
    order = ["analyse", "report", "go_nogo", "promote", "repodata", "mail", "verdict", "advisory",
             "wait_mirrors", "release_notes", "close_bugs", "record"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        if upstream == "repodata":
            continue
        assert downstream in dag.get_task(upstream).get_flat_relative_ids(upstream=False), (
            upstream, downstream)
