/* worker.c: one event at a time: lease, handler, then done, retry later, or dead. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "events/handler.h"
#include "outbound/forge_client.h"
#include "store/inbox.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"
#include "store/tenant.h"
#include "events/worker.h"
#include "web/request.h"

long
ac_worker_backoff(const struct ac_conf *conf, unsigned attempts, long retry_after)
{
	static unsigned seed;
	double ms = (double)conf->retry_base_ms;
	unsigned i;
	long s;

	/*
	 * Retry-After is honoured as a minimum: the store keeps whole seconds,
	 * so one more second keeps a retry from coming early.
	 */
	if (retry_after >= 0)
		return retry_after + 1;
	for (i = 0; i < attempts && ms < AC_WORKER_BACKOFF_MAX * 1000.0; i++)
		ms *= 2;
	if (ms > AC_WORKER_BACKOFF_MAX * 1000.0)
		ms = AC_WORKER_BACKOFF_MAX * 1000.0;
	/* jitter of -25% to +25%: workers retrying after one outage do not come back in step */
	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)ac_clock_usec();
	ms *= 0.75 + (double)(rand_r(&seed) % 1000) / 2000.0;
	s = (long)((ms + 999) / 1000);
	return s < 1 ? 1 : s;
}

static int
permanent(enum ac_err err)
{
	/* no retry can change these: a malformed event, a host we will never call, an oversize answer */
	return err == AC_ERR_BAD_REQUEST || err == AC_ERR_INVALID || err == AC_ERR_BAD_JSON ||
	    err == AC_ERR_HOST_NOT_ALLOWED || err == AC_ERR_TOO_LARGE;
}

int
ac_worker_forge_event(const char *event_key)
{
	return event_key && !strncmp(event_key, "avi:", 4);
}

/* Duplicates s into *dst; AC_ERR_NOMEM. */
static enum ac_err
dup_into(char **dst, const char *s)
{
	return (*dst = strdup(s ? s : "")) == NULL ? AC_ERR_NOMEM : AC_OK;
}

enum ac_err
ac_worker_forge_tenant(struct ac_store *st, const char *installation_id, const char *event_key,
    struct ac_tenant *t)
{
	struct ac_forge_installation in;
	const char *base;
	enum ac_err err;

	memset(t, 0, sizeof(*t));
	memset(&in, 0, sizeof(in));
	err = ac_forge_installation_get(st, installation_id, &in);
	if (err == AC_ERR_NOT_FOUND || (err == AC_OK && (base = ac_forge_api_base(&in)) == NULL)) {
		err = AC_ERR_FORGE_NO_INSTALLATION;
		goto out;
	}
	if (err != AC_OK)
		goto out;
	/* the product is in the event's name (avi:<product>:<verb>:<object>) */
	if (!strncmp(event_key, "avi:bitbucket:", 14))
		t->product = AC_PRODUCT_BITBUCKET;
	else if (!strncmp(event_key, "avi:jira:", 9))
		t->product = AC_PRODUCT_JIRA;
	else {
		err = AC_ERR_BAD_REQUEST;
		goto out;
	}
	/*
	 * key "": markers are made with AC_APP_KEY, the same app as on Connect, so
	 * a comment posted before the move to Forge is found again, not repeated
	 */
	if ((err = dup_into(&t->client_key, installation_id)) != AC_OK ||
	    (err = dup_into(&t->shared_secret, "")) != AC_OK || (err = dup_into(&t->key, "")) != AC_OK ||
	    (err = dup_into(&t->base_url, base)) != AC_OK || (err = dup_into(&t->base_api_url, base)) != AC_OK ||
	    (err = dup_into(&t->oauth_client_id, "")) != AC_OK ||
	    (err = dup_into(&t->display_url, in.site_url)) != AC_OK)
		goto out;
	t->state = AC_TENANT_INSTALLED;
out:
	if (err != AC_OK)
		ac_tenant_release(t);
	ac_forge_installation_release(&in);
	return err;
}

/*
 * What an attempt's failure leaves in the record's last_error (`acctl inbox
 * list`): the code, and for a failure only the operator can end (a manifest
 * without the scheduled trigger) the sentence that says how.
 */
static void
last_error(enum ac_err res, char *out, size_t n)
{
	if (res == AC_ERR_FORGE_NO_TOKEN || res == AC_ERR_FORGE_NO_INSTALLATION)
		snprintf(out, n, "%s: %s", ac_err_code(res), ac_strerror(res));
	else
		snprintf(out, n, "%s", ac_err_code(res));
}

/* One outcome of a handler in the host's metrics (f), with the error code for a failure. */
static void
count(enum ac_metric_family f, const struct ac_handler *h, enum ac_err res)
{
	char l[160] = "";

	if (!ac_metrics_enabled())
		return;
	ac_metrics_label(l, sizeof(l), "handler", h ? h->pattern : "none");
	if (f == AC_M_WORKER_FAILURES)
		ac_metrics_label(l, sizeof(l), "code", ac_err_code(res));
	ac_metrics_inc(f, l);
}

enum ac_err
ac_worker_step(const struct ac_conf *conf, struct ac_store *st, struct ac_client *client, int *ran)
{
	struct ac_handler_ctx ctx = { conf, st, client, -1, NULL };
	const struct ac_handler *h = NULL;
	char why[512];
	struct ac_event ev;
	struct ac_tenant t;
	json_object *payload = NULL;
	enum ac_err err, res;
	time_t now;
	uint64_t t0;

	*ran = 0;
	err = ac_inbox_claim(st, AC_WORKER_LEASE, &ev);
	if (err == AC_ERR_NOT_FOUND)
		return AC_OK;
	if (err != AC_OK)
		return err;
	*ran = 1;
	t0 = ac_clock_usec();
	memset(&t, 0, sizeof(t));
	if (ac_worker_forge_event(ev.event_key)) {
		/* a Forge event: its client key is the installation id (routes/forge_events.c) */
		if (ac_handler_find(ev.event_key) == NULL) {
			ac_log_info("event %llu (%s): no handler; done", (unsigned long long)ev.seq, ev.event_key);
			err = ac_inbox_done(st, ev.seq);
			goto out;
		}
		res = ac_worker_forge_tenant(st, ev.client_key, ev.event_key, &t);
		ctx.forge_installation = ev.client_key;
	} else
		res = ac_tenant_get(st, ev.client_key, &t);
	if (res == AC_OK && t.state != AC_TENANT_INSTALLED)
		res = AC_ERR_TENANT_UNINSTALLED;
	if (res == AC_ERR_UNKNOWN_TENANT || res == AC_ERR_TENANT_UNINSTALLED) {
		/* nobody to act for any more: nothing a retry could change */
		ac_log_info("event %llu (%s) for %s dropped: %s", (unsigned long long)ev.seq, ev.event_key,
		    ev.client_key, ac_err_code(res));
		err = ac_inbox_done(st, ev.seq);
		goto out;
	}
	if (res == AC_OK) {
		if ((h = ac_handler_find(ev.event_key)) == NULL) {
			ac_log_info("event %llu (%s): no handler; done", (unsigned long long)ev.seq, ev.event_key);
			err = ac_inbox_done(st, ev.seq);
			goto out;
		}
		count(AC_M_WORKER_ATTEMPTS, h, AC_OK);
		res = ac_json_parse(ev.body, ev.body_len, &payload, NULL);
		if (res == AC_OK)
			res = h->fn(&ctx, &t, &ev, payload);
	}
	now = ac_clock_now();
	count(res == AC_OK ? AC_M_WORKER_SUCCESSES : AC_M_WORKER_FAILURES, h, res);
	if (res == AC_OK) {
		ac_log_info("event %llu (%s) for %s done in %llu ms after %u attempt(s)", (unsigned long long)ev.seq,
		    ev.event_key, ev.client_key, (unsigned long long)((ac_clock_usec() - t0) / 1000), ev.attempts + 1);
		err = ac_inbox_done(st, ev.seq);
	} else if (permanent(res) || now - ev.received_at >= conf->retry_for) {
		ac_log_error("event %llu (%s) for %s moved to dead after %u attempt(s): %s", (unsigned long long)ev.seq,
		    ev.event_key, ev.client_key, ev.attempts + 1, ac_err_code(res));
		last_error(res, why, sizeof(why));
		count(AC_M_WORKER_DEAD, h, res);
		err = ac_inbox_fail(st, ev.seq, why, now, 1);
	} else {
		long delay = ac_worker_backoff(conf, ev.attempts, ctx.retry_after);

		ac_log_warn("event %llu (%s) for %s failed (%s), attempt %u; again in %ld s", (unsigned long long)ev.seq,
		    ev.event_key, ev.client_key, ac_err_code(res), ev.attempts + 1, delay);
		last_error(res, why, sizeof(why));
		count(AC_M_WORKER_RETRIES, h, res);
		err = ac_inbox_fail(st, ev.seq, why, now + delay, 0);
	}
out:
	/*
	 * taken over while the handler ran (logged): the new holder settles it, or
	 * already did (the event is gone); either way this worker goes on
	 */
	if (err == AC_ERR_LEASE_LOST || err == AC_ERR_NOT_FOUND) {
		if (err == AC_ERR_NOT_FOUND)
			ac_log_warn("event %llu was settled by the worker that took its lease over", (unsigned long long)ev.seq);
		err = AC_OK;
	}
	json_object_put(payload);
	ac_tenant_release(&t);
	ac_event_release(&ev);
	return err;
}

unsigned
ac_worker_drain(const struct ac_conf *conf, struct ac_store *st, struct ac_client *client, unsigned max,
    long seconds)
{
	uint64_t end = ac_clock_usec() + (uint64_t)seconds * 1000000u;
	unsigned n = 0;
	int ran = 1;

	while (ran && n < max && ac_clock_usec() < end) {
		if (ac_worker_step(conf, st, client, &ran) != AC_OK)
			break;
		n += ran ? 1 : 0;
	}
	return n;
}

void
ac_worker_drain_inline(struct ac_app *app)
{
	static struct ac_client *client;

	if (client == NULL && ac_client_new(app->conf, app->store, &client) != AC_OK)
		return;
	ac_worker_drain(app->conf, app->store, client, 100, 20);
}
