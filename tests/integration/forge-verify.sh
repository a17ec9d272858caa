#!/bin/bash
# forge-verify.sh: `acctl forge verify` on Forge Invocation Tokens signed with npm jose. TAP.
#
# tests/sim/fit-tokens.js makes an RSA JWKS (with an EC key and a 1024-bit RSA key that must be
# ignored) and FITs signed with jose, good and bad (doc/protocol.md §11), each named with the code
# acctl must give; every token is made for one fixed time, given to acctl with --now, so no
# check depends on the clock. Environment: top_srcdir, top_builddir, NODE. No network.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
node=${NODE:-node}
sim=$top_srcdir/tests/sim
acctl=${ACCTL:-$top_builddir/src/cli/acctl}

if ! command -v "$node" >/dev/null 2>&1 || [ ! -d "$sim/node_modules/jose" ]; then
	echo "1..0 # SKIP node or tests/sim/node_modules/jose missing (npm ci in tests/sim)"
	exit 0
fi
if [ ! -x "$acctl" ]; then
	echo "1..1"
	echo "not ok 1 - acctl not built at $acctl"
	exit 1
fi
unset AC_CONFIG AC_FAKE_NOW AC_FORGE_APP_ID AC_FORGE_ENVIRONMENTS AC_FORGE_LEEWAY AC_FORGE_JWKS_URL

tmp=$(mktemp -d "${TMPDIR:-/tmp}/forge-verify.XXXXXX") || exit 1
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
run() {
	(cd "$tmp" && "$acctl" "$@") >"$tmp/out" 2>"$tmp/err"
	RC=$?
	OUT=$(cat "$tmp/out")
	ERR=$(cat "$tmp/err")
}
has() {
	if grep -qF -- "$1" "$tmp/out"; then ok "$2"; else not_ok "$2"; diag "no '$1' in:" "$OUT" "$ERR"; fi
}

NOW=1790000000
UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
APP=ari:cloud:ecosystem::app/$UUID
mkdir "$tmp/v"
if ! (cd "$sim" && "$node" fit-tokens.js "$tmp/v" "$NOW" "$APP") 2>"$tmp/gen.err"; then
	echo "1..1"
	echo "not ok 1 - fit-tokens.js failed"
	diag "$(cat "$tmp/gen.err")"
	exit 1
fi
JWKS=$tmp/v/jwks.json

# ---------------------------------------------------------------- every case, by its code
while read -r name want opts; do
	# shellcheck disable=SC2086 # opts is a list of options
	run forge verify --jwks "$JWKS" --app-id "$APP" --now "$NOW" $opts "$(cat "$tmp/v/$name.jwt")"
	if [ "$want" = ok ]; then
		if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -qx valid; then
			ok "$name: valid, exit 0"
		else
			not_ok "$name: valid, exit 0"; diag "rc $RC" "$OUT" "$ERR"
		fi
	elif [ "$RC" -eq 1 ] && printf '%s\n' "$OUT" | grep -q "^$want: "; then
		ok "$name: $want, exit 1"
	else
		not_ok "$name: $want, exit 1"; diag "rc $RC" "$OUT" "$ERR"
	fi
	# never the whole token, valid or not
	sig=$(cut -d. -f3 "$tmp/v/$name.jwt")
	if [ -n "$sig" ] && grep -qF -- "$sig" "$tmp/out" "$tmp/err"; then
		not_ok "$name: the token is not printed"
	fi
done <"$tmp/v/cases.txt"

# ---------------------------------------------------------------- the explanations
GOOD=$(cat "$tmp/v/good.jwt")
run forge verify --jwks "$JWKS" --app-id "$UUID" --now "$NOW" "$GOOD"
has "installation: ari:cloud:ecosystem::installation/" "valid: names the installation (a bare uuid as --app-id)"
has "environment:  PRODUCTION" "valid: names the environment"
has "workspaceId:  {" "valid: names the installation's context"
run forge verify --jwks "$JWKS" --app-id "$APP" --now "$((NOW + 100))" "$GOOD"
has "expired 75 s ago" "expired: says how long ago"
run forge verify --jwks "$JWKS" --app-id "ari:cloud:ecosystem::app/11111111-2222-3333-4444-555555555555" \
    --now "$NOW" "$GOOD"
has "but the app id expected is \"ari:cloud:ecosystem::app/11111111-2222-3333-4444-555555555555\"" \
    "fit_aud: the app id expected"
has "aud is \"$APP\"" "fit_aud: the app id found"
run forge verify --jwks "$JWKS" --app-id "$APP" --now "$NOW" "$(cat "$tmp/v/unknown-kid.jwt")"
has "is not in the JWKS (1 usable key: \"forge/invocation-token/wf-" "fit_kid_unknown: lists the kids of the set"
run forge verify --jwks "$JWKS" --app-id "$APP" --now "$NOW" "$(cat "$tmp/v/small-key.jwt")"
has "kid \"small-key\" is in the JWKS but its key was ignored: RSA modulus shorter than 2048 bits" \
    "a 1024-bit key in the set is ignored, and said so"
run forge verify --jwks "$JWKS" --app-id "$APP" --now "$NOW" --environments PRODUCTION \
    "$(cat "$tmp/v/wrong-environment.jwt")"
has "came from the DEVELOPMENT environment" "fit_environment: names the environment it came from"

# ---------------------------------------------------------------- the header, the settings
run forge verify --jwks "$JWKS" --app-id "$APP" --now "$NOW" "Authorization: Bearer $GOOD"
if [ "$RC" -eq 0 ]; then ok "'Authorization: Bearer TOKEN' is accepted"; else not_ok "Bearer header"; diag "$OUT"; fi
run forge verify --jwks "$JWKS" --app-id "$APP" --now "$NOW" "JWT $GOOD"
if [ "$RC" -eq 1 ] && printf '%s\n' "$OUT" | grep -q '^fit_scheme: .*Connect'; then
	ok "the Connect scheme 'JWT' is fit_scheme, explained"
else
	not_ok "JWT scheme"; diag "$OUT"
fi
run forge verify --jwks "$JWKS" --app-id "$APP" --now "$NOW" "bearer $GOOD"
if [ "$RC" -eq 1 ] && printf '%s\n' "$OUT" | grep -q '^fit_scheme: '; then ok "lower-case bearer is fit_scheme"; else not_ok "bearer"; diag "$OUT"; fi
printf '%s\n' "$GOOD" >"$tmp/tok"
(cd "$tmp" && AC_FORGE_APP_ID=$UUID AC_FORGE_LEEWAY=0 "$acctl" forge verify --jwks "$JWKS" --now "$NOW" - <"$tmp/tok") >"$tmp/out" 2>&1
if [ $? -eq 0 ]; then ok "AC_FORGE_APP_ID (a bare uuid) is the default app id; TOKEN from stdin"; else not_ok "AC_FORGE_APP_ID default"; diag "$(cat "$tmp/out")"; fi
(cd "$tmp" && AC_FORGE_APP_ID=$UUID AC_FORGE_ENVIRONMENTS=DEVELOPMENT "$acctl" forge verify --jwks "$JWKS" --now "$NOW" "$GOOD") >"$tmp/out" 2>&1
if [ $? -eq 1 ] && grep -q '^fit_environment: ' "$tmp/out"; then ok "AC_FORGE_ENVIRONMENTS is the default policy"; else not_ok "AC_FORGE_ENVIRONMENTS default"; diag "$(cat "$tmp/out")"; fi
(cd "$tmp" && AC_FORGE_APP_ID=$UUID AC_FORGE_LEEWAY=2 "$acctl" forge verify --jwks "$JWKS" --now "$NOW" \
    "$(cat "$tmp/v/good-within-leeway.jwt")") >"$tmp/out" 2>&1
if [ $? -eq 1 ] && grep -q '^fit_expired: ' "$tmp/out"; then ok "AC_FORGE_LEEWAY=2 refuses a token 3 s past exp"; else not_ok "AC_FORGE_LEEWAY"; diag "$(cat "$tmp/out")"; fi

# claims are shown, never obeyed: a control character in the token comes out as \xNN
run forge verify --jwks "$JWKS" --app-id "$APP" --now "$NOW" "$(cat "$tmp/v/escape-in-iss.jwt")"
if [ "$RC" -eq 1 ] && grep -qF 'x1b[2J' "$tmp/out" && ! grep -q "$(printf '\033')" "$tmp/out"; then
	ok "an escape sequence in a claim is printed as \\x1b"
else
	not_ok "escape in a claim"; diag "$OUT"
fi

# ---------------------------------------------------------------- the JWKS over HTTP (issue 15 item 9)
# tests/sim/forge-jwks.js on loopback: its own keys, its own FITs (verified --now at their iat, so
# no check depends on the clock); the store keeps a JWKS once forge-events.fcgi (plain CGI) fetched
# it. The programs run as nobody when the test runs as root.
chmod 0755 "$tmp"
mkdir "$tmp/fj" "$tmp/empty"
mkdir -m 0700 "$tmp/data"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	chown nobody:nogroup "$tmp/data" "$tmp/empty"
	as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
"$node" "$sim/forge-jwks.js" "$tmp/fj" "$APP" >"$tmp/fj.out" 2>"$tmp/fj.err" &
SERVER_PID=$!
for _ in $(seq 100); do
	[ -s "$tmp/fj/forge.json" ] && break
	sleep 0.1
done
FJ=$("$node" -e 'process.stdout.write(require(process.argv[1]).url)' "$tmp/fj/forge.json" 2>/dev/null)
if [ -z "$FJ" ]; then
	not_ok "the loopback JWKS server starts"; diag "$(cat "$tmp/fj.err")"
else
	ctl() { curl -s --max-time 10 "$@"; }
	count() { ctl "$FJ/_ctl/count"; }
	LIVE=$(ctl "$FJ/_ctl/fit?case=good&inst=ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)")
	IAT=$("$node" -e 'const p = process.argv[1].split(".")[1];
		process.stdout.write(String(JSON.parse(Buffer.from(p, "base64url")).iat))' "$LIVE")
	export AC_BASE_URL=https://app.example.com AC_ALLOWED_HOSTS=127.0.0.1
	# runu ARGS...: acctl with AC_DATA_DIR and AC_FORGE_JWKS_URL as set, --now at the live token's iat
	runu() { run forge verify --app-id "$APP" --now "$IAT" "$@" "$LIVE"; }

	before=$(count)
	runu --jwks "$FJ/.well-known/jwks.json"
	if [ "$RC" -eq 0 ] && grep -qx valid "$tmp/out" && [ "$(count)" = "$((before + 1))" ]; then
		ok "--jwks URL: fetched once over loopback http named in AC_ALLOWED_HOSTS, the token valid"
	else
		not_ok "--jwks URL"; diag "rc $RC" "$OUT" "$ERR"
	fi
	runu --jwks "$JWKS"
	if [ "$RC" -eq 1 ] && grep -q '^fit_kid_unknown: ' "$tmp/out"; then
		ok "the same token against another set (a file): fit_kid_unknown"
	else
		not_ok "another set"; diag "rc $RC" "$OUT"
	fi
	# fetch failures, each said plainly, exit 2, nothing verified
	while IFS='|' read -r url want desc; do
		runu --jwks "$url"
		if [ "$RC" -eq 2 ] && grep -qF -- "$want" "$tmp/err" && ! grep -q '^valid' "$tmp/out"; then
			ok "--jwks $desc: exit 2, said"
		else
			not_ok "--jwks $desc: exit 2, said ('$want')"; diag "rc $RC" "$OUT" "$ERR"
		fi
	done <<EOF_CASES
$FJ/nope|answered HTTP 404, not 200 with a JWKS|a 404
$FJ/_ctl/count|answered 200 but not a usable JWKS|an answer that is not a JWKS
https://127.0.0.1:1/jwks.json|could not be reached or did not answer|a server that is not there
ftp://127.0.0.1/jwks.json|a JWKS comes over https, or plain http from a loopback host|another scheme (not opened as a file)
http://localhost.invalid/jwks.json|a JWKS comes over https, or plain http from a loopback host|plain http to a host not on loopback
EOF_CASES
	(cd "$tmp" && AC_ALLOWED_HOSTS=example.com "$acctl" forge verify --jwks "$FJ/.well-known/jwks.json" \
	    --app-id "$APP" --now "$IAT" "$LIVE") >"$tmp/out" 2>"$tmp/err"
	if [ $? -eq 2 ] && grep -qF "plain http from a loopback host named in AC_ALLOWED_HOSTS" "$tmp/err"; then
		ok "--jwks loopback http not named in AC_ALLOWED_HOSTS: refused, said"
	else
		not_ok "loopback not allowed"; diag "$(cat "$tmp/out" "$tmp/err")"
	fi
	ctl -X POST "$FJ/_ctl/down" >/dev/null
	runu --jwks "$FJ/.well-known/jwks.json"
	if [ "$RC" -eq 2 ] && grep -qF "answered HTTP 503" "$tmp/err"; then ok "--jwks URL while it answers 503: exit 2, said"; else not_ok "503"; diag "$ERR"; fi
	ctl -X POST "$FJ/_ctl/up" >/dev/null

	# no --jwks, no store: AC_FORGE_JWKS_URL fetched
	export AC_FORGE_JWKS_URL="$FJ/.well-known/jwks.json" AC_FORGE_APP_ID="$UUID"
	before=$(count)
	AC_DATA_DIR="$tmp/empty" runu
	if [ "$RC" -eq 0 ] && grep -qF "the store keeps none" "$tmp/err" && [ "$(count)" = "$((before + 1))" ]; then
		ok "no --jwks and no kept JWKS: AC_FORGE_JWKS_URL fetched, the token valid"
	else
		not_ok "no --jwks, no store"; diag "rc $RC" "$OUT" "$ERR"
	fi
	# no --jwks, a store that keeps one (forge-events.fcgi fetched it): the kept set, no fetch
	printf '{}' >"$tmp/body"
	(cd "$tmp" && env AC_DATA_DIR="$tmp/data" REQUEST_METHOD=POST REQUEST_URI=/forge/events \
	    SCRIPT_NAME=/forge/events CONTENT_TYPE=application/json CONTENT_LENGTH=2 GATEWAY_INTERFACE=CGI/1.1 \
	    HTTP_AUTHORIZATION="Bearer $(ctl "$FJ/_ctl/fit?case=good&inst=ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)")" \
	    "${as_user[@]}" "$top_builddir/src/fcgi/forge-events.fcgi" <"$tmp/body") >"$tmp/cgi.out" 2>"$tmp/cgi.err"
	if grep -q '^Status: 204' "$tmp/cgi.out"; then ok "forge-events.fcgi (plain CGI) kept the JWKS in the store"; else not_ok "the CGI call"; diag "$(cat "$tmp/cgi.out" "$tmp/cgi.err")"; fi
	ctl -X POST "$FJ/_ctl/down" >/dev/null
	before=$(count)
	AC_DATA_DIR="$tmp/data" runu
	if [ "$RC" -eq 0 ] && grep -qF "the JWKS kept in the store" "$tmp/err" && [ "$(count)" = "$before" ]; then
		ok "no --jwks: the JWKS the store keeps, not fetched (the server is down)"
	else
		not_ok "no --jwks, kept"; diag "rc $RC" "$OUT" "$ERR"
	fi
	AC_DATA_DIR="$tmp/empty" runu
	if [ "$RC" -eq 2 ] && grep -qF "cannot fetch the JWKS (AC_FORGE_JWKS_URL; the store keeps none): $FJ/.well-known/jwks.json answered HTTP 503" "$tmp/err"; then
		ok "no --jwks, none kept, AC_FORGE_JWKS_URL down: exit 2, said"
	else
		not_ok "no --jwks, down"; diag "rc $RC" "$OUT" "$ERR"
	fi
	unset AC_FORGE_JWKS_URL AC_FORGE_APP_ID AC_BASE_URL AC_ALLOWED_HOSTS
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
fi

# ---------------------------------------------------------------- usage: exit 2
run forge verify --jwks "$tmp/none.json" --app-id "$APP" "$GOOD"
if [ "$RC" -eq 2 ]; then ok "a missing JWKS file: exit 2"; else not_ok "missing JWKS: exit 2 (got $RC)"; fi
printf '{"keys":[{"kty":"EC","kid":"x"}]}' >"$tmp/ec.json"
run forge verify --jwks "$tmp/ec.json" --app-id "$APP" "$GOOD"
if [ "$RC" -eq 2 ] && grep -q "no usable key" "$tmp/err"; then ok "a JWKS without a usable key: exit 2, said"; else not_ok "unusable JWKS"; diag "$ERR"; fi
run forge verify --jwks "$JWKS" --app-id not-a-uuid "$GOOD"
if [ "$RC" -eq 2 ]; then ok "--app-id not a uuid: exit 2"; else not_ok "--app-id: exit 2 (got $RC)"; fi
run forge verify --jwks "$JWKS" --app-id "$APP" --environments TEST "$GOOD"
if [ "$RC" -eq 2 ]; then ok "--environments TEST: exit 2"; else not_ok "--environments: exit 2 (got $RC)"; fi
run forge verify --jwks "$JWKS" --app-id "$APP" --now yesterday "$GOOD"
if [ "$RC" -eq 2 ]; then ok "--now yesterday: exit 2"; else not_ok "--now: exit 2 (got $RC)"; fi
run forge verify --jwks "$JWKS" --app-id "$APP" --now 2026-09-21T14:13:20Z "$GOOD"
if [ "$RC" -eq 0 ]; then ok "--now in ISO 8601 form"; else not_ok "--now ISO"; diag "$OUT"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
