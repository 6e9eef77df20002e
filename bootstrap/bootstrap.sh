#!/usr/bin/env bash
# bootstrap.sh: turn a fresh Amazon Linux 2023 instance into a lab web server.
# Called from the web stack's user data (as root). It
#   1. installs Python 3.11 and the web app's pip dependencies (PIP_PACKAGES) in /opt/webapp/venv,
#   2. downloads s3://$BOOT_BUCKET/$BOOT_PREFIX/webapp.tar.gz and unpacks it in /opt/webapp/app,
#   3. writes /etc/webapp.env (database host/port/name/engine, secret ARN, image URL: no password;
#      the app and `python -m webapp.schema` read the user and password from the secret),
#   4. creates the hits table (`python -m webapp.schema`, waiting for the database to answer),
#      and on MySQL sets the binlog retention AWS DMS needs,
#   4b. puts the website image in the lab's bucket if it is not there (`python -m webapp.image`:
#      the --image-url picture, else the one shipped with the app; a failure is only a warning),
#   5. installs and starts the systemd unit webapp.service (gunicorn webapp.wsgi:app).
#
# Usage:
#   bootstrap.sh --bucket B --prefix P --db-host H --db-port N --db-name D --db-engine E \
#                --secret-arn ARN [--image-url URL] [--port 80] [--region R]
#                [--mode fragile|resilient] [--resilient] [--workshop NAME]
#                [--image-bucket B --image-key K]
# Each option falls back to an environment variable:
#   BOOT_BUCKET BOOT_PREFIX WEBAPP_DB_HOST WEBAPP_DB_PORT WEBAPP_DB_NAME WEBAPP_DB_ENGINE
#   WEBAPP_DB_SECRET_ARN WEBAPP_IMAGE_URL WEBAPP_PORT AWS_REGION WEBAPP_MODE WEBAPP_WORKSHOP
#   RESLAB_WEBSITE_BUCKET RESLAB_WEBSITE_IMAGE_KEY
# (--resilient and WEBAPP_RESILIENT=1 are the older spelling of --mode resilient.)
# Knobs for other hosts and for the tests: BOOT_ROOT (prefix for every path written),
# WEBAPP_PYTHON (interpreter for the venv, default python3.11), WEBAPP_VENV (an existing venv
# that already has the dependencies: skips dnf and pip), WEBAPP_WORKERS (default 2),
# WEBAPP_THREADS (default 4), SCHEMA_WAIT_SECONDS (default 900).
set -euo pipefail

# What webapp/ imports (kept in step with pyproject.toml by tests/webapp/test_bootstrap.py).
PIP_PACKAGES=("Flask>=3,<4" "gunicorn>=22" "psycopg[binary]>=3.1,<4" "PyMySQL>=1.1,<2" "boto3>=1.35")

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bucket="${BOOT_BUCKET:-}"
prefix="${BOOT_PREFIX:-}"
db_host="${WEBAPP_DB_HOST:-}"
db_port="${WEBAPP_DB_PORT:-}"
db_name="${WEBAPP_DB_NAME:-}"
db_engine="${WEBAPP_DB_ENGINE:-}"
secret_arn="${WEBAPP_DB_SECRET_ARN:-}"
image_url="${WEBAPP_IMAGE_URL:-}"
image_bucket="${RESLAB_WEBSITE_BUCKET:-}"
image_key="${RESLAB_WEBSITE_IMAGE_KEY:-}"
workshop="${WEBAPP_WORKSHOP:-}"
port="${WEBAPP_PORT:-80}"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
mode="${WEBAPP_MODE:-}"
[ "${WEBAPP_RESILIENT:-0}" != 1 ] || mode="${mode:-resilient}"

while [ "$#" -gt 0 ]; do
  case "$1" in
    --bucket) bucket="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --db-host) db_host="$2"; shift 2 ;;
    --db-port) db_port="$2"; shift 2 ;;
    --db-name) db_name="$2"; shift 2 ;;
    --db-engine) db_engine="$2"; shift 2 ;;
    --secret-arn) secret_arn="$2"; shift 2 ;;
    --image-url) image_url="$2"; shift 2 ;;
    --image-bucket) image_bucket="$2"; shift 2 ;;
    --image-key) image_key="$2"; shift 2 ;;
    --workshop) workshop="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --region) region="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --resilient) mode=resilient; shift ;;
    -h | --help) sed -n '2,33p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

for required in bucket db_host db_name db_engine secret_arn; do
  [ -n "${!required}" ] || die "missing --${required//_/-} (or its environment variable)"
done
case "$db_engine" in
  *postgres*) db_engine=postgres; db_port="${db_port:-5432}" ;;
  *mysql* | *mariadb*) db_engine=mysql; db_port="${db_port:-3306}" ;;
  *) die "unsupported --db-engine: $db_engine (postgres or mysql)" ;;
esac
mode="${mode:-fragile}"
if [ -n "$image_bucket" ] && [ -z "$image_key" ]; then
  die "--image-bucket needs --image-key"
fi
for quoted in workshop image_url; do
  case "${!quoted}" in
    *\'* | *\"* | *\\* | *$'\n'*) die "--${quoted//_/-} must not contain quotes, backslashes or newlines" ;;
  esac
done
case "$mode" in
  fragile | resilient) ;;
  *) die "unsupported --mode: $mode (fragile or resilient)" ;;
esac

imds() {
  local token
  token="$(curl -sf -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' \
    http://169.254.169.254/latest/api/token)"
  curl -sf -m 2 -H "X-aws-ec2-metadata-token: ${token}" "http://169.254.169.254/latest/$1"
}
if [ -z "$region" ]; then
  region="$(imds meta-data/placement/region)" || die "no --region and no instance metadata"
fi

root="${BOOT_ROOT:-}"
app_root="${root}/opt/webapp"
env_file="${root}/etc/webapp.env"
unit_file="${root}/etc/systemd/system/webapp.service"
venv="${WEBAPP_VENV:-${app_root}/venv}"
key="${prefix%/}/webapp.tar.gz"
key="${key#/}"

if [ -z "${WEBAPP_VENV:-}" ]; then
  python="${WEBAPP_PYTHON:-python3.11}"
  if ! command -v "$python" >/dev/null 2>&1; then
    log "installing ${python}"
    dnf install -y "${python}" "${python}-pip"
  fi
fi

log "downloading s3://${bucket}/${key}"
mkdir -p "${app_root}/app" "$(dirname "$env_file")" "$(dirname "$unit_file")"
aws s3 cp --region "$region" "s3://${bucket}/${key}" "${app_root}/webapp.tar.gz"
rm -rf "${app_root}/app/webapp"
tar -xzf "${app_root}/webapp.tar.gz" -C "${app_root}/app"

if [ -z "${WEBAPP_VENV:-}" ]; then
  log "creating ${venv}"
  "$python" -m venv "$venv"
  "${venv}/bin/pip" install --quiet --upgrade pip
  "${venv}/bin/pip" install --quiet "${PIP_PACKAGES[@]}"
fi

log "writing ${env_file}"
umask 022
cat >"$env_file" <<EOF
# Web app settings (no password: it is read from the Secrets Manager secret at start).
AWS_REGION=${region}
AWS_DEFAULT_REGION=${region}
WEBAPP_DB_SECRET_ARN=${secret_arn}
WEBAPP_DB_HOST=${db_host}
WEBAPP_DB_PORT=${db_port}
WEBAPP_DB_NAME=${db_name}
WEBAPP_DB_ENGINE=${db_engine}
WEBAPP_IMAGE_URL='${image_url}'
WEBAPP_IMAGE_BUCKET=${image_bucket}
WEBAPP_IMAGE_KEY=${image_bucket:+${image_key}}
WEBAPP_WORKSHOP='${workshop}'
WEBAPP_MODE=${mode}
PYTHONPATH=${app_root}/app${PYTHONPATH:+:${PYTHONPATH}}
EOF

run_python() {
  (
    set -a
    # shellcheck source=/dev/null
    . "$env_file"
    set +a
    cd "${app_root}/app"
    "${venv}/bin/python" "$@"
  )
}

log "creating the hits table"
run_python -m webapp.schema --wait "${SCHEMA_WAIT_SECONDS:-900}"
if [ "$db_engine" = mysql ]; then
  run_python -m webapp.schema --binlog-retention-hours 24 ||
    log "warning: could not set the binlog retention (only RDS MySQL has rds_set_configuration)"
  if [ -n "${WEBAPP_DMS_SOURCE_SECRET_ARN:-}" ]; then
    log "creating the DMS source user (two-region DMS mode)"
    run_python -m webapp.schema --dms-source-user
  fi
fi

if [ -n "$image_bucket" ]; then
  log "placing the website image"
  run_python -m webapp.image ||
    log "warning: the website image is not in s3://${image_bucket}/${image_key}: the page shows it broken"
fi

if ! id webapp >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /sbin/nologin webapp
fi

log "writing ${unit_file}"
cat >"$unit_file" <<EOF
[Unit]
Description=Resiliency lab web app
Wants=network-online.target
After=network-online.target

[Service]
User=webapp
EnvironmentFile=${env_file}
WorkingDirectory=${app_root}/app
ExecStart=${venv}/bin/gunicorn --bind 0.0.0.0:${port} --workers ${WEBAPP_WORKERS:-2} --worker-class gthread --threads ${WEBAPP_THREADS:-4} --access-logfile - webapp.wsgi:app
AmbientCapabilities=CAP_NET_BIND_SERVICE
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
EOF

systemctl daemon-reload
systemctl enable --now webapp.service
log "web app started on port ${port} (${mode} mode)"
