/*
 * pg-lease.c: on PostgreSQL, leases that expire and are renewed while their
 * handler runs, and idle workers woken by LISTEN/NOTIFY (issue 16 item 4).
 *
 * A lease lasts AC_INBOX_PG_LEASE seconds, so that an event held by a worker
 * that died on any host (where its pid proves nothing) is taken over by
 * another within a minute. While it is held (from claim to done or fail),
 * a thread of this process renews it every third of that, on a connection of
 * its own: a handler may block for seconds in curl and cannot be
 * interrupted, and the store's connection is not shared across threads. The
 * thread ends with the last lease it holds, or when a renewal finds the lease
 * taken over (the late done or fail then says AC_ERR_LEASE_LOST).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "store/pg-inbox-int.h"
#include "store/store-pg.h"

#define HELD_MAX 16

struct held {
	uint64_t seq;
	unsigned char id[16];
};

struct ac_pg_inbox {
	pid_t pid;               /* the process that made it: a child after fork starts afresh */
	unsigned listening;      /* the connection generation that said LISTEN; 0 none */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, running, stop;
	pthread_t th;
	struct held held[HELD_MAX];
	size_t n;
	long lease;
	char *conninfo;
	PGconn *conn;            /* the renewing thread's own */
};

static struct ac_pg_inbox *
state(struct ac_store *st)
{
	struct ac_pg_inbox **slot = ac_pg_inbox_slot(ac_store_pg(st));
	struct ac_pg_inbox *ib = *slot;

	if (ib != NULL && ib->pid == getpid())
		return ib;
	/* none yet, or inherited over fork (its thread is not here): this process's own */
	if ((ib = calloc(1, sizeof(*ib))) == NULL)
		return NULL;
	if ((ib->conninfo = strdup(ac_pg_conninfo(ac_store_pg(st)))) == NULL) {
		free(ib);
		return NULL;
	}
	ib->pid = getpid();
	pthread_mutex_init(&ib->mu, NULL);
	pthread_cond_init(&ib->cv, NULL);
	*slot = ib;
	return ib;
}

/* Forgets seq (the lock held). */
static void
drop_locked(struct ac_pg_inbox *ib, uint64_t seq)
{
	size_t i;

	for (i = 0; i < ib->n; i++)
		if (ib->held[i].seq == seq) {
			ib->held[i] = ib->held[--ib->n];
			return;
		}
}

/* Renews one lease on the thread's connection: 1 renewed, 0 lost (taken over or gone), -1 not now. */
static int
renew_one(struct ac_pg_inbox *ib, const struct held *h, long lease)
{
	char until[24], seq[24];
	const char *v[3] = { until, seq, (const char *)h->id };
	int len[3] = { 0, 0, 16 }, fmt[3] = { 0, 0, 1 }, rc = -1;
	PGresult *r;

	/* ended by the server while idle (a restart): a renewal missed now is one lease period lost */
	if (ib->conn != NULL && ac_pg_conn_gone(ib->conn)) {
		PQfinish(ib->conn);
		ib->conn = NULL;
	}
	if (ib->conn == NULL) {
		const char *keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
		const char *vals[] = { "5", "connect-fcgi lease", ib->conninfo, NULL };

		if ((ib->conn = PQconnectdbParams(keys, vals, 1)) == NULL || PQstatus(ib->conn) != CONNECTION_OK)
			return -1; /* the store's own connection says why, once a minute */
	}
	snprintf(until, sizeof(until), "%lld", (long long)ac_clock_now() + lease);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)h->seq);
	r = PQexecParams(ib->conn, "UPDATE ac_inbox SET lease_until = $1::bigint WHERE seq = $2::bigint AND "
	    "owner_id = $3::bytea AND lease_until > 0", 3, NULL, v, len, fmt, 0);
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = strcmp(PQcmdTuples(r), "0") != 0;
	PQclear(r);
	return rc;
}

static void *
renewer(void *arg)
{
	struct ac_pg_inbox *ib = arg;

	pthread_mutex_lock(&ib->mu);
	while (!ib->stop && ib->n > 0) {
		struct timespec ts;
		long period_ms = ib->lease * 1000 / 3;
		struct held h[HELD_MAX];
		size_t n, i;
		long lease;
		int rc;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += period_ms / 1000;
		ts.tv_nsec += (period_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		rc = 0;
		while (!ib->stop && ib->n > 0 && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&ib->cv, &ib->mu, &ts);
		if (ib->stop || ib->n == 0)
			break;
		n = ib->n;
		memcpy(h, ib->held, n * sizeof(h[0]));
		lease = ib->lease;
		pthread_mutex_unlock(&ib->mu);
		for (i = 0; i < n; i++)
			h[i].seq = renew_one(ib, &h[i], lease) == 0 ? h[i].seq : 0;
		pthread_mutex_lock(&ib->mu);
		for (i = 0; i < n; i++) {
			if (h[i].seq == 0)
				continue;
			/* taken over after it expired (this process was stopped, or the database away) */
			ac_log_warn("event %llu: its lease was taken over; no longer renewed", (unsigned long long)h[i].seq);
			drop_locked(ib, h[i].seq);
		}
	}
	ib->running = 0;
	pthread_mutex_unlock(&ib->mu);
	return NULL;
}

/* Waits for a thread that ended or was told to (the lock not held). */
static void
reap(struct ac_pg_inbox *ib)
{
	int join;

	pthread_mutex_lock(&ib->mu);
	if (ib->running && ib->n == 0) {
		ib->stop = 1;
		pthread_cond_signal(&ib->cv);
	}
	join = ib->started && (ib->stop || !ib->running);
	pthread_mutex_unlock(&ib->mu);
	if (!join)
		return;
	pthread_join(ib->th, NULL);
	pthread_mutex_lock(&ib->mu);
	ib->started = ib->running = ib->stop = 0;
	pthread_mutex_unlock(&ib->mu);
}

void
ac_pg_lease_hold(struct ac_store *st, uint64_t seq, const struct ac_lease_owner *o, long lease)
{
	struct ac_pg_inbox *ib = state(st);
	size_t i;

	if (ib == NULL)
		return; /* out of memory: the lease still expires, as on LMDB */
	reap(ib);
	pthread_mutex_lock(&ib->mu);
	drop_locked(ib, seq);
	if (ib->n == HELD_MAX) {
		pthread_mutex_unlock(&ib->mu);
		ac_log_warn("event %llu: more than %d leases held at once; this one is not renewed",
		    (unsigned long long)seq, HELD_MAX);
		return;
	}
	ib->held[ib->n].seq = seq;
	memcpy(ib->held[ib->n].id, o->id, sizeof(o->id));
	ib->n++;
	/* the shortest lease held decides how often they are all renewed */
	if (ib->n == 1 || lease < ib->lease)
		ib->lease = lease;
	if (!ib->running) {
		if (pthread_create(&ib->th, NULL, renewer, ib) == 0) {
			ib->started = ib->running = 1;
		} else {
			ac_log_error("event %llu: cannot start the thread that renews its lease", (unsigned long long)seq);
			for (i = 0; i < ib->n; i++)
				if (ib->held[i].seq == seq)
					drop_locked(ib, seq);
		}
	}
	pthread_mutex_unlock(&ib->mu);
}

void
ac_pg_lease_release(struct ac_store *st, uint64_t seq)
{
	struct ac_pg_inbox *ib = state(st);

	if (ib == NULL)
		return;
	pthread_mutex_lock(&ib->mu);
	drop_locked(ib, seq);
	pthread_mutex_unlock(&ib->mu);
	reap(ib);
}

void
ac_pg_inbox_free(struct ac_pg_inbox *ib)
{
	if (ib == NULL)
		return;
	if (ib->pid == getpid()) {
		pthread_mutex_lock(&ib->mu);
		ib->n = 0;
		pthread_mutex_unlock(&ib->mu);
		reap(ib);
		if (ib->conn != NULL)
			PQfinish(ib->conn);
		pthread_mutex_destroy(&ib->mu);
		pthread_cond_destroy(&ib->cv);
	}
	/* inherited over fork: its thread and connection are the parent's; only the memory is ours */
	ac_buf_free_secret_str(ib->conninfo);
	free(ib);
}

/* ---------------------------------------------------------------- waking idle workers */

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Up to max_ms for a NOTIFY on the store's connection: 1 when one came (or
 * LISTEN was said just now: what was committed before it was not announced,
 * so the caller looks once more), 0 when the time is up, a signal came, or
 * the database cannot be reached (then it sleeps: the caller's next use
 * reconnects, with backoff).
 */
int
ac_pg_inbox_wait(struct ac_store *st, long max_ms)
{
	struct ac_pg *pg = ac_store_pg(st);
	struct ac_pg_inbox *ib = state(st);
	uint64_t end = ac_clock_usec() + (uint64_t)(max_ms > 0 ? max_ms : 0) * 1000u;
	PGnotify *n;
	PGconn *c;
	int woken = 0;

	if (ib == NULL || ac_pg_conn(pg, &c) != AC_OK) {
		nap(max_ms);
		return 0;
	}
	/* LISTEN once per connection: a new connection (generation) has forgotten it */
	if (ib->listening != ac_pg_generation(pg)) {
		if (ac_pg_exec(pg, "listen", "LISTEN " AC_PG_CHANNEL, NULL, NULL) != AC_OK) {
			nap(max_ms);
			return 0;
		}
		ib->listening = ac_pg_generation(pg);
		return 1;
	}
	for (;;) {
		struct pollfd pfd = { PQsocket(c), POLLIN, 0 };
		uint64_t now;

		while ((n = PQnotifies(c)) != NULL) {
			PQfreemem(n);
			woken = 1;
		}
		if (woken)
			return 1;
		if ((now = ac_clock_usec()) >= end || pfd.fd < 0)
			return 0;
		if (poll(&pfd, 1, (int)((end - now + 999) / 1000)) < 0)
			return 0; /* a signal: the caller checks whether to stop */
		/* a broken connection: the next use replaces it */
		if (PQconsumeInput(c) == 0)
			return 0;
	}
}
