/* test-metrics.c: the shared metrics file: exact sums across processes, histograms, the text format. */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "base/buf.h"
#include "base/metrics.h"

#define PROCS 16
#define ROUNDS 100000

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-metrics.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	chmod(dir, 0700);
	unsetenv("AC_METRICS");
}

static void
teardown(void)
{
	char p[128];

	ac_metrics_close();
	snprintf(p, sizeof(p), "%s/%s", dir, AC_METRICS_FILE);
	unlink(p);
	rmdir(dir);
}

struct seen {
	int n;
	uint64_t sum;
};

static void
count_series(const char *labels, uint64_t v, void *ctx)
{
	struct seen *s = ctx;

	(void)labels;
	s->n++;
	s->sum += v;
}

/* 16 processes count the same series at once, half of them mapping the file only after the fork */
START_TEST(exact_across_processes)
{
	pid_t pids[PROCS];
	struct seen s = { 0, 0 };
	int i, status;

	ck_assert_int_eq(ac_metrics_open(dir, 0), AC_OK);
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			char mine[64];
			int r;

			if (i % 2 && (ac_metrics_close(), ac_metrics_open(dir, 0)) != AC_OK)
				_exit(3);
			/* the same 50 new label sets registered by all at once: each must be there once */
			for (r = 0; r < 50; r++) {
				snprintf(mine, sizeof(mine), "handler=\"r%d\",code=\"c\"", r);
				ac_metrics_inc(AC_M_WORKER_FAILURES, mine);
			}
			/* a label set of its own, registered while the others register theirs */
			snprintf(mine, sizeof(mine), "handler=\"h%d\"", i);
			for (r = 0; r < ROUNDS; r++) {
				ac_metrics_inc(AC_M_WORKER_ATTEMPTS, "handler=\"shared\"");
				ac_metrics_add(AC_M_WORKER_SUCCESSES, "handler=\"shared\"", 2);
				ac_metrics_inc(AC_M_WORKER_ATTEMPTS, mine);
				if (r % 100 == 0)
					ac_metrics_observe(AC_M_OUTBOUND_SECONDS, "host_called=\"a\"", (uint64_t)r);
			}
			_exit(0);
		}
	}
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_uint_eq(ac_metrics_get(AC_M_WORKER_ATTEMPTS, "handler=\"shared\""), (uint64_t)PROCS * ROUNDS);
	ck_assert_uint_eq(ac_metrics_get(AC_M_WORKER_SUCCESSES, "handler=\"shared\""), (uint64_t)PROCS * ROUNDS * 2);
	ck_assert_uint_eq(ac_metrics_get(AC_M_WORKER_ATTEMPTS, "handler=\"h7\""), ROUNDS);
	ck_assert_uint_eq(ac_metrics_get(AC_M_OUTBOUND_SECONDS, "host_called=\"a\""), (uint64_t)PROCS * ROUNDS / 100);
	/* each label set registered once: 1 shared + 16 own series, whose values add up */
	ac_metrics_foreach(AC_M_WORKER_ATTEMPTS, count_series, &s);
	ck_assert_int_eq(s.n, PROCS + 1);
	ck_assert_uint_eq(s.sum, (uint64_t)PROCS * ROUNDS * 2);
	s.n = 0;
	s.sum = 0;
	ac_metrics_foreach(AC_M_WORKER_FAILURES, count_series, &s);
	ck_assert_int_eq(s.n, 50);
	ck_assert_uint_eq(s.sum, (uint64_t)PROCS * 50);
	ck_assert_uint_eq(ac_metrics_get(AC_M_WORKER_FAILURES, "handler=\"r49\",code=\"c\""), PROCS);
	/* and another process that opens the file later sees the same totals */
	ac_metrics_close();
	ck_assert_int_eq(ac_metrics_open(dir, 1), AC_OK);
	ck_assert_uint_eq(ac_metrics_get(AC_M_WORKER_ATTEMPTS, "handler=\"shared\""), (uint64_t)PROCS * ROUNDS);
	/* read-only: counting is a no-op, not a crash */
	ac_metrics_inc(AC_M_WORKER_ATTEMPTS, "handler=\"shared\"");
	ck_assert_uint_eq(ac_metrics_get(AC_M_WORKER_ATTEMPTS, "handler=\"shared\""), (uint64_t)PROCS * ROUNDS);
}
END_TEST

/* Finds the line that starts with prefix in text; its value, or -1. */
static double
sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

START_TEST(histogram_buckets)
{
	static const uint64_t obs[] = { 0, 500, 501, 1000, 9999, 10000, 10001, 2000000, 10000000, 10000001, 99000000 };
	struct ac_buf b;
	char pre[256];
	size_t i;
	uint64_t sum = 0;

	ck_assert_int_eq(ac_metrics_open(dir, 0), AC_OK);
	for (i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
		ac_metrics_observe(AC_M_REQUEST_SECONDS, "program=\"p\",route=\"/r\"", obs[i]);
		sum += obs[i];
	}
	/* a counter family given to observe, and a histogram to add, count nothing */
	ac_metrics_observe(AC_M_REQUESTS, "program=\"p\"", 1);
	ac_metrics_inc(AC_M_REQUEST_SECONDS, "program=\"p\",route=\"/r\"");
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUESTS, "program=\"p\""), 0);
	ac_buf_init(&b, 1 << 20);
	ck_assert_int_eq(ac_metrics_render(&b), AC_OK);
#define BUCKET(le) (snprintf(pre, sizeof(pre), "ac_request_duration_seconds_bucket{host=\"%s\",program=\"p\"," \
    "route=\"/r\",le=\"%s\"}", ac_metrics_host(), le), sample(ac_buf_str(&b), pre))
	/* le is inclusive: 500 us is in le=0.0005, 501 is not */
	ck_assert_double_eq(BUCKET("0.0005"), 2);
	ck_assert_double_eq(BUCKET("0.001"), 4);
	ck_assert_double_eq(BUCKET("0.005"), 4);
	ck_assert_double_eq(BUCKET("0.01"), 6);
	ck_assert_double_eq(BUCKET("0.025"), 7);
	ck_assert_double_eq(BUCKET("2.5"), 8);
	ck_assert_double_eq(BUCKET("10"), 9);
	ck_assert_double_eq(BUCKET("+Inf"), 11);
	snprintf(pre, sizeof(pre), "ac_request_duration_seconds_count{host=\"%s\",program=\"p\",route=\"/r\"}",
	    ac_metrics_host());
	ck_assert_double_eq(sample(ac_buf_str(&b), pre), 11);
	snprintf(pre, sizeof(pre), "ac_request_duration_seconds_sum{host=\"%s\",program=\"p\",route=\"/r\"}",
	    ac_metrics_host());
	ck_assert_double_eq_tol(sample(ac_buf_str(&b), pre), (double)sum / 1e6, 1e-6);
	ac_buf_release(&b);
}
END_TEST

/* ---- a checker of the text format 0.0.4, line by line */

static int
is_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return 0;
	return 1;
}

/* `{a="x",b="y"}`: 1 when well formed; *has_le when one label is le. Advances *pp past '}'. */
static int
labels_ok(const char **pp, int *has_le)
{
	const char *p = *pp + 1;

	*has_le = 0;
	while (*p != '}') {
		const char *n = p;

		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (!is_name(n, (size_t)(p - n)) || p[0] != '=' || p[1] != '"')
			return 0;
		if (p - n == 2 && !strncmp(n, "le", 2))
			*has_le = 1;
		p += 2;
		while (*p && *p != '"') {
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
					return 0;
				p++;
			} else if (*p == '\n')
				return 0;
			p++;
		}
		if (*p != '"')
			return 0;
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return 0;
	}
	*pp = p + 1;
	return 1;
}

static void
check_text_format(const char *text)
{
	char family[128] = "", type[16] = "";
	char last_series[512] = "";
	const char *line = text;
	int samples = 0;

	ck_assert(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	while (*line) {
		const char *end = strchr(line, '\n'), *p;
		size_t len = (size_t)(end - line);
		char l[1024];
		int has_le;

		ck_assert_uint_lt(len, sizeof(l));
		memcpy(l, line, len);
		l[len] = '\0';
		if (!strncmp(l, "# HELP ", 7)) {
			p = l + 7;
			ck_assert_msg(is_name(p, strcspn(p, " ")), "bad HELP: %s", l);
			snprintf(family, sizeof(family), "%.*s", (int)strcspn(p, " "), p);
			type[0] = '\0';
		} else if (!strncmp(l, "# TYPE ", 7)) {
			p = l + 7;
			ck_assert_msg(!strncmp(p, family, strlen(family)) && p[strlen(family)] == ' ',
			    "TYPE of another family than its HELP: %s", l);
			snprintf(type, sizeof(type), "%s", p + strlen(family) + 1);
			ck_assert_msg(!strcmp(type, "counter") || !strcmp(type, "gauge") || !strcmp(type, "histogram"),
			    "type %s", type);
			if (!strcmp(type, "counter"))
				ck_assert_msg(strlen(family) > 6 && !strcmp(family + strlen(family) - 6, "_total"),
				    "counter %s without _total", family);
		} else {
			size_t nl = strcspn(l, "{ ");
			double v;
			char *e;

			ck_assert_msg(l[0] != '#' && is_name(l, nl), "bad sample: %s", l);
			ck_assert_msg(type[0], "sample before its TYPE: %s", l);
			/* the sample's name is its family's, or for a histogram name_bucket/_sum/_count */
			if (!strcmp(type, "histogram"))
				ck_assert_msg(!strncmp(l, family, strlen(family)) &&
				    (!strncmp(l + strlen(family), "_bucket{", 8) || !strncmp(l + strlen(family), "_sum{", 5) ||
				    !strncmp(l + strlen(family), "_count{", 7)), "bad histogram sample: %s", l);
			else
				ck_assert_msg(nl == strlen(family) && !strncmp(l, family, nl), "sample of another family: %s", l);
			p = l + nl;
			ck_assert_msg(*p == '{', "no labels (host): %s", l);
			ck_assert_msg(!strncmp(p, "{host=\"", 7), "not labelled with the host first: %s", l);
			ck_assert_msg(labels_ok(&p, &has_le), "bad labels: %s", l);
			ck_assert_int_eq(has_le, strstr(l, "_bucket{") != NULL);
			ck_assert_msg(*p == ' ', "no value: %s", l);
			v = strtod(p + 1, &e);
			ck_assert_msg(e != p + 1 && *e == '\0' && v >= 0, "bad value: %s", l);
			/* no series twice */
			ck_assert_msg(strncmp(last_series, l, (size_t)(p - l)) != 0 || strlen(last_series) != (size_t)(p - l),
			    "series twice: %s", l);
			snprintf(last_series, sizeof(last_series), "%.*s", (int)(p - l), l);
			samples++;
		}
		line = end + 1;
	}
	ck_assert_int_gt(samples, 0);
}

START_TEST(render_text_format)
{
	struct ac_buf b;
	char labels[256] = "";
	int i;

	ck_assert_int_eq(ac_metrics_open(dir, 0), AC_OK);
	ac_metrics_label(labels, sizeof(labels), "program", "webhook");
	ac_metrics_label(labels, sizeof(labels), "route", "/webhook");
	ac_metrics_label(labels, sizeof(labels), "status", "204");
	ck_assert_str_eq(labels, "program=\"webhook\",route=\"/webhook\",status=\"204\"");
	ac_metrics_inc(AC_M_REQUESTS, labels);
	ac_metrics_observe(AC_M_REQUEST_SECONDS, "program=\"webhook\",route=\"/webhook\"", 1234);
	/* a value that needs escaping: quote, backslash, newline, and bytes that are not ASCII */
	labels[0] = '\0';
	ac_metrics_label(labels, sizeof(labels), "host_called", "a\"b\\c\nd\xff");
	ck_assert_str_eq(labels, "host_called=\"a\\\"b\\\\c\\nd?\"");
	ac_metrics_label(labels, sizeof(labels), "status", "0");
	ac_metrics_inc(AC_M_OUTBOUND, labels);
	ac_metrics_inc(AC_M_AUTH_FAILURES, "program=\"webhook\",code=\"jwt_signature\"");
	ac_metrics_inc(AC_M_TOKEN_HITS, "kind=\"bitbucket\"");
	/* past its cap, a family counts in its "other" series */
	for (i = 0; i < 40; i++) {
		char h[64] = "", name[16];

		snprintf(name, sizeof(name), "h%d.example", i);
		ac_metrics_label(h, sizeof(h), "host_called", name);
		ac_metrics_observe(AC_M_OUTBOUND_SECONDS, h, 10);
	}
	ck_assert_uint_eq(ac_metrics_get(AC_M_OUTBOUND_SECONDS, "host_called=\"h0.example\""), 1);
	ck_assert_uint_eq(ac_metrics_get(AC_M_OUTBOUND_SECONDS, "host_called=\"h39.example\""), 0);
	ck_assert_uint_eq(ac_metrics_get(AC_M_OUTBOUND_SECONDS, "host_called=\"other\""), 40 - 32);
	ac_buf_init(&b, 1 << 20);
	ck_assert_int_eq(ac_metrics_render(&b), AC_OK);
	ck_assert_int_eq(ac_metrics_render_gauge(&b, "ac_inbox_pending", "Events waiting.", "", 3), AC_OK);
	check_text_format(ac_buf_str(&b));
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&b), "# TYPE ac_requests_total counter\n"));
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&b), "# TYPE ac_request_duration_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&b), "# TYPE ac_inbox_pending gauge\n"));
	ac_buf_release(&b);
}
END_TEST

START_TEST(off_and_absent)
{
	char p[128];
	int fd;

	/* read-only and no file: not found, nothing mapped, every call a no-op */
	ck_assert_int_eq(ac_metrics_open(dir, 1), AC_ERR_NOT_FOUND);
	ck_assert(!ac_metrics_mapped());
	ac_metrics_inc(AC_M_REQUESTS, "");
	ac_metrics_heartbeat();
	ck_assert_uint_eq(ac_metrics_last_heartbeat(), 0);
	/* AC_METRICS=off: mapped, the heartbeat written, nothing counted */
	setenv("AC_METRICS", "off", 1);
	ck_assert_int_eq(ac_metrics_open(dir, 0), AC_OK);
	ck_assert(!ac_metrics_enabled());
	ac_metrics_inc(AC_M_REQUESTS, "program=\"x\"");
	ac_metrics_heartbeat();
	ck_assert_uint_gt(ac_metrics_last_heartbeat(), 0);
	unsetenv("AC_METRICS");
	ac_metrics_close();
	ck_assert_int_eq(ac_metrics_open(dir, 0), AC_OK);
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUESTS, "program=\"x\""), 0);
	ac_metrics_inc(AC_M_REQUESTS, "program=\"x\"");
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUESTS, "program=\"x\""), 1);
	ac_metrics_close();
	/* a file of another layout (another build) is laid out again, not trusted */
	snprintf(p, sizeof(p), "%s/%s", dir, AC_METRICS_FILE);
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "XXXXXXXX", 8, 0), 8);
	close(fd);
	ck_assert_int_eq(ac_metrics_open(dir, 1), AC_ERR_NOT_FOUND);
	ck_assert_int_eq(ac_metrics_open(dir, 0), AC_OK);
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUESTS, "program=\"x\""), 0);
	/* a symbolic link planted in the data directory is never followed */
	ac_metrics_close();
	unlink(p);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0);
	ck_assert_int_ne(ac_metrics_open(dir, 0), AC_OK);
	ck_assert(!ac_metrics_mapped());
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, exact_across_processes);
	tcase_add_test(tc, histogram_buckets);
	tcase_add_test(tc, render_text_format);
	tcase_add_test(tc, off_and_absent);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
