#!/bin/bash
# pg-schema.sh: the PostgreSQL schema (issue 16 item 2): a program or a worker started against a
# database without the schema, or with a newer version of it, refuses to start and names the
# command to run; four `acctl store migrate` at once on one database apply each migration once
# and all succeed; a service file and a PGPASSFILE work; a password in AC_DATABASE_URL is masked by
# acctl config and in the logs; a role out of connections is answered 503, then served again (TAP).
. "$top_srcdir/tests/integration/lib.sh"

pg_need
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] && [ -x "$top_builddir/src/cli/acctl" ] ||
	skip_all "the programs are not built"
it_setup
pg_start main || { not_ok "a private PostgreSQL starts"; done_testing; }
PSQL="$("$PG_SERVER" bindir)/psql"
ACCTL="$top_builddir/src/cli/acctl"
export AC_BASE_URL=https://app.example.com AC_DATA_DIR="$IT_TMP/data"
# db NAME: the URI of database NAME on the same server
db() { printf '%s\n' "$PG_URL" | sed "s#///connect_fcgi#///$1#"; }
q() { "$PSQL" -X -q -tA -d "$1" -c "$2" 2>>"$IT_TMP/logs/psql.log"; }

q "$PG_URL" "CREATE DATABASE fresh" >/dev/null
q "$PG_URL" "CREATE DATABASE racing" >/dev/null

# ---------------------------------------------------------------- no schema: refused, saying what to run
AC_DATABASE_URL="$(db fresh)" "$top_builddir/src/fcgi/webhook.fcgi" </dev/null >/dev/null 2>"$IT_TMP/logs/w1.log"
rc=$?
check "webhook.fcgi on a database without the schema exits (status $rc)" test "$rc" -ne 0
check "... saying to run acctl store migrate" grep -q 'no connect-fcgi schema: run `acctl store migrate`' "$IT_TMP/logs/w1.log"
AC_DATABASE_URL="$(db fresh)" "$ACCTL" worker --once >/dev/null 2>"$IT_TMP/logs/w2.log"
rc=$?
check "acctl worker on it exits (status $rc)" test "$rc" -ne 0
check "... saying to run acctl store migrate" grep -q 'acctl store migrate' "$IT_TMP/logs/w2.log"
is "$(q "$(db fresh)" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0 \
	"... and neither created anything there"

# ---------------------------------------------------------------- migrations at once: each applied once
pids=()
for i in 1 2 3 4; do
	AC_DATABASE_URL="$(db racing)" "$ACCTL" store migrate >"$IT_TMP/logs/m$i.out" 2>"$IT_TMP/logs/m$i.err" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "four acctl store migrate at once all succeed"
is "$(cat "$IT_TMP"/logs/m[1-4].out | grep -c '^schema version 0 -> 1$')" 1 "... one applied the schema"
is "$(cat "$IT_TMP"/logs/m[1-4].out | grep -c '^schema version 1: nothing to do$')" 3 "... the others found nothing to do"
is "$(q "$(db racing)" "SELECT string_agg(version::text, ',') FROM ac_schema_migrations")" 1 \
	"... and version 1 is recorded once"
AC_DATABASE_URL="$(db racing)" "$ACCTL" worker --once >/dev/null 2>"$IT_TMP/logs/w3.log"
is "$?" 0 "acctl worker --once runs on the migrated database"

# ---------------------------------------------------------------- a newer schema: refused
q "$(db racing)" "INSERT INTO ac_schema_migrations (version, name) VALUES (999, '999-future.sql')" >/dev/null
AC_DATABASE_URL="$(db racing)" "$top_builddir/src/fcgi/webhook.fcgi" </dev/null >/dev/null 2>"$IT_TMP/logs/w4.log"
check "webhook.fcgi on a database with a newer schema exits" test $? -ne 0
check "... saying a newer build migrated it" grep -q 'newer than this build' "$IT_TMP/logs/w4.log"
AC_DATABASE_URL="$(db racing)" "$ACCTL" store migrate >/dev/null 2>"$IT_TMP/logs/m5.err"
check "acctl store migrate refuses to touch it" test $? -ne 0
is "$(q "$(db racing)" "SELECT count(*) FROM ac_schema_migrations")" 2 "... and changes nothing"

# ---------------------------------------------------------------- service files and PGPASSFILE
sock="$(printf '%s\n' "$PG_URL" | sed -n 's/.*[?&]host=\([^&]*\).*/\1/p')"
port="$(printf '%s\n' "$PG_URL" | sed -n 's/.*[?&]port=\([0-9]*\).*/\1/p')"
user="$(printf '%s\n' "$PG_URL" | sed -n 's/.*[?&]user=\([^&]*\).*/\1/p')"
printf '[connect_fcgi_test]\nhost=%s\nport=%s\ndbname=connect_fcgi\nuser=%s\n' "$sock" "$port" "$user" >"$IT_TMP/svc.conf"
PGSERVICEFILE="$IT_TMP/svc.conf" AC_DATABASE_URL="service=connect_fcgi_test" "$ACCTL" worker --once \
	>/dev/null 2>"$IT_TMP/logs/svc.log"
is "$?" 0 "AC_DATABASE_URL=service=NAME reaches the database through PGSERVICEFILE"
# a role that must give a password (scram), its password only in a PGPASSFILE
hba="$(q "$PG_URL" "SHOW hba_file")"
q "$PG_URL" "CREATE ROLE pwuser LOGIN PASSWORD 'pw-S3cret-x'; GRANT ALL ON ALL TABLES IN SCHEMA public TO pwuser;
	GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO pwuser" >/dev/null
if [ -n "$hba" ] && sed -i '1i local all pwuser scram-sha-256' "$hba" && [ "$(q "$PG_URL" "SELECT pg_reload_conf()")" = t ]; then
	pwurl="postgresql:///connect_fcgi?host=$sock&port=$port&user=pwuser"
	PGPASSFILE=/nonexistent AC_DATABASE_URL="$pwurl" "$ACCTL" worker --once >/dev/null 2>"$IT_TMP/logs/pw1.log"
	check "a role that needs a password is refused without one" test $? -ne 0
	printf '*:*:*:pwuser:pw-S3cret-x\n' >"$IT_TMP/pgpass"
	chmod 0600 "$IT_TMP/pgpass"
	PGPASSFILE="$IT_TMP/pgpass" AC_DATABASE_URL="$pwurl" "$ACCTL" worker --once >/dev/null 2>"$IT_TMP/logs/pw2.log"
	is "$?" 0 "... and admitted with its password in PGPASSFILE, none in AC_DATABASE_URL"
	check "... which no log line shows" eval '! grep -q "pw-S3cret-x" "$IT_TMP"/logs/pw[12].log'
	# out of connections: a webhook (webhook.fcgi as plain CGI) is answered 503, never 2xx
	printf '{"v":1,"clientKey":"ck-conn","sharedSecret":"secret-ck-conn-0123456789abcdef","key":"connect-fcgi","baseUrl":"http://127.0.0.1:9","baseApiUrl":"http://127.0.0.1:9","oauthClientId":"","displayUrl":"","product":"bitbucket","state":"installed","installedAt":1600000000,"updatedAt":1600000001,"uninstalledAt":0}\n' \
		>"$IT_TMP/tenant.jsonl"
	"$ACCTL" tenant import "$IT_TMP/tenant.jsonl" >/dev/null 2>>"$IT_TMP/logs/import.log"
	hook() { # hook UUID: one webhook as pwuser, the password from PGPASSFILE; prints the status
		local tok
		printf '{"repository":{"full_name":"w/r"},"n":"%s"}' "$1" >"$IT_TMP/body.json"
		tok="$("$ACCTL" jwt sign --secret secret-ck-conn-0123456789abcdef --iss ck-conn POST /webhook 2>/dev/null)"
		env -i PATH="$PATH" AC_BASE_URL=https://app.example.com AC_DATA_DIR="$IT_TMP/data" AC_STORE=postgres \
		    AC_DATABASE_URL="$pwurl" PGPASSFILE="$IT_TMP/pgpass" REQUEST_METHOD=POST REQUEST_URI=/webhook \
		    SCRIPT_NAME=/webhook CONTENT_TYPE=application/json CONTENT_LENGTH="$(stat -c %s "$IT_TMP/body.json")" \
		    GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 HTTP_AUTHORIZATION="JWT $tok" \
		    HTTP_X_EVENT_KEY=repo:push HTTP_X_REQUEST_UUID="$1" \
		    "$top_builddir/src/fcgi/webhook.fcgi" <"$IT_TMP/body.json" 2>>"$IT_TMP/logs/cgi.log" |
			sed -n '1s/^Status: \([0-9]*\).*/\1/p' | tr -d '\r'
	}
	is "$(hook u-1)" 204 "a webhook as that role (plain CGI: a connection for the request) is accepted"
	q "$PG_URL" "ALTER ROLE pwuser CONNECTION LIMIT 0" >/dev/null
	is "$(hook u-2)" 503 "with its connections used up (CONNECTION LIMIT 0) the webhook is answered 503"
	check "... saying the database is unavailable" grep -q 'PostgreSQL unavailable.*too many connections' "$IT_TMP/logs/cgi.log"
	q "$PG_URL" "ALTER ROLE pwuser CONNECTION LIMIT -1" >/dev/null
	is "$(hook u-2)" 204 "... and accepted once connections are free again"
	is "$(q "$PG_URL" "SELECT string_agg(delivery_id, ',' ORDER BY seq) FROM ac_inbox WHERE client_key = 'ck-conn'")" \
		"u-1,u-2" "... the inbox holds each accepted event once, nothing of the refused attempt"
else
	not_ok "pg_hba.conf could not be changed to require a password ($hba)"
fi

# ---------------------------------------------------------------- passwords masked
SECRET='s3cr3t-Pa55'
url="postgresql://nobody:$SECRET@/connect_fcgi?host=$IT_TMP/nowhere&port=1&password=$SECRET"
out="$(AC_STORE=postgres AC_DATABASE_URL="$url" "$ACCTL" config 2>&1)"
check "acctl config shows AC_DATABASE_URL" eval 'printf "%s\n" "$out" | grep -q "^AC_DATABASE_URL=postgresql://nobody:\*\*\*\*\*\*\*\*@"'
check "... without its password" eval '! printf "%s\n" "$out" | grep -q "$SECRET"'
out="$(AC_STORE=postgres AC_DATABASE_URL="host=$IT_TMP/nowhere port=1 password='$SECRET x' dbname=x" "$ACCTL" config 2>&1)"
check "a key/value string's quoted password is masked too" \
	eval 'printf "%s\n" "$out" | grep -q "password=\*\*\*\*\*\*\*\*" && ! printf "%s\n" "$out" | grep -q "$SECRET"'
AC_DATABASE_URL="$url" "$ACCTL" worker --once >/dev/null 2>"$IT_TMP/logs/w5.log"
check "a worker whose database is down says so" grep -q 'PostgreSQL unavailable' "$IT_TMP/logs/w5.log"
check "... without the password" eval '! grep -q "$SECRET" "$IT_TMP/logs/w5.log"'

done_testing
