#!/bin/bash
# chaos.sh: the stack that scripts/run starts heals (TAP). Part 1 kills each process it runs
# once (each program's supervisor, a serving process of each, the worker): each is back within
# a second, with one log line. Part 2 is a burst of signed webhooks (up to 3 attempts each, as
# Bitbucket retries twice) while webhook processes are SIGKILLed every 300 ms (a serving
# process, or every fourth time the program that holds the socket) and the worker every 2 s: >= 90 % acknowledged, none acknowledged lost, none stored or handled twice,
# and the stack answers at once when the killing stops. Loopback only; prints the figures
# recorded in doc/performance.md. CHAOS_N (default 800) deliveries.
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
PAYLOADS="$top_srcdir/tests/sim/payloads"
N="${CHAOS_N:-800}"

it_setup
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] && [ -x "$ACCTL" ] || skip_all "webhook.fcgi or acctl not built"
it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

RUN_PID=
stop_run() {
	[ -z "$RUN_PID" ] || stop_pids "$RUN_PID" 2>/dev/null
	RUN_PID=
}
trap 'stop_run; it_cleanup' EXIT

it_port
export AC_BASE_URL="$BASE" AC_APP_KEY=it-chaos AC_PRODUCT=bitbucket AC_ALLOWED_HOSTS=127.0.0.1
export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_BITBUCKET_TOKEN_URL="$SIM_URL/site/oauth2/access_token"
export AC_OAUTH_SERVER_URL="$SIM_URL" AC_RETRY_FOR=600 AC_RETRY_BASE_MS=200 AC_WORKER=daemon
export AC_DATA_DIR="$IT_TMP/var/data"
unset AC_CONFIG AC_DESCRIPTOR AC_TEMPLATE_DIR
PORT="$PORT" NO_BUILD=1 BUILDDIR="$top_builddir" VARDIR="$IT_TMP/var" \
	"$top_srcdir/scripts/run" >"$IT_TMP/logs/run.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 150); do
	grep -q 'serving (pool)' "$IT_TMP/logs/run.log" && break
	kill -0 "$RUN_PID" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q 'serving (pool)' "$IT_TMP/logs/run.log"; then
	not_ok "scripts/run serves"
	diag "$(tail -n 30 "$IT_TMP/logs/run.log")"
	done_testing
fi
ok "scripts/run serves on port $PORT"

# supervised: "pid name" for every process scripts/run started itself (supervisors, worker);
# name from /proc/PID/comm (webhook.fcgi, acctl; 15 bytes at most). Builtins only: it runs
# every 300 ms under load.
supervised() {
	local p c kids=
	read -r kids 2>/dev/null </proc/"$RUN_PID"/task/"$RUN_PID"/children
	for p in $kids; do
		c=
		read -r c 2>/dev/null </proc/"$p"/comm
		case "$c" in *.fcgi | uninstalled.fcg | oauth-callback. | forge-events.fc | forge-remote.fc | acctl) echo "$p $c" ;; esac
	done
}
# serving PID: the serving processes of the supervisor PID
serving() {
	local kids=
	read -r kids 2>/dev/null </proc/"$1"/task/"$1"/children
	printf '%s\n' $kids
}
# role PID: a supervised process's socket (by its listening socket on fd 0, from
# /proc/net/unix: spawn-fcgi's -s is gone after the exec) or "worker"
role() {
	local ino
	case "$(cat /proc/"$1"/comm 2>/dev/null)" in acctl) echo worker; return ;; esac
	ino="$(readlink /proc/"$1"/fd/0 2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')"
	[ -n "$ino" ] && awk -v i="$ino" '$7 == i { print $8 }' /proc/net/unix
}
now_ms() { echo $((${EPOCHREALTIME//[!0-9]/} / 1000)); }
# logged_after N PATTERN: ms until the run log has more than N lines matching PATTERN (up to
# 5 s; fails after); the time a restart takes, as scripts/run logs it once done
logged_after() {
	local t0 n
	t0="$(now_ms)"
	while :; do
		n="$(grep -c -- "$2" "$IT_TMP/logs/run.log")"
		[ "$n" -le "$1" ] || { echo $(($(now_ms) - t0)); return 0; }
		[ $(($(now_ms) - t0)) -lt 5000 ] || return 1
		sleep 0.01
	done
}

# ================================================================ part 1: each process once
supervised >"$IT_TMP/procs"
n_sup="$(wc -l <"$IT_TMP/procs")"
check "scripts/run supervises the programs and the worker ($n_sup processes)" \
	eval '[ "$n_sup" -ge 2 ] && grep -q " acctl$" "$IT_TMP/procs" && grep -q " webhook.fcgi$" "$IT_TMP/procs"'
slow=
bad=
times=
while read -r pid name; do
	r="$(role "$pid")"
	n0="$(grep -c 'started again (pid' "$IT_TMP/logs/run.log")"
	kill -KILL "$pid"
	ms="$(logged_after "$n0" 'started again (pid')" || ms=never
	[ "$ms" != never ] || slow="$slow $name:$ms"
	times="$times $name:${ms}ms"
	sleep 0.1
	# the new process has the role of the one killed
	new="$(grep 'started again (pid' "$IT_TMP/logs/run.log" | tail -n 1 | sed 's/.*(pid \([0-9]*\))$/\1/')"
	for _ in $(seq 50); do [ "$(role "$new")" = "$r" ] && break; sleep 0.05; done
	[ -n "$r" ] && [ "$(role "$new")" = "$r" ] || bad="$bad $name:${r##*/}:$new"
done <"$IT_TMP/procs"
# The time is a figure (doc/performance.md), not an assertion: a loaded CI machine must not
# make this test flaky. The bound asserted is logged_after's 5 s.
diag "FIGURES: restart after SIGKILL:$times"
is "$slow" "" "every process scripts/run started, SIGKILLed once, is started again"
is "$bad" "" "... in the same role (its socket, or the worker)"
lines="$(grep -c 'started again (pid' "$IT_TMP/logs/run.log")"
is "$lines" "$n_sup" "one log line per process started again ($lines for $n_sup)"
is "$(grep -c ' Killed ' "$IT_TMP/logs/run.log")" 0 "... and no other (no job notice from bash)"

# a serving process of each program: its supervisor starts another at once
kills=0
slow=
times=
while read -r pid name; do
	case "$name" in acctl) continue ;; esac
	set -- $(serving "$pid")
	[ "$#" -gt 0 ] || { slow="$slow $name:none"; continue; }
	n0="$(grep -c 'killed by signal 9; started process' "$IT_TMP/logs/run.log")"
	kill -KILL "$1"
	kills=$((kills + 1))
	ms="$(logged_after "$n0" 'killed by signal 9; started process')" || ms=never
	[ "$ms" != never ] || slow="$slow $name:$ms"
	times="$times $name:${ms}ms"
done < <(supervised)
diag "FIGURES: serving process replaced after SIGKILL:$times"
is "$slow" "" "a serving process SIGKILLed is replaced by its supervisor ($kills killed)"
sleep 0.3
is "$(grep -c 'killed by signal 9; started process' "$IT_TMP/logs/run.log")" "$kills" \
	"one log line per serving process replaced"
got=
for _ in 1 2 3 4 5 6; do
	got="$got$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/atlassian-connect.json") "
done
is "$got" "200 200 200 200 200 200 " "the descriptor is served right after the kills"

# ================================================================ part 2: a burst under fire
it_sim install --product bitbucket --client-key chaos-1 --expect 204 || { not_ok "install a tenant"; it_logs; done_testing; }
ok "install a Bitbucket tenant"
secret="$(AC_DATA_DIR="$AC_DATA_DIR" "$ACCTL" tenant show chaos-1 --json --show-secret |
	"$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).sharedSecret))')"
TOK="$(printf '%s' "$secret" | "$ACCTL" jwt sign --secret - --iss chaos-1 --aud chaos-1 --ttl 900 POST "$BASE/webhook" 2>/dev/null | tail -n 1)"
mkdir -p "$IT_TMP/p"
# one payload per delivery, each with a commit hash of its own: the build status the worker posts
# for it marks the delivery handled
"$NODE" -e '
	const fs = require("fs"), t = JSON.stringify(require(process.argv[1]));
	for (let i = 1; i <= +process.argv[3]; i++) {
		const p = JSON.parse(t.split("1111111111111111111111111111111111111111").join(i.toString(16).padStart(40, "0")));
		p.event = "repo:push";
		fs.writeFileSync(process.argv[2] + "/" + i + ".json", JSON.stringify(p));
	}' "$PAYLOADS/bitbucket-webhook-repo-push.json" "$IT_TMP/p" $((N + 20))
export TOK BASE CHAOS_P="$IT_TMP/p"
# deliver ID: one delivery, up to 3 attempts 0.2 s apart; prints "ID ATTEMPTS CODE" (ATTEMPTS 0: never 2xx)
deliver() {
	local id="$1" a code
	for a in 1 2 3; do
		code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
			-H "Authorization: JWT $TOK" -H 'X-Event-Key: repo:push' -H "X-Request-UUID: chaos-$id" \
			--data-binary @"$CHAOS_P/$id.json" "$BASE/webhook")"
		case "$code" in 2??) echo "$id $a $code"; return 0 ;; esac
		sleep 0.2
	done
	echo "$id 0 $code"
}
export -f deliver

t_burst=$SECONDS
seq "$N" | xargs -P 8 -n 1 bash -c 'deliver "$1"' _ >"$IT_TMP/codes" 2>/dev/null &
burst=$!
k_web=0
k_top=0
k_worker=0
last_worker=${EPOCHREALTIME//[!0-9]/}
while kill -0 "$burst" 2>/dev/null; do
	sleep 0.3
	# a serving webhook process, at random (every fourth time the program that holds its
	# socket, which scripts/run starts again); the worker every 2 s
	victims=()
	tops=()
	w=
	while read -r p name; do
		case "$name" in
		webhook.fcgi) tops+=("$p"); victims+=($(serving "$p")) ;;
		acctl) w="$p" ;;
		esac
	done < <(supervised)
	if [ $(((k_web + k_top) % 4)) -eq 3 ] && [ "${#tops[@]}" -gt 0 ]; then
		kill -KILL "${tops[RANDOM % ${#tops[@]}]}" 2>/dev/null && k_top=$((k_top + 1))
	elif [ "${#victims[@]}" -gt 0 ]; then
		kill -KILL "${victims[RANDOM % ${#victims[@]}]}" 2>/dev/null && k_web=$((k_web + 1))
	fi
	now=${EPOCHREALTIME//[!0-9]/}
	if [ -n "$w" ] && [ $((now - last_worker)) -ge 2000000 ]; then
		last_worker=$now
		kill -KILL "$w" 2>/dev/null && k_worker=$((k_worker + 1))
	fi
done
wait "$burst"
t_burst=$((SECONDS - t_burst))

# right after the last kill: 20 deliveries in a row, each acknowledged at the first attempt
for i in $(seq $((N + 1)) $((N + 20))); do deliver "$i"; done >"$IT_TMP/codes.after"
got="$(awk '$2 != 1' "$IT_TMP/codes.after" | wc -l)"
is "$got" 0 "the stack answers at once when the killing stops (20 deliveries, each at the first attempt)"

acked="$(awk '$2 > 0' "$IT_TMP/codes" | wc -l)"
first="$(awk '$2 == 1' "$IT_TMP/codes" | wc -l)"
failed="$(awk '$2 == 0 {print $3}' "$IT_TMP/codes" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
pct=$((acked * 1000 / N))
diag "burst: $N deliveries in $t_burst s, $k_web serving webhook processes, $k_top webhook programs and $k_worker workers SIGKILLed"
diag "acknowledged within 3 attempts: $acked ($((pct / 10)).$((pct % 10)) %), at the first: $first; never: ${failed:-none}"
is "$(wc -l <"$IT_TMP/codes")" "$N" "every delivery of the burst was tried"
check "at least 90 % acknowledged within 3 attempts ($acked of $N)" [ "$((acked * 10))" -ge "$((N * 9))" ]
check "webhook processes were killed every 300 ms and the worker every 2 s ($k_web + $k_top, $k_worker)" \
	eval '[ "$k_web" -ge 3 ] && [ "$k_top" -ge 1 ] && [ "$k_worker" -ge 1 ]'

# every acknowledged delivery handled: the worker posts the build status of its commit
cat "$IT_TMP/codes" "$IT_TMP/codes.after" | awk '$2 > 0 {printf "%040x\n", $1}' | sort >"$IT_TMP/acked"
statuses() {
	curl -s --max-time 20 "$SIM_URL/_sim/store" | "$NODE" -e '
		let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
			const j = JSON.parse(s);
			for (const k of Object.keys(j.statuses)) console.log(k.split("/")[2]);
		});' | sort -u
}
end=$((SECONDS + 120))
while :; do
	statuses >"$IT_TMP/handled"
	missing="$(comm -23 "$IT_TMP/acked" "$IT_TMP/handled" | wc -l)"
	[ "$missing" -gt 0 ] && [ "$SECONDS" -lt "$end" ] || break
	sleep 1
done
is "$missing" 0 "no acknowledged delivery is lost: each is handled (its commit has a build status)"
export AC_DATA_DIR
for _ in $(seq 100); do
	[ "$("$ACCTL" inbox stats 2>/dev/null | sed -n 's/^inbox //p')" = 0 ] && break
	sleep 0.2
done
is "$("$ACCTL" inbox stats 2>/dev/null | sed -n 's/^dead //p')" 0 "nothing is dead"
# each delivery was stored once: the worker did each event once (its done lines, by seq)
grep -o 'event [0-9]* (repo:push) for chaos-1 done' "$IT_TMP/logs/run.log" | awk '{print $2}' | sort >"$IT_TMP/done"
dups="$(uniq -d "$IT_TMP/done" | wc -l)"
stored="$(sort -u "$IT_TMP/done" | wc -l)"
extra="$((stored - $(sort -u "$IT_TMP/handled" | grep -c .)))"
is "$dups" 0 "no event is handled twice to completion ($stored events done)"
is "$extra" 0 "no delivery is stored twice (as many events as commits handled)"
respawns="$(grep -c 'killed by signal 9; started process' "$IT_TMP/logs/run.log")"
check "respawn log lines are there ($respawns from supervisors, $(grep -c 'started again (pid' "$IT_TMP/logs/run.log") from scripts/run)" \
	[ "$respawns" -ge "$k_web" ]
lost="$missing"
diag "FIGURES: deliveries=$N acked=$acked first_attempt=$first availability=$((pct / 10)).$((pct % 10))% lost=$lost duplicated=$((dups + extra)) webhook_kills=$k_web webhook_program_kills=$k_top worker_kills=$k_worker seconds=$t_burst"

[ "$T_FAILED" -eq 0 ] || diag "$(grep -v ' info: \| 20[0-9] ' "$IT_TMP/logs/run.log" | tail -n 40)"
stop_run
done_testing
