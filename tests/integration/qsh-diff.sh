#!/bin/sh
# qsh-diff.sh: our canonical request and qsh against npm atlassian-jwt (doc/protocol.md §3), as TAP.
#
# Feeds the same requests (the qsh vectors, listed edge cases and a few
# thousand seeded random ones, from tests/sim/gen-requests.js) to
# tests/unit/canon-cli (ours) and tests/sim/qsh-oracle.js (npm), then
# tests/sim/qsh-compare.js fails on any difference that no documented rule
# explains and counts the explained ones by rule.
#
# Environment: top_srcdir, top_builddir (set by make check), NODE (node),
# QSH_DIFF_SEED (default 20240603), QSH_DIFF_COUNT (default 3000),
# CANON_CLI (default $top_builddir/tests/unit/canon-cli).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
node=${NODE:-node}
sim=$top_srcdir/tests/sim
cli=${CANON_CLI:-$top_builddir/tests/unit/canon-cli}
seed=${QSH_DIFF_SEED:-20240603}
count=${QSH_DIFF_COUNT:-3000}

if ! command -v "$node" >/dev/null 2>&1 || [ ! -d "$sim/node_modules/atlassian-jwt" ]; then
	echo "1..0 # SKIP node or atlassian-jwt missing"
	exit 0
fi
if [ ! -x "$cli" ]; then
	echo "1..1"
	echo "not ok 1 - canon-cli not built at $cli"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qsh-diff.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! "$node" "$sim/gen-requests.js" "$top_srcdir/tests/fixtures/qsh-vectors.json" \
	"$seed" "$count" >"$tmp/requests.jsonl"; then
	echo "1..1"
	echo "not ok 1 - gen-requests.js failed"
	exit 1
fi
echo "# seed $seed, $(wc -l <"$tmp/requests.jsonl") requests (QSH_DIFF_SEED, QSH_DIFF_COUNT)"

"$cli" <"$tmp/requests.jsonl" >"$tmp/c.jsonl" 2>"$tmp/c.err"
c_rc=$?
(cd "$sim" && "$node" qsh-oracle.js) <"$tmp/requests.jsonl" >"$tmp/npm.jsonl" 2>"$tmp/npm.err"
n_rc=$?
if [ "$c_rc" -ne 0 ] || [ "$n_rc" -ne 0 ]; then
	echo "1..1"
	echo "not ok 1 - tools ran (canon-cli exit $c_rc, qsh-oracle.js exit $n_rc)"
	sed 's/^/# /' "$tmp/c.err" "$tmp/npm.err"
	exit 1
fi

"$node" "$sim/qsh-compare.js" "$tmp/requests.jsonl" "$tmp/c.jsonl" "$tmp/npm.jsonl"
