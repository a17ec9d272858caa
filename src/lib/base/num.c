/* num.c: the one parser of decimal integers in text, with bounds. */
#include "config.h"

#include <string.h>

#include "base/num.h"

enum ac_err
ac_num_parse(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	/* accumulate the magnitude as a negative number: -INT64_MIN does not fit */
	int64_t v = 0;
	size_t i = 0;
	int neg = 0, big = 0;

	if (s == NULL || min > max)
		return AC_ERR_INVALID;
	if (n > 0 && s[0] == '-' && min < 0) {
		neg = 1;
		i = 1;
	}
	if (i == n)
		return AC_ERR_INVALID;
	for (; i < n; i++) {
		int d = (unsigned char)s[i] - '0';

		if (d < 0 || d > 9)
			return AC_ERR_INVALID;
		/* keep scanning past an overflow: "99999999999999999999x" is not a number at all */
		if (big || v < (INT64_MIN + d) / 10)
			big = 1;
		else
			v = v * 10 - d;
	}
	if (big || (!neg && v == INT64_MIN))
		return AC_ERR_TOO_LARGE;
	if (!neg)
		v = -v;
	if (v < min || v > max)
		return AC_ERR_TOO_LARGE;
	*out = v;
	return AC_OK;
}

enum ac_err
ac_num_parse_str(const char *s, int64_t min, int64_t max, int64_t *out)
{
	return s == NULL ? AC_ERR_INVALID : ac_num_parse(s, strlen(s), min, max, out);
}
