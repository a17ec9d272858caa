/* pg-forge.c: Forge installations, their system tokens and the JWKS on PostgreSQL. */
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
ac_pg_forge_installation_get(struct ac_store *st, const char *installation_id,
    struct ac_forge_installation *out)
{
	(void)st;
	(void)installation_id;
	(void)out;
	return ac_pg_todo("forge_installation_get");
}

enum ac_err
ac_pg_forge_installation_put(struct ac_store *st, const struct ac_forge_installation *in)
{
	(void)st;
	(void)in;
	return ac_pg_todo("forge_installation_put");
}

enum ac_err
ac_pg_forge_installation_foreach(struct ac_store *st,
    enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx), void *ctx)
{
	(void)st;
	(void)fn;
	(void)ctx;
	return ac_pg_todo("forge_installation_foreach");
}

enum ac_err
ac_pg_forge_token_get(struct ac_store *st, const char *installation_id, struct ac_forge_token *out)
{
	(void)st;
	(void)installation_id;
	(void)out;
	return ac_pg_todo("forge_token_get");
}

enum ac_err
ac_pg_forge_token_offer(struct ac_store *st, const char *installation_id, const char *token, int64_t exp,
    int *kept)
{
	(void)st;
	(void)installation_id;
	(void)token;
	(void)exp;
	(void)kept;
	return ac_pg_todo("forge_token_offer");
}

enum ac_err
ac_pg_forge_jwks_get(struct ac_store *st, struct ac_buf *doc, struct ac_forge_jwks_state *out)
{
	(void)st;
	(void)doc;
	(void)out;
	return ac_pg_todo("forge_jwks_get");
}

enum ac_err
ac_pg_forge_jwks_reserve(struct ac_store *st, int window, int64_t seen_fetched_at, struct ac_buf *doc,
    struct ac_forge_jwks_state *out)
{
	(void)st;
	(void)window;
	(void)seen_fetched_at;
	(void)doc;
	(void)out;
	return ac_pg_todo("forge_jwks_reserve");
}

enum ac_err
ac_pg_forge_jwks_put(struct ac_store *st, const char *doc, size_t len)
{
	(void)st;
	(void)doc;
	(void)len;
	return ac_pg_todo("forge_jwks_put");
}
