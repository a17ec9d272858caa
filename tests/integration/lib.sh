# shellcheck shell=bash
# tests/integration/lib.sh: helpers for the TAP integration tests that run the real nginx with
# the shipped configs (nginx/*.conf) in front of spawn-fcgi workers or fcgiwrap.
#
# Source it from a bash test run by `make check` (TESTS_ENVIRONMENT exports top_srcdir,
# top_builddir, NGINX, SPAWN_FCGI, FCGIWRAP, NODE). Everything lives in one temp dir, on a port
# picked at run time; the EXIT trap stops every process started here, by PID, and removes it.

set -u

: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"
NGINX="${NGINX:-$(PATH="$PATH:/usr/sbin:/sbin" command -v nginx)}"
SPAWN_FCGI="${SPAWN_FCGI:-$(command -v spawn-fcgi)}"
FCGIWRAP="${FCGIWRAP:-$(PATH="$PATH:/usr/sbin:/sbin" command -v fcgiwrap)}"
NODE="${NODE:-$(command -v node)}"
unset PORT

# shellcheck source=scripts/lib.sh
. "$top_srcdir/scripts/lib.sh"

# ------------------------------------------------------------------------------------ TAP
T_N=0
T_FAILED=0

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N # SKIP $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# check DESCRIPTION CMD...: ok when CMD succeeds.
check() {
	local d="$1"
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "got:  '$1'" "want: '$2'"
	fi
}
# done_testing: the plan, and the exit status the TAP driver expects.
done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
	exit
}
# skip_all REASON
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# ------------------------------------------------------------------------------ processes
IT_PIDS=()
declare -A IT_SOCK_PID=()
IT_TMP=

# it_stop_all: stops every process started by it_spawn/it_nginx, and what they forked, by
# PID (stop_pids). Fails when one needed SIGKILL.
it_stop_all() {
	local rc=0
	[ "${#IT_PIDS[@]}" -gt 0 ] || return 0
	stop_pids "${IT_PIDS[@]}" 2>"$IT_TMP/logs/stop.log" || rc=1
	[ "$rc" -eq 0 ] || diag "$(cat "$IT_TMP/logs/stop.log")"
	IT_PIDS=()
	return "$rc"
}

it_cleanup() {
	it_stop_all >/dev/null 2>&1
	pg_stop_all >/dev/null 2>&1
	[ -z "$IT_TMP" ] || [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_TMP"
}

# ----------------------------------------------------------------------------- PostgreSQL
# Private servers of tests/pg-server.sh (AC_TEST_PG_SERVER, which scripts/test exports, or the
# source tree's), one per NAME, each stopped by it_cleanup after the programs, by PID if need be.
PG_SERVER="${AC_TEST_PG_SERVER:-$top_srcdir/tests/pg-server.sh}"
declare -A IT_PG_DIR=() IT_PG_PID=()
PG_URL=

# pg_need: skips the whole test when there is no PostgreSQL server to start.
pg_need() {
	"$PG_SERVER" bindir >/dev/null 2>&1 || skip_all "no PostgreSQL server (Debian: postgresql; scripts/test installs it)"
}

# pg_start [NAME [DIR]]: starts a server in DIR (default $IT_TMP/pg/NAME; NAME default main),
# exports AC_STORE=postgres, AC_DATABASE_URL, its URI (also in PG_URL), and AC_SQL_DIR (the
# source's sql/) for the stack started next, and migrates its database (acctl store migrate).
# Its postmaster's PID is IT_PG_PID[NAME]. Logs in $IT_TMP/logs/pg-server.log.
pg_start() {
	local name="${1:-main}" dir="${2:-$IT_TMP/pg/${1:-main}}" url
	[ -n "$IT_TMP" ] || { diag "pg_start: it_setup first"; return 1; }
	# known before it starts, so that the cleanup stops what a failed start left
	IT_PG_DIR[$name]="$dir"
	IT_PG_PID[$name]=
	url="$("$PG_SERVER" start "$dir" 2>>"$IT_TMP/logs/pg-server.log")" ||
		{ diag "pg_start $name failed:" "$(tail -n 20 "$IT_TMP/logs/pg-server.log")"; return 1; }
	IT_PG_PID[$name]="$("$PG_SERVER" pid "$dir" 2>>"$IT_TMP/logs/pg-server.log")"
	PG_URL="$url"
	export AC_STORE=postgres AC_DATABASE_URL="$url" AC_SQL_DIR="$top_srcdir/sql"
	"$top_builddir/src/cli/acctl" store migrate >>"$IT_TMP/logs/pg-server.log" 2>&1 ||
		{ diag "acctl store migrate failed:" "$(tail -n 5 "$IT_TMP/logs/pg-server.log")"; return 1; }
}

# pg_stop [NAME]: stops the server NAME (pg_ctl, then by PID) and removes its files. Fails when
# its postmaster had to be killed here.
pg_stop() {
	local name="${1:-main}" dir pid rc=0
	[ -n "${IT_PG_DIR[$name]+set}" ] || return 0
	dir="${IT_PG_DIR[$name]}" pid="${IT_PG_PID[$name]}"
	[ ! -d "$dir" ] || "$PG_SERVER" clean "$dir" 2>>"$IT_TMP/logs/pg-server.log" || rc=1
	if [ -n "$pid" ] && alive "$pid"; then
		# shellcheck disable=SC2046
		kill -KILL "$pid" $(descendants "$pid") 2>/dev/null
		rc=1
	fi
	unset "IT_PG_DIR[$name]" "IT_PG_PID[$name]"
	return "$rc"
}

# pg_stop_all: pg_stop for every server started.
pg_stop_all() {
	local name rc=0
	for name in "${!IT_PG_DIR[@]}"; do pg_stop "$name" || rc=1; done
	return "$rc"
}

# it_setup: the temp dir (reachable by the unprivileged user when root) and the trap.
it_setup() {
	[ -x "$NGINX" ] || skip_all "nginx not found"
	[ -x "$SPAWN_FCGI" ] || skip_all "spawn-fcgi not found"
	IT_TMP="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-it.XXXXXX")" || exit 99
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
	chmod 0755 "$IT_TMP"
	mkdir -p "$IT_TMP/libexec" "$IT_TMP/run" "$IT_TMP/data" "$IT_TMP/nginx" "$IT_TMP/logs"
	chmod 0700 "$IT_TMP/data"
	IT_UG="$(run_user)"
	[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/run" "$IT_TMP/data"
}

# it_stage PROGRAM-FILE AS-NAME: copies a built program into the temp libexec dir, so that the
# unprivileged user can run it wherever the build tree is.
it_stage() {
	install -m 0755 "$1" "$IT_TMP/libexec/$2"
}

# it_spawn NAME SOCKET PROGRAM [ARG...]: one spawn-fcgi in the foreground (-n), as the
# unprivileged user when root; stderr to logs/NAME.log. Waits for the socket.
it_spawn() {
	local name="$1" sock="$2"
	shift 2
	local opts=(-n -s "$sock" -M 0600)
	[ -z "$IT_UG" ] || opts+=(-u "${IT_UG%%:*}" -g "${IT_UG#*:}")
	"$SPAWN_FCGI" "${opts[@]}" -- "$@" >>"$IT_TMP/logs/$name.log" 2>&1 &
	IT_PIDS+=("$!")
	IT_SOCK_PID[$sock]=$!
	wait_socket "$sock" || { diag "$name: no socket $sock"; return 1; }
}

# it_free_port: a port on 127.0.0.1 where nothing listens now, below the kernel's ephemeral range
# (32768 and up), so that no outgoing connection or port-0 listener can hold it (nginx may still lose a race;
# it_nginx retries).
it_free_port() {
	local port
	for _ in $(seq 50); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# it_port: picks PORT (and BASE) ahead of it_nginx.
it_port() {
	PORT="$(it_free_port)" || return 1
	BASE="http://127.0.0.1:$PORT"
}

# it_workers MODE: starts the workers for the generated config in $IT_TMP/nginx: one spawn-fcgi
# per pool socket whose program is staged, or one fcgiwrap.
it_workers() {
	local mode="$1" prog sock
	if [ "$mode" = pool ]; then
		while read -r prog sock; do
			[ -x "$IT_TMP/libexec/$prog.fcgi" ] || continue
			it_spawn "$prog" "$sock" "$IT_TMP/libexec/$prog.fcgi" || return 1
		done < <(pool_sockets "$IT_TMP/nginx/connect-fcgi.conf")
	else
		# One fcgiwrap process (no -c): its preforked children would outlive it as zombies
		# where init does not reap.
		it_spawn fcgiwrap "$IT_TMP/run/fcgiwrap.sock" "$FCGIWRAP" || return 1
	fi
}

# it_nginx MODE [EXTRA]: generates the config from nginx/connect-fcgi-MODE.conf on a free port
# (sets PORT, BASE), checks it with nginx -t (the first test), starts the workers, then nginx,
# and waits until it answers. Retries on another port when nginx cannot bind.
it_nginx() {
	local mode="$1" extra="${2:-}" try pid nw=0 old restart=
	for try in 1 2 3 4 5; do
		old="${BASE:-}"
		# The first try may use a PORT picked beforehand (by it_port, for AC_BASE_URL).
		[ "$try" -eq 1 ] && [ -n "${PORT:-}" ] || PORT="$(it_free_port)" || return 1
		BASE="http://127.0.0.1:$PORT"
		# Programs told the old port (AC_BASE_URL, the AC_CONFIG file) would refuse every token
		# bound to the new one: tell them the new port and start them again.
		if [ "$try" -gt 1 ] && [ -n "$old" ] && [ "${AC_BASE_URL:-}" != "${AC_BASE_URL#"$old"}" ]; then
			export AC_BASE_URL="$BASE${AC_BASE_URL#"$old"}"
			[ ! -f "$IT_TMP/connect-fcgi.conf" ] || sed -i "s|$old|$BASE|g" "$IT_TMP/connect-fcgi.conf"
			stop_pids "${IT_PIDS[@]:$nw}" 2>/dev/null
			IT_PIDS=("${IT_PIDS[@]:0:$nw}")
			rm -f "$IT_TMP"/run/*.sock
			restart=1
		fi
		NGINX_WORKERS=1 nginx_conf "$mode" "$IT_TMP/nginx" "$PORT" "$IT_TMP/libexec" \
		    "$IT_TMP/run" "$IT_TMP/connect-fcgi.conf" $extra
		if [ "$try" -eq 1 ]; then
			if env -u NGINX "$NGINX" -t -q -p "$IT_TMP/nginx" -c "$IT_TMP/nginx/nginx.conf" -e stderr \
			    2>"$IT_TMP/logs/nginx-t.log"; then
				ok "$mode: nginx -t accepts nginx/connect-fcgi-$mode.conf"
			else
				not_ok "$mode: nginx -t accepts nginx/connect-fcgi-$mode.conf"
				diag "$(cat "$IT_TMP/logs/nginx-t.log")"
				return 1
			fi
			nw=${#IT_PIDS[@]}
			it_workers "$mode" || return 1
		elif [ -n "${restart:-}" ]; then
			restart=
			it_workers "$mode" || return 1
		fi
		env -u NGINX "$NGINX" -p "$IT_TMP/nginx" -c "$IT_TMP/nginx/nginx.conf" -e stderr \
		    2>>"$IT_TMP/logs/nginx.log" &
		pid=$!
		if wait_http "$BASE/" 50; then
			IT_PIDS+=("$pid")
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		diag "nginx did not start on port $PORT (try $try)"
	done
	diag "$(tail -n 20 "$IT_TMP/logs/nginx.log" "$IT_TMP/nginx/error.log" 2>/dev/null)"
	return 1
}

# it_logs: every log of the run, as TAP comments (after a failure).
it_logs() {
	local f
	for f in "$IT_TMP"/logs/*.log "$IT_TMP/nginx/error.log"; do
		[ -s "$f" ] || continue
		diag "--- $f" "$(tail -n 30 "$f")"
	done
}

# ----------------------------------------------------------------------------------- HTTP
# http METHOD PATH [CURL-ARG...]: sets STATUS, BODY (file) and HEADERS (file).
BODY=
HEADERS=
STATUS=
http() {
	local method="$1" path="$2"
	shift 2
	BODY="$IT_TMP/body"
	HEADERS="$IT_TMP/headers"
	: >"$BODY"
	: >"$HEADERS"
	if [ "$method" = HEAD ]; then
		STATUS="$(curl -s -I -o /dev/null -D "$HEADERS" -w '%{http_code}' --max-time 20 \
		    "$@" "$BASE$path")"
	else
		STATUS="$(curl -s -X "$method" -o "$BODY" -D "$HEADERS" -w '%{http_code}' \
		    --max-time 20 "$@" "$BASE$path")"
	fi
}

# header NAME: the value of response header NAME (last response), CR stripped.
header() {
	sed -n "s/^$1: *//Ip" "$HEADERS" | tr -d '\r' | tail -n 1
}

# json FILE EXPR: evaluates the JavaScript EXPR with `j` the JSON in FILE; prints the result,
# fails when FILE is not JSON.
json() {
	"$NODE" -e '
		const fs = require("fs");
		const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
		const v = (0, eval)("(j) => (" + process.argv[2] + ")")(j);
		process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
	' "$1" "$2" 2>/dev/null
}

# raw_head PATH: the whole response to a HEAD request, bytes as sent (no client parsing).
raw_head() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
		printf 'HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
		timeout 10 cat <&3
	)
}

# bytes N: N bytes of 'x' on stdout.
bytes() {
	head -c "$1" /dev/zero | tr '\0' x
}

# ------------------------------------------------------------------------ the nginx suite
# nginx_suite MODE: the tests of nginx/connect-fcgi-MODE.conf (pool or fcgiwrap), run by
# nginx-MODE.sh. Part 1 puts tests/bench/echo.fcgi behind every route, to see what each
# location hands its program; part 2 runs the real programs that are built.
ROUTES="descriptor:GET:/atlassian-connect.json installed:POST:/installed
uninstalled:POST:/uninstalled webhook:POST:/webhook oauth-callback:GET:/oauth-callback
forge-events:POST:/forge/events forge-remote:POST:/forge/merge-check forge-remote:GET:/forge/remote/installation"

nginx_suite() {
	local mode="$1" r name method path want got pids victim prog secret n
	it_setup
	if [ "$mode" = fcgiwrap ] && [ ! -x "$FCGIWRAP" ]; then
		skip_all "fcgiwrap not found"
	fi
	[ -x "$NODE" ] || skip_all "node not found"
	[ -x "$top_builddir/tests/bench/echo.fcgi" ] || skip_all "tests/bench/echo.fcgi not built"

	# ---- part 1: the echo responder behind every location
	for r in $ROUTES; do
		it_stage "$top_builddir/tests/bench/echo.fcgi" "${r%%:*}.fcgi"
	done
	echo "AC_BASE_URL=http://127.0.0.1" >"$IT_TMP/connect-fcgi.conf"
	if ! it_nginx "$mode"; then
		not_ok "$mode: nginx and the echo workers start"
		it_logs
		done_testing
	fi
	for r in $ROUTES; do
		IFS=: read -r name method path <<<"$r"
		if [ "$method" = POST ]; then
			http POST "$path?probe=$name" -H "Authorization: JWT it.$name.sig" \
			    -H 'Proxy: http://evil.example:1' -H 'Content-Type: application/json' \
			    --data-binary '{"a":1}'
			want="JWT it.$name.sig|$path?probe=$name|$path||7|7"
		else
			http GET "$path?probe=$name" -H "Authorization: JWT it.$name.sig" \
			    -H 'Proxy: http://evil.example:1'
			want="JWT it.$name.sig|$path?probe=$name|$path||0|"
		fi
		got="$(json "$BODY" '[j.HTTP_AUTHORIZATION, j.REQUEST_URI, j.SCRIPT_NAME,
		    j.HTTP_PROXY || "", j.body_bytes, j.CONTENT_LENGTH || ""].join("|")')"
		is "$STATUS $got" "200 $want" \
		    "$mode: $method $path reaches $name.fcgi with Authorization, REQUEST_URI and body intact, no HTTP_PROXY"
	done
	if [ "$mode" = fcgiwrap ]; then
		http GET /atlassian-connect.json
		is "$(json "$BODY" 'j.AC_CONFIG')" "$IT_TMP/connect-fcgi.conf" \
		    "$mode: AC_CONFIG reaches the CGI program"
	fi

	# Body caps: the largest allowed body passes, one byte more is nginx's JSON 413.
	bytes 65536 >"$IT_TMP/64k"
	bytes 65537 >"$IT_TMP/64k+1"
	bytes 262144 >"$IT_TMP/256k"
	bytes 262145 >"$IT_TMP/256k+1"
	bytes 2097152 >"$IT_TMP/2m"
	for r in installed:64k uninstalled:64k webhook:256k forge/events:256k forge/merge-check:64k; do
		name="${r%%:*}"
		http POST "/$name" --data-binary @"$IT_TMP/${r#*:}"
		is "$STATUS $(json "$BODY" 'j.body_bytes')" "200 $(stat -c %s "$IT_TMP/${r#*:}")" \
		    "$mode: /$name accepts a body of ${r#*:}"
		http POST "/$name" --data-binary @"$IT_TMP/${r#*:}+1"
		is "$STATUS $(json "$BODY" 'j.error')" "413 body_too_large" \
		    "$mode: /$name refuses ${r#*:} + 1 byte with a JSON 413"
	done
	for path in /atlassian-connect.json /oauth-callback; do
		http POST "$path" --data-binary @"$IT_TMP/2m"
		is "$STATUS $(json "$BODY" 'j.error')" "413 body_too_large" \
		    "$mode: $path refuses a 2 MB body with a JSON 413"
	done
	http GET /nothing-here
	is "$STATUS $(json "$BODY" 'j.error')" "404 not_found" "$mode: other paths are a JSON 404"

	if [ "$mode" = pool ]; then
		pids=
		for _ in 1 2 3 4 5 6 7 8; do
			http GET /atlassian-connect.json
			pids="$pids $(json "$BODY" 'j.pid')"
		done
		n="$(printf '%s\n' $pids | sort -u | wc -l)"
		check "$mode: requests spread over the descriptor workers ($n of 4 seen)" [ "$n" -ge 2 ]
		victim="${IT_SOCK_PID[$IT_TMP/run/descriptor.0.sock]}"
		kill -KILL "$victim" 2>/dev/null
		wait "$victim" 2>/dev/null
		got=
		for _ in 1 2 3 4 5 6 7 8; do
			http GET /atlassian-connect.json
			got="$got$STATUS "
		done
		is "$got" "200 200 200 200 200 200 200 200 " \
		    "$mode: a dead worker's share goes to the others"
	else
		http GET /atlassian-connect.json
		got="$(json "$BODY" 'j.pid')"
		http GET /atlassian-connect.json
		check "$mode: every request runs the program anew" [ "$got" != "$(json "$BODY" 'j.pid')" ]
	fi
	[ "$T_FAILED" -eq 0 ] || it_logs
	if it_stop_all; then
		ok "$mode: every process of part 1 stopped by PID"
	else
		not_ok "$mode: every process of part 1 stopped by PID"
	fi

	# ---- part 2: the real programs
	if [ ! -x "$top_builddir/src/fcgi/descriptor.fcgi" ]; then
		skip "$mode: descriptor.fcgi not built"
		done_testing
	fi
	rm -f "$IT_TMP"/libexec/*.fcgi "$IT_TMP"/run/*.sock
	for prog in "$top_builddir"/src/fcgi/*.fcgi; do
		it_stage "$prog" "${prog##*/}"
	done
	mkdir -p "$IT_TMP/descriptor"
	cp "$top_srcdir"/descriptor/*.json "$IT_TMP/descriptor/"
	chmod -R a+rX "$IT_TMP/descriptor"
	it_port
	export AC_BASE_URL="$BASE" AC_APP_KEY="it-$mode-key" AC_APP_NAME="Integration $mode"
	export AC_DATA_DIR="$IT_TMP/data" AC_TEMPLATE_DIR="$IT_TMP/descriptor"
	# the Forge app the Bitbucket descriptor points at (issue 15 item 7); it changes nothing else
	export AC_FORGE_APP_LINK="https://developer.atlassian.com/console/install/it-$mode?signature=a%2Fb&product=bitbucket"
	unset AC_CONFIG AC_DESCRIPTOR
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	# A test-only location with no body cap in nginx: a program answers a path it does not serve
	# without reading the body, so its input has not ended when it closes.
	: >"$IT_TMP/nginx-extra.conf"
	[ "$mode" != pool ] || printf '%s\n' 'location = /it-uncapped {' '    client_max_body_size 4m;' \
	    '    client_body_buffer_size 4m;' '    fastcgi_pass connect_webhook;' '}' >"$IT_TMP/nginx-extra.conf"
	if ! it_nginx "$mode" "$IT_TMP/nginx-extra.conf"; then
		not_ok "$mode: nginx and the programs start"
		it_logs
		done_testing
	fi

	secret="s3cret-$RANDOM$RANDOM"
	http GET /atlassian-connect.json -H "Authorization: JWT $secret"
	is "$STATUS $(header Content-Type)" "200 application/json" \
	    "$mode: GET /atlassian-connect.json is 200 application/json"
	got="$(json "$BODY" '[j.baseUrl, j.key, j.name].join("|")')"
	is "$got" "$AC_BASE_URL|$AC_APP_KEY|$AC_APP_NAME" \
	    "$mode: the descriptor is JSON with baseUrl, key and name substituted"
	check "$mode: no {{placeholder}} left in the descriptor" \
	    eval '[ -s "$BODY" ] && ! grep -q "{{" "$BODY"'
	# forgeAppId only with AC_FORGE_APP_ID, always as the ARI whatever form the setting has
	want_id=undefined
	[ -z "${AC_FORGE_APP_ID:-}" ] ||
		want_id="ari:cloud:ecosystem::app/$(printf '%s' "${AC_FORGE_APP_ID##*/}" | tr 'A-F' 'a-f')"
	is "$(json "$BODY" '[j.forgeAppLink, String(j.forgeAppId)].join(" ")')" \
	    "$AC_FORGE_APP_LINK $want_id" \
	    "$mode: the Bitbucket descriptor has forgeAppLink = AC_FORGE_APP_LINK (and forgeAppId only with AC_FORGE_APP_ID)"

	raw_head /atlassian-connect.json >"$IT_TMP/head"
	got="$(head -n 1 "$IT_TMP/head" | tr -d '\r')"
	n="$(sed -n '/^\r$/,$p' "$IT_TMP/head" | tail -n +2 | wc -c)"
	is "$got, $n bytes after the headers" "HTTP/1.1 200 OK, 0 bytes after the headers" \
	    "$mode: HEAD /atlassian-connect.json is 200 with no body"

	http POST /atlassian-connect.json --data-binary ''
	got="$(header Allow | tr -d ' ')"
	is "$STATUS $got $(json "$BODY" 'j.error')" "405 GET,HEAD method_not_allowed" \
	    "$mode: POST /atlassian-connect.json is a JSON 405 with Allow: GET, HEAD"
	http POST /atlassian-connect.json --data-binary @"$IT_TMP/2m"
	is "$STATUS $(json "$BODY" 'j.error')" "413 body_too_large" \
	    "$mode: a 2 MB body to /atlassian-connect.json is a JSON 413"

	if [ -x "$IT_TMP/libexec/installed.fcgi" ]; then
		http POST /installed
		is "$STATUS $(json "$BODY" 'j.error')" "411 length_required" \
		    "$mode: POST /installed without Content-Length is a JSON 411"
		http POST /installed --data-binary @"$IT_TMP/64k+1"
		is "$STATUS $(json "$BODY" 'j.error')" "413 body_too_large" \
		    "$mode: POST /installed over 64 KiB is a JSON 413"
	else
		skip "installed.fcgi not built yet (411)"
		skip "installed.fcgi not built yet (413)"
	fi

	# Closing: a program closes at once when the request's input has ended and drains it
	# first when it has not (src/lib/web/fcgi.c): either way nginx gets every response whole.
	got=
	for n in $(seq 30); do
		http GET /atlassian-connect.json
		got="$got$STATUS"
		http POST /webhook -H 'Content-Type: application/json' --data-binary @"$IT_TMP/256k"
		got="$got$STATUS"
		http POST /installed -H 'Content-Type: application/json' --data-binary '{"a":1}'
		got="$got$STATUS"
		if [ "$mode" = pool ]; then
			http POST /it-uncapped -H 'Content-Type: application/json' --data-binary @"$IT_TMP/2m"
			[ "$STATUS" = 404 ] || got="$got uncapped:$STATUS "
		fi
	done
	is "$(printf '%s\n' "$got" | sed 's/200401400//g')" "" \
	    "$mode: 30 rounds of GET descriptor, unsigned 256 KiB webhook, an invalid install body (and for the pool, 2 MB to a path webhook.fcgi does not serve): 200, 401, 400 (404)"
	check "$mode: nginx logged no reset nor premature close from the programs" \
	    eval '! grep -Eq "reset by peer|prematurely closed|recv\(\) failed|readv\(\) failed" "$IT_TMP/nginx/error.log"'

	if [ "$mode" = pool ]; then
		cat "$IT_TMP"/logs/descriptor.log >"$IT_TMP/programs.log"
	else
		cat "$IT_TMP"/logs/fcgiwrap.log >"$IT_TMP/programs.log"
	fi
	check "$mode: the programs log their requests on stderr" \
	    grep -q 'atlassian-connect.json' "$IT_TMP/programs.log"
	check "$mode: no log holds the Authorization header" \
	    eval '! grep -rq "$secret" "$IT_TMP/logs" "$IT_TMP/nginx/error.log" "$IT_TMP/nginx/access.log"'

	[ "$T_FAILED" -eq 0 ] || it_logs
	if it_stop_all; then
		ok "$mode: every process of part 2 stopped by PID"
	else
		not_ok "$mode: every process of part 2 stopped by PID"
	fi
	done_testing
}

# ------------------------------------------------------------- Apache, the simulator, scenario
# The deployment tests (apache-*.sh, scenario-nginx.sh) run the same product scenario in every
# shipped setup: it_apache starts Apache around apache/*, it_sim_start the simulator,
# it_scenario plays descriptor, install, webhook, oauth-callback and uninstall and checks the
# safety of the setup (it_safety).
APACHE="${APACHE:-$(PATH="$PATH:/usr/sbin:/sbin" command -v apache2)}"
APACHE_MODULES=/usr/lib/apache2/modules

# it_apache MODE [DOCROOT]: generates $IT_TMP/apache/httpd.conf around the shipped config for
# MODE (fcgid, proxy-fcgi or cgi; scripts/lib.sh apache_conf) on a free port (sets PORT, BASE
# unless BASE_PATH is set: BASE=http://127.0.0.1:PORT$BASE_PATH), checks it with apache2 -t
# (a test), starts the pool workers (proxy-fcgi) and Apache, and waits until it answers.
it_apache() {
	local mode="$1" docroot="${2:-}" try pid prog sock libexec="$IT_TMP/libexec"
	[ "$mode" != cgi ] || libexec="$docroot"
	for try in 1 2 3 4 5; do
		[ "$try" -eq 1 ] && [ -n "${PORT:-}" ] || PORT="$(it_free_port)" || return 1
		BASE="http://127.0.0.1:$PORT${BASE_PATH:-}"
		apache_conf "$mode" "$IT_TMP/apache" "$PORT" "$libexec" "$IT_TMP/run" "$IT_TMP/connect-fcgi.conf"
		if [ "$try" -eq 1 ]; then
			if env -u APACHE "$APACHE" -t -d "$IT_TMP/apache" -f "$IT_TMP/apache/httpd.conf" \
			    >"$IT_TMP/logs/apache-t.log" 2>&1; then
				ok "$mode: apache2 -t accepts the config around apache/$( [ "$mode" = cgi ] && echo htaccess || echo "connect-fcgi-$mode.conf")"
			else
				not_ok "$mode: apache2 -t accepts the config"
				diag "$(cat "$IT_TMP/logs/apache-t.log")"
				return 1
			fi
			if [ "$mode" = proxy-fcgi ]; then
				while read -r prog sock; do
					[ -x "$IT_TMP/libexec/$prog.fcgi" ] || continue
					it_spawn "$prog" "$sock" "$IT_TMP/libexec/$prog.fcgi" || return 1
				done < <(apache_pool_sockets "$IT_TMP/apache/connect-fcgi.conf")
			fi
		fi
		env -u APACHE "$APACHE" -DFOREGROUND -d "$IT_TMP/apache" -f "$IT_TMP/apache/httpd.conf" \
		    >>"$IT_TMP/logs/apache.log" 2>&1 &
		pid=$!
		if wait_http "http://127.0.0.1:$PORT/" 50; then
			IT_PIDS+=("$pid")
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		diag "apache did not start on port $PORT (try $try)"
	done
	diag "$(tail -n 20 "$IT_TMP/logs/apache.log" "$IT_TMP/apache/logs/error.log" 2>/dev/null)"
	return 1
}

# it_sim_start: the product simulator on a port of its own (state in $IT_TMP/sim); sets
# SIM_URL, SIM_PID. Skips everything when node or atlassian-jwt is missing.
it_sim_start() {
	[ -x "$NODE" ] || skip_all "node not found"
	[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
	mkdir -p "$IT_TMP/sim"
	rm -f "$IT_TMP/sim/sim.json"
	"$NODE" "$top_srcdir/tests/sim/sim.js" serve --port 0 --state "$IT_TMP/sim" \
	    >"$IT_TMP/logs/sim.out" 2>"$IT_TMP/logs/sim.log" &
	SIM_PID=$!
	IT_PIDS+=("$SIM_PID")
	for _ in $(seq 100); do
		[ -s "$IT_TMP/sim/sim.json" ] && break
		sleep 0.1
	done
	SIM_URL="$(json "$IT_TMP/sim/sim.json" 'j.url')"
	[ -n "$SIM_URL" ]
}

# it_app_env PRODUCT WORKER: exports the programs' settings for the simulator (AC_BASE_URL from
# BASE) and writes them to $IT_TMP/connect-fcgi.conf (AC_CONFIG for fcgiwrap and mod_fcgid).
it_app_env() {
	export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_PRODUCT="$1" AC_DATA_DIR="$IT_TMP/data"
	export AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS=127.0.0.1
	export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_WORKER="$2"
	export AC_BITBUCKET_TOKEN_URL="$SIM_URL/site/oauth2/access_token" AC_OAUTH_SERVER_URL="$SIM_URL"
	export AC_RETRY_FOR=20 AC_RETRY_BASE_MS=200
	unset AC_CONFIG AC_DESCRIPTOR
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
}

# it_stage_programs DIR [SUFFIX]: the built programs into DIR (as NAME.SUFFIX, default fcgi),
# and the descriptor templates into $IT_TMP/descriptor.
it_stage_programs() {
	local dir="$1" suffix="${2:-fcgi}" prog name
	mkdir -p "$dir" "$IT_TMP/descriptor"
	for prog in "$top_builddir"/src/fcgi/*.fcgi; do
		name="${prog##*/}"
		install -m 0755 "$prog" "$dir/${name%.fcgi}.$suffix"
	done
	cp "$top_srcdir"/descriptor/*.json "$IT_TMP/descriptor/"
	chmod -R a+rX "$IT_TMP/descriptor"
}

# it_stop_app: stops every process started after the first (the simulator, started first by
# it_sim_start, stays for the whole run).
it_stop_app() {
	local keep=("${IT_PIDS[0]}") rest=("${IT_PIDS[@]:1}")
	[ "${#rest[@]}" -gt 0 ] || return 0
	stop_pids "${rest[@]}" 2>/dev/null
	IT_PIDS=("${keep[@]}")
}

# it_worker: `acctl worker` as the unprivileged user (the worker is $!, setpriv execs it).
it_worker() {
	run_user_prefix
	"${RUN_PREFIX[@]}" "$top_builddir/src/cli/acctl" worker >>"$IT_TMP/logs/worker.log" 2>&1 &
	IT_PIDS+=("$!")
}

# it_sim DRIVER ARG...: runs a simulator driver against $BASE; output in $IT_TMP/sim.last.
it_sim() {
	"$NODE" "$top_srcdir/tests/sim/sim.js" "$1" --app "$BASE" --state "$IT_TMP/sim" "${@:2}" \
	    >"$IT_TMP/sim.last" 2>&1
}
# it_drive DESCRIPTION WANT DRIVER ARG...: a test that the driver got status WANT.
it_drive() {
	local d="$1" want="$2"
	shift 2
	if it_sim "$@" --expect "$want"; then
		ok "$d ($want)"
	else
		not_ok "$d ($want)"
		diag "$(head -c 600 "$IT_TMP/sim.last")"
	fi
}
# it_sim_js EXPR: EXPR evaluated with s = GET /_sim/store, r = GET /_sim/requests.
it_sim_js() {
	curl -s --max-time 10 "$SIM_URL/_sim/store" >"$IT_TMP/store.json"
	curl -s --max-time 10 "$SIM_URL/_sim/requests" >"$IT_TMP/requests.json"
	"$NODE" -e '
		const fs = require("fs");
		const s = JSON.parse(fs.readFileSync(process.argv[1])), r = JSON.parse(fs.readFileSync(process.argv[2]));
		const v = (0, eval)("(s, r) => (" + process.argv[3] + ")")(s, r);
		process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
	' "$IT_TMP/store.json" "$IT_TMP/requests.json" "$1"
}
# it_eventually SECONDS EXPR WANT: polls it_sim_js EXPR until it prints WANT; prints the last.
it_eventually() {
	local end=$((SECONDS + $1)) got
	while :; do
		got="$(it_sim_js "$2")"
		[ "$got" = "$3" ] && { echo "$got"; return 0; }
		[ "$SECONDS" -lt "$end" ] || { echo "$got"; return 1; }
		sleep 0.2
	done
}
# it_pr_payload FILE TITLE: a pullrequest:created payload with that title.
it_pr_payload() {
	"$NODE" -e '
		const p = require(process.argv[1]); p.data.pullrequest.title = process.argv[2];
		require("fs").writeFileSync(process.argv[3], JSON.stringify(p));
	' "$top_srcdir/tests/sim/payloads/bitbucket-webhook-pullrequest-created.json" "$2" "$1"
}

# it_scenario LABEL: the product's whole conversation with the app at $BASE (a Bitbucket
# tenant): descriptor, install, a pull request with a bad title (comment + FAILED status on the
# full hash, by `acctl worker` or AC_WORKER=inline), oauth-callback (when built), uninstall.
# Needs it_sim_start, the app started with it_app_env, and a worker unless inline.
it_scenario() {
	local l="$1" ck="sc-$1-$RANDOM" got
	local st="(s.statuses['example-workspace/example-repo/1111111111111111111111111111111111111111/connect-fcgi-title'] || {}).state || 'none'"
	curl -s -o /dev/null --max-time 10 -X POST -H 'Content-Type: application/json' -d '{}' "$SIM_URL/_sim/reset"
	http GET /atlassian-connect.json
	is "$STATUS $(json "$BODY" 'j.baseUrl')" "200 $AC_BASE_URL" "$l: the descriptor, with baseUrl $AC_BASE_URL"
	it_drive "$l: the simulator installs a Bitbucket tenant" 204 install --product bitbucket --client-key "$ck"
	it_drive "$l: a webhook without Authorization is refused" 401 webhook --client-key "$ck" \
	    --event repo:push --sign none
	it_pr_payload "$IT_TMP/pr-bad.json" "Add & run linters"
	it_drive "$l: a pull request with a bad title is accepted" 204 webhook --client-key "$ck" \
	    --event pullrequest:created --payload "$IT_TMP/pr-bad.json"
	got="$(it_eventually 20 "[s.comments.length, $st].join(' ')" "1 FAILED")"
	is "$got" "1 FAILED" "$l: the app commented on the pull request and posted FAILED on the full hash"
	is "$(it_sim_js "r.filter(x => x.route === 'bitbucket-rest').every(x => x.verification && x.verification.ok)")" \
	    true "$l: every call the app made verified with atlassian-jwt"
	if [ -x "$top_builddir/src/fcgi/oauth-callback.fcgi" ]; then
		it_drive "$l: the simulator loads the oauth-callback page" 200 page --client-key "$ck"
	else
		skip "$l: oauth-callback.fcgi not built"
	fi
	it_drive "$l: the simulator uninstalls the tenant" 204 uninstall --client-key "$ck"
	it_drive "$l: a webhook for the uninstalled tenant is refused" 401 webhook --client-key "$ck" \
	    --event repo:push
	it_safety "$l" "$ck"
}

# it_safety LABEL CLIENTKEY: the data dir ($IT_DATA, default $IT_TMP/data) is 0700 and owned by
# the programs' user, its files 0600 and owned by it; no program process runs as root; no log
# holds the tenant's shared secret or a JWT.
it_safety() {
	local l="$1" ck="$2" owner want bad secret p exe n=0 root=0 logs data="${IT_DATA:-$IT_TMP/data}"
	want="$(id -un)"
	[ -z "$IT_UG" ] || want="${IT_UG%%:*}"
	owner="$(stat -c '%a %U' "$data")"
	is "$owner" "700 $want" "$l: the data dir is 0700 and owned by $want"
	bad="$(find "$data" -type f \( ! -perm 0600 -o ! -user "$want" \) -printf '%m %u %p\n')"
	is "$bad" "" "$l: every data file is 0600 and owned by $want"
	for p in $(descendants "${IT_PIDS[@]}") "${IT_PIDS[@]}"; do
		exe="$(readlink "/proc/$p/exe" 2>/dev/null)" || continue
		case "${exe##*/}" in
		*.fcgi | *.cgi | acctl | fcgiwrap)
			n=$((n + 1))
			[ "$(stat -c %u "/proc/$p")" != 0 ] || root=$((root + 1)) ;;
		esac
	done
	if [ -n "$IT_UG" ]; then
		is "$root" 0 "$l: no program process runs as root ($n running)"
	else
		skip "$l: not root, nothing can run as root"
	fi
	secret="$(json "$IT_TMP/sim/tenants.json" "j['$ck'].sharedSecret")"
	logs="$IT_TMP/logs $IT_TMP/nginx $IT_TMP/apache/logs"
	# shellcheck disable=SC2086
	bad="$(find $logs -name '*.log' ! -name 'sim*' 2>/dev/null |
	    xargs -r grep -lE -e "${secret:-no-secret}" -e 'eyJ[A-Za-z0-9_-]+\.eyJ' 2>/dev/null)"
	check "$l: the tenant's secret is known" [ -n "$secret" ]
	is "$bad" "" "$l: no log holds the shared secret or a JWT"
}

# ------------------------------------------------------------------------------------ Forge
# The Forge tests (forge-*.sh) share these: Forge's side is a node program on loopback (the JWKS
# server tests/sim/forge-jwks.js or the simulator's Forge mode) that writes its URL to
# $IT_TMP/forge/forge.json, and the programs behind the nginx pool with the Forge settings.

# forge_need PROGRAM...: skip the whole test without node, npm jose or one of PROGRAM.fcgi
forge_need() {
	local p
	[ -x "$NODE" ] || skip_all "node not found"
	[ -d "$top_srcdir/tests/sim/node_modules/jose" ] || skip_all "jose not installed in tests/sim"
	for p in "$@"; do
		[ -x "$top_builddir/src/fcgi/$p.fcgi" ] || skip_all "$p.fcgi not built"
	done
}

# forge_start WHAT ARGS...: node ARGS in the background (stopped by PID on exit), its state in
# $IT_TMP/forge; sets FORGE to its URL, or ends the test with "WHAT starts" failed
forge_start() {
	local what="$1"
	shift
	mkdir -p "$IT_TMP/forge"
	"$NODE" "$@" >"$IT_TMP/logs/forge-sim.out" 2>"$IT_TMP/logs/forge-sim.log" &
	IT_PIDS+=("$!")
	for _ in $(seq 100); do
		[ -s "$IT_TMP/forge/forge.json" ] && break
		sleep 0.1
	done
	FORGE="$(json "$IT_TMP/forge/forge.json" 'j.url')"
	[ -n "$FORGE" ] || { not_ok "$what starts"; it_logs; done_testing; }
}

# forge_data: a fresh, empty data dir the programs' user owns
forge_data() {
	rm -rf "$IT_TMP/data" && mkdir -m 0700 "$IT_TMP/data"
	[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/data"
}

# forge_env APP_ID [JWKS-URL]: on a fresh port ($BASE), the settings of a Bitbucket app with Forge
# app APP_ID whose JWKS is on $FORGE (or at JWKS-URL); the caller adds its own after
forge_env() {
	PORT=
	it_port
	export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_PRODUCT=bitbucket AC_DATA_DIR="$IT_TMP/data"
	export AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS="127.0.0.1" AC_SYNC=full AC_WORKER=daemon
	export AC_FORGE_APP_ID="$1" AC_FORGE_JWKS_URL="${2:-$FORGE/.well-known/jwks.json}"
	unset AC_CONFIG AC_DESCRIPTOR
}

# forge_nginx: the settings written to connect-fcgi.conf, nginx and the programs started, or the
# test ended with "nginx and the programs start" failed
forge_nginx() {
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	it_nginx pool || { not_ok "nginx and the programs start"; it_logs; done_testing; }
}

# forge_restart APP_ID [JWKS-URL]: the programs stopped, a fresh data dir, forge_env; the caller
# adds its settings and calls forge_nginx (a fresh port and data dir: a fresh JWKS fetch window)
forge_restart() {
	it_stop_app
	rm -f "$IT_TMP"/run/*.sock
	forge_data
	forge_env "$@"
}
