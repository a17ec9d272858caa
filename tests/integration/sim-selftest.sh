#!/bin/bash
# sim-selftest.sh: the product simulator (tests/sim/sim.js) tested on its own, as TAP.
#
# Starts the sim on a free loopback port with a temp state dir and checks: the install keys it
# serves, that it verifies and records the app's Bitbucket/Jira REST calls (signed here as the
# app would, with atlassian-jwt), the JWT grant, the control API's failure injection, and its
# driver commands against tests/sim/mock-app.js (a tiny reference app). Stops everything by PID.
#
# Environment: top_srcdir (set by make check), NODE (node).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
NODE=${NODE:-$(command -v node)}
SIM="$top_srcdir/tests/sim"

if [ -z "$NODE" ] || ! command -v "$NODE" >/dev/null 2>&1; then
	echo "1..0 # SKIP node not found"
	exit 0
fi
if [ ! -d "$SIM/node_modules/atlassian-jwt" ]; then
	echo "1..0 # SKIP tests/sim/node_modules missing (scripts/test installs it)"
	exit 0
fi
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP curl not found"
	exit 0
fi

T_N=0
T_FAILED=0
ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
is() {
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; diag "got:  '$1'" "want: '$2'"; fi
}
check() {
	local d="$1"
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sim-selftest.XXXXXX") || exit 99
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${SIM_KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ST="$TMP/state"

# json FILE EXPR: EXPR evaluated with j = the JSON in FILE.
json() {
	"$NODE" -e '
		const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const v = (0, eval)("(j) => (" + process.argv[2] + ")")(j);
		process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
	' "$1" "$2" 2>/dev/null
}

# req METHOD URL [CURL-ARG...]: sets STATUS, BODY (file), HEADERS (file).
BODY="$TMP/body"
HEADERS="$TMP/headers"
STATUS=
req() {
	local m="$1" u="$2"
	shift 2
	: >"$BODY"
	: >"$HEADERS"
	STATUS=$(curl -s -X "$m" -o "$BODY" -D "$HEADERS" -w '%{http_code}' --max-time 10 "$@" "$u")
}

# appjwt METHOD URL BASEURL ISS SECRET [SUB [EXTRA-CLAIMS-JSON]]: a token signed as the app
# would sign it (atlassian-jwt, HS256, qsh of METHOD URL relative to BASEURL).
appjwt() {
	(cd "$SIM" && "$NODE" -e '
		const jwt = require("atlassian-jwt");
		const [m, url, base, iss, secret, sub, extra] = process.argv.slice(1);
		const now = Math.floor(Date.now() / 1000);
		const c = { iss, iat: now, exp: now + 180,
			qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl(m, url), false, base) };
		if (sub) c.sub = sub;
		Object.assign(c, JSON.parse(extra || "{}"));
		process.stdout.write(jwt.encodeSymmetric(c, secret, "HS256"));
	' "$@")
}

# last_rec EXPR: EXPR evaluated with j = the list of recorded requests (GET /_sim/requests).
last_rec() {
	req GET "$U/_sim/requests"
	json "$BODY" "$1"
}

# wait_file FILE: up to 5 s for FILE to exist.
wait_file() {
	for _ in $(seq 50); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------------------ start the sim
APPKEY=selftest-app
"$NODE" "$SIM/sim.js" serve --port 0 --state "$ST" --app-key "$APPKEY" >"$TMP/sim.out" 2>"$TMP/sim.err" &
SIM_PID=$!
PIDS+=("$SIM_PID")
if ! wait_file "$TMP/sim.out"; then
	not_ok "sim starts and prints its port"
	diag "$(cat "$TMP/sim.err")"
	echo "1..$T_N"
	exit 1
fi
U=$(json "$TMP/sim.out" 'j.url')
PORT=$(json "$TMP/sim.out" 'j.port')
is "$U" "http://127.0.0.1:$PORT" "sim prints {port, url} on stdout"
is "$(json "$ST/sim.json" 'j.port') $(cat "$ST/sim.pid" 2>/dev/null)" "$PORT $SIM_PID" \
    "sim writes sim.json and sim.pid"

# --------------------------------------------------------------------------- install keys
req POST "$U/_sim/keys"
KID=$(json "$BODY" 'j.kid')
check "POST /_sim/keys makes a key pair with a UUID kid" \
    grep -Eqx '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' <<<"$KID"
req GET "$U/install-keys/$KID"
if [ "$STATUS" = 200 ] && "$NODE" -e 'require("crypto").createPublicKey(require("fs").readFileSync(process.argv[1]))' "$BODY" &&
    head -n 1 "$BODY" | grep -qx -- '-----BEGIN PUBLIC KEY-----'; then
	ok "GET /install-keys/{kid} serves the PEM public key"
else
	not_ok "GET /install-keys/{kid} serves the PEM public key"
	diag "status $STATUS" "$(head -c 200 "$BODY")"
fi
req GET "$U/install-keys/00000000-0000-4000-8000-000000000000"
is "$STATUS" 404 "an unknown kid is a 404"
got=
for how in 500 down 404 ok; do
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
	    --data "{\"installKeys\":\"$how\"}" "$U/_sim/control"
	req GET "$U/install-keys/$KID"
	got="$got$how:$STATUS "
done
is "$got" "500:500 down:503 404:404 ok:200 " "control installKeys: 500, down (503), 404, ok"
curl -s -o /dev/null -X POST --data '{"installKeys":"close"}' "$U/_sim/control"
req GET "$U/install-keys/$KID"
is "$STATUS" "000" "control installKeys close: the connection closes without an answer"
curl -s -o /dev/null -X POST --data '{"installKeys":"ok"}' "$U/_sim/control"
req GET "$U/_sim/stats"
is "$(json "$BODY" "j.keyFetches['$KID']")" 6 "fetches are counted per kid"

# -------------------------------------------------------------------- Bitbucket REST
CK='ari:cloud:bitbucket::app/{00000000-0000-4000-8000-00000000a001}/selftest-app'
SECRET='selftest-secret-0123456789abcdefghijklmnopqrstuv'
req POST "$U/_sim/tenants" -H 'Content-Type: application/json' --data "{\"clientKey\":\"$CK\",
    \"sharedSecret\":\"$SECRET\",\"product\":\"bitbucket\",\"baseUrl\":\"$U\",\"baseApiUrl\":\"$U/api\"}"
is "$STATUS" 201 "POST /_sim/tenants registers a tenant"
is "$(json "$ST/tenants.json" "j['$CK'].sharedSecret")" "$SECRET" "the tenant is kept in tenants.json"

P="/api/2.0/repositories/example-workspace/example-repo/pullrequests/9/comments"
TOK=$(appjwt POST "$U$P" "$U/api" "$APPKEY" "$SECRET" "$CK")
req POST "$U$P" -H "Authorization: JWT $TOK" -H 'Content-Type: application/json' \
    --data '{"content":{"raw":"hello"}}'
is "$STATUS" 201 "a correctly signed PR comment is answered 201"
is "$(last_rec 'j[j.length-1].verification.ok + "|" + j[j.length-1].verification.claims.sub')" "true|$CK" \
    "... and recorded as verified, with its claims"
check "... with the Authorization header redacted" \
    grep -q '"JWT <redacted>"' <<<"$(last_rec 'j[j.length-1].headers')"

TOK=$(appjwt POST "$U$P" "$U/api" "$CK" "$SECRET" "$CK")
req POST "$U$P" -H "Authorization: JWT $TOK" -H 'Content-Type: application/json' \
    --data '{"content":{"raw":"hello"}}'
is "$STATUS" 401 "iss = clientKey (the classic mistake) is answered 401"
rec=$(last_rec 'j[j.length-1].verification.ok + "|" + j[j.length-1].verification.error')
check "... and recorded as not verified ($rec)" grep -q '^false|iss is the clientKey' <<<"$rec"

TOK=$(appjwt POST "$U/api/2.0/repositories/example-workspace/example-repo/pullrequests/9/comments" \
    "$U" "$APPKEY" "$SECRET" "$CK")
req POST "$U$P" -H "Authorization: JWT $TOK" -H 'Content-Type: application/json' \
    --data '{"content":{"raw":"hello"}}'
rec=$(last_rec 'j[j.length-1].verification.error')
is "$STATUS ${rec%% *}" "401 qsh" "a qsh that hashes the /api context path is refused"
TOK=$(appjwt POST "$U$P" "$U/api" "$APPKEY" "$SECRET" "$CK")
req POST "$U$P" -H "Authorization: Bearer $TOK" --data '{"content":{"raw":"x"}}' \
    -H 'Content-Type: application/json'
is "$STATUS" 401 "a JWT sent as Bearer is refused"
TOK=$(appjwt POST "$U$P" "$U/api" "$APPKEY" "wrong-secret" "$CK")
req POST "$U$P" -H "Authorization: JWT $TOK" --data '{"content":{"raw":"x"}}' \
    -H 'Content-Type: application/json'
is "$STATUS" 401 "a token signed with another secret is refused"

H=111111111111
TOK=$(appjwt GET "$U/api/2.0/repositories/example-workspace/example-repo/commit/$H" "$U/api" "$APPKEY" "$SECRET" "$CK")
req GET "$U/api/2.0/repositories/example-workspace/example-repo/commit/$H" -H "Authorization: JWT $TOK"
is "$STATUS $(json "$BODY" 'j.hash')" "200 1111111111111111111111111111111111111111" \
    "GET .../commit/{12-char hash} answers the full hash"

# ------------------------------------------------------------------------ JWT grant
G=/site/oauth2/access_token
TOK=$(appjwt POST "$U$G" "$U" "$APPKEY" "$SECRET" "$CK")
req POST "$U$G" -H "Authorization: JWT $TOK" --data 'grant_type=urn:bitbucket:oauth2:jwt'
BEARER=$(json "$BODY" 'j.access_token')
is "$STATUS $(json "$BODY" 'j.token_type + " " + j.expires_in')" "200 bearer 7200" \
    "the JWT grant answers a bearer token"
req GET "$U/api/2.0/user" -H "Authorization: Bearer $BEARER"
is "$STATUS $(last_rec 'j[j.length-1].verification.scheme + " " + j[j.length-1].verification.ok')" \
    "200 Bearer true" "GET /2.0/user with the issued bearer token is verified"
req POST "$U$G" -H "Authorization: JWT $TOK" --data 'grant_type=client_credentials'
is "$STATUS" 401 "the JWT grant refuses another grant_type"
curl -s -o /dev/null -X POST --data '{"token":"500"}' "$U/_sim/control"
TOK=$(appjwt POST "$U$G" "$U" "$APPKEY" "$SECRET" "$CK")
req POST "$U$G" -H "Authorization: JWT $TOK" --data 'grant_type=urn:bitbucket:oauth2:jwt'
is "$STATUS" 500 "control token 500: the grant fails"
curl -s -o /dev/null -X POST --data '{"token":"ok"}' "$U/_sim/control"

# ------------------------------------------------------------------ failure injection
B="/api/2.0/repositories/example-workspace/example-repo/commit/$H/statuses/build"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data '{"fail":[{"path":"/statuses/build$","status":500,"times":2},{"path":"/2\\.0/user$","status":429,"times":1,"retryAfter":1}]}' \
    "$U/_sim/control"
got=
for _ in 1 2 3; do
	TOK=$(appjwt POST "$U$B" "$U/api" "$APPKEY" "$SECRET" "$CK")
	req POST "$U$B" -H "Authorization: JWT $TOK" -H 'Content-Type: application/json' \
	    --data '{"key":"lint","state":"INPROGRESS","name":"Lint","url":"https://example.com/"}'
	got="$got$STATUS "
done
is "$got" "500 500 201 " "fail rule: 500 twice, then the real answer"
TOK=$(appjwt GET "$U/api/2.0/user" "$U/api" "$APPKEY" "$SECRET" "$CK")
req GET "$U/api/2.0/user" -H "Authorization: JWT $TOK"
ra=$(sed -n 's/^retry-after: *//Ip' "$HEADERS" | tr -d '\r')
is "$STATUS $ra" "429 1" "fail rule: 429 with Retry-After"
req GET "$U/api/2.0/user" -H "Authorization: JWT $TOK"
is "$STATUS" 200 "... once, then 200"
is "$(last_rec 'j.filter((e) => e.injected).length')" 3 "injected failures are recorded"
req GET "$U/_sim/store"
is "$(json "$BODY" 'Object.values(j.statuses)[0].state + " " + j.comments.length')" "INPROGRESS 1" \
    "the build status and the comment are stored"

# ------------------------------------------------------------ comments read back, paginated
# getc QUERY: GET the comments of PR 9 with QUERY, signed
getc() {
	TOK=$(appjwt GET "$U$P$1" "$U/api" "$APPKEY" "$SECRET" "$CK")
	req GET "$U$P$1" -H "Authorization: JWT $TOK"
}
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$U/_sim/comments" \
    --data '{"kind":"pullrequest","workspace":"example-workspace","repo":"example-repo","target":"9","raw":"by people","count":12}'
getc '?sort=-created_on&pagelen=5'
is "$STATUS $(json "$BODY" '[j.size, j.page, j.pagelen, j.values.length, j.values[0].content.raw, j.values[0].type].join(" ")')" \
    "200 13 1 5 5 by people pullrequest_comment" "GET comments: a page, newest first, with content.raw"
next="$(json "$BODY" 'j.next')"
check "... next is an absolute URL for page 2 that keeps the other parameters" \
    eval '[[ "$next" == "$U$P?"*"page=2"* && "$next" == *"pagelen=5"* && "$next" == *"sort=-created_on"* ]]'
getc '?sort=-created_on&pagelen=5&page=3'
is "$STATUS $(json "$BODY" '[j.values.length, j.values[2].content.raw, j.next === undefined, !!j.previous].join(" ")')" \
    "200 3 hello true true" "... the last page: the oldest (the app's) comment, no next"
getc ''
is "$STATUS $(json "$BODY" '[j.pagelen, j.values.length, j.values[0].content.raw].join(" ")')" "200 10 10 hello" \
    "... by default 10 a page, oldest first"
getc '?pagelen=101'
is "$STATUS" 400 "... pagelen over 100 is refused"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$U/_sim/control" \
    --data '{"hold":[{"path":"/comments$","method":"POST","ms":3000,"times":1}]}'
TOK=$(appjwt POST "$U$P" "$U/api" "$APPKEY" "$SECRET" "$CK")
held=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -X POST -H "Authorization: JWT $TOK" \
    -H 'Content-Type: application/json' --data '{"content":{"raw":"held"}}' "$U$P")
req GET "$U/_sim/store"
is "$held $(json "$BODY" 'j.comments.filter((c) => c.raw === "held").length')" "000 1" \
    "hold: the comment is stored at once, its answer held back (the client gave up)"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data '{"hold":[]}' "$U/_sim/control"

# ------------------------------------------------------------------------------ Jira
JK=00000000-0000-4000-8000-00000000f001
JS='jira-selftest-secret-0123456789abcdefghijklmnopqrstuvwxyz'
req POST "$U/_sim/tenants" -H 'Content-Type: application/json' --data "{\"clientKey\":\"$JK\",
    \"sharedSecret\":\"$JS\",\"product\":\"jira\",\"baseUrl\":\"$U/jira\",\"oauthClientId\":\"selftest-oauth\"}"
I=/jira/rest/api/3/issue/PROJ-1
TOK=$(appjwt GET "$U$I?fields=summary" "$U/jira" "$APPKEY" "$JS")
req GET "$U$I?fields=summary" -H "Authorization: JWT $TOK"
is "$STATUS $(json "$BODY" 'j.key')" "200 PROJ-1" "Jira: GET issue signed with qsh without /jira is verified"
TOK=$(appjwt GET "$U$I?fields=summary" "$U" "$APPKEY" "$JS")
req GET "$U$I?fields=summary" -H "Authorization: JWT $TOK"
is "$STATUS" 401 "Jira: a qsh that hashes the /jira context path is refused"
A=$(cd "$SIM" && "$NODE" -e '
	const jwt = require("atlassian-jwt");
	const now = Math.floor(Date.now() / 1000);
	process.stdout.write(jwt.encodeSymmetric({ iss: "urn:atlassian:connect:clientid:selftest-oauth",
		sub: "urn:atlassian:connect:useraccountid:000000000000000000000c01", tnt: process.argv[1],
		aud: "https://oauth-2-authorization-server.services.atlassian.com", iat: now, exp: now + 60 },
		process.argv[2]));' "$U/jira" "$JS")
req POST "$U/oauth2/token" --data "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=$A&scope=READ%20ACT_AS_USER"
JB=$(json "$BODY" 'j.access_token')
is "$STATUS $(json "$BODY" 'j.token_type')" "200 Bearer" "Jira: the impersonation assertion is verified"
req GET "$U$I" -H "Authorization: Bearer $JB"
is "$STATUS" 200 "Jira: the impersonation token is accepted on REST"

# -------------------------------------------------------- drivers against a mock app
"$NODE" "$SIM/mock-app.js" --app-key "$APPKEY" --install-keys "$U/install-keys" >"$TMP/app.out" 2>"$TMP/app.err" &
PIDS+=("$!")
if wait_file "$TMP/app.out"; then
	APP=$(json "$TMP/app.out" 'j.url')
	drv() { "$NODE" "$SIM/sim.js" "$@" --app "$APP" --state "$ST" >"$TMP/drv.out" 2>&1; }
	BK='ari:cloud:bitbucket::app/{00000000-0000-4000-8000-00000000a002}/selftest-app'
	check "install (first, unsigned) is accepted" drv install --client-key "$BK"
	S1=$(json "$ST/tenants.json" "j['$BK'].sharedSecret")
	check "reinstall signed with the stored secret is accepted" drv install --client-key "$BK"
	S2=$(json "$ST/tenants.json" "j['$BK'].sharedSecret")
	check "... and the sim stores the new secret" test -n "$S1" -a "$S1" != "$S2"
	check "reinstall signed with the new secret: the app answers 401" \
	    drv install --client-key "$BK" --sign new --expect 401
	is "$(json "$ST/tenants.json" "j['$BK'].sharedSecret")" "$S2" "... and the stored secret stays"
	check "--expect mismatch exits 1" [ "$(drv install --client-key "$BK" --sign none; echo $?)" = 1 ]
	check "webhook repo:push is accepted" drv webhook --client-key "$BK" --event repo:push --delivery-id d-1
	check "uninstall is accepted" drv uninstall --client-key "$BK"
	req GET "$U/_sim/stats"
	n0=$(json "$BODY" 'Object.values(j.keyFetches).reduce((a, b) => a + b, 0)')
	check "Jira signed install (RS256) is accepted" drv install --client-key "$JK-2" --product jira
	req GET "$U/_sim/stats"
	n1=$(json "$BODY" 'Object.values(j.keyFetches).reduce((a, b) => a + b, 0)')
	is "$((n1 - n0))" 1 "... after the app fetched the key from the sim"
	check "Jira install signed by another key under the same kid: 401" \
	    drv install --client-key "$JK-2" --product jira --key-from "$KID" --expect 401
	check "Jira install with HS256 (public key as secret): 401" \
	    drv install --client-key "$JK-2" --product jira --alg HS256 --expect 401
	check "page with context-qsh is accepted" drv page --client-key "$BK" --context-qsh
else
	not_ok "mock app starts"
	diag "$(cat "$TMP/app.err")"
fi

# ------------------------------------------------------------------------ reset, stop
req POST "$U/_sim/reset"
req GET "$U/_sim/requests"
is "$STATUS $(json "$BODY" 'j.length')" "200 0" "POST /_sim/reset clears the record"

kill "$(cat "$ST/sim.pid")" 2>/dev/null
for _ in $(seq 50); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SIM_PID" 2>/dev/null; then
	not_ok "the sim stops on SIGTERM by its PID"
else
	ok "the sim stops on SIGTERM by its PID"
fi
check "... and removes sim.pid" [ ! -e "$ST/sim.pid" ]
[ "$T_FAILED" -eq 0 ] || diag "--- sim stderr" "$(tail -n 20 "$TMP/sim.err")"

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
