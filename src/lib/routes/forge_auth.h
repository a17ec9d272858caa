/* forge_auth.h: the routes of Forge Remote (doc/protocol.md §11): the Forge Invocation Token of a request. */
#ifndef AC_FORGE_AUTH_H
#define AC_FORGE_AUTH_H

#include "auth/fit.h"
#include "web/request.h"

/*
 * app.authenticate of the Forge programs (route auth AC_AUTH_FORGE). With
 * AC_FORGE_APP_ID empty every Forge route is 404 (not_found). Otherwise the
 * FIT of `Authorization: Bearer` through ac_fit_verify_header against the
 * JWKS the store keeps (ac_forge_jwks_kept); a kid not in it, on a token
 * whose claims could pass, refetches the JWKS (ac_forge_jwks_refetch: at most
 * once a minute per host; 503 fit_jwks_unavailable when it cannot be
 * fetched) and verifies again. Every refusal
 * is its fit_ code (401), in the JSON error body and the access log line.
 * On AC_OK ac_forge_fit(req) gives what the token says.
 */
enum ac_err ac_forge_authenticate(struct ac_request *req);

/* The verified token of the request (borrowed), or NULL when there is none. */
const struct ac_fit *ac_forge_fit(const struct ac_request *req);

#endif
