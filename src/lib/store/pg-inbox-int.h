/*
 * pg-inbox-int.h: what pg-inbox.c (the queue) and pg-lease.c (renewing
 * leases, waking idle workers) share. Not for use outside them.
 */
#ifndef AC_PG_INBOX_INT_H
#define AC_PG_INBOX_INT_H

#include <libpq-fe.h>

#include "store/inbox.h"
#include "store/lease.h"
#include "store/store-pg.h"

#define AC_PG_STR_(x) #x
#define AC_PG_STR(x) AC_PG_STR_(x)

/* The channel of NOTIFY: an event became due now (intake, retry). */
#define AC_PG_CHANNEL "ac_inbox"

/* Row row of r, EVENT_COLS from column col, into out (owned). */
enum ac_err ac_pg_event_decode(const PGresult *r, int row, int col, struct ac_event *out);
/* The six owner cells (hex id, hex boot, pidns, start, pid, host) from column col. */
void ac_pg_owner_cells(const PGresult *r, int row, int col, struct ac_lease_owner *o);

/* From claim: keep renewing seq's lease (owner o, lease seconds long) until it is released. */
void ac_pg_lease_hold(struct ac_store *st, uint64_t seq, const struct ac_lease_owner *o, long lease);
/* From done and fail: stop renewing seq's lease. */
void ac_pg_lease_release(struct ac_store *st, uint64_t seq);

#endif
