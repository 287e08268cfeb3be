#!/bin/bash
# Build the production image with podman and smoke-test it against a throwaway PostgreSQL
# (docs/deployment.md, "Smoke test"). Run as root: scripts/container-smoke.sh
#
# 1. starts a PostgreSQL on 127.0.0.1:$PG_PORT from the pgserver binaries in .venv (as a
#    non-root OS user, password authentication over TCP), in a temporary directory;
# 2. builds and smoke-tests the Dockerfile with ci-build-smoke.sh (NETWORK=host, /healthz);
# 3. runs `manage.py migrate` once in a one-off container, then checks a web container
#    (read-only root filesystem): /healthz, the landing page, the user it runs as, static files
#    with hashed names and cache headers, the HEALTHCHECK, 503 while PostgreSQL is down and
#    recovery after; and that a qcluster worker starts from the same image;
# 4. removes its containers and the database again (the images stay, as a build cache).
#
# Env: CI_TOOLS (dir of ci-build-smoke.sh), PGBIN, PG_PORT=55432, APP_PORT=18080,
#      IMAGE=localhost/impfportal:smoke, PG_OS_USER (default pgserver if it exists, else nobody)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CI_TOOLS=${CI_TOOLS:-$ROOT/../shared/tools/container}
PGBIN=${PGBIN:-$(echo "$ROOT"/.venv/lib/python3.*/site-packages/pgserver/pginstall/bin)}
PG_PORT=${PG_PORT:-55432}
APP_PORT=${APP_PORT:-18080}
IMAGE=${IMAGE:-localhost/impfportal:smoke}
PG_OS_USER=${PG_OS_USER:-$(id -u pgserver >/dev/null 2>&1 && echo pgserver || echo nobody)}
WEB=impfportal-smoke-web-$$
WORKER=impfportal-smoke-worker-$$

[ "$(id -u)" = 0 ] || { echo "run as root (podman builds and runs the image)" >&2; exit 1; }
[ -x "$PGBIN/pg_ctl" ] || { echo "no PostgreSQL binaries in $PGBIN (make install, or set PGBIN)" >&2; exit 1; }

PGDIR=$(mktemp -d /tmp/impfportal-smoke-pg.XXXXXX)
chown "$PG_OS_USER" "$PGDIR"
DB_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')
DATABASE_URL=postgres://impfportal:$DB_PASSWORD@127.0.0.1:$PG_PORT/impfportal
as_pg() { su "$PG_OS_USER" -s /bin/bash -c "$*"; }
pg_start() { as_pg "'$PGBIN/pg_ctl' -D '$PGDIR/data' -l '$PGDIR/log' -w start" >/dev/null; }
pg_stop() { as_pg "'$PGBIN/pg_ctl' -D '$PGDIR/data' -m fast -w stop" >/dev/null; }

cleanup() {
  set +e
  [ -n "${CONTAINERS_CONF:-}" ] && podman rm -f -t 5 "$WEB" "$WORKER" >/dev/null 2>&1
  [ -f "$PGDIR/data/postmaster.pid" ] && pg_stop
  rm -rf "$PGDIR"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
failures=0
# expect LABEL ACTUAL PATTERN: PATTERN is a shell glob
expect() {
  # shellcheck disable=SC2053
  if [[ "$2" == $3 ]]; then echo "ok    $1: $2"; else echo "FAIL  $1: $2 (expected $3)"; failures=$((failures + 1)); fi
}

step "PostgreSQL on 127.0.0.1:$PG_PORT (OS user $PG_OS_USER, $PGDIR)"
echo "$DB_PASSWORD" > "$PGDIR/pw" && chown "$PG_OS_USER" "$PGDIR/pw"
as_pg "'$PGBIN/initdb' -D '$PGDIR/data' -U postgres -E UTF8 --locale=C.UTF-8 \
  --auth-local=trust --auth-host=scram-sha-256 --pwfile='$PGDIR/pw'" >/dev/null
cat >> "$PGDIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGDIR'
EOF
pg_start
as_pg "'$PGBIN/psql' -q -h '$PGDIR' -p $PG_PORT -U postgres \
  -c \"CREATE ROLE impfportal LOGIN PASSWORD '$DB_PASSWORD'\" -c 'CREATE DATABASE impfportal OWNER impfportal'"
"$PGBIN/postgres" --version

step "build + smoke test (ci-build-smoke.sh)"
# Values without blanks: RUN_ARGS is split on whitespace by the script.
run_env="-e DATABASE_URL=$DATABASE_URL -e SECRET_KEY=$SECRET_KEY -e ALLOWED_HOSTS=localhost,127.0.0.1 -e PORT=$APP_PORT"
IMAGE=$IMAGE NETWORK=host HEALTH_PATH=/healthz CONTAINER_PORT=$APP_PORT RUN_ARGS="$run_env" \
  "$CI_TOOLS/ci-build-smoke.sh" "$ROOT"
# The podman settings ci-build-smoke.sh wrote (runc, ulimits), for the commands below.
export CONTAINERS_CONF=${TMPDIR:-/tmp}/impfportal-containers.conf
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$IMAGE"

step "one-off migrate"
# shellcheck disable=SC2086
podman run --rm --network=host --no-healthcheck $run_env "$IMAGE" python manage.py migrate --noinput \
  | tail -n 2

step "web container (read-only root filesystem)"
# Without systemd, podman cannot time the HEALTHCHECK (it logs "unable to get systemd
# connection"); the check is run by hand below.
# shellcheck disable=SC2086
podman run -d --name "$WEB" --network=host --read-only $run_env "$IMAGE" >/dev/null
base=http://127.0.0.1:$APP_PORT
for _ in $(seq 1 60); do curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break; sleep 0.5; done
status() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }
expect "GET /healthz" "$(curl -sS -w ' HTTP %{http_code}' "$base/healthz")" \
  '{"status": "ok", "database": "ok"} HTTP 200'
expect "GET / (Host: localhost)" "HTTP $(status -H 'Host: localhost' "$base/")" "HTTP 200"
# The English catalogue (locale/, .mo committed) is in use: no German skip link on the English
# pages, which live under /en/ (German at /, whatever the browser prefers).
en_page=$(curl -sS -H 'Host: localhost' "$base/en/")
expect "GET /en/" "$(grep -o '<html lang="[a-z-]*">' <<<"$en_page"), German skip link: $(grep -c 'Zum Inhalt springen' <<<"$en_page" || true)" \
  '<html lang="en">, German skip link: 0'
expect "GET / (Host: evil.example)" "HTTP $(status -H 'Host: evil.example' "$base/")" "HTTP 400"
expect "user" "$(podman exec "$WEB" id)" "uid=10001(impfportal) gid=10001(impfportal) groups=10001(impfportal)"
expect "write to /app" "$(podman exec "$WEB" sh -c 'touch /app/x 2>&1 || true')" \
  "touch: cannot touch '/app/x': Read-only file system"
echo "      /app holds: $(podman exec "$WEB" ls -A /app | tr '\n' ' ')"
expect "development files in /app" \
  "$(podman exec "$WEB" sh -c 'cd /app && ls -d .git .venv var tests benchmarks docs 2>/dev/null || true')" ""
expect "pgserver installed" "$(podman exec "$WEB" python -c 'import importlib.util as u; print(bool(u.find_spec("pgserver")))')" "False"
hashed=$(podman exec "$WEB" python -c \
  'import json; print(json.load(open("/app/staticfiles/staticfiles.json"))["paths"]["css/site.css"])')
expect "hashed name of css/site.css" "$hashed" "css/site.*.css"
expect "Cache-Control of /static/$hashed" \
  "$(curl -sSI "$base/static/$hashed" | tr -d '\r' | grep -i '^cache-control:')" \
  "Cache-Control: max-age=315360000, public, immutable"
expect "Cache-Control of /static/css/site.css" \
  "$(curl -sSI "$base/static/css/site.css" | tr -d '\r' | grep -i '^cache-control:')" \
  "Cache-Control: max-age=60, public"
expect "HEALTHCHECK" "$(podman healthcheck run "$WEB" 2>&1 && echo healthy)" "healthy"

# The hotline API: its schema and Swagger UI (files served by whitenoise, not a CDN), a problem
# document without a token, and a token made with the management command in a one-off container.
expect "GET /api/schema/" "$(curl -sS -H 'Host: localhost' "$base/api/schema/" | head -c 9)" "openapi: "
docs=$(curl -sS -H 'Host: localhost' "$base/api/docs/")
swagger_js=$(grep -o '/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle[^"]*\.js' <<<"$docs" | head -1)
expect "GET /api/docs/ loads Swagger UI from" "$swagger_js" "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.*.js"
expect "GET $swagger_js" "HTTP $(status -H 'Host: localhost' "$base$swagger_js")" "HTTP 200"
expect "GET /api/v1/centres without a token" \
  "$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' -H 'Host: localhost' "$base/api/v1/centres")" \
  "401 application/problem+json"
# shellcheck disable=SC2086
api_token=$(podman run --rm --network=host --no-healthcheck $run_env "$IMAGE" \
  python manage.py create_api_client "Smoke test" --scopes availability | tail -1)
expect "GET /api/v1/centres with a token" \
  "$(curl -sS -w ' HTTP %{http_code}' -H 'Host: localhost' -H "Authorization: Bearer $api_token" \
    -H 'X-Agent-Id: smoke' "$base/api/v1/centres")" '{"count":0,"next":null,"previous":null,"results":[]} HTTP 200'

step "PostgreSQL stopped"
pg_stop
expect "GET /healthz" "$(curl -sS -w ' HTTP %{http_code}' "$base/healthz")" \
  '{"status": "unavailable", "database": "error: OperationalError"} HTTP 503'
expect "HEALTHCHECK" "$(podman healthcheck run "$WEB" 2>&1 || true)" "unhealthy"
pg_start
expect "GET /healthz after a restart of PostgreSQL" "$(curl -sS -w ' HTTP %{http_code}' "$base/healthz")" \
  '{"status": "ok", "database": "ok"} HTTP 200'

step "qcluster worker from the same image"
# shellcheck disable=SC2086
podman run -d --name "$WORKER" --network=host --read-only --no-healthcheck $run_env "$IMAGE" \
  python manage.py qcluster >/dev/null
sleep 6
expect "worker running" "$(podman inspect -f '{{.State.Running}}' "$WORKER")" "true"
podman logs "$WORKER" 2>&1 | sed -n '1,3p'
podman stop -t 20 "$WORKER" >/dev/null
expect "worker exit code after SIGTERM" "$(podman inspect -f '{{.State.ExitCode}}' "$WORKER")" "0"

step "web container: SIGTERM"
podman stop -t 35 "$WEB" >/dev/null
expect "web exit code after SIGTERM" "$(podman inspect -f '{{.State.ExitCode}}' "$WEB")" "0"
podman logs "$WEB" 2>&1 | grep -v '/healthz' | sed -n '1,4p;$p'

echo
if [ "$failures" -gt 0 ]; then echo "CONTAINER SMOKE TEST FAILED: $failures check(s)"; exit 1; fi
echo "CONTAINER SMOKE TEST PASSED"
