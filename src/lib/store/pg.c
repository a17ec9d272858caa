/*
 * pg.c: the PostgreSQL backend's connection (issue 16): one per process, kept
 * across requests, reconnected with backoff; statements, their errors, and
 * transactions. The operations are in pg-tenant.c, pg-forge.c, pg-inbox.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/num.h"
#include "store/store-lmdb.h"
#include "store/store-pg.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define TXN_TRIES 8
/* The statements prepared on one connection: more are run unprepared (none of ours come close). */
#define PREPARED_MAX 32

struct ac_pg {
	PGconn *conn;
	char *conninfo;
	unsigned flags;
	unsigned generation;     /* connections made */
	uint64_t next_try_us;    /* no new connection before this (backoff) */
	unsigned backoff_ms;     /* the next step; 0 after a success */
	uint64_t down_since_us;  /* 0 while available */
	uint64_t logged_us;      /* when "unavailable" was last said */
	int in_txn;              /* BEGIN said: a lost connection is not replaced until the transaction ends */
	char sqlstate[6];
	/* prepared on this connection (forgotten with it: a new one has none) */
	const struct ac_pg_stmt *prepared[PREPARED_MAX];
	unsigned nprepared;
	/* run once, unprepared: prepared at their second use (a CGI request's connection never prepares) */
	const struct ac_pg_stmt *used[PREPARED_MAX];
	unsigned nused;
	struct ac_pg_inbox *inbox; /* pg-lease.c: lease renewal, LISTEN */
};

static unsigned long statements;

unsigned long
ac_pg_statements(void)
{
	return statements;
}

unsigned
ac_pg_generation(const struct ac_pg *pg)
{
	return pg->generation;
}

struct ac_pg_inbox **
ac_pg_inbox_slot(struct ac_pg *pg)
{
	return &pg->inbox;
}

const char *
ac_pg_conninfo(const struct ac_pg *pg)
{
	return pg->conninfo;
}

unsigned
ac_pg_flags(const struct ac_pg *pg)
{
	return pg->flags;
}

const char *
ac_pg_sqlstate(const struct ac_pg *pg)
{
	return pg->sqlstate;
}

/* The database for people: its URL with any password masked. */
static const char *
shown(const struct ac_pg *pg, char *buf, size_t n)
{
	ac_conf_mask_dburl(pg->conninfo, buf, n);
	return *buf ? buf : "(libpq defaults: PGHOST, PGSERVICE ...)";
}

/* libpq's messages end with a newline, sometimes several lines: one line for the log. */
static const char *
one_line(const char *msg, char *buf, size_t n)
{
	size_t i, j = 0;

	for (i = 0; msg != NULL && msg[i] && j + 1 < n; i++)
		buf[j++] = msg[i] == '\n' ? ' ' : msg[i];
	while (j > 0 && buf[j - 1] == ' ')
		j--;
	buf[j] = '\0';
	return buf;
}

/* Said when the store becomes unavailable and then once a minute while it stays so. */
static void
unavailable(struct ac_pg *pg, const char *what, const char *msg)
{
	uint64_t now = ac_clock_usec();
	char url[512], line[512];

	if (pg->down_since_us == 0)
		pg->down_since_us = now;
	if (pg->logged_us != 0 && now - pg->logged_us < 60000000u)
		return;
	pg->logged_us = now;
	ac_log_error("PostgreSQL unavailable (%s): %s: %s; answering 503 until it is back (said once a minute)",
	    shown(pg, url, sizeof(url)), what, one_line(msg, line, sizeof(line)));
}

static void
available(struct ac_pg *pg)
{
	if (pg->down_since_us != 0)
		ac_log_info("PostgreSQL available again after %llu s",
		    (unsigned long long)((ac_clock_usec() - pg->down_since_us) / 1000000u));
	pg->down_since_us = 0;
	pg->logged_us = 0;
	pg->backoff_ms = 0;
}

static void
back_off(struct ac_pg *pg)
{
	pg->backoff_ms = pg->backoff_ms == 0 ? BACKOFF_FIRST_MS
	    : pg->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pg->backoff_ms * 2;
	pg->next_try_us = ac_clock_usec() + (uint64_t)pg->backoff_ms * 1000u;
}

static enum ac_err
check_schema(struct ac_pg *pg)
{
	char url[512];
	enum ac_err err;
	int v;

	if ((err = ac_pg_schema_version(pg, &v)) != AC_OK)
		return err;
	if (v == AC_PG_SCHEMA)
		return AC_OK;
	if (v == 0)
		ac_log_error("the database %s has no connect-fcgi schema: run `acctl store migrate` (with the same "
		    "AC_DATABASE_URL), then start the programs again", shown(pg, url, sizeof(url)));
	else if (v < AC_PG_SCHEMA)
		ac_log_error("the database %s has schema version %d; this build needs %d: run `acctl store migrate`",
		    shown(pg, url, sizeof(url)), v, AC_PG_SCHEMA);
	else
		ac_log_error("the database %s has schema version %d, newer than this build's %d: a newer build "
		    "migrated it; install that build here too", shown(pg, url, sizeof(url)), v, AC_PG_SCHEMA);
	return AC_ERR_STORE_SCHEMA;
}

/* The server's notices: a WARNING goes to the log; NOTICE and below ("already exists, skipping") do not. */
static void
on_notice(void *arg, const PGresult *r)
{
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	char line[512];

	(void)arg;
	if (sev != NULL && !strcmp(sev, "WARNING"))
		ac_log_warn("PostgreSQL: %s", one_line(PQresultErrorMessage(r), line, sizeof(line)));
}

static enum ac_err
connect_now(struct ac_pg *pg)
{
	const char *keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
	const char *vals[] = { "5", "connect-fcgi", pg->conninfo, NULL };
	enum ac_err err;

	if (pg->conn != NULL)
		PQfinish(pg->conn);
	/* the URL's own connect_timeout wins: it comes after ours (expand_dbname) */
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL)
		return AC_ERR_NOMEM;
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		unavailable(pg, "connect", PQerrorMessage(pg->conn));
		PQfinish(pg->conn);
		pg->conn = NULL;
		back_off(pg);
		return AC_ERR_STORE;
	}
	PQsetNoticeReceiver(pg->conn, on_notice, NULL);
	pg->generation++;
	pg->nprepared = 0;
	pg->nused = 0;
	if (!(pg->flags & AC_PG_NO_SCHEMA_CHECK) && (err = check_schema(pg)) != AC_OK) {
		PQfinish(pg->conn);
		pg->conn = NULL;
		back_off(pg);
		return err;
	}
	/* AC_SYNC=off: a commit returns before its WAL is flushed (a crash of the server may lose it) */
	if ((pg->flags & AC_STORE_NOSYNC) &&
	    (err = ac_pg_exec(pg, "set synchronous_commit", "SET synchronous_commit TO off", NULL, NULL)) != AC_OK)
		return err;
	available(pg);
	return AC_OK;
}

/*
 * Whether an idle connection is gone, without a round trip. A server that
 * ends one (a restart, pg_terminate_backend, an idle timeout) first says why
 * (FATAL 57P01), then closes it; one read takes the message and returns
 * before the end of the stream, so the connection still looked fine and the
 * next statement failed (a 503 for a healthy database). So: read, let libpq
 * parse what came (PQisBusy; the message goes to the notice receiver, a
 * NOTIFY stays for PQnotifies), and read once more, which finds the end.
 */
int
ac_pg_conn_gone(PGconn *c)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK)
			return 1;
		(void)PQisBusy(c);
	}
	return PQstatus(c) != CONNECTION_OK;
}

enum ac_err
ac_pg_conn(struct ac_pg *pg, PGconn **conn)
{
	enum ac_err err;

	/* a server that restarted told this idle connection so (and closed it) */
	if (pg->conn != NULL && ac_pg_conn_gone(pg->conn)) {
		PQfinish(pg->conn);
		pg->conn = NULL;
	}
	if (pg->conn == NULL) {
		/* a new connection would run the rest of the transaction outside it */
		if (pg->in_txn || ac_clock_usec() < pg->next_try_us)
			return AC_ERR_STORE;
		if ((err = connect_now(pg)) != AC_OK)
			return err;
	}
	*conn = pg->conn;
	return AC_OK;
}

enum ac_err
ac_pg_open(const char *conninfo, unsigned flags, struct ac_pg **out)
{
	struct ac_pg *pg;
	enum ac_err err;
	PGconn *c;

	if ((pg = calloc(1, sizeof(*pg))) == NULL || (pg->conninfo = strdup(conninfo ? conninfo : "")) == NULL) {
		free(pg);
		return AC_ERR_NOMEM;
	}
	pg->flags = flags;
	/* down now: opened anyway, each use answers 503 until it is back; another schema: refused */
	if ((err = ac_pg_conn(pg, &c)) == AC_ERR_STORE_SCHEMA || err == AC_ERR_NOMEM) {
		ac_pg_close(pg);
		return err;
	}
	*out = pg;
	return AC_OK;
}

void
ac_pg_close(struct ac_pg *pg)
{
	if (pg == NULL)
		return;
	ac_pg_inbox_free(pg->inbox);
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	/* the conninfo may hold a password */
	ac_buf_free_secret(pg->conninfo, strlen(pg->conninfo));
	free(pg);
}

/* ---- statements */

void
ac_pg_text(struct ac_pg_params *p, const char *s)
{
	if (p->n >= AC_PG_MAXPARAMS)
		abort();
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
ac_pg_int(struct ac_pg_params *p, int64_t v)
{
	if (p->n >= AC_PG_MAXPARAMS)
		abort();
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%lld", (long long)v);
	ac_pg_text(p, p->num[p->n]);
}

void
ac_pg_bytes(struct ac_pg_params *p, const void *b, size_t n)
{
	if (p->n >= AC_PG_MAXPARAMS || n > 0x7fffffff)
		abort();
	p->v[p->n] = b ? b : "";
	p->len[p->n] = (int)n;
	p->fmt[p->n] = 1;
	p->n++;
}

/* SQLSTATEs that say the server cannot take work now: 503 and a line once a minute. */
static int
state_unavailable(const char *s)
{
	return !strncmp(s, "08", 2) ||      /* connection exception */
	    !strncmp(s, "57P", 3) ||         /* shutting down, crash, cannot connect now */
	    !strcmp(s, "53300") ||           /* too many connections */
	    !strcmp(s, "25006") ||           /* read-only transaction: a standby, or default_transaction_read_only */
	    !strcmp(s, "55006") ||           /* object in use */
	    !strcmp(s, "53200");             /* out of memory */
}

/* Expected now and then, handled by the caller: no line. */
static int
state_quiet(const char *s)
{
	return !strcmp(s, "40001") || !strcmp(s, "40P01") || !strcmp(s, "23505") || !strcmp(s, "42P01");
}

/* The SQLSTATE of a failed result, or NULL. */
static const char *
result_state(const PGresult *r)
{
	return r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
}

/*
 * r, the outcome of one round trip: *res on success, else the error mapped
 * (and logged unless quiet, for an error the caller says itself). Shared by
 * every way a statement is sent.
 */
static enum ac_err
outcome(struct ac_pg *pg, PGconn *c, const char *what, int quiet, PGresult *r, PGresult **res)
{
	ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	const char *state;
	char line[512];
	enum ac_err err;

	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
		if (res != NULL)
			*res = r;
		else
			PQclear(r);
		return AC_OK;
	}
	state = result_state(r);
	snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state ? state : "");
	if (state == NULL || PQstatus(c) != CONNECTION_OK || state_unavailable(state)) {
		unavailable(pg, what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		err = AC_ERR_STORE;
	} else if (!strcmp(state, "53100")) {
		unavailable(pg, what, "the disk of the database is full (free space there; clients are answered 503 "
		    "and retry)");
		err = AC_ERR_STORE_FULL;
	} else {
		if (!quiet && !state_quiet(state))
			ac_log_error("%s: %s (SQLSTATE %s)", what, one_line(PQresultErrorMessage(r), line, sizeof(line)),
			    state);
		err = AC_ERR_STORE;
	}
	PQclear(r);
	return err;
}

enum ac_err
ac_pg_exec(struct ac_pg *pg, const char *what, const char *sql, const struct ac_pg_params *p, PGresult **res)
{
	enum ac_err err;
	PGresult *r;
	PGconn *c;

	if (res != NULL)
		*res = NULL;
	pg->sqlstate[0] = '\0';
	if ((err = ac_pg_conn(pg, &c)) != AC_OK)
		return err;
	statements++;
	r = PQexecParams(c, sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL, p ? p->fmt : NULL, 0);
	return outcome(pg, c, what, 0, r, res);
}

static int
is_prepared(const struct ac_pg *pg, const struct ac_pg_stmt *stmt)
{
	unsigned i;

	for (i = 0; i < pg->nprepared; i++)
		if (pg->prepared[i] == stmt)
			return 1;
	return 0;
}

/*
 * Whether stmt ran on this connection before; the first call says no and
 * remembers it. Preparing costs a round trip of its own: worth it from the
 * second use on, never for a connection that serves one request (CGI).
 */
static int
used_before(struct ac_pg *pg, const struct ac_pg_stmt *stmt)
{
	unsigned i;

	for (i = 0; i < pg->nused; i++)
		if (pg->used[i] == stmt)
			return 1;
	if (pg->nused < PREPARED_MAX)
		pg->used[pg->nused++] = stmt;
	return 0;
}

static void
forget(struct ac_pg *pg, const struct ac_pg_stmt *stmt)
{
	unsigned i;

	for (i = 0; i < pg->nprepared; i++)
		if (pg->prepared[i] == stmt) {
			pg->prepared[i] = pg->prepared[--pg->nprepared];
			return;
		}
}

/* Parsed once on this connection (one round trip, counted as a statement), under the statement's name. */
static enum ac_err
prepare(struct ac_pg *pg, PGconn *c, const char *what, const struct ac_pg_stmt *stmt)
{
	enum ac_err err;

	statements++;
	if ((err = outcome(pg, c, what, stmt->quiet, PQprepare(c, stmt->name, stmt->sql, 0, NULL), NULL)) != AC_OK)
		return err;
	pg->prepared[pg->nprepared++] = stmt;
	return AC_OK;
}

enum ac_err
ac_pg_exec_prepared(struct ac_pg *pg, const char *what, const struct ac_pg_stmt *stmt,
    const struct ac_pg_params *p, PGresult **res)
{
	const char *state;
	enum ac_err err;
	PGresult *r;
	PGconn *c;
	int tries;

	if (res != NULL)
		*res = NULL;
	pg->sqlstate[0] = '\0';
	if ((err = ac_pg_conn(pg, &c)) != AC_OK)
		return err;
	for (tries = 0;; tries++) {
		if (!is_prepared(pg, stmt)) {
			if (pg->nprepared == PREPARED_MAX || !used_before(pg, stmt)) {
				statements++;
				r = PQexecParams(c, stmt->sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL,
				    p ? p->fmt : NULL, 0);
				return outcome(pg, c, what, stmt->quiet, r, res);
			}
			if ((err = prepare(pg, c, what, stmt)) != AC_OK)
				return err;
		}
		statements++;
		r = PQexecPrepared(c, stmt->name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL, p ? p->fmt : NULL, 0);
		state = result_state(r);
		/*
		 * The session lost it (DEALLOCATE, DISCARD ALL by a pooler): prepared
		 * once more (any others it lost are found the same way when used).
		 * Inside a transaction the error aborted it: ac_pg_txn runs it again.
		 */
		if (state == NULL || strcmp(state, "26000") != 0 || tries > 0)
			return outcome(pg, c, what, stmt->quiet, r, res);
		forget(pg, stmt);
		if (pg->in_txn) {
			snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state);
			PQclear(r);
			return AC_ERR_STORE;
		}
		PQclear(r);
	}
}

const char *
ac_pg_cell(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col);
}

int
ac_pg_cell_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col);
}

int64_t
ac_pg_cell_int(const PGresult *r, int row, int col)
{
	int64_t v;

	if (PQgetisnull(r, row, col) || ac_num_parse_str(PQgetvalue(r, row, col), INT64_MIN, INT64_MAX, &v) != AC_OK)
		return 0;
	return v;
}

enum ac_err
ac_pg_cell_bytes(const PGresult *r, int row, int col, char **out, size_t *len)
{
	unsigned char *b;
	size_t n = 0;

	*out = NULL;
	*len = 0;
	if ((b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n)) == NULL ||
	    (*out = malloc(n + 1)) == NULL) {
		PQfreemem(b);
		return AC_ERR_NOMEM;
	}
	memcpy(*out, b, n);
	(*out)[n] = '\0';
	*len = n;
	PQfreemem(b);
	return AC_OK;
}

/* ---- transactions */

static int
retryable(const struct ac_pg *pg)
{
	/* 26000: a prepared statement the session lost (ac_pg_exec_prepared forgot it: prepared again) */
	return !strcmp(pg->sqlstate, "40001") || !strcmp(pg->sqlstate, "40P01") || !strcmp(pg->sqlstate, "26000");
}

enum ac_err
ac_pg_txn(struct ac_store *st, enum ac_pg_mode mode, enum ac_err (*fn)(struct ac_txn *, void *), void *ctx)
{
	static const char *const begin[] = {
		[AC_PG_SERIAL] = "BEGIN ISOLATION LEVEL SERIALIZABLE",
		[AC_PG_COMMITTED] = "BEGIN ISOLATION LEVEL READ COMMITTED",
		[AC_PG_SNAPSHOT] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	};
	struct ac_pg *pg = ac_store_pg(st);
	struct ac_txn t = { NULL, st };
	enum ac_err err = AC_ERR_STORE;
	PGresult *r;
	int tries;

	if (mode != AC_PG_SNAPSHOT && (pg->flags & AC_STORE_RDONLY))
		return AC_ERR_INVALID;
	for (tries = 0; tries < TXN_TRIES; tries++) {
		if ((err = ac_pg_exec(pg, "begin", begin[mode], NULL, NULL)) != AC_OK)
			return err;
		pg->in_txn = 1;
		err = fn(&t, ctx);
		if (err == AC_OK) {
			/* COMMIT of a transaction an error aborted says ROLLBACK, not an error */
			if ((err = ac_pg_exec(pg, "commit", "COMMIT", NULL, &r)) == AC_OK) {
				if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
					ac_log_error("commit: the transaction was rolled back (%s)", PQcmdStatus(r));
					err = AC_ERR_STORE;
				}
				PQclear(r);
			}
		} else {
			char state[6];

			/* the failure's SQLSTATE decides the retry, not the rollback's */
			memcpy(state, pg->sqlstate, sizeof(state));
			if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
				ac_pg_exec(pg, "rollback", "ROLLBACK", NULL, NULL);
			memcpy(pg->sqlstate, state, sizeof(state));
		}
		pg->in_txn = 0;
		if (err == AC_OK || !retryable(pg))
			return err;
	}
	ac_log_error("a transaction met %d serialization failures in a row; giving up (503)", TXN_TRIES);
	return err;
}

/* ---- schema */

enum ac_err
ac_pg_schema_version(struct ac_pg *pg, int *version)
{
	enum ac_err err;
	PGresult *r;

	*version = 0;
	err = ac_pg_exec(pg, "schema version", "SELECT coalesce(max(version), 0) FROM ac_schema_migrations", NULL, &r);
	if (err != AC_OK)
		return !strcmp(pg->sqlstate, "42P01") ? AC_OK : err; /* no table: no schema */
	*version = (int)ac_pg_cell_int(r, 0, 0);
	PQclear(r);
	return AC_OK;
}
