#!/bin/sh
# check-hooks.sh: the programs a normal build installs carry no test hook (the AC_FAKE_NOW clock). TAP.
# clock.c defines ac_clock_test_hooks only when compiled with -DAC_TEST_HOOKS (the test build of acctl).
b="${top_builddir:-.}"
progs="$b/src/cli/acctl $b/src/fcgi/descriptor.fcgi $b/src/fcgi/installed.fcgi $b/src/fcgi/uninstalled.fcgi
	$b/src/fcgi/webhook.fcgi $b/src/fcgi/oauth-callback.fcgi $b/src/fcgi/forge-events.fcgi"
echo "1..2"
bad=
for p in $progs; do
	if [ ! -f "$p" ]; then
		bad="$bad $p(missing)"
	elif nm "$p" 2>/dev/null | grep -q ' ac_clock_test_hooks$'; then
		bad="$bad $p"
	fi
done
if [ -z "$bad" ]; then
	echo "ok 1 - no installed program has the test clock"
else
	echo "not ok 1 - the test clock (AC_FAKE_NOW) is in:$bad"
fi
# and the test build has it, so that the check above can fail
if nm "$b/tests/unit/acctl-fixed-clock" 2>/dev/null | grep -q ' ac_clock_test_hooks$'; then
	echo "ok 2 - the test build of acctl has the test clock"
else
	echo "not ok 2 - the test build of acctl has the test clock"
fi
