/* test-log.c: log lines as text and JSON (AC_LOG_FORMAT): every field, each level, escaping, cuts, one write. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/conf.h"
#include "base/json.h"
#include "base/log.h"
#include "unit.h"

/* 2024-05-01T12:00:00.042Z */
#define MS 1714564800042LL

static char line[AC_LOG_LINE_MAX + 1];

static size_t
fmt(enum ac_log_format f, const struct ac_log_event *ev)
{
	size_t n = ac_log_format_line(f, MS, ev, line);

	ck_assert_uint_eq(n, strlen(line));
	ck_assert_uint_le(n, AC_LOG_LINE_MAX);
	ck_assert_int_eq(line[n - 1], '\n');
	ck_assert_ptr_null(memchr(line, '\n', n - 1));
	return n;
}

/* The JSON line, parsed by the strict parser (RFC 8259, valid UTF-8, no member twice). */
static json_object *
parsed(size_t n)
{
	json_object *o = NULL;
	const char *why = NULL;

	if (ac_json_parse(line, n - 1, &o, &why) != AC_OK)
		ck_abort_msg("not JSON (%s): %s", why ? why : "?", line);
	ck_assert(json_object_is_type(o, json_type_object));
	return o;
}

static struct ac_log_event
message(const char *level, const char *m)
{
	struct ac_log_event ev = { 0 };

	ev.program = "webhook";
	ev.level = level;
	ev.usec = -1;
	ev.message = m;
	ev.message_len = strlen(m);
	return ev;
}

START_TEST(each_level)
{
	static const char *levels[] = { "error", "warning", "info" };
	char want[256];
	size_t i;

	for (i = 0; i < 3; i++) {
		struct ac_log_event ev = message(levels[i], "store: out of room");

		fmt(AC_LOG_JSON, &ev);
		snprintf(want, sizeof(want), "{\"time\":\"2024-05-01T12:00:00.042Z\",\"program\":\"webhook\","
		    "\"level\":\"%s\",\"message\":\"store: out of room\"}\n", levels[i]);
		ck_assert_str_eq(line, want);
		fmt(AC_LOG_TEXT, &ev);
		snprintf(want, sizeof(want), "webhook: %s: store: out of room\n", levels[i]);
		ck_assert_str_eq(line, want);
	}
}
END_TEST

START_TEST(every_field)
{
	struct ac_log_event ev = { 0 };

	ev.program = "installed";
	ev.level = "info";
	ev.method = "POST";
	ev.path = "/installed";
	ev.status = 401;
	ev.usec = 1234;
	ev.tenant = "ck-1";
	ev.error = "bad_signature";
	ev.message = "m";
	ev.message_len = 1;
	fmt(AC_LOG_JSON, &ev);
	ck_assert_str_eq(line, "{\"time\":\"2024-05-01T12:00:00.042Z\",\"program\":\"installed\",\"level\":\"info\","
	    "\"method\":\"POST\",\"path\":\"/installed\",\"status\":401,\"microseconds\":1234,"
	    "\"tenant\":\"ck-1\",\"error\":\"bad_signature\",\"message\":\"m\"}\n");
	/* the access line as text, as it always was */
	ev.message = NULL;
	fmt(AC_LOG_TEXT, &ev);
	ck_assert_str_eq(line, "installed: POST /installed 401 1234us tenant=ck-1 error=bad_signature\n");
}
END_TEST

START_TEST(absent_fields_left_out)
{
	struct ac_log_event ev = { 0 };
	json_object *o;

	ev.program = "descriptor";
	ev.level = "info";
	ev.method = "GET";
	ev.path = "/atlassian-connect.json";
	ev.status = 200;
	ev.usec = 0;
	o = parsed(fmt(AC_LOG_JSON, &ev));
	ck_assert_int_eq(json_object_object_length(o), 7);
	ck_assert(json_object_object_get_ex(o, "microseconds", NULL));
	ck_assert(!json_object_object_get_ex(o, "tenant", NULL));
	ck_assert(!json_object_object_get_ex(o, "error", NULL));
	ck_assert(!json_object_object_get_ex(o, "message", NULL));
	json_object_put(o);
	fmt(AC_LOG_TEXT, &ev);
	ck_assert_str_eq(line, "descriptor: GET /atlassian-connect.json 200 0us tenant=- error=-\n");
	/* no program given: the default name */
	ev = message("error", "x");
	ev.program = NULL;
	fmt(AC_LOG_TEXT, &ev);
	ck_assert_str_eq(line, "connect-fcgi: error: x\n");
}
END_TEST

/* Every kind of byte a message may hold comes out as valid JSON that decodes to the intended text. */
START_TEST(json_escaping)
{
	static const struct {
		const char *in, *want_json, *decoded;
	} cases[] = {
		{ "say \"hi\" \\ bye", "say \\\"hi\\\" \\\\ bye", "say \"hi\" \\ bye" },
		{ "a\nb\rc\td", "a\\nb\\rc\\td", "a\nb\rc\td" },
		{ "\x01\x1f\x7f", "\\u0001\\u001f\\u007f", "\x01\x1f\x7f" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		/* C1 control NEL and the JavaScript line separator */
		{ "\xc2\x85|\xe2\x80\xa8", "\\u0085|\\u2028", "\xc2\x85|\xe2\x80\xa8" },
		/* invalid UTF-8: a stray byte, an overlong '/', a surrogate, beyond U+10FFFF, a cut sequence */
		{ "\xff", "\\ufffd", "\xef\xbf\xbd" },
		{ "\xc0\xaf", "\\ufffd\\ufffd", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd",
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "end \xe2\x82", "end \\ufffd\\ufffd", "end \xef\xbf\xbd\xef\xbf\xbd" },
	};
	char want[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ac_log_event ev = message("warning", cases[i].in);
		json_object *o;

		o = parsed(fmt(AC_LOG_JSON, &ev));
		snprintf(want, sizeof(want), "\"message\":\"%s\"}\n", cases[i].want_json);
		ck_assert_msg(strstr(line, want) != NULL, "case %zu: %s", i, line);
		ck_assert_str_eq(ac_json_get_string(o, "message"), cases[i].decoded);
		json_object_put(o);
	}
	/* a NUL inside the message is a character like any other */
	{
		struct ac_log_event ev = message("info", "a");

		ev.message = "a\0b";
		ev.message_len = 3;
		fmt(AC_LOG_JSON, &ev);
		ck_assert_ptr_nonnull(strstr(line, "\"message\":\"a\\u0000b\""));
	}
}
END_TEST

/* Every field, not only the message: a method, path or tenant cannot break out of its string. */
START_TEST(json_escaping_every_field)
{
	struct ac_log_event ev = { 0 };
	json_object *o;

	ev.program = "p\"rog";
	ev.level = "info";
	ev.method = "GE\nT";
	ev.path = "/a\"b\\c\xff";
	ev.status = 200;
	ev.usec = 1;
	ev.tenant = "t\"}\n{\"x\":1";
	ev.error = "e\x01";
	o = parsed(fmt(AC_LOG_JSON, &ev));
	ck_assert_str_eq(ac_json_get_string(o, "program"), "p\"rog");
	ck_assert_str_eq(ac_json_get_string(o, "method"), "GE\nT");
	ck_assert_str_eq(ac_json_get_string(o, "path"), "/a\"b\\c\xef\xbf\xbd");
	ck_assert_str_eq(ac_json_get_string(o, "tenant"), "t\"}\n{\"x\":1");
	ck_assert_str_eq(ac_json_get_string(o, "error"), "e\x01");
	ck_assert(!json_object_object_get_ex(o, "x", NULL));
	json_object_put(o);
	/* text: the same fields, escaped as \xHH */
	fmt(AC_LOG_TEXT, &ev);
	ck_assert_str_eq(line, "p\\x22rog: GE\\x0aT /a\\x22b\\x5cc\\xff 200 1us tenant=t\\x22}\\x0a{\\x22x\\x22:1 error=e\\x01\n");
}
END_TEST

/* A message of any length and any bytes is cut so that the line stays one valid JSON object. */
START_TEST(json_truncation)
{
	/* units of 1, 2 (\"), 6 (\u0001, \ufffd), and 2- to 4-byte UTF-8, cut at every alignment */
	static const char *units[] = { "a", "\"", "\x01", "\xff", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
	size_t big = 3 * AC_LOG_LINE_MAX, u, shift;
	char *m = malloc(big + 8);

	ck_assert_ptr_nonnull(m);
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		for (shift = 0; shift < 6; shift++) {
			size_t ul = strlen(units[u]), n = shift, len;
			struct ac_log_event ev = message("error", "");
			json_object *o;
			const char *got;

			memset(m, 'x', shift);
			while (n + ul <= big) {
				memcpy(m + n, units[u], ul);
				n += ul;
			}
			ev.message = m;
			ev.message_len = n;
			len = fmt(AC_LOG_JSON, &ev);
			ck_assert_uint_ge(len, AC_LOG_LINE_MAX - 8);
			ck_assert_msg(len >= 6 && !memcmp(line + len - 6, "...\"}\n", 6), "unit %zu: ends %s", u,
			    line + len - 6);
			o = parsed(len);
			got = ac_json_get_string(o, "message");
			ck_assert_ptr_nonnull(got);
			ck_assert_uint_gt(strlen(got), 512);
			json_object_put(o);
		}
	}
	/* a message that just fits is not cut */
	{
		struct ac_log_event ev = message("error", "fits");

		fmt(AC_LOG_JSON, &ev);
		ck_assert_ptr_null(strstr(line, "..."));
	}
	free(m);
}
END_TEST

/* Very long fields beside the message: every field cut, the line still one object with its message. */
START_TEST(json_long_fields)
{
	struct ac_log_event ev = { 0 };
	char *big = malloc(8 * AC_LOG_LINE_MAX + 1);
	json_object *o;

	ck_assert_ptr_nonnull(big);
	memset(big, '"', 8 * AC_LOG_LINE_MAX);
	big[8 * AC_LOG_LINE_MAX] = '\0';
	ev.program = big;
	ev.level = big;
	ev.method = big;
	ev.path = big;
	ev.status = 500;
	ev.usec = 99;
	ev.tenant = big;
	ev.error = big;
	ev.message = big;
	ev.message_len = strlen(big);
	o = parsed(fmt(AC_LOG_JSON, &ev));
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "status")), 500);
	ck_assert_ptr_nonnull(ac_json_get_string(o, "message"));
	ck_assert_ptr_nonnull(ac_json_get_string(o, "tenant"));
	json_object_put(o);
	fmt(AC_LOG_TEXT, &ev);
	free(big);
}
END_TEST

/* A token that reaches a message by mistake keeps its first characters only, in both formats. */
START_TEST(jwt_cut)
{
	static const char jwt[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJjayJ9.c2lnbmF0dXJlc2lnbmF0dXJl";
	char m[512];
	enum ac_log_format f;

	snprintf(m, sizeof(m), "refused Authorization: JWT %s; again?jwt=%s&x=1", jwt, jwt);
	for (f = AC_LOG_TEXT; f <= AC_LOG_JSON; f++) {
		struct ac_log_event ev = message("warning", m);

		fmt(f, &ev);
		ck_assert_ptr_null(strstr(line, "eyJpc3M"));
		ck_assert_ptr_null(strstr(line, "c2lnbmF0"));
		ck_assert_ptr_nonnull(strstr(line, "JWT eyJhbGciOi...; again?jwt=eyJhbGciOi...&x=1"));
	}
	/* not a token: base64url without a second part, or too short */
	{
		struct ac_log_event ev = message("info", "eyJhbGciOiJIUzI1NiJ9 and eyJ.x");

		fmt(AC_LOG_JSON, &ev);
		ck_assert_ptr_nonnull(strstr(line, "eyJhbGciOiJIUzI1NiJ9 and eyJ.x"));
	}
}
END_TEST

/* ctx: name, value, name, value (NULL-padded, 4 entries). */
static const char *
fake_lookup(const char *name, void *ctx)
{
	const char **e = ctx;
	size_t i;

	for (i = 0; i < 4 && e[i]; i += 2)
		if (!strcmp(e[i], name))
			return e[i + 1];
	return NULL;
}

START_TEST(format_setting)
{
	static const char *env[][4] = {
		{ "AC_BASE_URL", "https://app.example.com", NULL, NULL },
		{ "AC_BASE_URL", "https://app.example.com", "AC_LOG_FORMAT", "json" },
		{ "AC_BASE_URL", "https://app.example.com", "AC_LOG_FORMAT", "JSON" },
	};
	enum ac_log_format f = AC_LOG_TEXT;
	struct ac_conf c;
	char *why = NULL;
	size_t i;

	ck_assert_int_eq(ac_log_format_parse("json", &f), 0);
	ck_assert_int_eq(f, AC_LOG_JSON);
	ck_assert_int_eq(ac_log_format_parse("text", &f), 0);
	ck_assert_int_eq(f, AC_LOG_TEXT);
	ck_assert_int_eq(ac_log_format_parse("", &f), -1);
	ck_assert_int_eq(ac_log_format_parse(NULL, &f), -1);
	for (i = 0; i < 3; i++) {
		enum ac_err err;

		err = ac_conf_load_with(&c, NULL, fake_lookup, (void *)env[i], &why);
		if (i == 2) {
			ck_assert_int_eq(err, AC_ERR_CONFIG);
			ck_assert_str_eq(why, "AC_LOG_FORMAT must be 'text' or 'json' (got 'JSON')");
			free(why);
			continue;
		}
		ck_assert_int_eq(err, AC_OK);
		ck_assert_int_eq(c.log_format, i == 1 ? AC_LOG_JSON : AC_LOG_TEXT);
		ac_conf_release(&c);
	}
}
END_TEST

/* ac_log_error: one line in the format set, in one write, on stderr. */
START_TEST(one_write_on_stderr)
{
	char path[] = "/tmp/test-log.XXXXXX", buf[3 * AC_LOG_LINE_MAX];
	int fd = mkstemp(path), saved = dup(2);
	char *big = malloc(2 * AC_LOG_LINE_MAX);
	ssize_t n;
	char *nl;
	json_object *o;

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(big);
	memset(big, 'b', 2 * AC_LOG_LINE_MAX - 1);
	big[2 * AC_LOG_LINE_MAX - 1] = '\0';
	unlink(path);
	ac_log_init("test-log");
	ac_log_set_format(AC_LOG_JSON);
	ck_assert_int_eq(ac_log_get_format(), AC_LOG_JSON);
	ck_assert_int_ge(dup2(fd, 2), 0);
	ac_log_error("first %d", 1);
	ac_log_warn("%s", big);
	ac_log_set_format(AC_LOG_TEXT);
	ac_log_info("third");
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	ck_assert_ptr_nonnull(nl);
	memcpy(line, buf, (size_t)(nl - buf) + 1);
	line[nl - buf + 1] = '\0';
	o = parsed((size_t)(nl - buf) + 1);
	ck_assert_str_eq(ac_json_get_string(o, "program"), "test-log");
	ck_assert_str_eq(ac_json_get_string(o, "level"), "error");
	ck_assert_str_eq(ac_json_get_string(o, "message"), "first 1");
	json_object_put(o);
	/* the long one: cut to one line */
	{
		char *second = nl + 1, *nl2 = strchr(second, '\n');

		ck_assert_ptr_nonnull(nl2);
		ck_assert_uint_le((size_t)(nl2 - second) + 1, AC_LOG_LINE_MAX);
		ck_assert(!strncmp(nl2 - 5, "...\"}", 5));
		ck_assert_str_eq(nl2 + 1, "test-log: info: third\n");
	}
	free(big);
}
END_TEST

/*
 * Processes logging long lines at once into one pipe (as spawn-fcgi's
 * children share one stderr): every line arrives whole, none interleaved.
 * Control characters, escaped to 4 or 6 bytes, make each line far longer
 * than PIPE_BUF unless it is cut.
 */
START_TEST(processes_never_interleave)
{
	enum { PROCS = 6, LINES = 60 };
	char *all = NULL, *p, *nl;
	size_t len = 0, cap = 0, count = 0;
	int fds[2], saved, i;
	pid_t pids[PROCS];

	ck_assert_int_eq(pipe(fds), 0);
	saved = dup(2);
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			char m[3500];
			int k;

			dup2(fds[1], 2);
			close(fds[0]);
			ac_log_set_format(i % 2 ? AC_LOG_JSON : AC_LOG_TEXT);
			memset(m, 1 + i, sizeof(m) - 1);
			m[sizeof(m) - 1] = '\0';
			for (k = 0; k < LINES; k++)
				ac_log_info("%d %s", k, m);
			_exit(0);
		}
	}
	close(fds[1]);
	for (;;) {
		ssize_t n;

		if (cap - len < 65536) {
			cap = cap ? 2 * cap : 1 << 20;
			all = realloc(all, cap);
			ck_assert_ptr_nonnull(all);
		}
		n = read(fds[0], all + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	for (i = 0; i < PROCS; i++)
		waitpid(pids[i], NULL, 0);
	dup2(saved, 2);
	close(saved);
	all[len] = '\0';
	for (p = all; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		size_t n = (size_t)(nl - p) + 1;
		char c;

		ck_assert_uint_le(n, AC_LOG_LINE_MAX);
		memcpy(line, p, n);
		line[n] = '\0';
		if (line[0] == '{') {
			json_object *o = parsed(n);
			const char *m = ac_json_get_string(o, "message");

			/* "<k> ", one process's character only, and the "..." of the cut */
			ck_assert_ptr_nonnull(m);
			m = strchr(m, ' ') + 1;
			c = m[0];
			ck_assert_uint_gt(strlen(m), 3);
			ck_assert_str_eq(m + strlen(m) - 3, "...");
			ck_assert_uint_eq(strspn(m, (char[]){ c, 0 }), strlen(m) - 3);
			json_object_put(o);
		} else {
			char *m = strstr(line, ": info: ");
			size_t k, rest;

			ck_assert_msg(!strncmp(line, "test-log: info: ", 16) || !strncmp(line, "connect-fcgi: info: ", 20),
			    "a line cut or mixed: %.80s", line);
			ck_assert_ptr_nonnull(m);
			/* "<k> " and one process's "\x0N" only */
			m = strchr(m + 8, ' ') + 1;
			rest = n - 1 - (size_t)(m - line);
			ck_assert_uint_eq(rest % 4, 0);
			for (k = 4; k < rest; k += 4)
				ck_assert(!memcmp(m + k, m, 4));
		}
		count++;
	}
	ck_assert_ptr_eq(p, all + len);
	ck_assert_uint_eq(count, PROCS * LINES);
	free(all);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, each_level);
	tcase_add_test(tc, every_field);
	tcase_add_test(tc, absent_fields_left_out);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, json_escaping_every_field);
	tcase_add_test(tc, json_truncation);
	tcase_add_test(tc, json_long_fields);
	tcase_add_test(tc, jwt_cut);
	tcase_add_test(tc, format_setting);
	tcase_add_test(tc, one_write_on_stderr);
	tcase_add_test(tc, processes_never_interleave);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
