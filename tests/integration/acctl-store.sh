#!/bin/bash
# acctl-store.sh: `acctl tenant` and `acctl inbox` against a real LMDB store (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
IT_TMP="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-acctl.XXXXXX")" || exit 99
trap 'rm -rf "$IT_TMP"' EXIT
export AC_DATA_DIR="$IT_TMP/data"
unset AC_CONFIG AC_BASE_URL

rec() { # rec CLIENTKEY STATE UNINSTALLED_AT [SECRET]
	printf '{"v":1,"clientKey":"%s","sharedSecret":"%s","key":"app","baseUrl":"https://bitbucket.org","baseApiUrl":"https://api.bitbucket.org","oauthClientId":"","displayUrl":"","product":"bitbucket","state":"%s","installedAt":1600000000,"updatedAt":1600000000,"uninstalledAt":%s}\n' \
		"$1" "${4:-secret-$1}" "$2" "$3"
}

{ rec t-live installed 0; rec t-old uninstalled 1600000000; rec t-recent uninstalled 1699990000; } >"$IT_TMP/in.jsonl"
check "import three tenants into a new store" eval '"$ACCTL" tenant import "$IT_TMP/in.jsonl" >/dev/null'
is "$("$ACCTL" tenant list | awk 'NR > 1 {print $1 "/" $3}' | tr '\n' ' ')" \
	"t-live/installed t-old/uninstalled t-recent/uninstalled " "tenant list shows each with its state"
check "the data directory is 0700" eval '[ "$(stat -c %a "$AC_DATA_DIR")" = 700 ]'
check "the data files are 0600" eval '[ -z "$(find "$AC_DATA_DIR" -type f ! -perm 600)" ]'

"$ACCTL" tenant show t-live >"$IT_TMP/show"
check "show masks the secret" eval '! grep -q secret-t-live "$IT_TMP/show" && grep -q "sharedSecret: *\*\*\*" "$IT_TMP/show"'
check "show --show-secret prints it" eval '"$ACCTL" tenant show t-live --show-secret | grep -q secret-t-live'
is "$("$ACCTL" tenant show t-live --json | json /dev/stdin 'j.state')" "installed" "show --json is JSON"
"$ACCTL" tenant show nobody >/dev/null 2>&1
is "$?" "1" "show of an unknown clientKey exits 1"

rec t-live installed 0 other-secret >"$IT_TMP/dup.jsonl"
"$ACCTL" tenant import "$IT_TMP/dup.jsonl" >/dev/null 2>&1
check "import keeps an existing tenant without --replace" eval '"$ACCTL" tenant show t-live --show-secret | grep -q secret-t-live'
"$ACCTL" tenant import --replace "$IT_TMP/dup.jsonl" >/dev/null 2>&1
check "import --replace overwrites it" eval '"$ACCTL" tenant show t-live --show-secret | grep -q other-secret'
printf '%s\n{"v":1,"clientKey":"half"}\n' "$(rec t-new installed 0)" >"$IT_TMP/bad.jsonl"
"$ACCTL" tenant import "$IT_TMP/bad.jsonl" >/dev/null 2>&1
is "$?/$("$ACCTL" tenant list | grep -c t-new)" "1/0" "an import with a bad line writes nothing"

"$ACCTL" tenant export >"$IT_TMP/export.jsonl"
is "$(wc -l <"$IT_TMP/export.jsonl")" "3" "export writes one JSON line per tenant"
AC_DATA_DIR="$IT_TMP/moved" "$ACCTL" tenant import "$IT_TMP/export.jsonl" >/dev/null
is "$(AC_DATA_DIR="$IT_TMP/moved" "$ACCTL" tenant export | md5sum)" "$(md5sum <"$IT_TMP/export.jsonl")" \
	"export, import elsewhere, export: the same records"

# the fixed clock is a test hook: the test build of acctl honours it, the installed one does not
AC_FAKE_NOW=1700000000 "$top_builddir/tests/unit/acctl-fixed-clock" tenant purge --uninstalled-before 30 \
	>"$IT_TMP/purge"
is "$(cat "$IT_TMP/purge")" "purged t-old" "purge removes only tenants uninstalled before the cut"
is "$("$ACCTL" tenant list | awk 'NR > 1 {print $1}' | tr '\n' ' ')" "t-live t-recent " "the others stay"
check "delete removes a tenant" eval '"$ACCTL" tenant delete t-recent >/dev/null'
"$ACCTL" tenant delete t-recent >/dev/null 2>&1
is "$?" "1" "delete of a missing tenant exits 1"
"$ACCTL" tenant purge --uninstalled-before soon >/dev/null 2>&1
is "$?" "2" "a bad purge argument exits 2"

# inbox commands on an empty inbox and bad input
is "$("$ACCTL" inbox stats | tr '\n' ' ')" "inbox 0 due 0 dead 0 " "inbox stats on an empty inbox"
"$ACCTL" inbox drop 42 >/dev/null 2>&1
is "$?" "1" "inbox drop of a missing event exits 1"
"$ACCTL" inbox retry x >/dev/null 2>&1
is "$?" "2" "inbox retry with a bad number exits 2"
done_testing
