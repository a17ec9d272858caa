/*
 * test-store-pg.c: what the PostgreSQL store adds to the interface tests of
 * test-store.c (issue 16): processes of several hosts (each its own
 * connection) racing the reserves and the token offer, key order, a
 * rejected write leaving every table as it was, and a server that stops and
 * starts again under an open store.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "store/store-pg.h"
#include "store/store.h"
#include "unit.h"
#include "pg-harness.h"

#define KIDS 6

/* ---- many hosts at once: KIDS processes, each with its own connection, released together */

typedef int (*race_fn)(struct ac_store *st, int i);

/* Runs fn in KIDS processes on the database of conf; counts[] gets how many exited with each code (0..9). */
static void
race(const struct ac_conf *conf, race_fn fn, int counts[10])
{
	pid_t kids[KIDS];
	int go[2], i, status;
	char c;

	memset(counts, 0, 10 * sizeof(int));
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < KIDS; i++) {
		if ((kids[i] = fork()) == 0) {
			struct ac_store *st;

			close(go[1]);
			if (ac_store_open_conf(conf, AC_STORE_NOSYNC, &st) != AC_OK)
				_exit(8);
			/* every process connected: all go at once when the parent closes the pipe */
			if (read(go[0], &c, 1) != 0)
				_exit(9);
			_exit(fn(st, i));
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < KIDS; i++) {
		ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert(WIFEXITED(status));
		counts[WEXITSTATUS(status)]++;
	}
}

static void
conf_release(struct ac_conf *conf)
{
	free(conf->database_url);
	free(conf->sql_dir);
	free(conf->data_dir);
}

/* 1: granted the JWKS fetch, 0: not, 7: an error */
static int
jwks_racer(struct ac_store *st, int i)
{
	struct ac_forge_jwks_state js;
	struct ac_buf doc;
	enum ac_err err;

	(void)i;
	ac_buf_init(&doc, 65536);
	err = ac_forge_jwks_reserve(st, 300, 0, &doc, &js);
	ac_buf_release(&doc);
	return err != AC_OK ? 7 : js.granted ? 1 : 0;
}

START_TEST(race_jwks_reserve)
{
	struct ac_conf conf;
	struct ac_store *st;
	struct ac_forge_jwks_state js;
	struct ac_buf doc;
	time_t start = ac_clock_now();
	int n[10], round;

	pgh_conf(&conf);
	/* a few windows (the forked processes inherit the fake clock): one grant in each */
	for (round = 0; round < 5; round++) {
		ac_clock_set(start + round * 400);
		race(&conf, jwks_racer, n);
		ck_assert_int_eq(n[1], 1);
		ck_assert_int_eq(n[0], KIDS - 1);
	}
	/* and the window holds afterwards too */
	ck_assert_int_eq(ac_store_open_conf(&conf, AC_STORE_NOSYNC, &st), AC_OK);
	ac_buf_init(&doc, 65536);
	ck_assert_int_eq(ac_forge_jwks_reserve(st, 300, 0, &doc, &js), AC_OK);
	ck_assert_int_eq(js.granted, 0);
	ck_assert_int_eq(js.attempt, -1);
	ac_buf_release(&doc);
	ac_store_close(st);
	conf_release(&conf);
	ac_clock_set(0);
}
END_TEST

/* Each process a kid of its own, a budget of one fetch: 1 reserved, 2 throttled, 7 an error. */
static int
keys_budget_racer(struct ac_store *st, int i)
{
	struct ac_install_key k;
	struct ac_buf pem;
	char kid[32];
	enum ac_err err;

	snprintf(kid, sizeof(kid), "kid-%d", i);
	ac_buf_init(&pem, 4096);
	err = ac_install_key_reserve(st, kid, 1, 60, ac_clock_now() + 8, &pem, &k);
	ac_buf_release(&pem);
	return err != AC_OK ? 7 : k.throttled ? 2 : 1;
}

/* Every process the same kid, budget to spare: 1 reserved, 3 found the marker of another, 7 an error. */
static int
keys_marker_racer(struct ac_store *st, int i)
{
	struct ac_install_key k;
	struct ac_buf pem;
	enum ac_err err;

	(void)i;
	ac_buf_init(&pem, 4096);
	err = ac_install_key_reserve(st, "kid-same", 100, 60, ac_clock_now() + 8, &pem, &k);
	ac_buf_release(&pem);
	return err != AC_OK || k.throttled ? 7 : k.missing == -1 ? 3 : 1;
}

START_TEST(race_install_key_reserve)
{
	struct ac_conf conf;
	int n[10];

	pgh_conf(&conf);
	race(&conf, keys_budget_racer, n);
	ck_assert_int_eq(n[1], 1);
	ck_assert_int_eq(n[2], KIDS - 1);
	conf_release(&conf);
	pgh_conf(&conf);
	race(&conf, keys_marker_racer, n);
	ck_assert_int_eq(n[1], 1);
	ck_assert_int_eq(n[3], KIDS - 1);
	conf_release(&conf);
}
END_TEST

static time_t race_now;

/* Offers a token whose exp grows with i: 1 kept, 0 not, 7 an error. */
static int
offer_newer_racer(struct ac_store *st, int i)
{
	char tok[32];
	int kept = 0;

	snprintf(tok, sizeof(tok), "tok-%d", i);
	return ac_forge_token_offer(st, "ari:inst/1", tok, (int64_t)race_now + 1000 + i, &kept) != AC_OK ? 7 : kept;
}

/* Every process the same exp: only the first is kept (an equal exp never replaces). */
static int
offer_same_racer(struct ac_store *st, int i)
{
	char tok[32];
	int kept = 0;

	snprintf(tok, sizeof(tok), "tok-%d", i);
	return ac_forge_token_offer(st, "ari:inst/2", tok, (int64_t)race_now + 1000, &kept) != AC_OK ? 7 : kept;
}

START_TEST(race_token_offer)
{
	struct ac_forge_token t;
	struct ac_conf conf;
	struct ac_store *st;
	int n[10];

	race_now = ac_clock_now();
	pgh_conf(&conf);
	race(&conf, offer_newer_racer, n);
	ck_assert_int_eq(n[7], 0);
	ck_assert_int_ge(n[1], 1);
	race(&conf, offer_same_racer, n);
	ck_assert_int_eq(n[1], 1);
	ck_assert_int_eq(n[0], KIDS - 1);
	/* whatever the order they came in, the newest won */
	ck_assert_int_eq(ac_store_open_conf(&conf, AC_STORE_NOSYNC, &st), AC_OK);
	ck_assert_int_eq(ac_forge_token_get(st, "ari:inst/1", &t), AC_OK);
	ck_assert_str_eq(t.token, "tok-5");
	ck_assert_int_eq(t.exp, (int64_t)race_now + 1000 + KIDS - 1);
	ac_forge_token_release(&t);
	ac_store_close(st);
	conf_release(&conf);
}
END_TEST

/* ---- key order is byte order, whatever the database's collation */

static void
tenant_fill(struct ac_tenant *t, const char *ck)
{
	memset(t, 0, sizeof(*t));
	t->client_key = (char *)ck;
	t->shared_secret = (char *)"s3cret";
	t->key = (char *)"app";
	t->product = AC_PRODUCT_BITBUCKET;
	t->base_url = (char *)"https://b.example";
	t->base_api_url = (char *)"";
	t->oauth_client_id = (char *)"";
	t->display_url = (char *)"";
	t->state = AC_TENANT_INSTALLED;
	t->installed_at = t->updated_at = 1700000000;
}

static enum ac_err
put_fn(struct ac_txn *txn, void *ctx)
{
	struct ac_tenant t;

	tenant_fill(&t, ctx);
	return ac_tenant_put_txn(txn, &t, NULL);
}

static enum ac_err
order_fn(const struct ac_tenant *t, json_object *rec, void *ctx)
{
	struct ac_buf *b = ctx;

	(void)rec;
	return ac_buf_printf(b, "%s|", t->client_key);
}

START_TEST(tenant_foreach_byte_order)
{
	/* a linguistic collation would sort "a" with "A" and ignore "_" and "-" */
	static const char *const keys[] = { "b", "a-2", "B", "a_1", "a", "Z", "\xc3\xa9", "a1", "A", NULL };
	struct ac_store *st = NULL;
	struct ac_conf conf;
	struct ac_buf b;
	char url[2048], name[64], sql[256];
	size_t i;
	int from, to;

	/* a database whose own collation is linguistic (ICU's en-US): the schema's keys must not follow it */
	pgh_fresh_database(url, sizeof(url), name, sizeof(name));
	snprintf(sql, sizeof(sql), "DROP DATABASE %s", name);
	pgh_admin(sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu "
	    "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'", name);
	pgh_admin(sql);
	memset(&conf, 0, sizeof(conf));
	conf.store = AC_STORE_POSTGRES;
	conf.database_url = url;
	conf.sql_dir = (char *)AC_SRCDIR "/sql";
	ck_assert_int_eq(ac_store_migrate(&conf, &from, &to), AC_OK);
	ck_assert_int_eq(ac_store_open_conf(&conf, AC_STORE_NOSYNC, &st), AC_OK);

	for (i = 0; keys[i]; i++)
		ck_assert_int_eq(ac_store_update(st, put_fn, (void *)keys[i]), AC_OK);
	ac_buf_init(&b, 4096);
	ck_assert_int_eq(ac_tenant_foreach(st, order_fn, &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), "A|B|Z|a|a-2|a1|a_1|b|\xc3\xa9|");
	ac_buf_release(&b);
	ac_store_close(st);
}
END_TEST

/* ---- the tenant read of every request: prepared, and prepared again when the session lost it */

static int view_runs;

static enum ac_err
get_fn(struct ac_txn *txn, void *ctx)
{
	struct ac_tenant t;
	enum ac_err err;

	view_runs++;
	if ((err = ac_tenant_get_txn(txn, ctx, &t)) == AC_OK) {
		ck_assert_str_eq(t.client_key, ctx);
		ac_tenant_release(&t);
	}
	return err;
}

static long
prepared_count(struct ac_store *st)
{
	PGresult *r;
	long n;

	ck_assert_int_eq(ac_pg_exec(ac_store_pg(st), "test", "SELECT count(*) FROM pg_prepared_statements WHERE "
	    "name = 'ac_tenant_get'", NULL, &r), AC_OK);
	n = (long)ac_pg_cell_int(r, 0, 0);
	PQclear(r);
	return n;
}

START_TEST(tenant_get_prepared)
{
	struct ac_store *st = pgh_open();
	struct ac_tenant t;

	ck_assert_int_eq(ac_store_update(st, put_fn, (void *)"t1"), AC_OK);
	ck_assert_int_eq(ac_tenant_get(st, "t1", &t), AC_OK);
	ac_tenant_release(&t);
	/* once: run unprepared (a CGI request's connection never pays for a prepare) */
	ck_assert_int_eq(prepared_count(st), 0);
	ck_assert_int_eq(ac_tenant_get(st, "nobody", &t), AC_ERR_UNKNOWN_TENANT);
	/* the second use prepared it */
	ck_assert_int_eq(prepared_count(st), 1);
	/* lost outside a transaction: prepared again at once */
	ck_assert_int_eq(ac_pg_exec(ac_store_pg(st), "test", "DEALLOCATE ALL", NULL, NULL), AC_OK);
	ck_assert_int_eq(ac_tenant_get(st, "t1", &t), AC_OK);
	ac_tenant_release(&t);
	ck_assert_int_eq(prepared_count(st), 1);
	/* lost inside one: the error aborted it, so the transaction runs again, preparing it there */
	ck_assert_int_eq(ac_pg_exec(ac_store_pg(st), "test", "DEALLOCATE ac_tenant_get", NULL, NULL), AC_OK);
	view_runs = 0;
	ck_assert_int_eq(ac_store_view(st, get_fn, (void *)"t1"), AC_OK);
	ck_assert_int_eq(view_runs, 2);
	ck_assert_int_eq(prepared_count(st), 1);
	view_runs = 0;
	ck_assert_int_eq(ac_store_view(st, get_fn, (void *)"t1"), AC_OK);
	ck_assert_int_eq(view_runs, 1);
	ac_store_close(st);
}
END_TEST

/* ---- a rejected write leaves every table exactly as it was */

/* Every row of the tables of pg-tenant.c and pg-forge.c, as text, in one string. */
static char *
dump(const struct ac_conf *conf)
{
	static const char *const tables[] = {
		"ac_tenants", "ac_install_keys", "ac_fetch_budget", "ac_tokens", "ac_notes", "ac_lifecycle_seen",
		"ac_forge_installations", "ac_forge_tokens", "ac_forge_jwks", NULL,
	};
	PGconn *c = PQconnectdb(conf->database_url);
	struct ac_buf b;
	char sql[256], *out;
	size_t i;

	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	ac_buf_init(&b, 1 << 20);
	for (i = 0; tables[i]; i++) {
		PGresult *r;

		snprintf(sql, sizeof(sql), "SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM %s t",
		    tables[i]);
		r = PQexec(c, sql);
		ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
		ck_assert_int_eq(ac_buf_printf(&b, "%s: %s\n", tables[i], PQgetvalue(r, 0, 0)), AC_OK);
		PQclear(r);
	}
	PQfinish(c);
	ck_assert_int_eq(ac_buf_detach(&b, &out, NULL), AC_OK);
	return out;
}

struct reject_ctx {
	const char *secret;       /* the tenant's; a huge one is too large a record */
	int seen_twice;           /* write the lifecycle_seen entry twice */
	enum ac_err then;         /* what fn says after its writes */
};

static enum ac_err
reject_fn(struct ac_txn *txn, void *ctx)
{
	struct reject_ctx *c = ctx;
	struct ac_seen e;
	struct ac_tenant t;
	enum ac_err err;
	size_t n;

	memset(&e, 0, sizeof(e));
	e.exp = 1700000100;
	memset(e.token_sha, 9, sizeof(e.token_sha));
	e.body = (char *)"b";
	/* writes first, then the one refused */
	if ((err = ac_seen_put_txn(txn, &e)) != AC_OK || (err = ac_token_forget_txn(txn, "ck-1", &n)) != AC_OK ||
	    (err = ac_tenant_delete_txn(txn, "ck-0")) != AC_OK)
		return err;
	if (c->seen_twice && (err = ac_seen_put_txn(txn, &e)) != AC_OK)
		return err;
	tenant_fill(&t, "ck-1");
	t.shared_secret = (char *)c->secret;
	if ((err = ac_tenant_put_txn(txn, &t, NULL)) != AC_OK)
		return err;
	return c->then;
}

START_TEST(rejected_write_changes_nothing)
{
	struct ac_token_rec tok;
	struct ac_conf conf;
	struct ac_store *st;
	struct reject_ctx c = { "s3cret", 0, AC_OK };
	char *before, *after, *huge;
	size_t big = AC_TENANT_RECORD_MAX + 1;

	pgh_conf(&conf);
	ck_assert_int_eq(ac_store_open_conf(&conf, AC_STORE_NOSYNC, &st), AC_OK);
	/* something in every table */
	ck_assert_int_eq(ac_store_update(st, put_fn, (void *)"ck-0"), AC_OK);
	memset(&tok, 0, sizeof(tok));
	tok.access_token = (char *)"t1";
	tok.scopes = (char *)"";
	tok.expires_at = 1700003600;
	ck_assert_int_eq(ac_token_put(st, "bb:ck-1", &tok), AC_OK);
	ck_assert_int_eq(ac_install_key_missing(st, "kid-a", 404, ac_clock_now() + 60), AC_OK);
	ck_assert_int_eq(ac_note_put(st, "noted"), AC_OK);
	ck_assert_int_eq(ac_forge_token_offer(st, "ari:inst/1", "ft", (int64_t)ac_clock_now() + 100, NULL), AC_OK);
	ck_assert_int_eq(ac_forge_jwks_put(st, "{\"keys\":[]}", 11), AC_OK);
	before = dump(&conf);
	/* refused by fn at the end */
	c.then = AC_ERR_BAD_REQUEST;
	ck_assert_int_eq(ac_store_update(st, reject_fn, &c), AC_ERR_BAD_REQUEST);
	after = dump(&conf);
	ck_assert_str_eq(after, before);
	free(after);
	/* refused by the store: the same entry twice (the statement did not fail: DO NOTHING) */
	c.then = AC_OK;
	c.seen_twice = 1;
	ck_assert_int_eq(ac_store_update(st, reject_fn, &c), AC_ERR_STORE);
	after = dump(&conf);
	ck_assert_str_eq(after, before);
	free(after);
	/* refused before any statement: a record too large */
	c.seen_twice = 0;
	ck_assert_ptr_nonnull(huge = malloc(big + 1));
	memset(huge, 'x', big);
	huge[big] = '\0';
	c.secret = huge;
	ck_assert_int_eq(ac_store_update(st, reject_fn, &c), AC_ERR_TOO_LARGE);
	free(huge);
	after = dump(&conf);
	ck_assert_str_eq(after, before);
	free(after);
	/* and the same write, accepted, does change it */
	c.secret = "s3cret";
	ck_assert_int_eq(ac_store_update(st, reject_fn, &c), AC_OK);
	after = dump(&conf);
	ck_assert_str_ne(after, before);
	free(after);
	free(before);
	ac_store_close(st);
	conf_release(&conf);
}
END_TEST

/* ---- a server of this test's own, stopped and started again under an open store */

static char own_dir[64];

static int
own_ctl(const char *what)
{
	char cmd[1024];

	/* initdb and pg_ctl refuse root: as nobody then; a unix socket only, in the server's own directory */
	snprintf(cmd, sizeof(cmd),
	    "B=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1); [ -n \"$B\" ] || B=$(pg_config --bindir); "
	    "as() { if [ \"$(id -u)\" = 0 ]; then runuser -u nobody -- \"$@\"; else \"$@\"; fi; }; "
	    "D='%s'; case %s in "
	    "init) chmod 755 $D; [ \"$(id -u)\" = 0 ] && chown nobody $D; as $B/initdb -D $D/data -A trust -U postgres >$D/initdb.log 2>&1 ;; "
	    "start) as $B/pg_ctl -D $D/data -w -o \"-k $D -c listen_addresses= -p 5432\" -l $D/log start >/dev/null ;; "
	    "stop) as $B/pg_ctl -D $D/data -w -m fast stop >/dev/null ;; "
	    "esac", own_dir, what);
	return system(cmd);
}

static void
own_teardown(void)
{
	char cmd[128];

	own_ctl("stop");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", own_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", own_dir);
}

START_TEST(server_stopped_then_back)
{
	struct ac_store *st = NULL;
	struct ac_conf conf;
	struct ac_tenant t;
	char url[256];
	int from, to, found;

	snprintf(own_dir, sizeof(own_dir), "/tmp/ac-pgown-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(own_dir));
	ck_assert_int_eq(own_ctl("init"), 0);
	ck_assert_int_eq(own_ctl("start"), 0);
	snprintf(url, sizeof(url), "host=%s port=5432 user=postgres dbname=postgres", own_dir);
	memset(&conf, 0, sizeof(conf));
	conf.store = AC_STORE_POSTGRES;
	conf.database_url = url;
	conf.sql_dir = (char *)AC_SRCDIR "/sql";
	ck_assert_int_eq(ac_store_migrate(&conf, &from, &to), AC_OK);
	ck_assert_int_eq(ac_store_open_conf(&conf, AC_STORE_NOSYNC, &st), AC_OK);
	ck_assert_int_eq(ac_store_update(st, put_fn, (void *)"ck-1"), AC_OK);

	ck_assert_int_eq(own_ctl("stop"), 0);
	/* every kind of operation: an error, not a crash, nothing half done */
	ck_assert_int_eq(ac_tenant_get(st, "ck-1", &t), AC_ERR_STORE);
	ck_assert_int_eq(ac_note_put(st, "n"), AC_ERR_STORE);
	ck_assert_int_eq(ac_note_get(st, "n", &found), AC_ERR_STORE);
	ck_assert_int_eq(ac_store_update(st, put_fn, (void *)"ck-2"), AC_ERR_STORE);

	ck_assert_int_eq(own_ctl("start"), 0);
	/* past the backoff of the failed connections (0.1 s doubling: at most 0.8 s after four) */
	usleep(1000 * 1000);
	ck_assert_int_eq(ac_tenant_get(st, "ck-1", &t), AC_OK);
	ck_assert_str_eq(t.shared_secret, "s3cret");
	ac_tenant_release(&t);
	ck_assert_int_eq(ac_store_update(st, put_fn, (void *)"ck-2"), AC_OK);
	ck_assert_int_eq(ac_note_put(st, "n"), AC_OK);
	ck_assert_int_eq(ac_note_get(st, "n", &found), AC_OK);
	ck_assert_int_eq(found, 1);
	ac_store_close(st);
}
END_TEST

/*
 * A server that ends an idle connection (pg_terminate_backend, an idle
 * timeout, a restart) first says why (FATAL 57P01), then closes it: the
 * next operation must see both before using it and reconnect, not fail
 * with a 503 as it did when one read took only the message.
 */
START_TEST(connection_ended_by_server)
{
	struct ac_conf conf;
	struct ac_store *st = NULL;
	PGconn *admin;
	PGresult *r;
	int found = 0, i;

	pgh_conf(&conf);
	ck_assert_int_eq(ac_store_open_conf(&conf, AC_STORE_NOSYNC, &st), AC_OK);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(ac_note_put(st, "before"), AC_OK);
		admin = PQconnectdb(conf.database_url);
		ck_assert_int_eq(PQstatus(admin), CONNECTION_OK);
		r = PQexec(admin, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		    "WHERE datname = current_database() AND pid <> pg_backend_pid()");
		ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
		ck_assert_str_eq(PQgetvalue(r, 0, 0), "1");
		PQclear(r);
		PQfinish(admin);
		usleep(200 * 1000);
		ck_assert_int_eq(ac_note_get(st, "before", &found), AC_OK);
		ck_assert_int_eq(found, 1);
	}
	ac_store_close(st);
	ac_conf_release(&conf);
}
END_TEST

/* In the parent, before the forked tests (an unchecked fixture: the harness asserts, which Check allows only there and in tests). */
static void
pg_server_setup(void)
{
	pgh_server();
}

static Suite *
suite(void)
{
	Suite *s = suite_create("store-pg");
	TCase *tr = tcase_create("race");
	TCase *td = tcase_create("data");
	TCase *to = tcase_create("own server");

	/* one server for every forked test (pg-harness.h) */
	tcase_add_unchecked_fixture(tr, pg_server_setup, NULL);
	tcase_add_unchecked_fixture(td, pg_server_setup, NULL);
	(void)pgh_open;
	tcase_set_timeout(tr, 60);
	tcase_add_test(tr, race_jwks_reserve);
	tcase_add_test(tr, race_install_key_reserve);
	tcase_add_test(tr, race_token_offer);
	tcase_set_timeout(td, 60);
	tcase_add_test(td, tenant_foreach_byte_order);
	tcase_add_test(td, rejected_write_changes_nothing);
	tcase_add_test(td, connection_ended_by_server);
	tcase_add_test(td, tenant_get_prepared);
	tcase_set_timeout(to, 120);
	tcase_add_checked_fixture(to, NULL, own_teardown);
	tcase_add_test(to, server_stopped_then_back);
	suite_add_tcase(s, tr);
	suite_add_tcase(s, td);
	suite_add_tcase(s, to);
	return s;
}

AC_UNIT_MAIN(suite)
