/* cmd-jwt.c: `acctl jwt qsh|sign|decode|verify`, the JWT workbench that explains 401s. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acctl.h"
#include "buf.h"
#include "canon.h"
#include "clock.h"
#include "conf.h"
#include "store.h"
#include "tenant.h"
#include "token.h"

#define SECRET_MAX (64 * 1024)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: acctl jwt qsh [--base-url URL] METHOD URL\n"
	    "       acctl jwt sign (--secret S | --secret-file FILE) --iss ISS [--sub SUB]\n"
	    "                 [--aud AUD]... [--ttl SECONDS] [--claim NAME=VALUE]...\n"
	    "                 [--context-qsh | --no-qsh] [--base-url URL] METHOD URL\n"
	    "       acctl jwt decode TOKEN\n"
	    "       acctl jwt verify (--secret S | --secret-file FILE | --public-key FILE |\n"
	    "                 --tenant CLIENTKEY) [--base-url URL] [--leeway N] [--outbound]\n"
	    "                 [--product bitbucket|jira] [--app-key KEY] [--client-key KEY]\n"
	    "                 [--aud AUD] [--context-qsh] METHOD URL TOKEN\n"
	    "A secret, secret file or TOKEN of '-' is read from standard input.\n"
	    "Exit status: 0 ok/valid, 1 invalid token, 2 unusable input. See acctl(1).\n");
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The message, then the usage, on stderr; returns the exit status 2. */
static int
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "acctl jwt: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

/* ---------------------------------------------------------------- input */

/* Reads all of f (at most max bytes) into a NUL-terminated malloc'd string. */
static char *
read_all(FILE *f, size_t max, size_t *len)
{
	struct ac_buf b;
	char chunk[4096];
	size_t n;
	char *out = NULL;

	ac_buf_init(&b, max);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (ac_buf_add(&b, chunk, n) != AC_OK)
			goto fail;
	if (ferror(f))
		goto fail;
	if (b.data == NULL && ac_buf_adds(&b, "") != AC_OK)
		goto fail;
	if (ac_buf_detach(&b, &out, len) != AC_OK)
		goto fail;
	return out;
fail:
	OPENSSL_cleanse(b.data, b.alloc);
	ac_buf_release(&b);
	return NULL;
}

/* A secret or token from a file or '-' (stdin), one trailing newline removed. */
static char *
read_source(const char *path, size_t max, size_t *len, const char *what)
{
	FILE *f = stdin;
	char *s;

	if (strcmp(path, "-") != 0 && (f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "acctl jwt: %s: %s: %s\n", what, path, strerror(errno));
		return NULL;
	}
	s = read_all(f, max, len);
	if (f != stdin)
		fclose(f);
	if (s == NULL) {
		fprintf(stderr, "acctl jwt: %s: unreadable or larger than %zu bytes\n", what, max);
		return NULL;
	}
	if (*len > 0 && s[*len - 1] == '\n')
		s[--*len] = '\0';
	if (*len > 0 && s[*len - 1] == '\r')
		s[--*len] = '\0';
	return s;
}

struct secret {
	char *data; /* owned, wiped on release */
	size_t len;
	int from_stdin;
};

static void
secret_release(struct secret *s)
{
	if (s->data) {
		OPENSSL_cleanse(s->data, s->len);
		free(s->data);
	}
	s->data = NULL;
	s->len = 0;
}

/* --secret S (S "-": stdin) or --secret-file FILE (FILE "-": stdin). */
static int
secret_set(struct secret *s, const char *arg, int is_file)
{
	if (s->data != NULL) {
		fprintf(stderr, "acctl jwt: give one secret or key\n");
		return -1;
	}
	if (!is_file && strcmp(arg, "-") != 0) {
		s->len = strlen(arg);
		s->data = malloc(s->len + 1);
		if (s->data == NULL)
			return -1;
		memcpy(s->data, arg, s->len + 1);
		return 0;
	}
	s->from_stdin = !strcmp(arg, "-");
	s->data = read_source(arg, SECRET_MAX, &s->len, "secret");
	return s->data ? 0 : -1;
}

static int
method_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i]; i++)
		if (!isalpha((unsigned char)m[i]))
			return 0;
	return i > 0 && i <= 16;
}

/* The canonical request and its qsh, or a message and -1. */
static int
canonical(const char *method, const char *url, const char *base_url, struct ac_buf *out,
    char hex[AC_QSH_HEX_LEN])
{
	enum ac_err err;

	if (!method_ok(method)) {
		fprintf(stderr, "acctl jwt: '%s' is not an HTTP method\n", method);
		return -1;
	}
	if (*url == '\0') {
		fprintf(stderr, "acctl jwt: the URL is empty\n");
		return -1;
	}
	err = ac_canon_outbound(method, url, base_url, out);
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: cannot build the canonical request of '%s': %s\n", url,
		    ac_strerror(err));
		return -1;
	}
	ac_canon_qsh(ac_buf_str(out), out->len, hex);
	return 0;
}

/* ---------------------------------------------------------------- qsh */

static const struct option qsh_opts[] = {
	{ "base-url", required_argument, NULL, 'b' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_qsh(int argc, char **argv)
{
	const char *base_url = NULL;
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN];
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "b:h", qsh_opts, NULL)) != -1) {
		switch (o) {
		case 'b': base_url = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 2)
		return bad_usage("qsh takes METHOD URL");
	ac_buf_init(&c, AC_CANON_MAX);
	rc = canonical(argv[optind], argv[optind + 1], base_url, &c, hex) == 0 ? 0 : 2;
	if (rc == 0)
		printf("%s\n%s\n", ac_buf_str(&c), hex);
	ac_buf_release(&c);
	return rc;
}

/* ---------------------------------------------------------------- sign */

static const struct option sign_opts[] = {
	{ "secret", required_argument, NULL, 's' },
	{ "secret-file", required_argument, NULL, 'S' },
	{ "iss", required_argument, NULL, 'i' },
	{ "sub", required_argument, NULL, 'u' },
	{ "aud", required_argument, NULL, 'a' },
	{ "ttl", required_argument, NULL, 't' },
	{ "claim", required_argument, NULL, 'c' },
	{ "base-url", required_argument, NULL, 'b' },
	{ "context-qsh", no_argument, NULL, 'C' },
	{ "no-qsh", no_argument, NULL, 'N' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* VALUE as strict JSON when it is JSON (123, true, ["a"], {"k":1}), else as a string. */
static struct json_object *
claim_value(const char *v)
{
	struct json_tokener *tok = json_tokener_new_ex(AC_TOKEN_JSON_DEPTH);
	struct json_object *o = NULL;
	size_t n = strlen(v);

	if (tok != NULL && n > 0) {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		/* with its NUL, so that a bare number ends */
		o = json_tokener_parse_ex(tok, v, (int)n + 1);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) < n) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	return o ? o : json_object_new_string(v);
}

static int
cmd_sign(int argc, char **argv)
{
	struct secret secret = { NULL, 0, 0 };
	const char *iss = NULL, *sub = NULL, *base_url = NULL;
	struct json_object *claims = NULL, *auds = NULL, *extra = NULL;
	long ttl = AC_TOKEN_TTL;
	int o, rc = 2, qsh_mode = 0; /* 0 computed, 1 context-qsh, 2 none */
	int64_t now;
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN], *tok = NULL, *eq;
	enum ac_err err;

	ac_buf_init(&c, AC_CANON_MAX);
	auds = json_object_new_array();
	extra = json_object_new_object();
	claims = json_object_new_object();
	if (auds == NULL || extra == NULL || claims == NULL)
		goto out;
	optind = 1;
	while ((o = getopt_long(argc, argv, "s:S:i:u:a:t:c:b:CNh", sign_opts, NULL)) != -1) {
		switch (o) {
		case 's':
		case 'S':
			if (secret_set(&secret, optarg, o == 'S') != 0)
				goto out;
			break;
		case 'i': iss = optarg; break;
		case 'u': sub = optarg; break;
		case 'a': json_object_array_add(auds, json_object_new_string(optarg)); break;
		case 't':
			if (parse_long(optarg, 1, 365L * 86400, &ttl) != 0) {
				rc = bad_usage("--ttl takes seconds, 1 to a year, not '%s'", optarg);
				goto out;
			}
			break;
		case 'c':
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg) {
				rc = bad_usage("--claim takes NAME=VALUE, not '%s'", optarg);
				goto out;
			}
			*eq = '\0';
			json_object_object_add(extra, optarg, claim_value(eq + 1));
			*eq = '=';
			break;
		case 'b': base_url = optarg; break;
		case 'C': qsh_mode = 1; break;
		case 'N': qsh_mode = 2; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (secret.data == NULL) {
		rc = bad_usage("sign needs --secret or --secret-file");
		goto out;
	}
	if (iss == NULL) {
		rc = bad_usage("sign needs --iss (outbound: the app key)");
		goto out;
	}
	if (qsh_mode == 0 ? argc - optind != 2 : argc - optind > 2) {
		rc = bad_usage("sign takes METHOD URL");
		goto out;
	}
	if (qsh_mode == 0 && canonical(argv[optind], argv[optind + 1], base_url, &c, hex) != 0)
		goto out;

	now = (int64_t)ac_clock_now();
	json_object_object_add(claims, "iss", json_object_new_string(iss));
	if (sub)
		json_object_object_add(claims, "sub", json_object_new_string(sub));
	if (json_object_array_length(auds) == 1)
		json_object_object_add(claims, "aud",
		    json_object_get(json_object_array_get_idx(auds, 0)));
	else if (json_object_array_length(auds) > 1)
		json_object_object_add(claims, "aud", json_object_get(auds));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(claims, "exp", json_object_new_int64(now + ttl));
	if (qsh_mode == 0)
		json_object_object_add(claims, "qsh", json_object_new_string(hex));
	else if (qsh_mode == 1)
		json_object_object_add(claims, "qsh", json_object_new_string(AC_TOKEN_CONTEXT_QSH));
	{
		/* --claim last, so that it can also override (to build broken tokens on purpose) */
		json_object_object_foreach(extra, k, v)
			json_object_object_add(claims, k, json_object_get(v));
	}
	err = ac_token_sign_hs256(claims, secret.data, secret.len, &tok);
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: signing failed: %s\n", ac_strerror(err));
		rc = 2;
		goto out;
	}
	printf("%s\n", tok);
	rc = 0;
out:
	ac_buf_free_secret_str(tok);
	json_object_put(claims);
	json_object_put(extra);
	json_object_put(auds);
	ac_buf_release(&c);
	secret_release(&secret);
	return rc;
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

static void
utc(int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "?");
}

static struct json_object *
date_info(int64_t t, int64_t now)
{
	struct json_object *o = json_object_new_object();
	char buf[64];

	json_object_object_add(o, "value", json_object_new_int64(t));
	utc(t, buf, sizeof(buf));
	json_object_object_add(o, "utc", json_object_new_string(buf));
	relative(t - now, buf, sizeof(buf));
	json_object_object_add(o, "relative", json_object_new_string(buf));
	return o;
}

/* What is wrong with a token that ac_token_parse() refused, for a human. */
static void
explain_malformed(const char *tok, size_t len)
{
	size_t i, dots = 0;
	int pad = 0, std = 0, space = 0, other = 0;

	if (len > AC_TOKEN_MAX) {
		fprintf(stderr, "  it is %zu bytes; tokens are at most %d\n", len, AC_TOKEN_MAX);
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
		fprintf(stderr, "  it has %zu segments; a compact JWS has 3 (header.claims.signature)\n",
		    dots + 1);
	if (pad)
		fprintf(stderr, "  it contains '=': JWTs use base64url without padding\n");
	if (std)
		fprintf(stderr, "  it contains '+' or '/': that is base64, not base64url ('-', '_')\n");
	if (space)
		fprintf(stderr, "  it contains whitespace (a line break from copy and paste?)\n");
	if (other)
		fprintf(stderr, "  it contains characters outside base64url\n");
	if (dots == 2 && !pad && !std && !space && !other)
		fprintf(stderr, "  the header or claims are not a strict JSON object, a registered "
		    "claim has the wrong type (exp/nbf/iat numbers within +-10^11 s of the epoch; iss/sub/qsh "
		    "strings; aud string or array of strings), alg is missing, or the signature is empty\n");
}

/* TOKEN, or '-' for stdin; caller frees. */
static char *
token_arg(const char *arg, size_t *len)
{
	char *s;

	if (!strcmp(arg, "-"))
		return read_source("-", 1024 * 1024, len, "token");
	*len = strlen(arg);
	s = malloc(*len + 1);
	if (s)
		memcpy(s, arg, *len + 1);
	return s;
}

static int
cmd_decode(int argc, char **argv)
{
	struct json_object *out, *dates;
	struct ac_token t;
	char *tok;
	size_t len;
	int64_t now = (int64_t)ac_clock_now();

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2)
		return bad_usage("decode takes TOKEN");
	if ((tok = token_arg(argv[1], &len)) == NULL)
		return 2;
	if (ac_token_parse(tok, len, &t) != AC_OK) {
		fprintf(stderr, "acctl jwt: token_malformed: not a well-formed compact JWS\n");
		explain_malformed(tok, len);
		free(tok);
		return 2;
	}
	out = json_object_new_object();
	json_object_object_add(out, "unverified", json_object_new_boolean(1));
	json_object_object_add(out, "note", json_object_new_string(
	    "decoded only: the signature was NOT checked; use 'acctl jwt verify'"));
	json_object_object_add(out, "header", json_object_get(t.header));
	json_object_object_add(out, "claims", json_object_get(t.claims));
	dates = json_object_new_object();
	if (t.has_iat)
		json_object_object_add(dates, "iat", date_info(t.iat, now));
	if (t.has_nbf)
		json_object_object_add(dates, "nbf", date_info(t.nbf, now));
	if (t.has_exp)
		json_object_object_add(dates, "exp", date_info(t.exp, now));
	json_object_object_add(out, "dates", dates);
	json_object_object_add(out, "signature_bytes", json_object_new_int64((int64_t)t.sig_len));
	printf("%s\n", json_object_to_json_string_ext(out,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	ac_token_release(&t);
	ac_buf_free_secret_str(tok);
	return 0;
}

/* ---------------------------------------------------------------- verify: qsh mistakes */

struct url_parts {
	char origin[512];  /* "https://host:port", "" for a relative url */
	char ctx[512];     /* context path of the base url, no trailing '/' */
	char raw_query[4096];
};

static void
split_url(const char *url, const char *base_url, struct url_parts *u)
{
	const char *p, *slash, *q;
	size_t n;

	memset(u, 0, sizeof(*u));
	p = strstr(url, "://");
	if (p != NULL) {
		slash = strchr(p + 3, '/');
		n = slash ? (size_t)(slash - url) : strlen(url);
		if (n < sizeof(u->origin))
			memcpy(u->origin, url, n);
	}
	if (base_url != NULL && (p = strstr(base_url, "://")) != NULL) {
		slash = strchr(p + 3, '/');
		if (u->origin[0] == '\0') {
			n = slash ? (size_t)(slash - base_url) : strlen(base_url);
			if (n < sizeof(u->origin))
				memcpy(u->origin, base_url, n);
		}
		if (slash) {
			n = strlen(slash);
			while (n > 0 && slash[n - 1] == '/')
				n--;
			if (n < sizeof(u->ctx))
				memcpy(u->ctx, slash, n);
		}
	}
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

/* Percent-decodes s in place ('+' is a space), as a form decoder would. */
static void
url_decode(char *s)
{
	char *w = s, hx[3] = { 0, 0, 0 };

	for (; *s; s++) {
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			hx[0] = s[1];
			hx[1] = s[2];
			*w++ = (char)strtol(hx, NULL, 16);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
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
		if (*p == '\0' || (!keep_jwt && (!strcmp(p, "jwt") || !strncmp(p, "jwt=", 4))))
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
try_variant(const char *label, const char *m, const char *path, const char *q,
    const char *token_qsh, int *found)
{
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN];

	ac_buf_init(&c, AC_CANON_MAX);
	if (ac_buf_printf(&c, "%s&%s&%s", m, path, q) == AC_OK) {
		ac_canon_qsh(ac_buf_str(&c), c.len, hex);
		if (!strcmp(hex, token_qsh)) {
			printf("  the token's qsh is the hash of \"%s\": %s\n", ac_buf_str(&c), label);
			(*found)++;
		}
	}
	ac_buf_release(&c);
}

/* Tries the usual mistakes (seeds/002 and doc/protocol.md §2) to say which one the signer made. */
static void
explain_qsh(const char *method, const char *url, const char *base_url, const char *token_qsh)
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
	printf("  expected canonical request: \"%s\"\n", ac_buf_str(&c));
	printf("  expected qsh:               %s\n", hex);
	if (!strcasecmp(token_qsh, hex)) {
		printf("  the token's qsh is this hash in upper case: qsh is lowercase hex\n");
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
		try_variant("the full URL (scheme and host) was hashed instead of the path; "
		    "qsh takes the path only", m, ac_buf_str(&v), q, token_qsh, &found);
		try_variant("the full URL was hashed instead of the path, and the query left out",
		    m, ac_buf_str(&v), "", token_qsh, &found);
		if (u.ctx[0]) {
			ac_buf_reset(&v);
			ac_buf_printf(&v, "%s%s", u.origin, path);
			try_variant("the full URL (scheme and host) was hashed instead of the path",
			    m, ac_buf_str(&v), q, token_qsh, &found);
		}
	}
	if (u.ctx[0]) {
		ac_buf_reset(&v);
		ac_buf_printf(&v, "%s%s", u.ctx, path);
		try_variant("the context path of the base URL was left in; qsh paths start after it",
		    m, ac_buf_str(&v), q, token_qsh, &found);
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char label[96];

		if (!strcmp(methods[i], m))
			continue;
		snprintf(label, sizeof(label), "the token was made for %s, the request is %s",
		    methods[i], m);
		try_variant(label, methods[i], path, q, token_qsh, &found);
	}
	ac_buf_reset(&v);
	ac_buf_adds(&v, m);
	for (i = 0; i < v.len; i++)
		v.data[i] = (char)tolower((unsigned char)v.data[i]);
	try_variant("the method was not upper-cased", ac_buf_str(&v), path, q, token_qsh, &found);
	if (u.raw_query[0]) {
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 0, 0, 0, &v);
		try_variant("the query was hashed as written: sort the parameters and re-encode them",
		    m, path, ac_buf_str(&v), token_qsh, &found);
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 1, 0, 0, &v);
		try_variant("the query was sorted as written, not by its re-encoded keys",
		    m, path, ac_buf_str(&v), token_qsh, &found);
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 1, 0, 1, &v);
		try_variant("the query was decoded but not re-encoded (%XX upper case, space %20, "
		    "',' in a value %2C)", m, path, ac_buf_str(&v), token_qsh, &found);
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 0, 0, 1, &v);
		try_variant("the query was decoded but neither sorted nor re-encoded",
		    m, path, ac_buf_str(&v), token_qsh, &found);
		ac_buf_reset(&v);
		raw_query_variant(u.raw_query, 1, 1, 0, &v);
		try_variant("the jwt parameter was hashed; it is left out of qsh",
		    m, path, ac_buf_str(&v), token_qsh, &found);
		try_variant("the query was left out; qsh covers it", m, path, "", token_qsh, &found);
	}
	if (strcmp(path, "/") != 0) {
		ac_buf_reset(&v);
		ac_buf_printf(&v, "%s/", path);
		try_variant("a trailing '/' was kept; qsh drops one", m, ac_buf_str(&v), q, token_qsh,
		    &found);
		try_variant("the leading '/' is missing", m, path + 1, q, token_qsh, &found);
	}
	if (!found)
		printf("  the token's qsh matches none of the usual mistakes (full URL, context path, "
		    "method, query order or encoding, trailing slash): the token was made for "
		    "another request, or with a different base URL (--base-url)\n");
out:
	ac_buf_release(&v);
	ac_buf_release(&c);
}

/* ---------------------------------------------------------------- verify */

static const struct option verify_opts[] = {
	{ "secret", required_argument, NULL, 's' },
	{ "secret-file", required_argument, NULL, 'S' },
	{ "public-key", required_argument, NULL, 'k' },
	{ "tenant", required_argument, NULL, 'T' },
	{ "base-url", required_argument, NULL, 'b' },
	{ "leeway", required_argument, NULL, 'l' },
	{ "outbound", no_argument, NULL, 'o' },
	{ "product", required_argument, NULL, 'p' },
	{ "app-key", required_argument, NULL, 'A' },
	{ "client-key", required_argument, NULL, 'K' },
	{ "aud", required_argument, NULL, 'a' },
	{ "context-qsh", no_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Prints text indented after its first line. */
static void
print_problem(const struct ac_token_problem *p)
{
	const char *s = p->text, *nl;

	printf("%s: ", ac_err_code(p->err));
	while ((nl = strchr(s, '\n')) != NULL) {
		printf("%.*s\n  ", (int)(nl - s), s);
		s = nl + 1;
	}
	printf("%s\n", s);
}

/* --tenant: the secret and names of an installed tenant from AC_DATA_DIR. */
static int
load_tenant(const char *client_key, struct secret *secret, struct ac_tenant *tenant,
    int *have_tenant, struct ac_conf *conf, int *have_conf)
{
	struct ac_store *st = NULL;
	char *why = NULL;
	enum ac_err err;

	if (ac_conf_load(conf, ".", &why) != AC_OK) {
		fprintf(stderr, "acctl jwt: configuration: %s\n", why ? why : "error");
		free(why);
		return 2;
	}
	*have_conf = 1;
	if (acctl_as_data_owner(conf->data_dir) != 0)
		return 2;
	err = ac_store_open(conf->data_dir, 0, AC_STORE_RDONLY, &st);
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: cannot open the store in %s: %s\n", conf->data_dir,
		    ac_strerror(err));
		return 2;
	}
	err = ac_tenant_get(st, client_key, tenant);
	ac_store_close(st);
	if (err == AC_ERR_UNKNOWN_TENANT) {
		printf("%s: no tenant with clientKey \"%s\" in %s: the app was never installed "
		    "there, or the clientKey is mistyped\n", ac_err_code(err), client_key,
		    conf->data_dir);
		return 1;
	}
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: reading tenant: %s\n", ac_strerror(err));
		return 2;
	}
	*have_tenant = 1;
	secret->len = strlen(tenant->shared_secret);
	secret->data = malloc(secret->len + 1);
	if (secret->data == NULL)
		return 2;
	memcpy(secret->data, tenant->shared_secret, secret->len + 1);
	return 0;
}

static long
default_leeway(void)
{
	const char *s = getenv("AC_LEEWAY");
	long v;

	if (s && parse_long(s, 0, 3600, &v) == 0)
		return v;
	return 60;
}

static int
cmd_verify(int argc, char **argv)
{
	struct secret key = { NULL, 0, 0 };
	struct ac_tenant tenant;
	struct ac_conf conf;
	struct ac_token_policy p;
	struct ac_token_report r;
	struct ac_token t;
	struct ac_buf c;
	const char *tenant_key = NULL, *base_url = NULL, *product = NULL, *aud = NULL;
	char hex[AC_QSH_HEX_LEN], *tok = NULL;
	size_t len, i;
	long leeway = -1;
	int o, rc = 2, rs256 = 0, have_tenant = 0, have_conf = 0, parsed = 0, jira;
	enum ac_err err;

	memset(&p, 0, sizeof(p));
	memset(&tenant, 0, sizeof(tenant));
	ac_token_report_init(&r);
	ac_buf_init(&c, AC_CANON_MAX);
	optind = 1;
	while ((o = getopt_long(argc, argv, "s:S:k:T:b:l:op:A:K:a:Ch", verify_opts, NULL)) != -1) {
		switch (o) {
		case 's':
		case 'S':
		case 'k':
			if (tenant_key || secret_set(&key, optarg, o != 's') != 0) {
				if (tenant_key)
					fprintf(stderr, "acctl jwt: give one secret or key\n");
				goto out;
			}
			rs256 = o == 'k';
			break;
		case 'T':
			if (key.data || tenant_key) {
				fprintf(stderr, "acctl jwt: give one secret or key\n");
				goto out;
			}
			tenant_key = optarg;
			break;
		case 'b': base_url = optarg; break;
		case 'l':
			if (parse_long(optarg, 0, 86400, &leeway) != 0) {
				rc = bad_usage("--leeway takes seconds, not '%s'", optarg);
				goto out;
			}
			break;
		case 'o': p.outbound = 1; break;
		case 'p':
			if (strcmp(optarg, "bitbucket") && strcmp(optarg, "jira")) {
				rc = bad_usage("--product is bitbucket or jira, not '%s'", optarg);
				goto out;
			}
			product = optarg;
			break;
		case 'A': p.app_key = optarg; break;
		case 'K': p.client_key = optarg; break;
		case 'a': aud = optarg; break;
		case 'C': p.allow_context_qsh = 1; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (argc - optind != 3) {
		rc = bad_usage("verify takes METHOD URL TOKEN");
		goto out;
	}
	if (key.data == NULL && tenant_key == NULL) {
		rc = bad_usage("verify needs --secret, --secret-file, --public-key or --tenant");
		goto out;
	}
	if (key.from_stdin && !strcmp(argv[optind + 2], "-")) {
		rc = bad_usage("the secret and the token cannot both come from stdin");
		goto out;
	}
	if (tenant_key) {
		rc = load_tenant(tenant_key, &key, &tenant, &have_tenant, &conf, &have_conf);
		if (rc != 0)
			goto out;
		rc = 2;
		if (!p.client_key)
			p.client_key = tenant.client_key;
		if (!p.app_key)
			p.app_key = *tenant.key ? tenant.key : conf.app_key;
		if (!product)
			product = ac_conf_product_name(tenant.product);
		if (!base_url)
			base_url = !p.outbound ? conf.base_url :
			    (*tenant.base_api_url ? tenant.base_api_url : tenant.base_url);
		if (leeway < 0)
			leeway = conf.leeway;
	}
	if (leeway < 0)
		leeway = default_leeway();
	jira = product && !strcmp(product, "jira");
	if ((tok = token_arg(argv[optind + 2], &len)) == NULL)
		goto out;
	if (canonical(argv[optind], argv[optind + 1], base_url, &c, hex) != 0)
		goto out;

	err = ac_token_parse(tok, len, &t);
	if (err != AC_OK) {
		printf("%s: not a well-formed compact JWS\n", ac_err_code(err));
		fflush(stdout);
		explain_malformed(tok, len);
		rc = 1;
		goto out;
	}
	parsed = 1;

	p.alg = rs256 ? AC_TOKEN_RS256 : AC_TOKEN_HS256;
	p.leeway = leeway;
	if (p.outbound) {
		/* doc/protocol.md §2, app -> product: iss app key; Bitbucket sub clientKey;
		 * Jira aud [clientKey] */
		p.iss = p.app_key;
		if (!jira)
			p.sub = p.client_key;
		p.aud_rule = jira && p.client_key ? AC_TOKEN_AUD_OPTIONAL : AC_TOKEN_AUD_ANY;
		p.aud = p.client_key;
	} else if (rs256) {
		/* doc/protocol.md §5: signed install: aud is our baseUrl */
		p.iss = p.client_key;
		p.aud_rule = AC_TOKEN_AUD_URL;
		p.aud = aud ? aud : base_url;
	} else {
		/* doc/protocol.md §2: product -> app: iss clientKey; aud, when present, the same tenant */
		p.iss = p.client_key;
		p.aud_rule = AC_TOKEN_AUD_OPTIONAL;
		p.aud = aud ? aud : p.client_key ? p.client_key : t.iss;
	}
	if (aud && p.outbound) {
		p.aud_rule = AC_TOKEN_AUD_OPTIONAL;
		p.aud = aud;
	}

	err = ac_token_verify(&t, key.data, key.len, &p, hex, &r);
	if (err == AC_OK) {
		printf("valid\n");
		if (have_tenant && tenant.state == AC_TENANT_UNINSTALLED)
			printf("note: tenant \"%s\" has uninstalled the app; the server answers "
			    "tenant_uninstalled\n", tenant.client_key);
		rc = 0;
		goto out;
	}
	if (err == AC_ERR_INVALID || r.n == 0) {
		fprintf(stderr, "acctl jwt: cannot verify: %s\n", ac_strerror(err));
		goto out;
	}
	printf("invalid: %zu problem%s\n", r.n, r.n == 1 ? "" : "s");
	for (i = 0; i < r.n; i++) {
		print_problem(&r.v[i]);
		if (r.v[i].err == AC_ERR_QSH_MISMATCH && t.qsh && strcmp(t.qsh, AC_TOKEN_CONTEXT_QSH))
			explain_qsh(argv[optind], argv[optind + 1], base_url, t.qsh);
	}
	if (have_tenant && tenant.state == AC_TENANT_UNINSTALLED)
		printf("tenant_uninstalled: tenant \"%s\" has uninstalled the app\n",
		    tenant.client_key);
	rc = 1;
out:
	if (parsed)
		ac_token_release(&t);
	ac_buf_free_secret_str(tok);
	ac_token_report_release(&r);
	ac_buf_release(&c);
	secret_release(&key);
	if (have_tenant)
		ac_tenant_release(&tenant);
	if (have_conf)
		ac_conf_release(&conf);
	return rc;
}

/* ---------------------------------------------------------------- dispatch */

int
acctl_cmd_jwt(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} subs[] = {
		{ "qsh", cmd_qsh },
		{ "sign", cmd_sign },
		{ "decode", cmd_decode },
		{ "verify", cmd_verify },
	};
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(argc - 1, argv + 1);
	return bad_usage("unknown subcommand '%s'", argv[1]);
}
