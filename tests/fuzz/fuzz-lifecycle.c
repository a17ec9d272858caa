/* fuzz-lifecycle.c: libFuzzer target for the lifecycle body path: what /installed and
 * /uninstalled run on a body (ac_lifecycle_check_body) through the real request layer. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "routes/lifecycle.h"
#include "web/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Both products, each with the app key of its fixture (tests/sim/payloads), loaded once. */
static const char *const env[2][10] = {
	{ "AC_PRODUCT", "bitbucket", "AC_APP_KEY", "example-app", "AC_BASE_URL", "https://app.example.com",
	  "AC_ALLOWED_HOSTS", "bitbucket.org,api.bitbucket.org", NULL, NULL },
	{ "AC_PRODUCT", "jira", "AC_APP_KEY", "com.example.my-connect-app", "AC_BASE_URL",
	  "https://app.example.com", "AC_ALLOWED_HOSTS", "example.atlassian.net", NULL, NULL },
};
static struct ac_conf confs[2];
static int loaded[2];

static const char *
lookup(const char *name, void *ctx)
{
	const char *const *e = ctx;

	for (; *e; e += 2)
		if (!strcmp(e[0], name))
			return e[1];
	return NULL;
}

struct io {
	const char *const *params;
	const char *in;
	size_t len, pos;
	struct ac_buf out;
};

static const char *
param(void *ctx, const char *name)
{
	return lookup(name, (void *)((struct io *)ctx)->params);
}

static long
rd(void *ctx, char *buf, size_t n)
{
	struct io *f = ctx;

	if (n > f->len - f->pos)
		n = f->len - f->pos;
	memcpy(buf, f->in + f->pos, n);
	f->pos += n;
	return (long)n;
}

static int
wr(void *ctx, const char *buf, size_t n)
{
	return ac_buf_add(&((struct io *)ctx)->out, buf, n) == AC_OK ? 0 : -1;
}

static enum ac_err
on_installed(struct ac_request *req)
{
	enum ac_err err = ac_lifecycle_check_body(req, AC_LIFECYCLE_INSTALLED);

	if (err == AC_OK)
		req->status = 204;
	return err;
}

static enum ac_err
on_uninstalled(struct ac_request *req)
{
	enum ac_err err = ac_lifecycle_check_body(req, AC_LIFECYCLE_UNINSTALLED);

	if (err == AC_OK)
		req->status = 204;
	return err;
}

static enum ac_err
no_auth(struct ac_request *req)
{
	(void)req;
	return AC_OK;
}

static const struct ac_route routes[] = {
	{ "POST", "/installed", on_installed, AC_AUTH_LIFECYCLE, AC_LIFECYCLE_BODY_MAX },
	{ "POST", "/uninstalled", on_uninstalled, AC_AUTH_LIFECYCLE, AC_LIFECYCLE_BODY_MAX },
};

/*
 * The first byte picks the product (bit 0) and the route (bit 1); the rest is
 * the body, on an exact-size copy so that ASan sees any over-read. Invariants:
 * never a 5xx (a body is the client's mistake or fine), and a body the checks
 * accept is one the webhook scanner accepts too (one strictness).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char cl[32], *body;
	const char *params[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/installed", "CONTENT_TYPE",
		"application/json", "CONTENT_LENGTH", cl, NULL, NULL };
	struct ac_app app;
	struct io f;
	struct ac_io io = { param, rd, wr, &f };
	const char *out;
	int product, status = 0;
	size_t i;

	if (size < 1)
		return 0;
	product = data[0] & 1;
	if (data[0] & 2)
		params[3] = "/uninstalled";
	if (!loaded[product]) {
		char *why = NULL;

		if (ac_conf_load_with(&confs[product], NULL, lookup, (void *)env[product], &why) != AC_OK) {
			fprintf(stderr, "fuzz-lifecycle: configuration: %s\n", why ? why : "?");
			abort();
		}
		loaded[product] = 1;
	}
	data++;
	size--;
	body = malloc(size ? size : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	snprintf(cl, sizeof(cl), "%zu", size);
	memset(&app, 0, sizeof(app));
	app.program = "fuzz";
	app.conf = &confs[product];
	app.authenticate = no_auth;
	memset(&f, 0, sizeof(f));
	f.params = params;
	f.in = body;
	f.len = size;
	ac_buf_init(&f.out, 1 << 20);
	ac_request_serve(&app, routes, 2, &io);
	out = ac_buf_str(&f.out);
	for (i = 8; !strncmp(out, "Status: ", 8) && i < 11 && out[i] >= '0' && out[i] <= '9'; i++)
		status = status * 10 + (out[i] - '0');
	if (status != 204 && (status < 400 || status > 499)) {
		fprintf(stderr, "fuzz-lifecycle: status %d:\n%s\n", status, out);
		abort();
	}
	if (status == 204 && ac_json_scan_object(body, size, NULL, 0, NULL) != AC_OK)
		abort();
	ac_buf_release(&f.out);
	free(body);
	return 0;
}
