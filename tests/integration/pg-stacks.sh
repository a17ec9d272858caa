#!/bin/bash
# pg-stacks.sh: two hosts on one PostgreSQL (issue 16 item 9): two stacks on two ports, each
# with its own programs behind nginx (the shipped pool config), its own data dir and its own
# `acctl worker`. /healthcheck says 200 and `acctl status` exits 0 on both; a tenant installed
# through one; pull request webhooks through both, interleaved and concurrent, some with the same
# delivery id sent to both stacks at once: every one answered 2xx, and every event handled
# exactly once (one comment and one build status each at the simulator's fake Bitbucket), the
# inbox empty, no dead letter, one delivery row per delivery id. Forge events and their retries
# through both stacks: each handled once (TAP).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg-lib.sh"

pg_need
it_setup
pg_root
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"
pg_start main || { not_ok "pg_start"; pg_logs; done_testing; }
it_sim_start || { not_ok "the simulator starts"; pg_logs; done_testing; }
# Forge's side too (the simulator's Forge mode), when its npm packages are there
FORGE=
if [ -d "$top_srcdir/tests/sim/node_modules/jose" ] && [ -x "$top_builddir/src/fcgi/forge-events.fcgi" ]; then
	UUID=$(cat /proc/sys/kernel/random/uuid)
	forge_start "the simulator's Forge mode" "$top_srcdir/tests/sim/sim.js" forge --state "$IT_TMP/forge" \
	    --app "ari:cloud:ecosystem::app/$UUID"
	export AC_FORGE_APP_ID="$UUID" AC_FORGE_JWKS_URL="$FORGE/.well-known/jwks.json"
fi
if pg_stack 1 worker && pg_stack 2 worker; then
	ok "two stacks share one database: ${S_BASE[1]} and ${S_BASE[2]}, workers ${S_WORKER[1]} and ${S_WORKER[2]}"
else
	not_ok "two stacks start"
	pg_logs
	done_testing
fi

# ================================================================ health, on both
run_user_prefix
for n in 1 2; do
	BASE="${S_BASE[$n]}"
	end=$((SECONDS + 20))
	while :; do
		http GET /healthcheck
		got="$STATUS $(json "$BODY" '[j.status, j.store.reachable, j.worker.ok].join(" ")')"
		[ "$got" != "200 ok true true" ] && [ "$SECONDS" -lt "$end" ] || break
		sleep 0.3
	done
	is "$got" "200 ok true true" "stack $n: GET /healthcheck on PostgreSQL: 200, the store reachable, its worker's heartbeat"
	env AC_DATA_DIR="${S_DIR[$n]}/data" "${RUN_PREFIX[@]}" "$ACCTL" status >"$IT_TMP/status-$n.txt" 2>&1
	is "$?" 0 "stack $n: acctl status exits 0 on PostgreSQL"
	check "... the store reachable" grep -q '^store  *reachable' "$IT_TMP/status-$n.txt" ||
		diag "$(cat "$IT_TMP/status-$n.txt")"
done

# ================================================================ install through stack 1
CK="two-stacks-$RANDOM"
if "$NODE" "$top_srcdir/tests/sim/sim.js" install --app "${S_BASE[1]}" --state "$IT_TMP/sim" --product bitbucket \
    --client-key "$CK" --expect 204 >"$IT_TMP/install.out" 2>&1; then
	ok "a tenant installed through stack 1 (204)"
else
	not_ok "a tenant installed through stack 1"
	diag "$(cat "$IT_TMP/install.out")"
fi

# ================================================================ webhooks through both
# N pull requests; pull request i goes to stack 1 + i % 2, and every fourth one, with one
# delivery id, to both stacks at once; six requests in flight at a time
N=24
for i in $(seq "$N"); do pr_payload "$IT_TMP/pr-$i.json" "$i"; done
mkdir -p "$IT_TMP/answers"
t0=$SECONDS
inflight=()
for i in $(seq "$N"); do
	if [ $((i % 4)) -eq 0 ]; then
		id="dup-$i-$RANDOM"
		send_pr "${S_BASE[1]}" "$CK" "$i" "$id" >"$IT_TMP/answers/$i.1" &
		inflight+=($!)
		send_pr "${S_BASE[2]}" "$CK" "$i" "$id" >"$IT_TMP/answers/$i.2" &
		inflight+=($!)
	else
		send_pr "${S_BASE[$((1 + i % 2))]}" "$CK" "$i" >"$IT_TMP/answers/$i.$((1 + i % 2))" &
		inflight+=($!)
	fi
	# (never a bare wait: the servers are children too)
	if [ $((i % 3)) -eq 0 ]; then wait "${inflight[@]}"; inflight=(); fi
done
[ "${#inflight[@]}" -eq 0 ] || wait "${inflight[@]}"
answers="$(cat "$IT_TMP"/answers/* | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' ')"
is "$(cat "$IT_TMP"/answers/* | grep -vc '^2[0-9][0-9]$')" 0 \
    "$((N + N / 4)) webhooks ($N pull requests, $((N / 4)) of them sent to both stacks) in $((SECONDS - t0)) s: every one 2xx ($answers)"
is "$(ls "$IT_TMP"/answers/*.1 | wc -l) $(ls "$IT_TMP"/answers/*.2 | wc -l)" "$((N / 2)) $((N / 2 + N / 4))" \
    "... through both stacks"

# ================================================================ each handled exactly once
end=$((SECONDS + 60))
while [ "$(q 'SELECT count(*) FROM ac_inbox')" != 0 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.5; done
is "$(q 'SELECT count(*) FROM ac_inbox')" 0 "the inbox is empty (within a minute)"
is "$(q 'SELECT count(*) FROM ac_dead')" 0 "no dead letter"
is "$(q "SELECT count(*) FROM ac_deliveries WHERE client_key = '$CK'")" "$N" \
    "one delivery row per delivery id: $N (the duplicates sent to both stacks deduplicated across them)"
bad=
for i in $(seq "$N"); do
	e="$(effects "$i")"
	[ "$e" = "1 1" ] || bad="$bad #$i:$e"
done
is "$bad" "" "every pull request got exactly one comment and one build status (those that did not: comments statuses)"
h1="$(grep -c 'title fails' "${S_DIR[1]}/logs/worker.log")" h2="$(grep -c 'title fails' "${S_DIR[2]}/logs/worker.log")"
is "$((h1 + h2))" "$N" "the two workers ran the handler $N times in all (worker 1: $h1, worker 2: $h2)"
check "both workers still run" eval 'alive "${S_WORKER[1]}" && alive "${S_WORKER[2]}"'
check "no program logged a store error" eval '! grep -l "store_error\|storage error" "$IT_TMP"/s*/logs/*.log'

# ================================================================ Forge through both
if [ -n "$FORGE" ]; then
	# fsend N TYPE [QUERY]: Forge posts event TYPE to stack N's /forge/events; prints the status
	fsend() {
		curl -s --max-time 30 "$FORGE/_ctl/send?to=${S_BASE[$1]}/forge/events&type=$2${3:+&$3}" >"$IT_TMP/send.json"
		json "$IT_TMP/send.json" 'j.status'
	}
	got="$(fsend 1 installed system=1) $(fsend 2 pr) $(fsend 1 pr-retry count=1) $(fsend 2 pr-retry count=2)"
	got="$got $(fsend 1 pr-payload pr=8) $(fsend 2 pr-payload-retry pr=8)"
	is "$got" "204 204 204 204 204 204" \
	    "Forge: installed through stack 1; pull request 7 through 2 and its retries through 1 and 2; pull request 8 through 1 and its retry through 2: all 204"
	end=$((SECONDS + 60))
	while [ "$(q 'SELECT count(*) FROM ac_inbox')" != 0 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.3; done
	is "$(q "SELECT count(*) FROM ac_inbox"),$(q "SELECT count(*) FROM ac_dead")" "0,0" "Forge: the inbox empty, no dead letter"
	curl -s --max-time 10 "$FORGE/_ctl/calls" >"$IT_TMP/calls.json"
	is "$(json "$IT_TMP/calls.json" '[7, 8].map((n) => j.filter((c) => c.method === "POST" && c.path.endsWith("/pullrequests/" + n + "/comments")).length).join(" ")')" \
	    "1 1" "Forge: each pull request handled once across the stacks (one comment on 7, one on 8), its retries deduplicated"
	is "$(json "$IT_TMP/calls.json" 'j.filter((c) => c.auth !== "system").length')" 0 \
	    "Forge: every call carried the system token that came through stack 1"
else
	skip "Forge: npm jose or forge-events.fcgi missing"
fi

[ "$T_FAILED" -eq 0 ] || pg_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
