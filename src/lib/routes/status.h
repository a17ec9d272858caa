/* status.h: status.fcgi's GET /healthcheck and GET /metrics, and the facts acctl status shows (issue 17). */
#ifndef AC_STATUS_H
#define AC_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "base/conf.h"
#include "store/inbox.h"
#include "web/request.h"

/* How long the worker may stay silent (AC_WORKER=daemon) before the host is unhealthy, in seconds. */
#define AC_HEALTH_WORKER_SECONDS 60

/*
 * What /healthcheck says. Nothing here names a tenant or holds a secret: a
 * load balancer (or anyone it lets in) reads it.
 */
struct ac_health {
	int store_ok;                 /* the store answered one read transaction */
	enum ac_err store_err;        /* why not */
	struct ac_inbox_stats inbox;  /* valid when store_ok */
	int64_t oldest_due_age;       /* seconds; -1 when nothing is due */
	int64_t heartbeat_age;        /* seconds since the worker's last heartbeat; -1 when none is known */
	int worker_daemon;            /* AC_WORKER=daemon: the heartbeat is required */
	int worker_ok;                /* heartbeat younger than the limit, or not required */
	long worker_limit;            /* the limit in seconds (AC_HEALTHCHECK_WORKER_SECONDS, tests) */
	int healthy;                  /* store_ok && worker_ok */
};

/*
 * Fills h: ac_inbox_stats (one read, no write; st NULL: the store is not
 * reachable, store_err says why) and the heartbeat of the metrics file
 * mapped in this process (base/metrics.h; none mapped: no heartbeat). The
 * limit is AC_HEALTH_WORKER_SECONDS unless AC_HEALTHCHECK_WORKER_SECONDS
 * (in the environment, for tests) says another whole number of seconds.
 */
void ac_health_check(const struct ac_conf *conf, struct ac_store *st, enum ac_err open_err, struct ac_health *h);

/*
 * h as the /healthcheck JSON: {"status": "ok"|"unhealthy", "problems": [...],
 * "store": {"reachable"}, "inbox": {"pending", "due", "leased", "dead",
 * "oldestDueAgeSeconds"}, "worker": {"mode", "heartbeatAgeSeconds",
 * "limitSeconds", "ok"}}; ages null when unknown. json_object_put() it; NULL: out of memory.
 */
json_object *ac_health_json(const struct ac_health *h);

/*
 * The routes of status.fcgi, no authentication (the shipped web server
 * configs serve them to loopback only): GET /healthcheck (200 healthy, 503
 * otherwise, the JSON above) and GET /metrics (Prometheus text 0.0.4: the
 * host's counters and histograms, and the inbox gauges read from the store
 * at scrape time).
 */
extern const struct ac_route ac_status_routes[];
extern const size_t ac_status_nroutes;

#endif
