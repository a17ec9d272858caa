/* test-datadir.c: names planted in the data directory never lead the store or the journal to another file. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/datadir.h"
#include "store/inbox.h"
#include "store/journal.h"
#include "store/store.h"
#include "unit.h"

#define NOBODY 65534

static char dir[64], out[64], victim[128];
static unsigned char want[100];
static struct stat want_st;

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

/* A fresh, empty data directory (0700, ours). */
static void
fresh_dir(void)
{
	rm_tree(dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
}

/* The file outside the data directory that nothing may change: a root-owned file when the test runs as root. */
static void
setup(void)
{
	size_t i;
	int fd;

	snprintf(out, sizeof(out), "/tmp/test-datadir-out-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(out));
	snprintf(victim, sizeof(victim), "%s/victim", out);
	for (i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)('a' + i % 26);
	ck_assert_int_ge(fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0644), 0);
	ck_assert_int_eq(write(fd, want, sizeof(want)), (ssize_t)sizeof(want));
	close(fd);
	chmod(victim, 0644);
	ck_assert_int_eq(stat(victim, &want_st), 0);
	snprintf(dir, sizeof(dir), "/tmp/test-datadir-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ac_clock_set(1700000000);
	ac_inbox_set_rotate_bytes(0);
}

static void
teardown(void)
{
	rm_tree(dir);
	rm_tree(out);
	ac_clock_set(0);
	ac_inbox_set_rotate_bytes(0);
}

/* The outside file has its content, size, mode and owner, and no other name leads to it. */
static void
victim_unchanged(const char *what)
{
	unsigned char got[sizeof(want) + 1];
	struct stat sb;
	ssize_t n;
	int fd;

	ck_assert_msg(stat(victim, &sb) == 0, "%s: the outside file is gone", what);
	ck_assert_msg(sb.st_size == want_st.st_size && sb.st_mode == want_st.st_mode && sb.st_uid == want_st.st_uid &&
	    sb.st_gid == want_st.st_gid, "%s: the outside file's size, mode or owner changed", what);
	ck_assert_int_ge(fd = open(victim, O_RDONLY), 0);
	n = read(fd, got, sizeof(got));
	close(fd);
	ck_assert_msg(n == (ssize_t)sizeof(want) && memcmp(got, want, sizeof(want)) == 0,
	    "%s: the outside file's content changed", what);
}

enum plant { SYMLINK, HARDLINK, DANGLING };

static void
plant(const char *name, enum plant how)
{
	char p[256], gone[160];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
	snprintf(gone, sizeof(gone), "%s/created-through-a-link", out);
	if (how == SYMLINK)
		ck_assert_int_eq(symlink(victim, p), 0);
	else if (how == HARDLINK)
		ck_assert_int_eq(link(victim, p), 0);
	else
		ck_assert_int_eq(symlink(gone, p), 0);
}

static void
nothing_created_outside(const char *what)
{
	char gone[160];

	snprintf(gone, sizeof(gone), "%s/created-through-a-link", out);
	ck_assert_msg(access(gone, F_OK) != 0, "%s: a file was created outside through a dangling link", what);
}

static const char *const how_names[] = { "symlink", "hard link", "dangling symlink" };

/* sync.lock, data.mdb, lock.mdb: a link to another file stops the store from opening, and that file is untouched. */
START_TEST(store_refuses_planted_links)
{
	static const char *const names[] = { "sync.lock", "data.mdb", "lock.mdb" };
	struct ac_store *st;
	char what[128];
	size_t i;
	int how;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (how = SYMLINK; how <= DANGLING; how++) {
			snprintf(what, sizeof(what), "%s as a %s", names[i], how_names[how]);
			/* a store that exists, then the name replaced */
			fresh_dir();
			ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
			ac_store_close(st);
			plant(names[i], (enum plant)how);
			ck_assert_msg(ac_store_open(dir, 0, 0, &st) != AC_OK, "%s: the store opened", what);
			victim_unchanged(what);
			nothing_created_outside(what);
			if (strcmp(names[i], "sync.lock") != 0) {
				ck_assert_msg(ac_store_open(dir, 0, AC_STORE_RDONLY, &st) != AC_OK,
				    "%s: the store opened read-only", what);
				victim_unchanged(what);
			}
			/* a new store in a directory where the name waits */
			fresh_dir();
			plant(names[i], (enum plant)how);
			ck_assert_msg(ac_store_open(dir, 0, 0, &st) != AC_OK, "%s: a new store opened", what);
			victim_unchanged(what);
			nothing_created_outside(what);
		}
	}
}
END_TEST

static enum ac_err
intake_one(struct ac_store *st, const char *body)
{
	uint64_t seq;
	int dup;

	return ac_inbox_intake(st, "t1", "repo:push", "", body, strlen(body), &seq, &dup);
}

/* intake.journal, its .lock and .next: appends, reads and rotations never go through a planted link. */
START_TEST(journal_refuses_planted_links)
{
	static const char *const names[] = { AC_JOURNAL_FILE, AC_JOURNAL_FILE ".lock", AC_JOURNAL_FILE ".next" };
	struct ac_store *st;
	char what[128], body[64];
	size_t i, n;
	int how, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (how = SYMLINK; how <= DANGLING; how++) {
			int is_journal = i == 0;

			snprintf(what, sizeof(what), "%s as a %s", names[i], how_names[how]);
			fresh_dir();
			ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
			/* the journal exists and has records: the planted name replaces a real file */
			ck_assert_int_eq(intake_one(st, "{\"n\":0}"), AC_OK);
			ac_store_close(st);
			plant(names[i], (enum plant)how);
			ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
			ac_inbox_set_rotate_bytes(1); /* every ingest rotates */
			for (k = 1; k <= 3; k++) {
				enum ac_err err;

				snprintf(body, sizeof(body), "{\"n\":%d}", k);
				err = intake_one(st, body);
				/* a planted journal refuses appends (503), never writes through it */
				if (is_journal)
					ck_assert_msg(err != AC_OK, "%s: an append was accepted", what);
				else
					ck_assert_msg(err == AC_OK, "%s: an append failed", what);
				n = 0;
				err = ac_inbox_ingest(st, 0, &n);
				if (is_journal)
					ck_assert_msg(err != AC_OK || n == 0, "%s: records read from it", what);
				else
					ck_assert_msg(err == AC_OK, "%s: ingest failed", what);
				victim_unchanged(what);
				nothing_created_outside(what);
			}
			ac_inbox_set_rotate_bytes(0);
			ac_store_close(st);
		}
	}
}
END_TEST

/* The data directory itself: not a symbolic link, not writable by others. */
START_TEST(dir_symlink_and_writable_refused)
{
	struct ac_store *st;
	char link_path[128];

	fresh_dir();
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ac_store_close(st);
	snprintf(link_path, sizeof(link_path), "%s/data-link", out);
	ck_assert_int_eq(symlink(dir, link_path), 0);
	ck_assert_int_eq(ac_store_open(link_path, 0, 0, &st), AC_ERR_STORE);
	ck_assert_int_eq(ac_store_open(link_path, 0, AC_STORE_RDONLY, &st), AC_ERR_STORE);
	unlink(link_path);
	/* a reader does not tighten it: anyone may have planted a name meanwhile */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_RDONLY, &st), AC_ERR_STORE);
	ck_assert_int_eq(chmod(dir, 0750), 0);
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_RDONLY, &st), AC_OK);
	ac_store_close(st);
	ck_assert_int_eq(chmod(dir, 0700), 0);
}
END_TEST

/* As root: a file of another user than the directory's owner is refused, and root acts as that owner. */
START_TEST(foreign_owner_and_becoming_the_owner)
{
	struct ac_store *st;
	char p[160];
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		fprintf(stderr, "# skipped: not root (owners cannot be changed)\n");
		return;
	}
	fresh_dir();
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ac_store_close(st);
	snprintf(p, sizeof(p), "%s/sync.lock", dir);
	ck_assert_int_eq(chown(p, NOBODY, NOBODY), 0);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_ERR_IO);
	ck_assert_int_eq(chown(p, 0, 0), 0);
	/* root working on a directory that another user owns gives it every file it creates */
	fresh_dir();
	ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_int_eq(intake_one(st, "{}"), AC_OK);
	ac_store_close(st);
	{
		/* the journal's lock file is made by the first rotation only: the directory owner's if there */
		static const char *const names[] = { "data.mdb", "lock.mdb", "sync.lock", AC_JOURNAL_FILE,
			AC_JOURNAL_FILE ".lock" };
		struct stat sb;
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			if (lstat(p, &sb) != 0 && errno == ENOENT && i == 4)
				continue;
			ck_assert_msg(lstat(p, &sb) == 0, "%s is missing", names[i]);
			ck_assert_msg(sb.st_uid == NOBODY, "%s is not the directory owner's", names[i]);
		}
	}
	/* ac_datadir_become_owner: for good, in a child */
	if ((pid = fork()) == 0) {
		char sub[160];

		snprintf(sub, sizeof(sub), "%s/not/yet", dir);
		_exit(ac_datadir_become_owner(sub) == AC_OK && geteuid() == NOBODY && getuid() == NOBODY &&
		    getegid() == NOBODY && setuid(0) != 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "root did not become the directory's owner");
	/* a directory of root's: root stays root */
	if ((pid = fork()) == 0)
		_exit(ac_datadir_become_owner(out) == AC_OK && geteuid() == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "root gave up root for its own directory");
}
END_TEST

/*
 * A data directory whose path passes through a link its owner can change (a
 * parent directory of its own): allowed, but what was looked at is what is
 * used. A root acctl that stayed root because the directory was root's
 * refuses it when it has become another user's by the time the store opens
 * it; and LMDB opens its files in the directory that was checked, through
 * the descriptor, whatever the link leads to meanwhile.
 */
static void
point(const char *link, const char *to)
{
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", link);
	unlink(tmp);
	ck_assert_int_eq(symlink(to, tmp), 0);
	ck_assert_int_eq(rename(tmp, link), 0);
}

START_TEST(parent_link_changed)
{
	char a[128], b[128], ad[160], bd[160], cur[128], data[160], buf[64], p[200];
	struct stat x, y;
	const char *at;
	pid_t pid;
	int status, dfd;

	fresh_dir();
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(ad, sizeof(ad), "%s/data", a);
	snprintf(bd, sizeof(bd), "%s/data", b);
	snprintf(cur, sizeof(cur), "%s/cur", dir);
	snprintf(data, sizeof(data), "%s/data", cur);
	ck_assert_int_eq(mkdir(a, 0700), 0);
	ck_assert_int_eq(mkdir(ad, 0700), 0);
	ck_assert_int_eq(mkdir(b, 0700), 0);
	ck_assert_int_eq(mkdir(bd, 0700), 0);
	point(cur, a);
	/* the path the store gives LMDB leads to the directory it checked, after the link moved */
	ck_assert_int_ge(dfd = ac_datadir_open(data, 0, &x), 0);
	point(cur, b);
	at = ac_datadir_fd_path(dfd, data, buf, sizeof(buf));
	ck_assert_int_eq(stat(at, &y), 0);
	ck_assert_msg(x.st_dev == y.st_dev && x.st_ino == y.st_ino, "%s is not the directory opened", at);
	close(dfd);
	if (geteuid() == 0) {
		point(cur, a);
		ck_assert_int_eq(chown(b, NOBODY, NOBODY), 0);
		ck_assert_int_eq(chown(bd, NOBODY, NOBODY), 0);
		if ((pid = fork()) == 0) {
			struct ac_store *st;

			if (ac_datadir_become_owner(data) != AC_OK || geteuid() != 0)
				_exit(2);
			/* the owner moves the link once root has looked */
			point(cur, b);
			_exit(ac_store_open(data, 0, 0, &st) == AC_OK ? 1 : 0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "root opened a store in another user's directory (status 0x%x)", (unsigned)status);
		snprintf(p, sizeof(p), "%s/lock.mdb", bd);
		ck_assert_int_ne(access(p, F_OK), 0);
	}
	snprintf(p, sizeof(p), "%s.tmp", cur);
	unlink(p);
	unlink(cur);
	rm_tree(ad);
	rm_tree(bd);
	rmdir(a);
	rmdir(b);
}
END_TEST

/*
 * The hard-link race, on ac_datadir_openat() itself: another process keeps
 * linking the outside file under the name and removing that link again, so
 * that the name may be gone (and the outside file down to its one link) by
 * the time the opener looks at what it opened. Whichever way each open goes
 * (refused, absent, created), it never gives a descriptor of the outside file.
 */
START_TEST(hard_link_race)
{
	static const unsigned hows[] = { 0, AC_DATADIR_CREATE, AC_DATADIR_LINKED, AC_DATADIR_CREATE | AC_DATADIR_LINKED };
	struct stat x, f;
	pid_t pid;
	int i, dfd, fd, status, outside = 0, opened = 0;

	fresh_dir();
	ck_assert_int_ge(dfd = ac_datadir_open(dir, 0, &x), 0);
	if ((pid = fork()) == 0) {
		char p[256], tmp[256];
		unsigned k;

		snprintf(p, sizeof(p), "%s/race", dir);
		snprintf(tmp, sizeof(tmp), "%s/.planting", dir);
		for (k = 0;; k++) {
			/* by link() straight under the name, or by rename() over whatever is there */
			if (k % 2 == 0) {
				if (link(victim, p) != 0)
					unlink(p); /* a file the opener created: away with it */
			} else {
				unlink(tmp);
				if (link(victim, tmp) == 0)
					rename(tmp, p);
			}
			unlink(p);
		}
	}
	ck_assert_int_gt(pid, 0);
	for (i = 0; i < 20000; i++) {
		if ((fd = ac_datadir_openat(dfd, dir, "race", O_RDWR, hows[i % 4])) < 0)
			continue;
		opened++;
		if (fstat(fd, &f) == 0 && f.st_dev == want_st.st_dev && f.st_ino == want_st.st_ino)
			outside++;
		close(fd);
	}
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(dfd);
	fprintf(stderr, "# hard-link race: %d opened of 20000, %d of them the outside file\n", opened, outside);
	ck_assert_msg(outside == 0, "the outside file was opened %d times", outside);
	victim_unchanged("the hard-link race");
}
END_TEST

/*
 * The rename race: while the store opens, appends, reads and rotates, another
 * process keeps putting a link to the outside file under each name this code
 * opens or renames (atomically, by rename). Whatever fails, the outside file
 * never changes. (LMDB's own two files are opened by path: for them, a root
 * acctl acts as the directory's owner, tests/integration/datadir-links.sh.)
 */
START_TEST(rename_race)
{
	static const char *const names[] = { "sync.lock", AC_JOURNAL_FILE, AC_JOURNAL_FILE ".next",
		AC_JOURNAL_FILE ".lock" };
	struct ac_store *st;
	char body[64];
	pid_t pid;
	int i, status, opened = 0;

	fresh_dir();
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ac_store_close(st);
	if ((pid = fork()) == 0) {
		char tmp[128], p[256];
		unsigned k;

		snprintf(tmp, sizeof(tmp), "%s/.planting", dir);
		for (k = 0;; k++) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[k % 4]);
			unlink(tmp);
			if ((k / 4) % 2 ? link(victim, tmp) : symlink(victim, tmp))
				continue;
			rename(tmp, p);
			if (k % 3 == 0)
				unlink(p); /* and let the store create it again */
		}
	}
	ck_assert_int_gt(pid, 0);
	ac_inbox_set_rotate_bytes(1);
	for (i = 0; i < 300; i++) {
		size_t n = 0;

		if (ac_store_open(dir, 0, 0, &st) != AC_OK)
			continue;
		opened++;
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		(void)intake_one(st, body);
		(void)ac_inbox_ingest(st, 0, &n);
		ac_store_close(st);
	}
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ac_inbox_set_rotate_bytes(0);
	victim_unchanged("the rename race");
	nothing_created_outside("the rename race");
	fprintf(stderr, "# rename race: the store opened %d times of 300\n", opened);
}
END_TEST

static Suite *
datadir_suite(void)
{
	Suite *s = suite_create("datadir");
	TCase *tc = tcase_create("datadir");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, store_refuses_planted_links);
	tcase_add_test(tc, journal_refuses_planted_links);
	tcase_add_test(tc, dir_symlink_and_writable_refused);
	tcase_add_test(tc, foreign_owner_and_becoming_the_owner);
	tcase_add_test(tc, hard_link_race);
	tcase_add_test(tc, rename_race);
	tcase_add_test(tc, parent_link_changed);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(datadir_suite)
