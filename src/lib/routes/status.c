/* status.c: GET /healthcheck and GET /metrics (status.fcgi), and the facts acctl status shares. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/num.h"
#include "routes/status.h"
#include "store/inbox.h"
#include "store/store.h"

static long
worker_limit(void)
{
	const char *v = getenv("AC_HEALTHCHECK_WORKER_SECONDS");
	int64_t n;

	if (v && ac_num_parse(v, strlen(v), 1, 86400, &n) == AC_OK)
		return (long)n;
	return AC_HEALTH_WORKER_SECONDS;
}

void
ac_health_check(const struct ac_conf *conf, struct ac_store *st, enum ac_err open_err, struct ac_health *h)
{
	uint64_t beat = ac_metrics_last_heartbeat();
	struct timespec ts;
	time_t now = ac_clock_now();

	memset(h, 0, sizeof(*h));
	h->oldest_due_age = -1;
	h->heartbeat_age = -1;
	h->store_err = st ? ac_inbox_stats(st, &h->inbox) : open_err != AC_OK ? open_err : AC_ERR_STORE;
	h->store_ok = h->store_err == AC_OK;
	if (h->store_ok && h->inbox.oldest_due != 0)
		h->oldest_due_age = now > h->inbox.oldest_due ? (int64_t)(now - h->inbox.oldest_due) : 0;
	if (beat) {
		/* the heartbeat is wall-clock milliseconds, written by another process: never the fixed test clock */
		clock_gettime(CLOCK_REALTIME, &ts);
		h->heartbeat_age = (int64_t)ts.tv_sec - (int64_t)(beat / 1000);
		if (h->heartbeat_age < 0)
			h->heartbeat_age = 0;
	}
	h->worker_daemon = conf->worker == AC_WORKER_DAEMON;
	h->worker_limit = worker_limit();
	h->worker_ok = !h->worker_daemon || (h->heartbeat_age >= 0 && h->heartbeat_age < h->worker_limit);
	h->healthy = h->store_ok && h->worker_ok;
}

static json_object *
age(int64_t v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

json_object *
ac_health_json(const struct ac_health *h)
{
	json_object *o = json_object_new_object(), *store, *inbox, *worker, *problems;
	char why[160];

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "status", json_object_new_string(h->healthy ? "ok" : "unhealthy"));
	json_object_object_add(o, "problems", problems = json_object_new_array());
	if (!h->store_ok) {
		snprintf(why, sizeof(why), "the store cannot be read: %s", ac_err_code(h->store_err));
		json_object_array_add(problems, json_object_new_string(why));
	}
	if (!h->worker_ok) {
		if (h->heartbeat_age < 0)
			snprintf(why, sizeof(why), "AC_WORKER=daemon and no worker heartbeat on this host");
		else
			snprintf(why, sizeof(why), "AC_WORKER=daemon and no worker heartbeat for %lld s (limit %ld s)",
			    (long long)h->heartbeat_age, h->worker_limit);
		json_object_array_add(problems, json_object_new_string(why));
	}
	json_object_object_add(o, "store", store = json_object_new_object());
	json_object_object_add(store, "reachable", json_object_new_boolean(h->store_ok));
	json_object_object_add(o, "inbox", inbox = json_object_new_object());
	if (h->store_ok) {
		json_object_object_add(inbox, "pending", json_object_new_int64((int64_t)h->inbox.inbox));
		json_object_object_add(inbox, "due", json_object_new_int64((int64_t)h->inbox.due));
		json_object_object_add(inbox, "leased", json_object_new_int64((int64_t)h->inbox.leased));
		json_object_object_add(inbox, "dead", json_object_new_int64((int64_t)h->inbox.dead));
	} else {
		json_object_object_add(inbox, "pending", NULL);
		json_object_object_add(inbox, "due", NULL);
		json_object_object_add(inbox, "leased", NULL);
		json_object_object_add(inbox, "dead", NULL);
	}
	json_object_object_add(inbox, "oldestDueAgeSeconds", age(h->oldest_due_age));
	json_object_object_add(o, "worker", worker = json_object_new_object());
	json_object_object_add(worker, "mode", json_object_new_string(h->worker_daemon ? "daemon" : "inline"));
	json_object_object_add(worker, "heartbeatAgeSeconds", age(h->heartbeat_age));
	json_object_object_add(worker, "limitSeconds", json_object_new_int64(h->worker_limit));
	json_object_object_add(worker, "ok", json_object_new_boolean(h->worker_ok));
	return o;
}

/*
 * status.fcgi opens the store itself, read-only, on the first request and
 * again when it failed (at most every 5 s, so that a load balancer polling a
 * broken store does not fill the log) or its files were replaced: a store
 * that cannot be opened is a 503 with the JSON, never a program that exits
 * (a 502 that says nothing).
 */
static enum ac_err
store_for(struct ac_request *req)
{
	static enum ac_err last = AC_ERR_STORE;
	static time_t tried;
	struct ac_app *app = req->app;
	time_t now = time(NULL);

	if (app->store && ac_store_stale(app->store)) {
		ac_store_close(app->store);
		app->store = NULL;
		tried = 0;
	}
	if (app->store)
		return AC_OK;
	if (tried && now - tried < 5)
		return last;
	tried = now;
	last = ac_store_open_conf(app->conf, AC_STORE_RDONLY, &app->store);
	if (last != AC_OK)
		app->store = NULL;
	/* the metrics file too, when the data directory came after this process */
	if (!ac_metrics_mapped())
		ac_metrics_open(app->conf->data_dir, 0);
	return last;
}

static enum ac_err
on_healthcheck(struct ac_request *req)
{
	struct ac_health h;
	enum ac_err err = store_for(req);
	json_object *o;

	ac_health_check(req->app->conf, req->app->store, err, &h);
	if ((o = ac_health_json(&h)) == NULL)
		return AC_ERR_NOMEM;
	err = ac_response_json(req, h.healthy ? 200 : 503, o);
	json_object_put(o);
	if (err == AC_OK)
		err = ac_response_header(req, "Cache-Control", "no-store");
	return err;
}

static enum ac_err
on_metrics(struct ac_request *req)
{
	struct ac_health h;
	struct ac_buf b;
	enum ac_err err = store_for(req);

	ac_health_check(req->app->conf, req->app->store, err, &h);
	ac_buf_init(&b, AC_RESPONSE_MAX);
	err = ac_metrics_render(&b);
	if (err == AC_OK)
		err = ac_metrics_render_gauge(&b, "ac_store_up", "Whether the store answered a read at this scrape.", "",
		    h.store_ok);
	if (err == AC_OK && h.store_ok) {
		const struct {
			const char *name, *help;
			size_t v;
		} g[] = {
			{ "ac_inbox_pending", "Events in the inbox (not yet done).", h.inbox.inbox },
			{ "ac_inbox_due", "Inbox events due now.", h.inbox.due },
			{ "ac_inbox_leased", "Inbox events a worker runs now (live lease).", h.inbox.leased },
			{ "ac_inbox_dead", "Events in dead letters.", h.inbox.dead },
		};
		size_t i;

		for (i = 0; i < sizeof(g) / sizeof(g[0]) && err == AC_OK; i++)
			err = ac_metrics_render_gauge(&b, g[i].name, g[i].help, "", (double)g[i].v);
		if (err == AC_OK)
			err = ac_metrics_render_gauge(&b, "ac_inbox_oldest_due_age_seconds",
			    "Age of the oldest due event (0 when none is due).", "",
			    h.oldest_due_age < 0 ? 0 : (double)h.oldest_due_age);
	}
	if (err == AC_OK && h.heartbeat_age >= 0)
		err = ac_metrics_render_gauge(&b, "ac_worker_heartbeat_age_seconds",
		    "Seconds since a worker of this host last polled the inbox.", "", (double)h.heartbeat_age);
	if (err == AC_OK)
		err = ac_response_set(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len);
	ac_buf_release(&b);
	if (err == AC_OK)
		err = ac_response_header(req, "Cache-Control", "no-store");
	return err;
}

const struct ac_route ac_status_routes[] = {
	/* method  path            handler          auth         body cap */
	{ "GET", "/healthcheck", on_healthcheck, AC_AUTH_NONE, 0 },
	{ "GET", "/metrics",     on_metrics,     AC_AUTH_NONE, 0 },
};
const size_t ac_status_nroutes = sizeof(ac_status_routes) / sizeof(ac_status_routes[0]);
