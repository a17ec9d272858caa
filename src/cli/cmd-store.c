/* cmd-store.c: `acctl store`: the PostgreSQL schema (migrate) and moving data between stores (copy). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "base/conf.h"
#include "base/log.h"
#include "acctl.h"
#include "store/inbox.h"
#include "store/lease.h"
#include "store/store.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctl store migrate\n"
	    "       acctl store copy --from lmdb:DIR|postgres:URL --to lmdb:DIR|postgres:URL [--force]\n"
	    "  migrate  apply to the PostgreSQL database of AC_DATABASE_URL (AC_STORE=postgres) the schema\n"
	    "           migrations of AC_SQL_DIR it lacks; safe to run on several hosts at once\n"
	    "  copy     copy every tenant, token, install key, note, Forge record and pending or dead event\n"
	    "           from one store into another, empty one, in one transaction (stop the programs and\n"
	    "           workers of the source first); --force copies into a store that holds data\n");
}

static int
migrate(void)
{
	struct ac_conf conf;
	char *why = NULL;
	int from, to, rc = 0;
	enum ac_err err;

	if (ac_conf_load_tool(&conf, ".", &why) != AC_OK) {
		fprintf(stderr, "acctl: configuration: %s\n", why ? why : "error");
		free(why);
		return 2;
	}
	if ((err = ac_store_migrate(&conf, &from, &to)) != AC_OK) {
		fprintf(stderr, "acctl store migrate: %s: %s\n", acctl_store_where(&conf), ac_strerror(err));
		rc = 1;
	} else if (from == to)
		printf("schema version %d: nothing to do\n", to);
	else
		printf("schema version %d -> %d\n", from, to);
	ac_conf_release(&conf);
	return rc;
}

/* ---- acctl store copy */

/* A store named on the command line: lmdb:DIR or postgres:URL. */
struct spec {
	const char *arg;          /* as given (never printed: it may hold a password) */
	struct ac_conf conf;      /* the tool's settings with this store's kind and place */
	char shown[600];          /* for messages: "lmdb:DIR" or "postgres:URL" with the password masked */
	struct ac_store *st;
};

static int
parse_spec(const char *opt, const char *arg, const struct ac_conf *base, struct spec *s)
{
	char url[512];

	s->arg = arg;
	s->conf = *base;
	if (!strncmp(arg, "lmdb:", 5) && arg[5]) {
		s->conf.store = AC_STORE_LMDB;
		s->conf.data_dir = (char *)arg + 5;
		snprintf(s->shown, sizeof(s->shown), "lmdb:%s", arg + 5);
		return 0;
	}
	if (!strncmp(arg, "postgres:", 9)) {
		s->conf.store = AC_STORE_POSTGRES;
		s->conf.database_url = (char *)arg + 9;
		ac_conf_mask_dburl(arg + 9, url, sizeof(url));
		snprintf(s->shown, sizeof(s->shown), "postgres:%s", *url ? url : "(libpq defaults)");
		return 0;
	}
	/* the argument may be a mistyped URL with a password: not repeated */
	fprintf(stderr, "acctl store copy: %s: expected lmdb:DIR or postgres:URL\n", opt);
	return 2;
}

/* Whether two LMDB specs name one directory (LMDB must not open one environment twice in a process). */
static int
same_dir(const struct spec *a, const struct spec *b)
{
	char *x, *y;
	int same;

	if (a->conf.store != AC_STORE_LMDB || b->conf.store != AC_STORE_LMDB)
		return 0;
	x = realpath(a->conf.data_dir, NULL);
	y = realpath(b->conf.data_dir, NULL);
	same = x && y && !strcmp(x, y);
	free(x);
	free(y);
	return same;
}

/* Opens s: 0, or 1 after saying why. A source LMDB store must exist (opening would create one). */
static int
open_spec(struct spec *s, int source)
{
	struct stat sb;
	char path[4096];
	enum ac_err err;

	if (s->conf.store == AC_STORE_LMDB) {
		snprintf(path, sizeof(path), "%s/data.mdb", s->conf.data_dir);
		if (source && stat(path, &sb) != 0) {
			fprintf(stderr, "acctl store copy: %s: no LMDB store there (no data.mdb)\n", s->shown);
			return 1;
		}
		if (acctl_as_data_owner(&s->conf))
			return 1;
	}
	if ((err = ac_store_open_conf(&s->conf, ac_store_conf_flags(&s->conf), &s->st)) != AC_OK) {
		if (err == AC_ERR_STORE_SCHEMA)
			fprintf(stderr, "acctl store copy: %s: the database has not this build's schema: run "
			    "`acctl store migrate` with AC_STORE=postgres and its AC_DATABASE_URL first\n", s->shown);
		else
			fprintf(stderr, "acctl store copy: %s: cannot open: %s\n", s->shown, ac_strerror(err));
		return 1;
	}
	return 0;
}

/* The counts of the summary, by what the operator knows them as. */
enum kind {
	K_TENANT, K_SEEN, K_FORGE_INSTALLATION, K_TOKEN, K_INSTALL_KEY, K_NOTE, K_FORGE_TOKEN, K_JWKS, K_DELIVERY,
	K_EVENT, K_DEAD, K__COUNT
};

static const char *const kind_name[K__COUNT] = {
	"tenants", "lifecycle_seen entries", "Forge installations", "access tokens", "install keys",
	"handler notes", "Forge system tokens", "JWKS documents", "delivery ids (dedupe)", "inbox events",
	"dead letters",
};

static enum kind
item_kind(enum ac_item_kind k)
{
	switch (k) {
	case AC_ITEM_TOKEN:
		return K_TOKEN;
	case AC_ITEM_INSTALL_KEY:
		return K_INSTALL_KEY;
	case AC_ITEM_NOTE:
		return K_NOTE;
	case AC_ITEM_FORGE_TOKEN:
		return K_FORGE_TOKEN;
	case AC_ITEM_JWKS:
		return K_JWKS;
	case AC_ITEM_DELIVERY:
		return K_DELIVERY;
	case AC_ITEM_FORGE_INSTALLATION:
		return K_FORGE_INSTALLATION;
	case AC_ITEM_EVENT:
		return K_EVENT;
	case AC_ITEM_DEAD:
		return K_DEAD;
	case AC_ITEM_SEQ:
	case AC_ITEM__COUNT:
		break;
	}
	return K__COUNT;
}

struct copy {
	struct ac_store *src;
	struct ac_txn *txn;       /* the target's */
	size_t n[K__COUNT];
	time_t now;
	size_t leased;            /* source events under a live lease */
	const char *first;        /* what a non-empty store holds first */
};

/* ---- is the target empty, is a worker at the source: stop at the first thing found */

/* A walk's callback found something (c->first says what): the walk stops there. */
#define STOP AC_ERR_INTERNAL

static enum ac_err
found_tenant(const struct ac_tenant *t, json_object *record, void *ctx)
{
	(void)t;
	(void)record;
	((struct copy *)ctx)->first = kind_name[K_TENANT];
	return STOP;
}

static enum ac_err
found_seen(const struct ac_seen *e, void *ctx)
{
	(void)e;
	((struct copy *)ctx)->first = kind_name[K_SEEN];
	return STOP;
}

static enum ac_err
found_installation(const struct ac_forge_installation *in, void *ctx)
{
	(void)in;
	((struct copy *)ctx)->first = kind_name[K_FORGE_INSTALLATION];
	return STOP;
}

static enum ac_err
found_item(const struct ac_store_item *it, void *ctx)
{
	if (it->kind == AC_ITEM_SEQ)
		return AC_OK;
	((struct copy *)ctx)->first = kind_name[item_kind(it->kind)];
	return STOP;
}

static enum ac_err
found_event(const struct ac_event *ev, void *ctx)
{
	(void)ev;
	((struct copy *)ctx)->first = kind_name[K_EVENT];
	return STOP;
}

/* AC_OK, c->first NULL when st holds nothing, else what it holds first; or a store error. */
static enum ac_err
empty(struct ac_store *st, struct copy *c)
{
	enum ac_err err;

	c->first = NULL;
	if ((err = ac_tenant_foreach(st, found_tenant, c)) == AC_OK &&
	    (err = ac_seen_list(st, found_seen, c)) == AC_OK &&
	    (err = ac_forge_installation_foreach(st, found_installation, c)) == AC_OK &&
	    (err = ac_store_items(st, found_item, c)) == AC_OK &&
	    (err = ac_inbox_list(st, 0, found_event, c)) == AC_OK &&
	    (err = ac_inbox_list(st, 1, found_event, c)) == STOP)
		c->first = kind_name[K_DEAD];
	return c->first ? AC_OK : err;
}

static enum ac_err
count_leased(const struct ac_event *ev, void *ctx)
{
	struct copy *c = ctx;

	if (ev->lease_until > c->now && !ac_lease_owner_dead(&ev->owner))
		c->leased++;
	return AC_OK;
}

/* ---- the copy, in the target's one transaction */

static enum ac_err
put_item(const struct ac_store_item *it, void *ctx)
{
	struct copy *c = ctx;
	enum ac_err err = ac_store_item_put_txn(c->txn, it);
	enum kind k = item_kind(it->kind);

	if (err == AC_OK && k != K__COUNT)
		c->n[k]++;
	return err;
}

static enum ac_err
put_tenant(const struct ac_tenant *t0, json_object *record, void *ctx)
{
	struct copy *c = ctx;
	struct ac_tenant t = { 0 };
	json_object *install = NULL;
	enum ac_err err;

	(void)t0;
	/* the whole record: the install body (borrowed from record) kept with it */
	if ((err = ac_tenant_from_json(record, &t, &install)) == AC_OK &&
	    (err = ac_tenant_put_txn(c->txn, &t, install)) == AC_OK)
		c->n[K_TENANT]++;
	ac_tenant_release(&t); /* install is borrowed from record */
	return err;
}

static enum ac_err
put_seen(const struct ac_seen *e, void *ctx)
{
	struct copy *c = ctx;
	struct ac_seen old = { 0 };
	enum ac_err err = ac_seen_get_txn(c->txn, e->exp, e->token_sha, &old);

	ac_seen_release(&old);
	if (err == AC_OK)
		return AC_OK; /* --force: the target has it already (an entry is never overwritten) */
	if (err != AC_ERR_NOT_FOUND)
		return err;
	if ((err = ac_seen_put_txn(c->txn, e)) == AC_OK)
		c->n[K_SEEN]++;
	return err;
}

static enum ac_err
put_installation(const struct ac_forge_installation *in, void *ctx)
{
	struct ac_store_item it = { 0 };

	it.kind = AC_ITEM_FORGE_INSTALLATION;
	it.installation = in;
	return put_item(&it, ctx);
}

static enum ac_err
put_event(const struct ac_event *ev, void *ctx)
{
	struct ac_store_item it = { 0 };

	it.kind = AC_ITEM_EVENT;
	it.event = ev;
	return put_item(&it, ctx);
}

static enum ac_err
put_dead(const struct ac_event *ev, void *ctx)
{
	struct ac_store_item it = { 0 };

	it.kind = AC_ITEM_DEAD;
	it.event = ev;
	return put_item(&it, ctx);
}

static enum ac_err
copy_fn(struct ac_txn *txn, void *ctx)
{
	struct copy *c = ctx;
	enum ac_err err;

	/* may run again from scratch (a grown LMDB map, a PostgreSQL serialization failure) */
	memset(c->n, 0, sizeof(c->n));
	c->txn = txn;
	if ((err = ac_tenant_foreach(c->src, put_tenant, c)) != AC_OK ||
	    (err = ac_seen_list(c->src, put_seen, c)) != AC_OK ||
	    (err = ac_forge_installation_foreach(c->src, put_installation, c)) != AC_OK ||
	    (err = ac_store_items(c->src, put_item, c)) != AC_OK ||
	    (err = ac_inbox_list(c->src, 0, put_event, c)) != AC_OK)
		return err;
	return ac_inbox_list(c->src, 1, put_dead, c);
}

static void
copy_usage(FILE *f)
{
	fprintf(f, "usage: acctl store copy --from lmdb:DIR|postgres:URL --to lmdb:DIR|postgres:URL [--force]\n");
}

static int
copy(int argc, char **argv)
{
	struct spec from = { 0 }, to = { 0 };
	struct ac_conf conf;
	struct copy c = { 0 };
	const char *f = NULL, *t = NULL;
	char *why = NULL;
	int force = 0, rc = 1, i;
	enum ac_err err;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc)
			f = argv[++i];
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			t = argv[++i];
		else if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			copy_usage(stdout);
			return 0;
		} else {
			copy_usage(stderr);
			return 2;
		}
	}
	if (f == NULL || t == NULL) {
		copy_usage(stderr);
		return 2;
	}
	if (ac_conf_load_tool(&conf, ".", &why) != AC_OK) {
		fprintf(stderr, "acctl: configuration: %s\n", why ? why : "error");
		free(why);
		return 2;
	}
	if (parse_spec("--from", f, &conf, &from) || parse_spec("--to", t, &conf, &to)) {
		rc = 2;
		goto out;
	}
	if (!strcmp(f, t) || same_dir(&from, &to)) {
		fprintf(stderr, "acctl store copy: --from and --to name the same store (%s)\n", from.shown);
		rc = 2;
		goto out;
	}
	if (open_spec(&from, 1) || open_spec(&to, 0))
		goto out;
	/* the programs and workers of the source must be stopped: a leased event says a worker runs */
	c.now = ac_clock_now();
	if ((err = ac_inbox_list(from.st, 0, count_leased, &c)) != AC_OK) {
		fprintf(stderr, "acctl store copy: %s: cannot read the inbox: %s\n", from.shown, ac_strerror(err));
		goto out;
	}
	if (c.leased && !force) {
		fprintf(stderr, "acctl store copy: %s: %zu event(s) held by a running worker: stop the programs and "
		    "workers of the source first (or --force, their leases are not copied)\n", from.shown, c.leased);
		goto out;
	}
	if ((err = empty(to.st, &c)) == AC_OK && c.first && !force) {
		fprintf(stderr, "acctl store copy: %s is not empty (it holds %s): refusing to mix two stores "
		    "(--force copies into it, replacing what has the same key)\n", to.shown, c.first);
		goto out;
	} else if (err != AC_OK) {
		fprintf(stderr, "acctl store copy: %s: %s\n", to.shown, ac_strerror(err));
		goto out;
	}
	c.src = from.st;
	if ((err = ac_store_update(to.st, copy_fn, &c)) != AC_OK) {
		fprintf(stderr, "acctl store copy: %s -> %s failed: %s; nothing was written to %s (one transaction)\n",
		    from.shown, to.shown, ac_strerror(err), to.shown);
		goto out;
	}
	printf("copied %s -> %s\n", from.shown, to.shown);
	for (i = 0; i < K__COUNT; i++)
		printf("  %-24s %zu\n", kind_name[i], c.n[i]);
	rc = 0;
out:
	ac_store_close(from.st);
	ac_store_close(to.st);
	ac_conf_release(&conf);
	return rc;
}

int
acctl_cmd_store(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	ac_log_init("acctl");
	if (argc == 2 && !strcmp(argv[1], "migrate"))
		return migrate();
	if (argc >= 2 && !strcmp(argv[1], "copy"))
		return copy(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "migrate") && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
