/*
 * inbox-int.h: what inbox.c (the queue), ingest.c (the ways in) and
 * inbox-stats.c share: the header of an inbox record and the helpers that
 * write one; dispatch.c uses ac_inbox_ingest_quietly(). Not for use outside
 * src/lib/store; inbox.h is the interface.
 */
#ifndef AC_INBOX_INT_H
#define AC_INBOX_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/lease.h"
#include "store/store-lmdb.h"
#include "store/store.h"

/* An inbox record's header, decoded (the layout is in inbox.c). */
struct hdr {
	uint32_t version, attempts;
	int64_t received_at, next_at, lease_until;
	int32_t lease_pid;
	uint16_t ck_len, ev_len, id_len, err_len;
	uint32_t body_len;
	size_t size;                  /* of the header as stored: HDR_V1 or HDR */
	struct ac_lease_owner owner;  /* zero in version 1 but for the pid */
};

/* Writes a record with the given header and strings into the db under seq. */
enum ac_err ac_inbox_put_record(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, struct hdr *h, const char *ck,
    const char *ev, const char *id, const char *err, const char *body, size_t body_len);
/* The next sequence number: past the inbox, `dead` and the recorded floor. */
enum ac_err ac_inbox_next_seq(MDB_txn *txn, struct ac_store *st, uint64_t *out);
/* Decodes a record's header into h: 0 when the record is too short (inbox-stats.c reads headers only). */
int ac_inbox_read_hdr(const MDB_val *v, struct hdr *h);
/* Readers of the inbox first move in what the journal holds (ac_inbox_ingest), failures said once a minute. */
void ac_inbox_ingest_quietly(struct ac_store *st, int rotate);

#endif
