/* test-journal.c: the intake journal: append, move into the inbox once, torn records, rotation. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/inbox.h"
#include "store/journal.h"
#include "store/store.h"
#include "unit.h"

static char dir[64], jpath[128];
static struct ac_store *st;

static void
rm_tree(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	char p[512];

	if (dh == NULL)
		return;
	while ((e = readdir(dh)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		unlink(p);
	}
	closedir(dh);
	rmdir(d);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-journal-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(jpath, sizeof(jpath), "%s/%s", dir, AC_JOURNAL_FILE);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ac_clock_set(1700000000);
	ac_inbox_set_rotate_bytes(0);
}

static void
teardown(void)
{
	ac_store_close(st);
	rm_tree(dir);
	ac_clock_set(0);
	ac_inbox_set_rotate_bytes(0);
}

static void
intake(const char *ck, const char *id, const char *body)
{
	uint64_t seq = 99;
	int dup = 9;

	ck_assert_int_eq(ac_inbox_intake(st, ck, "repo:push", id, body, strlen(body), &seq, &dup), AC_OK);
	ck_assert_int_eq(dup, 0);
	ck_assert_uint_eq(seq, 0);
}

static size_t
ingest(void)
{
	size_t n = 0;

	ck_assert_int_eq(ac_inbox_ingest(st, 0, &n), AC_OK);
	return n;
}

static size_t
ingest_rotating(void)
{
	size_t n = 0;

	ck_assert_int_eq(ac_inbox_ingest(st, 1, &n), AC_OK);
	return n;
}

/* The bodies in the inbox, in order, joined by ",". */
static char listed[65536];

static enum ac_err
collect(const struct ac_event *ev, void *ctx)
{
	(void)ctx;
	if (*listed)
		strcat(listed, ",");
	strncat(listed, ev->body, sizeof(listed) - strlen(listed) - 2);
	return AC_OK;
}

static const char *
bodies(void)
{
	listed[0] = '\0';
	ck_assert_int_eq(ac_inbox_list(st, 0, collect, NULL), AC_OK);
	return listed;
}

static off_t
file_size(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 ? sb.st_size : -1;
}

/* The bytes of one record as the journal writes it (made in a scratch store). */
static unsigned char *
record(const char *ck, const char *id, const char *body, size_t *len)
{
	char d[64], p[128];
	struct ac_store *s2;
	unsigned char *buf;
	FILE *f;
	long n;

	snprintf(d, sizeof(d), "/tmp/test-journal-rec-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d));
	ck_assert_int_eq(ac_store_open(d, 0, AC_STORE_NOSYNC, &s2), AC_OK);
	ck_assert_int_eq(ac_inbox_intake(s2, ck, "repo:push", id, body, strlen(body), NULL, NULL), AC_OK);
	ac_store_close(s2);
	snprintf(p, sizeof(p), "%s/%s", d, AC_JOURNAL_FILE);
	ck_assert_ptr_nonnull(f = fopen(p, "rb"));
	fseek(f, 0, SEEK_END);
	n = ftell(f) - (long)AC_JOURNAL_HDR;
	ck_assert_int_gt(n, 0);
	buf = malloc((size_t)n);
	fseek(f, (long)AC_JOURNAL_HDR, SEEK_SET);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	rm_tree(d);
	*len = (size_t)n;
	return buf;
}

static void
append_raw(const void *p, size_t n)
{
	int fd = open(jpath, O_WRONLY | O_APPEND);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	close(fd);
}

START_TEST(intake_then_ingest)
{
	struct ac_event ev;
	int dead;

	ck_assert_uint_eq(ingest(), 0); /* no journal yet */
	intake("t1", "d-1", "{\"n\":1}");
	ac_clock_set(1700000005);
	intake("t2", "", "{\"n\":2}");
	intake("t1", "d-3", "{\"n\":3}");
	ck_assert_int_gt(file_size(jpath), (off_t)AC_JOURNAL_HDR);
	ck_assert_uint_eq(ingest(), 3);
	ck_assert_uint_eq(ingest(), 0); /* once */
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3}");
	ck_assert_int_eq(ac_inbox_get(st, 1, &ev, &dead), AC_OK);
	ck_assert_str_eq(ev.client_key, "t1");
	ck_assert_str_eq(ev.event_key, "repo:push");
	ck_assert_str_eq(ev.delivery_id, "d-1");
	ck_assert_int_eq(ev.received_at, 1700000000); /* when it was accepted, not moved */
	ac_event_release(&ev);
	ck_assert_int_eq(ac_inbox_get(st, 2, &ev, &dead), AC_OK);
	ck_assert_int_eq(ev.received_at, 1700000005);
	ac_event_release(&ev);
	/* a store reopened knows how far it got */
	ac_store_close(st);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_uint_eq(ingest(), 0);
	intake("t1", "", "{\"n\":4}");
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3},{\"n\":4}");
}
END_TEST

START_TEST(readers_and_accept_see_the_journal)
{
	size_t inbox = 0, due = 0, dead = 0;
	uint64_t seq = 0;
	struct ac_event ev;

	intake("t1", "", "{\"n\":1}");
	/* counts, claim and a direct accept all move the journal in first: order is acceptance order */
	ck_assert_int_eq(ac_inbox_counts(st, &inbox, &due, &dead), AC_OK);
	ck_assert_uint_eq(inbox, 1);
	intake("t1", "", "{\"n\":2}");
	ck_assert_int_eq(ac_inbox_accept(st, "t1", "repo:push", "", "{\"n\":3}", 7, &seq, NULL), AC_OK);
	ck_assert_uint_eq(seq, 3);
	ck_assert_int_eq(ac_inbox_claim(st, 300, &ev), AC_OK);
	ck_assert_uint_eq(ev.seq, 1);
	ac_event_release(&ev);
}
END_TEST

START_TEST(dedupe_across_the_journal)
{
	uint64_t seq = 0;
	int dup = 0;

	intake("t1", "id-1", "{\"n\":1}");
	ck_assert_uint_eq(ingest(), 1);
	/* moved in: a second delivery is recognised before the 204 */
	ck_assert_int_eq(ac_inbox_intake(st, "t1", "repo:push", "id-1", "{}", 2, &seq, &dup), AC_OK);
	ck_assert_int_eq(dup, 1);
	ck_assert_uint_eq(seq, 1);
	/* another tenant's id is another delivery */
	intake("t2", "id-1", "{\"n\":2}");
	/* twice before either is moved in: both journaled, queued once */
	intake("t1", "id-2", "{\"n\":3}");
	intake("t1", "id-2", "{\"n\":3}");
	ck_assert_uint_eq(ingest(), 3);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3}");
	/* what accept refuses, intake refuses before anything is written */
	{
		static char big[AC_INBOX_BODY_MAX + 1];
		char longid[600];
		off_t before = file_size(jpath);

		memset(big, ' ', sizeof(big));
		memset(longid, 'x', sizeof(longid) - 1);
		longid[sizeof(longid) - 1] = '\0';
		ck_assert_int_eq(ac_inbox_intake(st, "t1", "e", "", big, sizeof(big), NULL, NULL), AC_ERR_BODY_TOO_LARGE);
		ck_assert_int_eq(ac_inbox_intake(st, "t1", "e", longid, "{}", 2, NULL, NULL), AC_ERR_INVALID);
		ck_assert_int_eq(file_size(jpath), before);
	}
}
END_TEST

/* A writer killed mid-append: the torn bytes are skipped once a complete record follows. */
START_TEST(torn_record_skipped)
{
	size_t n;
	unsigned char *r = record("t1", "", "{\"torn\":true}", &n);

	intake("t1", "", "{\"n\":1}");
	append_raw(r, n / 2);
	/* the torn tail may still be an append in flight: wait for it */
	ck_assert_uint_eq(ingest(), 1);
	/* without rereading it at every poll: nothing is new until the file grows */
	ck_assert(!ac_journal_has_news(ac_store_journal(st)));
	ck_assert_uint_eq(ingest(), 0);
	intake("t1", "", "{\"n\":2}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2}");
	/* garbage without any record start is skipped the same way */
	append_raw("\0\0\0\0garbage\xff\xff", 13);
	intake("t1", "", "{\"n\":3}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3}");
	free(r);
}
END_TEST

/*
 * A full disk (here the file size limit: the write stops part-way, EFBIG):
 * AC_ERR_STORE_FULL, which webhook.fcgi answers with 503 so that the product
 * retries; the part written is a torn record that nothing ever moves in.
 */
START_TEST(full_disk_refuses_and_queues_nothing)
{
	struct rlimit old, lim;
	char body[2048];
	enum ac_err err;

	intake("t1", "", "{\"n\":1}");
	memset(body, ' ', sizeof(body));
	memcpy(body, "{\"big\":1}", 9);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(jpath) + 100;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	err = ac_inbox_intake(st, "t1", "repo:push", "d-big", body, sizeof(body), NULL, NULL);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(err, AC_ERR_STORE_FULL);
	ck_assert_int_eq(ac_err_http_status(err), 503);
	intake("t1", "", "{\"n\":2}");
	ck_assert_uint_eq(ingest(), 2);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2}");
	/* the delivery was never acknowledged, so its retry is not taken for a duplicate */
	intake("t1", "d-big", "{\"n\":3}");
	ck_assert_uint_eq(ingest(), 1);
}
END_TEST

/* A record read while it is being written is read whole once it is complete, not skipped. */
START_TEST(record_in_flight_waits)
{
	size_t n;
	unsigned char *r = record("t1", "d-9", "{\"slow\":\"writer\"}", &n);

	intake("t1", "", "{\"n\":1}");
	append_raw(r, 5);
	ck_assert_uint_eq(ingest(), 1);
	ck_assert(!ac_journal_has_news(ac_store_journal(st)));
	append_raw(r + 5, n - 10);
	ck_assert(ac_journal_has_news(ac_store_journal(st)));
	ck_assert_uint_eq(ingest(), 0);
	append_raw(r + n - 5, 5);
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"slow\":\"writer\"}");
	free(r);
}
END_TEST

START_TEST(rotation)
{
	struct stat a, b;
	char body[64];
	int i;

	ac_inbox_set_rotate_bytes(4096);
	for (i = 0; i < 100; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		intake("t1", "", body);
	}
	ck_assert_int_eq(stat(jpath, &a), 0);
	ck_assert_int_gt(a.st_size, 4096);
	{
		size_t n = 0;

		ck_assert_int_eq(ac_inbox_ingest(st, 1, &n), AC_OK);
		ck_assert_uint_eq(n, 100);
	}
	ck_assert_int_eq(stat(jpath, &b), 0);
	ck_assert_int_ne(a.st_ino, b.st_ino);
	ck_assert_int_eq(b.st_size, AC_JOURNAL_HDR);
	/* this process appended to the old file: it moves to the new one */
	intake("t1", "", "{\"n\":100}");
	ck_assert_int_gt(file_size(jpath), (off_t)AC_JOURNAL_HDR);
	ck_assert_uint_eq(ingest(), 1);
	listed[0] = '\0';
	bodies();
	ck_assert_ptr_nonnull(strstr(listed, "{\"n\":99},{\"n\":100}"));
	ck_assert_ptr_null(strstr(listed + 1, "{\"n\":0}"));
	/* no leftover files */
	{
		char next[160];

		snprintf(next, sizeof(next), "%s.next", jpath);
		ck_assert_int_eq(access(next, F_OK), -1);
	}
}
END_TEST

/* A store that last read another journal read all of it before it was replaced: a new one is read from its start. */
START_TEST(replaced_before_recorded)
{
	struct ac_journal *j = ac_store_journal(st);
	uint64_t id, off;

	intake("t1", "", "{\"n\":1}");
	ck_assert_uint_eq(ingest(), 1);
	/* a rotation that died after putting the new file in place, before recording it */
	ck_assert_int_eq(ac_journal_scan_begin(j, 0, 0, &id, &off), AC_OK);
	ck_assert_int_eq(ac_journal_rotate_begin(j), AC_OK);
	ck_assert_int_eq(ac_journal_rotate_end(j, 1), AC_OK);
	intake("t1", "", "{\"n\":2}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2}");
}
END_TEST

/* One rotation at a time, and never of a file that is no longer the current one. */
START_TEST(one_rotation_at_a_time)
{
	struct ac_journal *j = ac_store_journal(st);
	uint64_t id, off;
	char lp[160];
	int fd;

	intake("t1", "", "{\"n\":1}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_int_eq(ac_journal_scan_begin(j, 0, 0, &id, &off), AC_OK);
	/* another process holds the rotation lock */
	snprintf(lp, sizeof(lp), "%s.lock", jpath);
	ck_assert_int_ge(fd = open(lp, O_RDWR | O_CREAT, 0600), 0);
	if (fork() == 0) {
		int f2 = open(lp, O_RDWR);

		_exit(f2 >= 0 && flock(f2, LOCK_EX) == 0 && sleep(2) == 0 ? 0 : 1);
	}
	usleep(300000);
	ck_assert_int_eq(ac_journal_rotate_begin(j), AC_ERR_NOT_FOUND);
	{
		int status;

		ck_assert_int_gt(wait(&status), 0);
	}
	close(fd);
	/* the file was replaced since this process last read it */
	ck_assert_int_eq(ac_journal_rotate_begin(j), AC_OK);
	ck_assert_int_eq(ac_journal_rotate_end(j, 1), AC_OK);
	ck_assert_int_eq(ac_journal_rotate_begin(j), AC_ERR_NOT_FOUND);
	/* nothing was lost on the way */
	intake("t1", "", "{\"n\":2}");
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2}");
}
END_TEST

/* Another process's append descriptor on the old file follows a rotation. */
START_TEST(rotation_under_another_writer)
{
	int go[2], done[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	intake("t1", "", "{\"n\":1}");
	if ((pid = fork()) == 0) {
		struct ac_store *s2;

		if (ac_store_open(dir, 0, 0, &s2) != AC_OK ||
		    ac_inbox_intake(s2, "t1", "repo:push", "", "{\"n\":2}", 7, NULL, NULL) != AC_OK)
			_exit(1);
		if (write(done[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		/* the parent rotated meanwhile */
		if (ac_inbox_intake(s2, "t1", "repo:push", "", "{\"n\":3}", 7, NULL, NULL) != AC_OK)
			_exit(1);
		ac_store_close(s2);
		_exit(0);
	}
	ck_assert_int_eq(read(done[0], &c, 1), 1);
	ac_inbox_set_rotate_bytes(1);
	{
		size_t n = 0;

		ck_assert_int_eq(ac_inbox_ingest(st, 1, &n), AC_OK);
		ck_assert_uint_eq(n, 2);
	}
	ck_assert_int_eq(file_size(jpath), AC_JOURNAL_HDR);
	ac_inbox_set_rotate_bytes(0);
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	{
		int status;

		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3}");
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
}
END_TEST

static enum ac_err
per_writer_order(const struct ac_event *ev, void *ctx)
{
	int *last = ctx, w, i;

	ck_assert_int_eq(sscanf(ev->body, "{\"w\":%d,\"i\":%d}", &w, &i), 2);
	ck_assert_int_eq(i, last[w] + 1);
	last[w] = i;
	return AC_OK;
}

/* A journal removed by hand is noticed at the next append (its link count, under the lock): it goes to a new one. */
START_TEST(removed_by_hand)
{
	struct ac_store *s2;

	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_NOSYNC, &s2), AC_OK);
	ck_assert_int_eq(ac_inbox_intake(s2, "t1", "repo:push", "", "{\"n\":1}", 7, NULL, NULL), AC_OK);
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_int_eq(unlink(jpath), 0);
	ck_assert_int_eq(ac_inbox_intake(s2, "t1", "repo:push", "", "{\"n\":2}", 7, NULL, NULL), AC_OK);
	ck_assert_int_gt(file_size(jpath), 0);
	ac_store_close(s2);
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2}");
}
END_TEST

/*
 * The append holds the shared flock on the journal while it writes: another
 * descriptor of the file gets it shared, never exclusively (what a rotation
 * takes), just before and just after the write.
 */
static int hook_calls;

static void
lock_is_held(int where)
{
	int fd = open(jpath, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(hook_calls, where);
	hook_calls++;
	ck_assert_msg(flock(fd, LOCK_EX | LOCK_NB) != 0, "no lock held at %d", where);
	ck_assert_int_eq(flock(fd, LOCK_SH | LOCK_NB), 0);
	close(fd);
}

START_TEST(append_holds_the_shared_lock)
{
	intake("t1", "", "{\"n\":1}");
	hook_calls = 0;
	ac_journal_test_hook = lock_is_held;
	intake("t1", "", "{\"n\":2}");
	ac_journal_test_hook = NULL;
	ck_assert_int_eq(hook_calls, 2);
	ck_assert_uint_eq(ingest(), 2);
}
END_TEST

/* Whether /proc/locks shows pid waiting for a flock ("-> FLOCK ... PID ..."). */
static int
waits_for_flock(pid_t pid)
{
	char line[256], want[32];
	FILE *f = fopen("/proc/locks", "r");
	int found = 0;

	ck_assert_ptr_nonnull(f);
	snprintf(want, sizeof(want), " %ld ", (long)pid);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "-> FLOCK") != NULL && strstr(line, want) != NULL;
	fclose(f);
	return found;
}

static int hold_ready = -1, hold_go = -1;

static void
hold_in_append(int where)
{
	char c = 'x';

	if (where != 0)
		return;
	if (write(hold_ready, &c, 1) != 1 || read(hold_go, &c, 1) != 1)
		_exit(3);
}

/*
 * A rotation waits for an append that holds the lock: the appender (another
 * process) stops under its lock before its write; a rotating ingest started
 * then is seen waiting for the flock in /proc/locks, and once the append is
 * let go, the rotation's last read takes its record: in the inbox once, and
 * not appended again to the new file.
 */
START_TEST(rotation_waits_for_append_holding_lock)
{
	int ready[2], go[2], status, tries;
	pid_t app, rot;
	struct stat a, b;
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	intake("t1", "", "{\"n\":1}");
	ck_assert_int_eq(stat(jpath, &a), 0);
	if ((app = fork()) == 0) {
		struct ac_store *s2;

		hold_ready = ready[1];
		hold_go = go[0];
		if (ac_store_open(dir, 0, 0, &s2) != AC_OK)
			_exit(1);
		ac_journal_test_hook = hold_in_append;
		_exit(ac_inbox_intake(s2, "t1", "repo:push", "", "{\"n\":2}", 7, NULL, NULL) == AC_OK ? 0 : 1);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	if ((rot = fork()) == 0) {
		struct ac_store *s3;

		ac_inbox_set_rotate_bytes(1);
		if (ac_store_open(dir, 0, 0, &s3) != AC_OK)
			_exit(1);
		_exit(ac_inbox_ingest(s3, 1, NULL) == AC_OK ? 0 : 1);
	}
	/* no timing: the rotation shows up waiting, or it ran (and ended) while the append held the lock */
	for (tries = 0; !waits_for_flock(rot); tries++) {
		ck_assert_msg(waitpid(rot, &status, WNOHANG) == 0, "the rotation ran while an append held the lock");
		ck_assert_msg(tries < 6000, "the rotation is not waiting for the flock after 60 s");
		usleep(10000);
	}
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(app, &status, 0), app);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(waitpid(rot, &status, 0), rot);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(stat(jpath, &b), 0);
	ck_assert_msg(a.st_ino != b.st_ino, "the ingest did not rotate");
	ck_assert_int_eq(b.st_size, AC_JOURNAL_HDR);
	ck_assert_uint_eq(ingest(), 0);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2}");
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}
END_TEST

static void
die_in_append(int where)
{
	if (where == hold_ready)
		raise(SIGKILL);
}

/*
 * A writer killed while it holds the lock, before its write or after it (the
 * record whole but never acknowledged), blocks nobody: the kernel releases a
 * flock with its holder. A rotation and the appends after it go on; the
 * record written whole is moved in once.
 */
static void
killed_holding_lock(int where)
{
	struct stat a, b;
	int status;
	pid_t pid;

	intake("t1", "", "{\"n\":1}");
	if ((pid = fork()) == 0) {
		struct ac_store *s2;

		hold_ready = where;
		if (ac_store_open(dir, 0, 0, &s2) != AC_OK)
			_exit(1);
		ac_journal_test_hook = die_in_append;
		ac_inbox_intake(s2, "t1", "repo:push", "", "{\"n\":2}", 7, NULL, NULL);
		_exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_int_eq(stat(jpath, &a), 0);
	ac_inbox_set_rotate_bytes(1);
	ck_assert_uint_eq(ingest_rotating(), where == 1 ? 2 : 1);
	ac_inbox_set_rotate_bytes(0);
	ck_assert_int_eq(stat(jpath, &b), 0);
	ck_assert_msg(a.st_ino != b.st_ino, "the ingest did not rotate");
	intake("t1", "", "{\"n\":3}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), where == 1 ? "{\"n\":1},{\"n\":2},{\"n\":3}" : "{\"n\":1},{\"n\":3}");
}

START_TEST(killed_before_write_holding_lock)
{
	killed_holding_lock(0);
}
END_TEST

START_TEST(killed_after_write_holding_lock)
{
	killed_holding_lock(1);
}
END_TEST

/*
 * Appenders of earlier builds took no lock and learnt of a rotation through
 * the words in intake.journal.lock: the rotator still writes them (the new
 * file's id is current, the replaced one is published with how far it was
 * moved in), so programs of both builds may run on one host together.
 */
START_TEST(rotation_tells_earlier_builds)
{
	struct {
		uint64_t cur, rotating, rot_seq;
		struct {
			uint64_t id, end;
		} rot[64];
	} words;
	unsigned char h[AC_JOURNAL_HDR];
	uint64_t old_id, new_id, i;
	char lp[160];
	off_t size;
	int fd;

	intake("t1", "", "{\"n\":1}");
	intake("t1", "", "{\"n\":2}");
	size = file_size(jpath);
	ck_assert_int_ge(fd = open(jpath, O_RDONLY), 0);
	ck_assert_int_eq(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	memcpy(&old_id, h + 16, 8);
	ac_inbox_set_rotate_bytes(1);
	ck_assert_uint_eq(ingest_rotating(), 2);
	ac_inbox_set_rotate_bytes(0);
	ck_assert_int_ge(fd = open(jpath, O_RDONLY), 0);
	ck_assert_int_eq(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	memcpy(&new_id, h + 16, 8);
	ck_assert_uint_ne(old_id, new_id);
	snprintf(lp, sizeof(lp), "%s.lock", jpath);
	ck_assert_int_ge(fd = open(lp, O_RDONLY), 0);
	ck_assert_int_eq(pread(fd, &words, sizeof(words), 0), (ssize_t)sizeof(words));
	close(fd);
	ck_assert_uint_eq(words.cur, new_id);
	ck_assert_uint_eq(words.rotating, 0);
	ck_assert_uint_ge(words.rot_seq, 1);
	i = (words.rot_seq - 1) % 64;
	ck_assert_uint_eq(words.rot[i].id, old_id);
	ck_assert_uint_eq(words.rot[i].end, (uint64_t)size);
}
END_TEST

/*
 * Six writers and a reader that rotates often: every event once, each
 * writer's in its order. Half the writers send no delivery id, so that a
 * record appended twice would show.
 */
START_TEST(concurrent_writers_and_rotation)
{
	enum { W = 6, N = 600 };
	int last[W], i, status;
	pid_t pids[W];
	size_t inbox = 0, due = 0, dead = 0;

	ac_inbox_set_rotate_bytes(4096);
	for (i = 0; i < W; i++) {
		if ((pids[i] = fork()) == 0) {
			struct ac_store *s2;
			char body[64], id[32];
			int k;

			if (ac_store_open(dir, 0, 0, &s2) != AC_OK)
				_exit(1);
			for (k = 0; k < N; k++) {
				snprintf(body, sizeof(body), "{\"w\":%d,\"i\":%d}", i, k);
				if (i % 2)
					id[0] = '\0';
				else
					snprintf(id, sizeof(id), "w%d-%d", i, k);
				if (ac_inbox_intake(s2, "t1", "repo:push", id, body, strlen(body), NULL, NULL) != AC_OK)
					_exit(1);
			}
			ac_store_close(s2);
			_exit(0);
		}
		last[i] = -1;
	}
	for (;;) {
		int running = 0;

		for (i = 0; i < W; i++)
			if (pids[i] && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
				pids[i] = 0;
			}
		for (i = 0; i < W; i++)
			running += pids[i] != 0;
		ck_assert_int_eq(ac_inbox_ingest(st, 1, NULL), AC_OK);
		if (!running)
			break;
	}
	ck_assert_int_eq(ac_inbox_ingest(st, 1, NULL), AC_OK);
	ck_assert_int_eq(ac_inbox_counts(st, &inbox, &due, &dead), AC_OK);
	ck_assert_uint_eq(inbox, W * N);
	ck_assert_int_eq(ac_inbox_list(st, 0, per_writer_order, last), AC_OK);
	for (i = 0; i < W; i++)
		ck_assert_int_eq(last[i], N - 1);
}
END_TEST

/*
 * A crash at any instant loses nothing acknowledged: writers append (and say
 * through a pipe which appends returned AC_OK), while processes that move the
 * journal in and rotate it at a small size are SIGKILLed at random instants,
 * and so, now and then, is a writer mid-append. In the end every acknowledged
 * record is in the inbox exactly once; a record that was not acknowledged may
 * be there (it was written whole) but only once too.
 */
static int acked_seen[4][400];

static enum ac_err
count_seen(const struct ac_event *ev, void *ctx)
{
	int w, i;

	(void)ctx;
	ck_assert_int_eq(sscanf(ev->body, "{\"w\":%d,\"i\":%d}", &w, &i), 2);
	ck_assert(w >= 0 && w < 4 && i >= 0 && i < 400);
	acked_seen[w][i] += 16;
	return AC_OK;
}

START_TEST(ingest_killed_at_any_instant)
{
	enum { W = 4, N = 400 };
	int p[2], i, k, status, running, round = 0;
	pid_t pids[W], ing = 0;
	int pair[2];
	unsigned seed = 12345;

	memset(acked_seen, 0, sizeof(acked_seen));
	ac_inbox_set_rotate_bytes(2048);
	ck_assert_int_eq(pipe(p), 0);
	for (i = 0; i < W; i++) {
		if ((pids[i] = fork()) == 0) {
			struct ac_store *s2;
			char body[64], id[32];

			close(p[0]);
			if (ac_store_open(dir, 0, 0, &s2) != AC_OK)
				_exit(1);
			/* writer 3 starts over where it was killed: its records after a kill are new ones */
			for (k = 0; k < N; k++) {
				snprintf(body, sizeof(body), "{\"w\":%d,\"i\":%d}", i, k);
				if (i % 2)
					id[0] = '\0';
				else
					snprintf(id, sizeof(id), "w%d-%d", i, k);
				if (ac_inbox_intake(s2, "t1", "repo:push", id, body, strlen(body), NULL, NULL) != AC_OK)
					_exit(1);
				pair[0] = i;
				pair[1] = k;
				if (write(p[1], pair, sizeof(pair)) != (ssize_t)sizeof(pair))
					_exit(1);
			}
			ac_store_close(s2);
			_exit(0);
		}
	}
	close(p[1]);
	for (;;) {
		struct timespec ts = { 0, 0 };

		running = 0;
		for (i = 0; i < W; i++)
			if (pids[i] && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				ck_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
				pids[i] = 0;
			}
		for (i = 0; i < W; i++)
			running += pids[i] != 0;
		if (!running)
			break;
		/* an ingesting, rotating process, killed after 0 to 15 ms */
		if ((ing = fork()) == 0) {
			struct ac_store *s2;

			if (ac_store_open(dir, 0, 0, &s2) != AC_OK)
				_exit(1);
			for (;;)
				if (ac_inbox_ingest(s2, 1, NULL) != AC_OK)
					_exit(1);
		}
		ts.tv_nsec = (long)(rand_r(&seed) % 15000) * 1000;
		nanosleep(&ts, NULL);
		kill(ing, SIGKILL);
		ck_assert_int_eq(waitpid(ing, &status, 0), ing);
		ck_assert_msg(WIFSIGNALED(status), "the ingester failed (status 0x%x)", (unsigned)status);
		/* now and then a writer, mid-append or not */
		if (++round % 40 == 0 && pids[round / 40 % W]) {
			kill(pids[round / 40 % W], SIGKILL);
			waitpid(pids[round / 40 % W], &status, 0);
			pids[round / 40 % W] = 0;
		}
	}
	/* what each writer was told */
	while (read(p[0], pair, sizeof(pair)) == (ssize_t)sizeof(pair))
		acked_seen[pair[0]][pair[1]] |= 1;
	close(p[0]);
	ck_assert_int_eq(ac_inbox_ingest(st, 1, NULL), AC_OK);
	ck_assert_int_eq(ac_inbox_list(st, 0, count_seen, NULL), AC_OK);
	for (i = 0; i < W; i++)
		for (k = 0; k < N; k++) {
			ck_assert_msg(acked_seen[i][k] >> 4 <= 1, "record w%d i%d is in the inbox %d times", i, k,
			    acked_seen[i][k] >> 4);
			ck_assert_msg(!(acked_seen[i][k] & 1) || acked_seen[i][k] >> 4 == 1,
			    "acknowledged record w%d i%d is not in the inbox", i, k);
		}
}
END_TEST

/* stderr into a file while fn runs; what was logged. */
static char logged[16384];

static void
capture(void (*fn)(void))
{
	char p[160];
	int fd, saved;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/stderr", dir);
	ck_assert_int_ge(fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600), 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, logged, sizeof(logged) - 1, 0);
	logged[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(p);
	fputs(logged, stderr);
}

static size_t occurrences(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static size_t moved;

static void
ingest_twice(void)
{
	moved = ingest();
	moved += ingest();
}

static void
ingest_five_times(void)
{
	int i;

	for (i = 0; i < 5; i++)
		ck_assert_int_ne(ac_inbox_ingest(st, 1, NULL), AC_OK);
}

/*
 * A journal replaced by something that is not a file (a directory here) is
 * refused at every poll of the worker, and said once a minute, not at each.
 */
START_TEST(damage_said_once_a_minute)
{
	intake("t1", "d-1", "{\"a\":1}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_int_eq(unlink(jpath), 0);
	ck_assert_int_eq(mkdir(jpath, 0700), 0);
	capture(ingest_five_times);
	ck_assert_uint_eq(occurrences(logged, "is not a regular file: refused"), 1);
	ck_assert_uint_le(occurrences(logged, "open "), 1);
	ck_assert_int_eq(rmdir(jpath), 0);
	intake("t1", "d-2", "{\"a\":2}");
	ck_assert_uint_eq(ingest(), 1);
}
END_TEST

/*
 * The journal cut back below the offset the store recorded (restored from an
 * older snapshot, truncated): the records past its new end were moved in
 * already, and the deliveries appended since land where the store believes it
 * has read. They all reach the inbox, the ones moved in before are not queued
 * again (with or without a delivery id), and one line says what happened.
 */
START_TEST(cut_back_below_recorded)
{
	off_t keep;

	intake("t1", "d-1", "{\"n\":1}");
	intake("t1", "", "{\"n\":2}");
	keep = file_size(jpath);
	/* (a record without an id from the second of the latest moved in would be queued again) */
	ac_clock_set(1700000002);
	intake("t1", "d-3", "{\"n\":3}");
	intake("t1", "", "{\"n\":4}");
	intake("t1", "d-5", "{\"n\":5}");
	ck_assert_uint_eq(ingest(), 5);
	ck_assert_int_eq(truncate(jpath, keep), 0);
	/* acknowledged after the cut */
	ac_clock_set(1700000010);
	intake("t1", "d-6", "{\"n\":6}");
	intake("t1", "", "{\"n\":7}");
	ck_assert_int_lt(file_size(jpath), 5 * (keep - (off_t)AC_JOURNAL_HDR) / 2 + (off_t)AC_JOURNAL_HDR);
	capture(ingest_twice);
	ck_assert_uint_eq(moved, 2);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3},{\"n\":4},{\"n\":5},{\"n\":6},{\"n\":7}");
	ck_assert_uint_eq(occurrences(logged, "intake journal shorter than recorded"), 1);
	ck_assert_ptr_nonnull(strstr(logged, "restored or truncated; rescanning from the start, duplicates are absorbed"));
	ck_assert_ptr_null(strstr(logged, "acknowledged"));
	/* and from there on as usual */
	intake("t1", "d-8", "{\"n\":8}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3},{\"n\":4},{\"n\":5},{\"n\":6},{\"n\":7},{\"n\":8}");
}
END_TEST

/* The same when enough was appended since the cut that the file is past the recorded offset again. */
START_TEST(cut_back_and_grown_past)
{
	char body[64];
	off_t keep, was;
	int i;

	intake("t1", "d-1", "{\"n\":1}");
	intake("t1", "", "{\"n\":1.5}");
	keep = file_size(jpath);
	ac_clock_set(1700000002);
	intake("t1", "", "{\"n\":2}");
	intake("t1", "d-3", "{\"n\":3}");
	ck_assert_uint_eq(ingest(), 4);
	was = file_size(jpath);
	ck_assert_int_eq(truncate(jpath, keep), 0);
	ac_clock_set(1700000010);
	for (i = 4; i <= 9; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d,\"pad\":\"%s\"}", i, i % 2 ? "xxxxxxxxxxxx" : "");
		intake("t2", i % 3 ? "" : (i == 6 ? "d-6" : "d-9"), body);
	}
	ck_assert_int_gt(file_size(jpath), was);
	capture(ingest_twice);
	ck_assert_uint_eq(moved, 6);
	ck_assert_uint_eq(occurrences(logged, "rescanning from the start, duplicates are absorbed"), 1);
	ck_assert_ptr_null(strstr(logged, "acknowledged"));
	ck_assert_ptr_null(strstr(logged, "skipped"));
	listed[0] = '\0';
	bodies();
	ck_assert_ptr_nonnull(strstr(listed, "{\"n\":1},{\"n\":1.5},{\"n\":2},{\"n\":3},{\"n\":4,"));
	ck_assert_ptr_nonnull(strstr(listed, "{\"n\":9,"));
	ck_assert_uint_eq(occurrences(listed, "{\"n\":1"), 2);
}
END_TEST

static void
zero_header(void)
{
	static const unsigned char z[AC_JOURNAL_HDR];
	int fd = open(jpath, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, z, sizeof(z), 0), (ssize_t)sizeof(z));
	close(fd);
}

/*
 * A destroyed header: appends are refused with store_damaged (503), by a
 * process that had the file open (it looks at the header once a second) and
 * by one that opens it; reading says so too, and the operator's message
 * names the repair. The repair keeps the records: nothing acknowledged is lost.
 */
START_TEST(destroyed_header_refused_then_repaired)
{
	enum ac_err err;
	int same = -1;

	intake("t1", "d-1", "{\"n\":1}");
	ck_assert_uint_eq(ingest(), 1);
	intake("t1", "", "{\"n\":2}");
	zero_header();
	ac_clock_set(1700000001);
	err = ac_inbox_intake(st, "t1", "repo:push", "d-3", "{\"n\":3}", 7, NULL, NULL);
	ck_assert_int_eq(err, AC_ERR_STORE_DAMAGED);
	ck_assert_int_eq(ac_err_http_status(err), 503);
	ck_assert_str_eq(ac_err_code(err), "store_damaged");
	ck_assert_int_eq(ac_inbox_ingest(st, 0, NULL), AC_ERR_STORE_DAMAGED);
	ck_assert_ptr_nonnull(ac_inbox_damage(st));
	ck_assert_ptr_nonnull(strstr(ac_inbox_damage(st), "header is destroyed"));
	ck_assert_ptr_nonnull(strstr(ac_inbox_damage(st), "acctl inbox ingest --repair"));
	/* a program started now: the same, not a new journal over the old one */
	ac_store_close(st);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_int_eq(ac_inbox_intake(st, "t1", "repo:push", "d-3", "{\"n\":3}", 7, NULL, NULL),
	    AC_ERR_STORE_DAMAGED);
	ck_assert_int_eq(ac_inbox_ingest(st, 0, NULL), AC_ERR_STORE_DAMAGED);
	/* repaired: the file the store was reading, so it goes on from where it was */
	ck_assert_int_eq(ac_inbox_repair(st, &same), AC_OK);
	ck_assert_int_eq(same, 1);
	ck_assert_ptr_null(ac_inbox_damage(st));
	ck_assert_int_eq(ac_inbox_repair(st, &same), AC_ERR_NOT_FOUND);
	ck_assert_uint_eq(ingest(), 1);
	intake("t1", "d-3", "{\"n\":3}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3}");
}
END_TEST

/* A header destroyed and not provably the file the store read: repaired under a new id, read again, no duplicates. */
START_TEST(destroyed_header_unknown_file)
{
	int same = -1;

	off_t end;

	intake("t1", "", "{\"n\":0}");
	ac_clock_set(1700000001);
	intake("t1", "d-1", "{\"n\":1}");
	intake("t1", "", "{\"n\":2}");
	ck_assert_uint_eq(ingest(), 3);
	end = file_size(jpath);
	ac_clock_set(1700000003);
	zero_header();
	/* and cut back: the record the store read last is torn */
	ck_assert_int_eq(truncate(jpath, end - 3), 0);
	ac_clock_set(1700000004);
	ck_assert_int_eq(ac_inbox_repair(st, &same), AC_OK);
	ck_assert_int_eq(same, 0);
	intake("t1", "d-4", "{\"n\":4}");
	ingest();
	ck_assert_str_eq(bodies(), "{\"n\":0},{\"n\":1},{\"n\":2},{\"n\":4}");
}
END_TEST

/*
 * An older journal put back (a snapshot from before a rotation): said once;
 * its deliveries go through dedupe, and those accepted since reach the inbox.
 */
START_TEST(older_file_put_back)
{
	char snap[160];
	unsigned char h[AC_JOURNAL_HDR];
	int fd;

	intake("t1", "d-1", "{\"n\":1}");
	ck_assert_uint_eq(ingest(), 1);
	/* the snapshot, made (its header says) well before the file that replaces it */
	snprintf(snap, sizeof(snap), "%s.snap", jpath);
	ck_assert_int_ge(fd = open(jpath, O_RDONLY), 0);
	{
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));
		int out = open(snap, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
		close(out);
	}
	close(fd);
	ck_assert_int_ge(fd = open(snap, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	{
		uint64_t born = 0;
		int i;

		for (i = 7; i >= 0; i--)
			born = born << 8 | h[24 + i];
		born -= 100;
		for (i = 0; i < 8; i++)
			h[24 + i] = (unsigned char)(born >> (8 * i));
	}
	ck_assert_int_eq(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	intake("t1", "d-2", "{\"n\":2}");
	ac_inbox_set_rotate_bytes(1);
	ck_assert_int_eq(ac_inbox_ingest(st, 1, NULL), AC_OK);
	ck_assert_int_eq(file_size(jpath), (off_t)AC_JOURNAL_HDR); /* rotated */
	ac_inbox_set_rotate_bytes(0);
	ac_clock_set(1700000001);
	intake("t1", "d-3", "{\"n\":3}");
	ck_assert_uint_eq(ingest(), 1);
	ck_assert_int_eq(rename(snap, jpath), 0);
	ac_clock_set(1700000002);
	intake("t1", "d-4", "{\"n\":4}");
	capture(ingest_twice);
	ck_assert_str_eq(bodies(), "{\"n\":1},{\"n\":2},{\"n\":3},{\"n\":4}");
	ck_assert_uint_eq(occurrences(logged, "before the one the store read last"), 1);
}
END_TEST

START_TEST(crc32c_known_answers)
{
	/* RFC 3720 B.4 */
	static const unsigned char zeros[32], ones[32] = { [0 ... 31] = 0xff };
	unsigned char inc[32];
	int i;

	for (i = 0; i < 32; i++)
		inc[i] = (unsigned char)i;
	ck_assert_uint_eq(ac_crc32c(0, zeros, 32), 0x8a9136aau);
	ck_assert_uint_eq(ac_crc32c(0, ones, 32), 0x62a8ab43u);
	ck_assert_uint_eq(ac_crc32c(0, inc, 32), 0x46dd794eu);
	ck_assert_uint_eq(ac_crc32c(0, "123456789", 9), 0xe3069283u);
	/* in pieces as in one go */
	ck_assert_uint_eq(ac_crc32c(ac_crc32c(0, "12345", 5), "6789", 4), 0xe3069283u);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, crc32c_known_answers);
	tcase_add_test(tc, intake_then_ingest);
	tcase_add_test(tc, readers_and_accept_see_the_journal);
	tcase_add_test(tc, dedupe_across_the_journal);
	tcase_add_test(tc, torn_record_skipped);
	tcase_add_test(tc, record_in_flight_waits);
	tcase_add_test(tc, full_disk_refuses_and_queues_nothing);
	tcase_add_test(tc, rotation);
	tcase_add_test(tc, replaced_before_recorded);
	tcase_add_test(tc, one_rotation_at_a_time);
	tcase_add_test(tc, rotation_under_another_writer);
	tcase_add_test(tc, removed_by_hand);
	tcase_add_test(tc, append_holds_the_shared_lock);
	tcase_add_test(tc, rotation_waits_for_append_holding_lock);
	tcase_add_test(tc, killed_before_write_holding_lock);
	tcase_add_test(tc, killed_after_write_holding_lock);
	tcase_add_test(tc, rotation_tells_earlier_builds);
	tcase_add_test(tc, concurrent_writers_and_rotation);
	tcase_add_test(tc, ingest_killed_at_any_instant);
	tcase_add_test(tc, cut_back_below_recorded);
	tcase_add_test(tc, cut_back_and_grown_past);
	tcase_add_test(tc, destroyed_header_refused_then_repaired);
	tcase_add_test(tc, destroyed_header_unknown_file);
	tcase_add_test(tc, older_file_put_back);
	tcase_add_test(tc, damage_said_once_a_minute);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
