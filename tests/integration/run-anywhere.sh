#!/bin/bash
# run-anywhere.sh: scripts/run, started as root in a checkout that only root can enter (a clone
# in /root, mode 0700), serves the descriptor with its programs running as the unprivileged
# user from a staged copy in /var/lib/connect-fcgi-run/, says where, and keeps the data there
# from one run to the next (TAP). Root only.
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "not root: the programs run as the caller"
[ -x "$top_builddir/src/fcgi/descriptor.fcgi" ] && [ -x "$top_builddir/src/fcgi/webhook.fcgi" ] ||
	skip_all "the programs are not built"
[ -x "$NGINX" ] && [ -x "$SPAWN_FCGI" ] || skip_all "nginx or spawn-fcgi not found"

D="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-private.XXXXXX")" || exit 99
chmod 0700 "$D"
C="$D/clone"
UG="$(run_user)"
RUN_PID=
VAR=
trap '[ -z "$RUN_PID" ] || stop_pids "$RUN_PID" 2>/dev/null; rm -rf "$D"; [ -z "$VAR" ] || rm -rf "$VAR"' EXIT

# what scripts/run reads of a checkout, and the programs where a build puts them
mkdir -p "$C/src/lib" "$C/build/src/fcgi" "$C/build/src/cli"
cp -R "$top_srcdir/scripts" "$top_srcdir/nginx" "$top_srcdir/descriptor" "$C/"
mkdir -p "$C/src/lib/base" && cp "$top_srcdir/src/lib/base/conf.c" "$C/src/lib/base/"
cp "$top_builddir"/src/fcgi/*.fcgi "$C/build/src/fcgi/"
cp "$top_builddir/src/cli/acctl" "$C/build/src/cli/"
check "the checkout is out of the programs' user's reach" eval '! as_run_user test -x "$C"'

# run_once: scripts/run from the private checkout, until it serves; sets RUN_PID
run_once() {
	: >"$D/out"
	(exec env -u AC_CONFIG -u AC_DATA_DIR -u AC_TEMPLATE_DIR -u VARDIR -u BUILDDIR PORT="$port" NO_BUILD=1 \
	    "$C/scripts/run" >"$D/out" 2>"$D/err") &
	RUN_PID=$!
	for _ in $(seq 150); do
		grep -q 'serving (pool)' "$D/err" 2>/dev/null && return 0
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
stop_run() {
	kill -TERM "$RUN_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$RUN_PID" 2>/dev/null
	RUN_PID=
}

port="$(it_free_port)"
hash="$(printf '%s' "$C" | sha256sum | cut -c1-12)"
VAR="/var/lib/connect-fcgi-run/clone-$hash"
if run_once; then ok "scripts/run serves from a checkout in a 0700 directory"; else
	not_ok "scripts/run serves from a checkout in a 0700 directory"
	diag "$(tail -n 20 "$D/err")"
	done_testing
fi
http_code="$(curl -s -o "$D/desc.json" -w '%{http_code}' "http://127.0.0.1:$port/atlassian-connect.json")"
is "$http_code" 200 "the descriptor is served"
check "... with its base URL" grep -q "\"http://127.0.0.1:$port\"" "$D/desc.json"
check "the serving line names where the data and the programs are ($VAR)" \
	grep -q "data in $VAR/data, programs run from $VAR/stage" "$D/err"
is "$(stat -c '%a %U' "$VAR" "$VAR/data" 2>/dev/null | tr '\n' ' ')" "755 root 700 ${UG%%:*} " \
	"$VAR is root's and world-searchable, its data 0700 for the programs' user"
n=0
bad=
for p in $(descendants "$RUN_PID"); do
	exe="$(readlink "/proc/$p/exe" 2>/dev/null)" || continue
	case "$exe" in
	*.fcgi | */acctl)
		n=$((n + 1))
		[ "$(stat -c %u "/proc/$p")" != 0 ] || bad="$bad root:$exe"
		case "$exe" in "$VAR"/stage/*) ;; *) bad="$bad outside:$exe" ;; esac
		;;
	esac
done
is "$bad" "" "the programs ($n processes) run from the staged copies, none as root"
check "the help says where things live" eval '"$C/scripts/run" --help | grep -q /var/lib/connect-fcgi-run/'
ino="$(stat -c %i "$VAR/data/data.mdb" 2>/dev/null)"
check "the store is in $VAR/data" [ -n "$ino" ]
stop_run

# again: the same place, the same data
if run_once; then ok "scripts/run serves again"; else not_ok "scripts/run serves again"; diag "$(tail -n 20 "$D/err")"; fi
is "$(stat -c %i "$VAR/data/data.mdb" 2>/dev/null)" "$ino" "the data persists from one run to the next"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/atlassian-connect.json")" 200 \
	"the descriptor is served again"
stop_run
left=
for p in $(pgrep -f "$VAR/stage/" 2>/dev/null); do alive "$p" && left="$left $p"; done
is "$left" "" "SIGTERM stops every process it started"
done_testing
