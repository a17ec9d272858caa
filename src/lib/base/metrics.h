/*
 * metrics.h: counters and histograms shared by every process of the host.
 *
 * One file, AC_DATA_DIR/metrics, mapped MAP_SHARED by every program, the
 * worker and acctl: a header (the worker's heartbeat), a table of series
 * (a family and its rendered labels) and their 64-bit values. A value is
 * only ever changed with __atomic_fetch_add, so the sums are exact whatever
 * number of processes count at once, and counting costs no system call: a
 * process looks a series up in its own cache, and only a label set seen for
 * the first time on the host takes the file's flock to append it. The table
 * is fixed in size: a family has a cap of series, past which its updates go
 * to the family's "other" series, and a full table counts in
 * ac_metrics_dropped_total. ac_metrics_render() writes the Prometheus text
 * format 0.0.4, every series labelled with the host (gethostname), so that
 * hosts sharing one PostgreSQL store are told apart.
 *
 * AC_METRICS=off in the environment: nothing is counted (the heartbeat is
 * still written); for measuring what counting costs (scripts/bench).
 */
#ifndef AC_METRICS_H
#define AC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define AC_METRICS_FILE "metrics"

enum ac_metric_family {
	AC_M_REQUESTS,           /* counter: program, route, status */
	AC_M_REQUEST_ERRORS,     /* counter: program, code (every answer with an error code) */
	AC_M_AUTH_FAILURES,      /* counter: program, code (authentication refused) */
	AC_M_REQUEST_SECONDS,    /* histogram: program, route */
	AC_M_WORKER_ATTEMPTS,    /* counter: handler */
	AC_M_WORKER_SUCCESSES,   /* counter: handler */
	AC_M_WORKER_FAILURES,    /* counter: handler, code */
	AC_M_WORKER_RETRIES,     /* counter: handler (a failure that will be tried again) */
	AC_M_WORKER_DEAD,        /* counter: handler (moved to dead) */
	AC_M_OUTBOUND,           /* counter: host, status (0: no answer) */
	AC_M_OUTBOUND_SECONDS,   /* histogram: host */
	AC_M_TOKEN_HITS,         /* counter: kind (bitbucket, jira) */
	AC_M_TOKEN_MISSES,       /* counter: kind */
	AC_M_TOKEN_GRANTS,       /* counter: kind, outcome (ok, failed) */
	AC_M_INSTALL_KEY_FETCHES,/* counter: outcome */
	AC_M_JWKS_FETCHES,       /* counter: outcome */
	AC_M_FAMILIES
};

/* Histogram buckets (seconds), the same for every histogram; +Inf follows. */
#define AC_METRICS_BUCKETS 14

/*
 * Maps dir's metrics file for this process (created, 0600, when absent,
 * and dir 0700 too: with PostgreSQL no store makes it; reset when its
 * layout is of another build). With readonly, only an
 * existing file is mapped, for reading (acctl status). AC_ERR_NOT_FOUND,
 * AC_ERR_IO: no file (counting is then a no-op). Call after any fork that
 * matters or before: the mapping is shared either way. Again with the same
 * dir: a no-op.
 */
enum ac_err ac_metrics_open(const char *dir, int readonly);
void ac_metrics_close(void);
/* Whether a file is mapped. */
int ac_metrics_mapped(void);
/* Whether counting is on (a file is mapped and AC_METRICS is not off). */
int ac_metrics_enabled(void);

/*
 * labels: rendered as Prometheus writes them, `name="value",...` (values
 * through ac_metrics_label()), at most 200 bytes; "" for none.
 */
void ac_metrics_add(enum ac_metric_family f, const char *labels, uint64_t n);
static inline void ac_metrics_inc(enum ac_metric_family f, const char *labels) { ac_metrics_add(f, labels, 1); }
/* A histogram observation, in microseconds. */
void ac_metrics_observe(enum ac_metric_family f, const char *labels, uint64_t usec);

/*
 * Appends `name="value"` (with a comma first when out is not empty) to out
 * of size n, the value escaped (\\, \", \n) and cut at 64 bytes. Returns out.
 */
char *ac_metrics_label(char *out, size_t n, const char *name, const char *value);

/* The value of the series (a counter's total, a histogram's count); 0 when none. */
uint64_t ac_metrics_get(enum ac_metric_family f, const char *labels);
/* Calls fn for every series of family f with its labels and value (counter) or count (histogram). */
void ac_metrics_foreach(enum ac_metric_family f, void (*fn)(const char *labels, uint64_t value, void *ctx),
    void *ctx);

/* The worker's heartbeat: now (wall clock), into the shared header; no system call. */
void ac_metrics_heartbeat(void);
/* The last heartbeat in epoch milliseconds; 0 when none (or no file). */
uint64_t ac_metrics_last_heartbeat(void);
/* Tests only: sets the heartbeat to ms (0: none). */
void ac_metrics_set_heartbeat(uint64_t ms);

/* The Prometheus text (format 0.0.4) of every family with a series, appended to out. */
enum ac_err ac_metrics_render(struct ac_buf *out);

/*
 * Appends a gauge family (HELP, TYPE and one sample labelled with the host
 * and labels, "" for none) for values read elsewhere (the inbox at scrape time).
 */
enum ac_err ac_metrics_render_gauge(struct ac_buf *out, const char *name, const char *help, const char *labels,
    double value);

/* The host label's value (gethostname, once). */
const char *ac_metrics_host(void);

#endif
