/* cmd-status.c: `acctl status`, one screen of how this host is doing: /healthcheck's facts and more. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "acctl.h"
#include "base/conf.h"
#include "base/metrics.h"
#include "routes/status.h"
#include "store/inbox.h"
#include "store/store.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctl status [--json]\n"
	    "  how this host is doing, read-only: the store, the inbox (pending, due, leased, dead, the\n"
	    "  oldest due event's age), the worker's heartbeat, the last errors by code (inbox and dead\n"
	    "  letters, and the counters of requests and handlers), the token cache and the Forge\n"
	    "  installations. Exit status 0 when healthy (as GET /healthcheck says 200), 1 otherwise.\n"
	    "  --json  the same as one JSON object\n");
}

/* code → count, in a JSON object */
static void
bump(json_object *by_code, const char *code, int64_t n)
{
	json_object *v;
	int64_t had = json_object_object_get_ex(by_code, code, &v) ? json_object_get_int64(v) : 0;

	json_object_object_add(by_code, code, json_object_new_int64(had + n));
}

/* The code of a last_error ("upstream_error" or "forge_no_token: sentence"). */
static enum ac_err
inbox_error(const struct ac_event *ev, void *ctx)
{
	char code[64];
	size_t n = strcspn(ev->last_error, ": ");

	if (*ev->last_error == '\0')
		return AC_OK;
	snprintf(code, sizeof(code), "%.*s", (int)(n < sizeof(code) ? n : sizeof(code) - 1), ev->last_error);
	bump(ctx, code, 1);
	return AC_OK;
}

/* The code="..." label of a metrics series, added up by code. */
static void
metric_code(const char *labels, uint64_t value, void *ctx)
{
	const char *p = strstr(labels, "code=\"");
	char code[64];
	size_t n;

	if (p == NULL || value == 0)
		return;
	p += 6;
	n = strcspn(p, "\"");
	snprintf(code, sizeof(code), "%.*s", (int)(n < sizeof(code) ? n : sizeof(code) - 1), p);
	bump(ctx, code, (int64_t)value);
}

static void
metric_sum(const char *labels, uint64_t value, void *ctx)
{
	(void)labels;
	*(uint64_t *)ctx += value;
}

static void
metric_failed(const char *labels, uint64_t value, void *ctx)
{
	if (strstr(labels, "outcome=\"failed\""))
		*(uint64_t *)ctx += value;
}

static uint64_t
family_total(enum ac_metric_family f)
{
	uint64_t n = 0;

	ac_metrics_foreach(f, metric_sum, &n);
	return n;
}

static json_object *
str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static enum ac_err
installation(const struct ac_forge_installation *in, void *ctx)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "installationId", json_object_new_string(in->installation_id));
	json_object_object_add(o, "environment", str_or_null(in->environment_type));
	json_object_object_add(o, "appVersion", str_or_null(in->app_version));
	json_object_object_add(o, "linkedTenant", json_object_new_boolean(in->client_key != NULL));
	json_object_object_add(o, "lastSeen", json_object_new_int64(in->last_seen));
	json_object_array_add(ctx, o);
	return AC_OK;
}

static int64_t
get_int(json_object *o, const char *a, const char *b)
{
	json_object *x, *y;

	if (!json_object_object_get_ex(o, a, &x) || !json_object_object_get_ex(x, b, &y) || y == NULL)
		return -1;
	return json_object_get_int64(y);
}

static void
print_codes(const char *what, json_object *by_code)
{
	int any = 0;

	printf("%-16s", what);
	json_object_object_foreach(by_code, code, v) {
		printf("%s%s %lld", any ? ", " : "", code, (long long)json_object_get_int64(v));
		any = 1;
	}
	printf("%s\n", any ? "" : "none");
}

static void
print_screen(const struct ac_health *h, json_object *all)
{
	json_object *x, *errors, *forge;
	char t[32];
	size_t i;

	printf("status          %s\n", h->healthy ? "healthy" : "UNHEALTHY");
	if (json_object_object_get_ex(all, "problems", &x))
		for (i = 0; i < json_object_array_length(x); i++)
			printf("  problem       %s\n", json_object_get_string(json_object_array_get_idx(x, i)));
	printf("store           %s\n", h->store_ok ? "reachable" : ac_err_code(h->store_err));
	if (h->store_ok) {
		printf("inbox           %zu pending, %zu due, %zu leased, %zu dead\n", h->inbox.inbox, h->inbox.due,
		    h->inbox.leased, h->inbox.dead);
		if (h->oldest_due_age >= 0)
			printf("oldest due      %lld s (received %s)\n", (long long)h->oldest_due_age,
			    acctl_time(h->inbox.oldest_due, t, sizeof(t)));
		else
			printf("oldest due      none\n");
	}
	if (h->heartbeat_age >= 0)
		printf("worker          %s, last heartbeat %lld s ago (limit %ld s)\n", h->worker_daemon ? "daemon" : "inline",
		    (long long)h->heartbeat_age, h->worker_limit);
	else
		printf("worker          %s, no heartbeat on this host\n", h->worker_daemon ? "daemon" : "inline");
	if (json_object_object_get_ex(all, "errors", &errors)) {
		printf("last errors by code:\n");
		if (json_object_object_get_ex(errors, "inbox", &x))
			print_codes("  inbox", x);
		if (json_object_object_get_ex(errors, "dead", &x))
			print_codes("  dead", x);
		if (json_object_object_get_ex(errors, "requests", &x))
			print_codes("  requests", x);
		if (json_object_object_get_ex(errors, "handlers", &x))
			print_codes("  handlers", x);
	}
	printf("token cache     %lld hits, %lld misses, %lld grants (%lld failed)\n",
	    (long long)get_int(all, "tokenCache", "hits"), (long long)get_int(all, "tokenCache", "misses"),
	    (long long)get_int(all, "tokenCache", "grants"), (long long)get_int(all, "tokenCache", "grantsFailed"));
	if (json_object_object_get_ex(all, "forgeInstallations", &forge) && forge) {
		printf("forge           %zu installation(s)\n", json_object_array_length(forge));
		for (i = 0; i < json_object_array_length(forge); i++) {
			json_object *in = json_object_array_get_idx(forge, i), *v;
			const char *env = json_object_object_get_ex(in, "environment", &v) && v ? json_object_get_string(v) : "-";
			const char *ver = json_object_object_get_ex(in, "appVersion", &v) && v ? json_object_get_string(v) : "-";
			int64_t seen = json_object_object_get_ex(in, "lastSeen", &v) ? json_object_get_int64(v) : 0;

			json_object_object_get_ex(in, "installationId", &v);
			printf("  %s  %s  version %s  last seen %s\n", json_object_get_string(v), env, ver,
			    acctl_time((time_t)seen, t, sizeof(t)));
		}
	}
	if (!ac_metrics_mapped())
		printf("(no metrics file in AC_DATA_DIR yet: no counters, no heartbeat)\n");
}

int
acctl_cmd_status(int argc, char **argv)
{
	struct ac_conf conf;
	struct ac_store *st = NULL;
	struct ac_health h;
	enum ac_err open_err = AC_OK;
	json_object *all = NULL, *errors, *by, *tok, *forge;
	int as_json = 0, a;
	uint64_t failed = 0;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--json"))
			as_json = 1;
		else if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (acctl_load_conf(&conf) != 0)
		return 2;
	if (acctl_as_data_owner(&conf) != 0) {
		ac_conf_release(&conf);
		return 1;
	}
	/* read-only, like GET /healthcheck: looking never changes the store (nor moves the journal in) */
	if ((open_err = ac_store_open_conf(&conf, AC_STORE_RDONLY, &st)) != AC_OK)
		st = NULL;
	ac_metrics_open(conf.data_dir, 1);
	ac_health_check(&conf, st, open_err, &h);
	if ((all = ac_health_json(&h)) == NULL)
		goto nomem;
	json_object_object_add(all, "errors", errors = json_object_new_object());
	json_object_object_add(errors, "inbox", by = json_object_new_object());
	if (st)
		ac_inbox_list(st, 0, inbox_error, by);
	json_object_object_add(errors, "dead", by = json_object_new_object());
	if (st)
		ac_inbox_list(st, 1, inbox_error, by);
	json_object_object_add(errors, "requests", by = json_object_new_object());
	ac_metrics_foreach(AC_M_REQUEST_ERRORS, metric_code, by);
	json_object_object_add(errors, "handlers", by = json_object_new_object());
	ac_metrics_foreach(AC_M_WORKER_FAILURES, metric_code, by);
	json_object_object_add(all, "tokenCache", tok = json_object_new_object());
	ac_metrics_foreach(AC_M_TOKEN_GRANTS, metric_failed, &failed);
	json_object_object_add(tok, "hits", json_object_new_int64((int64_t)family_total(AC_M_TOKEN_HITS)));
	json_object_object_add(tok, "misses", json_object_new_int64((int64_t)family_total(AC_M_TOKEN_MISSES)));
	json_object_object_add(tok, "grants", json_object_new_int64((int64_t)family_total(AC_M_TOKEN_GRANTS)));
	json_object_object_add(tok, "grantsFailed", json_object_new_int64((int64_t)failed));
	forge = NULL;
	if (st) {
		forge = json_object_new_array();
		if (ac_forge_installation_foreach(st, installation, forge) != AC_OK) {
			json_object_put(forge);
			forge = NULL;
		}
	}
	json_object_object_add(all, "forgeInstallations", forge);
	json_object_object_add(all, "metricsFile", json_object_new_boolean(ac_metrics_mapped()));
	if (as_json)
		printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_screen(&h, all);
	json_object_put(all);
	ac_metrics_close();
	ac_store_close(st);
	ac_conf_release(&conf);
	return h.healthy ? 0 : 1;
nomem:
	fprintf(stderr, "acctl: out of memory\n");
	ac_metrics_close();
	ac_store_close(st);
	ac_conf_release(&conf);
	return 1;
}
