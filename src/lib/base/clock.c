/* clock.c: wall and monotonic time, with a fixed-clock hook for tests. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/num.h"

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
		int64_t v;

		env_read = 1;
		if (s && ac_num_parse_str(s, 1, INT64_MAX, &v) == AC_OK)
			fixed = (time_t)v;
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

const char *
ac_clock_iso8601(int64_t t, char *out, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (n == 0)
		return out;
	/* (int64_t)tt != t: a time_t narrower than the value would show another date */
	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "%" PRId64, t);
	return out;
}
