#!/bin/bash
# oauth.sh: /oauth-callback through the real nginx pool against the product simulator: the page
# token verified first, one JWT grant shared by every process, refresh near expiry, the token
# endpoint failing, escaped pages, bearer mode for the worker and acctl, Jira impersonation (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
SIM="$top_srcdir/tests/sim/sim.js"
PAYLOADS="$top_srcdir/tests/sim/payloads"

it_setup
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/oauth-callback.fcgi" ] || skip_all "oauth-callback.fcgi not built"

it_stage_programs "$IT_TMP/libexec"
mkdir -p "$IT_TMP/sim" "$IT_TMP/p" "$IT_TMP/pages"

it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

WORKER_PID=
# start_stack PRODUCT: nginx + programs (2 oauth-callback workers) on a fresh port, a fresh data dir
start_stack() {
	stop_worker
	it_stop_app
	rm -f "$IT_TMP"/run/*.sock
	rm -rf "$IT_TMP/data" && mkdir -m 0700 "$IT_TMP/data"
	[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/data"
	PORT=
	it_port
	export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_APP_NAME="Integration <b>app</b>" AC_PRODUCT="$1"
	export AC_DATA_DIR="$IT_TMP/data" AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS="127.0.0.1"
	export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_SYNC=full AC_WORKER=daemon
	export AC_BITBUCKET_TOKEN_URL="$SIM_URL/site/oauth2/access_token" AC_OAUTH_SERVER_URL="$SIM_URL"
	export AC_BITBUCKET_AUTH=jwt AC_RETRY_FOR=10 AC_RETRY_BASE_MS=200
	unset AC_CONFIG AC_DESCRIPTOR
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	it_nginx pool || { not_ok "$1: nginx and the programs start"; it_logs; done_testing; }
	if [ "$BASE" != "$AC_BASE_URL" ]; then
		diag "nginx moved to $BASE; starting again"
		start_stack "$@"
	fi
}
# start_worker [ENV=VALUE...]: `acctl worker` as the programs' user
start_worker() {
	if [ -n "$IT_UG" ]; then
		env "$@" setpriv --reuid="${IT_UG%%:*}" --regid="${IT_UG#*:}" --clear-groups -- \
			"$ACCTL" worker >>"$IT_TMP/logs/worker.log" 2>&1 &
	else
		env "$@" "$ACCTL" worker >>"$IT_TMP/logs/worker.log" 2>&1 &
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
# sim_js EXPR: evaluates EXPR with r = GET /_sim/requests
sim_js() {
	simget /_sim/requests >"$IT_TMP/requests.json"
	"$NODE" -e '
		const fs = require("fs");
		const r = JSON.parse(fs.readFileSync(process.argv[1]));
		const v = (0, eval)("(r) => (" + process.argv[2] + ")")(r);
		process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
	' "$IT_TMP/requests.json" "$1"
}
grants() { sim_js "r.filter(x => x.route === 'bitbucket-token' && x.verification && x.verification.claims && x.verification.claims.sub === '$1').length"; }
# page NAME [sim page ARGS...]: a page load by the driver; the page in pages/NAME.html, STATUS set
page() {
	local name="$1"
	shift
	"$NODE" "$SIM" page --app "$BASE" --state "$IT_TMP/sim" --json --expect 1xx,2xx,3xx,4xx,5xx "$@" \
		>"$IT_TMP/pages/$name.json" 2>"$IT_TMP/sim.last"
	STATUS="$(json "$IT_TMP/pages/$name.json" 'String(j.status)')"
	json "$IT_TMP/pages/$name.json" 'j.body' >"$IT_TMP/pages/$name.html"
	json "$IT_TMP/pages/$name.json" 'Object.entries(j.headers).map(([k, v]) => k + ": " + v).join("\n")' \
		>"$IT_TMP/pages/$name.headers"
}
pheader() { sed -n "s/^$2: *//Ip" "$IT_TMP/pages/$1.headers" | tail -n 1; }
secret_of() {
	"$ACCTL" tenant show "$1" --json --show-secret | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).sharedSecret))'
}
# token_for CLIENTKEY: a page token for GET /oauth-callback (usable as header or ?jwt=)
token_for() {
	secret_of "$1" | "$ACCTL" jwt sign --secret - --iss "$1" --aud "$1" --ttl 600 GET "$BASE/oauth-callback" \
		2>/dev/null | tail -n 1
}
# acctl_api ARGS...: `acctl api` as the programs' user (the store is theirs)
acctl_api() {
	if [ -n "$IT_UG" ]; then
		setpriv --reuid="${IT_UG%%:*}" --regid="${IT_UG#*:}" --clear-groups -- "$ACCTL" api "$@"
	else
		"$ACCTL" api "$@"
	fi
}

# ======================================================================= Bitbucket
start_stack bitbucket
it_drive "install a Bitbucket tenant whose workspace name is markup" 204 install --client-key oa-1 \
	--body-override '{"principal":{"type":"team","username":"ws","display_name":"<script>alert(\"ws\")</script> WS","uuid":"{00000000-0000-4000-8000-0000000000aa}"}}'
simpost /_sim/control '{"userDisplayName":"<script>alert(\"user\")</script> & \"Co\" <img src=x onerror=alert(1)>"}'

# ---- the page: verified, one grant, GET /2.0/user with Bearer, escaped
page ok1 --client-key oa-1
is "$STATUS" 200 "a page load with a valid ?jwt= is 200"
is "$(pheader ok1 content-type)" "text/html; charset=utf-8" "the page is HTML"
csp="$(pheader ok1 content-security-policy)"
check "it carries a Content-Security-Policy with default-src 'none' and no script source ($csp)" \
	eval "grep -q \"default-src 'none'\" <<<\"\$csp\" && ! grep -q 'script-src' <<<\"\$csp\""
check "frame-ancestors names the products" eval 'grep -q "frame-ancestors https://bitbucket.org" <<<"$csp"'
is "$(pheader ok1 referrer-policy)/$(pheader ok1 cache-control)" "no-referrer/no-store" \
	"no Referer leaks the ?jwt= and nothing is cached"
check "the page names the account the app acts as, escaped" \
	grep -qF '&lt;script&gt;alert(&quot;user&quot;)&lt;/script&gt; &amp; &quot;Co&quot; &lt;img src=x onerror=alert(1)&gt;' "$IT_TMP/pages/ok1.html"
check "the workspace display name is shown escaped" \
	grep -qF '&lt;script&gt;alert(&quot;ws&quot;)&lt;/script&gt; WS' "$IT_TMP/pages/ok1.html"
check "the app name from the configuration is escaped too" grep -qF 'Integration &lt;b&gt;app&lt;/b&gt;' "$IT_TMP/pages/ok1.html"
check "no markup from outside survives: no <script, no <img src=x, no onerror= attribute" \
	eval '! grep -qiE "<script|<img src=x|<b>app" "$IT_TMP/pages/ok1.html"'
check "the page shows the token's scopes" grep -q '<code>pullrequest</code>' "$IT_TMP/pages/ok1.html"
check "the page shows when the token expires" grep -qE '<time datetime="20[0-9-]+T[0-9:]+Z">' "$IT_TMP/pages/ok1.html"
is "$(grants oa-1)" 1 "one grant call was made"
is "$(sim_js "r.filter(x => x.route === 'bitbucket-token').every(x => x.verification.ok)")" true \
	"the grant assertion verified with atlassian-jwt (HS256 with the stored secret, qsh of POST /site/oauth2/access_token)"
is "$(sim_js "(c => [c.iss, c.sub, c.exp - c.iat, typeof c.qsh].join('|'))(r.find(x => x.route === 'bitbucket-token').verification.claims)")" \
	"it-app|oa-1|180|string" "the assertion's claims: iss the app key, sub the clientKey, exp = iat + 180, a qsh"
is "$(sim_js "r.find(x => x.route === 'bitbucket-token').body.grant_type")" "urn:bitbucket:oauth2:jwt" \
	"the form body carries grant_type=urn:bitbucket:oauth2:jwt"
is "$(sim_js "r.filter(x => x.route === 'bitbucket-rest' && x.path === '/api/2.0/user').map(x => x.verification.scheme + ':' + x.verification.ok).join()")" \
	"Bearer:true" "GET /2.0/user was made with the grant's token as Bearer"

tok1="$(token_for oa-1)"
http GET /oauth-callback -H "Authorization: JWT $tok1" -H 'Accept: application/json'
cp "$BODY" "$IT_TMP/pages/json1.json"
is "$STATUS $(header Content-Type)" "200 application/json" "Accept: application/json gets JSON (token in the header)"
is "$(json "$BODY" '[j.account.display_name, j.tenant.workspace.display_name, j.tenant.clientKey, j.token.scopes.join(" ")].join("|")')" \
	"<script>alert(\"user\")</script> & \"Co\" <img src=x onerror=alert(1)>|<script>alert(\"ws\")</script> WS|oa-1|pullrequest repository account" \
	"the JSON names the same account, workspace and scopes"
check "the JSON gives the expiry (expiresIn about 7200 s)" \
	eval '[ "$(json "$BODY" "j.token.expiresIn > 7000 && j.token.expiresIn <= 7200 && /Z$/.test(j.token.expiresAt)")" = true ]'
check "the JSON holds no access token" eval '! json "$BODY" "Object.keys(j.token).join()" | grep -qi access'
is "$(grants oa-1)" 1 "a second page load reuses the cached token: still one grant"

# ---- one grant for many requests from several processes
it_drive "install a second tenant" 204 install --client-key oa-2
tok2="$(token_for oa-2)"
(
	seq 24 | xargs -P 12 -I{} curl -s -o /dev/null -w '{} %{http_code}\n' --max-time 30 \
		-H 'Accept: application/json' "$BASE/oauth-callback?jwt=$tok2"
) >"$IT_TMP/burst.codes" &
burst=$!
for i in 1 2 3 4; do
	AC_BITBUCKET_AUTH=bearer acctl_api --tenant oa-2 GET /2.0/user >"$IT_TMP/api.$i.out" 2>"$IT_TMP/logs/acctl-api.$i.log" &
	apis+=("$!")
done
wait "$burst"
api_ok=0
for p in "${apis[@]}"; do wait "$p" && api_ok=$((api_ok + 1)); done
is "$(awk '$2 == 200' "$IT_TMP/burst.codes" | wc -l)/$api_ok" "24/4" \
	"24 concurrent page loads through 2 oauth-callback workers and 4 bearer-mode acctl api calls all succeed"
is "$(grants oa-2)" 1 "... and the simulator saw exactly one grant for them"
is "$(sim_js "r.filter(x => x.route === 'bitbucket-rest' && x.verification.clientKey === 'oa-2').every(x => x.verification.scheme === 'Bearer' && x.verification.ok)")" \
	true "every one of their /2.0/user calls used that Bearer token"
n="$(sim_js "new Set(r.filter(x => x.route === 'bitbucket-rest' && x.verification.clientKey === 'oa-2').map(x => x.headers.authorization)).size")"
check "acctl -v shows the Bearer scheme but not the token" \
	eval 'AC_BITBUCKET_AUTH=bearer acctl_api --tenant oa-2 -v GET /2.0/user 2>&1 >/dev/null | grep -q "Authorization: Bearer <[0-9]* bytes>"'

# ---- a reinstall forgets the tenant's cached token: the next call makes a new grant
page re1 --client-key oa-2
is "$STATUS $(grants oa-2)" "200 1" "oa-2's token is cached: a page load makes no grant"
it_drive "reinstall oa-2 (a new secret, signed with the stored one)" 204 install --client-key oa-2
page re2 --client-key oa-2
is "$STATUS $(grants oa-2)" "200 2" "after the reinstall the cached token is gone: one new grant"
check "... logged as dropped" grep -q 'dropped 1 cached access token(s) of oa-2' "$IT_TMP"/logs/*.log

# ---- refresh near expiry
simpost /_sim/control '{"tokenExpiresIn":67}'
it_drive "install a third tenant" 204 install --client-key oa-3
page r1 --client-key oa-3
page r2 --client-key oa-3
is "$STATUS $(grants oa-3)" "200 1" "a token with 67 s to live is reused while more than 60 s are left"
sleep 8
page r3 --client-key oa-3
is "$STATUS $(grants oa-3)" "200 2" "within 60 s of its expiry a new grant is made"
simpost /_sim/control '{"tokenExpiresIn":7200}'

# ---- the token endpoint failing
i=4
for how in 401 500 close hang; do
	it_drive "install tenant oa-$i" 204 install --client-key "oa-$i"
	simpost /_sim/control "{\"token\":\"$how\"}"
	page "fail-$how" --client-key "oa-$i"
	if [ "$how" = 401 ]; then
		is "$STATUS" 502 "token endpoint 401: the page is 502"
		check "... and says the stored secret is probably stale and to reinstall" \
			eval 'grep -q "probably stale" "$IT_TMP/pages/fail-$how.html" && grep -qi "install the app" "$IT_TMP/pages/fail-$how.html" && grep -q grant_refused "$IT_TMP/pages/fail-$how.html"'
		tokf="$(token_for "oa-$i")"
		http GET /oauth-callback -H "Authorization: JWT $tokf" -H 'Accept: application/json'
		is "$STATUS $(json "$BODY" 'j.error')" "502 grant_refused" "... and as JSON: grant_refused"
	else
		is "$STATUS" 502 "token endpoint $how: the page is 502"
		check "... with upstream_error" grep -q upstream_error "$IT_TMP/pages/fail-$how.html"
	fi
	i=$((i + 1))
done
simpost /_sim/control '{"token":"ok"}'
page recovered --client-key oa-4
is "$STATUS" 200 "once the endpoint answers again the page works"

# ---- authentication on this route
page missing --client-key oa-1 --sign none
is "$STATUS" 401 "no token: 401"
check "... an HTML page with the reason" eval 'grep -q token_missing "$IT_TMP/pages/missing.html" && grep -q "<h1>401" "$IT_TMP/pages/missing.html"'
page forged --client-key oa-1 --sign secret:forged
is "$STATUS" 401 "a forged token (another secret): 401"
check "... bad_signature on the page" grep -q bad_signature "$IT_TMP/pages/forged.html"
page expired --client-key oa-1 --exp-offset -600 --iat-offset -800
is "$STATUS" 401 "an expired token: 401"
check "... expired on the page" grep -q '>expired<' "$IT_TMP/pages/expired.html"
page unknown --client-key oa-nobody --sign secret:whatever
is "$STATUS" 401 "an unknown tenant: 401"
check "... unknown_tenant on the page" grep -q unknown_tenant "$IT_TMP/pages/unknown.html"
page otherqsh --client-key oa-1 --qsh-for "GET /webhook"
is "$STATUS" 401 "a token with the qsh of another URL: 401 qsh_mismatch"
page ctx --client-key oa-1 --context-qsh
is "$STATUS" 200 "a context-qsh token is accepted on /oauth-callback"
it_drive "a context-qsh token is refused on /webhook" 401 webhook --client-key oa-1 --event repo:push --qsh context-qsh
http GET /oauth-callback -H 'Authorization: Bearer abc' -H 'Accept: application/json'
is "$STATUS $(json "$BODY" 'j.error')" "401 token_missing" "Authorization: Bearer is not a page token: JSON 401"
check "... the JSON error says what to do" eval '[ -n "$(json "$BODY" "j.advice")" ]'

# ---- ?client_key= only: unauthenticated, nothing outbound, nothing secret
before="$(sim_js 'r.length')"
http GET '/oauth-callback?client_key=oa-1'
cp "$BODY" "$IT_TMP/pages/status1.html"
is "$STATUS" 200 "?client_key= of an installed tenant: 200"
check "... says it is installed" grep -q 'is installed' "$BODY"
http GET '/oauth-callback?client_key=oa-1' -H 'Accept: application/json'
is "$(json "$BODY" '[j.state, j.installed].join()')" "installed,true" "... as JSON: installed"
http GET '/oauth-callback?client_key=%3Cscript%3Ealert(1)%3C%2Fscript%3E'
cp "$BODY" "$IT_TMP/pages/status2.html"
check "?client_key= of an unknown tenant says so, escaped" \
	eval 'grep -q "is not known" "$BODY" && grep -qF "&lt;script&gt;alert(1)&lt;/script&gt;" "$BODY" && ! grep -q "<script" "$BODY"'
is "$(sim_js 'r.length')" "$before" "... no outbound call was made"
http GET "/oauth-callback?client_key=oa-1&jwt=forged.token.here"
is "$STATUS" 401 "?client_key= with a token: the token is verified (fails closed)"
http GET "/oauth-callback?client_key=oa-1" -H 'Authorization: JWT x.y.z'
is "$STATUS" 401 "?client_key= with an Authorization header: verified too"
it_drive "uninstall oa-3" 204 uninstall --client-key oa-3
http GET '/oauth-callback?client_key=oa-3' -H 'Accept: application/json'
is "$(json "$BODY" 'j.state')" "uninstalled" "?client_key= of an uninstalled tenant says uninstalled"
page gone --client-key oa-3
is "$STATUS" 401 "a page token of an uninstalled tenant: 401"
check "... tenant_uninstalled" grep -q tenant_uninstalled "$IT_TMP/pages/gone.html"

# ---- bearer mode for the worker; a 401 with a cached token re-mints once
"$NODE" -e '
	const p = require(process.argv[1]); p.data.pullrequest.title = "Bad title"; p.data.pullrequest.id = 42;
	require("fs").writeFileSync(process.argv[2], JSON.stringify(p));
' "$PAYLOADS/bitbucket-webhook-pullrequest-created.json" "$IT_TMP/p/bad.json"
simget /_sim/tokens >"$IT_TMP/tokens-1.json"
simpost /_sim/reset '{"tokens":true}'
start_worker AC_BITBUCKET_AUTH=bearer
it_drive "a webhook for oa-1 with the worker in bearer mode" 204 webhook --client-key oa-1 \
	--event pullrequest:created --payload "$IT_TMP/p/bad.json"
for _ in $(seq 75); do
	[ "$(sim_js "r.filter(x => x.route === 'bitbucket-rest' && x.method === 'POST' && x.verification.ok).length")" -ge 2 ] && break
	sleep 0.2
done
is "$(sim_js "(v => v[0] + '|' + new Set(v.slice(1)).size + ':' + v[1] + ':' + (v.length >= 4))(r.filter(x => x.route === 'bitbucket-rest').map(x => x.verification.scheme + ':' + x.verification.ok))")" \
	"Bearer:false|1:Bearer:true:true" \
	"the worker's calls use Bearer; the token the sim forgot got a 401, then a new grant served"
is "$(grants oa-1)" 1 "... with exactly one new grant (the 401 dropped the cached token, re-minted once)"
stop_worker

# ---- the program as plain CGI under valgrind: every path releases what it allocated
VALGRIND="$(command -v valgrind || true)"
# cgi NAME URI [ACCEPT]: one CGI request to oauth-callback.fcgi under valgrind; STATUS set
cgi() {
	local run=()
	[ -z "$IT_UG" ] || run=(setpriv --reuid="${IT_UG%%:*}" --regid="${IT_UG#*:}" --clear-groups --)
	env -i PATH="$PATH" AC_CONFIG="$IT_TMP/connect-fcgi.conf" REQUEST_METHOD=GET REQUEST_URI="$2" \
		SERVER_PROTOCOL=HTTP/1.1 HTTP_ACCEPT="${3:-text/html}" "${run[@]}" "$VALGRIND" -q --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=97 --log-file="$IT_TMP/vg/valgrind-$1.log" \
		"$IT_TMP/libexec/oauth-callback.fcgi" </dev/null >"$IT_TMP/pages/cgi-$1.out" 2>>"$IT_TMP/logs/cgi.log"
	VG_RC=$?
	STATUS="$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$IT_TMP/pages/cgi-$1.out" | tr -d '\r')"
}
if [ -n "$VALGRIND" ]; then
	mkdir -p "$IT_TMP/vg"
	[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/vg"
	cgi status '/oauth-callback?client_key=oa-1'
	is "$STATUS/$VG_RC" "200/0" "valgrind, CGI: the ?client_key= page, no leak nor error"
	cgi cached "/oauth-callback?jwt=$(token_for oa-1)"
	is "$STATUS/$VG_RC" "200/0" "valgrind, CGI: a page with the cached token and GET /2.0/user"
	it_drive "install oa-8" 204 install --client-key oa-8
	cgi grant "/oauth-callback?jwt=$(token_for oa-8)" application/json
	is "$STATUS/$VG_RC/$(grants oa-8)" "200/0/1" "valgrind, CGI: a page that makes the grant"
	cgi forged '/oauth-callback?jwt=eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJvYS0xIn0.AAAA'
	is "$STATUS/$VG_RC" "401/0" "valgrind, CGI: a forged token's 401 page"
	simpost /_sim/control '{"token":"401"}'
	it_drive "install oa-9" 204 install --client-key oa-9
	cgi refused "/oauth-callback?jwt=$(token_for oa-9)"
	is "$STATUS/$VG_RC" "502/0" "valgrind, CGI: the grant refused"
	simpost /_sim/control '{"token":"ok"}'
	cat "$IT_TMP"/vg/valgrind-*.log >"$IT_TMP/logs/valgrind.log" 2>/dev/null
	[ "$T_FAILED" -eq 0 ] || diag "$(cat "$IT_TMP/logs/valgrind.log")"
else
	skip "valgrind not installed"
fi

# ---- neither secrets nor tokens anywhere they must not be
simget /_sim/tokens >"$IT_TMP/tokens-2.json"
cat "$IT_TMP/tokens-1.json" "$IT_TMP/tokens-2.json" | "$NODE" -e '
	let s = ""; process.stdin.on("data", (d) => s += d).on("end", () =>
		console.log(s.replace(/\]\s*\[/, ",").length && JSON.parse(s.replace(/\]\s*\[/, ",")).map((t) => t.token).join("\n")));
' >"$IT_TMP/tokens.txt"
for k in oa-1 oa-2 oa-3 oa-4 oa-5 oa-6 oa-7 oa-8 oa-9; do secret_of "$k"; done >"$IT_TMP/secrets.txt"
n="$(cat "$IT_TMP/tokens.txt" "$IT_TMP/secrets.txt" | grep -c .)"
check "the simulator issued tokens and the tenants have secrets to look for ($n)" [ "$n" -ge 10 ]
leaks=
while read -r s; do
	[ -n "$s" ] || continue
	if grep -rqF -- "$s" "$IT_TMP/logs" "$IT_TMP/nginx/error.log" "$IT_TMP/pages" "$IT_TMP"/api.*.out 2>/dev/null; then
		leaks="$leaks ${s:0:4}..."
	fi
done < <(cat "$IT_TMP/tokens.txt" "$IT_TMP/secrets.txt")
is "${leaks:-none}" none "no access token nor shared secret in any page, error or log line"

# ======================================================================= Jira impersonation
start_stack jira
simpost /_sim/reset '{"tokens":true}'
it_drive "install a Jira tenant" 204 install --product jira --client-key jira-1
page jira --client-key jira-1
is "$STATUS" 200 "a Jira page token is accepted"
if acctl_api --tenant jira-1 --as-user 557058:0000-aaaa --scopes "read, write" GET /rest/api/3/issue/PROJ-1 \
	>"$IT_TMP/api.jira1.out" 2>"$IT_TMP/logs/acctl-jira.log"; then
	ok "acctl api --as-user: 200 from Jira"
else
	not_ok "acctl api --as-user: 200 from Jira"
	diag "$(cat "$IT_TMP/api.jira1.out" "$IT_TMP/logs/acctl-jira.log")"
fi
ocid="$(json "$IT_TMP/sim/tenants.json" 'j["jira-1"].oauthClientId')"
base="$(json "$IT_TMP/sim/tenants.json" 'j["jira-1"].baseUrl')"
is "$(sim_js "r.filter(x => x.route === 'jira-token').map(x => x.verification.ok).join()")" "true" \
	"one impersonation request, its assertion verified with the tenant's secret"
is "$(sim_js "(c => [c.iss, c.sub, c.tnt, c.aud, c.exp - c.iat, c.qsh === undefined].join('|'))(r.find(x => x.route === 'jira-token').verification.claims)")" \
	"urn:atlassian:connect:clientid:$ocid|urn:atlassian:connect:useraccountid:557058:0000-aaaa|$base|https://oauth-2-authorization-server.services.atlassian.com|60|true" \
	"the assertion: iss clientid, sub useraccountid, tnt the baseUrl, aud the authorization server, 60 s, no qsh"
is "$(sim_js "(b => [b.grant_type, b.scope].join('|'))(r.find(x => x.route === 'jira-token').body)")" \
	"urn:ietf:params:oauth:grant-type:jwt-bearer|READ WRITE" "the form: jwt-bearer grant, scopes upper-case and space-separated"
is "$(sim_js "r.filter(x => x.route === 'jira-rest').map(x => x.verification.scheme + ':' + x.verification.ok + ':' + x.verification.accountId).join()")" \
	"Bearer:true:557058:0000-aaaa" "the Jira call went with the user's Bearer token"
acctl_api --tenant jira-1 --as-user 557058:0000-aaaa --scopes "READ WRITE" GET /rest/api/3/issue/PROJ-1 >/dev/null 2>&1
acctl_api --tenant jira-1 --as-user 557058:0000-bbbb GET /rest/api/3/issue/PROJ-1 >/dev/null 2>&1
is "$(sim_js "r.filter(x => x.route === 'jira-token').length")" 2 \
	"the user token is cached per tenant, user and scopes (same user again: none; another user: one)"
simpost /_sim/control '{"jiraToken":"401"}'
acctl_api --tenant jira-1 --as-user 557058:0000-cccc GET /rest/api/3/issue/PROJ-1 >"$IT_TMP/api.jira2.out" 2>&1
check "an impersonation refused by the server is reported as grant_refused" grep -q grant_refused "$IT_TMP/api.jira2.out"
simpost /_sim/control '{"jiraToken":"ok"}'

[ "$T_FAILED" -eq 0 ] || it_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
