#!/bin/bash
# client-api.sh: `acctl api` and the outbound client against the simulator: tenants installed
# through the real nginx + installed.fcgi, calls verified by atlassian-jwt (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
SIM="$top_srcdir/tests/sim/sim.js"
VALGRIND="${VALGRIND:-}"

it_setup
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/installed.fcgi" ] || skip_all "installed.fcgi not built"

it_stage_programs "$IT_TMP/libexec"
mkdir -p "$IT_TMP/sim"

it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

start_stack() {
	it_stop_app
	rm -f "$IT_TMP"/run/*.sock
	PORT=
	it_port
	export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_PRODUCT="$1" AC_DATA_DIR="$IT_TMP/data"
	export AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS="127.0.0.1,bitbucket.org,api.bitbucket.org"
	export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_SYNC=full
	unset AC_CONFIG AC_DESCRIPTOR
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	it_nginx pool || { not_ok "$1: nginx and the programs start"; it_logs; done_testing; }
}

control() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$1" "$SIM_URL/_sim/control"; }
reset() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "$SIM_URL/_sim/reset"; }
# requests PATH-REGEX: the simulator's record of requests whose url matches, into $IT_TMP/req.json
requests() { curl -s -G --data-urlencode "path=$1" "$SIM_URL/_sim/requests" >"$IT_TMP/req.json"; }
# api ARGS...: acctl api; stdout to $OUT, stderr to $ERR, exit status to $RC
OUT="$IT_TMP/api.out"
ERR="$IT_TMP/api.err"
api() {
	$VALGRIND "$ACCTL" api "$@" >"$OUT" 2>"$ERR"
	RC=$?
	cat "$ERR" >>"$IT_TMP/logs/acctl.log"
}
sim_secret() { json "$IT_TMP/sim/tenants.json" "(j['$1'] || {}).sharedSecret || ''"; }
# no_token FILE...: no compact JWT (three base64url segments) in the files
no_token() { ! grep -Eq 'eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}' "$@"; }

# ================================================================ Bitbucket
start_stack bitbucket
it_drive "bitbucket: install bb-api" 204 install --product bitbucket --client-key bb-api

reset
api GET /2.0/user
is "$RC $(head -n 1 "$OUT")" "0 HTTP 200" "acctl api GET /2.0/user: one tenant, no --tenant needed, HTTP 200, exit 0"
is "$(tail -n +2 "$OUT" | json /dev/stdin 'j.clientKey')" "bb-api" "the body is printed after the status line"
requests '/api/2.0/user'
is "$(json "$IT_TMP/req.json" 'j.length + " " + j[0].route + " " + j[0].verification.ok')" "1 bitbucket-rest true" \
	"the simulator verified the call with atlassian-jwt"
is "$(json "$IT_TMP/req.json" '[j[0].verification.claims.iss, j[0].verification.claims.sub, j[0].verification.claims.exp - j[0].verification.claims.iat].join(" ")')" \
	"it-app bb-api 180" "iss is the app key, sub the clientKey, lifetime 180 s"
is "$(json "$IT_TMP/req.json" 'j[0].headers.authorization')" "JWT <redacted>" "the scheme is exactly 'JWT'"
"$NODE" -e 'const a=require(process.argv[1]);process.stdout.write(a.createQueryStringHash(a.fromMethodAndUrl("GET","/2.0/user")))' \
	"$top_srcdir/tests/sim/node_modules/atlassian-jwt" >"$IT_TMP/qsh.want" 2>/dev/null
is "$(json "$IT_TMP/req.json" 'j[0].verification.claims.qsh')" "$(cat "$IT_TMP/qsh.want")" \
	"the qsh is atlassian-jwt's for GET /2.0/user (the /api context path not hashed)"
check "the call is logged (method, path, status, ms) without a token" \
	eval 'grep -Eq "api bb-api GET /2.0/user -> 200 \([0-9]+ ms\)" "$ERR" && no_token "$ERR"'

api -v GET /2.0/user
check "-v: the canonical request GET&/2.0/user&" grep -qxF '* canonical request: GET&/2.0/user&' "$ERR"
check "-v: the claims signed" eval 'grep -q "^\* claims: .*\"iss\":\"it-app\".*\"sub\":\"bb-api\"" "$ERR"'
check "-v: the headers sent, the token shortened" eval 'grep -Eq "^> Authorization: JWT eyJ[A-Za-z0-9_-]{9}\.\.\. \([0-9]+ bytes\)$" "$ERR"'
check "-v: no whole token and no secret in the output" eval 'no_token "$OUT" "$ERR" && ! grep -qF "$(sim_secret bb-api)" "$OUT" "$ERR"'

reset
api GET '/2.0/repositories/ws/repo/commits?include=abc&exclude=def&z=a+b'
requests '/commits'
is "$RC $(json "$IT_TMP/req.json" 'j[0].verification.ok')" "0 true" "a query string is part of the qsh and verifies"

reset
api POST /2.0/repositories/ws/repo/commit/1111111111111111111111111111111111111111/statuses/build \
	--data '{"key":"k1","state":"SUCCESSFUL","name":"n"}'
is "$RC $(head -n 1 "$OUT")" "0 HTTP 201" "--data JSON: POST is signed and sent (HTTP 201)"
curl -s "$SIM_URL/_sim/store" >"$IT_TMP/store.json"
is "$(json "$IT_TMP/store.json" 'j.statuses["ws/repo/1111111111111111111111111111111111111111/k1"].state')" "SUCCESSFUL" \
	"the simulator stored the body"
echo '{"content":{"raw":"hello"}}' >"$IT_TMP/comment.json"
api POST /2.0/repositories/ws/repo/pullrequests/9/comments --data @"$IT_TMP/comment.json"
is "$RC $(head -n 1 "$OUT")" "0 HTTP 201" "--data @FILE"
api POST /2.0/repositories/ws/repo/pullrequests/9/comments --data '{"content":'
is "$RC" "2" "--data that is not JSON is a usage error (exit 2)"

api GET /2.0/nothing-here
is "$RC $(head -n 1 "$OUT")" "1 HTTP 404" "a 404 prints the status and exits 1"
api
is "$RC" "2" "no METHOD PATH: usage, exit 2"
api GET 2.0/user
is "$RC" "2" "a PATH without a leading '/': exit 2"
api --help
is "$RC $(grep -c 'acctl api' "$OUT")" "0 1" "--help prints the usage, exit 0"

# 401 once: the tenant is read again and the call re-signed, once
reset
control '{"fail":[{"path":"/2.0/user","status":401,"times":1}]}'
api GET /2.0/user
requests '/api/2.0/user'
is "$RC $(head -n 1 "$OUT") $(json "$IT_TMP/req.json" 'j.length + " " + j[0].injected + " " + j[1].verification.ok')" \
	"0 HTTP 200 2 401 true" "a 401 is re-signed once and then succeeds"
reset
control '{"fail":[{"path":"/2.0/user","status":401}]}'
api GET /2.0/user
requests '/api/2.0/user'
is "$RC $(head -n 1 "$OUT") $(json "$IT_TMP/req.json" 'j.length')" "1 HTTP 401 2" "a lasting 401: one re-sign, no more"
reset

# the response size cap (4 MiB): a larger answer is refused as it arrives, not printed
control '{"fail":[{"path":"/2.0/user","status":200,"body":"xxxxxxxxxxxxxxxx","repeat":327680}]}'
api GET /2.0/user
is "$RC $(grep -c 'response larger than 4194304 bytes' "$ERR") $(wc -c <"$OUT")" "1 1 0" \
	"an answer over 4 MiB: exit 1, 'response larger than' said, no body printed"
control '{"fail":[{"path":"/2.0/user","status":200,"body":"xxxxxxxxxxxxxxxx","repeat":262144}]}'
api GET /2.0/user
is "$RC $(head -n 1 "$OUT") $(tail -n +2 "$OUT" | tr -d '\n' | wc -c)" "0 HTTP 200 4194304" \
	"an answer of exactly 4 MiB is printed whole"
reset

# a secret rotated by a reinstall after nothing else changed: the stored one is used
it_drive "bitbucket: reinstall bb-api (secret rotated)" 204 install --client-key bb-api --sign stored
api GET /2.0/user
is "$RC" "0" "after a reinstall the new secret signs"

it_drive "bitbucket: install a second tenant" 204 install --product bitbucket --client-key bb-two
api GET /2.0/user
is "$RC" "2" "two tenants and no --tenant: exit 2"
api --tenant bb-two GET /2.0/user
requests '/api/2.0/user'
is "$RC $(json "$IT_TMP/req.json" 'j[j.length-1].verification.claims.sub')" "0 bb-two" "--tenant picks the tenant"
api --tenant bb-nobody GET /2.0/user
is "$RC" "1" "an unknown tenant: exit 1"

it_drive "bitbucket: uninstall bb-two" 204 uninstall --client-key bb-two
reset
api --tenant bb-two GET /2.0/user
requests '/api/2.0/user'
check "an uninstalled tenant is not called (tenant_uninstalled, exit 1)" \
	eval '[ "$RC" = 1 ] && grep -q tenant_uninstalled "$ERR" && [ "$(json "$IT_TMP/req.json" "j.length")" = 0 ]'

# tenants with API bases the policy refuses, imported as records (an install would refuse them)
"$ACCTL" tenant export | "$NODE" -e '
	const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").map(JSON.parse);
	const t = lines.find((r) => r.clientKey === "bb-api");
	const mk = (ck, api) => JSON.stringify({ ...t, clientKey: ck, baseApiUrl: api });
	console.log([mk("bb-plain", "http://api.bitbucket.org"), mk("bb-other", "https://api.example.com"),
		mk("bb-lo2", process.argv[1].replace("127.0.0.1", "127.0.0.2") + "/api")].join("\n"));
' "$SIM_URL" >"$IT_TMP/odd.jsonl"
"$ACCTL" tenant import "$IT_TMP/odd.jsonl" >/dev/null 2>&1
reset
api --tenant bb-plain GET /2.0/user
is "$RC $(grep -c host_not_allowed "$ERR")" "1 1" "plain http to a non-loopback host is refused"
api --tenant bb-other GET /2.0/user
is "$RC $(grep -c host_not_allowed "$ERR")" "1 1" "https to a host not in AC_ALLOWED_HOSTS is refused"
api --tenant bb-lo2 GET /2.0/user
is "$RC $(grep -c host_not_allowed "$ERR")" "1 1" "http to a loopback host the allow-list does not name is refused"
requests '.'
is "$(json "$IT_TMP/req.json" 'j.length')" "0" "none of them reached the network"

# ================================================================ Jira
start_stack jira
it_drive "jira: install jira-api" 204 install --product jira --client-key jira-api
reset
api -v --tenant jira-api GET /rest/api/3/issue/TEST-1
is "$RC $(head -n 1 "$OUT") $(tail -n +2 "$OUT" | json /dev/stdin 'j.key')" "0 HTTP 200 TEST-1" \
	"jira: acctl api GET /rest/api/3/issue/TEST-1"
requests '/rest/api/3/issue/TEST-1'
is "$(json "$IT_TMP/req.json" '[j[0].path, j[0].route, j[0].verification.ok, j[0].verification.claims.iss].join(" ")')" \
	"/jira/rest/api/3/issue/TEST-1 jira-rest true it-app" "jira: sent under the /jira context, verified, iss the app key"
check "jira: the qsh excludes the /jira context path" grep -qxF '* canonical request: GET&/rest/api/3/issue/TEST-1&' "$ERR"
is "$(json "$IT_TMP/req.json" 'j[0].verification.claims.sub === undefined')" "true" "jira: no sub claim"

check "no log of the run holds a token" no_token "$IT_TMP/logs/acctl.log"

[ "$T_FAILED" -eq 0 ] || it_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
