#!/bin/bash
# pg-failover.sh: a worker that stops in the middle of an event on one host, and the other host's
# worker that finishes it (issue 16 item 9), on PostgreSQL with two stacks. The simulator's fake
# Bitbucket holds the answer to the handler's build status (control "hold"), so the worker is
# inside its handler, holding the event's lease (renewed by it meanwhile), when it is stopped:
#   - SIGKILL: the lease names a process that is gone on this host; the other worker takes the
#     event over at once (ac_lease_owner_dead) and finishes it;
#   - SIGSTOP: the holder's pid still runs, as a worker on another host would for all anyone can
#     prove; no renewal comes (its thread is stopped too), and the other takes the event only once
#     the lease (30 s) has expired, within a minute. Woken again, the stopped one finds its lease
#     lost and settles nothing.
# Either way: one comment (the handler's marker), the event gone from the inbox, no dead letter.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg-lib.sh"

pg_need
it_setup
pg_root
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"
pg_start main || { not_ok "pg_start"; pg_logs; done_testing; }
it_sim_start || { not_ok "the simulator starts"; pg_logs; done_testing; }
if pg_stack 1 worker && pg_stack 2; then
	ok "two stacks on one database, a worker on stack 1 (pid ${S_WORKER[1]})"
else
	not_ok "two stacks start"
	pg_logs
	done_testing
fi
CK="failover-$RANDOM"
"$NODE" "$top_srcdir/tests/sim/sim.js" install --app "${S_BASE[1]}" --state "$IT_TMP/sim" --product bitbucket \
    --client-key "$CK" --expect 204 >"$IT_TMP/install.out" 2>&1 || diag "$(cat "$IT_TMP/install.out")"

# hold PR: the first build status of pull request PR stored at once and answered 18 s later
# (under the client's 20 s timeout)
hold() {
	curl -s -o /dev/null --max-time 10 -X POST -H 'Content-Type: application/json' \
	    -d "{\"hold\":[{\"path\":\"$(pr_hash "$1")/statuses\",\"method\":\"POST\",\"ms\":18000,\"times\":1}]}" \
	    "$SIM_URL/_sim/control"
}
# until_held PR: waits (30 s at most) until the held status of PR has reached the simulator
until_held() {
	local end=$((SECONDS + 30))
	while [ "$(effects "$1")" != "1 1" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.2; done
	[ "$(effects "$1")" = "1 1" ]
}
# until_empty SECONDS: waits until the inbox is empty; prints the seconds waited
until_empty() {
	local t0=$SECONDS end=$((SECONDS + $1))
	while [ "$(q 'SELECT count(*) FROM ac_inbox')" != 0 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.2; done
	echo $((SECONDS - t0))
	[ "$(q 'SELECT count(*) FROM ac_inbox')" = 0 ]
}

# ================================================================ SIGKILL
A="${S_WORKER[1]}"
hold 101
is "$(send_pr "${S_BASE[2]}" "$CK" 101)" 204 "pull request 101 accepted through stack 2"
check "worker A (stack 1) is inside the handler, its build status held by the product" until_held 101
is "$(q 'SELECT owner_pid, lease_until > extract(epoch FROM now()) FROM ac_inbox')" "$A|t" \
    "the event's lease is A's (pid $A), unexpired"
L="$(q 'SELECT lease_until FROM ac_inbox')"
end=$((SECONDS + 15))
while [ "$(q 'SELECT lease_until FROM ac_inbox')" = "$L" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.2; done
L2="$(q 'SELECT lease_until FROM ac_inbox')"
check "... renewed while its handler waits (lease end $L, then $L2)" test "${L2:-0}" -gt "$L"
"$ACCTL" inbox list >"$IT_TMP/inbox-list.txt" 2>&1
check "acctl inbox list names the holder" grep -q "pid $A" "$IT_TMP/inbox-list.txt" || diag "$(cat "$IT_TMP/inbox-list.txt")"
kill -KILL "$A"
wait "$A" 2>/dev/null # reaped: a zombie's pid would still be there
pg_worker 2
B="${S_WORKER[2]}"
if waited="$(until_empty 60)"; then
	ok "worker A SIGKILLed: worker B (stack 2, pid $B) finished its event ($waited s after it started)"
else
	not_ok "worker A SIGKILLed: worker B (stack 2, pid $B) finished its event within a minute"
fi
check "... taking over the lease of a process it knows is gone" \
	grep -q "taking over the lease of .* pid $A .*its process is gone" "${S_DIR[2]}/logs/worker.log"
is "$(effects 101)" "1 2" "... one comment in all (the handler found A's), the build status posted again by B"

# ================================================================ SIGSTOP (another host's worker)
pg_worker 1
C="${S_WORKER[1]}"
sleep 1
hold 102
is "$(send_pr "${S_BASE[1]}" "$CK" 102)" 204 "pull request 102 accepted through stack 1"
check "a worker is inside the handler, its build status held by the product" until_held 102
X="$(q 'SELECT owner_pid FROM ac_inbox')"
case "$X" in
"$B") Y="$C" ;;
"$C") Y="$B" ;;
*) Y= ;;
esac
check "the lease is one of the two workers' (pid $X of $B, $C)" test -n "$Y"
kill -STOP "$X"
sleep 1
L="$(q 'SELECT lease_until FROM ac_inbox')"
diag "worker $X stopped, its lease ends at $L (now $(date +%s))"
if waited="$(until_empty 60)"; then
	ok "worker $X stopped (alive, as on another host): worker $Y finished its event within a minute ($waited s)"
else
	not_ok "worker $X stopped: worker $Y finished its event within a minute"
fi
T="$(date +%s)"
check "... not before the lease expired (done at $T, the lease ended at $L)" test "$T" -ge "$L"
check "... taking over an expired lease" \
	eval 'grep -hq "taking over the lease of .* pid $X .*expired" "${S_DIR[1]}/logs/worker.log" "${S_DIR[2]}/logs/worker.log"'
kill -CONT "$X"
# the held answer came while it was stopped: it settles, or tries to, at once
end=$((SECONDS + 20))
while ! grep -hqE "event [0-9]+ was settled by the worker that took its lease over|its lease expired and is held by" \
    "${S_DIR[1]}/logs/worker.log" "${S_DIR[2]}/logs/worker.log" && [ "$SECONDS" -lt "$end" ]; do
	sleep 0.3
done
check "woken, worker $X finds its lease lost and settles nothing" \
	grep -hqE "was settled by the worker that took its lease over|its lease expired and is held by" \
	"${S_DIR[1]}/logs/worker.log" "${S_DIR[2]}/logs/worker.log"
is "$(q 'SELECT count(*) FROM ac_inbox'),$(q 'SELECT count(*) FROM ac_dead')" "0,0" "the inbox is empty, no dead letter"
is "$(effects 102)" "1 2" "one comment on pull request 102; its build status posted by both"
check "all the workers but A still run" eval 'alive "$B" && alive "$C"'

[ "$T_FAILED" -eq 0 ] || pg_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
