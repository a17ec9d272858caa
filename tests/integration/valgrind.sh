#!/bin/bash
# valgrind.sh: memcheck over many requests in one process: the unit tests, and descriptor.fcgi and
# webhook.fcgi serving 1,000 FastCGI requests each behind the real nginx, and status.fcgi 500
# /metrics and 500 /healthcheck (TAP).
. "$top_srcdir/tests/integration/lib.sh"

VALGRIND="$(command -v valgrind || true)"
ACCTL="$top_builddir/src/cli/acctl"
[ -n "$VALGRIND" ] || skip_all "valgrind not installed"
it_setup

VG_OPTS="--leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes --error-exitcode=99 -q"

# ---- the unit tests, whole, under memcheck
for t in err buf conf request store descriptor lifecycle inbox token canon journal datadir; do
	prog="$top_builddir/tests/unit/test-$t"
	[ -x "$prog" ] || { skip "test-$t not built"; continue; }
	if (cd "$top_builddir" && "$VALGRIND" $VG_OPTS "$prog" >"$IT_TMP/logs/vg-$t.out" 2>"$IT_TMP/logs/vg-$t.err"); then
		ok "test-$t passes under valgrind with no error and no leak"
	else
		not_ok "test-$t passes under valgrind with no error and no leak"
		diag "$(grep -v '^\(test\|installed\|uninstalled\|connect-fcgi\):' "$IT_TMP/logs/vg-$t.err" | head -n 30)"
	fi
done

# ---- FastCGI programs under memcheck, 1,000 requests each in one process
for prog in descriptor webhook status; do
	[ -x "$top_builddir/src/fcgi/$prog.fcgi" ] || { skip "$prog.fcgi not built"; continue; }
	it_stage "$top_builddir/src/fcgi/$prog.fcgi" "$prog.real"
	cat >"$IT_TMP/libexec/$prog.fcgi" <<WRAP
#!/bin/sh
exec "$VALGRIND" $VG_OPTS --log-file="$IT_TMP/logs/vg-$prog.%p.log" "$IT_TMP/libexec/$prog.real"
WRAP
	chmod 0755 "$IT_TMP/libexec/$prog.fcgi"
done
mkdir -p "$IT_TMP/descriptor"
cp "$top_srcdir"/descriptor/*.json "$IT_TMP/descriptor/"
chmod -R a+rX "$IT_TMP/descriptor" "$IT_TMP/logs"
chmod 0777 "$IT_TMP/logs"
it_port
export AC_BASE_URL="$BASE" AC_APP_KEY=vg-app AC_DATA_DIR="$IT_TMP/data" AC_TEMPLATE_DIR="$IT_TMP/descriptor"
export AC_ALLOWED_HOSTS=127.0.0.1 AC_SYNC=off
unset AC_CONFIG AC_DESCRIPTOR
# a tenant for the webhooks, in the store before the programs open it
printf '{"v":1,"clientKey":"vg-tenant","sharedSecret":"vg-secret","key":"vg-app","baseUrl":"https://bitbucket.org","baseApiUrl":"https://api.bitbucket.org","oauthClientId":"","displayUrl":"","product":"bitbucket","state":"installed","installedAt":1,"updatedAt":1,"uninstalledAt":0}\n' |
	"$ACCTL" tenant import - >/dev/null
[ -z "$IT_UG" ] || chown -R "$IT_UG" "$IT_TMP/data"
write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
it_nginx pool || { not_ok "nginx and the programs under valgrind start"; it_logs; done_testing; }

for _ in $(seq 100); do curl -s -o /dev/null "$BASE/atlassian-connect.json" && break; sleep 0.2; done
codes="$(seq 1000 | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
	"$BASE/atlassian-connect.json" | sort | uniq -c | tr -s ' ')"
is "$codes" " 1000 200" "descriptor.fcgi under valgrind answered 1,000 requests"

tok="$("$ACCTL" jwt sign --secret vg-secret --iss vg-tenant --aud vg-tenant --ttl 3600 POST "$BASE/webhook" | tail -n 1)"
printf '{"event":"repo:push","data":{"push":{"changes":[]}}}' >"$IT_TMP/push.json"
codes="$(seq 1000 | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
	-H 'Content-Type: application/json' -H "Authorization: JWT $tok" -H 'X-Event-Key: repo:push' \
	-H 'X-Request-UUID: vg-{}' --data-binary @"$IT_TMP/push.json" "$BASE/webhook" | sort | uniq -c | tr -s ' ')"
is "$codes" " 1000 204" "webhook.fcgi under valgrind answered 1,000 deliveries"
# bad requests too: every error path releases what it allocated
for _ in $(seq 50); do
	curl -s -o /dev/null -H 'Content-Type: application/json' -H "Authorization: JWT $tok.x" \
		--data-binary @"$IT_TMP/push.json" "$BASE/webhook"
	curl -s -o /dev/null -H 'Content-Type: text/plain' -H "Authorization: JWT $tok" \
		--data-binary @"$IT_TMP/push.json" "$BASE/webhook"
	curl -s -o /dev/null -X DELETE "$BASE/atlassian-connect.json"
done

# status.fcgi: the store read, the metrics rendered, the health JSON (503: no worker runs here)
codes="$( (seq 500 | sed 's#.*#/metrics#'; seq 500 | sed 's#.*#/healthcheck#') | xargs -P 4 -I{} \
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 "$BASE{}" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
is "$codes" " 500 200  500 503 " "status.fcgi under valgrind answered 500 /metrics (200) and 500 /healthcheck (503, no worker)"

# stop the programs (SIGTERM ends the accept loop: valgrind writes its report at exit)
it_stop_all >/dev/null 2>&1
for prog in descriptor webhook status; do
	logs="$(ls "$IT_TMP"/logs/vg-$prog.*.log 2>/dev/null)"
	if [ -z "$logs" ]; then
		not_ok "$prog.fcgi: valgrind wrote a report"
		continue
	fi
	bad="$(grep -l 'ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|indirectly lost: [1-9]' $logs || true)"
	# a clean run under -q writes nothing at all
	if [ -z "$bad" ] && ! grep -qE 'Invalid|uninitialised|definitely lost' $logs; then
		ok "$prog.fcgi: no memory error and no leak over its requests ($(echo "$logs" | wc -w) processes)"
	else
		not_ok "$prog.fcgi: no memory error and no leak over its requests"
		diag "$(head -n 40 $logs)"
	fi
done
done_testing
