# shellcheck shell=bash
# scripts/lib.sh: shell functions shared by scripts/run, scripts/test, scripts/bench and
# tests/integration/lib.sh. Source it from bash; it sets nothing but functions and AC_LIB_*.
#
# The nginx configs that users install (nginx/*.conf) are the ones the scripts run: nginx_conf
# rewrites their installed paths into a private prefix and wraps them in a complete nginx.conf.

AC_LIB_APT_UPDATED=

# The Debian packages every command needs (build, run, tests); README.md, "Dependencies",
# says what each is for.
AC_PACKAGES="build-essential libfcgi-dev libcurl4-openssl-dev libjson-c-dev
liblmdb-dev libpq-dev libssl-dev check pkg-config autoconf automake libtool make nginx-light fcgiwrap
spawn-fcgi curl ca-certificates valgrind util-linux apache2 libapache2-mod-fcgid lmdb-utils"

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "$*"; exit 1; }

# as_root CMD...: runs CMD as root, through sudo when not root already.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo DEBIAN_FRONTEND=noninteractive "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

# need_packages PKG...: installs the Debian packages among PKG that are not installed yet;
# `apt-get update` runs at most once per process, and only when something is missing.
need_packages() {
	local p missing=
	if ! command -v dpkg-query >/dev/null 2>&1; then
		say "not a Debian system: install these yourself if missing: $*"
		return 0
	fi
	for p in "$@"; do
		case "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" in
		installed) ;;
		*) missing="$missing $p" ;;
		esac
	done
	[ -n "$missing" ] || return 0
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "$AC_LIB_APT_UPDATED" ]; then
		as_root apt-get update -q || die "apt-get update failed"
		AC_LIB_APT_UPDATED=1
	fi
	# shellcheck disable=SC2086
	as_root apt-get install -y -q --no-install-recommends $missing </dev/null ||
		die "apt-get install failed:$missing"
}

# need_base: the packages of AC_PACKAGES that are missing (any nginx will do: nginx-light is
# only asked for when there is no nginx at all, as the nginx flavours conflict).
need_base() {
	local pkgs
	pkgs="$AC_PACKAGES"
	if find_prog nginx >/dev/null; then
		pkgs="$(printf '%s\n' $pkgs | grep -vx nginx-light)"
	fi
	# shellcheck disable=SC2086
	need_packages $pkgs
}

# need_node: Node.js and npm for the product simulator, from Debian when missing.
need_node() {
	local pkgs=
	command -v node >/dev/null 2>&1 || pkgs="nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
	# shellcheck disable=SC2086
	[ -z "$pkgs" ] || need_packages $pkgs
}

# need_pg: Debian's PostgreSQL server (and libpq-dev, for the build) for AC_STORE=postgres:
# scripts/run and the tests start a private server (tests/pg-server.sh), never the system's.
# The package's postinst creates the system cluster "main" and would start its service: while
# it installs, /usr/sbin/policy-rc.d (exit 101) tells invoke-rc.d to start nothing, so the
# cluster is created but left stopped. An existing policy-rc.d (the admin's, or a container's)
# is left as it is.
need_pg() {
	local p missing='' rc policy=/usr/sbin/policy-rc.d
	command -v dpkg-query >/dev/null 2>&1 || { need_packages postgresql libpq-dev; return; }
	for p in postgresql libpq-dev; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	if [ -e "$policy" ]; then
		# shellcheck disable=SC2086
		need_packages $missing
		return
	fi
	as_root sh -c "printf '#!/bin/sh\n# scripts/lib.sh need_pg: no service starts while it installs postgresql\nexit 101\n' >$policy && chmod 0755 $policy" ||
		die "cannot write $policy"
	# shellcheck disable=SC2086
	(need_packages $missing)
	rc=$?
	as_root rm -f "$policy"
	[ "$rc" -eq 0 ] || exit "$rc"
	AC_LIB_APT_UPDATED=1
}

# need_deb SRCDIR: what `dpkg-buildpackage -us -uc -b` and lintian need for the Debian package
# (tests/integration/deb-package.sh): the tools, and the Build-Depends of SRCDIR/debian/control
# (debhelper-compat is debhelper's).
need_deb() {
	local bd
	bd="$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*:/{/^#/d;s/^Build-Depends://;/^[A-Z][A-Za-z-]*:/d;p}' \
	    "$1/debian/control" | tr ',' '\n' | sed 's/[[(<].*//; s/[[:space:]]//g' | grep -v '^debhelper-compat$' | grep .)"
	# shellcheck disable=SC2086
	need_packages debhelper dpkg-dev fakeroot lintian $bd
}

# need_clang: clang and its runtime libraries (libFuzzer, the sanitizers), for `make fuzz`
# (scripts/test); the runtime is only a recommendation of clang, which need_packages skips.
need_clang() {
	need_packages clang libclang-rt-dev
}

# npm_sim SRCDIR: installs tests/sim's node_modules when missing or older than its manifests.
npm_sim() {
	local sim="$1/tests/sim" stamp
	[ -f "$sim/package.json" ] || return 0
	stamp="$sim/node_modules/.package-lock.json"
	if [ -f "$stamp" ] && [ ! "$sim/package.json" -nt "$stamp" ] &&
	    { [ ! -f "$sim/package-lock.json" ] || [ ! "$sim/package-lock.json" -nt "$stamp" ]; }; then
		return 0
	fi
	say "installing the simulator's npm packages in $sim"
	if [ -f "$sim/package-lock.json" ]; then
		(cd "$sim" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $sim"
	else
		(cd "$sim" && npm install --no-audit --no-fund --loglevel=error) || die "npm install failed in $sim"
	fi
	touch "$stamp"
}

# bootstrap SRCDIR: generates configure when it is missing or older than its inputs.
bootstrap() {
	local src="$1"
	if [ ! -x "$src/configure" ] || [ ! -f "$src/build-aux/tap-driver.sh" ] ||
	    [ "$src/configure.ac" -nt "$src/configure" ]; then
		say "autoreconf -fi"
		(cd "$src" && autoreconf -fi) || die "autoreconf failed"
	fi
}

# build SRCDIR BUILDDIR [CONFIGURE-ARG...]: configures BUILDDIR once (out of tree), then
# `make`; make's own rules re-run automake/configure when their inputs change.
build() {
	local src="$1" dir="$2"
	shift 2
	bootstrap "$src"
	mkdir -p "$dir" || die "cannot create $dir"
	if [ ! -f "$dir/Makefile" ]; then
		say "configure in $dir $*"
		(cd "$dir" && "$src/configure" "$@") || die "configure failed (see $dir/config.log)"
	fi
	make -C "$dir" -j"$(nproc 2>/dev/null || echo 2)" || die "build failed in $dir"
}

# find_prog NAME: the path of NAME, looking in the sbin directories too.
find_prog() {
	PATH="$PATH:/usr/sbin:/sbin" command -v "$1" 2>/dev/null
}

# run_user: the unprivileged user:group that programs and nginx workers run as when the
# scripts run as root (RUN_AS overrides); empty when not root.
run_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	printf '%s\n' "${RUN_AS:-nobody:nogroup}"
}

# run_user_prefix: the command words that run a program as run_user (none when not root), for
# `"${RUN_PREFIX[@]}" prog &`: started that way, $! is the program itself, so stopping it by PID
# stops the program (a function in the background would leave $! a subshell).
run_user_prefix() {
	local ug
	RUN_PREFIX=()
	ug="$(run_user)"
	[ -z "$ug" ] || RUN_PREFIX=(setpriv --reuid="${ug%%:*}" --regid="${ug#*:}" --clear-groups --)
}

# as_run_user CMD...: exec-style drop to run_user (no fork: the PID stays the program's).
as_run_user() {
	local ug
	ug="$(run_user)"
	if [ -n "$ug" ]; then
		setpriv --reuid="${ug%%:*}" --regid="${ug#*:}" --clear-groups -- "$@"
	else
		"$@"
	fi
}

# reachable_by_run_user PATH...: whether run_user can reach (search) every PATH; true when
# not root.
reachable_by_run_user() {
	local p
	[ -n "$(run_user)" ] || return 0
	for p in "$@"; do
		as_run_user test -x "$p" || { say "${RUN_AS:-nobody} cannot reach $p"; return 1; }
	done
}

# nginx_conf MODE PREFIX PORT LIBEXEC RUNDIR ACCONF [EXTRA]
#   MODE: pool or fcgiwrap, the shipped config nginx/connect-fcgi-MODE.conf.
#   Writes PREFIX/nginx.conf, PREFIX/connect-fcgi.conf (the shipped server block with
#   /usr/local/libexec/connect-fcgi/ -> LIBEXEC/, /run/connect-fcgi/ -> RUNDIR/,
#   /run/fcgiwrap.socket -> RUNDIR/fcgiwrap.sock, /etc/connect-fcgi/connect-fcgi.conf -> ACCONF,
#   listen -> 127.0.0.1:PORT) and PREFIX/fastcgi_params. EXTRA, a file of locations, is
#   included in the server block. Environment: NGINX_ERROR_LOG (default PREFIX/error.log),
#   NGINX_ACCESS_LOG (default PREFIX/access.log; also replaces the shipped server's
#   /var/log/nginx/connect-fcgi.access.log), NGINX_WORKERS (default 2), NGINX_POOL_SERVERS
#   (keep only the first N `server unix:` lines of each upstream; default all: scripts/bench),
#   NGINX_CONF_DIR (where connect-fcgi-MODE.conf is read; default the source tree's nginx/).
nginx_conf() {
	local mode="$1" prefix="$2" port="$3" libexec="$4" rundir="$5" acconf="$6" extra="${7:-}"
	local src shipped user_line="" ug params
	src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
	# NGINX_CONF_DIR: another copy of nginx/ (the Debian package's, tests/integration/deb-package.sh)
	shipped="${NGINX_CONF_DIR:-$src/nginx}/connect-fcgi-$mode.conf"
	[ -f "$shipped" ] || die "no such config: $shipped"
	mkdir -p "$prefix/tmp" || die "cannot create $prefix"
	sed -e "s#/usr/local/libexec/connect-fcgi/#$libexec/#g" \
	    -e "s#/run/connect-fcgi/#$rundir/#g" \
	    -e "s#/run/fcgiwrap\\.socket#$rundir/fcgiwrap.sock#g" \
	    -e "s#/etc/connect-fcgi/connect-fcgi\\.conf#$acconf#g" \
	    -e "s#^\\( *\\)listen 80;#\\1listen 127.0.0.1:$port;#" \
	    -e '/^ *listen \[::\]:80;/d' \
	    -e "s#^\\( *access_log \\)/var/log/nginx/connect-fcgi\\.access\\.log#\\1${NGINX_ACCESS_LOG:-$prefix/access.log}#" \
	    -e 's#^\( *access_log \)off connect_fcgi;#\1off;#' \
	    "$shipped" >"$prefix/connect-fcgi.conf" || die "cannot write $prefix/connect-fcgi.conf"
	if [ -n "$extra" ]; then
		sed -i -e "/^    server_name /a\\    include $extra;" "$prefix/connect-fcgi.conf"
	fi
	if [ -n "${NGINX_POOL_SERVERS:-}" ]; then
		awk -v n="$NGINX_POOL_SERVERS" '/^ *upstream /{ k = 0 } /^ *server unix:/ && ++k > n { next } { print }' \
		    "$prefix/connect-fcgi.conf" >"$prefix/connect-fcgi.conf.new" &&
		    mv "$prefix/connect-fcgi.conf.new" "$prefix/connect-fcgi.conf" ||
		    die "cannot trim the upstreams of $prefix/connect-fcgi.conf"
	fi
	# Every installed path must have been rewritten, or nginx would use the system's.
	if grep -nE '^[^#]*([ :]/usr/local/libexec/connect-fcgi|[ :]/run/connect-fcgi/|unix:/run/fcgiwrap|[ :]/etc/connect-fcgi|[ :]/var/log/nginx|listen +(80|\[))' \
	    "$prefix/connect-fcgi.conf" >&2; then
		die "$shipped: the lines above escaped the path rewrite (scripts/lib.sh)"
	fi
	# fastcgi_params ships with nginx (Debian: nginx-common); the config includes it by the
	# relative name, as the shipped files do, so it must sit beside nginx.conf.
	for params in /etc/nginx/fastcgi_params /usr/local/nginx/conf/fastcgi_params; do
		[ -f "$params" ] && break
	done
	[ -f "$params" ] || die "cannot find nginx's fastcgi_params"
	cp "$params" "$prefix/fastcgi_params" || die "cannot copy $params"
	ug="$(run_user)"
	[ -z "$ug" ] || user_line="user ${ug%%:*} ${ug#*:};"
	cat >"$prefix/nginx.conf" <<EOF || die "cannot write $prefix/nginx.conf"
# Generated by scripts/lib.sh (nginx_conf) around nginx/connect-fcgi-$mode.conf; do not edit.
daemon off;
worker_processes ${NGINX_WORKERS:-2};
pid $prefix/nginx.pid;
error_log ${NGINX_ERROR_LOG:-$prefix/error.log} notice;
$user_line

events {
    worker_connections 1024;
}

http {
    access_log ${NGINX_ACCESS_LOG:-$prefix/access.log};
    client_body_temp_path $prefix/tmp/body;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    proxy_temp_path $prefix/tmp/proxy;
    scgi_temp_path $prefix/tmp/scgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    default_type application/octet-stream;
    server_tokens off;

    include $prefix/connect-fcgi.conf;
}
EOF
}

# pool_sockets CONF: "program socket" lines, one per `server unix:...sock` in the upstreams of
# the (rewritten) pool config: one worker process per line.
pool_sockets() {
	sed -n 's#^ *server unix:\(.*/\([a-z-]*\)\.[0-9]*\.sock\).*#\2 \1#p' "$1"
}

# write_acconf FILE CONF_C: the programs' settings from this environment as AC_NAME=value lines,
# then those of the file AC_CONFIG names that the environment does not set (the environment
# wins, as in the programs). Only the names of the settings table in CONF_C (src/lib/base/conf.c)
# are written: the programs refuse a file with unknown names. For fcgiwrap, whose CGI children
# see only the FastCGI params.
write_acconf() {
	local out="$1" names name line
	names="$(grep -o '"AC_[A-Z0-9_]*"' "$2" | tr -d '"' | grep -vx AC_CONFIG | sort -u)"
	[ -n "$names" ] || die "no settings found in $2"
	{
		echo "# Generated by ${0##*/} from the environment${AC_CONFIG:+ and $AC_CONFIG}."
		for name in $names; do
			[ -z "${!name+set}" ] || printf '%s=%s\n' "$name" "${!name}"
		done
		if [ -n "${AC_CONFIG:-}" ] && [ -f "$AC_CONFIG" ]; then
			grep -E '^[[:space:]]*AC_[A-Z0-9_]+[[:space:]]*=' "$AC_CONFIG" |
			while IFS= read -r line; do
				name="$(printf '%s' "$line" | sed 's/^[[:space:]]*\(AC_[A-Z0-9_]*\).*/\1/')"
				[ -n "${!name+set}" ] || printf '%s\n' "$line"
			done
		fi
	} >"$out" || die "cannot write $out"
	chmod 0600 "$out"
	# Readable by the programs only (it may hold secrets); they run as run_user when root.
	[ -z "$(run_user)" ] || chown "$(run_user)" "$out"
}

# descendants PID...: the children, grandchildren ... of each PID (Linux /proc), one a line.
descendants() {
	local p c
	for p in "$@"; do
		for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
			echo "$c"
			descendants "$c"
		done
	done
}

# alive PID: running (a zombie is not).
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	case "$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" in
	Z | X | '') return 1 ;;
	esac
}

# stop_pids PID...: SIGTERM to each PID and then to what it forked and left (fcgiwrap's
# preforked children), SIGKILL to what still runs after 5 s; reaps our children. Fails when
# something needed SIGKILL.
stop_pids() {
	local p all rc=0
	all="$(descendants "$@")"
	for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
	# shellcheck disable=SC2086
	for p in $all; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		for p in "$@" $all; do alive "$p" && break; p=; done
		[ -n "$p" ] || break
		sleep 0.1
	done
	for p in "$@" $all; do
		alive "$p" || continue
		say "pid $p ignored SIGTERM: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
		kill -KILL "$p" 2>/dev/null
		rc=1
	done
	for p in "$@"; do wait "$p" 2>/dev/null; done
	return "$rc"
}

# wait_http URL [TRIES]: until URL answers anything over HTTP (10 s by default).
wait_http() {
	for _ in $(seq "${2:-100}"); do
		curl -s -o /dev/null --max-time 2 "$1" && return 0
		sleep 0.1
	done
	return 1
}

# wait_socket PATH [TRIES]: until the unix socket PATH exists (5 s by default).
wait_socket() {
	for _ in $(seq "${2:-50}"); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# apache_conf MODE PREFIX PORT LIBEXEC RUNDIR ACCONF
#   A complete httpd.conf for Debian's apache2 (modules from /usr/lib/apache2/modules) under
#   its own ServerRoot PREFIX, on 127.0.0.1:PORT, around a shipped Apache config:
#   MODE fcgid or proxy-fcgi: apache/connect-fcgi-MODE.conf with /usr/local/libexec/connect-fcgi/
#     -> LIBEXEC/, /run/connect-fcgi/ -> RUNDIR/, /etc/connect-fcgi/connect-fcgi.conf -> ACCONF,
#     /var/log/apache2/ -> PREFIX/logs/, <VirtualHost *:80> -> 127.0.0.1:PORT.
#   MODE cgi: a virtual host whose DocumentRoot is LIBEXEC with AllowOverride All, for
#     apache/htaccess copied into a directory of it (RUNDIR and ACCONF unused); the shipped
#     htaccess is also included in a <Directory> so that `apache2 -t` checks its syntax.
#   Writes PREFIX/httpd.conf and PREFIX/connect-fcgi.conf; logs in PREFIX/logs. Apache's
#   children run as run_user when root. Environment: APACHE_ERROR_LOG (default
#   PREFIX/logs/error.log).
apache_conf() {
	local mode="$1" prefix="$2" port="$3" libexec="$4" rundir="$5" acconf="$6"
	local src shipped ug user_lines="" mods m mpm_extra=""
	src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
	mkdir -p "$prefix/logs" "$prefix/run" || die "cannot create $prefix"
	mods="mpm_event authz_core authz_host mime alias rewrite headers env setenvif"
	case "$mode" in
	fcgid | proxy-fcgi)
		shipped="$src/apache/connect-fcgi-$mode.conf"
		[ -f "$shipped" ] || die "no such config: $shipped"
		sed -e "s#/usr/local/libexec/connect-fcgi/#$libexec/#g" \
		    -e "s#\"/usr/local/libexec/connect-fcgi\"#\"$libexec\"#g" \
		    -e "s#/run/connect-fcgi/#$rundir/#g" \
		    -e "s#/etc/connect-fcgi/connect-fcgi\\.conf#$acconf#g" \
		    -e "s#/var/log/apache2/#$prefix/logs/#g" \
		    -e "s#<VirtualHost \\*:80>#<VirtualHost 127.0.0.1:$port>#" \
		    "$shipped" >"$prefix/connect-fcgi.conf" || die "cannot write $prefix/connect-fcgi.conf"
		;;
	cgi)
		shipped="$src/apache/htaccess"
		[ -f "$shipped" ] || die "no such file: $shipped"
		cat >"$prefix/connect-fcgi.conf" <<EOC || die "cannot write $prefix/connect-fcgi.conf"
# A shared host's virtual host: users' directories allow .htaccess overrides.
<VirtualHost 127.0.0.1:$port>
    DocumentRoot "$libexec"
    CustomLog "$prefix/logs/access.log" "%a %t \"%m %U %H\" %>s %b %D"
    <Directory "$libexec">
        AllowOverride All
        Options None
        Require all granted
    </Directory>
</VirtualHost>
# apache2 -t checks apache/htaccess (apache_conf); this directory does not exist.
<Directory "$prefix/htaccess-syntax-check">
    Include "$shipped"
</Directory>
EOC
		;;
	*) die "apache_conf: MODE must be fcgid, proxy-fcgi or cgi, not '$mode'" ;;
	esac
	case "$mode" in
	fcgid) mods="$mods fcgid" ;;
	proxy-fcgi) mods="$mods proxy proxy_fcgi proxy_balancer slotmem_shm lbmethod_bybusyness" ;;
	cgi) mods="$mods cgid" ;;
	esac
	# Every installed path must have been rewritten, or Apache would use the system's.
	if grep -nE '^[^#]*(/usr/local/libexec/connect-fcgi|/run/connect-fcgi/|/etc/connect-fcgi|/var/log/apache2|VirtualHost \*)' \
	    "$prefix/connect-fcgi.conf" >&2; then
		die "$shipped: the lines above escaped the path rewrite (scripts/lib.sh apache_conf)"
	fi
	ug="$(run_user)"
	if [ -n "$ug" ]; then
		user_lines="User ${ug%%:*}
Group ${ug#*:}"
	fi
	if [ "$mode" = fcgid ]; then
		mkdir -p "$prefix/fcgid" && chmod 0700 "$prefix/fcgid"
		[ -z "$ug" ] || chown "$ug" "$prefix/fcgid"
		mpm_extra="FcgidIPCDir $prefix/fcgid
FcgidProcessTableFile $prefix/fcgid/shm"
	elif [ "$mode" = cgi ]; then
		mpm_extra="ScriptSock $prefix/run/cgid.sock"
	fi
	{
		echo "# Generated by scripts/lib.sh (apache_conf, $mode); do not edit."
		for m in $mods; do
			echo "LoadModule ${m}_module /usr/lib/apache2/modules/mod_$m.so"
		done
		cat <<EOF2
ServerRoot "$prefix"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$prefix/run/httpd.pid"
DefaultRuntimeDir "$prefix/run"
Mutex file:$prefix/run default
ErrorLog "${APACHE_ERROR_LOG:-$prefix/logs/error.log}"
LogLevel warn
$user_lines
ServerTokens Prod
ServerSignature Off
Timeout 60
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 8
MaxSpareThreads 32
TypesConfig /etc/mime.types
$mpm_extra
<Directory />
    AllowOverride None
    Options None
    Require all denied
</Directory>
Include "$prefix/connect-fcgi.conf"
EOF2
	} >"$prefix/httpd.conf" || die "cannot write $prefix/httpd.conf"
}

# apache_pool_sockets CONF: "program socket" lines, one per BalancerMember of the (rewritten)
# apache/connect-fcgi-proxy-fcgi.conf: one worker process per line.
apache_pool_sockets() {
	sed -n 's#^ *BalancerMember "unix:\(/[^|"]*/\([a-z-]*\)\.[0-9]*\.sock\)|.*#\2 \1#p' "$1"
}
