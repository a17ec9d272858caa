/*
 * pg-copy.c: moving a store (acctl store copy) on PostgreSQL: ac_store_items()
 * lists, in one REPEATABLE READ snapshot, the rows the other operations
 * cannot list, and ac_store_item_put_txn() writes any item back as it was,
 * in the caller's transaction (every statement on the connection joins it).
 * The tables are those of sql/001-initial.sql. LMDB's are in copy.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/store-lmdb.h" /* struct ac_txn */
#include "store/store-pg.h"

struct items {
	enum ac_err (*fn)(const struct ac_store_item *it, void *ctx);
	void *ctx;
	int64_t now;
};

static enum ac_err
tokens(struct ac_pg *pg, struct items *c)
{
	struct ac_store_item it = { 0 };
	struct ac_token_rec r;
	enum ac_err err;
	PGresult *res;
	int i;

	if ((err = ac_pg_exec(pg, "copy tokens", "SELECT key, access_token, scopes, expires_at, obtained_at, "
	    "failed_at_ms, failure FROM ac_tokens ORDER BY key", NULL, &res)) != AC_OK)
		return err;
	for (i = 0; i < PQntuples(res) && err == AC_OK; i++) {
		memset(&r, 0, sizeof(r));
		r.access_token = ac_pg_cell_null(res, i, 1) ? NULL : (char *)ac_pg_cell(res, i, 1);
		r.scopes = (char *)ac_pg_cell(res, i, 2);
		r.expires_at = ac_pg_cell_int(res, i, 3);
		r.obtained_at = ac_pg_cell_int(res, i, 4);
		if ((r.failed_at_ms = ac_pg_cell_int(res, i, 5)) != 0)
			r.failure = !strcmp(ac_pg_cell(res, i, 6), ac_err_code(AC_ERR_GRANT_REFUSED)) ?
			    AC_ERR_GRANT_REFUSED : AC_ERR_UPSTREAM;
		it.kind = AC_ITEM_TOKEN;
		it.key = ac_pg_cell(res, i, 0);
		it.token = &r;
		err = c->fn(&it, c->ctx);
	}
	ac_pg_clear_secret(res);
	return err;
}

static enum ac_err
keys_notes(struct ac_pg *pg, struct items *c)
{
	struct ac_store_item it = { 0 };
	enum ac_err err;
	PGresult *res;
	int i;

	if ((err = ac_pg_exec(pg, "copy install keys", "SELECT kid, pem, at FROM ac_install_keys "
	    "WHERE pem IS NOT NULL ORDER BY kid", NULL, &res)) != AC_OK)
		return err;
	for (i = 0; i < PQntuples(res) && err == AC_OK; i++) {
		it.kind = AC_ITEM_INSTALL_KEY;
		it.key = ac_pg_cell(res, i, 0);
		it.text = ac_pg_cell(res, i, 1);
		it.len = strlen(it.text);
		it.at = ac_pg_cell_int(res, i, 2);
		err = c->fn(&it, c->ctx);
	}
	PQclear(res);
	if (err != AC_OK || (err = ac_pg_exec(pg, "copy notes", "SELECT key, at FROM ac_notes ORDER BY key", NULL,
	    &res)) != AC_OK)
		return err;
	memset(&it, 0, sizeof(it));
	for (i = 0; i < PQntuples(res) && err == AC_OK; i++) {
		it.kind = AC_ITEM_NOTE;
		it.key = ac_pg_cell(res, i, 0);
		it.at = ac_pg_cell_int(res, i, 1);
		err = c->fn(&it, c->ctx);
	}
	PQclear(res);
	return err;
}

static enum ac_err
forge(struct ac_pg *pg, struct items *c)
{
	struct ac_store_item it = { 0 };
	struct ac_forge_token t = { 0 };
	struct ac_forge_jwks_state js = { 0 };
	enum ac_err err;
	PGresult *res;
	int i;

	if ((err = ac_pg_exec(pg, "copy forge tokens", "SELECT installation_id, token, exp, received_at "
	    "FROM ac_forge_tokens ORDER BY installation_id", NULL, &res)) != AC_OK)
		return err;
	for (i = 0; i < PQntuples(res) && err == AC_OK; i++) {
		t.token = (char *)ac_pg_cell(res, i, 1);
		t.exp = ac_pg_cell_int(res, i, 2);
		t.received_at = ac_pg_cell_int(res, i, 3);
		it.kind = AC_ITEM_FORGE_TOKEN;
		it.key = ac_pg_cell(res, i, 0);
		it.forge_token = &t;
		err = c->fn(&it, c->ctx);
	}
	ac_pg_clear_secret(res);
	if (err != AC_OK || (err = ac_pg_exec(pg, "copy forge jwks", "SELECT doc, fetched_at, attempt_at, attempt "
	    "FROM ac_forge_jwks WHERE id = 1", NULL, &res)) != AC_OK)
		return err;
	if (PQntuples(res) == 1) {
		memset(&it, 0, sizeof(it));
		if (!ac_pg_cell_null(res, 0, 0)) {
			it.text = ac_pg_cell(res, 0, 0);
			it.len = strlen(it.text);
			js.found = 1;
		}
		js.fetched_at = ac_pg_cell_int(res, 0, 1);
		js.attempt_at = ac_pg_cell_int(res, 0, 2);
		js.attempt = (int)ac_pg_cell_int(res, 0, 3);
		it.kind = AC_ITEM_JWKS;
		it.jwks = &js;
		err = c->fn(&it, c->ctx);
	}
	PQclear(res);
	return err;
}

static enum ac_err
deliveries(struct ac_pg *pg, struct items *c)
{
	struct ac_pg_params p = { 0 };
	struct ac_store_item it = { 0 };
	enum ac_err err;
	PGresult *res;
	int i;

	/* past the dedupe window nothing consults them */
	ac_pg_int(&p, c->now - AC_INBOX_DEDUPE_SECONDS);
	if ((err = ac_pg_exec(pg, "copy deliveries", "SELECT client_key, delivery_id, seq, at FROM ac_deliveries "
	    "WHERE at > $1 ORDER BY client_key, delivery_id", &p, &res)) != AC_OK)
		return err;
	for (i = 0; i < PQntuples(res) && err == AC_OK; i++) {
		it.kind = AC_ITEM_DELIVERY;
		it.key = ac_pg_cell(res, i, 0);
		it.delivery_id = ac_pg_cell(res, i, 1);
		it.seq = (uint64_t)ac_pg_cell_int(res, i, 2);
		it.at = ac_pg_cell_int(res, i, 3);
		err = c->fn(&it, c->ctx);
	}
	PQclear(res);
	if (err != AC_OK)
		return err;
	/* the last number handed out: NULL before the first */
	if ((err = ac_pg_exec(pg, "copy seq", "SELECT coalesce(pg_sequence_last_value("
	    "pg_get_serial_sequence('ac_inbox', 'seq')::regclass), 0)", NULL, &res)) != AC_OK)
		return err;
	memset(&it, 0, sizeof(it));
	it.kind = AC_ITEM_SEQ;
	it.seq = (uint64_t)ac_pg_cell_int(res, 0, 0);
	PQclear(res);
	return c->fn(&it, c->ctx);
}

static enum ac_err
items_fn(struct ac_txn *txn, void *ctx)
{
	struct ac_pg *pg = ac_store_pg(txn->st);
	enum ac_err err;

	if ((err = tokens(pg, ctx)) != AC_OK || (err = keys_notes(pg, ctx)) != AC_OK ||
	    (err = forge(pg, ctx)) != AC_OK)
		return err;
	return deliveries(pg, ctx);
}

enum ac_err
ac_pg_store_items(struct ac_store *st, enum ac_err (*fn)(const struct ac_store_item *it, void *ctx), void *ctx)
{
	struct items c = { fn, ctx, (int64_t)ac_clock_now() };

	return ac_pg_txn(st, AC_PG_SNAPSHOT, items_fn, &c);
}

/* ---- writing */

/* The inbox's sequence moved past seq (setval is not undone by a rollback: a gap at worst). */
static enum ac_err
raise_seq(struct ac_pg *pg, uint64_t seq)
{
	struct ac_pg_params p = { 0 };

	if (seq == 0)
		return AC_OK;
	ac_pg_int(&p, (int64_t)seq);
	return ac_pg_exec(pg, "copy seq", "SELECT setval(pg_get_serial_sequence('ac_inbox', 'seq'), "
	    "GREATEST($1::bigint, coalesce(pg_sequence_last_value(pg_get_serial_sequence('ac_inbox', 'seq')::regclass), "
	    "0)))", &p, NULL);
}

static enum ac_err
put_token(struct ac_pg *pg, const struct ac_store_item *it)
{
	const struct ac_token_rec *r = it->token;
	struct ac_pg_params p = { 0 };
	char *ck = ac_pg_token_client_key(it->key);
	int has = r->access_token && *r->access_token;
	enum ac_err err;

	if (ck == NULL)
		return AC_ERR_NOMEM;
	ac_pg_text(&p, it->key);
	ac_pg_text(&p, ck);
	ac_pg_text(&p, has ? r->access_token : NULL);
	ac_pg_text(&p, has && r->scopes ? r->scopes : "");
	ac_pg_int(&p, has ? r->expires_at : 0);
	ac_pg_int(&p, has ? r->obtained_at : 0);
	ac_pg_int(&p, r->failed_at_ms);
	ac_pg_text(&p, r->failed_at_ms ? ac_err_code(r->failure) : "");
	err = ac_pg_exec(pg, "copy token", ac_pg_token_upsert_sql, &p, NULL);
	free(ck);
	return err;
}

static enum ac_err
put_installation(struct ac_pg *pg, const struct ac_forge_installation *in)
{
	struct ac_pg_params p = { 0 };
	json_object *o = ac_forge_installation_to_json(in);
	const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
	enum ac_err err;

	if (s == NULL) {
		json_object_put(o);
		return AC_ERR_NOMEM;
	}
	ac_pg_text(&p, in->installation_id);
	ac_pg_text(&p, s);
	ac_pg_text(&p, in->client_key);
	ac_pg_int(&p, in->first_seen);
	ac_pg_int(&p, in->last_seen);
	err = ac_pg_exec(pg, "copy forge installation",
	    "INSERT INTO ac_forge_installations (installation_id, record, client_key, first_seen, last_seen) "
	    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (installation_id) DO UPDATE SET record = EXCLUDED.record, "
	    "client_key = EXCLUDED.client_key, first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen",
	    &p, NULL);
	json_object_put(o);
	return err;
}

static enum ac_err
put_event(struct ac_pg *pg, const struct ac_store_item *it)
{
	const struct ac_event *ev = it->event;
	struct ac_pg_params p = { 0 };
	enum ac_err err;

	if (ev->seq == 0 || ev->seq > INT64_MAX)
		return AC_ERR_INVALID;
	ac_pg_int(&p, (int64_t)ev->seq);
	ac_pg_text(&p, ev->client_key);
	ac_pg_text(&p, ev->event_key);
	ac_pg_text(&p, ev->delivery_id);
	ac_pg_bytes(&p, ev->body, ev->body_len);
	ac_pg_int(&p, (int64_t)ev->received_at);
	ac_pg_int(&p, (int64_t)ev->attempts);
	ac_pg_int(&p, (int64_t)ev->next_at);
	ac_pg_text(&p, ev->last_error);
	/* the lease is dropped: whoever held it works on the source, not here */
	/* (--force into a store that has one under that number: replaced, as LMDB's put does) */
#define EVENT_UPSERT(table) "INSERT INTO " table " (seq, client_key, event_key, delivery_id, body, received_at, " \
	"attempts, next_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (seq) DO UPDATE SET " \
	"client_key = EXCLUDED.client_key, event_key = EXCLUDED.event_key, delivery_id = EXCLUDED.delivery_id, " \
	"body = EXCLUDED.body, received_at = EXCLUDED.received_at, attempts = EXCLUDED.attempts, " \
	"next_at = EXCLUDED.next_at, last_error = EXCLUDED.last_error, lease_until = 0, owner_id = NULL, " \
	"owner_boot = NULL, owner_pidns = 0, owner_start = 0, owner_pid = 0, owner_host = ''"
	err = ac_pg_exec(pg, "copy event", it->kind == AC_ITEM_DEAD ? EVENT_UPSERT("ac_dead") : EVENT_UPSERT("ac_inbox"),
	    &p, NULL);
#undef EVENT_UPSERT
	return err == AC_OK ? raise_seq(pg, ev->seq) : err;
}

enum ac_err
ac_pg_store_item_put_txn(struct ac_txn *txn, const struct ac_store_item *it)
{
	struct ac_pg *pg = ac_store_pg(txn->st);
	struct ac_pg_params p = { 0 };

	switch (it->kind) {
	case AC_ITEM_TOKEN:
		return put_token(pg, it);
	case AC_ITEM_INSTALL_KEY:
		ac_pg_text(&p, it->key);
		ac_pg_text(&p, it->text);
		ac_pg_int(&p, it->at);
		return ac_pg_exec(pg, "copy install key", "INSERT INTO ac_install_keys (kid, pem, missing, "
		    "missing_until, at) VALUES ($1, $2, 0, 0, $3) ON CONFLICT (kid) DO UPDATE SET pem = EXCLUDED.pem, "
		    "missing = 0, missing_until = 0, at = EXCLUDED.at", &p, NULL);
	case AC_ITEM_NOTE:
		ac_pg_text(&p, it->key);
		ac_pg_int(&p, it->at);
		return ac_pg_exec(pg, "copy note", "INSERT INTO ac_notes (key, at) VALUES ($1, $2) "
		    "ON CONFLICT (key) DO UPDATE SET at = EXCLUDED.at", &p, NULL);
	case AC_ITEM_FORGE_TOKEN:
		ac_pg_text(&p, it->key);
		ac_pg_text(&p, it->forge_token->token);
		ac_pg_int(&p, it->forge_token->exp);
		ac_pg_int(&p, it->forge_token->received_at);
		return ac_pg_exec(pg, "copy forge token", "INSERT INTO ac_forge_tokens (installation_id, token, exp, "
		    "received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (installation_id) DO UPDATE SET "
		    "token = EXCLUDED.token, exp = EXCLUDED.exp, received_at = EXCLUDED.received_at", &p, NULL);
	case AC_ITEM_JWKS:
		ac_pg_text(&p, it->text);
		ac_pg_int(&p, it->jwks->fetched_at);
		ac_pg_int(&p, it->jwks->attempt_at);
		ac_pg_int(&p, it->jwks->attempt);
		return ac_pg_exec(pg, "copy forge jwks", "INSERT INTO ac_forge_jwks (id, doc, fetched_at, attempt_at, "
		    "attempt) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, "
		    "fetched_at = EXCLUDED.fetched_at, attempt_at = EXCLUDED.attempt_at, attempt = EXCLUDED.attempt",
		    &p, NULL);
	case AC_ITEM_DELIVERY:
		ac_pg_text(&p, it->key);
		ac_pg_text(&p, it->delivery_id);
		ac_pg_int(&p, (int64_t)it->seq);
		ac_pg_int(&p, it->at);
		return ac_pg_exec(pg, "copy delivery", "INSERT INTO ac_deliveries (client_key, delivery_id, seq, at) "
		    "VALUES ($1, $2, $3, $4) ON CONFLICT (client_key, delivery_id) DO UPDATE SET seq = EXCLUDED.seq, "
		    "at = EXCLUDED.at", &p, NULL);
	case AC_ITEM_SEQ:
		return raise_seq(pg, it->seq);
	case AC_ITEM_FORGE_INSTALLATION:
		return put_installation(pg, it->installation);
	case AC_ITEM_EVENT:
	case AC_ITEM_DEAD:
		return put_event(pg, it);
	case AC_ITEM__COUNT:
		break;
	}
	return AC_ERR_INVALID;
}
