"""A fork server for the crash runs: one process imports updraft once, then forks a fresh
child per run, so a kill costs a fork, not a Python start (about a second here).

Protocol: one JSON request per line on stdin ({"target", "arguments", "env", "crash_at",
"out"}); one JSON answer per line on stdout ({"code", "checkpoints"}). The child's stdout
and stderr go to <out>.stdout / <out>.stderr, its checkpoint count to <out>.count. The
server is single-threaded, so forking it is safe; every child starts from the same
never-run state.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from updraft.cli import main as cli  # (imported once, for every child)
from updraft.engine import faults


def _child(request: dict) -> None:
    out = request["out"]
    for fd, suffix in ((1, "stdout"), (2, "stderr")):
        handle = os.open(f"{out}.{suffix}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdout = os.fdopen(1, "w", closefd=False)
    sys.stderr = os.fdopen(2, "w", closefd=False)
    os.environ.update(request["env"])
    os.environ["UPDRAFT_CRASH_AT"] = str(request["crash_at"])
    faults._CRASH_AT, faults._passed = request["crash_at"], 0
    faults._CRASH_WHERE = request.get("where", "")
    code = 0
    try:
        target, arguments = request["target"], request["arguments"]
        if target == "cli":
            cli.main(arguments)
        else:
            module, _, name = target.partition(":")
            code = getattr(importlib.import_module(module), name)(*arguments) or 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException as exc:  # (reported, like an uncaught error)
        import traceback

        traceback.print_exception(exc)
        code = 1
    Path(f"{out}.count").write_text(str(faults.checkpoints_passed()))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        if request["target"] != "cli":  # imported here once, not in every child
            importlib.import_module(request["target"].partition(":")[0])
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        count = Path(f"{request['out']}.count")
        checkpoints = int(count.read_text()) if count.is_file() else 0
        count.unlink(missing_ok=True)
        print(json.dumps({"code": code, "checkpoints": checkpoints}), flush=True)


if __name__ == "__main__":
    serve()
