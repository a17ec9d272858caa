/* num.h: the one parser of decimal integers in text, with bounds. */
#ifndef AC_NUM_H
#define AC_NUM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * The decimal integer in s[0..n) (pointer + length, no NUL needed): an
 * optional '-' (only when min < 0), then one or more ASCII digits, nothing
 * else: no sign '+', no white space, no base prefix, no trailing bytes.
 * Leading zeros are allowed ("007" is 7). Writes *out only on success.
 * AC_ERR_INVALID when s is not such a number, AC_ERR_TOO_LARGE when it is
 * one outside [min, max] (overflow of int64 included).
 */
enum ac_err ac_num_parse(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);

/* ac_num_parse() of a NUL-terminated string (NULL is AC_ERR_INVALID). */
enum ac_err ac_num_parse_str(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
