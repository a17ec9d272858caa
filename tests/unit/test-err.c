/* test-err.c: every error has a code, a message and the status the protocol wants. */
#include "config.h"

#include <string.h>

#include "base/err.h"
#include "unit.h"

START_TEST(every_error_has_a_code_and_message)
{
	int e, f;

	for (e = 0; e < AC_ERR__COUNT; e++) {
		ck_assert_msg(strcmp(ac_err_code((enum ac_err)e), "internal_error") != 0 || e == AC_ERR_INTERNAL,
		    "error %d has no code", e);
		ck_assert_ptr_nonnull(ac_strerror((enum ac_err)e));
		for (f = 0; f < e; f++)
			ck_assert_str_ne(ac_err_code((enum ac_err)e), ac_err_code((enum ac_err)f));
	}
}
END_TEST

START_TEST(statuses)
{
	ck_assert_int_eq(ac_err_http_status(AC_ERR_METHOD), 405);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_LENGTH_REQUIRED), 411);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_BODY_TOO_LARGE), 413);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_SHORT_BODY), 400);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_BAD_LENGTH), 400);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_MEDIA_TYPE), 415);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_QSH_MISMATCH), 401);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_HOST_NOT_ALLOWED), 403);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_KEY_SERVER), 503);
	ck_assert_int_eq(ac_err_http_status(AC_ERR_STORE_FULL), 503);
	ck_assert_int_eq(ac_err_http_status((enum ac_err)9999), 500);
	ck_assert_str_eq(ac_err_code(AC_ERR_QSH_MISMATCH), "qsh_mismatch");
	ck_assert_str_eq(ac_err_code(AC_ERR_TOKEN_MISSING), "token_missing");
	ck_assert_str_eq(ac_http_reason(413), "Payload Too Large");
}
END_TEST

START_TEST(auth_errors_are_401)
{
	int e;

	for (e = AC_ERR_TOKEN_MISSING; e <= AC_ERR_CLAIM_MISSING; e++)
		ck_assert_int_eq(ac_err_http_status((enum ac_err)e), 401);
}
END_TEST

/* fit (issue 15): every refused Forge token is a 401, so Forge says "FIT validation failed";
 * a JWKS that cannot be fetched is a 503, so Forge retries. */
START_TEST(fit_codes)
{
	int e;

	for (e = AC_ERR_FIT_MISSING; e < AC_ERR_FIT_JWKS_UNAVAILABLE; e++) {
		ck_assert_int_eq(ac_err_http_status((enum ac_err)e), 401);
		ck_assert_int_eq(strncmp(ac_err_code((enum ac_err)e), "fit_", 4), 0);
	}
	ck_assert_int_eq(ac_err_http_status(AC_ERR_FIT_JWKS_UNAVAILABLE), 503);
	ck_assert_str_eq(ac_err_code(AC_ERR_FIT_JWKS_UNAVAILABLE), "fit_jwks_unavailable");
	ck_assert_str_eq(ac_err_code(AC_ERR_FIT_KID_UNKNOWN), "fit_kid_unknown");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("err");

	tcase_add_test(tc, every_error_has_a_code_and_message);
	tcase_add_test(tc, statuses);
	tcase_add_test(tc, auth_errors_are_401);
	tcase_add_test(tc, fit_codes);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
