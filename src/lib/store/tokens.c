/* tokens.c: the access token cache (store.h) in `tokens`: one versioned JSON record per key. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store-lmdb.h"

/* Version of the cached record. */
#define RECORD_V 1

void
ac_token_rec_release(struct ac_token_rec *r)
{
	/* a live credential: do not leave it in freed memory */
	ac_buf_free_secret_str(r->access_token);
	free(r->scopes);
	memset(r, 0, sizeof(*r));
}

struct get_ctx {
	MDB_val key;
	char *val; /* malloc'd copy, NUL-terminated */
	size_t len;
};

static enum ac_err
get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct get_ctx *g = ctx;
	MDB_val v;
	int rc = mdb_get(txn, ac_store_dbi(st, AC_DB_TOKENS), &g->key, &v);

	if (rc == MDB_NOTFOUND)
		return AC_OK;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get tokens");
	/* the MDB_val dies with the transaction */
	if ((g->val = malloc(v.mv_size + 1)) == NULL)
		return AC_ERR_NOMEM;
	memcpy(g->val, v.mv_data, v.mv_size);
	g->val[v.mv_size] = '\0';
	g->len = v.mv_size;
	return AC_OK;
}

enum ac_err
ac_lmdb_token_get(struct ac_store *st, const char *key, struct ac_token_rec *r)
{
	struct get_ctx g = { { strlen(key), (void *)key }, NULL, 0 };
	json_object *o = NULL, *v;
	enum ac_err err;

	memset(r, 0, sizeof(*r));
	if ((err = ac_store_read(st, get_fn, &g)) != AC_OK || g.val == NULL)
		goto out;
	if (ac_json_parse(g.val, g.len, &o, NULL) != AC_OK || !json_object_is_type(o, json_type_object)) {
		ac_log_warn("tokens: the cached record is not JSON; ignoring it");
		goto out;
	}
	if ((v = ac_json_get_typed(o, "token", json_type_string)) != NULL &&
	    json_object_get_string_len(v) > 0) {
		const char *sc = ac_json_get_string(o, "scopes");

		r->access_token = strdup(json_object_get_string(v));
		r->scopes = strdup(sc ? sc : "");
		if (r->access_token == NULL || r->scopes == NULL) {
			err = AC_ERR_NOMEM;
			goto out;
		}
		/* a damaged record's dates must not overflow the expiry arithmetic: out of range, expired */
		if ((v = ac_json_get_typed(o, "expiresAt", json_type_int)) == NULL ||
		    ac_json_int_in(v, 0, AC_JSON_DATE_MAX, 0, &r->expires_at) != AC_OK)
			r->expires_at = 0;
		if ((v = ac_json_get_typed(o, "obtainedAt", json_type_int)) == NULL ||
		    ac_json_int_in(v, 0, AC_JSON_DATE_MAX, 0, &r->obtained_at) != AC_OK)
			r->obtained_at = 0;
	}
	if ((v = ac_json_get_typed(o, "failedAtMs", json_type_int)) != NULL) {
		const char *code = ac_json_get_string(o, "error");

		if (ac_json_int_in(v, 0, AC_JSON_DATE_MAX * 1000, 0, &r->failed_at_ms) != AC_OK)
			r->failed_at_ms = 0;
		r->failure = code && !strcmp(code, ac_err_code(AC_ERR_GRANT_REFUSED)) ? AC_ERR_GRANT_REFUSED :
		    AC_ERR_UPSTREAM;
	}
out:
	ac_buf_free_secret(g.val, g.len);
	ac_json_put_secret(o);
	if (err != AC_OK)
		ac_token_rec_release(r);
	return err;
}

struct put_ctx {
	MDB_val key;
	MDB_val val;
};

static enum ac_err
put_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct put_ctx *p = ctx;
	int rc = mdb_put(txn, ac_store_dbi(st, AC_DB_TOKENS), &p->key, &p->val, 0);

	return rc ? ac_store_mdb_err(rc, "mdb_put tokens") : AC_OK;
}

json_object *
ac_lmdb_token_json(const struct ac_token_rec *r, int has_token)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "v", json_object_new_int(RECORD_V));
	if (has_token) {
		json_object_object_add(o, "token", json_object_new_string(r->access_token));
		json_object_object_add(o, "scopes", json_object_new_string(r->scopes ? r->scopes : ""));
		json_object_object_add(o, "expiresAt", json_object_new_int64(r->expires_at));
		json_object_object_add(o, "obtainedAt", json_object_new_int64(r->obtained_at));
	} else {
		json_object_object_add(o, "failedAtMs", json_object_new_int64(r->failed_at_ms));
		json_object_object_add(o, "error", json_object_new_string(ac_err_code(r->failure)));
	}
	return o;
}

enum ac_err
ac_lmdb_token_put(struct ac_store *st, const char *key, const struct ac_token_rec *r)
{
	json_object *o = ac_lmdb_token_json(r, r->access_token != NULL);
	struct put_ctx p;
	const char *s;
	size_t len;
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	if ((s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len)) == NULL) {
		json_object_put(o);
		return AC_ERR_NOMEM;
	}
	p.key.mv_size = strlen(key);
	p.key.mv_data = (void *)key;
	p.val.mv_size = len;
	p.val.mv_data = (void *)s;
	err = ac_store_write(st, put_fn, &p);
	OPENSSL_cleanse((void *)(uintptr_t)s, len);
	ac_json_put_secret(o);
	return err;
}

/* Deletes key (exact) or, with prefix set, every key that starts with it. */
static enum ac_err
forget(MDB_txn *txn, MDB_dbi dbi, const char *key, int prefix, size_t *n)
{
	MDB_cursor *cur;
	MDB_val k = { strlen(key), (void *)key }, v;
	size_t len = k.mv_size;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open tokens");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < len || memcmp(k.mv_data, key, len) != 0 || (!prefix && k.mv_size != len))
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return ac_store_mdb_err(rc, "forget tokens");
	return AC_OK;
}

/* The keys of a tenant: "bb:{clientKey}", and "jira:{clientKey} " followed by anything (store.h). */
enum ac_err
ac_lmdb_token_forget_txn(struct ac_txn *txn, const char *client_key, size_t *np)
{
	MDB_dbi dbi = ac_store_dbi(txn->st, AC_DB_TOKENS);
	struct ac_buf key;
	size_t n = 0;
	enum ac_err err;

	if (np)
		*np = 0;
	if (client_key == NULL || *client_key == '\0')
		return AC_OK;
	ac_buf_init(&key, 1024);
	if ((err = ac_buf_printf(&key, "bb:%s", client_key)) == AC_OK)
		err = forget(txn->txn, dbi, key.data, 0, &n);
	ac_buf_reset(&key);
	if (err == AC_OK && (err = ac_buf_printf(&key, "jira:%s ", client_key)) == AC_OK)
		err = forget(txn->txn, dbi, key.data, 1, &n);
	ac_buf_release(&key);
	if (np)
		*np = n;
	return err;
}

/* One host's processes: grant.c's lock file serves them (store.h). */
enum ac_err
ac_lmdb_token_lock(struct ac_store *st, const char *key, struct ac_token_lock *lk)
{
	(void)st;
	(void)key;
	memset(lk, 0, sizeof(*lk));
	return AC_OK;
}

void
ac_lmdb_token_unlock(struct ac_store *st, const char *key, struct ac_token_lock *lk)
{
	(void)st;
	(void)key;
	memset(lk, 0, sizeof(*lk));
}
