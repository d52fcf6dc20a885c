"""Security settings of the YAML: the `security:` section (seed 004, notifications 3, 4).

How often a security update still waiting below the updates repo is reminded of, to
whom, and where the security announcement of a released one goes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecuritySettings(_Strict):
    # "Security update waiting" reminders (cron or @daily): until it is released.
    remind_schedule: str = "@daily"
    remind_to: tuple[str, ...] = ()  # default: the family's policy owners, then report.recipients
    # The security announcement (notification 4) of a released security update.
    announce_to: tuple[str, ...] = ()  # default: release.announce.to, then report.recipients
    announce_subject: str = "[security] {product} Security Update: {nvrs} ({severity})"
    update_command: str = "yum update {packages}"
