/* notes.c: handler notes (store.h) in `notes`: key -> the time it was noted. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/digest.h"
#include "store/store-lmdb.h"

/* LMDB's default key limit is 511 bytes; longer keys are stored by their hash. */
#define NOTE_KEY_MAX 400

struct note {
	const char *key;
	char hashed[7 + AC_SHA256_HEX_LEN];
	int found;
};

static void
note_key(struct note *n, MDB_val *k)
{
	size_t len = strlen(n->key);

	if (len <= NOTE_KEY_MAX) {
		k->mv_data = (void *)n->key;
		k->mv_size = len;
		return;
	}
	memcpy(n->hashed, "sha256:", 7);
	(void)ac_sha256_hex(n->key, len, n->hashed + 7);
	k->mv_data = n->hashed;
	k->mv_size = strlen(n->hashed);
}

static enum ac_err
note_get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct note *n = ctx;
	MDB_val k, v;
	int rc;

	note_key(n, &k);
	rc = mdb_get(txn, ac_store_dbi(st, AC_DB_NOTES), &k, &v);
	if (rc == MDB_NOTFOUND)
		return AC_OK;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get notes");
	n->found = 1;
	return AC_OK;
}

static enum ac_err
note_put_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct note *n = ctx;
	char when[32];
	MDB_val k, v;
	int rc;

	note_key(n, &k);
	snprintf(when, sizeof(when), "%lld", (long long)ac_clock_now());
	v.mv_data = when;
	v.mv_size = strlen(when);
	rc = mdb_put(txn, ac_store_dbi(st, AC_DB_NOTES), &k, &v, 0);
	return rc ? ac_store_mdb_err(rc, "mdb_put notes") : AC_OK;
}

enum ac_err
ac_lmdb_note_get(struct ac_store *st, const char *key, int *found)
{
	struct note n = { key, "", 0 };
	enum ac_err err = ac_store_read(st, note_get_fn, &n);

	*found = err == AC_OK && n.found;
	return err;
}

enum ac_err
ac_lmdb_note_put(struct ac_store *st, const char *key)
{
	struct note n = { key, "", 0 };

	return ac_store_write(st, note_put_fn, &n);
}
