/* pg-tenant.c: tenants, install keys, access tokens, handler notes and lifecycle_seen on PostgreSQL. */
#include "config.h"

#include "base/log.h"
#include "store/store-pg.h"

/* TODO(issue 16): each operation below. */
static enum ac_err
ac_pg_todo(const char *what)
{
	ac_log_error("%s: not implemented on PostgreSQL yet", what);
	return AC_ERR_INTERNAL;
}

enum ac_err
ac_pg_tenant_get(struct ac_store *st, const char *client_key, struct ac_tenant *out)
{
	(void)st;
	(void)client_key;
	(void)out;
	return ac_pg_todo("tenant_get");
}

enum ac_err
ac_pg_tenant_get_txn(struct ac_txn *txn, const char *client_key, struct ac_tenant *out)
{
	(void)txn;
	(void)client_key;
	(void)out;
	return ac_pg_todo("tenant_get_txn");
}

enum ac_err
ac_pg_tenant_get_record(struct ac_store *st, const char *client_key, json_object **out)
{
	(void)st;
	(void)client_key;
	(void)out;
	return ac_pg_todo("tenant_get_record");
}

enum ac_err
ac_pg_tenant_put_txn(struct ac_txn *txn, const struct ac_tenant *t, json_object *install)
{
	(void)txn;
	(void)t;
	(void)install;
	return ac_pg_todo("tenant_put_txn");
}

enum ac_err
ac_pg_tenant_delete(struct ac_store *st, const char *client_key)
{
	(void)st;
	(void)client_key;
	return ac_pg_todo("tenant_delete");
}

enum ac_err
ac_pg_tenant_delete_txn(struct ac_txn *txn, const char *client_key)
{
	(void)txn;
	(void)client_key;
	return ac_pg_todo("tenant_delete_txn");
}

enum ac_err
ac_pg_tenant_foreach(struct ac_store *st, enum ac_err (*fn)(const struct ac_tenant *t, json_object *record,
    void *ctx), void *ctx)
{
	(void)st;
	(void)fn;
	(void)ctx;
	return ac_pg_todo("tenant_foreach");
}

enum ac_err
ac_pg_install_key_get(struct ac_store *st, const char *kid, struct ac_buf *pem, struct ac_install_key *out)
{
	(void)st;
	(void)kid;
	(void)pem;
	(void)out;
	return ac_pg_todo("install_key_get");
}

enum ac_err
ac_pg_install_key_reserve(struct ac_store *st, const char *kid, int max, int window, time_t marker_until,
    struct ac_buf *pem, struct ac_install_key *out)
{
	(void)st;
	(void)kid;
	(void)max;
	(void)window;
	(void)marker_until;
	(void)pem;
	(void)out;
	return ac_pg_todo("install_key_reserve");
}

enum ac_err
ac_pg_install_key_put(struct ac_store *st, const char *kid, const char *pem)
{
	(void)st;
	(void)kid;
	(void)pem;
	return ac_pg_todo("install_key_put");
}

enum ac_err
ac_pg_install_key_missing(struct ac_store *st, const char *kid, long status, time_t until)
{
	(void)st;
	(void)kid;
	(void)status;
	(void)until;
	return ac_pg_todo("install_key_missing");
}

enum ac_err
ac_pg_install_key_purge(struct ac_store *st, const char *kid, int max, size_t *n)
{
	(void)st;
	(void)kid;
	(void)max;
	(void)n;
	return ac_pg_todo("install_key_purge");
}

enum ac_err
ac_pg_token_get(struct ac_store *st, const char *key, struct ac_token_rec *out)
{
	(void)st;
	(void)key;
	(void)out;
	return ac_pg_todo("token_get");
}

enum ac_err
ac_pg_token_put(struct ac_store *st, const char *key, const struct ac_token_rec *r)
{
	(void)st;
	(void)key;
	(void)r;
	return ac_pg_todo("token_put");
}

enum ac_err
ac_pg_token_forget_txn(struct ac_txn *txn, const char *client_key, size_t *n)
{
	(void)txn;
	(void)client_key;
	(void)n;
	return ac_pg_todo("token_forget_txn");
}

enum ac_err
ac_pg_note_get(struct ac_store *st, const char *key, int *found)
{
	(void)st;
	(void)key;
	(void)found;
	return ac_pg_todo("note_get");
}

enum ac_err
ac_pg_note_put(struct ac_store *st, const char *key)
{
	(void)st;
	(void)key;
	return ac_pg_todo("note_put");
}

enum ac_err
ac_pg_seen_get_txn(struct ac_txn *txn, int64_t exp, const unsigned char token_sha[AC_SEEN_SHA_LEN],
    struct ac_seen *out)
{
	(void)txn;
	(void)exp;
	(void)token_sha;
	(void)out;
	return ac_pg_todo("seen_get_txn");
}

enum ac_err
ac_pg_seen_put_txn(struct ac_txn *txn, const struct ac_seen *e)
{
	(void)txn;
	(void)e;
	return ac_pg_todo("seen_put_txn");
}

enum ac_err
ac_pg_seen_purge_txn(struct ac_txn *txn, int64_t before, size_t max, size_t *n)
{
	(void)txn;
	(void)before;
	(void)max;
	(void)n;
	return ac_pg_todo("seen_purge_txn");
}

enum ac_err
ac_pg_seen_list(struct ac_store *st, enum ac_err (*fn)(const struct ac_seen *e, void *ctx), void *ctx)
{
	(void)st;
	(void)fn;
	(void)ctx;
	return ac_pg_todo("seen_list");
}
