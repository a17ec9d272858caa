/* descriptor.c: descriptor.fcgi, serving GET and HEAD /atlassian-connect.json. */
#include "config.h"

#include <stdlib.h>

#include "routes/descriptor.h"
#include "web/fcgi.h"
#include "base/log.h"

/* Rendered once per process at start: every request gets the same bytes. */
static struct ac_buf rendered;

static enum ac_err
on_descriptor(struct ac_request *req)
{
	enum ac_err err;

	/* the descriptor changes with a redeploy; let the product refetch it */
	if ((err = ac_response_header(req, "Cache-Control", "no-cache")) != AC_OK)
		return err;
	return ac_response_set(req, 200, "application/json", rendered.data, rendered.len);
}

static const struct ac_route routes[] = {
	/* method  path                      handler        auth          body cap */
	{ "GET", "/atlassian-connect.json", on_descriptor, AC_AUTH_NONE, 0 },
};

int
main(int argc, char **argv)
{
	struct ac_app app;
	char *why = NULL;
	int rc;

	(void)argc;
	if ((rc = ac_app_init(&app, "descriptor", argv[0], 0)) != 0)
		return rc;
	ac_buf_init(&rendered, AC_DESCRIPTOR_MAX * 2);
	if (ac_descriptor_load(app.conf, &rendered, &why) != AC_OK) {
		ac_log_error("%s", why ? why : "cannot render the descriptor");
		free(why);
		ac_app_release(&app);
		return 1;
	}
	rc = ac_fcgi_run(&app, routes, sizeof(routes) / sizeof(routes[0]));
	ac_buf_release(&rendered);
	ac_app_release(&app);
	return rc;
}
