#!/bin/bash
# store-copy.sh: `acctl store copy` (issue 16 item 7): an LMDB store filled through the programs
# (tenants imported, webhooks accepted by webhook.fcgi with no worker running, one event failed
# into `dead` by the worker) is copied into a private PostgreSQL and back into a new LMDB
# directory; the three stores show the same tenants, events, dead letters and Forge
# installations; a worker on the PostgreSQL copy handles each copied event exactly once; a
# non-empty target, a bad --from, an unmigrated database and a running worker are refused (TAP).
. "$top_srcdir/tests/integration/lib.sh"

pg_need
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] && [ -x "$top_builddir/src/cli/acctl" ] ||
	skip_all "the programs are not built"
FIXED="$top_builddir/tests/unit/acctl-fixed-clock"
[ -x "$FIXED" ] || skip_all "tests/unit/acctl-fixed-clock is not built (make check builds it)"
it_setup
run_user_prefix
ACCTL="$top_builddir/src/cli/acctl"
it_stage "$top_builddir/src/fcgi/webhook.fcgi" webhook.fcgi
pg_start || { not_ok "pg_start"; done_testing; exit; }
PGURL="$PG_URL"
# each command names its store; nothing else from the environment
unset AC_STORE AC_DATABASE_URL AC_CONFIG AC_DATA_DIR
export AC_SQL_DIR="$top_srcdir/sql" AC_LOG_LEVEL=warn
A="$IT_TMP/data/a" B="$IT_TMP/data/b"

lm() { local d="$1"; shift; env AC_STORE=lmdb AC_DATA_DIR="$d" "${RUN_PREFIX[@]}" "$ACCTL" "$@"; }
pg() { env AC_STORE=postgres AC_DATABASE_URL="$PGURL" "${RUN_PREFIX[@]}" "$ACCTL" "$@"; }
copy() { "${RUN_PREFIX[@]}" "$ACCTL" store copy "$@" >"$IT_TMP/copy.out" 2>"$IT_TMP/copy.err"; local rc=$?; [ "$rc" -lt 128 ] || cp "$IT_TMP/copy.err" /tmp/pc/crash.err; return "$rc"; }

rec() { # rec CLIENTKEY STATE: a tenant whose API is nowhere (a handler's call fails at once)
	printf '{"v":1,"clientKey":"%s","sharedSecret":"secret-%s-0123456789abcdef","key":"app","baseUrl":"http://127.0.0.1:9","baseApiUrl":"http://127.0.0.1:9","oauthClientId":"","displayUrl":"","product":"bitbucket","state":"%s","installedAt":1600000000,"updatedAt":1600000001,"uninstalledAt":0,"install":{"clientKey":"%s","eventType":"installed","note":"kept"}}\n' \
		"$1" "$1" "$2" "$1"
}
# hook DIR CLIENTKEY EVENT UUID [BODY]: one webhook through webhook.fcgi (plain CGI) into the LMDB
# store in DIR; prints the status
hook() {
	local tok body="${5:-$IT_TMP/body-$4.json}"
	[ -n "${5:-}" ] || printf '{"repository":{"full_name":"w/r"},"n":"%s"}' "$4" >"$body"
	tok="$("$ACCTL" jwt sign --secret "secret-$2-0123456789abcdef" --iss "$2" POST /webhook 2>/dev/null)"
	(cd "$IT_TMP" && env -i PATH="$PATH" AC_BASE_URL=https://app.example.com AC_DATA_DIR="$1" REQUEST_METHOD=POST \
	    REQUEST_URI=/webhook SCRIPT_NAME=/webhook CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(stat -c %s "$body")" GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
	    HTTP_AUTHORIZATION="JWT $tok" HTTP_X_EVENT_KEY="$3" HTTP_X_REQUEST_UUID="$4" \
	    "${RUN_PREFIX[@]}" "$IT_TMP/libexec/webhook.fcgi" <"$body" 2>>"$IT_TMP/logs/webhook.log") |
		sed -n '1s/^Status: \([0-9]*\).*/\1/p' | tr -d '\r'
}
# show KIND STORE...: what acctl shows of a store, for comparing two
show() {
	local k="$1"; shift
	case "$k" in
	tenants) "$@" tenant export ;;
	inbox) "$@" inbox list ;;
	dead) "$@" inbox list --dead ;;
	forge) "$@" forge installations ;;
	esac 2>&1
}
same() { # same LABEL CMD-A... -- CMD-B...: the four views of two stores are equal
	local label="$1" k a=() b=()
	shift
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	for k in tenants inbox dead forge; do
		show "$k" "${a[@]}" >"$IT_TMP/$k.a"
		show "$k" "${b[@]}" >"$IT_TMP/$k.b"
		# (no Forge installation in this store: its listing is compared all the same)
		if cmp -s "$IT_TMP/$k.a" "$IT_TMP/$k.b" && { [ -s "$IT_TMP/$k.a" ] || [ "$k" = forge ]; }; then
			ok "$label: $k the same"
		else
			not_ok "$label: $k the same"; diag "$(diff "$IT_TMP/$k.a" "$IT_TMP/$k.b" | head -20)"
		fi
	done
}

# ---------------------------------------------------------------- fill the LMDB store
mkdir -p "$A" && chmod 0700 "$A" && { [ -z "$IT_UG" ] || chown "$IT_UG" "$A" "$IT_TMP/data"; }
{ rec ck-one installed; rec ck-two installed; } >"$IT_TMP/tenants.jsonl"
check "two tenants imported into LMDB" lm "$A" tenant import "$IT_TMP/tenants.jsonl"
# one event that fails into dead: its handler's call goes nowhere, an hour past its retry window
# (AC_RETRY_FOR=1; within the dedupe day, so its delivery id stays)
# (a pull request whose title breaks the rule: the handler's comment cannot be posted)
is "$(hook "$A" ck-one pullrequest:created dead-0001 \
	"$top_srcdir/tests/sim/payloads/bitbucket-webhook-pullrequest-created.json")" 204 \
	"webhook.fcgi accepts the first event"
env AC_STORE=lmdb AC_DATA_DIR="$A" AC_RETRY_FOR=1 AC_FAKE_NOW=$(($(date +%s) + 3600)) AC_LOG_LEVEL=error \
	"${RUN_PREFIX[@]}" "$FIXED" worker --once >"$IT_TMP/logs/dead-worker.log" 2>&1
is "$(lm "$A" inbox stats | tr '\n' ' ')" "inbox 0 due 0 dead 1 " "the worker failed it into dead"
# pending events, the worker stopped (in the intake journal: every acctl command moves them in);
# repo:fork has no handler: a worker settles it with one log line
for i in 1 2 3; do
	is "$(hook "$A" ck-one repo:fork "id-one-$i")" 204 "webhook $i of ck-one accepted"
done
is "$(hook "$A" ck-two repo:fork id-two-1)" 204 "a webhook of ck-two accepted"
is "$(hook "$A" ck-one repo:fork id-one-2)" 204 "a redelivery (same id) answered too"
is "$(lm "$A" inbox stats | tr '\n' ' ')" "inbox 4 due 4 dead 1 " "four pending (the redelivery deduplicated), one dead"

# ---------------------------------------------------------------- refusals
copy --from "lmdb:$IT_TMP/nowhere" --to "postgres:$PGURL"
is "$?" 1 "a --from with no store there: exit 1"
check "... saying so" grep -q "no LMDB store there" "$IT_TMP/copy.err"
copy --from "mysql:$PGURL" --to "lmdb:$B"
is "$?" 2 "a --from that is neither lmdb: nor postgres: exit 2"
check "... the argument not repeated (it may hold a password)" eval '! grep -qF "$PGURL" "$IT_TMP/copy.err"'
check "... and the target not created" eval '[ ! -e "$B" ]'
pg_url_db() { sed "s#^\(postgres[a-z]*://[^/]*/\)[^?]*#\1$1#" <<<"$PGURL"; }
RAW="$(pg_url_db template1)"
copy --from "lmdb:$A" --to "postgres:$RAW"
is "$?" 1 "an unmigrated database as the target: exit 1"
check "... naming acctl store migrate" grep -q "acctl store migrate" "$IT_TMP/copy.err"

# ---------------------------------------------------------------- LMDB -> PostgreSQL
copy --from "lmdb:$A" --to "postgres:$PGURL"
is "$?" 0 "copy lmdb -> postgres: exit 0"
check "the summary counts two tenants" grep -qE "^  tenants +2$" "$IT_TMP/copy.out"
check "... four inbox events and one dead letter" \
	eval 'grep -qE "^  inbox events +4$" "$IT_TMP/copy.out" && grep -qE "^  dead letters +1$" "$IT_TMP/copy.out"'
check "... five delivery ids" grep -qE "^  delivery ids \(dedupe\) +5$" "$IT_TMP/copy.out" ||
	diag "$(cat "$IT_TMP/copy.out")"
check "no secret in the output" eval '! grep -q "secret-ck" "$IT_TMP/copy.out" "$IT_TMP/copy.err"'
same "lmdb -> postgres" lm "$A" -- pg

copy --from "lmdb:$A" --to "postgres:$PGURL"
is "$?" 1 "a second copy into the now non-empty database: exit 1"
check "... saying it is not empty" grep -q "is not empty" "$IT_TMP/copy.err"

# ---------------------------------------------------------------- PostgreSQL -> a new LMDB
copy --from "postgres:$PGURL" --to "lmdb:$B"
is "$?" 0 "copy postgres -> a new lmdb directory: exit 0"
same "postgres -> lmdb" lm "$A" -- lm "$B"
is "$(lm "$B" inbox stats | tr '\n' ' ')" "inbox 4 due 4 dead 1 " "the new LMDB store counts the same"

# ---------------------------------------------------------------- the copies keep the dedupe and the numbers
is "$(hook "$B" ck-one repo:fork id-one-3)" 204 "a redelivery into the LMDB copy is answered"
is "$(lm "$B" inbox stats | tr '\n' ' ')" "inbox 4 due 4 dead 1 " "... and not queued again (delivery ids copied)"
last="$(lm "$A" inbox list | awk 'NR > 1 {s = $1} END {print s}')"
is "$(hook "$B" ck-two repo:fork id-new-1)" 204 "a new event into the LMDB copy"
next="$(lm "$B" inbox list | awk 'NR > 1 {s = $1} END {print s}')"
check "... numbered past every copied one ($next > $last)" eval '[ "$next" -gt "$last" ]'

# ---------------------------------------------------------------- a worker on the PostgreSQL copy
pg inbox list | awk 'NR > 1 {print $1}' >"$IT_TMP/pending.pg"
for _ in 1 2; do
	env AC_STORE=postgres AC_DATABASE_URL="$PGURL" AC_LOG_LEVEL=info \
		"${RUN_PREFIX[@]}" "$ACCTL" worker --once >>"$IT_TMP/logs/worker.log" 2>&1
done
is "$(pg inbox stats | tr '\n' ' ')" "inbox 0 due 0 dead 1 " \
	"two workers, one after the other, on the PostgreSQL copy settled every copied event (the dead one stays)"
is "$(sed -n 's/.*event \([0-9]*\) (repo:fork): no handler; done.*/\1/p' "$IT_TMP/logs/worker.log" | sort -n | tr '\n' ' ')" \
	"$(sort -n "$IT_TMP/pending.pg" | tr '\n' ' ')" "... each copied event handled exactly once, under its own number"
pg inbox list --dead | awk 'NR > 1 {print $1}' >"$IT_TMP/dead.pg"
is "$(cat "$IT_TMP/dead.pg")" "$(lm "$A" inbox list --dead | awk 'NR > 1 {print $1}')" "... the dead letter its number"

# ---------------------------------------------------------------- --force: into a store that holds data
copy --force --from "lmdb:$A" --to "postgres:$PGURL"
is "$?" 0 "--force copies into the non-empty database: exit 0"
is "$(show inbox pg)" "$(show inbox lm "$A")" "... its inbox is the source's again (same numbers replaced)"

# ---------------------------------------------------------------- a worker running on the source
# ck-slow's API accepts and never answers: the worker holds the event's lease meanwhile; SIGSTOP
# keeps it held (its owner alive) whatever the time it takes to copy
SLOW_PORT="$(it_free_port)"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
c = [s.accept() for _ in range(8)]; time.sleep(120)' "$SLOW_PORT" &
SLOW_PID=$!
IT_PIDS+=("$SLOW_PID")
for _ in $(seq 100); do (: </dev/tcp/127.0.0.1/"$SLOW_PORT") 2>/dev/null && break; sleep 0.1; done
rec ck-slow installed | sed "s#http://127.0.0.1:9#http://127.0.0.1:$SLOW_PORT#g" >"$IT_TMP/slow.jsonl"
lm "$A" tenant import "$IT_TMP/slow.jsonl" >/dev/null
is "$(hook "$A" ck-slow pullrequest:created slow-1 \
	"$top_srcdir/tests/sim/payloads/bitbucket-webhook-pullrequest-created.json")" 204 "an event of ck-slow accepted"
env AC_STORE=lmdb AC_DATA_DIR="$A" AC_ALLOWED_HOSTS=127.0.0.1 AC_LOG_LEVEL=error "${RUN_PREFIX[@]}" "$ACCTL" worker \
	>"$IT_TMP/logs/slow-worker.log" 2>&1 &
WORKER_PID=$!
IT_PIDS+=("$WORKER_PID")
leased=
for _ in $(seq 300); do
	lm "$A" inbox list | awk '$3 == "ck-slow" && $NF != "-" {f = 1} END {exit !f}' && { leased=1; break; }
	sleep 0.1
done
kill -STOP "$WORKER_PID"
check "the worker leased ck-slow's event" test -n "$leased"
copy --from "lmdb:$A" --to "lmdb:$IT_TMP/data/c"
is "$?" 1 "a copy from a store whose worker holds an event: exit 1"
check "... saying to stop the workers" grep -q "stop the programs and workers of the source" "$IT_TMP/copy.err"
kill -CONT "$WORKER_PID"
stop_pids "$WORKER_PID" "$SLOW_PID" 2>/dev/null

done_testing
