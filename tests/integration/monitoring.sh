#!/bin/bash
# monitoring.sh: /healthcheck, /metrics and `acctl status` through the real nginx pool (issue 17):
# the health JSON and its 503s (no worker heartbeat, a store that cannot be read), counters that
# match the requests sent, the loopback-only rule of the shipped configs, acctl status's exit
# codes and --json (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"

it_setup
# http() sets these; set here too, for the calls made in a subshell ($(health))
BODY="$IT_TMP/body" HEADERS="$IT_TMP/headers"
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/status.fcgi" ] || { not_ok "status.fcgi is built"; done_testing; }

it_stage_programs "$IT_TMP/libexec"
mkdir -p "$IT_TMP/sim"
it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

# The worker must have reported within AC_HEALTHCHECK_WORKER_SECONDS (60 by default; 2 here, so
# that a stopped worker shows within seconds instead of a minute).
export AC_HEALTHCHECK_WORKER_SECONDS=2
rm -rf "$IT_TMP/data" && mkdir -m 0700 "$IT_TMP/data"
[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/data"
it_port
it_app_env bitbucket daemon
it_nginx pool || { not_ok "nginx and the programs start"; it_logs; done_testing; }

# health: the status and the JSON of GET /healthcheck ("STATUS field field ...")
health() { http GET /healthcheck; json "$BODY" "[$STATUS, j.status, j.store.reachable, j.worker.ok].join(' ')"; }
# until_health WANT: polls /healthcheck for 20 s until health says WANT
until_health() {
	local end=$((SECONDS + 20)) got
	while :; do
		got="$(health)"
		[ "$got" = "$1" ] || [ "$SECONDS" -ge "$end" ] || { sleep 0.2; continue; }
		echo "$got"
		return 0
	done
}
# metric NAME LABELS: the value of the sample NAME{host="...",LABELS} in $IT_TMP/metrics, or "none"
metric() {
	awk -v want="$1{host=\"$(hostname)\"${2:+,$2}}" '$1 == want { print $2; found = 1 } END { if (!found) print "none" }' \
	    "$IT_TMP/metrics"
}
scrape() { http GET /metrics && cp "$BODY" "$IT_TMP/metrics"; }

# ================================================================ /healthcheck before any worker
is "$(health)" "503 unhealthy true false" "AC_WORKER=daemon and no worker yet: 503, the store reachable"
check "the JSON says why" grep -q 'no worker heartbeat' "$BODY"
is "$(header Content-Type)" "application/json" "/healthcheck answers JSON"
is "$(header Cache-Control)" "no-store" "and is never cached"

it_worker
WORKER_PID="${IT_PIDS[-1]}"
is "$(until_health "200 ok true true")" "200 ok true true" "a running worker: 200"
is "$(json "$BODY" '[typeof j.inbox.pending, typeof j.inbox.due, typeof j.inbox.leased, typeof j.inbox.dead,
    typeof j.worker.heartbeatAgeSeconds, "oldestDueAgeSeconds" in j.inbox, j.worker.mode].join(" ")')" \
    "number number number number number true daemon" \
    "the JSON has the inbox counts, the oldest due event's age and the heartbeat's age"

# ================================================================ requests, then /metrics
it_drive "install a tenant" 204 install --product bitbucket --client-key mon-tenant-1
for i in 1 2 3; do
	it_drive "webhook $i" 204 webhook --client-key mon-tenant-1 --event repo:push --delivery-id "mon-d-$i"
done
it_drive "a webhook signed with another secret" 401 webhook --client-key mon-tenant-1 --event repo:push \
    --sign secret:not-the-secret
http GET /healthcheck
check "the health JSON names no tenant" eval '! grep -q mon-tenant "$BODY"'

scrape
is "$STATUS $(header Content-Type)" "200 text/plain; version=0.0.4; charset=utf-8" "/metrics: 200 in the text format 0.0.4"
is "$(metric ac_requests_total 'program="webhook",route="/webhook",status="204"')" "3" \
    "ac_requests_total counts the three accepted webhooks exactly"
is "$(metric ac_requests_total 'program="webhook",route="/webhook",status="401"')" "1" "and the refused one"
is "$(metric ac_requests_total 'program="installed",route="/installed",status="204"')" "1" "and the install"
check "the refused webhook is an authentication failure by its code" \
    grep -Eq '^ac_auth_failures_total\{host="[^"]*",program="webhook",code="[a-z_]+"\} 1$' "$IT_TMP/metrics" ||
    diag "$(grep -E 'auth_failures|errors_total' "$IT_TMP/metrics")"
is "$(metric ac_request_duration_seconds_count 'program="webhook",route="/webhook"')" "4" \
    "the webhook route's duration histogram counted the four requests"
is "$(metric ac_request_duration_seconds_bucket 'program="webhook",route="/webhook",le="+Inf"')" "4" \
    "and its +Inf bucket equals its count"
is "$(metric ac_store_up)" "1" "the store gauge"
check "the inbox gauges" eval '(for g in pending due leased dead oldest_due_age_seconds; do
    [ "$(metric ac_inbox_$g)" != none ] || exit 1; done)'
check "the heartbeat gauge" eval '[ "$(metric ac_worker_heartbeat_age_seconds)" != none ]'
# every line: a comment (HELP, TYPE) or name{host="...",...} value
check "every sample is labelled with the host and every line is well formed" eval \
    '! grep -Ev "^# (HELP|TYPE) [a-z_]+ .+\$|^[a-z_]+\\{host=\"[^\"]+\"(,[a-z_]+=\"[^\"]*\")*\\} [0-9.e+-]+\$" "$IT_TMP/metrics" | grep -q .'
check "no tenant in the metrics" eval '! grep -q mon-tenant "$IT_TMP/metrics"'
# the worker ran the pushes: attempts and successes by handler
end=$((SECONDS + 20))
while scrape && [ "$(metric ac_inbox_pending)" != 0 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.3; done
check "the worker's attempts are counted by handler" grep -Eq '^ac_worker_attempts_total\{host="[^"]*",handler="[^"]+"\} [1-9]' "$IT_TMP/metrics"

# ================================================================ acctl status
run_user_prefix
"${RUN_PREFIX[@]}" "$ACCTL" status >"$IT_TMP/status.txt" 2>&1
is "$?" "0" "acctl status: exit 0 while healthy"
check "it shows the inbox and the worker" eval 'grep -q "^inbox " "$IT_TMP/status.txt" && grep -q "^worker .*heartbeat" "$IT_TMP/status.txt"'
check "it shows the request errors by code" grep -Eq "^  requests +[a-z_]+ 1" "$IT_TMP/status.txt" ||
    diag "$(cat "$IT_TMP/status.txt")"
"${RUN_PREFIX[@]}" "$ACCTL" status --json >"$IT_TMP/status.json" 2>/dev/null
is "$? $(json "$IT_TMP/status.json" '[j.status, j.store.reachable, typeof j.tokenCache.hits, Array.isArray(j.forgeInstallations)].join(" ")')" \
    "0 ok true number true" "acctl status --json parses, with the health, the token cache and the Forge installations"

# ================================================================ the worker stops: 503 once its heartbeat ages
stop_pids "$WORKER_PID" 2>/dev/null
is "$(until_health "503 unhealthy true false")" "503 unhealthy true false" \
    "the worker stopped: 503 once its heartbeat is older than AC_HEALTHCHECK_WORKER_SECONDS"
"${RUN_PREFIX[@]}" "$ACCTL" status >/dev/null 2>&1
is "$?" "1" "acctl status: exit 1"
"${RUN_PREFIX[@]}" "$ACCTL" status --json >"$IT_TMP/status.json" 2>/dev/null
is "$? $(json "$IT_TMP/status.json" 'j.status')" "1 unhealthy" "acctl status --json: exit 1, unhealthy"
AC_WORKER=inline "${RUN_PREFIX[@]}" "$ACCTL" status >/dev/null 2>&1
is "$?" "0" "with AC_WORKER=inline no heartbeat is needed"

# ================================================================ a store that cannot be read
got="$(cd "$IT_TMP" && env AC_DATA_DIR="$IT_TMP/no-such-dir" REQUEST_METHOD=GET REQUEST_URI=/healthcheck \
    "${RUN_PREFIX[@]}" "$IT_TMP/libexec/status.fcgi" 2>/dev/null)"
check "status.fcgi (as CGI) with no store: 503, store not reachable" eval \
    'grep -q "^Status: 503" <<<"$got" && grep -q "\"reachable\":false" <<<"$got"'
AC_DATA_DIR="$IT_TMP/no-such-dir" "${RUN_PREFIX[@]}" "$ACCTL" status >/dev/null 2>&1
is "$?" "1" "acctl status with no store: exit 1"

# ================================================================ loopback only
# A source address other than 127.0.0.1 and ::1 (127.0.0.2 is loopback too, but not allowed)
for path in /healthcheck /metrics; do
	is "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 --max-time 10 "$BASE$path")" "403" \
	    "$path from 127.0.0.2 (not an allowed address) is refused by the shipped pool config"
done
is "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 --max-time 10 "$BASE/atlassian-connect.json")" "200" \
    "while the app's own routes answer it"
for conf in nginx/connect-fcgi-pool.conf nginx/connect-fcgi-fcgiwrap.conf; do
	check "$conf: /healthcheck and /metrics allow 127.0.0.1 and ::1 and deny all else" eval \
	    '(for p in healthcheck metrics; do
	        sed -n "/location = \\/$p {/,/}/p" "$top_srcdir/$conf" | tr "\n" " " | tr -s " " |
	            grep -q "allow 127.0.0.1; allow ::1; deny all;" || exit 1
	    done)'
done
for conf in apache/connect-fcgi-proxy-fcgi.conf apache/connect-fcgi-fcgid.conf; do
	check "$conf: /healthcheck and /metrics require a loopback address" eval \
	    'sed -n "/LocationMatch \"\\^\\/(healthcheck|metrics)\\$\">/,/LocationMatch>/p" "$top_srcdir/$conf" |
	        grep -q "Require ip 127.0.0.1 ::1"'
done

done_testing
