/* clock.c: wall and monotonic time, with a fixed-clock hook for tests. */
#include "config.h"

#include <stdlib.h>

#include "clock.h"

static time_t fixed;
#ifdef AC_TEST_HOOKS
static int env_read;
#endif

void
ac_clock_set(time_t t)
{
	fixed = t;
#ifdef AC_TEST_HOOKS
	env_read = 1;
#endif
}

time_t
ac_clock_now(void)
{
#ifdef AC_TEST_HOOKS
	/*
	 * Only test builds (tests/unit/acctl-fixed-clock) read AC_FAKE_NOW: left
	 * in a unit's environment, it would freeze every expiry check of the
	 * installed programs.
	 */
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
#endif
	return fixed ? fixed : time(NULL);
}

uint64_t
ac_clock_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
