/* test-canon.c: the canonical request and qsh (doc/protocol.md §3) against vectors and per rule. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/buf.h"
#include "auth/canon.h"
#include "base/err.h"
#include "unit.h"

#ifndef AC_SRCDIR
#define AC_SRCDIR "."
#endif

/* The shared vectors (tests/fixtures) and, when AC_QSH_VECTORS names a file, the team's fuller set. */
static struct json_object *vectors;
static struct json_object *extra_vectors;
static const char *extra_path;

/* ------------------------------------------------------------ helpers */

/* Outbound canonical of (method, url, base) must be want; its qsh is checked when given. */
static void
check_out(const char *method, const char *url, const char *base, const char *want)
{
	struct ac_buf b;
	enum ac_err err;

	ac_buf_init(&b, AC_CANON_MAX);
	err = ac_canon_outbound(method, url, base, &b);
	ck_assert_msg(err == AC_OK, "outbound %s %s: %s", method, url, ac_err_code(err));
	ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
	    "outbound %s %s (base %s):\n got  \"%s\"\n want \"%s\"", method, url,
	    base ? base : "(null)", ac_buf_str(&b), want);
	ac_buf_release(&b);
}

/* Inbound canonical of (method, uri[0..uri_len), ctx) must be want[0..want_len). */
static void
check_in_n(const char *method, const char *uri, size_t uri_len, const char *ctx,
    const char *want, size_t want_len)
{
	struct ac_buf b;
	enum ac_err err;

	ac_buf_init(&b, AC_CANON_MAX);
	err = ac_canon_inbound(method, strlen(method), uri, uri_len, ctx, ctx ? strlen(ctx) : 0, &b);
	ck_assert_msg(err == AC_OK, "inbound %s %s: %s", method, uri, ac_err_code(err));
	ck_assert_msg(b.len == want_len && memcmp(b.data, want, want_len) == 0,
	    "inbound %s %s (context %s):\n got  \"%s\"\n want \"%s\"", method, uri,
	    ctx ? ctx : "(null)", ac_buf_str(&b), want);
	ac_buf_release(&b);
}

static void
check_in(const char *method, const char *uri, const char *ctx, const char *want)
{
	check_in_n(method, uri, strlen(uri), ctx, want, strlen(want));
}

/* A relative uri gives the same answer both ways: one code path after the origin. */
static void
check_both(const char *method, const char *uri, const char *want)
{
	check_in(method, uri, NULL, want);
	check_out(method, uri, NULL, want);
}

static struct json_object *
load_vectors(const char *path)
{
	struct json_object *root = json_object_from_file(path);

	if (root != NULL && !json_object_is_type(root, json_type_array)) {
		json_object_put(root);
		root = NULL;
	}
	if (root == NULL)
		fprintf(stderr, "# cannot load qsh vectors from %s: %s\n", path, json_util_get_last_err());
	return root;
}

static const char *
field(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The path of an absolute URL ("" when it has none), for the inbound cross-check. */
static const char *
after_origin(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return NULL;
	p += 3;
	return p + strcspn(p, "/?#");
}

static void
run_vector(struct json_object *set, int i)
{
	struct json_object *v = json_object_array_get_idx(set, (size_t)i);
	const char *name = field(v, "name"), *method = field(v, "method"), *url = field(v, "url");
	const char *base = field(v, "baseUrl"), *canonical = field(v, "canonical");
	const char *qsh = field(v, "qsh"), *uri, *ctx;
	char hex[AC_QSH_HEX_LEN];
	struct ac_buf b;
	enum ac_err err;

	ck_assert_msg(method && url && canonical && qsh, "vector %d lacks a field", i);
	if (name == NULL)
		name = "(unnamed)";
	ac_buf_init(&b, AC_CANON_MAX);
	err = ac_canon_outbound(method, url, base, &b);
	ck_assert_msg(err == AC_OK, "vector \"%s\": %s", name, ac_err_code(err));
	ck_assert_msg(strcmp(ac_buf_str(&b), canonical) == 0,
	    "vector \"%s\":\n got  \"%s\"\n want \"%s\"", name, ac_buf_str(&b), canonical);
	ac_canon_qsh(b.data, b.len, hex);
	ck_assert_msg(strcmp(hex, qsh) == 0, "vector \"%s\": qsh %s, want %s", name, hex, qsh);

	/* received as a request: REQUEST_URI is the part after the origin, our context the base's path */
	if ((uri = after_origin(url)) != NULL) {
		ctx = base ? after_origin(base) : NULL;
		ac_buf_reset(&b);
		err = ac_canon_inbound(method, strlen(method), uri, strlen(uri), ctx,
		    ctx ? strcspn(ctx, "?#") : 0, &b);
		ck_assert_msg(err == AC_OK && strcmp(ac_buf_str(&b), canonical) == 0,
		    "vector \"%s\" inbound: got \"%s\" (%s)", name, ac_buf_str(&b), ac_err_code(err));
	}
	ac_buf_release(&b);
}

/* ------------------------------------------------------------ vectors */

START_TEST(test_vectors_loaded)
{
	ck_assert_msg(vectors != NULL, "tests/fixtures/qsh-vectors.json did not load");
	ck_assert_int_gt((int)json_object_array_length(vectors), 0);
}
END_TEST

START_TEST(test_vector)
{
	run_vector(vectors, _i);
}
END_TEST

START_TEST(test_extra_vectors_loaded)
{
	ck_assert_msg(extra_vectors != NULL, "AC_QSH_VECTORS=%s did not load", extra_path);
}
END_TEST

START_TEST(test_extra_vector)
{
	run_vector(extra_vectors, _i);
}
END_TEST

/* ------------------------------------------------------------ rules */

START_TEST(test_empty_and_root)
{
	char hex[AC_QSH_HEX_LEN];

	/* doc/protocol.md §3: both '&' always there; no query gives GET&/& */
	check_both("GET", "", "GET&/&");
	check_both("GET", "/", "GET&/&");
	check_both("GET", "?", "GET&/&");
	check_both("GET", "/?", "GET&/&");
	check_both("GET", "/p?", "GET&/p&");
	check_both("GET", "/p?&&&", "GET&/p&");
	check_out("GET", "https://example.com", "https://example.com", "GET&/&");
	check_out("GET", "https://example.com/", NULL, "GET&/&");
	ac_canon_qsh("GET&/&", 6, hex);
	ck_assert_str_eq(hex, "c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239");
	/* Bitbucket's webhook qsh: no body, no query */
	check_in("post", "/webhook", NULL, "POST&/webhook&");
	ac_canon_qsh("POST&/webhook&", 14, hex);
	ck_assert_str_eq(hex, "202e1fcb819506f8ba2d4f2eba43dc8b9f635f263eb53df8a64dea718eeedeb6");
}
END_TEST

START_TEST(test_method)
{
	struct ac_buf b;

	check_both("get", "/", "GET&/&");
	check_both("pAtCh", "/", "PATCH&/&");
	/* non-letters pass unchanged; only ASCII is case-mapped */
	check_both("M-SEARCH", "/", "M-SEARCH&/&");
	ac_buf_init(&b, AC_CANON_MAX);
	ck_assert_int_eq(ac_canon_inbound("", 0, "/", 1, NULL, 0, &b), AC_ERR_INVALID);
	ck_assert_int_eq(ac_canon_inbound(NULL, 3, "/", 1, NULL, 0, &b), AC_ERR_INVALID);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, NULL, 1, NULL, 0, &b), AC_ERR_INVALID);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, "/", 1, NULL, 5, &b), AC_OK);
	ac_buf_reset(&b);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, NULL, 0, NULL, 0, &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), "GET&/&");
	ck_assert_int_eq(ac_canon_outbound("", "/", NULL, &b), AC_ERR_INVALID);
	ck_assert_int_eq(ac_canon_outbound(NULL, "/", NULL, &b), AC_ERR_INVALID);
	ck_assert_int_eq(ac_canon_outbound("GET", NULL, NULL, &b), AC_ERR_INVALID);
	ac_buf_release(&b);
}
END_TEST

START_TEST(test_inbound_context_path)
{
	check_in("GET", "/ctx/hello?b=2&a=1", "/ctx", "GET&/hello&a=1&b=2");
	check_in("GET", "/ctx/hello/", "/ctx", "GET&/hello&");
	check_in("GET", "/ctx", "/ctx", "GET&/&");
	check_in("GET", "/ctx/", "/ctx", "GET&/&");
	check_in("GET", "/ctx?x=1", "/ctx", "GET&/&x=1");
	/* case-sensitive */
	check_in("GET", "/CTX/hello", "/ctx", "GET&/CTX/hello&");
	/* a plain string prefix, not a path segment (as Java and npm both do) */
	check_in("GET", "/ctxother/x", "/ctx", "GET&/other/x&");
	/* not a prefix: untouched */
	check_in("GET", "/other/ctx/x", "/ctx", "GET&/other/ctx/x&");
	/* empty and NULL context: nothing removed */
	check_in("GET", "/ctx/x", "", "GET&/ctx/x&");
	check_in("GET", "/ctx/x", NULL, "GET&/ctx/x&");
	/* a context with a trailing slash leaves a relative rest, which gets its '/' back */
	check_in("GET", "/wiki/rest", "/wiki/", "GET&/rest&");
}
END_TEST

START_TEST(test_outbound_urls)
{
	const char *base = "https://example.atlassian.net/wiki";

	check_out("GET", "https://example.atlassian.net/wiki/rest/api/space?limit=25", base,
	    "GET&/rest/api/space&limit=25");
	check_out("GET", "/wiki/rest/api/space", base, "GET&/rest/api/space&");
	check_out("GET", "/rest/api/space", base, "GET&/rest/api/space&");
	check_out("GET", "rest/api/space", base, "GET&/rest/api/space&");
	check_out("GET", "https://example.atlassian.net/wiki", base, "GET&/&");
	check_out("GET", "https://example.atlassian.net?x=1", base, "GET&/&x=1");
	check_out("GET", "https://example.atlassian.net/WIKI/x", base, "GET&/WIKI/x&");
	/* host, port, user info and scheme never reach the canonical request */
	check_out("POST", "http://user:pw@127.0.0.1:8080/2.0/user?x", NULL, "POST&/2.0/user&x=");
	check_out("GET", "HTTPS://EXAMPLE.COM/A", NULL, "GET&/A&");
	check_out("GET", "git+ssh://h/p", NULL, "GET&/p&");
	/* base URL with a query or fragment: only its path is the context */
	check_out("GET", "https://h/ctx/a", "https://h/ctx?x=1", "GET&/a&");
	check_out("GET", "https://h/ctx/a", "https://h/ctx#f", "GET&/a&");
	check_out("GET", "https://h/ctx/a", "https://h", "GET&/ctx/a&");
	check_out("GET", "https://h/ctx/a", "", "GET&/ctx/a&");
	/* fragment removed, and it ends the query: "/p#f?x" has none (as url.parse) */
	check_both("GET", "/p?a=1#frag", "GET&/p&a=1");
	check_both("GET", "/p#f?x=1", "GET&/p&");
	check_out("GET", "https://h.com#f", NULL, "GET&/&");
	/* not scheme://: a relative path, even with a colon */
	check_out("GET", "mailto:x", NULL, "GET&/mailto:x&");
	check_out("GET", "1http://h/p", NULL, "GET&/1http://h/p&");
	check_out("GET", "//host/p", NULL, "GET&//host/p&");
	check_out("GET", "https:/x", NULL, "GET&/https:/x&");
}
END_TEST

START_TEST(test_path_ampersand)
{
	check_both("GET", "/rest/api/2/project&a=b?x=y", "GET&/rest/api/2/project%26a=b&x=y");
	check_both("GET", "/a&b&", "GET&/a%26b%26&");
	check_both("GET", "&", "GET&/%26&");
	check_both("GET", "/a&&b/?q=a%26b", "GET&/a%26%26b&q=a%26b");
}
END_TEST

START_TEST(test_trailing_slash)
{
	check_both("GET", "/a/", "GET&/a&");
	check_both("GET", "/a//", "GET&/a/&");
	check_both("GET", "//", "GET&/&");
	check_both("GET", "a/", "GET&/a&");
	check_both("GET", "/a/?x=1", "GET&/a&x=1");
	/* kept as received: "//", dot segments, %2F, %2f */
	check_both("GET", "//a/./b/../c", "GET&//a/./b/../c&");
	check_both("GET", "/a%2Fb/c%2fd", "GET&/a%2Fb/c%2fd&");
}
END_TEST

START_TEST(test_path_raw)
{
	static const char nul_uri[] = "/a\0b?k=v";
	static const char nul_want[] = "GET&/a\0b&k=v";

	/* Java keeps these raw; npm escapes them and turns '\' into '/' (doc/protocol.md §3) */
	check_both("GET", "/a'b\"c{d|e}\\f^`<>", "GET&/a'b\"c{d|e}\\f^`<>&");
	check_both("GET", "/a b", "GET&/a b&");
	check_both("GET", "/\xc3\xa9t\xc3\xa9", "GET&/\xc3\xa9t\xc3\xa9&");
	/* raw bytes, even invalid UTF-8 and NUL: hashed as received */
	check_both("GET", "/\xff\xfe", "GET&/\xff\xfe&");
	check_in_n("GET", nul_uri, sizeof(nul_uri) - 1, NULL, nul_want, sizeof(nul_want) - 1);
	/* percent escapes in the path are not decoded */
	check_both("GET", "/%7Bx%7D%20", "GET&/%7Bx%7D%20&");
}
END_TEST

START_TEST(test_jwt_dropped)
{
	check_both("GET", "/p?jwt=abc", "GET&/p&");
	check_both("GET", "/p?jwt=1&jwt=2&a=1", "GET&/p&a=1");
	check_both("GET", "/p?jwt", "GET&/p&");
	check_both("GET", "/p?jwt=", "GET&/p&");
	/* decoded name: %6Awt is jwt */
	check_both("GET", "/p?%6Awt=x&a=1", "GET&/p&a=1");
	check_both("GET", "/p?jw%74=x", "GET&/p&");
	/* exactly jwt: case, prefixes and suffixes are ordinary keys */
	check_both("GET", "/p?JWT=1&Jwt=2&jwt2=3&xjwt=4&jwt+=5",
	    "GET&/p&JWT=1&Jwt=2&jwt%20=5&jwt2=3&xjwt=4");
	/* a jwt value is never decoded, whatever it holds */
	check_both("GET", "/p?jwt=%ZZ%FF%00", "GET&/p&");
}
END_TEST

/* The one lookup finds what the canonical query drops: the parameter whose decoded name is jwt. */
START_TEST(test_query_find)
{
	static const struct {
		const char *q, *name;
		size_t count;
		const char *val;
	} v[] = {
		{ "a=1&jwt=x.y.z&b=2", "jwt", 1, "x.y.z" },
		{ "%6Awt=x", "jwt", 1, "x" },
		{ "jw%74=x&jwt=y", "jwt", 2, "x" },
		{ "jwt", "jwt", 1, "" },
		{ "jwt=", "jwt", 1, "" },
		{ "JWT=1&Jwt=2&jwt2=3&xjwt=4&jwt+=5", "jwt", 0, NULL },
		{ "&&jwt=a&&", "jwt", 1, "a" },
		{ "", "jwt", 0, NULL },
		{ "client_key=a%2Bb&x=1", "client_key", 1, "a%2Bb" },
		{ "client+key=1", "client key", 1, "1" },
		{ "%zz=1", "%zz", 1, "1" },               /* a bad escape stays literal, as in the hash */
		{ "a=%6", "a", 1, "%6" },
		{ "jwt=%ZZ%FF%00", "jwt", 1, "%ZZ%FF%00" }, /* the value comes back raw */
	};
	const char *val;
	size_t i, n, count;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		count = ac_canon_query_find(v[i].q, strlen(v[i].q), v[i].name, &val, &n);
		ck_assert_msg(count == v[i].count, "%s: %zu of %s", v[i].q, count, v[i].name);
		if (v[i].val == NULL) {
			ck_assert_ptr_null(val);
			ck_assert_uint_eq(n, 0);
		} else {
			ck_assert_msg(n == strlen(v[i].val) && !memcmp(val, v[i].val, n), "%s: %.*s", v[i].q, (int)n, val);
		}
	}
	/* pointer and length: nothing past n is read */
	ck_assert_uint_eq(ac_canon_query_find("a=1&jwt=x", 3, "jwt", NULL, NULL), 0);
	ck_assert_uint_eq(ac_canon_query_find("jwt=abc&jwt=d", 7, "jwt", &val, &n), 1);
	ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(test_decode)
{
	static const struct {
		const char *in, *out;
		size_t out_len;
	} v[] = {
		{ "a+b", "a b", 3 },
		{ "%41%62%2b%2B", "Ab++", 4 },
		{ "%", "%", 1 },
		{ "%4", "%4", 2 },
		{ "%4g%g4", "%4g%g4", 6 },
		{ "100%", "100%", 4 },
		{ "%00x", "\0x", 2 },
		{ "%e2%82%ac", "\xe2\x82\xac", 3 },
		{ "", "", 0 },
	};
	struct ac_buf b;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ac_buf_init(&b, 64);
		ck_assert_int_eq(ac_canon_decode(v[i].in, strlen(v[i].in), &b), AC_OK);
		ck_assert_msg(b.len == v[i].out_len && !memcmp(ac_buf_str(&b), v[i].out, b.len), "%s", v[i].in);
		ac_buf_release(&b);
	}
	ac_buf_init(&b, 2);
	ck_assert_int_eq(ac_canon_decode("abcdef", 6, &b), AC_ERR_TOO_LARGE);
	ac_buf_release(&b);
}
END_TEST

START_TEST(test_repeated_keys)
{
	check_both("GET", "/p?ids=2&ids=10&ids=1", "GET&/p&ids=1,10,2");
	check_both("GET", "/p?a=2&b=1&a=1&a=", "GET&/p&a=,1,2&b=1");
	/* no '=' is an empty value; split at the first '=' only */
	check_both("GET", "/p?a&a=x", "GET&/p&a=,x");
	check_both("GET", "/p?a==b=c", "GET&/p&a=%3Db%3Dc");
	/* equal values stay repeated */
	check_both("GET", "/p?a=1&a=1", "GET&/p&a=1,1");
	/* a key that only looks the same once decoded is the same key */
	check_both("GET", "/p?a%20b=2&a+b=1&a b=0", "GET&/p&a%20b=0,1,2");
	/* ',' inside a value is escaped, so it cannot be confused with the join */
	check_both("GET", "/p?a=1,2&a=0", "GET&/p&a=0,1%2C2");
	/* empty key */
	check_both("GET", "/p?b=1&=x", "GET&/p&=x&b=1");
	check_both("GET", "/p?=&=", "GET&/p&=,");
}
END_TEST

START_TEST(test_key_order_encoded)
{
	/* keys sort by their percent-ENCODED form: "%7B" < "a", though '{' > 'a' (npm: a first) */
	check_both("GET", "/p?a=2&%7B=1", "GET&/p&%7B=1&a=2");
	check_both("GET", "/p?a=2&{=1", "GET&/p&%7B=1&a=2");
	/* byte order of encoded ASCII: % - . 0 B _ a ~ */
	check_both("GET", "/p?~=1&a=2&_=3&B=4&0=5&.=6&-=7&!=8",
	    "GET&/p&%21=8&-=7&.=6&0=5&B=4&_=3&a=2&~=1");
	/* escapes compare by byte value; upper-case hex */
	check_both("GET", "/p?%c3%a9=1&%e2%82%ac=2&%7e=3&%7f=4",
	    "GET&/p&%7F=4&%C3%A9=1&%E2%82%AC=2&~=3");
	/* a prefix sorts first */
	check_both("GET", "/p?ab=1&a=2&a%20=3", "GET&/p&a=2&a%20=3&ab=1");
	check_both("GET", "/p?a10=1&a1=2&b1=3&b10=4", "GET&/p&a1=2&a10=1&b1=3&b10=4");
}
END_TEST

START_TEST(test_value_order_utf16)
{
	/* UTF-16 code units: U+1F600 (D83D DE00) < U+E000 < U+FF5E, though its UTF-8 is larger */
	check_both("GET", "/p?v=%EF%BD%9E&v=%F0%9F%98%80&v=%EE%80%80",
	    "GET&/p&v=%F0%9F%98%80,%EE%80%80,%EF%BD%9E");
	/* below U+D800 code point order and UTF-16 agree */
	check_both("GET", "/p?v=%ED%9F%BF&v=%F0%90%80%80&v=a",
	    "GET&/p&v=a,%ED%9F%BF,%F0%90%80%80");
	/* two supplementary characters: by code point (high, then low surrogate) */
	check_both("GET", "/p?v=%F0%9F%98%81&v=%F0%9F%98%80&v=%F0%90%80%80",
	    "GET&/p&v=%F0%90%80%80,%F0%9F%98%80,%F0%9F%98%81");
	/* prefix first; the comparison is on decoded strings, not on their encoding */
	check_both("GET", "/p?v=ab&v=a&v=a%20&v=%21", "GET&/p&v=%21,a,a%20,ab");
	check_both("GET", "/p?v=%7B&v=a", "GET&/p&v=a,%7B");
	/* NUL sorts first */
	check_both("GET", "/p?v=a&v=%00", "GET&/p&v=%00,a");
	/* U+FFFD from bad bytes sorts as U+FFFD: after U+E000, before nothing supplementary */
	check_both("GET", "/p?v=%FF&v=%F0%9F%98%80&v=%EE%80%80",
	    "GET&/p&v=%F0%9F%98%80,%EE%80%80,%EF%BF%BD");
}
END_TEST

START_TEST(test_decoding)
{
	/* '+' is a space, "%2B" a plus; both re-encoded (doc/protocol.md §3) */
	check_both("GET", "/p?title=1+%2B+1", "GET&/p&title=1%20%2B%201");
	check_both("GET", "/p?a+b=c+d", "GET&/p&a%20b=c%20d");
	/* only unreserved stay literal */
	check_both("GET", "/p?s=*'()!,;:@$/?", "GET&/p&s=%2A%27%28%29%21%2C%3B%3A%40%24%2F%3F");
	check_both("GET", "/p?rfc=-._~AZaz09", "GET&/p&rfc=-._~AZaz09");
	check_both("GET", "/p?t=%7e%7E~", "GET&/p&t=~~~");
	/* raw UTF-8 and escaped UTF-8 are the same string */
	check_both("GET", "/p?e=\xc3\xa9&e=%C3%A9", "GET&/p&e=%C3%A9,%C3%A9");
	/* NUL via %00 is data like any other byte */
	check_both("GET", "/p?k%00=v%00w", "GET&/p&k%00=v%00w");
}
END_TEST

START_TEST(test_bad_escapes)
{
	/* a bad escape stays literal, so its '%' is re-encoded as %25 */
	check_both("GET", "/p?x=%zz", "GET&/p&x=%25zz");
	check_both("GET", "/p?y=%4", "GET&/p&y=%254");
	check_both("GET", "/p?z=%", "GET&/p&z=%25");
	check_both("GET", "/p?w=%%41", "GET&/p&w=%25A");
	check_both("GET", "/p?%g1=%4g", "GET&/p&%25g1=%254g");
	check_both("GET", "/p?%=%", "GET&/p&%25=%25");
}
END_TEST

START_TEST(test_invalid_utf8)
{
	/* decoded bytes that are not UTF-8: one U+FFFD per maximal ill-formed subpart (Java/Node) */
	check_both("GET", "/p?v=%FF", "GET&/p&v=%EF%BF%BD");
	check_both("GET", "/p?v=%C3", "GET&/p&v=%EF%BF%BD");
	check_both("GET", "/p?v=%C3x", "GET&/p&v=%EF%BF%BDx");
	check_both("GET", "/p?v=%E2%82", "GET&/p&v=%EF%BF%BD");
	check_both("GET", "/p?v=%F0%9F%98", "GET&/p&v=%EF%BF%BD");
	check_both("GET", "/p?v=%E2%82%E2%82%AC", "GET&/p&v=%EF%BF%BD%E2%82%AC");
	/* overlong, surrogate, beyond U+10FFFF: each byte its own subpart */
	check_both("GET", "/p?v=%C0%AF", "GET&/p&v=%EF%BF%BD%EF%BF%BD");
	check_both("GET", "/p?v=%E0%80%AF", "GET&/p&v=%EF%BF%BD%EF%BF%BD%EF%BF%BD");
	check_both("GET", "/p?v=%ED%A0%80", "GET&/p&v=%EF%BF%BD%EF%BF%BD%EF%BF%BD");
	check_both("GET", "/p?v=%F4%90%80%80", "GET&/p&v=%EF%BF%BD%EF%BF%BD%EF%BF%BD%EF%BF%BD");
	check_both("GET", "/p?v=%F5", "GET&/p&v=%EF%BF%BD");
	/* raw invalid bytes get the same treatment as escaped ones */
	check_both("GET", "/p?v=\xff&v=%FF", "GET&/p&v=%EF%BF%BD,%EF%BF%BD");
	/* the largest valid ones stay */
	check_both("GET", "/p?v=%F4%8F%BF%BF&v=%ED%9F%BF&v=%EF%BF%BF",
	    "GET&/p&v=%ED%9F%BF,%F4%8F%BF%BF,%EF%BF%BF");
	/* in keys too */
	check_both("GET", "/p?%FF=1", "GET&/p&%EF%BF%BD=1");
}
END_TEST

START_TEST(test_too_large)
{
	size_t n = 2 * AC_CANON_MAX, i;
	char *big = malloc(n + 2);
	struct ac_buf b;

	ck_assert_ptr_nonnull(big);
	/* a long path */
	big[0] = '/';
	memset(big + 1, 'a', n);
	ac_buf_init(&b, AC_CANON_MAX);
	ck_assert_int_eq(ac_buf_adds(&b, "kept"), AC_OK);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, big, n + 1, NULL, 0, &b), AC_ERR_TOO_LARGE);
	/* out is written only on success */
	ck_assert_int_eq((int)b.len, 4);
	ck_assert_str_eq(ac_buf_str(&b), "kept");

	/* a query of many tiny parameters: "?a&a&a..." */
	big[0] = '?';
	for (i = 1; i <= n; i++)
		big[i] = (i % 2) ? 'a' : '&';
	ck_assert_int_eq(ac_canon_inbound("GET", 3, big, n + 1, NULL, 0, &b), AC_ERR_TOO_LARGE);
	ck_assert_str_eq(ac_buf_str(&b), "kept");

	/* one huge value, escaped: each byte triples */
	big[0] = '?';
	big[1] = 'k';
	big[2] = '=';
	memset(big + 3, '*', AC_CANON_MAX / 2);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, big, 3 + AC_CANON_MAX / 2, NULL, 0, &b),
	    AC_ERR_TOO_LARGE);
	ck_assert_str_eq(ac_buf_str(&b), "kept");

	/* a huge jwt is dropped, never decoded, and costs nothing */
	memcpy(big, "?jwt=", 5);
	memset(big + 5, 'x', n - 5);
	ac_buf_reset(&b);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, big, n, NULL, 0, &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), "GET&/&");

	/* the cap of out is the bound, whatever it is */
	ac_buf_release(&b);
	ac_buf_init(&b, 9);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, "/abc", 4, NULL, 0, &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), "GET&/abc&");
	ac_buf_reset(&b);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, "/abcd", 5, NULL, 0, &b), AC_ERR_TOO_LARGE);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, "/?a=bc", 6, NULL, 0, &b), AC_ERR_TOO_LARGE);
	ck_assert_int_eq((int)b.len, 0);
	ck_assert_int_eq(ac_canon_outbound("DELETE", "https://h/abc", NULL, &b), AC_ERR_TOO_LARGE);
	ck_assert_int_eq((int)b.len, 0);
	ac_buf_release(&b);
	free(big);
}
END_TEST

START_TEST(test_many_params)
{
	/* thousands of distinct keys in reverse order, each repeated: sorted, fast, bounded */
	enum { N = 4000 };
	struct ac_buf uri, want, b;
	int i;

	ac_buf_init(&uri, AC_CANON_MAX * 4);
	ac_buf_init(&want, AC_CANON_MAX * 4);
	ck_assert_int_eq(ac_buf_adds(&uri, "/p?"), AC_OK);
	for (i = N - 1; i >= 0; i--)
		ck_assert_int_eq(ac_buf_printf(&uri, "k%05d=2&k%05d=1&", i, i), AC_OK);
	ck_assert_int_eq(ac_buf_adds(&want, "GET&/p&"), AC_OK);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(ac_buf_printf(&want, "%sk%05d=1,2", i ? "&" : "", i), AC_OK);
	ac_buf_init(&b, AC_CANON_MAX * 4);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, uri.data, uri.len, NULL, 0, &b), AC_OK);
	ck_assert_int_eq((int)b.len, (int)want.len);
	ck_assert_str_eq(ac_buf_str(&b), ac_buf_str(&want));

	/* one long key, well within the cap */
	ac_buf_reset(&uri);
	ac_buf_reset(&want);
	ac_buf_reset(&b);
	ck_assert_int_eq(ac_buf_adds(&uri, "/?"), AC_OK);
	ck_assert_int_eq(ac_buf_adds(&want, "GET&/&"), AC_OK);
	for (i = 0; i < 30000; i++) {
		ck_assert_int_eq(ac_buf_addc(&uri, 'k'), AC_OK);
		ck_assert_int_eq(ac_buf_addc(&want, 'k'), AC_OK);
	}
	ck_assert_int_eq(ac_buf_adds(&uri, "=v"), AC_OK);
	ck_assert_int_eq(ac_buf_adds(&want, "=v"), AC_OK);
	ck_assert_int_eq(ac_canon_inbound("GET", 3, uri.data, uri.len, NULL, 0, &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), ac_buf_str(&want));
	ac_buf_release(&b);
	ac_buf_release(&want);
	ac_buf_release(&uri);
}
END_TEST

START_TEST(test_appends_and_no_nul_needed)
{
	/* the input is pointer + length: bytes after uri_len are never read */
	static const char uri[] = "/p?a=1XXXXXXXX";
	static const char method[] = "getXX";
	struct ac_buf b;
	char hex[AC_QSH_HEX_LEN];

	ac_buf_init(&b, AC_CANON_MAX);
	ck_assert_int_eq(ac_buf_adds(&b, ">"), AC_OK);
	ck_assert_int_eq(ac_canon_inbound(method, 3, uri, 6, "/pXX", 0, &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), ">GET&/p&a=1");
	ac_buf_reset(&b);
	ck_assert_int_eq(ac_canon_inbound(method, 3, uri, 6, "/pXX", 2, &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), "GET&/&a=1");
	/* qsh of a length, not of a C string */
	ac_canon_qsh("GET&/&XXXX", 6, hex);
	ck_assert_str_eq(hex, "c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239");
	ac_buf_release(&b);
}
END_TEST

/* ------------------------------------------------------------ suite */

static void
free_vectors(void)
{
	json_object_put(vectors);
	json_object_put(extra_vectors);
}

static Suite *
canon_suite(void)
{
	Suite *s = suite_create("canon");
	TCase *tc = tcase_create("canon");

	vectors = load_vectors(AC_SRCDIR "/tests/fixtures/qsh-vectors.json");
	extra_path = getenv("AC_QSH_VECTORS");
	if (extra_path != NULL && *extra_path != '\0')
		extra_vectors = load_vectors(extra_path);
	atexit(free_vectors);

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_vectors_loaded);
	if (vectors != NULL)
		tcase_add_loop_test(tc, test_vector, 0, (int)json_object_array_length(vectors));
	if (extra_path != NULL && *extra_path != '\0') {
		tcase_add_test(tc, test_extra_vectors_loaded);
		if (extra_vectors != NULL)
			tcase_add_loop_test(tc, test_extra_vector, 0,
			    (int)json_object_array_length(extra_vectors));
	}
	tcase_add_test(tc, test_empty_and_root);
	tcase_add_test(tc, test_method);
	tcase_add_test(tc, test_inbound_context_path);
	tcase_add_test(tc, test_outbound_urls);
	tcase_add_test(tc, test_path_ampersand);
	tcase_add_test(tc, test_trailing_slash);
	tcase_add_test(tc, test_path_raw);
	tcase_add_test(tc, test_jwt_dropped);
	tcase_add_test(tc, test_query_find);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_repeated_keys);
	tcase_add_test(tc, test_key_order_encoded);
	tcase_add_test(tc, test_value_order_utf16);
	tcase_add_test(tc, test_decoding);
	tcase_add_test(tc, test_bad_escapes);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_many_params);
	tcase_add_test(tc, test_appends_and_no_nul_needed);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(canon_suite)
