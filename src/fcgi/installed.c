/* installed.c: installed.fcgi, POST /installed for Bitbucket and Jira (doc/protocol.md §4, §5). */
#include "config.h"

#include "web/fcgi.h"
#include "routes/lifecycle.h"

static enum ac_err
on_installed(struct ac_request *req)
{
	return ac_lifecycle_handle(req, AC_LIFECYCLE_INSTALLED);
}

static const struct ac_route routes[] = {
	/* method  path   handler  auth  body cap */
	{ "POST", "/installed", on_installed, AC_AUTH_LIFECYCLE, AC_LIFECYCLE_BODY_MAX },
};

int
main(int argc, char **argv)
{
	struct ac_app app;
	int rc;

	(void)argc;
	if ((rc = ac_app_init(&app, "installed", argv[0], AC_APP_STORE)) != 0)
		return rc;
	app.authenticate = ac_lifecycle_authenticate;
	rc = ac_fcgi_run(&app, routes, sizeof(routes) / sizeof(routes[0]));
	ac_app_release(&app);
	return rc;
}
