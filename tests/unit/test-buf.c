/* test-buf.c: the capped buffer never passes its cap and stays NUL-terminated. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

START_TEST(add_and_cap)
{
	struct ac_buf b;

	ac_buf_init(&b, 10);
	ck_assert_str_eq(ac_buf_str(&b), "");
	ck_assert_int_eq(ac_buf_adds(&b, "hello"), AC_OK);
	ck_assert_int_eq(ac_buf_printf(&b, "%d", 12345), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), "hello12345");
	ck_assert_int_eq(ac_buf_addc(&b, 'x'), AC_ERR_TOO_LARGE);
	ck_assert_int_eq(ac_buf_printf(&b, "%s", "y"), AC_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(ac_buf_str(&b), "hello12345");
	ac_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(ac_buf_str(&b), "");
	ac_buf_release(&b);
}
END_TEST

START_TEST(huge_add_refused)
{
	struct ac_buf b;

	ac_buf_init(&b, 100);
	ck_assert_int_eq(ac_buf_add(&b, "x", (size_t)-1), AC_ERR_TOO_LARGE);
	ck_assert_ptr_null(b.data);
	ac_buf_release(&b);
}
END_TEST

START_TEST(detach)
{
	struct ac_buf b;
	char *s;
	size_t n;

	ac_buf_init(&b, 1 << 20);
	ck_assert_int_eq(ac_buf_detach(&b, &s, &n), AC_OK);
	ck_assert_str_eq(s, "");
	free(s);
	for (n = 0; n < 10000; n++)
		ck_assert_int_eq(ac_buf_addc(&b, 'a'), AC_OK);
	ck_assert_int_eq(ac_buf_detach(&b, &s, &n), AC_OK);
	ck_assert_uint_eq(n, 10000);
	ck_assert_uint_eq(strlen(s), 10000);
	ck_assert_ptr_null(b.data);
	free(s);
	ac_buf_release(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, add_and_cap);
	tcase_add_test(tc, huge_add_refused);
	tcase_add_test(tc, detach);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
