#!/bin/bash
# nginx-fcgiwrap.sh: the real nginx with nginx/connect-fcgi-fcgiwrap.conf and fcgiwrap (TAP).
. "$top_srcdir/tests/integration/lib.sh"
nginx_suite fcgiwrap
