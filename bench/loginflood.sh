#!/usr/bin/env bash
# Issue 15.4's measurement: GET / latency while 200 wrong-password logins
# are kept in flight, against a server started from cmd/web with users in
# an htpasswd file at the default bcrypt cost (12) and the login throttle
# off (so that every login really runs bcrypt).
#
#   bench/loginflood.sh [DURATION] [FLOODERS]     e.g. bench/loginflood.sh 10s 200
set -euo pipefail
DUR=${1:-10s}
N=${2:-200}
PORT=18090
REPO=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
cd "$REPO"
go build -o "$TMP/web" ./cmd/web
cat >"$TMP/flood.conf" <<CONF
Listen 127.0.0.1:$PORT
Session On
SessionCookieName session path=/;HttpOnly;SameSite=Lax
SessionCryptoPassphrase flood-measurement-passphrase
<Location /login>
    SetHandler form-login-handler
    AuthType form
    AuthName site
    AuthFormProvider file
    AuthUserFile users.htpasswd
    AuthFormThrottle Off
    AuthFormLoginRequiredLocation /login?failed=1
</Location>
# The site's logout button posts here (checked at start-up).
<Location /logout>
    SetHandler form-logout-handler
    AuthType form
    AuthName site
</Location>
CONF
echo 'correct horse battery' | "$TMP/web" -config "$TMP/flood.conf" user add alice >/dev/null
"$TMP/web" -config "$TMP/flood.conf" serve 2>"$TMP/log" &
PID=$!
up=
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && up=1 && break; sleep 0.1; done
if [ -z "$up" ]; then
	echo "the server did not start:" >&2
	cat "$TMP/log" >&2
	exit 1
fi
go run ./bench/loginflood -url "http://127.0.0.1:$PORT" -n "$N" -d "$DUR"
