#!/bin/sh
# check-hooks.sh: the programs a normal build installs carry no test hook (AC_FAKE_NOW). TAP.
b="${top_builddir:-.}"
progs="$b/src/cli/acctl $b/src/fcgi/descriptor.fcgi $b/src/fcgi/installed.fcgi $b/src/fcgi/uninstalled.fcgi
	$b/src/fcgi/webhook.fcgi $b/src/fcgi/oauth-callback.fcgi"
echo "1..2"
bad=
for p in $progs; do
	[ -f "$p" ] || { bad="$bad $p(missing)"; continue; }
	grep -q AC_FAKE_NOW "$p" && bad="$bad $p"
done
if [ -z "$bad" ]; then
	echo "ok 1 - no installed program reads AC_FAKE_NOW"
else
	echo "not ok 1 - AC_FAKE_NOW in:$bad"
fi
# and the test build does, so that the check above can fail
if grep -q AC_FAKE_NOW "$b/tests/unit/acctl-fixed-clock" 2>/dev/null; then
	echo "ok 2 - the test build of acctl reads AC_FAKE_NOW"
else
	echo "not ok 2 - the test build of acctl reads AC_FAKE_NOW"
fi
