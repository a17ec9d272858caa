/*
 * seen.c: lifecycle_seen (store.h): the lifecycle tokens accepted, keyed by
 * exp (8 bytes, big-endian: the expired ones sort first) and the token's
 * SHA-256, each with a JSON record of its use.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "store/store-lmdb.h"

#define SEEN_KEY_LEN (8 + AC_SEEN_SHA_LEN)

static void
seen_key(int64_t exp64, const unsigned char sha[AC_SEEN_SHA_LEN], unsigned char key[SEEN_KEY_LEN])
{
	uint64_t exp = exp64 > 0 ? (uint64_t)exp64 : 0;
	int i;

	for (i = 7; i >= 0; i--, exp >>= 8)
		key[i] = (unsigned char)(exp & 0xff);
	memcpy(key + 8, sha, AC_SEEN_SHA_LEN);
}

static uint64_t
key_exp(const MDB_val *k)
{
	uint64_t exp = 0;
	size_t i;

	for (i = 0; i < 8 && i < k->mv_size; i++)
		exp = exp << 8 | ((const unsigned char *)k->mv_data)[i];
	return exp;
}

void
ac_seen_release(struct ac_seen *e)
{
	free(e->body);
	free(e->client_key);
	free(e->event);
	memset(e, 0, sizeof(*e));
}

/* The record's members into e, borrowed from o; unreadable members stay NULL or 0. */
static void
from_json(json_object *o, struct ac_seen *e)
{
	json_object *n;

	e->body = (char *)ac_json_get_string(o, "body");
	e->client_key = (char *)ac_json_get_string(o, "clientKey");
	e->event = (char *)ac_json_get_string(o, "event");
	e->iat = (n = ac_json_get_typed(o, "iat", json_type_int)) ? json_object_get_int64(n) : 0;
	e->at = (n = ac_json_get_typed(o, "at", json_type_int)) ? json_object_get_int64(n) : 0;
}

static enum ac_err
dup_or_null(char **dst, const char *s)
{
	return s == NULL || (*dst = strdup(s)) != NULL ? AC_OK : AC_ERR_NOMEM;
}

enum ac_err
ac_lmdb_seen_get_txn(struct ac_txn *txn, int64_t exp, const unsigned char token_sha[AC_SEEN_SHA_LEN], struct ac_seen *out)
{
	unsigned char key[SEEN_KEY_LEN];
	MDB_val k = { sizeof(key), key }, v;
	json_object *o = NULL;
	enum ac_err err = AC_OK;
	int rc;

	memset(out, 0, sizeof(*out));
	seen_key(exp, token_sha, key);
	rc = mdb_get(txn->txn, ac_store_dbi(txn->st, AC_DB_LIFECYCLE_SEEN), &k, &v);
	if (rc == MDB_NOTFOUND)
		return AC_ERR_NOT_FOUND;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get lifecycle_seen");
	out->exp = (int64_t)key_exp(&k);
	memcpy(out->token_sha, token_sha, AC_SEEN_SHA_LEN);
	if (ac_json_parse(v.mv_data, v.mv_size, &o, NULL) == AC_OK) {
		struct ac_seen b; /* borrowed from o */

		memset(&b, 0, sizeof(b));
		from_json(o, &b);
		out->iat = b.iat;
		out->at = b.at;
		if ((err = dup_or_null(&out->body, b.body)) != AC_OK ||
		    (err = dup_or_null(&out->client_key, b.client_key)) != AC_OK ||
		    (err = dup_or_null(&out->event, b.event)) != AC_OK)
			ac_seen_release(out);
	}
	json_object_put(o);
	return err;
}

enum ac_err
ac_lmdb_seen_put_txn(struct ac_txn *txn, const struct ac_seen *e)
{
	unsigned char key[SEEN_KEY_LEN];
	MDB_val k = { sizeof(key), key }, v;
	json_object *o;
	const char *s;
	int rc;

	if ((o = json_object_new_object()) == NULL)
		return AC_ERR_NOMEM;
	json_object_object_add(o, "body", json_object_new_string(e->body ? e->body : ""));
	json_object_object_add(o, "clientKey", json_object_new_string(e->client_key ? e->client_key : ""));
	json_object_object_add(o, "event", json_object_new_string(e->event ? e->event : ""));
	json_object_object_add(o, "iat", json_object_new_int64(e->iat));
	json_object_object_add(o, "at", json_object_new_int64(e->at));
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &v.mv_size);
	v.mv_data = (void *)s;
	seen_key(e->exp, e->token_sha, key);
	rc = s ? mdb_put(txn->txn, ac_store_dbi(txn->st, AC_DB_LIFECYCLE_SEEN), &k, &v, MDB_NOOVERWRITE) : ENOMEM;
	json_object_put(o);
	return ac_store_mdb_err(rc, "mdb_put lifecycle_seen");
}

enum ac_err
ac_lmdb_seen_purge_txn(struct ac_txn *txn, int64_t before, size_t max, size_t *np)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n;
	int rc;

	if (np)
		*np = 0;
	if ((rc = mdb_cursor_open(txn->txn, ac_store_dbi(txn->st, AC_DB_LIFECYCLE_SEEN), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open lifecycle_seen");
	for (n = 0, rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < max;
	    n++, rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != SEEN_KEY_LEN || key_exp(&k) >= (uint64_t)(before > 0 ? before : 0))
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		if (np)
			(*np)++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? AC_OK : ac_store_mdb_err(rc, "purge lifecycle_seen");
}

struct list_ctx {
	enum ac_err (*fn)(const struct ac_seen *, void *);
	void *ctx;
};

static enum ac_err
list_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct list_ctx *l = ctx;
	enum ac_err err = AC_OK;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	/* an older store opened read-only has no lifecycle_seen: nothing remembered */
	if (mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_LIFECYCLE_SEEN), &cur) != 0)
		return AC_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == AC_OK;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ac_seen e;
		json_object *o;

		if (ac_json_parse(v.mv_data, v.mv_size, &o, NULL) != AC_OK)
			continue;
		memset(&e, 0, sizeof(e));
		e.exp = (int64_t)key_exp(&k);
		if (k.mv_size == SEEN_KEY_LEN)
			memcpy(e.token_sha, (const unsigned char *)k.mv_data + 8, AC_SEEN_SHA_LEN);
		from_json(o, &e);
		err = l->fn(&e, l->ctx);
		json_object_put(o);
	}
	mdb_cursor_close(cur);
	return err;
}

enum ac_err
ac_lmdb_seen_list(struct ac_store *st, enum ac_err (*fn)(const struct ac_seen *e, void *ctx), void *ctx)
{
	struct list_ctx l = { fn, ctx };

	return ac_store_read(st, list_fn, &l);
}
