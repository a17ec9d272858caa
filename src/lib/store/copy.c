/*
 * copy.c: moving a store (acctl store copy) on LMDB: ac_store_items() lists,
 * in one read transaction, the records the other operations of store.h
 * cannot list, and ac_store_item_put_txn() writes any item back as it was
 * (the record formats are those of tokens.c, keys.c, notes.c, forge.c,
 * ingest.c and inbox.c). PostgreSQL's are in pg-copy.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/le.h"
#include "base/log.h"
#include "store/inbox-int.h"
#include "store/store-lmdb.h"
#include "store/store-pg.h" /* ac_forge_installation_to_json, shared by both backends */

/* The keys keys.c and forge.c use beside their records. */
#define KEY_BUDGET "#fetches"
#define KEY_JWKS "jwks"
#define KEY_FETCH "jwks-fetch"

static const MDB_val seq_floor_key = { 8, (void *)"inboxseq" };

struct items {
	enum ac_err (*fn)(const struct ac_store_item *it, void *ctx);
	void *ctx;
	time_t now;
};

static int64_t
get_int(json_object *o, const char *name)
{
	json_object *v = ac_json_get_typed(o, name, json_type_int);

	return v ? json_object_get_int64(v) : 0;
}

/* A record's JSON object, NULL when it is not one (skipped, logged). */
static json_object *
parse(const char *db, const MDB_val *v)
{
	json_object *o = NULL;

	if (ac_json_parse(v->mv_data, v->mv_size, &o, NULL) != AC_OK || !json_object_is_type(o, json_type_object)) {
		ac_log_warn("copy: a record of %s is not a JSON object; skipped", db);
		json_object_put(o);
		return NULL;
	}
	return o;
}

static enum ac_err
one_token(const char *key, const MDB_val *v, struct items *c)
{
	struct ac_token_rec r = { 0 };
	struct ac_store_item it = { 0 };
	json_object *o = parse("tokens", v);
	enum ac_err err;

	if (o == NULL)
		return AC_OK;
	r.access_token = (char *)ac_json_get_string(o, "token");
	r.scopes = (char *)ac_json_get_string(o, "scopes");
	if (r.scopes == NULL)
		r.scopes = "";
	r.expires_at = get_int(o, "expiresAt");
	r.obtained_at = get_int(o, "obtainedAt");
	if ((r.failed_at_ms = get_int(o, "failedAtMs")) != 0) {
		const char *code = ac_json_get_string(o, "error");

		r.failure = code && !strcmp(code, ac_err_code(AC_ERR_GRANT_REFUSED)) ? AC_ERR_GRANT_REFUSED :
		    AC_ERR_UPSTREAM;
	}
	it.kind = AC_ITEM_TOKEN;
	it.key = key;
	it.token = &r;
	err = c->fn(&it, c->ctx);
	ac_json_put_secret(o);
	return err;
}

static enum ac_err
one_install_key(const char *key, const MDB_val *v, struct items *c)
{
	struct ac_store_item it = { 0 };
	json_object *o;
	enum ac_err err = AC_OK;

	if (!strcmp(key, KEY_BUDGET) || (o = parse("install_keys", v)) == NULL)
		return AC_OK;
	if ((it.text = ac_json_get_string(o, "pem")) != NULL) {
		it.kind = AC_ITEM_INSTALL_KEY;
		it.key = key;
		it.len = strlen(it.text);
		it.at = get_int(o, "fetchedAt");
		err = c->fn(&it, c->ctx);
	}
	json_object_put(o);
	return err;
}

static enum ac_err
one_note(const char *key, const MDB_val *v, struct items *c)
{
	struct ac_store_item it = { 0 };
	char when[32];
	size_t n = v->mv_size < sizeof(when) - 1 ? v->mv_size : sizeof(when) - 1;

	memcpy(when, v->mv_data, n);
	when[n] = '\0';
	it.kind = AC_ITEM_NOTE;
	it.key = key;
	it.at = strtoll(when, NULL, 10);
	return c->fn(&it, c->ctx);
}

static enum ac_err
one_forge(const char *key, const MDB_val *v, struct items *c)
{
	struct ac_forge_token t = { 0 };
	struct ac_store_item it = { 0 };
	json_object *o;
	enum ac_err err = AC_OK;

	/* installations are listed by ac_forge_installation_foreach; the JWKS apart */
	if (strncmp(key, "t:", 2) || (o = parse("forge", v)) == NULL)
		return AC_OK;
	if ((t.token = (char *)ac_json_get_string(o, "token")) != NULL && *t.token) {
		t.exp = get_int(o, "exp");
		t.received_at = get_int(o, "receivedAt");
		it.kind = AC_ITEM_FORGE_TOKEN;
		it.key = key + 2;
		it.forge_token = &t;
		err = c->fn(&it, c->ctx);
	}
	ac_json_put_secret(o);
	return err;
}

static enum ac_err
one_delivery(const char *key, const MDB_val *v, struct items *c)
{
	struct ac_store_item it = { 0 };
	char *nl = strchr(key, '\n');
	enum ac_err err;

	if (nl == NULL || v->mv_size != 16)
		return AC_OK;
	it.at = (int64_t)le_get64((const unsigned char *)v->mv_data + 8);
	if (it.at <= (int64_t)c->now - AC_INBOX_DEDUPE_SECONDS)
		return AC_OK; /* past the dedupe window: nothing would consult it */
	*nl = '\0';
	it.kind = AC_ITEM_DELIVERY;
	it.key = key;
	it.delivery_id = nl + 1;
	it.seq = le_get64(v->mv_data);
	err = c->fn(&it, c->ctx);
	*nl = '\n';
	return err;
}

/* fn for every record of db, its key as a string (keys with a NUL byte are no key of ours: skipped). */
static enum ac_err
walk(MDB_txn *txn, struct ac_store *st, enum ac_db db, const char *name,
    enum ac_err (*fn)(const char *key, const MDB_val *v, struct items *c), struct items *c)
{
	MDB_cursor *cur;
	MDB_val k, v;
	enum ac_err err = AC_OK;
	char *key;
	int rc;

	if (ac_store_dbi(st, db) == (MDB_dbi)-1)
		return AC_OK; /* an older store has no such database */
	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, db), &cur)) != 0)
		return ac_store_mdb_err(rc, name);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == AC_OK;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (memchr(k.mv_data, '\0', k.mv_size))
			continue;
		if ((key = malloc(k.mv_size + 1)) == NULL) {
			err = AC_ERR_NOMEM;
			break;
		}
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		err = fn(key, &v, c);
		free(key);
	}
	mdb_cursor_close(cur);
	if (err == AC_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = ac_store_mdb_err(rc, name);
	return err;
}

static json_object *
get_forge(MDB_txn *txn, struct ac_store *st, const char *key)
{
	MDB_val k = { strlen(key), (void *)key }, v;

	if (ac_store_dbi(st, AC_DB_FORGE) == (MDB_dbi)-1 || mdb_get(txn, ac_store_dbi(st, AC_DB_FORGE), &k, &v) != 0)
		return NULL;
	return parse("forge", &v);
}

static enum ac_err
jwks_item(MDB_txn *txn, struct ac_store *st, struct items *c)
{
	struct ac_forge_jwks_state js = { 0 };
	struct ac_store_item it = { 0 };
	json_object *doc = get_forge(txn, st, KEY_JWKS), *f = get_forge(txn, st, KEY_FETCH);
	enum ac_err err = AC_OK;

	if (doc && (it.text = ac_json_get_string(doc, "doc")) != NULL) {
		it.len = strlen(it.text);
		js.found = 1;
		js.fetched_at = get_int(doc, "fetchedAt");
	}
	if (f) {
		js.attempt_at = get_int(f, "at");
		js.attempt = (int)get_int(f, "ok");
	}
	if (it.text || f) {
		it.kind = AC_ITEM_JWKS;
		it.jwks = &js;
		err = c->fn(&it, c->ctx);
	}
	json_object_put(doc);
	json_object_put(f);
	return err;
}

static enum ac_err
items_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct items *c = ctx;
	struct ac_store_item it = { 0 };
	enum ac_err err;

	if ((err = walk(txn, st, AC_DB_TOKENS, "tokens", one_token, c)) != AC_OK ||
	    (err = walk(txn, st, AC_DB_INSTALL_KEYS, "install_keys", one_install_key, c)) != AC_OK ||
	    (err = walk(txn, st, AC_DB_NOTES, "notes", one_note, c)) != AC_OK ||
	    (err = walk(txn, st, AC_DB_FORGE, "forge", one_forge, c)) != AC_OK ||
	    (err = jwks_item(txn, st, c)) != AC_OK ||
	    (err = walk(txn, st, AC_DB_DELIVERIES, "deliveries", one_delivery, c)) != AC_OK)
		return err;
	if ((err = ac_inbox_next_seq(txn, st, &it.seq)) != AC_OK)
		return err;
	it.kind = AC_ITEM_SEQ;
	it.seq--;
	return c->fn(&it, c->ctx);
}

enum ac_err
ac_lmdb_store_items(struct ac_store *st, enum ac_err (*fn)(const struct ac_store_item *it, void *ctx), void *ctx)
{
	struct items c = { fn, ctx, ac_clock_now() };

	/* the events of the intake journal are events of the store: moved into the inbox first */
	if (ac_store_journal(st))
		(void)ac_inbox_ingest(st, 0, NULL);
	return ac_store_read(st, items_fn, &c);
}

/* ---- writing */

static enum ac_err
put_raw(struct ac_txn *txn, enum ac_db db, const char *what, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc = mdb_put(txn->txn, ac_store_dbi(txn->st, db), &k, &v, 0);

	return rc ? ac_store_mdb_err(rc, what) : AC_OK;
}

/* o as the record of key (prefix + key), wiped after (it may hold a token). */
static enum ac_err
put_json(struct ac_txn *txn, enum ac_db db, const char *what, const char *prefix, const char *key, json_object *o)
{
	size_t len, plen = strlen(prefix), klen = strlen(key);
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	char *k;
	enum ac_err err;

	if (s == NULL || (k = malloc(plen + klen + 1)) == NULL)
		return AC_ERR_NOMEM;
	memcpy(k, prefix, plen);
	memcpy(k + plen, key, klen + 1);
	err = put_raw(txn, db, what, k, plen + klen, s, len);
	OPENSSL_cleanse((void *)(uintptr_t)s, len);
	free(k);
	return err;
}

static enum ac_err
put_token(struct ac_txn *txn, const struct ac_store_item *it)
{
	const struct ac_token_rec *r = it->token;
	/* a listed record's token is "" when it holds none */
	json_object *o = ac_lmdb_token_json(r, r->access_token && *r->access_token);
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	err = put_json(txn, AC_DB_TOKENS, "mdb_put tokens", "", it->key, o);
	ac_json_put_secret(o);
	return err;
}

static enum ac_err
put_forge_token(struct ac_txn *txn, const struct ac_store_item *it)
{
	json_object *o = ac_lmdb_forge_token_json(it->forge_token->token, it->forge_token->exp,
	    it->forge_token->received_at);
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	err = put_json(txn, AC_DB_FORGE, "mdb_put forge", "t:", it->key, o);
	ac_json_put_secret(o);
	return err;
}

static enum ac_err
put_jwks(struct ac_txn *txn, const struct ac_store_item *it)
{
	json_object *o;
	enum ac_err err = AC_OK;

	if (it->text) {
		if ((o = ac_lmdb_forge_jwks_json(it->text, it->len, it->jwks->fetched_at)) == NULL)
			return AC_ERR_NOMEM;
		err = put_json(txn, AC_DB_FORGE, "mdb_put forge", "", KEY_JWKS, o);
		json_object_put(o);
	}
	if (err == AC_OK && it->jwks->attempt_at) {
		if ((o = ac_lmdb_forge_fetch_json(it->jwks->attempt_at, it->jwks->attempt)) == NULL)
			return AC_ERR_NOMEM;
		err = put_json(txn, AC_DB_FORGE, "mdb_put forge", "", KEY_FETCH, o);
		json_object_put(o);
	}
	return err;
}

/* The floor of the sequence numbers (inbox.c) raised to seq. */
static enum ac_err
raise_floor(struct ac_txn *txn, uint64_t seq)
{
	MDB_val k = seq_floor_key, v;
	unsigned char b[8];
	int rc = mdb_get(txn->txn, ac_store_dbi(txn->st, AC_DB_META), &k, &v);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return ac_store_mdb_err(rc, "mdb_get meta");
	if (rc == 0 && v.mv_size == 8 && le_get64(v.mv_data) >= seq)
		return AC_OK;
	le_put64(b, seq);
	return put_raw(txn, AC_DB_META, "mdb_put meta", seq_floor_key.mv_data, seq_floor_key.mv_size, b, 8);
}

static enum ac_err
put_delivery(struct ac_txn *txn, const struct ac_store_item *it)
{
	size_t a = strlen(it->key), b = strlen(it->delivery_id);
	unsigned char k[512], v[16];

	/* ingest.c's key: per tenant */
	if (a + 1 + b > 511)
		return AC_ERR_INVALID;
	memcpy(k, it->key, a);
	k[a] = '\n';
	memcpy(k + a + 1, it->delivery_id, b);
	le_put64(v, it->seq);
	le_put64(v + 8, (uint64_t)it->at);
	return put_raw(txn, AC_DB_DELIVERIES, "mdb_put deliveries", k, a + 1 + b, v, 16);
}

static enum ac_err
put_event(struct ac_txn *txn, const struct ac_store_item *it)
{
	const struct ac_event *ev = it->event;
	struct hdr h = { 0 };

	if (ev->seq == 0)
		return AC_ERR_INVALID;
	/* the lease is dropped: whoever held it works on the source, not here */
	h.attempts = ev->attempts;
	h.received_at = ev->received_at;
	h.next_at = ev->next_at;
	/* the next number is past the largest key of inbox and dead: nothing else to move */
	return ac_inbox_put_record(txn->txn, ac_store_dbi(txn->st, it->kind == AC_ITEM_DEAD ? AC_DB_DEAD : AC_DB_INBOX),
	    ev->seq, &h, ev->client_key, ev->event_key, ev->delivery_id, ev->last_error, ev->body, ev->body_len);
}

enum ac_err
ac_lmdb_store_item_put_txn(struct ac_txn *txn, const struct ac_store_item *it)
{
	char when[32];
	json_object *o;
	enum ac_err err;

	switch (it->kind) {
	case AC_ITEM_TOKEN:
		return put_token(txn, it);
	case AC_ITEM_INSTALL_KEY:
		if ((o = json_object_new_object()) == NULL)
			return AC_ERR_NOMEM;
		json_object_object_add(o, "pem", json_object_new_string_len(it->text, (int)it->len));
		json_object_object_add(o, "fetchedAt", json_object_new_int64(it->at));
		err = put_json(txn, AC_DB_INSTALL_KEYS, "mdb_put install_keys", "", it->key, o);
		json_object_put(o);
		return err;
	case AC_ITEM_NOTE:
		snprintf(when, sizeof(when), "%lld", (long long)it->at);
		return put_raw(txn, AC_DB_NOTES, "mdb_put notes", it->key, strlen(it->key), when, strlen(when));
	case AC_ITEM_FORGE_TOKEN:
		return put_forge_token(txn, it);
	case AC_ITEM_JWKS:
		return put_jwks(txn, it);
	case AC_ITEM_DELIVERY:
		return put_delivery(txn, it);
	case AC_ITEM_SEQ:
		return it->seq ? raise_floor(txn, it->seq) : AC_OK;
	case AC_ITEM_FORGE_INSTALLATION:
		if ((o = ac_forge_installation_to_json(it->installation)) == NULL)
			return AC_ERR_NOMEM;
		err = put_json(txn, AC_DB_FORGE, "mdb_put forge", "i:", it->installation->installation_id, o);
		json_object_put(o);
		return err;
	case AC_ITEM_EVENT:
	case AC_ITEM_DEAD:
		return put_event(txn, it);
	case AC_ITEM__COUNT:
		break;
	}
	return AC_ERR_INVALID;
}
