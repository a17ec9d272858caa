#!/bin/bash
# heal-units.sh: the shipped systemd layout heals (TAP). No systemd here, so a small holder plays
# connect-fcgi@.socket + connect-fcgi@.service: it keeps each socket of nginx/connect-fcgi-pool.conf
# open for good, starts the program with it on stdin and the unit's AC_PROCESSES, and starts it
# again RestartSec (from the unit) after it ends. Under a stream of requests, the programs and
# their serving processes are SIGKILLed every 300 ms: every request is answered 200, nginx never
# meets a refused or missing socket, and each restart has its log line.
. "$top_srcdir/tests/integration/lib.sh"

UNIT="$top_srcdir/nginx/systemd/connect-fcgi@.service"
it_setup
command -v perl >/dev/null 2>&1 || skip_all "perl not found"
[ -x "$top_builddir/src/fcgi/descriptor.fcgi" ] || skip_all "descriptor.fcgi not built"

procs="$(sed -n 's/^Environment=AC_PROCESSES=\([0-9]*\)$/\1/p' "$UNIT")"
restart_ms="$(sed -n 's/^RestartSec=\([0-9]*\)ms$/\1/p' "$UNIT")"
check "the unit sets AC_PROCESSES ($procs) and RestartSec in ms ($restart_ms)" \
	eval '[ "${procs:-0}" -ge 1 ] && [ -n "$restart_ms" ]'
[ -n "$procs" ] && [ -n "$restart_ms" ] || done_testing

# holder SOCKET RESTART_MS CMD...: systemd's part: the socket, then CMD on it for ever
cat >"$IT_TMP/holder.pl" <<'EOF'
use strict;
use warnings;
use Socket;
use POSIX ();
my ($path, $restart_ms, @cmd) = @ARGV;
my $child = 0;
socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
unlink $path;
bind($s, pack_sockaddr_un($path)) or die "bind $path: $!";
chmod 0666, $path;
listen($s, 1024) or die "listen: $!";
$SIG{TERM} = sub { kill 'TERM', $child if $child; waitpid($child, 0) if $child; unlink $path; exit 0 };
$| = 1;
while (1) {
	$child = fork();
	die "fork: $!" unless defined $child;
	if ($child == 0) {
		POSIX::dup2(fileno($s), 0) or die "dup2: $!";
		exec @cmd or die "exec: $!";
	}
	waitpid($child, 0);
	print STDERR "holder: $path: process $child ended (status $?); starting it again\n";
	select(undef, undef, undef, $restart_ms / 1000);
}
EOF

it_stage_programs "$IT_TMP/libexec"
it_port
export AC_BASE_URL="$BASE" AC_DATA_DIR="$IT_TMP/data" AC_TEMPLATE_DIR="$IT_TMP/descriptor"
export AC_PROCESSES="$procs"
unset AC_CONFIG AC_DESCRIPTOR
write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
NGINX_WORKERS=1 nginx_conf pool "$IT_TMP/nginx" "$PORT" "$IT_TMP/libexec" "$IT_TMP/run" "$IT_TMP/connect-fcgi.conf"
run_user_prefix
declare -A HOLDER=()
while read -r prog sock; do
	[ -x "$IT_TMP/libexec/$prog.fcgi" ] || continue
	perl "$IT_TMP/holder.pl" "$sock" "$restart_ms" "${RUN_PREFIX[@]}" "$IT_TMP/libexec/$prog.fcgi" \
		>>"$IT_TMP/logs/units.log" 2>&1 &
	IT_PIDS+=("$!")
	HOLDER[$sock]=$!
	wait_socket "$sock" || diag "no socket $sock"
done < <(pool_sockets "$IT_TMP/nginx/connect-fcgi.conf")
env -u NGINX "$NGINX" -p "$IT_TMP/nginx" -c "$IT_TMP/nginx/nginx.conf" -e stderr 2>>"$IT_TMP/logs/nginx.log" &
IT_PIDS+=("$!")
if wait_http "$BASE/" 50; then ok "nginx and the programs start"; else
	not_ok "nginx and the programs start"
	it_logs
	done_testing
fi

# kids PID: the children of PID
kids() {
	local k=
	read -r k 2>/dev/null </proc/"$1"/task/"$1"/children
	printf '%s\n' $k
}
seq 1000 | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 \
	"$BASE/atlassian-connect.json" >"$IT_TMP/codes" &
load=$!
k_prog=0
k_serving=0
i=0
while kill -0 "$load" 2>/dev/null; do
	sleep 0.3
	i=$((i + 1))
	sock="$IT_TMP/run/descriptor.$((i % 4)).sock"
	prog="$(kids "${HOLDER[$sock]}" | head -n 1)"
	[ -n "$prog" ] || continue
	if [ $((i % 3)) -eq 0 ]; then
		# the program that holds the socket's serving processes, as if it crashed
		kill -KILL "$prog" 2>/dev/null && k_prog=$((k_prog + 1))
	else
		victim="$(kids "$prog" | head -n 1)"
		[ -z "$victim" ] || { kill -KILL "$victim" 2>/dev/null && k_serving=$((k_serving + 1)); }
	fi
done
wait "$load"
diag "1000 requests; killed $k_prog programs and $k_serving serving processes"
is "$(sort "$IT_TMP/codes" | uniq -c | tr -s ' ')" " 1000 200" "every request is answered 200"
check "programs and serving processes were killed ($k_prog, $k_serving)" eval '[ "$k_prog" -ge 2 ] && [ "$k_serving" -ge 2 ]'
bad="$(grep -cE 'connect\(\) to unix:.* failed|no live upstreams' "$IT_TMP/nginx/error.log")"
is "$bad" 0 "nginx never met a refused or missing socket: the socket outlives the processes"
sleep 0.5
is "$(grep -c 'starting it again' "$IT_TMP/logs/units.log")" "$k_prog" "one restart line per program killed (systemd's)"
is "$(grep -c 'killed by signal 9; started process' "$IT_TMP/logs/units.log")" "$k_serving" \
	"one line per serving process replaced (the program's)"
got=
for _ in 1 2 3 4 5 6 7 8; do got="$got$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/atlassian-connect.json") "; done
is "$got" "200 200 200 200 200 200 200 200 " "answers at once after the kills"
[ "$T_FAILED" -eq 0 ] || it_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
