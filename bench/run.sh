#!/usr/bin/env bash
# Side-by-side load test of websession and Apache httpd on this machine.
#
#   bench/run.sh [DURATION] [CONNECTIONS]      e.g. bench/run.sh 10s 32
#
# Builds websession, starts it and a private Apache httpd (Debian's apache2,
# loopback only) with configurations doing the same work, and a throwaway
# PostgreSQL cluster for the database scenarios, then loads each scenario
# with wrk, one server at a time, and prints a Markdown table: requests/s,
# p50 and p99 latency, and the websession/Apache ratio. Installs apache2,
# apache2-utils, wrk and Apache's PostgreSQL DBD driver if they are missing.
# It is not a test: CI does not run it.
set -euo pipefail
DUR=${1:-10s}
CONNS=${2:-32}
THREADS=2
WS_PORT=18080
AP_PORT=18081
REPO=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin

need=()
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/sbin/apache2 ] || need+=(apache2)
command -v htpasswd >/dev/null || need+=(apache2-utils)
[ -e /usr/lib/x86_64-linux-gnu/apr-util-1/apr_dbd_pgsql-1.so ] || ls /usr/lib/*/apr-util-1/apr_dbd_pgsql* >/dev/null 2>&1 || need+=(libaprutil1-dbd-pgsql)
[ -x $PGBIN/initdb ] || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/websession-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/apache/httpd.pid" ] && kill "$(cat "$work/apache/httpd.pid")" 2>/dev/null || true
	[ -d "$work/pg" ] && runuser -u postgres -- $PGBIN/pg_ctl -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
	sleep 0.5
	rm -rf "$work"
}
trap cleanup EXIT

echo "building websession..." >&2
(cd "$REPO" && go build -o "$work/web" ./cmd/web)

mkdir -p "$work/www"
printf 'hello, world\n' > "$work/www/hello.txt"
htpasswd -B -C 10 -b -c "$work/users" alice wonderland1 2>/dev/null
chmod 644 "$work/users"

# PostgreSQL: a private cluster on a Unix socket, shared by both servers.
mkdir -p "$work/pg" "$work/pgsock"
chown postgres "$work/pg" "$work/pgsock"
runuser -u postgres -- $PGBIN/initdb -D "$work/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- $PGBIN/pg_ctl -D "$work/pg" -l "$work/pg/log" -w -o "-k $work/pgsock -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c max_connections=200" start >/dev/null
chmod 777 "$work/pgsock"
PGHOST=$work/pgsock
runuser -u postgres -- psql -h "$PGHOST" -q -c "create database bench" postgres
DSN="host=$PGHOST dbname=bench user=postgres sslmode=disable"

SECRET=secret
PLAIN='user=alice&role=admin&theme=dark&lang=en-GB&cart=3&last=%2fshop%2fitem%2f42'
CRYPTO=$("$work/web" session encode -passphrase $SECRET "$PLAIN")
# The login id and time websession keeps beside the credentials (Apache
# ignores them); without them websession would give this session an id,
# and so a new cookie, on every request of the run.
AUTH=$("$work/web" session encode -passphrase $SECRET "private-user=alice&private-pw=wonderland1&private-sid=benchbenchbenchbenchbe&private-since=$(date +%s)000000")
SID=6a1f3c2e-8b4d-4e6f-9a0b-1c2d3e4f5a6b

# What both servers are configured with alike: the same files under the
# same URLs, and the same session settings per location.
ALIASES="Alias /none/ $work/www/
Alias /plain/ $work/www/
Alias /crypto/ $work/www/
Alias /private/ $work/www/
Alias /dbd/ $work/www/
Alias /dbdw/ $work/www/"
SESSION_LOCATIONS="<Location /plain>
    Session On
    SessionCookieName session path=/
    SessionMaxAge 3600
</Location>
<Location /crypto>
    Session On
    SessionCookieName session path=/
    SessionCryptoPassphrase $SECRET
    SessionMaxAge 3600
</Location>
<Location /dbd>
    Session On
    SessionDBDCookieName sid path=/
</Location>
<Location /dbdw>
    Session On
    SessionDBDCookieName sid path=/
    SessionMaxAge 3600
</Location>"

cat > "$work/websession.conf" <<CONF
Listen 127.0.0.1:$WS_PORT
DBDriver pgsql
DBDParams "$DSN"
DBDMax 32
DBDKeep 32
DBDAutoMigrate On
SessionDBDCleanupInterval 0
$ALIASES
$SESSION_LOCATIONS
<Location /private>
    Session On
    SessionCookieName session path=/
    SessionCryptoPassphrase $SECRET
    SessionMaxAge 3600
    AuthType form
    AuthName private
    AuthFormProvider file
    AuthUserFile $work/users
    AuthFormBcryptCost 10
    Require valid-user
</Location>
<Location /dologin>
    Session On
    SessionCookieName session path=/
    SessionCryptoPassphrase $SECRET
    SetHandler form-login-handler
    AuthType form
    AuthName private
    AuthFormProvider file
    AuthUserFile $work/users
    AuthFormBcryptCost 10
    AuthFormThrottle Off
</Location>
CONF

mkdir -p "$work/apache"
mods=/usr/lib/apache2/modules
cat > "$work/apache/httpd.conf" <<CONF
ServerRoot $work/apache
ServerName 127.0.0.1
Listen 127.0.0.1:$AP_PORT
PidFile $work/apache/httpd.pid
ErrorLog $work/apache/error.log
LogLevel warn
User nobody
Group nogroup
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule authn_file_module $mods/mod_authn_file.so
LoadModule alias_module $mods/mod_alias.so
LoadModule request_module $mods/mod_request.so
LoadModule session_module $mods/mod_session.so
LoadModule session_cookie_module $mods/mod_session_cookie.so
LoadModule session_crypto_module $mods/mod_session_crypto.so
LoadModule session_dbd_module $mods/mod_session_dbd.so
LoadModule dbd_module $mods/mod_dbd.so
LoadModule auth_form_module $mods/mod_auth_form.so
DBDriver pgsql
DBDParams "$DSN"
DBDMax 32
DBDPrepareSQL "select value from session where key = %s and (expiry = 0 or expiry > %lld)" selectsession
DBDPrepareSQL "update session set value = %s, expiry = %lld, key = %s where key = %s" updatesession
DBDPrepareSQL "insert into session (value, expiry, key) values (%s, %lld, %s)" insertsession
DBDPrepareSQL "delete from session where key = %s" deletesession
$ALIASES
<Directory $work/www>
    Require all granted
</Directory>
$SESSION_LOCATIONS
<Location /private>
    Session On
    SessionCookieName session path=/
    SessionCryptoPassphrase $SECRET
    SessionMaxAge 3600
    AuthType form
    AuthName private
    AuthFormProvider file
    AuthUserFile $work/users
    Require valid-user
</Location>
<Location /dologin>
    Session On
    SessionCookieName session path=/
    SessionCryptoPassphrase $SECRET
    SetHandler form-login-handler
    AuthType form
    AuthName private
    AuthFormProvider file
    AuthUserFile $work/users
    Require all granted
</Location>
CONF

"$work/web" -config "$work/websession.conf" migrate up >/dev/null
runuser -u postgres -- psql -h "$PGHOST" -q -d bench -c "insert into session (key, value, expiry) values ('$SID', 'a=1&b=2', 0)"

"$work/web" -config "$work/websession.conf" serve > "$work/web.log" 2>&1 &
pids+=($!)
/usr/sbin/apache2 -f "$work/apache/httpd.conf" -DFOREGROUND &
pids+=($!)
for port in $WS_PORT $AP_PORT; do
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$port/none/hello.txt" >/dev/null 2>&1 && break
		sleep 0.1
	done
done

cat > "$work/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "httpd_username=alice&httpd_password=wonderland1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

# load PORT PATH [wrk args...] -> "rps p50 p99"
load() {
	local port=$1 path=$2; shift 2
	local out
	out=$(wrk -t$THREADS -c$CONNS -d"$DUR" --latency "$@" "http://127.0.0.1:$port$path")
	local rps p50 p99 non2xx
	rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1=="50%" {print $2}' <<<"$out")
	p99=$(awk '$1=="99%" {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx/ {print $5}' <<<"$out")
	echo "$rps $p50 $p99 ${non2xx:-0}"
}

printf '| scenario | websession req/s | p50 | p99 | Apache req/s | p50 | p99 | websession/Apache |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
run() {
	local name=$1 path=$2; shift 2
	# One short warm-up per server, so that one-time work (websession's
	# first bcrypt of a password, Apache's child processes) is not timed.
	wrk -t1 -c1 -d1s "$@" "http://127.0.0.1:$WS_PORT$path" >/dev/null
	wrk -t1 -c1 -d1s "$@" "http://127.0.0.1:$AP_PORT$path" >/dev/null
	read -r wr wp50 wp99 werr < <(load $WS_PORT "$path" "$@")
	read -r ar ap50 ap99 aerr < <(load $AP_PORT "$path" "$@")
	local ratio
	ratio=$(awk -v a="$wr" -v b="$ar" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }')
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$wr" "$wp50" "$wp99" "$ar" "$ap50" "$ap99" "$ratio"
	if [ "$werr" != 0 ] || [ "$aerr" != 0 ]; then
		printf '|  (non-2xx/3xx answers: websession %s, Apache %s) ||||||||\n' "$werr" "$aerr"
	fi
}
run "1. tiny page, no session" /none/hello.txt
run "2. plain cookie session" /plain/hello.txt -H "Cookie: session=$PLAIN"
run "3. encrypted cookie session" /crypto/hello.txt -H "Cookie: session=$CRYPTO"
run "4. form-auth protected page (bcrypt user file)" /private/hello.txt -H "Cookie: session=$AUTH"
run "5a. PostgreSQL session, unchanged" /dbd/hello.txt -H "Cookie: sid=$SID"
run "5b. PostgreSQL session, rewritten every request" /dbdw/hello.txt -H "Cookie: sid=$SID"
run "6. logins (POST to form-login-handler)" /dologin -s "$work/login.lua"

# Memory over a long run with many distinct sessions: every request below
# carries a session no request carried before (plain cookies), or starts a
# new PostgreSQL session (a new row each). websession keeps nothing per
# session in memory, so its resident size should stay flat from round to
# round.
cat > "$work/distinct.lua" <<'LUA'
local n = 0
request = function()
	n = n + 1
	return wrk.format("GET", "/plain/hello.txt", {["Cookie"] = "session=user=u" .. n .. "&visit=" .. n .. "&id=" .. math.random(1, 1e9)})
end
LUA
wspid=$(pgrep -f "$work/web -config" | head -1)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$wspid/status"; }
echo
echo "| websession memory | VmRSS (KiB) | requests in the round |"
echo "|---|---:|---:|"
echo "| after the scenarios above | $(rss) | |"
for round in 1 2 3; do
	n1=$(wrk -t$THREADS -c$CONNS -d"$DUR" -s "$work/distinct.lua" "http://127.0.0.1:$WS_PORT/" | awk '/requests in/ {print $1}')
	n2=$(wrk -t$THREADS -c$CONNS -d"$DUR" "http://127.0.0.1:$WS_PORT/dbdw/hello.txt" | awk '/requests in/ {print $1}')
	echo "| after distinct-session round $round | $(rss) | $n1 cookie + $n2 new DB sessions |"
done
echo "| peak (VmHWM) | $(awk '/^VmHWM/ {print $2}' "/proc/$wspid/status") | |"

bcrypt_ms=$(cd "$REPO" && go test ./internal/users/ -run '^$' -bench 'BenchmarkCheckCold' -benchtime 20x 2>/dev/null | awk '/BenchmarkCheckCold/ {printf "%.1f", $3/1e6; exit}')
echo
echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//'); wrk -t$THREADS -c$CONNS -d$DUR"
[ -n "$bcrypt_ms" ] && echo "bcrypt (cost 12) check: ${bcrypt_ms} ms; bcrypt-bound login ceiling at cost 10 is about $(nproc) cores / bcrypt time"
