/* request.h: the request path every program shares: route, body, auth, handler, response, log. */
#ifndef AC_REQUEST_H
#define AC_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"

struct ac_store;
struct ac_request;

/* Who may call a route; applied by app->authenticate before the handler. */
enum ac_auth {
	AC_AUTH_NONE,      /* public (descriptor) */
	AC_AUTH_LIFECYCLE, /* /installed, /uninstalled: TOFU or stored secret (Bitbucket), RS256 (Jira) */
	AC_AUTH_TENANT,    /* /webhook: HS256 with the tenant's secret, computed qsh */
	AC_AUTH_PAGE,      /* /oauth-callback: HS256, qsh or context-qsh, ?jwt= allowed */
	AC_AUTH_FORGE,     /* /forge/...: a Forge Invocation Token (RS256, Atlassian's JWKS) */
};

typedef enum ac_err (*ac_route_fn)(struct ac_request *req);

/* One row of a program's route table. */
struct ac_route {
	const char *method;    /* "GET" also answers HEAD */
	const char *path;      /* exact, after our base path is removed */
	ac_route_fn handler;
	enum ac_auth auth;
	size_t body_cap;       /* most body bytes accepted; 0: no body */
};

/* How the request layer talks to its server: FastCGI, CGI, or a test harness. */
struct ac_io {
	/* A request parameter (CGI variable) or NULL; valid until the request ends. */
	const char *(*param)(void *ctx, const char *name);
	/* Up to n body bytes: the count, 0 at end of input, -1 on error. */
	long (*read)(void *ctx, char *buf, size_t n);
	/* All n bytes, or -1. */
	int (*write)(void *ctx, const char *buf, size_t n);
	void *ctx;
};

/* What a program sets up once per process and every request sees. */
struct ac_app {
	const char *program;        /* "descriptor": the log prefix */
	struct ac_conf *conf;
	struct ac_store *store;     /* NULL for programs without state */
	/* Checks req against req->route->auth; NULL fails every authenticated route closed. */
	enum ac_err (*authenticate)(struct ac_request *req);
	void *data;                 /* the program's own */
	/* Runs after a response has gone out (AC_WORKER=inline); NULL: nothing. */
	void (*after_response)(struct ac_app *app);
	/*
	 * Runs after the JSON error body of err is set (status, body, headers
	 * such as WWW-Authenticate) and may replace the body, e.g. with a page
	 * for a person (oauth-callback); NULL: the JSON stays.
	 */
	void (*error_page)(struct ac_request *req, enum ac_err err);
	/* not AC_OK: the store could not be opened (damaged); every request answers it (503) */
	enum ac_err store_err;
};

/*
 * One request. Everything here is owned by the request layer and released
 * when the request ends; handlers borrow it.
 */
struct ac_request {
	struct ac_app *app;
	const struct ac_route *route;
	const struct ac_io *io;

	char *method;          /* REQUEST_METHOD */
	char *uri;             /* raw REQUEST_URI, "path?query" */
	char *path;            /* raw path, our base path removed, never decoded */
	char *query;           /* raw query string, "" when none */
	int head;              /* a HEAD served by a GET route: no body sent */
	struct ac_buf body;    /* exactly CONTENT_LENGTH bytes, NUL-terminated */

	int status;            /* response status; 0 until a response is set */
	struct ac_buf headers; /* extra "Name: value\r\n" lines */
	char *content_type;    /* of the response */
	struct ac_buf out;     /* response body */

	char *tenant;          /* clientKey for the log, when known */
	void *auth;            /* what authentication established (auth.c: the tenant), released with the request */
	void (*auth_free)(void *);
	enum ac_err err;       /* what failed, for the log and error body */
	char *message;         /* error message overriding ac_strerror() */
	uint64_t start_usec;

	/* Cleanups run when the request ends, last first. */
	struct ac_cleanup {
		void (*fn)(void *);
		void *ptr;
	} *cleanups;
	size_t ncleanups, acleanups;
};

/* Most bytes of a response body a handler can produce. */
#define AC_RESPONSE_MAX (4u * 1024 * 1024)

/*
 * Serves one request from io with the routes: matches path and method (404,
 * 405 with Allow), checks CONTENT_LENGTH against the route's cap before
 * reading (411, 413, 400), reads the body (short read 400), authenticates,
 * runs the handler, writes the response (a JSON error body for any error),
 * logs one access line on stderr and releases every byte it allocated.
 */
void ac_request_serve(struct ac_app *app, const struct ac_route *routes, size_t nroutes,
    const struct ac_io *io);

/* A request parameter (HTTP_X_EVENT_KEY ...); borrowed, valid during the request. */
const char *ac_request_param(const struct ac_request *req, const char *name);

/* Sets the response: status, content type (NULL for none) and body (copied). */
enum ac_err ac_response_set(struct ac_request *req, int status, const char *content_type,
    const void *body, size_t len);
/* Sets a JSON response (serialized compactly); obj stays the caller's. */
enum ac_err ac_response_json(struct ac_request *req, int status, json_object *obj);
/* Adds a response header; AC_ERR_INVALID for CR, LF or NUL in either part (header injection). */
enum ac_err ac_response_header(struct ac_request *req, const char *name, const char *value);

/* Whether the request's Content-Type is application/json (parameters such as charset allowed). */
int ac_request_is_json(const struct ac_request *req);

/* Records the tenant for the access log (copied). */
void ac_request_set_tenant(struct ac_request *req, const char *client_key);

/*
 * Returns err, after recording a message for the error body that says more
 * than ac_strerror() (e.g. which field is missing). Never put a secret in it.
 */
enum ac_err ac_request_fail(struct ac_request *req, enum ac_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Runs fn(ptr) when the request ends (release in reverse order). */
enum ac_err ac_request_defer(struct ac_request *req, void (*fn)(void *), void *ptr);

#endif
