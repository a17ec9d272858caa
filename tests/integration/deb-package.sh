#!/bin/bash
# deb-package.sh: the Debian package (debian/): `dpkg-buildpackage -us -uc -b` builds it from a
# copy of the source tree, lintian finds no error, `dpkg -i` installs it on this machine (its
# files, the system user, the data directory, the conffile), the simulator scenario runs
# against the installed programs (/usr/libexec/connect-fcgi, /usr/bin/acctl) behind nginx
# with the installed pool config, `dpkg -r` keeps the data and `dpkg --purge` removes it
# (TAP). Needs root; refuses to run (SKIP) when connect-fcgi is installed already, or
# /var/lib/connect-fcgi exists: the purge would take someone's installation or data with it.
. "$top_srcdir/tests/integration/lib.sh"

PKG=connect-fcgi
LIBEXEC=/usr/libexec/connect-fcgi
DATA=/var/lib/connect-fcgi
CONF=/etc/connect-fcgi/connect-fcgi.conf
DOC=/usr/share/doc/connect-fcgi

[ "$(id -u)" -eq 0 ] || skip_all "installing a package needs root"
for tool in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$tool" >/dev/null 2>&1 ||
	    skip_all "$tool not found (scripts/test installs it: scripts/lib.sh need_deb)"
done
[ -f "$top_srcdir/debian/control" ] || skip_all "no debian/ in $top_srcdir"
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
# one run at a time on this machine: the second would see the first's installation
exec 9>/run/lock/connect-fcgi-deb-package.lock || skip_all "cannot open /run/lock/connect-fcgi-deb-package.lock"
flock -n 9 || skip_all "another deb-package.sh is running on this machine"
case "$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null)" in
'' | not-installed) ;;
*) skip_all "$PKG is installed on this machine ($(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$PKG")): not mine to purge" ;;
esac
[ ! -e "$DATA" ] || skip_all "$DATA exists (someone's data): the purge would remove it"

it_setup
INSTALLED=
USER_MADE=
getent passwd "$PKG" >/dev/null || USER_MADE=1

# remove_user: the user and group postinst made, when this test made them (purge keeps them)
remove_user() {
	[ -n "$USER_MADE" ] || return 0
	deluser --system --quiet "$PKG" >/dev/null 2>&1
	! getent group "$PKG" >/dev/null || delgroup --system --quiet "$PKG" >/dev/null 2>&1
	! getent passwd "$PKG" >/dev/null && ! getent group "$PKG" >/dev/null
}

# dpkg_locked CMD...: CMD (dpkg), retried for up to 2 minutes while another dpkg or apt-get
# of this shared machine holds the dpkg lock.
dpkg_locked() {
	local try
	for try in $(seq 60); do
		"$@" >"$IT_TMP/logs/dpkg.log" 2>&1 && return 0
		grep -q 'lock' "$IT_TMP/logs/dpkg.log" || return 1
		[ "$try" -lt 60 ] && sleep 2
	done
	return 1
}

# deb_cleanup: the processes first (they run the installed programs), then the package and
# the user the installation made, then the temp dir (it_cleanup).
deb_cleanup() {
	it_stop_all >/dev/null 2>&1
	if [ -n "$INSTALLED" ]; then
		dpkg_locked dpkg --purge "$PKG" || diag "dpkg --purge $PKG failed: $(cat "$IT_TMP/logs/dpkg.log")"
	fi
	remove_user || diag "cannot delete the user $PKG"
	it_cleanup
}
trap deb_cleanup EXIT

# ---- the build, from a copy: dpkg-buildpackage writes the .deb beside the source tree
W="$IT_TMP/pkg"
mkdir -p "$W/src"
if git -C "$top_srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# the files of the repository, committed or not, without what .gitignore names (builds)
	(cd "$top_srcdir" && git ls-files -z -co --exclude-standard) |
	    (cd "$top_srcdir" && tar --null -T - -cf -) | tar -C "$W/src" -xf -
else
	tar -C "$top_srcdir" --exclude='./build*' --exclude=./autom4te.cache --exclude=node_modules \
	    --exclude=./config.status --exclude=./Makefile -cf - . | tar -C "$W/src" -xf -
fi
t0=$SECONDS
if (cd "$W/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc 2>/dev/null || echo 2)" \
    dpkg-buildpackage -us -uc -b) >"$IT_TMP/logs/deb-build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds the package ($((SECONDS - t0)) s)"
else
	not_ok "dpkg-buildpackage -us -uc -b builds the package"
	diag "$(tail -n 40 "$IT_TMP/logs/deb-build.log")"
	done_testing
fi
version="$(cd "$W/src" && dpkg-parsechangelog -S Version)"
is "$version" "$(sed -n 's/^AC_INIT(\[connect-fcgi\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")" \
    "debian/changelog has the version of configure.ac"
deb="$(ls "$W"/${PKG}_"$version"_*.deb 2>/dev/null | head -n 1)"
changes="$(ls "$W"/${PKG}_"$version"_*.changes 2>/dev/null | head -n 1)"
check "the build wrote the .deb and the .changes" test -f "$deb" -a -f "$changes"

# ---- lintian: no error; its warnings as comments
lintian --tag-display-limit 0 "$changes" >"$IT_TMP/logs/lintian.log" 2>&1
is "$(grep '^E:' "$IT_TMP/logs/lintian.log")" "" "lintian reports no error"
got="$(grep -v '^running with root' "$IT_TMP/logs/lintian.log")"
[ -z "$got" ] || diag "lintian:" "$got"

# ---- the installation
if dpkg_locked dpkg -i "$deb"; then
	INSTALLED=1
	ok "dpkg -i installs it"
else
	not_ok "dpkg -i installs it"
	diag "$(tail -n 30 "$IT_TMP/logs/dpkg.log")"
	INSTALLED=1
	done_testing
fi
for src in "$top_srcdir"/src/fcgi/*.c; do
	prog="$(basename "$src" .c).fcgi"
	check "$prog is installed in $LIBEXEC" test -x "$LIBEXEC/$prog"
done
check "acctl is installed in /usr/bin" test -x /usr/bin/acctl
check "the man pages acctl(1) and connect-fcgi(7)" \
    test -f /usr/share/man/man1/acctl.1.gz -a -f /usr/share/man/man7/connect-fcgi.7.gz
check "the descriptor and Forge manifest templates are in /usr/share/connect-fcgi" \
    eval 'for f in bitbucket.json jira.json forge/bitbucket.yml forge/jira.yml; do [ -f "/usr/share/connect-fcgi/$f" ] || exit 1; done'
for f in nginx/connect-fcgi-pool.conf nginx/connect-fcgi-fcgiwrap.conf nginx/README.md \
    apache/connect-fcgi-fcgid.conf apache/connect-fcgi-proxy-fcgi.conf apache/htaccess apache/README.md; do
	check "the example $f is in $DOC" test -f "$DOC/$f"
done
for u in connect-fcgi@.service connect-fcgi@.socket connect-fcgi-worker.service connect-fcgi-migrate.service; do
	check "the systemd unit $u is in /lib/systemd/system" test -f "/lib/systemd/system/$u"
done
got="$(grep -rln '/usr/local' "$DOC" /lib/systemd/system/connect-fcgi* 2>/dev/null | grep -v 'protocol.md')"
is "$got" "" "the installed configs and units name the package's paths, not /usr/local"
got="$(grep -h '^ExecStart=' /lib/systemd/system/connect-fcgi@.service /lib/systemd/system/connect-fcgi-worker.service)"
check "the units start $LIBEXEC/PROGRAM.fcgi and /usr/bin/acctl" \
    eval 'printf "%s\n" "$got" | grep -q "\"$LIBEXEC/" && printf "%s\n" "$got" | grep -q "=/usr/bin/acctl worker$"'

# the user and its data directory, made by postinst
got="$(getent passwd "$PKG" | awk -F: '{ print ($3 < 1000 ? "system" : "uid " $3), $6, $7 }')"
is "$got" "system $DATA /usr/sbin/nologin" "postinst made the system user $PKG (home $DATA, no login shell)"
is "$(stat -c '%a %U:%G' "$DATA" 2>&1)" "700 $PKG:$PKG" "postinst made $DATA, 0700, owned by $PKG"
check "$CONF is a conffile" eval 'dpkg-query -W -f="\${Conffiles}\n" "$PKG" | grep -q "^ *$CONF "'
is "$(stat -c '%a %U:%G' "$CONF" 2>&1)" "640 root:$PKG" "$CONF is 0640 root:$PKG (the programs read it, others not)"

# the default settings work as they are: the installed acctl and programs, as the user
as_pkg() { setpriv --reuid="$PKG" --regid="$PKG" --clear-groups -- "$@"; }
if (cd / && as_pkg env -i PATH="$PATH" AC_CONFIG="$CONF" /usr/bin/acctl config) >"$IT_TMP/config.out" 2>&1; then
	ok "the shipped $CONF passes acctl config"
else
	not_ok "the shipped $CONF passes acctl config"
	diag "$(cat "$IT_TMP/config.out")"
fi
is "$(sed -n 's/^AC_TEMPLATE_DIR=//p; s/^AC_DATA_DIR=//p; s/^AC_SQL_DIR=//p' "$IT_TMP/config.out" | tr '\n' ' ')" \
    "$DATA /usr/share/connect-fcgi /usr/share/connect-fcgi/sql " \
    "AC_DATA_DIR is $DATA; the compiled-in AC_TEMPLATE_DIR and AC_SQL_DIR are the installed ones"
sql="$(cd /usr/share/connect-fcgi/sql 2>/dev/null && ls -- *.sql 2>/dev/null | tr '\n' ' ')"
want="$(cd "$top_srcdir/sql" 2>/dev/null && ls -- *.sql 2>/dev/null | tr '\n' ' ')"
is "$sql" "$want" "the PostgreSQL schema migrations are in /usr/share/connect-fcgi/sql"
missing=
for name in $(/usr/bin/acctl config --table | cut -f1); do
	grep -Eq "^#? ?$name=" "$CONF" || missing="$missing $name"
done
is "$missing" "" "$CONF shows every setting of acctl config --table (commented out at its default)"
body="$(cd / && as_pkg env -i PATH="$PATH" AC_CONFIG="$CONF" REQUEST_METHOD=GET \
    REQUEST_URI=/atlassian-connect.json SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 \
    "$LIBEXEC/descriptor.fcgi" 2>"$IT_TMP/logs/cgi.log")"
check "with the shipped settings, the installed descriptor.fcgi renders the installed template" \
    eval 'printf "%s" "$body" | grep -q "\"baseUrl\" *: *\"https://connect.example.com\""'
[ "$T_FAILED" -eq 0 ] || diag "$body" "$(cat "$IT_TMP/logs/cgi.log")"

# ---- the simulator scenario: the installed programs as $PKG behind nginx with the installed
# pool config ($DOC/nginx), the installed acctl as the worker, the data in $DATA
export RUN_AS="$PKG:$PKG"
IT_UG="$RUN_AS"
IT_DATA="$DATA"
chown "$IT_UG" "$IT_TMP/run"
# it_nginx starts $IT_TMP/libexec/PROGRAM.fcgi for each socket of the config: the installed ones
rmdir "$IT_TMP/libexec" && ln -s "$LIBEXEC" "$IT_TMP/libexec"
it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }
it_port
it_app_env bitbucket daemon
# the compiled-in template directory, the package's data directory
unset AC_TEMPLATE_DIR
export AC_DATA_DIR="$DATA"
write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
if ! NGINX_CONF_DIR="$DOC/nginx" it_nginx pool || [ "$BASE" != "$AC_BASE_URL" ]; then
	not_ok "nginx with $DOC/nginx/connect-fcgi-pool.conf and the installed programs start on $AC_BASE_URL"
	it_logs
	done_testing
fi
run_user_prefix
"${RUN_PREFIX[@]}" /usr/bin/acctl worker >>"$IT_TMP/logs/worker.log" 2>&1 &
IT_PIDS+=("$!")
it_scenario "installed"
# the installed status.fcgi, through the installed config (loopback): healthy with the worker running
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/healthcheck")" 200 \
    "GET /healthcheck: 200 from the installed status.fcgi, the installed worker running"
check "GET /metrics counts the scenario's webhooks" eval \
    'curl -s --max-time 10 "$BASE/metrics" | grep -Eq "^ac_requests_total\{[^}]*program=\"webhook\",route=\"/webhook\",status=\"204\"\} [1-9]"'
exes="$(for p in $(descendants "${IT_PIDS[@]}") "${IT_PIDS[@]}"; do readlink "/proc/$p/exe"; done 2>/dev/null |
    grep -E '\.fcgi$|/acctl$' | sort -u | tr '\n' ' ')"
want=
for src in "$top_srcdir"/src/fcgi/*.c; do want="$want$LIBEXEC/$(basename "$src" .c).fcgi "; done
want="$want/usr/bin/acctl "
is "$(printf '%s\n' $exes | sort | tr '\n' ' ')" "$(printf '%s\n' $want | sort | tr '\n' ' ')" \
    "the processes serving the scenario run the installed programs and acctl"
[ "$T_FAILED" -eq 0 ] || it_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi

# ---- installing again (an upgrade does the same) keeps the tenants and an edited conffile
echo "# edited by deb-package.sh" >>"$CONF"
ls "$DATA" >"$IT_TMP/data.before"
if dpkg_locked dpkg -i "$deb"; then ok "dpkg -i again (postinst runs again)"; else not_ok "dpkg -i again (postinst runs again)"; diag "$(cat "$IT_TMP/logs/dpkg.log")"; fi
check "the edited $CONF is kept" eval 'tail -n 1 "$CONF" | grep -q "^# edited by deb-package.sh$"'
is "$(ls "$DATA" | tr '\n' ' ')|$(stat -c '%a %U' "$DATA")" "$(tr '\n' ' ' <"$IT_TMP/data.before")|700 $PKG" \
    "$DATA keeps its files, 0700, owned by $PKG"

# ---- remove keeps the data and the settings; purge removes them
if dpkg_locked dpkg -r "$PKG"; then ok "dpkg -r removes it"; else not_ok "dpkg -r removes it"; diag "$(cat "$IT_TMP/logs/dpkg.log")"; fi
check "after dpkg -r, the programs are gone" test ! -e "$LIBEXEC/webhook.fcgi" -a ! -e /usr/bin/acctl
check "after dpkg -r, $DATA (the tenants) and $CONF are kept" test -d "$DATA" -a -f "$CONF"
if dpkg_locked dpkg --purge "$PKG"; then
	INSTALLED=
	ok "dpkg --purge purges it"
else
	not_ok "dpkg --purge purges it"
	diag "$(cat "$IT_TMP/logs/dpkg.log")"
fi
check "after dpkg --purge, $DATA and /etc/connect-fcgi are gone" test ! -e "$DATA" -a ! -e /etc/connect-fcgi
got="$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null)"
is "${got:-not-installed}" "not-installed" "dpkg knows $PKG no more"
if [ -n "$USER_MADE" ]; then
	check "the user and group $PKG, made for this test, are deleted" remove_user
	USER_MADE=
fi
done_testing
