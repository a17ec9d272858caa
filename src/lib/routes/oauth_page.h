/* oauth_page.h: GET /oauth-callback (doc/protocol.md §8): verify, JWT grant, a page a person can read. */
#ifndef AC_OAUTH_PAGE_H
#define AC_OAUTH_PAGE_H

#include "web/request.h"

/* The Content-Security-Policy of every answer of this route: no script, styles inline, https images. */
#define AC_OAUTH_PAGE_CSP \
	"default-src 'none'; style-src 'unsafe-inline'; img-src https:; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors https://bitbucket.org https://*.atlassian.net"

/*
 * The authenticate hook of the route. A request carrying a token (an
 * Authorization header of any kind, or a jwt parameter, even empty) goes
 * through ac_auth_authenticate (HS256 with the stored secret; qsh of this
 * URL or context-qsh, this route being AC_AUTH_PAGE); one with neither but a
 * client_key parameter passes unauthenticated to the status page; anything
 * else is token_missing. Fails closed: only the absence of every token
 * lets a request through unauthenticated.
 */
enum ac_err ac_oauth_page_authenticate(struct ac_request *req);

/*
 * The handler. Authenticated (ac_auth_tenant non-NULL), Bitbucket: the
 * access token from the JWT grant (grant.h, cached for every process), then
 * GET {baseApiUrl}/2.0/user with it as Bearer, then a page naming the
 * account the app acts as, the token's scopes and expiry (never the token).
 * Jira: a page naming the site. Unauthenticated (?client_key= only): whether
 * that tenant is installed, from the store, with no outbound call.
 * `Accept: application/json` gets the same as JSON. req->app->data is the
 * process's struct ac_client.
 */
enum ac_err ac_oauth_page_handle(struct ac_request *req);

/*
 * The error_page hook: an HTML page with the status, the stable code, what
 * happened and what to do (a stale secret after grant_refused), or the JSON
 * error with an "advice" member for `Accept: application/json`. Never the
 * token or the secret.
 */
void ac_oauth_page_error(struct ac_request *req, enum ac_err err);

#endif
