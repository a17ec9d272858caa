#!/bin/bash
# pg-server.sh: tests/pg-server.sh, the private PostgreSQL that scripts/run (AC_STORE=postgres)
# and the tests start: it runs as an unprivileged user, psql connects through the one line it
# prints, two started at once get two ports, stop leaves no process of its directory (even when
# the server ignores pg_ctl), the data outlives a restart, and a directory that the server's
# user cannot reach (inside a 0700 directory of root's) or whose path is too long for a socket
# works through a private directory in /tmp (TAP).
. "$top_srcdir/tests/integration/lib.sh"

pg_need
it_setup
PSQL="$("$PG_SERVER" bindir)/psql"

# q URI SQL: one value, as the test's user (root connects as the URI's user: trust).
q() { "$PSQL" -X -q -tA -d "$1" -c "$2" 2>>"$IT_TMP/logs/psql.log"; }
# port_of URI
port_of() { printf '%s\n' "$1" | sed -n 's/.*[?&]port=\([0-9]*\).*/\1/p'; }
# procs_in DIR: the live processes whose working directory is DIR (a postmaster and its
# children work in their data directory), one PID a line.
procs_in() {
	local p want
	want="$(cd "$1" 2>/dev/null && pwd -P)" || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$want" ] && alive "${p#/proc/}" && echo "${p#/proc/}"
	done
}

# ---------------------------------------------------------------- one server
if pg_start main; then ok "start prints a URI: $PG_URL"; else not_ok "start prints a URI"; done_testing; fi
URL="$PG_URL"
PID="${IT_PG_PID[main]}"
D="$IT_TMP/pg/main"
PORT1="$(port_of "$URL")"
check "... postgresql:///connect_fcgi with the socket directory under DIR, its port and user" \
	eval '[[ "$URL" == "postgresql:///connect_fcgi?host=$D/sock&port=$PORT1&user="?* ]]'
check "... the port names the socket file" test -S "$D/sock/.s.PGSQL.$PORT1"
if [ -n "$(run_user)" ]; then
	want_uid="$(id -u "$(run_user | cut -d: -f1)")"
else
	want_uid="$(id -u)"
fi
is "$(stat -c %u "/proc/$PID" 2>/dev/null)" "$want_uid" "the postmaster (pid $PID) runs as uid $want_uid, not root"
check "... and so does initdb's data directory" eval '[ "$(stat -c %u "$D/data")" = "$want_uid" ] && [ "$want_uid" != 0 ]'
is "$(q "$URL" 'SELECT current_database()')" connect_fcgi "psql connects through the URI, to the database connect_fcgi"
is "$(q "$URL" "SELECT quote_literal(current_setting('listen_addresses'))")" "''" "no TCP listener (listen_addresses '')"
is "$(q "$URL" "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")" UTF8 \
	"the database is UTF8"
is "$("$PG_SERVER" url "$D" 2>/dev/null)" "$URL" "url prints the same URI again"
is "$("$PG_SERVER" url "$D" 2>/dev/null | wc -l)" 1 "... on one line"
is "$("$PG_SERVER" status "$D" 2>/dev/null)" "running $PID $PORT1" "status: running, its pid and port"
if "$PG_SERVER" start "$D" >"$IT_TMP/second.out" 2>"$IT_TMP/second.err"; then
	not_ok "a second start of a running DIR fails"
else
	ok "a second start of a running DIR fails"
fi
is "$(cat "$IT_TMP/second.out")" "" "... printing no URI"
check "... and the first one still answers" eval '[ "$(q "$URL" "SELECT 1")" = 1 ]'

# ---------------------------------------------------------------- two at once
IT_PG_DIR[b]="$IT_TMP/pg/b" IT_PG_PID[b]='' IT_PG_DIR[c]="$IT_TMP/pg/c" IT_PG_PID[c]=''
"$PG_SERVER" start "$IT_TMP/pg/b" >"$IT_TMP/b.url" 2>>"$IT_TMP/logs/pg-server.log" &
pb=$!
"$PG_SERVER" start "$IT_TMP/pg/c" >"$IT_TMP/c.url" 2>>"$IT_TMP/logs/pg-server.log" &
pc=$!
wait "$pb"; rb=$?
wait "$pc"; rc=$?
is "$rb $rc" "0 0" "two servers started at once both start"
UB="$(cat "$IT_TMP/b.url")" UC="$(cat "$IT_TMP/c.url")"
IT_PG_PID[b]="$("$PG_SERVER" pid "$IT_TMP/pg/b" 2>/dev/null)"
IT_PG_PID[c]="$("$PG_SERVER" pid "$IT_TMP/pg/c" 2>/dev/null)"
pb="$(port_of "$UB")" pc="$(port_of "$UC")"
check "... on two ports ($pb, $pc), neither the first server's" \
	eval '[ -n "$pb" ] && [ -n "$pc" ] && [ "$pb" != "$pc" ] && [ "$pb" != "$PORT1" ] && [ "$pc" != "$PORT1" ]'
is "$(q "$UB" 'SELECT 1'),$(q "$UC" 'SELECT 1')" "1,1" "... and both answer"

# ---------------------------------------------------------------- stop, restart
q "$URL" 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$across a restart$$)' >/dev/null
kids="$(descendants "$PID")"
check "the server has children to stop ($(echo $kids | wc -w))" test -n "$kids"
check "stop succeeds" "$PG_SERVER" stop "$D"
left=
for p in $PID $kids; do alive "$p" && left="$left $p"; done
is "$left$(procs_in "$D/data" | tr '\n' ' ')" "" "stop leaves no postgres process of DIR (the postmaster, its children, nothing working in its data)"
"$PG_SERVER" status "$D" >/dev/null 2>&1
is "$?" 3 "status: stopped (3)"
check "url fails when it is stopped" eval '! "$PG_SERVER" url "$D" >/dev/null 2>&1'
if pg_start main; then ok "start again"; else not_ok "start again"; fi
is "$(q "$PG_URL" 'SELECT v FROM kept')" "across a restart" "... with the data of the first start"

# ---------------------------------------------------------------- a server that lingers
PIDB="${IT_PG_PID[b]}"
kids="$(descendants "$PIDB")"
kill -STOP "$PIDB"
PG_STOP_TIMEOUT=1 "$PG_SERVER" stop "$IT_TMP/pg/b" 2>"$IT_TMP/linger.err"
left=
for p in $PIDB $kids; do alive "$p" && left="$left $p"; done
is "$left$(procs_in "$IT_TMP/pg/b/data" | tr '\n' ' ')" "" "a postmaster that ignores pg_ctl stop is killed by PID, with its children"
check "... saying so" grep -q "killing PostgreSQL (pid $PIDB)" "$IT_TMP/linger.err"
if pg_start b; then ok "... and DIR starts again (its stale postmaster.pid set aside)"; else not_ok "... and DIR starts again"; fi
check "... and answers" eval '[ "$(q "$PG_URL" "SELECT 1")" = 1 ]'

# ---------------------------------------------------------------- out of reach, too long
P700="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-pg700.XXXXXX")" || exit 99
chmod 0700 "$P700"
trap 'it_cleanup; rm -rf "$P700"' EXIT
if pg_start private "$P700/pg"; then ok "start in a 0700 directory of $(id -un)'s"; else not_ok "start in a 0700 directory of $(id -un)'s"; fi
UP="$PG_URL"
is "$(q "$UP" 'SELECT current_database()')" connect_fcgi "... psql connects through its URI"
if [ -n "$(run_user)" ]; then
	check "... whose socket is in a private directory in /tmp, which DIR/pg-server.dir names" \
		eval '[ -f "$P700/pg/pg-server.dir" ] && [[ "$UP" == "postgresql:///connect_fcgi?host=$(cat "$P700/pg/pg-server.dir")/sock&"* ]]'
	T700="$(cat "$P700/pg/pg-server.dir" 2>/dev/null)"
else
	skip "the relocation to /tmp is for root, whose server runs as another user"
	T700=
fi
is "$("$PG_SERVER" url "$P700/pg" 2>/dev/null)" "$UP" "... url DIR finds it"
PIDP="${IT_PG_PID[private]}"
check "... stop and clean through DIR" pg_stop private
check "... stopped it" eval '! alive "$PIDP"'
check "... and removed the private directory and the pointer" \
	eval '[ ! -e "$P700/pg/pg-server.dir" ] && { [ -z "$T700" ] || [ ! -e "$T700" ]; }'

LONG="$IT_TMP/pg/a-directory-whose-path-is-too-long-for-a-unix-socket-path-of-107-bytes-with-the-socket-name"
if pg_start long "$LONG"; then ok "start in a directory too long for a socket path"; else not_ok "start in a directory too long for a socket path"; fi
is "$(q "$PG_URL" 'SELECT 1')" 1 "... psql connects through its URI"
h="${PG_URL#*host=}" h="${h%%&*}"
check "... its socket path fits in 107 bytes ($h/.s.PGSQL.NNNNN)" [ $((${#h} + 16)) -le 107 ]

# ---------------------------------------------------------------- nothing left
pids="${IT_PG_PID[*]}"
check "every server stops (pg_stop_all)" pg_stop_all
left=
for p in $pids; do alive "$p" && left="$left $p"; done
is "$left" "" "no postmaster is left"
[ "$T_FAILED" -eq 0 ] || it_logs
done_testing
