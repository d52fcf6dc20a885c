"""One production-shaped stack for tests/e2e, shared by the e2e and browser tests.

Set up as docker-compose sets up production: compose's init script, the FAB auth manager,
a worker per kind of host. The tree: seed 000's clamav (0.97.6-1 in smetest, 0.97.5-2 in
smeupdates-testing) and a noarch e-smith-base in smeupdates-testing, settled. Builders
serve `default` and every builder queue of the config; the signer serves `sign` and is
the only process that has the `updraft_gpg` connection (an environment variable of its
own), as in compose.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from tests.kits import treekit
from tests.kits.deployment import BUGZILLA_KEY, FIXED_BUG, PASSPHRASE, RELEASED_FIX, Deployment
from tests.kits.signing import make_key
from tests.kits.stack import Stack, Worker
from tests.kits.stack_api import Api
from updraft.devkit.bugzilla_standin import BugzillaServer, bug
from updraft.devkit.mailsink import MailSink
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft_airflow import users as access


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
    fixed = treekit.build(RELEASED_FIX, tmp_path_factory.mktemp("e2e-fix"))
    treekit.place(layout, "9", "smeupdates-testing", fixed)
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
    # Each starts with "-" on purpose (token_urlsafe makes one in 64 so): compose's init
    # once passed the admin's to `airflow users create --password` as an option.
    passwords = {user.name: "-" + secrets.token_urlsafe(12) for user in users}
    with MailSink(tmp_path_factory.mktemp("e2e-mail")) as mailbox, \
            BugzillaServer({FIXED_BUG: bug(FIXED_BUG, "VERIFIED", "FIXED",
                                           product="SME Server 9.X",
                                           summary="The e2e tool forgets its settings")},
                           api_key=BUGZILLA_KEY) as bugzilla:
        # docker-compose's own init (database, pools, updraft_smtp, the roles' users in
        # the FAB auth manager with its updraft subclass), as production runs it.
        init = {"UPDRAFT_SMTP_HOST": "127.0.0.1", "UPDRAFT_SMTP_PORT": str(mailbox.port),
                "UPDRAFT_SMTP_SECURITY": "none", "UPDRAFT_MAIL_FROM": "releases@contribs.org"}
        stack = Stack(tmp_path_factory.mktemp("e2e-airflow"), tree=tree,
                      users=access.simple_auth_manager_users(config), passwords=passwords,
                      workers=workers, init=init)
        api = Api(stack)
        try:
            stack.start()
            api.add_connection("updraft_bugzilla", conn_type="generic", host=bugzilla.url,
                               password=BUGZILLA_KEY)
            yield Deployment(stack, api, tree, mailbox, key, bugzilla)
        finally:
            api.close()
            stack.stop()
            left = stack.leftovers()
            assert left == {"database": False, "redis_keys": [], "processes": []}, left


@pytest.fixture(autouse=True)
def idle_stack_after(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each e2e test leaves the stack idle for the next: a release run a browser test
    started (the board's Start button) would otherwise wait at its Go/NoGo and hold
    release_updates (max_active_runs=1) for test_release_updates' own runs."""
    yield
    if "deployment" in request.fixturenames:
        request.getfixturevalue("deployment").api.end_unfinished_runs()
