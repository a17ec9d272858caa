/* forge_jwks.c: the Forge JWKS: kept in the store for every process, fetched again on an unknown kid, at most once a minute per host. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "outbound/forge_jwks.h"
#include "outbound/http.h"
#include "store/store.h"

/*
 * Keys rotate (twice in three days in May 2026), so a built-in set fails; the
 * reference framework fetched the set on every request instead. Here the
 * document lives in the store (one fetch serves every process), is parsed
 * once per process and document, and is fetched again only for a kid it
 * lacks, at most once per AC_FORGE_JWKS_WINDOW for the whole host: a flood of
 * tokens with random kids costs one fetch a minute, never a fetch each.
 */

static struct ac_jwks *cached;     /* parsed from the store's document */
static int64_t cached_fetched_at;  /* its fetchedAt: a newer one is parsed again */

void
ac_forge_jwks_cleanup(void)
{
	ac_jwks_free(cached);
	cached = NULL;
	cached_fetched_at = 0;
}

/* Makes doc (fetched at fetched_at) the process's set, unless it is that already. */
static void
adopt(const struct ac_buf *doc, int64_t fetched_at, int force)
{
	struct ac_jwks *set = NULL;
	char *why = NULL;

	if (!force && cached && cached_fetched_at == fetched_at)
		return;
	if (ac_jwks_parse(doc->data, doc->len, &set, &why) != AC_OK) {
		/* checked before it was kept: a damaged record; the next fetch replaces it */
		ac_log_warn("the kept Forge JWKS is not usable: %s", why ? why : "?");
		free(why);
		return;
	}
	ac_jwks_free(cached);
	cached = set;
	cached_fetched_at = fetched_at;
}

static enum ac_err
unavailable(struct ac_request *req, const char *kid, const char *what)
{
	ac_log_warn("Forge JWKS: %s, and it %s", kid, what);
	return ac_request_fail(req, AC_ERR_FIT_JWKS_UNAVAILABLE, "the token's key is not known and the Forge JWKS %s; retry",
	    what);
}

/* One fetch (granted by the store): the document kept, or the failure recorded. */
static enum ac_err
fetch(struct ac_request *req, const char *kid, struct ac_buf *doc)
{
	const struct ac_conf *conf = req->app->conf;
	struct ac_http_request rq = { 0 };
	struct ac_jwks *set = NULL;
	char *why = NULL;
	long status = 0;
	enum ac_err err;

	rq.method = "GET";
	rq.url = conf->forge_jwks_url;
	rq.connect_timeout_ms = AC_FORGE_JWKS_CONNECT_MS;
	rq.timeout_ms = AC_FORGE_JWKS_TIMEOUT_MS;
	ac_buf_release(doc);
	ac_buf_init(doc, AC_FORGE_JWKS_FETCH_MAX);
	err = ac_http_do(conf, &rq, &status, doc, NULL);
	if (err == AC_OK && status == 200 && ac_jwks_parse(doc->data, doc->len, &set, &why) == AC_OK) {
		ac_jwks_free(set);
		ac_metrics_inc(AC_M_JWKS_FETCHES, "outcome=\"ok\"");
		if ((err = ac_forge_jwks_put(req->app->store, doc->data, doc->len)) != AC_OK)
			return err;
		ac_log_info("Forge JWKS fetched (%zu bytes): %s", doc->len, kid);
		return AC_OK;
	}
	if (err == AC_OK && status == 200)
		ac_log_error("Forge JWKS from %s is not usable: %s", conf->forge_jwks_url, why ? why : "?");
	else if (err == AC_OK)
		ac_log_error("Forge JWKS from %s: HTTP %ld", conf->forge_jwks_url, status);
	else
		ac_log_error("Forge JWKS from %s: %s", conf->forge_jwks_url, ac_err_code(err));
	free(why);
	ac_metrics_inc(AC_M_JWKS_FETCHES, "outcome=\"failed\"");
	(void)ac_forge_jwks_put(req->app->store, NULL, 0);
	return unavailable(req, kid, "could not be fetched");
}

/* The set the store keeps (parsed again only when it changed), and when it was fetched (0: none). */
static enum ac_err
kept(struct ac_buf *doc, struct ac_request *req, int64_t *seen)
{
	struct ac_forge_jwks_state js;
	enum ac_err err;

	*seen = 0;
	if ((err = ac_forge_jwks_get(req->app->store, doc, &js)) != AC_OK)
		return err;
	if (js.found) {
		adopt(doc, js.fetched_at, 0);
		*seen = js.fetched_at;
	}
	return AC_OK;
}

enum ac_err
ac_forge_jwks_kept(struct ac_request *req, const struct ac_jwks **set)
{
	struct ac_buf doc;
	int64_t seen;
	enum ac_err err;

	ac_buf_init(&doc, AC_FORGE_JWKS_FETCH_MAX);
	err = kept(&doc, req, &seen);
	ac_buf_release(&doc);
	*set = err == AC_OK ? cached : NULL;
	return err;
}

enum ac_err
ac_forge_jwks_refetch(struct ac_request *req, const char *why, const struct ac_jwks **set)
{
	struct ac_forge_jwks_state js;
	struct ac_buf doc;
	int64_t seen;
	enum ac_err err;

	*set = NULL;
	ac_buf_init(&doc, AC_FORGE_JWKS_FETCH_MAX);
	if ((err = kept(&doc, req, &seen)) != AC_OK)
		goto out;
	/* one fetch for the host, unless one was made in the window or another process fetched since */
	if ((err = ac_forge_jwks_reserve(req->app->store, AC_FORGE_JWKS_WINDOW, seen, &doc, &js)) != AC_OK)
		goto out;
	if (js.found && js.fetched_at > seen) {
		adopt(&doc, js.fetched_at, 0);
		goto out;
	}
	if (!js.granted) {
		/* the window's fetch is spent: its outcome answers for it */
		if (js.attempt == 1 && cached)
			goto out; /* the set is as fresh as the host allows: the kid stays unknown */
		err = unavailable(req, why, js.attempt < 0 ? "is being fetched" :
		    "could not be fetched within the last minute");
		goto out;
	}
	if ((err = fetch(req, why, &doc)) != AC_OK)
		goto out;
	if ((err = ac_forge_jwks_get(req->app->store, &doc, &js)) == AC_OK && js.found)
		adopt(&doc, js.fetched_at, 1);
out:
	ac_buf_release(&doc);
	if (err == AC_OK)
		*set = cached;
	return err;
}

enum ac_err
ac_forge_jwks_download(const struct ac_conf *conf, const char *url, struct ac_buf *doc, char **why)
{
	struct ac_http_request rq = { 0 };
	struct ac_jwks *set = NULL;
	char *perr = NULL;
	long status = 0;
	enum ac_err err;

	*why = NULL;
	ac_buf_init(doc, AC_FORGE_JWKS_FETCH_MAX);
	err = ac_http_url_allowed(conf, url, 0);
	if (err == AC_ERR_INVALID) {
		*why = ac_buf_asprintf("%.300s is not a URL", url);
		return err;
	}
	if (err != AC_OK) {
		*why = ac_buf_asprintf("%.300s is not fetched: a JWKS comes over https, or plain http from a "
		    "loopback host named in AC_ALLOWED_HOSTS (tests)", url);
		return err;
	}
	rq.method = "GET";
	rq.url = url;
	rq.connect_timeout_ms = AC_FORGE_JWKS_CONNECT_MS;
	rq.timeout_ms = AC_FORGE_JWKS_TIMEOUT_MS;
	err = ac_http_do(conf, &rq, &status, doc, NULL);
	if (err == AC_ERR_TOO_LARGE)
		*why = ac_buf_asprintf("%.300s answered more than %d KiB: that is not a JWKS", url,
		    AC_FORGE_JWKS_FETCH_MAX / 1024);
	else if (err == AC_ERR_UPSTREAM)
		*why = ac_buf_asprintf("%.300s could not be reached or did not answer within %d s", url,
		    AC_FORGE_JWKS_TIMEOUT_MS / 1000);
	else if (err != AC_OK)
		*why = ac_buf_asprintf("%.300s: %s", url, ac_strerror(err));
	else if (status != 200)
		*why = ac_buf_asprintf("%.300s answered HTTP %ld, not 200 with a JWKS", url, status);
	else if ((err = ac_jwks_parse(doc->data ? doc->data : "", doc->len, &set, &perr)) != AC_OK)
		*why = ac_buf_asprintf("%.300s answered 200 but not a usable JWKS: %s", url, perr ? perr : ac_strerror(err));
	else
		ac_jwks_free(set);
	free(perr);
	if (err == AC_OK && status != 200)
		err = AC_ERR_UPSTREAM;
	return err;
}
