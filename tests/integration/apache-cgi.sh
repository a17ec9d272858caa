#!/bin/bash
# apache-cgi.sh: Debian's Apache, plain CGI with apache/htaccess under /app, as on shared hosting; the whole simulator scenario (TAP).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/apache-suite.sh"
apache_suite cgi
