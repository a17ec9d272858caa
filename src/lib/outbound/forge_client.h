/* forge_client.h: outbound REST calls of a Forge installation, with its app system token (issue 15). */
#ifndef AC_FORGE_CLIENT_H
#define AC_FORGE_CLIENT_H

#include <stddef.h>

#include "base/conf.h"
#include "base/err.h"
#include "outbound/client.h"
#include "store/store.h"

/* The longest and default budget of one call (ms), as for Connect calls (client.c). */
#define AC_FORGE_CALL_TIMEOUT_MS 20000L

/*
 * A token this close to its exp (seconds) is not used: the call would start
 * with a credential that dies on the way. The worker waits for a new one.
 */
#define AC_FORGE_TOKEN_MARGIN 30

/*
 * Calls the REST API of installation_id as the app (doc/protocol.md §11.3): the
 * installation's apiBaseUrl (its own path kept: "/ex/jira/<cloudId>" +
 * path "/rest/api/3/issue/KEY"; Bitbucket "/ex/bitbucket/<ws>" +
 * "/2.0/repositories/…"), path with its query, "Authorization: Bearer" the
 * app system token the store holds for it (never logged). body (JSON, may be
 * NULL) goes with Content-Type: application/json. timeout_ms bounds the
 * call (0 or more than AC_FORGE_CALL_TIMEOUT_MS: that). The URL rules of a
 * Connect call apply: https to a host AC_ALLOWED_HOSTS names, or http to an
 * allowed loopback host; the same response cap (AC_CLIENT_RESPONSE_MAX).
 * A 401 with a token that the store has since replaced is made once more
 * with the new one.
 *
 * Returns AC_OK whatever the HTTP status (resp->status, caller-initialised
 * with ac_client_response_init); AC_ERR_FORGE_NO_INSTALLATION (the
 * installation or its apiBaseUrl is unknown: no installed event or
 * invocation yet), AC_ERR_FORGE_NO_TOKEN (no token held, or it has
 * expired: the manifest needs an hourly scheduledTrigger with
 * auth.appSystemToken, `acctl forge manifest`), AC_ERR_HOST_NOT_ALLOWED,
 * AC_ERR_UPSTREAM (unreachable, no answer in time), AC_ERR_INVALID (a bad
 * method or path).
 */
enum ac_err ac_forge_call(const struct ac_conf *conf, struct ac_store *st, const char *installation_id,
    const char *method, const char *path, const char *body, size_t body_len, long timeout_ms,
    struct ac_client_response *resp);

/* The API base of an installation: apiBaseUrl, else the first context's; NULL when none. Borrowed. */
const char *ac_forge_api_base(const struct ac_forge_installation *in);

#endif
