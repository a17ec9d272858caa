/*
 * ingest.c: the ways into the inbox (inbox.h): accept (one transaction per
 * event), intake (the journal, before the 204) and ingest (journal -> inbox,
 * exactly once, in order), the repair of a journal's header.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/le.h"
#include "base/log.h"
#include "store/inbox-int.h"
#include "store/inbox.h"
#include "store/journal.h"
#include "store/store-lmdb.h"

/* ---------------------------------------------------------------- accept */

struct accept_ctx {
	const char *ck, *ev, *id, *body;
	size_t body_len;
	uint64_t seq;
	int dup;
	time_t now;
};

static enum ac_err
dedupe_key(const char *ck, const char *id, unsigned char *buf, size_t bufsz, MDB_val *k)
{
	size_t a = strlen(ck), b = strlen(id);

	/* per tenant: one tenant cannot suppress another's deliveries by reusing ids */
	if (a + 1 + b > bufsz || a + 1 + b > 511)
		return AC_ERR_INVALID;
	memcpy(buf, ck, a);
	buf[a] = '\n';
	memcpy(buf + a + 1, id, b);
	k->mv_data = buf;
	k->mv_size = a + 1 + b;
	return AC_OK;
}

/* The delivery under dk, seen within AC_INBOX_DEDUPE_SECONDS of now: its *seq; AC_ERR_NOT_FOUND if not. */
static enum ac_err
seen_in(MDB_txn *txn, struct ac_store *st, MDB_val *dk, time_t now, uint64_t *seq)
{
	MDB_val dv;
	int rc = mdb_get(txn, ac_store_dbi(st, AC_DB_DELIVERIES), dk, &dv);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return ac_store_mdb_err(rc, "mdb_get deliveries");
	if (rc != 0 || dv.mv_size != 16 ||
	    (int64_t)le_get64((const unsigned char *)dv.mv_data + 8) <= (int64_t)now - AC_INBOX_DEDUPE_SECONDS)
		return AC_ERR_NOT_FOUND;
	*seq = le_get64(dv.mv_data);
	return AC_OK;
}

static enum ac_err
accept_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct accept_ctx *a = ctx;
	MDB_val dk, dv;
	unsigned char dbuf[512], dval[16];
	struct hdr h;
	uint64_t next = 1;
	enum ac_err err;
	int rc;

	a->dup = 0;
	if (*a->id) {
		if ((err = dedupe_key(a->ck, a->id, dbuf, sizeof(dbuf), &dk)) != AC_OK)
			return err;
		if ((err = seen_in(txn, st, &dk, a->now, &a->seq)) == AC_OK) {
			a->dup = 1;
			return AC_OK;
		}
		if (err != AC_ERR_NOT_FOUND)
			return err;
	}
	if ((err = ac_inbox_next_seq(txn, st, &next)) != AC_OK)
		return err;
	memset(&h, 0, sizeof(h));
	h.received_at = a->now;
	h.next_at = a->now;
	if ((err = ac_inbox_put_record(txn, ac_store_dbi(st, AC_DB_INBOX), next, &h, a->ck, a->ev, a->id, "", a->body,
	    a->body_len)) != AC_OK)
		return err;
	if (*a->id) {
		le_put64(dval, next);
		le_put64(dval + 8, (uint64_t)a->now);
		dv.mv_data = dval;
		dv.mv_size = 16;
		if ((rc = mdb_put(txn, ac_store_dbi(st, AC_DB_DELIVERIES), &dk, &dv, 0)) != 0)
			return ac_store_mdb_err(rc, "mdb_put deliveries");
	}
	a->seq = next;
	return AC_OK;
}

enum ac_err
ac_lmdb_inbox_accept(struct ac_store *st, const char *client_key, const char *event_key, const char *delivery_id,
    const char *body, size_t body_len, uint64_t *seq, int *dup)
{
	struct accept_ctx a = { client_key, event_key, delivery_id ? delivery_id : "", body, body_len, 0, 0,
		ac_clock_now() };
	enum ac_err err;

	if (body_len > AC_INBOX_BODY_MAX)
		return AC_ERR_BODY_TOO_LARGE;
	/* after what the journal holds: order of acceptance */
	ac_inbox_ingest_quietly(st, 0);
	if ((err = ac_store_write(st, accept_fn, &a)) != AC_OK)
		return err;
	if (seq)
		*seq = a.seq;
	if (dup)
		*dup = a.dup;
	return AC_OK;
}

/* ---------------------------------------------------------------- idle */

/* No notices on LMDB: a short sleep, so that a new event starts within 50 ms (inbox.h). */
#define IDLE_POLL_MS 50

int
ac_lmdb_inbox_wait(struct ac_store *st, long max_ms)
{
	long ms = max_ms < IDLE_POLL_MS ? max_ms : IDLE_POLL_MS;
	struct timespec ts = { 0, (ms > 0 ? ms : 0) * 1000000L };

	(void)st;
	nanosleep(&ts, NULL);
	return 0;
}

/* ---------------------------------------------------------------- intake journal */

/*
 * meta "journal": where the inbox is in the intake journal, written in the
 * transaction that moves records in. u64 the file's id, u64 the offset up to
 * which it is in the inbox, i64 the latest received_at moved in (of any
 * file), u32 size and u32 CRC of the record that ends at the offset (so that
 * a file cut back or restored is told from the one that was read:
 * ac_journal_matches), and while a rescan runs (0 otherwise) u64 where it
 * ends and i64 the latest received_at before it began; u64 when the file
 * was made (its header), to tell an older file put back. Stores from before
 * wrote the first two words only.
 */
static const MDB_val journal_key = { 7, (void *)"journal" };
#define JMETA_SIZE 56

struct jmeta {
	uint64_t id, off;
	int64_t latest;
	uint32_t last_size, last_crc;
	uint64_t rescan_end;
	int64_t rescan_before;
	uint64_t born;
};

static enum ac_err
get_jmeta(MDB_txn *txn, struct ac_store *st, struct jmeta *m)
{
	MDB_val k = journal_key, v;
	const unsigned char *p;
	int rc = mdb_get(txn, ac_store_dbi(st, AC_DB_META), &k, &v);

	memset(m, 0, sizeof(*m));
	if (rc != 0)
		return rc == MDB_NOTFOUND ? AC_OK : ac_store_mdb_err(rc, "mdb_get meta");
	p = v.mv_data;
	if (v.mv_size != 16 && v.mv_size != JMETA_SIZE)
		return AC_OK;
	m->id = le_get64(p);
	m->off = le_get64(p + 8);
	if (v.mv_size == JMETA_SIZE) {
		m->latest = (int64_t)le_get64(p + 16);
		m->last_size = le_get32(p + 24);
		m->last_crc = le_get32(p + 28);
		m->rescan_end = le_get64(p + 32);
		m->rescan_before = (int64_t)le_get64(p + 40);
		m->born = le_get64(p + 48);
	}
	return AC_OK;
}

static enum ac_err
put_jmeta(MDB_txn *txn, struct ac_store *st, const struct jmeta *m)
{
	unsigned char mv[JMETA_SIZE];
	MDB_val k = journal_key, v = { sizeof(mv), mv };
	int rc;

	le_put64(mv, m->id);
	le_put64(mv + 8, m->off);
	le_put64(mv + 16, (uint64_t)m->latest);
	le_put32(mv + 24, m->last_size);
	le_put32(mv + 28, m->last_crc);
	le_put64(mv + 32, m->rescan_end);
	le_put64(mv + 40, (uint64_t)m->rescan_before);
	le_put64(mv + 48, m->born);
	if ((rc = mdb_put(txn, ac_store_dbi(st, AC_DB_META), &k, &v, 0)) != 0)
		return ac_store_mdb_err(rc, "mdb_put meta");
	return AC_OK;
}
#define INGEST_BATCH 256
#define INGEST_BATCH_BYTES (8u << 20)

static uint64_t rotate_bytes = AC_JOURNAL_ROTATE_BYTES;

void
ac_inbox_set_rotate_bytes(uint64_t n)
{
	rotate_bytes = n ? n : AC_JOURNAL_ROTATE_BYTES;
}

/*
 * What ac_inbox_accept would refuse, refused before the 204 instead of when
 * it is moved in (a delivery id too long for a dedupe key: seen_fn, next).
 */
static enum ac_err
check_event(const char *ck, const char *ev, const char *id, size_t body_len)
{
	if (body_len > AC_INBOX_BODY_MAX)
		return AC_ERR_BODY_TOO_LARGE;
	if (strlen(ck) > 0xffff || strlen(ev) > 0xffff || strlen(id) > 0xffff)
		return AC_ERR_INVALID;
	return AC_OK;
}

struct seen_ctx {
	const char *ck, *id;
	time_t now;
	uint64_t seq;
	int dup;
};

static enum ac_err
seen_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct seen_ctx *c = ctx;
	unsigned char dbuf[512];
	MDB_val dk;
	enum ac_err err;

	if ((err = dedupe_key(c->ck, c->id, dbuf, sizeof(dbuf), &dk)) != AC_OK)
		return err;
	if ((err = seen_in(txn, st, &dk, c->now, &c->seq)) == AC_OK)
		c->dup = 1;
	return err == AC_ERR_NOT_FOUND ? AC_OK : err;
}

enum ac_err
ac_lmdb_inbox_intake(struct ac_store *st, const char *client_key, const char *event_key, const char *delivery_id,
    const char *body, size_t body_len, uint64_t *seq, int *dup)
{
	struct ac_journal *j = ac_store_journal(st);
	struct seen_ctx c = { client_key, delivery_id ? delivery_id : "", ac_clock_now(), 0, 0 };
	enum ac_err err;

	if (seq)
		*seq = 0;
	if (dup)
		*dup = 0;
	if (j == NULL)
		return AC_ERR_INVALID;
	if ((err = check_event(client_key, event_key, c.id, body_len)) != AC_OK)
		return err;
	/* seen and moved in already: say so now (one still in the journal is dropped when it is moved in) */
	if (*c.id && (err = ac_store_read(st, seen_fn, &c)) != AC_OK)
		return err;
	if (c.dup) {
		if (seq)
			*seq = c.seq;
		if (dup)
			*dup = 1;
		return AC_OK;
	}
	return ac_journal_append(j, c.now, client_key, event_key, c.id, body, body_len);
}

struct ingest_ctx {
	struct ac_journal *j;
	int final;
	size_t n;     /* records moved in by the last transaction */
	uint64_t off; /* where it stopped */
	int more;     /* it stopped at a batch limit */
	/* the last transaction found the file cut back: where the store was, and the file's size then */
	int rescan;
	uint64_t was_off, real_size;
	/* it found a file older than the one the store read last: when each was made */
	uint64_t older, newer;
};

/*
 * A journal cut back under the store (restored from an older snapshot,
 * truncated) holds a prefix of what was moved in, then whatever was appended
 * since: appends land at offsets the store believes it has read. So it is read
 * again from its start, up to the size it had when that was found: a record
 * received before the latest one moved in until then was moved in already
 * (it is in the prefix: it is skipped); any other is moved in with the inbox's
 * dedupe (a delivery id seen is not queued twice; a record without one,
 * received in the very second of the latest, may be). Records appended after
 * that size are read as usual.
 */
static enum ac_err
ingest_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct ingest_ctx *c = ctx;
	struct jmeta m, was;
	uint64_t id, off;
	size_t n = 0, seen = 0, bytes = 0;
	struct ac_journal_rec rec;
	enum ac_err err;

	c->n = 0;
	c->more = 0;
	c->rescan = 0;
	c->older = 0;
	if ((err = get_jmeta(txn, st, &m)) != AC_OK)
		return err;
	was = m;
	if ((err = ac_journal_scan_begin(c->j, m.id, m.off, &id, &off)) == AC_ERR_NOT_FOUND)
		return AC_OK;
	if (err != AC_OK)
		return err;
	if (id != m.id) {
		/*
		 * Another file (rotated, or the first): read from its start. One
		 * made before the file the store read last was put back (or the
		 * clock went back): said, its deliveries go through dedupe.
		 */
		if (m.id != 0 && ac_journal_born(c->j) < m.born) {
			c->older = ac_journal_born(c->j);
			c->newer = m.born;
		}
		m.born = ac_journal_born(c->j);
		m.id = id;
		m.last_size = m.last_crc = 0;
		m.rescan_end = 0;
	} else if (m.off > AC_JOURNAL_HDR && !ac_journal_matches(c->j, m.off, m.last_size, m.last_crc)) {
		c->rescan = 1;
		c->was_off = m.off;
		c->real_size = ac_journal_scanned(c->j);
		off = AC_JOURNAL_HDR;
		m.last_size = m.last_crc = 0;
		m.rescan_end = c->real_size;
		m.rescan_before = m.latest;
	}
	c->off = off;
	while (seen < INGEST_BATCH && bytes < INGEST_BATCH_BYTES) {
		struct accept_ctx a;
		int again;

		if ((err = ac_journal_next(c->j, &off, &rec, c->final)) == AC_ERR_NOT_FOUND)
			break;
		if (err != AC_OK)
			return err;
		seen++;
		m.last_size = rec.size;
		m.last_crc = rec.crc;
		again = rec.offset < m.rescan_end;
		if (again && (int64_t)rec.received_at < m.rescan_before)
			continue; /* moved in before the file was cut back */
		a = (struct accept_ctx){ rec.client_key, rec.event_key, rec.delivery_id, rec.body, rec.body_len, 0, 0,
			rec.received_at };
		if ((err = accept_fn(txn, st, &a)) == AC_ERR_INVALID) {
			/* intake checks what accept refuses: only a foreign writer gets here */
			ac_log_error("journal record at %llu (%s for %s) cannot be stored: skipped",
			    (unsigned long long)rec.offset, rec.event_key, rec.client_key);
			continue;
		}
		if (err != AC_OK)
			return err;
		if (a.dup && !again)
			ac_log_info("delivery %s of %s seen before (event %llu): not queued again", rec.delivery_id,
			    rec.client_key, (unsigned long long)a.seq);
		if ((int64_t)rec.received_at > m.latest)
			m.latest = (int64_t)rec.received_at;
		n++;
		bytes += rec.body_len;
	}
	m.off = off;
	if (m.rescan_end && off >= m.rescan_end)
		m.rescan_end = 0;
	if (memcmp(&m, &was, sizeof(m)) != 0 && (err = put_jmeta(txn, st, &m)) != AC_OK)
		return err;
	c->n = n;
	c->off = off;
	c->more = seen >= INGEST_BATCH || bytes >= INGEST_BATCH_BYTES;
	return AC_OK;
}

/* Said once, when the transaction that begins the rescan is committed. */
static void
say_rescan(const struct ingest_ctx *c)
{
	if (c->older) {
		ac_log_error("intake journal made at %llu, before the one the store read last (%llu): an older file put "
		    "back (or the clock went back); reading it from the start, deliveries seen within a day are absorbed",
		    (unsigned long long)c->older, (unsigned long long)c->newer);
		return;
	}
	if (c->real_size < c->was_off)
		ac_log_error("intake journal shorter than recorded (%llu < %llu bytes): restored or truncated; "
		    "rescanning from the start, duplicates are absorbed", (unsigned long long)c->real_size,
		    (unsigned long long)c->was_off);
	else
		ac_log_error("intake journal does not hold at offset %llu the record last moved in: restored or "
		    "rewritten; rescanning from the start, duplicates are absorbed", (unsigned long long)c->was_off);
}

enum ac_err
ac_lmdb_inbox_ingest(struct ac_store *st, int rotate, size_t *count)
{
	struct ingest_ctx c;
	size_t total = 0;
	enum ac_err err;

	if (count)
		*count = 0;
	memset(&c, 0, sizeof(c));
	if ((c.j = ac_store_journal(st)) == NULL || !ac_journal_has_news(c.j))
		return AC_OK;
	do {
		if ((err = ac_store_write(st, ingest_fn, &c)) != AC_OK)
			goto out;
		if (c.rescan || c.older)
			say_rescan(&c);
		total += c.n;
	} while (c.more);
	/*
	 * Read to where no complete record follows: an incomplete tail (an
	 * append in flight, or one that died) is news only once the file grows
	 * past what this scan saw, not at every poll.
	 */
	ac_journal_mark(c.j, c.off > ac_journal_scanned(c.j) ? c.off : ac_journal_scanned(c.j));
	/*
	 * Rotate once the file is large and read to (nearly) its end: take it
	 * exclusively, read the rest, commit (flushed as AC_SYNC says), and only
	 * then put the new file in its place.
	 */
	if (rotate && c.off >= rotate_bytes && (err = ac_journal_rotate_begin(c.j)) == AC_OK) {
		c.final = 1;
		do {
			if ((err = ac_store_write(st, ingest_fn, &c)) != AC_OK)
				break;
			if (c.rescan || c.older)
				say_rescan(&c);
			total += c.n;
		} while (c.more);
		if (err == AC_OK)
			ac_log_info("%s: rotated at %llu bytes", AC_JOURNAL_FILE, (unsigned long long)c.off);
		if (ac_journal_rotate_end(c.j, err == AC_OK) != AC_OK && err == AC_OK)
			err = AC_ERR_STORE;
		ac_journal_mark(c.j, 0);
		if (err != AC_OK)
			goto out;
	}
	err = AC_OK;
out:
	if (count)
		*count = total;
	return err;
}

struct repair_ctx {
	struct ac_journal *j;
	uint64_t used, size;
	int same;
};

static enum ac_err
repair_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct repair_ctx *c = ctx;
	struct jmeta m;
	enum ac_err err;

	if ((err = get_jmeta(txn, st, &m)) != AC_OK)
		return err;
	/* run again after a map growth: the header is written already */
	if (c->used == 0 &&
	    (err = ac_journal_repair(c->j, m.id, m.off, m.last_size, m.last_crc, &c->used, &c->size)) != AC_OK)
		return err;
	c->same = c->used == m.id;
	if (c->same)
		return AC_OK; /* the file the store was reading: it goes on where it was */
	/* not known to be that file: read all of it, as after a cut back (ingest_fn) */
	m.rescan_before = m.latest;
	m.rescan_end = c->size;
	m.id = c->used;
	m.off = AC_JOURNAL_HDR;
	m.last_size = m.last_crc = 0;
	return put_jmeta(txn, st, &m);
}

enum ac_err
ac_lmdb_inbox_repair(struct ac_store *st, int *same)
{
	struct repair_ctx c;
	enum ac_err err;

	memset(&c, 0, sizeof(c));
	if ((c.j = ac_store_journal(st)) == NULL)
		return AC_ERR_INVALID;
	if ((err = ac_store_write(st, repair_fn, &c)) != AC_OK)
		return err;
	if (same)
		*same = c.same;
	ac_log_warn("%s: header written again, under %s; its records are kept and moved in %s", AC_JOURNAL_FILE,
	    c.same ? "the file id the store recorded" : "a new file id",
	    c.same ? "from where the store was" : "again from its start, duplicates are absorbed");
	return AC_OK;
}

/* What damage to the intake journal was last found (acctl prints it), or NULL. */
const char *
ac_lmdb_inbox_damage(struct ac_store *st)
{
	struct ac_journal *j = ac_store_journal(st);

	return j ? ac_journal_damage(j) : NULL;
}

/* Readers of the inbox first move in what the journal holds, so that they see every accepted event. */
void
ac_inbox_ingest_quietly(struct ac_store *st, int rotate)
{
	static time_t said;
	enum ac_err err = ac_inbox_ingest(st, rotate, NULL);

	/* a worker polls 20 times a second: say it once a minute while it lasts (the events stay in the journal) */
	if (err != AC_OK && time(NULL) - said >= 60) {
		ac_log_warn("cannot move the intake journal into the inbox (the events wait in it): %s",
		    ac_strerror(err));
		said = time(NULL);
	}
}
