/* cmd-tenant.c: `acctl tenant`: list, show, delete, purge, export and import tenant records. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "acctl.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/conf.h"
#include "base/json.h"
#include "base/num.h"
#include "store/store.h"
#include "store/tenant.h"

#define LINE_MAX_BYTES (512 * 1024)

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctl tenant list\n"
	    "       acctl tenant show CLIENTKEY [--json] [--show-secret]\n"
	    "       acctl tenant delete CLIENTKEY\n"
	    "       acctl tenant purge --uninstalled-before DAYS\n"
	    "       acctl tenant export            (JSON lines on stdout, secrets included)\n"
	    "       acctl tenant import [--replace] [FILE|-]\n"
	    "       acctl tenant seen [CLIENTKEY]  (lifecycle tokens accepted, until they expire)\n"
	    "Reads the store in AC_DATA_DIR (default ./var/data).\n");
}

static int
open_store(struct ac_conf *conf, unsigned flags, struct ac_store **st)
{
	if (acctl_load_conf(conf) != 0)
		return 2;
	if (acctl_as_data_owner(conf) != 0 ||
	    ac_store_open_conf(conf, flags, st) != AC_OK) {
		fprintf(stderr, "acctl: cannot open the store in %s\n", acctl_store_where(conf));
		ac_conf_release(conf);
		return 1;
	}
	return 0;
}

static enum ac_err
list_fn(const struct ac_tenant *t, json_object *rec, void *ctx)
{
	char a[32], b[32];

	(void)rec;
	(*(int *)ctx)++;
	printf("%-60s %-9s %-11s %-20s %s\n", t->client_key, ac_conf_product_name(t->product),
	    ac_tenant_state_name(t->state), acctl_time(t->installed_at, a, sizeof(a)), acctl_time(t->updated_at, b, sizeof(b)));
	return AC_OK;
}

static int
cmd_list(void)
{
	struct ac_conf conf;
	struct ac_store *st;
	int rc, n = 0;

	if ((rc = open_store(&conf, AC_STORE_RDONLY, &st)) != 0)
		return rc;
	printf("%-60s %-9s %-11s %-20s %s\n", "CLIENTKEY", "PRODUCT", "STATE", "INSTALLED", "UPDATED");
	rc = ac_tenant_foreach(st, list_fn, &n) == AC_OK ? 0 : 1;
	ac_store_close(st);
	ac_conf_release(&conf);
	return rc;
}

/* A linked Forge installation, into the array ctx (printed after the walk: a read transaction is open). */
static enum ac_err
linked_fn(const struct ac_forge_installation *in, void *ctx)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return AC_ERR_NOMEM;
	json_object_object_add(o, "installationId", json_object_new_string(in->installation_id));
	if (in->environment_type)
		json_object_object_add(o, "environmentType", json_object_new_string(in->environment_type));
	if (in->app_version)
		json_object_object_add(o, "appVersion", json_object_new_string(in->app_version));
	json_object_object_add(o, "lastSeen", json_object_new_int64(in->last_seen));
	return json_object_array_add(ctx, o) == 0 ? AC_OK : AC_ERR_NOMEM;
}

static int
cmd_show(int argc, char **argv)
{
	const char *ck = NULL;
	int as_json = 0, show_secret = 0, i, rc;
	struct ac_conf conf;
	struct ac_store *st;
	struct ac_tenant t;
	json_object *links = NULL;
	enum ac_err err;
	char a[32];
	size_t j;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = 1;
		else if (!strcmp(argv[i], "--show-secret"))
			show_secret = 1;
		else if (argv[i][0] == '-' || ck) {
			usage(stderr);
			return 2;
		} else
			ck = argv[i];
	}
	if (ck == NULL) {
		usage(stderr);
		return 2;
	}
	if ((rc = open_store(&conf, AC_STORE_RDONLY, &st)) != 0)
		return rc;
	err = ac_tenant_get(st, ck, &t);
	if (err == AC_ERR_UNKNOWN_TENANT) {
		fprintf(stderr, "acctl: no tenant with clientKey '%s'\n", ck);
		rc = 1;
		goto out;
	} else if (err != AC_OK) {
		fprintf(stderr, "acctl: %s\n", ac_strerror(err));
		rc = 1;
		goto out;
	}
	if (!show_secret) {
		/* the length helps compare with what the product sent; the value stays hidden */
		char mask[64];

		snprintf(mask, sizeof(mask), "******** (%zu bytes; --show-secret to print)", strlen(t.shared_secret));
		ac_buf_free_secret_str(t.shared_secret);
		t.shared_secret = strdup(mask);
	}
	/* the Forge installations of this tenant (doc/protocol.md §11): ids and versions, never a token */
	if ((links = json_object_new_array()) == NULL || (err = ac_forge_link_foreach(st, &t, linked_fn, links)) != AC_OK) {
		fprintf(stderr, "acctl: %s\n", ac_strerror(links ? err : AC_ERR_NOMEM));
		ac_tenant_release(&t);
		rc = 1;
		goto out;
	}
	if (as_json) {
		json_object *o;

		if (ac_tenant_to_json(&t, NULL, &o) == AC_OK) {
			json_object_object_add(o, "forgeInstallations", json_object_get(links));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
			ac_json_put_secret(o);
		}
	} else {
		printf("clientKey:      %s\n", t.client_key);
		printf("product:        %s\n", ac_conf_product_name(t.product));
		printf("state:          %s\n", ac_tenant_state_name(t.state));
		printf("key:            %s\n", t.key);
		printf("sharedSecret:   %s\n", t.shared_secret ? t.shared_secret : "");
		printf("baseUrl:        %s\n", t.base_url);
		if (*t.base_api_url)
			printf("baseApiUrl:     %s\n", t.base_api_url);
		if (*t.oauth_client_id)
			printf("oauthClientId:  %s\n", t.oauth_client_id);
		if (*t.display_url)
			printf("displayUrl:     %s\n", t.display_url);
		printf("installedAt:    %s\n", acctl_time(t.installed_at, a, sizeof(a)));
		printf("updatedAt:      %s\n", acctl_time(t.updated_at, a, sizeof(a)));
		printf("uninstalledAt:  %s\n", acctl_time(t.uninstalled_at, a, sizeof(a)));
		if (t.lifecycle_iat > 0)
			printf("lifecycleIat:   %s\n", acctl_time((time_t)t.lifecycle_iat, a, sizeof(a)));
		if (*t.installation_id)
			printf("installationId: %s\n", t.installation_id);
		for (j = 0; j < json_object_array_length(links); j++) {
			json_object *l = json_object_array_get_idx(links, j);
			const char *env = ac_json_get_string(l, "environmentType");
			const char *ver = ac_json_get_string(l, "appVersion");

			printf("forge:          %s%s%s%s%s\n", ac_json_get_string(l, "installationId"),
			    env ? " " : "", env ? env : "", ver ? " version " : "", ver ? ver : "");
		}
	}
	ac_tenant_release(&t);
	rc = 0;
out:
	json_object_put(links);
	ac_store_close(st);
	ac_conf_release(&conf);
	return rc;
}

static int
cmd_delete(int argc, char **argv)
{
	struct ac_conf conf;
	struct ac_store *st;
	enum ac_err err;
	int rc;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if ((rc = open_store(&conf, 0, &st)) != 0)
		return rc;
	err = ac_tenant_delete(st, argv[1]);
	if (err == AC_OK)
		printf("deleted %s\n", argv[1]);
	else if (err == AC_ERR_UNKNOWN_TENANT)
		fprintf(stderr, "acctl: no tenant with clientKey '%s'\n", argv[1]);
	else
		fprintf(stderr, "acctl: %s\n", ac_strerror(err));
	ac_store_close(st);
	ac_conf_release(&conf);
	return err == AC_OK ? 0 : 1;
}

struct purge_ctx {
	time_t before;
	char **keys;
	size_t n, a;
};

static enum ac_err
purge_collect(const struct ac_tenant *t, json_object *rec, void *ctx)
{
	struct purge_ctx *p = ctx;

	(void)rec;
	if (t->state != AC_TENANT_UNINSTALLED || t->uninstalled_at >= p->before)
		return AC_OK;
	if (p->n == p->a) {
		size_t a = p->a ? p->a * 2 : 16;
		char **k = realloc(p->keys, a * sizeof(*k));

		if (k == NULL)
			return AC_ERR_NOMEM;
		p->keys = k;
		p->a = a;
	}
	if ((p->keys[p->n] = strdup(t->client_key)) == NULL)
		return AC_ERR_NOMEM;
	p->n++;
	return AC_OK;
}

/* Deletes only what is still uninstalled and old: a reinstall in between wins. */
static enum ac_err
purge_fn(struct ac_txn *txn, void *ctx)
{
	struct purge_ctx *p = ctx;
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct ac_tenant t;
		enum ac_err err = ac_tenant_get_txn(txn, p->keys[i], &t);
		int old;

		if (err == AC_ERR_UNKNOWN_TENANT)
			continue;
		if (err != AC_OK)
			return err;
		old = t.state == AC_TENANT_UNINSTALLED && t.uninstalled_at < p->before;
		ac_tenant_release(&t);
		if (old && ac_tenant_delete_txn(txn, p->keys[i]) == AC_OK)
			printf("purged %s\n", p->keys[i]);
	}
	return AC_OK;
}

static int
cmd_purge(int argc, char **argv)
{
	struct purge_ctx p = { 0, NULL, 0, 0 };
	struct ac_conf conf;
	struct ac_store *st;
	int64_t days;
	int rc;
	size_t i;

	if (argc != 3 || strcmp(argv[1], "--uninstalled-before")) {
		usage(stderr);
		return 2;
	}
	if (ac_num_parse_str(argv[2], 0, 36500, &days) != AC_OK) {
		fprintf(stderr, "acctl: --uninstalled-before takes a whole number of days\n");
		return 2;
	}
	if ((rc = open_store(&conf, 0, &st)) != 0)
		return rc;
	p.before = ac_clock_now() - (time_t)days * 86400;
	rc = ac_tenant_foreach(st, purge_collect, &p) == AC_OK && ac_store_update(st, purge_fn, &p) == AC_OK ? 0 : 1;
	for (i = 0; i < p.n; i++)
		free(p.keys[i]);
	free(p.keys);
	ac_store_close(st);
	ac_conf_release(&conf);
	return rc;
}

static enum ac_err
export_fn(const struct ac_tenant *t, json_object *rec, void *ctx)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &len);

	(void)t;
	(void)ctx;
	printf("%s\n", s ? s : "");
	if (s) /* rec's own buffer, with the sharedSecret */
		OPENSSL_cleanse((void *)(uintptr_t)s, len);
	return AC_OK;
}

static int
cmd_export(void)
{
	struct ac_conf conf;
	struct ac_store *st;
	int rc;

	if ((rc = open_store(&conf, AC_STORE_RDONLY, &st)) != 0)
		return rc;
	rc = ac_tenant_foreach(st, export_fn, NULL) == AC_OK ? 0 : 1;
	ac_store_close(st);
	ac_conf_release(&conf);
	return fflush(stdout) == 0 ? rc : 1;
}

struct import_ctx {
	json_object **recs;
	size_t n;
	int replace;
	size_t written, skipped;
};

/* All lines in one transaction: an import is whole or not at all. */
static enum ac_err
import_fn(struct ac_txn *txn, void *ctx)
{
	struct import_ctx *im = ctx;
	size_t i;

	im->written = im->skipped = 0;
	for (i = 0; i < im->n; i++) {
		struct ac_tenant t, old;
		json_object *install = NULL;
		enum ac_err err = ac_tenant_from_json(im->recs[i], &t, &install);

		if (err != AC_OK)
			return err;
		err = ac_tenant_get_txn(txn, t.client_key, &old);
		if (err == AC_OK) {
			ac_tenant_release(&old);
			if (!im->replace) {
				fprintf(stderr, "acctl: %s exists; kept (--replace to overwrite)\n", t.client_key);
				im->skipped++;
				ac_tenant_release(&t);
				continue;
			}
		} else if (err != AC_ERR_UNKNOWN_TENANT) {
			ac_tenant_release(&t);
			return err;
		}
		err = ac_tenant_put_txn(txn, &t, install);
		ac_tenant_release(&t);
		if (err != AC_OK)
			return err;
		im->written++;
	}
	return AC_OK;
}

static int
cmd_import(int argc, char **argv)
{
	struct import_ctx im = { NULL, 0, 0, 0, 0 };
	const char *file = "-";
	struct ac_conf conf;
	struct ac_store *st = NULL;
	char *line = NULL;
	size_t cap = 0, i, lineno = 0;
	ssize_t len;
	FILE *f;
	int a, rc = 1;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--replace"))
			im.replace = 1;
		else if (argv[a][0] == '-' && argv[a][1] != '\0') {
			usage(stderr);
			return 2;
		} else
			file = argv[a];
	}
	f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (f == NULL) {
		perror(file);
		return 2;
	}
	/* check every line before writing any */
	while ((len = getline(&line, &cap, f)) > 0) {
		json_object *rec, **v;
		struct ac_tenant t;
		const char *why = NULL;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (len > LINE_MAX_BYTES || ac_json_parse(line, (size_t)len, &rec, &why) != AC_OK) {
			fprintf(stderr, "acctl: %s:%zu: not a JSON record%s%s\n", file, lineno, why ? ": " : "", why ? why : "");
			goto out;
		}
		if (ac_tenant_from_json(rec, &t, NULL) != AC_OK) {
			fprintf(stderr, "acctl: %s:%zu: not a tenant record of version %d\n", file, lineno,
			    AC_TENANT_RECORD_VERSION);
			ac_json_put_secret(rec);
			goto out;
		}
		ac_tenant_release(&t);
		if ((v = realloc(im.recs, (im.n + 1) * sizeof(*v))) == NULL) {
			ac_json_put_secret(rec);
			goto out;
		}
		im.recs = v;
		im.recs[im.n++] = rec;
	}
	if ((rc = open_store(&conf, 0, &st)) != 0)
		goto out;
	rc = ac_store_update(st, import_fn, &im) == AC_OK ? 0 : 1;
	if (rc == 0)
		printf("imported %zu, kept %zu existing\n", im.written, im.skipped);
	ac_store_close(st);
	ac_conf_release(&conf);
out:
	if (f != stdin)
		fclose(f);
	/* the lines and records hold sharedSecrets */
	ac_buf_free_secret(line, cap);
	for (i = 0; i < im.n; i++)
		ac_json_put_secret(im.recs[i]);
	free(im.recs);
	return rc;
}

/* ---- seen: the lifecycle tokens remembered against replays (lifecycle.c) */

struct seen_ctx {
	const char *client_key; /* NULL: every tenant */
	int n;
};

static enum ac_err
seen_fn(const struct ac_seen *e, void *ctx)
{
	struct seen_ctx *s = ctx;
	char a[32], b[32], c[32];

	if (e->client_key && (s->client_key == NULL || !strcmp(e->client_key, s->client_key))) {
		s->n++;
		printf("%-20s %-20s %-20s %-11s %s\n", acctl_time((time_t)e->exp, a, sizeof(a)),
		    acctl_time((time_t)e->iat, b, sizeof(b)), acctl_time((time_t)e->at, c, sizeof(c)),
		    e->event ? e->event : "?", e->client_key);
	}
	return AC_OK;
}

static int
cmd_seen(int argc, char **argv)
{
	struct seen_ctx s = { NULL, 0 };
	struct ac_conf conf;
	struct ac_store *st;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		usage(stderr);
		return 2;
	}
	if (argc == 2)
		s.client_key = argv[1];
	if ((rc = open_store(&conf, AC_STORE_RDONLY, &st)) != 0)
		return rc;
	printf("%-20s %-20s %-20s %-11s %s\n", "EXPIRES", "IAT", "ACCEPTED", "EVENT", "CLIENTKEY");
	rc = ac_seen_list(st, seen_fn, &s) == AC_OK ? 0 : 1;
	ac_store_close(st);
	ac_conf_release(&conf);
	return rc;
}

int
acctl_cmd_tenant(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "list") && argc == 2)
		return cmd_list();
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "delete"))
		return cmd_delete(argc - 1, argv + 1);
	if (!strcmp(argv[1], "purge"))
		return cmd_purge(argc - 1, argv + 1);
	if (!strcmp(argv[1], "export") && argc == 2)
		return cmd_export();
	if (!strcmp(argv[1], "import"))
		return cmd_import(argc - 1, argv + 1);
	if (!strcmp(argv[1], "seen"))
		return cmd_seen(argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
