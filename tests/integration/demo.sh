#!/bin/bash
# demo.sh: `scripts/run --demo` non-interactively: it serves, the simulator's pull request and
# push get the app's comment and statuses, the output says so and names the acctl commands,
# the data dir is 0700 for the programs' user, and SIGTERM stops every process (TAP).
. "$top_srcdir/tests/integration/lib.sh"

[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"
[ -x "$NGINX" ] && [ -x "$SPAWN_FCGI" ] || skip_all "nginx or spawn-fcgi not found"
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
D="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-demo.XXXXXX")" || exit 99
chmod 0755 "$D"
RUN_PID=
trap '[ -z "$RUN_PID" ] || stop_pids "$RUN_PID" 2>/dev/null; rm -rf "$D"' EXIT

port="$(it_free_port)"
# --forge too when jose is there (npm_sim installs it): Forge's side after the Connect demo
FORGE=
[ ! -d "$top_srcdir/tests/sim/node_modules/jose" ] || FORGE=--forge
# scripts/run starts in its own process group (set -m) so that we can see its leftovers.
(cd "$D" && exec env -u AC_CONFIG -u AC_DATA_DIR PORT="$port" NO_BUILD=1 BUILDDIR="$top_builddir" \
    VARDIR="$D/var" AC_TEMPLATE_DIR="$top_srcdir/descriptor" "$top_srcdir/scripts/run" --demo $FORGE \
    >"$D/out" 2>"$D/err") &
RUN_PID=$!
for _ in $(seq 300); do
	grep -q "^== demo${FORGE:+ --forge}: done" "$D/out" 2>/dev/null && break
	kill -0 "$RUN_PID" 2>/dev/null || break
	sleep 0.2
done
check "scripts/run --demo finishes its demo and keeps serving" \
    eval 'grep -q "^== demo: done" "$D/out" && kill -0 "$RUN_PID"'
check "it prints the app's comment on the pull request" grep -q 'Pull request title check failed' "$D/out"
check "it prints the FAILED title status" grep -q 'status FAILED .* connect-fcgi-title' "$D/out"
if [ -n "$FORGE" ]; then
	check "--forge: the Forge events are accepted" eval '[ "$(grep -c "^ (HTTP 204)$" "$D/out")" -eq 2 ]'
	check "--forge: the worker commented on pull request 42 through the installation's apiBaseUrl" \
	    grep -q 'comment on %7Bdemo-ws%7D/%7Bdemo-repo%7D pullrequest 42:' "$D/out"
	check "--forge: the merge check answered success false by the title rule" \
	    grep -q '^{"success":false,"message":"The pull request title \\"Tidy the Forge demo\\" does not match' "$D/out"
	check "--forge: /forge/remote/installation shows a live system token" grep -q '"systemToken":{"live":true' "$D/out"
else
	skip "--forge: jose not installed in tests/sim"
fi
check "it prints the status of the push's commit" grep -qE 'status (FAILED|SUCCESSFUL) .* connect-fcgi-commit' "$D/out"
for c in 'tenant list' 'inbox list' 'jwt decode' 'api --tenant demo-tenant GET /2.0/user'; do
	check "it shows acctl $c" grep -q "acctl $c" "$D/out"
done
http_code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/atlassian-connect.json")"
is "$http_code" 200 "the descriptor is served on the PORT given"
data="$D/var/demo/$port/data"
want="$(id -un)"
[ -z "$(run_user)" ] || want="$(run_user)" && want="${want%%:*}"
is "$(stat -c '%a %U' "$data" 2>/dev/null)" "700 $want" "scripts/run's data dir is 0700 and owned by $want"
is "$(find "$data" -type f ! -perm 0600 | wc -l)" 0 "its data files are 0600"
procs="$(descendants "$RUN_PID")"
n_root=0
for p in $procs; do
	case "$(readlink "/proc/$p/exe" 2>/dev/null)" in
	*.fcgi | */acctl) [ "$(stat -c %u "/proc/$p" 2>/dev/null)" != 0 ] || n_root=$((n_root + 1)) ;;
	esac
done
if [ -n "$(run_user)" ]; then is "$n_root" 0 "no program of scripts/run runs as root"; else skip "not root"; fi
exes="$(for p in $procs; do readlink "/proc/$p/exe" 2>/dev/null; echo; done)"
check "scripts/run runs forge-events.fcgi and forge-remote.fcgi as it runs the others" \
    eval 'grep -q "/forge-events\.fcgi$" <<<"$exes" && grep -q "/forge-remote\.fcgi$" <<<"$exes"'
secret="$(json "$D/var/demo/$port/sim/tenants.json" "j['demo-tenant'].sharedSecret")"
check "no output or log of scripts/run holds the tenant's secret" \
    eval '[ -n "$secret" ] && ! grep -rqF "$secret" "$D/out" "$D/err" "$D/var/nginx"'

kill -TERM "$RUN_PID"
for _ in $(seq 100); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
wait "$RUN_PID" 2>/dev/null
check "SIGTERM stops scripts/run" eval '! kill -0 "$RUN_PID" 2>/dev/null'
RUN_PID=
left=
for p in $procs; do alive "$p" && left="$left $p"; done
is "$left" "" "every process it started is gone"
[ "$T_FAILED" -eq 0 ] || diag "$(tail -n 40 "$D/out" "$D/err")"
done_testing
