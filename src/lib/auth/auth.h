/* auth.h: authentication of tenant-signed requests (webhooks, pages): HS256, tenant by iss, qsh. */
#ifndef AC_AUTH_H
#define AC_AUTH_H

#include "web/request.h"
#include "store/store.h"
#include "store/tenant.h"

/*
 * The authenticate hook for AC_AUTH_TENANT and AC_AUTH_PAGE routes
 * (doc/protocol.md §2, §3, §6): the token from `Authorization: JWT` (and `?jwt=`
 * on page routes only), parsed structurally before any store lookup, the
 * tenant looked up by iss (unknown_tenant; tenant_uninstalled), HS256 with
 * its stored secret, aud (when present) naming the same tenant, qsh of this
 * exact request, or `context-qsh` on page routes only. On success the
 * tenant is the request's (ac_auth_tenant). Other routes pass untouched.
 */
enum ac_err ac_auth_authenticate(struct ac_request *req);

/* The tenant that signed the request; NULL before authentication. Borrowed for the request. */
const struct ac_tenant *ac_auth_tenant(const struct ac_request *req);

#endif
