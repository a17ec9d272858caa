/*
 * pg-tenant.c: tenants, install keys, access tokens, handler notes and
 * lifecycle_seen on PostgreSQL (store.h; schema in sql/001-initial.sql).
 * Each operation is one statement where it can be (atomic by itself, one
 * round trip); the reserves that read before they write run in a
 * SERIALIZABLE transaction (ac_pg_txn), so that two hosts never both get the
 * grant. Keys are COLLATE "C" in the schema: "key order" is byte order, as
 * in LMDB.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/digest.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store-lmdb.h"
#include "store/store-pg.h"

/* LMDB's limits, kept so that both backends accept and refuse the same keys (acctl store copy). */
#define CLIENT_KEY_MAX 511
#define NOTE_KEY_MAX 400
/* The fetch budget's name in ac_fetch_budget. */
#define BUDGET_INSTALL_KEYS "install-keys"
/* How long ac_token_lock waits for another process's minting (grant.c's calls take at most 5 s). */
#define TOKEN_LOCK_WAIT_MS "15000"
/* The class of the advisory locks of tokens (the two-key form: apart from pg-migrate.c's bigint lock). */
#define TOKEN_LOCK_CLASS "1635017067"

void
ac_pg_clear_secret(PGresult *r)
{
	int i, j, rows, cols;

	if (r == NULL)
		return;
	rows = PQntuples(r);
	cols = PQnfields(r);
	for (i = 0; i < rows; i++)
		for (j = 0; j < cols; j++)
			if (!PQgetisnull(r, i, j))
				OPENSSL_cleanse(PQgetvalue(r, i, j), (size_t)PQgetlength(r, i, j));
	PQclear(r);
}

/* How many rows a statement touched. */
static long
touched(PGresult *r)
{
	const char *s = PQcmdTuples(r);

	return s && *s ? strtol(s, NULL, 10) : 0;
}

/* ---- tenants */

/* Prepared: every request of an installed app reads its tenant. */
static const struct ac_pg_stmt tenant_get_stmt = { "ac_tenant_get",
	"SELECT record FROM ac_tenants WHERE client_key = $1", 0 };

static enum ac_err
tenant_get(struct ac_pg *pg, const char *client_key, struct ac_tenant *out)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	if (*client_key == '\0' || strlen(client_key) > CLIENT_KEY_MAX)
		return AC_ERR_UNKNOWN_TENANT;
	ac_pg_text(&p, client_key);
	if ((err = ac_pg_exec_prepared(pg, "tenant get", &tenant_get_stmt, &p, &r)) != AC_OK)
		return err;
	if (PQntuples(r) == 0)
		err = AC_ERR_UNKNOWN_TENANT;
	else
		err = ac_tenant_decode(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), out);
	ac_pg_clear_secret(r);
	return err;
}

enum ac_err
ac_pg_tenant_get(struct ac_store *st, const char *client_key, struct ac_tenant *out)
{
	return tenant_get(ac_store_pg(st), client_key, out);
}

enum ac_err
ac_pg_tenant_get_txn(struct ac_txn *txn, const char *client_key, struct ac_tenant *out)
{
	return tenant_get(ac_store_pg(txn->st), client_key, out);
}

enum ac_err
ac_pg_tenant_get_record(struct ac_store *st, const char *client_key, json_object **out)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	*out = NULL;
	if (*client_key == '\0' || strlen(client_key) > CLIENT_KEY_MAX)
		return AC_OK;
	ac_pg_text(&p, client_key);
	if ((err = ac_pg_exec(ac_store_pg(st), "tenant record", "SELECT record FROM ac_tenants WHERE client_key = $1",
	    &p, &r)) != AC_OK)
		return err;
	if (PQntuples(r) == 1 && (ac_json_parse(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), out, NULL) != AC_OK ||
	    !json_object_is_type(*out, json_type_object))) {
		ac_json_put_secret(*out);
		*out = NULL;
	}
	ac_pg_clear_secret(r);
	return AC_OK;
}

enum ac_err
ac_pg_tenant_put_txn(struct ac_txn *txn, const struct ac_tenant *t, json_object *install)
{
	struct ac_pg_params p = { 0 };
	json_object *rec;
	const char *s;
	size_t len;
	enum ac_err err;

	if (t->client_key == NULL || *t->client_key == '\0' || strlen(t->client_key) > CLIENT_KEY_MAX)
		return AC_ERR_INVALID;
	if ((err = ac_tenant_to_json(t, install, &rec)) != AC_OK)
		return err;
	s = json_object_to_json_string_length(rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL || len > AC_TENANT_RECORD_MAX) {
		err = s ? AC_ERR_TOO_LARGE : AC_ERR_NOMEM;
		goto out;
	}
	ac_pg_text(&p, t->client_key);
	ac_pg_text(&p, s);
	ac_pg_text(&p, t->installation_id && *t->installation_id ? t->installation_id : NULL);
	ac_pg_int(&p, (int64_t)ac_clock_now());
	err = ac_pg_exec(ac_store_pg(txn->st), "tenant put",
	    "INSERT INTO ac_tenants (client_key, record, installation_id, updated_at) VALUES ($1, $2, $3, $4) "
	    "ON CONFLICT (client_key) DO UPDATE SET record = EXCLUDED.record, "
	    "installation_id = EXCLUDED.installation_id, updated_at = EXCLUDED.updated_at", &p, NULL);
out:
	/* the record carries the sharedSecret, so does its serialization */
	if (s)
		OPENSSL_cleanse((void *)(uintptr_t)s, len);
	ac_json_put_secret(rec);
	return err;
}

enum ac_err
ac_pg_tenant_delete(struct ac_store *st, const char *client_key)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;
	long n;

	if (*client_key == '\0' || strlen(client_key) > CLIENT_KEY_MAX)
		return AC_ERR_UNKNOWN_TENANT;
	ac_pg_text(&p, client_key);
	if ((err = ac_pg_exec(ac_store_pg(st), "tenant delete", "DELETE FROM ac_tenants WHERE client_key = $1", &p,
	    &r)) != AC_OK)
		return err;
	n = touched(r);
	PQclear(r);
	return n > 0 ? AC_OK : AC_ERR_UNKNOWN_TENANT;
}

enum ac_err
ac_pg_tenant_delete_txn(struct ac_txn *txn, const char *client_key)
{
	return ac_pg_tenant_delete(txn->st, client_key);
}

enum ac_err
ac_pg_tenant_foreach(struct ac_store *st, enum ac_err (*fn)(const struct ac_tenant *t, json_object *record,
    void *ctx), void *ctx)
{
	enum ac_err err;
	PGresult *r;
	int i, n;

	/* one statement: one consistent view, as LMDB's read transaction */
	if ((err = ac_pg_exec(ac_store_pg(st), "tenant foreach",
	    "SELECT client_key, record FROM ac_tenants ORDER BY client_key", NULL, &r)) != AC_OK)
		return err;
	n = PQntuples(r);
	for (i = 0; i < n && err == AC_OK; i++) {
		const char *ck = PQgetvalue(r, i, 0);
		struct ac_tenant t;
		json_object *rec;

		if (ac_json_parse(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), &rec, NULL) != AC_OK) {
			ac_log_error("tenant record '%.200s' is corrupt; skipped", ck);
			continue;
		}
		if (ac_tenant_from_json(rec, &t, NULL) != AC_OK) {
			ac_log_error("tenant record '%.200s' is unreadable; skipped", ck);
			ac_json_put_secret(rec);
			continue;
		}
		err = fn(&t, rec, ctx);
		ac_tenant_release(&t);
		ac_json_put_secret(rec);
	}
	ac_pg_clear_secret(r);
	return err;
}

/* ---- install keys */

/* What ac_install_keys holds for kid as of now, from a row (pem, missing, missing_until); absent or expired: nothing. */
static void
key_row(PGresult *r, struct ac_buf *pem, struct ac_install_key *out)
{
	out->found = 0;
	out->missing = 0;
	if (PQntuples(r) == 0)
		return;
	if (!PQgetisnull(r, 0, 0)) {
		ac_buf_reset(pem);
		if (ac_buf_adds(pem, PQgetvalue(r, 0, 0)) == AC_OK)
			out->found = 1;
	} else if (ac_pg_cell_int(r, 0, 2) > (int64_t)ac_clock_now()) {
		out->missing_until = (time_t)ac_pg_cell_int(r, 0, 2);
		out->missing = (long)ac_pg_cell_int(r, 0, 1);
		if (out->missing <= 0)
			out->missing = -1;
	}
}

static enum ac_err
key_lookup(struct ac_pg *pg, const char *kid, struct ac_buf *pem, struct ac_install_key *out)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	ac_pg_text(&p, kid);
	if ((err = ac_pg_exec(pg, "install key get",
	    "SELECT pem, missing, missing_until FROM ac_install_keys WHERE kid = $1", &p, &r)) != AC_OK)
		return err;
	key_row(r, pem, out);
	PQclear(r);
	return AC_OK;
}

enum ac_err
ac_pg_install_key_get(struct ac_store *st, const char *kid, struct ac_buf *pem, struct ac_install_key *out)
{
	memset(out, 0, sizeof(*out));
	return key_lookup(ac_store_pg(st), kid, pem, out);
}

struct reserve_ctx {
	const char *kid;
	int max, window;
	time_t until;
	struct ac_buf *pem;
	struct ac_install_key *out;
};

/* The lookup again, one fetch from the host's budget, and the marker (store.h): SERIALIZABLE, so hosts take turns. */
static enum ac_err
reserve_fn(struct ac_txn *txn, void *ctx)
{
	struct reserve_ctx *c = ctx;
	struct ac_pg *pg = ac_store_pg(txn->st);
	struct ac_pg_params p = { 0 };
	int64_t now = (int64_t)ac_clock_now(), since = 0, n = 0;
	enum ac_err err;
	PGresult *r;

	memset(c->out, 0, sizeof(*c->out));
	if ((err = key_lookup(pg, c->kid, c->pem, c->out)) != AC_OK || c->out->found || c->out->missing)
		return err;
	ac_pg_text(&p, BUDGET_INSTALL_KEYS);
	if ((err = ac_pg_exec(pg, "fetch budget", "SELECT window_start, used FROM ac_fetch_budget WHERE name = $1", &p,
	    &r)) != AC_OK)
		return err;
	if (PQntuples(r) == 1) {
		since = ac_pg_cell_int(r, 0, 0);
		n = ac_pg_cell_int(r, 0, 1);
	}
	PQclear(r);
	/* a window in the future is a clock that went back: start a new one */
	if (since > now || now - since >= c->window) {
		since = now;
		n = 0;
	}
	if (n >= c->max) {
		c->out->throttled = 1;
		c->out->missing_until = (time_t)(since + c->window);
		return AC_OK;
	}
	memset(&p, 0, sizeof(p));
	ac_pg_text(&p, BUDGET_INSTALL_KEYS);
	ac_pg_int(&p, since);
	ac_pg_int(&p, n + 1);
	ac_pg_text(&p, c->kid);
	ac_pg_int(&p, (int64_t)c->until);
	ac_pg_int(&p, now);
	return ac_pg_exec(pg, "install key reserve",
	    "WITH b AS (INSERT INTO ac_fetch_budget (name, window_start, used) VALUES ($1, $2, $3) "
	    "ON CONFLICT (name) DO UPDATE SET window_start = EXCLUDED.window_start, used = EXCLUDED.used) "
	    "INSERT INTO ac_install_keys (kid, pem, missing, missing_until, at) VALUES ($4, NULL, 0, $5, $6) "
	    "ON CONFLICT (kid) DO UPDATE SET pem = NULL, missing = 0, missing_until = EXCLUDED.missing_until, "
	    "at = EXCLUDED.at", &p, NULL);
}

enum ac_err
ac_pg_install_key_reserve(struct ac_store *st, const char *kid, int max, int window, time_t marker_until,
    struct ac_buf *pem, struct ac_install_key *out)
{
	struct reserve_ctx c = { kid, max, window, marker_until, pem, out };

	memset(out, 0, sizeof(*out));
	return ac_pg_txn(st, AC_PG_SERIAL, reserve_fn, &c);
}

enum ac_err
ac_pg_install_key_put(struct ac_store *st, const char *kid, const char *pem)
{
	struct ac_pg_params p = { 0 };

	ac_pg_text(&p, kid);
	ac_pg_text(&p, pem);
	ac_pg_int(&p, (int64_t)ac_clock_now());
	return ac_pg_exec(ac_store_pg(st), "install key put",
	    "INSERT INTO ac_install_keys (kid, pem, missing, missing_until, at) VALUES ($1, $2, 0, 0, $3) "
	    "ON CONFLICT (kid) DO UPDATE SET pem = EXCLUDED.pem, missing = 0, missing_until = 0, at = EXCLUDED.at",
	    &p, NULL);
}

/*
 * The expired failure records among the first $2 records from kid $1 on
 * (random kids spread over the key space: those just after one stand for
 * all); keys and failures that still hold stay. $3: now.
 */
#define PURGE_SQL \
	"DELETE FROM ac_install_keys WHERE kid IN (SELECT kid FROM (SELECT kid, pem, missing_until " \
	"FROM ac_install_keys WHERE kid >= $1 ORDER BY kid LIMIT $2) s WHERE pem IS NULL AND missing_until <= $3 %s)"

enum ac_err
ac_pg_install_key_missing(struct ac_store *st, const char *kid, long status, time_t until)
{
	struct ac_pg_params p = { 0 };
	char sql[1024];

	/* one statement: the purge and the failure together (kid's own record is the one written, not purged) */
	snprintf(sql, sizeof(sql), "WITH purged AS (" PURGE_SQL ") "
	    "INSERT INTO ac_install_keys (kid, pem, missing, missing_until, at) VALUES ($1, NULL, $4, $5, $3) "
	    "ON CONFLICT (kid) DO UPDATE SET pem = NULL, missing = EXCLUDED.missing, "
	    "missing_until = EXCLUDED.missing_until, at = EXCLUDED.at", "AND kid <> $1");
	ac_pg_text(&p, kid);
	ac_pg_int(&p, AC_INSTALL_KEY_PURGE_MAX);
	ac_pg_int(&p, (int64_t)ac_clock_now());
	ac_pg_int(&p, status < 0 ? 0 : status);
	ac_pg_int(&p, (int64_t)until);
	return ac_pg_exec(ac_store_pg(st), "install key missing", sql, &p, NULL);
}

enum ac_err
ac_pg_install_key_purge(struct ac_store *st, const char *kid, int max, size_t *n)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	char sql[512];
	PGresult *r;

	if (n)
		*n = 0;
	snprintf(sql, sizeof(sql), PURGE_SQL, "");
	ac_pg_text(&p, kid);
	ac_pg_int(&p, max < 0 ? 0 : max);
	ac_pg_int(&p, (int64_t)ac_clock_now());
	if ((err = ac_pg_exec(ac_store_pg(st), "install key purge", sql, &p, &r)) != AC_OK)
		return err;
	if (n)
		*n = (size_t)touched(r);
	PQclear(r);
	return AC_OK;
}

/* ---- access tokens */

enum ac_err
ac_pg_token_get(struct ac_store *st, const char *key, struct ac_token_rec *out)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	ac_pg_text(&p, key);
	if ((err = ac_pg_exec(ac_store_pg(st), "token get", "SELECT access_token, scopes, expires_at, obtained_at, "
	    "failed_at_ms, failure FROM ac_tokens WHERE key = $1", &p, &r)) != AC_OK)
		return err;
	if (PQntuples(r) == 1) {
		if (!PQgetisnull(r, 0, 0) && PQgetlength(r, 0, 0) > 0) {
			out->access_token = strdup(PQgetvalue(r, 0, 0));
			out->scopes = strdup(PQgetvalue(r, 0, 1));
			if (out->access_token == NULL || out->scopes == NULL) {
				err = AC_ERR_NOMEM;
				goto out;
			}
			/* a damaged row's dates must not overflow the expiry arithmetic: out of range, expired */
			out->expires_at = ac_pg_cell_int(r, 0, 2);
			if (out->expires_at < 0 || out->expires_at > AC_JSON_DATE_MAX)
				out->expires_at = 0;
			out->obtained_at = ac_pg_cell_int(r, 0, 3);
			if (out->obtained_at < 0 || out->obtained_at > AC_JSON_DATE_MAX)
				out->obtained_at = 0;
		}
		if ((out->failed_at_ms = ac_pg_cell_int(r, 0, 4)) != 0) {
			if (out->failed_at_ms < 0 || out->failed_at_ms > AC_JSON_DATE_MAX * 1000)
				out->failed_at_ms = 0;
			out->failure = !strcmp(PQgetvalue(r, 0, 5), ac_err_code(AC_ERR_GRANT_REFUSED)) ?
			    AC_ERR_GRANT_REFUSED : AC_ERR_UPSTREAM;
		}
	}
out:
	ac_pg_clear_secret(r);
	if (err != AC_OK)
		ac_token_rec_release(out);
	return err;
}

char *
ac_pg_token_client_key(const char *key)
{
	const char *s;

	if (!strncmp(key, "bb:", 3))
		return strdup(key + 3);
	if (!strncmp(key, "jira:", 5)) {
		s = strchr(key + 5, ' ');
		return s ? strndup(key + 5, (size_t)(s - key - 5)) : strdup(key + 5);
	}
	return strdup(key);
}

const char ac_pg_token_upsert_sql[] =
	"INSERT INTO ac_tokens (key, client_key, access_token, scopes, expires_at, obtained_at, failed_at_ms, "
	"failure) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO UPDATE SET "
	"client_key = EXCLUDED.client_key, access_token = EXCLUDED.access_token, scopes = EXCLUDED.scopes, "
	"expires_at = EXCLUDED.expires_at, obtained_at = EXCLUDED.obtained_at, "
	"failed_at_ms = EXCLUDED.failed_at_ms, failure = EXCLUDED.failure";

enum ac_err
ac_pg_token_put(struct ac_store *st, const char *key, const struct ac_token_rec *r)
{
	struct ac_pg_params p = { 0 };
	char *ck = ac_pg_token_client_key(key);
	enum ac_err err;

	if (ck == NULL)
		return AC_ERR_NOMEM;
	ac_pg_text(&p, key);
	ac_pg_text(&p, ck);
	if (r->access_token) {
		ac_pg_text(&p, r->access_token);
		ac_pg_text(&p, r->scopes ? r->scopes : "");
		ac_pg_int(&p, r->expires_at);
		ac_pg_int(&p, r->obtained_at);
		ac_pg_int(&p, 0);
		ac_pg_text(&p, "");
	} else {
		ac_pg_text(&p, NULL);
		ac_pg_text(&p, "");
		ac_pg_int(&p, 0);
		ac_pg_int(&p, 0);
		ac_pg_int(&p, r->failed_at_ms);
		ac_pg_text(&p, ac_err_code(r->failure));
	}
	err = ac_pg_exec(ac_store_pg(st), "token put", ac_pg_token_upsert_sql, &p, NULL);
	free(ck);
	return err;
}

/* The keys of a tenant: "bb:{clientKey}", and "jira:{clientKey} " followed by anything (store.h). */
enum ac_err
ac_pg_token_forget_txn(struct ac_txn *txn, const char *client_key, size_t *np)
{
	struct ac_pg_params p = { 0 };
	struct ac_buf bb, lo, hi;
	enum ac_err err;
	PGresult *r;

	if (np)
		*np = 0;
	if (client_key == NULL || *client_key == '\0')
		return AC_OK;
	ac_buf_init(&bb, 1024);
	ac_buf_init(&lo, 1024);
	ac_buf_init(&hi, 1024);
	/* the prefix "jira:{clientKey} " as a range of the C collation: [prefix, prefix with ' ' + 1) */
	if ((err = ac_buf_printf(&bb, "bb:%s", client_key)) != AC_OK ||
	    (err = ac_buf_printf(&lo, "jira:%s ", client_key)) != AC_OK ||
	    (err = ac_buf_printf(&hi, "jira:%s!", client_key)) != AC_OK)
		goto out;
	ac_pg_text(&p, ac_buf_str(&bb));
	ac_pg_text(&p, ac_buf_str(&lo));
	ac_pg_text(&p, ac_buf_str(&hi));
	if ((err = ac_pg_exec(ac_store_pg(txn->st), "token forget",
	    "DELETE FROM ac_tokens WHERE key = $1 OR (key >= $2 AND key < $3)", &p, &r)) != AC_OK)
		goto out;
	if (np)
		*np = (size_t)touched(r);
	PQclear(r);
out:
	ac_buf_release(&bb);
	ac_buf_release(&lo);
	ac_buf_release(&hi);
	return err;
}

enum ac_err
ac_pg_token_lock(struct ac_store *st, const char *key, struct ac_token_lock *lk)
{
	struct ac_pg *pg = ac_store_pg(st);
	struct ac_pg_params p = { 0 };
	enum ac_err err;

	memset(lk, 0, sizeof(*lk));
	/*
	 * A session lock, held across the call to the token endpoint (no
	 * transaction stays open meanwhile); the wait is bounded by a
	 * lock_timeout local to this statement's implicit transaction.
	 */
	ac_pg_text(&p, key);
	if ((err = ac_pg_exec(pg, "token lock",
	    "WITH t AS MATERIALIZED (SELECT set_config('lock_timeout', '" TOKEN_LOCK_WAIT_MS "', true)) "
	    "SELECT pg_advisory_lock(" TOKEN_LOCK_CLASS ", hashtext($1)) FROM t", &p, NULL)) != AC_OK)
		return err;
	lk->held = 1;
	lk->session = ac_pg_generation(pg);
	return AC_OK;
}

void
ac_pg_token_unlock(struct ac_store *st, const char *key, struct ac_token_lock *lk)
{
	struct ac_pg *pg = ac_store_pg(st);
	struct ac_pg_params p = { 0 };

	/* a connection lost meanwhile took its locks with it: the new one holds none */
	if (lk->held && lk->session == ac_pg_generation(pg)) {
		ac_pg_text(&p, key);
		(void)ac_pg_exec(pg, "token unlock", "SELECT pg_advisory_unlock(" TOKEN_LOCK_CLASS ", hashtext($1))", &p,
		    NULL);
	}
	memset(lk, 0, sizeof(*lk));
}

/* ---- handler notes */

/* LMDB's key: keys longer than NOTE_KEY_MAX by their hash (the same rows in both backends). */
static const char *
note_key(const char *key, char hashed[7 + AC_SHA256_HEX_LEN])
{
	size_t len = strlen(key);

	if (len <= NOTE_KEY_MAX)
		return key;
	memcpy(hashed, "sha256:", 7);
	(void)ac_sha256_hex(key, len, hashed + 7);
	return hashed;
}

enum ac_err
ac_pg_note_get(struct ac_store *st, const char *key, int *found)
{
	struct ac_pg_params p = { 0 };
	char hashed[7 + AC_SHA256_HEX_LEN];
	enum ac_err err;
	PGresult *r;

	*found = 0;
	ac_pg_text(&p, note_key(key, hashed));
	if ((err = ac_pg_exec(ac_store_pg(st), "note get", "SELECT 1 FROM ac_notes WHERE key = $1", &p, &r)) != AC_OK)
		return err;
	*found = PQntuples(r) > 0;
	PQclear(r);
	return AC_OK;
}

enum ac_err
ac_pg_note_put(struct ac_store *st, const char *key)
{
	struct ac_pg_params p = { 0 };
	char hashed[7 + AC_SHA256_HEX_LEN];

	ac_pg_text(&p, note_key(key, hashed));
	ac_pg_int(&p, (int64_t)ac_clock_now());
	return ac_pg_exec(ac_store_pg(st), "note put", "INSERT INTO ac_notes (key, at) VALUES ($1, $2) "
	    "ON CONFLICT (key) DO UPDATE SET at = EXCLUDED.at", &p, NULL);
}

/* ---- lifecycle_seen */

static enum ac_err
dup_or_null(char **dst, const char *s)
{
	return s == NULL || (*dst = strdup(s)) != NULL ? AC_OK : AC_ERR_NOMEM;
}

enum ac_err
ac_pg_seen_get_txn(struct ac_txn *txn, int64_t exp, const unsigned char token_sha[AC_SEEN_SHA_LEN],
    struct ac_seen *out)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	ac_pg_int(&p, exp > 0 ? exp : 0);
	ac_pg_bytes(&p, token_sha, AC_SEEN_SHA_LEN);
	if ((err = ac_pg_exec(ac_store_pg(txn->st), "lifecycle_seen get", "SELECT exp, body, client_key, event, iat, at "
	    "FROM ac_lifecycle_seen WHERE exp = $1 AND token_sha = $2", &p, &r)) != AC_OK)
		return err;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return AC_ERR_NOT_FOUND;
	}
	out->exp = ac_pg_cell_int(r, 0, 0);
	memcpy(out->token_sha, token_sha, AC_SEEN_SHA_LEN);
	out->iat = ac_pg_cell_int(r, 0, 4);
	out->at = ac_pg_cell_int(r, 0, 5);
	if ((err = dup_or_null(&out->body, PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1))) != AC_OK ||
	    (err = dup_or_null(&out->client_key, PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2))) != AC_OK ||
	    (err = dup_or_null(&out->event, PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3))) != AC_OK)
		ac_seen_release(out);
	PQclear(r);
	return err;
}

enum ac_err
ac_pg_seen_put_txn(struct ac_txn *txn, const struct ac_seen *e)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;
	long n;

	ac_pg_int(&p, e->exp > 0 ? e->exp : 0);
	ac_pg_bytes(&p, e->token_sha, AC_SEEN_SHA_LEN);
	ac_pg_text(&p, e->body ? e->body : "");
	ac_pg_text(&p, e->client_key ? e->client_key : "");
	ac_pg_text(&p, e->event ? e->event : "");
	ac_pg_int(&p, e->iat);
	ac_pg_int(&p, e->at);
	/* never overwritten; DO NOTHING keeps the caller's transaction usable (a unique violation would abort it) */
	if ((err = ac_pg_exec(ac_store_pg(txn->st), "lifecycle_seen put",
	    "INSERT INTO ac_lifecycle_seen (exp, token_sha, body, client_key, event, iat, at) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING", &p, &r)) != AC_OK)
		return err;
	n = touched(r);
	PQclear(r);
	if (n == 0) {
		ac_log_error("lifecycle_seen put: the entry is there already");
		return AC_ERR_STORE;
	}
	return AC_OK;
}

enum ac_err
ac_pg_seen_purge_txn(struct ac_txn *txn, int64_t before, size_t max, size_t *np)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	if (np)
		*np = 0;
	ac_pg_int(&p, before > 0 ? before : 0);
	ac_pg_int(&p, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
	if ((err = ac_pg_exec(ac_store_pg(txn->st), "lifecycle_seen purge",
	    "DELETE FROM ac_lifecycle_seen WHERE (exp, token_sha) IN (SELECT exp, token_sha FROM ac_lifecycle_seen "
	    "WHERE exp < $1 ORDER BY exp, token_sha LIMIT $2)", &p, &r)) != AC_OK)
		return err;
	if (np)
		*np = (size_t)touched(r);
	PQclear(r);
	return AC_OK;
}

enum ac_err
ac_pg_seen_list(struct ac_store *st, enum ac_err (*fn)(const struct ac_seen *e, void *ctx), void *ctx)
{
	enum ac_err err;
	PGresult *r;
	int i, n;

	if ((err = ac_pg_exec(ac_store_pg(st), "lifecycle_seen list", "SELECT exp, token_sha, body, client_key, event, "
	    "iat, at FROM ac_lifecycle_seen ORDER BY exp, token_sha", NULL, &r)) != AC_OK)
		return err;
	n = PQntuples(r);
	for (i = 0; i < n && err == AC_OK; i++) {
		struct ac_seen e;
		char *sha;
		size_t len;

		memset(&e, 0, sizeof(e));
		e.exp = ac_pg_cell_int(r, i, 0);
		if ((err = ac_pg_cell_bytes(r, i, 1, &sha, &len)) != AC_OK)
			break;
		if (len == AC_SEEN_SHA_LEN)
			memcpy(e.token_sha, sha, AC_SEEN_SHA_LEN);
		free(sha);
		/* borrowed for the call (store.h) */
		e.body = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);
		e.client_key = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
		e.event = PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4);
		e.iat = ac_pg_cell_int(r, i, 5);
		e.at = ac_pg_cell_int(r, i, 6);
		err = fn(&e, ctx);
	}
	PQclear(r);
	return err;
}
