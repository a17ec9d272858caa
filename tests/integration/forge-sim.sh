#!/bin/bash
# forge-sim.sh: the simulator's Forge mode (tests/sim/sim.js forge) against the real nginx pool:
# lifecycle events, product events, retries in both shapes, a scheduled trigger, the REST routes'
# Bearer check against the system token the simulator handed out, and, when forge-remote.fcgi is
# built, merge checks (POST /forge/merge-check) answered from the pull request fetched from the
# simulator with that token (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"

it_setup
forge_need forge-events

UUID=$(cat /proc/sys/kernel/random/uuid)
APP=ari:cloud:ecosystem::app/$UUID

it_stage_programs "$IT_TMP/libexec"
forge_start "the simulator's Forge mode" "$top_srcdir/tests/sim/sim.js" forge --state "$IT_TMP/forge" --app "$APP"
ctl() { curl -s --max-time 30 "$@"; }
ctl "$FORGE/_ctl/info" >"$IT_TMP/info.json"
INST="$(json "$IT_TMP/info.json" 'j.installationId')"
WS="$(json "$IT_TMP/info.json" 'j.workspace')"
REPO="$(json "$IT_TMP/info.json" 'j.repository')"

forge_env "$UUID"
export AC_PR_TITLE_PATTERN='^(feat|fix)(\([a-z]+\))?: .+'
forge_nginx

# send TYPE [QUERY] [TO]: the simulator posts to the app as Forge does; prints the status,
# leaves the app's answer in $IT_TMP/send.json (.body)
send() {
	ctl "$FORGE/_ctl/send?to=$BASE${3:-/forge/events}&type=$1${2:+&$2}" >"$IT_TMP/send.json"
	json "$IT_TMP/send.json" 'j.status'
}
queued() { "$ACCTL" inbox list 2>/dev/null | grep -c -- "$1"; }

# ================================================================ events
is "$(send installed system=1)" "204" "avi:forge:installed:app with a system token: 204"
"$ACCTL" forge installations >"$IT_TMP/inst.json" 2>/dev/null
is "$(json "$IT_TMP/inst.json" '[j.installationId, j.apiBaseUrl, j.contexts[0].workspaceId, j.systemToken].join(" ")')" \
    "$INST $FORGE $WS true" "the installation kept: its id, apiBaseUrl (the simulator), workspace, a live token"
is "$(send upgraded system=1)" "204" "avi:forge:upgraded:app: 204"
is "$(send pr)" "204" "avi:bitbucket:created:pullrequest: 204"
is "$(send pr-retry count=1)" "204" "Forge's first retry (retryContext at the top level): 204"
is "$(send pr-retry count=2)" "204" "its second retry: 204"
is "$(queued avi:bitbucket:created:pullrequest)" "1" "the event and its retries: queued once"
is "$(send pr-payload pr=8)" "204" "an event under payload: 204"
is "$(send pr-payload-retry pr=8)" "204" "its retry, retryContext under payload: 204"
is "$(queued avi:bitbucket:created:pullrequest)" "2" "queued once"
is "$(send pr-updated pr=8)" "204" "avi:bitbucket:updated:pullrequest: 204"
is "$(queued avi:bitbucket:updated:pullrequest)" "1" "queued"
n=$(queued avi:)
is "$(send scheduled system=1)" "204" "a scheduled trigger with a new system token: 204"
is "$(queued avi:)" "$n" "a scheduled trigger queues nothing"

# ================================================================ the simulator's REST routes
SYS="$(ctl "$FORGE/_ctl/system?inst=$INST")"
rest() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${@:2}" "$FORGE$1"; }
is "$(rest "/2.0/repositories/$WS/$REPO/pullrequests/7" -H "Authorization: Bearer $SYS")" "200" \
    "simulator: GET a pull request with the system token it handed out: 200"
is "$(rest "/2.0/repositories/$WS/$REPO/pullrequests/7")" "401" "simulator: without a token: 401"
is "$(rest "/2.0/repositories/$WS/$REPO/pullrequests/7" -H "Authorization: Bearer $(ctl "$FORGE/_ctl/fit?case=good")")" \
    "401" "simulator: a FIT instead of the system token: 401"
EXPIRED="$(ctl "$FORGE/_ctl/system?inst=$INST&exp=$(($(date +%s) - 10))")"
is "$(rest "/2.0/repositories/$WS/$REPO/pullrequests/7" -H "Authorization: Bearer $EXPIRED")" "401" \
    "simulator: an expired system token: 401"
CLOUD="$(json "$IT_TMP/info.json" 'j.cloudId')"
is "$(rest "/ex/jira/$CLOUD/rest/api/3/issue/KEY-1" -H "Authorization: Bearer $SYS")" "200" \
    "simulator: GET a Jira issue under apiBaseUrl's own path with the system token: 200"

# ================================================================ the handlers' calls (acctl worker)
if "$ACCTL" worker --list 2>/dev/null | grep -q 'avi:bitbucket:created:pullrequest'; then
	ctl "$FORGE/_ctl/calls" >"$IT_TMP/calls.json"
	before="$(json "$IT_TMP/calls.json" 'j.length')"
	run_user_prefix
	"${RUN_PREFIX[@]}" "$ACCTL" worker --once >>"$IT_TMP/logs/worker.log" 2>&1
	# only the calls the worker made
	ctl "$FORGE/_ctl/calls" | "$NODE" -e 'let s = ""; process.stdin.on("data", (d) => { s += d; })
	    .on("end", () => console.log(JSON.stringify(JSON.parse(s).slice(Number(process.argv[1])))))' "$before" \
	    >"$IT_TMP/calls.json"
	check "the handlers called the simulator's Bitbucket REST routes" \
	    test "$(json "$IT_TMP/calls.json" 'j.filter((c) => c.path.startsWith("/2.0/repositories/")).length')" -gt 0
	is "$(json "$IT_TMP/calls.json" 'j.filter((c) => c.auth !== "system").map((c) => c.method + " " + c.path + " " + c.auth).join(", ")')" \
	    "" "every call of the handlers carried the system token the simulator handed out"
	is "$(json "$IT_TMP/calls.json" 'j.filter((c) => c.method === "POST" && /pullrequests\/7\/comments$/.test(c.path)).length')" "1" \
	    "the title rule commented once on pull request 7 (\"Fix\")"
	is "$(json "$IT_TMP/calls.json" 'j.filter((c) => c.method === "POST" && /pullrequests\/8\/comments$/.test(c.path)).length')" "1" \
	    "pull request 8, created then updated with the same title: one comment"
	is "$(json "$IT_TMP/calls.json" 'j.filter((c) => c.method === "POST" && /statuses\/build$/.test(c.path)).length > 0')" "true" \
	    "and posted a build status on the source commit"
else
	# TODO(issue 15 item 6): the Forge event handlers are built on branch arch-forge-out
	skip "the handlers' calls: no handler for avi:bitbucket:created:pullrequest in this build"
fi

# ================================================================ merge checks (forge-remote.fcgi)
if [ -x "$top_builddir/src/fcgi/forge-remote.fcgi" ]; then
	mc() { send merge-check "pr=$1" /forge/merge-check; }
	ctl "$FORGE/_ctl/pr?id=21&title=feat(parser):%20accept%20empty%20arrays" >/dev/null
	is "$(mc 21)" "200" "merge check of a good title: 200"
	is "$(json "$IT_TMP/send.json" 'JSON.parse(j.body).success')" "true" "success: true"
	ctl "$FORGE/_ctl/pr?id=22&title=wip" >/dev/null
	mc 22 >/dev/null
	is "$(json "$IT_TMP/send.json" 'JSON.parse(j.body).success')" "false" "a title against the rule: success: false"
	check "with a message that names the title" sh -c "grep -q 'wip' '$IT_TMP/send.json'"
	ctl "$FORGE/_ctl/calls" >"$IT_TMP/calls.json"
	is "$(json "$IT_TMP/calls.json" 'j.filter((c) => /pullrequests\/2[12]$/.test(c.path)).map((c) => c.auth).join(" ")')" \
	    "system system" "each pull request fetched with the system token the simulator handed out"
	ctl "$FORGE/_ctl/pr?id=23&title=feat:%20slow&delay=8000" >/dev/null
	t0=$(date +%s)
	mc 23 >/dev/null
	t1=$(date +%s)
	is "$(json "$IT_TMP/send.json" 'JSON.parse(j.body).success')" "false" \
	    "Bitbucket slower than the 4 s budget: success: false"
	check "answered in $((t1 - t0)) s, before the product (8 s)" test $((t1 - t0)) -lt 8
	is "$(send merge-check "pr=21&case=expired" /forge/merge-check)" "401" "a merge check with an expired FIT: 401"
else
	# TODO(issue 15 item 5): forge-remote.fcgi is built on branch arch-forge-remote; these run once it is on main
	skip "merge checks: forge-remote.fcgi not built"
fi

leaked=0 n=0
while read -r t; do
	n=$((n + 1))
	! grep -rqF -- "$t" "$IT_TMP/logs" "$IT_TMP/nginx/error.log" 2>/dev/null || leaked=1
done < <(ctl "$FORGE/_ctl/system-tokens")
is "$leaked" "0" "none of the $n system tokens the simulator made is in any log"

it_stop_all || not_ok "every process stopped by PID"
done_testing
