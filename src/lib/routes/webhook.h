/* webhook.h: POST /webhook: verified, durable in the inbox before the answer (doc/protocol.md §6). */
#ifndef AC_WEBHOOK_H
#define AC_WEBHOOK_H

#include "store/inbox.h"
#include "web/request.h"

/*
 * The handler of POST /webhook (route auth AC_AUTH_TENANT, cap
 * AC_INBOX_BODY_MAX). A JSON object body (415, 400 otherwise); the event key
 * from X-Event-Key (Bitbucket) or the body's webhookEvent (Jira), and a
 * body whose own key disagrees is refused (400 event_mismatch); a delivery
 * id seen before answers 204 without queueing; otherwise the event is
 * durable in the inbox before the 204. Store full or failing: 503.
 */
enum ac_err ac_webhook_handle(struct ac_request *req);

#endif
