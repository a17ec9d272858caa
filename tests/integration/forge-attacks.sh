#!/bin/bash
# forge-attacks.sh: tokens Forge would never send, through the real nginx pool (forge-events.fcgi,
# webhook.fcgi), each refused with its fit_ code and the store unchanged byte for byte; a burst of
# unknown kids costs at most two JWKS fetches; a JWKS server that is down, slow or answers 10 MB
# gives 503 within the timeout and the program lives on; a rotated-out key is refused (TAP).
# Forge is played by the simulator's Forge mode (tests/sim/sim.js forge, lib/forge.js).
# The store is compared with mdb_dump (every record of every database, the JWKS cache excepted:
# a refetch is allowed to refresh it) plus a checksum of every other file in the data dir.
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"

it_setup
forge_need forge-events
command -v mdb_dump >/dev/null || skip_all "mdb_dump not found (lmdb-utils)"

UUID=$(cat /proc/sys/kernel/random/uuid)
APP=ari:cloud:ecosystem::app/$UUID

it_stage_programs "$IT_TMP/libexec"
forge_start "the simulator's Forge mode" "$top_srcdir/tests/sim/sim.js" forge --state "$IT_TMP/forge" --app "$APP"

ctl() { curl -s --max-time 30 "$@"; }
fetches() { ctl "$FORGE/_ctl/count"; }
fit() { ctl "$FORGE/_ctl/fit?case=$1${2:+&$2}"; }
mode() { ctl "$FORGE/_ctl/mode?mode=$1${2:+&ms=$2}" >/dev/null; }

# a Connect tenant in every store: a Connect JWT of it is real, and the store is not empty
SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CK=attack-tenant
now="$(date +%s)"
printf '{"v":1,"clientKey":"%s","sharedSecret":"%s","key":"it-app","baseUrl":"https://bitbucket.org","baseApiUrl":"https://api.bitbucket.org","oauthClientId":"","displayUrl":"","product":"bitbucket","state":"installed","installedAt":%s,"updatedAt":%s,"uninstalledAt":0}\n' \
    "$CK" "$SECRET" "$now" "$now" >"$IT_TMP/tenant.jsonl"
chmod 0644 "$IT_TMP/tenant.jsonl"

# start_stack [JWKS-URL]: nginx + programs on a fresh port and a fresh data dir (a fresh fetch
# window) holding the Connect tenant
start_stack() {
	forge_restart "$UUID" "${1:-}"
	export AC_FORGE_ENVIRONMENTS=STAGING,PRODUCTION
	run_user_prefix
	"${RUN_PREFIX[@]}" "$ACCTL" tenant import "$IT_TMP/tenant.jsonl" >/dev/null 2>>"$IT_TMP/logs/acctl.log" ||
		{ not_ok "acctl tenant import"; it_logs; done_testing; }
	forge_nginx
}
# snap FILE: the store as bytes: every record of every LMDB database (mdb_dump -a -p) but the
# JWKS cache ("jwks", "jwks-fetch" in forge), and a checksum of every other file (the journal)
# but sync.lock (the id of the last flushed transaction: any write, a JWKS refetch's too, moves it)
# and metrics (the host's counters: every request counts)
snap() {
	local env
	env="$(dirname "$(find "$IT_TMP/data" -name data.mdb | head -n 1)")"
	{
		mdb_dump -a -p "$env" 2>&1 | grep -v '^mapsize=' | awk '
			/^database=/ { db = substr($0, 10) }
			skip { skip = 0; next }
			db == "forge" && ($0 == " jwks" || $0 == " jwks-fetch") { skip = 1; next }
			{ print }'
		find "$IT_TMP/data" -type f ! -name data.mdb ! -name lock.mdb ! -name sync.lock ! -name metrics -print0 | sort -z | xargs -0r sha256sum
	} >"$1"
}
# post PATH TOKEN [SCHEME] [BODY]: POST to the app; STATUS, BODY
EV='{"eventType":"avi:bitbucket:created:pullrequest","timestamp":"2026-12-02T06:00:00Z","workspace":{"uuid":"{ws-x}"},"repository":{"uuid":"{r-x}"},"pullrequest":{"id":99,"title":{"value":"Attack","truncated":false}}}'
post() {
	local auth=()
	[ -z "$2" ] || auth=(-H "Authorization: ${3:-Bearer} $2")
	http POST "$1" -H 'Content-Type: application/json' -H 'X-Event-Key: pullrequest:created' \
	    -H "X-Request-UUID: $(cat /proc/sys/kernel/random/uuid)" "${auth[@]}" --data-binary "${4:-$EV}"
}
code() { json "$BODY" 'j.error'; }
# refused DESCRIPTION WANT PATH TOKEN [SCHEME]: STATUS and code as WANT, the store unchanged
refused() {
	snap "$IT_TMP/before"
	post "$3" "$4" "${5:-Bearer}"
	local got="$STATUS"
	case "$2" in *\ *) got="$STATUS $(code)" ;; esac
	snap "$IT_TMP/after"
	if [ "$got" = "$2" ] && cmp -s "$IT_TMP/before" "$IT_TMP/after"; then
		ok "$1: $2, store byte-identical"
	else
		not_ok "$1: $2, store byte-identical"
		diag "got: $got" "$(diff "$IT_TMP/before" "$IT_TMP/after" | head -n 10)"
	fi
}
# send TYPE [QUERY]: the simulator posts a Forge event to the app itself (FIT and system token)
send() {
	ctl "$FORGE/_ctl/send?to=$BASE/forge/events&type=$1&system=1${2:+&$2}" >"$IT_TMP/send.json"
	json "$IT_TMP/send.json" 'j.status'
}

# ================================================================ a kid unknown after the refetch
start_stack
T0=$(date +%s)
before=$(fetches)
refused "a kid still unknown after a refetch" "401 fit_kid_unknown" /forge/events "$(fit random-kid)"
is "$(($(fetches) - before))" "1" "that refetch was one JWKS request"

# ================================================================ a burst of 500 unknown kids
fit_n() { ctl "$FORGE/_ctl/fits?case=$1&n=$2"; }
fit_n random-kid 500 >"$IT_TMP/burst.txt"
snap "$IT_TMP/before"
# shellcheck disable=SC2016
xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X POST \
    -H 'Content-Type: application/json' -H 'Authorization: Bearer {}' --data-binary "$EV" \
    "$BASE/forge/events" <"$IT_TMP/burst.txt" >"$IT_TMP/burst.codes"
snap "$IT_TMP/after"
is "$(grep -c '^401$' "$IT_TMP/burst.codes")" "500" "500 tokens with random unknown kids, 8 at a time: 401 each"
n=$(($(fetches) - before))
check "the burst made at most two JWKS fetches ($n)" test "$n" -le 2
check "the burst left the store byte-identical" cmp -s "$IT_TMP/before" "$IT_TMP/after"

# ================================================================ a store with an installation and events
is "$(send installed)" "204" "the simulator installs the app (avi:forge:installed:app, system token)"
is "$(send upgraded)" "204" "avi:forge:upgraded:app"
is "$(send pr)" "204" "avi:bitbucket:created:pullrequest"
is "$(send pr-retry)" "204" "its retry (retryContext at the top level)"
is "$(send pr-payload pr=8)" "204" "another pull request, the event under payload"
is "$(send pr-payload-retry pr=8)" "204" "its retry (retryContext under payload)"
is "$(send scheduled)" "204" "a scheduled trigger"
"$ACCTL" inbox list >"$IT_TMP/inbox.txt" 2>/dev/null
is "$(grep -c 'avi:bitbucket:created:pullrequest' "$IT_TMP/inbox.txt")" "2" "each event queued once, whatever its shape"

ATT=/forge/events
refused "alg none" "401 fit_alg" $ATT "$(fit alg-none)"
refused "HS256 keyed with the public key's PEM" "401 fit_alg" $ATT "$(fit hs256-pem)"
refused "HS256 keyed with the public key's modulus" "401 fit_alg" $ATT "$(fit hs256-modulus)"
refused "RS256 by another key under a known kid" "401 fit_signature" $ATT "$(fit other-key)"
refused "another app's aud" "401 fit_aud" $ATT "$(fit other-aud)"
refused "another iss" "401 fit_iss" $ATT "$(fit other-iss)"
refused "expired beyond the leeway" "401 fit_expired" $ATT "$(fit expired)"
refused "nbf in the future" "401 fit_not_yet_valid" $ATT "$(fit not-yet-valid)"
refused "app.id other than aud" "401 fit_app_id" $ATT "$(fit app-id-not-aud)"
refused "no app.installationId" "401 fit_installation" $ATT "$(fit no-installation)"
refused "an environment not accepted (DEVELOPMENT)" "401 fit_environment" $ATT "$(fit good env=DEVELOPMENT)"
refused "no token" "401 fit_missing" $ATT ""
refused "a Forge token under the JWT scheme" "401 fit_scheme" $ATT "$(fit good)" JWT
CJWT="$("$ACCTL" jwt sign --secret "$SECRET" --iss "$CK" --aud "$CK" --ttl 600 --base-url "$BASE" \
    POST "$BASE/forge/events")"
refused "a Connect JWT of a real tenant on a Forge route (JWT scheme)" "401 fit_scheme" $ATT "$CJWT" JWT
refused "a Connect JWT of a real tenant on a Forge route (Bearer)" "401 fit_alg" $ATT "$CJWT"
refused "a Forge token on a Connect route (/webhook, JWT scheme)" "401" /webhook "$(fit good)" JWT
refused "a Forge token on a Connect route (/webhook, Bearer)" "401" /webhook "$(fit good)"
is "$(($(fetches) - before))" "1" "no attack made a JWKS fetch"
check "the log names the codes" grep -q "POST /forge/events 401 .* error=fit_alg" "$IT_TMP"/logs/forge-events.log

# ================================================================ rotation: the old key leaves the set
ctl "$FORGE/_ctl/rotate" >/dev/null
wait_for=$((T0 + 62 - $(date +%s)))
[ "$wait_for" -le 0 ] || sleep "$wait_for"
post /forge/events "$(fit good)"
is "$STATUS" "204" "a token of the new key once the minute is over: 204"
is "$(($(fetches) - before))" "2" "after one more JWKS fetch"
refused "a token of the rotated-out key" "401 fit_kid_unknown" $ATT "$(fit retired-key)"

# ================================================================ the JWKS server fails
# fail DESCRIPTION JWKS-URL: a fresh store, a good token whose kid must be fetched: 503 within
# the 5 s timeout (well before 15 s), and the same process answers the next request
fail() {
	start_stack "${2:-}"
	local pids=() s t0 t1
	while read -r s; do
		pids+=("${IT_SOCK_PID[$s]}")
	done < <(pool_sockets "$IT_TMP/nginx/connect-fcgi.conf" | awk '$1 == "forge-events" { print $2 }')
	t0=$(date +%s)
	refused "JWKS $1" "503 fit_jwks_unavailable" $ATT "$(fit good)"
	t1=$(date +%s)
	check "JWKS $1: answered in $((t1 - t0)) s, within the timeout" test $((t1 - t0)) -lt 15
	post /forge/events ""
	is "$STATUS $(code)" "401 fit_missing" "JWKS $1: the program still serves the next request"
	check "JWKS $1: no forge-events.fcgi crashed (${#pids[@]}, same PIDs)" kill -0 "${pids[@]}"
}
DEAD_PORT="$(it_free_port)"
fail "down (nothing listens)" "http://127.0.0.1:$DEAD_PORT/.well-known/jwks.json"
mode down
fail "down (503)"
mode slow 20000
fail "slow (answers after 20 s)"
mode huge
fail "answering 10 MB"
mode up
check "no crash in the logs" sh -c "! grep -qiE 'segfault|sanitizer|abort|core dumped' '$IT_TMP'/logs/*.log"

it_stop_all || not_ok "every process stopped by PID"
done_testing
