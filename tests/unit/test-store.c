/* test-store.c: the store interface (store.h), the same tests for every backend (the LMDB one's own: test-store-lmdb.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/json.h"
#include "store/journal.h"
#include "store/store-pg.h"
#include "store/store.h"
#include "unit.h"
#include "pg-harness.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	rmdir(dir); /* the store creates it */
}

static void
teardown(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sync.lock", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/%s", dir, AC_JOURNAL_FILE);
	unlink(p);
	rmdir(dir);
}

/*
 * ---- The store interface (store.h), run against every backend in
 * backends[]: a second backend adds itself there and runs the same suite.
 * open gives a fresh, empty, writable store; close closes and removes it.
 */

static struct ac_store *
lmdb_open(void)
{
	struct ac_store *st = NULL;

	setup();
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_NOSYNC, &st), AC_OK);
	return st;
}

static void
lmdb_close(struct ac_store *st)
{
	ac_store_close(st);
	teardown();
}

/* A fresh database of the server pgh_server() started in the parent (before the suite's forks). */
static void
pg_close(struct ac_store *st)
{
	ac_store_close(st);
}

static const struct backend {
	const char *name;
	struct ac_store *(*open)(void);
	void (*close)(struct ac_store *st);
	int schema;            /* the version ac_store_schema_version says: each backend has its own */
} backends[] = {
	{ "lmdb", lmdb_open, lmdb_close, AC_STORE_SCHEMA },
	{ "postgres", pgh_open, pg_close, AC_PG_SCHEMA },
};
#define N_BACKENDS ((int)(sizeof(backends) / sizeof(backends[0])))

START_TEST(iface_schema_version)
{
	struct ac_store *st = backends[_i].open();
	int v = -1;

	ck_assert_int_eq(ac_store_schema_version(st, &v), AC_OK);
	ck_assert_int_eq(v, backends[_i].schema);
	backends[_i].close(st);
}
END_TEST

static void
tenant_fill(struct ac_tenant *t, const char *ck, const char *secret)
{
	memset(t, 0, sizeof(*t));
	t->client_key = (char *)ck;
	t->shared_secret = (char *)secret;
	t->key = (char *)"connect-fcgi";
	t->product = AC_PRODUCT_JIRA;
	t->base_url = (char *)"https://x.atlassian.net";
	t->base_api_url = (char *)"";
	t->oauth_client_id = (char *)"oc-1";
	t->display_url = (char *)"";
	t->state = AC_TENANT_INSTALLED;
	t->installed_at = t->updated_at = 1700000000;
	t->lifecycle_iat = 1700000001;
}

struct install_ctx {
	struct ac_tenant t;
	json_object *install;
	struct ac_seen seen;
	const char *forget;
	size_t forgot;
	enum ac_err then;
};

/* The install write: tenant, lifecycle_seen entry and forgotten tokens, in one transaction. */
static enum ac_err
install_fn(struct ac_txn *txn, void *ctx)
{
	struct install_ctx *c = ctx;
	enum ac_err err;

	if ((err = ac_tenant_put_txn(txn, &c->t, c->install)) != AC_OK ||
	    (err = ac_seen_put_txn(txn, &c->seen)) != AC_OK ||
	    (err = ac_token_forget_txn(txn, c->forget, &c->forgot)) != AC_OK)
		return err;
	return c->then;
}

static enum ac_err
count_tenant(const struct ac_tenant *t, json_object *rec, void *ctx)
{
	(void)t;
	(void)rec;
	(*(int *)ctx)++;
	return AC_OK;
}

START_TEST(iface_tenants)
{
	struct ac_store *st = backends[_i].open();
	struct install_ctx c;
	struct ac_tenant got;
	json_object *rec = NULL, *ins;
	int n = 0;

	memset(&c, 0, sizeof(c));
	tenant_fill(&c.t, "ck-1", "s3cret");
	c.install = json_tokener_parse("{\"clientKey\":\"ck-1\",\"sharedSecret\":\"s3cret\",\"principal\":\"p\"}");
	c.seen.exp = 1700000100;
	c.seen.body = (char *)"b";
	c.seen.client_key = (char *)"ck-1";
	c.forget = "ck-1";
	ck_assert_int_eq(ac_tenant_get(st, "ck-1", &got), AC_ERR_UNKNOWN_TENANT);
	ck_assert_int_eq(ac_store_update(st, install_fn, &c), AC_OK);
	ck_assert_int_eq(ac_tenant_get(st, "ck-1", &got), AC_OK);
	ck_assert_str_eq(got.shared_secret, "s3cret");
	ck_assert_str_eq(got.oauth_client_id, "oc-1");
	ck_assert_int_eq(got.product, AC_PRODUCT_JIRA);
	ck_assert_int_eq(got.lifecycle_iat, 1700000001);
	ac_tenant_release(&got);
	/* the whole record: the install body kept, without its sharedSecret */
	ck_assert_int_eq(ac_tenant_get_record(st, "ck-1", &rec), AC_OK);
	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_nonnull(json_object_object_get_ex(rec, "install", &ins) ? ins : NULL);
	ck_assert_str_eq(ac_json_get_string(ins, "principal"), "p");
	ck_assert_ptr_null(ac_json_get_string(ins, "sharedSecret"));
	ac_json_put_secret(rec);
	ck_assert_int_eq(ac_tenant_get_record(st, "ck-none", &rec), AC_OK);
	ck_assert_ptr_null(rec);
	ck_assert_int_eq(ac_tenant_foreach(st, count_tenant, &n), AC_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(ac_tenant_delete(st, "ck-1"), AC_OK);
	ck_assert_int_eq(ac_tenant_get(st, "ck-1", &got), AC_ERR_UNKNOWN_TENANT);
	ck_assert_int_eq(ac_tenant_delete(st, "ck-1"), AC_ERR_UNKNOWN_TENANT);
	json_object_put(c.install);
	backends[_i].close(st);
}
END_TEST

static int
token_cached(struct ac_store *st, const char *key)
{
	struct ac_token_rec r;
	int found;

	ck_assert_int_eq(ac_token_get(st, key, &r), AC_OK);
	found = r.access_token != NULL || r.failed_at_ms != 0;
	ac_token_rec_release(&r);
	return found;
}

struct seen_q {
	int64_t exp;
	const unsigned char *sha;
	struct ac_seen *out;
};

static enum ac_err
seen_get_fn(struct ac_txn *txn, void *ctx)
{
	struct seen_q *q = ctx;

	return ac_seen_get_txn(txn, q->exp, q->sha, q->out);
}

static enum ac_err
seen_get(struct ac_store *st, int64_t exp, const unsigned char *sha, struct ac_seen *out)
{
	struct seen_q q = { exp, sha, out };

	return ac_store_view(st, seen_get_fn, &q);
}

/* The install write commits whole or not at all. */
START_TEST(iface_txn_whole_or_nothing)
{
	struct ac_store *st = backends[_i].open();
	struct install_ctx c;
	struct ac_token_rec tok;
	struct ac_tenant got;
	struct ac_seen e;
	unsigned char sha[AC_SEEN_SHA_LEN];

	memset(&c, 0, sizeof(c));
	memset(&tok, 0, sizeof(tok));
	memset(sha, 7, sizeof(sha));
	tenant_fill(&c.t, "ck-1", "s3cret");
	c.seen.exp = 1700000100;
	memcpy(c.seen.token_sha, sha, sizeof(sha));
	c.seen.body = (char *)"b";
	c.forget = "ck-1";
	tok.access_token = (char *)"t1";
	tok.scopes = (char *)"";
	tok.expires_at = 1700003600;
	ck_assert_int_eq(ac_token_put(st, "bb:ck-1", &tok), AC_OK);
	/* refused at the end: nothing of it is there */
	c.then = AC_ERR_BAD_REQUEST;
	ck_assert_int_eq(ac_store_update(st, install_fn, &c), AC_ERR_BAD_REQUEST);
	ck_assert_int_eq(ac_tenant_get(st, "ck-1", &got), AC_ERR_UNKNOWN_TENANT);
	ck_assert_int_eq(token_cached(st, "bb:ck-1"), 1);
	ck_assert_int_eq(seen_get(st, 1700000100, sha, &e), AC_ERR_NOT_FOUND);
	c.then = AC_OK;
	ck_assert_int_eq(ac_store_update(st, install_fn, &c), AC_OK);
	ck_assert_uint_eq(c.forgot, 1);
	ck_assert_int_eq(ac_tenant_get(st, "ck-1", &got), AC_OK);
	ac_tenant_release(&got);
	ck_assert_int_eq(token_cached(st, "bb:ck-1"), 0);
	ck_assert_int_eq(seen_get(st, 1700000100, sha, &e), AC_OK);
	ac_seen_release(&e);
	backends[_i].close(st);
}
END_TEST

START_TEST(iface_install_keys)
{
	struct ac_store *st = backends[_i].open();
	struct ac_install_key k;
	struct ac_buf pem;
	time_t now = ac_clock_now();
	size_t n = 99;

	ac_buf_init(&pem, 4096);
	ck_assert_int_eq(ac_install_key_get(st, "kid-a", &pem, &k), AC_OK);
	ck_assert_int_eq(k.found, 0);
	ck_assert_int_eq(k.missing, 0);
	/* a failure is remembered until its time */
	ck_assert_int_eq(ac_install_key_missing(st, "kid-a", 404, now + 60), AC_OK);
	ck_assert_int_eq(ac_install_key_get(st, "kid-a", &pem, &k), AC_OK);
	ck_assert_int_eq(k.missing, 404);
	ck_assert_int_eq(k.missing_until, now + 60);
	/* the budget: one fetch per window here; the reserve leaves a "fetch under way" marker */
	ck_assert_int_eq(ac_install_key_reserve(st, "kid-b", 1, 60, now + 8, &pem, &k), AC_OK);
	ck_assert_int_eq(k.throttled, 0);
	ck_assert_int_eq(k.found, 0);
	ck_assert_int_eq(ac_install_key_get(st, "kid-b", &pem, &k), AC_OK);
	ck_assert_int_eq(k.missing, -1);
	ck_assert_int_eq(k.missing_until, now + 8);
	ck_assert_int_eq(ac_install_key_reserve(st, "kid-c", 1, 60, now + 8, &pem, &k), AC_OK);
	ck_assert_int_eq(k.throttled, 1);
	ck_assert_int_eq(ac_install_key_get(st, "kid-c", &pem, &k), AC_OK);
	ck_assert_int_eq(k.missing, 0);
	/* a reserve for a kid whose failure holds says so and spends nothing */
	ck_assert_int_eq(ac_install_key_reserve(st, "kid-a", 1, 60, now + 8, &pem, &k), AC_OK);
	ck_assert_int_eq(k.missing, 404);
	ck_assert_int_eq(k.throttled, 0);
	/* the key, kept for good, replaces the marker */
	ck_assert_int_eq(ac_install_key_put(st, "kid-b", "-----BEGIN PUBLIC KEY-----"), AC_OK);
	ck_assert_int_eq(ac_install_key_get(st, "kid-b", &pem, &k), AC_OK);
	ck_assert_int_eq(k.found, 1);
	ck_assert_str_eq(ac_buf_str(&pem), "-----BEGIN PUBLIC KEY-----");
	/* expired failures: nothing to a lookup, and purged from a kid on (keys never) */
	ck_assert_int_eq(ac_install_key_missing(st, "kid-d", 500, now - 1), AC_OK);
	ck_assert_int_eq(ac_install_key_get(st, "kid-d", &pem, &k), AC_OK);
	ck_assert_int_eq(k.missing, 0);
	ck_assert_int_eq(ac_install_key_purge(st, "kid-c", 8, &n), AC_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ac_install_key_purge(st, "kid-", 8, &n), AC_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ac_install_key_get(st, "kid-b", &pem, &k), AC_OK);
	ck_assert_int_eq(k.found, 1);
	/* a new failure purges the expired ones after it in the same write */
	ck_assert_int_eq(ac_install_key_missing(st, "kid-e", 500, now - 1), AC_OK);
	ck_assert_int_eq(ac_install_key_missing(st, "kid-0", 404, now + 60), AC_OK);
	ck_assert_int_eq(ac_install_key_purge(st, "kid-", 8, &n), AC_OK);
	ck_assert_uint_eq(n, 0);
	ac_buf_release(&pem);
	backends[_i].close(st);
}
END_TEST

static enum ac_err
forget_fn(struct ac_txn *txn, void *ctx)
{
	size_t *n = ctx;

	return ac_token_forget_txn(txn, "ck-1", n);
}

START_TEST(iface_tokens)
{
	static const char *const keys[] = {
		"bb:ck-1", "jira:ck-1 acc-1 READ", "jira:ck-1 sha256:00ff", "bb:ck-10", "jira:ck-10 acc-1 READ",
		"jira:ck-1", "bb:ck-0", NULL,
	};
	struct ac_store *st = backends[_i].open();
	struct ac_token_rec r, got;
	size_t i, n = 0;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(ac_token_get(st, "bb:ck-1", &got), AC_OK);
	ck_assert_ptr_null(got.access_token);
	ck_assert_int_eq(got.failed_at_ms, 0);
	r.access_token = (char *)"tok-1";
	r.scopes = (char *)"READ WRITE";
	r.expires_at = 1700003600;
	r.obtained_at = 1700000000;
	ck_assert_int_eq(ac_token_put(st, "bb:ck-1", &r), AC_OK);
	ck_assert_int_eq(ac_token_get(st, "bb:ck-1", &got), AC_OK);
	ck_assert_str_eq(got.access_token, "tok-1");
	ck_assert_str_eq(got.scopes, "READ WRITE");
	ck_assert_int_eq(got.expires_at, 1700003600);
	ck_assert_int_eq(got.obtained_at, 1700000000);
	ck_assert_int_eq(got.failed_at_ms, 0);
	ac_token_rec_release(&got);
	/* a failure replaces the token */
	memset(&r, 0, sizeof(r));
	r.failed_at_ms = 1700000000123;
	r.failure = AC_ERR_GRANT_REFUSED;
	ck_assert_int_eq(ac_token_put(st, "bb:ck-1", &r), AC_OK);
	ck_assert_int_eq(ac_token_get(st, "bb:ck-1", &got), AC_OK);
	ck_assert_ptr_null(got.access_token);
	ck_assert_int_eq(got.failed_at_ms, 1700000000123);
	ck_assert_int_eq(got.failure, AC_ERR_GRANT_REFUSED);
	ac_token_rec_release(&got);
	/* forget: every key of ck-1, none of another tenant's, even one whose clientKey starts with it */
	for (i = 0; keys[i]; i++)
		ck_assert_int_eq(ac_token_put(st, keys[i], &r), AC_OK);
	ck_assert_int_eq(ac_store_update(st, forget_fn, &n), AC_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(token_cached(st, "bb:ck-1"), 0);
	ck_assert_int_eq(token_cached(st, "jira:ck-1 acc-1 READ"), 0);
	ck_assert_int_eq(token_cached(st, "jira:ck-1 sha256:00ff"), 0);
	ck_assert_int_eq(token_cached(st, "bb:ck-10"), 1);
	ck_assert_int_eq(token_cached(st, "jira:ck-10 acc-1 READ"), 1);
	ck_assert_int_eq(token_cached(st, "jira:ck-1"), 1);
	ck_assert_int_eq(token_cached(st, "bb:ck-0"), 1);
	backends[_i].close(st);
}
END_TEST

START_TEST(iface_notes)
{
	struct ac_store *st = backends[_i].open();
	char a[1001], b[1001];
	int found = -1;

	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[900] = 'b';
	ck_assert_int_eq(ac_note_get(st, "pr:1 title", &found), AC_OK);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(ac_note_put(st, "pr:1 title"), AC_OK);
	ck_assert_int_eq(ac_note_get(st, "pr:1 title", &found), AC_OK);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(ac_note_get(st, "pr:2 title", &found), AC_OK);
	ck_assert_int_eq(found, 0);
	/* keys of any length, told apart past any prefix */
	ck_assert_int_eq(ac_note_put(st, a), AC_OK);
	ck_assert_int_eq(ac_note_get(st, a, &found), AC_OK);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(ac_note_get(st, b, &found), AC_OK);
	ck_assert_int_eq(found, 0);
	backends[_i].close(st);
}
END_TEST

struct seen_list {
	int n;
	int64_t exp[8];
	char ck[8][16];
};

static enum ac_err
seen_list_fn(const struct ac_seen *e, void *ctx)
{
	struct seen_list *l = ctx;

	if (l->n < 8) {
		l->exp[l->n] = e->exp;
		snprintf(l->ck[l->n], sizeof(l->ck[0]), "%s", e->client_key ? e->client_key : "");
	}
	l->n++;
	return AC_OK;
}

struct seen_w {
	struct ac_seen e[3];
	int64_t before;
	size_t max, purged;
};

static enum ac_err
seen_put_fn(struct ac_txn *txn, void *ctx)
{
	struct seen_w *w = ctx;
	enum ac_err err;
	int i;

	for (i = 0; i < 3; i++)
		if ((err = ac_seen_put_txn(txn, &w->e[i])) != AC_OK)
			return err;
	return AC_OK;
}

static enum ac_err
seen_purge_fn(struct ac_txn *txn, void *ctx)
{
	struct seen_w *w = ctx;

	return ac_seen_purge_txn(txn, w->before, w->max, &w->purged);
}

START_TEST(iface_lifecycle_seen)
{
	struct ac_store *st = backends[_i].open();
	struct seen_w w;
	struct seen_list l;
	struct ac_seen got;
	int i;

	memset(&w, 0, sizeof(w));
	for (i = 0; i < 3; i++) {
		memset(w.e[i].token_sha, 'a' + i, AC_SEEN_SHA_LEN);
		w.e[i].body = (char *)"0123abcd";
		w.e[i].client_key = (char *)(i == 1 ? "ck-2" : "ck-1");
		w.e[i].event = (char *)"installed";
		w.e[i].iat = 1700000000 + i;
		w.e[i].at = 1700000010 + i;
	}
	/* written out of order: listed by exp */
	w.e[0].exp = 3000;
	w.e[1].exp = 1000;
	w.e[2].exp = 2000;
	ck_assert_int_eq(seen_get(st, 3000, w.e[0].token_sha, &got), AC_ERR_NOT_FOUND);
	ck_assert_int_eq(ac_store_update(st, seen_put_fn, &w), AC_OK);
	ck_assert_int_eq(seen_get(st, 3000, w.e[0].token_sha, &got), AC_OK);
	ck_assert_str_eq(got.body, "0123abcd");
	ck_assert_str_eq(got.client_key, "ck-1");
	ck_assert_str_eq(got.event, "installed");
	ck_assert_int_eq(got.iat, 1700000000);
	ck_assert_int_eq(got.at, 1700000010);
	ck_assert_int_eq(got.exp, 3000);
	ac_seen_release(&got);
	/* the same exp, another token: another entry */
	ck_assert_int_eq(seen_get(st, 3000, w.e[1].token_sha, &got), AC_ERR_NOT_FOUND);
	/* never overwritten */
	ck_assert_int_eq(ac_store_update(st, seen_put_fn, &w), AC_ERR_STORE);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(ac_seen_list(st, seen_list_fn, &l), AC_OK);
	ck_assert_int_eq(l.n, 3);
	ck_assert_int_eq(l.exp[0], 1000);
	ck_assert_str_eq(l.ck[0], "ck-2");
	ck_assert_int_eq(l.exp[1], 2000);
	ck_assert_int_eq(l.exp[2], 3000);
	/* purge: those expired before `before`, oldest first, at most max */
	w.before = 2500;
	w.max = 1;
	ck_assert_int_eq(ac_store_update(st, seen_purge_fn, &w), AC_OK);
	ck_assert_uint_eq(w.purged, 1);
	w.max = 16;
	ck_assert_int_eq(ac_store_update(st, seen_purge_fn, &w), AC_OK);
	ck_assert_uint_eq(w.purged, 1);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(ac_seen_list(st, seen_list_fn, &l), AC_OK);
	ck_assert_int_eq(l.n, 1);
	ck_assert_int_eq(l.exp[0], 3000);
	backends[_i].close(st);
}
END_TEST

#define INST_A "ari:cloud:ecosystem::installation/aaaaaaaa-0000-4000-8000-000000000001"
#define INST_B "ari:cloud:ecosystem::installation/bbbbbbbb-0000-4000-8000-000000000002"

static enum ac_err
count_inst(const struct ac_forge_installation *in, void *ctx)
{
	struct ac_buf *b = ctx;

	ck_assert_ptr_nonnull(in->installation_id);
	return ac_buf_printf(b, "%s|", in->installation_id);
}

START_TEST(iface_forge_installations)
{
	struct ac_store *st = backends[_i].open();
	struct ac_forge_context ctx[2] = {
		{ "bitbucket", "https://api.bitbucket.org", NULL, "{ws-1}" },
		{ "jira", "https://api.atlassian.com/ex/jira/c1", "c1", NULL },
	};
	struct ac_forge_installation in, got;
	struct ac_buf list;

	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(ac_forge_installation_get(st, INST_A, &got), AC_ERR_NOT_FOUND);
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_ERR_INVALID); /* no id */
	in.installation_id = INST_A;
	in.app_id = "ari:cloud:ecosystem::app/x";
	in.app_version = "1.0.0";
	in.environment_type = "PRODUCTION";
	in.environment_id = "env-1";
	in.api_base_url = "https://api.bitbucket.org";
	in.client_key = "ck-1";
	in.contexts = ctx;
	in.ncontexts = 2;
	ac_clock_set(1800000000);
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
	ck_assert_int_eq(ac_forge_installation_get(st, INST_A, &got), AC_OK);
	ck_assert_str_eq(got.installation_id, INST_A);
	ck_assert_str_eq(got.app_version, "1.0.0");
	ck_assert_str_eq(got.environment_type, "PRODUCTION");
	ck_assert_str_eq(got.environment_id, "env-1");
	ck_assert_str_eq(got.api_base_url, "https://api.bitbucket.org");
	ck_assert_str_eq(got.client_key, "ck-1");
	ck_assert_ptr_null(got.site_url);
	ck_assert_uint_eq(got.ncontexts, 2);
	ck_assert_str_eq(got.contexts[0].workspace_id, "{ws-1}");
	ck_assert_ptr_null(got.contexts[0].cloud_id);
	ck_assert_str_eq(got.contexts[1].cloud_id, "c1");
	ck_assert_int_eq(got.first_seen, 1800000000);
	ck_assert_int_eq(got.last_seen, 1800000000);
	ac_forge_installation_release(&got);
	/* a refresh: first seen kept, last seen now, the linked tenant kept when not given */
	ac_clock_set(1800000100);
	in.app_version = "2.0.0";
	in.client_key = NULL;
	in.ncontexts = 0;
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
	ck_assert_int_eq(ac_forge_installation_get(st, INST_A, &got), AC_OK);
	ck_assert_str_eq(got.app_version, "2.0.0");
	ck_assert_str_eq(got.client_key, "ck-1");
	ck_assert_uint_eq(got.ncontexts, 0);
	ck_assert_int_eq(got.first_seen, 1800000000);
	ck_assert_int_eq(got.last_seen, 1800000100);
	ac_forge_installation_release(&got);
	/* every installation, and no other record of the database (tokens, the JWKS) */
	in.installation_id = INST_B;
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
	ck_assert_int_eq(ac_forge_token_offer(st, INST_A, "tok", 1800009999, NULL), AC_OK);
	ck_assert_int_eq(ac_forge_jwks_put(st, "{\"keys\":[]}", 11), AC_OK);
	ac_buf_init(&list, 4096);
	ck_assert_int_eq(ac_forge_installation_foreach(st, count_inst, &list), AC_OK);
	ck_assert_str_eq(ac_buf_str(&list), INST_A "|" INST_B "|");
	ac_buf_release(&list);
	ac_clock_set(0);
	backends[_i].close(st);
}
END_TEST

static enum ac_err
tenant_put_fn(struct ac_txn *txn, void *ctx)
{
	return ac_tenant_put_txn(txn, ctx, NULL);
}

#define WS "aaaaaaaa-1111-4222-8333-444444444444"
#define BB_CK "ari:cloud:bitbucket::app/{" WS "}/connect-fcgi"

/* The Connect tenant of a Forge installation with one context naming workspace ws (NULL: none). */
static char *
link_of(struct ac_store *st, const char *id, const char *ws, enum ac_err want)
{
	struct ac_forge_context c = { "bitbucket", "https://api.bitbucket.org", NULL, (char *)ws };
	struct ac_forge_installation in;
	char *ck = (char *)"unset";

	memset(&in, 0, sizeof(in));
	in.installation_id = (char *)id;
	in.contexts = &c;
	in.ncontexts = ws ? 1 : 0;
	ck_assert_int_eq(ac_forge_link_find(st, &in, &ck), want);
	if (want != AC_OK)
		ck_assert_ptr_null(ck);
	return ck;
}

static void
link_is(struct ac_store *st, const char *id, const char *ws, const char *want)
{
	char *ck = link_of(st, id, ws, want ? AC_OK : AC_ERR_NOT_FOUND);

	if (want)
		ck_assert_str_eq(ck, want);
	free(ck);
}

/*
 * The link between Connect and Forge: by the installationId a Connect on
 * Forge tenant keeps, or for Bitbucket by the workspace in the clientKey
 * (braces and case aside); installed tenants only; the reverse walk too.
 */
START_TEST(iface_forge_link)
{
	static const char *bad_keys[] = {
		"ari:cloud:bitbucket::app/" WS "/connect-fcgi", "ari:cloud:bitbucket::app/{" WS "}",
		"ari:cloud:bitbucket::app/{" WS "}/", "ari:cloud:bitbucket::app/{" WS "x}/k",
		"ari:cloud:jira::app/{" WS "}/k", "{" WS "}", "", "ari:cloud:bitbucket::app/{zzzzzzzz-1111-4222-8333-444444444444}/k",
	};
	struct ac_store *st = backends[_i].open();
	struct ac_tenant t;
	struct ac_forge_installation in;
	struct ac_forge_context c = { "bitbucket", "https://api.bitbucket.org", NULL, (char *)"{" WS "}" };
	struct ac_buf list;
	char ws[37];
	size_t i;

	ck_assert_int_eq(ac_forge_link_workspace(BB_CK, ws), 0);
	ck_assert_str_eq(ws, WS);
	ck_assert_int_eq(ac_forge_link_workspace("ari:cloud:bitbucket::app/{AAAAAAAA-1111-4222-8333-444444444444}/k", ws), 0);
	ck_assert_str_eq(ws, WS);
	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
		ck_assert_msg(ac_forge_link_workspace(bad_keys[i], ws) == -1, "key %zu", i);

	/* no tenants at all */
	link_is(st, INST_A, "{" WS "}", NULL);
	tenant_fill(&t, "jira-1", "s");
	t.installation_id = (char *)"ari:cloud:ecosystem::installation/AAAAAAAA-0000-4000-8000-000000000001";
	ck_assert_int_eq(ac_store_update(st, tenant_put_fn, &t), AC_OK);
	tenant_fill(&t, BB_CK, "s");
	t.product = AC_PRODUCT_BITBUCKET;
	t.installation_id = (char *)"";
	ck_assert_int_eq(ac_store_update(st, tenant_put_fn, &t), AC_OK);
	/* an uninstalled tenant of another workspace, a Jira tenant whose clientKey looks Bitbucket's */
	tenant_fill(&t, "ari:cloud:bitbucket::app/{bbbbbbbb-1111-4222-8333-444444444444}/connect-fcgi", "s");
	t.product = AC_PRODUCT_BITBUCKET;
	t.state = AC_TENANT_UNINSTALLED;
	ck_assert_int_eq(ac_store_update(st, tenant_put_fn, &t), AC_OK);
	tenant_fill(&t, "ari:cloud:bitbucket::app/{cccccccc-1111-4222-8333-444444444444}/connect-fcgi", "s");
	ck_assert_int_eq(ac_store_update(st, tenant_put_fn, &t), AC_OK);

	/* Connect on Forge: the installationId, any case */
	link_is(st, INST_A, NULL, "jira-1");
	link_is(st, INST_B, NULL, NULL);
	/* Bitbucket: the workspace, braces and case aside */
	link_is(st, INST_B, "{" WS "}", BB_CK);
	link_is(st, INST_B, WS, BB_CK);
	link_is(st, INST_B, "{AAAAAAAA-1111-4222-8333-444444444444}", BB_CK);
	link_is(st, INST_B, "AAAAAAAA-1111-4222-8333-444444444444", BB_CK);
	/* the id names this installation: it wins over a workspace */
	link_is(st, INST_A, "{" WS "}", "jira-1");
	/* another workspace, a malformed one, an uninstalled tenant's, a tenant of another product */
	link_is(st, INST_B, "{dddddddd-1111-4222-8333-444444444444}", NULL);
	link_is(st, INST_B, "{" WS, NULL);
	link_is(st, INST_B, WS "}", NULL);
	link_is(st, INST_B, "{{" WS "}}", NULL);
	link_is(st, INST_B, "", NULL);
	link_is(st, INST_B, "{bbbbbbbb-1111-4222-8333-444444444444}", NULL);
	link_is(st, INST_B, "{cccccccc-1111-4222-8333-444444444444}", NULL);

	/* the reverse: by id, by workspace, by the clientKey recorded on the installation */
	memset(&in, 0, sizeof(in));
	in.installation_id = INST_A;
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
	in.installation_id = INST_B;
	in.contexts = &c;
	in.ncontexts = 1;
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
	in.installation_id = "ari:cloud:ecosystem::installation/cccccccc-0000-4000-8000-000000000003";
	in.ncontexts = 0;
	in.client_key = "jira-1";
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
	ck_assert_int_eq(ac_tenant_get(st, "jira-1", &t), AC_OK);
	ac_buf_init(&list, 4096);
	ck_assert_int_eq(ac_forge_link_foreach(st, &t, count_inst, &list), AC_OK);
	ck_assert_str_eq(ac_buf_str(&list), INST_A "|ari:cloud:ecosystem::installation/cccccccc-0000-4000-8000-000000000003|");
	ac_buf_release(&list);
	ac_tenant_release(&t);
	ck_assert_int_eq(ac_tenant_get(st, BB_CK, &t), AC_OK);
	ac_buf_init(&list, 4096);
	ck_assert_int_eq(ac_forge_link_foreach(st, &t, count_inst, &list), AC_OK);
	ck_assert_str_eq(ac_buf_str(&list), INST_B "|");
	ac_buf_release(&list);
	ac_tenant_release(&t);
	backends[_i].close(st);
}
END_TEST

START_TEST(iface_forge_tokens)
{
	struct ac_store *st = backends[_i].open();
	struct ac_forge_token t;
	int kept = -1;

	ac_clock_set(1800000000);
	ck_assert_int_eq(ac_forge_token_get(st, INST_A, &t), AC_OK);
	ck_assert_ptr_null(t.token);
	/* nothing, or a token already dead, is never kept */
	ck_assert_int_eq(ac_forge_token_offer(st, INST_A, NULL, 1800007200, &kept), AC_OK);
	ck_assert_int_eq(kept, 0);
	ck_assert_int_eq(ac_forge_token_offer(st, INST_A, "", 1800007200, &kept), AC_OK);
	ck_assert_int_eq(kept, 0);
	ck_assert_int_eq(ac_forge_token_offer(st, INST_A, "dead", 1800000000, &kept), AC_OK);
	ck_assert_int_eq(kept, 0);
	ck_assert_int_eq(ac_forge_token_get(st, INST_A, &t), AC_OK);
	ck_assert_ptr_null(t.token);
	/* the first one */
	ck_assert_int_eq(ac_forge_token_offer(st, INST_A, "tok-2h", 1800007200, &kept), AC_OK);
	ck_assert_int_eq(kept, 1);
	/* older, or as old: the one held stays */
	ck_assert_int_eq(ac_forge_token_offer(st, INST_A, "tok-1h", 1800003600, &kept), AC_OK);
	ck_assert_int_eq(kept, 0);
	ck_assert_int_eq(ac_forge_token_offer(st, INST_A, "tok-2h-other", 1800007200, &kept), AC_OK);
	ck_assert_int_eq(kept, 0);
	ck_assert_int_eq(ac_forge_token_get(st, INST_A, &t), AC_OK);
	ck_assert_str_eq(t.token, "tok-2h");
	ck_assert_int_eq(t.exp, 1800007200);
	ck_assert_int_eq(t.received_at, 1800000000);
	ac_forge_token_release(&t);
	ck_assert_ptr_null(t.token);
	/* newer wins */
	ac_clock_set(1800000060);
	ck_assert_int_eq(ac_forge_token_offer(st, INST_A, "tok-3h", 1800010800, &kept), AC_OK);
	ck_assert_int_eq(kept, 1);
	ck_assert_int_eq(ac_forge_token_get(st, INST_A, &t), AC_OK);
	ck_assert_str_eq(t.token, "tok-3h");
	ck_assert_int_eq(t.exp, 1800010800);
	ck_assert_int_eq(t.received_at, 1800000060);
	ac_forge_token_release(&t);
	/* per installation */
	ck_assert_int_eq(ac_forge_token_get(st, INST_B, &t), AC_OK);
	ck_assert_ptr_null(t.token);
	ac_clock_set(0);
	backends[_i].close(st);
}
END_TEST

START_TEST(iface_forge_jwks)
{
	struct ac_store *st = backends[_i].open();
	struct ac_forge_jwks_state js;
	struct ac_buf doc;

	ac_buf_init(&doc, 64 * 1024);
	ac_clock_set(1800000000);
	ck_assert_int_eq(ac_forge_jwks_get(st, &doc, &js), AC_OK);
	ck_assert_int_eq(js.found, 0);
	ck_assert_int_eq(js.attempt_at, 0);
	/* the first fetch is granted and marked under way; a second in the window is not */
	ck_assert_int_eq(ac_forge_jwks_reserve(st, 60, 0, &doc, &js), AC_OK);
	ck_assert_int_eq(js.granted, 1);
	ck_assert_int_eq(ac_forge_jwks_reserve(st, 60, 0, &doc, &js), AC_OK);
	ck_assert_int_eq(js.granted, 0);
	ck_assert_int_eq(js.attempt, -1);
	ck_assert_int_eq(js.attempt_at, 1800000000);
	/* it failed: still nothing granted in the window, and the failure is known */
	ck_assert_int_eq(ac_forge_jwks_put(st, NULL, 0), AC_OK);
	ac_clock_set(1800000059);
	ck_assert_int_eq(ac_forge_jwks_reserve(st, 60, 0, &doc, &js), AC_OK);
	ck_assert_int_eq(js.granted, 0);
	ck_assert_int_eq(js.attempt, 0);
	ck_assert_int_eq(js.found, 0);
	/* the window is over: one more */
	ac_clock_set(1800000060);
	ck_assert_int_eq(ac_forge_jwks_reserve(st, 60, 0, &doc, &js), AC_OK);
	ck_assert_int_eq(js.granted, 1);
	ck_assert_int_eq(ac_forge_jwks_put(st, "{\"keys\":[1]}", 12), AC_OK);
	ck_assert_int_eq(ac_forge_jwks_get(st, &doc, &js), AC_OK);
	ck_assert_int_eq(js.found, 1);
	ck_assert_str_eq(ac_buf_str(&doc), "{\"keys\":[1]}");
	ck_assert_int_eq(js.fetched_at, 1800000060);
	ck_assert_int_eq(js.attempt, 1);
	/* a caller that saw an older document gets the new one, and no fetch */
	ac_clock_set(1800000200);
	ac_buf_reset(&doc);
	ck_assert_int_eq(ac_forge_jwks_reserve(st, 60, 1800000000, &doc, &js), AC_OK);
	ck_assert_int_eq(js.granted, 0);
	ck_assert_int_eq(js.found, 1);
	ck_assert_str_eq(ac_buf_str(&doc), "{\"keys\":[1]}");
	/* one that saw this one gets a fetch (the window is over) */
	ck_assert_int_eq(ac_forge_jwks_reserve(st, 60, 1800000060, &doc, &js), AC_OK);
	ck_assert_int_eq(js.granted, 1);
	/* a failed refetch keeps the document */
	ck_assert_int_eq(ac_forge_jwks_put(st, NULL, 0), AC_OK);
	ck_assert_int_eq(ac_forge_jwks_get(st, &doc, &js), AC_OK);
	ck_assert_int_eq(js.found, 1);
	ck_assert_int_eq(js.attempt, 0);
	/* a clock that went back does not hold the window shut */
	ac_clock_set(1700000000);
	ck_assert_int_eq(ac_forge_jwks_reserve(st, 60, 1800000060, &doc, &js), AC_OK);
	ck_assert_int_eq(js.granted, 1);
	ck_assert_int_eq(ac_forge_jwks_put(st, "a\0b", 3), AC_ERR_INVALID);
	ac_buf_release(&doc);
	ac_clock_set(0);
	backends[_i].close(st);
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
	Suite *s = suite_create("store");
	TCase *ti = tcase_create("interface");

	/* one server for every forked test (pg-harness.h) */
	tcase_add_unchecked_fixture(ti, pg_server_setup, NULL);

	/* each test once per backend: the loop index is the backend's */
	tcase_set_timeout(ti, 60);
	tcase_add_loop_test(ti, iface_schema_version, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_tenants, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_txn_whole_or_nothing, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_install_keys, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_tokens, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_notes, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_lifecycle_seen, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_forge_installations, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_forge_tokens, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_forge_link, 0, N_BACKENDS);
	tcase_add_loop_test(ti, iface_forge_jwks, 0, N_BACKENDS);
	suite_add_tcase(s, ti);
	return s;
}

AC_UNIT_MAIN(suite)
