/* status.c: status.fcgi, GET /healthcheck and GET /metrics: how this host is doing, for load balancers and Prometheus. */
#include "config.h"

#include "routes/status.h"
#include "web/fcgi.h"

int
main(int argc, char **argv)
{
	struct ac_app app;
	int rc;

	(void)argc;
	/* no AC_APP_STORE: routes/status.c opens it read-only itself, so that a store it cannot open is a 503 */
	if ((rc = ac_app_init(&app, "status", argv[0], 0)) != 0)
		return rc;
	rc = ac_fcgi_run(&app, ac_status_routes, ac_status_nroutes);
	ac_app_release(&app);
	return rc;
}
