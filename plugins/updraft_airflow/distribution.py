"""Distribution: which config and tree this Airflow serves.

The config file is $UPDRAFT_CONFIG, else config/sme.yaml of this checkout; the tree
root is $UPDRAFT_ROOT, else the config's `root`. DAG files read the config when they
are parsed (schedule, releases, repos); tasks read it again when they run, so an edit
to the YAML applies from the next task on.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from updraft.config.dist import DistConfig, load_config, resolve_root

if TYPE_CHECKING:
    from airflow.sdk import Context

    from updraft.engine.engine import Engine

CHECKOUT = Path(__file__).resolve().parents[2]


def config_path(chosen: str | os.PathLike[str] | None = None) -> Path:
    return Path(chosen or os.environ.get("UPDRAFT_CONFIG") or CHECKOUT / "config" / "sme.yaml")


def load(chosen: str | os.PathLike[str] | None = None) -> DistConfig:
    path = config_path(chosen).resolve()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0  # load_config names the file and the reason
    return _load(path, stamp)


@lru_cache(maxsize=8)
def _load(path: Path, stamp: int) -> DistConfig:
    return load_config(path)


def engine(chosen: str | os.PathLike[str] | None, trigger: str) -> Engine:
    from updraft.engine.engine import Engine  # scans and applies: rpm, createrepo_c, the ledger

    config = load(chosen)
    return Engine(config, resolve_root(config), trigger=trigger)


def run_trigger(context: Context) -> str:
    """Who is acting, for the lock holder and the ledger: `airflow:<dag>/<run>`."""
    return trigger_of(context["ti"])


def trigger_of(ti: Any) -> str:
    """run_trigger of a task instance (a callable given only `ti`)."""
    return f"airflow:{ti.dag_id}/{ti.run_id}"
