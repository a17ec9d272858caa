#!/bin/bash
# damage.sh: damage to the data directory is loud, never silent loss, through the real nginx pool:
# a destroyed intake journal header and a truncated data.mdb are answered 503 with a code, the
# programs' log and `acctl inbox stats` say what happened and how to repair it; a journal cut
# back below what the store recorded loses no acknowledged delivery (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
PAYLOADS="$top_srcdir/tests/sim/payloads"

it_setup
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"

it_stage_programs "$IT_TMP/libexec"
it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

# start_stack [keep]: nginx + programs on a fresh port; a fresh data dir unless keep
start_stack() {
	it_stop_app
	rm -f "$IT_TMP"/run/*.sock
	if [ "${1:-}" != keep ]; then
		rm -rf "$IT_TMP/data" && mkdir -m 0700 "$IT_TMP/data"
		[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/data"
	fi
	PORT=
	it_port
	export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_PRODUCT=bitbucket AC_DATA_DIR="$IT_TMP/data"
	export AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS="127.0.0.1"
	export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_SYNC=full AC_WORKER=daemon AC_PROCESSES=2
	unset AC_CONFIG AC_DESCRIPTOR
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	it_nginx pool || { not_ok "nginx and the programs start"; it_logs; done_testing; }
}
hook() { # hook ID WANT DESCRIPTION
	it_drive "$3" "$2" webhook --client-key dmg-1 --event repo:push \
		--payload "$PAYLOADS/bitbucket-webhook-repo-push.json" --delivery-id "$1"
}
inbox_count() { "$ACCTL" inbox stats 2>/dev/null | sed -n 's/^inbox //p'; }
J="$IT_TMP/data/intake.journal"

# ================================================================ a destroyed journal header
start_stack
it_drive "install a Bitbucket tenant" 204 install --product bitbucket --client-key dmg-1
hook d-1 204 "a delivery is acknowledged"
"$ACCTL" inbox ingest >/dev/null 2>&1
hook d-2 204 "another is acknowledged (left in the journal)"
dd if=/dev/zero of="$J" bs=32 count=1 conv=notrunc status=none
# a program looks at the header of a file it has open once a second
sleep 1.2
hook d-3 503 "with the journal's header destroyed, a delivery is refused"
check "the answer names the damage (store_damaged)" grep -q '"store_damaged"' "$IT_TMP/sim.last"
check "the program's log says what is damaged and how to repair it" \
	grep -q "intake.journal: the header is destroyed .*acctl inbox ingest --repair" "$IT_TMP"/logs/webhook*.log
"$ACCTL" inbox stats >"$IT_TMP/stats.out" 2>"$IT_TMP/stats.err"
rc=$?
check "acctl inbox stats fails" [ "$rc" -ne 0 ]
check "acctl inbox stats says what is damaged and how to repair it" \
	grep -q "the header is destroyed .*acctl inbox ingest --repair" "$IT_TMP/stats.err"
"$ACCTL" inbox ingest >/dev/null 2>"$IT_TMP/ingest.err"
rc=$?
check "acctl inbox ingest fails and says so" [ "$rc" -ne 0 ] && grep -q "header is destroyed" "$IT_TMP/ingest.err"
check "the damaged file is kept" [ "$(stat -c %s "$J")" -gt 100 ]
out="$("$ACCTL" inbox ingest --repair 2>&1)"
rc=$?
check "acctl inbox ingest --repair repairs it" [ "$rc" -eq 0 ]
case "$out" in *"header written again"*"moved 1 event(s)"*) ok "the delivery acknowledged before is moved in" ;;
*) not_ok "the delivery acknowledged before is moved in"; diag "$out" ;; esac
sleep 1.2
hook d-3 204 "the product's retry is acknowledged"
"$ACCTL" inbox ingest >/dev/null 2>&1
is "$(inbox_count)" "3" "every acknowledged delivery is in the inbox, once"

# ================================================================ a journal cut back
size="$(stat -c %s "$J")"
hook d-4 204 "a delivery is acknowledged"
"$ACCTL" inbox ingest >/dev/null 2>&1
truncate -s "$size" "$J"
hook d-5 204 "a delivery is acknowledged after the journal was cut back"
"$ACCTL" inbox ingest >/dev/null 2>"$IT_TMP/ingest.err"
is "$(inbox_count)" "5" "it reaches the inbox, and none is queued twice"
# (the new record is as long as the one cut away: the file is as long as recorded, another record ends there)
check "one line says the journal was cut back and is read again" \
	[ "$(grep -c "intake journal .*: restored or .*; rescanning from the start, duplicates are absorbed" "$IT_TMP/ingest.err")" -eq 1 ]
truncate -s "$size" "$J"
"$ACCTL" inbox ingest >/dev/null 2>"$IT_TMP/ingest.err"
hook d-6 204 "a delivery is acknowledged after the journal was cut back again"
"$ACCTL" inbox ingest >/dev/null 2>>"$IT_TMP/ingest.err"
is "$(inbox_count)" "6" "it reaches the inbox, and none is queued twice"
check "one line says the journal is shorter than recorded" \
	[ "$(grep -c "intake journal shorter than recorded (.*): restored or truncated; rescanning from the start, duplicates are absorbed" "$IT_TMP/ingest.err")" -eq 1 ]
check "nothing is called never acknowledged" eval '! grep -q "acknowledged" "$IT_TMP/ingest.err"'

# ================================================================ lock.mdb removed under the programs
# Programs started now would make another lock.mdb: two write locks, a corrupted data.mdb. Those
# that had it open refuse (503) and exit; their supervisor starts processes that use the new one.
rm -f "$IT_TMP/data/lock.mdb"
hook d-7 503 "with lock.mdb removed under the programs, a delivery is refused"
check "the answer names the damage (store_damaged)" grep -q '"store_damaged"' "$IT_TMP/sim.last"
check "the program's log says lock.mdb was removed" \
	grep -q "lock.mdb was removed or replaced while this process had the store open" "$IT_TMP"/logs/webhook*.log
# each process that had it open refuses once, then is replaced: a retry per process at most
acked=no
for _ in $(seq 12); do
	if it_sim webhook --client-key dmg-1 --event repo:push --payload "$PAYLOADS/bitbucket-webhook-repo-push.json" \
		--delivery-id d-7 --expect 204 >/dev/null 2>&1; then
		acked=yes
		break
	fi
	grep -q '"store_damaged"' "$IT_TMP/sim.last" || break
done
is "$acked" yes "the product's retry is acknowledged by a process started again"
check "the processes that had it open exited to be started again" \
	grep -q "exiting: the store's files were replaced" "$IT_TMP"/logs/webhook*.log
"$ACCTL" inbox ingest >/dev/null 2>&1
is "$(inbox_count)" "7" "it reaches the inbox, once"

# ================================================================ a truncated data.mdb
truncate -s 8192 "$IT_TMP/data/data.mdb"
hook d-8 503 "with data.mdb truncated under the programs, a delivery is refused (not 502: no SIGBUS)"
check "the answer names the damage (store_damaged)" grep -q '"store_damaged"' "$IT_TMP/sim.last"
check "the program's log says data.mdb was truncated" \
	grep -q "data.mdb (8192 bytes) .*truncated or restored from a partial copy" "$IT_TMP"/logs/webhook*.log
start_stack keep
hook d-8 503 "programs started on it answer 503 too, not 502"
check "the answer names the damage (store_damaged)" grep -q '"store_damaged"' "$IT_TMP/sim.last"
"$ACCTL" inbox stats >/dev/null 2>"$IT_TMP/stats.err"
rc=$?
check "acctl inbox stats fails" [ "$rc" -ne 0 ]
check "acctl inbox stats says data.mdb was truncated" grep -q "data.mdb (8192 bytes) .*truncated" "$IT_TMP/stats.err"

[ "$T_FAILED" -eq 0 ] || it_logs
done_testing
