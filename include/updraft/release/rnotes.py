"""Rnotes: the release analysis as text, JSON or an HTML page with Rnotes' tabs.

Seed 000's Rnotes tabs, in their spirit: bug summary, release notes overview, SRPM and
RPM contents, bug report (packages per bug), bug status (product mismatch and access
denied shown), missing bug numbers, changes without bug numbers, verified package
versions (with why not), and smetest files newer than smeos.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from updraft.markup import environment, safe_url
from updraft.release.findings import Analysis

FORMATS = ("text", "json", "html")

# rnotes.html.j2 escapes by its name (updraft.markup), rnotes.txt.j2 stays plain text.
_ENV = environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _context(analysis: Analysis, name: str, links: dict[str, str] | None) -> dict[str, Any]:
    statuses = Counter(facts.status or "UNKNOWN" for facts in analysis.bugs.values())
    return {
        "a": analysis, "name": name,
        "links": {key: url for key, url in (links or {}).items() if safe_url(url)},
        "statuses": sorted(statuses.items()),
        "releasable": analysis.releasable(),
        "held": [p for p in analysis.packages if not p.releasable],
        "older": [p for p in analysis.packages
                  if p.releasable and p.releasable != p.candidate],
        "basename": os.path.basename,
    }


def render(analysis: Analysis, fmt: str, dist_name: str = "",
           links: dict[str, str] | None = None) -> str:
    if fmt == "json":
        return json.dumps(analysis.to_json(), indent=2, sort_keys=False) + "\n"
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
    template = "rnotes.html.j2" if fmt == "html" else "rnotes.txt.j2"
    return _ENV.get_template(template).render(_context(analysis, dist_name, links))


def store(analysis: Analysis, directory: Path, dist_name: str = "") -> dict[str, Path]:
    """Write the JSON and HTML report for the board page and the gate; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for fmt, suffix in (("json", "json"), ("html", "html")):
        target = directory / f"release-{analysis.release}.{suffix}"
        temporary = target.with_suffix(f".{suffix}.tmp")
        temporary.write_text(render(analysis, fmt, dist_name))
        os.replace(temporary, target)
        written[fmt] = target
    return written


def load(directory: Path, release: str) -> Analysis | None:
    path = directory / f"release-{release}.json"
    try:
        return Analysis.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
