/*
 * txn.c: store.h's transactions (struct ac_txn) over the LMDB ones of store-lmdb.h or PostgreSQL's
 * (pg.c), and the schema version.
 */
#include "config.h"

#include "store/store-lmdb.h"
#include "store/store-pg.h"

struct adapt {
	enum ac_err (*fn)(struct ac_txn *, void *);
	void *ctx;
};

static enum ac_err
adapt_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct adapt *a = ctx;
	struct ac_txn t = { txn, st };

	return a->fn(&t, a->ctx);
}

enum ac_err
ac_store_update(struct ac_store *st, enum ac_err (*fn)(struct ac_txn *, void *), void *ctx)
{
	struct adapt a = { fn, ctx };

	if (ac_store_pg(st))
		return ac_pg_txn(st, AC_PG_SERIAL, fn, ctx);
	return ac_store_write(st, adapt_fn, &a);
}

enum ac_err
ac_store_view(struct ac_store *st, enum ac_err (*fn)(struct ac_txn *, void *), void *ctx)
{
	struct adapt a = { fn, ctx };

	if (ac_store_pg(st))
		return ac_pg_txn(st, AC_PG_SNAPSHOT, fn, ctx);
	return ac_store_read(st, adapt_fn, &a);
}

static enum ac_err
schema_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	MDB_val k = { 6, (void *)"schema" }, v;
	int *version = ctx, rc = mdb_get(txn, ac_store_dbi(st, AC_DB_META), &k, &v);
	size_t i;

	*version = 0;
	if (rc == MDB_NOTFOUND)
		return AC_OK;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get meta");
	/* ac_store_open() checked it: digits, 1 to AC_STORE_SCHEMA */
	for (i = 0; i < v.mv_size && i < 9; i++)
		*version = *version * 10 + (((const char *)v.mv_data)[i] - '0');
	return AC_OK;
}

enum ac_err
ac_store_schema_version(struct ac_store *st, int *version)
{
	if (ac_store_pg(st))
		return ac_pg_schema_version(ac_store_pg(st), version);
	return ac_store_read(st, schema_fn, version);
}

unsigned
ac_store_conf_flags(const struct ac_conf *conf)
{
	return conf->sync == AC_SYNC_OFF ? AC_STORE_NOSYNC : conf->sync == AC_SYNC_EACH ? AC_STORE_SYNC_EACH : 0u;
}
