/*
 * pg-forge.c: Forge installations, their system tokens and the JWKS on
 * PostgreSQL (store.h; schema in sql/001-initial.sql). The installation's
 * record is the JSON the LMDB backend keeps (forge.c); first_seen, last_seen
 * and client_key are columns beside it, so that a refresh is one upsert that
 * keeps them. "The newest token wins" is one conditional upsert; the JWKS
 * reserve reads before it writes, in a SERIALIZABLE transaction, so that
 * one process of all the hosts fetches per window.
 */
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

/* The LMDB backend's limit on an installation id, kept so that both refuse the same ids. */
#define ID_MAX 400

static int
id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n > 0 && n <= ID_MAX;
}

/* ---- installations */

/* A row (record, client_key, first_seen, last_seen) into out; AC_ERR_NOT_FOUND when unreadable (logged). */
static enum ac_err
installation_row(PGresult *r, int i, struct ac_forge_installation *out)
{
	json_object *o = NULL;
	enum ac_err err;

	memset(out, 0, sizeof(*out));
	if (ac_json_parse(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0), &o, NULL) != AC_OK ||
	    !json_object_is_type(o, json_type_object)) {
		ac_log_warn("forge: an installation record is not a JSON object; ignoring it");
		json_object_put(o);
		return AC_ERR_NOT_FOUND;
	}
	err = ac_forge_installation_from_json(o, out);
	json_object_put(o);
	if (err != AC_OK)
		return err;
	/* the columns are the truth: the upsert keeps them without rewriting the record */
	free(out->client_key);
	out->client_key = NULL;
	if (!PQgetisnull(r, i, 1) && (out->client_key = strdup(PQgetvalue(r, i, 1))) == NULL) {
		ac_forge_installation_release(out);
		return AC_ERR_NOMEM;
	}
	out->first_seen = ac_pg_cell_int(r, i, 2);
	out->last_seen = ac_pg_cell_int(r, i, 3);
	return AC_OK;
}

enum ac_err
ac_pg_forge_installation_get(struct ac_store *st, const char *installation_id, struct ac_forge_installation *out)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	if (!id_ok(installation_id))
		return AC_ERR_NOT_FOUND;
	ac_pg_text(&p, installation_id);
	if ((err = ac_pg_exec(ac_store_pg(st), "forge installation get", "SELECT record, client_key, first_seen, "
	    "last_seen FROM ac_forge_installations WHERE installation_id = $1", &p, &r)) != AC_OK)
		return err;
	err = PQntuples(r) == 1 ? installation_row(r, 0, out) : AC_ERR_NOT_FOUND;
	PQclear(r);
	return err;
}

enum ac_err
ac_pg_forge_installation_put(struct ac_store *st, const struct ac_forge_installation *in)
{
	struct ac_forge_installation rec = *in;
	struct ac_pg_params p = { 0 };
	int64_t now = (int64_t)ac_clock_now();
	json_object *o;
	const char *s;
	enum ac_err err;

	if (!id_ok(in->installation_id))
		return AC_ERR_INVALID;
	rec.first_seen = rec.last_seen = now;
	if ((o = ac_forge_installation_to_json(&rec)) == NULL ||
	    (s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) == NULL) {
		json_object_put(o);
		return AC_ERR_NOMEM;
	}
	ac_pg_text(&p, in->installation_id);
	ac_pg_text(&p, s);
	ac_pg_text(&p, in->client_key);
	ac_pg_int(&p, now);
	/* one statement: first_seen kept, and a client_key left NULL keeps the one recorded */
	err = ac_pg_exec(ac_store_pg(st), "forge installation put",
	    "INSERT INTO ac_forge_installations (installation_id, record, client_key, first_seen, last_seen) "
	    "VALUES ($1, $2, $3, $4, $4) ON CONFLICT (installation_id) DO UPDATE SET record = EXCLUDED.record, "
	    "client_key = coalesce(EXCLUDED.client_key, ac_forge_installations.client_key), "
	    "last_seen = EXCLUDED.last_seen", &p, NULL);
	json_object_put(o);
	return err;
}

enum ac_err
ac_pg_forge_installation_foreach(struct ac_store *st,
    enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx), void *ctx)
{
	enum ac_err err;
	PGresult *r;
	int i, n;

	if ((err = ac_pg_exec(ac_store_pg(st), "forge installation foreach", "SELECT record, client_key, first_seen, "
	    "last_seen FROM ac_forge_installations ORDER BY installation_id", NULL, &r)) != AC_OK)
		return err;
	n = PQntuples(r);
	for (i = 0; i < n && err == AC_OK; i++) {
		struct ac_forge_installation in;

		if ((err = installation_row(r, i, &in)) == AC_OK) {
			err = fn(&in, ctx);
			ac_forge_installation_release(&in);
		} else if (err == AC_ERR_NOT_FOUND) {
			err = AC_OK;
		}
	}
	PQclear(r);
	return err;
}

/* ---- system tokens: the newest wins, never replaced by an older one or by nothing */

enum ac_err
ac_pg_forge_token_get(struct ac_store *st, const char *installation_id, struct ac_forge_token *out)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	if (!id_ok(installation_id))
		return AC_OK;
	ac_pg_text(&p, installation_id);
	if ((err = ac_pg_exec(ac_store_pg(st), "forge token get",
	    "SELECT token, exp, received_at FROM ac_forge_tokens WHERE installation_id = $1", &p, &r)) != AC_OK)
		return err;
	if (PQntuples(r) == 1 && PQgetlength(r, 0, 0) > 0) {
		if ((out->token = strdup(PQgetvalue(r, 0, 0))) == NULL)
			err = AC_ERR_NOMEM;
		out->exp = ac_pg_cell_int(r, 0, 1);
		out->received_at = ac_pg_cell_int(r, 0, 2);
	}
	ac_pg_clear_secret(r);
	return err;
}

enum ac_err
ac_pg_forge_token_offer(struct ac_store *st, const char *installation_id, const char *token, int64_t exp,
    int *kept)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	if (kept)
		*kept = 0;
	/* nothing, or a token already dead, never replaces anything */
	if (token == NULL || *token == '\0' || exp <= (int64_t)ac_clock_now() || exp > AC_JSON_DATE_MAX)
		return AC_OK;
	if (!id_ok(installation_id))
		return AC_ERR_INVALID;
	ac_pg_text(&p, installation_id);
	ac_pg_text(&p, token);
	ac_pg_int(&p, exp);
	ac_pg_int(&p, (int64_t)ac_clock_now());
	/*
	 * One statement: the row is locked and its exp compared again when
	 * another host offered at the same time, so the newest wins whatever
	 * the order; an equal exp keeps the one held.
	 */
	if ((err = ac_pg_exec(ac_store_pg(st), "forge token offer",
	    "INSERT INTO ac_forge_tokens (installation_id, token, exp, received_at) VALUES ($1, $2, $3, $4) "
	    "ON CONFLICT (installation_id) DO UPDATE SET token = EXCLUDED.token, exp = EXCLUDED.exp, "
	    "received_at = EXCLUDED.received_at WHERE ac_forge_tokens.exp < EXCLUDED.exp "
	    "OR ac_forge_tokens.token = ''", &p, &r)) != AC_OK)
		return err;
	if (kept)
		*kept = !strcmp(PQcmdTuples(r), "1");
	PQclear(r);
	return AC_OK;
}

/* ---- the JWKS and the host's fetches */

/* The row (doc, fetched_at, attempt_at, attempt) into doc and out. */
static void
jwks_row(PGresult *r, struct ac_buf *doc, struct ac_forge_jwks_state *out)
{
	out->found = 0;
	out->fetched_at = 0;
	out->attempt_at = 0;
	out->attempt = 0;
	if (PQntuples(r) != 1)
		return;
	if (!PQgetisnull(r, 0, 0)) {
		ac_buf_reset(doc);
		if (ac_buf_add(doc, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)) == AC_OK) {
			out->found = 1;
			out->fetched_at = ac_pg_cell_int(r, 0, 1);
		}
	}
	out->attempt_at = ac_pg_cell_int(r, 0, 2);
	out->attempt = (int)ac_pg_cell_int(r, 0, 3);
}

static enum ac_err
jwks_lookup(struct ac_pg *pg, struct ac_buf *doc, struct ac_forge_jwks_state *out)
{
	enum ac_err err;
	PGresult *r;

	if ((err = ac_pg_exec(pg, "forge jwks get",
	    "SELECT doc, fetched_at, attempt_at, attempt FROM ac_forge_jwks WHERE id = 1", NULL, &r)) != AC_OK)
		return err;
	jwks_row(r, doc, out);
	PQclear(r);
	return AC_OK;
}

enum ac_err
ac_pg_forge_jwks_get(struct ac_store *st, struct ac_buf *doc, struct ac_forge_jwks_state *out)
{
	memset(out, 0, sizeof(*out));
	return jwks_lookup(ac_store_pg(st), doc, out);
}

struct reserve_ctx {
	int window;
	int64_t seen_fetched_at;
	struct ac_buf *doc;
	struct ac_forge_jwks_state *out;
};

static enum ac_err
reserve_fn(struct ac_txn *txn, void *ctx)
{
	struct reserve_ctx *c = ctx;
	struct ac_pg *pg = ac_store_pg(txn->st);
	struct ac_pg_params p = { 0 };
	int64_t now = (int64_t)ac_clock_now();
	enum ac_err err;

	memset(c->out, 0, sizeof(*c->out));
	if ((err = jwks_lookup(pg, c->doc, c->out)) != AC_OK)
		return err;
	if (c->out->found && c->out->fetched_at > c->seen_fetched_at)
		return AC_OK; /* another process fetched it meanwhile */
	/* an attempt in the future is a clock that went back: the window starts again */
	if (c->out->attempt_at && c->out->attempt_at <= now && now - c->out->attempt_at < c->window)
		return AC_OK;
	ac_pg_int(&p, now);
	if ((err = ac_pg_exec(pg, "forge jwks reserve", "INSERT INTO ac_forge_jwks (id, attempt_at, attempt) "
	    "VALUES (1, $1, -1) ON CONFLICT (id) DO UPDATE SET attempt_at = EXCLUDED.attempt_at, attempt = -1", &p,
	    NULL)) != AC_OK)
		return err;
	c->out->granted = 1;
	c->out->attempt_at = now;
	c->out->attempt = -1;
	return AC_OK;
}

enum ac_err
ac_pg_forge_jwks_reserve(struct ac_store *st, int window, int64_t seen_fetched_at, struct ac_buf *doc,
    struct ac_forge_jwks_state *out)
{
	struct reserve_ctx c = { window, seen_fetched_at, doc, out };

	memset(out, 0, sizeof(*out));
	return ac_pg_txn(st, AC_PG_SERIAL, reserve_fn, &c);
}

enum ac_err
ac_pg_forge_jwks_put(struct ac_store *st, const char *doc, size_t len)
{
	struct ac_pg_params p = { 0 };
	char *copy;
	enum ac_err err;

	if (doc && memchr(doc, '\0', len))
		return AC_ERR_INVALID;
	ac_pg_int(&p, (int64_t)ac_clock_now());
	if (doc == NULL)
		return ac_pg_exec(ac_store_pg(st), "forge jwks put", "INSERT INTO ac_forge_jwks (id, attempt_at, attempt) "
		    "VALUES (1, $1, 0) ON CONFLICT (id) DO UPDATE SET attempt_at = EXCLUDED.attempt_at, attempt = 0", &p,
		    NULL);
	/* text parameters end at their NUL */
	if ((copy = strndup(doc, len)) == NULL)
		return AC_ERR_NOMEM;
	ac_pg_text(&p, copy);
	err = ac_pg_exec(ac_store_pg(st), "forge jwks put", "INSERT INTO ac_forge_jwks (id, doc, fetched_at, attempt_at, "
	    "attempt) VALUES (1, $2, $1, $1, 1) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, "
	    "fetched_at = EXCLUDED.fetched_at, attempt_at = EXCLUDED.attempt_at, attempt = 1", &p, NULL);
	free(copy);
	return err;
}
