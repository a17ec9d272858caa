/* install_keys.c: Jira signed-install public keys: cached for good, failures remembered, fetches capped. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/pem.h>

#include "base/clock.h"
#include "outbound/http.h"
#include "outbound/install_keys.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store.h"

/*
 * Anyone can send a token naming any kid, and its claims prove nothing
 * before the key is known: a fetch must not be free (issue 13, 7). The
 * caller checks the claims that need no key first; here a kid the key server
 * did not know is remembered for a minute and one it failed on for a few
 * seconds (a record in install_keys without "pem", shared by every process
 * of the host), and the fetches of the whole host are capped per minute:
 * garbage tokens with fresh random kids cost a few fetches a minute, never a
 * worker each for the key server's timeout.
 */

#define KEY_CONNECT_MS 2000
#define KEY_TIMEOUT_MS 5000
/* The fetch counter's key in install_keys: not a UUID, so never a kid. */
#define KEY_BUDGET "#fetches"
/* Expired failure records removed per new one: the database stays small. */
#define KEY_PURGE_MAX 8

struct key_ctx {
	const char *kid;
	struct ac_buf *pem;
	int found;            /* pem holds the key */
	long missing;         /* a remembered failure: its HTTP status (0: none), or -1 a fetch under way */
	time_t missing_until;
	long status;          /* what the fetch got, for key_miss_fn */
	int throttled;        /* the host spent its fetches for this window */
};

/* What install_keys holds for k->kid, as of now; absent or expired records are nothing. */
static enum ac_err
key_lookup(MDB_txn *txn, struct ac_store *st, struct key_ctx *k)
{
	MDB_val key = { strlen(k->kid), (void *)k->kid }, v;
	json_object *o, *m;
	const char *pem;
	int rc = mdb_get(txn, ac_store_dbi(st, AC_DB_INSTALL_KEYS), &key, &v);

	k->found = 0;
	k->missing = 0;
	if (rc == MDB_NOTFOUND)
		return AC_OK;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get install_keys");
	if (ac_json_parse(v.mv_data, v.mv_size, &o, NULL) != AC_OK)
		return AC_OK; /* unreadable: fetch again */
	if ((pem = ac_json_get_string(o, "pem")) != NULL) {
		ac_buf_reset(k->pem);
		if (ac_buf_adds(k->pem, pem) == AC_OK)
			k->found = 1;
	} else if ((m = ac_json_get_typed(o, "missingUntil", json_type_int)) != NULL &&
	    json_object_get_int64(m) > (int64_t)ac_clock_now()) {
		json_object *s = ac_json_get_typed(o, "status", json_type_int);

		k->missing_until = (time_t)json_object_get_int64(m);
		k->missing = s ? (long)json_object_get_int64(s) : 0;
		if (k->missing == 0)
			k->missing = -1;
	}
	json_object_put(o);
	return AC_OK;
}

static enum ac_err
key_get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	return key_lookup(txn, st, ctx);
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
	json_object_object_add(o, "pem", json_object_new_string(ac_buf_str(k->pem)));
	json_object_object_add(o, "fetchedAt", json_object_new_int64((int64_t)ac_clock_now()));
	err = put_json(txn, st, k->kid, o);
	json_object_put(o);
	return err;
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

/*
 * Random kids spread over the key space: the expired failure records found
 * just after this kid stand for all of them. Keys ("pem") are never removed.
 */
static enum ac_err
purge_missing(MDB_txn *txn, struct ac_store *st, const char *kid)
{
	MDB_cursor *cur;
	MDB_val k = { strlen(kid), (void *)kid }, v;
	int rc, n;

	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_INSTALL_KEYS), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open install_keys");
	for (n = 0, rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < KEY_PURGE_MAX;
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
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? AC_OK : ac_store_mdb_err(rc, "purge install_keys");
}

/*
 * Before a fetch, in one write transaction: what another process learnt
 * meanwhile, then one fetch from the host's budget, and a marker that makes
 * concurrent requests for this kid wait for this fetch instead of repeating it.
 */
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

	k->throttled = 0;
	if ((err = key_lookup(txn, st, k)) != AC_OK || k->found || k->missing)
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
	if (since > (int64_t)now || (int64_t)now - since >= AC_INSTALL_KEYS_FETCH_WINDOW) {
		since = (int64_t)now;
		n = 0;
	}
	if (n >= AC_INSTALL_KEYS_FETCH_MAX) {
		k->throttled = 1;
		k->missing_until = (time_t)(since + AC_INSTALL_KEYS_FETCH_WINDOW);
		return AC_OK;
	}
	if ((o = json_object_new_object()) == NULL)
		return AC_ERR_NOMEM;
	json_object_object_add(o, "since", json_object_new_int64(since));
	json_object_object_add(o, "n", json_object_new_int64(n + 1));
	err = put_json(txn, st, KEY_BUDGET, o);
	json_object_put(o);
	if (err == AC_OK)
		err = put_missing(txn, st, k->kid, -1, now + (KEY_CONNECT_MS + KEY_TIMEOUT_MS) / 1000 + 1);
	return err;
}

/* The key server does not know the kid. */
static int
status_unknown(long status)
{
	return status == 404 || status == 410;
}

/*
 * A "no" from the key server (a 4xx: the kid, or our URL, is wrong) is
 * remembered for a minute; what may pass soon (429, 5xx, no answer, not a
 * key) for a few seconds.
 */
static int
failure_ttl(long status)
{
	return status >= 400 && status < 500 && status != 429 ? AC_INSTALL_KEYS_UNKNOWN_TTL : AC_INSTALL_KEYS_FAILED_TTL;
}

/* After a failed fetch: remember it, for the other processes too. */
static enum ac_err
key_miss_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct key_ctx *k = ctx;
	int ttl = failure_ttl(k->status);
	enum ac_err err = purge_missing(txn, st, k->kid);

	if (err == AC_OK)
		err = put_missing(txn, st, k->kid, k->status, ac_clock_now() + ttl);
	return err;
}

static int
pem_is_public_key(const struct ac_buf *pem)
{
	BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
	EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	int ok = k != NULL;

	EVP_PKEY_free(k);
	BIO_free(bio);
	return ok;
}

/* A remembered failure answers as the fetch did: unknown_key for a 404, anything else "retry". */
static enum ac_err
key_refused(struct ac_request *req, const struct key_ctx *k)
{
	long left = (long)(k->missing_until - ac_clock_now());

	if (k->throttled) {
		ac_log_warn("install key for kid %s not fetched: the host's %d fetches per %d s are spent",
		    k->kid, AC_INSTALL_KEYS_FETCH_MAX, AC_INSTALL_KEYS_FETCH_WINDOW);
		return ac_request_fail(req, AC_ERR_KEY_SERVER,
		    "too many install key fetches; retry in %ld s", left > 0 ? left : 1);
	}
	if (status_unknown(k->missing))
		return ac_request_fail(req, AC_ERR_UNKNOWN_KEY,
		    "the install key server does not know kid %s (remembered for %ld s more)", k->kid, left);
	return ac_request_fail(req, AC_ERR_KEY_SERVER,
	    "the install key server %s for this kid; retry in %ld s",
	    k->missing < 0 ? "is being asked" : "failed", left > 0 ? left : 1);
}

enum ac_err
ac_install_keys_get(struct ac_request *req, const char *kid, struct ac_buf *pem)
{
	struct key_ctx k = { kid, pem, 0, 0, 0, 0, 0 };
	struct ac_http_request rq = { 0 };
	struct ac_buf url;
	enum ac_err err;

	if ((err = ac_store_read(req->app->store, key_get_fn, &k)) != AC_OK)
		return err;
	if (k.found)
		return AC_OK;
	if (k.missing)
		return key_refused(req, &k);
	if ((err = ac_store_write(req->app->store, key_reserve_fn, &k)) != AC_OK)
		return err;
	if (k.found)
		return AC_OK;
	if (k.missing || k.throttled)
		return key_refused(req, &k);
	ac_buf_init(&url, 4096);
	if ((err = ac_buf_printf(&url, "%s/%s", req->app->conf->install_keys_url, kid)) != AC_OK)
		goto out;
	rq.method = "GET";
	rq.url = url.data;
	rq.connect_timeout_ms = KEY_CONNECT_MS;
	rq.timeout_ms = KEY_TIMEOUT_MS;
	ac_buf_reset(pem);
	err = ac_http_do(req->app->conf, &rq, &k.status, pem, NULL);
	if (err == AC_ERR_TOO_LARGE || err == AC_ERR_UPSTREAM || err == AC_ERR_HOST_NOT_ALLOWED) {
		k.status = 0;
		(void)ac_store_write(req->app->store, key_miss_fn, &k);
		err = ac_request_fail(req, AC_ERR_KEY_SERVER, "the install key server could not be reached; retry");
		goto out;
	}
	if (err != AC_OK)
		goto out;
	if (status_unknown(k.status)) {
		(void)ac_store_write(req->app->store, key_miss_fn, &k);
		err = ac_request_fail(req, AC_ERR_UNKNOWN_KEY, "the install key server does not know kid %s", kid);
		goto out;
	}
	if (k.status != 200 || !pem_is_public_key(pem)) {
		ac_log_error("install key server answered %ld for kid %s%s", k.status, kid,
		    k.status == 200 ? " with something that is not a PEM public key" : "");
		if (k.status == 200)
			k.status = 0;
		(void)ac_store_write(req->app->store, key_miss_fn, &k);
		err = ac_request_fail(req, AC_ERR_KEY_SERVER, "the install key server failed; retry");
		goto out;
	}
	/* keys never change for a kid: keep it for good (this replaces the fetch marker) */
	err = ac_store_write(req->app->store, key_put_fn, &k);
out:
	ac_buf_release(&url);
	return err;
}
