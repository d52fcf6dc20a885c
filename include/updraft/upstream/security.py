"""Security: upstream advisories followed to our release (issue 17 §4, seed 004
notifications 3 and 4).

Pure functions over the ledger's advisory links (updraft.ledger.upstream): which
upstream security advisories a released family carries (its CVEs and the strongest
severity go into our updateinfo and release note), which are still waiting below the
updates repo and for how long (the reminder), and the announcement of released ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from jinja2 import StrictUndefined

from updraft.config.dist import DistConfig
from updraft.engine.evr import EVR, DistTag, compare
from updraft.ledger.upstream import AdvisoryLink
from updraft.mail import compose, list_tag
from updraft.markup import environment

# updateinfo's severities (Red Hat's scale), weakest first; unknown words rank lowest.
SEVERITIES = ("", "None", "Low", "Moderate", "Important", "Critical")
_ENV = environment(undefined=StrictUndefined, keep_trailing_newline=True)


def strongest(severities: Iterable[str]) -> str:
    known = {word.lower(): word for word in SEVERITIES}
    found = [known.get(s.strip().lower(), "") for s in severities]
    return max(found, key=lambda word: SEVERITIES.index(word), default="")


def _evr(label: str, dist: DistTag) -> EVR:
    version, _, release = label.rpartition("-")
    return EVR(None, version, dist.strip(release))


def covers(link: AdvisoryLink, name: str, label: str, dist: DistTag) -> bool:
    """Whether the family `name` at `label` carries the advisory's fix (the version it
    landed with, or a later one: our rebuild `.1` of it too)."""
    return link.family == name and compare(_evr(link.family_evr, dist), _evr(label, dist)) <= 0


@dataclass(frozen=True)
class Security:
    """What our advisory takes from upstream's: ids, severity, CVEs and their links."""

    advisories: tuple[str, ...]
    severity: str
    cves: tuple[str, ...]
    references: tuple[dict[str, str], ...]  # updateinfo references: type cve/self


def security_for(
    links: Iterable[AdvisoryLink], name: str, label: str, dist: DistTag
) -> Security | None:
    found = [link for link in links if link.kind == "security" and covers(link, name, label, dist)]
    if not found:
        return None
    references: dict[tuple[str, str], dict[str, str]] = {}
    for link in found:
        for ref in link.refs:
            if ref.get("type") in ("cve", "self") and (ref.get("id") or ref.get("href")):
                references.setdefault(
                    (ref.get("type", ""), ref.get("id") or ref["href"]),
                    {
                        "type": ref.get("type", ""),
                        "id": ref.get("id", ""),
                        "href": ref.get("href", ""),
                        "title": ref.get("title", ""),
                    },
                )
    cves = tuple(dict.fromkeys(cve for link in found for cve in link.cves))
    return Security(
        tuple(dict.fromkeys(link.advisory for link in found)),
        strongest(link.severity for link in found),
        cves,
        tuple(references.values()),
    )


class Advised(Protocol):
    """What `advise` sets on a release's update (updraft.release.updates.Update)."""

    name: str
    label: str
    type: str
    severity: str
    references: list[dict[str, str]]


def advise(updates: Iterable[Advised], links: Sequence[AdvisoryLink], dist: DistTag) -> None:
    """Upstream's security advisories into ours: type security, the strongest severity,
    the CVEs (and upstream's own advisory) as updateinfo references."""
    for found in updates:
        facts = security_for(links, found.name, found.label, dist)
        if facts is None:
            continue
        found.type = "security"
        found.severity = strongest([found.severity, facts.severity])
        known = {(ref["type"], ref["id"]) for ref in found.references}
        found.references += [
            dict(ref) for ref in facts.references if (ref["type"], ref["id"]) not in known
        ]


def merge_security(found: Sequence[Security]) -> Security:
    """One announcement's facts from several families' (a coupled unit, one release)."""
    refs: dict[tuple[str, str], dict[str, str]] = {}
    for facts in found:
        for ref in facts.references:
            refs.setdefault((ref["type"], ref["id"] or ref["href"]), ref)
    return Security(
        tuple(dict.fromkeys(a for f in found for a in f.advisories)),
        strongest(f.severity for f in found),
        tuple(dict.fromkeys(c for f in found for c in f.cves)),
        tuple(refs.values()),
    )


@dataclass(frozen=True)
class Waiting:
    link: AdvisoryLink
    waited: timedelta

    @property
    def waited_text(self) -> str:
        days, hours = self.waited.days, self.waited.seconds // 3600
        if not days and not hours:
            return "less than an hour"
        parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
        if hours or not days:
            parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
        return " ".join(parts)


def split_waiting(
    links: Sequence[AdvisoryLink],
    released: Mapping[str, Sequence[str]],
    dist: DistTag,
    now: datetime,
) -> tuple[list[Waiting], list[AdvisoryLink]]:
    """Links still flagged waiting: those the updates repo does not carry yet (with how
    long they have waited), and those it now carries (`released`: name -> labels)."""
    waiting, done = [], []
    for link in links:
        if not link.security_waiting:
            continue
        if any(covers(link, link.family, label, dist) for label in released.get(link.family, ())):
            done.append(link)
        else:
            waiting.append(Waiting(link, max(now - link.at, timedelta(0))))
    return waiting, done


def reminder_mails(
    config: DistConfig, waiting: Sequence[Waiting], owners: Mapping[str, Sequence[str]]
) -> list[EmailMessage]:
    """'Security update waiting' (notification 3), one per release, saying how long.
    `owners`: family -> addresses (its policies' owners)."""
    mails = []
    for release in dict.fromkeys(w.link.release for w in waiting):
        mine = [w for w in waiting if w.link.release == release]
        label = f"{config.prefix}{release}"
        body = _ENV.get_template("security_waiting.txt.j2").render(
            label=label,
            links=[w.link for w in mine],
            waited={(w.link.advisory, w.link.family): w.waited_text for w in mine},
        )
        longest = max(mine, key=lambda w: w.waited)
        names = ", ".join(dict.fromkeys(f"{w.link.advisory} {w.link.family}" for w in mine))
        subject = (
            f"{list_tag(config)}Security update waiting {longest.waited_text}: {names} ({label})"
        )
        to = (
            list(config.security.remind_to)
            or list(dict.fromkeys(a for w in mine for a in owners.get(w.link.family, ())))
            or list(config.report.recipients)
        )
        mails.append(compose(config, subject, body, to=to))
    return mails


@dataclass(frozen=True)
class Announced:
    """A released security update: its families (nvr), binaries, and upstream's facts."""

    release: str
    nvrs: tuple[str, ...]
    packages: tuple[str, ...]  # binary names: `yum update <packages>`
    security: Security


def announcement_mail(config: DistConfig, announced: Announced) -> EmailMessage:
    """The security announcement (notification 4): CVEs, severity, the update command."""
    product = config.release.announce.product.format(name=config.name, release=announced.release)
    security = announced.security
    command = config.security.update_command.format(packages=" ".join(announced.packages))
    body = _ENV.get_template("security_announce.txt.j2").render(
        product=product, nvrs=announced.nvrs, security=security, command=command
    )
    subject = config.security.announce_subject.format(
        product=product,
        nvrs=", ".join(announced.nvrs),
        severity=security.severity or "security",
        advisories=", ".join(security.advisories),
    )
    to = (
        list(config.security.announce_to)
        or list(config.release.announce.to)
        or list(config.report.recipients)
    )
    return compose(config, subject, body, to=to)
