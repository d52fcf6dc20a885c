"""Prepare airflow-home for `make run`: passwords, database, pools, connections, a key.

Run by scripts/standalone.sh with scripts/airflow-env.sh sourced. One process instead of
`airflow db migrate`, `airflow pools set` and `airflow connections add`: each CLI call
costs ~2.3 s of imports on its own. Idempotent: a user already in the password file
keeps the password it has, and the demo signing key is made once.

Secrets at rest: everything here is created 0600/0700 (umask 077), and airflow.cfg with
its fernet key is written (by Airflow's own code, 0600, once per home) BEFORE the first
connection: as a library Airflow never writes it, so the connections used to be stored
in clear and `airflow standalone` then wrote a key nobody had used. Rows stored in clear
by such an earlier run are encrypted here.
"""

import json
import os
import secrets
import subprocess
from pathlib import Path

os.umask(0o077)  # the database, logs, keys: nobody else's business
home = Path(os.environ["AIRFLOW_HOME"])
for existing in (home, home / "airflow.db", home / "airflow.cfg", home / "signing"):
    if existing.exists() and existing.stat().st_uid == os.getuid():  # an earlier run's
        existing.chmod(0o700 if existing.is_dir() else 0o600)

users = [u.split(":")[0] for u in os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",")]
password_file = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
passwords = json.loads(password_file.read_text()) if password_file.exists() else {}
if missing := [user for user in users if user not in passwords]:
    passwords.update({user: secrets.token_urlsafe(12) for user in missing})
    tmp = password_file.with_name(password_file.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(passwords, indent=2) + "\n")
    os.replace(tmp, password_file)
password_file.chmod(0o600)

# Imported after the cheap part. The config (and its fernet key) first, before any model
# can cache "no key" (airflow.models.crypto.get_fernet is cached per process).
from airflow.configuration import write_default_airflow_configuration_if_needed  # noqa: E402

airflow_conf = write_default_airflow_configuration_if_needed()
if not airflow_conf.get("core", "fernet_key"):
    raise SystemExit(f"{home / 'airflow.cfg'}: [core] fernet_key is empty; connections "
                     "would be stored in clear. Set one (python -c 'from cryptography.fernet "
                     "import Fernet; print(Fernet.generate_key().decode())') or remove the "
                     "file to have one made.")

# Connection is the ORM model on purpose: the Task SDK's, which ruff's AIR311 suggests,
# cannot write to the database.
from airflow.models import Pool  # noqa: E402
from airflow.models.connection import Connection  # noqa: E402
from airflow.utils.db import upgradedb  # noqa: E402
from airflow.utils.session import create_session  # noqa: E402
from sqlalchemy import select  # noqa: E402

from updraft.config.dist import load_config  # noqa: E402
from updraft.devkit.demo_key import demo_key  # noqa: E402


def demo_signing_key(home: Path) -> tuple[str, str]:
    """A passphrase-protected key for the Sign? step of build_package (demo only: a real
    distribution points the updraft_gpg connection at its own key)."""
    import gnupg

    fingerprint_file, passphrase_file = home / "fingerprint", home / "passphrase"
    if not fingerprint_file.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        passphrase = secrets.token_urlsafe(18)
        gpg = gnupg.GPG(gnupghome=str(home))
        made = gpg.gen_key(gpg.gen_key_input(
            key_type="RSA", key_length=2048, name_real="updraft demo signing key",
            name_email="releases@contribs.org", expire_date=0, passphrase=passphrase))
        # gen_key started an agent in the home; the signer runs its own in a copy.
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
        if not made.fingerprint:
            raise SystemExit(f"could not make the demo signing key: {made.stderr[-300:]}")
        fd = os.open(passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(passphrase)
        fingerprint_file.write_text(made.fingerprint)
    return fingerprint_file.read_text().strip(), passphrase_file.read_text()


config = load_config(os.environ["UPDRAFT_CONFIG"])
upgradedb()  # what `airflow db migrate` runs; creates the database the first time
with create_session() as session:
    Pool.create_or_update_pool(
        "repo_tree", 1, "serialises every change to the repository tree",
        include_deferred=False, session=session,
    )
    for archdir in dict.fromkeys(a for r in config.releases.values() for a in r.arches):
        builder = config.build.builder(archdir)
        Pool.create_or_update_pool(
            builder.pool, builder.slots, f"concurrent builds on queue {builder.queue}",
            include_deferred=False, session=session,
        )
    gpg = session.scalar(select(Connection).where(Connection.conn_id == "updraft_gpg"))
    if gpg is None:
        if os.environ.get("UPDRAFT_DEMO_KEYS"):
            # `make run`: the demo key (updraft.devkit.demo_key, .demo/keys), which also signs
            # the demo upstream and is the ISO's release key: one key the mission trusts.
            key = demo_key(Path(os.environ["UPDRAFT_DEMO_KEYS"]))
            fingerprint, passphrase, gnupghome = key.fingerprint, key.passphrase, key.gnupghome
        else:
            gnupghome = Path(os.environ["AIRFLOW_HOME"]) / "signing"
            fingerprint, passphrase = demo_signing_key(gnupghome)
        gpg = Connection(conn_id="updraft_gpg", conn_type="generic",
                         description=f"the demo signing key ({gnupghome})",
                         login=fingerprint, password=passphrase,
                         extra=json.dumps({"gnupghome": str(gnupghome)}))
        session.add(gpg)
    conn = session.scalar(select(Connection).where(Connection.conn_id == "updraft_smtp"))
    if conn is None:
        conn = Connection(conn_id="updraft_smtp")
        session.add(conn)
    conn.conn_type = "smtp"
    conn.description = "the local mail sink (python -m updraft.devkit.mailsink)"
    conn.host = "127.0.0.1"
    conn.port = int(os.environ["UPDRAFT_SMTP_PORT"])
    conn.extra = json.dumps(
        {"disable_ssl": True, "disable_tls": True, "from_email": "releases@contribs.org"}
    )
    tracker = session.scalar(select(Connection).where(Connection.conn_id == "updraft_bugzilla"))
    if tracker is None:  # never overwritten: pointing it at a real Bugzilla is the goal
        session.add(Connection(
            conn_id="updraft_bugzilla", conn_type="bugzilla",
            description=("the demo's Bugzilla REST stand-in"
                         " (python -m updraft.devkit.bugzilla_standin)"),
            host=f"http://127.0.0.1:{os.environ['UPDRAFT_BUGZILLA_PORT']}/",
            password="demo-key"))
    # Rows an earlier run stored in clear: read them back (no-op decrypt), store encrypted.
    for row in session.scalars(select(Connection)):
        if row._password and not row.is_encrypted:
            row.password = row._password
        if row._extra and not row.is_extra_encrypted:
            row.extra = row._extra
print("bootstrap done")
