"""One production-shaped stack for tests/e2e, shared by the e2e and browser tests.

The tree: seed 000's clamav (0.97.6-1 in smetest, 0.97.5-2 in smeupdates-testing) and a
noarch e-smith-base in smeupdates-testing, settled. Builders serve `default` and every
builder queue of the config; the signer serves `sign` and is the only process that has
the `updraft_gpg` connection (an environment variable of its own), as in compose.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import treekit
from tests.e2e.api import Api
from tests.e2e.stack import Stack, Worker
from tests.signing import SigningKey, make_key
from updraft import access
from updraft.cycle import Engine
from updraft.layout import Layout
from updraft.mailsink import MailSink
from updraft.rpmfactory import BuiltFamily

PASSPHRASE = "e2e passphrase " + secrets.token_hex(8)


@dataclass
class Deployment:
    stack: Stack
    api: Api
    tree: Path
    mailbox: MailSink
    key: SigningKey


# Package scope: the stack stops after the last e2e test, not at the end of the session
# (idle, it would still slow the unit tests that run after it).
@pytest.fixture(scope="package")
def deployment(tmp_path_factory: pytest.TempPathFactory, clamav_old: BuiltFamily,
               clamav_new: BuiltFamily) -> Iterator[Deployment]:
    config = treekit.sme_config()
    tree = tmp_path_factory.mktemp("e2e-tree")
    layout = Layout(config, tree)
    treekit.place(layout, "9", "smetest", clamav_new)
    treekit.place(layout, "9", "smeupdates-testing", clamav_old)
    esmith = treekit.build(treekit.noarch("e-smith-base", "5.6.0", "17"),
                           tmp_path_factory.mktemp("e2e-rpms"))
    treekit.place(layout, "9", "smeupdates-testing", esmith)
    assert Engine(config, tree).update_repos().ok

    key = make_key(tmp_path_factory.mktemp("k"), "SME Release", passphrase=PASSPHRASE)
    gpg = {"conn_type": "generic", "login": key.fingerprint, "password": PASSPHRASE,
           "extra": {"gnupghome": str(key.home)}}
    builders = tuple(dict.fromkeys(config.build.builder(arch).queue
                                   for release in config.releases.values()
                                   for arch in release.arches))
    workers = [Worker("builder", ("default", *builders), concurrency=2),
               Worker("signer", (config.build.sign_queue,), concurrency=1,
                      env={"AIRFLOW_CONN_UPDRAFT_GPG": json.dumps(gpg)})]
    users = access.airflow_users(config)
    passwords = {user.name: secrets.token_urlsafe(12) for user in users}
    stack = Stack(tmp_path_factory.mktemp("e2e-airflow"), tree=tree,
                  users=access.simple_auth_manager_users(config), passwords=passwords,
                  workers=workers)
    with MailSink(tmp_path_factory.mktemp("e2e-mail")) as mailbox:
        api = Api(stack)
        try:
            stack.start()
            api.add_pool("repo_tree", 1, "serialises every change to the repository tree")
            for arch in dict.fromkeys(a for r in config.releases.values() for a in r.arches):
                builder = config.build.builder(arch)
                api.add_pool(builder.pool, builder.slots, f"builds on {builder.queue}")
            api.add_connection("updraft_smtp", conn_type="smtp", host="127.0.0.1",
                               port=mailbox.port, extra=json.dumps(
                                   {"disable_ssl": True, "disable_tls": True,
                                    "from_email": "releases@contribs.org"}))
            yield Deployment(stack, api, tree, mailbox, key)
        finally:
            api.close()
            stack.stop()
            left = stack.leftovers()
            assert left == {"database": False, "redis_keys": [], "processes": []}, left
