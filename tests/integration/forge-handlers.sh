#!/bin/bash
# forge-handlers.sh: Forge events through the shared handler table, end to end with the real nginx
# pool: Forge's side (tests/sim/forge-jwks.js) sends avi:forge:installed:app, then
# avi:bitbucket:created:pullrequest with x-forge-oauth-system; `acctl worker` fetches the pull request
# from the simulator under the installation's apiBaseUrl (its path kept) with that system token as
# Bearer (the simulator refuses any other), comments once on a bad title and posts the build status;
# a retry and an update make no second comment; an installation without a token waits, with a
# last_error that says how to fix it, and goes through once a scheduled trigger brings one (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"

it_setup
forge_need forge-events

UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
APP=ari:cloud:ecosystem::app/$UUID
INST=ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)
INST2=ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)
HASH=abcdef0123456789abcdef0123456789abcdef01

it_sim_start || { not_ok "the simulator starts"; done_testing; }
it_stage_programs "$IT_TMP/libexec"
forge_start "the Forge JWKS server" "$top_srcdir/tests/sim/forge-jwks.js" "$IT_TMP/forge" "$APP"
# the installation's apiBaseUrl: on the simulator, with a path of its own that every call keeps
API="$SIM_URL/ex/bitbucket/ws-1"

ctl() { curl -s --max-time 10 "$@"; }
fit() { ctl "$FORGE/_ctl/fit?case=good&inst=$1&api=$(printf %s "$API" | sed 's/:/%3A/g; s,/,%2F,g')"; }
sim_control() { ctl -X POST -H 'Content-Type: application/json' --data-binary "$1" "$SIM_URL/_sim/control" >/dev/null; }

forge_data
forge_env "$UUID"
export AC_RETRY_FOR=600 AC_RETRY_BASE_MS=200
unset AC_PR_TITLE_PATTERN
forge_nginx

# post BODY TOKEN [SYSTEM-TOKEN]: POST /forge/events; STATUS, BODY
post() {
	local extra=()
	[ -z "${3:-}" ] || extra=(-H "x-forge-oauth-system: $3")
	http POST /forge/events -H 'Content-Type: application/json' -H "Authorization: Bearer $2" \
	    "${extra[@]}" --data-binary "$1"
}
# worker: one `acctl worker --once` as the programs' user
worker() {
	run_user_prefix
	"${RUN_PREFIX[@]}" "$ACCTL" worker --once >>"$IT_TMP/logs/worker.log" 2>&1
}
installed() { printf '{"eventType":"avi:forge:installed:app","id":"%s","context":"ari:cloud:bitbucket::site/1"}' "$1"; }
# pr KEY [EXTRA]: a pull request event as Forge sends it: ids, the title, no source commit
pr() {
	printf '{"eventType":"avi:bitbucket:%s:pullrequest","timestamp":"2026-12-02T05:00:00Z","workspace":{"uuid":"{ws-1}"},"repository":{"uuid":"{r-1}"},"pullrequest":{"id":7,"title":{"value":"fix things","truncated":false}}%s}' "$1" "${2:-}"
}
comments() { it_sim_js 's.comments.filter((c) => c.target === "7").length'; }

SYS=$(ctl "$FORGE/_ctl/system?exp=$(($(date +%s) + 7200))")
sim_control "{\"forgeSystemTokens\":[\"$SYS\"],\"pullrequests\":{\"7\":{\"title\":\"fix things\",\"hash\":\"$HASH\"}}}"

# ================================================================ installed, then a pull request
post "$(installed "$INST")" "$(fit "$INST")" "$SYS"
is "$STATUS" "204" "avi:forge:installed:app with the system token: 204"
post "$(pr created)" "$(fit "$INST")" "$SYS"
is "$STATUS" "204" "avi:bitbucket:created:pullrequest: 204"
worker
is "$("$ACCTL" inbox list 2>/dev/null | grep -c avi:)" "0" "the worker ran both events: the inbox is empty" ||
    diag "$("$ACCTL" inbox list 2>&1)"
is "$(comments)" "1" "one comment on the pull request (the title fails AC_PR_TITLE_PATTERN)"
is "$(it_sim_js "s.statuses['%7Bws-1%7D/%7Br-1%7D/$HASH/connect-fcgi-title'] && s.statuses['%7Bws-1%7D/%7Br-1%7D/$HASH/connect-fcgi-title'].state")" \
    "FAILED" "a FAILED build status on the source commit, fetched with the pull request"
is "$(it_sim_js 'r.filter((e) => e.route === "forge-bitbucket-rest").map((e) => e.method + " " + e.path.replace(/^\/ex\/bitbucket\/ws-1/, "~")).join(", ")')" \
    "GET ~/2.0/repositories/%7Bws-1%7D/%7Br-1%7D/pullrequests/7, GET ~/2.0/repositories/%7Bws-1%7D/%7Br-1%7D/pullrequests/7/comments, POST ~/2.0/repositories/%7Bws-1%7D/%7Br-1%7D/pullrequests/7/comments, POST ~/2.0/repositories/%7Bws-1%7D/%7Br-1%7D/commit/$HASH/statuses/build" \
    "the calls: under apiBaseUrl's path, repository and workspace by uuid" ||
    diag "$(it_sim_js 'r.map((e) => e.method + " " + e.url + " " + e.route)')"
is "$(it_sim_js 'r.filter((e) => e.route === "forge-bitbucket-rest" && !(e.verification && e.verification.ok)).length')" \
    "0" "every call carried the system token as Bearer (the simulator checks it)"
is "$(it_sim_js 'r.filter((e) => e.route !== "forge-bitbucket-rest").length')" "0" "no other call (no Connect client)"

# ================================================================ the same event again
post "$(pr created ',"retryContext":{"retryCount":1,"retryReason":"TIMEOUT"}')" "$(fit "$INST")" "$SYS"
is "$STATUS" "204" "Forge's retry of the event: 204"
post "$(pr updated)" "$(fit "$INST")" "$SYS"
is "$STATUS" "204" "avi:bitbucket:updated:pullrequest, the same title: 204"
worker
is "$(comments)" "1" "no second comment for the same title"
is "$(it_sim_js 'r.filter((e) => /statuses\/build$/.test(e.path)).length')" "2" \
    "the update ran (the retry was not queued twice): the build status posted again, by its key"

# ================================================================ an installation with no token
ctl -X POST "$SIM_URL/_sim/reset" -H 'Content-Type: application/json' --data-binary '{"control":false}' >/dev/null
post "$(installed "$INST2")" "$(fit "$INST2")"
is "$STATUS" "204" "another installation, installed without x-forge-oauth-system: 204"
post "$(pr created)" "$(fit "$INST2")"
is "$STATUS" "204" "its pull request event: 204"
worker
"$ACCTL" inbox list >"$IT_TMP/inbox.txt" 2>&1
check "the event waits in the inbox" grep -qF -- "$INST2" "$IT_TMP/inbox.txt"
check "acctl inbox list: last_error forge_no_token, saying how to fix it" \
    grep -q "forge_no_token: .*scheduledTrigger.*appSystemToken" "$IT_TMP/inbox.txt" || diag "$(cat "$IT_TMP/inbox.txt")"
SEQ=$(awk -v i="$INST2" '$3 == i { print $1 }' "$IT_TMP/inbox.txt" | head -n 1)
"$ACCTL" inbox show "$SEQ" >"$IT_TMP/show.txt" 2>&1
check "acctl inbox show: the same last_error" grep -q "lastError: *forge_no_token: .*acctl forge manifest" "$IT_TMP/show.txt"
is "$(it_sim_js 'r.length')" "0" "nothing was called without a token"
# a scheduled trigger brings a token: the event goes through on its next attempt
SYS2=$(ctl "$FORGE/_ctl/system?exp=$(($(date +%s) + 7200))")
sim_control "{\"forgeSystemTokens\":[\"$SYS\",\"$SYS2\"]}"
post '{"context":{"cloudId":"c-1","moduleKey":"token-refresh"}}' "$(fit "$INST2")" "$SYS2"
is "$STATUS" "204" "a scheduled trigger with a system token: 204"
"$ACCTL" inbox retry "$SEQ" >/dev/null 2>&1
worker
is "$("$ACCTL" inbox list 2>/dev/null | grep -cF -- "$INST2")" "0" "then the waiting event is done"
is "$(comments)" "1" "and its pull request got its comment (the first installation's note is its own)"

leaked=0
for t in "$SYS" "$SYS2"; do
	! grep -rqF -- "$t" "$IT_TMP/logs" "$IT_TMP/nginx" "$IT_TMP/inbox.txt" "$IT_TMP/show.txt" 2>/dev/null || leaked=1
done
is "$leaked" "0" "no system token in any log line or acctl output"

done_testing
