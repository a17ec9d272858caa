/* fuzz-num.c: libFuzzer target for the one integer parser (base/num.h): never reads past its
 * length, and agrees with a reference computed in 128 bits on what is a number, its value, and
 * whether it is within the bounds (taken from the first bytes of the input). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t min, max, out = 0x5a5a, b[2];
	__int128 v = 0;
	char *s;
	size_t n, i, digits = 0;
	int neg = 0, big = 0, number;
	enum ac_err err, want;

	if (size < sizeof(b))
		return 0;
	memcpy(b, data, sizeof(b));
	min = b[0] < b[1] ? b[0] : b[1];
	max = b[0] < b[1] ? b[1] : b[0];
	/* often a plain range: most callers have 0..N */
	if (data[0] & 1)
		min = 0;
	n = size - sizeof(b);
	s = malloc(n ? n : 1);  /* exact size: ASan sees a read past n */
	if (s == NULL)
		return 0;
	memcpy(s, data + sizeof(b), n);

	i = 0;
	if (n > 0 && s[0] == '-' && min < 0) {
		neg = 1;
		i = 1;
	}
	number = i < n;
	for (; i < n && number; i++) {
		if (s[i] < '0' || s[i] > '9') {
			number = 0;
			break;
		}
		digits++;
		if (!big) {
			v = v * 10 + (s[i] - '0');
			if (v > (__int128)1 << 64)
				big = 1;
		}
	}
	if (neg)
		v = -v;
	if (min > max)
		want = AC_ERR_INVALID;  /* an empty range is the caller's mistake */
	else if (!number || digits == 0)
		want = AC_ERR_INVALID;
	else if (big || v < min || v > max)
		want = AC_ERR_TOO_LARGE;
	else
		want = AC_OK;
	err = ac_num_parse(s, n, min, max, &out);
	if (err != want || (err == AC_OK ? (__int128)out != v : out != 0x5a5a))
		abort();
	free(s);
	return 0;
}
