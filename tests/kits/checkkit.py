"""`updraft check` for tests: a tree a test wrote must come out healthy."""

from __future__ import annotations

from updraft.engine.check import Health, check
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout


def assert_healthy(subject: Engine | Layout, releases: list[str] | None = None) -> Health:
    """Run the read-only check on an engine's (or a layout's) tree; fail with its lines."""
    engine = subject if isinstance(subject, Engine) else Engine(subject.config, subject.root)
    health = check(engine, releases)
    assert health.healthy, "updraft check found:\n" + "\n".join(health.lines())
    return health
