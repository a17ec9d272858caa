#!/bin/bash
# disk-full.sh: a full disk under the data directory is answered 503 store_full with a clear log
# line, leaves nothing half-written, and the service is back as soon as space is freed, without
# a restart (TAP). The data directory is a small tmpfs (needs root: mount).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
PAYLOADS="$top_srcdir/tests/sim/payloads"

it_setup
[ "$(id -u)" -eq 0 ] || skip_all "needs root (mount -t tmpfs)"
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"

MNT="$IT_TMP/fs"
mkdir -p "$MNT"
mount -t tmpfs -o size=2m,mode=0755 tmpfs "$MNT" || skip_all "cannot mount a tmpfs"
trap 'it_stop_all >/dev/null 2>&1; umount "$MNT" 2>/dev/null || umount -l "$MNT"; it_cleanup' EXIT

it_stage_programs "$IT_TMP/libexec"
it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

mkdir -m 0700 "$MNT/data"
[ -z "$IT_UG" ] || chown "$IT_UG" "$MNT/data"
it_port
export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_PRODUCT=bitbucket AC_DATA_DIR="$MNT/data"
export AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS="127.0.0.1"
export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_SYNC=full AC_WORKER=daemon
unset AC_CONFIG AC_DESCRIPTOR
write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
it_nginx pool || { not_ok "nginx and the programs start"; it_logs; done_testing; }

hook() { # hook ID WANT DESCRIPTION
	it_drive "$3" "$2" webhook --client-key full-1 --event repo:push \
		--payload "$PAYLOADS/bitbucket-webhook-repo-push.json" --delivery-id "$1"
}
inbox_count() { "$ACCTL" inbox stats 2>/dev/null | sed -n 's/^inbox //p'; }
fill() { dd if=/dev/zero of="$MNT/filler" bs=4k >/dev/null 2>&1; sync; }

it_drive "install a Bitbucket tenant" 204 install --product bitbucket --client-key full-1
hook f-1 204 "a delivery is acknowledged"
J="$MNT/data/intake.journal"
size="$(stat -c %s "$J")"

fill
hook f-2 503 "with the disk full, a delivery is refused 503"
check "the answer names it (store_full)" grep -q '"store_full"' "$IT_TMP/sim.last"
check "the program's log says the disk is full" grep -qi "no space left" "$IT_TMP"/logs/webhook*.log
# what a short write put in the journal is a torn record, never acknowledged: readers skip it
it_drive "with the disk full, an install is refused 503" 503 install --product bitbucket --client-key full-2
check "the answer names it (store_full)" grep -q '"store_full"' "$IT_TMP/sim.last"
"$ACCTL" inbox ingest >/dev/null 2>"$IT_TMP/ingest.err"
rc=$?
check "acctl inbox ingest fails on the full disk and says so" eval '[ "$rc" -ne 0 ] && grep -qi "full\|space" "$IT_TMP/ingest.err"'

rm -f "$MNT/filler"
hook f-2 204 "space freed: the retry is acknowledged, no restart"
it_drive "space freed: the install is accepted" 204 install --product bitbucket --client-key full-2
"$ACCTL" inbox ingest >/dev/null 2>&1
is "$(inbox_count)" "2" "both acknowledged deliveries are in the inbox, once (the torn bytes are skipped)"
is "$("$ACCTL" tenant list 2>/dev/null | grep -c 'full-')" "2" "both tenants are stored"

[ "$T_FAILED" -eq 0 ] || it_logs
it_stop_app
done_testing
