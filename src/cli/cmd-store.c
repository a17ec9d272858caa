/* cmd-store.c: `acctl store`: the PostgreSQL schema (migrate) and moving data between stores (copy). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/conf.h"
#include "base/log.h"
#include "acctl.h"
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
	int from, to, rc = 0;
	enum ac_err err;

	if (acctl_load_conf(&conf) != 0)
		return 2;
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
	struct ac_store_copy_report r;
	const char *f = NULL, *t = NULL;
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
	if (acctl_load_conf(&conf) != 0)
		return 2;
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
	if ((err = ac_store_copy(from.st, to.st, force ? AC_STORE_COPY_FORCE : 0, &r)) != AC_OK) {
		if (r.step == AC_COPY_LEASES && r.refused)
			fprintf(stderr, "acctl store copy: %s: %zu event(s) held by a running worker: stop the programs "
			    "and workers of the source first (or --force, their leases are not copied)\n", from.shown,
			    r.leased);
		else if (r.step == AC_COPY_LEASES)
			fprintf(stderr, "acctl store copy: %s: cannot read the inbox: %s\n", from.shown,
			    ac_strerror(err));
		else if (r.step == AC_COPY_TARGET && r.refused)
			fprintf(stderr, "acctl store copy: %s is not empty (it holds %s): refusing to mix two stores "
			    "(--force copies into it, replacing what has the same key)\n", to.shown, r.holds);
		else if (r.step == AC_COPY_TARGET)
			fprintf(stderr, "acctl store copy: %s: %s\n", to.shown, ac_strerror(err));
		else
			fprintf(stderr, "acctl store copy: %s -> %s failed: %s; nothing was written to %s (one "
			    "transaction)\n", from.shown, to.shown, ac_strerror(err), to.shown);
		goto out;
	}
	printf("copied %s -> %s\n", from.shown, to.shown);
	for (i = 0; i < AC_COPY__COUNT; i++)
		printf("  %-24s %zu\n", ac_store_copy_kind_name((enum ac_store_copy_kind)i), r.n[i]);
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
