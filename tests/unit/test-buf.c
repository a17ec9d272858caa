/* test-buf.c: the capped buffer never passes its cap and stays NUL-terminated. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

/*
 * buf.c itself, with its free() watched: a block that held a secret must be
 * all zero when it is let go (growth, reset, release), whatever the compiler
 * did to the code that wiped it.
 */
static const void *watch;
static size_t watch_len;
static int watch_seen, watch_clean;

static void
watched_free(void *p)
{
	size_t i;

	if (p != NULL && p == watch) {
		watch_seen = 1;
		watch_clean = 1;
		for (i = 0; i < watch_len; i++)
			if (((const unsigned char *)p)[i] != 0)
				watch_clean = 0;
	}
	free(p);
}

#define free(p) watched_free(p)
#include "base/buf.c"
#undef free

#include "unit.h"

static void
watch_block(const void *p, size_t n)
{
	watch = p;
	watch_len = n;
	watch_seen = watch_clean = 0;
}

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

#define SECRET "Authorization: JWT eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"

START_TEST(secret_cleansed)
{
	struct ac_buf b;
	char *s;
	size_t i;

	/* growth moves the bytes: the old block is cleansed before it is freed (no realloc) */
	ac_buf_init_secret(&b, 1 << 20);
	ck_assert_int_eq(ac_buf_adds(&b, SECRET), AC_OK);
	watch_block(b.data, b.alloc);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(ac_buf_addc(&b, 'x'), AC_OK);
	ck_assert_msg(watch_seen && watch_clean, "the block the secret grew out of was freed %s",
	    watch_seen ? "with the secret in it" : "?");
	ck_assert_int_eq(strncmp(ac_buf_str(&b), SECRET, strlen(SECRET)), 0);
	/* release */
	watch_block(b.data, b.alloc);
	ac_buf_release(&b);
	ck_assert(watch_seen && watch_clean);
	/* reset keeps the block, cleansed */
	ac_buf_init_secret(&b, 1 << 20);
	ck_assert_int_eq(ac_buf_adds(&b, SECRET), AC_OK);
	ac_buf_reset(&b);
	for (i = 0; i < b.alloc; i++)
		ck_assert_int_eq(b.data[i], 0);
	ac_buf_release(&b);
	/* a detached secret, and any other string that held one */
	ac_buf_init_secret(&b, 1 << 20);
	ck_assert_int_eq(ac_buf_adds(&b, SECRET), AC_OK);
	ck_assert_int_eq(ac_buf_detach(&b, &s, NULL), AC_OK);
	watch_block(s, strlen(s));
	ac_buf_free_secret_str(s);
	ck_assert(watch_seen && watch_clean);
	ac_buf_free_secret_str(NULL);
	ac_buf_free_secret(NULL, 10);
}
END_TEST

/* The watch can tell: an ordinary buffer is freed as it was (so the test above can fail). */
START_TEST(plain_not_cleansed)
{
	struct ac_buf b;

	ac_buf_init(&b, 1 << 20);
	ck_assert_int_eq(ac_buf_adds(&b, SECRET), AC_OK);
	watch_block(b.data, b.len);
	ac_buf_release(&b);
	ck_assert(watch_seen && !watch_clean);
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
	tcase_add_test(tc, secret_cleansed);
	tcase_add_test(tc, plain_not_cleansed);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
