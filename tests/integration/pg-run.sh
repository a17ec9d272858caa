#!/bin/bash
# pg-run.sh: `AC_STORE=postgres scripts/run` without AC_DATABASE_URL starts a private PostgreSQL
# under $VARDIR/pg, gives its URI to the programs and the worker, and stops it with everything
# else on Ctrl-C (SIGINT to its process group); a server left by a SIGKILLed scripts/run is
# stopped by the next; with AC_DATABASE_URL given, no server is started (TAP).
. "$top_srcdir/tests/integration/lib.sh"

pg_need
[ -x "$top_builddir/src/fcgi/descriptor.fcgi" ] && [ -x "$top_builddir/src/cli/acctl" ] ||
	skip_all "the programs are not built"
command -v setsid >/dev/null 2>&1 || skip_all "setsid not found"
it_setup
RUN_PID=
NGINX_LEFT=
stop_run() {
	[ -n "$RUN_PID" ] || return 0
	kill -INT -- "-$RUN_PID" 2>/dev/null
	for _ in $(seq 150); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
	alive "$RUN_PID" && stop_pids "$RUN_PID" 2>/dev/null
	wait "$RUN_PID" 2>/dev/null
	RUN_PID=
}
trap 'stop_run; [ -z "$NGINX_LEFT" ] || stop_pids "$NGINX_LEFT" 2>/dev/null; for d in "$IT_TMP"/var*/pg; do [ ! -d "$d" ] || "$PG_SERVER" stop "$d" 2>/dev/null; done; it_cleanup' EXIT

# run_start VARDIR [ENV...]: scripts/run in its own process group (as Ctrl-C in a terminal
# reaches it), until it serves; sets RUN_PID, RUN_ERR.
run_start() {
	local var="$1"
	shift
	RUN_ERR="$var.err"
	PORT="$(it_free_port)"
	env -u AC_CONFIG -u AC_DATA_DIR -u AC_TEMPLATE_DIR -u AC_DATABASE_URL -u AC_STORE "$@" \
	    PORT="$PORT" NO_BUILD=1 BUILDDIR="$top_builddir" VARDIR="$var" \
	    setsid "$top_srcdir/scripts/run" >"$var.out" 2>"$RUN_ERR" &
	RUN_PID=$!
	for _ in $(seq 300); do
		grep -q 'Ctrl-C to stop' "$RUN_ERR" 2>/dev/null && return 0
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	diag "$(tail -n 20 "$RUN_ERR")"
	return 1
}
# worker_env NAME: NAME=value from the environment of the worker scripts/run started.
worker_env() {
	local p
	for p in $(descendants "$RUN_PID"); do
		case "$(readlink "/proc/$p/exe" 2>/dev/null)" in
		*/acctl) tr '\0' '\n' <"/proc/$p/environ" | grep "^$1=" && return 0 ;;
		esac
	done
	return 1
}
# procs_in DIR: the live processes working in DIR (a postmaster and its children, in their
# data directory).
procs_in() {
	local p want
	want="$(cd "$1" 2>/dev/null && pwd -P)" || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$want" ] && alive "${p#/proc/}" && echo "${p#/proc/}"
	done
}

V="$IT_TMP/var"
if run_start "$V" AC_STORE=postgres; then ok "AC_STORE=postgres scripts/run serves"; else not_ok "AC_STORE=postgres scripts/run serves"; done_testing; fi
URL="$("$PG_SERVER" url "$V/pg" 2>/dev/null)"
PGPID="$("$PG_SERVER" pid "$V/pg" 2>/dev/null)"
check "... with a private PostgreSQL under VARDIR/pg (pid $PGPID)" test -n "$PGPID"
check "... whose URI it prints" grep -qF "store: PostgreSQL at $URL" "$RUN_ERR"
is "$(worker_env AC_STORE)|$(worker_env AC_DATABASE_URL)" "AC_STORE=postgres|AC_DATABASE_URL=$URL" \
	"the worker gets AC_STORE=postgres and its URI"
is "$("$("$PG_SERVER" bindir)/psql" -X -tA -d "$URL" -c 'SELECT current_database()' 2>&1)" connect_fcgi \
	"... which connects"
is "$("$("$PG_SERVER" bindir)/psql" -X -tA -d "$URL" -c 'SELECT max(version) > 0 FROM ac_schema_migrations' 2>&1)" t \
	"... and whose schema acctl store migrate made before the programs started"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/atlassian-connect.json")" 200 "the descriptor is served"
kids="$(descendants "$PGPID")"
stop_run
left=
for p in $PGPID $kids; do alive "$p" && left="$left $p"; done
is "$left$(procs_in "$V/pg/data" | tr '\n' ' ')" "" "Ctrl-C stops the PostgreSQL too: no process of VARDIR/pg is left"
check "... saying so" grep -q "stopped the PostgreSQL in $V/pg" "$RUN_ERR"
check "... and its data stays for the next run" test -f "$V/pg/data/PG_VERSION"

# SIGKILLed: its PostgreSQL (and nginx) outlive it; the next scripts/run stops that server.
if run_start "$V" AC_STORE=postgres; then ok "scripts/run again"; else not_ok "scripts/run again"; fi
PGPID="$("$PG_SERVER" pid "$V/pg" 2>/dev/null)"
NGINX_LEFT="$(cat "$V/nginx/$PORT/nginx.pid" 2>/dev/null)"
kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
RUN_PID=
[ -z "$NGINX_LEFT" ] || stop_pids "$NGINX_LEFT" 2>/dev/null
NGINX_LEFT=
check "a SIGKILLed scripts/run leaves its PostgreSQL running (pid $PGPID)" alive "$PGPID"
if run_start "$V" AC_STORE=postgres; then ok "the next scripts/run serves"; else not_ok "the next scripts/run serves"; fi
check "... having stopped the server left behind" grep -q "stopping the PostgreSQL a previous scripts/run left running" "$RUN_ERR"
check "... which is gone" eval '! alive "$PGPID"'
PGPID="$("$PG_SERVER" pid "$V/pg" 2>/dev/null)"
stop_run
check "... and its own stops with it" eval '[ -n "$PGPID" ] && ! alive "$PGPID"'

# AC_DATABASE_URL given: that database, no server of its own.
pg_start given || { not_ok "a server for AC_DATABASE_URL"; done_testing; }
V2="$IT_TMP/var2"
if run_start "$V2" AC_STORE=postgres AC_DATABASE_URL="$PG_URL"; then ok "AC_STORE=postgres AC_DATABASE_URL=... scripts/run serves"; else not_ok "AC_STORE=postgres AC_DATABASE_URL=... scripts/run serves"; fi
check "... and starts no PostgreSQL" test ! -e "$V2/pg"
is "$(worker_env AC_DATABASE_URL)" "AC_DATABASE_URL=$PG_URL" "... the worker gets the URI given"
stop_run
check "... which is still running after Ctrl-C" alive "${IT_PG_PID[given]}"
[ "$T_FAILED" -eq 0 ] || it_logs
done_testing
