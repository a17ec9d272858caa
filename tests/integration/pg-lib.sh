# shellcheck shell=bash
# tests/integration/pg-lib.sh: what the PostgreSQL stack tests (pg-stacks.sh, pg-failover.sh,
# pg-outage.sh) share, after lib.sh: "hosts" that are whole stacks on one machine (nginx with the
# shipped pool config, the programs, `acctl worker`), each in its own directory with its own data
# dir (metrics file, heartbeat), all on the one database of pg_start.

PSQL="$("$PG_SERVER" bindir 2>/dev/null)/psql"
ACCTL="$top_builddir/src/cli/acctl"
# q SQL: one value (or rows, |-separated) from the database of pg_start
q() { "$PSQL" -X -q -tA -d "$PG_URL" -c "$1" 2>>"$IT_TMP/logs/psql.log"; }

declare -A S_BASE=() S_WORKER=() S_DIR=()
# the test's own directory (lib.sh's IT_TMP, which pg_stack points at a stack's for a while)
IT_ROOT=
pg_root() { IT_ROOT="$IT_TMP"; }

# pg_stack N [worker]: stack N in $IT_TMP/sN on a port of its own (S_BASE[N], S_DIR[N]), its
# programs started by spawn-fcgi behind nginx, and with "worker" its `acctl worker`
# (S_WORKER[N]). Needs it_sim_start and pg_start. The settings stay exported for stack N.
pg_stack() {
	local n="$1" rc=0
	S_DIR[$n]="$IT_ROOT/s$n"
	mkdir -p "${S_DIR[$n]}"/{libexec,run,data,nginx,logs}
	chmod 0755 "${S_DIR[$n]}"
	chmod 0700 "${S_DIR[$n]}/data"
	[ -z "$IT_UG" ] || chown "$IT_UG" "${S_DIR[$n]}/run" "${S_DIR[$n]}/data"
	# lib.sh keeps one stack in $IT_TMP: this one's, while it starts
	IT_TMP="${S_DIR[$n]}"
	it_stage_programs "$IT_TMP/libexec"
	PORT=
	it_port
	it_app_env bitbucket daemon
	export AC_PR_TITLE_PATTERN='^(feat|fix)(\([a-z]+\))?: .+'
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	if it_nginx pool && [ "$BASE" = "$AC_BASE_URL" ]; then
		S_BASE[$n]="$BASE"
		if [ "${2:-}" = worker ]; then
			it_worker
			S_WORKER[$n]=$!
		fi
	else
		rc=1
	fi
	IT_TMP="$IT_ROOT"
	return "$rc"
}

# pg_stack_env N: the settings of stack N exported (AC_DATA_DIR, AC_BASE_URL, BASE)
pg_stack_env() {
	BASE="${S_BASE[$1]}"
	export AC_BASE_URL="$BASE" AC_DATA_DIR="${S_DIR[$1]}/data" AC_TEMPLATE_DIR="${S_DIR[$1]}/descriptor"
}

# pg_worker N: another `acctl worker` for stack N (S_WORKER[N])
pg_worker() {
	local keep="$IT_TMP"
	pg_stack_env "$1"
	IT_TMP="${S_DIR[$1]}"
	it_worker
	S_WORKER[$1]=$!
	IT_TMP="$keep"
}

# pg_logs: every stack's logs as TAP comments (after a failure)
pg_logs() {
	local f
	it_logs
	for f in "$IT_ROOT"/s*/logs/*.log "$IT_ROOT"/s*/nginx/error.log "$IT_ROOT"/pg/*/server.log; do
		[ -s "$f" ] || continue
		diag "--- $f" "$(tail -n 30 "$f")"
	done
}

# pr_payload FILE N: a pullrequest:created payload for pull request N whose title breaks the
# rule (a comment and a FAILED status), its source commit the 40-hex hash of N (pr_hash N)
pr_hash() { printf '%040x' "$1"; }
pr_payload() {
	"$NODE" -e '
		const p = require(process.argv[1]), n = Number(process.argv[2]), pr = p.data.pullrequest;
		pr.id = n; pr.title = "Bad title " + n; pr.source.commit.hash = process.argv[3];
		require("fs").writeFileSync(process.argv[4], JSON.stringify(p));
	' "$top_srcdir/tests/sim/payloads/bitbucket-webhook-pullrequest-created.json" "$2" "$(pr_hash "$2")" "$1"
}

# send_pr BASE CLIENTKEY N [DELIVERY-ID]: the simulator posts pull request N's webhook to BASE;
# prints the HTTP status
send_pr() {
	local f="$IT_ROOT/pr-$3.json" extra=()
	[ -s "$f" ] || pr_payload "$f" "$3"
	[ -z "${4:-}" ] || extra=(--delivery-id "$4")
	"$NODE" "$top_srcdir/tests/sim/sim.js" webhook --app "$1" --state "$IT_ROOT/sim" --client-key "$2" \
	    --event pullrequest:created --payload "$f" "${extra[@]}" 2>/dev/null | head -n 1
}

# effects N: "COMMENTS STATUSES" the fake product received for pull request N (POSTs)
effects() {
	it_sim_js "[r.filter((x) => x.method === 'POST' && /pullrequests\\/$1\\/comments\$/.test(x.path)).length,
	    r.filter((x) => x.method === 'POST' && x.path.includes('$(pr_hash "$1")') && /statuses/.test(x.path)).length].join(' ')"
}
