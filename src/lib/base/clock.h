/* clock.h: the one source of "now", with a hook so tests can fix the time. */
#ifndef AC_CLOCK_H
#define AC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds since the epoch: the fixed time when one is set, else the real one. */
time_t ac_clock_now(void);

/* Monotonic microseconds, for durations (access log, benchmarks). */
uint64_t ac_clock_usec(void);

/* Room for ac_clock_iso8601(): "-292277026596-12-04T15:30:07Z" or a number of seconds, and a NUL. */
#define AC_CLOCK_ISO_SIZE 32

/*
 * The one date formatter: t (seconds since the epoch) as ISO 8601 in UTC,
 * "2024-05-01T12:00:00Z", into out (n bytes, AC_CLOCK_ISO_SIZE is enough).
 * A time gmtime_r cannot represent is written as its number of seconds.
 * Returns out.
 */
const char *ac_clock_iso8601(int64_t t, char *out, size_t n);

/* Tests: fix ac_clock_now() at t; 0 goes back to the real clock.
 * AC_FAKE_NOW in the environment does the same for a whole process, in test
 * builds only (clock.c compiled with -DAC_TEST_HOOKS, never the installed
 * programs). */
void ac_clock_set(time_t t);

#endif
