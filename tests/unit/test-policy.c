/* test-policy.c: unit tests of policy.c (one policy per kind, the direction of a URL) and explain.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "base/buf.h"
#include "auth/canon.h"
#include "base/clock.h"
#include "auth/explain.h"
#include "auth/policy.h"
#include "auth/token.h"

#define NOW 1700000000
#define APP_BASE "https://app.example.com"
#define APP_KEY "my-app"
#define BB_CK "ari:cloud:bitbucket::app/{d2b34ac7-7c11-4e15-a1f5-2f4c1f0d4a8e}/my-app"
#define BB_SECRET "bb-shared-secret"
#define BB_BASE "https://bitbucket.org"
#define BB_API "https://api.bitbucket.org"
#define J_CK "b3e0f650-a86c-3f7e-b1db-436452f85df7"
#define J_SECRET "jira-shared-secret"
#define J_BASE "https://x.atlassian.net"

static void
setup(void)
{
	ac_clock_set(NOW);
}

static void
teardown(void)
{
	ac_clock_set(0);
}

/* ---------------------------------------------------------------- direction */

START_TEST(direction_of_urls)
{
	static const char *bb[] = { BB_API, BB_BASE };
	static const char *jira[] = { J_BASE, "" };
	static const char *nested[] = { "https://h.example.com" };
	static const struct {
		const char *url, *app;
		const char *const *products;
		size_t n;
		enum ac_err err;
		enum ac_policy_kind kind;
		const char *base;
	} cases[] = {
		/* on the product: a token the app sends */
		{ BB_API "/2.0/user", APP_BASE, bb, 2, AC_OK, AC_POLICY_OUTBOUND, BB_API },
		{ BB_BASE "/site/oauth2/access_token", APP_BASE, bb, 2, AC_OK, AC_POLICY_OUTBOUND, BB_BASE },
		{ J_BASE "/rest/api/3/project/recent?x=1", APP_BASE, jira, 2, AC_OK, AC_POLICY_OUTBOUND, J_BASE },
		/* hosts without case, default ports */
		{ "HTTPS://X.Atlassian.NET:443/rest/api/3/myself", APP_BASE, jira, 2, AC_OK,
		    AC_POLICY_OUTBOUND, J_BASE },
		/* under AC_BASE_URL: a token the product sends */
		{ APP_BASE "/webhook", APP_BASE, bb, 2, AC_OK, AC_POLICY_INBOUND, APP_BASE },
		{ APP_BASE "/", APP_BASE "/", bb, 2, AC_OK, AC_POLICY_INBOUND, APP_BASE "/" },
		/* the base's path is a whole-segment prefix; the longest base wins */
		{ "https://h.example.com/app/installed", "https://h.example.com/app", nested, 1, AC_OK,
		    AC_POLICY_INBOUND, "https://h.example.com/app" },
		{ "https://h.example.com/application", "https://h.example.com/app", nested, 1, AC_OK,
		    AC_POLICY_OUTBOUND, "https://h.example.com" },
		/* a path: the app's routes are the app's; any other path is a call to the product */
		{ "/webhook", APP_BASE, bb, 2, AC_OK, AC_POLICY_INBOUND, APP_BASE },
		{ "/oauth-callback?jwt=x", APP_BASE, bb, 2, AC_OK, AC_POLICY_INBOUND, APP_BASE },
		{ "/app/installed", "https://h.example.com/app/", nested, 1, AC_OK, AC_POLICY_INBOUND,
		    "https://h.example.com/app/" },
		{ "/installed", "https://h.example.com/app", nested, 1, AC_OK, AC_POLICY_INBOUND,
		    "https://h.example.com/app" },
		{ "/app/2.0/user", "https://h.example.com/app", nested, 1, AC_OK, AC_POLICY_OUTBOUND,
		    "https://h.example.com" },
		{ "/2.0/user", APP_BASE, bb, 2, AC_OK, AC_POLICY_OUTBOUND, BB_API },
		{ "/rest/api/3/project/recent", APP_BASE, jira, 2, AC_OK, AC_POLICY_OUTBOUND, J_BASE },
		{ "/webhooks", APP_BASE, bb, 2, AC_OK, AC_POLICY_OUTBOUND, BB_API },
		/* nowhere, another port or scheme, or both alike: the caller must choose */
		{ "https://elsewhere.example.org/x", APP_BASE, bb, 2, AC_ERR_NOT_FOUND, 0, NULL },
		{ "https://api.bitbucket.org:8443/2.0/user", APP_BASE, bb, 2, AC_ERR_NOT_FOUND, 0, NULL },
		{ "http://api.bitbucket.org/2.0/user", APP_BASE, bb, 2, AC_ERR_NOT_FOUND, 0, NULL },
		{ "https://h.example.com/x", "https://h.example.com", nested, 1, AC_ERR_NOT_FOUND, 0, NULL },
		{ "/2.0/user", APP_BASE, NULL, 0, AC_ERR_NOT_FOUND, 0, NULL },
		{ "", APP_BASE, bb, 2, AC_ERR_NOT_FOUND, 0, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum ac_policy_kind kind = AC_POLICY_KIND_COUNT;
		const char *base = "unset";
		enum ac_err err = ac_policy_direction(cases[i].url, cases[i].app, cases[i].products,
		    cases[i].n, &kind, &base);

		ck_assert_msg(err == cases[i].err, "%s: %s", cases[i].url, ac_err_code(err));
		if (err != AC_OK) {
			ck_assert_msg(kind == AC_POLICY_KIND_COUNT && !strcmp(base, "unset"),
			    "%s: outputs written on failure", cases[i].url);
			continue;
		}
		ck_assert_msg(kind == cases[i].kind, "%s: %s", cases[i].url, ac_policy_name(kind));
		ck_assert_msg(!strcmp(base, cases[i].base), "%s: base %s", cases[i].url, base);
	}
}
END_TEST

START_TEST(page_route)
{
	ck_assert(ac_policy_page_route("/oauth-callback", APP_BASE));
	ck_assert(ac_policy_page_route("/oauth-callback?jwt=x&a=1", APP_BASE));
	ck_assert(ac_policy_page_route(APP_BASE "/oauth-callback?jwt=x", APP_BASE));
	ck_assert(ac_policy_page_route("https://h.example.com/app/oauth-callback", "https://h.example.com/app/"));
	ck_assert(ac_policy_page_route("/app/oauth-callback", "https://h.example.com/app"));
	ck_assert(!ac_policy_page_route("/webhook", APP_BASE));
	ck_assert(!ac_policy_page_route("/oauth-callback/x", APP_BASE));
	ck_assert(!ac_policy_page_route("https://elsewhere.example.org/oauth-callback", APP_BASE));
	ck_assert(!ac_policy_page_route("https://h.example.com/oauth-callback", "https://h.example.com/app"));
	ck_assert(!ac_policy_page_route("", APP_BASE));
}
END_TEST

/* ---------------------------------------------------------------- policies */

START_TEST(policies_by_kind)
{
	struct ac_policy_ctx ctx = { AC_PRODUCT_BITBUCKET, BB_CK, APP_KEY, APP_BASE, 30, 0 };
	struct ac_token_policy p;

	ck_assert_int_eq(ac_policy_build(AC_POLICY_INBOUND, &ctx, &p), AC_OK);
	ck_assert_int_eq(p.alg, AC_TOKEN_HS256);
	ck_assert_str_eq(p.iss, BB_CK);
	ck_assert_ptr_null(p.sub);
	ck_assert_int_eq(p.aud_rule, AC_TOKEN_AUD_OPTIONAL);
	ck_assert_str_eq(p.aud, BB_CK);
	ck_assert_int_eq(p.leeway, 30);
	ck_assert(!p.outbound && !p.allow_context_qsh && !p.allow_query);
	ctx.page = 1;
	ck_assert_int_eq(ac_policy_build(AC_POLICY_INBOUND, &ctx, &p), AC_OK);
	ck_assert(p.allow_context_qsh && p.allow_query);

	/* the page flag is the inbound page route's only */
	ck_assert_int_eq(ac_policy_build(AC_POLICY_OUTBOUND, &ctx, &p), AC_OK);
	ck_assert(p.outbound && !p.allow_context_qsh && !p.allow_query);
	ck_assert_int_eq(p.alg, AC_TOKEN_HS256);
	ck_assert_str_eq(p.iss, APP_KEY);
	ck_assert_str_eq(p.sub, BB_CK);
	ck_assert_int_eq(p.aud_rule, AC_TOKEN_AUD_ANY);
	ctx.product = AC_PRODUCT_JIRA;
	ck_assert_int_eq(ac_policy_build(AC_POLICY_OUTBOUND, &ctx, &p), AC_OK);
	ck_assert_ptr_null(p.sub);
	ck_assert_int_eq(p.aud_rule, AC_TOKEN_AUD_OPTIONAL);
	ck_assert_str_eq(p.aud, BB_CK);

	ck_assert_int_eq(ac_policy_build(AC_POLICY_SIGNED_INSTALL, &ctx, &p), AC_OK);
	ck_assert_int_eq(p.alg, AC_TOKEN_RS256);
	ck_assert_str_eq(p.iss, BB_CK);
	ck_assert_int_eq(p.aud_rule, AC_TOKEN_AUD_URL);
	ck_assert_str_eq(p.aud, APP_BASE);
	ck_assert(!p.allow_context_qsh);

	ck_assert_int_eq(ac_policy_build(AC_POLICY_KIND_COUNT, &ctx, &p), AC_ERR_INVALID);
	ck_assert_int_eq(ac_policy_build((enum ac_policy_kind)-1, &ctx, &p), AC_ERR_INVALID);
	ck_assert_str_eq(ac_policy_name(AC_POLICY_OUTBOUND), "outbound");
	ck_assert_str_eq(ac_policy_name(AC_POLICY_KIND_COUNT), "?");
}
END_TEST

/* What the app signs passes the policy acctl checks it with: one policy, both ends. */
START_TEST(outbound_claims_pass_outbound_policy)
{
	static const enum ac_product products[] = { AC_PRODUCT_BITBUCKET, AC_PRODUCT_JIRA };
	struct ac_policy_ctx ctx = { AC_PRODUCT_BITBUCKET, BB_CK, APP_KEY, APP_BASE, 30, 0 };
	struct ac_token_policy p;
	struct json_object *claims;
	struct ac_token t;
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN], *tok;
	size_t i;

	for (i = 0; i < 2; i++) {
		ctx.product = products[i];
		ck_assert_int_eq(ac_policy_claims(AC_POLICY_OUTBOUND, &ctx, "POST",
		    BB_API "/2.0/repositories/ws/repo/commit/abc/statuses/build?b=2&a=1", BB_API,
		    &claims), AC_OK);
		ck_assert_int_eq(ac_token_sign_hs256(claims, BB_SECRET, strlen(BB_SECRET), &tok), AC_OK);
		json_object_put(claims);
		ck_assert_int_eq(ac_token_parse(tok, strlen(tok), &t), AC_OK);
		ac_buf_init(&c, AC_CANON_MAX);
		ck_assert_int_eq(ac_canon_outbound("POST",
		    BB_API "/2.0/repositories/ws/repo/commit/abc/statuses/build?a=1&b=2", BB_API, &c), AC_OK);
		ac_canon_qsh(ac_buf_str(&c), c.len, hex);
		ac_buf_release(&c);
		ck_assert_int_eq(ac_policy_build(AC_POLICY_OUTBOUND, &ctx, &p), AC_OK);
		ck_assert_int_eq(ac_token_verify(&t, BB_SECRET, strlen(BB_SECRET), &p, hex, NULL), AC_OK);
		/* and not the inbound policy: a token the app signed is not the product's */
		ck_assert_int_eq(ac_policy_build(AC_POLICY_INBOUND, &ctx, &p), AC_OK);
		ck_assert_int_eq(ac_token_verify(&t, BB_SECRET, strlen(BB_SECRET), &p, hex, NULL),
		    AC_ERR_ISS_MISMATCH);
		ac_token_release(&t);
		ac_buf_free_secret_str(tok);
	}
	/* the app signs no token of the kinds it only receives */
	ck_assert_int_eq(ac_policy_claims(AC_POLICY_INBOUND, &ctx, "GET", "/x", NULL, &claims),
	    AC_ERR_INVALID);
	ck_assert_int_eq(ac_policy_claims(AC_POLICY_SIGNED_INSTALL, &ctx, "GET", "/x", NULL, &claims),
	    AC_ERR_INVALID);
}
END_TEST

/* ---------------------------------------------------------------- the seeds, without a direction flag */

/* A tenant as `acctl jwt verify --tenant` reads it. */
struct tenant {
	enum ac_product product;
	const char *client_key, *secret, *base_url, *base_api_url;
};

static const struct tenant bitbucket = { AC_PRODUCT_BITBUCKET, BB_CK, BB_SECRET, BB_BASE, BB_API };
static const struct tenant jira = { AC_PRODUCT_JIRA, J_CK, J_SECRET, J_BASE, "" };

/* A token: claims as JSON text, signed with secret; the qsh of method+url unless the claims have one. */
static char *
token(const char *secret, const char *method, const char *url, const char *json)
{
	struct json_object *claims = json_tokener_parse(json);
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN], *tok;

	ck_assert_ptr_nonnull(claims);
	if (!json_object_object_get_ex(claims, "qsh", NULL)) {
		ac_buf_init(&c, AC_CANON_MAX);
		ck_assert_int_eq(ac_canon_outbound(method, url, NULL, &c), AC_OK);
		ac_canon_qsh(ac_buf_str(&c), c.len, hex);
		ac_buf_release(&c);
		json_object_object_add(claims, "qsh", json_object_new_string(hex));
	}
	ck_assert_int_eq(ac_token_sign_hs256(claims, secret, strlen(secret), &tok), AC_OK);
	json_object_put(claims);
	return tok;
}

/*
 * What acctl jwt verify --tenant does with no --inbound/--outbound: the URL
 * says the direction, the policy of that kind, the explanation. Returns the
 * output; *verdict and *kind as found.
 */
static char *
verify_pasted(const struct tenant *tn, const char *method, const char *url, const char *pasted,
    enum ac_explain_verdict *verdict, enum ac_policy_kind *kind)
{
	const char *products[2] = { tn->base_api_url, tn->base_url };
	struct ac_policy_ctx ctx = { tn->product, tn->client_key, APP_KEY, APP_BASE, 60, 0 };
	struct ac_token_policy p;
	struct ac_explain_case ec;
	struct ac_buf out, diag, c;
	const char *base;
	char hex[AC_QSH_HEX_LEN], *text;
	size_t len;

	ck_assert_int_eq(ac_policy_direction(url, APP_BASE, products, 2, kind, &base), AC_OK);
	ck_assert_int_eq(ac_policy_build(*kind, &ctx, &p), AC_OK);
	ac_buf_init(&c, AC_CANON_MAX);
	ck_assert_int_eq(ac_canon_outbound(method, url, base, &c), AC_OK);
	ac_canon_qsh(ac_buf_str(&c), c.len, hex);
	ac_buf_release(&c);
	memset(&ec, 0, sizeof(ec));
	ec.method = method;
	ec.url = url;
	ec.base_url = base;
	ec.expected_qsh = hex;
	ec.token = pasted;
	ec.token_len = strlen(pasted);
	ec.key = tn->secret;
	ec.keylen = strlen(tn->secret);
	ec.policy = &p;
	ac_buf_init(&out, 1024 * 1024);
	ac_buf_init(&diag, 64 * 1024);
	ck_assert_int_eq(ac_explain_verify(&ec, &out, &diag, verdict), AC_OK);
	ck_assert_int_eq(ac_buf_detach(&out, &text, &len), AC_OK);
	ac_buf_release(&diag);
	return text;
}

/* Asserts that text names the mistake, blames exactly the codes given, and is not valid. */
static void
names(const char *seed, const char *text, enum ac_explain_verdict verdict, const char *mistake,
    const char *codes)
{
	const char *line;
	char code[64];
	size_t n;

	ck_assert_msg(verdict == AC_EXPLAIN_INVALID, "%s: not invalid:\n%s", seed, text);
	ck_assert_msg(strstr(text, mistake) != NULL, "%s: no \"%s\" in:\n%s", seed, mistake, text);
	for (line = text; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != '\0')) {
		n = strcspn(line, ": \n");
		if (line[0] == ' ' || line[n] != ':' || n >= sizeof(code) || !strncmp(line, "invalid", n))
			continue;
		memcpy(code, line, n);
		code[n] = '\0';
		ck_assert_msg(strstr(codes, code) != NULL, "%s: %s blamed too:\n%s", seed, code, text);
	}
}

START_TEST(seed_000_sub_not_the_client_key)
{
	const char *url = BB_API "/2.0/repositories/ws/repo/commit/abc/comments";
	enum ac_explain_verdict v;
	enum ac_policy_kind kind;
	char *tok = token(BB_SECRET, "POST", url, "{\"iss\":\"" APP_KEY "\",\"iat\":1700000000,"
	    "\"exp\":1700000180,\"sub\":\"557058:6dcdb6c9-da5c-4b08-9929-a81b560cf71b\"}");
	char *text = verify_pasted(&bitbucket, "POST", url, tok, &v, &kind);

	ck_assert_int_eq(kind, AC_POLICY_OUTBOUND);
	names("seed 000", text, v, "expected the clientKey \"" BB_CK "\"", "sub_mismatch");
	ck_assert_ptr_nonnull(strstr(text, "not an account id, user UUID or username"));
	free(text);
	ac_buf_free_secret_str(tok);
}
END_TEST

START_TEST(seed_001_bearer_scheme)
{
	const char *url = BB_BASE "/site/oauth2/access_token";
	enum ac_explain_verdict v;
	enum ac_policy_kind kind;
	char *tok = token(BB_SECRET, "POST", url, "{\"iss\":\"" APP_KEY "\",\"iat\":1700000000,"
	    "\"exp\":1700000180,\"sub\":\"" BB_CK "\"}");
	char pasted[4096], *text;

	snprintf(pasted, sizeof(pasted), "Authorization: Bearer %s\n", tok);
	text = verify_pasted(&bitbucket, "POST", url, pasted, &v, &kind);
	ck_assert_int_eq(kind, AC_POLICY_OUTBOUND);
	names("seed 001", text, v, "token_missing: Connect tokens use 'Authorization: JWT <token>', "
	    "not Bearer", "token_missing");
	free(text);
	/* a lower-case scheme is refused as the server refuses it */
	snprintf(pasted, sizeof(pasted), "jwt %s", tok);
	text = verify_pasted(&bitbucket, "POST", url, pasted, &v, &kind);
	names("seed 001, jwt", text, v, "case-sensitive", "token_missing");
	free(text);
	/* the right scheme, with the header's name, is the token itself */
	snprintf(pasted, sizeof(pasted), "  Authorization: JWT %s  ", tok);
	text = verify_pasted(&bitbucket, "POST", url, pasted, &v, &kind);
	ck_assert_msg(v == AC_EXPLAIN_VALID && !strcmp(text, "valid\n"), "%s", text);
	free(text);
	ac_buf_free_secret_str(tok);
}
END_TEST

START_TEST(seed_002_full_url_in_qsh)
{
	const char *url = J_BASE "/rest/api/3/issue/XX-21?overrideScreenSecurity=true&overrideEditableFlag=true";
	enum ac_explain_verdict v;
	enum ac_policy_kind kind;
	char claims[512], *tok, *text;
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN];

	/* the qsh of the full URL, as the thread's signer made it */
	ac_buf_init(&c, AC_CANON_MAX);
	ck_assert_int_eq(ac_buf_adds(&c, "PUT&" J_BASE "/rest/api/3/issue/XX-21&"
	    "overrideEditableFlag=true&overrideScreenSecurity=true"), AC_OK);
	ac_canon_qsh(ac_buf_str(&c), c.len, hex);
	ac_buf_release(&c);
	/* iss the app key ("addon-key" in the thread): only the qsh is wrong */
	snprintf(claims, sizeof(claims), "{\"iss\":\"" APP_KEY "\",\"iat\":1700000000,"
	    "\"exp\":1700000180,\"qsh\":\"%s\"}", hex);
	tok = token(J_SECRET, "PUT", url, claims);
	text = verify_pasted(&jira, "PUT", url, tok, &v, &kind);
	ck_assert_int_eq(kind, AC_POLICY_OUTBOUND);
	names("seed 002", text, v, "the full URL (scheme and host) was hashed instead of the path",
	    "qsh_mismatch");
	free(text);
	ac_buf_free_secret_str(tok);

	/* its other fix, "increase the token lifespan": the signer's clock is behind */
	tok = token(J_SECRET, "PUT", url, "{\"iss\":\"" APP_KEY "\",\"iat\":1699999600,\"exp\":1699999780}");
	text = verify_pasted(&jira, "PUT", url, tok, &v, &kind);
	names("seed 002, clock", text, v, "the signer's clock is behind ours by at least 160 s", "expired");
	free(text);
	ac_buf_free_secret_str(tok);
}
END_TEST

START_TEST(seed_003_iss_the_client_key)
{
	static const char *urls[] = { J_BASE "/rest/api/3/project/recent", "/rest/api/3/project/recent" };
	enum ac_explain_verdict v;
	enum ac_policy_kind kind;
	char *tok = token(J_SECRET, "GET", "/rest/api/3/project/recent", "{\"iss\":\"" J_CK "\","
	    "\"iat\":1700000000,\"exp\":1700003600,\"sub\":\"60f00ad8f749c400680daf47\"}");
	char *text;
	size_t i;

	/* before issue 14, without --outbound this token was "valid" */
	for (i = 0; i < 2; i++) {
		text = verify_pasted(&jira, "GET", urls[i], tok, &v, &kind);
		ck_assert_int_eq(kind, AC_POLICY_OUTBOUND);
		names("seed 003", text, v, "iss is the clientKey \"" J_CK "\"", "iss_mismatch");
		ck_assert_ptr_nonnull(strstr(text, "iss is the app key (the descriptor's \"key\", here \"my-app\")"));
		free(text);
	}
	ac_buf_free_secret_str(tok);
}
END_TEST

START_TEST(seed_004_oauth_consumer)
{
	const char *url = BB_API "/2.0/repositories/ws/repo/pullrequests/1/comments";
	enum ac_explain_verdict v;
	enum ac_policy_kind kind;
	char *tok = token("consumer-secret", "POST", url, "{\"iss\":\"Wq7Cg3consumerKEY\","
	    "\"iat\":1700000000,\"exp\":1700000180,\"sub\":\"" BB_CK "\"}");
	char *text = verify_pasted(&bitbucket, "POST", url, tok, &v, &kind);

	names("seed 004", text, v, "not with an OAuth consumer's key or secret",
	    "bad_signature iss_mismatch");
	ck_assert_ptr_nonnull(strstr(text, "expected \"" APP_KEY "\" (the app key"));
	free(text);
	ac_buf_free_secret_str(tok);
}
END_TEST

/* Under AC_BASE_URL the same machinery checks the product's tokens, as the server does. */
START_TEST(inbound_under_app_base)
{
	const char *url = APP_BASE "/webhook";
	enum ac_explain_verdict v;
	enum ac_policy_kind kind;
	char *tok = token(BB_SECRET, "POST", "/webhook", "{\"iss\":\"" BB_CK "\",\"aud\":\"" BB_CK "\","
	    "\"iat\":1700000000,\"exp\":1700003600}");
	char *text = verify_pasted(&bitbucket, "POST", url, tok, &v, &kind);

	ck_assert_int_eq(kind, AC_POLICY_INBOUND);
	ck_assert_msg(v == AC_EXPLAIN_VALID, "%s", text);
	free(text);
	ac_buf_free_secret_str(tok);
	/* an app's token sent to the app is named as such */
	tok = token(BB_SECRET, "POST", "/webhook", "{\"iss\":\"" APP_KEY "\",\"sub\":\"" BB_CK "\","
	    "\"iat\":1700000000,\"exp\":1700000180}");
	text = verify_pasted(&bitbucket, "POST", url, tok, &v, &kind);
	names("inbound", text, v, "iss is the app key \"my-app\": that is a token the app signed",
	    "iss_mismatch");
	free(text);
	ac_buf_free_secret_str(tok);
}
END_TEST

START_TEST(malformed_and_direction_lines)
{
	struct ac_buf b;

	ac_buf_init(&b, 4096);
	ck_assert_int_eq(ac_explain_malformed("a.b=", 4, &b), AC_OK);
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&b), "it has 2 segments"));
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&b), "without padding"));
	ac_buf_reset(&b);
	ck_assert_int_eq(ac_explain_direction(AC_POLICY_OUTBOUND, BB_API, "the tenant's baseApiUrl", 0,
	    &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&b), "checked as a token the app sends to the product: the URL is "
	    "on the tenant's baseApiUrl " BB_API " (--inbound checks it as a token the product sends "
	    "to the app)\n");
	ac_buf_reset(&b);
	ck_assert_int_eq(ac_explain_direction(AC_POLICY_OUTBOUND, BB_API, NULL, 1, &b), AC_OK);
	ck_assert_ptr_nonnull(strstr(ac_buf_str(&b), "a path that names no route of the app"));
	ac_buf_release(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, direction_of_urls);
	tcase_add_test(tc, page_route);
	tcase_add_test(tc, policies_by_kind);
	tcase_add_test(tc, outbound_claims_pass_outbound_policy);
	tcase_add_test(tc, seed_000_sub_not_the_client_key);
	tcase_add_test(tc, seed_001_bearer_scheme);
	tcase_add_test(tc, seed_002_full_url_in_qsh);
	tcase_add_test(tc, seed_003_iss_the_client_key);
	tcase_add_test(tc, seed_004_oauth_consumer);
	tcase_add_test(tc, inbound_under_app_base);
	tcase_add_test(tc, malformed_and_direction_lines);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
