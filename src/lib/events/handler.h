/* handler.h: what the worker runs for an event: a table of event pattern -> function. */
#ifndef AC_HANDLER_H
#define AC_HANDLER_H

#include <json-c/json.h>

#include "outbound/client.h"
#include "base/conf.h"
#include "base/err.h"
#include "store/inbox.h"
#include "store/store.h"
#include "store/tenant.h"

/* What a handler gets besides the event: borrowed for the call. */
struct ac_handler_ctx {
	const struct ac_conf *conf;
	struct ac_store *store;
	struct ac_client *client;
	long retry_after;   /* a handler sets it (seconds) when the product asked to wait (429) */
	/*
	 * A Forge event (doc/protocol.md §11.2): the installation id, and the tenant a
	 * handler gets is a view of that installation (worker.c): client_key the
	 * installation id, base_url and base_api_url its apiBaseUrl. Calls then
	 * go through ac_forge_call with the app system token instead of the
	 * Connect client. NULL for a Connect event.
	 */
	const char *forge_installation;
};

/*
 * A handler. payload is the parsed body (borrowed). Returns AC_OK when done;
 * AC_ERR_BAD_REQUEST or AC_ERR_INVALID when the event can never succeed (it
 * goes to `dead` at once); any other error is retried with backoff, so a
 * handler must be safe to run again after a partial run, and after a run
 * killed between a call and its record of it: idempotent writes (a build
 * status by key), or a look at the product before repeating a side effect
 * (ac_handler_util_comment_once: a note in AC_DB_NOTES, then the comment's
 * marker on the product).
 */
typedef enum ac_err (*ac_event_handler_fn)(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const struct ac_event *ev, json_object *payload);

struct ac_handler {
	const char *pattern;   /* an event key, or a prefix ending in '*' ("pullrequest:*"), or "*" */
	ac_event_handler_fn fn;
	const char *help;
};

/* The first handler whose pattern matches event_key, or NULL (the event is then just dropped as done). */
const struct ac_handler *ac_handler_find(const char *event_key);

/* The table, for `acctl worker --list`; *n gets its length. */
const struct ac_handler *ac_handler_table(size_t *n);

#endif
