/* cmd-api.c: `acctl api`: one signed REST call for a tenant from the store, shown as sent. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctl.h"
#include "outbound/client.h"
#include "base/conf.h"
#include "outbound/http.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store.h"
#include "store/tenant.h"

/* Most bytes of a --data body. */
#define DATA_MAX (1024 * 1024)

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctl api [--tenant CLIENTKEY] [-v] [--as-user ACCOUNT_ID [--scopes S]] METHOD PATH\n"
	    "                 [--data JSON|@FILE]\n"
	    "Calls the tenant's REST API (Bitbucket: baseApiUrl, e.g. GET /2.0/user; Jira: baseUrl,\n"
	    "e.g. GET /rest/api/3/issue/KEY) with a per-call JWT signed with its stored secret, or for\n"
	    "Bitbucket with AC_BITBUCKET_AUTH=bearer the JWT grant's access token (shared with the\n"
	    "programs through the store).\n"
	    "Prints 'HTTP <status>' and the body; exit 0 for 2xx, 1 otherwise, 2 for usage.\n"
	    "  --tenant K   the tenant (may be left out when exactly one is installed)\n"
	    "  --data D     a JSON body, or @FILE (@- for stdin), sent as application/json\n"
	    "  --as-user A  Jira: act as the user with Atlassian account id A (impersonation through\n"
	    "               AC_OAUTH_SERVER_URL; needs ACT_AS_USER); the token is cached per user and scopes\n"
	    "  --scopes S   with --as-user: the scopes asked, e.g. \"READ WRITE\"\n"
	    "  -v           also print the canonical request, the claims and the headers sent\n"
	    "               (the token shortened) on stderr\n"
	    "Reads the store in AC_DATA_DIR (default ./var/data).\n");
}

/* The JSON body of --data: the text, or the content of @FILE; checked to be JSON. */
static int
read_data(const char *arg, char **out, size_t *len)
{
	struct ac_buf b;
	json_object *o;
	const char *why = NULL;
	enum ac_err err = AC_OK;

	ac_buf_init(&b, DATA_MAX);
	if (arg[0] == '@') {
		FILE *f = strcmp(arg + 1, "-") ? fopen(arg + 1, "r") : stdin;
		char chunk[8192];
		size_t n;

		if (f == NULL) {
			perror(arg + 1);
			return 2;
		}
		while (err == AC_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			err = ac_buf_add(&b, chunk, n);
		if (f != stdin)
			fclose(f);
	} else
		err = ac_buf_adds(&b, arg);
	if (err != AC_OK) {
		fprintf(stderr, "acctl: --data: more than %d bytes\n", DATA_MAX);
		ac_buf_release(&b);
		return 2;
	}
	if (ac_json_parse(ac_buf_str(&b), b.len, &o, &why) != AC_OK) {
		fprintf(stderr, "acctl: --data is not JSON: %s\n", why ? why : "parse error");
		ac_buf_release(&b);
		return 2;
	}
	json_object_put(o);
	if (ac_buf_detach(&b, out, len) != AC_OK) {
		ac_buf_release(&b);
		return 2;
	}
	return 0;
}

struct pick {
	char *client_key; /* the one installed tenant */
	size_t n;
};

static enum ac_err
pick_fn(const struct ac_tenant *t, json_object *rec, void *ctx)
{
	struct pick *p = ctx;

	(void)rec;
	if (t->state != AC_TENANT_INSTALLED)
		return AC_OK;
	if (p->n++ == 0 && (p->client_key = strdup(t->client_key)) == NULL)
		return AC_ERR_NOMEM;
	return AC_OK;
}

static void
print_trace(const struct ac_client_trace *tr)
{
	const char *p, *nl;

	fprintf(stderr, "* url: %s\n", tr->url);
	fprintf(stderr, "* canonical request: %s\n", tr->canonical);
	fprintf(stderr, "* claims: %s\n", tr->claims);
	for (p = tr->headers; *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		fprintf(stderr, "> %.*s\n", (int)(nl - p), p);
	}
}

int
acctl_cmd_api(int argc, char **argv)
{
	const char *tenant_key = NULL, *method = NULL, *path = NULL, *data_arg = NULL;
	struct ac_client_opts opts = { AC_CLIENT_AUTH_DEFAULT, NULL, NULL };
	struct ac_client_response resp;
	struct ac_client_trace trace;
	struct ac_client *client = NULL;
	struct ac_store *st = NULL;
	struct pick pick = { NULL, 0 };
	struct ac_conf conf;
	struct ac_tenant t;
	char *data = NULL, *why = NULL;
	size_t data_len = 0;
	int verbose = 0, i, rc = 1;
	enum ac_err err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			verbose = 1;
		else if (!strcmp(argv[i], "--tenant") && i + 1 < argc)
			tenant_key = argv[++i];
		else if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data_arg = argv[++i];
		else if (!strcmp(argv[i], "--as-user") && i + 1 < argc) {
			opts.auth = AC_CLIENT_AUTH_USER;
			opts.account_id = argv[++i];
		} else if (!strcmp(argv[i], "--scopes") && i + 1 < argc)
			opts.scopes = argv[++i];
		else if (argv[i][0] == '-' || path) {
			usage(stderr);
			return 2;
		} else if (method == NULL)
			method = argv[i];
		else
			path = argv[i];
	}
	if (method == NULL || path == NULL) {
		usage(stderr);
		return 2;
	}
	if (opts.scopes && opts.account_id == NULL) {
		fprintf(stderr, "acctl: --scopes goes with --as-user\n");
		return 2;
	}
	if (path[0] != '/') {
		fprintf(stderr, "acctl: PATH starts with '/' and is relative to the tenant's API base\n");
		return 2;
	}
	if (data_arg && (rc = read_data(data_arg, &data, &data_len)) != 0)
		return rc;
	ac_log_init("acctl");
	if (ac_conf_load_tool(&conf, ".", &why) != AC_OK) {
		fprintf(stderr, "acctl: configuration: %s\n", why ? why : "error");
		free(why);
		free(data);
		return 2;
	}
	rc = 1;
	if (acctl_as_data_owner(&conf) != 0)
		goto conf_release;
	/* access tokens are cached in the store for every process: then it is opened for writing */
	if (ac_store_open_conf(&conf,
	    opts.account_id || conf.bitbucket_auth == AC_BITBUCKET_AUTH_BEARER ? ac_store_conf_flags(&conf) :
	    AC_STORE_RDONLY, &st) != AC_OK) {
		fprintf(stderr, "acctl: cannot open the store in %s\n", acctl_store_where(&conf));
		goto conf_release;
	}
	if (tenant_key == NULL) {
		if (ac_tenant_foreach(st, pick_fn, &pick) != AC_OK)
			goto store_close;
		if (pick.n != 1) {
			fprintf(stderr, "acctl: %zu tenants are installed; name one with --tenant CLIENTKEY\n", pick.n);
			rc = 2;
			goto store_close;
		}
		tenant_key = pick.client_key;
	}
	if ((err = ac_tenant_get(st, tenant_key, &t)) != AC_OK) {
		if (err == AC_ERR_UNKNOWN_TENANT)
			fprintf(stderr, "acctl: no tenant with clientKey '%s'\n", tenant_key);
		else
			fprintf(stderr, "acctl: %s\n", ac_strerror(err));
		goto store_close;
	}
	if (ac_client_new(&conf, st, &client) != AC_OK)
		goto tenant_release;
	memset(&trace, 0, sizeof(trace));
	ac_client_response_init(&resp);
	err = ac_client_call_ex(client, &t, &opts, method, path, data, data_len, &resp, verbose ? &trace : NULL);
	if (verbose && trace.url[0])
		print_trace(&trace);
	if (err != AC_OK) {
		fprintf(stderr, "acctl: %s (%s)\n", ac_strerror(err), ac_err_code(err));
	} else {
		printf("HTTP %ld\n", resp.status);
		if (resp.body.len > 0) {
			fwrite(resp.body.data, 1, resp.body.len, stdout);
			if (resp.body.data[resp.body.len - 1] != '\n')
				putchar('\n');
		}
		rc = resp.status >= 200 && resp.status < 300 ? 0 : 1;
	}
	if (fflush(stdout) != 0)
		rc = 1;
	ac_client_response_release(&resp);
	ac_client_free(client);
	ac_http_cleanup();
tenant_release:
	ac_tenant_release(&t);
store_close:
	ac_store_close(st);
conf_release:
	ac_conf_release(&conf);
	free(pick.client_key);
	free(data);
	return rc;
}
