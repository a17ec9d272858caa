/* explain.c: why a token fails, in plain words; the engine of `acctl jwt verify`, out of the command. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/canon.h"
#include "base/clock.h"
#include "base/url.h"
#include "auth/explain.h"

/* Text for a person: the first error is kept, later writes are skipped. */
struct out {
	struct ac_buf *b;
	enum ac_err err;
};

static void say(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->err != AC_OK)
		return;
	va_start(ap, fmt);
	o->err = ac_buf_vprintf(o->b, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- malformed */

static void
malformed(const char *tok, size_t len, struct out *o)
{
	size_t i, dots = 0;
	int pad = 0, std = 0, space = 0, other = 0;

	if (len > AC_TOKEN_MAX) {
		say(o, "  it is %zu bytes; tokens are at most %d\n", len, AC_TOKEN_MAX);
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)tok[i];

		if (ch == '.')
			dots++;
		else if (ch == '=')
			pad = 1;
		else if (ch == '+' || ch == '/')
			std = 1;
		else if (isspace(ch))
			space = 1;
		else if (!isalnum(ch) && ch != '-' && ch != '_')
			other = 1;
	}
	if (dots != 2)
		say(o, "  it has %zu segments; a compact JWS has 3 (header.claims.signature)\n", dots + 1);
	if (pad)
		say(o, "  it contains '=': JWTs use base64url without padding\n");
	if (std)
		say(o, "  it contains '+' or '/': that is base64, not base64url ('-', '_')\n");
	if (space)
		say(o, "  it contains whitespace (a line break from copy and paste?)\n");
	if (other)
		say(o, "  it contains characters outside base64url\n");
	if (dots == 2 && !pad && !std && !space && !other)
		say(o, "  the header or claims are not a strict JSON object, a registered "
		    "claim has the wrong type (exp/nbf/iat numbers within +-10^11 s of the epoch; iss/sub/qsh "
		    "strings; aud string or array of strings), alg is missing, or the signature is empty\n");
}

enum ac_err
ac_explain_malformed(const char *tok, size_t len, struct ac_buf *out)
{
	struct out o = { out, AC_OK };

	malformed(tok, len, &o);
	return o.err;
}

/* ---------------------------------------------------------------- decode */

/* "3 min 5 s ago" / "in 2 h 1 min" */
static void
relative(int64_t delta, char *out, size_t outsz)
{
	int64_t a = delta < 0 ? -delta : delta;
	char num[48]; /* two int64 and words: at most 47 */

	if (a < 60)
		snprintf(num, sizeof(num), "%" PRId64 " s", a);
	else if (a < 3600)
		snprintf(num, sizeof(num), "%" PRId64 " min %" PRId64 " s", a / 60, a % 60);
	else if (a < 86400 * 2)
		snprintf(num, sizeof(num), "%" PRId64 " h %" PRId64 " min", a / 3600, a % 3600 / 60);
	else
		snprintf(num, sizeof(num), "%" PRId64 " days", a / 86400);
	if (delta == 0)
		snprintf(out, outsz, "now");
	else if (delta < 0)
		snprintf(out, outsz, "%s ago", num);
	else
		snprintf(out, outsz, "in %s", num);
}

static struct json_object *
date_info(int64_t t, int64_t now)
{
	struct json_object *o = json_object_new_object();
	char buf[64];

	json_object_object_add(o, "value", json_object_new_int64(t));
	ac_clock_iso8601(t, buf, sizeof(buf));
	json_object_object_add(o, "utc", json_object_new_string(buf));
	relative(t - now, buf, sizeof(buf));
	json_object_object_add(o, "relative", json_object_new_string(buf));
	return o;
}

struct json_object *
ac_explain_decoded(const struct ac_token *t, int64_t now)
{
	struct json_object *out = json_object_new_object(), *dates = json_object_new_object();

	if (out == NULL || dates == NULL) {
		json_object_put(out);
		json_object_put(dates);
		return NULL;
	}
	json_object_object_add(out, "unverified", json_object_new_boolean(1));
	json_object_object_add(out, "note", json_object_new_string(
	    "decoded only: the signature was NOT checked; use 'acctl jwt verify'"));
	json_object_object_add(out, "header", json_object_get(t->header));
	json_object_object_add(out, "claims", json_object_get(t->claims));
	if (t->has_iat)
		json_object_object_add(dates, "iat", date_info(t->iat, now));
	if (t->has_nbf)
		json_object_object_add(dates, "nbf", date_info(t->nbf, now));
	if (t->has_exp)
		json_object_object_add(dates, "exp", date_info(t->exp, now));
	json_object_object_add(out, "dates", dates);
	json_object_object_add(out, "signature_bytes", json_object_new_int64((int64_t)t->sig_len));
	return out;
}

/* ---------------------------------------------------------------- qsh mistakes */

struct url_parts {
	char origin[512];  /* "https://host:port", "" for a relative url */
	char ctx[512];     /* context path of the base url, no trailing '/' */
	char raw_query[4096];
};

/* "scheme://host[:port]" of an absolute URL (base/url.h), into origin; "" when url is not one. */
static void
origin_of(const char *url, char *origin, size_t n)
{
	struct ac_url u;

	origin[0] = '\0';
	if (url == NULL || ac_url_parse(url, &u) != AC_OK)
		return;
	if ((size_t)snprintf(origin, n, "%s://%s%s%s", u.scheme, u.host, u.has_port ? ":" : "",
	    u.has_port ? u.port : "") >= n)
		origin[0] = '\0';
	ac_url_release(&u);
}

static void
split_url(const char *url, const char *base_url, struct url_parts *u)
{
	struct ac_url b;
	const char *q;
	size_t n;

	memset(u, 0, sizeof(*u));
	origin_of(url, u->origin, sizeof(u->origin));
	if (base_url != NULL && ac_url_parse(base_url, &b) == AC_OK) {
		if (u->origin[0] == '\0')
			origin_of(base_url, u->origin, sizeof(u->origin));
		n = strlen(b.path);
		while (n > 0 && b.path[n - 1] == '/')
			n--;
		if (n < sizeof(u->ctx))
			memcpy(u->ctx, b.path, n);
		ac_url_release(&b);
	}
	/* the query as the signer wrote it: a relative url has one too */
	q = strchr(url, '?');
	if (q != NULL) {
		n = strcspn(q + 1, "#");
		if (n < sizeof(u->raw_query))
			memcpy(u->raw_query, q + 1, n);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Percent-decodes s in place ('+' is a space) with the canonical query's decoder: a signer's mistake. */
static void
url_decode(char *s)
{
	struct ac_buf d;
	size_t n = strlen(s);

	/* decoding never lengthens: the result fits where s was */
	ac_buf_init(&d, n + 1);
	if (ac_canon_decode(s, n, &d) == AC_OK) {
		memcpy(s, ac_buf_str(&d), d.len);
		s[d.len] = '\0';
	}
	ac_buf_release(&d);
}

/* The raw query with its jwt parameter dropped (unless keep_jwt); sorted; decoded. */
static void
raw_query_variant(const char *raw, int sort, int keep_jwt, int decode, struct ac_buf *out)
{
	char *copy = strdup(raw), *p, *amp, *parts[128];
	size_t n = 0, i;

	if (copy == NULL)
		return;
	for (p = copy; p && *p && n < 128; p = amp) {
		amp = strchr(p, '&');
		if (amp)
			*amp++ = '\0';
		/* the jwt parameter the canonical query drops: by its decoded name (auth/canon.h) */
		if (*p == '\0' || (!keep_jwt && ac_canon_query_find(p, strlen(p), "jwt", NULL, NULL) > 0))
			continue;
		if (decode)
			url_decode(p);
		parts[n++] = p;
	}
	if (sort)
		qsort(parts, n, sizeof(parts[0]), cmp_str);
	for (i = 0; i < n; i++) {
		if (i)
			ac_buf_addc(out, '&');
		ac_buf_adds(out, parts[i]);
	}
	free(copy);
}

static void
try_variant(struct out *o, const char *label, const char *m, const char *path, const char *q,
    const char *token_qsh, int *found)
{
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN];

	ac_buf_init(&c, AC_CANON_MAX);
	if (ac_buf_printf(&c, "%s&%s&%s", m, path, q) == AC_OK) {
		ac_canon_qsh(ac_buf_str(&c), c.len, hex);
		if (!strcmp(hex, token_qsh)) {
			say(o, "  the token's qsh is the hash of \"%s\": %s\n", ac_buf_str(&c), label);
			(*found)++;
		}
	}
	ac_buf_release(&c);
}

/* Tries the usual mistakes (doc/protocol.md §3, §12) to say which one the signer made. */
static void
qsh_mistakes(const char *method, const char *url, const char *base_url, const char *token_qsh,
    struct out *o)
{
	static const char *methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS" };
	struct ac_buf c, v;
	struct url_parts u;
	char hex[AC_QSH_HEX_LEN], *m, *path, *q, *amp;
	size_t i;
	int found = 0;

	ac_buf_init(&c, AC_CANON_MAX);
	ac_buf_init(&v, AC_CANON_MAX);
	if (ac_canon_outbound(method, url, base_url, &c) != AC_OK)
		goto out;
	ac_canon_qsh(ac_buf_str(&c), c.len, hex);
	say(o, "  expected canonical request: \"%s\"\n", ac_buf_str(&c));
	say(o, "  expected qsh:               %s\n", hex);
	if (!strcasecmp(token_qsh, hex)) {
		say(o, "  the token's qsh is this hash in upper case: qsh is lowercase hex\n");
		goto out;
	}
	/* "M&P&Q": the path has its '&' escaped, so the first two '&' split it */
	m = c.data;
	amp = strchr(m, '&');
	*amp = '\0';
	path = amp + 1;
	amp = strchr(path, '&');
	*amp = '\0';
	q = amp + 1;
	split_url(url, base_url, &u);

	if (u.origin[0]) {
		ac_buf_reset(&v);
		ac_buf_printf(&v, "%s%s%s", u.origin, u.ctx, path);
		try_variant(o, "the full URL (scheme and host) was hashed instead of the path; "
		    "qsh takes the path only", m, ac_buf_str(&v), q, token_qsh, &found);
		try_variant(o, "the full URL was hashed instead of the path, and the query left out",
		    m, ac_buf_str(&v), "", token_qsh, &found);
		if (u.ctx[0]) {
			ac_buf_reset(&v);
			ac_buf_printf(&v, "%s%s", u.origin, path);
			try_variant(o, "the full URL (scheme and host) was hashed instead of the path",
			    m, ac_buf_str(&v), q, token_qsh, &found);
		}
	}
	if (u.ctx[0]) {
		ac_buf_reset(&v);
		ac_buf_printf(&v, "%s%s", u.ctx, path);
		try_variant(o, "the context path of the base URL was left in; qsh paths start after it",
		    m, ac_buf_str(&v), q, token_qsh, &found);
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char label[96];

		if (!strcmp(methods[i], m))
			continue;
		snprintf(label, sizeof(label), "the token was made for %s, the request is %s",
		    methods[i], m);
		try_variant(o, label, methods[i], path, q, token_qsh, &found);
	}
	ac_buf_reset(&v);
	ac_buf_adds(&v, m);
	for (i = 0; i < v.len; i++)
		v.data[i] = (char)tolower((unsigned char)v.data[i]);
	try_variant(o, "the method was not upper-cased", ac_buf_str(&v), path, q, token_qsh, &found);
	if (u.raw_query[0]) {
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 0, 0, 0, &v);
		try_variant(o, "the query was hashed as written: sort the parameters and re-encode them",
		    m, path, ac_buf_str(&v), token_qsh, &found);
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 1, 0, 0, &v);
		try_variant(o, "the query was sorted as written, not by its re-encoded keys",
		    m, path, ac_buf_str(&v), token_qsh, &found);
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 1, 0, 1, &v);
		try_variant(o, "the query was decoded but not re-encoded (%XX upper case, space %20, "
		    "',' in a value %2C)", m, path, ac_buf_str(&v), token_qsh, &found);
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 0, 0, 1, &v);
		try_variant(o, "the query was decoded but neither sorted nor re-encoded",
		    m, path, ac_buf_str(&v), token_qsh, &found);
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 1, 1, 0, &v);
		try_variant(o, "the jwt parameter was hashed; it is left out of qsh",
		    m, path, ac_buf_str(&v), token_qsh, &found);
		try_variant(o, "the query was left out; qsh covers it", m, path, "", token_qsh, &found);
	}
	if (strcmp(path, "/") != 0) {
		ac_buf_reset(&v);
		ac_buf_printf(&v, "%s/", path);
		try_variant(o, "a trailing '/' was kept; qsh drops one", m, ac_buf_str(&v), q, token_qsh,
		    &found);
		try_variant(o, "the leading '/' is missing", m, path + 1, q, token_qsh, &found);
	}
	if (!found)
		say(o, "  the token's qsh matches none of the usual mistakes (full URL, context path, "
		    "method, query order or encoding, trailing slash): the token was made for "
		    "another request, or with a different base URL (--base-url)\n");
out:
	ac_buf_release(&v);
	ac_buf_release(&c);
}

enum ac_err
ac_explain_qsh(const char *method, const char *url, const char *base_url, const char *token_qsh,
    struct ac_buf *out)
{
	struct out o = { out, AC_OK };

	if (method == NULL || url == NULL || token_qsh == NULL || out == NULL)
		return AC_ERR_INVALID;
	qsh_mistakes(method, url, base_url, token_qsh, &o);
	return o.err;
}

/* ---------------------------------------------------------------- verify */

/* "code: text", text indented after its first line. */
static void
problem_text(struct out *o, enum ac_err err, const char *text)
{
	const char *s = text, *nl;

	say(o, "%s: ", ac_err_code(err));
	while ((nl = strchr(s, '\n')) != NULL) {
		say(o, "%.*s\n  ", (int)(nl - s), s);
		s = nl + 1;
	}
	say(o, "%s\n", s);
}

/*
 * What the direction adds to a problem, which token.c's checks cannot know:
 * seeds/004 signed its calls with an OAuth consumer's key and secret.
 */
static void
hint(struct out *o, const struct ac_token_problem *p, const struct ac_token_policy *pol)
{
	if (p->err == AC_ERR_BAD_SIGNATURE && pol->outbound && pol->alg == AC_TOKEN_HS256)
		say(o, "  calls from the app to the product are signed with that same sharedSecret, "
		    "not with an OAuth consumer's key or secret: a Connect app needs no OAuth "
		    "consumer\n");
}

/*
 * The token in what was pasted: a bare token, or an Authorization header
 * (with or without its name) whose scheme must be exactly "JWT" (doc/protocol.md §2). A
 * scheme the product refuses gives *scheme (static text, the server's own
 * words), and the token after it is still checked. s is NUL-terminated.
 */
static void
token_of(const char *s, size_t n, const char **tok, size_t *len, const char **scheme)
{
	const char *sp, *end;

	*scheme = NULL;
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= 14 && !strncasecmp(s, "Authorization:", 14)) {
		s += 14;
		n -= 14;
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
	}
	*tok = s;
	*len = n;
	end = s + n;
	if ((sp = memchr(s, ' ', n)) == NULL)
		return;
	if (ac_token_extract(s, NULL, 0, 0, tok, len, scheme) != AC_OK) {
		if (*scheme == NULL)
			*scheme = "the Authorization header does not use the 'JWT <token>' scheme";
		/* the last word: the token the header meant to carry */
		for (*tok = end; *tok > sp + 1 && (*tok)[-1] != ' '; (*tok)--)
			;
		*len = (size_t)(end - *tok);
	}
	/* the extractor reads to the NUL: what was trimmed above stays out */
	if (*tok + *len > end)
		*len = *tok < end ? (size_t)(end - *tok) : 0;
}

enum ac_err
ac_explain_verify(const struct ac_explain_case *c, struct ac_buf *out, struct ac_buf *diag,
    enum ac_explain_verdict *verdict)
{
	struct out o = { out, AC_OK }, d = { diag, AC_OK };
	struct ac_token_policy pol;
	struct ac_token_report r;
	struct ac_token t;
	const char *tok, *scheme;
	size_t len, i, n;
	enum ac_err err;

	if (c == NULL || c->token == NULL || c->key == NULL || c->policy == NULL || out == NULL ||
	    diag == NULL || verdict == NULL)
		return AC_ERR_INVALID;
	*verdict = AC_EXPLAIN_MALFORMED;
	token_of(c->token, c->token_len, &tok, &len, &scheme);
	err = ac_token_parse(tok, len, &t);
	if (err == AC_ERR_NOMEM)
		return err;
	if (err != AC_OK) {
		if (scheme)
			problem_text(&o, AC_ERR_TOKEN_MISSING, scheme);
		say(&o, "%s: not a well-formed compact JWS\n", ac_err_code(err));
		malformed(tok, len, &d);
		return o.err != AC_OK ? o.err : d.err;
	}
	pol = *c->policy;
	/* no tenant named: the token's iss names it, as the server looks tenants up by iss */
	if (!pol.outbound && pol.aud_rule == AC_TOKEN_AUD_OPTIONAL && pol.aud == NULL)
		pol.aud = t.iss;
	ac_token_report_init(&r);
	err = ac_token_verify(&t, c->key, c->keylen, &pol, c->expected_qsh, &r);
	*verdict = AC_EXPLAIN_INVALID;
	if (err == AC_OK && scheme == NULL) {
		say(&o, "valid\n");
		*verdict = AC_EXPLAIN_VALID;
		err = o.err;
		goto out;
	}
	if (err == AC_ERR_INVALID)
		goto out;
	n = r.n + (scheme != NULL);
	if (err != AC_OK && r.n == 0) {
		err = AC_ERR_NOMEM; /* only an allocation leaves a failure unexplained */
		goto out;
	}
	say(&o, "invalid: %zu problem%s\n", n, n == 1 ? "" : "s");
	if (scheme)
		problem_text(&o, AC_ERR_TOKEN_MISSING, scheme);
	for (i = 0; i < r.n; i++) {
		problem_text(&o, r.v[i].err, r.v[i].text);
		if (r.v[i].err == AC_ERR_QSH_MISMATCH && t.qsh && strcmp(t.qsh, AC_TOKEN_CONTEXT_QSH))
			qsh_mistakes(c->method, c->url, c->base_url, t.qsh, &o);
		hint(&o, &r.v[i], &pol);
	}
	err = o.err;
out:
	ac_token_report_release(&r);
	ac_token_release(&t);
	return err;
}

enum ac_err
ac_explain_direction(enum ac_policy_kind kind, const char *base, const char *base_name,
    int relative, struct ac_buf *out)
{
	struct out o = { out, AC_OK };
	int outbound = kind == AC_POLICY_OUTBOUND;

	if (out == NULL || base == NULL)
		return AC_ERR_INVALID;
	say(&o, "checked as %s: the URL is ", ac_policy_describe(kind));
	if (relative)
		say(&o, "a path that names %s route of the app", outbound ? "no" : "a");
	else
		say(&o, "%s %s %s", outbound ? "on" : "under", base_name ? base_name : "the base URL",
		    base);
	say(&o, " (%s checks it as %s)\n", outbound ? "--inbound" : "--outbound",
	    ac_policy_describe(outbound ? AC_POLICY_INBOUND : AC_POLICY_OUTBOUND));
	return o.err;
}
