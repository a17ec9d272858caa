#!/bin/bash
# apache-proxy-fcgi.sh: Debian's Apache, mod_proxy_fcgi to the spawn-fcgi pool (apache/connect-fcgi-proxy-fcgi.conf); the whole simulator scenario (TAP).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/apache-suite.sh"
apache_suite proxy-fcgi
