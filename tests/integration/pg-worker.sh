#!/bin/bash
# pg-worker.sh: `acctl worker` on PostgreSQL (issue 16 item 4). Idle, it asks the database about
# once a second (its transactions counted by pg_stat_database, which a worker polling every
# 50 ms would multiply by 20); an event committed while it waits is taken at once, woken by
# LISTEN/NOTIFY, not at its next look (TAP).
. "$top_srcdir/tests/integration/lib.sh"

pg_need
it_setup
pg_start main || { not_ok "pg_start"; done_testing; }
PSQL="$("$PG_SERVER" bindir)/psql"
q() { "$PSQL" -X -q -tA -d "$PG_URL" -c "$1" 2>>"$IT_TMP/logs/psql.log"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
xacts() { q "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"; }

BASE=http://127.0.0.1:9 SIM_URL=http://127.0.0.1:9
it_app_env bitbucket daemon
mkdir -p "$AC_DATA_DIR"
[ -z "$(run_user)" ] || chown "$(run_user)" "$AC_DATA_DIR"
it_worker
WPID=$!
sleep 2
if alive "$WPID"; then
	ok "the worker runs on PostgreSQL (pid $WPID)"
else
	not_ok "the worker runs on PostgreSQL"
	diag "$(tail -n 20 "$IT_TMP/logs/worker.log")"
	done_testing
fi

# idle: the server's counters are flushed by each backend at most once a second, and within
# 10 s of going idle: a 20 s window, its edges blurred by that much
before="$(xacts)"
sleep 20
sleep 11
after="$(xacts)"
idle=$((after - before))
diag "idle 31 s (20 s + 11 s of flush lag): $idle transactions on the database"
check "an idle worker asks the database about once a second ($idle transactions in 31 s, at most 45)" \
	test "$idle" -le 45

# wake: an event committed with its NOTIFY, as the intake does; it has started once the worker
# leased it (whatever its handler then says of a tenant that does not exist). A worker that only
# looked each second would take 500 ms on average.
fast=0 worst=0
for i in 1 2 3 4 5; do
	sleep 0.3$i
	t0="$(ms)"
	q "INSERT INTO ac_inbox (client_key, event_key, body, received_at, next_at) VALUES
	   ('no-such-tenant-$i', 'repo:push', '\\x7b7d', floor(extract(epoch FROM now()))::bigint,
	    floor(extract(epoch FROM now()))::bigint); NOTIFY ac_inbox" >/dev/null
	n=1
	while [ "$n" != 0 ] && [ $(($(ms) - t0)) -lt 10000 ]; do n="$(q 'SELECT count(*) FROM ac_inbox WHERE lease_until = 0 AND attempts = 0')"; done
	dt=$(($(ms) - t0))
	diag "event $i started $dt ms after its insert began"
	# gone, so that its retries (until the tenant is known to be missing) do not come first next time
	q "DELETE FROM ac_inbox" >/dev/null
	[ "$dt" -lt 250 ] && fast=$((fast + 1))
	[ "$dt" -gt "$worst" ] && worst=$dt
done
check "new events start at once: $fast of 5 within 250 ms of the insert (polling each second: ~1 in 4)" \
	test "$fast" -ge 4
check "... and none waited for the next look (worst $worst ms)" test "$worst" -lt 1000
check "the worker still runs" alive "$WPID"
it_stop_app
done_testing
