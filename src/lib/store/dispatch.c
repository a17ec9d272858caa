/*
 * dispatch.c: every operation of the store interface (store.h, inbox.h), sent
 * to the backend the store was opened with: LMDB (ac_lmdb_*, in store.c and
 * the files beside it) or PostgreSQL (ac_pg_*, in pg*.c). Nothing else
 * decides between them; an operation added to the interface gets a line here
 * and an implementation in each backend.
 */
#include "config.h"

#include "store/inbox-int.h"
#include "store/store-lmdb.h"
#include "store/store-pg.h"

/* ---- tenants */

enum ac_err
ac_tenant_get(struct ac_store *st, const char *client_key, struct ac_tenant *out)
{
	if (ac_store_pg(st))
		return ac_pg_tenant_get(st, client_key, out);
	return ac_lmdb_tenant_get(st, client_key, out);
}

enum ac_err
ac_tenant_get_txn(struct ac_txn *txn, const char *client_key, struct ac_tenant *out)
{
	if (ac_store_pg(txn->st))
		return ac_pg_tenant_get_txn(txn, client_key, out);
	return ac_lmdb_tenant_get_txn(txn, client_key, out);
}

enum ac_err
ac_tenant_get_record(struct ac_store *st, const char *client_key, json_object **out)
{
	if (ac_store_pg(st))
		return ac_pg_tenant_get_record(st, client_key, out);
	return ac_lmdb_tenant_get_record(st, client_key, out);
}

enum ac_err
ac_tenant_put_txn(struct ac_txn *txn, const struct ac_tenant *t, json_object *install)
{
	if (ac_store_pg(txn->st))
		return ac_pg_tenant_put_txn(txn, t, install);
	return ac_lmdb_tenant_put_txn(txn, t, install);
}

enum ac_err
ac_tenant_delete(struct ac_store *st, const char *client_key)
{
	if (ac_store_pg(st))
		return ac_pg_tenant_delete(st, client_key);
	return ac_lmdb_tenant_delete(st, client_key);
}

enum ac_err
ac_tenant_delete_txn(struct ac_txn *txn, const char *client_key)
{
	if (ac_store_pg(txn->st))
		return ac_pg_tenant_delete_txn(txn, client_key);
	return ac_lmdb_tenant_delete_txn(txn, client_key);
}

enum ac_err
ac_tenant_foreach(struct ac_store *st, enum ac_err (*fn)(const struct ac_tenant *t, json_object *record,
    void *ctx), void *ctx)
{
	if (ac_store_pg(st))
		return ac_pg_tenant_foreach(st, fn, ctx);
	return ac_lmdb_tenant_foreach(st, fn, ctx);
}

/* ---- install keys */

enum ac_err
ac_install_key_get(struct ac_store *st, const char *kid, struct ac_buf *pem, struct ac_install_key *out)
{
	if (ac_store_pg(st))
		return ac_pg_install_key_get(st, kid, pem, out);
	return ac_lmdb_install_key_get(st, kid, pem, out);
}

enum ac_err
ac_install_key_reserve(struct ac_store *st, const char *kid, int max, int window, time_t marker_until,
    struct ac_buf *pem, struct ac_install_key *out)
{
	if (ac_store_pg(st))
		return ac_pg_install_key_reserve(st, kid, max, window, marker_until, pem, out);
	return ac_lmdb_install_key_reserve(st, kid, max, window, marker_until, pem, out);
}

enum ac_err
ac_install_key_put(struct ac_store *st, const char *kid, const char *pem)
{
	if (ac_store_pg(st))
		return ac_pg_install_key_put(st, kid, pem);
	return ac_lmdb_install_key_put(st, kid, pem);
}

enum ac_err
ac_install_key_missing(struct ac_store *st, const char *kid, long status, time_t until)
{
	if (ac_store_pg(st))
		return ac_pg_install_key_missing(st, kid, status, until);
	return ac_lmdb_install_key_missing(st, kid, status, until);
}

enum ac_err
ac_install_key_purge(struct ac_store *st, const char *kid, int max, size_t *n)
{
	if (ac_store_pg(st))
		return ac_pg_install_key_purge(st, kid, max, n);
	return ac_lmdb_install_key_purge(st, kid, max, n);
}

/* ---- access tokens */

enum ac_err
ac_token_get(struct ac_store *st, const char *key, struct ac_token_rec *out)
{
	if (ac_store_pg(st))
		return ac_pg_token_get(st, key, out);
	return ac_lmdb_token_get(st, key, out);
}

enum ac_err
ac_token_put(struct ac_store *st, const char *key, const struct ac_token_rec *r)
{
	if (ac_store_pg(st))
		return ac_pg_token_put(st, key, r);
	return ac_lmdb_token_put(st, key, r);
}

enum ac_err
ac_token_forget_txn(struct ac_txn *txn, const char *client_key, size_t *n)
{
	if (ac_store_pg(txn->st))
		return ac_pg_token_forget_txn(txn, client_key, n);
	return ac_lmdb_token_forget_txn(txn, client_key, n);
}

enum ac_err
ac_token_lock(struct ac_store *st, const char *key, struct ac_token_lock *lk)
{
	if (ac_store_pg(st))
		return ac_pg_token_lock(st, key, lk);
	return ac_lmdb_token_lock(st, key, lk);
}

void
ac_token_unlock(struct ac_store *st, const char *key, struct ac_token_lock *lk)
{
	if (ac_store_pg(st))
		ac_pg_token_unlock(st, key, lk);
	else
		ac_lmdb_token_unlock(st, key, lk);
}

/* ---- handler notes */

enum ac_err
ac_note_get(struct ac_store *st, const char *key, int *found)
{
	if (ac_store_pg(st))
		return ac_pg_note_get(st, key, found);
	return ac_lmdb_note_get(st, key, found);
}

enum ac_err
ac_note_put(struct ac_store *st, const char *key)
{
	if (ac_store_pg(st))
		return ac_pg_note_put(st, key);
	return ac_lmdb_note_put(st, key);
}

/* ---- lifecycle_seen */

enum ac_err
ac_seen_get_txn(struct ac_txn *txn, int64_t exp, const unsigned char token_sha[AC_SEEN_SHA_LEN],
    struct ac_seen *out)
{
	if (ac_store_pg(txn->st))
		return ac_pg_seen_get_txn(txn, exp, token_sha, out);
	return ac_lmdb_seen_get_txn(txn, exp, token_sha, out);
}

enum ac_err
ac_seen_put_txn(struct ac_txn *txn, const struct ac_seen *e)
{
	if (ac_store_pg(txn->st))
		return ac_pg_seen_put_txn(txn, e);
	return ac_lmdb_seen_put_txn(txn, e);
}

enum ac_err
ac_seen_purge_txn(struct ac_txn *txn, int64_t before, size_t max, size_t *n)
{
	if (ac_store_pg(txn->st))
		return ac_pg_seen_purge_txn(txn, before, max, n);
	return ac_lmdb_seen_purge_txn(txn, before, max, n);
}

enum ac_err
ac_seen_list(struct ac_store *st, enum ac_err (*fn)(const struct ac_seen *e, void *ctx), void *ctx)
{
	if (ac_store_pg(st))
		return ac_pg_seen_list(st, fn, ctx);
	return ac_lmdb_seen_list(st, fn, ctx);
}

/* ---- Forge */

enum ac_err
ac_forge_installation_get(struct ac_store *st, const char *installation_id, struct ac_forge_installation *out)
{
	if (ac_store_pg(st))
		return ac_pg_forge_installation_get(st, installation_id, out);
	return ac_lmdb_forge_installation_get(st, installation_id, out);
}

enum ac_err
ac_forge_installation_put(struct ac_store *st, const struct ac_forge_installation *in)
{
	if (ac_store_pg(st))
		return ac_pg_forge_installation_put(st, in);
	return ac_lmdb_forge_installation_put(st, in);
}

enum ac_err
ac_forge_installation_foreach(struct ac_store *st, enum ac_err (*fn)(const struct ac_forge_installation *in,
    void *ctx), void *ctx)
{
	if (ac_store_pg(st))
		return ac_pg_forge_installation_foreach(st, fn, ctx);
	return ac_lmdb_forge_installation_foreach(st, fn, ctx);
}

enum ac_err
ac_forge_token_get(struct ac_store *st, const char *installation_id, struct ac_forge_token *out)
{
	if (ac_store_pg(st))
		return ac_pg_forge_token_get(st, installation_id, out);
	return ac_lmdb_forge_token_get(st, installation_id, out);
}

enum ac_err
ac_forge_token_offer(struct ac_store *st, const char *installation_id, const char *token, int64_t exp,
    int *kept)
{
	if (ac_store_pg(st))
		return ac_pg_forge_token_offer(st, installation_id, token, exp, kept);
	return ac_lmdb_forge_token_offer(st, installation_id, token, exp, kept);
}

enum ac_err
ac_forge_jwks_get(struct ac_store *st, struct ac_buf *doc, struct ac_forge_jwks_state *out)
{
	if (ac_store_pg(st))
		return ac_pg_forge_jwks_get(st, doc, out);
	return ac_lmdb_forge_jwks_get(st, doc, out);
}

enum ac_err
ac_forge_jwks_reserve(struct ac_store *st, int window, int64_t seen_fetched_at, struct ac_buf *doc,
    struct ac_forge_jwks_state *out)
{
	if (ac_store_pg(st))
		return ac_pg_forge_jwks_reserve(st, window, seen_fetched_at, doc, out);
	return ac_lmdb_forge_jwks_reserve(st, window, seen_fetched_at, doc, out);
}

enum ac_err
ac_forge_jwks_put(struct ac_store *st, const char *doc, size_t len)
{
	if (ac_store_pg(st))
		return ac_pg_forge_jwks_put(st, doc, len);
	return ac_lmdb_forge_jwks_put(st, doc, len);
}

/* ---- the inbox (inbox.h) */

enum ac_err
ac_inbox_accept(struct ac_store *st, const char *client_key, const char *event_key, const char *delivery_id,
    const char *body, size_t body_len, uint64_t *seq, int *dup)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_accept(st, client_key, event_key, delivery_id, body, body_len, seq, dup);
	return ac_lmdb_inbox_accept(st, client_key, event_key, delivery_id, body, body_len, seq, dup);
}

enum ac_err
ac_inbox_intake(struct ac_store *st, const char *client_key, const char *event_key, const char *delivery_id,
    const char *body, size_t body_len, uint64_t *seq, int *dup)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_intake(st, client_key, event_key, delivery_id, body, body_len, seq, dup);
	return ac_lmdb_inbox_intake(st, client_key, event_key, delivery_id, body, body_len, seq, dup);
}

enum ac_err
ac_inbox_ingest(struct ac_store *st, int rotate, size_t *count)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_ingest(st, rotate, count);
	return ac_lmdb_inbox_ingest(st, rotate, count);
}

enum ac_err
ac_inbox_repair(struct ac_store *st, int *same)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_repair(st, same);
	return ac_lmdb_inbox_repair(st, same);
}

const char *
ac_inbox_damage(struct ac_store *st)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_damage(st);
	return ac_lmdb_inbox_damage(st);
}

enum ac_err
ac_inbox_claim(struct ac_store *st, long lease_seconds, struct ac_event *out)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_claim(st, lease_seconds, out);
	return ac_lmdb_inbox_claim(st, lease_seconds, out);
}

enum ac_err
ac_inbox_done(struct ac_store *st, uint64_t seq)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_done(st, seq);
	return ac_lmdb_inbox_done(st, seq);
}

enum ac_err
ac_inbox_fail(struct ac_store *st, uint64_t seq, const char *error, time_t next_at, int to_dead)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_fail(st, seq, error, next_at, to_dead);
	return ac_lmdb_inbox_fail(st, seq, error, next_at, to_dead);
}

enum ac_err
ac_inbox_list(struct ac_store *st, int dead, enum ac_err (*fn)(const struct ac_event *ev, void *ctx),
    void *ctx)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_list(st, dead, fn, ctx);
	return ac_lmdb_inbox_list(st, dead, fn, ctx);
}

enum ac_err
ac_inbox_get(struct ac_store *st, uint64_t seq, struct ac_event *out, int *dead)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_get(st, seq, out, dead);
	return ac_lmdb_inbox_get(st, seq, out, dead);
}

enum ac_err
ac_inbox_retry(struct ac_store *st, uint64_t seq)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_retry(st, seq);
	return ac_lmdb_inbox_retry(st, seq);
}

enum ac_err
ac_inbox_drop(struct ac_store *st, uint64_t seq)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_drop(st, seq);
	return ac_lmdb_inbox_drop(st, seq);
}

enum ac_err
ac_inbox_prune_deliveries(struct ac_store *st, time_t before, size_t *n)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_prune_deliveries(st, before, n);
	return ac_lmdb_inbox_prune_deliveries(st, before, n);
}

enum ac_err
ac_inbox_counts(struct ac_store *st, size_t *inbox, size_t *due, size_t *dead)
{
	struct ac_inbox_stats s;
	enum ac_err err;

	/* the counts of ac_inbox_stats(), after what LMDB's intake journal holds is moved in (PostgreSQL has none) */
	if (!ac_store_pg(st))
		ac_inbox_ingest_quietly(st, 0);
	if ((err = ac_inbox_stats(st, &s)) == AC_OK) {
		if (inbox)
			*inbox = s.inbox;
		if (due)
			*due = s.due;
		if (dead)
			*dead = s.dead;
	}
	return err;
}

enum ac_err
ac_inbox_stats(struct ac_store *st, struct ac_inbox_stats *out)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_stats(st, out);
	return ac_lmdb_inbox_stats(st, out);
}

int
ac_inbox_wait(struct ac_store *st, long max_ms)
{
	if (ac_store_pg(st))
		return ac_pg_inbox_wait(st, max_ms);
	return ac_lmdb_inbox_wait(st, max_ms);
}

/* ---- moving a store (acctl store copy) */

enum ac_err
ac_store_items(struct ac_store *st, enum ac_err (*fn)(const struct ac_store_item *it, void *ctx), void *ctx)
{
	if (ac_store_pg(st))
		return ac_pg_store_items(st, fn, ctx);
	return ac_lmdb_store_items(st, fn, ctx);
}

enum ac_err
ac_store_item_put_txn(struct ac_txn *txn, const struct ac_store_item *it)
{
	if (ac_store_pg(txn->st))
		return ac_pg_store_item_put_txn(txn, it);
	return ac_lmdb_store_item_put_txn(txn, it);
}
