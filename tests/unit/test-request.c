/* test-request.c: routing, body caps, error mapping and responses of the request layer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/metrics.h"
#include "web/request.h"
#include "request-harness.h"
#include "unit.h"

static int handler_calls;

static enum ac_err
h_get(struct ac_request *req)
{
	handler_calls++;
	return ac_response_set(req, 200, "text/plain", "hello", 5);
}

static enum ac_err
h_post(struct ac_request *req)
{
	handler_calls++;
	return ac_response_set(req, 200, "text/plain", req->body.data, req->body.len);
}

static enum ac_err
h_fail(struct ac_request *req)
{
	handler_calls++;
	ac_response_set(req, 200, "text/plain", "partial", 7);
	return ac_request_fail(req, AC_ERR_BAD_REQUEST, "field '%s' is missing", "clientKey");
}

static enum ac_err
h_inject(struct ac_request *req)
{
	ck_assert_int_eq(ac_response_header(req, "X-Test", "a\r\nSet-Cookie: x=1"), AC_ERR_INVALID);
	ck_assert_int_eq(ac_response_header(req, "X-Bad Name", "a"), AC_ERR_INVALID);
	ck_assert_int_eq(ac_response_header(req, "X-Test", "fine"), AC_OK);
	return AC_OK;
}

static const struct ac_route routes[] = {
	{ "GET", "/thing", h_get, AC_AUTH_NONE, 0 },
	{ "POST", "/thing", h_post, AC_AUTH_NONE, 16 },
	{ "POST", "/fail", h_fail, AC_AUTH_NONE, 16 },
	{ "GET", "/inject", h_inject, AC_AUTH_NONE, 0 },
	{ "POST", "/secure", h_post, AC_AUTH_TENANT, 64 },
};

static enum ac_err
deny(struct ac_request *req)
{
	ac_request_set_tenant(req, "tenant-1");
	return AC_ERR_QSH_MISMATCH;
}

static struct ac_conf conf;

static void
serve(struct fake *f, struct ac_app *app_or_null)
{
	struct ac_app app = { "test", &conf, NULL, NULL, NULL, NULL, NULL, AC_OK };
	struct ac_io io = FAKE_IO(f);

	ac_buf_init(&f->out, 1 << 20);
	f->inlen = f->in ? strlen(f->in) : 0;
	ac_request_serve(app_or_null ? app_or_null : &app, routes, sizeof(routes) / sizeof(routes[0]), &io);
}

static int
status_of(struct fake *f)
{
	int st = 0;
	const char *s = ac_buf_str(&f->out);

	ck_assert_int_eq(strncmp(s, "Status: ", 8), 0);
	for (s += 8; *s >= '0' && *s <= '9'; s++)
		st = st * 10 + (*s - '0');
	return st;
}

static const char *
body_of(struct fake *f)
{
	const char *s = strstr(ac_buf_str(&f->out), "\r\n\r\n");

	ck_assert_ptr_nonnull(s);
	return s + 4;
}

/* The JSON error code of the response body. */
static void
assert_error(struct fake *f, int status, const char *code)
{
	json_object *o;
	const char *b = body_of(f);

	ck_assert_int_eq(status_of(f), status);
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&f->out), "Content-Type: application/json\r\n"));
	ck_assert_int_eq(ac_json_parse(b, strlen(b), &o, NULL), AC_OK);
	ck_assert_str_eq(ac_json_get_string(o, "error"), code);
	ck_assert_ptr_nonnull(ac_json_get_string(o, "message"));
	json_object_put(o);
}

static void
setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.base_path = (char *)"";
	handler_calls = 0;
}

START_TEST(get_ok)
{
	const char *p[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/thing?x=1", NULL };
	struct fake f = { p, NULL, 0, 0, 0, { 0 } };

	serve(&f, NULL);
	ck_assert_int_eq(status_of(&f), 200);
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&f.out), "Content-Length: 5\r\n"));
	ck_assert_str_eq(body_of(&f), "hello");
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(head_has_no_body)
{
	const char *p[] = { "REQUEST_METHOD", "HEAD", "REQUEST_URI", "/thing", NULL };
	struct fake f = { p, NULL, 0, 0, 0, { 0 } };

	serve(&f, NULL);
	ck_assert_int_eq(status_of(&f), 200);
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&f.out), "Content-Length: 5\r\n"));
	ck_assert_str_eq(body_of(&f), "");
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(wrong_method_405_with_allow)
{
	const char *p[] = { "REQUEST_METHOD", "DELETE", "REQUEST_URI", "/thing", NULL };
	struct fake f = { p, NULL, 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 405, "method_not_allowed");
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&f.out), "Allow: GET, HEAD, POST\r\n"));
	ck_assert_int_eq(handler_calls, 0);
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(unknown_path_404)
{
	const char *p[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/thing/", NULL };
	struct fake f = { p, NULL, 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 404, "not_found");
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(post_without_length_411)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/thing", NULL };
	struct fake f = { p, "abc", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 411, "length_required");
	ck_assert_int_eq(handler_calls, 0);
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(over_cap_413_unread)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/thing", "CONTENT_LENGTH", "17", NULL };
	struct fake f = { p, "0123456789abcdefg", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 413, "body_too_large");
	ck_assert_uint_eq(f.inpos, 0);
	ck_assert_int_eq(handler_calls, 0);
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(huge_length_413)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/thing",
		"CONTENT_LENGTH", "99999999999999999999999999999", NULL };
	struct fake f = { p, "x", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 413, "body_too_large");
	ck_assert_uint_eq(f.inpos, 0);
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(bad_lengths_400)
{
	static const char *bad[] = { "12a", "-1", "+3", " 3", "3 ", "0x10", "1.0" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/thing", "CONTENT_LENGTH", bad[i], NULL };
		struct fake f = { p, "abc", 0, 0, 0, { 0 } };

		serve(&f, NULL);
		assert_error(&f, 400, "bad_content_length");
		ck_assert_uint_eq(f.inpos, 0);
		ac_buf_release(&f.out);
	}
	ck_assert_int_eq(handler_calls, 0);
}
END_TEST

START_TEST(short_body_400)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/thing", "CONTENT_LENGTH", "10", NULL };
	struct fake f = { p, "abc", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 400, "short_body");
	ck_assert_int_eq(handler_calls, 0);
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(exact_body_reaches_handler)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/thing", "CONTENT_LENGTH", "16", NULL };
	struct fake f = { p, "0123456789abcdef", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	ck_assert_int_eq(status_of(&f), 200);
	ck_assert_str_eq(body_of(&f), "0123456789abcdef");
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(empty_body_zero_length)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/thing", "CONTENT_LENGTH", "0", NULL };
	struct fake f = { p, "", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	ck_assert_int_eq(status_of(&f), 200);
	ck_assert_str_eq(body_of(&f), "");
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(get_with_body_over_zero_cap)
{
	const char *p[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/thing", "CONTENT_LENGTH", "3", NULL };
	struct fake f = { p, "abc", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 413, "body_too_large");
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(handler_error_replaces_partial_response)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/fail", "CONTENT_LENGTH", "2", NULL };
	struct fake f = { p, "{}", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 400, "bad_request");
	ck_assert_ptr_nonnull(strstr(body_of(&f), "field 'clientKey' is missing"));
	ck_assert_ptr_null(strstr(body_of(&f), "partial"));
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(auth_route_fails_closed)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/secure", "CONTENT_LENGTH", "2", NULL };
	struct fake f = { p, "{}", 0, 0, 0, { 0 } };

	serve(&f, NULL);
	assert_error(&f, 500, "internal_error");
	ck_assert_int_eq(handler_calls, 0);
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(auth_failure_401)
{
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/secure", "CONTENT_LENGTH", "2", NULL };
	struct fake f = { p, "{}", 0, 0, 0, { 0 } };
	struct ac_app app = { "test", &conf, NULL, deny, NULL, NULL, NULL, AC_OK };

	serve(&f, &app);
	assert_error(&f, 401, "qsh_mismatch");
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&f.out), "WWW-Authenticate: JWT\r\n"));
	ck_assert_int_eq(handler_calls, 0);
	ac_buf_release(&f.out);
}
END_TEST

/*
 * Every answered request is counted in the host's metrics by program, route and status; a
 * refused authentication by its code; a path no route has is "unmatched", never the path itself
 * (a client choosing paths must not fill the table).
 */
START_TEST(counted_in_metrics)
{
	const char *get[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/thing", NULL };
	const char *post[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/secure", "CONTENT_LENGTH", "2", NULL };
	struct ac_app app = { "test", &conf, NULL, deny, NULL, NULL, NULL, AC_OK };
	char dir[] = "/tmp/test-request-metrics.XXXXXX", path[80], uri[32];
	int i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(ac_metrics_open(dir, 0), AC_OK);
	{
		struct fake f = { get, NULL, 0, 0, 0, { 0 } };

		serve(&f, NULL);
		ac_buf_release(&f.out);
	}
	{
		struct fake f = { post, "{}", 0, 0, 0, { 0 } };

		serve(&f, &app);
		ac_buf_release(&f.out);
	}
	for (i = 0; i < 50; i++) {
		const char *p[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", uri, NULL };
		struct fake f = { p, NULL, 0, 0, 0, { 0 } };

		snprintf(uri, sizeof(uri), "/x%d\"y", i);
		serve(&f, NULL);
		ac_buf_release(&f.out);
	}
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUESTS, "program=\"test\",route=\"/thing\",status=\"200\""), 1);
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUEST_SECONDS, "program=\"test\",route=\"/thing\""), 1);
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUESTS, "program=\"test\",route=\"/secure\",status=\"401\""), 1);
	ck_assert_uint_eq(ac_metrics_get(AC_M_AUTH_FAILURES, "program=\"test\",code=\"qsh_mismatch\""), 1);
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUEST_ERRORS, "program=\"test\",code=\"qsh_mismatch\""), 1);
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUESTS, "program=\"test\",route=\"unmatched\",status=\"404\""), 50);
	ck_assert_uint_eq(ac_metrics_get(AC_M_REQUEST_ERRORS, "program=\"test\",code=\"not_found\""), 50);
	/* a 404 is not an authentication failure */
	ck_assert_uint_eq(ac_metrics_get(AC_M_AUTH_FAILURES, "program=\"test\",code=\"not_found\""), 0);
	ac_metrics_close();
	snprintf(path, sizeof(path), "%s/%s", dir, AC_METRICS_FILE);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(header_injection_refused)
{
	const char *p[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/inject", NULL };
	struct fake f = { p, NULL, 0, 0, 0, { 0 } };

	serve(&f, NULL);
	ck_assert_int_eq(status_of(&f), 204);
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&f.out), "X-Test: fine\r\n"));
	ck_assert_ptr_null(strstr(ac_buf_str(&f.out), "Set-Cookie"));
	ck_assert_ptr_null(strstr(ac_buf_str(&f.out), "Content-Length"));
	ac_buf_release(&f.out);
}
END_TEST

START_TEST(base_path_removed)
{
	const char *p[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/app/thing", NULL };
	const char *p2[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/apple/thing", NULL };
	struct fake f = { p, NULL, 0, 0, 0, { 0 } };
	struct fake f2 = { p2, NULL, 0, 0, 0, { 0 } };

	conf.base_path = (char *)"/app";
	serve(&f, NULL);
	ck_assert_int_eq(status_of(&f), 200);
	serve(&f2, NULL);
	ck_assert_int_eq(status_of(&f2), 404);
	ac_buf_release(&f.out);
	ac_buf_release(&f2.out);
}
END_TEST

START_TEST(script_name_fallback)
{
	const char *p[] = { "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/thing", "QUERY_STRING", "a=b", NULL };
	struct fake f = { p, NULL, 0, 0, 0, { 0 } };

	serve(&f, NULL);
	ck_assert_int_eq(status_of(&f), 200);
	ac_buf_release(&f.out);
}
END_TEST

/* Run under valgrind by scripts/test: many requests, one process, nothing kept. */
START_TEST(thousand_requests)
{
	int i;

	for (i = 0; i < 1000; i++) {
		const char *p[] = { "REQUEST_METHOD", i % 3 ? "POST" : "GET", "REQUEST_URI", i % 5 ? "/thing" : "/fail",
			"CONTENT_LENGTH", i % 7 ? "4" : "40", NULL };
		struct fake f = { p, "abcd", 0, 0, 0, { 0 } };

		serve(&f, NULL);
		ck_assert_int_ge(status_of(&f), 200);
		ac_buf_release(&f.out);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("request");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, get_ok);
	tcase_add_test(tc, head_has_no_body);
	tcase_add_test(tc, wrong_method_405_with_allow);
	tcase_add_test(tc, unknown_path_404);
	tcase_add_test(tc, post_without_length_411);
	tcase_add_test(tc, over_cap_413_unread);
	tcase_add_test(tc, huge_length_413);
	tcase_add_test(tc, bad_lengths_400);
	tcase_add_test(tc, short_body_400);
	tcase_add_test(tc, exact_body_reaches_handler);
	tcase_add_test(tc, empty_body_zero_length);
	tcase_add_test(tc, get_with_body_over_zero_cap);
	tcase_add_test(tc, handler_error_replaces_partial_response);
	tcase_add_test(tc, auth_route_fails_closed);
	tcase_add_test(tc, auth_failure_401);
	tcase_add_test(tc, counted_in_metrics);
	tcase_add_test(tc, header_injection_refused);
	tcase_add_test(tc, base_path_removed);
	tcase_add_test(tc, script_name_fallback);
	tcase_add_test(tc, thousand_requests);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
