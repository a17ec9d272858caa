/* test-url.c: the one URL splitter, the one loopback rule, and the checks built on them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "base/conf.h"
#include "base/url.h"
#include "outbound/http.h"

/* Loopback by parsing the host libcurl would connect to, never by a prefix. */
START_TEST(loopback_rule)
{
	static const struct {
		const char *url;
		int loopback;
	} v[] = {
		{ "http://localhost/", 1 },
		{ "http://LocalHost:8080/x", 1 },
		{ "HTTP://127.0.0.1/", 1 },
		{ "http://127.1.2.3:9/", 1 },
		{ "http://127.255.255.255/", 1 },
		{ "http://127.1/", 1 },                  /* libcurl connects to 127.0.0.1 */
		{ "http://0x7f000001/", 1 },             /* likewise */
		{ "http://[::1]:8080/", 1 },
		{ "http://[0:0:0:0:0:0:0:1]/", 1 },
		{ "http://%6cocalhost/", 1 },            /* percent-encoded: libcurl decodes the host */
		{ "http://user:pw@localhost/", 1 },      /* the host is loopback; has_user says the rest */
		{ "http://127.0.0.1@evil.example/", 0 }, /* userinfo, then another host */
		{ "http://127.evil.com/", 0 },
		{ "http://127.0.0.1.nip.io/", 0 },
		{ "http://localhost.evil.com/", 0 },
		{ "http://localhost./", 0 },             /* trailing dot: a DNS name */
		{ "http://127.0.0.1./", 0 },
		{ "http://[::ffff:127.0.0.1]/", 0 },     /* IPv4-mapped is not ::1 */
		{ "http://[::2]/", 0 },
		{ "http://128.0.0.1/", 0 },
		{ "http://0.0.0.0/", 0 },
		{ "http://126.255.255.255/", 0 },
	};
	struct ac_url u;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_msg(ac_url_parse(v[i].url, &u) == AC_OK, "%s does not parse", v[i].url);
		ck_assert_msg(ac_url_host_is_loopback(u.host) == v[i].loopback, "%s (host %s)", v[i].url, u.host);
		ck_assert_msg(ac_url_is_secure(&u) == v[i].loopback, "%s", v[i].url);
		ac_url_release(&u);
	}
	ck_assert(!ac_url_host_is_loopback(NULL));
	ck_assert(!ac_url_host_is_loopback("127.0.0.1x"));
	ck_assert(!ac_url_host_is_loopback("::1"));  /* a host as struct ac_url holds it: in brackets */
}
END_TEST

START_TEST(parts)
{
	struct ac_url u;

	ck_assert_int_eq(ac_url_parse("HTTPS://user:pw@App.Example.com:8443/a/./b/../c?x=1&y=%41#frag", &u), AC_OK);
	ck_assert_str_eq(u.scheme, "https");
	ck_assert_str_eq(u.host, "App.Example.com");
	ck_assert_str_eq(u.port, "8443");
	ck_assert_str_eq(u.path, "/a/c");
	ck_assert_str_eq(u.query, "x=1&y=%41");
	ck_assert_str_eq(u.fragment, "frag");
	ck_assert(u.has_user && u.has_port);
	ac_url_release(&u);

	ck_assert_int_eq(ac_url_parse("https://example.com", &u), AC_OK);
	ck_assert_str_eq(u.port, "443");
	ck_assert_str_eq(u.path, "/");
	ck_assert_str_eq(u.url, "https://example.com/");
	ck_assert_ptr_null(u.query);
	ck_assert_ptr_null(u.fragment);
	ck_assert(!u.has_user && !u.has_port);
	ac_url_release(&u);
	ac_url_release(&u);  /* twice is fine */

	ck_assert_int_eq(ac_url_parse("ftp://Files.example/x", &u), AC_OK);
	ck_assert_str_eq(u.scheme, "ftp");
	ck_assert(!ac_url_is_secure(&u));
	ac_url_release(&u);
}
END_TEST

/* What is not an absolute URL with a host, including what libcurl alone would take or guess. */
START_TEST(refused)
{
	static const char *const v[] = {
		"", "/path", "path?x", "localhost:80/x", "//localhost/x", "http:/localhost/x", "http:localhost",
		"http://", "https:///x", "http://a b/", "https://x.example/\x01", "https://x.example/a\tb",
		"https://x.example/\x7f", " https://x.example/", "https://x.example/ ", "1http://x/",
		"http://[::1/", "http://exa mple.com/",
	};
	struct ac_url u;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_msg(ac_url_parse(v[i], &u) == AC_ERR_INVALID, "'%s' parsed", v[i]);
		ck_assert_ptr_null(u.scheme);
		ac_url_release(&u);
	}
	ck_assert_int_eq(ac_url_parse(NULL, &u), AC_ERR_INVALID);
}
END_TEST

START_TEST(reach)
{
	static const struct {
		const char *url, *base;
		size_t reach;
	} v[] = {
		{ "https://api.bitbucket.org/2.0/x", "https://api.bitbucket.org", 1 },
		{ "https://api.bitbucket.org/2.0/x", "https://api.bitbucket.org/", 1 },
		{ "https://API.Bitbucket.org:443/2.0/x", "https://api.bitbucket.org/2.0", 5 },
		{ "https://api.bitbucket.org/2.0", "https://api.bitbucket.org/2.0/", 5 },
		{ "https://api.bitbucket.org/2.0x", "https://api.bitbucket.org/2.0", 0 },
		{ "https://api.bitbucket.org/2.0/../x", "https://api.bitbucket.org/2.0", 0 },
		{ "http://api.bitbucket.org/2.0/x", "https://api.bitbucket.org", 0 },
		{ "https://api.bitbucket.org:8443/x", "https://api.bitbucket.org", 0 },
		{ "https://api.bitbucket.org.evil.example/x", "https://api.bitbucket.org", 0 },
		{ "https://api.bitbucket.org@evil.example/x", "https://api.bitbucket.org", 0 },
		{ "/2.0/x", "https://api.bitbucket.org", 0 },
		{ "https://api.bitbucket.org/x", "not a url", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg(ac_url_reach_str(v[i].url, v[i].base) == v[i].reach, "%s on %s: %zu", v[i].url,
		    v[i].base, ac_url_reach_str(v[i].url, v[i].base));
}
END_TEST

/* The outbound allow-list judges loopback by the same rule (http.c took any "127." prefix). */
START_TEST(outbound_allowed)
{
	static const struct {
		const char *url;
		int must, ok;
	} v[] = {
		{ "http://127.0.0.1:9/x", 1, 1 },
		{ "http://localhost:9/x", 1, 1 },
		{ "http://127.evil.com/x", 0, 0 },       /* named in the list, yet not loopback */
		{ "http://127.0.0.1.nip.io/x", 0, 0 },
		{ "http://127.0.0.2/x", 1, 0 },          /* loopback, but not in the list */
		{ "https://api.bitbucket.org/2.0", 1, 1 },
		{ "https://evil.example/", 0, 1 },
		{ "https://evil.example/", 1, 0 },
		{ "https://user:pw@api.bitbucket.org/2.0", 1, 0 },
		{ "HTTPS://API.BITBUCKET.ORG/2.0", 1, 1 },
		{ "ftp://api.bitbucket.org/", 0, 0 },
	};
	struct ac_conf c;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.allowed_hosts = strdup("api.bitbucket.org,127.0.0.1,localhost,127.evil.com,127.0.0.1.nip.io");
	ck_assert_ptr_nonnull(c.allowed_hosts);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg((ac_http_url_allowed(&c, v[i].url, v[i].must) == AC_OK) == v[i].ok, "%s", v[i].url);
	ck_assert_int_eq(ac_http_url_allowed(&c, "/relative", 0), AC_ERR_INVALID);
	free(c.allowed_hosts);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("url");
	TCase *tc = tcase_create("url");

	tcase_add_test(tc, loopback_rule);
	tcase_add_test(tc, parts);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, reach);
	tcase_add_test(tc, outbound_allowed);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
