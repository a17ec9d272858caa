/* oauth-callback.c: oauth-callback.fcgi, GET /oauth-callback: verified, granted, a page
 * (doc/protocol.md §8). */
#include "config.h"

#include "outbound/client.h"
#include "web/fcgi.h"
#include "outbound/http.h"
#include "routes/oauth_page.h"

static const struct ac_route routes[] = {
	/* method  path              handler                auth          body cap */
	{ "GET", "/oauth-callback", ac_oauth_page_handle, AC_AUTH_PAGE, 0 },
};

int
main(int argc, char **argv)
{
	struct ac_client *client = NULL;
	struct ac_app app;
	int rc;

	(void)argc;
	if ((rc = ac_app_init(&app, "oauth-callback", argv[0], AC_APP_STORE)) != 0)
		return rc;
	if (ac_client_new(app.conf, app.store, &client) != AC_OK) {
		ac_app_release(&app);
		return 1;
	}
	/* a token verifies first; only a request with none may ask the public ?client_key= question */
	app.authenticate = ac_oauth_page_authenticate;
	app.error_page = ac_oauth_page_error;
	app.data = client;
	rc = ac_fcgi_run(&app, routes, sizeof(routes) / sizeof(routes[0]));
	ac_client_free(client);
	ac_http_cleanup();
	ac_app_release(&app);
	return rc;
}
