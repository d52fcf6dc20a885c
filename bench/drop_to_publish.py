"""Drop → published, under `make run`'s airflow standalone (not a test): prints seconds.

A packager's `cp` of a new package into 9/smetest/ until (a) the repodata of
9/smetest/x86_64 lists it and (b) a Repository Update mail rebuilding that repo is
in the sink's folder. Path of the event: the triggerer's TreeDropTrigger (woken by
inotify, a stat walk once the dir is quiet for 0.5 s, the change must hold still for a
second walk) → asset event → update_repos run (plan, anything_to_do, apply, repodata per
arch dir, mail, announce, verdict) on LocalExecutor. Targets: 8 s to the repodata, 10 s to
the mail.

Starts scripts/standalone.sh itself (nothing may listen on :8080), waits for the first
cycle to settle the demo tree, then drops --drops packages one after the other. The
dropped updraft-bench packages stay in the demo tree's smetest (`make clean` removes the
demo tree; the next `make run` builds it anew).

    .venv/bin/python bench/drop_to_publish.py [--drops 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import createrepo_c as cr

from updraft.config.dist import load_config, resolve_root
from updraft.devkit.rpmfactory import FamilySpec, build_family
from updraft.engine.engine import Engine
from updraft.engine.walk import fingerprints

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / "airflow-home"
MAIL = HOME / "mail"
API = "http://127.0.0.1:8080"


def _wait(what: str, ready: Callable[[], object], timeout: float, every: float = 0.2) -> float:
    """Seconds until ready() is truthy; a benchmark may poll, a test may not."""
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"drop_to_publish: gave up waiting for {what} after {timeout:g} s")
        time.sleep(every)
    return time.monotonic() - started


def _api_up() -> bool:
    try:
        with urllib.request.urlopen(f"{API}/api/v2/version", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _get(path: str) -> dict[str, object]:
    password = json.loads((HOME / "passwords.json").read_text())["admin"]
    login = json.dumps({"username": "admin", "password": password}).encode()
    request = urllib.request.Request(f"{API}/auth/token", data=login, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        token = json.loads(answer.read())["access_token"]
    request = urllib.request.Request(f"{API}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        found: dict[str, object] = json.loads(answer.read())
        return found


def _dag_registered() -> bool:
    try:
        return not _get("/api/v2/dags/update_repos")["is_paused"]
    except OSError:  # not up yet, or the DAG not parsed yet (404)
        return False


def _idle() -> bool:
    """No update_repos run queued or running: the previous drop's run has ended (its
    verdict and check tasks run after the mail, and max_active_runs=1 would make the
    next drop wait for them: that would measure the bench, not a packager's drop)."""
    try:
        return not _get("/api/v2/dags/update_repos/dagRuns?state=queued&state=running")[
            "total_entries"]
    except OSError:
        return False


def _settled(engine: Engine) -> bool:
    return (fingerprints(engine.layout) == engine.settled()
            and not engine.repodata.pending())


def _listed(repo_dir: Path, filename: str) -> bool:
    metadata = cr.Metadata()
    try:
        metadata.locate_and_load_xml(str(repo_dir))
    except Exception:  # repodata mid-swap or absent: not yet
        return False
    return any(metadata.get(key).location_href.endswith(filename) for key in metadata.keys())


def _mailed(seen: set[Path]) -> bool:
    # A never-seen package is only placed into the arch dirs, which the report does not
    # list, so the mail names the rebuilt repo rather than the package.
    new = [path for path in MAIL.glob("*.eml") if path not in seen]
    return any(b"rebuild smetest/x86_64" in path.read_bytes() for path in new)


def _one_drop(engine: Engine, number: int) -> tuple[float, float]:
    release = f"{time.strftime('%Y%m%d%H%M%S')}.{number}"  # new on every run of the bench
    built = build_family(FamilySpec(name="updraft-bench", version="1.0", release=release,
                                    main_arch="noarch", binary_dist=".el6.sme"),
                         REPO / ".bench" / "drops" / release, ("x86_64",))
    package = next(path for path in built.files() if path.name.endswith(".noarch.rpm"))
    repo_dir = engine.layout.repodata_dir("9", "smetest", "x86_64")
    seen = set(MAIL.glob("*.eml"))
    dropped = time.monotonic()
    for path in built.files():
        shutil.copy(path, engine.layout.root / "9" / "smetest")  # the packager's cp
    _wait("the repodata", lambda: _listed(repo_dir, package.name), 300)
    published = time.monotonic() - dropped
    print(f"drop {number}: repodata published after {published:.1f} s", flush=True)
    _wait("the mail", lambda: _mailed(seen), 300)
    mailed = time.monotonic() - dropped
    print(f"drop {number}: mail after {mailed:.1f} s", flush=True)
    _wait("a settled tree", lambda: _settled(engine), 300, 0.5)
    _wait("update_repos to end", _idle, 300, 0.5)
    return published, mailed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drops", type=int, default=3)
    args = parser.parse_args()
    config = load_config(REPO / "config" / "sme.yaml")
    engine = Engine(config, resolve_root(config))
    subprocess.run(["make", "-s", "demo"], cwd=REPO, check=True)
    (REPO / ".bench").mkdir(exist_ok=True)
    log = open(REPO / ".bench" / "standalone.log", "w")  # lives as long as Airflow
    airflow = subprocess.Popen(["bash", "scripts/standalone.sh"], cwd=REPO, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        print(f"airflow up in {_wait('the API server', _api_up, 300):.1f} s")
        print(f"DAGs registered in {_wait('update_repos', _dag_registered, 300, 1):.1f} s")
        settling = _wait("a settled tree", lambda: _settled(engine), 600, 1)
        print(f"demo tree settled in {settling:.1f} s")
        _wait("update_repos to end", _idle, 300, 0.5)
        results = [_one_drop(engine, number) for number in range(1, args.drops + 1)]
        print(f"median: repodata {statistics.median(r[0] for r in results):.1f} s, "
              f"mail {statistics.median(r[1] for r in results):.1f} s (targets 8 s and 10 s)")
    finally:
        os.killpg(airflow.pid, signal.SIGTERM)
        airflow.wait(timeout=60)
        log.close()


if __name__ == "__main__":
    main()
