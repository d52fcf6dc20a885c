#!/usr/bin/env bash
# docker-compose's airflow-init: database, pools, connections, users and roles.
# Idempotent: run on every `docker compose up`; existing users keep their passwords.
set -euo pipefail

echo "updraft init: migrating the database (Airflow and the FAB auth manager's tables)"
airflow db migrate

echo "updraft init: pools"
airflow pools set repo_tree 1 "serialises every change to the repository tree"
# One pool per builder (build.builders in the config): its slots bound concurrent builds.
updraft-pools() {
  python - <<'PYTHON'
import os
from updraft.config.dist import load_config

config = load_config(os.environ["UPDRAFT_CONFIG"])
archdirs = dict.fromkeys(a for release in config.releases.values() for a in release.arches)
for archdir in archdirs:
    builder = config.build.builder(archdir)
    print(builder.pool, builder.slots, builder.queue, sep="\t")
PYTHON
}
while IFS=$'\t' read -r pool slots queue; do
  airflow pools set "$pool" "$slots" "concurrent builds on queue $queue"
done < <(updraft-pools)

security=${UPDRAFT_SMTP_SECURITY:-starttls}
case $security in  # the SMTP provider's extras: disable_ssl, disable_tls
  ssl) disable_ssl=false disable_tls=true ;;
  starttls) disable_ssl=true disable_tls=false ;;
  none) disable_ssl=true disable_tls=true ;;
  *) echo "updraft init: UPDRAFT_SMTP_SECURITY=$security: use ssl, starttls or none" >&2; exit 2 ;;
esac
echo "updraft init: connection updraft_smtp -> $UPDRAFT_SMTP_HOST:$UPDRAFT_SMTP_PORT ($security)"
airflow connections delete updraft_smtp >/dev/null 2>&1 || true
airflow connections add updraft_smtp --conn-type smtp \
  --conn-host "$UPDRAFT_SMTP_HOST" --conn-port "$UPDRAFT_SMTP_PORT" \
  --conn-login="${UPDRAFT_SMTP_USER:-}" --conn-password="${UPDRAFT_SMTP_PASSWORD:-}" \
  --conn-extra "{\"from_email\": \"$UPDRAFT_MAIL_FROM\", \"disable_ssl\": $disable_ssl, \"disable_tls\": $disable_tls}" \
  >/dev/null
if [[ -n ${UPDRAFT_BUGZILLA_URL:-} ]]; then
  echo "updraft init: connection updraft_bugzilla -> $UPDRAFT_BUGZILLA_URL"
  airflow connections delete updraft_bugzilla >/dev/null 2>&1 || true
  airflow connections add updraft_bugzilla --conn-type generic \
    --conn-host "$UPDRAFT_BUGZILLA_URL" --conn-password="${UPDRAFT_BUGZILLA_API_KEY:-}" >/dev/null
fi
# updraft_gpg is deliberately not here: it lives in the signer's environment only.

echo "updraft init: users from the config's roles (updraft_airflow.users)"
existing=$(airflow users list --output plain | awk '$1 ~ /^[0-9]+$/ {print $2}')
passwords=${UPDRAFT_SECRETS_DIR:-/opt/airflow/secrets}/passwords.json
umask 077
mkdir -p "$(dirname "$passwords")"
[[ -f $passwords ]] || echo '{}' >"$passwords"
while IFS=$'\t' read -r name role titles; do
  if grep -qxF -- "$name" <<<"$existing"; then
    echo "  $name exists ($role)"
    continue
  fi
  if [[ $name == "$_AIRFLOW_WWW_USER_USERNAME" ]]; then
    password=$_AIRFLOW_WWW_USER_PASSWORD
  else
    password=$(python -c 'import secrets; print(secrets.token_urlsafe(12))')
    python - "$passwords" "$name" "$password" <<'PYTHON'
import json, sys
path, name, password = sys.argv[1:]
with open(path) as f:
    passwords = json.load(f)
passwords[name] = password
with open(path, "w") as f:
    json.dump(passwords, f, indent=2)
PYTHON
  fi
  airflow users create --username "$name" --role "$role" --firstname "$name" \
    --lastname "($titles)" --email "$name@${UPDRAFT_MAIL_DOMAIN:-localhost}" \
    --password="$password" >/dev/null
  echo "  created $name ($role: $titles)"
done < <(PYTHONPATH="$AIRFLOW__CORE__PLUGINS_FOLDER" python -m updraft_airflow.users \
           --admin "$_AIRFLOW_WWW_USER_USERNAME" --format tsv)
echo "updraft init: new users' passwords are in the airflow-secrets volume ($passwords)"
echo "updraft init: done"
