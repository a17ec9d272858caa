/* inbox.c: the durable event queue: accept with dedupe, leases, retries, dead letters. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/inbox-int.h"
#include "store/inbox.h"
#include "store/lease.h"
#include "store/store-lmdb.h"
#include "base/le.h"
#include "base/log.h"

/*
 * Record layout (little-endian), chosen so that a 256 KiB body is stored and
 * read as it came, without JSON escaping:
 *   u32 version, u32 attempts, i64 received_at, i64 next_at, i64 lease_until,
 *   i32 lease_pid, u16 ck_len, u16 ev_len, u16 id_len, u16 err_len, u32 body_len,
 *   (version 2) the lease owner: 16 bytes id, 16 bytes boot id, u64 pid
 *   namespace, u64 start time, 64 bytes host name (NUL-padded),
 *   then client key, event key, delivery id, last error and body bytes.
 * Version 1 (schema 1 stores) had no owner: it is read, never written; its
 * leases wait for their expiry (a pid alone proves nothing).
 */
#define REC_VERSION 2
#define HDR_V1 48
#define HDR 160
#define HOST_MAX (AC_LEASE_HOST_MAX - 1)
#define SCAN_MAX 100000

static void
seq_key(uint64_t seq, unsigned char k[8])
{
	int i;

	/* big-endian, so LMDB's byte order is the sequence order */
	for (i = 7; i >= 0; i--, seq >>= 8)
		k[i] = (unsigned char)seq;
}

static uint64_t
key_seq(const MDB_val *k)
{
	const unsigned char *p = k->mv_data;
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < 8 && i < k->mv_size; i++)
		v = v << 8 | p[i];
	return v;
}

static int
read_hdr(const MDB_val *v, struct hdr *h)
{
	const unsigned char *p = v->mv_data;
	size_t n;

	memset(h, 0, sizeof(*h));
	if (v->mv_size < HDR_V1)
		return 0;
	h->version = le_get32(p);
	h->attempts = le_get32(p + 4);
	h->received_at = (int64_t)le_get64(p + 8);
	h->next_at = (int64_t)le_get64(p + 16);
	h->lease_until = (int64_t)le_get64(p + 24);
	h->lease_pid = (int32_t)le_get32(p + 32);
	h->ck_len = le_get16(p + 36);
	h->ev_len = le_get16(p + 38);
	h->id_len = le_get16(p + 40);
	h->err_len = le_get16(p + 42);
	h->body_len = le_get32(p + 44);
	h->owner.pid = h->lease_pid;
	if (h->version == 1) {
		h->size = HDR_V1;
	} else if (h->version == REC_VERSION && v->mv_size >= HDR) {
		h->size = HDR;
		memcpy(h->owner.id, p + 48, 16);
		memcpy(h->owner.boot, p + 64, 16);
		h->owner.pidns = le_get64(p + 80);
		h->owner.start = le_get64(p + 88);
		memcpy(h->owner.host, p + 96, HOST_MAX);
		h->owner.host[HOST_MAX] = '\0';
	} else {
		return 0;
	}
	n = h->size + h->ck_len + h->ev_len + h->id_len + h->err_len + (size_t)h->body_len;
	return n == v->mv_size;
}

static void
write_hdr(unsigned char *p, const struct hdr *h)
{
	size_t hl = strnlen(h->owner.host, HOST_MAX);

	le_put32(p, h->version);
	le_put32(p + 4, h->attempts);
	le_put64(p + 8, (uint64_t)h->received_at);
	le_put64(p + 16, (uint64_t)h->next_at);
	le_put64(p + 24, (uint64_t)h->lease_until);
	le_put32(p + 32, (uint32_t)h->lease_pid);
	le_put16(p + 36, h->ck_len);
	le_put16(p + 38, h->ev_len);
	le_put16(p + 40, h->id_len);
	le_put16(p + 42, h->err_len);
	le_put32(p + 44, h->body_len);
	memcpy(p + 48, h->owner.id, 16);
	memcpy(p + 64, h->owner.boot, 16);
	le_put64(p + 80, h->owner.pidns);
	le_put64(p + 88, h->owner.start);
	memset(p + 96, 0, HOST_MAX);
	memcpy(p + 96, h->owner.host, hl);
}

void
ac_event_release(struct ac_event *ev)
{
	free(ev->client_key);
	free(ev->event_key);
	free(ev->delivery_id);
	free(ev->body);
	free(ev->last_error);
	memset(ev, 0, sizeof(*ev));
}

static char *
dupn(const unsigned char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static enum ac_err
decode(uint64_t seq, const MDB_val *v, struct ac_event *out)
{
	struct hdr h;
	const unsigned char *p = v->mv_data;

	memset(out, 0, sizeof(*out));
	if (!read_hdr(v, &h)) {
		ac_log_error("inbox record %llu is corrupt", (unsigned long long)seq);
		return AC_ERR_STORE;
	}
	p += h.size;
	out->seq = seq;
	out->attempts = h.attempts;
	out->lease_until = (time_t)h.lease_until;
	out->owner = h.owner;
	out->received_at = (time_t)h.received_at;
	out->next_at = (time_t)h.next_at;
	out->client_key = dupn(p, h.ck_len);
	p += h.ck_len;
	out->event_key = dupn(p, h.ev_len);
	p += h.ev_len;
	out->delivery_id = dupn(p, h.id_len);
	p += h.id_len;
	out->last_error = dupn(p, h.err_len);
	p += h.err_len;
	out->body = dupn(p, h.body_len);
	out->body_len = h.body_len;
	if (!out->client_key || !out->event_key || !out->delivery_id || !out->last_error || !out->body) {
		ac_event_release(out);
		return AC_ERR_NOMEM;
	}
	return AC_OK;
}

/* Writes a record with the given header and strings into the db under seq. */
enum ac_err
ac_inbox_put_record(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, struct hdr *h, const char *ck, const char *ev,
    const char *id, const char *err, const char *body, size_t body_len)
{
	size_t ckl = strlen(ck), evl = strlen(ev), idl = strlen(id), errl = strlen(err);
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	unsigned char *p;
	int rc;

	if (ckl > 0xffff || evl > 0xffff || idl > 0xffff || body_len > 0xffffffffu)
		return AC_ERR_INVALID;
	if (errl > 1000)
		errl = 1000;
	h->version = REC_VERSION;
	h->size = HDR;
	h->lease_pid = h->owner.pid;
	h->ck_len = (uint16_t)ckl;
	h->ev_len = (uint16_t)evl;
	h->id_len = (uint16_t)idl;
	h->err_len = (uint16_t)errl;
	h->body_len = (uint32_t)body_len;
	seq_key(seq, key);
	v.mv_size = HDR + ckl + evl + idl + errl + body_len;
	/* MDB_RESERVE: the record is written once, straight into the map */
	if ((rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE)) != 0)
		return ac_store_mdb_err(rc, "mdb_put inbox");
	p = v.mv_data;
	write_hdr(p, h);
	p += HDR;
	memcpy(p, ck, ckl);
	p += ckl;
	memcpy(p, ev, evl);
	p += evl;
	memcpy(p, id, idl);
	p += idl;
	memcpy(p, err, errl);
	p += errl;
	if (body_len)
		memcpy(p, body, body_len);
	return AC_OK;
}

/*
 * Sequence numbers: the next is one past the largest in `inbox`, in `dead`
 * and in the floor kept in `meta` ("inboxseq"). Accepting an event thus
 * writes no counter (one page less in every webhook's transaction); the
 * floor is raised only when the largest key of a database is removed, so
 * that a number is never handed out twice, even once both are empty. (Stores
 * from before kept the last number given in "inboxseq": as a floor it means
 * the same.)
 */
static const MDB_val seq_floor_key = { 8, (void *)"inboxseq" };

static enum ac_err
last_seq(MDB_txn *txn, struct ac_store *st, enum ac_db db, uint64_t *out)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*out = 0;
	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, db), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open inbox");
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 8)
		*out = key_seq(&k);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return ac_store_mdb_err(rc, "mdb_cursor_get inbox");
	return AC_OK;
}

static enum ac_err
seq_floor(MDB_txn *txn, struct ac_store *st, uint64_t *out)
{
	MDB_val k = seq_floor_key, v;
	int rc = mdb_get(txn, ac_store_dbi(st, AC_DB_META), &k, &v);

	*out = 0;
	if (rc == 0 && v.mv_size == 8)
		*out = le_get64(v.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return ac_store_mdb_err(rc, "mdb_get meta");
	return AC_OK;
}

enum ac_err
ac_inbox_next_seq(MDB_txn *txn, struct ac_store *st, uint64_t *out)
{
	uint64_t a, b, c;
	enum ac_err err;

	if ((err = seq_floor(txn, st, &a)) != AC_OK || (err = last_seq(txn, st, AC_DB_INBOX, &b)) != AC_OK ||
	    (err = last_seq(txn, st, AC_DB_DEAD, &c)) != AC_OK)
		return err;
	if (b > a)
		a = b;
	if (c > a)
		a = c;
	*out = a + 1;
	return AC_OK;
}

/* ---------------------------------------------------------------- claim */

/* Whether a lease still holds its event: unexpired, and its owner not provably gone. */
static int
lease_held(const struct hdr *h, time_t now)
{
	return h->lease_until > now && !ac_lease_owner_dead(&h->owner);
}

struct blocked {
	char **ck;
	size_t n, a;
};

static int
is_blocked(const struct blocked *b, const unsigned char *ck, size_t n)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strlen(b->ck[i]) == n && !memcmp(b->ck[i], ck, n))
			return 1;
	return 0;
}

static enum ac_err
block(struct blocked *b, const unsigned char *ck, size_t n)
{
	if (b->n == b->a) {
		size_t a = b->a ? b->a * 2 : 16;
		char **v = realloc(b->ck, a * sizeof(*v));

		if (v == NULL)
			return AC_ERR_NOMEM;
		b->ck = v;
		b->a = a;
	}
	if ((b->ck[b->n] = dupn(ck, n)) == NULL)
		return AC_ERR_NOMEM;
	b->n++;
	return AC_OK;
}

static void
blocked_release(struct blocked *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->ck[i]);
	free(b->ck);
}

struct claim_ctx {
	long lease;
	time_t now;
	int claim;            /* 0: only look (read txn), 1: take it (write txn) */
	uint64_t found;
	struct ac_event *out;
	struct ac_lease_owner self;
};

static enum ac_err
claim_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct claim_ctx *c = ctx;
	struct blocked b = { NULL, 0, 0 };
	MDB_cursor *cur;
	MDB_val k, v;
	struct hdr h;
	enum ac_err err = AC_ERR_NOT_FOUND;
	size_t scanned = 0;
	int rc;

	c->found = 0;
	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_INBOX), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open inbox");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && scanned < SCAN_MAX;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), scanned++) {
		const unsigned char *ck;

		if (!read_hdr(&v, &h))
			continue; /* corrupt: `acctl inbox` shows it, the worker goes on */
		ck = (const unsigned char *)v.mv_data + h.size;
		if (is_blocked(&b, ck, h.ck_len))
			continue;
		if (lease_held(&h, c->now) || h.next_at > c->now) {
			/* an earlier event of this tenant is running or waiting: later ones wait too */
			if ((err = block(&b, ck, h.ck_len)) != AC_OK)
				break;
			err = AC_ERR_NOT_FOUND;
			continue;
		}
		c->found = key_seq(&k);
		err = AC_OK;
		break;
	}
	if (err == AC_OK && c->claim) {
		uint64_t seq = c->found;
		struct ac_event ev;

		if ((err = decode(seq, &v, &ev)) == AC_OK) {
			if (h.lease_until != 0) {
				char who[128];

				/* a run that never said how it ended: the handler checks what it already did */
				ac_lease_owner_format(&h.owner, who, sizeof(who));
				ac_log_warn("event %llu: taking over the lease of %s (%s)", (unsigned long long)seq, who,
				    h.lease_until > c->now ? "its process is gone" : "expired");
			}
			h.lease_until = c->now + c->lease;
			h.owner = c->self;
			ev.lease_until = (time_t)h.lease_until;
			ev.owner = c->self;
			mdb_cursor_close(cur);
			cur = NULL;
			err = ac_inbox_put_record(txn, ac_store_dbi(st, AC_DB_INBOX), seq, &h, ev.client_key, ev.event_key,
			    ev.delivery_id, ev.last_error, ev.body, ev.body_len);
			if (err == AC_OK)
				*c->out = ev;
			else
				ac_event_release(&ev);
		}
	}
	if (cur)
		mdb_cursor_close(cur);
	blocked_release(&b);
	return err;
}

enum ac_err
ac_lmdb_inbox_claim(struct ac_store *st, long lease_seconds, struct ac_event *out)
{
	struct claim_ctx c = { lease_seconds, ac_clock_now(), 0, 0, out, { { 0 }, { 0 }, 0, 0, 0, "" } };
	enum ac_err err;

	if ((err = ac_lease_owner_self(&c.self)) != AC_OK)
		return err;
	ac_inbox_ingest_quietly(st, 1);
	/* look in a read transaction first: an idle poll must not take the write lock */
	if ((err = ac_store_read(st, claim_fn, &c)) != AC_OK)
		return err;
	c.claim = 1;
	return ac_store_write(st, claim_fn, &c);
}

/* ---------------------------------------------------------------- done, fail, retry, drop */

struct seq_ctx {
	uint64_t seq;
	const char *error;
	time_t next_at;
	int to_dead;
};

/*
 * Finds event seq in the inbox or, when look_in_dead, in `dead` (*dead says
 * where); h gets its header, ev (when non-NULL) an owned copy.
 */
static enum ac_err
load(MDB_txn *txn, struct ac_store *st, uint64_t seq, int look_in_dead, struct hdr *h, struct ac_event *ev,
    int *dead)
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	int rc;

	seq_key(seq, key);
	*dead = 0;
	rc = mdb_get(txn, ac_store_dbi(st, AC_DB_INBOX), &k, &v);
	if (rc == MDB_NOTFOUND && look_in_dead) {
		*dead = 1;
		rc = mdb_get(txn, ac_store_dbi(st, AC_DB_DEAD), &k, &v);
	}
	if (rc == MDB_NOTFOUND)
		return AC_ERR_NOT_FOUND;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get inbox");
	if (!read_hdr(&v, h))
		return AC_ERR_STORE;
	return ev ? decode(seq, &v, ev) : AC_OK;
}

/* Writes ev back under its seq into db with header h and the given last error. */
static enum ac_err
rewrite(MDB_txn *txn, struct ac_store *st, enum ac_db db, struct hdr *h, const struct ac_event *ev,
    const char *error)
{
	return ac_inbox_put_record(txn, ac_store_dbi(st, db), ev->seq, h, ev->client_key, ev->event_key, ev->delivery_id,
	    error, ev->body, ev->body_len);
}

static enum ac_err
remove_from(MDB_txn *txn, struct ac_store *st, enum ac_db db, uint64_t seq)
{
	unsigned char key[8], val[8];
	MDB_val k = { 8, key }, fk = seq_floor_key, fv = { 8, val };
	uint64_t last, floor;
	enum ac_err err;
	int rc;

	seq_key(seq, key);
	rc = mdb_del(txn, ac_store_dbi(st, db), &k, NULL);
	if (rc == MDB_NOTFOUND)
		return AC_ERR_NOT_FOUND;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_del inbox");
	/* the largest number gone from this database: the floor keeps it */
	if ((err = last_seq(txn, st, db, &last)) != AC_OK || last > seq)
		return err;
	if ((err = seq_floor(txn, st, &floor)) != AC_OK || floor >= seq)
		return err;
	le_put64(val, seq);
	if ((rc = mdb_put(txn, ac_store_dbi(st, AC_DB_META), &fk, &fv, 0)) != 0)
		return ac_store_mdb_err(rc, "mdb_put meta");
	return AC_OK;
}

/*
 * Whether this process may settle the event whose header is h: it is not
 * leased, or leased by this process. A worker whose lease expired while its
 * handler ran (and that another worker then claimed) must not remove or
 * reschedule the event under the new holder: that one settles it.
 */
static enum ac_err
still_ours(const struct hdr *h, uint64_t seq)
{
	struct ac_lease_owner self;
	static const unsigned char zero[sizeof(self.id)];
	char who[128];

	if (h->lease_until == 0 || memcmp(h->owner.id, zero, sizeof(zero)) == 0)
		return AC_OK;
	if (ac_lease_owner_self(&self) != AC_OK || memcmp(h->owner.id, self.id, sizeof(self.id)) == 0)
		return AC_OK;
	ac_lease_owner_format(&h->owner, who, sizeof(who));
	ac_log_warn("event %llu: its lease expired and is held by %s now; left to it", (unsigned long long)seq, who);
	return AC_ERR_LEASE_LOST;
}

static enum ac_err
done_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	uint64_t seq = ((struct seq_ctx *)ctx)->seq;
	struct hdr h;
	enum ac_err err;
	int dead;

	if ((err = load(txn, st, seq, 0, &h, NULL, &dead)) != AC_OK || (err = still_ours(&h, seq)) != AC_OK)
		return err;
	return remove_from(txn, st, AC_DB_INBOX, seq);
}

enum ac_err
ac_lmdb_inbox_done(struct ac_store *st, uint64_t seq)
{
	struct seq_ctx s = { seq, NULL, 0, 0 };

	return ac_store_write(st, done_fn, &s);
}

static enum ac_err
fail_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct seq_ctx *s = ctx;
	struct ac_event ev;
	struct hdr h;
	enum ac_err err;
	int dead;

	if ((err = load(txn, st, s->seq, 0, &h, &ev, &dead)) != AC_OK)
		return err;
	if ((err = still_ours(&h, s->seq)) != AC_OK) {
		ac_event_release(&ev);
		return err;
	}
	h.attempts++;
	h.next_at = s->next_at;
	h.lease_until = 0;
	memset(&h.owner, 0, sizeof(h.owner));
	if (s->to_dead && (err = remove_from(txn, st, AC_DB_INBOX, s->seq)) == AC_OK)
		err = rewrite(txn, st, AC_DB_DEAD, &h, &ev, s->error);
	else if (!s->to_dead)
		err = rewrite(txn, st, AC_DB_INBOX, &h, &ev, s->error);
	ac_event_release(&ev);
	return err;
}

enum ac_err
ac_lmdb_inbox_fail(struct ac_store *st, uint64_t seq, const char *error, time_t next_at, int to_dead)
{
	struct seq_ctx s = { seq, error ? error : "", next_at, to_dead };

	return ac_store_write(st, fail_fn, &s);
}

static enum ac_err
retry_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct seq_ctx *s = ctx;
	struct ac_event ev;
	struct hdr h;
	enum ac_err err;
	int dead;

	if ((err = load(txn, st, s->seq, 1, &h, &ev, &dead)) != AC_OK)
		return err;
	h.next_at = s->next_at;
	h.lease_until = 0;
	memset(&h.owner, 0, sizeof(h.owner));
	if (dead) {
		/* a replay starts afresh: a whole new retry window */
		h.attempts = 0;
		h.received_at = s->next_at;
		err = remove_from(txn, st, AC_DB_DEAD, s->seq);
	}
	if (err == AC_OK)
		err = rewrite(txn, st, AC_DB_INBOX, &h, &ev, ev.last_error);
	ac_event_release(&ev);
	return err;
}

enum ac_err
ac_lmdb_inbox_retry(struct ac_store *st, uint64_t seq)
{
	struct seq_ctx s = { seq, NULL, ac_clock_now(), 0 };

	ac_inbox_ingest_quietly(st, 0);
	return ac_store_write(st, retry_fn, &s);
}

static enum ac_err
drop_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct seq_ctx *s = ctx;
	enum ac_err err;

	if ((err = remove_from(txn, st, AC_DB_INBOX, s->seq)) != AC_ERR_NOT_FOUND)
		return err;
	return remove_from(txn, st, AC_DB_DEAD, s->seq);
}

enum ac_err
ac_lmdb_inbox_drop(struct ac_store *st, uint64_t seq)
{
	struct seq_ctx s = { seq, NULL, 0, 0 };

	ac_inbox_ingest_quietly(st, 0);
	return ac_store_write(st, drop_fn, &s);
}

/* ---------------------------------------------------------------- inspection */

struct list_ctx {
	int dead;
	enum ac_err (*fn)(const struct ac_event *, void *);
	void *ctx;
	uint64_t seq;
	struct ac_event *out;
	int *was_dead;
};

static enum ac_err
list_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct list_ctx *l = ctx;
	MDB_cursor *cur;
	MDB_val k, v;
	enum ac_err err = AC_OK;
	int rc;

	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, l->dead ? AC_DB_DEAD : AC_DB_INBOX), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == AC_OK;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ac_event ev;

		if (decode(key_seq(&k), &v, &ev) != AC_OK)
			continue;
		err = l->fn(&ev, l->ctx);
		ac_event_release(&ev);
	}
	mdb_cursor_close(cur);
	return err;
}

enum ac_err
ac_lmdb_inbox_list(struct ac_store *st, int dead, enum ac_err (*fn)(const struct ac_event *, void *), void *ctx)
{
	struct list_ctx l = { dead, fn, ctx, 0, NULL, NULL };

	ac_inbox_ingest_quietly(st, 0);
	return ac_store_read(st, list_fn, &l);
}

static enum ac_err
get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct list_ctx *l = ctx;
	struct hdr h;

	return load(txn, st, l->seq, 1, &h, l->out, l->was_dead);
}

enum ac_err
ac_lmdb_inbox_get(struct ac_store *st, uint64_t seq, struct ac_event *out, int *dead)
{
	int d;
	struct list_ctx l = { 0, NULL, NULL, seq, out, dead ? dead : &d };

	ac_inbox_ingest_quietly(st, 0);
	return ac_store_read(st, get_fn, &l);
}

struct prune_ctx {
	time_t before;
	size_t n;
};

static enum ac_err
prune_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct prune_ctx *p = ctx;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	p->n = 0;
	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_DELIVERIES), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open deliveries");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size == 16 && (int64_t)le_get64((const unsigned char *)v.mv_data + 8) < (int64_t)p->before) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			p->n++;
		}
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? AC_OK : ac_store_mdb_err(rc, "prune deliveries");
}

enum ac_err
ac_lmdb_inbox_prune_deliveries(struct ac_store *st, time_t before, size_t *n)
{
	struct prune_ctx p = { before, 0 };
	enum ac_err err = ac_store_write(st, prune_fn, &p);

	if (n)
		*n = p.n;
	return err;
}

int
ac_inbox_read_hdr(const MDB_val *v, struct hdr *h)
{
	return read_hdr(v, h);
}
