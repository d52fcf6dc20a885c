"""The YAML's `gates:`, `users:` and `web:` sections: how long a gate waits, what its
silence means, whom it reminds, where people read their mail and where the UI lives.

    users:                       # optional: people of `roles:` with an address
      releng: {email: releng@example.org, name: Rel Eng}
    web:
      base_url: https://airflow.example.org   # absolute links in mails
    gates:
      timeout: 3d                # every gate; null waits forever
      remind_after: null         # default: at 80% of the timeout
      on_timeout: NoGo           # or Go
      reminders: "*/10 * * * *"  # how often gate_reminders looks
      release: {timeout: 1d}     # per gate kind: promote, build, sign, release, iso

Durations are seconds or a number with a unit: 45s, 30m, 12h, 3d. Every section is
optional: a config without them keeps its meaning (gates wait three days, mails go to
`release.gate_mail` or `report.recipients` when a user has no address).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

GateKind = Literal["promote", "build", "sign", "release", "iso"]
REMIND_FRACTION = 0.8
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def seconds(value: object) -> float | None:
    """A duration from the YAML (3600, "45s", "12h", "3d") in seconds; None stays None."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (seconds, or e.g. 45s, 30m, 12h, 3d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


class UserEntry(_Strict):
    email: str | None = None
    name: str | None = None  # shown in gate bodies and mails; default: the user name

    @field_validator("email")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^\s@<>,;\"]+@[^\s@<>,;\"]+", value):
            raise ValueError(f"{value!r} is not one plain mail address (user@host)")
        return value


class WebSettings(_Strict):
    # The Airflow UI as people reach it: links in mails are absolute (default: Airflow's
    # [api] base_url).
    base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s<>\"'`]+", value):
            raise ValueError(f"{value!r} is not an http(s):// URL")
        return value.rstrip("/") if value else value


class GateTiming(_Strict):
    timeout: float | None = Field(None, gt=0)
    remind_after: float | None = Field(None, gt=0)
    on_timeout: Literal["NoGo", "Go"] | None = None

    @field_validator("timeout", "remind_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return seconds(value)


@dataclass(frozen=True)
class Timing:
    """One gate's resolved timing."""

    timeout: float | None  # seconds; None: waits until answered
    remind_after: float | None  # seconds after the question; None: no reminder
    on_timeout: Literal["NoGo", "Go"]


class GateSettings(_Strict):
    timeout: float | None = Field(3 * 86400.0, gt=0)
    remind_after: float | None = Field(None, gt=0)
    on_timeout: Literal["NoGo", "Go"] = "NoGo"
    reminders: str = "*/10 * * * *"
    promote: GateTiming = GateTiming()
    build: GateTiming = GateTiming()
    sign: GateTiming = GateTiming()
    release: GateTiming = GateTiming()
    iso: GateTiming = GateTiming()

    @field_validator("timeout", "remind_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return seconds(value)

    @field_validator("reminders")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not value.startswith("@") and len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a cron expression or a preset")
        return value

    def timing(self, kind: str) -> Timing:
        """The timing of a gate kind: its own keys over the section's."""
        own = getattr(self, kind, None) if kind in GateKind.__args__ else None  # type: ignore[attr-defined]
        own = own if isinstance(own, GateTiming) else GateTiming()
        explicit = own.model_fields_set
        timeout = own.timeout if "timeout" in explicit else self.timeout
        remind = own.remind_after if "remind_after" in explicit else self.remind_after
        if remind is None and timeout is not None:
            remind = timeout * REMIND_FRACTION
        if remind is not None and timeout is not None and remind >= timeout:
            remind = None  # a reminder after the outcome reminds nobody
        return Timing(timeout, remind, own.on_timeout or self.on_timeout)


def duration_text(value: float) -> str:
    """3d, 12h, 30m or 45s: what a mail or a note says a timeout was."""
    for unit in ("w", "d", "h", "m"):
        if value >= _UNITS[unit] and value % _UNITS[unit] == 0:
            return f"{int(value // _UNITS[unit])}{unit}"
    return f"{value:g}s"
