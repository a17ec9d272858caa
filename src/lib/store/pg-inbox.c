/*
 * pg-inbox.c: the intake, the inbox and dead letters on PostgreSQL (issue 16).
 * Each operation is one statement where it can be (a statement outside a
 * transaction is atomic by itself: one round trip). Leases are renewed and
 * idle workers woken in pg-lease.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/pg-inbox-int.h"
#include "store/store-pg.h"

/* The columns of an event, in the order decode() reads them. */
#define EVENT_COLS "seq, client_key, event_key, delivery_id, body, received_at, attempts, next_at, last_error, " \
	"lease_until, encode(owner_id, 'hex'), encode(owner_boot, 'hex'), owner_pidns, owner_start, owner_pid, owner_host"
#define NCOLS 16
/* What a lease that ends leaves in the owner columns. */
#define NO_OWNER "lease_until = 0, owner_id = NULL, owner_boot = NULL, owner_pidns = 0, owner_start = 0, " \
	"owner_pid = 0, owner_host = ''"
/* Whether this process ($2, the owner id) may settle the row: not leased, or leased by it (inbox.h). */
#define OURS "(lease_until = 0 OR owner_id IS NULL OR owner_id = $2)"

static char *
dup_cell(const PGresult *r, int row, int col)
{
	return strdup(ac_pg_cell(r, row, col));
}

/* One hex digit's value (PostgreSQL's encode(..., 'hex') writes lower case), or -1. */
static int
nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void
unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;

	memset(out, 0, n);
	for (i = 0; i < n && s[2 * i] && s[2 * i + 1]; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			break;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

void
ac_pg_owner_cells(const PGresult *r, int row, int col, struct ac_lease_owner *o)
{
	memset(o, 0, sizeof(*o));
	unhex(ac_pg_cell(r, row, col), o->id, sizeof(o->id));
	unhex(ac_pg_cell(r, row, col + 1), o->boot, sizeof(o->boot));
	o->pidns = (uint64_t)ac_pg_cell_int(r, row, col + 2);
	o->start = (uint64_t)ac_pg_cell_int(r, row, col + 3);
	o->pid = (int32_t)ac_pg_cell_int(r, row, col + 4);
	snprintf(o->host, sizeof(o->host), "%s", ac_pg_cell(r, row, col + 5));
}

/* Row row of r (EVENT_COLS from column col) into out, owned. */
enum ac_err
ac_pg_event_decode(const PGresult *r, int row, int col, struct ac_event *out)
{
	enum ac_err err;

	memset(out, 0, sizeof(*out));
	out->seq = (uint64_t)ac_pg_cell_int(r, row, col);
	out->client_key = dup_cell(r, row, col + 1);
	out->event_key = dup_cell(r, row, col + 2);
	out->delivery_id = dup_cell(r, row, col + 3);
	if ((err = ac_pg_cell_bytes(r, row, col + 4, &out->body, &out->body_len)) != AC_OK) {
		ac_event_release(out);
		return err;
	}
	out->received_at = (time_t)ac_pg_cell_int(r, row, col + 5);
	out->attempts = (unsigned)ac_pg_cell_int(r, row, col + 6);
	out->next_at = (time_t)ac_pg_cell_int(r, row, col + 7);
	out->last_error = dup_cell(r, row, col + 8);
	out->lease_until = (time_t)ac_pg_cell_int(r, row, col + 9);
	ac_pg_owner_cells(r, row, col + 10, &out->owner);
	if (!out->client_key || !out->event_key || !out->delivery_id || !out->last_error) {
		ac_event_release(out);
		return AC_ERR_NOMEM;
	}
	return AC_OK;
}

/* ---------------------------------------------------------------- intake */

/*
 * One statement, one transaction: the delivery id claimed under its unique
 * key (a row older than the dedupe window is taken over, not a block), and
 * the event appended only when the id was new. A concurrent intake of the
 * same id waits for the first one's commit on the unique key and finds it
 * then. Prepared: it runs on every webhook.
 */
static const struct ac_pg_stmt intake_stmt = { "ac_intake",
	"WITH s AS (SELECT nextval('ac_inbox_seq_seq') AS seq), "
	"d AS (INSERT INTO ac_deliveries AS o (client_key, delivery_id, seq, at) SELECT $1::text, $3::text, s.seq, $5::bigint FROM s "
	"ON CONFLICT (client_key, delivery_id) DO UPDATE SET seq = excluded.seq, at = excluded.at "
	"WHERE o.at <= $5::bigint - " AC_PG_STR(AC_INBOX_DEDUPE_SECONDS) " RETURNING seq), "
	"i AS (INSERT INTO ac_inbox (seq, client_key, event_key, delivery_id, body, received_at, next_at) "
	"SELECT d.seq, $1::text, $2::text, $3::text, $4::bytea, $5::bigint, $5::bigint FROM d RETURNING seq) "
	"SELECT seq FROM i", 0 };

/* Without a delivery id: never deduplicated. */
static const struct ac_pg_stmt intake_noid_stmt = { "ac_intake_noid",
	"INSERT INTO ac_inbox (client_key, event_key, delivery_id, body, received_at, next_at) "
	"VALUES ($1, $2, $3, $4, $5, $5) RETURNING seq", 0 };

/* A duplicate: the seq its first delivery was given. */
static const struct ac_pg_stmt seen_stmt = { "ac_intake_seen",
	"SELECT seq FROM ac_deliveries WHERE client_key = $1 AND delivery_id = $2", 0 };

/*
 * The idle workers told (pg-lease.c ac_pg_inbox_wait), in a transaction of
 * its own after the event's commit, and not waiting for its WAL flush:
 * PostgreSQL serializes the commits that NOTIFY (a cluster-wide lock from
 * PreCommit_Notify through the flush), so a NOTIFY inside the intake made
 * concurrent intakes flush one at a time (doc/performance.md). The event is
 * durable before this runs; the wake is best-effort: a lost one (a crash
 * between the two, an error here) delays the event by at most the idle
 * worker's one-second look (cmd-worker.c IDLE_MS), so its errors are not
 * the intake's.
 */
static const struct ac_pg_stmt wake_stmt = { "ac_wake",
	"SELECT set_config('synchronous_commit', 'off', true), pg_notify('" AC_PG_CHANNEL "', '')", 1 };

static void
wake(struct ac_pg *pg)
{
	static uint64_t said_us;
	uint64_t now;

	if (ac_pg_exec_prepared(pg, "inbox wake", &wake_stmt, NULL, NULL) == AC_OK)
		return;
	/* said once a minute at most: the event itself was accepted */
	now = ac_clock_usec();
	if (said_us == 0 || now - said_us >= 60000000u) {
		said_us = now;
		ac_log_warn("inbox wake (NOTIFY %s) failed%s%s; accepted events still start within a second "
		    "(said once a minute)", AC_PG_CHANNEL, *ac_pg_sqlstate(pg) ? ": SQLSTATE " : "", ac_pg_sqlstate(pg));
	}
}

enum ac_err
ac_pg_inbox_accept(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup)
{
	struct ac_pg *pg = ac_store_pg(st);
	struct ac_pg_params p = { 0 };
	const char *id = delivery_id ? delivery_id : "";
	enum ac_err err;
	PGresult *r;

	if (body_len > AC_INBOX_BODY_MAX)
		return AC_ERR_BODY_TOO_LARGE;
	if (ac_pg_flags(pg) & AC_STORE_RDONLY)
		return AC_ERR_INVALID;
	ac_pg_text(&p, client_key);
	ac_pg_text(&p, event_key);
	ac_pg_text(&p, id);
	ac_pg_bytes(&p, body, body_len);
	ac_pg_int(&p, (int64_t)ac_clock_now());
	if ((err = ac_pg_exec_prepared(pg, "inbox intake", *id ? &intake_stmt : &intake_noid_stmt, &p, &r)) != AC_OK)
		return err;
	if (dup)
		*dup = PQntuples(r) == 0;
	if (PQntuples(r) > 0) {
		if (seq)
			*seq = (uint64_t)ac_pg_cell_int(r, 0, 0);
		PQclear(r);
		/* committed: now the wake, whose failure is not the event's */
		wake(pg);
		return AC_OK;
	}
	PQclear(r);
	/* seen: the seq it was given (the statement's snapshot may predate a concurrent first delivery) */
	p.n = 0;
	ac_pg_text(&p, client_key);
	ac_pg_text(&p, id);
	if ((err = ac_pg_exec_prepared(pg, "inbox intake", &seen_stmt, &p, &r)) != AC_OK)
		return err;
	if (seq)
		*seq = PQntuples(r) > 0 ? (uint64_t)ac_pg_cell_int(r, 0, 0) : 0;
	PQclear(r);
	return AC_OK;
}

/* On PostgreSQL there is no journal: the intake is the accept, committed before it returns. */
enum ac_err
ac_pg_inbox_intake(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup)
{
	return ac_pg_inbox_accept(st, client_key, event_key, delivery_id, body, body_len, seq, dup);
}

enum ac_err
ac_pg_inbox_ingest(struct ac_store *st, int rotate, size_t *count)
{
	(void)st;
	(void)rotate;
	if (count)
		*count = 0;
	return AC_OK;
}

enum ac_err
ac_pg_inbox_repair(struct ac_store *st, int *same)
{
	(void)st;
	if (same)
		*same = 0;
	return AC_ERR_NOT_FOUND;
}

const char *
ac_pg_inbox_damage(struct ac_store *st)
{
	(void)st;
	return NULL;
}

/* ---------------------------------------------------------------- claim */

/*
 * The head of each tenant's queue (no earlier event of its tenant in the
 * inbox: a leased one or one waiting for its retry holds the later ones),
 * due, and not leased (or leased to an owner proven dead: $7/$8, seq and
 * owner id), in order; SKIP LOCKED: another claimer's pick is passed over,
 * never waited for nor taken twice. The second part lists the unexpired
 * leases of this host ($9 boot id, $10 pid namespace), whose owners the
 * caller checks (ac_lease_owner_dead) when nothing was claimed. Prepared:
 * an idle worker runs it once a second.
 */
static const struct ac_pg_stmt claim_stmt = { "ac_claim",
	"WITH c AS (SELECT i.seq AS c_seq, i.lease_until AS old_until, encode(i.owner_id, 'hex') AS o_id, "
	"encode(i.owner_boot, 'hex') AS o_boot, i.owner_pidns AS o_ns, i.owner_start AS o_start, "
	"i.owner_pid AS o_pid, i.owner_host AS o_host FROM ac_inbox i "
	"WHERE i.next_at <= $1::bigint AND (i.lease_until <= $1::bigint OR (i.seq, encode(i.owner_id, 'hex')) IN "
	"(SELECT * FROM unnest($7::bigint[], $8::text[]))) "
	"AND NOT EXISTS (SELECT 1 FROM ac_inbox e WHERE e.client_key = i.client_key AND e.seq < i.seq) "
	"ORDER BY i.seq LIMIT 1 FOR UPDATE OF i SKIP LOCKED), "
	"u AS (UPDATE ac_inbox x SET lease_until = $1::bigint + $2::bigint, owner_id = $3, owner_boot = $4, "
	"owner_pidns = $5, owner_start = $6, owner_pid = $9, owner_host = $10 FROM c WHERE x.seq = c.c_seq "
	"RETURNING x.*, c.old_until, c.o_id, c.o_boot, c.o_ns, c.o_start, c.o_pid, c.o_host) "
	"SELECT 'c', " EVENT_COLS ", old_until, o_id, o_boot, o_ns, o_start, o_pid, o_host FROM u "
	"UNION ALL (SELECT 'l', seq, '', '', '', '', 0, 0, 0, '', lease_until, encode(owner_id, 'hex'), "
	"encode(owner_boot, 'hex'), owner_pidns, owner_start, owner_pid, owner_host, 0, '', '', 0, 0, 0, '' "
	"FROM ac_inbox WHERE lease_until > $1::bigint AND owner_boot = $4 AND owner_pidns = $5 AND owner_id <> $3 "
	"AND NOT EXISTS (SELECT 1 FROM u) LIMIT 100)", 0 };

struct claim_try {
	char seqs[2048], ids[4096]; /* the dead owners' leases: array literals */
	size_t n;
};

static void
append(char *buf, size_t size, const char *s)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s", s);
}

static enum ac_err
claim_once(struct ac_store *st, long lease, const struct ac_lease_owner *self, struct claim_try *t,
    struct ac_event *out, int *claimed)
{
	struct ac_pg *pg = ac_store_pg(st);
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	time_t now = ac_clock_now();
	PGresult *r;
	int row;

	*claimed = 0;
	ac_pg_int(&p, (int64_t)now);
	ac_pg_int(&p, lease);
	ac_pg_bytes(&p, self->id, sizeof(self->id));
	ac_pg_bytes(&p, self->boot, sizeof(self->boot));
	ac_pg_int(&p, (int64_t)self->pidns);
	ac_pg_int(&p, (int64_t)self->start);
	ac_pg_text(&p, t->n ? t->seqs : "{}");
	ac_pg_text(&p, t->n ? t->ids : "{}");
	ac_pg_int(&p, self->pid);
	ac_pg_text(&p, self->host);
	if ((err = ac_pg_exec_prepared(pg, "inbox claim", &claim_stmt, &p, &r)) != AC_OK)
		return err;
	t->n = 0;
	snprintf(t->seqs, sizeof(t->seqs), "{");
	snprintf(t->ids, sizeof(t->ids), "{");
	for (row = 0; row < PQntuples(r); row++) {
		struct ac_lease_owner o;

		if (!strcmp(ac_pg_cell(r, row, 0), "c")) {
			if ((err = ac_pg_event_decode(r, row, 1, out)) != AC_OK)
				break;
			*claimed = 1;
			if (ac_pg_cell_int(r, row, 1 + NCOLS) != 0) {
				char who[128];

				/* a run that never said how it ended: the handler checks what it already did */
				ac_pg_owner_cells(r, row, 2 + NCOLS, &o);
				ac_lease_owner_format(&o, who, sizeof(who));
				ac_log_warn("event %llu: taking over the lease of %s (%s)", (unsigned long long)out->seq,
				    who, ac_pg_cell_int(r, row, 1 + NCOLS) > now ? "its process is gone" : "expired");
			}
			continue;
		}
		ac_pg_owner_cells(r, row, 11, &o);
		if (!ac_lease_owner_dead(&o) || strlen(t->seqs) + 24 >= sizeof(t->seqs) ||
		    strlen(t->ids) + 40 >= sizeof(t->ids))
			continue;
		append(t->seqs, sizeof(t->seqs), t->n ? "," : "");
		append(t->seqs, sizeof(t->seqs), ac_pg_cell(r, row, 1));
		append(t->ids, sizeof(t->ids), t->n ? "," : "");
		append(t->ids, sizeof(t->ids), ac_pg_cell(r, row, 11));
		t->n++;
	}
	append(t->seqs, sizeof(t->seqs), "}");
	append(t->ids, sizeof(t->ids), "}");
	PQclear(r);
	return err;
}

enum ac_err
ac_pg_inbox_claim(struct ac_store *st, long lease_seconds, struct ac_event *out)
{
	struct ac_lease_owner self;
	struct claim_try t;
	long lease = lease_seconds < AC_INBOX_PG_LEASE ? lease_seconds : AC_INBOX_PG_LEASE;
	enum ac_err err;
	int claimed = 0;

	memset(out, 0, sizeof(*out));
	t.n = 0;
	if ((err = ac_lease_owner_self(&self)) != AC_OK)
		return err;
	if (ac_pg_flags(ac_store_pg(st)) & AC_STORE_RDONLY)
		return AC_ERR_INVALID;
	if (lease < 1)
		lease = 1;
	/* nothing free, but leases of owners proven gone on this host: once more, with those */
	if ((err = claim_once(st, lease, &self, &t, out, &claimed)) == AC_OK && !claimed && t.n > 0)
		err = claim_once(st, lease, &self, &t, out, &claimed);
	if (err != AC_OK)
		return err;
	if (!claimed)
		return AC_ERR_NOT_FOUND;
	/* renewed while it is held: a worker that dies loses it within AC_INBOX_PG_LEASE on any host */
	ac_pg_lease_hold(st, out->seq, &self, lease);
	return AC_OK;
}

/* ---------------------------------------------------------------- done, fail, retry, drop */

/* Why nothing was settled: the event is gone (AC_ERR_NOT_FOUND) or leased to another owner now. */
static enum ac_err
not_settled(struct ac_pg *pg, uint64_t seq)
{
	struct ac_pg_params p = { 0 };
	struct ac_lease_owner o;
	enum ac_err err;
	char who[128];
	PGresult *r;

	ac_pg_int(&p, (int64_t)seq);
	if ((err = ac_pg_exec(pg, "inbox settle", "SELECT encode(owner_id, 'hex'), encode(owner_boot, 'hex'), "
	    "owner_pidns, owner_start, owner_pid, owner_host FROM ac_inbox WHERE seq = $1", &p, &r)) != AC_OK)
		return err;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return AC_ERR_NOT_FOUND;
	}
	ac_pg_owner_cells(r, 0, 0, &o);
	PQclear(r);
	ac_lease_owner_format(&o, who, sizeof(who));
	ac_log_warn("event %llu: its lease expired and is held by %s now; left to it", (unsigned long long)seq, who);
	return AC_ERR_LEASE_LOST;
}

/* Runs a settling statement ($1 seq, $2 owner id, then extra): AC_OK when it touched the row. */
static enum ac_err
settle(struct ac_store *st, uint64_t seq, const char *what, const char *sql, const char *error, time_t next_at)
{
	struct ac_pg *pg = ac_store_pg(st);
	struct ac_pg_params p = { 0 };
	struct ac_lease_owner self;
	enum ac_err err;
	PGresult *r;
	int n;

	if ((err = ac_lease_owner_self(&self)) != AC_OK)
		return err;
	ac_pg_int(&p, (int64_t)seq);
	ac_pg_bytes(&p, self.id, sizeof(self.id));
	if (error != NULL) {
		ac_pg_text(&p, error);
		ac_pg_int(&p, (int64_t)next_at);
	}
	/*
	 * settled or not, this process holds it no more: a renewal would keep an
	 * event whose settling failed (the database away) from the next worker
	 */
	ac_pg_lease_release(st, seq);
	if ((err = ac_pg_exec(pg, what, sql, &p, &r)) != AC_OK)
		return err;
	n = PQntuples(r);
	PQclear(r);
	return n > 0 ? AC_OK : not_settled(pg, seq);
}

enum ac_err
ac_pg_inbox_done(struct ac_store *st, uint64_t seq)
{
	return settle(st, seq, "inbox done", "DELETE FROM ac_inbox WHERE seq = $1 AND " OURS " RETURNING seq", NULL, 0);
}

enum ac_err
ac_pg_inbox_fail(struct ac_store *st, uint64_t seq, const char *error, time_t next_at, int to_dead)
{
	static const char later[] =
		"UPDATE ac_inbox SET attempts = attempts + 1, next_at = $4, last_error = left($3, 1000), " NO_OWNER
		" WHERE seq = $1 AND " OURS " RETURNING seq";
	static const char dead[] =
		"WITH m AS (DELETE FROM ac_inbox WHERE seq = $1 AND " OURS " RETURNING *) "
		"INSERT INTO ac_dead (seq, client_key, event_key, delivery_id, body, received_at, attempts, next_at, "
		"last_error) SELECT seq, client_key, event_key, delivery_id, body, received_at, attempts + 1, $4, "
		"left($3, 1000) FROM m RETURNING seq";

	return settle(st, seq, "inbox fail", to_dead ? dead : later, error ? error : "", next_at);
}

enum ac_err
ac_pg_inbox_retry(struct ac_store *st, uint64_t seq)
{
	/* due now, its lease void; from `dead`, a replay starts afresh: a whole new retry window */
	static const char sql[] =
		"WITH a AS (UPDATE ac_inbox SET next_at = $2::bigint, " NO_OWNER " WHERE seq = $1 RETURNING seq), "
		"m AS (DELETE FROM ac_dead WHERE seq = $1 AND NOT EXISTS (SELECT 1 FROM a) RETURNING *), "
		"b AS (INSERT INTO ac_inbox (seq, client_key, event_key, delivery_id, body, received_at, attempts, "
		"next_at, last_error) SELECT seq, client_key, event_key, delivery_id, body, $2::bigint, 0, $2::bigint, last_error "
		"FROM m RETURNING seq) "
		"SELECT seq FROM a UNION ALL SELECT seq FROM b";
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;
	int n;

	ac_pg_int(&p, (int64_t)seq);
	ac_pg_int(&p, (int64_t)ac_clock_now());
	if ((err = ac_pg_exec(ac_store_pg(st), "inbox retry", sql, &p, &r)) != AC_OK)
		return err;
	n = PQntuples(r);
	PQclear(r);
	if (n == 0)
		return AC_ERR_NOT_FOUND;
	/* due now: the idle workers told, after the commit as for an intake */
	wake(ac_store_pg(st));
	return AC_OK;
}

enum ac_err
ac_pg_inbox_drop(struct ac_store *st, uint64_t seq)
{
	static const char sql[] =
		"WITH a AS (DELETE FROM ac_inbox WHERE seq = $1 RETURNING seq), "
		"b AS (DELETE FROM ac_dead WHERE seq = $1 RETURNING seq) "
		"SELECT seq FROM a UNION ALL SELECT seq FROM b";
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;
	int n;

	ac_pg_int(&p, (int64_t)seq);
	if ((err = ac_pg_exec(ac_store_pg(st), "inbox drop", sql, &p, &r)) != AC_OK)
		return err;
	n = PQntuples(r);
	PQclear(r);
	return n > 0 ? AC_OK : AC_ERR_NOT_FOUND;
}

/* ---------------------------------------------------------------- inspection */

#define PAGE 200

enum ac_err
ac_pg_inbox_list(struct ac_store *st, int dead, enum ac_err (*fn)(const struct ac_event *ev, void *ctx),
    void *ctx)
{
	static const char *const sql[] = {
		"SELECT " EVENT_COLS " FROM ac_inbox WHERE seq > $1 ORDER BY seq LIMIT " AC_PG_STR(PAGE),
		"SELECT " EVENT_COLS " FROM ac_dead WHERE seq > $1 ORDER BY seq LIMIT " AC_PG_STR(PAGE),
	};
	enum ac_err err = AC_OK;
	uint64_t after = 0;
	int n;

	/* in pages, by key: a long inbox is neither held in memory nor read in one snapshot */
	do {
		struct ac_pg_params p = { 0 };
		PGresult *r;
		int row;

		ac_pg_int(&p, (int64_t)after);
		if ((err = ac_pg_exec(ac_store_pg(st), "inbox list", sql[dead ? 1 : 0], &p, &r)) != AC_OK)
			return err;
		n = PQntuples(r);
		for (row = 0; row < n && err == AC_OK; row++) {
			struct ac_event ev;

			if ((err = ac_pg_event_decode(r, row, 0, &ev)) != AC_OK)
				break;
			after = ev.seq;
			err = fn(&ev, ctx);
			ac_event_release(&ev);
		}
		PQclear(r);
	} while (err == AC_OK && n == PAGE);
	return err;
}

enum ac_err
ac_pg_inbox_get(struct ac_store *st, uint64_t seq, struct ac_event *out, int *dead)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	ac_pg_int(&p, (int64_t)seq);
	if ((err = ac_pg_exec(ac_store_pg(st), "inbox get", "SELECT 0, " EVENT_COLS " FROM ac_inbox WHERE seq = $1 "
	    "UNION ALL SELECT 1, " EVENT_COLS " FROM ac_dead WHERE seq = $1", &p, &r)) != AC_OK)
		return err;
	if (PQntuples(r) == 0)
		err = AC_ERR_NOT_FOUND;
	else if ((err = ac_pg_event_decode(r, 0, 1, out)) == AC_OK && dead)
		*dead = (int)ac_pg_cell_int(r, 0, 0);
	PQclear(r);
	return err;
}

enum ac_err
ac_pg_inbox_prune_deliveries(struct ac_store *st, time_t before, size_t *n)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	if (n)
		*n = 0;
	ac_pg_int(&p, (int64_t)before);
	if ((err = ac_pg_exec(ac_store_pg(st), "prune deliveries", "DELETE FROM ac_deliveries WHERE at < $1", &p,
	    &r)) != AC_OK)
		return err;
	if (n)
		*n = (size_t)strtoul(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return AC_OK;
}

/* One read, no write (a load balancer calls it every second): counts, live leases, the oldest due received_at. */
enum ac_err
ac_pg_inbox_stats(struct ac_store *st, struct ac_inbox_stats *out)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	ac_pg_int(&p, (int64_t)ac_clock_now());
	if ((err = ac_pg_exec(ac_store_pg(st), "inbox stats", "SELECT count(*), count(*) FILTER (WHERE next_at <= $1), "
	    "count(*) FILTER (WHERE lease_until > $1), (SELECT count(*) FROM ac_dead), "
	    "coalesce(min(received_at) FILTER (WHERE next_at <= $1 AND received_at > 0), 0) FROM ac_inbox",
	    &p, &r)) != AC_OK)
		return err;
	out->inbox = (size_t)ac_pg_cell_int(r, 0, 0);
	out->due = (size_t)ac_pg_cell_int(r, 0, 1);
	out->leased = (size_t)ac_pg_cell_int(r, 0, 2);
	out->dead = (size_t)ac_pg_cell_int(r, 0, 3);
	out->oldest_due = (time_t)ac_pg_cell_int(r, 0, 4);
	PQclear(r);
	return AC_OK;
}
