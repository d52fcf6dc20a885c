"""The e2e stack's deployment: what the shared fixture (tests/e2e/conftest.py) hands to
every e2e and browser test, and the secrets and seed data it was made with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from tests.kits.signing import SigningKey
from tests.kits.stack import Stack
from tests.kits.stack_api import Api
from updraft.devkit import rpmfactory
from updraft.devkit.bugzilla_standin import BugzillaServer
from updraft.devkit.mailsink import MailSink

PASSPHRASE = "e2e passphrase " + secrets.token_hex(8)
BUGZILLA_KEY = "e2e-bugzilla-" + secrets.token_hex(8)
FIXED_BUG = 9001
# An SME-modified package in smeupdates-testing whose one change names a VERIFIED bug.
RELEASED_FIX = rpmfactory.FamilySpec(
    name="smeserver-e2e", version="1.0", release="1", main_arch="noarch",
    summary="A tool the release_updates e2e releases", url="http://www.contribs.org/",
    changelog=(rpmfactory.ChangelogEntry(
        "Mon Nov 23 2026", "Packager <packager@example.org>", "1.0-1",
        (f"- Remember the settings [SME: {FIXED_BUG}]",)),),
    binary_dist=".el6.sme")


@dataclass
class Deployment:
    stack: Stack
    api: Api
    tree: Path
    mailbox: MailSink
    key: SigningKey
    bugzilla: BugzillaServer
