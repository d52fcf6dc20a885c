#!/usr/bin/env bash
# `make run`: a local Airflow (standalone: SQLite, LocalExecutor, UpdraftSimpleAuthManager) on
# http://localhost:8080 serving dags/, with the users, pool and SMTP connection the DAGs
# expect and a local SMTP sink that saves every mail under airflow-home/mail.
# Stops everything it started on Ctrl-C, SIGTERM or when Airflow exits.
set -euo pipefail
# airflow.db, airflow.cfg (the fernet key), passwords.json, logs, mails: this user's only.
umask 077

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/airflow-env.sh
source scripts/airflow-env.sh

PY="$PWD/.venv/bin/python"
LOGS="$AIRFLOW_HOME/logs"
SINK_PIDFILE="$AIRFLOW_HOME/mailsink.pid"
AIRFLOW_PIDFILE="$AIRFLOW_HOME/standalone.pid"
COMPONENT_GROUPS="$AIRFLOW_HOME/components.pgid"  # written by scripts/airflow_standalone.py

die() { echo "standalone.sh: $*" >&2; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A live process whose command line contains $2 (a pid file may outlive its process and
# the pid be reused by something else).
pid_runs() { [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"; }

group_alive() {
  local table
  # ps can fail on a process exiting under it: then we cannot tell, so assume alive.
  table=$(ps -e -o pgid=,stat= 2>/dev/null) || return 0
  # Zombies do not count: the group leader stays one until we reap it with `wait`.
  awk -v g="$1" '$1 == g && $2 !~ /^Z/ {n++} END {exit !n}' <<<"$table"
}

# Stop a process group we started: signal $2 to its leader, give the group 30 s, then
# SIGKILL whatever is left of it.
stop_group() {  # pgid, signal, name
  kill "-$2" "$1" 2>/dev/null || return 0
  local i
  for ((i = 0; i < 150; i++)); do group_alive "$1" || break; sleep 0.2; done
  if group_alive "$1"; then
    echo "standalone.sh: $3 still running 30 s after SIG$2, killing it" >&2
    kill -KILL -- "-$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}

sink_pid="" airflow_pid="" bugzilla_pid=""
cleanup() {
  # Ignored from here on, which the sleep, ps and awk below inherit: timeout(1), make or a
  # second Ctrl-C may signal us again while Airflow stops, and dying then (or bash leaving
  # a loop whose child died of SIGINT) would leave the sink running. stop_group is bounded.
  trap '' INT TERM
  trap - EXIT
  set +e  # best effort from here: one failing step must not skip stopping the rest
  if [[ -n $airflow_pid ]]; then
    echo "standalone.sh: stopping Airflow" >&2
    # SIGINT is standalone's own way out: it terminates its four components and waits for
    # them. SIGTERM to the whole group is not: the LocalExecutor workers inherit the
    # scheduler's SIGTERM handler, and the scheduler then waits for them forever.
    stop_group "$airflow_pid" INT "airflow standalone"
    rm -f "$AIRFLOW_PIDFILE"
    # Each component runs in a process group of its own (with its workers), stopped by
    # standalone itself; should standalone have died first, they are stopped here.
    if [[ -r $COMPONENT_GROUPS ]]; then
      while read -r group; do
        [[ $group =~ ^[0-9]+$ ]] && group_alive "$group" && stop_group "$group" TERM "component $group"
      done <"$COMPONENT_GROUPS"
      rm -f "$COMPONENT_GROUPS"
    fi
  fi
  if [[ -n $sink_pid ]]; then
    stop_group "$sink_pid" TERM "the mail sink"
    rm -f "$SINK_PIDFILE"
  fi
  [[ -n $bugzilla_pid ]] && stop_group "$bugzilla_pid" TERM "the Bugzilla stand-in"
}
trap cleanup EXIT
# Ctrl-C is how `make run` is meant to end: a clean stop is a success (exit 0).
trap 'trap "" INT TERM; exit 0' INT
trap 'trap "" INT TERM; exit 143' TERM

# -- ports ----------------------------------------------------------------------------------
# Airflow's api-server would otherwise crash-loop on a taken port with a long traceback.
if port_busy "$AIRFLOW__API__PORT"; then
  hint="stop whatever listens there or set AIRFLOW__API__PORT"
  if [[ -r $AIRFLOW_PIDFILE ]] && pid_runs "$(<"$AIRFLOW_PIDFILE")" "airflow_standalone.py"; then
    hint="an earlier run's Airflow is still up: kill -INT $(<"$AIRFLOW_PIDFILE")"
  fi
  die "port $AIRFLOW__API__PORT is taken ($hint)"
fi
# Airflow is not running (checked above), so a sink of ours on the port is an orphan of a
# run that was killed hard: replace it, so that this run owns (and stops) its sink.
if port_busy "$UPDRAFT_SMTP_PORT"; then
  if [[ -r $SINK_PIDFILE ]] && pid_runs "$(<"$SINK_PIDFILE")" "updraft.devkit.mailsink"; then
    old=$(<"$SINK_PIDFILE")
    echo "standalone.sh: stopping the mail sink left by an earlier run (pid $old)"
    stop_group "$old" TERM "the old mail sink"
  else
    die "port $UPDRAFT_SMTP_PORT is taken by another program (set UPDRAFT_SMTP_PORT to move the sink)"
  fi
fi

# -- mail sink ------------------------------------------------------------------------------
# Each long-running child gets its own session (setsid), hence its own process group: a
# Ctrl-C or `kill -- -PGID` meant for make and this script does not reach it directly, so
# cleanup() stops it once, in order, and whatever is left of a group can be killed as a
# whole. Started first: it is up by the time the database step below is done.
mkdir -p "$LOGS" "$UPDRAFT_MAIL_DIR"
setsid "$PY" -m updraft.devkit.mailsink --dir "$UPDRAFT_MAIL_DIR" --host 127.0.0.1 --port "$UPDRAFT_SMTP_PORT" \
  >>"$LOGS/mailsink.log" 2>&1 </dev/null &
sink_pid=$!
echo "$sink_pid" >"$SINK_PIDFILE"

# -- the demo's Bugzilla (a stand-in: Bugzilla cannot run here) ------------------------------
if port_busy "$UPDRAFT_BUGZILLA_PORT"; then
  echo "standalone.sh: port $UPDRAFT_BUGZILLA_PORT is taken: release_updates will use" \
       "whatever answers there (set UPDRAFT_BUGZILLA_PORT to move the stand-in)" >&2
else
  "$PY" -m updraft.devkit.demo --bugs "$AIRFLOW_HOME/bugzilla-demo.json"
  setsid "$PY" -m updraft.devkit.bugzilla_standin --bugs "$AIRFLOW_HOME/bugzilla-demo.json" \
    --port "$UPDRAFT_BUGZILLA_PORT" --api-key demo-key >>"$LOGS/bugzilla.log" 2>&1 </dev/null &
  bugzilla_pid=$!
fi

# -- the demo's upstream (updraft.devkit.demo_upstream: a static HTTP server) -----------------------
# What upstream_sync mirrors (config/sme.yaml's `upstream`): built and signed by `make demo`
# under .demo/upstream, served on 127.0.0.1 only. Stopped by cleanup() like the others.
upstream_pid=""
if port_busy "$UPDRAFT_UPSTREAM_PORT"; then
  echo "standalone.sh: port $UPDRAFT_UPSTREAM_PORT is taken: upstream_sync will mirror" \
       "whatever answers there (set UPDRAFT_UPSTREAM_PORT and the URLs in config/sme.yaml)" >&2
else
  setsid "$PY" -m updraft.devkit.demo_upstream --dir "$UPDRAFT_UPSTREAM_DIR" \
    --port "$UPDRAFT_UPSTREAM_PORT" >>"$LOGS/upstream.log" 2>&1 </dev/null &
  upstream_pid=$!
fi
# After cleanup(), which makes the exit path robust (INT/TERM ignored, set +e) first.
trap 'cleanup; [[ -n $upstream_pid ]] && stop_group "$upstream_pid" TERM "the demo upstream"' EXIT

# -- passwords, database, pool, connection ----------------------------------------------------
if ! "$PY" scripts/bootstrap_airflow.py >"$LOGS/bootstrap.log" 2>&1; then
  tail -n 20 "$LOGS/bootstrap.log" >&2
  die "preparing the Airflow database failed (full log: $LOGS/bootstrap.log)"
fi

# The sink has had the whole database step to bind; a dead one says why in its log.
for ((i = 0; i < 50; i++)); do
  port_busy "$UPDRAFT_SMTP_PORT" && break
  pid_runs "$sink_pid" "updraft.devkit.mailsink" || break
  sleep 0.1
done
if ! port_busy "$UPDRAFT_SMTP_PORT"; then
  tail -n 3 "$LOGS/mailsink.log" >&2
  die "the mail sink did not start (log: $LOGS/mailsink.log)"
fi

# -- banner ---------------------------------------------------------------------------------
url="http://localhost:$AIRFLOW__API__PORT"
logins=$("$PY" - <<'PYTHON'
import json
import os
import sys

sys.path.insert(0, os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"])  # updraft_airflow.users

from updraft.config.dist import load_config
from updraft_airflow.users import airflow_users

# Names and roles only: a console log (make run | tee, CI, a screen share) is no place for
# passwords. They stay in the 0600 file the banner names.
titles = {u.name: f"{u.airflow_role}, {u.titles}"
          for u in airflow_users(load_config(os.environ["UPDRAFT_CONFIG"]))}
with open(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]) as stream:
    known = set(json.load(stream))
for entry in os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(","):
    user, role = entry.split(":")[:2]
    if user in known:
        print(f"    {user:<9} ({titles.get(user, role)})")
PYTHON
)
# Printed now and again by scripts/airflow_standalone.py once every component is up.
export UPDRAFT_BANNER="$AIRFLOW_HOME/banner.txt"
cat >"$UPDRAFT_BANNER" <<BANNER

================================================================================
  updraft on Airflow: $url
  logins (user, role); the passwords are in $AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE
  (mode 0600; e.g. python3 -m json.tool "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"):
$logins
  mails:      airflow-home/mail/*.eml   (SMTP sink on 127.0.0.1:$UPDRAFT_SMTP_PORT,
              connection updraft_smtp; log airflow-home/logs/mailsink.log)
  demo tree:  ${UPDRAFT_ROOT:-.demo/tree}
  upstream:   http://127.0.0.1:$UPDRAFT_UPSTREAM_PORT/ (.demo/upstream; README: "A walk through the mission")
  same env:   source scripts/airflow-env.sh && airflow dags list
  logs:       airflow-home/logs/{scheduler,dag-processor,api-server,triggerer}.log
              (here: updraft's own lines and errors only)
  stop:       Ctrl-C
================================================================================

BANNER
cat "$UPDRAFT_BANNER"

# -- airflow --------------------------------------------------------------------------------
# Standalone leaves our users and password file alone: with simple_auth_manager_users set
# to anything but its default "admin:admin" it skips its own admin-password step, and the
# API server's SimpleAuthManager.init() only adds passwords for users missing from the file.
# Not `exec`: the trap above must outlive it. `trap - INT` undoes the SIGINT-ignore bash
# gives background jobs, without which standalone would not react to our SIGINT.
# scripts/airflow_standalone.py is `airflow standalone` keeping updraft's auth manager,
# without the log servers that Airflow binds to every interface.
# `umask 022` for the components: their tasks write the distribution tree (RPMs,
# repodata, ISOs) that mirrors and web servers read as other users, which umask 077 made
# 0600 files in 0700 dirs. Airflow's own files stay private: airflow-home is 0700
# (bootstrap_airflow.py), updraft's state dir and ledger are 0700/0600 whatever the umask.
: >"$COMPONENT_GROUPS"
(trap - INT; umask 022; UPDRAFT_COMPONENT_GROUPS="$COMPONENT_GROUPS" \
  exec setsid "$PY" scripts/airflow_standalone.py </dev/null) &
airflow_pid=$!
echo "$airflow_pid" >"$AIRFLOW_PIDFILE"

status=0
wait "$airflow_pid" || status=$?
echo "standalone.sh: airflow standalone exited ($status)" >&2
exit "$status"
