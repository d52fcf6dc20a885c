"""Notices: the mails of an upstream sync (seed 004, notifications 1 and 3).

The Repository Update report of what landed is the engine's; these two tell the team
what needs a human: packages that failed their tests, and security updates waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

from jinja2 import StrictUndefined

from updraft.config.dist import DistConfig
from updraft.ledger.upstream import AdvisoryLink
from updraft.mail import compose, list_tag
from updraft.markup import environment
from updraft.upstream.manifest import Manifest

_ENV = environment(undefined=StrictUndefined, keep_trailing_newline=True)


def rejection_mail(config: DistConfig, manifest: Manifest) -> EmailMessage | None:
    """'md5 or pgp key was corrupted': one mail per source and sync with rejections."""
    failed = [rejection for rejection in manifest.rejected if rejection.test_failed]
    if not failed:
        return None
    label = f"{config.prefix}{manifest.release}"
    body = _ENV.get_template("upstream_test_failed.txt.j2").render(
        label=label, origin=manifest.origin, rejected=failed)
    count = len(failed)
    subject = (f"{list_tag(config)}md5 or pgp key was corrupted: {count} package"
               f"{'s' if count != 1 else ''} from {manifest.origin} ({label})")
    return compose(config, subject, body)


def security_mail(config: DistConfig, links: Sequence[AdvisoryLink]) -> list[EmailMessage]:
    """'Security update waiting': one mail per release with security updates landed."""
    mails = []
    for release in dict.fromkeys(link.release for link in links):
        mine = [link for link in links if link.release == release]
        label = f"{config.prefix}{release}"
        body = _ENV.get_template("security_waiting.txt.j2").render(label=label, links=mine)
        names = ", ".join(dict.fromkeys(f"{link.advisory} {link.family}" for link in mine))
        subject = f"{list_tag(config)}Security update waiting: {names} ({label})"
        mails.append(compose(config, subject, body, mine[0].plan_id))
    return mails
