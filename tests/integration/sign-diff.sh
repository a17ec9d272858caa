#!/bin/sh
# sign-diff.sh: tokens signed by `acctl jwt sign` verified by npm atlassian-jwt, and back. TAP.
#
# For each request: acctl signs (HS256, qsh of METHOD URL against BASEURL);
# tests/sim/verify-token.js checks the signature with decodeSymmetric and the
# qsh with createQueryStringHash(fromMethodAndUrl(...), false, baseUrl). Then
# atlassian-jwt signs and `acctl jwt verify` must say valid. The requests avoid
# the few documented differences of the npm package (doc/protocol.md §3).
# Environment: top_srcdir, top_builddir, NODE (from make check). No network.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
node=${NODE:-node}
sim=$top_srcdir/tests/sim
acctl=${ACCTL:-$top_builddir/src/cli/acctl}

if ! command -v "$node" >/dev/null 2>&1 || [ ! -d "$sim/node_modules/atlassian-jwt" ]; then
	echo "1..0 # SKIP node or tests/sim/node_modules/atlassian-jwt missing (npm ci in tests/sim)"
	exit 0
fi
if [ ! -x "$acctl" ]; then
	echo "1..1"
	echo "not ok 1 - acctl not built at $acctl"
	exit 1
fi
unset AC_FAKE_NOW AC_CONFIG

n=0
failed=0
secret="diff-secret-$$-with spaces & symbols/+="
app=connect-fcgi-diff
ck='ari:cloud:bitbucket::app/{8c7f5e9a-0000-4000-8000-000000000001}/connect-fcgi-diff'

# one METHOD URL BASEURL
one() {
	m=$1 u=$2 b=$3
	if [ -n "$b" ]; then
		tok=$("$acctl" jwt sign --secret "$secret" --iss "$app" --sub "$ck" --base-url "$b" "$m" "$u")
	else
		tok=$("$acctl" jwt sign --secret "$secret" --iss "$app" --sub "$ck" "$m" "$u")
	fi
	res=$(cd "$sim" && "$node" verify-token.js verify "$tok" "$secret" "$m" "$u" "$b" 2>&1)
	rc=$?
	n=$((n + 1))
	if [ "$rc" -eq 0 ] && printf '%s' "$res" | grep -qF "\"sub\":\"$ck\"" &&
	    printf '%s' "$res" | grep -qF "\"iss\":\"$app\""; then
		echo "ok $n - atlassian-jwt verifies acctl's token for $m $u${b:+ (base $b)}"
	else
		failed=$((failed + 1))
		echo "not ok $n - atlassian-jwt verifies acctl's token for $m $u${b:+ (base $b)}"
		echo "# $res"
	fi
	tok=$(cd "$sim" && "$node" verify-token.js sign "$secret" "$app" "$m" "$u" "$b")
	if [ -n "$b" ]; then
		out=$("$acctl" jwt verify --secret "$secret" --base-url "$b" "$m" "$u" "$tok" 2>&1)
	else
		out=$("$acctl" jwt verify --secret "$secret" "$m" "$u" "$tok" 2>&1)
	fi
	n=$((n + 1))
	if [ "$out" = valid ]; then
		echo "ok $n - acctl verifies atlassian-jwt's token for $m $u"
	else
		failed=$((failed + 1))
		echo "not ok $n - acctl verifies atlassian-jwt's token for $m $u"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}

one GET https://api.bitbucket.org/2.0/user ''
one POST https://api.bitbucket.org/2.0/repositories/ws/repo/pullrequests/7/comments https://api.bitbucket.org
one GET 'https://api.bitbucket.org/2.0/repositories/%7B1234-abcd%7D/repo?pagelen=50&page=2' https://api.bitbucket.org
one POST https://api.bitbucket.org/2.0/repositories/ws/repo/commit/0123456789abcdef0123456789abcdef01234567/statuses/build ''
one POST https://bitbucket.org/site/oauth2/access_token ''
one PUT 'https://x.atlassian.net/rest/api/3/issue/XX-21?overrideScreenSecurity=true&overrideEditableFlag=true' https://x.atlassian.net
one GET 'https://x.atlassian.net/wiki/rest/api/space?limit=25' https://x.atlassian.net/wiki
one DELETE '/rest/api/3/issue/XX-1?deleteSubtasks=true' ''
one GET '/search?q=a+b&q=c,d&z=%2A&empty=&flag' ''
one patch '/rest/api/3/some/resource?b=2&a=1' ''
one GET '/path/with/trailing/' ''
one GET '/' ''
one GET '/a%2Fb/caf%C3%A9?name=J%C3%BCrgen&sp=%20x' ''

echo "1..$n"
[ "$failed" -eq 0 ]
