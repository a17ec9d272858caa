/*
 * store-pg.h: the PostgreSQL backend's own header (issue 16), for the files
 * of src/lib/store only (and the store's tests): one connection per process,
 * kept across requests and reconnected with backoff, the queries' parameters
 * and results, transactions, and every operation of store.h and inbox.h on
 * PostgreSQL (dispatch.c calls them for a store opened with AC_STORE=postgres).
 * libpq appears nowhere else (tests/check-layers.sh). The schema is in
 * sql/NNN-*.sql, applied by `acctl store migrate` (pg-migrate.c).
 */
#ifndef AC_STORE_PG_H
#define AC_STORE_PG_H

#include <libpq-fe.h>

#include "store/inbox.h"
#include "store/store.h"

/* The schema version this build needs: the highest sql/NNN-*.sql. */
#define AC_PG_SCHEMA 1

struct ac_pg;

/* The PostgreSQL connection of st; NULL for an LMDB store. */
struct ac_pg *ac_store_pg(const struct ac_store *st);

/*
 * Opens a PostgreSQL store (st->pg) on conninfo (a URI or key/value string;
 * "" is libpq's defaults: PGHOST, PGSERVICE ...). The first connection is
 * tried at once: AC_ERR_STORE_SCHEMA (logged with the command to run) when
 * the database answers with another schema version than AC_PG_SCHEMA; when
 * the server cannot be reached the store is opened anyway and each use
 * answers AC_ERR_STORE until it can (the programs resume by themselves).
 * flags: AC_STORE_NOSYNC sets synchronous_commit off; AC_STORE_RDONLY opens
 * read-only transactions only. AC_PG_NO_SCHEMA_CHECK: for acctl store migrate.
 */
#define AC_PG_NO_SCHEMA_CHECK (1u << 8)
enum ac_err ac_pg_open(const char *conninfo, unsigned flags, struct ac_pg **out);
void ac_pg_close(struct ac_pg *pg);

/*
 * The live connection: connected again when it broke, at most once per
 * backoff step (0.1 s doubling to 5 s; reset by a success). AC_ERR_STORE
 * when there is none now (logged at most once a minute), AC_ERR_STORE_SCHEMA
 * when the schema is not this build's.
 */
enum ac_err ac_pg_conn(struct ac_pg *pg, PGconn **conn);

/*
 * Whether the server ended an idle connection c (a restart, pg_terminate_backend,
 * an idle timeout): what it sent is read without a round trip. A NOTIFY
 * read meanwhile stays for PQnotifies().
 */
int ac_pg_conn_gone(PGconn *c);

/* How many times this process connected: a change means session state (LISTEN) is gone. */
unsigned ac_pg_generation(const struct ac_pg *pg);

/* pg-lease.c's state of this connection (renewal thread, LISTEN), freed by ac_pg_close. */
struct ac_pg_inbox;
struct ac_pg_inbox **ac_pg_inbox_slot(struct ac_pg *pg);
void ac_pg_inbox_free(struct ac_pg_inbox *ib);
/* The conninfo given to ac_pg_open (may hold a password: never shown). */
const char *ac_pg_conninfo(const struct ac_pg *pg);

/* The flags given to ac_pg_open. */
unsigned ac_pg_flags(const struct ac_pg *pg);

/* ---- queries */

#define AC_PG_MAXPARAMS 20

/* A query's parameters, in order ($1, $2 ...); text unless added as bytes. Numbers are copied into num. */
struct ac_pg_params {
	int n;
	const char *v[AC_PG_MAXPARAMS];
	int len[AC_PG_MAXPARAMS];
	int fmt[AC_PG_MAXPARAMS];
	char num[AC_PG_MAXPARAMS][24];
};

void ac_pg_text(struct ac_pg_params *p, const char *s);  /* NULL is SQL NULL */
void ac_pg_int(struct ac_pg_params *p, int64_t v);
void ac_pg_bytes(struct ac_pg_params *p, const void *b, size_t n); /* bytea, sent binary */

/*
 * Runs one statement (text results) on the connection: *res (PQclear it)
 * when it succeeded, else the error mapped and logged with what:
 * AC_ERR_STORE (down, read-only, out of connections: logged once a minute;
 * any other error: logged), AC_ERR_STORE_FULL (disk full). res may be NULL
 * when the result is not needed. ac_pg_sqlstate() then tells the SQLSTATE.
 */
enum ac_err ac_pg_exec(struct ac_pg *pg, const char *what, const char *sql, const struct ac_pg_params *p,
    PGresult **res);

/*
 * A statement run often (every request, every claim): parsed and planned
 * once per connection: run unprepared the first time it is used on a
 * connection (a CGI request's connection, which serves one request, never
 * pays a prepare's round trip), prepared at the second (PQprepare; again on
 * a new connection, or when the session lost it: SQLSTATE 26000, DEALLOCATE
 * ALL), then only executed. Define it static (its address tells
 * it apart); name is unique among the process's statements. quiet: its
 * errors are not logged here (the caller says them); unavailability still
 * is, once a minute. Prepared statements live in the server's session: a
 * transaction-pooling PgBouncer older than 1.21 loses them (session pooling).
 */
struct ac_pg_stmt {
	const char *name;
	const char *sql;
	int quiet;
};

/* As ac_pg_exec, the statement prepared (errors mapped the same way). */
enum ac_err ac_pg_exec_prepared(struct ac_pg *pg, const char *what, const struct ac_pg_stmt *stmt,
    const struct ac_pg_params *p, PGresult **res);

/* The SQLSTATE of the last failed ac_pg_exec ("" when it succeeded or the connection failed). */
const char *ac_pg_sqlstate(const struct ac_pg *pg);

/* Result cells: the text ("" for NULL), a number (0 for NULL or not a number), whether NULL. */
const char *ac_pg_cell(const PGresult *r, int row, int col);
int64_t ac_pg_cell_int(const PGresult *r, int row, int col);
int ac_pg_cell_null(const PGresult *r, int row, int col);
/* A bytea cell decoded into a malloc'd copy with a NUL after it (*len bytes). AC_ERR_NOMEM. */
enum ac_err ac_pg_cell_bytes(const PGresult *r, int row, int col, char **out, size_t *len);

/* ---- transactions */

enum ac_pg_mode {
	AC_PG_SERIAL,    /* read-write, SERIALIZABLE: behaves as LMDB's one writer at a time (ac_store_update) */
	AC_PG_COMMITTED, /* read-write, READ COMMITTED: for statements that lock what they touch */
	AC_PG_SNAPSHOT,  /* read-only, REPEATABLE READ: one consistent view (ac_store_view) */
};

/*
 * Runs fn in one transaction of mode on st's connection, committing when fn
 * says AC_OK (anything else rolls back and is returned). A serialization
 * failure or deadlock runs fn again from scratch (a few times), so fn must
 * not keep state across calls. A commit whose outcome is unknown (the
 * connection broke during it) is AC_ERR_STORE: the caller answers 503 and
 * the product's retry is deduplicated.
 */
enum ac_err ac_pg_txn(struct ac_store *st, enum ac_pg_mode mode,
    enum ac_err (*fn)(struct ac_txn *txn, void *ctx), void *ctx);

/*
 * Tests: the number of statements run so far by this process (to show what a
 * path costs): round trips, a statement's PQprepare counted as one.
 */
unsigned long ac_pg_statements(void);

/* ---- schema */

/* The version recorded in ac_schema_migrations: 0 when the table is absent. */
enum ac_err ac_pg_schema_version(struct ac_pg *pg, int *version);

/* ---- shared with the LMDB backend: the same record text in both (acctl store copy moves it as is) */

/* An installation's record (forge.c): JSON with a version "v"; NULL when out of memory. */
json_object *ac_forge_installation_to_json(const struct ac_forge_installation *in);
/* Back into out (owned copies): AC_ERR_NOT_FOUND without an installationId, AC_ERR_NOMEM. */
enum ac_err ac_forge_installation_from_json(json_object *o, struct ac_forge_installation *out);

/* Wipes every cell of r (it held a secret: a tenant record, a token), then PQclear()s it; NULL is a no-op. */
void ac_pg_clear_secret(PGresult *r);

/*
 * Minting a token, one process at a time on every host (grant.c through
 * ac_token_lock): a session advisory lock keyed by a hash of the token's key.
 */

/* ---- store.h's operations on PostgreSQL (dispatch.c calls them for a PostgreSQL store) */
/* tenants */
enum ac_err ac_pg_tenant_get(struct ac_store *st, const char *client_key, struct ac_tenant *out);
enum ac_err ac_pg_tenant_get_txn(struct ac_txn *txn, const char *client_key, struct ac_tenant *out);
enum ac_err ac_pg_tenant_get_record(struct ac_store *st, const char *client_key, json_object **out);
enum ac_err ac_pg_tenant_put_txn(struct ac_txn *txn, const struct ac_tenant *t, json_object *install);
enum ac_err ac_pg_tenant_delete(struct ac_store *st, const char *client_key);
enum ac_err ac_pg_tenant_delete_txn(struct ac_txn *txn, const char *client_key);
enum ac_err ac_pg_tenant_foreach(struct ac_store *st, enum ac_err (*fn)(const struct ac_tenant *t,
    json_object *record, void *ctx), void *ctx);
/* install keys */
enum ac_err ac_pg_install_key_get(struct ac_store *st, const char *kid, struct ac_buf *pem,
    struct ac_install_key *out);
enum ac_err ac_pg_install_key_reserve(struct ac_store *st, const char *kid, int max, int window,
    time_t marker_until, struct ac_buf *pem, struct ac_install_key *out);
enum ac_err ac_pg_install_key_put(struct ac_store *st, const char *kid, const char *pem);
enum ac_err ac_pg_install_key_missing(struct ac_store *st, const char *kid, long status, time_t until);
enum ac_err ac_pg_install_key_purge(struct ac_store *st, const char *kid, int max, size_t *n);
/* access tokens */
enum ac_err ac_pg_token_get(struct ac_store *st, const char *key, struct ac_token_rec *out);
enum ac_err ac_pg_token_put(struct ac_store *st, const char *key, const struct ac_token_rec *r);
/*
 * The one write of an access token row ($1 key, $2 clientKey, $3 token or
 * NULL, $4 scopes, $5 expires_at, $6 obtained_at, $7 failed_at_ms, $8
 * failure code): ac_pg_token_put() and the copy (pg-copy.c).
 */
extern const char ac_pg_token_upsert_sql[];
/* The clientKey a token key names ("bb:{clientKey}", "jira:{clientKey} ...", else the key), malloc'd
 * (NULL: out of memory): ac_tokens.client_key, for ac_pg_token_forget_txn and people reading the table. */
char *ac_pg_token_client_key(const char *key);
enum ac_err ac_pg_token_forget_txn(struct ac_txn *txn, const char *client_key, size_t *n);
enum ac_err ac_pg_token_lock(struct ac_store *st, const char *key, struct ac_token_lock *lk);
void ac_pg_token_unlock(struct ac_store *st, const char *key, struct ac_token_lock *lk);
/* handler notes */
enum ac_err ac_pg_note_get(struct ac_store *st, const char *key, int *found);
enum ac_err ac_pg_note_put(struct ac_store *st, const char *key);
/* lifecycle_seen */
enum ac_err ac_pg_seen_get_txn(struct ac_txn *txn, int64_t exp,
    const unsigned char token_sha[AC_SEEN_SHA_LEN], struct ac_seen *out);
enum ac_err ac_pg_seen_put_txn(struct ac_txn *txn, const struct ac_seen *e);
enum ac_err ac_pg_seen_purge_txn(struct ac_txn *txn, int64_t before, size_t max, size_t *n);
enum ac_err ac_pg_seen_list(struct ac_store *st, enum ac_err (*fn)(const struct ac_seen *e, void *ctx),
    void *ctx);
/* Forge */
enum ac_err ac_pg_forge_installation_get(struct ac_store *st, const char *installation_id,
    struct ac_forge_installation *out);
enum ac_err ac_pg_forge_installation_put(struct ac_store *st, const struct ac_forge_installation *in);
enum ac_err ac_pg_forge_installation_foreach(struct ac_store *st,
    enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx), void *ctx);
enum ac_err ac_pg_forge_token_get(struct ac_store *st, const char *installation_id,
    struct ac_forge_token *out);
enum ac_err ac_pg_forge_token_offer(struct ac_store *st, const char *installation_id, const char *token,
    int64_t exp, int *kept);
enum ac_err ac_pg_forge_jwks_get(struct ac_store *st, struct ac_buf *doc, struct ac_forge_jwks_state *out);
enum ac_err ac_pg_forge_jwks_reserve(struct ac_store *st, int window, int64_t seen_fetched_at,
    struct ac_buf *doc, struct ac_forge_jwks_state *out);
enum ac_err ac_pg_forge_jwks_put(struct ac_store *st, const char *doc, size_t len);
/* the inbox (inbox.h) */
enum ac_err ac_pg_inbox_accept(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup);
enum ac_err ac_pg_inbox_intake(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup);
enum ac_err ac_pg_inbox_ingest(struct ac_store *st, int rotate, size_t *count);
enum ac_err ac_pg_inbox_repair(struct ac_store *st, int *same);
const char * ac_pg_inbox_damage(struct ac_store *st);
enum ac_err ac_pg_inbox_claim(struct ac_store *st, long lease_seconds, struct ac_event *out);
enum ac_err ac_pg_inbox_done(struct ac_store *st, uint64_t seq);
enum ac_err ac_pg_inbox_fail(struct ac_store *st, uint64_t seq, const char *error, time_t next_at,
    int to_dead);
enum ac_err ac_pg_inbox_list(struct ac_store *st, int dead, enum ac_err (*fn)(const struct ac_event *ev,
    void *ctx), void *ctx);
enum ac_err ac_pg_inbox_get(struct ac_store *st, uint64_t seq, struct ac_event *out, int *dead);
enum ac_err ac_pg_inbox_retry(struct ac_store *st, uint64_t seq);
enum ac_err ac_pg_inbox_drop(struct ac_store *st, uint64_t seq);
enum ac_err ac_pg_inbox_prune_deliveries(struct ac_store *st, time_t before, size_t *n);
enum ac_err ac_pg_inbox_stats(struct ac_store *st, struct ac_inbox_stats *out);
int ac_pg_inbox_wait(struct ac_store *st, long max_ms);

/* moving a store (copy.c / pg-copy.c) */
enum ac_err ac_pg_store_items(struct ac_store *st, enum ac_err (*fn)(const struct ac_store_item *it, void *ctx),
    void *ctx);
enum ac_err ac_pg_store_item_put_txn(struct ac_txn *txn, const struct ac_store_item *it);

#endif
