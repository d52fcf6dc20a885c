"""Policy: the package policies of the config (seed 004) that apply to one name.

A policy's `match` is a shell pattern (`samba*`) tried against the family's source
name and each of its binary names, so `samba*` covers libsmbclient's family too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from updraft.config.dist import DistConfig
from updraft.config.repos import Policy
from updraft.engine.evr import EVR, compare


@dataclass(frozen=True)
class Policies:
    """The policies matching one family, strongest (highest priority) first."""

    matched: tuple[Policy, ...]

    @property
    def local_build(self) -> Policy | None:
        return next((p for p in self.matched if p.local_build), None)

    @property
    def pin(self) -> Policy | None:
        return next((p for p in self.matched if p.pin), None)

    @property
    def rebuild(self) -> Policy | None:
        return next((p for p in self.matched if p.rebuild), None)

    @property
    def ask_parameters(self) -> Policy | None:
        return next((p for p in self.matched if p.ask_parameters), None)

    @property
    def couplings(self) -> tuple[Policy, ...]:
        return tuple(p for p in self.matched if p.coupled_with)


def policies_for(config: DistConfig, name: str, binaries: Iterable[str] = ()) -> Policies:
    names = [name, *binaries]
    matched = [policy for policy in config.policies
               if any(fnmatchcase(candidate, policy.match) for candidate in names)]
    matched.sort(key=lambda policy: -policy.priority)
    return Policies(tuple(matched))


def pin_evr(pin: str) -> EVR:
    """'1.4.8-1' or '1:1.4.8-1' as an EVR (release without dist tag)."""
    epoch_text, _, rest = pin.rpartition(":")
    version, _, release = rest.partition("-")
    return EVR(int(epoch_text) if epoch_text else None, version, release)


def within_pin(evr: EVR, pin: str) -> bool:
    """Whether a family at `evr` (dist stripped) is at or below the pinned version.

    A pin without a release ('1.4.8') allows every release of that version.
    """
    pinned = pin_evr(pin)
    if not pinned.release:
        return compare(EVR(evr.epoch, evr.version, ""), EVR(pinned.epoch, pinned.version, "")) <= 0
    return compare(evr, pinned) <= 0
