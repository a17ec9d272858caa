/* inbox-stats.c: LMDB's ac_inbox_stats, the inbox at a glance for /healthcheck, /metrics and acctl status: one read, no write. */
#include "config.h"

#include <string.h>

#include "base/clock.h"
#include "store/inbox-int.h"
#include "store/inbox.h"
#include "store/store-lmdb.h"

struct stats_ctx {
	time_t now;
	struct ac_inbox_stats s;
};

static enum ac_err
stats_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct stats_ctx *c = ctx;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_stat ms;
	struct hdr h;
	int rc;

	/* fn may run again from scratch: nothing is kept across calls */
	memset(&c->s, 0, sizeof(c->s));
	if ((rc = mdb_stat(txn, ac_store_dbi(st, AC_DB_DEAD), &ms)) != 0)
		return ac_store_mdb_err(rc, "mdb_stat dead");
	c->s.dead = ms.ms_entries;
	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_INBOX), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open inbox");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		c->s.inbox++;
		if (!ac_inbox_read_hdr(&v, &h))
			continue;
		if (h.lease_until > (int64_t)c->now)
			c->s.leased++;
		if (h.next_at <= (int64_t)c->now) {
			c->s.due++;
			if (h.received_at > 0 && (c->s.oldest_due == 0 || h.received_at < (int64_t)c->s.oldest_due))
				c->s.oldest_due = (time_t)h.received_at;
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? AC_OK : ac_store_mdb_err(rc, "inbox stats");
}

enum ac_err
ac_lmdb_inbox_stats(struct ac_store *st, struct ac_inbox_stats *out)
{
	struct stats_ctx c;
	enum ac_err err;

	memset(&c, 0, sizeof(c));
	c.now = ac_clock_now();
	if ((err = ac_store_read(st, stats_fn, &c)) == AC_OK)
		*out = c.s;
	return err;
}
