#!/bin/bash
# pg-scenario.sh: the whole simulator scenario on PostgreSQL (issue 16 item 9): the Connect
# scenario under nginx (scenario-nginx.sh: the spawn-fcgi pool and fcgiwrap, with `acctl worker`)
# and Forge (forge-sim.sh: the simulator's Forge mode, lifecycle, events, retries deduplicated,
# the handlers' calls), each run as it is with AC_STORE=postgres against one private server; their
# TAP lines are passed on, prefixed. Then the database itself shows that the scenarios' state went
# there (lifecycle replay rows, the Forge installation, events settled, no dead letter) (TAP).
. "$top_srcdir/tests/integration/lib.sh"
shopt -s extglob

pg_need
it_setup
pg_start main || { not_ok "pg_start"; it_logs; done_testing; }
PSQL="$("$PG_SERVER" bindir)/psql"
q() { "$PSQL" -X -q -tA -d "$PG_URL" -c "$1" 2>>"$IT_TMP/logs/psql.log"; }

# on_pg SCRIPT: tests/integration/SCRIPT with the server's settings exported (pg_start), each of
# its results passed on as one of ours ("SCRIPT: ..."), its comments as comments; its exit status
# must be 0 and its plan must match what it printed
on_pg() {
	local s="$1" line n=0 plan='' rc=''
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# SKIP"*) n=$((n + 1)); skip "$s: ${line#*# SKIP }" ;;
		"ok "*) n=$((n + 1)); ok "$s: ${line#ok +([0-9]) - }" ;;
		"not ok "*) n=$((n + 1)); not_ok "$s: ${line#not ok +([0-9]) - }" ;;
		1..*) plan="${line#1..}" ;;
		"# exit "*) rc="${line#\# exit }" ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done < <(IT_KEEP='' bash "$top_srcdir/tests/integration/$s" 2>"$IT_TMP/logs/$s.err"; echo "# exit $?")
	is "${plan%% *} $rc" "$n 0" "$s: exit 0, its plan matching the $n results it printed"
	[ "$rc" = 0 ] || diag "$(tail -n 20 "$IT_TMP/logs/$s.err")"
}
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"
export AC_STORE AC_DATABASE_URL AC_SQL_DIR

# ================================================================ Connect
on_pg scenario-nginx.sh
# two tenants installed and uninstalled (pool, fcgiwrap): both in the database's tenants, the
# accepted lifecycle tokens in its replay table, each pull request's comment marker in its notes
is "$(q "SELECT count(*) FROM ac_tenants WHERE client_key LIKE 'sc-nginx pool-%' OR client_key LIKE 'sc-nginx fcgiwrap-%'")" 2 \
	"the Connect scenario's tenants (pool, fcgiwrap) are in PostgreSQL"
check "... its lifecycle tokens in the replay table ($(q 'SELECT count(*) FROM ac_lifecycle_seen') rows)" \
	test "$(q 'SELECT count(*) FROM ac_lifecycle_seen')" -ge 2
is "$(q "SELECT count(*) FROM ac_notes WHERE key LIKE 'prcomment:%'")" 2 "... one comment marker per pull request in its notes"

# ================================================================ Forge
on_pg forge-sim.sh
is "$(q 'SELECT count(*) FROM ac_forge_installations')" 1 "the Forge installation is in PostgreSQL"
check "... with its system token" test "$(q 'SELECT count(*) FROM ac_forge_tokens')" -ge 1

is "$(q 'SELECT count(*) FROM ac_inbox')" 0 "every event of both scenarios left the inbox"
is "$(q 'SELECT count(*) FROM ac_dead')" 0 "... none as a dead letter"
[ "$T_FAILED" -eq 0 ] || it_logs
done_testing
