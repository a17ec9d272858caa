#!/bin/bash
# datadir-links.sh: a root acctl on the app user's data directory never reaches a file outside it (TAP).
#
# The app's user owns AC_DATA_DIR and can put any name there. Under each name that acctl or the
# library opens (sync.lock, intake.journal and its .lock and .next, LMDB's data.mdb and
# lock.mdb, the metrics file) it plants a symbolic link, and root a hard link, to a root-owned file outside; then
# root runs acctl there. The outside file's content, size, mode and owner must not change, and
# acctl says what it refused. Then the rename race: the app user keeps renaming links over the
# names while root's acctl opens the store, again and again.
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root: the case is a root acctl on another user's data directory"
ACCTL="$top_builddir/src/cli/acctl"
UG="$(run_user)"
APP_USER="${UG%%:*}"
IT_TMP="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-datadir.XXXXXX")" || exit 99
RACE_PID=
cleanup() {
	[ -z "$RACE_PID" ] || { kill "$RACE_PID" 2>/dev/null; wait "$RACE_PID" 2>/dev/null; }
	rm -rf "$IT_TMP"
}
trap cleanup EXIT
chmod 0755 "$IT_TMP"
export AC_DATA_DIR="$IT_TMP/app/data"
unset AC_CONFIG AC_BASE_URL
cp "$ACCTL" "$IT_TMP/acctl" && chmod 0755 "$IT_TMP/acctl" && ACCTL="$IT_TMP/acctl"
cd "$IT_TMP" || exit 99

# root's file outside the data directory, in a directory only root may enter
OUT="$IT_TMP/root-only"
mkdir -m 0700 "$OUT"
printf 'root:secret:do-not-touch\n' >"$OUT/secret"
chmod 0640 "$OUT/secret"
snap() { stat -c '%s %a %U %G' "$OUT/secret"; md5sum <"$OUT/secret"; }
WANT="$(snap)"
untouched() { # untouched WHAT: the outside file is as it was, and nothing was created beside it
	is "$(snap | tr '\n' ' ')/$(ls -A "$OUT" | tr '\n' ' ')" "$(printf '%s' "$WANT" | tr '\n' ' ') /secret " \
		"$1: the outside file's content, size, mode and owner are unchanged"
}

rec='{"v":1,"clientKey":"t1","sharedSecret":"s","key":"app","baseUrl":"https://bitbucket.org","baseApiUrl":"https://api.bitbucket.org","oauthClientId":"","displayUrl":"","product":"bitbucket","state":"installed","installedAt":1600000000,"updatedAt":1600000000,"uninstalledAt":0}'
# fresh_store: the app user's directory (app/ and app/data/), with a store in it made by the app user
fresh_store() {
	rm -rf "$IT_TMP/app"
	mkdir -m 0700 "$IT_TMP/app" "$IT_TMP/app/data"
	chmod 0755 "$IT_TMP/app"
	chown "$UG" "$IT_TMP/app" "$IT_TMP/app/data"
	printf '%s\n' "$rec" | as_run_user "$ACCTL" tenant import - >/dev/null
}

# a root acctl creates nothing of root's there: it acts as the directory's owner
fresh_store
"$ACCTL" inbox ingest >/dev/null 2>&1
"$ACCTL" tenant delete t1 >/dev/null 2>&1
printf '%s\n' "$rec" | "$ACCTL" tenant import - >/dev/null 2>&1
is "$(find "$IT_TMP/app" ! -user "$APP_USER" | wc -l)" "0" \
	"root's acctl (ingest, delete, import) leaves every file to the directory's owner"
rm -rf "$IT_TMP/app"
mkdir -m 0755 "$IT_TMP/app" && chown "$UG" "$IT_TMP/app"
printf '%s\n' "$rec" | "$ACCTL" tenant import - >/dev/null 2>&1
is "$(stat -c %U "$AC_DATA_DIR")/$(find "$IT_TMP/app" ! -user "$APP_USER" | wc -l)" "$APP_USER/0" \
	"a data directory root's acctl creates in the app user's directory is the app user's"

# planted links under every name
for name in sync.lock intake.journal intake.journal.lock intake.journal.next data.mdb lock.mdb metrics; do
	for kind in symlink hardlink; do
		fresh_store
		rm -f "$AC_DATA_DIR/$name"
		if [ "$kind" = symlink ]; then
			as_run_user ln -s "$OUT/secret" "$AC_DATA_DIR/$name"
		else
			# what protected_hardlinks=0 would let the app user do
			ln "$OUT/secret" "$AC_DATA_DIR/$name"
		fi
		: >"$IT_TMP/err"
		"$ACCTL" inbox ingest >/dev/null 2>>"$IT_TMP/err"
		ingest=$?
		"$ACCTL" worker --once >/dev/null 2>>"$IT_TMP/err"
		"$ACCTL" tenant list >/dev/null 2>>"$IT_TMP/err"
		"$ACCTL" inbox stats >/dev/null 2>>"$IT_TMP/err"
		"$ACCTL" status >/dev/null 2>>"$IT_TMP/err"
		untouched "$name as a $kind, after root's acctl inbox ingest, worker --once, tenant list, inbox stats, status"
		case "$name" in
		intake.journal.lock | intake.journal.next) ;; # opened only for appends and rotations
		metrics) ;; # opened by the worker and the programs, not by acctl inbox ingest
		*)
			# a link the owner could not open anyway is a permission error for the owner's acctl
			check "$name as a $kind: acctl inbox ingest fails and says why" \
				eval '[ "$ingest" -ne 0 ] && grep -Eq "$name.*(refused|Permission denied)" "$IT_TMP/err"'
			[ "$ingest" -ne 0 ] || diag "$(cat "$IT_TMP/err")"
			;;
		esac
	done
done

# the data directory itself swapped for a link to a directory of root's
fresh_store
mv "$AC_DATA_DIR" "$IT_TMP/app/data.real"
as_run_user ln -s "$OUT" "$AC_DATA_DIR"
"$ACCTL" tenant import - <<<"$rec" >/dev/null 2>"$IT_TMP/err"
is "$?" "1" "a data directory that is a link is refused"
check "and acctl says so" grep -q "symbolic link: refused" "$IT_TMP/err"
untouched "the data directory as a link to root's directory"

# the rename race: the app user keeps renaming links over the names while root opens the store
fresh_store
run_user_prefix
# shellcheck disable=SC2016
"${RUN_PREFIX[@]}" bash -c '
	cd "$1" || exit 1
	names="sync.lock intake.journal intake.journal.lock intake.journal.next data.mdb lock.mdb"
	while :; do
		for n in $names; do
			ln -s "$2" .plant 2>/dev/null && mv -fT .plant "$n" && rm -f "$n"
		done
	done' race "$AC_DATA_DIR" "$OUT/secret" &
RACE_PID=$!
opened=0
for i in $(seq 1 25); do
	"$ACCTL" inbox ingest >/dev/null 2>&1 && opened=$((opened + 1))
	"$ACCTL" tenant list >/dev/null 2>&1
	printf '%s\n' "$rec" | "$ACCTL" tenant import --replace - >/dev/null 2>&1
done
kill "$RACE_PID"
wait "$RACE_PID" 2>/dev/null
RACE_PID=
diag "rename race: acctl inbox ingest succeeded $opened times of 25"
untouched "the rename race (75 root acctl runs)"
is "$(find "$IT_TMP/app" ! -user "$APP_USER" | wc -l)" "0" "and the race left no file of root's in the directory"
done_testing
