/* forge-events.c: forge-events.fcgi, POST /forge/events: Forge events verified, durable, answered at once (doc/protocol.md §11). */
#include "config.h"

#include "routes/forge_auth.h"
#include "routes/forge_events.h"
#include "web/fcgi.h"
#include "events/worker.h"

static enum ac_err
on_events(struct ac_request *req)
{
	return ac_forge_events_handle(req);
}

static const struct ac_route routes[] = {
	/* method  path             handler    auth           body cap */
	{ "POST", "/forge/events", on_events, AC_AUTH_FORGE, AC_INBOX_BODY_MAX },
};

int
main(int argc, char **argv)
{
	struct ac_app app;
	int rc;

	(void)argc;
	if ((rc = ac_app_init(&app, "forge-events", argv[0], AC_APP_STORE)) != 0)
		return rc;
	app.authenticate = ac_forge_authenticate;
	if (app.conf->worker == AC_WORKER_INLINE)
		app.after_response = ac_worker_drain_inline;
	rc = ac_fcgi_run(&app, routes, sizeof(routes) / sizeof(routes[0]));
	ac_app_release(&app);
	return rc;
}
