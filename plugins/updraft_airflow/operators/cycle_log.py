"""The task log of a cycle: every action once, with its reason (issue 18 §3).

The engine logs only a count while it applies; the Repository Update report (the mail)
is named by its file, not repeated: the actions below are its lines, with their paths
and why each happens.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from updraft.cycle import CycleResult


def log_cycle(log: logging.Logger, result: CycleResult) -> None:
    for plan_id in result.resumed:
        log.warning("finished plan %s left by an interrupted run", plan_id)
    if result.nothing_to_do:
        log.info("nothing to do")
        return
    for action in result.plan.actions:
        log.info("%s", action.explained())
    for warning in result.plan.warnings:
        log.warning("%s", warning)
    for failure in result.failures:
        log.error("not applied: %s", failure)
    if result.dry_run:
        log.info("dry run: %d actions planned, nothing changed", len(result.plan.actions))
    elif result.report_file:
        log.info("applied %d of %d actions; Repository Update report: %s",
                 len(result.applied), len(result.plan.actions), result.report_file)
    if result.unpublished:
        log.info("repodata to publish: %s",
                 ", ".join(target.label for target in result.unpublished))
