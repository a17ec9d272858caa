#!/bin/bash
# handlers.sh: the reference event handlers (PR title, commit messages, Jira issue) run by
# tests/unit/handler-run on payloads for tenants installed through nginx, calling the simulator (TAP).
. "$top_srcdir/tests/integration/lib.sh"

SIM="$top_srcdir/tests/sim/sim.js"
RUN="$top_builddir/tests/unit/handler-run"
VALGRIND="${VALGRIND:-}"

it_setup
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/installed.fcgi" ] || skip_all "installed.fcgi not built"
[ -x "$RUN" ] || skip_all "tests/unit/handler-run not built (make check builds it)"

it_stage_programs "$IT_TMP/libexec"
mkdir -p "$IT_TMP/sim" "$IT_TMP/p"

it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

start_stack() {
	it_stop_app
	rm -f "$IT_TMP"/run/*.sock
	PORT=
	it_port
	export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_PRODUCT="$1" AC_DATA_DIR="$IT_TMP/data"
	export AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS="127.0.0.1,bitbucket.org,api.bitbucket.org"
	export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_SYNC=full
	unset AC_CONFIG AC_DESCRIPTOR AC_COMMIT_PATTERN AC_PR_TITLE_PATTERN
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	it_nginx pool || { not_ok "$1: nginx and the programs start"; it_logs; done_testing; }
}

control() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$1" "$SIM_URL/_sim/control"; }
reset() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "$SIM_URL/_sim/reset"; }
requests() { curl -s -G --data-urlencode "path=$1" "$SIM_URL/_sim/requests" >"$IT_TMP/req.json"; }
store() { curl -s "$SIM_URL/_sim/store" >"$IT_TMP/store.json"; json "$IT_TMP/store.json" "$1"; }
# run CLIENTKEY EVENT PAYLOAD-NAME: handler-run; its output line in $RES, exit status in $RC
run() {
	RES="$($VALGRIND "$RUN" "$1" "$2" "$IT_TMP/p/$3.json" 2>>"$IT_TMP/logs/handler-run.log")"
	RC=$?
}
# every product request since the last reset verified by atlassian-jwt
all_verified() {
	requests '.'
	[ "$(json "$IT_TMP/req.json" 'j.length > 0 && j.every((e) => e.verification && e.verification.ok)')" = true ]
}

# payload NAME JS: the fixture (j) changed by JS, written to $IT_TMP/p/NAME.json
payload() {
	"$NODE" -e '
		const fs = require("fs");
		const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
		(0, eval)("(j) => {" + process.argv[2] + "}")(j);
		fs.writeFileSync(process.argv[3], JSON.stringify(j));
	' "$top_srcdir/tests/sim/payloads/$1" "$2" "$IT_TMP/p/$3.json"
}
H40() { printf "%040d" 0 | tr 0 "$1"; }
A=$(H40 a) B=$(H40 b) C=$(H40 c) D=$(H40 d) E=$(H40 e) F=$(H40 f) G=$(H40 3) K=$(H40 4)
ST=example-workspace/example-repo

payload bitbucket-webhook-pullrequest-created.json '' pr-bad
payload bitbucket-webhook-pullrequest-created.json 'j.data.pullrequest.title = "feat: add and run linters"' pr-good
payload bitbucket-webhook-pullrequest-created.json 'j.data.pullrequest.title = "Another bad title"' pr-bad2
payload bitbucket-webhook-pullrequest-created.json '' pr-bare
"$NODE" -e 'const fs=require("fs");const j=JSON.parse(fs.readFileSync(process.argv[1]));j.data.pullrequest.id=10;fs.writeFileSync(process.argv[1],JSON.stringify(j.data))' "$IT_TMP/p/pr-bare.json"
cat >"$IT_TMP/p/commits.js" <<EOF
const c = (hash, message, parents) => ({ type: "commit", hash, message,
	parents: Array.from({ length: parents }, (_, i) => ({ hash: String(i).repeat(40), type: "commit" })) });
EOF
COMMITS="$(cat "$IT_TMP/p/commits.js")"
payload bitbucket-webhook-repo-push.json "$COMMITS
	j.data.push.changes[0].commits = [c('$A', 'feat: add linters\n\nbody', 1), c('$B', 'run linters\n', 1),
		c('$C', 'Merge branch \'x\' into main\n', 2), c('$D', 'Revert \"feat: add linters\"\n\nThis reverts.', 1)];" push
payload bitbucket-webhook-repo-push.json "
	const ch = j.data.push.changes[0];
	ch.truncated = true; ch.commits = []; ch.new.target.hash = '$E'; ch.old = { type: 'branch', target: { hash: '$F' } };" push-trunc

# ================================================================ Bitbucket
start_stack bitbucket
it_drive "bitbucket: install bb-h" 204 install --product bitbucket --client-key bb-h

reset
run bb-h pullrequest:created pr-bad
is "$RC $RES" "0 ok" "PR created with a bad title: the handler is done"
is "$(store 'j.comments.filter((c) => c.kind === "pullrequest").map((c) => c.target).join(",")')" "9" \
	"one comment on PR 9"
check "the comment explains the rule" eval '[ "$(store "/does not match/.test(j.comments[0].raw) && j.comments[0].raw.includes(\"feat\")")" = true ]'
is "$(store "j.statuses['$ST/1111111111111111111111111111111111111111/connect-fcgi-title'].state")" "FAILED" \
	"FAILED build status on the full 40-character source hash"
requests '/commit/111111111111$'
is "$(json "$IT_TMP/req.json" 'j.length')" "1" "the full hash was fetched (the payload has 12 characters)"
check "every call was verified by atlassian-jwt" all_verified

run bb-h pullrequest:updated pr-bad
is "$RC $RES $(store 'j.comments.length')" "0 ok 1" "the same title updated: no second comment"
run bb-h pullrequest:created pr-bad
is "$RC $RES $(store 'j.comments.length')" "0 ok 1" "the same event run again (a retry): no second comment"
run bb-h pullrequest:updated pr-good
is "$RC $(store "j.statuses['$ST/1111111111111111111111111111111111111111/connect-fcgi-title'].state") $(store 'j.comments.length')" \
	"0 SUCCESSFUL 1" "a good title: SUCCESSFUL, no comment"
run bb-h pullrequest:updated pr-bad2
is "$RC $(store 'j.comments.length')" "0 2" "another bad title: one more comment"
run bb-h pullrequest:created pr-bare
is "$RC $(store 'j.comments.filter((c) => c.target === "10").length')" "0 1" "a bare payload (no envelope) works too"

reset
run bb-h repo:push push
is "$RC $RES" "0 ok" "repo:push: the handler is done"
is "$(store "['$A','$B','$C','$D'].map((h) => (j.statuses['$ST/' + h + '/connect-fcgi-commit'] || {}).state).join(' ')")" \
	"SUCCESSFUL FAILED SUCCESSFUL SUCCESSFUL" "a good message passes, a bad one FAILS, a merge and a Revert pass"
is "$(store 'j.comments.map((c) => c.kind + ":" + c.target).join(",")')" "commit:$B" "one commit comment, on the bad commit"
check "every call was verified by atlassian-jwt" all_verified
run bb-h repo:push push
is "$RC $(store 'j.comments.length')" "0 1" "the push run again: no second commit comment"

reset
run bb-h repo:push push-trunc
requests '/commits\?'
is "$RC $(json "$IT_TMP/req.json" 'j.length + " " + j[0].query.include + " " + j[0].query.exclude')" "0 1 $E $F" \
	"a truncated push fetches its commits (include new, exclude old)"
is "$(store "(j.statuses['$ST/$E/connect-fcgi-commit'] || {}).state")" "FAILED" \
	"the fetched commit is checked ('simulated commit' fails)"

reset
control "{\"fail\":[{\"path\":\"/commits\\\\?include\",\"status\":200,\"times\":1,\"body\":{\"pagelen\":1,
	\"values\":[{\"hash\":\"$G\",\"message\":\"docs: page one\",\"parents\":[]}],
	\"next\":\"$SIM_URL/api/2.0/repositories/$ST/commits?include=$K&page=2\"}}]}"
run bb-h repo:push push-trunc
requests '/commits\?'
is "$RC $(json "$IT_TMP/req.json" 'j.length + " " + (j[1] || {}).url')" "0 2 /api/2.0/repositories/$ST/commits?include=$K&page=2" \
	"the next page is followed within the API base"
is "$(store "[(j.statuses['$ST/$G/connect-fcgi-commit'] || {}).state, (j.statuses['$ST/$K/connect-fcgi-commit'] || {}).state].join(' ')")" \
	"SUCCESSFUL FAILED" "commits of both pages are checked"
reset
control "{\"fail\":[{\"path\":\"/commits\\\\?include\",\"status\":200,\"times\":1,\"body\":{\"values\":[],
	\"next\":\"https://evil.example.com/2.0/repositories/$ST/commits?page=2\"}}]}"
run bb-h repo:push push-trunc
requests '/commits'
is "$RC $(json "$IT_TMP/req.json" 'j.length')" "0 1" "a next page on another host is not followed"

# a side effect once: a run killed after the product took its comment and before it was noted
comments_on() { store "j.comments.filter((c) => c.target === '$1').length"; }
# run_killed CLIENTKEY EVENT PAYLOAD PATH TARGET: handler-run, SIGKILLed once the simulator stored its
# comment on TARGET (the answer to the POST .../PATH/comments is held back: killed while it waits)
run_killed() {
	local pid i
	control "{\"hold\":[{\"path\":\"/$4/comments\$\",\"method\":\"POST\",\"ms\":60000}]}"
	"$RUN" "$1" "$2" "$IT_TMP/p/$3.json" >/dev/null 2>>"$IT_TMP/logs/handler-run.log" &
	pid=$!
	for i in $(seq 100); do [ "$(comments_on "$5")" = 1 ] && break; sleep 0.1; done
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	control '{"hold":[]}'
}
for n in 21 22 23; do
	payload bitbucket-webhook-pullrequest-created.json "j.data.pullrequest.id = $n; j.data.pullrequest.title = 'Bad title $n'" "pr-$n"
done
reset
run_killed bb-h pullrequest:created pr-21 pullrequests/21 21
is "$(comments_on 21)" "1" "a run killed while the product answers its comment: the comment is there"
run bb-h pullrequest:created pr-21
is "$RC $RES $(comments_on 21)" "0 ok 1" "the run again finds its comment on the product and posts no second one"
requests '/pullrequests/21/comments'
is "$(json "$IT_TMP/req.json" 'j.map((e) => e.method + (e.query.sort || "")).join(",")')" "GET-created_on,POST,GET-created_on" \
	"each run looked at the comments (newest first) before posting; the second did not post"
check "the comment carries its marker, not rendered (a link reference definition)" \
	eval '[ "$(store "/\\n\\[\\/\\/\\]: # \"connect-fcgi:pr-title:[0-9a-f]{32}\"\\n\$/.test(j.comments[0].raw)")" = true ]'
is "$(store "j.statuses['$ST/1111111111111111111111111111111111111111/connect-fcgi-title'].state")" "FAILED" \
	"the build status (idempotent by key) is posted by the run again"
run bb-h pullrequest:updated pr-21
requests '/pullrequests/21/comments'
is "$RC $(comments_on 21) $(json "$IT_TMP/req.json" 'j.length')" "0 1 3" "found once, noted: no call at all the next time"

reset
run_killed bb-h pullrequest:created pr-22 pullrequests/22 22
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$SIM_URL/_sim/comments" \
	-d '{"kind":"pullrequest","workspace":"example-workspace","repo":"example-repo","target":"22","raw":"LGTM","count":60}'
run bb-h pullrequest:created pr-22
requests '/pullrequests/22/comments'
is "$RC $(comments_on 22) $(json "$IT_TMP/req.json" 'j.filter((e) => e.method === "GET").map((e) => e.query.page || 1).join(",")')" \
	"0 61 1,1,2" "behind 60 newer comments: found on the second page (next followed), no second comment"

reset
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$SIM_URL/_sim/comments" \
	-d '{"kind":"pullrequest","workspace":"example-workspace","repo":"example-repo","target":"23","raw":"hm","count":520}'
run bb-h pullrequest:created pr-23
requests '/pullrequests/23/comments'
is "$RC $(comments_on 23) $(json "$IT_TMP/req.json" 'j.map((e) => e.method).join(",")')" \
	"0 521 GET,GET,GET,GET,GET,GET,GET,GET,GET,GET,POST" "the search is bounded: 10 pages of 50 read, then it posts"

P=$(H40 5)
payload bitbucket-webhook-repo-push.json "$COMMITS
	j.data.push.changes[0].commits = [c('$A', 'feat: add linters', 1), c('$P', 'no rule here\n', 1)];" push-p
reset
run_killed bb-h repo:push push-p "commit/$P" "$P"
run bb-h repo:push push-p
requests "/commit/$P/comments"
is "$RC $RES $(comments_on "$P") $(json "$IT_TMP/req.json" 'j.map((e) => e.method).join(",")')" "0 ok 1 GET,POST,GET" \
	"a push run again after a kill: its commit comment is found, not posted twice"
is "$(store "['$A','$P'].map((h) => (j.statuses['$ST/' + h + '/connect-fcgi-commit'] || {}).state).join(' ')")" \
	"SUCCESSFUL FAILED" "the statuses are posted again (idempotent by key)"
# failures: what the worker will retry, and what it will not
reset
control '{"fail":[{"path":"/statuses/build$","status":500}]}'
run bb-h pullrequest:updated pr-good
is "$RC $RES" "1 upstream_error" "a 500 from the API: a retryable error"
reset
control '{"fail":[{"path":"/statuses/build$","status":429,"retryAfter":42}]}'
run bb-h pullrequest:updated pr-good
is "$RC $RES" "1 upstream_error retry_after=42" "a 429 with Retry-After: retryable, retry_after set"
reset
# RFC 9110 10.2.3: the HTTP-date form too (libcurl's CURLINFO_RETRY_AFTER)
ra_date="$(LC_ALL=C date -u -d '+120 seconds' '+%a, %d %b %Y %H:%M:%S GMT')"
control '{"fail":[{"path":"/statuses/build$","status":503,"retryAfter":"'"$ra_date"'"}]}'
run bb-h pullrequest:updated pr-good
ra="${RES##*retry_after=}"
check "a 503 with Retry-After as an HTTP-date 120 s ahead: retry_after $ra (60..120)" \
	eval '[ "$RC" = 1 ] && [ "${RES%% *}" = upstream_error ] && [ "$ra" -ge 60 ] 2>/dev/null && [ "$ra" -le 120 ]'
reset
control '{"fail":[{"path":"/statuses/build$","status":429,"retryAfter":"soon"}]}'
run bb-h pullrequest:updated pr-good
is "$RC $RES" "1 upstream_error" "a Retry-After that is neither seconds nor a date is none"
reset
control '{"fail":[{"path":"/statuses/build$","status":"close"}]}'
run bb-h pullrequest:updated pr-good
is "$RC $RES" "1 upstream_error" "a connection closed without an answer: retryable"
reset
control '{"fail":[{"path":"/statuses/build$","status":400}]}'
run bb-h pullrequest:updated pr-good
is "$RC $RES" "1 bad_request" "a 400 from the API: permanent"
reset
control '{"fail":[{"path":"/pullrequests/9/comments$","status":500,"times":1}]}'
run bb-h pullrequest:updated pr-bad
is "$RC $RES" "0 ok" "a title already commented is not commented again (no call to fail)"
payload bitbucket-webhook-pullrequest-created.json 'j.data.pullrequest.title = "Third bad title"' pr-bad3
run bb-h pullrequest:updated pr-bad3
is "$RC $RES $(store 'j.comments.length')" "1 upstream_error 0" "a failed comment: retryable, nothing noted"
run bb-h pullrequest:updated pr-bad3
is "$RC $RES $(store 'j.comments.length')" "0 ok 1" "the retry comments once"
reset
it_drive "bitbucket: uninstall bb-h" 204 uninstall --client-key bb-h
run bb-h pullrequest:updated pr-good
requests '.'
is "$RC $RES $(json "$IT_TMP/req.json" 'j.length')" "1 bad_request 0" "an uninstalled tenant: permanent, no call"

# ================================================================ Jira
start_stack jira
it_drive "jira: install jira-h" 204 install --product jira --client-key jira-h
payload jira-webhook-issue-updated.json 'j.webhookEvent = "jira:issue_created"' jira
reset
run jira-h jira:issue_created jira
requests '/rest/api/3/issue/'
is "$RC $RES $(json "$IT_TMP/req.json" '[j.length, j[0].path, j[0].verification.ok].join(" ")')" \
	"0 ok 1 /jira/rest/api/3/issue/PROJ-1 true" "jira:issue_created fetches the issue, signed and verified"
check "the summary is logged" grep -q 'jira issue PROJ-1 of jira-h: summary: Simulated issue' "$IT_TMP/logs/handler-run.log"
check "no log holds a token" \
	eval '! grep -Eq "eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}" "$IT_TMP/logs/handler-run.log"'

[ "$T_FAILED" -eq 0 ] || it_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
