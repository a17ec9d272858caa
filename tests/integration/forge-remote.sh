#!/bin/bash
# forge-remote.sh: forge-remote.fcgi through the real nginx pool: Bitbucket merge checks answered by
# the pull request title rule on the pull request fetched with the app system token from a fake
# Bitbucket on loopback (passes, fails, product silent past the 4 s budget, no token), refusals
# with their fit_ code, GET /forge/remote/installation without a secret, and 404 for every Forge
# route when AC_FORGE_APP_ID is empty. FITs are signed with npm jose (tests/sim/forge-jwks.js) (TAP).
. "$top_srcdir/tests/integration/lib.sh"

it_setup
forge_need forge-remote

UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
APP=ari:cloud:ecosystem::app/$UUID
INST=ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)
INST2=ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)

it_stage_programs "$IT_TMP/libexec"
mkdir -p "$IT_TMP/product"
forge_start "the Forge JWKS server" "$top_srcdir/tests/sim/forge-jwks.js" "$IT_TMP/forge" "$APP"

ctl() { curl -s --max-time 10 "$@"; }
fit() { ctl "$FORGE/_ctl/fit?case=$1&inst=${2:-$INST}&api=$PRODUCT"; }

# start_stack [APP_ID]: nginx + programs on a fresh port and a fresh data dir
start_stack() {
	forge_restart "${1-$UUID}"
	export AC_PR_TITLE_PATTERN='^(feat|fix)(\([a-z]+\))?: .+'
	forge_nginx
}
CHECK='{"workspace":{"uuid":"{ws-1}"},"repository":{"uuid":"{r-1}"},"pullrequest":{"id":7},"trigger":{"type":"on-merge"}}'
# check TOKEN [SYSTEM-TOKEN]: POST /forge/merge-check; STATUS, BODY
check_merge() {
	local extra=()
	[ -z "${2:-}" ] || extra=(-H "x-forge-oauth-system: $2")
	http POST /forge/merge-check -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
	    "${extra[@]}" --data-binary "$CHECK"
}
verdict() { json "$BODY" 'j.success + " " + j.message'; }

start_stack
# (started after the stack: it_stop_app keeps only the first process, the JWKS server)
# Bitbucket's pull request, as $IT_TMP/product/title says; $IT_TMP/product/silent: never answered.
# Each request's path and Authorization header are appended to $IT_TMP/product/seen.
"$NODE" -e '
const fs = require("fs"), http = require("http"), d = process.argv[1];
const s = http.createServer((req, res) => {
	fs.appendFileSync(d + "/seen", req.method + " " + req.url + " " + (req.headers.authorization || "-") + "\n");
	if (fs.existsSync(d + "/silent"))
		return; /* held, never answered */
	const m = /^\/2\.0\/repositories\/[^/]+\/[^/]+\/pullrequests\/([0-9]+)$/.exec(req.url);
	res.writeHead(m ? 200 : 404, { "Content-Type": "application/json" });
	res.end(m ? JSON.stringify({ id: Number(m[1]), title: fs.readFileSync(d + "/title", "utf8") }) : "{}");
});
s.listen(0, "127.0.0.1", () => fs.writeFileSync(d + "/url", "http://127.0.0.1:" + s.address().port));
' "$IT_TMP/product" >"$IT_TMP/logs/product.out" 2>"$IT_TMP/logs/product.log" &
IT_PIDS+=("$!")
for _ in $(seq 100); do
	[ -s "$IT_TMP/product/url" ] && break
	sleep 0.1
done
PRODUCT="$(cat "$IT_TMP/product/url" 2>/dev/null)"
[ -n "$PRODUCT" ] || { not_ok "the fake Bitbucket starts"; it_logs; done_testing; }
SYS=$(ctl "$FORGE/_ctl/system?exp=$(($(date +%s) + 7200))")
printf '%s' 'feat(parser): accept empty arrays' >"$IT_TMP/product/title"
check_merge "$(fit good)" "$SYS"
is "$STATUS $(json "$BODY" 'j.success')" "200 true" "merge check, a title that follows the rule: success true"
check "Bitbucket was asked for the pull request with the app system token" \
    grep -qxF "GET /2.0/repositories/%7Bws-1%7D/%7Br-1%7D/pullrequests/7 Bearer $SYS" "$IT_TMP/product/seen"
printf '%s' 'Fixed it' >"$IT_TMP/product/title"
check_merge "$(fit good)"
is "$STATUS $(json "$BODY" 'j.success')" "200 false" "a title that does not: success false (with the token kept from the first call)"
check "its message names the title and the rule" \
    eval 'verdict | grep -qF "\"Fixed it\" does not match the rule" && verdict | grep -qF "^(feat|fix)"'

# the product holds the request: success false within the budget
touch "$IT_TMP/product/silent"
T0=$(date +%s%N)
check_merge "$(fit good)"
MS=$((($(date +%s%N) - T0) / 1000000))
rm -f "$IT_TMP/product/silent"
is "$STATUS $(json "$BODY" 'j.success')" "200 false" "Bitbucket silent: 200, success false"
check "its message says Bitbucket did not answer in time" eval 'verdict | grep -qF "did not answer"'
check "answered within the 4 s budget and a margin (${MS} ms)" test "$MS" -lt 6000

# an installation with no token held
check_merge "$(fit good "$INST2")"
is "$STATUS $(json "$BODY" 'j.success')" "200 false" "no system token held: success false"
check "its message says so and how to fix it" \
    eval 'verdict | grep -qF "no live app system token" && verdict | grep -qF auth.appSystemToken'

# refusals
check_merge "$(fit other-key)" "$SYS"
is "$STATUS $(json "$BODY" 'j.error')" "401 fit_signature" "a FIT signed by another key: 401 fit_signature"
check_merge "$(fit expired)"
is "$STATUS $(json "$BODY" 'j.error')" "401 fit_expired" "an expired FIT: 401 fit_expired"
http POST /forge/merge-check -H 'Content-Type: application/json' --data-binary "$CHECK"
is "$STATUS $(json "$BODY" 'j.error')" "401 fit_missing" "no FIT: 401 fit_missing"
check "the log names the code" grep -q "POST /forge/merge-check 401 .* error=fit_signature" "$IT_TMP"/logs/forge-remote.log

# the installation as a UI resolver sees it
http GET /forge/remote/installation -H "Authorization: Bearer $(fit good)"
is "$STATUS $(json "$BODY" '[j.installationId, j.environment.type, j.apiBaseUrl, j.connectTenant, j.systemToken.live].join(" ")')" \
    "200 $INST PRODUCTION $PRODUCT  true" "GET /forge/remote/installation: the installation, no Connect tenant, a live system token"
is "$(json "$BODY" 'j.systemToken.expiresIn > 7000 && j.systemToken.expiresIn <= 7200')" "true" "... and until when"
check "never the token itself" sh -c "! grep -qF -- '$SYS' '$BODY'"
http GET /forge/remote/installation -H "Authorization: Bearer $(fit good "$INST2")"
is "$STATUS $(json "$BODY" 'j.systemToken.live + " " + j.systemToken.expiresAt')" "200 false null" \
    "another installation: no token held"
http GET /forge/remote/nothing-here -H "Authorization: Bearer $(fit good)"
is "$STATUS $(json "$BODY" 'j.error')" "404 not_found" "an unknown resolver path: 404 in JSON"
leaked=0
! grep -rqF -- "$SYS" "$IT_TMP/logs" "$IT_TMP/nginx/error.log" 2>/dev/null || leaked=1
is "$leaked" "0" "no system token in any log"

# AC_FORGE_APP_ID empty: every Forge route is 404
start_stack ""
check_merge "$(fit good)" "$SYS"
is "$STATUS $(json "$BODY" 'j.error')" "404 not_found" "AC_FORGE_APP_ID empty: /forge/merge-check is 404"
http GET /forge/remote/installation -H "Authorization: Bearer $(fit good)"
is "$STATUS $(json "$BODY" 'j.error')" "404 not_found" "AC_FORGE_APP_ID empty: /forge/remote/installation is 404"

it_stop_all || not_ok "every process stopped by PID"
done_testing
