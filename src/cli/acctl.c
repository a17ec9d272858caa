/* acctl.c: the operator's command line; dispatches to one subcommand per file. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "acctl.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/datadir.h"
#include "base/log.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "config", acctl_cmd_config, "print the effective configuration (secrets masked)" },
	{ "jwt", acctl_cmd_jwt, "compute qsh, sign, decode and verify tokens, explaining failures" },
	{ "tenant", acctl_cmd_tenant, "list, show, delete, purge, export and import tenants" },
	{ "api", acctl_cmd_api, "call the tenant's REST API, signed; -v shows what was signed" },
	{ "worker", acctl_cmd_worker, "drain the webhook inbox: run handlers, retry, dead letters" },
	{ "inbox", acctl_cmd_inbox, "list, show, retry and drop inbox events and dead letters" },
	{ "forge", acctl_cmd_forge, "verify a Forge Invocation Token, explaining failures; print the Forge manifest" },
	{ "status", acctl_cmd_status, "how this host is doing: store, inbox, worker heartbeat, errors; exit 1 when unhealthy" },
	{ "store", acctl_cmd_store, "PostgreSQL: apply the schema migrations; copy a whole store (LMDB, PostgreSQL)" },
};

const char *
acctl_time(time_t t, char *buf, size_t n)
{
	if (t == 0)
		return "-";
	return ac_clock_iso8601((int64_t)t, buf, n);
}

int
acctl_as_data_owner(const struct ac_conf *conf)
{
	/* a PostgreSQL store has no files here: the database decides who may do what */
	if (conf->store == AC_STORE_POSTGRES)
		return 0;
	if (ac_datadir_become_owner(conf->data_dir) != AC_OK) {
		fprintf(stderr, "acctl: will not work on AC_DATA_DIR=%s as root without acting as its owner\n",
		    conf->data_dir);
		return 1;
	}
	return 0;
}

int
acctl_load_conf(struct ac_conf *conf)
{
	char *why = NULL;

	if (ac_conf_load_tool(conf, ".", &why) == AC_OK)
		return 0;
	fprintf(stderr, "acctl: configuration: %s\n", why ? why : "error");
	free(why);
	return 2;
}

const char *
acctl_store_where(const struct ac_conf *conf)
{
	static char where[600];

	ac_conf_store_where(conf, where, sizeof(where));
	return where;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: acctl COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'acctl COMMAND --help' for each; see acctl(1).\n");
}

char *
acctl_read_input(const char *cmd, const char *path, size_t max, size_t *len, const char *what)
{
	FILE *f = stdin;
	struct ac_buf b;
	char chunk[4096], *out = NULL;
	size_t n;
	int ok;

	if (strcmp(path, "-") != 0 && (f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "acctl %s: %s: %s: %s\n", cmd, what, path, strerror(errno));
		return NULL;
	}
	ac_buf_init(&b, max);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (ac_buf_add(&b, chunk, n) != AC_OK)
			break;
	ok = n == 0 && !ferror(f) && (b.data != NULL || ac_buf_adds(&b, "") == AC_OK) &&
	    ac_buf_detach(&b, &out, len) == AC_OK;
	if (!ok) {
		OPENSSL_cleanse(b.data, b.alloc);
		ac_buf_release(&b);
		fprintf(stderr, "acctl %s: %s: %s is unreadable or larger than %zu bytes\n", cmd, what,
		    f == stdin ? "standard input" : path, max);
	}
	if (f != stdin)
		fclose(f);
	return ok ? out : NULL;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("acctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	/* what the library logs for a command says acctl (the worker says worker) */
	ac_log_init("acctl");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "acctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
