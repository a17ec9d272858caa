/* cmd-store.c: `acctl store`: the PostgreSQL schema (migrate) and, later, moving data between stores. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf.h"
#include "base/log.h"
#include "acctl.h"
#include "store/store.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctl store migrate\n"
	    "  migrate  apply to the PostgreSQL database of AC_DATABASE_URL (AC_STORE=postgres) the schema\n"
	    "           migrations of AC_SQL_DIR it lacks; safe to run on several hosts at once\n");
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
	if (argc == 3 && !strcmp(argv[1], "migrate") && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
