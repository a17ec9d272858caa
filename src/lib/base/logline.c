/* logline.c: one log line, as text or as a JSON object (AC_LOG_FORMAT, issue 17), bounded and escaped. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

/* The most of each field a line carries, escaped: the message has the rest of the line. */
#define PROGRAM_MAX 64
#define LEVEL_MAX   16
#define METHOD_MAX  32
#define PATH_MAX_   1024
#define TENANT_MAX  256
#define ERROR_MAX   64
/* A JWT keeps this many characters, then "...": enough to tell two apart, never the token. */
#define JWT_KEEP    10

/* A bounded writer: what does not fit is not written, whole units only. */
struct out {
	char *p;
	size_t len, cap; /* cap excludes the room kept for the line's end */
};

static int
put(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len)
		return -1;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return 0;
}

static int
puts_(struct out *o, const char *s)
{
	return put(o, s, strlen(s));
}

static size_t
b64url_run(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			break;
	}
	return i;
}

/*
 * The length of a JWT-shaped run at s ("eyJ" + base64url, then '.' and more
 * parts), or 0. A JOSE header is a JSON object, so its base64url starts "eyJ":
 * a token that reaches a message by mistake is cut, whatever logged it.
 */
static size_t
jwt_at(const char *s, size_t n)
{
	size_t i, run;

	if (n < 3 || memcmp(s, "eyJ", 3) != 0)
		return 0;
	i = b64url_run(s, n);
	if (i < 8 || i >= n || s[i] != '.')
		return 0;
	while (i < n && s[i] == '.') {
		run = b64url_run(s + i + 1, n - i - 1);
		i += 1 + run;
	}
	return i;
}

/* 1..4: a valid UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates, up to U+10FFFF), 0: invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		*cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		*cp = c & 0x0f;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		*cp = c & 0x07;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		unsigned b = s[i];

		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
			return 0;
		*cp = (*cp << 6) | (b & 0x3f);
	}
	return len;
}

/*
 * The JSON escape of one unit at s into e (at least 7 bytes); *used gets the
 * bytes of s it stands for. RFC 8259 7: '"', '\\' and C0 controls must be
 * escaped; DEL, C1 controls and U+2028/9 are too, so that no terminal or
 * JavaScript reader is surprised; an invalid byte becomes U+FFFD.
 */
static size_t
json_unit(const char *s, size_t n, char *e, size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	unsigned cp;
	size_t len = utf8_seq((const unsigned char *)s, n, &cp);

	*used = len ? len : 1;
	if (len == 0) {
		memcpy(e, "\\ufffd", 6);
		return 6;
	}
	switch (cp) {
	case '"': memcpy(e, "\\\"", 2); return 2;
	case '\\': memcpy(e, "\\\\", 2); return 2;
	case '\n': memcpy(e, "\\n", 2); return 2;
	case '\r': memcpy(e, "\\r", 2); return 2;
	case '\t': memcpy(e, "\\t", 2); return 2;
	default: break;
	}
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) {
		memcpy(e, "\\u", 2);
		e[2] = hex[(cp >> 12) & 15];
		e[3] = hex[(cp >> 8) & 15];
		e[4] = hex[(cp >> 4) & 15];
		e[5] = hex[cp & 15];
		return 6;
	}
	memcpy(e, s, len);
	return len;
}

/* The text escape of one byte (ac_log_escape's rule: printable ASCII but '"' and '\\', else \xHH). */
static size_t
text_unit(const char *s, size_t n, char *e, size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = (unsigned char)s[0];

	(void)n;
	*used = 1;
	if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
		e[0] = (char)c;
		return 1;
	}
	e[0] = '\\';
	e[1] = 'x';
	e[2] = hex[c >> 4];
	e[3] = hex[c & 15];
	return 4;
}

typedef size_t (*unit_fn)(const char *s, size_t n, char *e, size_t *used);

/*
 * s[0..n) escaped by unit, JWTs cut, at most max bytes of it (and never past
 * o's cap): when it does not all fit, as much as leaves room for "...", then
 * "..." (JSON) or nothing (text, as the text log always cut).
 */
static void
put_escaped(struct out *o, unit_fn unit, int ellipsis, const char *s, size_t n, size_t max)
{
	size_t i = 0, room = o->cap - o->len, start = o->len, keep = ellipsis ? 3 : 0;
	char e[8];

	if (max < room)
		room = max;
	while (i < n) {
		size_t used, elen, jwt = jwt_at(s + i, n - i);

		if (jwt > JWT_KEEP + 3) {
			/* the kept head and its "..." as plain text: base64url needs no escape */
			if (o->len - start + JWT_KEEP + 3 + keep > room)
				break;
			put(o, s + i, JWT_KEEP);
			put(o, "...", 3);
			i += jwt;
			continue;
		}
		elen = unit(s + i, n - i, e, &used);
		/* the last unit needs no room for the "..." */
		if (o->len - start + elen + (i + used < n ? keep : 0) > room)
			break;
		put(o, e, elen);
		i += used;
	}
	if (i < n && ellipsis)
		put(o, "...", 3);
}

/* ,"name":"value" (JSON), the value escaped and cut at max. */
static void
json_field(struct out *o, const char *name, const char *v, size_t n, size_t max)
{
	size_t mark = o->len;

	/* the closing quote is kept out of cap while the value is written */
	if (put(o, o->len > 1 ? ",\"" : "\"", o->len > 1 ? 2 : 1) || puts_(o, name) || put(o, "\":\"", 3) ||
	    o->cap - o->len < 1) {
		o->len = mark;
		return;
	}
	o->cap--;
	put_escaped(o, json_unit, 1, v, n, max);
	o->cap++;
	put(o, "\"", 1);
}

static void
json_number(struct out *o, const char *name, long long v)
{
	char num[64];
	size_t mark = o->len;
	int len = snprintf(num, sizeof(num), ",\"%s\":%lld", name, v);

	if (len < 0 || (size_t)len >= sizeof(num) || put(o, num, (size_t)len))
		o->len = mark;
}

static void
json_line(struct out *o, int64_t ms, const struct ac_log_event *ev, const char *program)
{
	char when[40];
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	put(o, "{", 1);
	if (gmtime_r(&t, &tm) != NULL &&
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) > 0) {
		size_t wl = strlen(when);

		snprintf(when + wl, sizeof(when) - wl, ".%03dZ", (int)(ms % 1000));
		json_field(o, "time", when, strlen(when), sizeof(when));
	}
	json_field(o, "program", program, strlen(program), PROGRAM_MAX);
	if (ev->level)
		json_field(o, "level", ev->level, strlen(ev->level), LEVEL_MAX);
	if (ev->method)
		json_field(o, "method", ev->method, strlen(ev->method), METHOD_MAX);
	if (ev->path)
		json_field(o, "path", ev->path, strlen(ev->path), PATH_MAX_);
	if (ev->status)
		json_number(o, "status", ev->status);
	if (ev->usec >= 0)
		json_number(o, "microseconds", ev->usec);
	if (ev->tenant)
		json_field(o, "tenant", ev->tenant, strlen(ev->tenant), TENANT_MAX);
	if (ev->error)
		json_field(o, "error", ev->error, strlen(ev->error), ERROR_MAX);
	if (ev->message)
		json_field(o, "message", ev->message, ev->message_len, AC_LOG_LINE_MAX);
	o->cap++; /* the '}' kept back by the caller */
	put(o, "}", 1);
}

/* As the text log has always been: borrowed fields escaped, "-" for none. */
static void
text_field(struct out *o, const char *v, size_t max)
{
	if (v == NULL)
		v = "-";
	put_escaped(o, text_unit, 0, v, strlen(v), max);
}

static void
text_line(struct out *o, const struct ac_log_event *ev, const char *program)
{
	char num[64];
	int len;

	text_field(o, program, PROGRAM_MAX);
	if (ev->method == NULL) {
		put(o, ": ", 2);
		text_field(o, ev->level ? ev->level : "info", LEVEL_MAX);
		put(o, ": ", 2);
		if (ev->message)
			put_escaped(o, text_unit, 0, ev->message, ev->message_len, AC_LOG_LINE_MAX);
		return;
	}
	put(o, ": ", 2);
	text_field(o, ev->method, METHOD_MAX - 1);
	put(o, " ", 1);
	text_field(o, ev->path, 511);
	len = snprintf(num, sizeof(num), " %d %lluus tenant=", ev->status,
	    (unsigned long long)(ev->usec < 0 ? 0 : ev->usec));
	if (len > 0 && (size_t)len < sizeof(num))
		put(o, num, (size_t)len);
	text_field(o, ev->tenant, TENANT_MAX - 1);
	put(o, " error=", 7);
	text_field(o, ev->error, ERROR_MAX);
}

size_t
ac_log_format_line(enum ac_log_format f, int64_t ms, const struct ac_log_event *ev,
    char out[AC_LOG_LINE_MAX + 1])
{
	/* room kept for the '\n' (and the JSON '}') whatever the fields hold */
	struct out o = { out, 0, AC_LOG_LINE_MAX - (f == AC_LOG_JSON ? 2 : 1) };
	const char *program = ev->program ? ev->program : "connect-fcgi";

	if (ms < 0)
		ms = 0;
	if (f == AC_LOG_JSON)
		json_line(&o, ms, ev, program);
	else
		text_line(&o, ev, program);
	o.cap++;
	put(&o, "\n", 1);
	out[o.len] = '\0';
	return o.len;
}
