/* pg-inbox.c: the intake, the inbox, leases and dead letters on PostgreSQL. */
#include "config.h"

#include "base/log.h"
#include "store/store-pg.h"

/* TODO(issue 16): each operation below. */
static enum ac_err
ac_pg_todo(const char *what)
{
	ac_log_error("%s: not implemented on PostgreSQL yet", what);
	return AC_ERR_INTERNAL;
}

enum ac_err
ac_pg_inbox_accept(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup)
{
	(void)st;
	(void)client_key;
	(void)event_key;
	(void)delivery_id;
	(void)body;
	(void)body_len;
	(void)seq;
	(void)dup;
	return ac_pg_todo("inbox_accept");
}

enum ac_err
ac_pg_inbox_intake(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup)
{
	(void)st;
	(void)client_key;
	(void)event_key;
	(void)delivery_id;
	(void)body;
	(void)body_len;
	(void)seq;
	(void)dup;
	return ac_pg_todo("inbox_intake");
}

enum ac_err
ac_pg_inbox_ingest(struct ac_store *st, int rotate, size_t *count)
{
	(void)st;
	(void)rotate;
	(void)count;
	return ac_pg_todo("inbox_ingest");
}

enum ac_err
ac_pg_inbox_repair(struct ac_store *st, int *same)
{
	(void)st;
	(void)same;
	return ac_pg_todo("inbox_repair");
}

const char *
ac_pg_inbox_damage(struct ac_store *st)
{
	(void)st;
	return NULL;
}

enum ac_err
ac_pg_inbox_claim(struct ac_store *st, long lease_seconds, struct ac_event *out)
{
	(void)st;
	(void)lease_seconds;
	(void)out;
	return ac_pg_todo("inbox_claim");
}

enum ac_err
ac_pg_inbox_done(struct ac_store *st, uint64_t seq)
{
	(void)st;
	(void)seq;
	return ac_pg_todo("inbox_done");
}

enum ac_err
ac_pg_inbox_fail(struct ac_store *st, uint64_t seq, const char *error, time_t next_at, int to_dead)
{
	(void)st;
	(void)seq;
	(void)error;
	(void)next_at;
	(void)to_dead;
	return ac_pg_todo("inbox_fail");
}

enum ac_err
ac_pg_inbox_list(struct ac_store *st, int dead, enum ac_err (*fn)(const struct ac_event *ev, void *ctx),
    void *ctx)
{
	(void)st;
	(void)dead;
	(void)fn;
	(void)ctx;
	return ac_pg_todo("inbox_list");
}

enum ac_err
ac_pg_inbox_get(struct ac_store *st, uint64_t seq, struct ac_event *out, int *dead)
{
	(void)st;
	(void)seq;
	(void)out;
	(void)dead;
	return ac_pg_todo("inbox_get");
}

enum ac_err
ac_pg_inbox_retry(struct ac_store *st, uint64_t seq)
{
	(void)st;
	(void)seq;
	return ac_pg_todo("inbox_retry");
}

enum ac_err
ac_pg_inbox_drop(struct ac_store *st, uint64_t seq)
{
	(void)st;
	(void)seq;
	return ac_pg_todo("inbox_drop");
}

enum ac_err
ac_pg_inbox_prune_deliveries(struct ac_store *st, time_t before, size_t *n)
{
	(void)st;
	(void)before;
	(void)n;
	return ac_pg_todo("inbox_prune_deliveries");
}

enum ac_err
ac_pg_inbox_counts(struct ac_store *st, size_t *inbox, size_t *due, size_t *dead)
{
	(void)st;
	(void)inbox;
	(void)due;
	(void)dead;
	return ac_pg_todo("inbox_counts");
}

/* issue 17 (arch-ops): one read, no write: counts, live leases, the oldest due received_at (inbox.h) */
enum ac_err
ac_pg_inbox_stats(struct ac_store *st, struct ac_inbox_stats *out)
{
	(void)st;
	(void)out;
	return ac_pg_todo("inbox_stats");
}
