/* webhook.c: webhook.fcgi, POST /webhook: verified, durable, answered at once (doc/protocol.md §6). */
#include "config.h"

#include "auth/auth.h"
#include "web/fcgi.h"
#include "routes/webhook.h"
#include "events/worker.h"

static enum ac_err
on_webhook(struct ac_request *req)
{
	return ac_webhook_handle(req);
}

static const struct ac_route routes[] = {
	/* method  path        handler     auth            body cap */
	{ "POST", "/webhook", on_webhook, AC_AUTH_TENANT, AC_INBOX_BODY_MAX },
};

int
main(int argc, char **argv)
{
	struct ac_app app;
	int rc;

	(void)argc;
	if ((rc = ac_app_init(&app, "webhook", argv[0], AC_APP_STORE)) != 0)
		return rc;
	app.authenticate = ac_auth_authenticate;
	if (app.conf->worker == AC_WORKER_INLINE)
		app.after_response = ac_worker_drain_inline;
	rc = ac_fcgi_run(&app, routes, sizeof(routes) / sizeof(routes[0]));
	ac_app_release(&app);
	return rc;
}
