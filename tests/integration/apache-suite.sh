# shellcheck shell=bash
# apache-suite.sh: apache_suite MODE, the tests of one shipped Apache setup, sourced by
# apache-fcgid.sh, apache-proxy-fcgi.sh and apache-cgi.sh after lib.sh:
#   fcgid       apache/connect-fcgi-fcgid.conf: mod_fcgid runs the programs
#   proxy-fcgi  apache/connect-fcgi-proxy-fcgi.conf: mod_proxy_fcgi to a spawn-fcgi pool
#   cgi         apache/htaccess in $BASE_PATH (/app) with the programs as cgi-bin/*.cgi and
#               connect-fcgi.conf beside them (AC_WORKER=inline): shared hosting
# Part 1 puts tests/bench/echo.fcgi behind every route to see what Apache hands the programs;
# part 2 runs the real programs through the whole simulator scenario (lib.sh it_scenario).

APACHE_ROUTES="descriptor:GET:/atlassian-connect.json installed:POST:/installed
uninstalled:POST:/uninstalled webhook:POST:/webhook oauth-callback:GET:/oauth-callback
forge-events:POST:/forge/events forge-remote:POST:/forge/merge-check forge-remote:GET:/forge/remote/installation
status:GET:/healthcheck status:GET:/metrics"

# apache_stage MODE FROM SUFFIX: FROM (a program, or "built") as every route's program.
apache_stage() {
	local mode="$1" from="$2" r dir="$IT_TMP/libexec" suffix=fcgi
	rm -rf "$IT_TMP/libexec" "$IT_TMP/htdocs"
	mkdir -p "$IT_TMP/libexec"
	if [ "$mode" = cgi ]; then
		# the shared host's layout: htdocs/app/.htaccess, htdocs/app/cgi-bin/*.cgi
		mkdir -p "$IT_TMP/htdocs/app/cgi-bin"
		install -m 0644 "$top_srcdir/apache/htaccess" "$IT_TMP/htdocs/app/.htaccess"
		dir="$IT_TMP/htdocs/app/cgi-bin"
		suffix=cgi
	fi
	if [ "$from" = built ]; then
		it_stage_programs "$dir" "$suffix"
	else
		for r in $APACHE_ROUTES; do
			install -m 0755 "$from" "$dir/${r%%:*}.$suffix"
		done
	fi
	chmod -R a+rX "$IT_TMP/libexec" "$IT_TMP/htdocs" 2>/dev/null
	APACHE_PROGDIR="$dir"
}

apache_suite() {
	local mode="$1" r name method path want got
	it_setup
	[ -x "$APACHE" ] || skip_all "apache2 not found (Debian: apt-get install apache2 libapache2-mod-fcgid)"
	case "$mode" in
	fcgid) [ -f "$APACHE_MODULES/mod_fcgid.so" ] || skip_all "mod_fcgid not installed (libapache2-mod-fcgid)" ;;
	proxy-fcgi) [ -f "$APACHE_MODULES/mod_proxy_fcgi.so" ] || skip_all "mod_proxy_fcgi not found" ;;
	cgi) [ -f "$APACHE_MODULES/mod_cgid.so" ] || skip_all "mod_cgid not found" ;;
	esac
	[ -x "$NODE" ] || skip_all "node not found"
	[ -x "$top_builddir/tests/bench/echo.fcgi" ] || skip_all "tests/bench/echo.fcgi not built"
	BASE_PATH=
	[ "$mode" != cgi ] || BASE_PATH=/app

	# ---- part 1: the echo responder behind every route
	apache_stage "$mode" "$top_builddir/tests/bench/echo.fcgi"
	echo "AC_BASE_URL=http://127.0.0.1" >"$IT_TMP/connect-fcgi.conf"
	if ! it_apache "$mode" "$IT_TMP/htdocs"; then
		not_ok "$mode: Apache and the echo workers start"
		it_logs
		done_testing
	fi
	for r in $APACHE_ROUTES; do
		IFS=: read -r name method path <<<"$r"
		if [ "$method" = POST ]; then
			http POST "$path?probe=$name" -H "Authorization: JWT it.$name.sig" \
			    -H 'Proxy: http://evil.example:1' -H 'Content-Type: application/json' \
			    --data-binary '{"a":1}'
			want="JWT it.$name.sig|$BASE_PATH$path?probe=$name||7"
		else
			http GET "$path?probe=$name" -H "Authorization: JWT it.$name.sig" \
			    -H 'Proxy: http://evil.example:1'
			want="JWT it.$name.sig|$BASE_PATH$path?probe=$name||0"
		fi
		got="$(json "$BODY" '[j.HTTP_AUTHORIZATION, j.REQUEST_URI, j.HTTP_PROXY || "", j.body_bytes].join("|")')"
		is "$STATUS $got" "200 $want" \
		    "$mode: $method $BASE_PATH$path reaches $name with Authorization, REQUEST_URI and body intact, no HTTP_PROXY"
	done
	head -c 65536 /dev/zero >"$IT_TMP/64k"
	head -c 65537 /dev/zero >"$IT_TMP/64k+1"
	head -c 262145 /dev/zero >"$IT_TMP/256k+1"
	if [ "$mode" = cgi ]; then
		# no caps in .htaccess (hosts rarely allow them): the programs enforce their own
		http GET /cgi-bin/installed.cgi
		is "$STATUS" 404 "$mode: the programs are not reachable by their file names"
		http GET /cgi-bin/connect-fcgi.conf
		check "$mode: connect-fcgi.conf is never served ($STATUS)" [ "$STATUS" = 403 ] || [ "$STATUS" = 404 ]
	else
		http POST /installed --data-binary @"$IT_TMP/64k"
		is "$STATUS $(json "$BODY" 'j.body_bytes')" "200 65536" "$mode: /installed accepts 64 KiB"
		http POST /installed --data-binary @"$IT_TMP/64k+1"
		is "$STATUS" 413 "$mode: /installed refuses 64 KiB + 1 byte with 413"
		http POST /webhook --data-binary @"$IT_TMP/256k+1"
		is "$STATUS" 413 "$mode: /webhook refuses 256 KiB + 1 byte with 413"
		http POST /atlassian-connect.json --data-binary @"$IT_TMP/64k"
		is "$STATUS" 413 "$mode: /atlassian-connect.json refuses a body with 413"
	fi
	http GET /nothing-here
	is "$STATUS" 404 "$mode: other paths are 404"
	# /healthcheck and /metrics: loopback only (127.0.0.2 is a loopback address, but not an allowed one)
	for path in /healthcheck /metrics; do
		is "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 --max-time 10 "$BASE$BASE_PATH$path")" 403 \
		    "$mode: $BASE_PATH$path from 127.0.0.2 is refused"
	done
	[ "$T_FAILED" -eq 0 ] || it_logs
	if it_stop_all; then
		ok "$mode: every process of part 1 stopped by PID"
	else
		not_ok "$mode: every process of part 1 stopped by PID"
	fi

	# ---- part 2: the real programs, the whole scenario
	if [ ! -x "$top_builddir/src/fcgi/webhook.fcgi" ]; then
		skip "$mode: webhook.fcgi not built"
		done_testing
	fi
	[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || { skip "$mode: atlassian-jwt not installed"; done_testing; }
	rm -f "$IT_TMP"/run/*.sock
	apache_stage "$mode" built
	it_sim_start || { not_ok "$mode: the simulator starts"; it_logs; done_testing; }
	PORT=
	it_port
	BASE="$BASE$BASE_PATH"
	if [ "$mode" = cgi ]; then
		it_app_env bitbucket inline
		# shared hosting: the settings beside the programs, no environment at all
		cp "$IT_TMP/connect-fcgi.conf" "$APACHE_PROGDIR/connect-fcgi.conf"
		chmod 0600 "$APACHE_PROGDIR/connect-fcgi.conf"
		[ -z "$IT_UG" ] || chown "$IT_UG" "$APACHE_PROGDIR/connect-fcgi.conf"
	else
		it_app_env bitbucket daemon
	fi
	if ! it_apache "$mode" "$IT_TMP/htdocs" || [ "$BASE" != "$AC_BASE_URL" ]; then
		not_ok "$mode: Apache and the programs start on $AC_BASE_URL"
		it_logs
		done_testing
	fi
	[ "$mode" = cgi ] || it_worker
	it_scenario "apache $mode"
	[ "$T_FAILED" -eq 0 ] || it_logs
	if it_stop_all; then ok "$mode: every process stopped by PID"; else not_ok "$mode: every process stopped by PID"; fi
	done_testing
}
