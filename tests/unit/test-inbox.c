/* test-inbox.c: accept with dedupe, order per tenant, leases, retries, dead letters. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "inbox.h"
#include "store.h"
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
	static const char *files[] = { "data.mdb", "lock.mdb", "sync.lock" };
	char p[128];
	size_t i;

	ac_store_close(st);
	for (i = 0; i < 3; i++) {
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
	tcase_add_test(tc, dead_owner_lease_taken_over);
	tcase_add_test(tc, concurrent_claims_never_share);
	tcase_add_test(tc, prune);
	tcase_add_test(tc, body_cap);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
