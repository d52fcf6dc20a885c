"""The crash kit: run a writer in a subprocess, SIGKILL it at a seeded random checkpoint
(include/updraft/faults.py), re-run it (sometimes killed again), and prove the end state
equals the state of one uninterrupted run.

A suite is: a pristine tree (seeded once per session), a `Command` (a CLI argv or a
"module:function" called with JSON arguments; "{root}" in either is the trial's tree), an
optional different resume command, and `State`: what must come out the same.

`UPDRAFT_CRASH_SEED` picks the kill points (reproducible), `UPDRAFT_CRASH_TRIALS`
multiplies every suite's number of kills (`make soak`).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import createrepo_c as cr
import sqlalchemy as sa

from tests.kits import treekit
from tests.kits.checkkit import assert_healthy
from updraft.config.dist import load_config
from updraft.engine.engine import Engine

REPO = treekit.REPO
STATE = ".updraft"
NEVER = 10**9  # a crash point no run reaches: the run counts its checkpoints
# Temporary names a writer may leave while it works, and must never leave after a re-run.
TEMPORARY = (".updraft-tmp", ".part", ".repodata.updraft", ".updateinfo.updraft",
             ".updraft-new", ".old")

_zygote: subprocess.Popen[str] | None = None


def _server() -> subprocess.Popen[str]:
    """The session's fork server (tests/kits/zygote.py), started on first use."""
    global _zygote
    if _zygote is None or _zygote.poll() is not None:
        path = os.pathsep.join([str(REPO / "include"), str(REPO / "plugins"), str(REPO),
                                os.environ.get("PYTHONPATH", "")])
        _zygote = subprocess.Popen(
            [sys.executable, "-m", "tests.kits.zygote"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": path})
        atexit.register(_stop, _zygote)
    return _zygote


def _stop(server: subprocess.Popen[str]) -> None:
    if server.stdin:
        server.stdin.close()
    server.wait(timeout=30)


_scratch: Path | None = None


def scratch(name: str) -> Path:
    """A fresh directory for pristine trees and trials: on tmpfs when there is one. A
    SIGKILL loses no written page, so the crash tests need no durable disk, and fsync
    (the engine's, per copy and journal line) costs nothing there."""
    global _scratch
    if _scratch is None:
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
        _scratch = Path(tempfile.mkdtemp(prefix="updraft-crash-", dir=base))
        atexit.register(shutil.rmtree, _scratch, True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=_scratch))


def seed() -> int:
    return int(os.environ.get("UPDRAFT_CRASH_SEED", "2012"))


# About how many random kills the default run makes in all (make test).
DEFAULT_KILLS = 60


def scale(default: int) -> int:
    """A suite's number of kills: its default, or its share of UPDRAFT_CRASH_TRIALS kills
    in all (`make soak`: UPDRAFT_CRASH_TRIALS=200 makes about 200)."""
    total = os.environ.get("UPDRAFT_CRASH_TRIALS")
    return math.ceil(default * int(total) / DEFAULT_KILLS) if total else default


def timeout() -> int:
    """A crash test's pytest-timeout, grown with its kills (a soak runs 20 times more)."""
    return 900 * max(1, math.ceil(scale(10) / 10))


@dataclass(frozen=True)
class Command:
    """`updraft <argv>` (with --config) or `module:function(*args)` in a subprocess."""

    argv: Sequence[str] = ()
    call: str = ""
    args: Sequence[Any] = ()
    config: Path = treekit.CONFIG_FILE
    env: dict[str, str] = field(default_factory=dict)
    ok: Sequence[int] = (0,)  # exit codes of an uninterrupted run

    def run(self, root: Path, crash_at: int, where: str = "") -> tuple[int, int, str]:
        """(exit code, checkpoints passed, stderr) of one run on the tree at root, killed
        at checkpoint `crash_at` or at the first step named `where`..."""
        if self.call:
            target, arguments = self.call, _substitute(list(self.args), root)
        else:
            target = "cli"
            arguments = ["--config", str(self.config), "--root", str(root),
                         *_substitute(list(self.argv), root)]
        server = _server()
        assert server.stdin and server.stdout
        with tempfile.TemporaryDirectory(prefix="crash-run-") as scratch:
            out = Path(scratch) / "run"
            server.stdin.write(json.dumps({"target": target, "arguments": arguments,
                                           "env": self.env, "crash_at": crash_at, "where": where,
                                           "out": str(out)}) + "\n")
            server.stdin.flush()
            answer = json.loads(server.stdout.readline())
            stderr = Path(f"{out}.stderr").read_text(errors="replace")
        return answer["code"], answer["checkpoints"], stderr


def _substitute(value: Any, root: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{root}", str(root))
    if isinstance(value, list):
        return [_substitute(item, root) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, root) for key, item in value.items()}
    return value


def clone(pristine: Path, target: Path) -> Path:
    """A trial's tree: package files hardlinked (writers link, unlink and rename, never
    rewrite a package in place), the state dir (SQLite, journals, builds) copied."""
    def copy(source: str, destination: str) -> object:
        if f"/{STATE}/" in source:
            return shutil.copy2(source, destination)
        return os.link(source, destination)

    shutil.copytree(pristine, target, copy_function=copy, symlinks=True)
    return target


# -- the end state ---------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    files: dict[str, str]  # path -> sha256 (or "-> target" for a link); repodata excluded
    repodata: dict[str, tuple[list[str], list[str]]]  # repo dir -> (hrefs, advisory ids)
    ledger: dict[str, set[tuple[Any, ...]]]

    def differences(self, other: State) -> list[str]:
        lines = []
        for path in sorted(set(self.files) | set(other.files)):
            if self.files.get(path) != other.files.get(path):
                lines.append(f"file {path}: {self.files.get(path)} != {other.files.get(path)}")
        for path in sorted(set(self.repodata) | set(other.repodata)):
            if self.repodata.get(path) != other.repodata.get(path):
                lines.append(f"repodata {path}: {self.repodata.get(path)} != "
                             f"{other.repodata.get(path)}")
        for table in sorted(set(self.ledger) | set(other.ledger)):
            mine, theirs = self.ledger.get(table, set()), other.ledger.get(table, set())
            if mine != theirs:
                lines.append(f"ledger {table}: missing {sorted(theirs - mine, key=str)}, "
                             f"extra {sorted(mine - theirs, key=str)}")
        return lines


# Ledger rows that must come out the same: what was done, where to, which advisory.
LEDGER = {
    "actions": "release, family, family_evr, verb, filename, archdir, from_repo, to_repo",
    "package_states": "release, package, repo, state",
    "advisories": "id, release, family, family_evr, packages",
    "upstream_advisories": "release, source, advisory, family, family_evr, repo",
}
_digests: dict[tuple[int, int, int, int], str] = {}


def _digest(path: Path) -> str:
    info = path.stat()
    key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _digests:
        _digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _digests[key]


def state(root: Path, skip: Callable[[str], bool] = lambda path: False) -> State:
    """The tree below root (state dir excluded), its repodata read back, the ledger."""
    files: dict[str, str] = {}
    repodata: dict[str, tuple[list[str], list[str]]] = {}
    for directory, subdirs, names in os.walk(root):
        here = Path(directory)
        relative = here.relative_to(root)
        if relative.parts[:1] == (STATE,):
            subdirs[:] = []
            continue
        if "repodata" in subdirs and (here / "repodata" / "repomd.xml").is_file():
            repodata[str(relative)] = _read_repodata(here)
        subdirs[:] = [d for d in subdirs if d != "repodata" or relative.parts[:1] == ("iso",)]
        for name in [*names, *(d for d in subdirs if (here / d).is_symlink())]:
            path, key = here / name, str(relative / name)
            if skip(key):
                continue
            files[key] = f"-> {os.readlink(path)}" if path.is_symlink() else _digest(path)
    return State(files, repodata, _ledger(root / STATE / "ledger.sqlite"))


def _read_repodata(repo_dir: Path) -> tuple[list[str], list[str]]:
    metadata = cr.Metadata()
    metadata.locate_and_load_xml(str(repo_dir))
    hrefs = sorted(metadata.get(key).location_href for key in metadata.keys())
    records = cr.Repomd(str(repo_dir / "repodata" / "repomd.xml")).records
    ids: list[str] = []
    for record in records:
        if record.type == "updateinfo":
            info = cr.UpdateInfo(str(repo_dir / record.location_href))
            ids = sorted(update.id for update in info.updates)
    return hrefs, ids


def _ledger(database: Path) -> dict[str, set[tuple[Any, ...]]]:
    if not database.is_file():
        return {}
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            return {table: {tuple(row) for row in connection.execute(
                        sa.text(f"SELECT {columns} FROM {table}"))}  # (constants)
                    for table, columns in LEDGER.items() if table in tables}
    finally:
        engine.dispose()


def leftovers(root: Path) -> list[str]:
    """What a finished run must not leave: temporary files anywhere (state dir too), an
    unfinished journal, a pending repodata mark, a repodata that lists other files."""
    found = [str(p.relative_to(root)) for p in root.rglob("*")
             if any(mark in p.name for mark in TEMPORARY) or p.name == ".repodata"]
    found += [f"journal {p.name}" for p in (root / STATE / "journal").glob("*.jsonl")]
    found += [f"pending repodata {p.relative_to(root / STATE)}"
              for p in (root / STATE / "repodata-pending").glob("*/*/*")]
    for repomd in root.rglob("repodata/repomd.xml"):
        repo_dir = repomd.parent.parent
        if STATE in repo_dir.relative_to(root).parts:
            continue
        on_disk = sorted(str(p.relative_to(repo_dir)) for p in repo_dir.rglob("*.rpm")
                         if not any(part.startswith(".") for part in
                                    p.relative_to(repo_dir).parts))
        listed = _read_repodata(repo_dir)[0]
        if listed != on_disk:
            found.append(f"repodata of {repo_dir.relative_to(root)} lists {listed}, disk "
                         f"has {on_disk}")
    return found


# -- a suite ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Trial:
    first: int  # the checkpoint the run is killed at
    second: int = 0  # the checkpoint its re-run is killed at too (0: not killed)
    where: str = ""  # instead of `first`: the first checkpoint of this step

    def label(self) -> str:
        first = f"kill@{self.where.replace(' ', '_')}" if self.where else f"kill@{self.first}"
        return first + (f"+rerun-kill@{self.second}" if self.second else "")


@dataclass
class Outcome:
    name: str
    checkpoints: int
    trials: list[Trial]
    repodata_kills: int = 0
    doubled: int = 0  # re-runs that were killed too (a planned second kill the re-run
    # did not reach, since it had less left to do, is not counted)


@dataclass
class Suite:
    name: str
    pristine: Path
    command: Command
    resume: Command | None = None  # how the interrupted work is finished (default: again)
    kills: int = 8
    doubles: int = 2  # of those, how many also kill the re-run
    skip: Callable[[str], bool] = lambda path: False
    releases: list[str] | None = None
    config: Path = treekit.CONFIG_FILE
    check: Callable[[Path, str], None] | None = None  # extra assertions per trial

    def run(self, named: Sequence[str] = ()) -> Outcome:
        """Seeded random kills, plus one kill at the first checkpoint of each `named`
        step (a regression test pins the kill that found a bug)."""
        workdir = scratch(self.name.replace(" ", "_"))
        before = state(self.pristine, self.skip)
        reference = clone(self.pristine, workdir / f"{self.name}-reference")
        code, checkpoints, stderr = self.command.run(reference, NEVER)
        assert code in self.command.ok, f"{self.name}: uninterrupted run failed: {stderr}"
        self._settled(reference, "reference")
        expected = state(reference, self.skip)
        assert checkpoints > 1, f"{self.name}: the command passes no checkpoint"
        trials = plan_trials(self.name, checkpoints, scale(self.kills), scale(self.doubles))
        trials += [Trial(0, where=where) for where in named]
        repodata_kills = 0
        doubled = 0
        for index, trial in enumerate(trials):
            root = clone(self.pristine, workdir / f"t{index}")
            code, _, stderr = self.command.run(root, trial.first, trial.where)
            assert code == -signal.SIGKILL, (self.name, trial, code, stderr)
            repodata_kills += _in_repodata(stderr)
            resume = self.resume or self.command
            if trial.second:
                code, _, stderr = resume.run(root, trial.second)
                assert code in (-signal.SIGKILL, *resume.ok), (self.name, trial, code, stderr)
                doubled += code == -signal.SIGKILL
            code, _, stderr = resume.run(root, NEVER)
            assert code in resume.ok, f"{self.name} {trial.label()}: re-run failed: {stderr}"
            self._settled(root, trial.label())
            differences = state(root, self.skip).differences(expected)
            assert not differences, (f"{self.name} {trial.label()} did not converge:\n"
                                     + "\n".join(differences))
            if self.check:
                self.check(root, trial.label())
            again = Engine(load_config(self.config), root).update_repos(self.releases)
            assert again.nothing_to_do, (f"{self.name} {trial.label()}: a cycle after the "
                                         f"re-run still had work:\n{again.report}")
            shutil.rmtree(root)
        assert not state(self.pristine, self.skip).differences(before), \
            f"{self.name}: a trial wrote through a hardlink into the pristine tree"
        shutil.rmtree(reference)
        return Outcome(self.name, checkpoints, trials, repodata_kills, doubled)

    def _settled(self, root: Path, label: str) -> None:
        found = leftovers(root)
        assert not found, f"{self.name} {label}: left " + "; ".join(found)
        try:
            assert_healthy(Engine(load_config(self.config), root), self.releases)
        except AssertionError as exc:
            raise AssertionError(f"{self.name} {label}: {exc}") from None


def plan_trials(name: str, checkpoints: int, kills: int, doubles: int) -> list[Trial]:
    """Seeded kill points spread over the whole run (each suite its own stream)."""
    chooser = random.Random(f"{seed()}:{name}")
    points = chooser.sample(range(1, checkpoints + 1), min(kills, checkpoints))
    # More kills than checkpoints (a soak of a short step): points again, with double kills.
    points = sorted(points + chooser.choices(range(1, checkpoints + 1),
                                             k=max(0, kills - checkpoints)))
    chosen = set(chooser.sample(range(len(points)), min(doubles, len(points))))
    # A re-run passes fewer checkpoints (it only finishes the work): kill it early.
    second = max(1, checkpoints // 2)
    return [Trial(point, chooser.randint(1, second) if index in chosen else 0)
            for index, point in enumerate(points)]


def _in_repodata(stderr: str) -> int:
    """Was the kill in a repodata step (createrepo_c running, around the swap)?"""
    return int(any(line.startswith("CRASH at checkpoint") and " repodata" in line
                   for line in stderr.splitlines()))


# -- the figures of a session, for the README and the soak report ------------------------

OUTCOMES: list[Outcome] = []


def record(outcome: Outcome) -> Outcome:
    OUTCOMES.append(outcome)
    return outcome


def figures() -> list[dict[str, int | str]]:
    """This process's suites as plain values: an xdist worker hands them to the
    controller, which prints every worker's."""
    return [{"name": o.name, "kills": len(o.trials), "doubled": o.doubled,
             "repodata": o.repodata_kills, "checkpoints": o.checkpoints} for o in OUTCOMES]


def summary(every: list[dict[str, int | str]]) -> str:
    ordered = sorted(every, key=lambda f: str(f["name"]))
    lines = [f"{f['name']}: {f['kills']} kills ({f['doubled']} double, {f['repodata']} in "
             f"repodata) of {f['checkpoints']} checkpoints, all converged" for f in ordered]
    total = sum(int(f["kills"]) for f in every)
    doubled = sum(int(f["doubled"]) for f in every)
    repodata = sum(int(f["repodata"]) for f in every)
    return "\n".join([*lines, f"total: {total} kills ({doubled} double, {repodata} in "
                               f"repodata) over {len(every)} suites, all converged"])
