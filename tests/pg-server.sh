#!/bin/bash
# tests/pg-server.sh: a private PostgreSQL server for scripts/run and the tests, never the
# system's cluster or service (no pg_ctlcluster, no systemctl).
#
#   pg-server.sh start DIR    initialises DIR on first use (initdb: trust on the unix socket only,
#                             UTF8, no TCP), starts the server on a port chosen now (it names the
#                             socket file DIR/sock/.s.PGSQL.PORT) and prints ONE line on standard
#                             output, the libpq URI of its database connect_fcgi:
#                             postgresql:///connect_fcgi?host=DIR/sock&port=PORT&user=USER
#   pg-server.sh url DIR      prints that URI again (fails when the server is not running)
#   pg-server.sh status DIR   "running PID PORT" (status 0) or "stopped" (status 3)
#   pg-server.sh pid DIR      the postmaster's PID (fails when not running)
#   pg-server.sh stop DIR     pg_ctl stop -m fast; what lingers is killed by PID
#   pg-server.sh clean DIR    stop, then remove the server's files (DIR itself is left)
#   pg-server.sh bindir       where the server's programs are (fails when there is no server)
#
# As root, initdb and the server run as the programs' user (scripts/lib.sh run_user, RUN_AS,
# default nobody:nogroup): initdb refuses root. When that user cannot reach DIR (a clone in
# /root, mode 0700), or when DIR is too long for a unix socket path, the server's files go to a
# private directory made by mktemp in /tmp, and DIR/pg-server.dir names it, so that url, stop and
# clean find it. A second start of a running DIR fails. Messages go to standard error.
# Environment: PG_BINDIR (the server's programs; default the newest /usr/lib/postgresql/*/bin),
# PG_STOP_TIMEOUT (seconds pg_ctl waits before the kill by PID; default 30), RUN_AS.
# Started with sh (the unit tests' popen), it runs itself again with bash before reading further.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

ME="${BASH_SOURCE[0]}"
SRC="$(cd "$(dirname "$ME")/.." && pwd)" || exit 1
# shellcheck source=scripts/lib.sh
. "$SRC/scripts/lib.sh"

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$ME" >&2
	exit 2
}

# bindir: where initdb, pg_ctl and postgres are: PG_BINDIR, else the newest Debian version
# that has a server, else pg_config's (a client's bindir, where a source install keeps all).
bindir() {
	local d
	if [ -n "${PG_BINDIR:-}" ]; then
		printf '%s\n' "$PG_BINDIR"
		return 0
	fi
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { printf '%s\n' "$d"; return 0; }
	done
	d="$(pg_config --bindir 2>/dev/null)" && [ -x "$d/initdb" ] && { printf '%s\n' "$d"; return 0; }
	return 1
}

# base DIR: where the server's files for DIR are (DIR, or the directory DIR/pg-server.dir names).
base() {
	local p="$1/pg-server.dir" b
	if [ -f "$p" ]; then
		b="$(cat "$p")"
		case "$b" in /*) printf '%s\n' "$b"; return 0 ;; esac
		die "$p does not name a directory"
	fi
	printf '%s\n' "$1"
}

# run CMD...: CMD as the server's user (run_user when root), from the base directory: the
# caller's working directory may be out of its reach (initdb and postgres look it up).
run() {
	(cd "$B" && as_run_user env -u PGDATA -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE \
	    -u PGSERVICE -u PGPASSFILE HOME="$B" "$@")
}

# postmaster_pid: the PID of the server of $B/data when it runs (postmaster.pid's first line,
# checked: a postgres process whose working directory is the data directory).
postmaster_pid() {
	local pid
	[ -f "$B/data/postmaster.pid" ] || return 1
	pid="$(head -n 1 "$B/data/postmaster.pid" 2>/dev/null)"
	case "$pid" in '' | *[!0-9]*) return 1 ;; esac
	alive "$pid" || return 1
	[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(cd "$B/data" && pwd -P)" ] || return 1
	printf '%s\n' "$pid"
}

# uri_escape STRING: percent-encodes all but [A-Za-z0-9/._~-].
uri_escape() {
	local s="$1" out="" c i
	for ((i = 0; i < ${#s}; i++)); do
		c="${s:i:1}"
		case "$c" in
		[A-Za-z0-9/._~-]) out="$out$c" ;;
		*) out="$out$(printf '%%%02X' "'$c")" ;;
		esac
	done
	printf '%s\n' "$out"
}

# url: the URI of the running server (its port in postmaster.pid, line 4).
url() {
	local port user
	port="$(sed -n 4p "$B/data/postmaster.pid" 2>/dev/null)"
	user="$(cat "$B/user" 2>/dev/null)"
	[ -n "$port" ] && [ -n "$user" ] || return 1
	printf 'postgresql:///connect_fcgi?host=%s&port=%s&user=%s\n' \
	    "$(uri_escape "$B/sock")" "$port" "$(uri_escape "$user")"
}

# free_port: a port no PostgreSQL socket on this host and no TCP listener on loopback uses
# (the server listens on no TCP port: the number names its socket and its shared memory key).
free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		grep -q "\\.s\\.PGSQL\\.$port\$" /proc/net/unix 2>/dev/null && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		echo "$port"
		return 0
	done
	return 1
}

# sq STRING: STRING as a postgresql.conf string, single quotes doubled.
sq() { printf "'%s'" "${1//\'/\'\'}"; }

start() {
	local dir="$1" bin ug user port pid tmp i
	bin="$(bindir)" || die "no PostgreSQL server found (Debian: apt-get install postgresql; or set PG_BINDIR)"
	mkdir -p "$dir" || die "cannot create $dir"
	dir="$(cd "$dir" && pwd)" || exit 1
	B="$(base "$dir")"
	ug="$(run_user)"
	if [ "$B" = "$dir" ] && [ ! -f "$dir/data/PG_VERSION" ] &&
	    { [ "${#dir}" -gt 80 ] || ! reachable_by_run_user "$dir" 2>/dev/null; }; then
		# Out of the server's user's reach, or a socket path over 107 bytes: a private place.
		tmp="$(mktemp -d /tmp/connect-fcgi-pg.XXXXXX)" || die "mktemp failed"
		chmod 0755 "$tmp"
		printf '%s\n' "$tmp" >"$dir/pg-server.dir" || die "cannot write $dir/pg-server.dir"
		B="$tmp"
		say "the server's files are in $B ($dir/pg-server.dir names it)"
	fi
	[ -d "$B" ] || die "$B does not exist (named by $dir/pg-server.dir): remove that file"
	if pid="$(postmaster_pid)"; then
		die "a server already runs in $B (pid $pid): $(url)"
	fi
	# What a server killed (or a host that crashed) left: its PID is no process (or a zombie
	# where nothing reaps), and postgres would take it for a running server.
	if [ -f "$B/data/postmaster.pid" ] && ! alive "$(head -n 1 "$B/data/postmaster.pid")"; then
		rm -f "$B/data/postmaster.pid" "$B"/sock/.s.PGSQL.*
	fi
	if [ ! -f "$B/data/PG_VERSION" ]; then
		rm -rf "$B/data" "$B/sock"
		mkdir -p "$B/data" "$B/sock" || die "cannot create $B/data"
		chmod 0700 "$B/data"
		chmod 0755 "$B/sock"
		: >"$B/server.log"
		[ -z "$ug" ] || chown "$ug" "$B/data" "$B/sock" "$B/server.log" || die "cannot chown $B to $ug"
		user="$(run id -un)" || die "cannot run as ${ug:-$(id -un)} in $B"
		# trust for the unix socket only; there is no host line, and no TCP listener
		run "$bin/initdb" -D "$B/data" -U "$user" -E UTF8 --locale=C \
		    --auth-local=trust --auth-host=reject >"$B/initdb.log" 2>&1 ||
			die "initdb failed: $(tail -n 5 "$B/initdb.log")"
		cat >>"$B/data/postgresql.conf" <<EOF || die "cannot write $B/data/postgresql.conf"

# tests/pg-server.sh: a private server for scripts/run and the tests
listen_addresses = ''
max_connections = 100
shared_buffers = 16MB
unix_socket_permissions = 0777
include_if_exists = 'connect-fcgi-run.conf'
EOF
		printf '%s\n' "$user" >"$B/user"
	fi
	# One start at a time from this script: the port is taken when the socket exists.
	exec 9<"$ME"
	flock 9 || die "cannot lock $ME"
	port="$(free_port)" || die "no free port found"
	{
		echo "# written by tests/pg-server.sh at each start"
		echo "port = $port"
		echo "unix_socket_directories = $(sq "$B/sock")"
	} >"$B/data/connect-fcgi-run.conf" || die "cannot write $B/data/connect-fcgi-run.conf"
	[ -z "$ug" ] || chown "$ug" "$B/data/connect-fcgi-run.conf"
	# (not inherited by the server, whose open descriptor would keep the lock)
	if ! run "$bin/pg_ctl" start -D "$B/data" -l "$B/server.log" -w -t 60 -s >"$B/pg_ctl.log" 2>&1 9<&-; then
		exec 9<&-
		die "the server did not start: $(cat "$B/pg_ctl.log"; tail -n 10 "$B/server.log")"
	fi
	exec 9<&-
	pid="$(postmaster_pid)" || die "the server started but its pid is unknown: $(tail -n 5 "$B/server.log")"
	if ! run "$bin/psql" -X -q -h "$B/sock" -p "$port" -U "$(cat "$B/user")" -d postgres -tA \
	    -c "SELECT 1 FROM pg_database WHERE datname = 'connect_fcgi'" 2>"$B/psql.log" | grep -q 1; then
		run "$bin/createdb" -h "$B/sock" -p "$port" -U "$(cat "$B/user")" -E UTF8 connect_fcgi \
		    2>>"$B/psql.log" || die "createdb connect_fcgi failed: $(cat "$B/psql.log")"
	fi
	for i in 1 2; do url && break; sleep 0.1; done || die "no URI: $B/data/postmaster.pid lacks the port"
	say "started PostgreSQL (pid $pid, port $port) in $B"
}

stop() {
	local bin pid p all
	bin="$(bindir)" || bin=
	pid="$(postmaster_pid)" || return 0
	if [ -n "$bin" ]; then
		run "$bin/pg_ctl" stop -D "$B/data" -m fast -w -t "${PG_STOP_TIMEOUT:-30}" -s \
		    >"$B/pg_ctl.log" 2>&1 || say "pg_ctl stop failed: $(cat "$B/pg_ctl.log")"
	fi
	alive "$pid" || return 0
	# It lingers: the postmaster and its children, by PID.
	all="$(descendants "$pid")"
	say "killing PostgreSQL (pid $pid) and its children by PID"
	# shellcheck disable=SC2086
	kill -KILL "$pid" $all 2>/dev/null
	for _ in $(seq 50); do
		for p in "$pid" $all; do alive "$p" && break; p=; done
		if [ -z "$p" ]; then
			rm -f "$B/data/postmaster.pid" "$B"/sock/.s.PGSQL.*
			return 0
		fi
		sleep 0.1
	done
	die "PostgreSQL (pid $pid) survived SIGKILL"
}

if [ $# -eq 1 ] && [ "$1" = bindir ]; then
	bindir || die "no PostgreSQL server found (Debian: apt-get install postgresql; or set PG_BINDIR)"
	exit
fi
[ $# -eq 2 ] || usage
cmd="$1"
[ -d "$2" ] || [ "$cmd" = start ] || die "no such directory: $2"
case "$cmd" in
start) start "$2" ;;
url | pid | status | stop | clean)
	D="$(cd "$2" && pwd)" || exit 1
	B="$(base "$D")"
	case "$cmd" in
	url) postmaster_pid >/dev/null || die "no server runs in $B"; url ;;
	pid) postmaster_pid || die "no server runs in $B" ;;
	status)
		if pid="$(postmaster_pid)"; then
			echo "running $pid $(sed -n 4p "$B/data/postmaster.pid")"
		else
			echo stopped
			exit 3
		fi
		;;
	stop) stop ;;
	clean)
		stop
		rm -rf "$B/data" "$B/sock" "$B/user" "$B"/*.log
		if [ "$B" != "$D" ]; then rm -rf "$B" && rm -f "$D/pg-server.dir"; fi
		;;
	esac
	;;
*) usage ;;
esac
