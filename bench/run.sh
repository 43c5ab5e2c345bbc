#!/usr/bin/env bash
# Side-by-side load test of websession, Apache httpd and the Go peers on
# this machine.
#
#   bench/run.sh [DURATION] [CONNECTIONS]      e.g. bench/run.sh 10s 32
#
# Builds websession, starts it and a private Apache httpd (Debian's apache2,
# loopback only) with configurations doing the same work, the Go peers of
# bench/peers (gorilla/sessions, alexedwards/scs, the "Let's Go" pattern, a
# bare net/http ceiling; their own module), and a throwaway PostgreSQL
# cluster for the database scenarios, then loads each scenario with wrk,
# one server at a time (which one goes first rotates from row to row), and
# prints a Markdown table: requests/s and p99 latency per server. Installs apache2,
# apache2-utils, wrk and Apache's PostgreSQL DBD driver if they are missing.
# It is not a test: CI does not run it.
set -euo pipefail
DUR=${1:-10s}
CONNS=${2:-32}
THREADS=2
WS_PORT=28080
AP_PORT=28081
REPO=$(cd "$(dirname "$0")/.." && pwd)
PEER_PORT=28082
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
(cd "$REPO/bench/peers" && go build -o "$work/peers" .)

mkdir -p "$work/www"
printf 'hello, world\n' > "$work/www/hello.txt"
htpasswd -B -C 10 -b -c "$work/users" alice wonderland1 2>/dev/null
chmod 644 "$work/users"
# One bcrypt (cost 10) hash for every database user: each login of a
# distinct user still runs a full bcrypt comparison everywhere.
HASH=$(htpasswd -nbB -C 10 x wonderland1 | cut -d: -f2)

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
SID_W=7b2f4d3e-9c5e-4f70-8b1c-2d3e4f5a6b7c
SID_AUTH=8c3a5e4f-0d6f-4a81-9c2d-3e4f5a6b7c8d

# What both servers are configured with alike: the same files under the
# same URLs, and the same session settings per location.
ALIASES="Alias /none/ $work/www/
Alias /plain/ $work/www/
Alias /crypto/ $work/www/
Alias /private/ $work/www/
Alias /dbd/ $work/www/
Alias /dbdw/ $work/www/
Alias /pgpriv/ $work/www/"
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
</Location>
<Location /pgpriv>
    Session On
    SessionDBDCookieName sid path=/
    SessionCryptoPassphrase $SECRET
    AuthType form
    AuthName pgpriv
    AuthFormProvider dbd
    AuthDBDUserPWQuery \"SELECT password FROM users WHERE name = %s\"
    Require valid-user
</Location>
<Location /dblogin>
    Session On
    SessionCookieName session path=/
    SessionCryptoPassphrase $SECRET
    SetHandler form-login-handler
    AuthType form
    AuthName dblogin
    AuthFormProvider dbd
    AuthDBDUserPWQuery \"SELECT password FROM users WHERE name = %s\"
</Location>"

cat > "$work/websession.conf" <<CONF
Listen 127.0.0.1:$WS_PORT
DBDriver pgsql
DBDParams "$DSN"
DBDMax 32
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
# The reference site's login form and logout button post to /login and
# /logout (checked at start-up); no row loads them.
<Location /login>
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
<Location /dblogin>
    AuthFormBcryptCost 10
    AuthFormThrottle Off
</Location>
<Location /logout>
    Session On
    SessionCookieName session path=/
    SessionCryptoPassphrase $SECRET
    SetHandler form-logout-handler
    AuthType form
    AuthName private
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
LoadModule authn_dbd_module $mods/mod_authn_dbd.so
LoadModule alias_module $mods/mod_alias.so
LoadModule request_module $mods/mod_request.so
LoadModule session_module $mods/mod_session.so
LoadModule session_cookie_module $mods/mod_session_cookie.so
LoadModule session_crypto_module $mods/mod_session_crypto.so
LoadModule session_dbd_module $mods/mod_session_dbd.so
LoadModule dbd_module $mods/mod_dbd.so
LoadModule auth_form_module $mods/mod_auth_form.so
# The same keep-alive allowance as websession (unlimited requests on a
# connection, two minutes idle): Apache's default of 100 requests would
# make wrk reconnect and charge Apache for it.
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 120
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
<Location /dblogin>
    Require all granted
</Location>
CONF

"$work/web" -config "$work/websession.conf" migrate up >/dev/null
# mod_auth_form keeps the credentials under "<AuthName>-user" and "-pw".
# With the login id and time websession adds on first use (Apache ignores
# them), so that neither server changes, and so renames, the shared row.
PGAUTH=$("$work/web" session encode -passphrase $SECRET "pgpriv-user=alice&pgpriv-pw=wonderland1&pgpriv-sid=benchbenchbenchbenchbe&pgpriv-since=$(date +%s)000000")
runuser -u postgres -- psql -h "$PGHOST" -q -d bench <<SQL
insert into session (key, value, expiry) values ('$SID', 'a=1&b=2', 0), ('$SID_W', 'a=1&b=2', 0), ('$SID_AUTH', '$PGAUTH', 0);
insert into users (name, password) values ('alice', '$HASH');
insert into users (name, password) select 'u' || i, '$HASH' from generate_series(0, 299999) i;
insert into session (key, value, expiry) select lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'n=' || i, 0 from generate_series(1, 500000) i;
-- scs's table, made here: three peers starting at once would race to
-- create it (CREATE TABLE IF NOT EXISTS is not safe concurrently).
create table sessions (token text primary key, data bytea not null, expiry timestamptz not null);
create index sessions_expiry_idx on sessions (expiry);
create table letsgo_users (id serial primary key, email text not null unique, hashed_password text not null);
insert into letsgo_users (email, hashed_password) values ('alice', '$HASH');
insert into letsgo_users (email, hashed_password) select 'u' || i, '$HASH' from generate_series(0, 299999) i;
SQL

"$work/web" -config "$work/websession.conf" serve > "$work/web.log" 2>&1 &
pids+=($!)
# The same configuration with a combined access log, and with metrics
# (counted only where a location serves them), for what each costs.
WS_LOG_PORT=28090
WS_METRICS_PORT=28091
{ sed "s/^Listen .*/Listen 127.0.0.1:$WS_LOG_PORT/" "$work/websession.conf"; echo "CustomLog $work/access.log combined"; } > "$work/websession-log.conf"
{ sed "s/^Listen .*/Listen 127.0.0.1:$WS_METRICS_PORT/" "$work/websession.conf"; printf '<Location /metrics>\n    SetHandler metrics\n</Location>\n'; } > "$work/websession-metrics.conf"
for v in log metrics; do
	mkdir -p "$work/$v-data"
	(cd "$work/$v-data" && exec "$work/web" -config "$work/websession-$v.conf" serve) > "$work/web-$v.log" 2>&1 &
	pids+=($!)
done
peer_modes=(ceiling gorilla-signed gorilla-encrypted scs-pg scs-pg-idle letsgo)
declare -A PEER
for i in "${!peer_modes[@]}"; do
	PEER[${peer_modes[$i]}]=$((PEER_PORT + i))
	"$work/peers" -mode "${peer_modes[$i]}" -addr "127.0.0.1:$((PEER_PORT + i))" -www "$work/www" -dsn "$DSN" > "$work/peer-${peer_modes[$i]}.log" 2>&1 &
	pids+=($!)
done
/usr/sbin/apache2 -f "$work/apache/httpd.conf" -DFOREGROUND &
pids+=($!)
for port in $WS_PORT $WS_LOG_PORT $WS_METRICS_PORT $AP_PORT "${PEER[@]}"; do
	up=
	for _ in $(seq 300); do
		curl -s -o /dev/null "http://127.0.0.1:$port/none/hello.txt" && up=1 && break
		sleep 0.1
	done
	if [ -z "$up" ]; then
		echo "nothing answers on port $port after 30 s; logs:" >&2
		tail -n 5 "$work"/*.log "$work/apache/error.log" >&2 || true
		exit 1
	fi
done

# Logins: POST user and password. With "distinct", every request of a run
# names a user no request named before (u<base + 50000*thread + n>, all in
# the users tables), so websession's verified-credential cache is cold and
# each login is a full bcrypt comparison; otherwise always alice (warm).
cat > "$work/login.lua" <<'LUA'
local counter = 0
function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
end
function init(args)
	base, ufield, pfield, distinct, n = tonumber(args[1]), args[2], args[3], args[4] == "distinct", 0
end
function request()
	n = n + 1
	local user = "alice"
	if distinct then user = "u" .. (base + tid * 50000 + n) end
	return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"},
		ufield .. "=" .. user .. "&" .. pfield .. "=wonderland1")
end
LUA

# wrk_at URL [wrk options...] [-- script args...]: wrk wants the URL
# before the script's arguments.
wrk_at() {
	local url=$1; shift
	local -a opts=() rest=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	rest=("$@")
	wrk "${opts[@]}" "$url" "${rest[@]}"
}

# load PORT PATH [wrk args...] -> "rps p50 p99 non2xx". rps counts only
# 2xx and 3xx answers: a server that answers a flood of logins 503 quickly
# must not read as one that logs many in.
load() {
	local port=$1 path=$2; shift 2
	local out
	# A generous timeout: 32 bcrypt logins at once on 2 cores take longer
	# than wrk's 2 s default, and a timed-out request counts as none.
	out=$(wrk_at "http://127.0.0.1:$port$path" -t$THREADS -c$CONNS -d"$DUR" --timeout 20s --latency "$@")
	local rps p50 p99 non2xx total
	rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1=="50%" {print $2}' <<<"$out")
	p99=$(awk '$1=="99%" {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx/ {print $5}' <<<"$out")
	total=$(awk '/requests in/ {print $1}' <<<"$out")
	rps=$(awk -v r="${rps:-0}" -v t="${total:-0}" -v e="${non2xx:-0}" 'BEGIN { if (t > 0) printf "%.2f", r * (t - e) / t; else print 0 }')
	echo "${rps:-0} ${p50:--} ${p99:--} ${non2xx:-0}"
}

# seed MODE: the cookie a peer issues for a new session.
seed() {
	curl -s -D - -o /dev/null "http://127.0.0.1:${PEER[$1]}/seed" | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -1
}

# Every server warm before the first row: just started, websession's
# background work (migrations checked, caches filled, the record of ended
# logins read) and the runtime's first collections would land on row 1.
for port in $WS_PORT $WS_LOG_PORT $WS_METRICS_PORT $AP_PORT "${PEER[@]}"; do
	wrk -t$THREADS -c$CONNS -d2s "http://127.0.0.1:$port/none/hello.txt" >/dev/null 2>&1 || true
done

declare -A RPS
ROW=0
printf '| scenario | websession req/s | p99 | Apache req/s | p99 | Go peer | req/s | p99 | websession/Apache | websession/peer |\n'
printf '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n'
# row ID NAME PATH "WS+APACHE WRK ARGS" PEER_MODE PEER_PATH "PEER WRK ARGS"
# Arguments are strings of shell words (eval'd), so a header keeps its space.
# A warm-up of one second per server precedes each measure, so one-time
# work (Apache's child processes, pools filling) is not timed.
row() {
	local id=$1 name=$2 path=$3 wsargs=$4 mode=$5 ppath=$6 pargs=$7
	local -a wa pa
	eval "wa=($wsargs)"
	eval "pa=($pargs)"
	local order=(ws ap peer) k
	local shift=$((ROW % 3))
	order=("${order[@]:$shift}" "${order[@]:0:$shift}")
	ROW=$((ROW + 1))
	declare -A r p9 e
	for k in "${order[@]}"; do
		case $k in
		ws)
			wrk_at "http://127.0.0.1:$WS_PORT$path" -t1 -c1 -d1s "${wa[@]/#@BASE@/200000}" >/dev/null
			read -r r[ws] _ p9[ws] e[ws] < <(load $WS_PORT "$path" "${wa[@]/#@BASE@/0}") ;;
		ap)
			wrk_at "http://127.0.0.1:$AP_PORT$path" -t1 -c1 -d1s "${wa[@]/#@BASE@/250000}" >/dev/null
			read -r r[ap] _ p9[ap] e[ap] < <(load $AP_PORT "$path" "${wa[@]/#@BASE@/100000}") ;;
		peer)
			if [ "$mode" = - ]; then r[peer]=0 p9[peer]=- e[peer]=0; continue; fi
			wrk_at "http://127.0.0.1:${PEER[$mode]}$ppath" -t1 -c1 -d1s "${pa[@]/#@BASE@/250000}" >/dev/null
			read -r r[peer] _ p9[peer] e[peer] < <(load "${PEER[$mode]}" "$ppath" "${pa[@]/#@BASE@/150000}") ;;
		esac
	done
	RPS[$id.ws]=${r[ws]} RPS[$id.peer]=${r[peer]}
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "" }'; }
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "${r[ws]}" "${p9[ws]}" "${r[ap]}" "${p9[ap]}" \
		"$( [ "$mode" = - ] && echo "—" || echo "$mode")" "$( [ "$mode" = - ] || echo "${r[peer]}")" "$( [ "$mode" = - ] || echo "${p9[peer]}")" \
		"$(ratio "${r[ws]}" "${r[ap]}")" "$(ratio "${r[ws]}" "${r[peer]}")"
	if [ "${e[ws]}" != 0 ] || [ "${e[ap]}" != 0 ] || [ "${e[peer]}" != 0 ]; then
		printf '|  (non-2xx/3xx answers: websession %s, Apache %s, peer %s) |||||||||\n' "${e[ws]}" "${e[ap]}" "${e[peer]}"
	fi
}
C_GS=$(seed gorilla-signed) C_GE=$(seed gorilla-encrypted) C_SCS=$(seed scs-pg) C_SCSI=$(seed scs-pg-idle) C_LG=$(seed letsgo)
curl -s -o /dev/null -w "5c websession %{http_code}\n" -H "Cookie: sid=$SID_AUTH" "http://127.0.0.1:$WS_PORT/pgpriv/hello.txt" >&2
curl -s -o /dev/null -w "5c Apache %{http_code}\n" -H "Cookie: sid=$SID_AUTH" "http://127.0.0.1:$AP_PORT/pgpriv/hello.txt" >&2
row 1 "1. tiny page, no session (peer: bare net/http, the machine's ceiling)" /none/hello.txt "" ceiling /p/hello.txt ""
row 2 "2. plain cookie session, expiry refreshed (peer signs it)" /plain/hello.txt "-H 'Cookie: session=$PLAIN'" gorilla-signed /p/hello.txt "-H 'Cookie: $C_GS'"
row 3 "3. encrypted cookie session, expiry refreshed †" /crypto/hello.txt "-H 'Cookie: session=$CRYPTO'" gorilla-encrypted /p/hello.txt "-H 'Cookie: $C_GE'"
row 4 "4. form-auth protected page, bcrypt user file, encrypted cookie ‡" /private/hello.txt "-H 'Cookie: session=$AUTH'" - - ""
row 5a "5a. PostgreSQL session, unchanged" /dbd/hello.txt "-H 'Cookie: sid=$SID'" scs-pg /p/hello.txt "-H 'Cookie: $C_SCS'"
row 5b "5b. PostgreSQL session, rewritten every request" /dbdw/hello.txt "-H 'Cookie: sid=$SID_W'" scs-pg-idle /p/hello.txt "-H 'Cookie: $C_SCSI'"
row 5c "5c. protected page, PostgreSQL users and sessions ‡" /pgpriv/hello.txt "-H 'Cookie: sid=$SID_AUTH'" letsgo /p/hello.txt "-H 'Cookie: $C_LG'"
row 6a "6a. logins, distinct users, cold (bcrypt-bound)" /dblogin "-s $work/login.lua -- @BASE@ httpd_username httpd_password distinct" letsgo /login "-s $work/login.lua -- @BASE@ email password distinct"
row 6b "6b. logins, one user again and again ‡" /dblogin "-s $work/login.lua -- 0 httpd_username httpd_password same" letsgo /login "-s $work/login.lua -- 0 email password same"
echo
echo "req/s counts only 2xx and 3xx answers; a row with others says how many."
echo "† websession caches PBKDF2-derived keys (Apache derives on every request): a design difference."
echo "‡ websession re-checks the password on every request through its verified-credential cache (Apache runs bcrypt each time; the Let's Go pattern only checks that the user id still exists): a design difference."
ceil=${RPS[1.ws]}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }'; }
echo
echo "| target | measured |"
echo "|---|---:|"
echo "| 5a / websession's no-session ceiling (>= 70%) | $(pct "${RPS[5a.ws]}" "$ceil") |"
echo "| 5a / scs + postgresstore (>= 3x) | $(x "${RPS[5a.ws]}" "${RPS[5a.peer]}") |"
echo "| 5c / websession's no-session ceiling (>= 60%) | $(pct "${RPS[5c.ws]}" "$ceil") |"
echo "| 5c / Let's Go pattern (>= 3x) | $(x "${RPS[5c.ws]}" "${RPS[5c.peer]}") |"

# Memory over a long run with many distinct sessions: every request below
# carries a session no request carried before (plain cookies), or reads
# one of 500,000 PostgreSQL session rows in turn, which the read cache
# keeps up to its bound (64 MiB of keys and values), so resident size should
# stay flat from round to round.
cat > "$work/distinct.lua" <<'LUA'
local n = 0
request = function()
	n = n + 1
	return wrk.format("GET", "/plain/hello.txt", {["Cookie"] = "session=user=u" .. n .. "&visit=" .. n .. "&id=" .. math.random(1, 1e9)})
end
LUA
cat > "$work/distinct-db.lua" <<'LUA'
local counter = 0
function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
end
function init(args) n = 0 end
function request()
	n = n + 1
	local i = (tid * 250000 + n) % 500000 + 1
	return wrk.format("GET", "/dbd/hello.txt", {["Cookie"] = string.format("sid=%08x-0000-4000-8000-%012x", i, i)})
end
LUA
echo
echo "| encrypted cookie page (row 3), websession | req/s | p99 |"
echo "|---|---:|---:|"
for k in 1 2; do
	for v in plain metrics log; do
		case $v in
		plain) port=$WS_PORT label="as in the table (no metrics, no access log)" ;;
		metrics) port=$WS_METRICS_PORT label="with a SetHandler metrics location" ;;
		log) port=$WS_LOG_PORT label="with CustomLog combined" ;;
		esac
		read -r rps _ p99 _ < <(load $port /crypto/hello.txt -H "Cookie: session=$CRYPTO")
		echo "| $label, run $k | $rps | $p99 |"
	done
done
wspid=$(pgrep -f "$work/web -config $work/websession.conf" | head -1)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$wspid/status"; }
echo
echo "| websession memory | VmRSS (KiB) | requests in the round |"
echo "|---|---:|---:|"
echo "| after the scenarios above | $(rss) | |"
for round in 1 2 3; do
	n1=$(wrk -t$THREADS -c$CONNS -d"$DUR" -s "$work/distinct.lua" "http://127.0.0.1:$WS_PORT/" | awk '/requests in/ {print $1}')
	n2=$(wrk -t$THREADS -c$CONNS -d"$DUR" -s "$work/distinct-db.lua" "http://127.0.0.1:$WS_PORT/" | awk '/requests in/ {print $1}')
	echo "| after distinct-session round $round | $(rss) | $n1 cookie + $n2 DB session reads |"
done
echo "| peak (VmHWM) | $(awk '/^VmHWM/ {print $2}' "/proc/$wspid/status") | |"

bcrypt_ms=$(cd "$REPO" && go test ./internal/users/ -run '^$' -bench 'BenchmarkCheckCold' -benchtime 20x 2>/dev/null | awk '/BenchmarkCheckCold/ {printf "%.1f", $3/1e6; exit}')
echo
echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//'); wrk -t$THREADS -c$CONNS -d$DUR"
bcrypt10_ms=$(cd "$REPO/bench/peers" && go test -run '^$' -bench BenchmarkBcrypt10 -benchtime 20x . 2>/dev/null | awk '/BenchmarkBcrypt10/ {printf "%.1f", $3/1e6; exit}')
[ -n "$bcrypt_ms" ] && echo "bcrypt (cost 12) check: ${bcrypt_ms} ms"
[ -n "$bcrypt10_ms" ] && echo "bcrypt (cost 10) comparison: ${bcrypt10_ms} ms, so the bcrypt-bound login ceiling (row 6a) is $(nproc) cores / ${bcrypt10_ms} ms = $(awk -v c="$(nproc)" -v m="$bcrypt10_ms" 'BEGIN { printf "%.0f", c * 1000 / m }') logins/s"
echo "--- last lines of the servers' logs ---" >&2
tail -n 5 "$work/web.log" "$work/apache/error.log" >&2
