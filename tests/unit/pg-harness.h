/*
 * pg-harness.h: a real PostgreSQL for the unit tests (issue 16). The first
 * call starts a private server with tests/pg-server.sh (initdb and pg_ctl as
 * an unprivileged user, a unix socket, a port chosen at run time) and stops
 * it when the test program ends; AC_TEST_DATABASE_URL names an existing
 * server instead. Each pgh_open() gives a fresh database, migrated with the
 * shipped sql/ (acctl store migrate's code), so tests never see each other's
 * rows. Include it in one .c file of a test program.
 */
#ifndef PG_HARNESS_H
#define PG_HARNESS_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/conf.h"
#include "store/store.h"
#include "unit.h"

static char pgh_base[2048];   /* the server's URL (its own database) */
static char pgh_dir[128];     /* the server's files, when this program started it */
static pid_t pgh_starter;     /* the process that started it: only it stops it (Check forks tests) */
static unsigned pgh_count;

static void
pgh_stop(void)
{
	char cmd[512];

	if (pgh_starter != getpid() || pgh_dir[0] == '\0')
		return;
	/* clean: also the private directory in /tmp that a 0700 pgh_dir made it use */
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/pg-server.sh' clean '%s' >/dev/null 2>&1; rm -rf '%s'", AC_SRCDIR,
	    pgh_dir, pgh_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "pg-harness: could not stop the server in %s\n", pgh_dir);
	pgh_dir[0] = '\0';
}

/* The server's URL: AC_TEST_DATABASE_URL, or a server started now (once per test program). */
static const char *
pgh_server(void)
{
	const char *env = getenv("AC_TEST_DATABASE_URL");
	char cmd[512];
	FILE *p;
	size_t n;

	if (pgh_base[0])
		return pgh_base;
	if (env != NULL && *env) {
		snprintf(pgh_base, sizeof(pgh_base), "%s", env);
		return pgh_base;
	}
	snprintf(pgh_dir, sizeof(pgh_dir), "/tmp/ac-pgh-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(pgh_dir));
	pgh_starter = getpid();
	atexit(pgh_stop);
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/pg-server.sh' start '%s'", AC_SRCDIR, pgh_dir);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	if (fgets(pgh_base, sizeof(pgh_base), p) == NULL)
		pgh_base[0] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	n = strlen(pgh_base);
	while (n > 0 && (pgh_base[n - 1] == '\n' || pgh_base[n - 1] == '\r'))
		pgh_base[--n] = '\0';
	ck_assert_msg(n > 0, "tests/pg-server.sh start printed no URL");
	return pgh_base;
}

/* Runs one statement on the server's own database (CREATE DATABASE cannot run in a transaction). */
static void
pgh_admin(const char *sql)
{
	PGconn *c = PQconnectdb(pgh_server());
	PGresult *r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "cannot connect to %s: %s", pgh_base, PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/*
 * A fresh, migrated database as a key/value connection string into url
 * (the server's parameters, dbname replaced). name_out (may be NULL) gets
 * the database's name.
 */
static void
pgh_fresh_database(char *url, size_t n, char *name_out, size_t name_n)
{
	PQconninfoOption *opts, *o;
	char name[64], sql[128], *errmsg = NULL;
	size_t len = 0;

	snprintf(name, sizeof(name), "ac_test_%ld_%u", (long)getpid(), pgh_count++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	pgh_admin(sql);
	opts = PQconninfoParse(pgh_server(), &errmsg);
	ck_assert_msg(opts != NULL, "%s", errmsg ? errmsg : "PQconninfoParse");
	url[0] = '\0';
	for (o = opts; o->keyword != NULL; o++) {
		const char *v = !strcmp(o->keyword, "dbname") ? name : o->val;

		if (v == NULL || *v == '\0')
			continue;
		len += (size_t)snprintf(url + len, n - len, "%s%s='%s'", len ? " " : "", o->keyword, v);
		ck_assert_uint_lt(len, n);
	}
	if (strstr(url, "dbname=") == NULL)
		len += (size_t)snprintf(url + len, n - len, " dbname='%s'", name);
	PQconninfoFree(opts);
	if (name_out != NULL)
		snprintf(name_out, name_n, "%s", name);
}

/* The settings of a PostgreSQL store on a fresh database, migrated: release with ac_conf_release(). */
static void
pgh_conf(struct ac_conf *conf)
{
	char url[2048];
	int from, to;

	memset(conf, 0, sizeof(*conf));
	pgh_fresh_database(url, sizeof(url), NULL, 0);
	conf->store = AC_STORE_POSTGRES;
	conf->database_url = strdup(url);
	conf->sql_dir = strdup(AC_SRCDIR "/sql");
	conf->data_dir = strdup("/nonexistent");
	ck_assert_ptr_nonnull(conf->database_url);
	ck_assert_int_eq(ac_store_migrate(conf, &from, &to), AC_OK);
	ck_assert_int_eq(to, from == 0 ? to : from);
}

/* A fresh, empty, writable PostgreSQL store (AC_SYNC=off, as the LMDB tests use). */
static struct ac_store *
pgh_open(void)
{
	struct ac_conf conf;
	struct ac_store *st = NULL;

	pgh_conf(&conf);
	ck_assert_int_eq(ac_store_open_conf(&conf, AC_STORE_NOSYNC, &st), AC_OK);
	free(conf.database_url);
	free(conf.sql_dir);
	free(conf.data_dir);
	return st;
}

#endif
