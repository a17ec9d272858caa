/*
 * floor.c: the reference responders that show where the webhook bench's ratio is bounded.
 * FLOOR=read reads the whole body and answers 204; FLOOR=lmdb also puts the body in the LMDB
 * environment FLOOR_DIR under the next 8-byte key (one put, one commit, MDB_NOSYNC: what the
 * inbox does at the least, without verifying, de-duplicating or scanning anything). Several
 * processes may share one FLOOR_DIR, as the webhook workers share the store. Both close the
 * connection as src/lib/web/fcgi.c does (no drain once the input has ended), so that a floor differs
 * from webhook.fcgi only by what the webhook does to the request. Never installed.
 */
#include <fcgiapp.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (256 * 1024)

static MDB_env *env;
static MDB_dbi dbi;

static int open_env(const char *dir)
{
	MDB_txn *txn;

	if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, (size_t)8 << 30) != 0 ||
	    mdb_env_open(env, dir, MDB_NOSYNC, 0600) != 0 || mdb_txn_begin(env, NULL, 0, &txn) != 0)
		return -1;
	if (mdb_dbi_open(txn, NULL, 0, &dbi) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

/* Appends body under the key after the last one: big-endian, so MDB_APPEND holds. */
static int put(const char *body, size_t len)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	unsigned char key[8];
	uint64_t seq = 0;
	int i, rc;

	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		return -1;
	if (mdb_cursor_open(txn, dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
		for (i = 0; i < 8; i++)
			seq = seq << 8 | ((const unsigned char *)k.mv_data)[i];
	mdb_cursor_close(cur);
	seq++;
	for (i = 7; i >= 0; i--, seq >>= 8)
		key[i] = (unsigned char)seq;
	k.mv_data = key;
	k.mv_size = sizeof(key);
	v.mv_data = (void *)body;
	v.mv_size = len;
	if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

int main(void)
{
	const char *mode = getenv("FLOOR"), *dir = getenv("FLOOR_DIR");
	static char body[BODY_MAX + 1];
	FCGX_Request req;
	int lmdb, n;

	if (mode == NULL || (strcmp(mode, "read") != 0 && strcmp(mode, "lmdb") != 0)) {
		fprintf(stderr, "floor: FLOOR must be read or lmdb\n");
		return EXIT_FAILURE;
	}
	lmdb = strcmp(mode, "lmdb") == 0;
	if (lmdb && (dir == NULL || open_env(dir) != 0)) {
		fprintf(stderr, "floor: cannot open the LMDB environment FLOOR_DIR=%s\n", dir ? dir : "");
		return EXIT_FAILURE;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return EXIT_FAILURE;
	while (FCGX_Accept_r(&req) >= 0) {
		n = FCGX_GetStr(body, sizeof(body), req.in);
		if (n > BODY_MAX)
			FCGX_PutS("Status: 413 Payload Too Large\r\n\r\n", req.out);
		else if (lmdb && put(body, (size_t)n) != 0)
			FCGX_PutS("Status: 503 Service Unavailable\r\n\r\n", req.out);
		else
			FCGX_PutS("Status: 204 No Content\r\n\r\n", req.out);
		if (FCGX_GetChar(req.in) == EOF && FCGX_GetError(req.in) == 0)
			FCGX_Detach(&req);
		FCGX_Finish_r(&req);
		FCGX_Attach(&req);
	}
	return EXIT_SUCCESS;
}
