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

    @classmethod
    def create(cls, directory: Path, plan_id: str, trigger: str, plan: Plan,
               digests: dict[str, tuple[int, str] | None]) -> Journal:
        private_dir(directory)
        created = datetime.now(UTC)
        head = {
            "plan_id": plan_id, "trigger": trigger, "created": created.isoformat(),
            "plan": json.loads(plan.to_json()), "digests": digests,
        }
        path = directory / f"{plan_id}.jsonl"
        temporary = path.with_suffix(".tmp")
        with open_private(temporary, "w") as stream:
            stream.write(json.dumps(head) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)  # a journal is either whole or absent
        fsync_dir(directory)
        checkpoint()
        return cls(path, plan_id, trigger, created, plan, digests)

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
        # O_APPEND writes of one short line land whole; a SIGKILL loses at most the
        # line being written, and that step is idempotent.
        with open(self.path, "a") as stream:
            stream.write(json.dumps({"done": step}) + "\n")
        self.done.add(step)
        checkpoint()

    def finish(self) -> None:
        done_dir = self.path.parent / "done"
        done_dir.mkdir(exist_ok=True)
        os.replace(self.path, done_dir / self.path.name)
        checkpoint()

