/* test-lifecycle.c: installs through the request layer: TOFU, stored secret, forgeries, replays, install keys. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/canon.h"
#include "base/clock.h"
#include "base/json.h"
#include "routes/lifecycle.h"
#include "store/store.h"
#include "store/store-lmdb.h" /* the records as bytes: they stay byte for byte what they were */
#include "store/tenant.h"
#include "auth/token.h"
#include "request-harness.h"
#include "unit.h"

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
	snprintf(dir, sizeof(dir), "/tmp/test-lifecycle-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("AC_BASE_URL", "https://app.example.com", 1);
	setenv("AC_DATA_DIR", dir, 1);
	setenv("AC_ALLOWED_HOSTS", "bitbucket.org,api.bitbucket.org", 1);
	unsetenv("AC_PRODUCT");
	rh_app_open(&app, &conf, dir, ac_lifecycle_authenticate);
	ac_clock_set(1700000000);
}

static void
teardown(void)
{
	ac_store_close(app.store);
	ac_conf_release(&conf);
	rh_store_remove(dir);
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

/* The claims of a lifecycle call to path: iss, aud, iat (none when iat < 0), exp, qsh. */
static json_object *
claims(const char *iss, const char *aud, const char *path, long iat, long exp)
{
	json_object *c = json_object_new_object();
	struct ac_buf canon;
	char qsh[AC_QSH_HEX_LEN];

	ac_buf_init(&canon, 4096);
	ck_assert_int_eq(ac_canon_inbound("POST", 4, path, strlen(path), "", 0, &canon), AC_OK);
	ac_canon_qsh(canon.data, canon.len, qsh);
	ac_buf_release(&canon);
	json_object_object_add(c, "iss", json_object_new_string(iss));
	json_object_object_add(c, "aud", json_object_new_string(aud));
	if (iat >= 0)
		json_object_object_add(c, "iat", json_object_new_int64(iat));
	json_object_object_add(c, "exp", json_object_new_int64(exp));
	json_object_object_add(c, "qsh", json_object_new_string(qsh));
	return c;
}

/* A token as Bitbucket signs lifecycle calls at iat: iss and aud the clientKey, qsh of the route. */
static char *
token_at(const char *secret, const char *iss, const char *path, long iat, long exp)
{
	json_object *c = claims(iss, iss, path, iat, exp);
	char *out = NULL;

	ck_assert_int_eq(ac_token_sign_hs256(c, secret, strlen(secret), &out), AC_OK);
	json_object_put(c);
	return out;
}

static char *
token(const char *secret, const char *iss, const char *path, long exp_offset)
{
	return token_at(secret, iss, path, (long)ac_clock_now(), (long)ac_clock_now() + exp_offset);
}

static int
post(const char *path, const char *b, const char *tok, const char *ctype)
{
	char auth[4096], cl[32];
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", path, "CONTENT_TYPE", ctype,
		"CONTENT_LENGTH", cl, tok ? "HTTP_AUTHORIZATION" : "X_NONE", auth, NULL };
	struct fake f = { p, b, strlen(b), 0, 0, { 0 } };
	struct ac_io io = FAKE_IO(&f);
	int status;

	snprintf(cl, sizeof(cl), "%zu", strlen(b));
	snprintf(auth, sizeof(auth), "JWT %s", tok ? tok : "");
	ac_buf_init(&f.out, 1 << 20);
	ac_request_serve(&app, routes, 2, &io);
	status = rh_status(ac_buf_str(&f.out));
	rh_error_code(ac_buf_str(&f.out), last_error, sizeof(last_error));
	ac_buf_release(&f.out);
	return status;
}

static void
dump_db(MDB_txn *txn, struct ac_store *st, enum ac_db db, struct ac_buf *b)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	ck_assert_int_eq(mdb_cursor_open(txn, ac_store_dbi(st, db), &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		ac_buf_add(b, k.mv_data, k.mv_size);
		ac_buf_addc(b, '=');
		ac_buf_add(b, v.mv_data, v.mv_size);
		ac_buf_addc(b, '\n');
	}
	mdb_cursor_close(cur);
}

/*
 * Every byte of the tenants database, to prove a refused request changed
 * nothing; then, after a blank line, the remembered lifecycle tokens.
 */
static enum ac_err
dump_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct ac_buf *b = ctx;

	dump_db(txn, st, AC_DB_TENANTS, b);
	ac_buf_addc(b, '\n');
	dump_db(txn, st, AC_DB_LIFECYCLE_SEEN, b);
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
put_tenant_fn(struct ac_txn *txn, void *ctx)
{
	return ac_tenant_put_txn(txn, ((struct put_ctx *)ctx)->t, NULL);
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
	ck_assert_int_eq(ac_store_update(app.store, put_tenant_fn, &c), AC_OK);
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

/* ------------------------------------------------------------------ replays (issue 13, 6) */

static void
secret_and_record(const char *ck, const char *secret, enum ac_tenant_state state, int64_t iat)
{
	struct ac_tenant t;

	ck_assert_int_eq(ac_tenant_get(app.store, ck, &t), AC_OK);
	ck_assert_str_eq(t.shared_secret, secret);
	ck_assert_int_eq(t.state, state);
	ck_assert_int_eq(t.lifecycle_iat, iat);
	ac_tenant_release(&t);
}

/* The number of lifecycle tokens remembered. */
static enum ac_err
count_seen_fn(const struct ac_seen *e, void *ctx)
{
	(void)e;
	(*(size_t *)ctx)++;
	return AC_OK;
}

static size_t
seen_count(void)
{
	size_t n = 0;

	ck_assert_int_eq(ac_seen_list(app.store, count_seen_fn, &n), AC_OK);
	return n;
}

/*
 * A reinstall that keeps the secret leaves its token valid with the stored
 * secret until exp: replayed with the attacker's secret in the body, it used
 * to replace the secret. Now it is refused and nothing changes.
 */
START_TEST(bitbucket_replay_with_another_body)
{
	char *b1 = body("installed", "ck-r", "s1", "https://bitbucket.org");
	char *evil = body("installed", "ck-r", "attacker", "https://bitbucket.org");
	char *evil2 = body("installed", "ck-r", "s1", "https://api.bitbucket.org");
	char *t = token("s1", "ck-r", "/installed", 3600);
	char *before;

	ck_assert_int_eq(post("/installed", b1, NULL, JSON), 204);
	ac_clock_set(1700000010);
	ck_assert_int_eq(post("/installed", b1, t, JSON), 204);
	secret_and_record("ck-r", "s1", AC_TENANT_INSTALLED, 1700000000);
	ck_assert_uint_eq(seen_count(), 1);
	before = snapshot();
	ac_clock_set(1700000020);
	expect(401, "token_replayed", post("/installed", evil, t, JSON));
	/* any other body, even one that only moves baseUrl */
	expect(401, "token_replayed", post("/installed", evil2, t, JSON));
	assert_unchanged(before);
	secret_is("ck-r", "s1", AC_TENANT_INSTALLED);
	free(before);
	free(b1);
	free(evil);
	free(evil2);
	free(t);
}
END_TEST

/* A first install signed with its new secret (TOFU): that secret is then the stored one. */
START_TEST(bitbucket_first_install_token_replayed)
{
	char *b1 = body("installed", "ck-f", "s1", "https://bitbucket.org");
	char *evil = body("installed", "ck-f", "attacker", "https://bitbucket.org");
	char *t = token("s1", "ck-f", "/installed", 3600);
	char *before;

	ck_assert_int_eq(post("/installed", b1, t, JSON), 204);
	before = snapshot();
	expect(401, "token_replayed", post("/installed", evil, t, JSON));
	assert_unchanged(before);
	secret_is("ck-f", "s1", AC_TENANT_INSTALLED);
	free(before);
	free(b1);
	free(evil);
	free(t);
}
END_TEST

/* The product retrying a call it got no answer for: 204 again, nothing written. */
START_TEST(exact_retry_is_idempotent)
{
	char *b1 = body("installed", "ck-i", "s1", "https://bitbucket.org");
	char *b2 = body("installed", "ck-i", "s2", "https://bitbucket.org");
	char *bu = body("uninstalled", "ck-i", NULL, "https://bitbucket.org");
	char *t = token("s1", "ck-i", "/installed", 3600);
	char *tu, *before;

	ck_assert_int_eq(post("/installed", b1, NULL, JSON), 204);
	ac_clock_set(1700000005);
	ck_assert_int_eq(post("/installed", b2, t, JSON), 204);
	secret_and_record("ck-i", "s2", AC_TENANT_INSTALLED, 1700000000);
	before = snapshot();
	ac_clock_set(1700000050);
	ck_assert_int_eq(post("/installed", b2, t, JSON), 204);
	assert_unchanged(before);
	/* still a retry after a newer call: answered, and the newer state stays */
	tu = token("s2", "ck-i", "/uninstalled", 3600);
	ck_assert_int_eq(post("/uninstalled", bu, tu, JSON), 204);
	secret_and_record("ck-i", "s2", AC_TENANT_UNINSTALLED, 1700000050);
	free(before);
	before = snapshot();
	ck_assert_int_eq(post("/installed", b2, t, JSON), 204);
	ck_assert_int_eq(post("/uninstalled", bu, tu, JSON), 204);
	assert_unchanged(before);
	secret_is("ck-i", "s2", AC_TENANT_UNINSTALLED);
	free(before);
	free(b1);
	free(b2);
	free(bu);
	free(t);
	free(tu);
}
END_TEST

/* A token never used but older than the last call accepted: held back, then replayed. */
START_TEST(older_iat_refused)
{
	char *b1 = body("installed", "ck-o", "s1", "https://bitbucket.org");
	char *b2 = body("installed", "ck-o", "s1", "https://api.bitbucket.org");
	char *evil = body("installed", "ck-o", "attacker", "https://bitbucket.org");
	char *bu = body("uninstalled", "ck-o", NULL, "https://bitbucket.org");
	char *old_install = token_at("s1", "ck-o", "/installed", 1700000001, 1700003600);
	char *old_uninstall = token_at("s1", "ck-o", "/uninstalled", 1700000002, 1700003600);
	char *newer = token_at("s1", "ck-o", "/installed", 1700000003, 1700003600);
	char *same_second = token_at("s1", "ck-o", "/uninstalled", 1700000003, 1700003601);
	char *no_iat = token_at("s1", "ck-o", "/installed", -1, 1700003600);
	char *before;

	ck_assert_int_eq(post("/installed", b1, NULL, JSON), 204);
	ac_clock_set(1700000010);
	ck_assert_int_eq(post("/installed", b2, newer, JSON), 204);
	secret_and_record("ck-o", "s1", AC_TENANT_INSTALLED, 1700000003);
	before = snapshot();
	expect(401, "token_replayed", post("/installed", evil, old_install, JSON));
	expect(401, "token_replayed", post("/uninstalled", bu, old_uninstall, JSON));
	expect(401, "claim_missing", post("/installed", evil, no_iat, JSON));
	assert_unchanged(before);
	secret_is("ck-o", "s1", AC_TENANT_INSTALLED);
	/* the same second is not older: two calls can be signed in one */
	ck_assert_int_eq(post("/uninstalled", bu, same_second, JSON), 204);
	secret_and_record("ck-o", "s1", AC_TENANT_UNINSTALLED, 1700000003);
	free(before);
	free(b1);
	free(b2);
	free(evil);
	free(bu);
	free(old_install);
	free(old_uninstall);
	free(newer);
	free(same_second);
	free(no_iat);
}
END_TEST

/* lifecycleIat: optional (older records), written only when set, typed like the other dates. */
START_TEST(record_lifecycle_iat)
{
	static const struct {
		const char *member;
		enum ac_err want;
		int64_t iat;
	} cases[] = {
		{ "", AC_OK, 0 }, { ",\"lifecycleIat\":1700000000", AC_OK, 1700000000 },
		{ ",\"lifecycleIat\":\"1700000000\"", AC_ERR_INVALID, 0 }, { ",\"lifecycleIat\":-1", AC_ERR_INVALID, 0 },
		{ ",\"lifecycleIat\":1.5", AC_ERR_INVALID, 0 },
	};
	char doc[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *rec = NULL, *back = NULL;
		struct ac_tenant t;
		enum ac_err err;

		snprintf(doc, sizeof(doc), "{\"v\":1,\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"key\":\"k\","
		    "\"baseUrl\":\"https://bitbucket.org\",\"baseApiUrl\":\"\",\"oauthClientId\":\"\",\"displayUrl\":\"\","
		    "\"product\":\"bitbucket\",\"state\":\"installed\",\"installedAt\":1,\"updatedAt\":1,"
		    "\"uninstalledAt\":0%s}", cases[i].member);
		ck_assert_int_eq(ac_json_parse(doc, strlen(doc), &rec, NULL), AC_OK);
		err = ac_tenant_from_json(rec, &t, NULL);
		ck_assert_msg(err == cases[i].want, "case %zu: %d", i, err);
		if (err == AC_OK) {
			ck_assert_int_eq(t.lifecycle_iat, cases[i].iat);
			ck_assert_int_eq(ac_tenant_to_json(&t, NULL, &back), AC_OK);
			ck_assert_int_eq(json_object_object_get_ex(back, "lifecycleIat", NULL), cases[i].iat != 0);
			json_object_put(back);
			ac_tenant_release(&t);
		}
		json_object_put(rec);
	}
}
END_TEST

/* body() with "installationId": raw (JSON text) appended. */
static char *
body_iid(const char *ck, const char *secret, const char *raw)
{
	char *b = body("installed", ck, secret, "https://bitbucket.org"), *s = malloc(1400);

	snprintf(s, 1400, "%.*s,\"installationId\":%s}", (int)strlen(b) - 1, b, raw);
	free(b);
	return s;
}

static void
installation_id_is(const char *ck, const char *want)
{
	struct ac_tenant t;

	ck_assert_int_eq(ac_tenant_get(app.store, ck, &t), AC_OK);
	ck_assert_str_eq(t.installation_id, want);
	ac_tenant_release(&t);
}

#define IID1 "ari:cloud:ecosystem::installation/0b9ec8c5-7c3e-4f0f-9b5e-2a7c7d1e3f40"
#define IID2 "ari:cloud:ecosystem::installation/5d1f7a8e-1111-4c2b-8f6a-9e0d3c2b1a00"

/*
 * Connect on Forge: /installed keeps the body's installationId (the link to
 * the Forge installation); a reinstall with another replaces it; an
 * uninstall keeps it; a malformed one is refused and changes nothing.
 */
START_TEST(installation_id_kept)
{
	static const char *bad[] = {
		"7", "[]", "{}", "\"\"", "\"0b9ec8c5-7c3e-4f0f-9b5e-2a7c7d1e3f40\"",
		"\"ari:cloud:ecosystem::app/0b9ec8c5-7c3e-4f0f-9b5e-2a7c7d1e3f40\"",
		"\"ari:cloud:ecosystem::installation/0b9ec8c5-7c3e-4f0f-9b5e-2a7c7d1e3f4\"",
		"\"ari:cloud:ecosystem::installation/0b9ec8c5-7c3e-4f0f-9b5e-2a7c7d1e3f40x\"",
		"\"ari:cloud:ecosystem::installation/0b9ec8c5-7c3e-4f0f-9b5e-2a7c7d1e3f4g\"",
		"\"ari:cloud:ecosystem::installation/0b9ec8c5_7c3e-4f0f-9b5e-2a7c7d1e3f40\"",
		"\"ari:cloud:ecosystem::installation/0b9ec8c5-7c3e-4f0f-9b5e-2a7c7d1e3f40\\u0000\"",
		"\" " IID1 "\"", "\"ARI:cloud:ecosystem::installation/0b9ec8c5-7c3e-4f0f-9b5e-2a7c7d1e3f40\"",
	};
	char *b1 = body_iid("ck-i", "s1", "\"" IID1 "\"");
	char *b2 = body_iid("ck-i", "s1", "\"" IID2 "\"");
	char *bn = body_iid("ck-n", "s1", "null");
	char *bu = body("uninstalled", "ck-i", NULL, "https://bitbucket.org");
	char *t1 = token("s1", "ck-i", "/installed", 3600);
	char *tu = token("s1", "ck-i", "/uninstalled", 3600);
	char *before, *b;
	json_object *rec = NULL;
	size_t i;

	ck_assert_int_eq(post("/installed", b1, NULL, JSON), 204);
	installation_id_is("ck-i", IID1);
	ck_assert_int_eq(ac_tenant_get_record(app.store, "ck-i", &rec), AC_OK);
	ck_assert_str_eq(ac_json_get_string(rec, "installationId"), IID1);
	json_object_put(rec);
	/* null is absent: nothing kept, no member written */
	ck_assert_int_eq(post("/installed", bn, NULL, JSON), 204);
	installation_id_is("ck-n", "");
	ck_assert_int_eq(ac_tenant_get_record(app.store, "ck-n", &rec), AC_OK);
	ck_assert(!json_object_object_get_ex(rec, "installationId", NULL));
	json_object_put(rec);

	before = snapshot();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = body_iid("ck-i", "s1", bad[i]);
		ck_assert_int_eq(post("/installed", b, t1, JSON), 400);
		ck_assert_msg(!strcmp(last_error, "bad_field"), "case %zu: %s", i, last_error);
		assert_unchanged(before);
		b[0] = '\0';
		free(b);
	}
	free(before);
	/* installationId changes on reinstall (doc/protocol.md §11): the new one replaces the old */
	ac_clock_set(1700000100);
	free(t1);
	t1 = token("s1", "ck-i", "/installed", 3600);
	ck_assert_int_eq(post("/installed", b2, t1, JSON), 204);
	installation_id_is("ck-i", IID2);
	ac_clock_set(1700000200);
	free(tu);
	tu = token("s1", "ck-i", "/uninstalled", 3600);
	ck_assert_int_eq(post("/uninstalled", bu, tu, JSON), 204);
	installation_id_is("ck-i", IID2);
	free(b1);
	free(b2);
	free(bn);
	free(bu);
	free(t1);
	free(tu);
}
END_TEST

/* A record without installationId reads and writes back byte for byte as before it existed. */
START_TEST(record_without_installation_id_unchanged)
{
	static const char *docs[] = {
		"{\"v\":1,\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"key\":\"k\",\"baseUrl\":\"https://bitbucket.org\","
		"\"baseApiUrl\":\"\",\"oauthClientId\":\"\",\"displayUrl\":\"\",\"product\":\"bitbucket\","
		"\"state\":\"installed\",\"installedAt\":1,\"updatedAt\":1,\"uninstalledAt\":0}",
		"{\"v\":1,\"clientKey\":\"c\",\"sharedSecret\":\"s\",\"key\":\"k\",\"baseUrl\":\"https://bitbucket.org\","
		"\"baseApiUrl\":\"\",\"oauthClientId\":\"\",\"displayUrl\":\"\",\"installationId\":\"" IID1 "\","
		"\"product\":\"bitbucket\",\"state\":\"installed\",\"installedAt\":1,\"updatedAt\":1,\"uninstalledAt\":0}",
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_object *rec = NULL, *back = NULL;
		struct ac_tenant t;

		ck_assert_int_eq(ac_json_parse(docs[i], strlen(docs[i]), &rec, NULL), AC_OK);
		ck_assert_int_eq(ac_tenant_from_json(rec, &t, NULL), AC_OK);
		ck_assert_str_eq(t.installation_id, i ? IID1 : "");
		ck_assert_int_eq(ac_tenant_to_json(&t, NULL, &back), AC_OK);
		ck_assert_str_eq(json_object_to_json_string_ext(back, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		    docs[i]);
		json_object_put(back);
		json_object_put(rec);
		ac_tenant_release(&t);
	}
}
END_TEST

/* Remembered tokens are purged once expired, a bounded number per accepted call. */
START_TEST(seen_tokens_purged_after_expiry)
{
	char *b = body("installed", "ck-p", "s1", "https://bitbucket.org");
	char *t;
	int i;

	ck_assert_int_eq(post("/installed", b, NULL, JSON), 204);
	for (i = 0; i < 20; i++) {
		ac_clock_set(1700000000 + i);
		t = token("s1", "ck-p", "/installed", 3600);
		ck_assert_int_eq(post("/installed", b, t, JSON), 204);
		free(t);
	}
	ck_assert_uint_eq(seen_count(), 20);
	/* before exp + leeway + margin: all kept */
	ac_clock_set(1700003600 + 60);
	t = token("s1", "ck-p", "/installed", 3600);
	ck_assert_int_eq(post("/installed", b, t, JSON), 204);
	free(t);
	ck_assert_uint_eq(seen_count(), 21);
	/* long after: the next call removes at most 16, then the rest */
	ac_clock_set(1700010000);
	t = token("s1", "ck-p", "/installed", 3600);
	ck_assert_int_eq(post("/installed", b, t, JSON), 204);
	free(t);
	ck_assert_uint_eq(seen_count(), 21 + 1 - 16);
	ac_clock_set(1700010001);
	t = token("s1", "ck-p", "/installed", 3600);
	ck_assert_int_eq(post("/installed", b, t, JSON), 204);
	free(t);
	ck_assert_uint_eq(seen_count(), 2);
	free(b);
}
END_TEST

/* ------------------------------------------------------------------ Jira signed installs (issue 13, 7) */

#define KID_OK "11111111-2222-4333-8444-555555555555"

static EVP_PKEY *rsa;
static char pem[4096];
static pid_t server = -1;
static int counter[2] = { -1, -1 }; /* the key server writes one byte per request */

/* GET /keys/{kid}: KID_OK has the key, a kid starting with 5 is a 503, 4 a 403, 6 a 429, any other a 404. */
static void
serve(int lfd)
{
	for (;;) {
		char req[4096], resp[8192];
		const char *p;
		int c = accept(lfd, NULL, NULL), n, status;
		ssize_t got = 0, r;

		if (c < 0)
			continue;
		while ((r = read(c, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
			got += r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[got] = '\0';
		if (write(counter[1], "x", 1) != 1)
			_exit(1);
		p = strstr(req, "/keys/");
		p = p ? p + 6 : "";
		status = !strncmp(p, KID_OK, strlen(KID_OK)) ? 200 : *p == '5' ? 503 : *p == '4' ? 403 : *p == '6' ? 429 : 404;
		n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    status, status == 200 ? strlen(pem) : 0, status == 200 ? pem : "");
		if (write(c, resp, (size_t)n) != n)
			_exit(1);
		close(c);
	}
}

static int
fetches(void)
{
	char b[256];
	ssize_t r;
	int n = 0;

	while ((r = read(counter[0], b, sizeof(b))) > 0)
		n += (int)r;
	return n;
}

static int total_fetches;

/* Key server requests since the last call. */
static int
new_fetches(void)
{
	int n = fetches();

	total_fetches += n;
	return n;
}

static void
jira_setup(void)
{
	char url[128];
	int lfd, port;

	if (rsa == NULL) {
		BIO *bio = BIO_new(BIO_s_mem());
		int n;

		ck_assert_ptr_nonnull(rsa = EVP_RSA_gen(2048));
		ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, rsa), 1);
		n = BIO_read(bio, pem, sizeof(pem) - 1);
		ck_assert_int_gt(n, 0);
		pem[n] = '\0';
		BIO_free(bio);
	}
	lfd = rh_listen_loopback(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/keys", port);
	ck_assert_int_eq(pipe(counter), 0);
	ck_assert_int_eq(fcntl(counter[0], F_SETFL, fcntl(counter[0], F_GETFL) | O_NONBLOCK), 0);
	if ((server = fork()) == 0) {
		close(counter[0]);
		serve(lfd);
	}
	close(lfd);
	total_fetches = 0;

	snprintf(dir, sizeof(dir), "/tmp/test-lifecycle-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("AC_BASE_URL", "https://app.example.com", 1);
	setenv("AC_DATA_DIR", dir, 1);
	setenv("AC_ALLOWED_HOSTS", "site.atlassian.net,127.0.0.1", 1);
	setenv("AC_PRODUCT", "jira", 1);
	setenv("AC_INSTALL_KEYS_URL", url, 1);
	rh_app_open(&app, &conf, dir, ac_lifecycle_authenticate);
	ac_clock_set(1700000000);
}

static void
jira_teardown(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
	close(counter[0]);
	close(counter[1]);
	unsetenv("AC_PRODUCT");
	unsetenv("AC_INSTALL_KEYS_URL");
	teardown();
}

static char *
jira_body(const char *event, const char *ck, const char *secret)
{
	char *s = malloc(1024);

	snprintf(s, 1024, "{\"key\":\"connect-fcgi\",\"clientKey\":\"%s\",%s%s%s\"baseUrl\":\"https://site.atlassian.net\","
	    "\"productType\":\"jira\",\"eventType\":\"%s\",\"description\":\"x\"}",
	    ck, secret ? "\"sharedSecret\":\"" : "", secret ? secret : "", secret ? "\"," : "", event);
	return s;
}

static void
b64url(const unsigned char *p, size_t n, struct ac_buf *out)
{
	unsigned char enc[4096];
	int len, i;

	ck_assert_uint_lt(n, sizeof(enc) / 4 * 3 - 3);
	len = EVP_EncodeBlock(enc, p, (int)n);
	for (i = 0; i < len && enc[i] != '='; i++)
		ac_buf_addc(out, enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : (char)enc[i]);
}

/* RS256 as Jira signs installs, with the test key, claims c (consumed). */
static char *
rs256(const char *kid, json_object *c)
{
	char header[128];
	const char *json = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	struct ac_buf b;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *out = NULL;

	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	ac_buf_init(&b, 1 << 16);
	b64url((const unsigned char *)header, strlen(header), &b);
	ac_buf_addc(&b, '.');
	b64url((const unsigned char *)json, strlen(json), &b);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, rsa), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)b.data, b.len), 1);
	EVP_MD_CTX_free(ctx);
	ac_buf_addc(&b, '.');
	b64url(sig, siglen, &b);
	ck_assert_int_eq(ac_buf_detach(&b, &out, NULL), AC_OK);
	json_object_put(c);
	return out;
}

/* A good signed install of ck to path, at the test clock. */
static char *
jira_token(const char *kid, const char *ck, const char *path)
{
	long now = (long)ac_clock_now();

	return rs256(kid, claims(ck, "https://app.example.com", path, now, now + 180));
}

/* An unknown kid of the 404 kind, a new one each call. */
static const char *
fresh_kid(void)
{
	static char kid[40];
	static unsigned n;

	snprintf(kid, sizeof(kid), "00000000-0000-4000-8000-%012u", ++n);
	return kid;
}

START_TEST(jira_install_and_key_cached)
{
	char *b = jira_body("installed", "j-1", "s1");
	char *t = jira_token(KID_OK, "j-1", "/installed");
	char *t2;

	ck_assert_int_eq(post("/installed", b, t, JSON), 204);
	ck_assert_int_eq(new_fetches(), 1);
	secret_and_record("j-1", "s1", AC_TENANT_INSTALLED, 1700000000);
	ac_clock_set(1700000001);
	t2 = jira_token(KID_OK, "j-1", "/installed");
	ck_assert_int_eq(post("/installed", b, t2, JSON), 204);
	ck_assert_int_eq(new_fetches(), 0);
	free(b);
	free(t);
	free(t2);
}
END_TEST

/* Claims that cannot pass are refused before the key is fetched, whatever the kid. */
START_TEST(jira_claims_refused_before_any_fetch)
{
	char *b = jira_body("installed", "j-2", "s1");
	long now = (long)ac_clock_now();
	struct {
		json_object *c;
		const char *code;
	} cases[] = {
		{ claims("j-2", "https://app.example.com", "/installed", now - 900, now - 600), "expired" },
		{ claims("j-2", "https://other.example.com", "/installed", now, now + 180), "aud_mismatch" },
		{ claims("j-other", "https://app.example.com", "/installed", now, now + 180), "iss_mismatch" },
		{ claims("j-2", "https://app.example.com", "/uninstalled", now, now + 180), "qsh_mismatch" },
		{ claims("j-2", "https://app.example.com", "/installed", now + 3600, now + 4000), "not_yet_valid" },
		{ claims("j-2", "https://app.example.com", "/installed", -1, now + 180), "claim_missing" },
	};
	size_t i;
	int k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *again = NULL;
		char *t;

		ck_assert_int_eq(json_object_deep_copy(cases[i].c, &again, NULL), 0);
		/* a fresh unknown kid, and the known one not yet cached */
		for (k = 0; k < 2; k++) {
			t = rs256(k ? KID_OK : fresh_kid(), k ? again : cases[i].c);
			ck_assert_int_eq(post("/installed", b, t, JSON), 401);
			ck_assert_msg(!strcmp(last_error, cases[i].code), "case %zu: %s", i, last_error);
			free(t);
		}
	}
	ck_assert_int_eq(new_fetches(), 0);
	{
		struct ac_tenant t;

		ck_assert_int_eq(ac_tenant_get(app.store, "j-2", &t), AC_ERR_UNKNOWN_TENANT);
	}
	free(b);
}
END_TEST

/*
 * What the store already refuses costs no fetch either: an uninstall of a
 * clientKey never installed, a token older than the last call accepted. A
 * retry of an accepted token still gets its 204, even after a newer call.
 */
START_TEST(jira_store_refusals_before_any_fetch)
{
	char *bu = jira_body("uninstalled", "j-none", NULL), *bi = jira_body("installed", "j-st", "s1");
	char *evil = jira_body("installed", "j-st", "attacker");
	long now = (long)ac_clock_now();
	char *t, *first, *before;

	t = rs256(fresh_kid(), claims("j-none", "https://app.example.com", "/uninstalled", now, now + 180));
	expect(401, "unknown_tenant", post("/uninstalled", bu, t, JSON));
	free(t);
	ck_assert_int_eq(new_fetches(), 0);

	first = rs256(KID_OK, claims("j-st", "https://app.example.com", "/installed", now - 5, now + 180));
	ck_assert_int_eq(post("/installed", bi, first, JSON), 204);
	t = jira_token(KID_OK, "j-st", "/installed");
	ck_assert_int_eq(post("/installed", bi, t, JSON), 204);
	free(t);
	ck_assert_int_eq(new_fetches(), 1);
	before = snapshot();
	/* older than the last call, under a kid never fetched */
	t = rs256(fresh_kid(), claims("j-st", "https://app.example.com", "/installed", now - 1, now + 180));
	expect(401, "token_replayed", post("/installed", evil, t, JSON));
	free(t);
	ck_assert_int_eq(new_fetches(), 0);
	/* the older first token: its retry is answered, its replay refused */
	ck_assert_int_eq(post("/installed", bi, first, JSON), 204);
	expect(401, "token_replayed", post("/installed", evil, first, JSON));
	assert_unchanged(before);
	secret_is("j-st", "s1", AC_TENANT_INSTALLED);
	free(before);
	free(first);
	free(bu);
	free(bi);
	free(evil);
}
END_TEST

/* A kid the key server does not know: fetched once, remembered for a minute, then asked again. */
START_TEST(jira_unknown_kid_remembered)
{
	char *b = jira_body("installed", "j-3", "s1");
	const char *kid = fresh_kid();
	char *t;
	int i;

	for (i = 0; i < 3; i++) {
		ac_clock_set(1700000000 + i * 29);
		t = jira_token(kid, "j-3", "/installed");
		expect(401, "unknown_key", post("/installed", b, t, JSON));
		free(t);
		ck_assert_int_eq(new_fetches(), i == 0 ? 1 : 0);
	}
	ac_clock_set(1700000061);
	t = jira_token(kid, "j-3", "/installed");
	expect(401, "unknown_key", post("/installed", b, t, JSON));
	free(t);
	ck_assert_int_eq(new_fetches(), 1);
	free(b);
}
END_TEST

/* A key server failure is remembered briefly: a flood during an outage does not pile up on it. */
START_TEST(jira_key_server_failure_remembered_briefly)
{
	static const char *kid = "50000000-0000-4000-8000-000000000001";
	char *b = jira_body("installed", "j-4", "s1");
	char *t;

	t = jira_token(kid, "j-4", "/installed");
	expect(503, "key_server_unavailable", post("/installed", b, t, JSON));
	expect(503, "key_server_unavailable", post("/installed", b, t, JSON));
	free(t);
	ck_assert_int_eq(new_fetches(), 1);
	ac_clock_set(1700000011);
	t = jira_token(kid, "j-4", "/installed");
	expect(503, "key_server_unavailable", post("/installed", b, t, JSON));
	free(t);
	ck_assert_int_eq(new_fetches(), 1);
	free(b);
}
END_TEST

/* Other answers: a 403 (our URL is wrong) is not unknown_key but waits a minute; a 429 a few seconds. */
START_TEST(jira_key_server_refusals)
{
	static const char *forbidden = "40000000-0000-4000-8000-000000000001";
	static const char *busy = "60000000-0000-4000-8000-000000000001";
	char *b = jira_body("installed", "j-8", "s1");
	char *t1 = jira_token(forbidden, "j-8", "/installed"), *t2 = jira_token(busy, "j-8", "/installed");

	expect(503, "key_server_unavailable", post("/installed", b, t1, JSON));
	expect(503, "key_server_unavailable", post("/installed", b, t2, JSON));
	ck_assert_int_eq(new_fetches(), 2);
	free(t1);
	free(t2);
	ac_clock_set(1700000030);
	t1 = jira_token(forbidden, "j-8", "/installed");
	t2 = jira_token(busy, "j-8", "/installed");
	expect(503, "key_server_unavailable", post("/installed", b, t1, JSON));
	expect(503, "key_server_unavailable", post("/installed", b, t2, JSON));
	ck_assert_int_eq(new_fetches(), 1);
	free(t1);
	free(t2);
	free(b);
}
END_TEST

/* Fresh random kids with claims that pass: at most 10 fetches a minute for the host. */
START_TEST(jira_fetches_capped_per_minute)
{
	char *b = jira_body("installed", "j-5", "s1");
	char *t;
	int i;

	t = jira_token(KID_OK, "j-5", "/installed");
	ck_assert_int_eq(post("/installed", b, t, JSON), 204);
	free(t);
	for (i = 0; i < 9; i++) {
		t = jira_token(fresh_kid(), "j-5", "/installed");
		expect(401, "unknown_key", post("/installed", b, t, JSON));
		free(t);
	}
	ck_assert_int_eq(new_fetches(), 10);
	ac_clock_set(1700000030);
	for (i = 0; i < 5; i++) {
		t = jira_token(fresh_kid(), "j-5", "/installed");
		expect(503, "key_server_unavailable", post("/installed", b, t, JSON));
		free(t);
	}
	ck_assert_int_eq(new_fetches(), 0);
	/* a cached key still works meanwhile */
	t = jira_token(KID_OK, "j-5", "/installed");
	ck_assert_int_eq(post("/installed", b, t, JSON), 204);
	free(t);
	ac_clock_set(1700000060);
	t = jira_token(fresh_kid(), "j-5", "/installed");
	expect(401, "unknown_key", post("/installed", b, t, JSON));
	free(t);
	ck_assert_int_eq(new_fetches(), 1);
	free(b);
}
END_TEST

/*
 * The programs of a host are separate processes: the fetch cap and the
 * memory of a kid are shared through the store. 6 processes send 4 fresh
 * kids each (24 > 10), then 6 send the same unknown kid 3 times each.
 */
static int
child_posts(int n, const char *same_kid)
{
	struct ac_store *inherited = app.store, *own;
	char *b;
	int i, failed = 0;

	/* a store per process, as every program opens its own after fork */
	if (ac_store_open(dir, 0, AC_STORE_NOSYNC, &own) != AC_OK)
		return 2;
	app.store = own;
	b = jira_body("installed", "j-7", "s1");
	for (i = 0; i < n; i++) {
		char kid[40], *t;
		int st;

		snprintf(kid, sizeof(kid), "00000000-0000-4000-9000-%06d%06d", (int)getpid() % 1000000, i);
		t = jira_token(same_kid ? same_kid : kid, "j-7", "/installed");
		st = post("/installed", b, t, JSON);
		free(t);
		if (st != 401 && st != 503)
			failed = 1;
	}
	free(b);
	ac_store_close(own);
	app.store = inherited; /* (memcheck in the child: nothing lost) */
	return failed;
}

static void
run_children(int nkids, int n, const char *same_kid)
{
	pid_t kids[8];
	int i, status, ok = 0;

	for (i = 0; i < nkids; i++)
		if ((kids[i] = fork()) == 0)
			_exit(child_posts(n, same_kid));
	for (i = 0; i < nkids; i++)
		if (waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	ck_assert_int_eq(ok, nkids);
}

START_TEST(jira_fetch_memory_shared_by_processes)
{
	run_children(6, 4, NULL);
	ck_assert_int_eq(new_fetches(), 10);
	ac_clock_set(1700000060);
	run_children(6, 3, "00000000-0000-4000-a000-000000000001");
	ck_assert_int_eq(new_fetches(), 1);
}
END_TEST

/* A signed install replayed with another body within its lifetime: refused, nothing changes. */
START_TEST(jira_replay_refused)
{
	char *b1 = jira_body("installed", "j-6", "s1");
	char *evil = jira_body("installed", "j-6", "attacker");
	char *bu = jira_body("uninstalled", "j-6", NULL);
	char *t = jira_token(KID_OK, "j-6", "/installed");
	char *older = rs256(KID_OK, claims("j-6", "https://app.example.com", "/installed", 1699999990, 1700000170));
	char *tu, *before;

	ck_assert_int_eq(post("/installed", b1, t, JSON), 204);
	before = snapshot();
	ac_clock_set(1700000060);
	expect(401, "token_replayed", post("/installed", evil, t, JSON));
	expect(401, "token_replayed", post("/installed", evil, older, JSON));
	assert_unchanged(before);
	secret_is("j-6", "s1", AC_TENANT_INSTALLED);
	/* the product's retry */
	ck_assert_int_eq(post("/installed", b1, t, JSON), 204);
	assert_unchanged(before);
	tu = jira_token(KID_OK, "j-6", "/uninstalled");
	ck_assert_int_eq(post("/uninstalled", bu, tu, JSON), 204);
	free(before);
	before = snapshot();
	expect(401, "token_replayed", post("/installed", evil, t, JSON));
	assert_unchanged(before);
	secret_is("j-6", "s1", AC_TENANT_UNINSTALLED);
	ck_assert_int_eq(new_fetches(), 1);
	free(before);
	free(b1);
	free(evil);
	free(bu);
	free(t);
	free(older);
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
		/* a name twice (json-c keeps the last, a checker may read the first), at any level, decoded */
		"\"clientKey\":\"ck-other\"", "\"sharedSecret\":\"evil\"", "\"cl\\u0069entKey\":\"ck-other\"",
		"\"eventType\":\"installed\"", "\"actor\":{\"uuid\":\"a\",\"uuid\":\"b\"}",
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
		struct ac_io io = FAKE_IO(&f);

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
		ck_assert_int_eq(rh_status(ac_buf_str(&f.out)), 400);
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
	tcase_add_test(tc, bitbucket_replay_with_another_body);
	tcase_add_test(tc, bitbucket_first_install_token_replayed);
	tcase_add_test(tc, exact_retry_is_idempotent);
	tcase_add_test(tc, older_iat_refused);
	tcase_add_test(tc, seen_tokens_purged_after_expiry);
	tcase_add_test(tc, record_lifecycle_iat);
	tcase_add_test(tc, installation_id_kept);
	tcase_add_test(tc, record_without_installation_id_unchanged);
	tcase_add_test(tc, hosts_not_allowed);
	tcase_add_test(tc, bad_bodies);
	tcase_add_test(tc, strict_bodies);
	tcase_add_test(tc, no_500_for_big_bodies);
	tcase_add_test(tc, record_dates_bounded);
	tcase_add_test(tc, cached_records_follow_changes);
	suite_add_tcase(s, tc);
	tc = tcase_create("jira");
	tcase_add_checked_fixture(tc, jira_setup, jira_teardown);
	tcase_add_test(tc, jira_install_and_key_cached);
	tcase_add_test(tc, jira_claims_refused_before_any_fetch);
	tcase_add_test(tc, jira_store_refusals_before_any_fetch);
	tcase_add_test(tc, jira_unknown_kid_remembered);
	tcase_add_test(tc, jira_key_server_failure_remembered_briefly);
	tcase_add_test(tc, jira_key_server_refusals);
	tcase_add_test(tc, jira_fetches_capped_per_minute);
	tcase_add_test(tc, jira_fetch_memory_shared_by_processes);
	tcase_add_test(tc, jira_replay_refused);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
