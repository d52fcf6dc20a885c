# The environment of the local Airflow that `make run` starts, for anyone who wants to talk
# to the same home:   source scripts/airflow-env.sh && airflow dags list
#
# Only exports: sourcing it has no side effects (no files, no `set -e` leaking into the
# caller's shell). Values already exported win only for the host/ports, so a second
# checkout can run beside this one; everything else names this repository's files.
# Option names checked against airflow/config_templates/config.yml of apache-airflow 3.3.2.

_updraft_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

export AIRFLOW_HOME="$_updraft_repo/airflow-home"
export UPDRAFT_CONFIG="$_updraft_repo/config/sme.yaml"

# `airflow standalone` starts its components as plain `airflow ...` from PATH.
case ":$PATH:" in
  *":$_updraft_repo/.venv/bin:"*) ;;
  *) export PATH="$_updraft_repo/.venv/bin:$PATH" ;;
esac

export AIRFLOW__CORE__DAGS_FOLDER="$_updraft_repo/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$_updraft_repo/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
# Spelled out (it is standalone's default) so every tool sourcing this uses the same file.
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"

# A DAG file saved in dags/ shows up within seconds instead of the default 5 minutes
# (new files: refresh_interval; changed files: min_file_process_interval, default 30).
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=10
export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=10

# LocalExecutor forks one worker per slot; 32 idle ones are a lot for a 2-core laptop,
# and a cycle runs at most one task per changed arch dir at a time.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-8}"

# SimpleAuthManager with updraft's permissions (updraft_airflow.auth, updraft.permissions:
# people read, trigger their DAGs and answer their gates; only admin deletes, pauses,
# clears, sets states or edits connections). scripts/airflow_standalone.py keeps
# `airflow standalone` from swapping it for the plain SimpleAuthManager.
export AIRFLOW__CORE__AUTH_MANAGER=updraft_airflow.auth.UpdraftSimpleAuthManager
# Its users. Roles: viewer < user < op < admin.
# The users are the config's `roles:` (`python -m updraft_airflow.users`): admin, then each person with
# the Airflow role their updraft roles need (user), e.g.
# "admin:admin,releng:user,packager:user,qa:user". Passwords live in the file below (JSON
# {"user": "password"}, mode 0600), written by scripts/standalone.sh; the API server
# only adds users missing from it.
if _updraft_users=$(PYTHONPATH="$_updraft_repo/plugins" "$_updraft_repo/.venv/bin/python" \
                      -m updraft_airflow.users --config "$UPDRAFT_CONFIG" --format simple \
                      2>/dev/null); then
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="$_updraft_users"
else  # no venv yet (`make install` makes it): an administrator only
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
fi
unset _updraft_users
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"

# Localhost only: SimpleAuthManager keeps plaintext passwords and is for development.
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
# Nothing else listens beyond this machine either: the scheduler's health check (when
# enabled) here; the log servers, which Airflow always binds to every interface, are not
# started at all by `make run` (scripts/airflow_standalone.py). The mail sink and the
# Bugzilla stand-in bind 127.0.0.1.
export AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST="${AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST:-127.0.0.1}"
# An idle scheduler looks again after 0.5 s, not 1 s: each of update_repos' steps waits
# for that look before it is queued, and a `cp` goes through four of them before its
# repodata is published (bench/drop_to_publish.py: about 1.5 s of the drop's 8).
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="${AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME:-0.5}"
# Task processes reach the API server here; the default assumes port 8080.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$AIRFLOW__API__PORT/execution/"

# The local SMTP sink (python -m updraft.devkit.mailsink) behind the connection updraft_smtp.
export UPDRAFT_SMTP_PORT="${UPDRAFT_SMTP_PORT:-8025}"
export UPDRAFT_MAIL_DIR="$AIRFLOW_HOME/mail"

# The demo's Bugzilla: the REST stand-in (python -m updraft.devkit.bugzilla_standin) serving seed
# 000's bugs, behind the connection updraft_bugzilla. A real one: edit that connection.
export UPDRAFT_BUGZILLA_PORT="${UPDRAFT_BUGZILLA_PORT:-8089}"

# The demo's upstream (python -m updraft.devkit.demo_upstream), built by `make demo`: what
# upstream_sync mirrors. Moving the port means moving config/sme.yaml's URLs with it.
export UPDRAFT_UPSTREAM_PORT="${UPDRAFT_UPSTREAM_PORT:-8091}"
export UPDRAFT_UPSTREAM_DIR="$_updraft_repo/.demo/upstream"
# The demo key (made by `make demo`): bootstrap_airflow.py points updraft_gpg at it, so
# builds are signed by the key config/sme.yaml trusts upstream and names as release key.
export UPDRAFT_DEMO_KEYS="$_updraft_repo/.demo/keys"

unset _updraft_repo
