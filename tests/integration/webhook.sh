#!/bin/bash
# webhook.sh: webhooks through the real nginx pool, the inbox and `acctl worker`, against the
# product simulator: verify, persist, answer at once, act with retries, never lose an event (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
SIM="$top_srcdir/tests/sim/sim.js"
PAYLOADS="$top_srcdir/tests/sim/payloads"

it_setup
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"

it_stage_programs "$IT_TMP/libexec"
mkdir -p "$IT_TMP/sim" "$IT_TMP/p"

it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

WORKER_PID=
# start_stack PRODUCT [AC_WORKER]: nginx + programs on a fresh port, a fresh data dir
start_stack() {
	stop_worker
	it_stop_app
	rm -f "$IT_TMP"/run/*.sock
	rm -rf "$IT_TMP/data" && mkdir -m 0700 "$IT_TMP/data"
	[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/data"
	PORT=
	it_port
	export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_PRODUCT="$1" AC_DATA_DIR="$IT_TMP/data"
	export AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS="127.0.0.1"
	export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_SYNC=full AC_WORKER="${2:-daemon}"
	export AC_RETRY_FOR=4 AC_RETRY_BASE_MS=200
	unset AC_CONFIG AC_DESCRIPTOR
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	it_nginx pool || { not_ok "$1: nginx and the programs start"; it_logs; done_testing; }
}
# the worker itself is $! (setpriv execs it), so that a SIGKILL hits the worker
start_worker() {
	if [ -n "$IT_UG" ]; then
		setpriv --reuid="${IT_UG%%:*}" --regid="${IT_UG#*:}" --clear-groups -- \
			"$ACCTL" worker >>"$IT_TMP/logs/worker.log" 2>&1 &
	else
		"$ACCTL" worker >>"$IT_TMP/logs/worker.log" 2>&1 &
	fi
	WORKER_PID=$!
	IT_PIDS+=("$WORKER_PID")
}
stop_worker() {
	[ -n "$WORKER_PID" ] || return 0
	stop_pids "$WORKER_PID" 2>/dev/null
	WORKER_PID=
}
simget() { curl -s --max-time 10 "$SIM_URL$1"; }
simpost() { curl -s -o /dev/null --max-time 10 -X POST -H 'Content-Type: application/json' -d "$2" "$SIM_URL$1"; }
inbox_count() { "$ACCTL" inbox stats 2>/dev/null | sed -n "s/^$1 //p"; }
# pr FILE TITLE [ID [EVENT]]: a pullrequest payload with that title
pr() {
	"$NODE" -e '
		const p = require(process.argv[1]); p.data.pullrequest.title = process.argv[2];
		if (process.argv[3]) p.data.pullrequest.id = +process.argv[3];
		if (process.argv[5]) p.event = process.argv[5];
		require("fs").writeFileSync(process.argv[4], JSON.stringify(p));
	' "$PAYLOADS/bitbucket-webhook-pullrequest-created.json" "$2" "${3:-}" "$1" "${4:-}"
}
COMMENTS='s.comments.length'
status_of() { echo "(s.statuses['example-workspace/example-repo/1111111111111111111111111111111111111111/$1'] || {}).state || 'none'"; }

# ================================================================ Bitbucket, daemon worker
start_stack bitbucket
it_drive "install a Bitbucket tenant" 204 install --product bitbucket --client-key wh-1

pr "$IT_TMP/p/bad.json" "Add & run linters"
it_drive "a pull request with a bad title is accepted at once" 204 webhook --client-key wh-1 \
	--event pullrequest:created --payload "$IT_TMP/p/bad.json" --delivery-id d-bad-1
is "$("$ACCTL" inbox ingest | sed 's/ in [0-9.]* s$//')" "moved 1 event(s) from the intake journal into the inbox" \
	"acctl inbox ingest moves the accepted event from the intake journal"
is "$(inbox_count inbox)" "1" "the event is in the inbox before any worker runs"
start_worker
got="$(it_eventually 15 "[s.comments.length, $(status_of connect-fcgi-title)].join(' ')" "1 FAILED")"
is "$got" "1 FAILED" "the worker comments once on the PR and posts FAILED on the full hash"
is "$(it_sim_js "r.filter(x => x.route === 'bitbucket-rest').every(x => x.verification && x.verification.ok)")" "true" \
	"every call the app made verified with atlassian-jwt (iss app key, sub clientKey, qsh)"
is "$(it_sim_js "r.filter(x => x.route === 'bitbucket-rest').map(x => x.verification.claims.iss + '/' + x.verification.claims.sub)[0]")" \
	"it-app/wh-1" "the app signs with iss = app key and sub = clientKey"
is "$(inbox_count inbox)" "0" "the inbox is empty once the event is done"

it_drive "the same delivery again" 204 webhook --client-key wh-1 --event pullrequest:created \
	--payload "$IT_TMP/p/bad.json" --delivery-id d-bad-1
sleep 1
is "$(it_sim_js "$COMMENTS")" "1" "a duplicate delivery is processed once"
pr "$IT_TMP/p/bad-upd.json" "Add & run linters" "" pullrequest:updated
it_drive "pullrequest:updated with the same bad title" 204 webhook --client-key wh-1 --event pullrequest:updated \
	--payload "$IT_TMP/p/bad-upd.json"
sleep 1.5
is "$(it_sim_js "$COMMENTS")" "1" "the same failing title is not commented again"

simpost /_sim/reset '{}'
simpost /_sim/control '{"fail":[{"path":"/statuses/build$","status":500,"times":2}]}'
pr "$IT_TMP/p/good.json" "feat(ci): run linters" 10
it_drive "a good title, with the status API failing twice" 204 webhook --client-key wh-1 \
	--event pullrequest:created --payload "$IT_TMP/p/good.json"
got="$(it_eventually 20 "$(status_of connect-fcgi-title)" SUCCESSFUL)"
is "$got" "SUCCESSFUL" "500 twice, then 200: SUCCESSFUL is posted"
is "$(it_sim_js "r.filter(x => /statuses\/build$/.test(x.path)).map(x => x.injected || 'ok').join(',')")" "500,500,ok" \
	"the status was attempted three times and delivered once"

simpost /_sim/reset '{}'
simpost /_sim/control '{"fail":[{"path":"/statuses/build$","status":429,"times":1,"retryAfter":2}]}'
pr "$IT_TMP/p/good2.json" "fix: a thing" 11
it_drive "a delivery whose status call gets 429 Retry-After: 2" 204 webhook --client-key wh-1 \
	--event pullrequest:created --payload "$IT_TMP/p/good2.json"
it_eventually 20 "$(status_of connect-fcgi-title)" SUCCESSFUL >/dev/null
gap="$(it_sim_js "(t => (Date.parse(t[1].time) - Date.parse(t[0].time)) / 1000)(r.filter(x => /statuses\/build$/.test(x.path)))")"
check "429 with Retry-After: the retry waited ($gap s >= 1.9 s)" \
	"$NODE" -e "process.exit(($gap) >= 1.9 ? 0 : 1)"

# always failing: dead after AC_RETRY_FOR, then replayed
simpost /_sim/reset '{}'
simpost /_sim/control '{"fail":[{"path":"/statuses/build$","status":503}]}'
pr "$IT_TMP/p/good3.json" "docs: more" 12
it_drive "a delivery whose API always fails" 204 webhook --client-key wh-1 --event pullrequest:created \
	--payload "$IT_TMP/p/good3.json"
for _ in $(seq 100); do [ "$(inbox_count dead)" = 1 ] && break; sleep 0.2; done
is "$(inbox_count dead)" "1" "after AC_RETRY_FOR the event is in dead"
seq_dead="$("$ACCTL" inbox list --dead | awk 'NR==2 {print $1}')"
check "acctl inbox show prints the dead event" eval '"$ACCTL" inbox show "$seq_dead" | grep -q "where: *dead"'
simpost /_sim/control '{"fail":[]}'
check "acctl inbox retry replays it" "$ACCTL" inbox retry "$seq_dead"
got="$(it_eventually 15 "$(status_of connect-fcgi-title)" SUCCESSFUL)"
is "$got $(inbox_count dead)" "SUCCESSFUL 0" "the replayed event is delivered and leaves dead"

# SIGKILL the worker in the middle of an event
simpost /_sim/reset '{}'
simpost /_sim/control '{"delayMs":4000}'
pr "$IT_TMP/p/good4.json" "test: kill" 13
it_drive "a delivery the worker will be killed on" 204 webhook --client-key wh-1 --event pullrequest:created \
	--payload "$IT_TMP/p/good4.json"
for _ in $(seq 50); do [ "$(it_sim_js 'r.length')" -ge 1 ] && break; sleep 0.1; done
kill -KILL "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null
check "the worker is gone" eval '! kill -0 "$WORKER_PID" 2>/dev/null'
WORKER_PID=
simpost /_sim/control '{"delayMs":0}'
start_worker
got="$(it_eventually 15 "$(status_of connect-fcgi-title)" SUCCESSFUL)"
is "$got" "SUCCESSFUL" "a worker killed mid-event: the event completes after restart"

# SIGKILL the worker after the product took its comment and before the worker recorded it: the
# simulator stores the comment and holds its answer back, the worker is killed while it waits
simpost /_sim/reset '{}'
simpost /_sim/control '{"hold":[{"path":"/pullrequests/15/comments$","method":"POST","ms":60000}]}'
pr "$IT_TMP/p/bad5.json" "Killed after the comment" 15
it_drive "a delivery whose comment the worker is killed after" 204 webhook --client-key wh-1 \
	--event pullrequest:created --payload "$IT_TMP/p/bad5.json" --delivery-id d-kill-2
got="$(it_eventually 15 "s.comments.filter(c => c.target === '15').length" 1)"
is "$got" "1" "the product took the comment (its answer held back)"
seq_kill="$("$ACCTL" inbox list | awk '/ d-kill-2 / {print $1}')"
"$ACCTL" inbox show "$seq_kill" >"$IT_TMP/inbox.show" 2>&1
check "acctl inbox show names the lease's owner: the running worker, its lease held" \
	grep -Eq "^lease: +.* pid $WORKER_PID id [0-9a-f]{8} \(held\)\$" "$IT_TMP/inbox.show"
check "... with its whole id, start time, boot id and pid namespace" \
	grep -Eq "^leaseOwner: +[0-9a-f]{32} host .* pid $WORKER_PID start [1-9][0-9]* boot [0-9a-f]{32} pidns [1-9]" "$IT_TMP/inbox.show"
kill -KILL "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null
WORKER_PID=
"$ACCTL" inbox list >"$IT_TMP/inbox.list" 2>&1
check "acctl inbox list shows the lease of the killed worker, its process gone" \
	grep -Eq "d-kill-2 .* pid [0-9]+ id [0-9a-f]{8} \(gone\)" "$IT_TMP/inbox.list"
simpost /_sim/control '{"hold":[]}'
start_worker
got="$(it_eventually 15 "$(status_of connect-fcgi-title)" FAILED)"
is "$got" "FAILED" "a new worker takes the lease over at once and completes the event"
for _ in $(seq 50); do [ "$(inbox_count inbox)" = 0 ] && break; sleep 0.1; done
is "$(it_sim_js "[s.comments.filter(c => c.target === '15').length,
	r.filter(x => /\/pullrequests\/15\/comments/.test(x.path)).map(x => x.method).join(',')].join(' ')")" \
	"1 GET,POST,GET" "the retry looked and did not comment again: the simulator recorded exactly one comment"
check "the worker said it found the comment on the product" \
	grep -q "PR example-workspace/example-repo#15: the comment is already on the product" "$IT_TMP/logs/worker.log"
check "the worker said whose lease it took over, and why" \
	grep -Eq "taking over the lease of .* pid [0-9]+ id [0-9a-f]{8} \(its process is gone\)" "$IT_TMP/logs/worker.log"

# one nesting limit for the intake and the worker: AC_JSON_DEPTH (32) is acknowledged and acted on
# (it used to be acknowledged, then dead as malformed_json in the worker); 33 is refused at intake
# deep FILE TITLE ID LEVELS: a pullrequest payload nested LEVELS deep in all
deep() {
	pr "$1" "$2" "$3"
	"$NODE" -e '
		const fs = require("fs"), p = JSON.parse(fs.readFileSync(process.argv[1]));
		let v = 1; for (let i = 1; i < +process.argv[2]; i++) v = { a: v };
		p.pad = v; fs.writeFileSync(process.argv[1], JSON.stringify(p));
	' "$1" "$4"
}
simpost /_sim/reset '{}'
deep "$IT_TMP/p/deep32.json" "feat: deep" 14 32
it_drive "a body 32 deep (the limit)" 204 webhook --client-key wh-1 --event pullrequest:created \
	--payload "$IT_TMP/p/deep32.json"
got="$(it_eventually 15 "$(status_of connect-fcgi-title)" SUCCESSFUL)"
is "$got $(inbox_count dead)" "SUCCESSFUL 0" "... and the worker reads it too: acted on, nothing dead"
deep "$IT_TMP/p/deep33.json" "feat: deeper" 16 33

# refused deliveries queue nothing
before="$(inbox_count inbox)/$(it_sim_js 'r.length')"
it_drive "a body 33 deep (past the limit)" 400 webhook --client-key wh-1 --event pullrequest:created \
	--payload "$IT_TMP/p/deep33.json"
# a member name is its decoded text: an escaped "event" is checked against X-Event-Key like a plain one
it_drive "an escaped event member that disagrees with X-Event-Key" 400 webhook --client-key wh-1 \
	--event pullrequest:created --raw-body '{"\u0065vent":"repo:push","data":{}}'
grep -q event_mismatch "$IT_TMP/sim.last" && ok "... as event_mismatch" || { not_ok "... as event_mismatch"; diag "$(head -c 400 "$IT_TMP/sim.last")"; }
# what the intake checks against X-Event-Key is what the body says: no event member read two ways
# (twice, with a NUL that C strings cut, webhookEvent and event apart, not a string)
# wh_code DESCRIPTION CODE ARG...: refused 400 with that stable code
wh_code() {
	local d="$1" code="$2"
	shift 2
	it_drive "$d" 400 webhook --client-key wh-1 "$@"
	grep -q "\"$code\"" "$IT_TMP/sim.last" && ok "... as $code" || { not_ok "... as $code"; diag "$(head -c 400 "$IT_TMP/sim.last")"; }
}
wh_code "the event member twice, the last one the header's" malformed_json --event repo:push \
	--raw-body '{"event":"pullrequest:created","event":"repo:push","data":{}}'
wh_code "the event member twice, one of them escaped" malformed_json --event repo:push \
	--raw-body '{"event":"repo:push","\u0065vent":"pullrequest:created","data":{}}'
wh_code "a name twice deeper in the body (the worker's parse would refuse it)" malformed_json --event repo:push \
	--raw-body '{"event":"repo:push","data":{"push":{"changes":[{"new":{},"new":{}}]}}}'
wh_code "an event with a NUL after the header's key" event_missing --event repo:push \
	--raw-body '{"event":"repo:push\u0000pullrequest:created","data":{}}'
wh_code "webhookEvent and event that differ" event_mismatch --event repo:push \
	--raw-body '{"webhookEvent":"repo:push","event":"pullrequest:created","data":{}}'
wh_code "an event member that is not a string" event_missing --event repo:push \
	--raw-body '{"event":["pullrequest:created"],"data":{}}'
it_drive "a raw control character in the body" 400 webhook --client-key wh-1 --event repo:push \
	--raw-body "$(printf '{"event":"repo:push","x":"a\tb"}')"
stop_worker
it_drive "a forged token" 401 webhook --client-key wh-1 --event repo:push --sign secret:wrong
it_drive "a token with the qsh of another path" 401 webhook --client-key wh-1 --event repo:push --qsh-for /installed
it_drive "a wrong content type" 415 webhook --client-key wh-1 --event repo:push --content-type text/plain
it_drive "a mismatched event key" 400 webhook --client-key wh-1 --event pullrequest:created \
	--payload "$PAYLOADS/bitbucket-webhook-repo-push.json"
{ printf '{"event":"repo:push","pad":"'; head -c 270000 /dev/zero | tr '\0' x; printf '"}'; } >"$IT_TMP/p/huge.json"
it_drive "a body over 256 KiB" 413 webhook --client-key wh-1 --event repo:push --payload "$IT_TMP/p/huge.json"
it_drive "an unknown tenant" 401 webhook --client-key wh-nobody --event repo:push --sign secret:x
it_drive "uninstall the tenant" 204 uninstall --client-key wh-1
it_drive "an event for the uninstalled tenant" 401 webhook --client-key wh-1 --event repo:push
is "$(inbox_count inbox)/$(it_sim_js 'r.length')" "$before" "refused deliveries queued nothing"
it_drive "install again" 204 install --client-key wh-1 --sign stored

# a burst of 2000 deliveries while webhook processes are killed: none with a 2xx is lost
secret="$("$ACCTL" tenant show wh-1 --json --show-secret | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).sharedSecret))')"
tok="$(printf '%s' "$secret" | "$ACCTL" jwt sign --secret - --iss wh-1 --aud wh-1 --ttl 600 POST "$BASE/webhook" 2>/dev/null | tail -n 1)"
"$NODE" -e 'const p=require(process.argv[1]);p.event="repo:push";require("fs").writeFileSync(process.argv[2],JSON.stringify(p))' \
	"$PAYLOADS/bitbucket-webhook-repo-push.json" "$IT_TMP/p/push.json"
(
	seq 2000 | xargs -P 8 -I{} curl -s -o /dev/null -w '{} %{http_code}\n' --max-time 30 \
		-H 'Content-Type: application/json' -H "Authorization: JWT $tok" -H 'X-Event-Key: repo:push' \
		-H 'X-Request-UUID: burst-{}' --data-binary @"$IT_TMP/p/push.json" "$BASE/webhook"
) >"$IT_TMP/burst.codes" &
burst=$!
sleep 1
for s in 0 1; do
	victim="${IT_SOCK_PID[$IT_TMP/run/webhook.$s.sock]:-}"
	[ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null
	sleep 0.5
done
wait "$burst"
acked="$(awk '$2 ~ /^2/' "$IT_TMP/burst.codes" | wc -l)"
other="$(awk '$2 !~ /^2/ {print $2}' "$IT_TMP/burst.codes" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
diag "burst: $acked acknowledged, others: ${other:-none}"
check "the burst was mostly acknowledged ($acked of 2000)" [ "$acked" -ge 1000 ]
"$ACCTL" inbox list | awk '{print $7}' | grep '^burst-' | sort >"$IT_TMP/burst.stored"
awk '$2 ~ /^2/ {print "burst-" $1}' "$IT_TMP/burst.codes" | sort >"$IT_TMP/burst.acked"
is "$(comm -23 "$IT_TMP/burst.acked" "$IT_TMP/burst.stored" | wc -l)" "0" \
	"every delivery that got a 2xx is in the inbox ($(wc -l <"$IT_TMP/burst.stored") stored)"
is "$(sort "$IT_TMP/burst.stored" | uniq -d | wc -l)" "0" "no delivery is stored twice"
diag "stored without a 2xx (the product retries those; dedupe keeps them single): $(comm -13 "$IT_TMP/burst.acked" "$IT_TMP/burst.stored" | wc -l)"

# ================================================================ Jira, the signed REST call
start_stack jira
it_drive "install a Jira tenant" 204 install --product jira --client-key jira-wh
start_worker
it_drive "jira:issue_created" 204 webhook --client-key jira-wh --event jira:issue_created
got="$(it_eventually 15 "r.filter(x => x.route === 'jira-rest' && x.method === 'GET').map(x => x.verification.ok)[0]" true)"
is "$got" "true" "jira:issue_created: the worker fetched the issue with a signed GET, verified by atlassian-jwt"

# ================================================================ AC_WORKER=inline
start_stack bitbucket inline
simpost /_sim/reset '{}'
it_drive "install (inline worker)" 204 install --product bitbucket --client-key wh-inline
pr "$IT_TMP/p/inline.json" "Bad title" 20
it_drive "a delivery with no worker daemon running" 204 webhook --client-key wh-inline --event pullrequest:created \
	--payload "$IT_TMP/p/inline.json"
got="$(it_eventually 15 "$(status_of connect-fcgi-title)" FAILED)"
is "$got" "FAILED" "AC_WORKER=inline: webhook.fcgi drained the inbox after answering"

[ "$T_FAILED" -eq 0 ] || it_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
