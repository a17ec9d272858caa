/* test-lifecycle.c: Bitbucket installs through the request layer: TOFU, stored secret, forgeries. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canon.h"
#include "clock.h"
#include "json.h"
#include "lifecycle.h"
#include "store.h"
#include "tenant.h"
#include "token.h"
#include "unit.h"

struct fake {
	const char **params;
	const char *in;
	size_t inlen, inpos;
	struct ac_buf out;
};

static const char *
f_param(void *ctx, const char *name)
{
	struct fake *f = ctx;
	const char **p;

	for (p = f->params; *p; p += 2)
		if (!strcmp(p[0], name))
			return p[1];
	return NULL;
}

static long
f_read(void *ctx, char *buf, size_t n)
{
	struct fake *f = ctx;

	if (n > f->inlen - f->inpos)
		n = f->inlen - f->inpos;
	memcpy(buf, f->in + f->inpos, n);
	f->inpos += n;
	return (long)n;
}

static int
f_write(void *ctx, const char *buf, size_t n)
{
	return ac_buf_add(&((struct fake *)ctx)->out, buf, n) == AC_OK ? 0 : -1;
}

static enum ac_err
on_installed(struct ac_request *req)
{
	return ac_lifecycle_handle(req, AC_LIFECYCLE_INSTALLED);
}

static enum ac_err
on_uninstalled(struct ac_request *req)
{
	return ac_lifecycle_handle(req, AC_LIFECYCLE_UNINSTALLED);
}

static const struct ac_route routes[] = {
	{ "POST", "/installed", on_installed, AC_AUTH_LIFECYCLE, AC_LIFECYCLE_BODY_MAX },
	{ "POST", "/uninstalled", on_uninstalled, AC_AUTH_LIFECYCLE, AC_LIFECYCLE_BODY_MAX },
};

static char dir[64];
static struct ac_conf conf;
static struct ac_app app;
static char last_error[64];

static void
setup(void)
{
	char *why = NULL;

	snprintf(dir, sizeof(dir), "/tmp/test-lifecycle-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("AC_BASE_URL", "https://app.example.com", 1);
	setenv("AC_DATA_DIR", dir, 1);
	setenv("AC_ALLOWED_HOSTS", "bitbucket.org,api.bitbucket.org", 1);
	unsetenv("AC_PRODUCT");
	ck_assert_int_eq(ac_conf_load(&conf, NULL, &why), AC_OK);
	memset(&app, 0, sizeof(app));
	app.program = "test";
	app.conf = &conf;
	app.authenticate = ac_lifecycle_authenticate;
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_NOSYNC, &app.store), AC_OK);
	ac_clock_set(1700000000);
}

static void
teardown(void)
{
	char p[128];

	ac_store_close(app.store);
	ac_conf_release(&conf);
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sync.lock", dir);
	unlink(p);
	rmdir(dir);
	ac_clock_set(0);
}

static char *
body(const char *event, const char *ck, const char *secret, const char *base_url)
{
	char *s = malloc(1024);

	snprintf(s, 1024, "{\"key\":\"connect-fcgi\",\"clientKey\":\"%s\",%s%s%s\"baseUrl\":\"%s\","
	    "\"baseApiUrl\":\"https://api.bitbucket.org\",\"productType\":\"bitbucket\",\"eventType\":\"%s\","
	    "\"principal\":{\"uuid\":\"{x}\"}}",
	    ck, secret ? "\"sharedSecret\":\"" : "", secret ? secret : "", secret ? "\"," : "", base_url, event);
	return s;
}

/* A token as Bitbucket signs lifecycle calls: iss and aud the clientKey, qsh of the route. */
static char *
token(const char *secret, const char *iss, const char *path, long exp_offset)
{
	json_object *c = json_object_new_object();
	struct ac_buf canon;
	char qsh[AC_QSH_HEX_LEN], *out = NULL;

	ac_buf_init(&canon, 4096);
	ck_assert_int_eq(ac_canon_inbound("POST", 4, path, strlen(path), "", 0, &canon), AC_OK);
	ac_canon_qsh(canon.data, canon.len, qsh);
	ac_buf_release(&canon);
	json_object_object_add(c, "iss", json_object_new_string(iss));
	json_object_object_add(c, "aud", json_object_new_string(iss));
	json_object_object_add(c, "iat", json_object_new_int64(ac_clock_now()));
	json_object_object_add(c, "exp", json_object_new_int64(ac_clock_now() + exp_offset));
	json_object_object_add(c, "qsh", json_object_new_string(qsh));
	ck_assert_int_eq(ac_token_sign_hs256(c, secret, strlen(secret), &out), AC_OK);
	json_object_put(c);
	return out;
}

static int
status_of(const char *s)
{
	int st = 0;

	if (strncmp(s, "Status: ", 8))
		return -1;
	for (s += 8; *s >= '0' && *s <= '9'; s++)
		st = st * 10 + (*s - '0');
	return st;
}

static int
post(const char *path, const char *b, const char *tok, const char *ctype)
{
	char auth[4096], cl[32];
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", path, "CONTENT_TYPE", ctype,
		"CONTENT_LENGTH", cl, tok ? "HTTP_AUTHORIZATION" : "X_NONE", auth, NULL };
	struct fake f = { p, b, strlen(b), 0, { 0 } };
	struct ac_io io = { f_param, f_read, f_write, &f };
	const char *s, *e;
	int status;

	snprintf(cl, sizeof(cl), "%zu", strlen(b));
	snprintf(auth, sizeof(auth), "JWT %s", tok ? tok : "");
	ac_buf_init(&f.out, 1 << 20);
	ac_request_serve(&app, routes, 2, &io);
	status = status_of(ac_buf_str(&f.out));
	last_error[0] = '\0';
	if ((s = strstr(ac_buf_str(&f.out), "\"error\":\"")) != NULL) {
		s += 9;
		e = strchr(s, '"');
		snprintf(last_error, sizeof(last_error), "%.*s", (int)(e - s), s);
	}
	ac_buf_release(&f.out);
	return status;
}

/* Every byte of the tenants database, to prove a refused request changed nothing. */
static enum ac_err
dump_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct ac_buf *b = ctx;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_TENANTS), &cur);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		ac_buf_add(b, k.mv_data, k.mv_size);
		ac_buf_addc(b, '=');
		ac_buf_add(b, v.mv_data, v.mv_size);
		ac_buf_addc(b, '\n');
	}
	mdb_cursor_close(cur);
	return AC_OK;
}

static char *
snapshot(void)
{
	struct ac_buf b;
	char *out = NULL;

	ac_buf_init(&b, 1 << 22);
	ck_assert_int_eq(ac_store_read(app.store, dump_fn, &b), AC_OK);
	if (ac_buf_detach(&b, &out, NULL) != AC_OK)
		out = strdup("");
	return out;
}

static void
assert_unchanged(const char *before)
{
	char *now = snapshot();

	ck_assert_str_eq(now, before);
	free(now);
}

static void
expect(int status, const char *code, int got)
{
	ck_assert_int_eq(got, status);
	ck_assert_str_eq(last_error, code);
}

static void
secret_is(const char *ck, const char *secret, enum ac_tenant_state state)
{
	struct ac_tenant t;

	ck_assert_int_eq(ac_tenant_get(app.store, ck, &t), AC_OK);
	ck_assert_str_eq(t.shared_secret, secret);
	ck_assert_int_eq(t.state, state);
	ac_tenant_release(&t);
}

#define JSON "application/json"

START_TEST(first_install_then_signed_reinstall)
{
	char *b1 = body("installed", "ck-a", "secret-1", "https://bitbucket.org");
	char *b2 = body("installed", "ck-a", "secret-2", "https://bitbucket.org");
	char *good = token("secret-1", "ck-a", "/installed", 3600);
	char *with_new = token("secret-2", "ck-a", "/installed", 3600);
	char *before;
	struct ac_tenant t;
	json_object *rec = NULL, *install = NULL;

	ck_assert_int_eq(post("/installed", b1, NULL, JSON), 204);
	secret_is("ck-a", "secret-1", AC_TENANT_INSTALLED);

	before = snapshot();
	/* unsigned reinstall, and one signed with the new secret: both forged */
	expect(401, "token_missing", post("/installed", b2, NULL, JSON));
	expect(401, "bad_signature", post("/installed", b2, with_new, JSON));
	assert_unchanged(before);
	free(before);

	ac_clock_set(1700000100);
	ck_assert_int_eq(post("/installed", b2, good, JSON), 204);
	secret_is("ck-a", "secret-2", AC_TENANT_INSTALLED);
	ck_assert_int_eq(ac_tenant_get(app.store, "ck-a", &t), AC_OK);
	ck_assert_int_eq(t.installed_at, 1700000000);
	ck_assert_int_eq(t.updated_at, 1700000100);
	ac_tenant_release(&t);
	/* the raw install body is kept, without its secret */
	before = snapshot();
	{
		const char *val = strchr(before, '=') + 1;
		size_t vlen = strcspn(val, "\n");
		enum ac_err perr = ac_json_parse(val, vlen, &rec, NULL);

		ck_assert_int_eq(perr, AC_OK);
	}
	install = ac_json_get_typed(rec, "install", json_type_object);
	ck_assert_ptr_nonnull(install);
	ck_assert_ptr_nonnull(ac_json_get_typed(install, "principal", json_type_object));
	ck_assert_ptr_null(ac_json_get_string(install, "sharedSecret"));
	ck_assert_str_eq(ac_json_get_string(install, "clientKey"), "ck-a");
	ck_assert_str_eq(ac_json_get_string(rec, "sharedSecret"), "secret-2");
	json_object_put(rec);
	free(before);
	free(b1);
	free(b2);
	free(good);
	free(with_new);
}
END_TEST

/* the decoded-record cache is keyed by the record's bytes: every change is seen at once */
struct put_ctx {
	const struct ac_tenant *t;
};

static enum ac_err
put_tenant_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	return ac_tenant_put_txn(txn, st, ((struct put_ctx *)ctx)->t, NULL);
}

static void
put_tenant(const char *ck, const char *secret, enum ac_tenant_state state)
{
	struct ac_tenant t = { 0 };
	struct put_ctx c = { &t };

	t.client_key = (char *)ck;
	t.shared_secret = (char *)secret;
	t.key = (char *)"connect-fcgi";
	t.product = AC_PRODUCT_BITBUCKET;
	t.base_url = (char *)"https://bitbucket.org";
	t.base_api_url = (char *)"https://api.bitbucket.org";
	t.oauth_client_id = (char *)"";
	t.display_url = (char *)"";
	t.state = state;
	t.installed_at = t.updated_at = 1700000000;
	t.uninstalled_at = state == AC_TENANT_UNINSTALLED ? 1700000000 : 0;
	ck_assert_int_eq(ac_store_write(app.store, put_tenant_fn, &c), AC_OK);
}

START_TEST(cached_records_follow_changes)
{
	char ck[32], secret[32];
	int i, round;

	put_tenant("ck-c", "secret-1", AC_TENANT_INSTALLED);
	secret_is("ck-c", "secret-1", AC_TENANT_INSTALLED);
	secret_is("ck-c", "secret-1", AC_TENANT_INSTALLED);
	put_tenant("ck-c", "secret-2", AC_TENANT_INSTALLED);
	secret_is("ck-c", "secret-2", AC_TENANT_INSTALLED);
	put_tenant("ck-c", "secret-2", AC_TENANT_UNINSTALLED);
	secret_is("ck-c", "secret-2", AC_TENANT_UNINSTALLED);
	/* more tenants than the cache holds, twice over: each gets its own record back */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 40; i++) {
			snprintf(ck, sizeof(ck), "ck-%d", i);
			snprintf(secret, sizeof(secret), "secret-%d-%d", i, round);
			put_tenant(ck, secret, AC_TENANT_INSTALLED);
		}
		for (i = 39; i >= 0; i--) {
			snprintf(ck, sizeof(ck), "ck-%d", i);
			snprintf(secret, sizeof(secret), "secret-%d-%d", i, round);
			secret_is(ck, secret, AC_TENANT_INSTALLED);
			secret_is(ck, secret, AC_TENANT_INSTALLED);
		}
	}
	ac_tenant_cache_clear();
	secret_is("ck-c", "secret-2", AC_TENANT_UNINSTALLED);
	secret_is("ck-7", "secret-7-1", AC_TENANT_INSTALLED);
	ac_tenant_cache_clear();
}
END_TEST

START_TEST(victim_reinstall_signed_by_other_tenant)
{
	char *bv = body("installed", "victim", "v-secret", "https://bitbucket.org");
	char *ba = body("installed", "attacker", "a-secret", "https://bitbucket.org");
	char *forged = body("installed", "victim", "attacker-chosen", "https://bitbucket.org");
	char *tok_attacker_iss = token("a-secret", "attacker", "/installed", 3600);
	char *tok_victim_iss = token("a-secret", "victim", "/installed", 3600);
	char *before;

	ck_assert_int_eq(post("/installed", bv, NULL, JSON), 204);
	ck_assert_int_eq(post("/installed", ba, NULL, JSON), 204);
	before = snapshot();
	/* the stored secret is checked first; the attacker's iss is wrong too */
	expect(401, "bad_signature", post("/installed", forged, tok_attacker_iss, JSON));
	expect(401, "bad_signature", post("/installed", forged, tok_victim_iss, JSON));
	assert_unchanged(before);
	secret_is("victim", "v-secret", AC_TENANT_INSTALLED);
	free(before);
	free(bv);
	free(ba);
	free(forged);
	free(tok_attacker_iss);
	free(tok_victim_iss);
}
END_TEST

START_TEST(reinstall_token_checks)
{
	char *b1 = body("installed", "ck", "s1", "https://bitbucket.org");
	char *b2 = body("installed", "ck", "s2", "https://bitbucket.org");
	char *expired = token("s1", "ck", "/installed", -3600);
	char *other_route = token("s1", "ck", "/uninstalled", 3600);
	char *before;

	ck_assert_int_eq(post("/installed", b1, NULL, JSON), 204);
	before = snapshot();
	expect(401, "expired", post("/installed", b2, expired, JSON));
	expect(401, "qsh_mismatch", post("/installed", b2, other_route, JSON));
	expect(401, "token_malformed", post("/installed", b2, "a.b", JSON));
	assert_unchanged(before);
	free(before);
	free(b1);
	free(b2);
	free(expired);
	free(other_route);
}
END_TEST

START_TEST(uninstall_and_reinstall)
{
	char *b1 = body("installed", "ck", "s1", "https://bitbucket.org");
	char *bu = body("uninstalled", "ck", NULL, "https://bitbucket.org");
	char *tu = token("s1", "ck", "/uninstalled", 3600);
	char *ti = token("s1", "ck", "/installed", 3600);
	char *b2 = body("installed", "ck", "s2", "https://bitbucket.org");
	char *before;
	struct ac_tenant t;

	ck_assert_int_eq(post("/installed", b1, NULL, JSON), 204);
	before = snapshot();
	expect(401, "token_missing", post("/uninstalled", bu, NULL, JSON));
	expect(401, "qsh_mismatch", post("/uninstalled", bu, ti, JSON));
	assert_unchanged(before);
	free(before);
	ac_clock_set(1700000500);
	ck_assert_int_eq(post("/uninstalled", bu, tu, JSON), 204);
	ck_assert_int_eq(ac_tenant_get(app.store, "ck", &t), AC_OK);
	ck_assert_int_eq(t.state, AC_TENANT_UNINSTALLED);
	ck_assert_int_eq(t.uninstalled_at, 1700000500);
	ck_assert_str_eq(t.shared_secret, "s1");
	ac_tenant_release(&t);
	/* back, signed with the secret it had */
	ck_assert_int_eq(post("/installed", b2, ti, JSON), 204);
	secret_is("ck", "s2", AC_TENANT_INSTALLED);
	free(b1);
	free(bu);
	free(tu);
	free(ti);
	free(b2);
}
END_TEST

START_TEST(uninstall_unknown)
{
	char *bu = body("uninstalled", "nobody", NULL, "https://bitbucket.org");
	char *tu = token("s1", "nobody", "/uninstalled", 3600);

	expect(401, "unknown_tenant", post("/uninstalled", bu, tu, JSON));
	free(bu);
	free(tu);
}
END_TEST

START_TEST(hosts_not_allowed)
{
	static const char *urls[] = {
		"https://evil.com", "https://bitbucket.org.evil.com", "https://evil.com/bitbucket.org",
		"https://bitbucket.org@evil.com",
	};
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		char *b = body("installed", "ck", "s", urls[i]);
		int st = post("/installed", b, NULL, JSON);

		ck_assert_msg(st == 403 || st == 400, "%s: %d", urls[i], st);
		free(b);
	}
	{
		char *b = body("installed", "ck", "s", "http://bitbucket.org");

		expect(400, "bad_base_url", post("/installed", b, NULL, JSON));
		free(b);
	}
	{
		char *b = body("installed", "ck", "s", "https://evil.com");

		expect(403, "host_not_allowed", post("/installed", b, NULL, JSON));
		free(b);
	}
	{
		struct ac_tenant t;

		ck_assert_int_eq(ac_tenant_get(app.store, "ck", &t), AC_ERR_UNKNOWN_TENANT);
	}
}
END_TEST

START_TEST(bad_bodies)
{
	static const char *cases[][2] = {
		{ "{", "malformed_json" },
		{ "[]", "not_an_object" },
		{ "{\"key\":\"other\"}", "bad_key" },
		{ "{\"key\":\"connect-fcgi\"}", "bad_client_key" },
		{ "{\"key\":\"connect-fcgi\",\"clientKey\":7}", "bad_client_key" },
		{ "{\"key\":\"connect-fcgi\",\"clientKey\":\"c\"}", "bad_shared_secret" },
		{ "{\"key\":\"connect-fcgi\",\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"productType\":\"jira\"}",
		  "bad_product_type" },
		{ "{\"key\":\"connect-fcgi\",\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"productType\":\"bitbucket\","
		  "\"eventType\":\"uninstalled\"}", "bad_event_type" },
		{ "{\"key\":\"connect-fcgi\",\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"productType\":\"bitbucket\","
		  "\"eventType\":\"installed\",\"baseUrl\":[]}", "bad_base_url" },
		{ "{\"key\":\"connect-fcgi\",\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"productType\":\"bitbucket\","
		  "\"eventType\":\"installed\",\"baseUrl\":\"https://bitbucket.org\"}", "bad_base_api_url" },
		{ "{\"key\":\"connect-fcgi\",\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"productType\":\"bitbucket\","
		  "\"eventType\":\"installed\",\"baseUrl\":\"https://bitbucket.org\",\"baseApiUrl\":\"https://api.bitbucket.org\","
		  "\"principal\":\"x\"}", "bad_field" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(post("/installed", cases[i][0], NULL, JSON), 400);
		ck_assert_msg(!strcmp(last_error, cases[i][1]), "case %zu: %s", i, last_error);
	}
	{
		char *b = body("installed", "ck", "s", "https://bitbucket.org");

		expect(415, "unsupported_media_type", post("/installed", b, NULL, "text/plain"));
		ck_assert_int_eq(post("/installed", b, NULL, "application/json; charset=utf-8"), 204);
		free(b);
	}
}
END_TEST

/* b with `extra` spliced in as the last members of its object; caller frees. */
static char *
with_members(const char *b, const char *extra)
{
	size_t n = strlen(b), m = strlen(extra);
	char *s = malloc(n + m + 2);

	memcpy(s, b, n - 1);
	s[n - 1] = ',';
	memcpy(s + n, extra, m);
	s[n + m] = '}';
	s[n + m + 1] = '\0';
	return s;
}

/*
 * One strictness for every JSON read: a lifecycle body is refused for what
 * the webhook scanner refuses (json-c's strict mode alone took these), with
 * the same depth limit, and before anything is stored.
 */
START_TEST(strict_bodies)
{
	static const char *bad[] = {
		"\"description\":NaN", "\"description\":Infinity", "\"description\":-Infinity", "\"n\":1.",
		"'description':\"x\"", "\"description\":'x'", "\"description\":\"a\tb\"", "\"description\":\"a\x01b\"",
		"\"description\":\"\xc0\xaf\"", "\"description\":\"\xed\xa0\x80\"", "\"n\":01", "\"a\\u0000b\":1",
	};
	char *b = body("installed", "ck-strict", "s", "https://bitbucket.org"), *before = snapshot(), *d;
	char deep[1024];
	size_t i, n;
	int levels;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = with_members(b, bad[i]);
		ck_assert_msg(post("/installed", d, NULL, JSON) == 400 && !strcmp(last_error, "malformed_json"),
		    "accepted %s (%s)", bad[i], last_error);
		free(d);
	}
	/* a trailing NUL, trailing garbage */
	{
		const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/installed", "CONTENT_TYPE", JSON,
			"CONTENT_LENGTH", NULL, NULL };
		char cl[32], *nul = malloc(strlen(b) + 2);
		struct fake f;
		struct ac_io io = { f_param, f_read, f_write, &f };

		memcpy(nul, b, strlen(b));
		nul[strlen(b)] = '\0';
		snprintf(cl, sizeof(cl), "%zu", strlen(b) + 1);
		p[7] = cl;
		memset(&f, 0, sizeof(f));
		f.params = p;
		f.in = nul;
		f.inlen = strlen(b) + 1;
		ac_buf_init(&f.out, 1 << 20);
		ac_request_serve(&app, routes, 2, &io);
		ck_assert_int_eq(status_of(ac_buf_str(&f.out)), 400);
		ck_assert_ptr_nonnull(strstr(ac_buf_str(&f.out), "malformed_json"));
		ac_buf_release(&f.out);
		free(nul);
	}
	assert_unchanged(before);
	/* the nesting limit of webhooks (AC_JSON_DEPTH): the body is level 1, principal 2, ... */
	for (levels = AC_JSON_DEPTH; levels <= AC_JSON_DEPTH + 1; levels++) {
		int k;

		n = (size_t)snprintf(deep, sizeof(deep), "\"actor\":");
		for (k = 1; k < levels; k++)
			n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
		deep[n++] = '1';
		for (k = 1; k < levels; k++)
			deep[n++] = '}';
		deep[n] = '\0';
		d = with_members(b, deep);
		ck_assert_int_eq(post("/installed", d, NULL, JSON), levels <= AC_JSON_DEPTH ? 204 : 400);
		free(d);
	}
	free(before);
	free(b);
}
END_TEST

/*
 * A body that json-c would store larger than it came (raw control characters
 * written back as \u00XX grew 6 times past the record limit) is the client's
 * mistake: a 4xx, not a 500 from the store.
 */
START_TEST(no_500_for_big_bodies)
{
	char *b = body("installed", "ck-big", "s", "https://bitbucket.org"), *d, *pad;
	static const char fill[] = { '\x01', '\x1f', '\t', 'x' };
	size_t i, n = AC_LIFECYCLE_BODY_MAX - strlen(b) - 64;
	int st;

	for (i = 0; i < sizeof(fill); i++) {
		pad = malloc(n + 32);
		memcpy(pad, "\"description\":\"", 15);
		memset(pad + 15, fill[i], n);
		memcpy(pad + 15 + n, "\"", 2);
		d = with_members(b, pad);
		st = post("/installed", d, NULL, JSON);
		ck_assert_msg(st == (fill[i] == 'x' ? 204 : 400), "fill %#x: %d %s", fill[i], st, last_error);
		free(d);
		free(pad);
	}
	free(b);
}
END_TEST

/* Dates in a tenant record (from the store or an import) are bounded like NumericDates, not clamped. */
START_TEST(record_dates_bounded)
{
	static const struct {
		const char *date;
		enum ac_err want;
	} dates[] = {
		{ "1700000000", AC_OK }, { "100000000000", AC_OK }, { "100000000001", AC_ERR_INVALID },
		{ "18446744073709551615", AC_ERR_INVALID }, { "9223372036854775807", AC_ERR_INVALID },
		{ "-1", AC_ERR_INVALID }, { "1.5", AC_ERR_INVALID },
	};
	char doc[1024];
	size_t i;

	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		json_object *rec = NULL;
		struct ac_tenant t;
		enum ac_err err;

		snprintf(doc, sizeof(doc), "{\"v\":1,\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"key\":\"k\","
		    "\"baseUrl\":\"https://bitbucket.org\",\"baseApiUrl\":\"\",\"oauthClientId\":\"\",\"displayUrl\":\"\","
		    "\"product\":\"bitbucket\",\"state\":\"uninstalled\",\"installedAt\":1,\"updatedAt\":1,"
		    "\"uninstalledAt\":%s}", dates[i].date);
		ck_assert_int_eq(ac_json_parse(doc, strlen(doc), &rec, NULL), AC_OK);
		err = ac_tenant_from_json(rec, &t, NULL);
		ck_assert_msg(err == dates[i].want, "uninstalledAt %s: %d", dates[i].date, err);
		if (err == AC_OK)
			ac_tenant_release(&t);
		json_object_put(rec);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("bitbucket");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_install_then_signed_reinstall);
	tcase_add_test(tc, victim_reinstall_signed_by_other_tenant);
	tcase_add_test(tc, reinstall_token_checks);
	tcase_add_test(tc, uninstall_and_reinstall);
	tcase_add_test(tc, uninstall_unknown);
	tcase_add_test(tc, hosts_not_allowed);
	tcase_add_test(tc, bad_bodies);
	tcase_add_test(tc, strict_bodies);
	tcase_add_test(tc, no_500_for_big_bodies);
	tcase_add_test(tc, record_dates_bounded);
	tcase_add_test(tc, cached_records_follow_changes);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
