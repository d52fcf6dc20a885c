"""Journal: a plan written down before anything changes, and each step as it is done.

One JSON-lines file per plan in <state_dir>/journal/: the first line is the plan with
the size and sha256 of every file it copies; each later line marks one finished step.
A run that dies leaves the file behind and the next run finishes it. Finished
journals move to journal/done/ as the record of what was applied.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from updraft.engine.action import Plan
from updraft.engine.durable import fsync_dir
from updraft.engine.faults import checkpoint
from updraft.engine.placed import Placed, Stamp
from updraft.private import open_private, private_dir


@dataclass
class Journal:
    path: Path
    plan_id: str
    trigger: str
    created: datetime
    plan: Plan
    digests: dict[str, tuple[int, str] | None]
    done: set[str] = field(default_factory=set)
    # Not journaled: (inode, size, mtime_ns, ctime_ns) of each source when its digest was taken, so
    # a hard link to that very inode needs no second sha256 (a resumed run has none).
    stamps: dict[str, Stamp] = field(default_factory=dict)
    # Not journaled: the ctime a stamped source has now (this apply's own links and
    # renames of it move its ctime); any other change to it is caught by its ctime.
    ctimes: dict[str, int] = field(default_factory=dict)
    placed: Placed = field(default_factory=Placed)  # what this apply placed (not journaled)
    _fd: int | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(cls, directory: Path, plan_id: str, trigger: str, plan: Plan,
               digests: dict[str, tuple[int, str] | None], plan_json: str | None = None,
               stamps: dict[str, Stamp] | None = None) -> Journal:
        """`plan_json`: the plan's JSON when the caller already has it (it digested it)."""
        private_dir(directory)
        created = datetime.now(UTC)
        fields = {
            "plan_id": plan_id, "trigger": trigger, "created": created.isoformat(),
            "digests": digests,
        }
        # The plan's JSON is spliced in as is: serialised once, not dumped, parsed, dumped,
        # and written in parts (a 100k-action plan is tens of MB: no copies of it).
        path = directory / f"{plan_id}.jsonl"
        temporary = path.with_suffix(".tmp")
        with open_private(temporary, "w") as stream:
            stream.write(f'{json.dumps(fields)[:-1]}, "plan": ')
            stream.write(plan_json or plan.to_json())
            stream.write("}\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)  # a journal is either whole or absent
        fsync_dir(directory)
        checkpoint()
        return cls(path, plan_id, trigger, created, plan, digests, stamps=stamps or {})

    @classmethod
    def load(cls, path: Path) -> Journal:
        lines = path.read_text().splitlines()
        head = json.loads(lines[0])
        done: set[str] = set()
        for line in lines[1:]:
            try:
                done.add(json.loads(line)["done"])
            except (ValueError, KeyError):
                break  # a torn last line from a crash: that step is simply redone
        digests = {src: (tuple(value) if value else None) for src, value in head["digests"].items()}
        return cls(
            path=path, plan_id=head["plan_id"], trigger=head["trigger"],
            created=datetime.fromisoformat(head["created"]),
            plan=Plan.from_json(json.dumps(head["plan"])), digests=digests, done=done,
        )

    @classmethod
    def pending(cls, directory: Path) -> list[Journal]:
        if not directory.is_dir():
            return []
        return [cls.load(path) for path in sorted(directory.glob("*.jsonl"))]

    def mark(self, step: str) -> None:
        # One O_APPEND write(2) per line, on a descriptor opened once per apply: a line
        # lands whole; a SIGKILL loses at most the line being written, and that step
        # is idempotent.
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        os.write(self._fd, f'{{"done": {json.dumps(step)}}}\n'.encode())
        self.done.add(step)
        checkpoint()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def finish(self) -> None:
        self.close()
        done_dir = self.path.parent / "done"
        done_dir.mkdir(exist_ok=True)
        os.replace(self.path, done_dir / self.path.name)
        checkpoint()

