/* forge_remote.h: forge-remote.fcgi: Bitbucket merge checks and UI resolver calls of Forge Remote (doc/protocol.md §11.2). */
#ifndef AC_FORGE_REMOTE_H
#define AC_FORGE_REMOTE_H

#include <stddef.h>

#include "web/request.h"

/* Most bytes of a merge check or resolver body: Forge sends ids, not objects. */
#define AC_FORGE_REMOTE_BODY_MAX (64 * 1024)

/*
 * app.authenticate of forge-remote.fcgi: ac_forge_authenticate (404 with
 * AC_FORGE_APP_ID empty, 401 with its fit_ code, 503 when the JWKS cannot
 * be fetched), then what every verified call brings is kept as
 * forge-events.fcgi keeps it: the x-forge-oauth-system token offered to the
 * store (the newest wins), and the installation recorded from the token's
 * app claims when the store has no record of it yet (a merge check can come
 * before the installed event reached us). A store that cannot keep either
 * is logged and does not fail the call.
 */
enum ac_err ac_forge_remote_authenticate(struct ac_request *req);

/*
 * The routes of forge-remote.fcgi, all AC_AUTH_FORGE: POST /forge/merge-check
 * (forge_merge_check.h) and the UI resolver calls under /forge/remote/
 * (invokeRemote), one row each; a path not in the table is 404 with the JSON
 * error body, a known path with another method 405.
 */
extern const struct ac_route ac_forge_remote_routes[];
extern const size_t ac_forge_remote_nroutes;

/*
 * GET /forge/remote/installation: what the backend knows of the calling
 * installation, as JSON: installationId, appId, appVersion,
 * environment{type, id}, apiBaseUrl, siteUrl, contexts[], connectTenant
 * (the linked Connect clientKey, or null), systemToken{live, expiresAt,
 * expiresIn} (whether a token that can still be used is held, and until
 * when; never the token), firstSeen, lastSeen. Fields the backend does not
 * know are null.
 */
enum ac_err ac_forge_remote_installation(struct ac_request *req);

#endif
