#!/bin/bash
# build.sh: the build uses what it says (README.md, "Dependencies"): no program includes or
# links libjwt; on a host without Check, `./configure && make && make install` works and
# `make check` stops before any test, saying that Check is missing (TAP).
. "$top_srcdir/tests/integration/lib.sh"
# a make of our own, not a sub-make of `make check` (no jobserver, no "Entering directory")
unset MAKEFLAGS MFLAGS MAKELEVEL

command -v make >/dev/null 2>&1 || skip_all "make not found"
[ -x "$top_srcdir/configure" ] || skip_all "no configure in $top_srcdir"
# configure refuses a second, out-of-tree build of a source tree configured in place
[ ! -f "$top_srcdir/config.status" ] || skip_all "$top_srcdir is configured in place"
PKG_CONFIG_REAL="$(command -v pkg-config)" || skip_all "pkg-config not found"
D="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-build.XXXXXX")" || exit 99
trap 'rm -rf "$D"' EXIT

# libjwt: nothing includes it, nothing links it, configure does not look for it.
hits="$(grep -rlE '#[[:space:]]*include[[:space:]]*[<"]jwt\.h' "$top_srcdir/src" "$top_srcdir/tests" 2>/dev/null)"
is "$hits" "" "no source includes jwt.h"
hits="$(grep -nE 'libjwt|JWT_(CFLAGS|LIBS)' "$top_srcdir/configure.ac" "$top_srcdir/Makefile.am" |
    grep -vE '^[^:]*:[0-9]+:[[:space:]]*(#|dnl[[:space:]])')"
is "$hits" "" "configure.ac and Makefile.am do not ask for libjwt"
linked=
for p in "$top_builddir"/src/cli/acctl "$top_builddir"/src/fcgi/*.fcgi; do
	[ -x "$p" ] || { linked="$linked ${p##*/}(missing)"; continue; }
	! readelf -d "$p" 2>/dev/null | grep -q 'NEEDED.*libjwt' || linked="$linked ${p##*/}"
done
is "$linked" "" "no built program needs libjwt.so"

# A host without Check: pkg-config as usual, except that it knows no `check`.
cat >"$D/pkg-config" <<EOF || exit 99
#!/bin/sh
for a in "\$@"; do
	case "\$a" in
	check | check[\ \<\>=]*) echo "Package check was not found in the pkg-config search path" >&2; exit 1 ;;
	esac
done
exec "$PKG_CONFIG_REAL" "\$@"
EOF
chmod +x "$D/pkg-config"
mkdir "$D/build"
if (cd "$D/build" && "$top_srcdir/configure" PKG_CONFIG="$D/pkg-config" --prefix=/usr/local >"$D/configure.log" 2>&1); then
	ok "configure succeeds without Check"
else
	not_ok "configure succeeds without Check"
	diag "$(tail -n 20 "$D/configure.log")"
	done_testing
fi
check "configure warns that the unit tests need Check" grep -q 'WARNING: Check .*not found' "$D/configure.log"
if make -C "$D/build" -j2 >"$D/make.log" 2>&1; then
	ok "make succeeds without Check"
else
	not_ok "make succeeds without Check"
	diag "$(tail -n 20 "$D/make.log")"
	done_testing
fi
if make -C "$D/build" install DESTDIR="$D/root" >"$D/install.log" 2>&1; then
	ok "make install succeeds without Check"
else
	not_ok "make install succeeds without Check"
	diag "$(tail -n 20 "$D/install.log")"
fi
check "acctl and the programs are installed" test -x "$D/root/usr/local/bin/acctl" \
    -a -x "$D/root/usr/local/libexec/connect-fcgi/webhook.fcgi"
make -C "$D/build" check >"$D/check.log" 2>&1
rc=$?
check "make check fails without Check (exit $rc)" [ "$rc" -ne 0 ]
check "make check says that the unit tests need Check" grep -q 'the unit tests need Check' "$D/check.log"
check "make check ran no test" [ ! -e "$D/build/test-suite.log" ]
[ "$T_FAILED" -eq 0 ] || diag "$(tail -n 20 "$D/check.log")"
done_testing
