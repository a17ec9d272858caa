/* tenant.c: tenant records: one versioned JSON record per clientKey in `tenants`. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store-lmdb.h"
#include "store/tenant.h"

#define RECORD_MAX AC_TENANT_RECORD_MAX

static const struct {
	const char *name;
	size_t off;
	int required; /* 1 required; 0 optional, always written; 2 optional, written only when set */
} strings[] = {
	{ "clientKey", offsetof(struct ac_tenant, client_key), 1 },
	{ "sharedSecret", offsetof(struct ac_tenant, shared_secret), 1 },
	{ "key", offsetof(struct ac_tenant, key), 1 },
	{ "baseUrl", offsetof(struct ac_tenant, base_url), 1 },
	{ "baseApiUrl", offsetof(struct ac_tenant, base_api_url), 0 },
	{ "oauthClientId", offsetof(struct ac_tenant, oauth_client_id), 0 },
	{ "displayUrl", offsetof(struct ac_tenant, display_url), 0 },
	{ "installationId", offsetof(struct ac_tenant, installation_id), 2 },
};

#define NSTRINGS (sizeof(strings) / sizeof(strings[0]))
#define STR(t, i) (*(char **)(void *)((char *)(t) + strings[i].off))
#define CSTR(t, i) (*(char *const *)(const void *)((const char *)(t) + strings[i].off))

const char *
ac_tenant_state_name(enum ac_tenant_state s)
{
	return s == AC_TENANT_UNINSTALLED ? "uninstalled" : "installed";
}

void
ac_tenant_release(struct ac_tenant *t)
{
	size_t i;

	for (i = 0; i < NSTRINGS; i++)
		if (strings[i].off == offsetof(struct ac_tenant, shared_secret))
			ac_buf_free_secret_str(STR(t, i));
		else
			free(STR(t, i));
	memset(t, 0, sizeof(*t));
}

enum ac_err
ac_tenant_to_json(const struct ac_tenant *t, json_object *install, json_object **out)
{
	json_object *o = json_object_new_object();
	size_t i;

	if (o == NULL)
		return AC_ERR_NOMEM;
	json_object_object_add(o, "v", json_object_new_int(AC_TENANT_RECORD_VERSION));
	for (i = 0; i < NSTRINGS; i++)
		if (strings[i].required != 2 || (CSTR(t, i) && *CSTR(t, i)))
			json_object_object_add(o, strings[i].name, json_object_new_string(CSTR(t, i) ? CSTR(t, i) : ""));
	json_object_object_add(o, "product", json_object_new_string(ac_conf_product_name(t->product)));
	json_object_object_add(o, "state", json_object_new_string(ac_tenant_state_name(t->state)));
	json_object_object_add(o, "installedAt", json_object_new_int64((int64_t)t->installed_at));
	json_object_object_add(o, "updatedAt", json_object_new_int64((int64_t)t->updated_at));
	json_object_object_add(o, "uninstalledAt", json_object_new_int64((int64_t)t->uninstalled_at));
	if (t->lifecycle_iat > 0)
		json_object_object_add(o, "lifecycleIat", json_object_new_int64(t->lifecycle_iat));
	if (install && json_object_is_type(install, json_type_object)) {
		/* the body as received, less the secret: forensics must not leak it */
		json_object *copy = NULL;

		if (json_object_deep_copy(install, &copy, NULL) != 0) {
			json_object_put(o);
			return AC_ERR_NOMEM;
		}
		json_object_object_del(copy, "sharedSecret");
		json_object_object_add(o, "install", copy);
	}
	*out = o;
	return AC_OK;
}

static int
get_time(json_object *rec, const char *name, time_t *out)
{
	json_object *v = ac_json_get_typed(rec, name, json_type_int);
	int64_t n;

	/* a damaged or imported record: a date out of range is unreadable, not clamped */
	if (v == NULL || ac_json_int_in(v, 0, AC_JSON_DATE_MAX, 0, &n) != AC_OK)
		return 0;
	*out = (time_t)n;
	return 1;
}

enum ac_err
ac_tenant_from_json(json_object *rec, struct ac_tenant *out, json_object **install)
{
	struct ac_tenant t;
	json_object *v;
	const char *s;
	size_t i;

	memset(&t, 0, sizeof(t));
	v = ac_json_get_typed(rec, "v", json_type_int);
	if (v == NULL || json_object_get_int(v) != AC_TENANT_RECORD_VERSION) {
		ac_log_error("tenant record version %s is not %d", v ? json_object_get_string(v) : "missing",
		    AC_TENANT_RECORD_VERSION);
		return AC_ERR_STORE;
	}
	for (i = 0; i < NSTRINGS; i++) {
		s = ac_json_get_string(rec, strings[i].name);
		if (s == NULL && strings[i].required == 2 && !json_object_object_get_ex(rec, strings[i].name, NULL))
			s = ""; /* optional and absent: records written before it existed */
		if (s == NULL || (strings[i].required == 1 && *s == '\0'))
			goto bad;
		if ((STR(&t, i) = strdup(s)) == NULL) {
			ac_tenant_release(&t);
			return AC_ERR_NOMEM;
		}
	}
	s = ac_json_get_string(rec, "product");
	if (s && !strcmp(s, "bitbucket"))
		t.product = AC_PRODUCT_BITBUCKET;
	else if (s && !strcmp(s, "jira"))
		t.product = AC_PRODUCT_JIRA;
	else
		goto bad;
	s = ac_json_get_string(rec, "state");
	if (s && !strcmp(s, "installed"))
		t.state = AC_TENANT_INSTALLED;
	else if (s && !strcmp(s, "uninstalled"))
		t.state = AC_TENANT_UNINSTALLED;
	else
		goto bad;
	if (!get_time(rec, "installedAt", &t.installed_at) || !get_time(rec, "updatedAt", &t.updated_at) ||
	    !get_time(rec, "uninstalledAt", &t.uninstalled_at))
		goto bad;
	if (json_object_object_get_ex(rec, "lifecycleIat", NULL)) {
		/* optional: records written before replay protection have none */
		time_t iat;

		if (!get_time(rec, "lifecycleIat", &iat))
			goto bad;
		t.lifecycle_iat = (int64_t)iat;
	}
	if (install)
		*install = ac_json_get_typed(rec, "install", json_type_object);
	*out = t;
	return AC_OK;
bad:
	ac_tenant_release(&t);
	return AC_ERR_INVALID;
}

/*
 * A process-wide cache of decoded records, keyed by the record's exact bytes:
 * a webhook or lifecycle worker sees the same few tenants on every request, and
 * parsing the JSON was the largest share of authenticating one. Keyed by
 * content, an entry can never be stale: a reinstall (new secret), an uninstall
 * or any other change is a different record and is decoded afresh. Small
 * records only; the programs are single-threaded (one request at a time).
 */
#define CACHE_SLOTS 16
#define CACHE_RECORD_MAX 8192

static struct cached {
	unsigned char *raw;
	size_t len;
	struct ac_tenant t;
} cache[CACHE_SLOTS];
static size_t cache_next;

static enum ac_err
copy_tenant(const struct ac_tenant *from, struct ac_tenant *to)
{
	struct ac_tenant t = *from;
	size_t i;

	for (i = 0; i < NSTRINGS; i++)
		STR(&t, i) = NULL;
	for (i = 0; i < NSTRINGS; i++) {
		if (CSTR(from, i) && (STR(&t, i) = strdup(CSTR(from, i))) == NULL) {
			ac_tenant_release(&t);
			return AC_ERR_NOMEM;
		}
	}
	*to = t;
	return AC_OK;
}

static const struct cached *
cache_find(const char *raw, size_t len)
{
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++)
		if (cache[i].raw && cache[i].len == len && memcmp(cache[i].raw, raw, len) == 0)
			return &cache[i];
	return NULL;
}

/* Best effort: a failed allocation only means no entry. */
static void
cache_add(const char *rec, size_t len, const struct ac_tenant *t)
{
	struct cached *c = &cache[cache_next];
	unsigned char *raw;

	if (len > CACHE_RECORD_MAX || (raw = malloc(len ? len : 1)) == NULL)
		return;
	ac_buf_free_secret(c->raw, c->len);
	c->raw = NULL;
	ac_tenant_release(&c->t);
	if (copy_tenant(t, &c->t) != AC_OK) {
		free(raw); /* nothing copied in yet */
		return;
	}
	memcpy(raw, rec, len);
	c->raw = raw;
	c->len = len;
	cache_next = (cache_next + 1) % CACHE_SLOTS;
}

void
ac_tenant_cache_clear(void)
{
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++) {
		ac_buf_free_secret(cache[i].raw, cache[i].len);
		cache[i].raw = NULL;
		cache[i].len = 0;
		ac_tenant_release(&cache[i].t);
	}
	cache_next = 0;
}

/* Parses the record where it is (LMDB: straight from the map, no copy of the value first). */
enum ac_err
ac_tenant_decode(const char *raw, size_t len, struct ac_tenant *out)
{
	const struct cached *c = cache_find(raw, len);
	json_object *rec;
	enum ac_err err;

	if (c)
		return copy_tenant(&c->t, out);
	if (len > RECORD_MAX || ac_json_parse(raw, len, &rec, NULL) != AC_OK) {
		ac_log_error("a tenant record is corrupt");
		return AC_ERR_STORE;
	}
	err = ac_tenant_from_json(rec, out, NULL);
	ac_json_put_secret(rec);
	if (err == AC_ERR_INVALID) {
		ac_log_error("a tenant record has missing or mistyped fields");
		err = AC_ERR_STORE;
	}
	if (err == AC_OK)
		cache_add(raw, len, out);
	return err;
}

static enum ac_err
get_mdb(MDB_txn *txn, struct ac_store *st, const char *client_key, struct ac_tenant *out)
{
	MDB_val k = { strlen(client_key), (void *)client_key }, v;
	int rc;

	if (k.mv_size == 0 || k.mv_size > 511)
		return AC_ERR_UNKNOWN_TENANT;
	rc = mdb_get(txn, ac_store_dbi(st, AC_DB_TENANTS), &k, &v);
	if (rc == MDB_NOTFOUND)
		return AC_ERR_UNKNOWN_TENANT;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get tenants");
	return ac_tenant_decode(v.mv_data, v.mv_size, out);
}

struct get_ctx {
	const char *client_key;
	struct ac_tenant *out;
};

static enum ac_err
get_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct get_ctx *g = ctx;

	return get_mdb(txn, st, g->client_key, g->out);
}

enum ac_err
ac_lmdb_tenant_get_txn(struct ac_txn *txn, const char *client_key, struct ac_tenant *out)
{
	return get_mdb(txn->txn, txn->st, client_key, out);
}

struct record_ctx {
	const char *client_key;
	char *rec;
	size_t len;
};

static enum ac_err
record_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct record_ctx *c = ctx;
	MDB_val k = { strlen(c->client_key), (void *)c->client_key }, v;
	int rc = mdb_get(txn, ac_store_dbi(st, AC_DB_TENANTS), &k, &v);

	if (rc == MDB_NOTFOUND)
		return AC_OK;
	if (rc != 0)
		return ac_store_mdb_err(rc, "mdb_get tenants");
	if ((c->rec = malloc(v.mv_size + 1)) == NULL)
		return AC_ERR_NOMEM;
	memcpy(c->rec, v.mv_data, v.mv_size);
	c->rec[v.mv_size] = '\0';
	c->len = v.mv_size;
	return AC_OK;
}

enum ac_err
ac_lmdb_tenant_get_record(struct ac_store *st, const char *client_key, json_object **out)
{
	struct record_ctx c = { client_key, NULL, 0 };
	enum ac_err err;

	*out = NULL;
	if (*client_key == '\0' || strlen(client_key) > 511)
		return AC_OK;
	if ((err = ac_store_read(st, record_fn, &c)) == AC_OK && c.rec != NULL &&
	    (ac_json_parse(c.rec, c.len, out, NULL) != AC_OK || !json_object_is_type(*out, json_type_object))) {
		ac_json_put_secret(*out);
		*out = NULL;
	}
	ac_buf_free_secret(c.rec, c.len); /* the whole tenant record: the sharedSecret too */
	return err;
}

enum ac_err
ac_lmdb_tenant_get(struct ac_store *st, const char *client_key, struct ac_tenant *out)
{
	struct get_ctx g = { client_key, out };

	return ac_store_read(st, get_fn, &g);
}

enum ac_err
ac_lmdb_tenant_put_txn(struct ac_txn *txn, const struct ac_tenant *t, json_object *install)
{
	json_object *rec;
	const char *s;
	size_t len;
	MDB_val k, v;
	enum ac_err err;
	int rc;

	if (t->client_key == NULL || *t->client_key == '\0' || strlen(t->client_key) > 511)
		return AC_ERR_INVALID;
	if ((err = ac_tenant_to_json(t, install, &rec)) != AC_OK)
		return err;
	s = json_object_to_json_string_length(rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL || len > RECORD_MAX) {
		if (s)
			OPENSSL_cleanse((void *)(uintptr_t)s, len);
		ac_json_put_secret(rec);
		return s ? AC_ERR_TOO_LARGE : AC_ERR_NOMEM;
	}
	k.mv_size = strlen(t->client_key);
	k.mv_data = t->client_key;
	v.mv_size = len;
	v.mv_data = (void *)s;
	rc = mdb_put(txn->txn, ac_store_dbi(txn->st, AC_DB_TENANTS), &k, &v, 0);
	/* the record carries the sharedSecret, so does its serialization */
	OPENSSL_cleanse((void *)(uintptr_t)s, len);
	ac_json_put_secret(rec);
	return ac_store_mdb_err(rc, "mdb_put tenants");
}

static enum ac_err
delete_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	const char *ck = ctx;
	MDB_val k = { strlen(ck), (void *)ck };
	int rc;

	if (k.mv_size == 0 || k.mv_size > 511)
		return AC_ERR_UNKNOWN_TENANT;
	rc = mdb_del(txn, ac_store_dbi(st, AC_DB_TENANTS), &k, NULL);
	if (rc == MDB_NOTFOUND)
		return AC_ERR_UNKNOWN_TENANT;
	return ac_store_mdb_err(rc, "mdb_del tenants");
}

enum ac_err
ac_lmdb_tenant_delete(struct ac_store *st, const char *client_key)
{
	return ac_store_write(st, delete_fn, (void *)client_key);
}

enum ac_err
ac_lmdb_tenant_delete_txn(struct ac_txn *txn, const char *client_key)
{
	return delete_fn(txn->txn, txn->st, (void *)client_key);
}

struct each_ctx {
	enum ac_err (*fn)(const struct ac_tenant *, json_object *, void *);
	void *ctx;
};

static enum ac_err
each_fn(MDB_txn *txn, struct ac_store *st, void *ctx)
{
	struct each_ctx *e = ctx;
	MDB_cursor *cur;
	MDB_val k, v;
	enum ac_err err = AC_OK;
	int rc;

	if ((rc = mdb_cursor_open(txn, ac_store_dbi(st, AC_DB_TENANTS), &cur)) != 0)
		return ac_store_mdb_err(rc, "mdb_cursor_open tenants");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == AC_OK;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ac_tenant t;
		json_object *rec;

		if (ac_json_parse(v.mv_data, v.mv_size, &rec, NULL) != AC_OK) {
			ac_log_error("tenant record '%.*s' is corrupt; skipped", (int)(k.mv_size > 200 ? 200 : k.mv_size),
			    (const char *)k.mv_data);
			continue;
		}
		if (ac_tenant_from_json(rec, &t, NULL) != AC_OK) {
			ac_log_error("tenant record '%.*s' is unreadable; skipped", (int)(k.mv_size > 200 ? 200 : k.mv_size),
			    (const char *)k.mv_data);
			ac_json_put_secret(rec);
			continue;
		}
		err = e->fn(&t, rec, e->ctx);
		ac_tenant_release(&t);
		ac_json_put_secret(rec);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND && err == AC_OK)
		err = ac_store_mdb_err(rc, "mdb_cursor_get tenants");
	return err;
}

enum ac_err
ac_lmdb_tenant_foreach(struct ac_store *st, enum ac_err (*fn)(const struct ac_tenant *, json_object *, void *), void *ctx)
{
	struct each_ctx e = { fn, ctx };

	return ac_store_read(st, each_fn, &e);
}
