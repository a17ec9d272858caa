/* metrics-cost.c: what counting one request costs, alone and with a second process counting the same series (scripts/bench metrics). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/metrics.h"

/* the work of web/request.c's count() for one answered request */
static void
one_request(unsigned i)
{
	char l[256] = "", st[16];

	ac_metrics_label(l, sizeof(l), "program", "webhook");
	ac_metrics_label(l, sizeof(l), "route", "/webhook");
	ac_metrics_observe(AC_M_REQUEST_SECONDS, l, 100 + i % 1000);
	snprintf(st, sizeof(st), "%d", 204);
	ac_metrics_inc(AC_M_REQUESTS, ac_metrics_label(l, sizeof(l), "status", st));
}

static double
ns_per_request(unsigned n)
{
	struct timespec a, b;
	unsigned i;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		one_request(i);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/metrics-cost.XXXXXX", path[64];
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000000;
	double alone, shared;
	pid_t pid;

	if (mkdtemp(dir) == NULL || ac_metrics_open(dir, 0) != AC_OK) {
		fprintf(stderr, "metrics-cost: cannot map a metrics file in %s\n", dir);
		return 1;
	}
	one_request(0);
	alone = ns_per_request(n);
	if ((pid = fork()) == 0) {
		ns_per_request(n);
		_exit(0);
	}
	shared = ns_per_request(n);
	waitpid(pid, NULL, 0);
	printf("counting one request (labels, a histogram observation, a counter): %.0f ns alone, %.0f ns with "
	    "another process counting the same series; %llu counted\n", alone, shared,
	    (unsigned long long)ac_metrics_get(AC_M_REQUESTS, "program=\"webhook\",route=\"/webhook\",status=\"204\""));
	ac_metrics_close();
	snprintf(path, sizeof(path), "%s/%s", dir, AC_METRICS_FILE);
	unlink(path);
	rmdir(dir);
	return 0;
}
