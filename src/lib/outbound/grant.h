/* grant.h: access tokens (Bitbucket JWT grant, Jira impersonation: doc/protocol.md §8, §9),
 * cached in `tokens` for every process. */
#ifndef AC_GRANT_H
#define AC_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include "base/conf.h"
#include "base/err.h"
#include "store/store.h"
#include "store/tenant.h"

/* A cached token is reused until this many seconds before it expires (doc/protocol.md §8). */
#define AC_GRANT_EARLY 60
/* expires_in when the token endpoint names none. */
#define AC_GRANT_DEFAULT_TTL 3600
/* Longest lifetime believed, so that a bogus expires_in cannot pin a token for ever. */
#define AC_GRANT_MAX_TTL (30L * 86400)
/* Longest access token accepted (they go in a header). */
#define AC_GRANT_TOKEN_MAX 4096
/*
 * The lock file in AC_DATA_DIR that makes concurrent misses one call on one
 * host (LMDB); a store with its own lock (PostgreSQL: ac_token_lock) serves every host instead.
 */
#define AC_GRANT_LOCK_FILE "grant.lock"

/*
 * An access token. Caller-owned struct: _init, then _release (which wipes
 * the token bytes). access_token is a live credential: never log it, never
 * put it in a page or an error. scopes is space-separated ("" when none).
 */
struct ac_grant_token {
	char *access_token;
	char *scopes;
	int64_t expires_at;  /* epoch seconds */
	int64_t obtained_at; /* epoch seconds */
};

void ac_grant_token_init(struct ac_grant_token *t);
void ac_grant_token_release(struct ac_grant_token *t);

/*
 * Parses a token endpoint's answer leniently (the fields are loosely
 * specified): access_token a non-empty string of printable ASCII without
 * spaces, at most AC_GRANT_TOKEN_MAX bytes (required); expires_in a number
 * or a numeric string (absent or null: AC_GRANT_DEFAULT_TTL; capped at
 * AC_GRANT_MAX_TTL; negative: 0; NaN or beyond AC_JSON_DATE_MAX either way:
 * malformed); scopes (or scope) a string or an array of
 * strings, joined with one space; token_type, when present, "bearer" in any
 * case. now is the time the answer arrived. AC_ERR_UPSTREAM when the body is
 * not such an object (why, may be NULL, says what: static storage, never
 * the token). out is written only on AC_OK.
 */
enum ac_err ac_grant_parse(const char *body, size_t len, int64_t now, struct ac_grant_token *out,
    const char **why);

/*
 * The Bitbucket access token of tenant t: the cached one (key "bb:{clientKey}")
 * while it has more than AC_GRANT_EARLY seconds left, else a new one from
 * POST AC_BITBUCKET_TOKEN_URL with the assertion of doc/protocol.md §8 (iss app key, sub
 * clientKey, qsh of the POST), stored for every process. Concurrent misses,
 * in any process, make one call: the others wait on a lock in AC_DATA_DIR and
 * take what it stored (a failure too, when it happened while they waited).
 * stale (may be NULL) is a token that just got a 401: it is never returned
 * again, a new one is minted instead (unless another process already did).
 * No store transaction is held during the call.
 * AC_ERR_GRANT_REFUSED when the endpoint answers 401/403 (the stored secret
 * is probably stale); AC_ERR_UPSTREAM for a timeout, a 5xx, another status or
 * an unreadable answer; AC_ERR_TENANT_UNINSTALLED for such a tenant.
 * *fresh (may be NULL) says whether this call minted the token.
 */
enum ac_err ac_grant_bitbucket(const struct ac_conf *conf, struct ac_store *st, const struct ac_tenant *t,
    const char *stale, struct ac_grant_token *out, int *fresh);

/*
 * A Jira user token for account_id (doc/protocol.md §9): cached per tenant, user and scopes
 * ("jira:{clientKey}:{accountId}:{SCOPES}"), else from POST
 * {AC_OAUTH_SERVER_URL}/oauth2/token with the jwt-bearer assertion (iss
 * urn:atlassian:connect:clientid:{oauthClientId}, sub
 * urn:atlassian:connect:useraccountid:{accountId}, tnt baseUrl, aud the
 * authorization server, exp iat + 60). scopes (may be NULL or "") are sent
 * upper-case and space-separated. Errors and stale as for ac_grant_bitbucket;
 * AC_ERR_INVALID for a tenant without oauthClientId (not installed with
 * ACT_AS_USER) or a bad account id.
 */
enum ac_err ac_grant_jira_user(const struct ac_conf *conf, struct ac_store *st, const struct ac_tenant *t,
    const char *account_id, const char *scopes, const char *stale, struct ac_grant_token *out, int *fresh);

/*
 * Normalises impersonation scopes: upper-case, separated by one space,
 * commas accepted as separators, order kept. *out is malloc'd ("" for none).
 * AC_ERR_INVALID for a character other than letters, digits, '_', '-', ':'.
 */
enum ac_err ac_grant_scopes(const char *in, char **out);

/*
 * Drops every cached access token of client_key (Bitbucket's and each Jira
 * user's) in the caller's write transaction. Lifecycle calls it on install,
 * reinstall and uninstall: no token minted for an earlier installation (its
 * secret, its scopes) outlives it.
 */
enum ac_err ac_grant_forget_txn(struct ac_txn *txn, const char *client_key);

#endif
