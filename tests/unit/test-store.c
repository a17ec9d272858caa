/* test-store.c: the LMDB environment: permissions, schema, aborts, growth, two processes. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	rmdir(dir); /* the store creates it */
}

static void
teardown(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sync.lock", dir);
	unlink(p);
	rmdir(dir);
}

struct kv {
	const char *key;
	const char *val;
	size_t vlen;
	enum ac_err then;   /* what the write function returns after putting */
	char got[64];
};

static enum ac_err
put_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct kv *kv = ctx;
	MDB_val k = { strlen(kv->key), (void *)kv->key }, v = { kv->vlen, (void *)kv->val };
	int rc = mdb_put(txn, ac_store_dbi(st, AC_DB_TENANTS), &k, &v, 0);

	if (rc)
		return ac_store_mdb_err(rc, "mdb_put");
	return kv->then;
}

static enum ac_err
get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct kv *kv = ctx;
	MDB_val k = { strlen(kv->key), (void *)kv->key }, v;
	int rc = mdb_get(txn, ac_store_dbi(st, AC_DB_TENANTS), &k, &v);

	if (rc == MDB_NOTFOUND)
		return AC_ERR_NOT_FOUND;
	if (rc)
		return ac_store_mdb_err(rc, "mdb_get");
	snprintf(kv->got, sizeof(kv->got), "%.*s", (int)v.mv_size, (const char *)v.mv_data);
	return AC_OK;
}

static void
put(struct ac_store *st, const char *key, const char *val)
{
	struct kv kv = { key, val, strlen(val), AC_OK, "" };

	ck_assert_int_eq(ac_store_write(st, put_fn, &kv), AC_OK);
}

static enum ac_err
get(struct ac_store *st, const char *key, char *out)
{
	struct kv kv = { key, NULL, 0, AC_OK, "" };
	enum ac_err err = ac_store_read(st, get_fn, &kv);

	if (err == AC_OK)
		memcpy(out, kv.got, sizeof(kv.got));
	return err;
}

START_TEST(open_creates_private_files)
{
	struct ac_store *st;
	struct stat sb;
	char p[128];

	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0077, 0);
	ac_store_close(st);
}
END_TEST

START_TEST(existing_dir_tightened)
{
	struct ac_store *st;
	struct stat sb;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	chmod(dir, 0755);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	ac_store_close(st);
}
END_TEST

static enum ac_err
schema_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	MDB_val k = { 6, (void *)"schema" }, v;
	char *out = ctx;
	int rc;

	if (out[0] == '\0') {
		if ((rc = mdb_get(txn, ac_store_dbi(st, AC_DB_META), &k, &v)) != 0)
			return AC_ERR_STORE;
		snprintf(out, 16, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
		return AC_OK;
	}
	v.mv_data = out;
	v.mv_size = strlen(out);
	return mdb_put(txn, ac_store_dbi(st, AC_DB_META), &k, &v, 0) ? AC_ERR_STORE : AC_OK;
}

START_TEST(schema_recorded_and_checked)
{
	struct ac_store *st;
	char ver[16] = "";

	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_int_eq(ac_store_read(st, schema_fn, ver), AC_OK);
	ck_assert_int_eq(atoi(ver), AC_STORE_SCHEMA);
	/* a store written by a newer build is refused, not misread */
	snprintf(ver, sizeof(ver), "%d", AC_STORE_SCHEMA + 1);
	ck_assert_int_eq(ac_store_write(st, schema_fn, ver), AC_OK);
	ac_store_close(st);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_ERR_STORE);
}
END_TEST

START_TEST(write_read_and_abort)
{
	struct ac_store *st;
	struct kv bad = { "k", "changed", 7, AC_ERR_BAD_REQUEST, "" };
	char out[64];

	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_int_eq(get(st, "k", out), AC_ERR_NOT_FOUND);
	put(st, "k", "v1");
	ck_assert_int_eq(get(st, "k", out), AC_OK);
	ck_assert_str_eq(out, "v1");
	/* a refused write leaves the store exactly as it was */
	ck_assert_int_eq(ac_store_write(st, put_fn, &bad), AC_ERR_BAD_REQUEST);
	ck_assert_int_eq(get(st, "k", out), AC_OK);
	ck_assert_str_eq(out, "v1");
	ac_store_close(st);
	/* and it is there for the next process */
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_RDONLY, &st), AC_OK);
	ck_assert_int_eq(get(st, "k", out), AC_OK);
	ck_assert_str_eq(out, "v1");
	ck_assert_int_eq(ac_store_write(st, put_fn, &bad), AC_ERR_INVALID);
	ac_store_close(st);
}
END_TEST

START_TEST(rdonly_missing_store)
{
	struct ac_store *st;

	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_RDONLY, &st), AC_ERR_STORE);
}
END_TEST

START_TEST(map_grows_when_full)
{
	struct ac_store *st;
	static char big[256 * 1024];
	char key[32], out[64];
	int i;

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(ac_store_open(dir, 1 << 20, AC_STORE_NOSYNC, &st), AC_OK);
	for (i = 0; i < 40; i++) {
		struct kv kv = { key, big, sizeof(big), AC_OK, "" };

		snprintf(key, sizeof(key), "big-%d", i);
		ck_assert_int_eq(ac_store_write(st, put_fn, &kv), AC_OK);
	}
	ck_assert_uint_gt(ac_store_map_size(st), 8u << 20);
	ck_assert_int_eq(get(st, "big-0", out), AC_OK);
	ac_store_close(st);
	/* another process opening with a small map adopts the grown size */
	ck_assert_int_eq(ac_store_open(dir, 1 << 20, 0, &st), AC_OK);
	ck_assert_int_eq(get(st, "big-39", out), AC_OK);
	ac_store_close(st);
}
END_TEST

static void
writer(const char *prefix, int n)
{
	struct ac_store *st;
	char key[32];
	int i;

	if (ac_store_open(dir, 0, 0, &st) != AC_OK)
		_exit(3);
	for (i = 0; i < n; i++) {
		struct kv kv = { key, "v", 1, AC_OK, "" };

		snprintf(key, sizeof(key), "%s-%d", prefix, i);
		if (ac_store_write(st, put_fn, &kv) != AC_OK)
			_exit(4);
	}
	ac_store_close(st);
}

static enum ac_err
count_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	MDB_stat s;

	mdb_stat(txn, ac_store_dbi(st, AC_DB_TENANTS), &s);
	*(size_t *)ctx = s.ms_entries;
	return AC_OK;
}

START_TEST(two_processes)
{
	struct ac_store *st;
	pid_t a, b;
	int status;
	size_t n = 0;

	/* create first, then fork: each child opens its own environment */
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ac_store_close(st);
	if ((a = fork()) == 0) {
		writer("a", 300);
		_exit(0);
	}
	if ((b = fork()) == 0) {
		writer("b", 300);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(a, &status, 0), a);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(waitpid(b, &status, 0), b);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ck_assert_int_eq(ac_store_read(st, count_fn, &n), AC_OK);
	ck_assert_uint_eq(n, 600);
	ac_store_close(st);
}
END_TEST

static pid_t dead_pid;
static int dead_seen;

static int
reader_line(const char *msg, void *ctx)
{
	char pid[32];

	(void)ctx;
	snprintf(pid, sizeof(pid), " %d ", (int)dead_pid);
	if (strstr(msg, pid))
		dead_seen = 1;
	return 0;
}

START_TEST(stale_readers_cleared)
{
	struct ac_store *st;
	int status, fds[2];
	char c;

	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	ac_store_close(st);
	ck_assert_int_eq(pipe(fds), 0);
	if ((dead_pid = fork()) == 0) {
		MDB_txn *txn;

		if (ac_store_open(dir, 0, 0, &st) != AC_OK)
			_exit(3);
		mdb_txn_begin(ac_store_env(st), NULL, MDB_RDONLY, &txn);
		if (write(fds[1], "r", 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	kill(dead_pid, SIGKILL);
	waitpid(dead_pid, &status, 0);
	ck_assert_int_eq(ac_store_open(dir, 0, 0, &st), AC_OK);
	dead_seen = 0;
	mdb_reader_list(ac_store_env(st), reader_line, NULL);
	ck_assert_int_eq(dead_seen, 0);
	ac_store_close(st);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_creates_private_files);
	tcase_add_test(tc, existing_dir_tightened);
	tcase_add_test(tc, schema_recorded_and_checked);
	tcase_add_test(tc, write_read_and_abort);
	tcase_add_test(tc, rdonly_missing_store);
	tcase_add_test(tc, map_grows_when_full);
	tcase_add_test(tc, two_processes);
	tcase_add_test(tc, stale_readers_cleared);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
