"""A stack whose start fails still leaves nothing behind: no process, no database, no
Redis key (the session's stack is checked the same way when it stops)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.kits.stack import Stack, StackError, Worker

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_stack_whose_worker_dies_at_start_is_taken_down_whole(tmp_path: Path) -> None:
    # An unknown option: the worker exits at start, after the database exists and the
    # other components are starting: the failure the harness must clean up after.
    broken = Worker("broken", ("default",), args=("--no-such-option",))
    stack = Stack(tmp_path / "home", tree=tmp_path / "tree", users="admin:admin",
                  passwords={"admin": "admin"}, workers=[broken])
    try:
        with pytest.raises(StackError, match="worker-broken exited"):
            stack.start()
            stack._wait_until(lambda: False, time.monotonic() + 120,
                              "the worker to die")
    finally:
        stack.stop()
    assert stack.leftovers() == {"database": False, "redis_keys": [], "processes": []}
