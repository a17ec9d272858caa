/* metrics.c: the host's shared metrics file: lock-free counting, flock'd registration, Prometheus text. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/datadir.h"
#include "base/log.h"
#include "base/metrics.h"

/*
 * The file: struct head, then NSERIES struct series, then NVALS values.
 * A series is appended (under the flock) by writing its slot and its values'
 * place, then publishing the new count with a release store; readers load the
 * count with acquire and never look past it, so they never see half a series.
 * Values are never moved or freed: a series lives as long as the file.
 */
#define MAGIC 0x53434952544d4341ull /* "ACMTRICS" */
#define LAYOUT 1u
#define NSERIES 1024
#define NVALS 16384
#define LABELS_MAX 200

struct head {
	uint64_t magic;
	uint32_t version, size;
	uint32_t nseries;      /* published series (release/acquire) */
	uint32_t nvals;        /* values handed out */
	uint64_t heartbeat_ms; /* the worker's last beat, epoch ms */
	uint64_t dropped;      /* updates that found the table full */
	uint64_t pad[4];
};

struct series {
	uint16_t family, nvals;
	uint32_t val;          /* index of its first value */
	char labels[LABELS_MAX + 1];
	char pad[256 - 8 - LABELS_MAX - 1];
};

#define FILE_SIZE (sizeof(struct head) + NSERIES * sizeof(struct series) + NVALS * sizeof(uint64_t))

enum kind { COUNTER, HISTOGRAM };

static const struct family {
	const char *name, *help;
	enum kind kind;
	unsigned cap;          /* most series; past it, updates go to `other` */
	const char *other;
} families[AC_M_FAMILIES] = {
	[AC_M_REQUESTS] = { "ac_requests_total", "Requests answered, by program, route and status.", COUNTER, 200,
	    "program=\"other\",route=\"other\",status=\"other\"" },
	[AC_M_REQUEST_ERRORS] = { "ac_request_errors_total", "Requests answered with an error, by program and error code.",
	    COUNTER, 200, "program=\"other\",code=\"other\"" },
	[AC_M_AUTH_FAILURES] = { "ac_auth_failures_total", "Requests whose authentication failed, by program and error code.",
	    COUNTER, 200, "program=\"other\",code=\"other\"" },
	[AC_M_REQUEST_SECONDS] = { "ac_request_duration_seconds", "Time from accept to the access log line, by program and route.",
	    HISTOGRAM, 64, "program=\"other\",route=\"other\"" },
	[AC_M_WORKER_ATTEMPTS] = { "ac_worker_attempts_total", "Handler runs by the worker, by handler.", COUNTER, 64,
	    "handler=\"other\"" },
	[AC_M_WORKER_SUCCESSES] = { "ac_worker_successes_total", "Handler runs that succeeded, by handler.", COUNTER, 64,
	    "handler=\"other\"" },
	[AC_M_WORKER_FAILURES] = { "ac_worker_failures_total", "Handler runs that failed, by handler and error code.",
	    COUNTER, 200, "handler=\"other\",code=\"other\"" },
	[AC_M_WORKER_RETRIES] = { "ac_worker_retries_total", "Failed events scheduled again, by handler.", COUNTER, 64,
	    "handler=\"other\"" },
	[AC_M_WORKER_DEAD] = { "ac_worker_dead_total", "Events moved to dead letters, by handler.", COUNTER, 64,
	    "handler=\"other\"" },
	[AC_M_OUTBOUND] = { "ac_outbound_requests_total", "Outbound HTTP calls, by host and status (0: no answer).",
	    COUNTER, 128, "host_called=\"other\",status=\"other\"" },
	[AC_M_OUTBOUND_SECONDS] = { "ac_outbound_duration_seconds", "Outbound HTTP call time, by host.", HISTOGRAM, 32,
	    "host_called=\"other\"" },
	[AC_M_TOKEN_HITS] = { "ac_token_cache_hits_total", "Access tokens served from the shared cache.", COUNTER, 8,
	    "kind=\"other\"" },
	[AC_M_TOKEN_MISSES] = { "ac_token_cache_misses_total", "Access token lookups that found none usable.", COUNTER, 8,
	    "kind=\"other\"" },
	[AC_M_TOKEN_GRANTS] = { "ac_token_grants_total", "Access token grants asked of the product, by outcome.", COUNTER, 16,
	    "kind=\"other\",outcome=\"other\"" },
	[AC_M_INSTALL_KEY_FETCHES] = { "ac_install_key_fetches_total", "Fetches of Jira install public keys, by outcome.",
	    COUNTER, 8, "outcome=\"other\"" },
	[AC_M_JWKS_FETCHES] = { "ac_forge_jwks_fetches_total", "Fetches of Forge's JWKS, by outcome.", COUNTER, 8,
	    "outcome=\"other\"" },
};

/* upper bounds in microseconds (rendered in seconds) */
static const uint64_t bucket_us[AC_METRICS_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

static struct {
	int fd;
	pid_t pid;             /* the process that opened fd */
	int readonly;
	int off;               /* AC_METRICS=off */
	char *dir;
	struct head *head;
	struct series *series;
	uint64_t *vals;
} m = { -1, 0, 0, 0, NULL, NULL, NULL, NULL };

/* This process's cache: (family, labels) → series, so that counting takes no lock and no system call. */
#define CACHE 512
static struct cached {
	uint32_t hash;
	int16_t family;        /* -1: empty */
	uint32_t idx;
	char labels[LABELS_MAX + 1];
} *cache;

static uint32_t
hash_of(enum ac_metric_family f, const char *s)
{
	uint32_t h = 2166136261u ^ (uint32_t)f;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int
ac_metrics_mapped(void)
{
	return m.head != NULL;
}

int
ac_metrics_enabled(void)
{
	return m.head != NULL && !m.off && !m.readonly;
}

void
ac_metrics_close(void)
{
	if (m.head)
		munmap(m.head, FILE_SIZE);
	if (m.fd >= 0)
		close(m.fd);
	free(m.dir);
	free(cache);
	cache = NULL;
	m.fd = -1;
	m.dir = NULL;
	m.head = NULL;
	m.series = NULL;
	m.vals = NULL;
}

/* Under the flock: a file of the right size and layout (a new one, or one of another build, is laid out again). */
static int
prepare(int fd)
{
	struct stat sb;
	struct head h;

	if (fstat(fd, &sb) != 0)
		return -1;
	if ((size_t)sb.st_size == FILE_SIZE && pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	    h.magic == MAGIC && h.version == LAYOUT && h.size == FILE_SIZE)
		return 0;
	if (sb.st_size != 0)
		ac_log_info("metrics file: laying it out again (it was of another build or size)");
	memset(&h, 0, sizeof(h));
	h.magic = MAGIC;
	h.version = LAYOUT;
	h.size = (uint32_t)FILE_SIZE;
	if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)FILE_SIZE) != 0 ||
	    pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -1;
	return 0;
}

enum ac_err
ac_metrics_open(const char *dir, int readonly)
{
	const char *env = getenv("AC_METRICS");
	struct stat sb;
	void *p;
	int dfd, fd;

	if (m.head && m.dir && !strcmp(m.dir, dir) && m.readonly == readonly)
		return AC_OK;
	ac_metrics_close();
	m.off = env && (!strcmp(env, "off") || !strcmp(env, "0") || !strcmp(env, "no"));
	/* with AC_STORE=postgres nothing else may have made the directory: the file is local to the host */
	if (!readonly && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return AC_ERR_NOT_FOUND;
	if ((dfd = ac_datadir_open(dir, 0, &sb)) < 0)
		return AC_ERR_NOT_FOUND;
	fd = ac_datadir_openat(dfd, dir, AC_METRICS_FILE, readonly ? O_RDONLY : O_RDWR,
	    readonly ? 0 : AC_DATADIR_CREATE);
	close(dfd);
	if (fd < 0)
		return errno == ENOENT ? AC_ERR_NOT_FOUND : AC_ERR_IO;
	if (readonly) {
		struct head h;

		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != MAGIC || h.version != LAYOUT ||
		    h.size != FILE_SIZE || fstat(fd, &sb) != 0 || (size_t)sb.st_size < FILE_SIZE) {
			close(fd);
			return AC_ERR_NOT_FOUND;
		}
	} else {
		int ok;

		flock(fd, LOCK_EX);
		ok = prepare(fd) == 0;
		flock(fd, LOCK_UN);
		if (!ok) {
			ac_log_error("metrics file in %s: %s; not counting", dir, strerror(errno));
			close(fd);
			return AC_ERR_IO;
		}
	}
	p = mmap(NULL, FILE_SIZE, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ac_log_error("metrics file in %s: mmap: %s; not counting", dir, strerror(errno));
		close(fd);
		return AC_ERR_IO;
	}
	if ((cache = calloc(CACHE, sizeof(*cache))) == NULL || (m.dir = strdup(dir)) == NULL) {
		munmap(p, FILE_SIZE);
		close(fd);
		free(cache);
		cache = NULL;
		return AC_ERR_NOMEM;
	}
	for (size_t i = 0; i < CACHE; i++)
		cache[i].family = -1;
	m.fd = fd;
	m.pid = getpid();
	m.readonly = readonly;
	m.head = p;
	m.series = (struct series *)(m.head + 1);
	m.vals = (uint64_t *)(m.series + NSERIES);
	return AC_OK;
}

/* The published series of (f, labels) from `from` on: its index, or -1. */
static long
find(enum ac_metric_family f, const char *labels, uint32_t from, uint32_t n)
{
	uint32_t i;

	for (i = from; i < n; i++)
		if (m.series[i].family == f && !strcmp(m.series[i].labels, labels))
			return (long)i;
	return -1;
}

/* Appends a series under the flock (the caller holds it); -1 when the table is full. */
static long
append(enum ac_metric_family f, const char *labels, uint16_t nvals)
{
	uint32_t n = __atomic_load_n(&m.head->nseries, __ATOMIC_ACQUIRE);
	struct series *s;

	if (n >= NSERIES || m.head->nvals + nvals > NVALS)
		return -1;
	s = &m.series[n];
	s->family = (uint16_t)f;
	s->nvals = nvals;
	s->val = m.head->nvals;
	snprintf(s->labels, sizeof(s->labels), "%s", labels);
	m.head->nvals += nvals;
	__atomic_store_n(&m.head->nseries, n + 1, __ATOMIC_RELEASE);
	return (long)n;
}

static unsigned
count_family(enum ac_metric_family f, uint32_t n)
{
	unsigned c = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		c += m.series[i].family == f;
	return c;
}

/*
 * The descriptor to flock, opened by this very process: a descriptor
 * inherited across fork() shares its open file description, and with it
 * the flock, with the parent, so that both would hold it at once. Only a
 * registration (the first time a label set is seen) pays for the check.
 */
static int
lock_fd(void)
{
	struct stat sb;
	int dfd, fd;

	if (m.pid == getpid())
		return m.fd;
	if ((dfd = ac_datadir_open(m.dir, 0, &sb)) < 0)
		return -1;
	fd = ac_datadir_openat(dfd, m.dir, AC_METRICS_FILE, O_RDWR, 0);
	close(dfd);
	if (fd < 0)
		return -1;
	close(m.fd);
	m.fd = fd;
	m.pid = getpid();
	return fd;
}

/* The values of (f, labels): from the cache, else the table, else registered (once per host). NULL: not counting. */
static uint64_t *
values(enum ac_metric_family f, const char *labels)
{
	uint16_t nvals = families[f].kind == HISTOGRAM ? AC_METRICS_BUCKETS + 2 : 1;
	uint32_t h, n;
	struct cached *c;
	long idx;

	if (!ac_metrics_enabled() || strlen(labels) > LABELS_MAX)
		return NULL;
	h = hash_of(f, labels);
	c = &cache[h % CACHE];
	if (c->family == (int16_t)f && c->hash == h && !strcmp(c->labels, labels))
		return &m.vals[m.series[c->idx].val];
	n = __atomic_load_n(&m.head->nseries, __ATOMIC_ACQUIRE);
	if ((idx = find(f, labels, 0, n)) < 0) {
		/* first seen on this host: register it, unless another process just did */
		if (lock_fd() < 0 || flock(m.fd, LOCK_EX) != 0) {
			__atomic_fetch_add(&m.head->dropped, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		n = __atomic_load_n(&m.head->nseries, __ATOMIC_ACQUIRE);
		if ((idx = find(f, labels, 0, n)) < 0) {
			if (count_family(f, n) >= families[f].cap) {
				if ((idx = find(f, families[f].other, 0, n)) < 0)
					idx = append(f, families[f].other, nvals);
			} else
				idx = append(f, labels, nvals);
		}
		flock(m.fd, LOCK_UN);
		if (idx < 0) {
			__atomic_fetch_add(&m.head->dropped, 1, __ATOMIC_RELAXED);
			return NULL;
		}
	}
	c->family = (int16_t)f;
	c->hash = h;
	c->idx = (uint32_t)idx;
	snprintf(c->labels, sizeof(c->labels), "%s", labels);
	return &m.vals[m.series[idx].val];
}

void
ac_metrics_add(enum ac_metric_family f, const char *labels, uint64_t n)
{
	uint64_t *v;

	if ((unsigned)f >= AC_M_FAMILIES || families[f].kind != COUNTER || (v = values(f, labels)) == NULL)
		return;
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

void
ac_metrics_observe(enum ac_metric_family f, const char *labels, uint64_t usec)
{
	uint64_t *v;
	unsigned b;

	if ((unsigned)f >= AC_M_FAMILIES || families[f].kind != HISTOGRAM || (v = values(f, labels)) == NULL)
		return;
	for (b = 0; b < AC_METRICS_BUCKETS && usec > bucket_us[b]; b++)
		;
	/* per-bucket counts (b == AC_METRICS_BUCKETS: +Inf), then the sum; the count is their total */
	__atomic_fetch_add(&v[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&v[AC_METRICS_BUCKETS + 1], usec, __ATOMIC_RELAXED);
}

char *
ac_metrics_label(char *out, size_t n, const char *name, const char *value)
{
	char v[64 * 2 + 1];
	size_t len = strlen(out), i, j = 0;
	int w;

	for (i = 0; value && value[i] && i < 64; i++) {
		char c = value[i];

		/* the text format wants UTF-8: other bytes than printable ASCII become '?' */
		if ((unsigned char)c >= 0x7f || ((unsigned char)c < 0x20 && c != '\n'))
			c = '?';
		if (c == '\\' || c == '"' || c == '\n') {
			v[j++] = '\\';
			c = c == '\n' ? 'n' : c;
		}
		v[j++] = c;
	}
	v[j] = '\0';
	/* a label that does not fit is left out whole, never cut inside its quotes */
	w = snprintf(out + len, n > len ? n - len : 0, "%s%s=\"%s\"", len ? "," : "", name, v);
	if (w < 0 || (size_t)w >= n - len)
		out[len] = '\0';
	return out;
}

static uint64_t
load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static uint64_t
total(const struct series *s)
{
	const uint64_t *v = &m.vals[s->val];
	uint64_t t = 0;
	unsigned b;

	if (families[s->family].kind == COUNTER)
		return load(v);
	for (b = 0; b <= AC_METRICS_BUCKETS; b++)
		t += load(&v[b]);
	return t;
}

uint64_t
ac_metrics_get(enum ac_metric_family f, const char *labels)
{
	uint32_t n;
	long idx;

	if (m.head == NULL || (unsigned)f >= AC_M_FAMILIES)
		return 0;
	n = __atomic_load_n(&m.head->nseries, __ATOMIC_ACQUIRE);
	if ((idx = find(f, labels, 0, n)) < 0)
		return 0;
	return total(&m.series[idx]);
}

void
ac_metrics_foreach(enum ac_metric_family f, void (*fn)(const char *labels, uint64_t value, void *ctx), void *ctx)
{
	uint32_t n, i;

	if (m.head == NULL)
		return;
	n = __atomic_load_n(&m.head->nseries, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++)
		if (m.series[i].family == f)
			fn(m.series[i].labels, total(&m.series[i]), ctx);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
ac_metrics_heartbeat(void)
{
	if (m.head && !m.readonly)
		__atomic_store_n(&m.head->heartbeat_ms, now_ms(), __ATOMIC_RELAXED);
}

void
ac_metrics_set_heartbeat(uint64_t ms)
{
	if (m.head && !m.readonly)
		__atomic_store_n(&m.head->heartbeat_ms, ms, __ATOMIC_RELAXED);
}

uint64_t
ac_metrics_last_heartbeat(void)
{
	return m.head ? __atomic_load_n(&m.head->heartbeat_ms, __ATOMIC_RELAXED) : 0;
}

const char *
ac_metrics_host(void)
{
	static char host[256];

	if (host[0] == '\0' && (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0'))
		snprintf(host, sizeof(host), "unknown");
	return host;
}

/* `{host="h",labels}` or with an extra label (le) */
static enum ac_err
add_labels(struct ac_buf *out, const char *labels, const char *extra)
{
	char h[128] = "";

	ac_metrics_label(h, sizeof(h), "host", ac_metrics_host());
	return ac_buf_printf(out, "{%s%s%s%s%s}", h, *labels ? "," : "", labels, extra ? "," : "",
	    extra ? extra : "");
}

static enum ac_err
render_series(struct ac_buf *out, const struct family *fam, const struct series *s)
{
	const uint64_t *v = &m.vals[s->val];
	uint64_t cum = 0, snap[AC_METRICS_BUCKETS + 2];
	char le[32];
	enum ac_err err;
	unsigned b;

	if (fam->kind == COUNTER) {
		if ((err = ac_buf_adds(out, fam->name)) != AC_OK || (err = add_labels(out, s->labels, NULL)) != AC_OK)
			return err;
		return ac_buf_printf(out, " %llu\n", (unsigned long long)load(v));
	}
	/* one snapshot, so that the buckets, the count and +Inf agree with each other */
	for (b = 0; b < AC_METRICS_BUCKETS + 2; b++)
		snap[b] = load(&v[b]);
	for (b = 0; b <= AC_METRICS_BUCKETS; b++) {
		cum += snap[b];
		if (b < AC_METRICS_BUCKETS)
			snprintf(le, sizeof(le), "le=\"%g\"", (double)bucket_us[b] / 1e6);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		if ((err = ac_buf_printf(out, "%s_bucket", fam->name)) != AC_OK ||
		    (err = add_labels(out, s->labels, le)) != AC_OK ||
		    (err = ac_buf_printf(out, " %llu\n", (unsigned long long)cum)) != AC_OK)
			return err;
	}
	if ((err = ac_buf_printf(out, "%s_sum", fam->name)) != AC_OK ||
	    (err = add_labels(out, s->labels, NULL)) != AC_OK ||
	    (err = ac_buf_printf(out, " %.6f\n", (double)snap[AC_METRICS_BUCKETS + 1] / 1e6)) != AC_OK ||
	    (err = ac_buf_printf(out, "%s_count", fam->name)) != AC_OK ||
	    (err = add_labels(out, s->labels, NULL)) != AC_OK)
		return err;
	return ac_buf_printf(out, " %llu\n", (unsigned long long)cum);
}

enum ac_err
ac_metrics_render(struct ac_buf *out)
{
	enum ac_err err = AC_OK;
	uint32_t n, i;
	unsigned f;

	if (m.head == NULL)
		return AC_OK;
	n = __atomic_load_n(&m.head->nseries, __ATOMIC_ACQUIRE);
	for (f = 0; f < AC_M_FAMILIES && err == AC_OK; f++) {
		const struct family *fam = &families[f];
		const char *type = fam->kind == COUNTER ? "counter" : "histogram";

		if (count_family((enum ac_metric_family)f, n) == 0)
			continue;
		if ((err = ac_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
		    type)) != AC_OK)
			break;
		for (i = 0; i < n && err == AC_OK; i++)
			if (m.series[i].family == f)
				err = render_series(out, fam, &m.series[i]);
	}
	if (err == AC_OK)
		err = ac_buf_printf(out, "# HELP ac_metrics_dropped_total Updates not counted: the metrics table was full.\n"
		    "# TYPE ac_metrics_dropped_total counter\nac_metrics_dropped_total");
	if (err == AC_OK && (err = add_labels(out, "", NULL)) == AC_OK)
		err = ac_buf_printf(out, " %llu\n", (unsigned long long)load(&m.head->dropped));
	return err;
}

enum ac_err
ac_metrics_render_gauge(struct ac_buf *out, const char *name, const char *help, const char *labels, double value)
{
	enum ac_err err;

	if ((err = ac_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s", name, help, name, name)) != AC_OK ||
	    (err = add_labels(out, labels ? labels : "", NULL)) != AC_OK)
		return err;
	return ac_buf_printf(out, " %.17g\n", value);
}
