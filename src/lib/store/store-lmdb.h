/*
 * store-lmdb.h: the LMDB backend's own header, for the files of src/lib/store
 * only (and the store's tests): the environment, the named databases and
 * transactions over MDB_txn. Everything else goes through store.h, which
 * names no LMDB type (tests/check-layers.sh).
 */
#ifndef AC_STORE_LMDB_H
#define AC_STORE_LMDB_H

#include <lmdb.h>

#include "store/inbox.h"
#include "store/store.h"

/* The named databases. */
enum ac_db {
	AC_DB_TENANTS,      /* clientKey -> tenant record */
	AC_DB_INSTALL_KEYS, /* kid -> PEM public key, fetched at */
	AC_DB_TOKENS,       /* clientKey (+ scope/user) -> access token, expires at */
	AC_DB_INBOX,        /* sequence -> accepted event */
	AC_DB_DELIVERIES,   /* delivery id -> sequence (dedupe) */
	AC_DB_DEAD,         /* events that failed every retry */
	AC_DB_META,         /* "schema" -> version */
	AC_DB_NOTES,        /* handler bookkeeping (e.g. "comment posted for this PR title") */
	/*
	 * Added with schema 2, no version of its own: a writer creates it, a
	 * read-only open of an older store does without it (ac_store_dbi() then
	 * gives a handle LMDB refuses with EINVAL), an older build ignores it.
	 */
	AC_DB_LIFECYCLE_SEEN, /* exp (8 bytes, big-endian) + SHA-256 of an accepted lifecycle token -> its use */
	/* Added like lifecycle_seen (schema 2 still): "i:" installation, "t:" its system token, "jwks", "jwks-fetch" */
	AC_DB_FORGE,
	AC_DB__COUNT
};
/* A transaction of store.h: the LMDB one and its store. */
struct ac_txn {
	MDB_txn *txn;
	struct ac_store *st;
};

/* Borrowed, for the modules built on the store (tenant.c, inbox.c ...). */
MDB_env *ac_store_env(struct ac_store *st);

MDB_dbi ac_store_dbi(const struct ac_store *st, enum ac_db db);

/*
 * Runs fn in one write transaction and commits it; on MDB_MAP_FULL grows the
 * map and runs fn again from scratch (so fn must not keep state across
 * calls). fn returns AC_OK to commit, anything else to abort (the store is
 * then exactly as it was) and that value is returned. After the commit,
 * unless AC_STORE_NOSYNC, the data is flushed outside the write lock
 * (group commit: concurrent writers share the flush).
 */
enum ac_err ac_store_write(struct ac_store *st,
    enum ac_err (*fn)(MDB_txn *txn, struct ac_store *st, void *ctx), void *ctx);

/* Runs fn in a read-only transaction; MDB_vals it sees die when fn returns. */
enum ac_err ac_store_read(struct ac_store *st,
    enum ac_err (*fn)(MDB_txn *txn, struct ac_store *st, void *ctx), void *ctx);

/*
 * The records as this backend keeps them, for their writers and for
 * copy.c (acctl store copy): an access token record (its token when
 * has_token, else its failure); a Forge system token; the JWKS document and
 * the record of the last fetch. NULL: out of memory. The token ones hold a
 * live credential: release them with ac_json_put_secret().
 */
json_object *ac_lmdb_token_json(const struct ac_token_rec *r, int has_token);
json_object *ac_lmdb_forge_token_json(const char *token, int64_t exp, int64_t received_at);
json_object *ac_lmdb_forge_jwks_json(const char *doc, size_t len, int64_t fetched_at);
json_object *ac_lmdb_forge_fetch_json(int64_t at, int ok);

/* Maps an LMDB return code to ac_err, logging what failed (what: "mdb_put tenants"). */
enum ac_err ac_store_mdb_err(int rc, const char *what);

/* ---- store.h's operations on LMDB (dispatch.c calls them for an LMDB store) */
/* tenants */
enum ac_err ac_lmdb_tenant_get(struct ac_store *st, const char *client_key, struct ac_tenant *out);
enum ac_err ac_lmdb_tenant_get_txn(struct ac_txn *txn, const char *client_key, struct ac_tenant *out);
enum ac_err ac_lmdb_tenant_get_record(struct ac_store *st, const char *client_key, json_object **out);
enum ac_err ac_lmdb_tenant_put_txn(struct ac_txn *txn, const struct ac_tenant *t, json_object *install);
enum ac_err ac_lmdb_tenant_delete(struct ac_store *st, const char *client_key);
enum ac_err ac_lmdb_tenant_delete_txn(struct ac_txn *txn, const char *client_key);
enum ac_err ac_lmdb_tenant_foreach(struct ac_store *st, enum ac_err (*fn)(const struct ac_tenant *t,
    json_object *record, void *ctx), void *ctx);
/* install keys */
enum ac_err ac_lmdb_install_key_get(struct ac_store *st, const char *kid, struct ac_buf *pem,
    struct ac_install_key *out);
enum ac_err ac_lmdb_install_key_reserve(struct ac_store *st, const char *kid, int max, int window,
    time_t marker_until, struct ac_buf *pem, struct ac_install_key *out);
enum ac_err ac_lmdb_install_key_put(struct ac_store *st, const char *kid, const char *pem);
enum ac_err ac_lmdb_install_key_missing(struct ac_store *st, const char *kid, long status, time_t until);
enum ac_err ac_lmdb_install_key_purge(struct ac_store *st, const char *kid, int max, size_t *n);
/* access tokens */
enum ac_err ac_lmdb_token_get(struct ac_store *st, const char *key, struct ac_token_rec *out);
enum ac_err ac_lmdb_token_put(struct ac_store *st, const char *key, const struct ac_token_rec *r);
enum ac_err ac_lmdb_token_forget_txn(struct ac_txn *txn, const char *client_key, size_t *n);
enum ac_err ac_lmdb_token_lock(struct ac_store *st, const char *key, struct ac_token_lock *lk);
void ac_lmdb_token_unlock(struct ac_store *st, const char *key, struct ac_token_lock *lk);
/* handler notes */
enum ac_err ac_lmdb_note_get(struct ac_store *st, const char *key, int *found);
enum ac_err ac_lmdb_note_put(struct ac_store *st, const char *key);
/* lifecycle_seen */
enum ac_err ac_lmdb_seen_get_txn(struct ac_txn *txn, int64_t exp,
    const unsigned char token_sha[AC_SEEN_SHA_LEN], struct ac_seen *out);
enum ac_err ac_lmdb_seen_put_txn(struct ac_txn *txn, const struct ac_seen *e);
enum ac_err ac_lmdb_seen_purge_txn(struct ac_txn *txn, int64_t before, size_t max, size_t *n);
enum ac_err ac_lmdb_seen_list(struct ac_store *st, enum ac_err (*fn)(const struct ac_seen *e, void *ctx),
    void *ctx);
/* Forge */
enum ac_err ac_lmdb_forge_installation_get(struct ac_store *st, const char *installation_id,
    struct ac_forge_installation *out);
enum ac_err ac_lmdb_forge_installation_put(struct ac_store *st, const struct ac_forge_installation *in);
enum ac_err ac_lmdb_forge_installation_foreach(struct ac_store *st,
    enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx), void *ctx);
enum ac_err ac_lmdb_forge_token_get(struct ac_store *st, const char *installation_id,
    struct ac_forge_token *out);
enum ac_err ac_lmdb_forge_token_offer(struct ac_store *st, const char *installation_id, const char *token,
    int64_t exp, int *kept);
enum ac_err ac_lmdb_forge_jwks_get(struct ac_store *st, struct ac_buf *doc, struct ac_forge_jwks_state *out);
enum ac_err ac_lmdb_forge_jwks_reserve(struct ac_store *st, int window, int64_t seen_fetched_at,
    struct ac_buf *doc, struct ac_forge_jwks_state *out);
enum ac_err ac_lmdb_forge_jwks_put(struct ac_store *st, const char *doc, size_t len);
/* the inbox (inbox.h) */
enum ac_err ac_lmdb_inbox_accept(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup);
enum ac_err ac_lmdb_inbox_intake(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup);
enum ac_err ac_lmdb_inbox_ingest(struct ac_store *st, int rotate, size_t *count);
enum ac_err ac_lmdb_inbox_repair(struct ac_store *st, int *same);
const char * ac_lmdb_inbox_damage(struct ac_store *st);
enum ac_err ac_lmdb_inbox_claim(struct ac_store *st, long lease_seconds, struct ac_event *out);
enum ac_err ac_lmdb_inbox_done(struct ac_store *st, uint64_t seq);
enum ac_err ac_lmdb_inbox_fail(struct ac_store *st, uint64_t seq, const char *error, time_t next_at,
    int to_dead);
enum ac_err ac_lmdb_inbox_list(struct ac_store *st, int dead, enum ac_err (*fn)(const struct ac_event *ev,
    void *ctx), void *ctx);
enum ac_err ac_lmdb_inbox_get(struct ac_store *st, uint64_t seq, struct ac_event *out, int *dead);
enum ac_err ac_lmdb_inbox_retry(struct ac_store *st, uint64_t seq);
enum ac_err ac_lmdb_inbox_drop(struct ac_store *st, uint64_t seq);
enum ac_err ac_lmdb_inbox_prune_deliveries(struct ac_store *st, time_t before, size_t *n);
enum ac_err ac_lmdb_inbox_stats(struct ac_store *st, struct ac_inbox_stats *out);
int ac_lmdb_inbox_wait(struct ac_store *st, long max_ms);

/* moving a store (copy.c / pg-copy.c) */
enum ac_err ac_lmdb_store_items(struct ac_store *st, enum ac_err (*fn)(const struct ac_store_item *it, void *ctx),
    void *ctx);
enum ac_err ac_lmdb_store_item_put_txn(struct ac_txn *txn, const struct ac_store_item *it);

#endif
