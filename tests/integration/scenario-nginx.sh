#!/bin/bash
# scenario-nginx.sh: the whole simulator scenario (lib.sh it_scenario) behind nginx with each
# shipped config: the spawn-fcgi pool (nginx/connect-fcgi-pool.conf) and fcgiwrap
# (nginx/connect-fcgi-fcgiwrap.conf), with `acctl worker` (TAP).
. "$top_srcdir/tests/integration/lib.sh"

it_setup
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"
[ -x "$FCGIWRAP" ] || skip_all "fcgiwrap not found"
it_stage_programs "$IT_TMP/libexec"
for mode in pool fcgiwrap; do
	rm -f "$IT_TMP"/run/*.sock
	rm -rf "$IT_TMP/data" "$IT_TMP/nginx" && mkdir -m 0700 "$IT_TMP/data" && mkdir "$IT_TMP/nginx"
	[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/data"
	it_sim_start || { not_ok "$mode: the simulator starts"; it_logs; done_testing; }
	PORT=
	it_port
	it_app_env bitbucket daemon
	if ! it_nginx "$mode" || [ "$BASE" != "$AC_BASE_URL" ]; then
		not_ok "$mode: nginx and the programs start on $AC_BASE_URL"
		it_logs
		done_testing
	fi
	it_worker
	it_scenario "nginx $mode"
	[ "$T_FAILED" -eq 0 ] || it_logs
	if it_stop_all; then ok "$mode: every process stopped by PID"; else not_ok "$mode: every process stopped by PID"; fi
done
done_testing
