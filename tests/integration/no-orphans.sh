#!/bin/bash
# no-orphans.sh: nothing that scripts/run starts outlives it, and no program spins or lingers
# on a listening socket that no longer accepts (TAP). Part 1: a webhook supervisor's serving
# process and then the supervisor are SIGKILLed (scripts/run starts it again), then scripts/run
# itself is SIGKILLed: every program and the worker exit by themselves. Part 2: the same, then
# SIGTERM: every process is gone. Part 3: a listening socket shut down under webhook.fcgi (alone,
# and under its supervisor): each exits with a log line instead of accepting again for ever.
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
it_setup
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] && [ -x "$ACCTL" ] || skip_all "webhook.fcgi or acctl not built"

RUN_PID=
# ours: "pid stat exe" of every process of this test's stack: its program, command line or
# environment (AC_DATA_DIR, whether the programs run from the build or staged) names $IT_TMP
ours() {
	local p exe
	for p in /proc/[0-9]*; do
		p="${p#/proc/}"
		[ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] || continue
		exe="$(readlink "/proc/$p/exe" 2>/dev/null)" || continue
		case "$exe $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
		*"$IT_TMP"/*) ;;
		*) grep -qzF "AC_DATA_DIR=$IT_TMP/" "/proc/$p/environ" 2>/dev/null || continue ;;
		esac
		alive "$p" && echo "$p $(sed 's/^.*) \(.\).*/\1/' "/proc/$p/stat") $exe"
	done
}
# programs: the fcgi programs and the worker among them (nginx, root, is scripts/run's to stop)
programs() { ours | grep -v ' /usr/sbin/nginx$' | grep -v 'nginx'; }
# gone_within SECONDS: until no program is left; prints what is left after that
gone_within() {
	local end=$((SECONDS + $1)) left
	while :; do
		left="$(programs)"
		[ -z "$left" ] && return 0
		[ "$SECONDS" -lt "$end" ] || { echo "$left"; return 1; }
		sleep 0.2
	done
}
stop_leftovers() {
	local p f
	for f in "$IT_TMP"/var/nginx/*/nginx.pid; do
		[ -s "$f" ] && stop_pids "$(cat "$f")" 2>/dev/null
	done
	for p in $(ours | cut -d' ' -f1); do kill -KILL "$p" 2>/dev/null; done
}
trap '[ -z "$RUN_PID" ] || kill -KILL "$RUN_PID" 2>/dev/null; stop_leftovers; it_cleanup' EXIT

# run_once: scripts/run until it serves; sets RUN_PID
run_once() {
	it_port || return 1
	PORT="$PORT" NO_BUILD=1 BUILDDIR="$top_builddir" VARDIR="$IT_TMP/var" AC_DATA_DIR="$IT_TMP/var/data" \
		AC_BASE_URL="$BASE" AC_WORKER=daemon "$top_srcdir/scripts/run" >>"$IT_TMP/logs/run.log" 2>&1 &
	RUN_PID=$!
	for _ in $(seq 150); do
		grep -q "serving (pool) at $BASE" "$IT_TMP/logs/run.log" && return 0
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	diag "$(tail -n 30 "$IT_TMP/logs/run.log")"
	return 1
}
# a webhook supervisor that scripts/run started, and its serving process
webhook_pair() {
	local p
	for p in $(cat /proc/"$RUN_PID"/task/*/children 2>/dev/null); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = webhook.fcgi ] || continue
		SUP="$p"
		CHILD="$(cat /proc/"$p"/task/*/children 2>/dev/null | awk '{ print $1 }')"
		[ -n "$CHILD" ] && return 0
	done
	return 1
}
# kill_pair: SIGKILL a serving process, then its supervisor while it starts another; waits for
# scripts/run to log that it started the supervisor again
kill_pair() {
	local n0
	webhook_pair || return 1
	n0="$(grep -c 'started again' "$IT_TMP/logs/run.log")"
	kill -KILL "$CHILD" "$SUP"
	for _ in $(seq 100); do
		[ "$(grep -c 'started again' "$IT_TMP/logs/run.log")" -gt "$n0" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- part 1: scripts/run SIGKILLed
if run_once; then ok "scripts/run serves"; else not_ok "scripts/run serves"; done_testing; fi
check "a webhook serving process and its supervisor SIGKILLed: scripts/run starts the supervisor again" kill_pair
kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
RUN_PID=
if left="$(gone_within 10)"; then
	ok "scripts/run SIGKILLed: every program and the worker it started exit by themselves"
else
	not_ok "scripts/run SIGKILLed: every program and the worker it started exit by themselves"
	diag "left: $left"
fi
stop_leftovers # its nginx (nothing tells it)
sleep 0.5

# ---- part 2: scripts/run stopped with SIGTERM right after a restart
if run_once; then ok "scripts/run serves again"; else not_ok "scripts/run serves again"; done_testing; fi
check "a webhook serving process and its supervisor SIGKILLed again" kill_pair
kill -TERM "$RUN_PID"
for _ in $(seq 150); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$RUN_PID" 2>/dev/null; then not_ok "SIGTERM stops scripts/run"; else ok "SIGTERM stops scripts/run"; fi
wait "$RUN_PID" 2>/dev/null
RUN_PID=
left="$(ours)"
is "$left" "" "every process it started is gone, nginx too"
stop_leftovers

# ---- part 3: a listening socket that no longer accepts
it_stage "$top_builddir/src/fcgi/webhook.fcgi" webhook.fcgi
# socket_gone PROCESSES: webhook.fcgi on a listening socket (AC_PROCESSES=PROCESSES), which is shut
# down once it serves; prints its exit status, or "still running" after 10 s (then kills it)
socket_gone() {
	local prefix=()
	[ -z "$IT_UG" ] || prefix=(setpriv --reuid="${IT_UG%%:*}" --regid="${IT_UG#*:}" --clear-groups --)
	AC_PROCESSES="$1" AC_DATA_DIR="$IT_TMP/data" AC_BASE_URL=http://127.0.0.1:1 \
		python3 - "$IT_TMP/run/gone.sock" "${prefix[@]}" "$IT_TMP/libexec/webhook.fcgi" \
		2>>"$IT_TMP/logs/gone-$1.log" <<'EOF'
import os, socket, subprocess, sys, time
path, argv = sys.argv[1], sys.argv[2:]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(5)
p = subprocess.Popen(argv, stdin=s.fileno())
# serving: the program (or its serving processes) blocked in accept
for _ in range(100):
    time.sleep(0.1)
    if p.poll() is not None:
        break
    kids = open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()
    if os.environ["AC_PROCESSES"] == "0" or kids:
        break
time.sleep(0.3)
s.shutdown(socket.SHUT_RDWR)
try:
    print(p.wait(timeout=10))
except subprocess.TimeoutExpired:
    print("still running")
    p.kill()
EOF
}
if command -v python3 >/dev/null 2>&1; then
	is "$(socket_gone 0)" 1 "webhook.fcgi alone: its socket shut down, it exits with status 1"
	check "... with a log line" grep -q 'accept on the listening socket (fd 0): .*; exiting' "$IT_TMP/logs/gone-0.log"
	is "$(socket_gone 2)" 1 "webhook.fcgi under its supervisor (AC_PROCESSES=2): its socket shut down, the supervisor exits with status 1"
	check "... with a log line, not a replacement started again and again" \
		grep -q 'the listening socket no longer accepts connections' "$IT_TMP/logs/gone-2.log"
	left="$(programs)"
	is "$left" "" "no serving process is left"
	stop_leftovers
else
	skip "python3 not found: no socket shut down under webhook.fcgi"
fi

done_testing
