"""The task log of a cycle: every action once, with its reason (issue 18 §3).

Applying, the engine logs each action as it is done (updraft.engine.apply, with its paths and
reason) and each family it could not apply; this adds what the engine does not say:
the plan's warnings (a freeze, a conflict), the totals and the report's file. A
preview applies nothing, so its actions are listed here. The Repository Update report
(the mail) is named by its file, not repeated.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from updraft.engine.cycle import CycleResult


def log_cycle(log: logging.Logger | Any, result: CycleResult) -> None:
    for plan_id in result.resumed:
        log.warning("finished plan %s left by an interrupted run", plan_id)
    if result.nothing_to_do:
        log.info("nothing to do")
        return
    if result.dry_run:
        for action in result.plan.actions:
            log.info("%s", action.explained())
    for warning in result.plan.warnings:
        log.warning("%s", warning)
    if result.dry_run:
        log.info("dry run: %d actions planned, nothing changed", len(result.plan.actions))
    elif result.report_file:
        log.info("applied %d of %d actions (%d families not applied); Repository Update "
                 "report: %s", len(result.applied), len(result.plan.actions),
                 len(result.failures), result.report_file)
    if result.unpublished:
        log.info("repodata to publish: %s",
                 ", ".join(target.label for target in result.unpublished))
