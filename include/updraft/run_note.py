"""Run notes: what a DAG run is about, in one line for Airflow's runs list
("clamav-0.97.6-1 → smeupdates (9)") instead of a bare timestamped run id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_NOTE = 200  # Airflow's note column holds 1000; a runs list shows far less


def _text(value: Any) -> str:
    return " ".join(str(value).split())[:120]  # one line, bounded: conf comes from anyone


def note_for(dag_id: str, conf: Mapping[str, Any] | None,
             asset_releases: list[str] | None = None) -> str | None:
    """The note of a run of `dag_id` triggered with `conf` (None: leave the note alone)."""
    conf = conf or {}
    release = _text(conf.get("release") or "")
    where = f" ({release})" if release else ""
    if dag_id == "promote" and conf.get("package"):
        target = _text(conf.get("target") or "smeupdates")
        note = f"{_text(conf['package'])} → {target}{where}"
    elif dag_id == "build_package" and conf.get("package"):
        bug = f", bug {_text(conf['bug'])}" if conf.get("bug") else ""
        note = f"build {_text(conf['package'])}{where}{bug}"
    elif dag_id == "release_updates":
        note = f"release updates of {release}" if release else "release updates"
    elif dag_id == "update_repos":
        releases = [release] if release else list(asset_releases or [])
        note = ("update repos of " + ", ".join(_text(r) for r in releases) if releases
                else "update repos of every release")
        if conf.get("dry_run"):
            note += " (dry run)"
    else:
        return None
    return note[:MAX_NOTE]
