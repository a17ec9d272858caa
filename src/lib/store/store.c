/* store.c: the LMDB environment: open, named databases, schema, map growth, group commit. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "base/datadir.h"
#include "store/journal.h"
#include "base/log.h"
#include "store/store-lmdb.h"
#include "store/store-pg.h"

#define DEFAULT_MAP (64u << 20)
/* Map growth stops here: a store this large is a problem for its operator. */
#define MAX_MAP ((size_t)1 << 40)
#define MAX_GROW_TRIES 12

struct ac_store {
	MDB_env *env;
	MDB_dbi dbi[AC_DB__COUNT];
	unsigned flags;
	size_t map_size;
	unsigned psize;             /* LMDB's page size, for the file size check */
	int sync_fd;                /* sync.lock: the flush lock and the last flushed txn id */
	volatile uint64_t *synced;  /* mapped from sync.lock, shared by every process */
	struct ac_journal *journal; /* the intake journal beside data.mdb (not when read-only) */
	int lock_fd;                /* lock.mdb as LMDB opened it: removed (no link left) means stale */
	int stale;                  /* data.mdb or lock.mdb was removed or replaced under this process */
	struct ac_pg *pg;           /* AC_STORE=postgres: the connection, and nothing above is used */
};

static const char *const db_names[AC_DB__COUNT] = {
	[AC_DB_TENANTS] = "tenants",
	[AC_DB_INSTALL_KEYS] = "install_keys",
	[AC_DB_TOKENS] = "tokens",
	[AC_DB_INBOX] = "inbox",
	[AC_DB_DELIVERIES] = "deliveries",
	[AC_DB_DEAD] = "dead",
	[AC_DB_META] = "meta",
	[AC_DB_NOTES] = "notes",
	[AC_DB_LIFECYCLE_SEEN] = "lifecycle_seen",
	[AC_DB_FORGE] = "forge",
};

enum ac_err
ac_store_mdb_err(int rc, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return AC_OK;
	case MDB_MAP_FULL:
		return AC_ERR_STORE_FULL;
	case ENOMEM:
		ac_log_error("%s: %s", what, mdb_strerror(rc));
		return AC_ERR_NOMEM;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		/* the disk, not the map: growing the map cannot help, freeing space can */
		ac_log_error("%s: %s: the file system holding the store is full (free space there; clients are "
		    "answered 503 and retry)", what, mdb_strerror(rc));
		return AC_ERR_STORE_FULL;
	default:
		ac_log_error("%s: %s", what, mdb_strerror(rc));
		return AC_ERR_STORE;
	}
}

/* mkdir -p with 0700 for what it creates (ac_datadir_open() tightens an existing data dir to 0700). */
static enum ac_err
make_dir(const char *dir)
{
	char *p, *copy;

	if ((copy = strdup(dir)) == NULL)
		return AC_ERR_NOMEM;
	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			ac_log_error("mkdir %s: %s", copy, strerror(errno));
			free(copy);
			return AC_ERR_IO;
		}
		*p = '/';
	}
	free(copy);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		ac_log_error("mkdir %s: %s", dir, strerror(errno));
		return AC_ERR_IO;
	}
	return AC_OK;
}

static enum ac_err begin(struct ac_store *st, unsigned flags, MDB_txn **txn);
struct run {
	enum ac_err err;
	int rc;      /* mdb_txn_commit's */
	uint64_t id; /* the transaction's */
};

static int run_guarded(struct ac_store *st, MDB_txn *txn, enum ac_err (*fn)(MDB_txn *, struct ac_store *, void *),
    void *ctx, int commit, struct run *r);

static enum ac_err
init_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	MDB_val k = { 6, (void *)"schema" }, v;
	int rc, i, rdonly = (st->flags & AC_STORE_RDONLY) != 0;
	char ver[16];

	(void)ctx;
	for (i = 0; i < AC_DB__COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], rdonly ? 0 : MDB_CREATE, &st->dbi[i]);
		if (rc == MDB_NOTFOUND && rdonly && i > AC_DB_NOTES) {
			/* added later (lifecycle_seen): an older store read as it is */
			st->dbi[i] = (MDB_dbi)-1;
			continue;
		}
		if (rc != 0)
			return ac_store_mdb_err(rc, db_names[i]);
	}
	rc = mdb_get(txn, st->dbi[AC_DB_META], &k, &v);
	if (rc == MDB_NOTFOUND && !rdonly) {
		int n = snprintf(ver, sizeof(ver), "%d", AC_STORE_SCHEMA);

		v.mv_data = ver;
		v.mv_size = (size_t)n;
		if ((rc = mdb_put(txn, st->dbi[AC_DB_META], &k, &v, 0)) != 0)
			return ac_store_mdb_err(rc, "mdb_put meta");
	} else if (rc == 0) {
		long have = 0;
		size_t j;

		for (j = 0; j < v.mv_size && j < 9; j++) {
			char c = ((const char *)v.mv_data)[j];
			if (c < '0' || c > '9')
				break;
			have = have * 10 + (c - '0');
		}
		if (j != v.mv_size || have < 1 || have > AC_STORE_SCHEMA) {
			ac_log_error("the store has schema version '%.*s'; this build reads %d",
			    (int)(v.mv_size > 16 ? 16 : v.mv_size), (const char *)v.mv_data, AC_STORE_SCHEMA);
			return AC_ERR_STORE;
		}
		/* an older store is read as it is and marked, so that older builds refuse it (store.h) */
		if (have < AC_STORE_SCHEMA && !rdonly) {
			int n = snprintf(ver, sizeof(ver), "%d", AC_STORE_SCHEMA);

			v.mv_data = ver;
			v.mv_size = (size_t)n;
			if ((rc = mdb_put(txn, st->dbi[AC_DB_META], &k, &v, 0)) != 0)
				return ac_store_mdb_err(rc, "mdb_put meta");
			ac_log_info("store schema version %ld upgraded to %d", have, AC_STORE_SCHEMA);
		}
	} else if (rc != MDB_NOTFOUND) {
		return ac_store_mdb_err(rc, "mdb_get meta");
	}
	return AC_OK;
}

static enum ac_err
init_dbs(struct ac_store *st)
{
	MDB_txn *txn;
	struct run r;
	enum ac_err err;

	/* through begin(): another process may have grown the map since we opened it (MDB_MAP_RESIZED) */
	if ((err = begin(st, st->flags & AC_STORE_RDONLY ? MDB_RDONLY : 0, &txn)) != AC_OK)
		return err;
	/* committed even read-only: an aborted transaction would close the handles it opened */
	if (!run_guarded(st, txn, init_fn, NULL, 1, &r) || r.err != AC_OK)
		return r.err;
	return r.rc ? ac_store_mdb_err(r.rc, "mdb_txn_commit") : AC_OK;
}

static enum ac_err
grow(struct ac_store *st)
{
	MDB_envinfo info;
	size_t next;
	int rc;

	mdb_env_info(st->env, &info);
	next = info.me_mapsize * 2;
	if (next > MAX_MAP) {
		ac_log_error("the store is full at %zu bytes and will not grow further", info.me_mapsize);
		return AC_ERR_STORE_FULL;
	}
	if ((rc = mdb_env_set_mapsize(st->env, next)) != 0)
		return ac_store_mdb_err(rc, "mdb_env_set_mapsize");
	st->map_size = next;
	ac_log_info("store map grown to %zu MiB", next >> 20);
	return AC_OK;
}

/* Another process grew the map: adopt its size (LMDB: set_mapsize 0). */
static enum ac_err
adopt_size(struct ac_store *st)
{
	MDB_envinfo info;
	int rc;

	if ((rc = mdb_env_set_mapsize(st->env, 0)) != 0)
		return ac_store_mdb_err(rc, "mdb_env_set_mapsize");
	mdb_env_info(st->env, &info);
	st->map_size = info.me_mapsize;
	return AC_OK;
}

/*
 * LMDB maps data.mdb and reads pages through the map: a page past the end of
 * a file truncated (or restored from a partial copy) kills the process with
 * SIGBUS. The file's size alone cannot tell: a commit may name pages it
 * allocated and freed without writing them (the file is then legitimately
 * shorter than its last page number says). So every transaction runs under
 * a guard: SIGBUS while it runs ends it (aborted) with AC_ERR_STORE_DAMAGED
 * (503), and a line, once a minute, says what happened. Outside a guarded
 * transaction SIGBUS kills as before. The two meta pages that every
 * transaction begins with are checked by size (LMDB writes both at creation).
 */
static __thread sigjmp_buf *bus_jmp;

static void
on_bus(int sig)
{
	(void)sig;
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	/* not in a transaction: die of it as without this handler (the access runs again) */
	signal(SIGBUS, SIG_DFL);
}

static void
guard_install(void)
{
	static int done;
	struct sigaction sa;

	if (done)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sigemptyset(&sa.sa_mask);
	/* SA_NODEFER: after the jump SIGBUS is not left blocked (sigsetjmp saves no mask: no system call) */
	sa.sa_flags = SA_NODEFER;
	if (sigaction(SIGBUS, &sa, NULL) == 0)
		done = 1;
}

static enum ac_err
damaged(struct ac_store *st, const char *what)
{
	static time_t said;
	struct stat sb;
	int fd;

	if (time(NULL) - said >= 60) {
		long long size = mdb_env_get_fd(st->env, &fd) == 0 && fstat(fd, &sb) == 0 ? (long long)sb.st_size : -1;

		ac_log_error("data.mdb (%lld bytes) %s: the file was truncated or restored from a partial copy. "
		    "Requests are answered 503 (store_damaged); stop the programs and restore the data directory "
		    "from a backup (acctl(1), DAMAGE)", size, what);
		said = time(NULL);
	}
	return AC_ERR_STORE_DAMAGED;
}

/*
 * LMDB takes an empty data.mdb for a new store and starts one over it. It
 * is empty only between its creation and LMDB's first write of its meta
 * pages, before sync.lock (or the intake journal) is made: a store that has
 * them and an empty data.mdb was emptied (truncated, a failed copy), and
 * starting anew would drop every tenant without a word.
 */
static int
emptied(int dfd, const char *dir)
{
	static const char *const beside[] = { "sync.lock", AC_JOURNAL_FILE };
	struct stat sb;
	size_t i;

	if (fstatat(dfd, "data.mdb", &sb, AT_SYMLINK_NOFOLLOW) != 0 || sb.st_size != 0)
		return 0;
	for (i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
		if (fstatat(dfd, beside[i], &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			ac_log_error("%s/data.mdb is empty in a store that was in use (%s is there): truncated or a failed "
			    "copy. Not started anew over it: restore the data directory from a backup (acctl(1), DAMAGE)",
			    dir, beside[i]);
			return 1;
		}
	}
	return 0;
}

/* Both meta pages in the file: LMDB reads them at every transaction's start. */
static enum ac_err
check_size(struct ac_store *st)
{
	struct stat sb;
	int fd;

	if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0 || (uint64_t)sb.st_size >= 2 * (uint64_t)st->psize)
		return AC_OK;
	return damaged(st, "is shorter than its two meta pages");
}

/*
 * data.mdb or lock.mdb removed (or replaced: restored, copied over) while
 * this process has them open: the processes that open the store now use
 * other files. With another lock.mdb, two writers hold two write locks at
 * once and corrupt data.mdb; with another data.mdb, what this process
 * writes is lost. Nothing more is read or written here; a fresh process
 * (the supervisor starts one, ac_store_stale()) opens the files there now.
 */
static enum ac_err
check_files(struct ac_store *st)
{
	static time_t said;
	const char *what = NULL;
	struct stat sb;
	int fd;

	if (!st->stale) {
		if (mdb_env_get_fd(st->env, &fd) == 0 && fstat(fd, &sb) == 0 && sb.st_nlink == 0)
			what = "data.mdb";
		else if (st->lock_fd >= 0 && fstat(st->lock_fd, &sb) == 0 && sb.st_nlink == 0)
			what = "lock.mdb";
		else
			return AC_OK;
		st->stale = 1;
	}
	if (time(NULL) - said >= 60) {
		ac_log_error("%s was removed or replaced while this process had the store open: processes "
		    "started now use other files (two lock tables corrupt data.mdb; writes to a removed "
		    "data.mdb are lost). Requests are answered 503 (store_damaged) until this process is "
		    "started again (acctl(1), DAMAGE)", what ? what : "data.mdb or lock.mdb");
		said = time(NULL);
	}
	return AC_ERR_STORE_DAMAGED;
}

int
ac_store_stale(const struct ac_store *st)
{
	return st != NULL && st->stale;
}

/* Once the environment is open, before its first transaction: the page size, the meta pages, the guard. */
static enum ac_err
guard_open(struct ac_store *st)
{
	MDB_stat ms;

	/* opened: LMDB read both meta pages, so they are in the file; what follows them may not be */
	if (mdb_env_stat(st->env, &ms) == 0)
		st->psize = ms.ms_psize;
	if (st->psize == 0)
		st->psize = (unsigned)sysconf(_SC_PAGESIZE);
	guard_install();
	return check_size(st);
}

/*
 * fn in txn, then (commit, and fn said AC_OK) mdb_txn_commit, else abort;
 * under the SIGBUS guard. 0 when a page past the end of the file ended it.
 */
static int
run_guarded(struct ac_store *st, MDB_txn *txn, enum ac_err (*fn)(MDB_txn *, struct ac_store *, void *), void *ctx,
    int commit, struct run *r)
{
	sigjmp_buf jb, *outer = bus_jmp;

	r->rc = 0;
	r->id = 0;
	if (sigsetjmp(jb, 0) != 0) {
		bus_jmp = outer;
		mdb_txn_abort(txn);
		r->err = damaged(st, "holds fewer pages than the store names (SIGBUS reading one)");
		return 0;
	}
	bus_jmp = &jb;
	r->err = fn(txn, st, ctx);
	if (r->err != AC_OK || !commit) {
		mdb_txn_abort(txn);
	} else {
		r->id = (uint64_t)mdb_txn_id(txn);
		r->rc = mdb_txn_commit(txn);
	}
	bus_jmp = outer;
	return 1;
}

/*
 * LMDB answers a write that stopped part-way (the disk filled up during it)
 * with EIO: whether the file system has room says which it was.
 */
static int
disk_full(struct ac_store *st)
{
	struct statvfs vs;
	int fd;

	return mdb_env_get_fd(st->env, &fd) == 0 && fstatvfs(fd, &vs) == 0 &&
	    (uint64_t)vs.f_bavail * vs.f_frsize < ((uint64_t)4 << 20);
}

/* Tests only: called in ac_store_open() between opening the environment and its first transaction. */
void (*ac_store_test_open_hook)(const char *dir);

/*
 * Group commit: a writer commits without flushing, then flushes
 * outside the write lock. A shared word in sync.lock records the newest
 * transaction a completed flush covered; a writer whose commit it already
 * covers returns at once, and a flush covers every commit made before it
 * started, so writers that commit while another flushes ride on that flush
 * or overlap theirs with it (the filesystem journal merges overlapping
 * flushes; a lock here would only serialise them).
 */
static enum ac_err
open_sync(struct ac_store *st, int dfd, const char *dir)
{
	struct stat sb;
	void *p;

	/* never through a planted link, and a file that is not ours is neither grown nor mapped */
	if ((st->sync_fd = ac_datadir_openat(dfd, dir, "sync.lock", O_RDWR, AC_DATADIR_CREATE)) < 0) {
		ac_log_error("open %s/sync.lock: %s", dir, strerror(errno));
		return AC_ERR_IO;
	}
	if (fstat(st->sync_fd, &sb) != 0 ||
	    ((uint64_t)sb.st_size < sizeof(uint64_t) * 8 && ftruncate(st->sync_fd, sizeof(uint64_t) * 8) != 0) ||
	    (p = mmap(NULL, sizeof(uint64_t) * 8, PROT_READ | PROT_WRITE, MAP_SHARED, st->sync_fd, 0)) == MAP_FAILED) {
		ac_log_error("map %s/sync.lock: %s", dir, strerror(errno));
		close(st->sync_fd);
		st->sync_fd = -1;
		return AC_ERR_IO;
	}
	st->synced = p;
	return AC_OK;
}

static enum ac_err
group_flush(struct ac_store *st, uint64_t mine)
{
	MDB_envinfo info;
	uint64_t covered, seen;
	int rc;

	if (st->synced && !(st->flags & AC_STORE_SYNC_EACH) &&
	    __atomic_load_n(st->synced, __ATOMIC_ACQUIRE) >= mine)
		return AC_OK;
	/* everything committed up to now goes in this flush */
	mdb_env_info(st->env, &info);
	covered = (uint64_t)info.me_last_txnid;
	if ((rc = mdb_env_sync(st->env, 1)) != 0)
		return ac_store_mdb_err(rc, "mdb_env_sync");
	if (st->synced) {
		seen = __atomic_load_n(st->synced, __ATOMIC_ACQUIRE);
		while (seen < covered &&
		    !__atomic_compare_exchange_n(st->synced, &seen, covered, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			;
	}
	return AC_OK;
}

/*
 * An operator running acctl as root on the app's data directory must not
 * leave files the app (its unprivileged owner) can no longer open. Each is
 * opened without following links and changed through its descriptor, and
 * only when it is a regular file with no other link: never a file elsewhere
 * that a planted name leads to. (acctl acts as the directory's owner, see
 * ac_datadir_become_owner(): this is for root-run programs that do not.)
 */
static void
give_to_dir_owner(int dfd, const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "sync.lock", AC_JOURNAL_FILE };
	struct stat d, f;
	size_t i;

	if (geteuid() != 0 || fstat(dfd, &d) != 0 || d.st_uid == 0)
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd = openat(dfd, files[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

		if (fd < 0)
			continue;
		if (fstat(fd, &f) == 0 && S_ISREG(f.st_mode) && f.st_nlink == 1 && f.st_uid != d.st_uid &&
		    fchown(fd, d.st_uid, d.st_gid) != 0)
			ac_log_warn("chown %s/%s: %s", dir, files[i], strerror(errno));
		close(fd);
	}
}

/*
 * What LMDB opened as data.mdb, checked through its descriptor: the name may
 * have changed since it was looked at. One root just created is given to
 * the directory's owner by give_to_dir_owner().
 */
static enum ac_err
check_data_file(struct ac_store *st, int dfd, const char *dir, uid_t owner)
{
	struct stat f;
	int fd;

	if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &f) != 0)
		return AC_ERR_STORE;
	if (geteuid() == 0 && f.st_uid == 0)
		owner = 0;
	return ac_datadir_usable(dfd, fd, dir, "data.mdb", owner) == 0 ? AC_OK : AC_ERR_STORE;
}

enum ac_err
ac_store_open(const char *dir, size_t map_size, unsigned flags, struct ac_store **out)
{
	struct ac_store *st;
	unsigned envflags = MDB_NOSYNC;
	int rc, dead = 0, dfd;
	enum ac_err err;
	struct stat sb;
	char at[64];

	if (flags & AC_STORE_RDONLY) {
		if (stat(dir, &sb) != 0) {
			ac_log_error("no store at %s: %s", dir, strerror(errno));
			return AC_ERR_STORE;
		}
	} else if ((err = make_dir(dir)) != AC_OK) {
		return err;
	}
	/*
	 * Every file here is opened relative to the directory, without
	 * following links; LMDB opens its two by path, so they are looked at
	 * first (the race that leaves is why a root acctl acts as the owner).
	 */
	if ((dfd = ac_datadir_open(dir, !(flags & AC_STORE_RDONLY), &sb)) < 0)
		return AC_ERR_STORE;
	if ((err = ac_datadir_check(dfd, dir, "data.mdb")) != AC_OK ||
	    (err = ac_datadir_check(dfd, dir, "lock.mdb")) != AC_OK) {
		close(dfd);
		return err;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		close(dfd);
		return AC_ERR_NOMEM;
	}
	st->flags = flags;
	st->sync_fd = -1;
	st->lock_fd = -1;
	st->map_size = map_size ? map_size : DEFAULT_MAP;
	if ((rc = mdb_env_create(&st->env)) != 0) {
		free(st);
		close(dfd);
		return ac_store_mdb_err(rc, "mdb_env_create");
	}
	mdb_env_set_maxdbs(st->env, AC_DB__COUNT + 4);
	mdb_env_set_maxreaders(st->env, 512);
	mdb_env_set_mapsize(st->env, st->map_size);
	/*
	 * MDB_NOSYNC always: a commit does not flush while holding the write
	 * lock; ac_store_write() flushes after it, so writers share flushes.
	 */
	if (flags & AC_STORE_RDONLY)
		envflags |= MDB_RDONLY;
	if (emptied(dfd, dir)) {
		err = AC_ERR_STORE_DAMAGED;
		goto fail;
	}
	if ((rc = mdb_env_open(st->env, ac_datadir_fd_path(dfd, dir, at, sizeof(at)), envflags, 0600)) != 0) {
		err = ac_store_mdb_err(rc, dir);
		goto fail;
	}
	if ((err = check_data_file(st, dfd, dir, sb.st_uid)) != AC_OK)
		goto fail;
	/* LMDB's lock.mdb, as it is now (just opened by LMDB): for check_files(); closed only after LMDB's */
	st->lock_fd = openat(dfd, "lock.mdb", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	/* a process killed inside a read transaction leaves its slot behind */
	if (mdb_reader_check(st->env, &dead) == 0 && dead > 0)
		ac_log_info("cleared %d stale reader slot(s)", dead);

	if ((err = guard_open(st)) != AC_OK)
		goto fail;
	if ((err = adopt_size(st)) != AC_OK)
		goto fail;
	if (ac_store_test_open_hook)
		ac_store_test_open_hook(dir);
	if ((err = init_dbs(st)) != AC_OK)
		goto fail;
	if (!(flags & (AC_STORE_RDONLY | AC_STORE_NOSYNC)) && (err = open_sync(st, dfd, dir)) != AC_OK)
		goto fail;
	if ((flags & AC_STORE_NOSYNC) && !(flags & AC_STORE_RDONLY)) {
		/* unused for flushes, but the mark that this store was in use: emptied() */
		int fd = ac_datadir_openat(dfd, dir, "sync.lock", O_RDONLY, AC_DATADIR_CREATE);

		if (fd < 0) {
			err = AC_ERR_IO;
			goto fail;
		}
		close(fd);
	}
	/* the journal's group flush uses the second shared word (the first is LMDB's) */
	if (!(flags & AC_STORE_RDONLY) &&
	    (err = ac_journal_open(dir, dfd, flags & AC_STORE_NOSYNC ? AC_JOURNAL_SYNC_OFF
	    : flags & AC_STORE_SYNC_EACH ? AC_JOURNAL_SYNC_EACH : AC_JOURNAL_SYNC_GROUP,
	    st->synced ? st->synced + 1 : NULL, &st->journal)) != AC_OK)
		goto fail;
	give_to_dir_owner(dfd, dir);
	close(dfd);
	*out = st;
	return AC_OK;
fail:
	close(dfd);
	if (st->synced)
		munmap((void *)st->synced, sizeof(uint64_t) * 8);
	if (st->sync_fd >= 0)
		close(st->sync_fd);
	mdb_env_close(st->env);
	/* after LMDB's: closing any descriptor of lock.mdb drops this process's fcntl locks on it */
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st);
	return err;
}

struct ac_pg *
ac_store_pg(const struct ac_store *st)
{
	return st->pg;
}

enum ac_err
ac_store_open_conf(const struct ac_conf *conf, unsigned flags, struct ac_store **out)
{
	struct ac_store *st;
	enum ac_err err;

	if (conf->store != AC_STORE_POSTGRES)
		return ac_store_open(conf->data_dir, (size_t)conf->map_size_mb << 20, flags, out);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return AC_ERR_NOMEM;
	st->flags = flags;
	st->sync_fd = -1;
	st->lock_fd = -1;
	if ((err = ac_pg_open(conf->database_url, flags, &st->pg)) != AC_OK) {
		free(st);
		return err;
	}
	*out = st;
	return AC_OK;
}

void
ac_store_close(struct ac_store *st)
{
	if (st == NULL)
		return;
	if (st->pg != NULL) {
		ac_pg_close(st->pg);
		free(st);
		return;
	}
	ac_journal_close(st->journal);
	if (st->synced)
		munmap((void *)st->synced, sizeof(uint64_t) * 8);
	if (st->sync_fd >= 0)
		close(st->sync_fd);
	mdb_env_close(st->env);
	/* after LMDB's: closing any descriptor of lock.mdb drops this process's fcntl locks on it */
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st);
}

struct ac_journal *
ac_store_journal(struct ac_store *st)
{
	return st->journal;
}

MDB_env *
ac_store_env(struct ac_store *st)
{
	return st->env;
}

MDB_dbi
ac_store_dbi(const struct ac_store *st, enum ac_db db)
{
	return st->dbi[db];
}

size_t
ac_store_map_size(struct ac_store *st)
{
	MDB_envinfo info;

	if (st->pg != NULL)
		return 0;
	mdb_env_info(st->env, &info);
	return info.me_mapsize;
}

static enum ac_err
begin(struct ac_store *st, unsigned flags, MDB_txn **txn)
{
	enum ac_err err;
	int rc, tries;

	if ((err = check_size(st)) != AC_OK || (err = check_files(st)) != AC_OK)
		return err;
	/* bounded: each MDB_MAP_RESIZED adopts the size another process grew the map to, and it may grow again */
	for (tries = 0; tries < 8; tries++) {
		rc = mdb_txn_begin(st->env, NULL, flags, txn);
		if (rc == MDB_MAP_RESIZED) {
			if ((err = adopt_size(st)) != AC_OK)
				return err;
			continue;
		}
		if (rc == MDB_READERS_FULL) {
			int dead = 0;
			mdb_reader_check(st->env, &dead);
			if (dead > 0)
				continue;
		}
		return ac_store_mdb_err(rc, "mdb_txn_begin");
	}
	return ac_store_mdb_err(rc, "mdb_txn_begin");
}

enum ac_err
ac_store_write(struct ac_store *st, enum ac_err (*fn)(MDB_txn *, struct ac_store *, void *), void *ctx)
{
	MDB_txn *txn;
	struct run r;
	enum ac_err err;
	int tries;

	if (st->flags & AC_STORE_RDONLY)
		return AC_ERR_INVALID;
	for (tries = 0; tries < MAX_GROW_TRIES; tries++) {
		if ((err = begin(st, 0, &txn)) != AC_OK)
			return err;
		if (!run_guarded(st, txn, fn, ctx, 1, &r))
			return r.err;
		if (r.err != AC_OK) {
			if (r.err == AC_ERR_STORE_FULL && grow(st) == AC_OK)
				continue;
			return r.err;
		}
		if (r.rc == MDB_MAP_FULL) {
			if (grow(st) == AC_OK)
				continue;
			return AC_ERR_STORE_FULL;
		}
		if (r.rc == EIO && disk_full(st))
			r.rc = ENOSPC;
		if (r.rc != 0)
			return ac_store_mdb_err(r.rc, "mdb_txn_commit");
		/*
		 * Group commit: the write lock is released; flushing here lets
		 * the writers that committed meanwhile ride on one fdatasync.
		 */
		if (!(st->flags & AC_STORE_NOSYNC))
			return group_flush(st, r.id);
		return AC_OK;
	}
	return AC_ERR_STORE_FULL;
}

enum ac_err
ac_store_read(struct ac_store *st, enum ac_err (*fn)(MDB_txn *, struct ac_store *, void *), void *ctx)
{
	MDB_txn *txn;
	struct run r;
	enum ac_err err;

	if ((err = begin(st, MDB_RDONLY, &txn)) != AC_OK)
		return err;
	run_guarded(st, txn, fn, ctx, 0, &r);
	return r.err;
}
