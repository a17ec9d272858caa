/* worker.h: runs due events from the inbox through the handler table, with retries. */
#ifndef AC_WORKER_H
#define AC_WORKER_H

#include <time.h>

#include "outbound/client.h"
#include "base/conf.h"
#include "base/err.h"
#include "store/store.h"
#include "store/tenant.h"

/* How long a claimed event is leased (a worker that dies loses it at once, see inbox.h). */
#define AC_WORKER_LEASE 300

/* Longest backoff between two attempts, in seconds. */
#define AC_WORKER_BACKOFF_MAX 300

/*
 * Claims the next due event and runs its handler: done → removed; a
 * permanent failure or past AC_RETRY_FOR → `dead`; otherwise due again after
 * an exponential backoff with jitter (AC_RETRY_BASE_MS doubling, at most
 * AC_WORKER_BACKOFF_MAX), or after the product's Retry-After. *ran says
 * whether an event was claimed. An error means the store failed.
 */
enum ac_err ac_worker_step(const struct ac_conf *conf, struct ac_store *st, struct ac_client *client, int *ran);

/*
 * Whether event_key is a Forge event ("avi:…", doc/protocol.md §11.2): its inbox
 * record's client key is then a Forge installation id, and its handler
 * calls the product through ac_forge_call (handler.h forge_installation).
 */
int ac_worker_forge_event(const char *event_key);

/*
 * The tenant a handler gets for a Forge event: a view of the installation
 * (client_key its id, base_url and base_api_url its apiBaseUrl, the product
 * from the event key, installed, no secret). ac_tenant_release() it.
 * AC_ERR_FORGE_NO_INSTALLATION when the store knows no installation, or no
 * apiBaseUrl, yet (retried); AC_ERR_BAD_REQUEST for a product without
 * handlers here.
 */
enum ac_err ac_worker_forge_tenant(struct ac_store *st, const char *installation_id, const char *event_key,
    struct ac_tenant *t);

/* The delay before attempt number attempts + 1, in seconds (>= 1); retry_after >= 0 wins. */
long ac_worker_backoff(const struct ac_conf *conf, unsigned attempts, long retry_after);

/* Steps until nothing is due, at most max events or seconds; returns how many ran. */
unsigned ac_worker_drain(const struct ac_conf *conf, struct ac_store *st, struct ac_client *client,
    unsigned max, long seconds);

struct ac_app;
/*
 * AC_WORKER=inline, where no daemon can run: the after_response hook of a
 * program that queues events (webhook.fcgi, forge-events.fcgi) drains the
 * inbox once the answer is out, with one client kept for the process.
 */
void ac_worker_drain_inline(struct ac_app *app);

#endif
