/* http.c: one libcurl handle per process, HTTPS only but for loopback test hosts. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "outbound/http.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/url.h"

static CURL *handle;
static int global_done;

enum ac_err
ac_http_url_allowed(const struct ac_conf *conf, const char *url, int host_must_be_allowed)
{
	struct ac_url u;
	enum ac_err err;

	if ((err = ac_url_parse(url, &u)) != AC_OK)
		return err;
	/* base/url.h: https, or http to loopback (the one rule, shared with the settings) */
	if (!ac_url_is_secure(&u) || u.has_user)
		err = AC_ERR_HOST_NOT_ALLOWED;
	else if ((host_must_be_allowed || strcmp(u.scheme, "https")) &&
	    !ac_conf_host_allowed(conf, u.host, strlen(u.host)))
		err = AC_ERR_HOST_NOT_ALLOWED;
	ac_url_release(&u);
	return err;
}

struct sink {
	struct ac_buf *body;
	int overflow;
};

static size_t
on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;

	/* the cap is enforced as bytes arrive, not after a download */
	if (ac_buf_add(s->body, p, size * n) != AC_OK) {
		s->overflow = 1;
		return 0;
	}
	return size * n;
}

/* curl's copies of the headers: one is "Authorization: JWT <token>" or a Bearer token */
static void
free_headers(struct curl_slist *hdrs)
{
	struct curl_slist *h;

	for (h = hdrs; h; h = h->next)
		OPENSSL_cleanse(h->data, strlen(h->data));
	curl_slist_free_all(hdrs);
}

/* One outbound call in the host's metrics, by host (never the path: it names tenants' repositories) and status. */
static void
count(const char *url, long status, uint64_t usec)
{
	char l[256] = "", st[16];
	struct ac_url u;

	if (!ac_metrics_enabled() || ac_url_parse(url, &u) != AC_OK)
		return;
	ac_metrics_label(l, sizeof(l), "host_called", u.host);
	ac_url_release(&u);
	ac_metrics_observe(AC_M_OUTBOUND_SECONDS, l, usec);
	snprintf(st, sizeof(st), "%ld", status);
	ac_metrics_inc(AC_M_OUTBOUND, ac_metrics_label(l, sizeof(l), "status", st));
}

enum ac_err
ac_http_do(const struct ac_conf *conf, const struct ac_http_request *rq, long *status, struct ac_buf *body,
    long *retry_after)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink = { body, 0 };
	const char *const *h;
	enum ac_err err;
	CURLcode rc;
	long code = 0;
	uint64_t t0;

	if ((err = ac_http_url_allowed(conf, rq->url, 0)) != AC_OK) {
		ac_log_error("refusing to call %s: only https (or http to an allowed loopback host)", rq->url);
		return err;
	}
	if (!global_done) {
		/* lazily: a CGI process that never calls out must not pay for TLS */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return AC_ERR_INTERNAL;
		global_done = 1;
	}
	if (handle == NULL && (handle = curl_easy_init()) == NULL)
		return AC_ERR_NOMEM;
	curl_easy_reset(handle);
	if (retry_after)
		*retry_after = -1;
	for (h = rq->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(hdrs, *h);

		if (n == NULL) {
			free_headers(hdrs);
			return AC_ERR_NOMEM;
		}
		hdrs = n;
	}
	curl_easy_setopt(handle, CURLOPT_URL, rq->url);
	curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms ? rq->connect_timeout_ms : 2000L);
	curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, rq->timeout_ms ? rq->timeout_ms : 5000L);
	curl_easy_setopt(handle, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, rq->method);
	if (!strcmp(rq->method, "HEAD"))
		curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
	if (rq->body) {
		curl_easy_setopt(handle, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	t0 = ac_clock_usec();
	rc = curl_easy_perform(handle);
	if (rc == CURLE_OK || sink.overflow)
		curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
	count(rq->url, code, ac_clock_usec() - t0);
	free_headers(hdrs);
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, NULL);
	if (sink.overflow) {
		ac_log_error("%s %s: response larger than %zu bytes", rq->method, rq->url, body->cap);
		return AC_ERR_TOO_LARGE;
	}
	if (rc != CURLE_OK) {
		ac_log_error("%s %s: %s", rq->method, rq->url, curl_easy_strerror(rc));
		return AC_ERR_UPSTREAM;
	}
	*status = code;
	if (retry_after) {
		curl_off_t ra = 0;

		/*
		 * RFC 9110 10.2.3: seconds or an HTTP-date; libcurl reads both (a date
		 * as the seconds until it). It says 0 for none as for "0": taken as
		 * none, so the worker's own backoff applies. At most a day.
		 */
		if (curl_easy_getinfo(handle, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			*retry_after = ra < 86400 ? (long)ra : 86400;
	}
	return AC_OK;
}

void
ac_http_cleanup(void)
{
	if (handle)
		curl_easy_cleanup(handle);
	handle = NULL;
	if (global_done)
		curl_global_cleanup();
	global_done = 0;
}
