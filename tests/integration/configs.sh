#!/bin/bash
# configs.sh: every shipped config is accepted by the program that reads it: nginx -t on
# nginx/*.conf, apache2 -t on apache/* (scripts/lib.sh rewrites their paths into a temp
# prefix), systemd-analyze verify on nginx/systemd/*.service (TAP).
. "$top_srcdir/tests/integration/lib.sh"

IT_TMP="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-cf.XXXXXX")" || exit 99
trap 'rm -rf "$IT_TMP"' EXIT
chmod 0755 "$IT_TMP"
mkdir -p "$IT_TMP/libexec" "$IT_TMP/run" "$IT_TMP/logs"
echo "AC_BASE_URL=http://127.0.0.1" >"$IT_TMP/connect-fcgi.conf"
PORT="$(it_free_port)"

for f in "$top_srcdir"/nginx/connect-fcgi-*.conf; do
	mode="${f##*/connect-fcgi-}"
	mode="${mode%.conf}"
	if [ ! -x "$NGINX" ]; then skip "nginx -t $f: nginx not found"; continue; fi
	rm -rf "$IT_TMP/nginx"
	(nginx_conf "$mode" "$IT_TMP/nginx" "$PORT" "$IT_TMP/libexec" "$IT_TMP/run" "$IT_TMP/connect-fcgi.conf") 2>"$IT_TMP/logs/t.log" &&
	    env -u NGINX "$NGINX" -t -q -p "$IT_TMP/nginx" -c "$IT_TMP/nginx/nginx.conf" -e stderr 2>>"$IT_TMP/logs/t.log"
	if [ $? -eq 0 ]; then ok "nginx -t accepts nginx/${f##*/}"; else not_ok "nginx -t accepts nginx/${f##*/}"; diag "$(cat "$IT_TMP/logs/t.log")"; fi
done

for mode in fcgid proxy-fcgi cgi; do
	name="connect-fcgi-$mode.conf"
	[ "$mode" != cgi ] || name=htaccess
	if [ ! -x "$APACHE" ]; then skip "apache2 -t apache/$name: apache2 not found"; continue; fi
	if [ "$mode" = fcgid ] && [ ! -f "$APACHE_MODULES/mod_fcgid.so" ]; then
		skip "apache2 -t apache/$name: mod_fcgid not installed"
		continue
	fi
	rm -rf "$IT_TMP/apache"
	(apache_conf "$mode" "$IT_TMP/apache" "$PORT" "$IT_TMP/libexec" "$IT_TMP/run" "$IT_TMP/connect-fcgi.conf") 2>"$IT_TMP/logs/t.log" &&
	    env -u APACHE "$APACHE" -t -d "$IT_TMP/apache" -f "$IT_TMP/apache/httpd.conf" >>"$IT_TMP/logs/t.log" 2>&1
	if [ $? -eq 0 ]; then ok "apache2 -t accepts apache/$name"; else not_ok "apache2 -t accepts apache/$name"; diag "$(cat "$IT_TMP/logs/t.log")"; fi
done

# The example settings file is one the programs accept.
if [ -x "$top_builddir/src/cli/acctl" ]; then
	if env -i PATH="$PATH" AC_CONFIG="$top_srcdir/apache/connect-fcgi.conf.example" \
	    "$top_builddir/src/cli/acctl" config >"$IT_TMP/logs/acctl.log" 2>&1; then
		ok "acctl config accepts apache/connect-fcgi.conf.example"
	else
		not_ok "acctl config accepts apache/connect-fcgi.conf.example"
		diag "$(cat "$IT_TMP/logs/acctl.log")"
	fi
else
	skip "acctl not built"
fi

# systemd-analyze verify wants the executables the units name: point them at the build tree.
SA="$(command -v systemd-analyze)"
for unit in "$top_srcdir"/nginx/systemd/*.service; do
	name="${unit##*/}"
	if [ -z "$SA" ]; then skip "systemd-analyze verify $name: systemd-analyze not found"; continue; fi
	mkdir -p "$IT_TMP/units"
	sed -e "s#/usr/local/libexec/connect-fcgi/#$top_builddir/src/fcgi/#g" \
	    -e "s#/usr/local/bin/acctl#$top_builddir/src/cli/acctl#g" \
	    -e "s#/usr/bin/spawn-fcgi#${SPAWN_FCGI:-/usr/bin/spawn-fcgi}#g" "$unit" >"$IT_TMP/units/$name"
	units=()
	case "$name" in
	*@.service)
		cp "$IT_TMP/units/$name" "$IT_TMP/units/${name%@.service}@descriptor.0.service"
		name="${name%@.service}@descriptor.0.service"
		# the socket unit it requires, verified with it
		sed -e "s#/usr/local/libexec/connect-fcgi/#$top_builddir/src/fcgi/#g" "${unit%.service}.socket" \
		    >"$IT_TMP/units/${name%.service}.socket"
		units+=("$IT_TMP/units/${name%.service}.socket")
		;;
	esac
	if "$SA" verify --man=no "$IT_TMP/units/$name" "${units[@]}" >"$IT_TMP/logs/sa.log" 2>&1 && [ ! -s "$IT_TMP/logs/sa.log" ]; then
		ok "systemd-analyze verify: $name"
	else
		not_ok "systemd-analyze verify: $name"
		diag "$(cat "$IT_TMP/logs/sa.log")"
	fi
	check "$name: runs as the dedicated user, not root" grep -qx 'User=connect-fcgi' "$unit"
	check "$name: NoNewPrivileges, ProtectSystem=strict, PrivateTmp" \
	    eval 'grep -qx NoNewPrivileges=yes "$unit" && grep -qx ProtectSystem=strict "$unit" && grep -qx PrivateTmp=yes "$unit"'
	if grep -qx Type=oneshot "$unit"; then
		# a step before the services (acctl store migrate): done once, tried again while the database starts
		check "$name: a oneshot that stays done, tried again on failure" \
		    eval 'grep -qx RemainAfterExit=yes "$unit" && grep -qx Restart=on-failure "$unit"'
		continue
	fi
	check "$name: the data directory is 0700" grep -qx 'StateDirectoryMode=0700' "$unit"
	# healing (issue 13): started again at once and for ever
	check "$name: Restart=always, RestartSec under a second, no start limit" \
	    eval 'grep -qx Restart=always "$unit" && grep -qxE "RestartSec=[0-9]{1,3}ms" "$unit" && grep -qx StartLimitIntervalSec=0 "$unit"'
done
# The programs' socket belongs to systemd (it outlives them) and reaches them on stdin; they
# supervise several serving processes on it.
u="$top_srcdir/nginx/systemd/connect-fcgi@.service"
check "connect-fcgi@.service: the socket from connect-fcgi@.socket on stdin, AC_PROCESSES set" \
    eval 'grep -qx "Requires=connect-fcgi@%i.socket" "$u" && grep -qx StandardInput=socket "$u" &&
        grep -qx StandardOutput=journal "$u" && grep -qE "^Environment=AC_PROCESSES=[1-9]" "$u"'
check "connect-fcgi@.socket: listens on the path nginx/connect-fcgi-pool.conf uses" \
    grep -qx 'ListenStream=/run/connect-fcgi/%i.sock' "$top_srcdir/nginx/systemd/connect-fcgi@.socket"
# nginx never takes a socket out of service for one failure: max_fails=0 on every server
check "nginx/connect-fcgi-pool.conf: every upstream server has max_fails=0" \
    eval '! grep -E "^ *server unix:" "$top_srcdir/nginx/connect-fcgi-pool.conf" | grep -qv "max_fails=0"'
done_testing
