/* forge-remote.c: forge-remote.fcgi, POST /forge/merge-check and /forge/remote/...: Forge Remote calls answered (doc/protocol.md §11.2). */
#include "config.h"

#include "routes/forge_remote.h"
#include "web/fcgi.h"

int
main(int argc, char **argv)
{
	struct ac_app app;
	int rc;

	(void)argc;
	if ((rc = ac_app_init(&app, "forge-remote", argv[0], AC_APP_STORE)) != 0)
		return rc;
	app.authenticate = ac_forge_remote_authenticate;
	rc = ac_fcgi_run(&app, ac_forge_remote_routes, ac_forge_remote_nroutes);
	ac_app_release(&app);
	return rc;
}
