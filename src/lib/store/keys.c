/* keys.c: the install key cache (store.h) in `install_keys`: a JSON record per kid, and the fetch budget. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "store/store-lmdb.h"

/* The fetch counter's key in install_keys: not a UUID, so never a kid. */
#define KEY_BUDGET "#fetches"

struct key_ctx {
	const char *kid;
	struct ac_buf *pem;
	struct ac_install_key *out;
	const char *put_pem;  /* key_put_fn */
	long status;          /* key_miss_fn */
	time_t until;
	int max, window;      /* key_reserve_fn */
	int purge_max;        /* purge_fn */
	size_t purged;
};

/* What install_keys holds for k->kid, as of now; absent or expired records are nothing. */
static enum ac_err
key_lookup(MDB_txn *txn, struct ac_store *st, struct key_ctx *k)
{
	MDB_val key = { strlen(k->kid), (void *)k->kid }, v;
	json_object *o, *m;
	const char *pem;
	int rc = mdb_get(txn, ac_store_dbi(st, AC_DB_INSTALL_KEYS), &key, &v);

	k->out->found = 0;
	k->out->missing = 0;
	if (rc == MDB_NOTFOUND)
		return AC_OK;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get install_keys");
	if (ac_json_parse(v.mv_data, v.mv_size, &o, NULL) != AC_OK)
		return AC_OK; /* unreadable: fetch again */
	if ((pem = ac_json_get_string(o, "pem")) != NULL) {
		ac_buf_reset(k->pem);
		if (ac_buf_adds(k->pem, pem) == AC_OK)
			k->out->found = 1;
	} else if ((m = ac_json_get_typed(o, "missingUntil", json_type_int)) != NULL &&
	    json_object_get_int64(m) > (int64_t)ac_clock_now()) {
		json_object *s = ac_json_get_typed(o, "status", json_type_int);

		k->out->missing_until = (time_t)json_object_get_int64(m);
		k->out->missing = s ? (long)json_object_get_int64(s) : 0;
		if (k->out->missing == 0)
			k->out->missing = -1;
	}
	json_object_put(o);
	return AC_OK;
}

static enum ac_err
key_get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	return key_lookup(txn, st, ctx);
}

enum ac_err
ac_lmdb_install_key_get(struct ac_store *st, const char *kid, struct ac_buf *pem, struct ac_install_key *out)
{
	struct key_ctx k = { 0 };

	memset(out, 0, sizeof(*out));
	k.kid = kid;
	k.pem = pem;
	k.out = out;
	return ac_store_read(st, key_get_fn, &k);
}

static enum ac_err
put_json(MDB_txn *txn, struct ac_store *st, const char *name, json_object *o)
{
	MDB_val key = { strlen(name), (void *)name }, v;
	const char *s;
	size_t len;
	int rc;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	v.mv_data = (void *)s;
	v.mv_size = len;
	rc = s ? mdb_put(txn, ac_store_dbi(st, AC_DB_INSTALL_KEYS), &key, &v, 0) : ENOMEM;
	return ac_store_mdb_err(rc, "mdb_put install_keys");
}

static enum ac_err
key_put_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct key_ctx *k = ctx;
	json_object *o = json_object_new_object();
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	json_object_object_add(o, "pem", json_object_new_string(k->put_pem));
	json_object_object_add(o, "fetchedAt", json_object_new_int64((int64_t)ac_clock_now()));
	err = put_json(txn, st, k->kid, o);
	json_object_put(o);
	return err;
}

enum ac_err
ac_lmdb_install_key_put(struct ac_store *st, const char *kid, const char *pem)
{
	struct key_ctx k = { 0 };

	k.kid = kid;
	k.put_pem = pem;
	return ac_store_write(st, key_put_fn, &k);
}

/* A failure record: status (-1: a fetch under way) until `until`. */
static enum ac_err
put_missing(MDB_txn *txn, struct ac_store *st, const char *kid, long status, time_t until)
{
	json_object *o = json_object_new_object();
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	json_object_object_add(o, "missingUntil", json_object_new_int64((int64_t)until));
	json_object_object_add(o, "status", json_object_new_int64(status < 0 ? 0 : status));
	err = put_json(txn, st, kid, o);
	json_object_put(o);
	return err;
}

/* Random kids spread over the key space: the expired failure records found just after this kid stand for all. */
static enum ac_err
purge_missing(MDB_txn *txn, struct ac_store *st, const char *kid, int max, size_t *purged)
{
	MDB_cursor *cur;
	MDB_val k = { strlen(kid), (void *)kid }, v;
	int rc, n;

	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_INSTALL_KEYS), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open install_keys");
	for (n = 0, rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < max;
	    n++, rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		json_object *o, *m;
		int expired = 0;

		if (ac_json_parse(v.mv_data, v.mv_size, &o, NULL) != AC_OK)
			continue;
		expired = ac_json_get_string(o, "pem") == NULL &&
		    (m = ac_json_get_typed(o, "missingUntil", json_type_int)) != NULL &&
		    json_object_get_int64(m) <= (int64_t)ac_clock_now();
		json_object_put(o);
		if (expired && (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		if (expired)
			(*purged)++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? AC_OK : ac_store_mdb_err(rc, "purge install_keys");
}

static enum ac_err
purge_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct key_ctx *k = ctx;

	k->purged = 0;
	return purge_missing(txn, st, k->kid, k->purge_max, &k->purged);
}

enum ac_err
ac_lmdb_install_key_purge(struct ac_store *st, const char *kid, int max, size_t *n)
{
	struct key_ctx k = { 0 };
	enum ac_err err;

	k.kid = kid;
	k.purge_max = max;
	err = ac_store_write(st, purge_fn, &k);
	if (n)
		*n = err == AC_OK ? k.purged : 0;
	return err;
}

/* The lookup again, one fetch from the host's budget, and the marker (store.h). */
static enum ac_err
key_reserve_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct key_ctx *k = ctx;
	MDB_val key = { sizeof(KEY_BUDGET) - 1, (void *)KEY_BUDGET }, v;
	json_object *o = NULL, *b;
	time_t now = ac_clock_now();
	int64_t since = 0, n = 0;
	enum ac_err err;
	int rc;

	k->out->throttled = 0;
	if ((err = key_lookup(txn, st, k)) != AC_OK || k->out->found || k->out->missing)
		return err;
	rc = mdb_get(txn, ac_store_dbi(st, AC_DB_INSTALL_KEYS), &key, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return ac_store_mdb_err(rc, "mdb_get install_keys");
	if (rc == 0 && ac_json_parse(v.mv_data, v.mv_size, &o, NULL) == AC_OK) {
		if ((b = ac_json_get_typed(o, "since", json_type_int)) != NULL)
			since = json_object_get_int64(b);
		if ((b = ac_json_get_typed(o, "n", json_type_int)) != NULL)
			n = json_object_get_int64(b);
		json_object_put(o);
	}
	/* a window in the future is a clock that went back: start a new one */
	if (since > (int64_t)now || (int64_t)now - since >= k->window) {
		since = (int64_t)now;
		n = 0;
	}
	if (n >= k->max) {
		k->out->throttled = 1;
		k->out->missing_until = (time_t)(since + k->window);
		return AC_OK;
	}
	if ((o = json_object_new_object()) == NULL)
		return AC_ERR_NOMEM;
	json_object_object_add(o, "since", json_object_new_int64(since));
	json_object_object_add(o, "n", json_object_new_int64(n + 1));
	err = put_json(txn, st, KEY_BUDGET, o);
	json_object_put(o);
	if (err == AC_OK)
		err = put_missing(txn, st, k->kid, -1, k->until);
	return err;
}

enum ac_err
ac_lmdb_install_key_reserve(struct ac_store *st, const char *kid, int max, int window, time_t marker_until,
    struct ac_buf *pem, struct ac_install_key *out)
{
	struct key_ctx k = { 0 };

	memset(out, 0, sizeof(*out));
	k.kid = kid;
	k.pem = pem;
	k.out = out;
	k.max = max;
	k.window = window;
	k.until = marker_until;
	return ac_store_write(st, key_reserve_fn, &k);
}

/* After a failed fetch: the purge, then the failure, in one transaction. */
static enum ac_err
key_miss_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct key_ctx *k = ctx;
	enum ac_err err;

	k->purged = 0;
	if ((err = purge_missing(txn, st, k->kid, AC_INSTALL_KEY_PURGE_MAX, &k->purged)) == AC_OK)
		err = put_missing(txn, st, k->kid, k->status, k->until);
	return err;
}

enum ac_err
ac_lmdb_install_key_missing(struct ac_store *st, const char *kid, long status, time_t until)
{
	struct key_ctx k = { 0 };

	k.kid = kid;
	k.status = status;
	k.until = until;
	return ac_store_write(st, key_miss_fn, &k);
}
