/* worker.h: runs due events from the inbox through the handler table, with retries. */
#ifndef AC_WORKER_H
#define AC_WORKER_H

#include <time.h>

#include "outbound/client.h"
#include "base/conf.h"
#include "base/err.h"
#include "store/store.h"

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

/* The delay before attempt number attempts + 1, in seconds (>= 1); retry_after >= 0 wins. */
long ac_worker_backoff(const struct ac_conf *conf, unsigned attempts, long retry_after);

/* Steps until nothing is due, at most max events or seconds; returns how many ran. */
unsigned ac_worker_drain(const struct ac_conf *conf, struct ac_store *st, struct ac_client *client,
    unsigned max, long seconds);

#endif
