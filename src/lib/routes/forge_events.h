/* forge_events.h: POST /forge/events: Forge product events, lifecycle events and scheduled triggers (doc/protocol.md §11). */
#ifndef AC_FORGE_EVENTS_H
#define AC_FORGE_EVENTS_H

#include <stdint.h>

#include "store/inbox.h"
#include "web/request.h"

/* An app system token's exp further than this from now is taken as this (Forge gives 4 h at most). */
#define AC_FORGE_TOKEN_LIFE_MAX (24 * 3600)

/*
 * The handler of POST /forge/events (route auth AC_AUTH_FORGE, cap
 * AC_INBOX_BODY_MAX), after ac_forge_authenticate. The x-forge-oauth-system
 * token is offered to the store (ac_forge_token_offer) with the exp read
 * from it (ac_forge_token_exp); one whose exp cannot be read is not kept
 * (logged, never the token). A JSON object body (415, 400 otherwise); its
 * eventType (top level, or under "payload") is the event key and the
 * installationId the tenant: the event is durable in the inbox before the
 * 204, under the delivery id ac_forge_delivery_id() derives, so that a
 * retry (retryContext added) is not queued twice. avi:forge:installed:app
 * and avi:forge:upgraded:app also create or refresh the installation. A body
 * without eventType is a scheduled trigger: 204 with nothing queued. Store
 * full or failing: 503.
 */
enum ac_err ac_forge_events_handle(struct ac_request *req);

/*
 * The exp of an app system token (a JWS whose claims are read for exp and
 * nothing else: it is not verified, and need not be) into *exp.
 * AC_ERR_INVALID when it has none that can be read.
 */
enum ac_err ac_forge_token_exp(const char *token, int64_t *exp);

/*
 * "forge:" and the hex SHA-256 of installation_id, event_key and the body
 * (a parsed JSON object) without its retryContext (top level and under
 * "payload": removed from body), into id. Forge documents no event id; what it adds on a retry
 * is retryContext, so a retry gets the id of the first delivery.
 */
#define AC_FORGE_DELIVERY_ID_LEN (6 + 64 + 1)
enum ac_err ac_forge_delivery_id(const char *installation_id, const char *event_key, json_object *body,
    char id[AC_FORGE_DELIVERY_ID_LEN]);

/*
 * What forge-remote.fcgi keeps of every verified call too (forge-remote,
 * issue 15 item 5): the request's x-forge-oauth-system token offered to the
 * store as POST /forge/events offers it, and the installation recorded (or
 * refreshed) from the token's app claims.
 */
struct ac_fit;
enum ac_err ac_forge_offer_system_token(struct ac_request *req, const struct ac_fit *fit);
enum ac_err ac_forge_record_installation(struct ac_request *req, const struct ac_fit *fit);

/*
 * The installation recorded from the token's app claims when the store does
 * not know it yet (its installed event was missed): a Forge event or call of
 * it then finds its apiBaseUrl. AC_OK unless out of memory (a store error is
 * logged: the call goes on).
 */
enum ac_err ac_forge_know_installation(struct ac_request *req, const struct ac_fit *fit);

#endif
