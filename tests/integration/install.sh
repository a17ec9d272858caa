#!/bin/bash
# install.sh: `make install DESTDIR=...` puts every file where the README and connect-fcgi(7)
# say, and an installed program finds the installed templates by its compiled-in default (TAP).
. "$top_srcdir/tests/integration/lib.sh"
# a make of our own, not a sub-make of `make check` (no jobserver, no "Entering directory")
unset MAKEFLAGS MFLAGS MAKELEVEL

command -v make >/dev/null 2>&1 || skip_all "make not found"
[ -f "$top_builddir/Makefile" ] || skip_all "no Makefile in $top_builddir"
D="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-inst.XXXXXX")" || exit 99
trap 'rm -rf "$D"' EXIT

# mkvar NAME: the value of make variable NAME in the build tree (fully expanded)
mkvar() {
	make -s --no-print-directory -C "$top_builddir" --eval 'print-%: ; @echo $($*)' "print-$1"
}
if make -s --no-print-directory -C "$top_builddir" install DESTDIR="$D/root" >"$D/install.log" 2>&1; then
	ok "make install DESTDIR=... succeeds"
else
	not_ok "make install DESTDIR=... succeeds"
	diag "$(tail -n 30 "$D/install.log")"
	done_testing
fi
libexec="$(mkvar pkglibexecdir)" bindir="$(mkvar bindir)" pkgdata="$(mkvar pkgdatadir)"
docdir="$(mkvar docdir)" mandir="$(mkvar mandir)"
R="$D/root"

for prog in "$top_builddir"/src/fcgi/*.fcgi; do
	check "${prog##*/} is installed in \$(libexecdir)/connect-fcgi ($libexec)" test -x "$R$libexec/${prog##*/}"
done
check "acctl is installed in \$(bindir)" test -x "$R$bindir/acctl"
check "the descriptor templates are in \$(datadir)/connect-fcgi" \
    test -f "$R$pkgdata/bitbucket.json" -a -f "$R$pkgdata/jira.json"
for f in nginx/connect-fcgi-pool.conf nginx/connect-fcgi-fcgiwrap.conf nginx/README.md \
    apache/connect-fcgi-fcgid.conf apache/connect-fcgi-proxy-fcgi.conf apache/htaccess \
    apache/connect-fcgi.conf.example apache/README.md \
    systemd/connect-fcgi@.service systemd/connect-fcgi@.socket systemd/connect-fcgi-worker.service; do
	check "\$(docdir)/$f" test -f "$R$docdir/$f"
done
check "\$(docdir)/protocol.md, the protocol notes the code cites" test -f "$R$docdir/protocol.md"
check "man page acctl(1)" test -f "$R$mandir/man1/acctl.1"
check "man page connect-fcgi(7)" test -f "$R$mandir/man7/connect-fcgi.7"
check "nothing is installed setuid or world-writable" \
    eval '[ -z "$(find "$R" \( -perm -4000 -o -perm -2000 -o -perm -0002 \) ! -type l -print)" ]'

# With DESTDIR the files are not where the programs will look for them, so in two halves:
# the compiled-in default of AC_TEMPLATE_DIR is the configured $(pkgdatadir) (where a real
# install puts the templates), and an installed program renders from the installed templates.
got="$(env -u AC_TEMPLATE_DIR -u AC_CONFIG AC_BASE_URL=http://localhost "$R$bindir/acctl" config 2>/dev/null |
    sed -n 's/^AC_TEMPLATE_DIR=//p')"
is "$got" "$pkgdata" "the installed acctl's default AC_TEMPLATE_DIR is \$(pkgdatadir)"
body="$(cd "$D" && env -i PATH="$PATH" AC_BASE_URL=http://127.0.0.1:1 AC_DATA_DIR="$D/data" \
    AC_TEMPLATE_DIR="$R$pkgdata" REQUEST_METHOD=GET REQUEST_URI=/atlassian-connect.json \
    SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 "$R$libexec/descriptor.fcgi" 2>"$D/cgi.err")"
check "the installed descriptor.fcgi, as CGI, renders the installed template" \
    eval 'printf "%s" "$body" | grep -q "\"baseUrl\" *: *\"http://127.0.0.1:1\""'
[ "$T_FAILED" -eq 0 ] || diag "$body" "$(cat "$D/cgi.err")"
check "the Forge manifest templates are in \$(datadir)/connect-fcgi/forge" \
    test -f "$R$pkgdata/forge/bitbucket.yml" -a -f "$R$pkgdata/forge/jira.yml"
for product in bitbucket jira; do
	mf="$(cd "$D" && env -i PATH="$PATH" AC_BASE_URL=https://app.example.com AC_TEMPLATE_DIR="$R$pkgdata" \
	    AC_FORGE_APP_ID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 "$R$bindir/acctl" forge manifest \
	    --product "$product" 2>&1)"
	check "the installed acctl renders the installed forge/$product.yml" \
	    eval 'printf "%s" "$mf" | grep -q "^    baseUrl: \"https://app.example.com\"$"'
done
if make -s --no-print-directory -C "$top_builddir" uninstall DESTDIR="$R" >"$D/uninstall.log" 2>&1; then
	left="$(find "$R" -type f | sed "s#^$R##")"
	is "$left" "" "make uninstall removes every installed file"
else
	not_ok "make uninstall"
	diag "$(tail -n 20 "$D/uninstall.log")"
fi
done_testing
