#!/bin/bash
# nginx-pool.sh: the real nginx with nginx/connect-fcgi-pool.conf and spawn-fcgi workers (TAP).
. "$top_srcdir/tests/integration/lib.sh"
nginx_suite pool
