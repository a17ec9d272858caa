/* request.c: one request from accept to log line, the same for every program. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "web/request.h"

/* Headers a handler may add, in bytes. */
#define HEADERS_MAX (16 * 1024)
/* Longest request URI we route; nginx's own default large buffer is 8k. */
#define URI_MAX (64 * 1024)

const char *
ac_request_param(const struct ac_request *req, const char *name)
{
	return req->io->param(req->io->ctx, name);
}

static int
header_safe(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

enum ac_err
ac_response_header(struct ac_request *req, const char *name, const char *value)
{
	const char *p;

	if (*name == '\0' || !header_safe(name) || !header_safe(value))
		return AC_ERR_INVALID;
	for (p = name; *p; p++)
		if (*p == ':' || isspace((unsigned char)*p))
			return AC_ERR_INVALID;
	return ac_buf_printf(&req->headers, "%s: %s\r\n", name, value);
}

enum ac_err
ac_response_set(struct ac_request *req, int status, const char *content_type, const void *body, size_t len)
{
	enum ac_err err;
	char *ct = NULL;

	if (content_type && (!header_safe(content_type) || (ct = strdup(content_type)) == NULL))
		return content_type && !header_safe(content_type) ? AC_ERR_INVALID : AC_ERR_NOMEM;
	ac_buf_reset(&req->out);
	if ((err = ac_buf_add(&req->out, body, len)) != AC_OK) {
		free(ct);
		return err;
	}
	free(req->content_type);
	req->content_type = ct;
	req->status = status;
	return AC_OK;
}

enum ac_err
ac_response_json(struct ac_request *req, int status, json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	if (s == NULL)
		return AC_ERR_NOMEM;
	return ac_response_set(req, status, "application/json", s, len);
}

int
ac_request_is_json(const struct ac_request *req)
{
	const char *ct = ac_request_param(req, "CONTENT_TYPE");
	size_t n;

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; \t");
	return n == 16 && !strncasecmp(ct, "application/json", 16);
}

void
ac_request_set_tenant(struct ac_request *req, const char *client_key)
{
	char *t = strdup(client_key);

	if (t) {
		free(req->tenant);
		req->tenant = t;
	}
}

enum ac_err
ac_request_fail(struct ac_request *req, enum ac_err err, const char *fmt, ...)
{
	struct ac_buf b;
	va_list ap;
	char *m;

	ac_buf_init(&b, 1024);
	va_start(ap, fmt);
	if (ac_buf_vprintf(&b, fmt, ap) == AC_OK && ac_buf_detach(&b, &m, NULL) == AC_OK) {
		free(req->message);
		req->message = m;
	}
	va_end(ap);
	ac_buf_release(&b);
	return err;
}

enum ac_err
ac_request_defer(struct ac_request *req, void (*fn)(void *), void *ptr)
{
	if (req->ncleanups == req->acleanups) {
		size_t a = req->acleanups ? req->acleanups * 2 : 8;
		struct ac_cleanup *c = realloc(req->cleanups, a * sizeof(*c));

		if (c == NULL) {
			fn(ptr);
			return AC_ERR_NOMEM;
		}
		req->cleanups = c;
		req->acleanups = a;
	}
	req->cleanups[req->ncleanups].fn = fn;
	req->cleanups[req->ncleanups].ptr = ptr;
	req->ncleanups++;
	return AC_OK;
}

static char *
dup_param(const struct ac_request *req, const char *name)
{
	const char *v = ac_request_param(req, name);

	return strdup(v ? v : "");
}

/* Splits REQUEST_URI into path and query; falls back to SCRIPT_NAME + PATH_INFO. */
static enum ac_err
parse_target(struct ac_request *req)
{
	const char *uri = ac_request_param(req, "REQUEST_URI");
	const char *base = req->app->conf ? req->app->conf->base_path : "";
	struct ac_buf b;
	const char *q;
	size_t plen, blen = base ? strlen(base) : 0;
	enum ac_err err;

	ac_buf_init(&b, URI_MAX);
	if (uri == NULL || *uri == '\0') {
		/* servers that do not send REQUEST_URI (some CGI setups) */
		const char *sn = ac_request_param(req, "SCRIPT_NAME");
		const char *pi = ac_request_param(req, "PATH_INFO");
		const char *qs = ac_request_param(req, "QUERY_STRING");

		if ((err = ac_buf_printf(&b, "%s%s%s%s", sn ? sn : "", pi ? pi : "",
		    qs && *qs ? "?" : "", qs && *qs ? qs : "")) != AC_OK)
			goto out;
		uri = ac_buf_str(&b);
	}
	if (strlen(uri) > URI_MAX) {
		err = AC_ERR_BAD_REQUEST;
		goto out;
	}
	if ((req->uri = strdup(uri)) == NULL) {
		err = AC_ERR_NOMEM;
		goto out;
	}
	q = strchr(req->uri, '?');
	plen = q ? (size_t)(q - req->uri) : strlen(req->uri);
	/* the fragment never reaches a server, but a hand-made request may carry one */
	if (memchr(req->uri, '#', plen))
		plen = (size_t)((const char *)memchr(req->uri, '#', plen) - req->uri);
	if (blen && plen >= blen && !strncmp(req->uri, base, blen) &&
	    (plen == blen || req->uri[blen] == '/'))
		req->path = strndup(req->uri + blen, plen - blen);
	else
		req->path = strndup(req->uri, plen);
	req->query = strdup(q ? q + 1 : "");
	err = (req->path && req->query) ? AC_OK : AC_ERR_NOMEM;
	if (err == AC_OK && req->path[0] == '\0') {
		free(req->path);
		err = (req->path = strdup("/")) ? AC_OK : AC_ERR_NOMEM;
	}
out:
	ac_buf_release(&b);
	return err;
}

static int
method_matches(const char *route_method, const char *method, int *head)
{
	if (!strcmp(route_method, method))
		return 1;
	if (!strcmp(method, "HEAD") && !strcmp(route_method, "GET")) {
		*head = 1;
		return 1;
	}
	return 0;
}

/* Picks the route; on a known path with another method, 405 with Allow. */
static enum ac_err
route(struct ac_request *req, const struct ac_route *routes, size_t n)
{
	struct ac_buf allow;
	size_t i;
	int path_known = 0, head = 0;
	enum ac_err err;

	for (i = 0; i < n; i++) {
		if (strcmp(routes[i].path, req->path))
			continue;
		path_known = 1;
		head = 0;
		if (method_matches(routes[i].method, req->method, &head)) {
			req->route = &routes[i];
			req->head = head;
			return AC_OK;
		}
	}
	if (!path_known)
		return AC_ERR_NOT_FOUND;
	ac_buf_init(&allow, 256);
	for (i = 0; i < n; i++) {
		if (strcmp(routes[i].path, req->path))
			continue;
		if (ac_buf_printf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method) != AC_OK)
			break;
		if (!strcmp(routes[i].method, "GET"))
			ac_buf_adds(&allow, ", HEAD");
	}
	err = ac_response_header(req, "Allow", ac_buf_str(&allow));
	ac_buf_release(&allow);
	return err == AC_OK ? AC_ERR_METHOD : err;
}

/*
 * RFC 9110 8.6: Content-Length is 1*DIGIT. Checked against the cap before a
 * byte is read, so an oversized body costs nothing.
 */
static enum ac_err
read_body(struct ac_request *req)
{
	const char *cl = ac_request_param(req, "CONTENT_LENGTH");
	size_t len = 0, got = 0, cap = req->route->body_cap;
	const char *p;
	int wants_body = !strcmp(req->method, "POST") || !strcmp(req->method, "PUT") ||
	    !strcmp(req->method, "PATCH");

	if (cl == NULL || *cl == '\0') {
		if (wants_body)
			return AC_ERR_LENGTH_REQUIRED;
		return AC_OK;
	}
	for (p = cl; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return AC_ERR_BAD_LENGTH;
		if (len > (SIZE_MAX - 9) / 10) {
			len = SIZE_MAX;
			continue;
		}
		len = len * 10 + (size_t)(*p - '0');
	}
	if (len > cap)
		return AC_ERR_BODY_TOO_LARGE;
	/* a lifecycle body carries the sharedSecret: cleansed when the request is done */
	if (req->route->auth == AC_AUTH_LIFECYCLE)
		ac_buf_init_secret(&req->body, cap);
	else
		ac_buf_init(&req->body, cap);
	/* the whole body at once (len <= cap), read straight into it */
	if (ac_buf_reserve(&req->body, len) != AC_OK)
		return AC_ERR_NOMEM;
	while (got < len) {
		long r = req->io->read(req->io->ctx, req->body.data + got, len - got);

		if (r <= 0 || (size_t)r > len - got) {
			req->body.data[got] = '\0';
			return AC_ERR_SHORT_BODY;
		}
		got += (size_t)r;
	}
	req->body.data[len] = '\0';
	req->body.len = len;
	return AC_OK;
}

static void
error_response(struct ac_request *req, enum ac_err err)
{
	json_object *o = json_object_new_object();
	int status = ac_err_http_status(err);

	if (o) {
		json_object_object_add(o, "error", json_object_new_string(ac_err_code(err)));
		json_object_object_add(o, "message",
		    json_object_new_string(req->message ? req->message : ac_strerror(err)));
	}
	if (o == NULL || ac_response_json(req, status, o) != AC_OK) {
		static const char fallback[] = "{\"error\":\"out_of_memory\",\"message\":\"out of memory\"}";

		ac_buf_reset(&req->out);
		free(req->content_type);
		req->content_type = NULL;
		ac_buf_add(&req->out, fallback, sizeof(fallback) - 1);
		req->status = status;
	}
	json_object_put(o);
	if (status == 401 && err != AC_OK)
		ac_response_header(req, "WWW-Authenticate", "JWT");
}

static void
write_response(struct ac_request *req)
{
	struct ac_buf h;
	int no_body = req->status == 204 || req->status == 304;

	ac_buf_init(&h, HEADERS_MAX + 1024);
	ac_buf_printf(&h, "Status: %d %s\r\n", req->status, ac_http_reason(req->status));
	if (!no_body) {
		if (req->content_type)
			ac_buf_printf(&h, "Content-Type: %s\r\n", req->content_type);
		ac_buf_printf(&h, "Content-Length: %zu\r\n", req->out.len);
	}
	ac_buf_add(&h, req->headers.data ? req->headers.data : "", req->headers.len);
	ac_buf_adds(&h, "\r\n");
	if (req->io->write(req->io->ctx, h.data, h.len) == 0 && !no_body && !req->head && req->out.len)
		req->io->write(req->io->ctx, req->out.data, req->out.len);
	ac_buf_release(&h);
}

static void
access_log(const struct ac_request *req)
{
	struct ac_log_event ev = { 0 };

	/* the path without its query, which may carry a token (jwt=) */
	ev.program = req->app->program;
	ev.level = "info";
	ev.method = req->method ? req->method : "-";
	ev.path = req->path ? req->path : "-";
	ev.status = req->status;
	ev.usec = (long long)(ac_clock_usec() - req->start_usec);
	ev.tenant = req->tenant;
	ev.error = req->err == AC_OK ? NULL : ac_err_code(req->err);
	ac_log_event(&ev);
}

static void
request_release(struct ac_request *req)
{
	while (req->ncleanups > 0) {
		req->ncleanups--;
		req->cleanups[req->ncleanups].fn(req->cleanups[req->ncleanups].ptr);
	}
	free(req->cleanups);
	if (req->auth && req->auth_free)
		req->auth_free(req->auth);
	free(req->method);
	free(req->uri);
	free(req->path);
	free(req->query);
	free(req->content_type);
	free(req->tenant);
	free(req->message);
	ac_buf_release(&req->body);
	ac_buf_release(&req->headers);
	ac_buf_release(&req->out);
}

void
ac_request_serve(struct ac_app *app, const struct ac_route *routes, size_t nroutes, const struct ac_io *io)
{
	struct ac_request req;
	enum ac_err err;

	memset(&req, 0, sizeof(req));
	req.app = app;
	req.io = io;
	req.start_usec = ac_clock_usec();
	ac_buf_init(&req.body, 0);
	ac_buf_init(&req.headers, HEADERS_MAX);
	ac_buf_init(&req.out, AC_RESPONSE_MAX);

	if ((req.method = dup_param(&req, "REQUEST_METHOD")) == NULL) {
		err = AC_ERR_NOMEM;
		goto respond;
	}
	if ((err = parse_target(&req)) != AC_OK)
		goto respond;
	if ((err = route(&req, routes, nroutes)) != AC_OK)
		goto respond;
	if ((err = read_body(&req)) != AC_OK)
		goto respond;
	if ((err = app->store_err) != AC_OK)
		goto respond; /* 503: the product retries, and the log said why at start */
	if (req.route->auth != AC_AUTH_NONE) {
		/* fail closed: a route that needs auth and a program that has none */
		if (app->authenticate == NULL) {
			ac_log_error("route %s %s needs authentication but the program has none",
			    req.route->method, req.route->path);
			err = AC_ERR_INTERNAL;
			goto respond;
		}
		if ((err = app->authenticate(&req)) != AC_OK)
			goto respond;
	}
	err = req.route->handler(&req);
	if (err == AC_OK && req.status == 0)
		req.status = 204;
respond:
	req.err = err;
	if (err != AC_OK) {
		/* a handler's partial response never leaks out with an error */
		ac_buf_reset(&req.out);
		error_response(&req, err);
		if (app->error_page)
			app->error_page(&req, err);
	}
	write_response(&req);
	access_log(&req);
	request_release(&req);
}
