/* store.h: the one LMDB environment shared by every program and worker (design.md "State"). */
#ifndef AC_STORE_H
#define AC_STORE_H

#include <stddef.h>

#include <lmdb.h>

#include "base/conf.h"
#include "base/err.h"

/* The named databases. */
enum ac_db {
	AC_DB_TENANTS,      /* clientKey -> tenant record */
	AC_DB_INSTALL_KEYS, /* kid -> PEM public key, fetched at */
	AC_DB_TOKENS,       /* clientKey (+ scope/user) -> access token, expires at */
	AC_DB_INBOX,        /* sequence -> accepted event */
	AC_DB_DELIVERIES,   /* delivery id -> sequence (dedupe) */
	AC_DB_DEAD,         /* events that failed every retry */
	AC_DB_META,         /* "schema" -> version */
	AC_DB_NOTES,        /* handler bookkeeping (e.g. "comment posted for this PR title") */
	/*
	 * Added with schema 2, no version of its own: a writer creates it, a
	 * read-only open of an older store does without it (ac_store_dbi() then
	 * gives a handle LMDB refuses with EINVAL), an older build ignores it.
	 */
	AC_DB_LIFECYCLE_SEEN, /* exp (8 bytes, big-endian) + SHA-256 of an accepted lifecycle token -> its use */
	AC_DB__COUNT
};

/*
 * The schema version this build writes; a store with a newer one is refused
 * ("the store has schema version ..."), an older one is read and, when opened
 * writable, marked with this one. 2: inbox records name their lease's owner
 * (inbox.c record version 2; version 1 records are still read).
 */
#define AC_STORE_SCHEMA 2

struct ac_store;

enum ac_store_flags {
	AC_STORE_NOSYNC = 1 << 0,   /* AC_SYNC=off: no flush after commit */
	AC_STORE_RDONLY = 1 << 1,   /* open for reading only (acctl inspection) */
	AC_STORE_SYNC_EACH = 1 << 2,/* AC_SYNC=each: one flush per commit, no sharing (for comparison) */
};

/*
 * Opens (creating when absent: directory 0700, files 0600) the environment in
 * dir, creates the named databases, checks or records the schema version and
 * clears stale reader slots. map_size is the initial map in bytes (0: 64 MiB);
 * it grows on MDB_MAP_FULL. Call after any fork. A data.mdb shorter than its
 * last commit needs (truncated) is AC_ERR_STORE_DAMAGED, here and before any
 * later transaction, instead of SIGBUS; a full disk is AC_ERR_STORE_FULL. *out is freed with
 * ac_store_close(). Errors are logged with mdb_strerror().
 */
enum ac_err ac_store_open(const char *dir, size_t map_size, unsigned flags, struct ac_store **out);

/* The ac_store_open() flags for the settings' AC_SYNC. */
unsigned ac_store_conf_flags(const struct ac_conf *conf);

/* Closes; NULL is a no-op. No transaction may be open. */
void ac_store_close(struct ac_store *st);

/* Borrowed, for the modules built on the store (tenant.c, inbox.c ...). */
MDB_env *ac_store_env(struct ac_store *st);

MDB_dbi ac_store_dbi(const struct ac_store *st, enum ac_db db);

/* The intake journal beside the environment (journal.h); NULL when opened read-only. */
struct ac_journal *ac_store_journal(struct ac_store *st);

/*
 * Runs fn in one write transaction and commits it; on MDB_MAP_FULL grows the
 * map and runs fn again from scratch (so fn must not keep state across
 * calls). fn returns AC_OK to commit, anything else to abort (the store is
 * then exactly as it was) and that value is returned. After the commit,
 * unless AC_STORE_NOSYNC, the data is flushed outside the write lock
 * (group commit: concurrent writers share the flush).
 */
enum ac_err ac_store_write(struct ac_store *st,
    enum ac_err (*fn)(MDB_txn *txn, struct ac_store *st, void *ctx), void *ctx);

/* Runs fn in a read-only transaction; MDB_vals it sees die when fn returns. */
enum ac_err ac_store_read(struct ac_store *st,
    enum ac_err (*fn)(MDB_txn *txn, struct ac_store *st, void *ctx), void *ctx);

/* Maps an LMDB return code to ac_err, logging what failed (what: "mdb_put tenants"). */
enum ac_err ac_store_mdb_err(int rc, const char *what);

/*
 * Whether data.mdb or lock.mdb was removed or replaced while st was open
 * (found at a transaction's start, which then fails AC_ERR_STORE_DAMAGED,
 * logged): only a process that opens the store again uses the files there
 * now. A long-running process under a supervisor exits to be started again.
 */
int ac_store_stale(const struct ac_store *st);

/* The map size in bytes now (grows with use). */
size_t ac_store_map_size(struct ac_store *st);

/* Tests only: called in ac_store_open() between opening the environment and its first transaction. */
extern void (*ac_store_test_open_hook)(const char *dir);

#endif
