"""Release notes: seed 000's "[updatesannounce] SME Server 7 Update: clamav-0.97.6-1" mail
for every update with bugs, and one "Update: Upstream packages <date>" digest for the
upstream packages (no bug, no formal notes: "Ian usually send an email ... a list of
packages"). Plain text, composed here, sent by whoever holds the SMTP connection.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from email.message import EmailMessage

from updraft.config.dist import DistConfig
from updraft.mail import compose
from updraft.markup import environment
from updraft.release.updates import Update

_ENV = environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def product(config: DistConfig, release: str) -> str:
    return config.release.announce.product.format(name=config.name, release=release)


def _references(update: Update) -> list[str]:
    return [f"Bug {bug.id} - {bug.summary}".rstrip(" -")
            for bug in update.bugs] + [
        f"{ref['id'] or ref.get('title', '')} - {ref.get('href', '')}".rstrip(" -")
        for ref in update.references]  # upstream's CVEs (issue 17 §4)


def _update_text(update: Update) -> str:
    # Seed 000 note 2: "the only changes needed ... would be the description of the
    # update": the bugs' summaries are the best draft there is.
    lines = [bug.summary for bug in update.bugs if bug.summary]
    return "\n".join(lines) or f"Update to {update.name} {update.version}"


def release_note(config: DistConfig, release: str, update: Update) -> str:
    return _ENV.get_template("release_notes.txt.j2").render(
        u=update, product=product(config, release),
        description="\n".join(textwrap.fill(p, 72) for p in update.description.split("\n")),
        update_text=_update_text(update), references=_references(update),
        # a noarch package lies in every arch dir: name it once
        packages=list(dict.fromkeys(f.filename for f in update.files)))


def _subject(template: str, config: DistConfig, release: str, **values: str) -> str:
    return template.format(product=product(config, release), **values)


def release_mail(config: DistConfig, release: str, update: Update) -> EmailMessage:
    """Seed 000's release note of one update with bugs, to `release.announce.to`."""
    settings = config.release.announce
    message = compose(config, _subject(settings.subject, config, release, nvr=update.nvr),
                      release_note(config, release, update), to=list(settings.to))
    _sender(message, settings.mail_from)
    message["X-Updraft-Advisory"] = update.advisory
    return message


def upstream_digest(config: DistConfig, release: str, upstream: list[Update],
                    day: datetime | None = None) -> EmailMessage:
    """One "Upstream packages <date>" mail listing the upstream updates."""
    settings = config.release.announce
    date = (day or datetime.now(UTC)).strftime("%d %B %Y")
    body = _ENV.get_template("upstream_packages.txt.j2").render(
        product=product(config, release), date=date, updates=upstream, footer=settings.footer)
    message = compose(config, _subject(settings.upstream_subject, config, release, date=date),
                      body, to=list(settings.to))
    _sender(message, settings.mail_from)
    return message


def announcements(config: DistConfig, release: str, updates: list[Update],
                  day: datetime | None = None) -> list[EmailMessage]:
    """One release note per update with bugs, one digest for the upstream ones."""
    messages = [release_mail(config, release, u) for u in updates if u.kind == "sme"]
    upstream = [update for update in updates if update.kind != "sme"]
    if upstream:
        messages.append(upstream_digest(config, release, upstream, day))
    return messages


def _sender(message: EmailMessage, mail_from: str | None) -> None:
    if mail_from:
        message.replace_header("From", mail_from)
