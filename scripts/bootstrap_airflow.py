"""Prepare airflow-home for `make run`: passwords, database, the pool and the connection.

Run by scripts/standalone.sh with scripts/airflow-env.sh sourced. One process instead of
`airflow db migrate`, `airflow pools set` and `airflow connections add`: each CLI call
costs ~2.3 s of imports on its own. Idempotent: a user already in the password file
keeps the password it has.
"""

import json
import os
import secrets
from pathlib import Path

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

# Imported after the cheap part. Connection is the ORM model on purpose: the Task SDK's,
# which ruff's AIR311 suggests, cannot write to the database.
from airflow.models import Pool  # noqa: E402
from airflow.models.connection import Connection  # noqa: E402
from airflow.utils.db import upgradedb  # noqa: E402
from airflow.utils.session import create_session  # noqa: E402
from sqlalchemy import select  # noqa: E402

upgradedb()  # what `airflow db migrate` runs; creates the database the first time
with create_session() as session:
    Pool.create_or_update_pool(
        "repo_tree", 1, "serialises every change to the repository tree",
        include_deferred=False, session=session,
    )
    conn = session.scalar(select(Connection).where(Connection.conn_id == "updraft_smtp"))
    if conn is None:
        conn = Connection(conn_id="updraft_smtp")
        session.add(conn)
    conn.conn_type = "smtp"
    conn.description = "the local mail sink (python -m updraft.mailsink)"
    conn.host = "127.0.0.1"
    conn.port = int(os.environ["UPDRAFT_SMTP_PORT"])
    conn.extra = json.dumps(
        {"disable_ssl": True, "disable_tls": True, "from_email": "releases@contribs.org"}
    )
print("bootstrap done")
