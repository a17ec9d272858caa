/* handler-run.c: runs one event handler on a payload file for a tenant of the store (tests). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/client.h"
#include "base/conf.h"
#include "events/handler-util.h"
#include "events/handler.h"
#include "events/worker.h"
#include "outbound/http.h"
#include "store/inbox.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store.h"
#include "store/tenant.h"

/*
 * usage: handler-run CLIENTKEY EVENTKEY PAYLOAD.json
 * (a Forge event key, "avi:…": CLIENTKEY is the installation id)
 * Reads the configuration like acctl (AC_DATA_DIR ...), opens the store for
 * writing (the handlers keep notes), runs the handler the table has for
 * EVENTKEY and prints its result code ("ok", "upstream_error" ...) with
 * " retry_after=N" when the handler set it. Exit 0 on AC_OK, 1 otherwise,
 * 2 for usage or setup errors.
 */
int
main(int argc, char **argv)
{
	const struct ac_handler *h;
	struct ac_handler_ctx ctx;
	struct ac_client *client = NULL;
	struct ac_store *st = NULL;
	struct ac_event ev;
	struct ac_tenant t;
	struct ac_conf conf;
	json_object *payload = NULL;
	char *why = NULL, *body = NULL;
	const char *jwhy = NULL;
	size_t len = 0;
	enum ac_err err;
	FILE *f;
	int rc = 2;

	if (argc != 4) {
		fprintf(stderr, "usage: handler-run CLIENTKEY EVENTKEY PAYLOAD.json\n");
		return 2;
	}
	ac_log_init("handler-run");
	if ((f = fopen(argv[3], "r")) == NULL) {
		perror(argv[3]);
		return 2;
	}
	if (getdelim(&body, &len, '\0', f) < 0) {
		fclose(f);
		free(body);
		fprintf(stderr, "handler-run: cannot read %s\n", argv[3]);
		return 2;
	}
	fclose(f);
	len = strlen(body);
	if (ac_json_parse(body, len, &payload, &jwhy) != AC_OK) {
		fprintf(stderr, "handler-run: %s: %s\n", argv[3], jwhy ? jwhy : "not JSON");
		free(body);
		return 2;
	}
	if ((h = ac_handler_find(argv[2])) == NULL) {
		fprintf(stderr, "handler-run: no handler for %s\n", argv[2]);
		goto out;
	}
	if (ac_conf_load_tool(&conf, ".", &why) != AC_OK) {
		fprintf(stderr, "handler-run: configuration: %s\n", why ? why : "error");
		free(why);
		goto out;
	}
	if (ac_store_open(conf.data_dir, (size_t)conf.map_size_mb << 20, 0, &st) != AC_OK)
		goto conf_release;
	/* a Forge event (avi:…): CLIENTKEY is the installation id, calls go with its system token */
	err = ac_worker_forge_event(argv[2]) ? ac_worker_forge_tenant(st, argv[1], argv[2], &t) :
	    ac_tenant_get(st, argv[1], &t);
	if (err != AC_OK) {
		fprintf(stderr, "handler-run: tenant %s: %s\n", argv[1], ac_err_code(err));
		goto store_close;
	}
	if (ac_client_new(&conf, st, &client) != AC_OK)
		goto tenant_release;
	memset(&ev, 0, sizeof(ev));
	ev.seq = 1;
	ev.client_key = argv[1];
	ev.event_key = argv[2];
	ev.delivery_id = "";
	ev.body = body;
	ev.body_len = len;
	ev.last_error = "";
	ctx.conf = &conf;
	ctx.store = st;
	ctx.client = client;
	ctx.retry_after = -1;
	ctx.forge_installation = ac_worker_forge_event(argv[2]) ? argv[1] : NULL;
	err = h->fn(&ctx, &t, &ev, payload);
	if (ctx.retry_after >= 0)
		printf("%s retry_after=%ld\n", ac_err_code(err), ctx.retry_after);
	else
		printf("%s\n", ac_err_code(err));
	rc = err == AC_OK ? 0 : 1;
	ac_client_free(client);
	ac_http_cleanup();
	ac_handler_util_cleanup();
tenant_release:
	ac_tenant_release(&t);
store_close:
	ac_store_close(st);
conf_release:
	ac_conf_release(&conf);
out:
	json_object_put(payload);
	free(body);
	return rc;
}
