/* test-num.c: the one integer parser and the one date formatter. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "base/clock.h"
#include "base/num.h"

START_TEST(integers)
{
	static const struct {
		const char *s;
		int64_t min, max;
		enum ac_err err;
		int64_t v;
	} v[] = {
		{ "0", 0, 10, AC_OK, 0 },
		{ "10", 0, 10, AC_OK, 10 },
		{ "007", 0, 10, AC_OK, 7 },
		{ "11", 0, 10, AC_ERR_TOO_LARGE, 0 },
		{ "-1", 0, 10, AC_ERR_INVALID, 0 },      /* no sign where none can be in range */
		{ "-1", -5, 10, AC_OK, -1 },
		{ "-6", -5, 10, AC_ERR_TOO_LARGE, 0 },
		{ "-", -5, 10, AC_ERR_INVALID, 0 },
		{ "", 0, 10, AC_ERR_INVALID, 0 },
		{ "+1", 0, 10, AC_ERR_INVALID, 0 },
		{ " 1", 0, 10, AC_ERR_INVALID, 0 },
		{ "1 ", 0, 10, AC_ERR_INVALID, 0 },
		{ "1x", 0, 10, AC_ERR_INVALID, 0 },
		{ "0x1", 0, 10, AC_ERR_INVALID, 0 },
		{ "1.0", 0, 10, AC_ERR_INVALID, 0 },
		{ "--1", -5, 10, AC_ERR_INVALID, 0 },
		{ "9223372036854775807", 0, INT64_MAX, AC_OK, INT64_MAX },
		{ "9223372036854775808", 0, INT64_MAX, AC_ERR_TOO_LARGE, 0 },
		{ "-9223372036854775808", INT64_MIN, 0, AC_OK, INT64_MIN },
		{ "-9223372036854775809", INT64_MIN, 0, AC_ERR_TOO_LARGE, 0 },
		{ "99999999999999999999999", 0, INT64_MAX, AC_ERR_TOO_LARGE, 0 },
		{ "99999999999999999999999x", 0, INT64_MAX, AC_ERR_INVALID, 0 },
		{ "5", 6, 5, AC_ERR_INVALID, 0 },        /* empty range: the caller's mistake */
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t out = 42;
		enum ac_err err = ac_num_parse_str(v[i].s, v[i].min, v[i].max, &out);

		ck_assert_msg(err == v[i].err, "'%s': %d, not %d", v[i].s, (int)err, (int)v[i].err);
		ck_assert_msg(out == (err == AC_OK ? v[i].v : 42), "'%s' gave %lld", v[i].s, (long long)out);
	}
}
END_TEST

/* Pointer and length: the bytes past n are not read, and a NUL inside is not a digit. */
START_TEST(integers_by_length)
{
	int64_t out = 0;

	ck_assert_int_eq(ac_num_parse("123456", 3, 0, 1000, &out), AC_OK);
	ck_assert_int_eq(out, 123);
	ck_assert_int_eq(ac_num_parse("12\0" "3", 4, 0, 1000, &out), AC_ERR_INVALID);
	ck_assert_int_eq(ac_num_parse("1", 0, 0, 1000, &out), AC_ERR_INVALID);
	ck_assert_int_eq(ac_num_parse(NULL, 0, 0, 1000, &out), AC_ERR_INVALID);
	ck_assert_int_eq(ac_num_parse_str(NULL, 0, 1000, &out), AC_ERR_INVALID);
}
END_TEST

START_TEST(dates)
{
	char buf[AC_CLOCK_ISO_SIZE], small[8];

	ck_assert_str_eq(ac_clock_iso8601(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	ck_assert_str_eq(ac_clock_iso8601(1714564800, buf, sizeof(buf)), "2024-05-01T12:00:00Z");
	ck_assert_str_eq(ac_clock_iso8601(-1, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
	ck_assert_str_eq(ac_clock_iso8601(253402300799, buf, sizeof(buf)), "9999-12-31T23:59:59Z");
	/* what gmtime cannot represent is shown as its number */
	ck_assert_str_eq(ac_clock_iso8601(INT64_MAX, buf, sizeof(buf)), "9223372036854775807");
	/* too small a buffer: cut, still terminated */
	ac_clock_iso8601(0, small, sizeof(small));
	ck_assert_uint_lt(strlen(small), sizeof(small));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("num");
	TCase *tc = tcase_create("num");

	tcase_add_test(tc, integers);
	tcase_add_test(tc, integers_by_length);
	tcase_add_test(tc, dates);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
