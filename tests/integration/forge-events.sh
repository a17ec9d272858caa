#!/bin/bash
# forge-events.sh: POST /forge/events through the real nginx pool: Forge Invocation Tokens signed
# with npm jose over a JWKS on loopback (tests/sim/forge-jwks.js), the installation and the app
# system token in the store, events in the inbox, retries deduplicated, refusals with their fit_
# code, 503 while the JWKS is down, key rotation, and at most one JWKS fetch a minute (TAP).
# One wait of a minute: the second fetch (rotation) needs the host's fetch window to pass.
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"

it_setup
forge_need forge-events

UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
APP=ari:cloud:ecosystem::app/$UUID
INST=ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)

it_stage_programs "$IT_TMP/libexec"
forge_start "the Forge JWKS server" "$top_srcdir/tests/sim/forge-jwks.js" "$IT_TMP/forge" "$APP"

ctl() { curl -s --max-time 10 "$@"; }
fetches() { ctl "$FORGE/_ctl/count"; }
fit() { ctl "$FORGE/_ctl/fit?case=$1&inst=${2:-$INST}"; }

# start_stack [APP_ID]: nginx + programs on a fresh port and a fresh data dir (a fresh fetch window)
start_stack() {
	forge_restart "${1-$UUID}"
	forge_nginx
}
# post BODY TOKEN [SYSTEM-TOKEN]: POST /forge/events; STATUS, BODY
post() {
	local extra=()
	[ -z "${3:-}" ] || extra=(-H "x-forge-oauth-system: $3")
	http POST /forge/events -H 'Content-Type: application/json' -H "Authorization: Bearer $2" \
	    "${extra[@]}" --data-binary "$1"
}
code() { json "$BODY" 'j.error'; }
queued() { "$ACCTL" inbox list 2>/dev/null | grep -c -- "$1"; }
PR='{"eventType":"avi:bitbucket:created:pullrequest","timestamp":"2026-12-02T05:00:00Z","workspace":{"uuid":"{ws-1}"},"repository":{"uuid":"{r-1}"},"pullrequest":{"id":7,"title":{"value":"Fix","truncated":false}}}'
PR_RETRY='{"eventType":"avi:bitbucket:created:pullrequest","timestamp":"2026-12-02T05:00:00Z","workspace":{"uuid":"{ws-1}"},"repository":{"uuid":"{r-1}"},"pullrequest":{"id":7,"title":{"value":"Fix","truncated":false}},"retryContext":{"retryCount":1,"retryReason":"TIMEOUT"}}'
PR_OTHER='{"eventType":"avi:bitbucket:created:pullrequest","timestamp":"2026-12-02T05:01:00Z","workspace":{"uuid":"{ws-1}"},"repository":{"uuid":"{r-1}"},"pullrequest":{"id":8,"title":{"value":"Add","truncated":false}}}'

# ================================================================ the JWKS down from the start
ctl -X POST "$FORGE/_ctl/down" >/dev/null
start_stack
post "$PR" "$(fit good)"
is "$STATUS $(code)" "503 fit_jwks_unavailable" "JWKS down, kid unknown: 503 fit_jwks_unavailable (Forge retries)"
ctl -X POST "$FORGE/_ctl/up" >/dev/null
post "$PR" "$(fit good)"
is "$STATUS $(code)" "503 fit_jwks_unavailable" "within the minute of the failed fetch: 503 again, without a fetch"
is "$(fetches)" "1" "one JWKS request for both"
is "$(queued avi:bitbucket)" "0" "nothing queued"

# ================================================================ a fresh store, the JWKS up
start_stack
before=$(fetches)
T0=$(date +%s)
SYS=$(ctl "$FORGE/_ctl/system?exp=$((T0 + 7200))")
post "{\"eventType\":\"avi:forge:installed:app\",\"id\":\"$INST\",\"context\":\"ari:cloud:bitbucket::site/1\"}" \
    "$(fit good)" "$SYS"
is "$STATUS" "204" "avi:forge:installed:app with a good FIT: 204"
is "$(($(fetches) - before))" "1" "the JWKS fetched once"
"$ACCTL" forge installations >"$IT_TMP/inst.json" 2>"$IT_TMP/inst.err"
is "$(json "$IT_TMP/inst.json" '[j.installationId, j.environmentType, j.apiBaseUrl, j.contexts[0].workspaceId, j.systemToken, j.systemTokenExpires].join(" ")')" \
    "$INST PRODUCTION https://api.bitbucket.org {ws-1} true $((T0 + 7200))" \
    "acctl forge installations: the installation, its context and a live system token until its exp"
check "acctl forge installations never prints the token" sh -c "! grep -qF -- '$SYS' '$IT_TMP/inst.json'"

post "$PR" "$(fit good)"
is "$STATUS" "204" "a product event: 204"
is "$(queued avi:bitbucket:created:pullrequest)" "1" "acctl inbox list: the event is in the inbox"
check "under the installation as its tenant" sh -c "'$ACCTL' inbox list | grep -F -- 'avi:bitbucket:created:pullrequest' | grep -qF -- '$INST'"
post "$PR_RETRY" "$(fit good)"
is "$STATUS" "204" "Forge's retry (retryContext added): 204"
is "$(queued avi:bitbucket:created:pullrequest)" "1" "the retry is not queued twice"
post "$PR_OTHER" "$(fit good)"
is "$(queued avi:bitbucket:created:pullrequest)" "2" "a different event is queued"
post '{"context":{"cloudId":"c-1","moduleKey":"token-refresh"}}' "$(fit good)"
is "$STATUS" "204" "a scheduled trigger: 204"
is "$(queued avi:)" "3" "a scheduled trigger queues nothing"
is "$(($(fetches) - before))" "1" "still one JWKS fetch: the kept set serves every process"

# refusals, each with its code in the body and the log
post "$PR_OTHER" "$(fit other-key)"
is "$STATUS $(code)" "401 fit_signature" "another key under a known kid: 401 fit_signature"
post "$PR_OTHER" "$(fit expired)"
is "$STATUS $(code)" "401 fit_expired" "expired: 401 fit_expired"
post "$PR_OTHER" "$(fit other-aud)"
is "$STATUS $(code)" "401 fit_aud" "another app's token: 401 fit_aud"
http POST /forge/events -H 'Content-Type: application/json' --data-binary "$PR_OTHER"
is "$STATUS $(code)" "401 fit_missing" "no token: 401 fit_missing"
check "the log names the code" grep -q "POST /forge/events 401 .* error=fit_signature" "$IT_TMP"/logs/forge-events.log
is "$(queued avi:)" "3" "nothing refused was queued"

# a flood of unknown kids within the minute: no fetch
n401=0
for _ in $(seq 30); do
	post "$PR_OTHER" "$(fit random-kid)"
	[ "$STATUS $(code)" = "401 fit_kid_unknown" ] && n401=$((n401 + 1))
done
is "$n401" "30" "30 tokens with random kids: 401 fit_kid_unknown each"
is "$(($(fetches) - before))" "1" "no JWKS fetch for them (one a minute for the host)"

# rotation: a new kid is picked up by one refetch once the minute is over
ctl -X POST "$FORGE/_ctl/rotate" >/dev/null
wait_for=$((T0 + 62 - $(date +%s)))
[ "$wait_for" -le 0 ] || sleep "$wait_for"
SYS2=$(ctl "$FORGE/_ctl/system?exp=$(($(date +%s) + 10800))")
post '{"eventType":"avi:bitbucket:push:repository","repository":{"uuid":"{r-1}"}}' "$(fit good)" "$SYS2"
is "$STATUS" "204" "a token of the rotated key: 204"
is "$(($(fetches) - before))" "2" "after exactly one more JWKS fetch"
for _ in $(seq 20); do post "$PR_OTHER" "$(fit random-kid)"; done
is "$(($(fetches) - before))" "2" "another flood of unknown kids: still no more fetches"
"$ACCTL" forge installations >"$IT_TMP/inst.json" 2>/dev/null
is "$(json "$IT_TMP/inst.json" 'j.systemTokenExpires > '"$((T0 + 7200))")" "true" "the newer system token replaced the older one"
SYS_OLD=$(ctl "$FORGE/_ctl/system?exp=$(($(date +%s) + 3600))")
post '{}' "$(fit good)" "$SYS_OLD"
post '{}' "$(fit good)"
"$ACCTL" forge installations >"$IT_TMP/inst2.json" 2>/dev/null
is "$(json "$IT_TMP/inst2.json" 'j.systemTokenExpires')" "$(json "$IT_TMP/inst.json" 'j.systemTokenExpires')" \
    "an older token, or none, does not replace it"
leaked=0
for t in "$SYS" "$SYS2" "$SYS_OLD"; do
	! grep -rqF -- "$t" "$IT_TMP/logs" "$IT_TMP/nginx/error.log" 2>/dev/null || leaked=1
done
is "$leaked" "0" "no system token in any log"

# AC_FORGE_APP_ID empty: 404
start_stack ""
post "$PR" "$(fit good)"
is "$STATUS $(code)" "404 not_found" "AC_FORGE_APP_ID empty: /forge/events is 404"

it_stop_all || not_ok "every process stopped by PID"
done_testing
