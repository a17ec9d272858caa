/* client.h: outbound calls to the product, signed for each product (doc/protocol.md §7). */
#ifndef AC_CLIENT_H
#define AC_CLIENT_H

#include <stddef.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "store/store.h"
#include "store/tenant.h"

/* Most bytes of a product response we read. */
#define AC_CLIENT_RESPONSE_MAX (4 * 1024 * 1024)

struct ac_client;

/* What came back. Caller-owned: _init, then _release. */
struct ac_client_response {
	long status;          /* HTTP status */
	long retry_after;     /* seconds from Retry-After, or -1 */
	struct ac_buf body;   /* capped at AC_CLIENT_RESPONSE_MAX */
};

void ac_client_response_init(struct ac_client_response *r);
void ac_client_response_release(struct ac_client_response *r);

/*
 * A client for one process: conf and st are borrowed and must outlive it.
 * Connections are reused between calls. ac_client_free(NULL) is a no-op.
 */
enum ac_err ac_client_new(const struct ac_conf *conf, struct ac_store *st, struct ac_client **out);
void ac_client_free(struct ac_client *c);

/* Optional: what ac_client_call did, for `acctl api -v` (token shortened, never a secret). */
struct ac_client_trace {
	char canonical[2048];   /* the canonical request of the qsh */
	char claims[2048];      /* the claims signed, JSON */
	char headers[2048];     /* the request headers sent, token shortened */
	char url[2048];
};

/*
 * Calls the tenant's REST API. path is relative to the tenant's API base
 * (Bitbucket: baseApiUrl, e.g. "/2.0/user"; Jira: baseUrl, e.g.
 * "/rest/api/3/issue/KEY"), with its query. body (JSON, may be NULL) is sent
 * with Content-Type: application/json. The call is signed with a per-call
 * JWT (Bitbucket: iss app key, sub clientKey; Jira: iss app key) whose qsh
 * is that of this call. Only https, or http to loopback hosts that
 * AC_ALLOWED_HOSTS names. On a 401 the tenant is read again from the store
 * (its secret may have rotated) and the call re-signed once. Returns AC_OK
 * whatever the HTTP status (see resp->status); AC_ERR_UPSTREAM when the
 * product cannot be reached or does not answer in time;
 * AC_ERR_TENANT_UNINSTALLED for a tenant that is no longer installed.
 * trace may be NULL.
 */
enum ac_err ac_client_call(struct ac_client *c, const struct ac_tenant *t, const char *method,
    const char *path, const char *body, size_t body_len, struct ac_client_response *resp,
    struct ac_client_trace *trace);

/* A method is an upper-case token; a path starts with '/' and has no space, control byte or '#'. */
int ac_client_valid_call(const char *method, const char *path);

/* How a call is authorised. */
enum ac_client_auth {
	AC_CLIENT_AUTH_DEFAULT, /* Bitbucket: AC_BITBUCKET_AUTH; Jira: per-call JWT */
	AC_CLIENT_AUTH_JWT,     /* per-call JWT, whatever AC_BITBUCKET_AUTH says */
	AC_CLIENT_AUTH_BEARER,  /* Bitbucket: the JWT grant's access token (grant.h), cached for every process */
	AC_CLIENT_AUTH_USER,    /* Jira: a user token for account_id (doc/protocol.md §9) */
};

struct ac_client_opts {
	enum ac_client_auth auth;
	const char *account_id; /* AC_CLIENT_AUTH_USER: the Atlassian account to act as */
	const char *scopes;     /* AC_CLIENT_AUTH_USER: e.g. "READ WRITE"; NULL: none asked */
};

/*
 * ac_client_call with a choice of authorisation (opts may be NULL: default).
 * With a Bearer token (grant or impersonation), a 401 drops that token and
 * the call is made once more with a new one (grant.h `stale`). Errors of
 * the token endpoint come back as they are: AC_ERR_GRANT_REFUSED (the
 * stored secret is probably stale), AC_ERR_UPSTREAM; AC_ERR_INVALID for a
 * mode the tenant's product does not have.
 */
enum ac_err ac_client_call_ex(struct ac_client *c, const struct ac_tenant *t,
    const struct ac_client_opts *opts, const char *method, const char *path, const char *body,
    size_t body_len, struct ac_client_response *resp, struct ac_client_trace *trace);

#endif
