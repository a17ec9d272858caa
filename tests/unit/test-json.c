/* test-json.c: the validating scanner agrees with json-c's strict parser and finds members. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "unit.h"

/* input, valid JSON object? (1 object, 0 invalid, 2 valid but not an object) */
static const struct {
	const char *in;
	int want;
} cases[] = {
	{ "{}", 1 }, { " { } ", 1 }, { "{\"a\":1}", 1 }, { "{\"a\":[1,2,{\"b\":null}],\"c\":true}", 1 },
	{ "{\"a\":-0.5e+3,\"b\":0,\"c\":-0,\"d\":1E9}", 1 }, { "{\"s\":\"\\u00e9\\ud83d\\ude00\\n\\\\\\/\"}", 1 },
	{ "{\"s\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", 1 }, { "[1]", 2 }, { "\"x\"", 2 }, { "null", 2 },
	{ "", 0 }, { "{", 0 }, { "{\"a\":}", 0 }, { "{\"a\":1,}", 0 }, { "{a:1}", 0 }, { "{\"a\":01}", 0 },
	{ "{\"a\":1.}", 0 }, { "{\"a\":.5}", 0 }, { "{\"a\":+1}", 0 }, { "{\"a\":1e}", 0 }, { "{\"a\":tru}", 0 },
	{ "{\"a\":'x'}", 0 }, { "{\"a\":\"\\x\"}", 0 }, { "{\"a\":\"\\u12\"}", 0 }, { "{\"a\":\"\x01\"}", 0 },
	{ "{\"a\":\"\xc3\"}", 0 }, { "{\"a\":\"\xc0\xaf\"}", 0 }, { "{\"a\":\"\xed\xa0\x80\"}", 0 },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0 }, { "{\"a\":\"\\ud800\"}", 0 }, { "{\"a\":\"\\udc00\"}", 0 },
	{ "{} {}", 0 }, { "{}x", 0 }, { "{\"a\":1 \"b\":2}", 0 }, { "{\"a\" 1}", 0 }, { "[1,]", 0 },
	{ "{\"a\":NaN}", 0 }, { "{\"a\":Infinity}", 0 }, { "{\"a\":1}/*c*/", 0 },
};

START_TEST(agrees_on_validity)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		enum ac_err err = ac_json_scan_object(cases[i].in, strlen(cases[i].in), NULL, 0, &why);
		int got = err == AC_OK ? 1 : err == AC_ERR_NOT_OBJECT ? 2 : 0;

		ck_assert_msg(got == cases[i].want, "case %zu '%s': got %d want %d (%s)", i, cases[i].in, got,
		    cases[i].want, why ? why : "");
	}
}
END_TEST

START_TEST(agrees_with_json_c_on_objects)
{
	size_t i;

	/* where json-c's strict mode is unambiguous, both say the same */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *o = NULL;
		int jc, sc;

		if (cases[i].want == 2 || cases[i].in[0] == '\0')
			continue;
		jc = ac_json_parse(cases[i].in, strlen(cases[i].in), &o, NULL) == AC_OK;
		json_object_put(o);
		sc = ac_json_scan_object(cases[i].in, strlen(cases[i].in), NULL, 0, NULL) == AC_OK;
		/* no exceptions: UTF-8, surrogates, "1.", raw controls, NaN, Infinity alike (issue 13 item 8) */
		ck_assert_msg(jc == sc, "case %zu '%s': json-c %d, scanner %d", i, cases[i].in, jc, sc);
	}
}
END_TEST

START_TEST(finds_top_level_members)
{
	const char *doc = "{\"data\":{\"event\":\"inner\"},\"n\":5,\"esc\":\"a\\\"b\","
	    "\"event\":\"pullrequest:created\"}";
	struct ac_json_member m[4] = {
		{ "event", NULL, 0, 0, 0, 0 }, { "n", NULL, 0, 0, 0, 0 }, { "esc", NULL, 0, 0, 0, 0 },
		{ "missing", NULL, 0, 0, 0, 0 },
	};

	ck_assert_int_eq(ac_json_scan_object(doc, strlen(doc), m, 4, NULL), AC_OK);
	/* nested ones do not count */
	ck_assert(m[0].found && m[0].is_string && !m[0].escaped);
	ck_assert_int_eq((int)m[0].len, 19);
	ck_assert_int_eq(strncmp(m[0].value, "pullrequest:created", 19), 0);
	ck_assert(m[1].found && !m[1].is_string && m[1].value == NULL);
	ck_assert(m[2].found && m[2].is_string && m[2].escaped);
	ck_assert(!m[3].found);
}
END_TEST

/* nesting levels of objects ({"a":...}) or arrays ([...]) around a 1 */
static size_t
nest(char *out, size_t cap, int levels, int objects)
{
	size_t n = 0;
	int i;

	for (i = 0; i < levels && n + 8 < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s", objects ? "{\"a\":" : "[");
	out[n++] = '1';
	for (i = 0; i < levels; i++)
		out[n++] = objects ? '}' : ']';
	out[n] = '\0';
	return n;
}

/*
 * One limit for the intake's scanner and every full parse (the worker's):
 * a body the intake acknowledges is one the worker can read, at AC_JSON_DEPTH
 * and past it, objects and arrays, and the two mixed.
 */
START_TEST(one_depth_limit)
{
	char doc[1024];
	size_t n;
	int objects, levels;

	for (objects = 0; objects < 2; objects++)
		for (levels = AC_JSON_DEPTH - 1; levels <= AC_JSON_DEPTH + 2; levels++) {
			json_object *o = NULL;
			int want = levels <= AC_JSON_DEPTH;
			enum ac_err sc, pe;

			n = nest(doc, sizeof(doc), levels, objects);
			sc = ac_json_scan_object(doc, n, NULL, 0, NULL);
			pe = ac_json_parse(doc, n, &o, NULL);
			json_object_put(o);
			ck_assert_msg((sc != AC_ERR_BAD_JSON) == want, "scanner, %d %s: %d", levels,
			    objects ? "objects" : "arrays", sc);
			ck_assert_msg((pe == AC_OK) == want, "parse, %d %s: %d", levels, objects ? "objects" : "arrays", pe);
		}
	/* a webhook-shaped body: {"event":..., "data": 31 levels} is 32 deep */
	{
		json_object *o = NULL;

		n = (size_t)snprintf(doc, sizeof(doc), "{\"event\":\"repo:push\",\"data\":");
		n += nest(doc + n, sizeof(doc) - n - 1, AC_JSON_DEPTH - 1, 1);
		doc[n++] = '}';
		ck_assert_int_eq(ac_json_scan_object(doc, n, NULL, 0, NULL), AC_OK);
		ck_assert_int_eq(ac_json_parse(doc, n, &o, NULL), AC_OK);
		json_object_put(o);
	}
}
END_TEST

/* ac_json_parse (lifecycle bodies, answers, records, the worker) is as strict as the scanner. */
START_TEST(parse_is_strict)
{
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
	} bad[] = {
		{ "{\"a\":NaN}", 0 }, { "{\"a\":-Infinity}", 0 }, { "{\"a\":Infinity}", 0 }, { "{\"a\":1.}", 0 },
		{ "{'a':1}", 0 }, { "{\"a\":'x'}", 0 }, { "{\"a\":\"x\ty\"}", 0 }, { "{\"a\":\"x\x01y\"}", 0 },
		{ "{\"a\":\"\xff\"}", 0 }, { "{\"a\":\"\xc0\xaf\"}", 0 }, { "{\"a\":\"\xed\xa0\x80\"}", 0 },
		{ "{\"a\":1}\0", 8 }, { "{\"a\":1}\0garbage", 15 }, { "{\"a\":1} x", 0 }, { "{\"a\":1}{}", 0 },
		{ "{\"a\\u0000b\":1}", 0 }, { "{\"a\":\"\\ud800\"}", 0 }, { "[01]", 0 }, { "{\"a\":1}/**/", 0 },
		{ "\xef\xbb\xbf{}", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *o = NULL;
		size_t n = bad[i].len ? bad[i].len : strlen(bad[i].in);

		ck_assert_msg(ac_json_parse(bad[i].in, n, &o, NULL) == AC_ERR_BAD_JSON, "accepted case %zu: %s", i,
		    bad[i].in);
		ck_assert_ptr_null(o);
	}
}
END_TEST

/*
 * A member name is its decoded text: "\u0065vent" is "event" for the checks
 * that read it (X-Event-Key against the body) as for json-c and the handlers.
 */
START_TEST(escaped_member_names)
{
	static const char *const docs[] = {
		"{\"\\u0065vent\":\"repo:push\"}", "{\"ev\\u0065nt\":\"repo:push\"}", "{\"\\u0065\\u0076ent\":\"repo:push\"}",
		"{\"x\":\"event\",\"\\u0065vent\":\"repo:push\"}", "{\"\\u0045vent\":\"no\",\"event\":\"repo:push\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct ac_json_member m[1] = { { "event", NULL, 0, 0, 0, 0 } };
		json_object *o = NULL;

		ck_assert_int_eq(ac_json_scan_object(docs[i], strlen(docs[i]), m, 1, NULL), AC_OK);
		ck_assert_msg(m[0].found && m[0].is_string && m[0].len == 9 && !strncmp(m[0].value, "repo:push", 9),
		    "doc %zu: event not found", i);
		/* and json-c agrees on which one it is */
		ck_assert_int_eq(ac_json_parse(docs[i], strlen(docs[i]), &o, NULL), AC_OK);
		ck_assert_str_eq(ac_json_get_string(o, "event"), "repo:push");
		json_object_put(o);
	}
	/* other names stay other names, long escapes of short names too */
	{
		static const char *const other[] = {
			"{\"\\u0065ven\":\"x\"}", "{\"\\u0065vents\":\"x\"}", "{\"\\u00e9vent\":\"x\"}",
			"{\"\\ud83d\\ude00\":\"x\"}", "{\"\\n\":\"x\"}",
		};
		for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
			struct ac_json_member m[1] = { { "event", NULL, 0, 0, 0, 0 } };

			ck_assert_int_eq(ac_json_scan_object(other[i], strlen(other[i]), m, 1, NULL), AC_OK);
			ck_assert_msg(!m[0].found, "other %zu matched", i);
		}
	}
	/* a NUL in a name would be cut by json-c into another name: refused */
	{
		const char *d = "{\"event\\u0000x\":\"repo:push\"}";

		ck_assert_int_eq(ac_json_scan_object(d, strlen(d), NULL, 0, NULL), AC_ERR_BAD_JSON);
	}
}
END_TEST

/*
 * A name twice in one object is refused everywhere, compared decoded: json-c
 * keeps the last, a checker may read the first ({"alg":"HS256","alg":"none"},
 * two "iss", two "clientKey"), and the intake's scanner must refuse what the
 * worker's parse refuses.
 */
START_TEST(duplicate_names)
{
	static const struct {
		const char *in;
		int unique;
	} docs[] = {
		{ "{\"a\":1,\"a\":2}", 0 }, { "{\"a\":1,\"b\":2,\"a\":1}", 0 }, { "{\"\":1,\"\":2}", 0 },
		{ "{\"event\":\"x\",\"\\u0065vent\":\"x\"}", 0 }, { "{\"\\u0065vent\":1,\"ev\\u0065nt\":2}", 0 },
		{ "{\"e\\u00e9\":1,\"e\xc3\xa9\":2}", 0 }, { "{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}", 0 },
		{ "{\"x\":{\"a\":1,\"a\":2}}", 0 }, { "{\"x\":[1,{\"b\":{\"c\":1,\"c\":1}}]}", 0 },
		{ "{\"a\":1,\"A\":2,\"a \":3,\"\":4}", 1 }, { "{\"x\":[{\"a\":1},{\"a\":2}]}", 1 },
		{ "{\"a\":{\"a\":{\"a\":1}}}", 1 }, { "{\"e\\u00e9\":1,\"e\xc3\xa8\":2}", 1 },
		{ "{\"ab\":1,\"a\\u0062c\":2}", 1 }, { "{\"\\u0061\":1,\"\\u0062\":2}", 1 },
	};
	char big[4096];
	size_t i, n, k;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_object *o = NULL;
		const char *why = NULL;
		enum ac_err sc = ac_json_scan_object(docs[i].in, strlen(docs[i].in), NULL, 0, &why);
		enum ac_err pe = ac_json_parse(docs[i].in, strlen(docs[i].in), &o, NULL);

		json_object_put(o);
		ck_assert_msg((sc == AC_OK) == docs[i].unique, "doc %zu '%s': scanner %d (%s)", i, docs[i].in, sc,
		    why ? why : "");
		ck_assert_msg((pe == AC_OK) == docs[i].unique, "doc %zu '%s': parse %d", i, docs[i].in, pe);
	}
	/* large objects (sorted, not compared in pairs): the repeat first, last, escaped, or none */
	for (k = 0; k < 4; k++) {
		n = (size_t)snprintf(big, sizeof(big), "{");
		for (i = 0; i < 200; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k%zu\":%zu,", i, i);
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s}",
		    k == 0 ? "\"k0\":0" : k == 1 ? "\"k199\":0" : k == 2 ? "\"k\\u00317\":0" : "\"k200\":0");
		ck_assert_msg((ac_json_scan_object(big, n, NULL, 0, NULL) == AC_OK) == (k == 3), "large object, case %zu", k);
	}
}
END_TEST

START_TEST(int_in_range)
{
	static const struct {
		const char *in;
		int fraction;
		int ok;
		int64_t want;
	} ints[] = {
		{ "0", 0, 1, 0 }, { "100000000000", 0, 1, INT64_C(100000000000) }, { "-100000000000", 0, 1, -INT64_C(100000000000) },
		{ "100000000001", 0, 0, 0 }, { "-9223372036854775808", 0, 0, 0 }, { "9223372036854775807", 0, 0, 0 },
		{ "18446744073709551615", 0, 0, 0 }, { "99999999999999999999999", 0, 0, 0 }, { "1.5", 0, 0, 0 },
		{ "1.5", 1, 1, 1 }, { "-1.5", 1, 1, -2 }, { "1e11", 1, 1, INT64_C(100000000000) }, { "1.0000001e11", 1, 0, 0 },
		{ "1e400", 1, 0, 0 }, { "-1e400", 1, 0, 0 }, { "\"1\"", 1, 0, 0 }, { "true", 1, 0, 0 }, { "[1]", 1, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_object *o = NULL;
		int64_t v = 42;
		enum ac_err err;

		ck_assert_int_eq(ac_json_parse(ints[i].in, strlen(ints[i].in), &o, NULL), AC_OK);
		err = ac_json_int_in(o, -AC_JSON_DATE_MAX, AC_JSON_DATE_MAX, ints[i].fraction, &v);
		ck_assert_msg((err == AC_OK) == ints[i].ok, "%s: %d", ints[i].in, err);
		ck_assert_msg(v == (ints[i].ok ? ints[i].want : 42), "%s: %lld", ints[i].in, (long long)v);
		json_object_put(o);
	}
	{
		int64_t v = 42;

		ck_assert_int_eq(ac_json_int_in(NULL, 0, 1, 1, &v), AC_ERR_BAD_JSON); /* absent or JSON null */
		ck_assert_int_eq(v, 42);
	}
}
END_TEST

START_TEST(depth_limit)
{
	char deep[200];
	size_t i, n = 0;

	deep[n++] = '{';
	deep[n++] = '"';
	deep[n++] = 'a';
	deep[n++] = '"';
	deep[n++] = ':';
	for (i = 0; i < 40; i++)
		deep[n++] = '[';
	for (i = 0; i < 40; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	ck_assert_int_eq(ac_json_scan_object(deep, n, NULL, 0, NULL), AC_ERR_BAD_JSON);
}
END_TEST

START_TEST(no_nul_assumed)
{
	/* pointer + length: a NUL inside the input is just a bad byte */
	const char doc[] = "{\"a\":\"x\0y\"}";

	ck_assert_int_eq(ac_json_scan_object(doc, sizeof(doc) - 1, NULL, 0, NULL), AC_ERR_BAD_JSON);
	ck_assert_int_eq(ac_json_scan_object("{\"a\":1}", 4, NULL, 0, NULL), AC_ERR_BAD_JSON);
}
END_TEST

/*
 * Strings and indentation long enough for the 16-byte paths, with the byte
 * that ends a plain run at every position in and around a block.
 */
START_TEST(long_runs)
{
	static const struct {
		const char *mid;
		int want;
	} mids[] = {
		{ "", 1 }, { "\x7f", 1 }, { "\\n", 1 }, { "\\\"", 1 }, { "\xc3\xa9", 1 }, { "\xf0\x9f\x98\x80", 1 },
		{ "\x01", 0 }, { "\x1f", 0 }, { "\n", 0 }, { "\t", 0 }, { "\"", 0 }, { "\\", 0 }, { "\xc3", 0 }, { "\xff", 0 },
		{ "\x80", 0 },
	};
	char doc[256], pad[64];
	size_t i, k, n;

	for (i = 0; i < sizeof(mids) / sizeof(mids[0]); i++)
		for (k = 0; k < 40; k++)
			for (n = 0; n < 40; n += 13) {
				const char *why = NULL;
				enum ac_err err;

				memset(pad, 'a', sizeof(pad));
				snprintf(doc, sizeof(doc), "{\"s\":\"%.*s%s%.*s\"}", (int)k, pad, mids[i].mid, (int)n, pad);
				err = ac_json_scan_object(doc, strlen(doc), NULL, 0, &why);
				ck_assert_msg((err == AC_OK) == mids[i].want, "mid %zu at %zu, %zu after: %s", i, k, n,
				    why ? why : "valid");
			}
	/* indentation: spaces after a newline, then something that is or is not white space */
	for (k = 0; k < 48; k++) {
		static const char *const ends[] = { "\"a\":1}", "\t\"a\":1}", "\r\n \"a\":1}", "x\"a\":1}", "\v\"a\":1}" };

		for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
			memset(pad, ' ', sizeof(pad));
			snprintf(doc, sizeof(doc), "{\n%.*s%s", (int)k, pad, ends[i]);
			ck_assert_msg((ac_json_scan_object(doc, strlen(doc), NULL, 0, NULL) == AC_OK) == (i < 3),
			    "indent %zu, end %zu", k, i);
		}
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, agrees_on_validity);
	tcase_add_test(tc, agrees_with_json_c_on_objects);
	tcase_add_test(tc, finds_top_level_members);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, one_depth_limit);
	tcase_add_test(tc, parse_is_strict);
	tcase_add_test(tc, escaped_member_names);
	tcase_add_test(tc, duplicate_names);
	tcase_add_test(tc, int_in_range);
	tcase_add_test(tc, no_nul_assumed);
	tcase_add_test(tc, long_runs);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
