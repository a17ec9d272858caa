#!/bin/sh
# check-wipe.sh: secrets are cleansed with OPENSSL_cleanse, never with a memset the compiler drops. TAP.
#
# A memset(p, 0, n) before free(p) is a dead store: gcc -O2 removed three of the seven such wipes
# (access tokens and signed JWTs stayed in freed memory). None is allowed in src/: ac_buf_free_secret,
# ac_buf_init_secret, ac_json_put_secret or OPENSSL_cleanse instead. Then the objects that hold
# secrets must call them.
src="${top_srcdir:-$(dirname "$0")/..}/src"
obj="${top_builddir:-.}/src/lib"
echo "1..2"
# a memset (to 0) or bzero of p, then within four lines free(p) or a release of what owns it
hits=$(for f in $(find "$src" -name '*.c'); do
	awk -v F="$f" '
	{
		for (a in P)
			if (NR - P[a] > 4)
				P[a] = -1000
			else if (index($0, "free(" a ")") || index($0, "free(" B[a] ")") ||
			    index($0, "_release(&" B[a] ")") || index($0, "_release(" B[a] ")")) {
				printf "%s:%d: %s\n", F, P[a], W[a]
				P[a] = -1000
			}
		if (match($0, /(memset|bzero)[ \t]*\([^,]+,/)) {
			if ($0 ~ /memset/ && $0 !~ /memset[ \t]*\([^,]+,[ \t]*0[ \t]*,/)
				next
			s = substr($0, RSTART, RLENGTH)
			sub(/^(memset|bzero)[ \t]*\(/, "", s)
			sub(/,$/, "", s)
			b = s
			sub(/^&/, "", b)
			sub(/(\.|->)data$/, "", b)
			P[s] = NR
			B[s] = b
			W[s] = $0
		}
	}' "$f"
done)
if [ -z "$hits" ]; then
	echo "ok 1 - no memset or bzero before a free in src/ (OPENSSL_cleanse instead)"
else
	echo "$hits" | sed 's/^/# /'
	echo "not ok 1 - memset or bzero before a free in src/: the compiler may remove them"
fi
# object: what it must call (as built, with the configured CFLAGS: -O2 by default)
missing=
for pair in buf:OPENSSL_cleanse json:OPENSSL_cleanse token-sign:OPENSSL_cleanse http:OPENSSL_cleanse \
	tenant:OPENSSL_cleanse tokens:OPENSSL_cleanse grant:ac_buf_init_secret grant:ac_buf_free_secret_str grant:ac_json_put_secret tokens:ac_json_put_secret \
	tenant:ac_json_put_secret client:ac_buf_init_secret client:ac_buf_free_secret_str \
	lifecycle:ac_json_put_secret request:ac_buf_init_secret oauth_page:ac_json_put_secret \
	token-sign:ac_buf_init_secret token:ac_buf_free_secret forge:ac_json_put_secret forge:ac_buf_free_secret_str \
	forge_events:ac_buf_init_secret forge_events:ac_json_put_secret forge_client:ac_buf_init_secret \
	pg-tenant:OPENSSL_cleanse pg-tenant:ac_json_put_secret pg-forge:ac_pg_clear_secret; do
	o=$(find "$obj" \( -name "${pair%%:*}.o" -o -name "*_a-${pair%%:*}.o" \) 2>/dev/null | head -n 1)
	if [ -z "$o" ] || [ ! -f "$o" ]; then
		missing="$missing ${pair%%:*}.o(not built)"
	elif ! nm "$o" | grep -qE "[UT] ${pair#*:}\$"; then
		missing="$missing ${pair%%:*}.o:${pair#*:}"
	fi
done
if [ -z "$missing" ]; then
	echo "ok 2 - the objects holding secrets call the wipes"
else
	echo "not ok 2 - wipes missing from:$missing"
fi
