/* clock.h: the one source of "now", with a hook so tests can fix the time. */
#ifndef AC_CLOCK_H
#define AC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds since the epoch: the fixed time when one is set, else the real one. */
time_t ac_clock_now(void);

/* Monotonic microseconds, for durations (access log, benchmarks). */
uint64_t ac_clock_usec(void);

/* Tests: fix ac_clock_now() at t; 0 goes back to the real clock.
 * AC_FAKE_NOW in the environment does the same for a whole process, in test
 * builds only (clock.c compiled with -DAC_TEST_HOOKS, never the installed
 * programs). */
void ac_clock_set(time_t t);

#endif
