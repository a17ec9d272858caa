#!/bin/bash
# acctl-jwt.sh: `acctl jwt qsh|sign|decode|verify`, and its explanations of the seeds' 401s. TAP.
#
# Runs the built acctl (ACCTL, default $top_builddir/src/cli/acctl). No network. The seed
# situations are ../shared/seeds/000 (wrong sub for Bitbucket), 001 (the Bearer scheme), 002 (a
# full URL hashed into qsh; a clock behind), 003 (iss set to the clientKey on an outbound Jira
# call) and 004 (signed with an OAuth consumer's secret).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
acctl=${ACCTL:-$top_builddir/src/cli/acctl}

if [ ! -x "$acctl" ]; then
	echo "1..1"
	echo "not ok 1 - acctl not built at $acctl"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/acctl-jwt.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# No configuration leaks in from the caller's environment.
unset AC_CONFIG AC_LEEWAY AC_FAKE_NOW

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; diag "got:  '$1'" "want: '$2'"; fi
}
# run ARGS...: runs acctl with OUT, ERR and RC set.
run() {
	"$acctl" "$@" >"$tmp/out" 2>"$tmp/err"
	RC=$?
	OUT=$(cat "$tmp/out")
	ERR=$(cat "$tmp/err")
}
# has TEXT DESCRIPTION: OUT contains TEXT (fixed string).
has() {
	if grep -qF -- "$1" "$tmp/out"; then ok "$2"; else not_ok "$2"; diag "no '$1' in:" "$OUT" "$ERR"; fi
}
hasnt() {
	if ! grep -qF -- "$1" "$tmp/out" "$tmp/err"; then ok "$2"; else not_ok "$2"; diag "$OUT" "$ERR"; fi
}
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

NOW=1700000000
SECRET="shared-Secret-$RANDOM$RANDOM"
BB_CK='ari:cloud:bitbucket::app/{d2b34ac7-7c11-4e15-a1f5-2f4c1f0d4a8e}/antons-devil-shadow'
BB_APP=antons-devil-shadow
printf '%s\n' "$SECRET" >"$tmp/secret"

# ---------------------------------------------------------------- qsh
run jwt qsh GET 'https://your-domain.atlassian.net/rest/api/3/some/resource?b=2&a=1'
is "$RC|$OUT" "0|GET&/rest/api/3/some/resource&a=1&b=2
$(sha256 'GET&/rest/api/3/some/resource&a=1&b=2')" \
    "qsh prints the canonical request, then the hex qsh"
run jwt qsh patch 'https://your-domain.atlassian.net/rest/api/3/some/resource?b=2&a=1'
is "$(printf '%s' "$OUT" | tail -n 1)" \
    7c23b9280bae976fceae73c3e398f4f3163da1af8a7685eda096689cea64a161 \
    "qsh matches the vector 'patch lowercase'"
run jwt qsh --base-url https://x.atlassian.net/wiki GET https://x.atlassian.net/wiki/rest/api/space
is "$RC|$(printf '%s' "$OUT" | head -n 1)" "0|GET&/rest/api/space&" "qsh removes the context path of --base-url"
run jwt qsh POST /webhook
is "$OUT" "POST&/webhook&
$(sha256 'POST&/webhook&')" "qsh of a webhook"
run jwt qsh 'G E T' /x
is "$RC" 2 "qsh: a method that is not one exits 2"
[ -n "$ERR" ] && ok "qsh: ... with a message" || not_ok "qsh: ... with a message"
run jwt qsh GET ''
is "$RC" 2 "qsh: an empty URL exits 2"
run jwt qsh GET
is "$RC" 2 "qsh: a missing URL exits 2"
run jwt frobnicate
is "$RC" 2 "an unknown subcommand exits 2"
run jwt --help
is "$RC" 0 "jwt --help exits 0"

# ---------------------------------------------------------------- the fixed clock is a test hook
# The installed acctl (and every program) ignores AC_FAKE_NOW: left in an environment, it would
# freeze every expiry check. Only the test build tests/unit/acctl-fixed-clock honours it.
prod=$acctl
acctl=${ACCTL_FIXED_CLOCK:-$top_builddir/tests/unit/acctl-fixed-clock}
if [ -x "$acctl" ]; then
	AC_FAKE_NOW=$NOW run jwt sign --secret "$SECRET" --iss "$BB_APP" --ttl 60 POST /webhook
	TOK=$OUT
	AC_FAKE_NOW=$NOW run jwt verify --secret "$SECRET" POST /webhook "$TOK"
	is "$RC|$OUT" "0|valid" "the test build honours AC_FAKE_NOW (a token of $NOW is valid at $NOW)"
	acctl=$prod
	AC_FAKE_NOW=$NOW run jwt verify --secret "$SECRET" POST /webhook "$TOK"
	is "$RC" 1 "the installed acctl ignores AC_FAKE_NOW: that token is expired by the real clock"
	has "expired" "... as expired"
	grep -q "AC_FAKE_NOW is set and ignored" "$tmp/err" && ok "... and says AC_FAKE_NOW is ignored" ||
		{ not_ok "... and says AC_FAKE_NOW is ignored"; diag "$ERR"; }
	acctl=${ACCTL_FIXED_CLOCK:-$top_builddir/tests/unit/acctl-fixed-clock}
else
	not_ok "the test build of acctl is built ($acctl)"
	acctl=$prod
fi

# ---------------------------------------------------------------- sign, decode, verify
# from here on at the fixed time NOW, so through the test build
export AC_FAKE_NOW=$NOW
run jwt sign --secret "$SECRET" --iss "$BB_APP" --sub "$BB_CK" GET \
    'https://api.bitbucket.org/2.0/repositories/ws/repo?page=2&pagelen=50'
TOK=$OUT
is "$RC|$(printf '%s' "$TOK" | tr -cd . | wc -c)" "0|2" "sign prints a compact token"
hasnt "$SECRET" "sign never prints the secret"

run jwt verify --secret "$SECRET" GET \
    'https://api.bitbucket.org/2.0/repositories/ws/repo?pagelen=50&page=2' "$TOK"
is "$RC|$OUT" "0|valid" "sign then verify: valid (query order does not matter)"
run jwt verify --secret-file "$tmp/secret" --outbound --product bitbucket --app-key "$BB_APP" \
    --client-key "$BB_CK" GET 'https://api.bitbucket.org/2.0/repositories/ws/repo?page=2&pagelen=50' "$TOK"
is "$RC|$OUT" "0|valid" "verify --secret-file, as an outbound Bitbucket token: valid"
run jwt verify --secret - GET 'https://api.bitbucket.org/2.0/repositories/ws/repo?page=2&pagelen=50' \
    "$TOK" <"$tmp/secret"
is "$RC|$OUT" "0|valid" "verify --secret - reads the secret from stdin"
run jwt verify --secret-file - GET 'https://api.bitbucket.org/2.0/repositories/ws/repo?page=2&pagelen=50' \
    "$TOK" <"$tmp/secret"
is "$RC|$OUT" "0|valid" "verify --secret-file - reads the secret from stdin"
run jwt verify --secret-file "$tmp/secret" GET /2.0/repositories/ws/repo?page=2\&pagelen=50 - <<<"$TOK"
is "$RC|$OUT" "0|valid" "verify reads TOKEN '-' from stdin"
run jwt sign --secret-file - --iss a GET /x <"$tmp/secret"
run jwt verify --secret "$SECRET" GET /x "$OUT"
is "$RC|$OUT" "0|valid" "sign --secret-file - reads the secret from stdin"
run jwt verify --secret - GET /x - <"$tmp/secret"
is "$RC" 2 "secret and token both from stdin: exit 2"

run jwt verify --secret wrong GET 'https://api.bitbucket.org/2.0/repositories/ws/repo?page=2&pagelen=50' "$TOK"
is "$RC" 1 "a wrong secret: exit 1"
has "bad_signature:" "... naming bad_signature"
has "reinstall" "... and the stale-secret explanation"

run jwt decode "$TOK"
is "$RC" 0 "decode exits 0"
has '"unverified": true' "decode marks the output unverified"
has "\"sub\": \"$BB_CK\"" "decode prints the claims"
has '"alg": "HS256"' "decode prints the header"
has '"utc": "2023-11-14T22:16:20Z"' "decode shows exp as a date"
has '"relative": "in 3 min 0 s"' "decode shows exp relative to now"
has '"relative": "now"' "decode shows iat relative to now"
run jwt decode 'abc.def'
is "$RC" 2 "decode of two segments exits 2"
run jwt decode "$TOK="
is "$RC" 2 "decode of a padded token exits 2"
grep -q "padding" "$tmp/err" && ok "... explaining the padding" || not_ok "... explaining the padding"

# Every problem, not just the first.
run jwt sign --secret "$SECRET" --iss "$BB_APP" --claim exp=$((NOW - 600)) --claim iat=$((NOW - 780)) \
    POST /webhook
run jwt verify --secret other --leeway 30 GET /webhook "$OUT"
is "$RC" 1 "a token with several problems: exit 1"
has "invalid: 3 problems" "verify counts every problem"
has "bad_signature:" "... bad signature"
has "expired: expired 600 s ago" "... expiry with how long ago"
has "behind ours by at least 570 s" "... and the clock difference beyond the leeway"
has "qsh_mismatch:" "... qsh"
has 'the token was made for POST, the request is GET' "... and which method the token was made for"
has 'expected canonical request: "GET&/webhook&"' "... with the expected canonical request"

run jwt sign --secret "$SECRET" --iss x --claim iat=$((NOW + 200)) GET /x
run jwt verify --secret "$SECRET" --leeway 60 GET /x "$OUT"
has "iat is 200 s in the future" "iat in the future: how far"
has "ahead of ours by at least 140 s" "... and the clock difference beyond the leeway"

run jwt sign --secret "$SECRET" --iss x --context-qsh GET
run jwt verify --secret "$SECRET" GET /oauth-callback "$OUT"
has "context-qsh" "context-qsh is refused unless allowed"
run jwt verify --secret "$SECRET" --context-qsh GET /oauth-callback "$(
    "$acctl" jwt sign --secret "$SECRET" --iss x --context-qsh GET)"
is "$RC|$OUT" "0|valid" "context-qsh is accepted with --context-qsh"

run jwt sign --secret "$SECRET" --iss x --claim alg_ignored=1 GET /a/b/
run jwt verify --secret "$SECRET" GET /a/b/ "$OUT"
is "$OUT" "valid" "one trailing slash does not matter"
run jwt sign --secret "$SECRET" --iss x --claim qsh="$(sha256 'GET&/a/b/&')" GET /a/b
run jwt verify --secret "$SECRET" GET /a/b "$OUT"
has "a trailing '/' was kept" "qsh mistake: trailing slash kept"
run jwt sign --secret "$SECRET" --iss x --claim qsh="$(sha256 'GET&/p&b=2&a=1')" GET /p
run jwt verify --secret "$SECRET" GET '/p?b=2&a=1' "$OUT"
has "the query was hashed as written" "qsh mistake: query not sorted"
run jwt sign --secret "$SECRET" --iss x --claim qsh="$(sha256 'GET&/p&q=a b')" GET /p
run jwt verify --secret "$SECRET" GET '/p?q=a%20b' "$OUT"
has "not re-encoded" "qsh mistake: query not encoded"
run jwt sign --secret "$SECRET" --iss x --claim qsh="$(sha256 'GET&/wiki/rest/api/space&')" GET /p
run jwt verify --secret "$SECRET" --base-url https://x.atlassian.net/wiki GET \
    https://x.atlassian.net/wiki/rest/api/space "$OUT"
has "the context path of the base URL was left in" "qsh mistake: context path included"

# ---------------------------------------------------------------- the seeds
# seeds/000: sub set to an account id on a Bitbucket call; must be the clientKey.
run jwt sign --secret "$SECRET" --iss "$BB_APP" --sub '557058:6dcdb6c9-da5c-4b08-9929-a81b560cf71b' \
    GET https://api.bitbucket.org/2.0/user
run jwt verify --secret "$SECRET" --outbound --product bitbucket --app-key "$BB_APP" \
    --client-key "$BB_CK" GET https://api.bitbucket.org/2.0/user "$OUT"
is "$RC" 1 "seed 000 (wrong sub): exit 1"
has "sub_mismatch:" "seed 000: sub_mismatch"
has "expected the clientKey \"$BB_CK\"" "seed 000: names the clientKey expected"
has "not an account id, user UUID or username" "seed 000: explains what sub is not"
grep -q '^iss_mismatch\|^qsh_mismatch\|^bad_signature' "$tmp/out" &&
    not_ok "seed 000: nothing else is blamed" || ok "seed 000: nothing else is blamed"

# seeds/002: the full URL hashed instead of the path.
JURL='https://your-domain.atlassian.net/rest/api/3/issue/XX-21?overrideScreenSecurity=true&overrideEditableFlag=true'
FULL='PUT&https://your-domain.atlassian.net/rest/api/3/issue/XX-21&overrideEditableFlag=true&overrideScreenSecurity=true'
run jwt sign --secret "$SECRET" --iss addon-key --claim qsh="$(sha256 "$FULL")" PUT "$JURL"
T2=$OUT
run jwt verify --secret "$SECRET" --outbound --product jira --app-key addon-key PUT "$JURL" "$T2"
is "$RC" 1 "seed 002 (full URL in qsh): exit 1"
has "qsh_mismatch:" "seed 002: qsh_mismatch"
has 'expected canonical request: "PUT&/rest/api/3/issue/XX-21&overrideEditableFlag=true&overrideScreenSecurity=true"' \
    "seed 002: prints the expected canonical request"
has "the full URL (scheme and host) was hashed instead of the path" "seed 002: names the mistake"
has "\"$FULL\"" "seed 002: shows what the token hashed"
# The same with a relative URL and the product's base URL.
run jwt verify --secret "$SECRET" --base-url https://your-domain.atlassian.net --outbound \
    --product jira --app-key addon-key PUT \
    '/rest/api/3/issue/XX-21?overrideScreenSecurity=true&overrideEditableFlag=true' "$T2"
has "the full URL (scheme and host) was hashed instead of the path" \
    "seed 002: recognised from a relative URL and --base-url"

# seeds/003: iss = the clientKey on an outbound Jira call.
J_CK=b3e0f650-a86c-3f7e-b1db-436452f85df7
J_APP=com.redacted-name.jira-integration
run jwt sign --secret "$SECRET" --iss "$J_CK" --sub 60f00ad8f749c400680daf47 --ttl 3600 \
    GET https://x.atlassian.net/rest/api/3/project/recent
T3=$OUT
run jwt verify --secret "$SECRET" --outbound --product jira --app-key "$J_APP" --client-key "$J_CK" \
    GET https://x.atlassian.net/rest/api/3/project/recent "$T3"
is "$RC" 1 "seed 003 (iss = clientKey): exit 1"
has "iss_mismatch: iss is the clientKey \"$J_CK\"" "seed 003: iss_mismatch names the clientKey"
has "iss is the app key (the descriptor's \"key\", here \"$J_APP\")" "seed 003: explains app key vs clientKey"
has "never in iss" "seed 003: says where the clientKey goes"
run jwt verify --secret "$SECRET" --outbound --client-key "$J_CK" --product jira \
    GET https://x.atlassian.net/rest/api/3/project/recent "$T3"
has "iss_mismatch: iss is the clientKey" "seed 003: recognised without --app-key"
# And the reverse, inbound: a token with the app key as iss.
run jwt verify --secret "$SECRET" --app-key "$J_APP" --client-key "$J_CK" \
    GET https://x.atlassian.net/rest/api/3/project/recent "$(
    "$acctl" jwt sign --secret "$SECRET" --iss "$J_APP" GET /rest/api/3/project/recent)"
has "iss is the app key" "inbound token with the app key as iss: explained"

# ---------------------------------------------------------------- RS256 (signed install)
if openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null &&
    openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem" 2>/dev/null; then
	b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
	H=$(printf '{"alg":"RS256","typ":"JWT","kid":"0a1b2c3d-0000-4000-8000-000000000000"}' | b64url)
	C=$(printf '{"iss":"%s","aud":"https://app.example.com","iat":%d,"exp":%d,"qsh":"%s"}' \
	    "$J_CK" $NOW $((NOW + 60)) "$(sha256 'POST&/installed&')" | b64url)
	S=$(printf '%s.%s' "$H" "$C" | openssl dgst -sha256 -sign "$tmp/key.pem" -binary | b64url)
	run jwt verify --public-key "$tmp/pub.pem" --base-url https://app.example.com POST /installed "$H.$C.$S"
	is "$RC|$OUT" "0|valid" "RS256 signed install verifies with --public-key"
	# HS256 "signed" with the public key PEM as secret, sent where RS256 is required
	run jwt sign --secret-file "$tmp/pub.pem" --iss "$J_CK" --aud https://app.example.com POST /installed
	cp "$tmp/out" "$tmp/forged"
	run jwt verify --secret-file "$tmp/pub.pem" --aud https://app.example.com POST /installed \
	    "$(cat "$tmp/forged")"
	is "$OUT" "valid" "(the forgery is a valid HS256 token for that 'secret')"
	run jwt verify --public-key "$tmp/pub.pem" --base-url https://app.example.com POST /installed \
	    "$(cat "$tmp/forged")"
	is "$RC" 1 "HS256 signed with the public key PEM, on an RS256 check: exit 1"
	has "alg_not_allowed:" "... alg_not_allowed"
	run jwt verify --secret "$SECRET" POST /installed "$H.$C.$S"
	is "$RC" 1 "an RS256 token on an HS256 check: exit 1"
	has "alg_not_allowed: alg is RS256 but this route requires HS256" "... alg_not_allowed, explained"
else
	for i in 1 2 3 4 5 6 7; do n=$((n + 1)); echo "ok $n # SKIP openssl cannot make an RSA key"; done
fi

# ---------------------------------------------------------------- --tenant (store via acctl tenant import)
mkdir -p "$tmp/store"
if AC_DATA_DIR="$tmp/store/data" AC_BASE_URL=https://app.example.com AC_APP_KEY=my-app \
    "$acctl" tenant import - >/dev/null 2>"$tmp/import.err" <<EOF_REC
{"v":1,"clientKey":"ck-1","sharedSecret":"tenant-$SECRET","key":"my-app","product":"bitbucket","baseUrl":"https://bitbucket.org","baseApiUrl":"https://api.bitbucket.org","oauthClientId":"","displayUrl":"","state":"installed","installedAt":$NOW,"updatedAt":$NOW,"uninstalledAt":0}
EOF_REC
then
	export AC_DATA_DIR="$tmp/store/data" AC_BASE_URL=https://app.example.com AC_APP_KEY=my-app
	run jwt sign --secret "tenant-$SECRET" --iss ck-1 POST /webhook
	run jwt verify --tenant ck-1 POST /webhook "$OUT"
	is "$RC|$OUT" "0|valid" "verify --tenant uses the stored secret"
	run jwt verify --tenant nope POST /webhook "$OUT"
	is "$RC|$(printf '%s' "$OUT" | cut -d: -f1)" "1|unknown_tenant" "verify --tenant of an unknown clientKey: unknown_tenant, exit 1"
	run jwt sign --secret "tenant-$SECRET" --iss ck-1 --sub ck-1 GET https://api.bitbucket.org/2.0/user
	run jwt verify --tenant ck-1 --outbound GET /2.0/user "$OUT"
	has 'iss is the app key (the descriptor'"'"'s "key", here "my-app")' \
	    "verify --tenant --outbound takes the app key and base API URL from the tenant"
	hasnt "tenant-$SECRET" "verify --tenant never prints the stored secret"
	unset AC_DATA_DIR AC_BASE_URL AC_APP_KEY
else
	diag "$(cat "$tmp/import.err")"
	for i in 1 2 3 4; do n=$((n + 1)); echo "ok $n # SKIP acctl tenant import failed"; done
fi

# ---------------------------------------------------------------- the seeds, pasted as they are
# Each thread pastes the token of its failing call and the URL it called, with --tenant and no
# direction flag: the URL says which way the token goes (issue 14, item 5), and the output names
# the thread's mistake. A Bitbucket and a Jira tenant of the app my-app:
mkdir -p "$tmp/seeds"
BSEC="bb-$SECRET"
JSEC="jira-$SECRET"
if AC_DATA_DIR="$tmp/seeds/data" AC_BASE_URL=https://app.example.com AC_APP_KEY=my-app \
    "$acctl" tenant import - >/dev/null 2>"$tmp/import.err" <<EOF_REC
{"v":1,"clientKey":"$BB_CK","sharedSecret":"$BSEC","key":"my-app","product":"bitbucket","baseUrl":"https://bitbucket.org","baseApiUrl":"https://api.bitbucket.org","oauthClientId":"","displayUrl":"","state":"installed","installedAt":$NOW,"updatedAt":$NOW,"uninstalledAt":0}
{"v":1,"clientKey":"$J_CK","sharedSecret":"$JSEC","key":"my-app","product":"jira","baseUrl":"https://x.atlassian.net","baseApiUrl":"","oauthClientId":"","displayUrl":"","state":"installed","installedAt":$NOW,"updatedAt":$NOW,"uninstalledAt":0}
EOF_REC
then
	export AC_DATA_DIR="$tmp/seeds/data" AC_BASE_URL=https://app.example.com AC_APP_KEY=my-app
	# blames TEXT...: no problem line other than these codes
	only() {
		local other
		other=$(grep -E '^[a-z_]+: ' "$tmp/out" | cut -d: -f1 | grep -vxF -e checked -e invalid "${@/#/-e}" || true)
		if [ -z "$other" ]; then ok "$desc: nothing else is blamed"; else
			not_ok "$desc: nothing else is blamed"; diag "$OUT"; fi
	}

	# seeds/000: Bitbucket call with sub = an account id
	desc="seed 000 (sub an account id)"
	U0=https://api.bitbucket.org/2.0/repositories/ws/repo/commit/abc/comments
	T0=$("$acctl" jwt sign --secret "$BSEC" --iss my-app --sub '557058:6dcdb6c9-da5c-4b08-9929-a81b560cf71b' \
	    POST "$U0")
	run jwt verify --tenant "$BB_CK" POST "$U0" "$T0"
	is "$RC" 1 "$desc, --tenant and no direction: exit 1"
	has "sub_mismatch: sub is \"557058:" "$desc: sub_mismatch"
	has "expected the clientKey \"$BB_CK\"" "$desc: sub must be the clientKey"
	has "checked as a token the app sends to the product: the URL is on the tenant's baseApiUrl https://api.bitbucket.org" \
	    "$desc: checked as outbound, from the URL"
	only sub_mismatch

	# seeds/001: the JWT grant, its token sent as 'Authorization: Bearer'
	desc="seed 001 (the grant's JWT as Bearer)"
	U1=https://bitbucket.org/site/oauth2/access_token
	T1=$("$acctl" jwt sign --secret "$BSEC" --iss my-app --sub "$BB_CK" POST "$U1")
	run jwt verify --tenant "$BB_CK" POST "$U1" "Authorization: Bearer $T1"
	is "$RC" 1 "$desc: exit 1"
	has "token_missing: Connect tokens use 'Authorization: JWT <token>', not Bearer" "$desc: names the scheme"
	has "on the tenant's baseUrl https://bitbucket.org" "$desc: the grant URL is on the product"
	only token_missing
	run jwt verify --tenant "$BB_CK" POST "$U1" "JWT $T1"
	is "$RC|$OUT" "0|valid" "$desc: the same token with the JWT scheme is valid"

	# seeds/002: a Jira call whose qsh hashed the full URL
	desc="seed 002 (full URL in qsh)"
	JURL2=${JURL/your-domain/x}
	T2=$("$acctl" jwt sign --secret "$JSEC" --iss my-app --claim qsh="$(sha256 "${FULL/your-domain/x}")" PUT "$JURL2")
	run jwt verify --tenant "$J_CK" PUT "$JURL2" "$T2"
	is "$RC" 1 "$desc: exit 1"
	has "the full URL (scheme and host) was hashed instead of the path" "$desc: qsh computed over the wrong path"
	has "the URL is on the tenant's baseUrl https://x.atlassian.net" "$desc: checked as outbound"
	only qsh_mismatch
	# ... and its other fix, "increase the token lifespan": a clock behind
	desc="seed 002 (clock behind)"
	T2=$("$acctl" jwt sign --secret "$JSEC" --iss my-app --claim iat=$((NOW - 400)) \
	    --claim exp=$((NOW - 220)) PUT "$JURL2")
	run jwt verify --tenant "$J_CK" PUT "$JURL2" "$T2"
	is "$RC" 1 "$desc: exit 1"
	has "the signer's clock is behind ours by at least 160 s" "$desc: names the clock"
	only expired

	# seeds/003: iss = the clientKey on a Jira call; said "valid" without --outbound before
	desc="seed 003 (iss the clientKey)"
	U3=https://x.atlassian.net/rest/api/3/project/recent
	T3=$("$acctl" jwt sign --secret "$JSEC" --iss "$J_CK" --sub 60f00ad8f749c400680daf47 --ttl 3600 GET "$U3")
	run jwt verify --tenant "$J_CK" GET "$U3" "$T3"
	is "$RC" 1 "$desc, --tenant and no direction: exit 1"
	has "iss_mismatch: iss is the clientKey \"$J_CK\"" "$desc: iss must not be the clientKey"
	has "iss is the app key (the descriptor's \"key\", here \"my-app\")" "$desc: iss must be the app key"
	only iss_mismatch
	run jwt verify --tenant "$J_CK" --inbound GET "$U3" "$T3"
	is "$RC|$OUT" "0|valid" "$desc: --inbound still forces the other direction"
	run jwt verify --tenant "$J_CK" GET /rest/api/3/project/recent "$T3"
	has "iss_mismatch: iss is the clientKey \"$J_CK\"" "$desc: named from a relative URL too"
	has "the URL is a path that names no route of the app" "$desc: ... a path outside the app goes to the product"

	# seeds/004: a Bitbucket call signed with an OAuth consumer's key and secret
	desc="seed 004 (OAuth consumer)"
	U4=https://api.bitbucket.org/2.0/repositories/ws/repo/pullrequests/1/comments
	T4=$("$acctl" jwt sign --secret consumer-secret --iss Wq7Cg3consumerKEY --sub "$BB_CK" POST "$U4")
	run jwt verify --tenant "$BB_CK" POST "$U4" "$T4"
	is "$RC" 1 "$desc: exit 1"
	has "not with an OAuth consumer's key or secret" "$desc: the secret is the sharedSecret"
	has "iss_mismatch: iss is \"Wq7Cg3consumerKEY\", expected \"my-app\" (the app key" "$desc: iss must be the app key"
	only bad_signature iss_mismatch

	# under AC_BASE_URL: a token the product sends
	desc="a URL under AC_BASE_URL"
	TW=$("$acctl" jwt sign --secret "$BSEC" --iss "$BB_CK" --aud "$BB_CK" POST https://app.example.com/webhook)
	run jwt verify --tenant "$BB_CK" POST https://app.example.com/webhook "$TW"
	is "$RC|$OUT" "0|valid" "$desc: is checked as inbound (a webhook token is valid)"
	run jwt verify --tenant "$BB_CK" POST /webhook "$TW"
	is "$RC|$OUT" "0|valid" "$desc: so is a relative URL that names a route of the app"
	run jwt verify --tenant "$BB_CK" POST https://app.example.com/webhook "$T0"
	is "$RC" 1 "$desc: an outbound token there: exit 1"
	has "iss is the app key \"my-app\": that is a token the app signed for the product" "$desc: ... explained"
	has "checked as a token the product sends to the app: the URL is under AC_BASE_URL https://app.example.com (--outbound" \
	    "$desc: ... and the direction named"
	# the page route takes context-qsh, as the server's does; the webhook does not
	TP=$("$acctl" jwt sign --secret "$BSEC" --iss "$BB_CK" --context-qsh GET)
	run jwt verify --tenant "$BB_CK" GET "https://app.example.com/oauth-callback?jwt=$TP" "$TP"
	is "$RC|$OUT" "0|valid" "$desc: context-qsh on the page route is valid, as on the server"
	run jwt verify --tenant "$BB_CK" POST https://app.example.com/webhook "$TP"
	has "qsh_mismatch: qsh is \"context-qsh\", accepted only on page routes" "$desc: ... and not on the webhook"
	run jwt verify --tenant "$BB_CK" --outbound POST https://app.example.com/webhook "$TW"
	has "iss_mismatch: iss is the clientKey" "$desc: --outbound forces the other direction"
	run jwt verify --tenant "$BB_CK" GET https://elsewhere.example.org/x "$TW"
	is "$RC" 2 "a URL on neither side: exit 2"
	grep -q -- "--outbound for a call" "$tmp/err" && ok "... saying how to choose" || { not_ok "... saying how to choose"; diag "$ERR"; }
	run jwt verify --tenant "$BB_CK" --inbound --outbound POST https://app.example.com/webhook "$TW"
	is "$RC" 2 "--inbound with --outbound: exit 2"
	unset AC_DATA_DIR AC_BASE_URL AC_APP_KEY
else
	diag "$(cat "$tmp/import.err")"
	for i in $(seq 39); do n=$((n + 1)); echo "ok $n # SKIP acctl tenant import failed"; done
fi

# ---------------------------------------------------------------- usage errors
run jwt verify GET /x "$TOK"
is "$RC" 2 "verify without a key exits 2"
run jwt verify --secret a --public-key "$tmp/secret" GET /x "$TOK"
is "$RC" 2 "verify with two keys exits 2"
run jwt verify --public-key "$tmp/secret" --outbound GET /x "$TOK"
is "$RC" 2 "verify --public-key --outbound exits 2 (the app signs with the sharedSecret)"
run jwt verify --secret a --leeway lots GET /x "$TOK"
is "$RC" 2 "verify --leeway not a number exits 2"
run jwt verify --secret-file "$tmp/nonexistent" GET /x "$TOK"
is "$RC" 2 "verify --secret-file of a missing file exits 2"
run jwt verify --secret a GET /x 'a.b'
is "$RC|$(printf '%s' "$OUT" | cut -d: -f1)" "1|token_malformed" "verify of two segments: token_malformed, exit 1"
run jwt sign --iss x GET /x
is "$RC" 2 "sign without a secret exits 2"
run jwt sign --secret a GET /x
is "$RC" 2 "sign without --iss exits 2"
run jwt sign --secret a --iss x --ttl -5 GET /x
is "$RC" 2 "sign --ttl -5 exits 2"
run jwt sign --secret a --iss x --claim =1 GET /x
is "$RC" 2 "sign --claim without a name exits 2"

echo "1..$n"
[ "$failed" -eq 0 ]
