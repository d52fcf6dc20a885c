"""UpdraftOperator's one mapping of library errors to Airflow outcomes (issue 19 §2):
a Transient error is raised as it is, so Airflow retries the task; any other
UpdraftError fails it at once (AirflowFailException) with its one line."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.kits import treekit
from updraft.engine.lock import tree_lock
from updraft.errors import ConfigError, LockTimeout, StorageFull, Transient, storage_error
from updraft.release.tracker import BugTracker, TrackerUnavailable, TrackerUnreachable
from updraft_airflow import distribution
from updraft_airflow.operators import RepoApplyOperator, RepoPlanOperator, UpdraftOperator
from updraft_airflow.operators.cycle import anything_to_do

pytestmark = pytest.mark.timeout(120)


class _TI:
    dag_id, run_id, task_id, map_index, try_number = "update_repos", "manual__t", "t", -1, 1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def xcom_pull(self, task_ids: str | None = None, key: str = "return_value") -> Any:
        return None


def _context() -> Any:
    return {"ti": _TI(), "params": {}}


class _Raising(UpdraftOperator):
    def __init__(self, *, error: BaseException, **kwargs: Any) -> None:
        super().__init__(task_id="raising", **kwargs)
        self.error = error

    def run(self, context: Any) -> None:
        raise self.error


@pytest.fixture
def impatient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config the tasks load, with a lock wait of a fifth of a second."""
    config = treekit.sme_config().model_copy(update={"lock_timeout": 0.2})
    monkeypatch.setattr(distribution, "load", lambda chosen=None: config)


def test_a_busy_tree_lock_is_raised_as_it_is_for_a_retry(clamav_tree: Path,
                                                         impatient: None) -> None:
    before = treekit.rpm_files(clamav_tree)
    with tree_lock(clamav_tree / ".updraft", 5, "another writer"):
        with pytest.raises(LockTimeout, match="locked by") as caught:
            RepoApplyOperator(task_id="apply", release="9").execute(_context())
    assert isinstance(caught.value, Transient)
    assert not isinstance(caught.value, AirflowFailException)
    assert treekit.rpm_files(clamav_tree) == before


def test_a_config_error_fails_at_once_with_its_line(clamav_tree: Path) -> None:
    with pytest.raises(AirflowFailException, match=r"^unknown release 'nope' \(the config "
                                                   r"has ") as caught:
        RepoPlanOperator(task_id="plan", release="nope").execute(_context())
    assert isinstance(caught.value.__cause__, ConfigError)


def test_a_bad_param_fails_at_once_naming_it(clamav_tree: Path) -> None:
    with pytest.raises(AirflowFailException, match=r"^param dry_run: 'maybe' is not a boolean"):
        RepoApplyOperator(task_id="apply", dry_run="maybe").execute(_context())


def test_a_full_disk_is_retried_a_forbidden_one_fails() -> None:
    full = storage_error(OSError(errno.ENOSPC, "No space left on device", "/tree/9"))
    forbidden = storage_error(OSError(errno.EACCES, "Permission denied", "/tree/9"))
    assert isinstance(full, StorageFull)

    with pytest.raises(StorageFull, match="no space left"):
        _Raising(error=full).execute(_context())
    with pytest.raises(AirflowFailException, match="permission denied"):
        _Raising(error=forbidden).execute(_context())


def test_bugzilla_not_answering_is_retried_a_refused_key_is_not() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TrackerUnavailable) as nobody:
        BugTracker(f"http://127.0.0.1:{port}", api_key="k", timeout=2).fetch([1])
    assert isinstance(nobody.value, TrackerUnreachable)

    with pytest.raises(TrackerUnreachable):
        _Raising(error=nobody.value).execute(_context())
    refused = TrackerUnavailable("Bugzilla at x: fetching failed (API key); check the API key")
    with pytest.raises(AirflowFailException, match="check the API key"):
        _Raising(error=refused).execute(_context())


def test_a_bug_keeps_its_type_and_traceback() -> None:
    with pytest.raises(KeyError):
        _Raising(error=KeyError("a bug")).execute(_context())


def test_a_task_callable_gets_the_same_mapping() -> None:
    with pytest.raises(AirflowFailException, match=r"^param dry_run: 'sometimes'"):
        anything_to_do(_TI(), {"dry_run": "sometimes"})
    assert anything_to_do(_TI(), {"dry_run": "true"}) is False
