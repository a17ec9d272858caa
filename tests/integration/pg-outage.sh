#!/bin/bash
# pg-outage.sh: PostgreSQL stopped in the middle of a burst of webhooks (issue 16 items 3, 9):
# a stack (nginx, the pool's programs, `acctl worker`) on one database, two streams of pull
# request webhooks; the server is stopped (pg_ctl stop -m fast) and started again on the same
# port while they run. Every webhook is answered 2xx or 503, never anything else; every 2xx one
# is in the database and handled (one comment and one build status at the fake Bitbucket): none
# acknowledged and lost. While it is down: 503 for webhooks and /healthcheck. After the start,
# the same processes serve again and the worker takes events again, nothing restarted; each
# process said "unavailable" at most once in an outage shorter than a minute. Then the database
# turned read-only under the open connections: 503, and 204 again once writable (TAP).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg-lib.sh"

pg_need
it_setup
pg_root
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"
pg_start main || { not_ok "pg_start"; pg_logs; done_testing; }
it_sim_start || { not_ok "the simulator starts"; pg_logs; done_testing; }
pg_stack 1 worker || { not_ok "the stack starts"; pg_logs; done_testing; }
BASE="${S_BASE[1]}"
CK="outage-$RANDOM"
"$NODE" "$top_srcdir/tests/sim/sim.js" install --app "$BASE" --state "$IT_TMP/sim" --product bitbucket \
    --client-key "$CK" --expect 204 >"$IT_TMP/install.out" 2>&1 || diag "$(cat "$IT_TMP/install.out")"
is "$(send_pr "$BASE" "$CK" 1)" 204 "a webhook before the outage: 204"

PGD="${IT_PG_DIR[main]}"
PGBIN="$("$PG_SERVER" bindir)"
# pgctl ARG...: pg_ctl on the server's data directory, as the server's user
pgctl() { (cd "$PGD" && as_run_user env HOME="$PGD" "$PGBIN/pg_ctl" -D "$PGD/data" "$@" >>"$IT_TMP/logs/pg_ctl.log" 2>&1); }
# programs: the pids of the stack's programs and worker, sorted, with their start times
programs() {
	local p
	for p in "${IT_SOCK_PID[@]}" "${S_WORKER[1]}"; do
		alive "$p" && echo "$p $(cut -d' ' -f22 "/proc/$p/stat" 2>/dev/null)"
	done | sort
}
# stream S: pull requests S001, S002, ... one after another until $IT_TMP/stop exists; "N STATUS"
# lines in $IT_TMP/answers.S
stream() {
	local k=0 n
	while [ ! -e "$IT_TMP/stop" ]; do
		k=$((k + 1))
		n=$(($1 * 1000 + k))
		echo "$n $(send_pr "$BASE" "$CK" "$n")" >>"$IT_TMP/answers.$1"
	done
}
before="$(programs)"
nprog="$(echo "$before" | wc -l)"

# ================================================================ the burst, and the outage in it
streams=()
for s in 1 2; do
	stream "$s" &
	streams+=($!)
done
sleep 2
if pgctl stop -m fast -w -t 30 -s; then ok "PostgreSQL stopped in the middle of the burst (pg_ctl stop -m fast)"; else not_ok "pg_ctl stop"; fi
is "$(send_pr "$BASE" "$CK" 2)" 503 "while it is down, a webhook: 503"
http GET /healthcheck
is "$STATUS $(json "$BODY" 'j.store.reachable')" "503 false" "... /healthcheck: 503, the store unreachable"
sleep 3
if pgctl start -l "$PGD/server.log" -w -t 60 -s; then ok "PostgreSQL started again"; else not_ok "pg_ctl start"; fi
IT_PG_PID[main]="$("$PG_SERVER" pid "$PGD" 2>/dev/null)"
is "$("$PG_SERVER" url "$PGD" 2>/dev/null)" "$PG_URL" "... on the same port (the URI the programs were given)"
end=$((SECONDS + 30)) got=
while [ "$got" != 204 ] && [ "$SECONDS" -lt "$end" ]; do
	got="$(send_pr "$BASE" "$CK" 3)"
	[ "$got" = 204 ] || sleep 0.5
done
is "$got" 204 "service is back by itself: a webhook 204 (within 30 s)"
sleep 2
: >"$IT_TMP/stop"
wait "${streams[@]}"
cat "$IT_TMP"/answers.* >"$IT_TMP/answers"
n="$(wc -l <"$IT_TMP/answers")"
n2="$(grep -c ' 2[0-9][0-9]$' "$IT_TMP/answers")" n503="$(grep -c ' 503$' "$IT_TMP/answers")"
diag "the burst: $n webhooks, $n2 2xx, $n503 503"
is "$(grep -vE ' (2[0-9][0-9]|503)$' "$IT_TMP/answers")" "" "every webhook of the burst was answered 2xx or 503, nothing else"
check "... 503s while PostgreSQL was down ($n503)" test "$n503" -gt 0
check "... 2xx before and after ($n2)" eval '[ "$(head -n 1 "$IT_TMP/answers.1" | cut -d" " -f2)" = 204 ] && [ "$(tail -n 1 "$IT_TMP/answers.1" | cut -d" " -f2)" = 204 ]'

# ================================================================ nothing acknowledged lost
end=$((SECONDS + 60))
while [ "$(q 'SELECT count(*) FROM ac_inbox')" != 0 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.5; done
is "$(q 'SELECT count(*) FROM ac_inbox'),$(q 'SELECT count(*) FROM ac_dead')" "0,0" \
    "the worker resumed: the inbox empty, no dead letter"
acked="$(awk '$2 ~ /^2/ { print $1 }' "$IT_TMP/answers" | tr '\n' ' ')"
got="$(it_sim_js "'$acked 1 3'.trim().split(/ +/).filter((n) => {
	const h = Number(n).toString(16).padStart(40, '0');
	const c = r.filter((x) => x.method === 'POST' && x.path.endsWith('/pullrequests/' + n + '/comments')).length;
	const st = r.filter((x) => x.method === 'POST' && x.path.includes(h) && /statuses/.test(x.path)).length;
	return c !== 1 || st !== 1;
}).join(' ')")"
is "$got" "" "every webhook answered 2xx ($n2 of the burst, and those before and after) was handled once (a comment, a build status): none lost"
after="$(programs)"
is "$after" "$before" "the same $nprog processes (programs and worker, pids and start times) before and after: none restarted"
w="$(grep -c 'PostgreSQL unavailable' "${S_DIR[1]}/logs/worker.log")"
check "the worker said \"unavailable\" at most once ($w) in an outage under a minute" test "$w" -le 1
nweb="$(grep -c "run/webhook\.[0-9]*\.sock" <<<"$(printf '%s\n' "${!IT_SOCK_PID[@]}")")"
l="$(grep -c 'PostgreSQL unavailable' "${S_DIR[1]}/logs/webhook.log")"
check "the $nweb webhook processes said it $l times in all, at most once each, for $n503 503s" test "$l" -le "$nweb"
check "... and that it is available again" grep -q 'PostgreSQL available again' "${S_DIR[1]}/logs/webhook.log"

# ================================================================ read-only
# a database that turned read-only under open connections (a standby after a failover, or
# default_transaction_read_only): 503, never a 2xx, and back without a restart when it is writable
rw() {
	"$PSQL" -X -q -tA -d "$PG_URL" -c "SET default_transaction_read_only = off" \
	    -c "ALTER SYSTEM $1" -c "SELECT pg_reload_conf()" >/dev/null 2>>"$IT_TMP/logs/psql.log"
}
rw "SET default_transaction_read_only = on"
sleep 1
is "$(send_pr "$BASE" "$CK" 4)" 503 "the database read-only (default_transaction_read_only, reloaded): a webhook 503"
rw "RESET default_transaction_read_only"
end=$((SECONDS + 30)) got=
while [ "$got" != 204 ] && [ "$SECONDS" -lt "$end" ]; do
	got="$(send_pr "$BASE" "$CK" 5)"
	[ "$got" = 204 ] || sleep 0.5
done
is "$got" 204 "writable again: 204, with no restart"
end=$((SECONDS + 30))
while [ "$(effects 5)" != "1 1" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.3; done
is "$(effects 5)" "1 1" "... and the worker handled it"

# ================================================================ connections ended by the server
# (pg_terminate_backend, as an idle timeout, a pooler or an operator does): the next request
# finds its connection gone before using it, and reconnects at once: no 503 for it
k="$(q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")"
check "every connection of the programs and the worker ended by the server ($k)" test "${k:-0}" -gt 0
sleep 0.5
is "$(send_pr "$BASE" "$CK" 6)" 204 "the next webhook: 204 (the dead connection replaced before use, not a 503)"
http GET /healthcheck
is "$STATUS" 200 "... /healthcheck: 200"
end=$((SECONDS + 30))
while [ "$(effects 6)" != "1 1" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.3; done
is "$(effects 6)" "1 1" "... and the worker, its connections ended too, handled it"
is "$(programs)" "$before" "the same processes still"

[ "$T_FAILED" -eq 0 ] || pg_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
