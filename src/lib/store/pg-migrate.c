/*
 * pg-migrate.c: `acctl store migrate`: the schema of AC_SQL_DIR/NNN-name.sql
 * applied in order, each file in one transaction with its version recorded,
 * under an advisory lock so that hosts migrating at once take turns.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/store-pg.h"

/* Any constant: the advisory lock every `acctl store migrate` takes ("ac16" in ASCII). */
#define MIGRATE_LOCK "1633759542"
#define MAX_SQL (1 << 20)
#define MAX_FILES 999

struct migration {
	int version;
	char name[256];
};

/* NNN-name.sql: its version (1 to 999), or 0 for any other name. */
static int
version_of(const char *name)
{
	size_t n = strlen(name);
	int v = 0, i;

	if (n < 9 || n >= 256 || strcmp(name + n - 4, ".sql") || name[3] != '-')
		return 0;
	for (i = 0; i < 3; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static int
by_version(const void *a, const void *b)
{
	return ((const struct migration *)a)->version - ((const struct migration *)b)->version;
}

/* The migrations of dir in order; two files of one version are refused. */
static enum ac_err
list_migrations(const char *dir, struct migration **out, size_t *n)
{
	struct migration *m = NULL;
	struct dirent *e;
	size_t i, have = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		ac_log_error("AC_SQL_DIR=%s: %s", dir, strerror(errno));
		return AC_ERR_IO;
	}
	if ((m = calloc(MAX_FILES, sizeof(*m))) == NULL) {
		closedir(d);
		return AC_ERR_NOMEM;
	}
	while ((e = readdir(d)) != NULL && have < MAX_FILES) {
		int v = version_of(e->d_name);

		if (v == 0)
			continue;
		m[have].version = v;
		snprintf(m[have].name, sizeof(m[have].name), "%s", e->d_name);
		have++;
	}
	closedir(d);
	qsort(m, have, sizeof(*m), by_version);
	for (i = 0; i + 1 < have; i++)
		if (m[i].version == m[i + 1].version) {
			ac_log_error("AC_SQL_DIR=%s: %s and %s have the same version", dir, m[i].name, m[i + 1].name);
			free(m);
			return AC_ERR_INVALID;
		}
	*out = m;
	*n = have;
	return AC_OK;
}

static enum ac_err
read_sql(const char *dir, const char *name, char **out)
{
	char path[4096];
	size_t len = 0, got;
	char *buf;
	FILE *f;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		ac_log_error("%s: %s", path, strerror(errno));
		return AC_ERR_IO;
	}
	if ((buf = malloc(MAX_SQL + 1)) == NULL) {
		fclose(f);
		return AC_ERR_NOMEM;
	}
	while (len < MAX_SQL && (got = fread(buf + len, 1, MAX_SQL - len, f)) > 0)
		len += got;
	if (ferror(f) || len == MAX_SQL) {
		ac_log_error("%s: %s", path, ferror(f) ? "read error" : "larger than 1 MiB");
		fclose(f);
		free(buf);
		return AC_ERR_IO;
	}
	fclose(f);
	buf[len] = '\0';
	*out = buf;
	return AC_OK;
}

/* One migration in one transaction: its statements, then its version. */
static enum ac_err
apply(struct ac_pg *pg, const char *dir, const struct migration *m)
{
	struct ac_pg_params p = { 0 };
	enum ac_err err;
	PGresult *r = NULL;
	PGconn *c;
	char *sql;

	if ((err = read_sql(dir, m->name, &sql)) != AC_OK)
		return err;
	if ((err = ac_pg_exec(pg, "begin", "BEGIN", NULL, NULL)) != AC_OK || (err = ac_pg_conn(pg, &c)) != AC_OK) {
		free(sql);
		return err;
	}
	/* several statements: the simple protocol (PQexec) runs them all, or none on an error */
	r = PQexec(c, sql);
	free(sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		ac_log_error("%s/%s: %s", dir, m->name, PQresultErrorMessage(r));
		PQclear(r);
		ac_pg_exec(pg, "rollback", "ROLLBACK", NULL, NULL);
		return AC_ERR_STORE;
	}
	PQclear(r);
	ac_pg_int(&p, m->version);
	ac_pg_text(&p, m->name);
	if ((err = ac_pg_exec(pg, "record the migration",
	    "INSERT INTO ac_schema_migrations (version, name) VALUES ($1, $2)", &p, NULL)) != AC_OK ||
	    (err = ac_pg_exec(pg, "commit", "COMMIT", NULL, NULL)) != AC_OK) {
		ac_pg_exec(pg, "rollback", "ROLLBACK", NULL, NULL);
		return err;
	}
	ac_log_info("applied %s: schema version %d", m->name, m->version);
	return AC_OK;
}

enum ac_err
ac_store_migrate(const struct ac_conf *conf, int *from, int *to)
{
	struct migration *m = NULL;
	struct ac_pg *pg = NULL;
	enum ac_err err;
	size_t n = 0, i;
	int locked = 0;

	*from = *to = 0;
	if (conf->store != AC_STORE_POSTGRES) {
		ac_log_error("AC_STORE=%s: only a PostgreSQL store is migrated (LMDB upgrades itself when a program "
		    "opens it)", ac_conf_store_name(conf->store));
		return AC_ERR_INVALID;
	}
	if ((err = list_migrations(conf->sql_dir, &m, &n)) != AC_OK)
		goto out;
	if (n == 0 || m[n - 1].version != AC_PG_SCHEMA) {
		ac_log_error("AC_SQL_DIR=%s holds migrations up to version %d; this build needs %d (is it this "
		    "build's sql directory?)", conf->sql_dir, n ? m[n - 1].version : 0, AC_PG_SCHEMA);
		err = AC_ERR_INVALID;
		goto out;
	}
	if ((err = ac_pg_open(conf->database_url, AC_PG_NO_SCHEMA_CHECK, &pg)) != AC_OK)
		goto out;
	/* session-level: held across the migrations' transactions, dropped with the connection too */
	if ((err = ac_pg_exec(pg, "advisory lock", "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", NULL, NULL)) != AC_OK)
		goto out;
	locked = 1;
	if ((err = ac_pg_exec(pg, "create ac_schema_migrations",
	    "CREATE TABLE IF NOT EXISTS ac_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())", NULL, NULL)) != AC_OK ||
	    (err = ac_pg_schema_version(pg, from)) != AC_OK)
		goto out;
	*to = *from;
	if (*from > AC_PG_SCHEMA) {
		ac_log_error("the database has schema version %d, newer than this build's %d: nothing done", *from,
		    AC_PG_SCHEMA);
		err = AC_ERR_STORE_SCHEMA;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (m[i].version <= *from)
			continue;
		if ((err = apply(pg, conf->sql_dir, &m[i])) != AC_OK)
			goto out;
		*to = m[i].version;
	}
out:
	if (locked)
		ac_pg_exec(pg, "advisory unlock", "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", NULL, NULL);
	ac_pg_close(pg);
	free(m);
	return err;
}
