/* clock.c: wall and monotonic time, with a fixed-clock hook for tests. */
#include "config.h"

#include <stdlib.h>

#include "clock.h"

static time_t fixed;
static int env_read;

void
ac_clock_set(time_t t)
{
	fixed = t;
	env_read = 1;
}

time_t
ac_clock_now(void)
{
	if (!env_read) {
		const char *s = getenv("AC_FAKE_NOW");
		char *end;
		long long v;

		env_read = 1;
		if (s && *s) {
			v = strtoll(s, &end, 10);
			if (*end == '\0' && v > 0)
				fixed = (time_t)v;
		}
	}
	return fixed ? fixed : time(NULL);
}

uint64_t
ac_clock_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
