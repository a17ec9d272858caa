/*
 * store-lmdb.h: the LMDB backend's own header, for the files of src/lib/store
 * only (and the store's tests): the environment, the named databases and
 * transactions over MDB_txn. Everything else goes through store.h, which
 * names no LMDB type (tests/check-layers.sh).
 */
#ifndef AC_STORE_LMDB_H
#define AC_STORE_LMDB_H

#include <lmdb.h>

#include "store/store.h"

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
	/* Added like lifecycle_seen (schema 2 still): "i:" installation, "t:" its system token, "jwks", "jwks-fetch" */
	AC_DB_FORGE,
	AC_DB__COUNT
};
/* A transaction of store.h: the LMDB one and its store. */
struct ac_txn {
	MDB_txn *txn;
	struct ac_store *st;
};

/* Borrowed, for the modules built on the store (tenant.c, inbox.c ...). */
MDB_env *ac_store_env(struct ac_store *st);

MDB_dbi ac_store_dbi(const struct ac_store *st, enum ac_db db);

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

#endif
