/* lifecycle.h: /installed and /uninstalled for Bitbucket (TOFU + stored secret) and Jira (signed install). */
#ifndef AC_LIFECYCLE_H
#define AC_LIFECYCLE_H

#include "web/request.h"

/* Largest lifecycle body accepted (the route cap and nginx's limit). */
#define AC_LIFECYCLE_BODY_MAX (64 * 1024)

enum ac_lifecycle_event { AC_LIFECYCLE_INSTALLED, AC_LIFECYCLE_UNINSTALLED };

/*
 * The handler of POST /installed and /uninstalled (doc/protocol.md §4, §5).
 * Checks the body before trusting it (415, 400 with a code naming the
 * field), then authenticates: Bitbucket first install by trust on first use
 * for allowed hosts (403 host_not_allowed otherwise), a known clientKey only
 * with a JWT signed by the stored secret, checked and replaced in one write
 * transaction; Jira by an RS256 token whose key comes from
 * AC_INSTALL_KEYS_URL/{kid} (cached in install_keys). 204 on success; a
 * refused request leaves the store as it was.
 */
enum ac_err ac_lifecycle_handle(struct ac_request *req, enum ac_lifecycle_event ev);

/*
 * The body checks of ac_lifecycle_handle alone, without the store, a token or
 * the network: 415, 400 malformed_json (as strict as webhooks), 400 with a
 * code naming the field, or AC_OK. Sets the request's tenant for the log.
 * For the fuzz target (tests/fuzz/fuzz-lifecycle.c), so that it runs exactly
 * what /installed runs on a body.
 */
enum ac_err ac_lifecycle_check_body(struct ac_request *req, enum ac_lifecycle_event ev);

/* The route's authentication hook: lifecycle routes authenticate in the handler. */
enum ac_err ac_lifecycle_authenticate(struct ac_request *req);

/* Whether kid is UUID-shaped (8-4-4-4-12 hex digits) and safe in a URL. */
int ac_lifecycle_kid_valid(const char *kid);

#endif
