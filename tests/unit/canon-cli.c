/* canon-cli.c: our canonical request and qsh for JSON lines on stdin, the C side of qsh-diff.sh. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/buf.h"
#include "auth/canon.h"
#include "base/err.h"

/*
 * Input, one object a line: {"method", "url", "baseUrl", "inbound"?}.
 * Output, one object a line: {"canonical", "qsh"} or {"error": code}.
 * Without "inbound" the line goes through ac_canon_outbound(), as the npm
 * oracle's fromMethodAndUrl() does; with "inbound": true, url is a raw
 * REQUEST_URI handed to ac_canon_inbound() (pointer + length, so it may
 * hold NUL bytes) and the context path is the path of baseUrl.
 */

/* Bytes in the largest input line we accept: a test tool, but still capped. */
#define LINE_MAX_BYTES (4 * 1024 * 1024)

static const char *
str_field(struct json_object *o, const char *name, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string)) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* The path of a base URL: after "scheme://authority", before '?' or '#'. */
static void
context_of(const char *base, size_t n, const char **ctx, size_t *ctx_len)
{
	const char *p = base, *end = base + n, *s;

	*ctx = NULL;
	*ctx_len = 0;
	if (base == NULL)
		return;
	if ((s = memmem(base, n, "://", 3)) != NULL) {
		p = s + 3;
		while (p < end && *p != '/' && *p != '?' && *p != '#')
			p++;
	}
	for (s = p; s < end && *s != '?' && *s != '#'; s++)
		;
	*ctx = p;
	*ctx_len = (size_t)(s - p);
}

static void
answer(struct json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
	fputc('\n', stdout);
	json_object_put(o);
}

static void
one_line(const char *line, size_t n)
{
	struct json_tokener *tok = json_tokener_new_ex(8);
	struct json_object *in = NULL, *out = json_object_new_object(), *v;
	const char *method, *url, *base, *ctx;
	size_t method_len, url_len, base_len, ctx_len;
	char qsh[AC_QSH_HEX_LEN];
	struct ac_buf b;
	enum ac_err err;
	int inbound = 0;

	ac_buf_init(&b, AC_CANON_MAX);
	if (tok == NULL || out == NULL) {
		fputs("canon-cli: out of memory\n", stderr);
		exit(2);
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	in = json_tokener_parse_ex(tok, line, (int)n);
	if (in == NULL || !json_object_is_type(in, json_type_object)) {
		json_object_object_add(out, "error", json_object_new_string("bad_json_line"));
		goto done;
	}
	method = str_field(in, "method", &method_len);
	url = str_field(in, "url", &url_len);
	base = str_field(in, "baseUrl", &base_len);
	if (json_object_object_get_ex(in, "inbound", &v))
		inbound = json_object_get_boolean(v);
	if (method == NULL || url == NULL) {
		json_object_object_add(out, "error", json_object_new_string("missing_field"));
		goto done;
	}
	if (inbound) {
		context_of(base, base_len, &ctx, &ctx_len);
		err = ac_canon_inbound(method, method_len, url, url_len, ctx, ctx_len, &b);
	} else if (strlen(method) != method_len || strlen(url) != url_len ||
	    (base != NULL && strlen(base) != base_len)) {
		/* the outbound API takes C strings: NUL bytes need the inbound path */
		json_object_object_add(out, "error", json_object_new_string("nul_in_outbound"));
		goto done;
	} else {
		err = ac_canon_outbound(method, url, base, &b);
	}
	if (err != AC_OK) {
		json_object_object_add(out, "error", json_object_new_string(ac_err_code(err)));
		goto done;
	}
	ac_canon_qsh(b.data, b.len, qsh);
	json_object_object_add(out, "canonical", json_object_new_string_len(b.data, (int)b.len));
	json_object_object_add(out, "qsh", json_object_new_string(qsh));
done:
	answer(out);
	json_object_put(in);
	json_tokener_free(tok);
	ac_buf_release(&b);
}

int
main(void)
{
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n;

	while ((n = getline(&line, &alloc, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n == 0)
			continue;
		if (n > LINE_MAX_BYTES) {
			fputs("{\"error\":\"line_too_long\"}\n", stdout);
			continue;
		}
		one_line(line, (size_t)n);
	}
	free(line);
	return ferror(stdout) || fflush(stdout) != 0 ? 1 : 0;
}
