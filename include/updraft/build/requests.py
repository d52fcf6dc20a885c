"""Build requests: which upstream SRPMs we rebuild, handed from the sync to the builders
(issue 17 §2, seed 004 steps 3-6).

A family is rebuilt when a policy matching it says `rebuild: true` or the release's
`rebuild:` patterns name it (SME: initscripts, anaconda, samba*; CERN: almost all).
Such a family's upstream binaries never land: its SRPM is fetched and verified by the
sync and becomes a request. A coupled family landing (libtevent) requests the rebuild
of what it is coupled with (samba). The requests go out as one Airflow asset event;
"Start building?" lists them. A request already made is not made again (the sync runs
hourly; samba stays newer upstream until our build lands).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from updraft.config.dist import DistConfig
from updraft.engine.durable import temporary_for
from updraft.engine.policy import policies_for
from updraft.safepath import plain_name

MAX_REQUESTS = 500  # one asset event: bounded, whatever upstream published


@dataclass(frozen=True)
class BuildRequest:
    release: str
    name: str  # source name: the family
    nvr: str  # the SRPM to build, as build_package's `package` takes it
    reason: str  # "new upstream 4.6.2-12.el7_4 from centos", "coupled: libtevent-0.9.31-2"
    origin: str = ""  # the upstream source, "" for a coupled rebuild of what we hold
    ask_parameters: bool = False  # a policy asks its special parameters at a gate
    defaults: dict[str, object] = field(default_factory=dict)  # the policy's build options

    @property
    def key(self) -> str:
        """How a gate lists it, and what an answer names: `samba-4.6.2-12.el7_4 (9)`."""
        return f"{self.nvr} ({self.release})"

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> BuildRequest:
        """From an asset event's extra: outside data as far as the builders go."""
        release, name, nvr = (str(raw[k]) for k in ("release", "name", "nvr"))
        plain_name(nvr, "build request")  # a name, never a path
        plain_name(name, "build request")
        defaults = raw.get("defaults") or {}
        if not isinstance(defaults, dict):
            raise ValueError(f"build request {nvr}: defaults must be a mapping")
        return cls(
            release,
            name,
            nvr,
            str(raw.get("reason") or "")[:300],
            str(raw.get("origin") or ""),
            bool(raw.get("ask_parameters")),
            defaults,
        )


def rebuilt(config: DistConfig, release: str, name: str, binaries: Iterable[str] = ()) -> bool:
    """Whether this release rebuilds the family from its upstream SRPM."""
    if policies_for(config, name, binaries).rebuild is not None:
        return True
    patterns = config.releases[release].rebuild if release in config.releases else ()
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def request(
    config: DistConfig, release: str, name: str, nvr: str, reason: str, origin: str = ""
) -> BuildRequest:
    """A request carrying what its policies say of the build (special parameters)."""
    policies = policies_for(config, name)
    asking = policies.ask_parameters
    options = next((p.build for p in policies.matched if not p.build.empty), None)
    defaults = options.model_dump(by_alias=True, exclude_defaults=True) if options else {}
    return BuildRequest(
        release, name, nvr, reason, origin, asking is not None, json.loads(json.dumps(defaults))
    )


def coupled_requests(
    config: DistConfig, release: str, landed: Iterable[tuple[str, str]], held: dict[str, str]
) -> list[BuildRequest]:
    """The rebuilds coupled families ask for: `landed` are (name, label) of families
    that landed, `held` maps a partner name to the label the release holds of it."""
    found = []
    for name, label in landed:
        for policy in policies_for(config, name).couplings:
            for partner in policy.coupled_with:
                if partner in held:
                    found.append(
                        request(
                            config,
                            release,
                            partner,
                            f"{partner}-{held[partner]}",
                            f"coupled: {name}-{label} landed",
                        )
                    )
    return found


class RequestBook:
    """The requests already made (`<state>/build-requests.json`), so each goes out once."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "build-requests.json"

    def made(self) -> set[str]:
        try:
            return set(json.loads(self.path.read_text()))
        except (OSError, ValueError):
            return set()

    def fresh(self, requests: Iterable[BuildRequest]) -> list[BuildRequest]:
        """The requests not made before (by release and N-V-R), recorded as made now."""
        made = self.made()
        new = {}
        for wanted in requests:
            if wanted.key not in made and wanted.key not in new:
                new[wanted.key] = wanted
        chosen = list(new.values())[:MAX_REQUESTS]
        if chosen:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = temporary_for(self.path)
            temporary.write_text(json.dumps(sorted(made | {r.key for r in chosen})))
            os.replace(temporary, self.path)
        return chosen

    def forget(self, keys: Iterable[str]) -> None:
        """Ask again (a request answered NoGo may be requested by a later sync)."""
        made = self.made() - set(keys)
        temporary = temporary_for(self.path)
        temporary.write_text(json.dumps(sorted(made)))
        os.replace(temporary, self.path)
