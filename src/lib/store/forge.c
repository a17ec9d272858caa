/* forge.c: Forge installations, their app system tokens and the JWKS (store.h) in `forge`. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store-lmdb.h"
#include "store/store-pg.h"

/*
 * One database, records by key prefix: "i:{installationId}" the installation,
 * "t:{installationId}" its system token (apart, so that no listing of
 * installations ever reads a token), "jwks" the document and "jwks-fetch" the
 * host's last fetch. Values are JSON objects with a version "v".
 */
#define RECORD_V 1
#define KEY_JWKS "jwks"
#define KEY_FETCH "jwks-fetch"
/* LMDB's key limit is 511 bytes: an installation ARI is ~70. */
#define ID_MAX 400

struct forge_ctx {
	char key[ID_MAX + 3];
	const struct ac_forge_installation *in;
	struct ac_forge_installation *out;
	struct ac_forge_token *tok;
	const char *token;
	int64_t exp;
	int kept;
	struct ac_buf *doc;
	const char *put_doc;
	size_t put_len;
	struct ac_forge_jwks_state *js;
	int window;
	int64_t seen_fetched_at;
	enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx);
	void *fn_ctx;
	int found;
};

static enum ac_err
make_key(struct forge_ctx *c, const char *prefix, const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > ID_MAX)
		return AC_ERR_INVALID;
	memcpy(c->key, prefix, 2);
	memcpy(c->key + 2, id, n + 1);
	return AC_OK;
}

/* An older store opened read-only has no `forge` database: nothing in it. */
static int
db_absent(struct ac_store *st)
{
	return ac_store_dbi(st, AC_DB_FORGE) == (MDB_dbi)-1;
}

static enum ac_err
get_json(MDB_txn *txn, struct ac_store *st, const char *key, json_object **o)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc;

	*o = NULL;
	if (db_absent(st))
		return AC_OK;
	rc = mdb_get(txn, ac_store_dbi(st, AC_DB_FORGE), &k, &v);
	if (rc == MDB_NOTFOUND)
		return AC_OK;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get forge");
	if (ac_json_parse(v.mv_data, v.mv_size, o, NULL) != AC_OK || !json_object_is_type(*o, json_type_object)) {
		ac_log_warn("forge: the record %.80s is not a JSON object; ignoring it", key);
		json_object_put(*o);
		*o = NULL;
	}
	return AC_OK;
}

static enum ac_err
put_json(MDB_txn *txn, struct ac_store *st, const char *key, json_object *o)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	int rc;

	if (s == NULL)
		return AC_ERR_NOMEM;
	v.mv_data = (void *)s;
	v.mv_size = len;
	rc = mdb_put(txn, ac_store_dbi(st, AC_DB_FORGE), &k, &v, 0);
	return rc ? ac_store_mdb_err(rc, "mdb_put forge") : AC_OK;
}

static int64_t
get_int(json_object *o, const char *name)
{
	json_object *v = ac_json_get_typed(o, name, json_type_int);
	int64_t n = 0;

	if (v == NULL || ac_json_int_in(v, 0, AC_JSON_DATE_MAX, 0, &n) != AC_OK)
		return 0;
	return n;
}

static void
add_str(json_object *o, const char *name, const char *s)
{
	if (s)
		json_object_object_add(o, name, json_object_new_string(s));
}

/* A copy of member name, NULL when absent; *err AC_ERR_NOMEM when the copy failed. */
static char *
dup_str(json_object *o, const char *name, enum ac_err *err)
{
	const char *s = ac_json_get_string(o, name);
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*err = AC_ERR_NOMEM;
	return d;
}

/* ---- installations */

void
ac_forge_installation_release(struct ac_forge_installation *in)
{
	size_t i;

	free(in->installation_id);
	free(in->app_id);
	free(in->app_version);
	free(in->environment_type);
	free(in->environment_id);
	free(in->api_base_url);
	free(in->site_url);
	free(in->client_key);
	for (i = 0; i < in->ncontexts; i++) {
		free(in->contexts[i].name);
		free(in->contexts[i].api_base_url);
		free(in->contexts[i].cloud_id);
		free(in->contexts[i].workspace_id);
	}
	free(in->contexts);
	memset(in, 0, sizeof(*in));
}

json_object *
ac_forge_installation_to_json(const struct ac_forge_installation *in)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;

	if (o == NULL || a == NULL) {
		json_object_put(o);
		json_object_put(a);
		return NULL;
	}
	json_object_object_add(o, "v", json_object_new_int(RECORD_V));
	add_str(o, "installationId", in->installation_id);
	add_str(o, "appId", in->app_id);
	add_str(o, "appVersion", in->app_version);
	add_str(o, "environmentType", in->environment_type);
	add_str(o, "environmentId", in->environment_id);
	add_str(o, "apiBaseUrl", in->api_base_url);
	add_str(o, "siteUrl", in->site_url);
	add_str(o, "clientKey", in->client_key);
	for (i = 0; i < in->ncontexts; i++) {
		json_object *c = json_object_new_object();

		if (c == NULL)
			continue;
		add_str(c, "name", in->contexts[i].name);
		add_str(c, "apiBaseUrl", in->contexts[i].api_base_url);
		add_str(c, "cloudId", in->contexts[i].cloud_id);
		add_str(c, "workspaceId", in->contexts[i].workspace_id);
		json_object_array_add(a, c);
	}
	json_object_object_add(o, "contexts", a);
	json_object_object_add(o, "firstSeen", json_object_new_int64(in->first_seen));
	json_object_object_add(o, "lastSeen", json_object_new_int64(in->last_seen));
	return o;
}

enum ac_err
ac_forge_installation_from_json(json_object *o, struct ac_forge_installation *out)
{
	enum ac_err err = AC_OK;
	json_object *a = ac_json_get_typed(o, "contexts", json_type_array);
	size_t i, n = a ? json_object_array_length(a) : 0;

	memset(out, 0, sizeof(*out));
	out->installation_id = dup_str(o, "installationId", &err);
	out->app_id = dup_str(o, "appId", &err);
	out->app_version = dup_str(o, "appVersion", &err);
	out->environment_type = dup_str(o, "environmentType", &err);
	out->environment_id = dup_str(o, "environmentId", &err);
	out->api_base_url = dup_str(o, "apiBaseUrl", &err);
	out->site_url = dup_str(o, "siteUrl", &err);
	out->client_key = dup_str(o, "clientKey", &err);
	out->first_seen = get_int(o, "firstSeen");
	out->last_seen = get_int(o, "lastSeen");
	if (n > 0 && (out->contexts = calloc(n, sizeof(*out->contexts))) == NULL)
		err = AC_ERR_NOMEM;
	for (i = 0; err == AC_OK && i < n; i++) {
		json_object *c = json_object_array_get_idx(a, i);
		struct ac_forge_context *x = &out->contexts[out->ncontexts];

		if (!json_object_is_type(c, json_type_object))
			continue;
		out->ncontexts++;
		x->name = dup_str(c, "name", &err);
		x->api_base_url = dup_str(c, "apiBaseUrl", &err);
		x->cloud_id = dup_str(c, "cloudId", &err);
		x->workspace_id = dup_str(c, "workspaceId", &err);
	}
	if (err == AC_OK && out->installation_id == NULL)
		err = AC_ERR_NOT_FOUND;
	if (err != AC_OK)
		ac_forge_installation_release(out);
	return err;
}

static enum ac_err
inst_get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct forge_ctx *c = ctx;
	json_object *o;
	enum ac_err err;

	if ((err = get_json(txn, st, c->key, &o)) != AC_OK)
		return err;
	err = o ? ac_forge_installation_from_json(o, c->out) : AC_ERR_NOT_FOUND;
	json_object_put(o);
	return err;
}

enum ac_err
ac_lmdb_forge_installation_get(struct ac_store *st, const char *installation_id, struct ac_forge_installation *out)
{
	struct forge_ctx c = { 0 };

	memset(out, 0, sizeof(*out));
	if (make_key(&c, "i:", installation_id) != AC_OK)
		return AC_ERR_NOT_FOUND;
	c.out = out;
	return ac_store_read(st, inst_get_fn, &c);
}

static enum ac_err
inst_put_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct forge_ctx *c = ctx;
	struct ac_forge_installation rec = *c->in;
	json_object *old, *o;
	enum ac_err err;

	if ((err = get_json(txn, st, c->key, &old)) != AC_OK)
		return err;
	rec.last_seen = (int64_t)ac_clock_now();
	rec.first_seen = old && get_int(old, "firstSeen") ? get_int(old, "firstSeen") : rec.last_seen;
	if (rec.client_key == NULL && old)
		rec.client_key = (char *)ac_json_get_string(old, "clientKey");
	o = ac_forge_installation_to_json(&rec);
	err = o ? put_json(txn, st, c->key, o) : AC_ERR_NOMEM;
	json_object_put(o);
	json_object_put(old);
	return err;
}

enum ac_err
ac_lmdb_forge_installation_put(struct ac_store *st, const struct ac_forge_installation *in)
{
	struct forge_ctx c = { 0 };

	if (make_key(&c, "i:", in->installation_id) != AC_OK)
		return AC_ERR_INVALID;
	c.in = in;
	return ac_store_write(st, inst_put_fn, &c);
}

static enum ac_err
inst_each_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct forge_ctx *c = ctx;
	MDB_cursor *cur;
	MDB_val k = { 2, (void *)"i:" }, v;
	enum ac_err err = AC_OK;
	int rc;

	if (db_absent(st))
		return AC_OK;
	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_FORGE), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open forge");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && err == AC_OK;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ac_forge_installation in;
		json_object *o;

		if (k.mv_size < 2 || memcmp(k.mv_data, "i:", 2))
			break;
		if (ac_json_parse(v.mv_data, v.mv_size, &o, NULL) != AC_OK) {
			ac_log_warn("forge: an installation record is not JSON; skipped");
			continue;
		}
		if ((err = ac_forge_installation_from_json(o, &in)) == AC_OK) {
			err = c->fn(&in, c->fn_ctx);
			ac_forge_installation_release(&in);
		} else if (err == AC_ERR_NOT_FOUND) {
			err = AC_OK;
		}
		json_object_put(o);
	}
	mdb_cursor_close(cur);
	if (err == AC_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = ac_store_mdb_err(rc, "mdb_cursor_get forge");
	return err;
}

enum ac_err
ac_lmdb_forge_installation_foreach(struct ac_store *st,
    enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx), void *ctx)
{
	struct forge_ctx c = { 0 };

	c.fn = fn;
	c.fn_ctx = ctx;
	return ac_store_read(st, inst_each_fn, &c);
}

/* ---- system tokens: the newest wins, never replaced by an older one or by nothing */

void
ac_forge_token_release(struct ac_forge_token *t)
{
	ac_buf_free_secret_str(t->token);
	t->token = NULL;
	t->exp = 0;
	t->received_at = 0;
}

static enum ac_err
tok_get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct forge_ctx *c = ctx;
	json_object *o;
	const char *s;
	enum ac_err err;

	if ((err = get_json(txn, st, c->key, &o)) != AC_OK || o == NULL)
		return err;
	if ((s = ac_json_get_string(o, "token")) != NULL && *s) {
		if ((c->tok->token = strdup(s)) == NULL)
			err = AC_ERR_NOMEM;
		c->tok->exp = get_int(o, "exp");
		c->tok->received_at = get_int(o, "receivedAt");
	}
	ac_json_put_secret(o);
	return err;
}

enum ac_err
ac_lmdb_forge_token_get(struct ac_store *st, const char *installation_id, struct ac_forge_token *out)
{
	struct forge_ctx c = { 0 };

	memset(out, 0, sizeof(*out));
	if (make_key(&c, "t:", installation_id) != AC_OK)
		return AC_OK;
	c.tok = out;
	return ac_store_read(st, tok_get_fn, &c);
}

json_object *
ac_lmdb_forge_token_json(const char *token, int64_t exp, int64_t received_at)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "v", json_object_new_int(RECORD_V));
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "exp", json_object_new_int64(exp));
	json_object_object_add(o, "receivedAt", json_object_new_int64(received_at));
	return o;
}

static enum ac_err
tok_offer_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct forge_ctx *c = ctx;
	json_object *old, *o;
	enum ac_err err;

	c->kept = 0;
	if ((err = get_json(txn, st, c->key, &old)) != AC_OK)
		return err;
	if (old && ac_json_get_string(old, "token") && get_int(old, "exp") >= c->exp) {
		ac_json_put_secret(old);
		return AC_OK; /* the one held lives as long or longer */
	}
	ac_json_put_secret(old);
	if ((o = ac_lmdb_forge_token_json(c->token, c->exp, (int64_t)ac_clock_now())) == NULL)
		return AC_ERR_NOMEM;
	err = put_json(txn, st, c->key, o);
	ac_json_put_secret(o);
	c->kept = err == AC_OK;
	return err;
}

enum ac_err
ac_lmdb_forge_token_offer(struct ac_store *st, const char *installation_id, const char *token, int64_t exp, int *kept)
{
	struct forge_ctx c = { 0 };
	enum ac_err err = AC_OK;

	if (kept)
		*kept = 0;
	/* nothing, or a token already dead, never replaces anything */
	if (token == NULL || *token == '\0' || exp <= (int64_t)ac_clock_now() || exp > AC_JSON_DATE_MAX)
		return AC_OK;
	if ((err = make_key(&c, "t:", installation_id)) != AC_OK)
		return err;
	c.token = token;
	c.exp = exp;
	/* most calls bring a token no newer than the one held: a read says so without a write (and its flush) */
	{
		struct ac_forge_token held = { NULL, 0, 0 };

		c.tok = &held;
		err = ac_store_read(st, tok_get_fn, &c);
		c.tok = NULL;
		if (err == AC_OK && held.token && held.exp >= exp) {
			ac_forge_token_release(&held);
			return AC_OK;
		}
		ac_forge_token_release(&held);
		if (err != AC_OK)
			return err;
	}
	err = ac_store_write(st, tok_offer_fn, &c);
	if (kept)
		*kept = err == AC_OK && c.kept;
	return err;
}

/* ---- the JWKS and the host's fetches */

/* The document into c->doc and the state into c->js. */
static enum ac_err
jwks_lookup(MDB_txn *txn, struct ac_store *st, struct forge_ctx *c)
{
	json_object *o;
	const char *d;
	enum ac_err err;

	c->js->found = 0;
	c->js->fetched_at = 0;
	if ((err = get_json(txn, st, KEY_JWKS, &o)) != AC_OK)
		return err;
	if (o && (d = ac_json_get_string(o, "doc")) != NULL) {
		ac_buf_reset(c->doc);
		if (ac_buf_adds(c->doc, d) == AC_OK) {
			c->js->found = 1;
			c->js->fetched_at = get_int(o, "fetchedAt");
		}
	}
	json_object_put(o);
	if ((err = get_json(txn, st, KEY_FETCH, &o)) != AC_OK)
		return err;
	c->js->attempt_at = o ? get_int(o, "at") : 0;
	c->js->attempt = 0;
	if (o) {
		json_object *a = ac_json_get_typed(o, "ok", json_type_int);

		c->js->attempt = a ? json_object_get_int(a) : 0;
	}
	json_object_put(o);
	return AC_OK;
}

static enum ac_err
jwks_get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	return jwks_lookup(txn, st, ctx);
}

enum ac_err
ac_lmdb_forge_jwks_get(struct ac_store *st, struct ac_buf *doc, struct ac_forge_jwks_state *out)
{
	struct forge_ctx c = { 0 };

	memset(out, 0, sizeof(*out));
	c.doc = doc;
	c.js = out;
	return ac_store_read(st, jwks_get_fn, &c);
}

json_object *
ac_lmdb_forge_fetch_json(int64_t at, int ok)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "at", json_object_new_int64(at));
	json_object_object_add(o, "ok", json_object_new_int(ok));
	return o;
}

json_object *
ac_lmdb_forge_jwks_json(const char *doc, size_t len, int64_t fetched_at)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "v", json_object_new_int(RECORD_V));
	json_object_object_add(o, "doc", json_object_new_string_len(doc, (int)len));
	json_object_object_add(o, "fetchedAt", json_object_new_int64(fetched_at));
	return o;
}

static enum ac_err
put_fetch(MDB_txn *txn, struct ac_store *st, int64_t at, int ok)
{
	json_object *o = ac_lmdb_forge_fetch_json(at, ok);
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	err = put_json(txn, st, KEY_FETCH, o);
	json_object_put(o);
	return err;
}

static enum ac_err
jwks_reserve_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct forge_ctx *c = ctx;
	int64_t now = (int64_t)ac_clock_now();
	enum ac_err err;

	c->js->granted = 0;
	if ((err = jwks_lookup(txn, st, c)) != AC_OK)
		return err;
	if (c->js->found && c->js->fetched_at > c->seen_fetched_at)
		return AC_OK; /* another process fetched it meanwhile */
	/* an attempt in the future is a clock that went back: the window starts again */
	if (c->js->attempt_at && c->js->attempt_at <= now && now - c->js->attempt_at < c->window)
		return AC_OK;
	if ((err = put_fetch(txn, st, now, -1)) != AC_OK)
		return err;
	c->js->granted = 1;
	c->js->attempt_at = now;
	c->js->attempt = -1;
	return AC_OK;
}

enum ac_err
ac_lmdb_forge_jwks_reserve(struct ac_store *st, int window, int64_t seen_fetched_at, struct ac_buf *doc,
    struct ac_forge_jwks_state *out)
{
	struct forge_ctx c = { 0 };

	memset(out, 0, sizeof(*out));
	c.doc = doc;
	c.js = out;
	c.window = window;
	c.seen_fetched_at = seen_fetched_at;
	return ac_store_write(st, jwks_reserve_fn, &c);
}

static enum ac_err
jwks_put_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct forge_ctx *c = ctx;
	int64_t now = (int64_t)ac_clock_now();
	json_object *o;
	enum ac_err err;

	if (c->put_doc == NULL)
		return put_fetch(txn, st, now, 0);
	if ((o = ac_lmdb_forge_jwks_json(c->put_doc, c->put_len, now)) == NULL)
		return AC_ERR_NOMEM;
	err = put_json(txn, st, KEY_JWKS, o);
	json_object_put(o);
	return err == AC_OK ? put_fetch(txn, st, now, 1) : err;
}

enum ac_err
ac_lmdb_forge_jwks_put(struct ac_store *st, const char *doc, size_t len)
{
	struct forge_ctx c = { 0 };

	if (doc && memchr(doc, '\0', len))
		return AC_ERR_INVALID;
	c.put_doc = doc;
	c.put_len = len;
	return ac_store_write(st, jwks_put_fn, &c);
}
