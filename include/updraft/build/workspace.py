"""Workspace: one build's files on disk, and its record, under <state_dir>/builds/<id>/.

input/ holds the SRPM as verified, rebase/ the rebased one, results/<arch dir>/ each
builder's RPMs and logs, build.json what happened so far. Builders and the signer must
see the same state_dir (one machine, or a shared filesystem between builder hosts).
The CLI's `updraft sign ID` and the DAG's later tasks pick a build up by its id.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from updraft.engine.durable import temporary_for
from updraft.engine.faults import checkpoint
from updraft.engine.layout import Layout
from updraft.errors import PackageNotFound

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def build_id_for(nvr: str, run: str | None = None) -> str:
    """A file-name-safe id: the Airflow run's, or the NVR and the time for the CLI."""
    stamp = run or datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return _UNSAFE.sub("_", f"{nvr}-{stamp}").strip("_.")


@dataclass
class BuildRecord:
    build_id: str
    release: str
    requested: str  # what was asked for: a path or NAME-VERSION-RELEASE
    srpm: str = ""  # the SRPM the builders get (the input copy, or the rebased one)
    nvr: str = ""
    state: str = "waiting"  # seed 004: waiting, being built, build failed, unsigned, ...
    arches: list[str] = field(default_factory=list)  # asked for; empty: every arch dir
    overrides: dict[str, object] = field(default_factory=dict)  # BuildOptions of the run
    bug: str = ""  # the bug a rebase's changelog entry cites
    plan: list[str] = field(default_factory=list)
    outcomes: dict[str, dict[str, object]] = field(default_factory=dict)  # arch dir -> outcome
    signed_by: str = ""  # fingerprint, once signed
    landed_plan: str = ""  # the engine's plan id that brought the packages into the tree


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, layout: Layout, build_id: str) -> Workspace:
        workspace = cls(layout.state_dir / "builds" / build_id)
        workspace.root.mkdir(parents=True, exist_ok=True)
        return workspace

    @classmethod
    def open(cls, layout: Layout, build_id: str) -> Workspace:
        workspace = cls(layout.state_dir / "builds" / build_id)
        if not workspace.record_file.is_file():
            raise PackageNotFound(f"no build {build_id!r} in {workspace.root.parent} "
                                  "(`updraft build` prints the id of each build)")
        return workspace

    @property
    def record_file(self) -> Path:
        return self.root / "build.json"

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def rebase_dir(self) -> Path:
        return self.root / "rebase"

    def result_dir(self, archdir: str) -> Path:
        return self.root / "results" / archdir

    def outcome_file(self, archdir: str) -> Path:
        # Beside the results, not in build.json: builders of several arches write at once.
        return self.root / "results" / f"{archdir}.json"

    def take_input(self, srpm: Path) -> Path:
        """A private copy: the mirror may prune its file while the build waits at a gate."""
        self.input_dir.mkdir(parents=True, exist_ok=True)
        target = self.input_dir / srpm.name
        if not target.exists() or target.stat().st_size != srpm.stat().st_size:
            part = target.with_name(target.name + ".part")
            shutil.copyfile(srpm, part)
            os.replace(part, target)
        return target

    def load(self) -> BuildRecord:
        try:
            raw = json.loads(self.record_file.read_text())
        except (OSError, ValueError) as exc:
            raise PackageNotFound(f"{self.record_file}: unreadable build record ({exc})") from exc
        return BuildRecord(**raw)

    def save(self, record: BuildRecord) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = temporary_for(self.record_file)  # a killed writer's one goes next time
        with open(temporary, "w") as stream:
            json.dump(asdict(record), stream, indent=2, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        checkpoint("build: record written, not yet renamed")
        os.replace(temporary, self.record_file)
