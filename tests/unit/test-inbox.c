/* test-inbox.c: accept with dedupe, order per tenant, leases, retries, dead letters. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/inbox.h"
#include "base/le.h"
#include "store/store.h"
#include "store/store-lmdb.h"
#include "unit.h"

static char dir[64];
static struct ac_store *st;

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-inbox-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ac_clock_set(1700000000);
}

static void
teardown(void)
{
	static const char *files[] = { "data.mdb", "lock.mdb", "sync.lock", "intake.journal", "intake.journal.lock" };
	char p[128];
	size_t i;

	ac_store_close(st);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
	ac_clock_set(0);
}

static uint64_t
accept(const char *ck, const char *ev, const char *id, int *dup)
{
	uint64_t seq = 0;
	int d = 0;

	ck_assert_int_eq(ac_inbox_accept(st, ck, ev, id, "{\"a\":1}", 7, &seq, &d), AC_OK);
	if (dup)
		*dup = d;
	return seq;
}

static uint64_t
claim(void)
{
	struct ac_event ev;
	uint64_t seq;
	enum ac_err err = ac_inbox_claim(st, 300, &ev);

	if (err == AC_ERR_NOT_FOUND)
		return 0;
	ck_assert_int_eq(err, AC_OK);
	seq = ev.seq;
	ac_event_release(&ev);
	return seq;
}

/* numbers are never handed out twice: not after the inbox empties, not past dead letters */
START_TEST(seq_never_reused)
{
	uint64_t a, b, c, d;

	a = accept("t1", "repo:push", "", NULL);
	b = accept("t1", "repo:push", "", NULL);
	ck_assert_uint_eq(b, a + 1);
	ck_assert_int_eq(ac_inbox_done(st, b), AC_OK);
	ck_assert_int_eq(ac_inbox_done(st, a), AC_OK);
	c = accept("t1", "repo:push", "", NULL);
	ck_assert_uint_eq(c, b + 1);
	/* the largest moved to dead: the next is past it; dropped from dead: still past it */
	ck_assert_int_eq(ac_inbox_fail(st, c, "boom", ac_clock_now(), 1), AC_OK);
	d = accept("t1", "repo:push", "", NULL);
	ck_assert_uint_eq(d, c + 1);
	ck_assert_int_eq(ac_inbox_done(st, d), AC_OK);
	ck_assert_int_eq(ac_inbox_drop(st, c), AC_OK);
	ck_assert_uint_eq(accept("t1", "repo:push", "", NULL), d + 1);
	/* a store reopened keeps it */
	ac_store_close(st);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_int_eq(ac_inbox_done(st, d + 1), AC_OK);
	ck_assert_uint_eq(accept("t2", "repo:push", "", NULL), d + 2);
}
END_TEST

START_TEST(accept_and_dedupe)
{
	struct ac_event ev;
	int dup, dead;
	uint64_t a = accept("t1", "repo:push", "id-1", &dup);

	ck_assert_int_eq(dup, 0);
	ck_assert_uint_eq(accept("t1", "repo:push", "id-1", &dup), a);
	ck_assert_int_eq(dup, 1);
	/* the same id from another tenant is another delivery */
	ck_assert_uint_ne(accept("t2", "repo:push", "id-1", &dup), a);
	ck_assert_int_eq(dup, 0);
	/* no id: never deduped */
	ck_assert_uint_ne(accept("t1", "repo:push", "", &dup), accept("t1", "repo:push", "", NULL));
	ck_assert_int_eq(ac_inbox_get(st, a, &ev, &dead), AC_OK);
	ck_assert_str_eq(ev.client_key, "t1");
	ck_assert_str_eq(ev.event_key, "repo:push");
	ck_assert_str_eq(ev.delivery_id, "id-1");
	ck_assert_str_eq(ev.body, "{\"a\":1}");
	ck_assert_int_eq(ev.received_at, 1700000000);
	ck_assert_int_eq(dead, 0);
	ac_event_release(&ev);
	/* after a day the id is forgotten and the delivery is new again */
	ac_clock_set(1700000000 + AC_INBOX_DEDUPE_SECONDS + 1);
	accept("t1", "repo:push", "id-1", &dup);
	ck_assert_int_eq(dup, 0);
}
END_TEST

START_TEST(order_per_tenant)
{
	uint64_t a1 = accept("a", "e", "", NULL), a2 = accept("a", "e", "", NULL);
	uint64_t b1 = accept("b", "e", "", NULL);

	/* a1 leased: a2 must wait for it, b1 may run */
	ck_assert_uint_eq(claim(), a1);
	ck_assert_uint_eq(claim(), b1);
	ck_assert_uint_eq(claim(), 0);
	ck_assert_int_eq(ac_inbox_done(st, a1), AC_OK);
	ck_assert_uint_eq(claim(), a2);
	/* a failure waiting for its retry holds its tenant's later events too */
	ck_assert_int_eq(ac_inbox_fail(st, a2, "upstream_error", ac_clock_now() + 10, 0), AC_OK);
	accept("a", "e", "", NULL);
	ck_assert_uint_eq(claim(), 0);
	ac_clock_set(ac_clock_now() + 11);
	ck_assert_uint_eq(claim(), a2);
}
END_TEST

START_TEST(dead_retry_drop)
{
	uint64_t a = accept("a", "e", "d1", NULL);
	struct ac_event ev;
	size_t inbox, due, dead;
	int was_dead;

	ck_assert_uint_eq(claim(), a);
	ck_assert_int_eq(ac_inbox_fail(st, a, "upstream_error", ac_clock_now(), 1), AC_OK);
	ck_assert_int_eq(ac_inbox_counts(st, &inbox, &due, &dead), AC_OK);
	ck_assert_uint_eq(inbox, 0);
	ck_assert_uint_eq(dead, 1);
	ck_assert_int_eq(ac_inbox_get(st, a, &ev, &was_dead), AC_OK);
	ck_assert_int_eq(was_dead, 1);
	ck_assert_uint_eq(ev.attempts, 1);
	ck_assert_str_eq(ev.last_error, "upstream_error");
	ac_event_release(&ev);
	/* a replay brings it back, due now, with a fresh count */
	ck_assert_int_eq(ac_inbox_retry(st, a), AC_OK);
	ck_assert_int_eq(ac_inbox_get(st, a, &ev, &was_dead), AC_OK);
	ck_assert_int_eq(was_dead, 0);
	ck_assert_uint_eq(ev.attempts, 0);
	ac_event_release(&ev);
	ck_assert_uint_eq(claim(), a);
	ck_assert_int_eq(ac_inbox_drop(st, a), AC_OK);
	ck_assert_int_eq(ac_inbox_drop(st, a), AC_ERR_NOT_FOUND);
	ck_assert_int_eq(ac_inbox_retry(st, 999), AC_ERR_NOT_FOUND);
	/* the delivery id still dedupes after the event left */
	{
		int dup;

		accept("a", "e", "d1", &dup);
		ck_assert_int_eq(dup, 1);
	}
}
END_TEST

/* ac_inbox_stats: the counts of ac_inbox_counts, the live leases and the oldest due event, without a write */
START_TEST(stats_leases_and_oldest_due)
{
	struct ac_inbox_stats s;
	size_t inbox, due, dead;
	uint64_t a, b, c;
	int dup = 0;

	ck_assert_int_eq(ac_inbox_stats(st, &s), AC_OK);
	ck_assert_uint_eq(s.inbox + s.due + s.leased + s.dead, 0);
	ck_assert_int_eq(s.oldest_due, 0);
	a = accept("a", "e", "d1", NULL);
	ac_clock_set(1700000010);
	b = accept("b", "e", "d2", NULL);
	ac_clock_set(1700000020);
	c = accept("c", "e", "d3", NULL);
	ac_clock_set(1700000030);
	accept("d", "e", "d4", NULL);
	ck_assert_uint_eq(claim(), a);  /* leased now */
	ck_assert_uint_eq(claim(), b);
	ck_assert_int_eq(ac_inbox_fail(st, b, "upstream_error", ac_clock_now() + 100, 0), AC_OK);
	ck_assert_uint_eq(claim(), c);
	ck_assert_int_eq(ac_inbox_fail(st, c, "bad_request", ac_clock_now(), 1), AC_OK);
	ck_assert_int_eq(ac_inbox_stats(st, &s), AC_OK);
	ck_assert_int_eq(ac_inbox_counts(st, &inbox, &due, &dead), AC_OK);
	ck_assert_uint_eq(s.inbox, 3);
	ck_assert_uint_eq(s.inbox, inbox);
	ck_assert_uint_eq(s.due, due);
	ck_assert_uint_eq(s.dead, 1);
	ck_assert_uint_eq(s.leased, 1);
	/* b waits for its retry: the oldest due one is a (leased, still waiting to be done) or d */
	ck_assert_int_eq(s.oldest_due, s.due == 2 ? 1700000000 : 1700000030);
	/* b comes due (next_at 1700000130): older than d; a's lease (until 1700000330) still holds */
	ac_clock_set(1700000200);
	ck_assert_int_eq(ac_inbox_stats(st, &s), AC_OK);
	ck_assert_uint_eq(s.leased, 1);
	ck_assert_int_eq(s.oldest_due, s.due == 3 ? 1700000000 : 1700000010);
	/* the lease runs out: nobody holds a */
	ac_clock_set(1700000400);
	ck_assert_int_eq(ac_inbox_stats(st, &s), AC_OK);
	ck_assert_uint_eq(s.leased, 0);
	ck_assert_uint_eq(s.due, 3);
	ck_assert_int_eq(s.oldest_due, 1700000000);
	/* what is still in the intake journal is not counted: stats moves nothing in (no write) */
	ck_assert_int_eq(ac_inbox_intake(st, "e", "e", "d5", "{}", 2, &a, &dup), AC_OK);
	ck_assert_int_eq(ac_inbox_stats(st, &s), AC_OK);
	ck_assert_uint_eq(s.inbox, 3);
	ck_assert_int_eq(ac_inbox_counts(st, &inbox, &due, &dead), AC_OK);
	ck_assert_uint_eq(inbox, 4);
}
END_TEST

START_TEST(dead_owner_lease_taken_over)
{
	uint64_t a = accept("a", "e", "", NULL);
	pid_t pid;
	int status;

	if ((pid = fork()) == 0) {
		struct ac_store *s2;
		struct ac_event ev;

		if (ac_store_open(dir, 0, 0, &s2) != AC_OK || ac_inbox_claim(s2, 300, &ev) != AC_OK)
			_exit(3);
		raise(SIGKILL);
	}
	waitpid(pid, &status, 0);
	ck_assert(WIFSIGNALED(status));
	/* the lease's owner is gone: no need to wait 300 s */
	ck_assert_uint_eq(claim(), a);
}
END_TEST

/* A process's owner: unique (random), this process's pid, and provably alive while it runs. */
START_TEST(owner_identity)
{
	struct ac_lease_owner a, b;
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(ac_lease_owner_self(&a), AC_OK);
	ck_assert_int_eq(ac_lease_owner_self(&b), AC_OK);
	ck_assert_mem_eq(a.id, b.id, 16);
	ck_assert_int_eq(a.pid, getpid());
	ck_assert_uint_ne(a.start, 0);
	ck_assert_uint_ne(a.pidns, 0);
	ck_assert_int_eq(ac_lease_owner_dead(&a), 0);
	/* a child is another owner, with another id */
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		struct ac_lease_owner c;

		close(fds[0]);
		if (ac_lease_owner_self(&c) != AC_OK || write(fds[1], &c, sizeof(c)) != (ssize_t)sizeof(c))
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &b, sizeof(b)), (ssize_t)sizeof(b));
	close(fds[0]);
	waitpid(pid, &status, 0);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(b.pid, pid);
	ck_assert(memcmp(a.id, b.id, 16) != 0);
	/* gone: provably dead on this host */
	ck_assert_int_eq(ac_lease_owner_dead(&b), 1);
	/* the same pid, another start time: the pid was reused, the owner is dead */
	b = a;
	b.start = a.start + 1;
	ck_assert_int_eq(ac_lease_owner_dead(&b), 1);
	/* the same pid and start time but another boot or pid namespace: nothing can be proved */
	b = a;
	b.boot[0] ^= 1;
	ck_assert_int_eq(ac_lease_owner_dead(&b), 0);
	b = a;
	b.pidns++;
	ck_assert_int_eq(ac_lease_owner_dead(&b), 0);
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(ac_lease_owner_dead(&b), 0);
}
END_TEST

/* claim as owner o (NULL: as this process) */
static uint64_t
claim_as(const struct ac_lease_owner *o)
{
	uint64_t seq;

	ac_lease_set_owner(o);
	seq = claim();
	ac_lease_set_owner(NULL);
	return seq;
}

/* a pid that no process has (a child waited for) */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/*
 * A lease of another host (another boot id) is never taken over because of
 * what its pid looks like here, alive or dead: only once it expires.
 */
START_TEST(foreign_lease_waits_for_expiry)
{
	struct ac_lease_owner me, other;
	uint64_t a = accept("a", "e", "", NULL), b = accept("b", "e", "", NULL);
	struct ac_event ev;
	int dead;

	ck_assert_int_eq(ac_lease_owner_self(&me), AC_OK);
	other = me;
	other.id[0] ^= 0xff;
	other.boot[15] ^= 0xff;
	snprintf(other.host, sizeof(other.host), "elsewhere");
	/* on its host the pid is a live process's: here, this process's */
	ck_assert_uint_eq(claim_as(&other), a);
	ck_assert_int_eq(ac_inbox_get(st, a, &ev, &dead), AC_OK);
	ck_assert_mem_eq(ev.owner.id, other.id, 16);
	ck_assert_str_eq(ev.owner.host, "elsewhere");
	ck_assert_int_eq(ev.lease_until, ac_clock_now() + 300);
	ac_event_release(&ev);
	/* and one whose pid is nobody's here */
	other.id[1] ^= 0xff;
	other.pid = (int32_t)dead_pid();
	ck_assert_uint_eq(claim_as(&other), b);
	ck_assert_uint_eq(claim(), 0);
	ac_clock_set(ac_clock_now() + 299);
	ck_assert_uint_eq(claim(), 0);
	/* expired: taken over, now named by this process */
	ac_clock_set(ac_clock_now() + 2);
	ck_assert_uint_eq(claim(), a);
	ck_assert_uint_eq(claim(), b);
	ck_assert_int_eq(ac_inbox_get(st, b, &ev, &dead), AC_OK);
	ck_assert_mem_eq(ev.owner.id, me.id, 16);
	ck_assert_int_eq(ev.owner.pid, getpid());
	ac_event_release(&ev);
}
END_TEST

/*
 * A worker whose lease expired mid-handler and was taken over settles nothing:
 * the new holder does (a lease names its owner, issue 13 item 3).
 */
START_TEST(lost_lease_settles_nothing)
{
	struct ac_lease_owner me, other;
	uint64_t a = accept("a", "e", "", NULL);
	struct ac_event ev;
	int dead;

	ck_assert_int_eq(ac_lease_owner_self(&me), AC_OK);
	other = me;
	other.id[0] ^= 0xff;
	other.boot[15] ^= 0xff;
	/* this process claims, runs past its lease; the other worker takes it over */
	ck_assert_uint_eq(claim(), a);
	ac_clock_set(ac_clock_now() + 301);
	ck_assert_uint_eq(claim_as(&other), a);
	/* the late first worker can neither finish nor reschedule it */
	ck_assert_int_eq(ac_inbox_done(st, a), AC_ERR_LEASE_LOST);
	ck_assert_int_eq(ac_inbox_fail(st, a, "late", ac_clock_now() + 60, 0), AC_ERR_LEASE_LOST);
	ck_assert_int_eq(ac_inbox_fail(st, a, "late", ac_clock_now(), 1), AC_ERR_LEASE_LOST);
	ck_assert_int_eq(ac_inbox_get(st, a, &ev, &dead), AC_OK);
	ck_assert_int_eq(dead, 0);
	ck_assert_uint_eq(ev.attempts, 0);
	ck_assert_mem_eq(ev.owner.id, other.id, 16);
	ac_event_release(&ev);
	/* its holder settles it */
	ac_lease_set_owner(&other);
	ck_assert_int_eq(ac_inbox_done(st, a), AC_OK);
	ac_lease_set_owner(NULL);
	ck_assert_int_eq(ac_inbox_get(st, a, &ev, &dead), AC_ERR_NOT_FOUND);
}
END_TEST

/* On this host: a live owner keeps its lease; one whose pid now belongs to another process does not. */
START_TEST(local_lease_follows_the_process)
{
	struct ac_lease_owner me, other;
	uint64_t a = accept("a", "e", "", NULL), b = accept("b", "e", "", NULL);

	ck_assert_int_eq(ac_lease_owner_self(&me), AC_OK);
	other = me;
	other.id[0] ^= 0xff;
	/* this process's pid and start time: it is alive */
	ck_assert_uint_eq(claim_as(&other), a);
	/* this process's pid, another start time: the owner had the pid before us and is gone */
	other.start++;
	ck_assert_uint_eq(claim_as(&other), b);
	ck_assert_uint_eq(claim(), b);
	ck_assert_uint_eq(claim(), 0);
	ck_assert_int_eq(ac_inbox_done(st, b), AC_OK);
	ck_assert_uint_eq(claim(), 0);
}
END_TEST

static enum ac_err
put_raw_fn(MDB_txn *txn, struct ac_store *s, void *ctx)
{
	MDB_val *kv = ctx;

	return mdb_put(txn, ac_store_dbi(s, AC_DB_INBOX), &kv[0], &kv[1], 0) ? AC_ERR_STORE : AC_OK;
}

static enum ac_err
schema_fn(MDB_txn *txn, struct ac_store *s, void *ctx)
{
	MDB_val k = { 6, (void *)"schema" }, v = { 1, ctx };

	if (*(char *)ctx == '?') {
		if (mdb_get(txn, ac_store_dbi(s, AC_DB_META), &k, &v) != 0 || v.mv_size != 1)
			return AC_ERR_STORE;
		*(char *)ctx = *(const char *)v.mv_data;
		return AC_OK;
	}
	return mdb_put(txn, ac_store_dbi(s, AC_DB_META), &k, &v, 0) ? AC_ERR_STORE : AC_OK;
}

/* A record as schema 1 wrote it (version 1, no owner): seq, tenant, lease until, pid. */
static void
put_v1(uint64_t seq, const char *ck, int64_t lease_until, int32_t pid)
{
	unsigned char key[8], rec[48 + 16];
	size_t ckl = strlen(ck);
	MDB_val kv[2] = { { 8, key }, { 48 + ckl + 1 + 2, rec } };
	int i;

	for (i = 7; i >= 0; i--, seq >>= 8)
		key[i] = (unsigned char)seq;
	memset(rec, 0, sizeof(rec));
	le_put32(rec, 1);
	le_put64(rec + 8, (uint64_t)ac_clock_now());
	le_put64(rec + 16, (uint64_t)ac_clock_now());
	le_put64(rec + 24, (uint64_t)lease_until);
	le_put32(rec + 32, (uint32_t)pid);
	le_put16(rec + 36, (uint16_t)ckl);
	le_put16(rec + 38, 1);
	le_put32(rec + 44, 2);
	memcpy(rec + 48, ck, ckl);
	memcpy(rec + 48 + ckl, "e{}", 3);
	ck_assert_int_eq(ac_store_write(st, put_raw_fn, kv), AC_OK);
}

/*
 * A store from before owners (schema 1) opens, is marked with the new schema
 * (older builds then refuse it), and its records are read; a lease that
 * named only a pid waits for its expiry even when the pid looks dead.
 */
START_TEST(schema1_records_still_read)
{
	struct ac_event ev;
	char ver = '1';
	int dead;

	ck_assert_int_eq(ac_store_write(st, schema_fn, &ver), AC_OK);
	put_v1(1, "a", 0, 0);
	put_v1(2, "b", ac_clock_now() + 300, (int32_t)dead_pid());
	ac_store_close(st);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ver = '?';
	ck_assert_int_eq(ac_store_read(st, schema_fn, &ver), AC_OK);
	ck_assert_int_eq(ver, '0' + AC_STORE_SCHEMA);
	ck_assert_int_eq(ac_inbox_get(st, 1, &ev, &dead), AC_OK);
	ck_assert_str_eq(ev.client_key, "a");
	ck_assert_str_eq(ev.event_key, "e");
	ck_assert_str_eq(ev.body, "{}");
	ck_assert_int_eq(ev.lease_until, 0);
	ac_event_release(&ev);
	ck_assert_uint_eq(claim(), 1);
	ck_assert_uint_eq(claim(), 0);
	ck_assert_int_eq(ac_inbox_done(st, 1), AC_OK);
	ac_clock_set(ac_clock_now() + 301);
	ck_assert_uint_eq(claim(), 2);
	/* rewritten by the claim: now a version 2 record, still read */
	ck_assert_int_eq(ac_inbox_get(st, 2, &ev, &dead), AC_OK);
	ck_assert_str_eq(ev.client_key, "b");
	ck_assert_int_eq(ev.owner.pid, getpid());
	ac_event_release(&ev);
	ck_assert_uint_eq(accept("c", "e", "", NULL), 3);
}
END_TEST

START_TEST(concurrent_claims_never_share)
{
	int i, n = 40, status;
	pid_t kids[4];
	int fds[2];
	char buf[4096];
	ssize_t r;
	size_t total = 0, k;
	int seen[64] = { 0 };

	for (i = 0; i < n; i++) {
		char ck[16];

		snprintf(ck, sizeof(ck), "t%d", i);
		accept(ck, "e", "", NULL);
	}
	ck_assert_int_eq(pipe(fds), 0);
	for (k = 0; k < 4; k++) {
		if ((kids[k] = fork()) == 0) {
			struct ac_store *s2;
			struct ac_event ev;

			close(fds[0]);
			if (ac_store_open(dir, 0, 0, &s2) != AC_OK)
				_exit(3);
			while (ac_inbox_claim(s2, 300, &ev) == AC_OK) {
				char line[32];
				int len = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)ev.seq);

				if (write(fds[1], line, (size_t)len) != len)
					_exit(4);
				ac_inbox_done(s2, ev.seq);
				ac_event_release(&ev);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	while ((r = read(fds[0], buf + total, sizeof(buf) - 1 - total)) > 0)
		total += (size_t)r;
	buf[total] = '\0';
	close(fds[0]);
	for (k = 0; k < 4; k++) {
		waitpid(kids[k], &status, 0);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	{
		char *p = buf, *end;
		int count = 0;

		while (*p) {
			unsigned long long s = strtoull(p, &end, 10);

			ck_assert(s >= 1 && s <= (unsigned long long)n);
			ck_assert_msg(seen[s] == 0, "event %llu ran twice", s);
			seen[s] = 1;
			count++;
			p = end + 1;
		}
		ck_assert_int_eq(count, n);
	}
}
END_TEST

START_TEST(prune)
{
	size_t n;

	accept("a", "e", "old", NULL);
	ac_clock_set(1700000000 + 2 * AC_INBOX_DEDUPE_SECONDS);
	accept("a", "e", "new", NULL);
	ck_assert_int_eq(ac_inbox_prune_deliveries(st, ac_clock_now() - AC_INBOX_DEDUPE_SECONDS, &n), AC_OK);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(body_cap)
{
	static char big[AC_INBOX_BODY_MAX + 1];

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(ac_inbox_accept(st, "a", "e", "", big, sizeof(big), NULL, NULL), AC_ERR_BODY_TOO_LARGE);
	ck_assert_int_eq(ac_inbox_accept(st, "a", "e", "", big, sizeof(big) - 1, NULL, NULL), AC_OK);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("inbox");
	TCase *tc = tcase_create("inbox");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, accept_and_dedupe);
	tcase_add_test(tc, seq_never_reused);
	tcase_add_test(tc, order_per_tenant);
	tcase_add_test(tc, dead_retry_drop);
	tcase_add_test(tc, stats_leases_and_oldest_due);
	tcase_add_test(tc, dead_owner_lease_taken_over);
	tcase_add_test(tc, owner_identity);
	tcase_add_test(tc, foreign_lease_waits_for_expiry);
	tcase_add_test(tc, local_lease_follows_the_process);
	tcase_add_test(tc, lost_lease_settles_nothing);
	tcase_add_test(tc, schema1_records_still_read);
	tcase_add_test(tc, concurrent_claims_never_share);
	tcase_add_test(tc, prune);
	tcase_add_test(tc, body_cap);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
