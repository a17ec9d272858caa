/* http.h: outbound HTTP through libcurl, with the URL policy, timeouts and a size cap. */
#ifndef AC_HTTP_H
#define AC_HTTP_H

#include <stddef.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"

struct ac_http_request {
	const char *method;          /* "GET", "POST" ... */
	const char *url;
	const char *const *headers;  /* "Name: value", NULL-terminated; may be NULL */
	const char *body;            /* may be NULL */
	size_t body_len;
	long connect_timeout_ms;     /* 0: 2000 */
	long timeout_ms;             /* 0: 5000 */
};

/*
 * Whether url may be called: https, or plain http to a loopback host
 * (localhost, 127.0.0.0/8, [::1]) that AC_ALLOWED_HOSTS names (tests).
 * When host_must_be_allowed, an https host must match AC_ALLOWED_HOSTS too.
 * AC_ERR_HOST_NOT_ALLOWED otherwise, AC_ERR_INVALID for an unparsable URL.
 */
enum ac_err ac_http_url_allowed(const struct ac_conf *conf, const char *url, int host_must_be_allowed);

/*
 * Performs the request (curl and TLS initialised on first use; the handle
 * and its connections are reused inside the process). The response body goes
 * to body, whose cap bounds it (AC_ERR_TOO_LARGE past it). *status gets
 * the HTTP status. AC_ERR_UPSTREAM when the server cannot be reached or does
 * not answer in time (logged with curl's words). The policy of
 * ac_http_url_allowed (without the https allow-list check) is applied.
 * retry_after (may be NULL) gets the Retry-After seconds (either form, an
 * HTTP-date as the seconds until it; at most a day), or -1 when there is none
 * or it says 0.
 */
enum ac_err ac_http_do(const struct ac_conf *conf, const struct ac_http_request *rq, long *status,
    struct ac_buf *body, long *retry_after);

/* Frees the process's curl handle (tests, valgrind). */
void ac_http_cleanup(void);

#endif
