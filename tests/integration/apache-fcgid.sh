#!/bin/bash
# apache-fcgid.sh: Debian's Apache, mod_fcgid runs the programs (apache/connect-fcgi-fcgid.conf); the whole simulator scenario (TAP).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/apache-suite.sh"
apache_suite fcgid
