/* clock.c: wall and monotonic time, with a fixed-clock hook for tests. */
#include "config.h"

#include <stdlib.h>

#include "base/clock.h"
#include "base/log.h"

static time_t fixed;
static int env_read;

#ifdef AC_TEST_HOOKS
/* What tests/check-hooks.sh looks for: present in test builds only. */
const int ac_clock_test_hooks = 1;
#endif

void
ac_clock_set(time_t t)
{
	fixed = t;
	env_read = 1;
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
#else
	if (!env_read) {
		/* say so once, so that an operator who left it in a unit knows it does nothing */
		env_read = 1;
		if (getenv("AC_FAKE_NOW"))
			ac_log_warn("AC_FAKE_NOW is set and ignored: only test builds take a fixed clock");
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
