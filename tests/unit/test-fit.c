/* test-fit.c: unit tests of fit.c: the Bearer header, alg pinned, key by kid, each claim check able to fail. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/fit.h"
#include "auth/jwks.h"
#include "jose-helpers.h"
#include "unit.h"

#define NOW 1790000000
#define APP "ari:cloud:ecosystem::app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define OTHER_APP "ari:cloud:ecosystem::app/11111111-2222-3333-4444-555555555555"
#define INST "ari:cloud:ecosystem::installation/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define KID "forge/invocation-token/wf-1"
#define HDR "{\"alg\":\"RS256\",\"kid\":\"" KID "\",\"typ\":\"JWT\"}"

static EVP_PKEY *key, *other;
static struct ac_jwks *set;
static char *pem;

static void
setup(void)
{
	char *jwk, *doc;
	BIO *bio;
	char *p;
	long n;

	if (key != NULL)
		return;
	key = EVP_RSA_gen(2048);
	other = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(other);
	jwk = jh_jwk(key, KID, ",\"use\":\"sig\",\"alg\":\"RS256\"");
	doc = ac_buf_asprintf("{\"keys\":[%s]}", jwk);
	ck_assert_int_eq(ac_jwks_parse(doc, strlen(doc), &set, NULL), AC_OK);
	free(jwk);
	free(doc);
	bio = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, key), 1);
	n = BIO_get_mem_data(bio, &p);
	pem = strndup(p, (size_t)n);
	BIO_free(bio);
}

static const struct ac_fit_policy policy = { APP, AC_FORGE_ENV_ALL, 5, NOW };

/* The claims of a good Bitbucket FIT, with one member replaced or removed (value NULL). */
static char *
claims_with(const char *name, const char *value)
{
	struct {
		const char *name, *value;
	} m[] = {
		{ "iss", "\"forge/invocation-token\"" },
		{ "aud", "\"" APP "\"" },
		{ "iat", "1790000000" },
		{ "nbf", "1790000000" },
		{ "exp", "1790000025" },
		{ "jti", "\"jti-1\"" },
		{ "app", "{\"id\":\"" APP "\",\"installationId\":\"" INST "\","
		    "\"apiBaseUrl\":\"https://api.bitbucket.org\",\"appVersion\":\"2.1.0\","
		    "\"environment\":{\"type\":\"PRODUCTION\",\"id\":\"env-1\"},"
		    "\"module\":{\"type\":\"core:endpoint\",\"key\":\"events\"},"
		    "\"installation\":{\"contexts\":[{\"name\":\"bitbucket\","
		    "\"apiBaseUrl\":\"https://api.bitbucket.org\",\"workspaceId\":\"{ws-1}\"},7]}}" },
		{ "principal", "\"557058:acc\"" },
		{ "context", "{\"cloudId\":\"cloud-1\",\"siteUrl\":\"https://x.atlassian.net\"}" },
	};
	struct ac_buf b;
	size_t i;
	int found = 0;
	char *out;

	ac_buf_init(&b, 64 * 1024);
	ck_assert_int_eq(ac_buf_addc(&b, '{'), AC_OK);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		const char *v = m[i].value;

		if (name && !strcmp(name, m[i].name)) {
			found = 1;
			if ((v = value) == NULL)
				continue;
		}
		ck_assert_int_eq(ac_buf_printf(&b, "%s\"%s\":%s", b.len > 1 ? "," : "", m[i].name, v), AC_OK);
	}
	if (name && !found && value)
		ck_assert_int_eq(ac_buf_printf(&b, ",\"%s\":%s", name, value), AC_OK);
	ck_assert_int_eq(ac_buf_addc(&b, '}'), AC_OK);
	ck_assert_int_eq(ac_buf_detach(&b, &out, NULL), AC_OK);
	return out;
}

/* An "app" member with one of its fields replaced (NULL: removed). */
static char *
app_with(const char *field, const char *value)
{
	const char *fields[][2] = {
		{ "id", "\"" APP "\"" },
		{ "installationId", "\"" INST "\"" },
		{ "environment", "{\"type\":\"PRODUCTION\",\"id\":\"env-1\"}" },
	};
	struct ac_buf b;
	size_t i;
	char *app, *claims;

	ac_buf_init(&b, 4096);
	ck_assert_int_eq(ac_buf_addc(&b, '{'), AC_OK);
	for (i = 0; i < 3; i++) {
		const char *v = !strcmp(fields[i][0], field) ? value : fields[i][1];

		if (v)
			ck_assert_int_eq(ac_buf_printf(&b, "%s\"%s\":%s", b.len > 1 ? "," : "", fields[i][0], v),
			    AC_OK);
	}
	ck_assert_int_eq(ac_buf_addc(&b, '}'), AC_OK);
	ck_assert_int_eq(ac_buf_detach(&b, &app, NULL), AC_OK);
	claims = claims_with("app", app);
	free(app);
	return claims;
}

/* Verifies a token; returns the code; the report must hold it too. */
static enum ac_err
verify_tok(const char *tok, const struct ac_fit_policy *p, struct ac_fit *out)
{
	struct ac_token t;
	struct ac_token_report r;
	enum ac_err err;

	err = ac_fit_parse(tok, strlen(tok), &t);
	if (err != AC_OK)
		return err;
	ac_token_report_init(&r);
	err = ac_fit_verify(&t, set, p, out, &r);
	if (err != AC_OK)
		ck_assert_msg(ac_token_report_has(&r, err), "%s not in the report", ac_err_code(err));
	else
		ck_assert_uint_eq(r.n, 0);
	ac_token_report_release(&r);
	ac_token_release(&t);
	return err;
}

/* Signs claims with the good key under KID and verifies them. */
static enum ac_err
verify_claims(char *claims, const struct ac_fit_policy *p)
{
	char *tok = jh_token(HDR, claims, JH_RS256, key, 0);
	enum ac_err err = verify_tok(tok, p, NULL);

	free(tok);
	free(claims);
	return err;
}

#define CHECK(claims, want) \
	ck_assert_str_eq(ac_err_code(verify_claims((claims), &policy)), ac_err_code(want))

START_TEST(good)
{
	char *c = claims_with(NULL, NULL), *tok = jh_token(HDR, c, JH_RS256, key, 0);
	struct ac_fit f;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(verify_tok(tok, &policy, &f), AC_OK);
	ck_assert_str_eq(f.app_id, APP);
	ck_assert_str_eq(f.installation_id, INST);
	ck_assert_str_eq(f.kid, KID);
	ck_assert_str_eq(f.jti, "jti-1");
	ck_assert_int_eq(f.exp, NOW + 25);
	ck_assert_uint_eq(f.environment, AC_FORGE_ENV_PRODUCTION);
	ck_assert_str_eq(f.environment_type, "PRODUCTION");
	ck_assert_str_eq(f.environment_id, "env-1");
	ck_assert_str_eq(f.api_base_url, "https://api.bitbucket.org");
	ck_assert_str_eq(f.app_version, "2.1.0");
	ck_assert_uint_eq(f.ncontexts, 1); /* the 7 is not a context */
	ck_assert_str_eq(f.contexts[0].workspace_id, "{ws-1}");
	ck_assert_str_eq(f.contexts[0].api_base_url, "https://api.bitbucket.org");
	ck_assert_ptr_null(f.contexts[0].cloud_id);
	ck_assert_str_eq(f.module_type, "core:endpoint");
	ck_assert_str_eq(f.module_key, "events");
	ck_assert_str_eq(f.principal, "557058:acc");
	ck_assert_str_eq(f.context_cloud_id, "cloud-1");
	ck_assert_str_eq(f.site_url, "https://x.atlassian.net");
	ck_assert_ptr_null(f.context_workspace_id);
	ac_fit_release(&f);
	ac_fit_release(&f); /* released twice is fine: zeroed */
	free(tok);
	free(c);
}
END_TEST

START_TEST(aud_forms)
{
	CHECK(claims_with("aud", "[\"x\",\"" APP "\"]"), AC_OK);
	CHECK(claims_with("aud", "[\"" APP "\"]"), AC_OK);
	CHECK(claims_with("aud", "[\"" OTHER_APP "\"]"), AC_ERR_FIT_AUD);
	CHECK(claims_with("aud", "\"" OTHER_APP "\""), AC_ERR_FIT_AUD);
	CHECK(claims_with("aud", "\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\""), AC_ERR_FIT_AUD);
	CHECK(claims_with("aud", "\"ARI:cloud:ecosystem::app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\""),
	    AC_ERR_FIT_AUD);
	CHECK(claims_with("aud", NULL), AC_ERR_FIT_AUD);
	CHECK(claims_with("aud", "[]"), AC_ERR_FIT_AUD);
}
END_TEST

START_TEST(no_app_id_configured)
{
	struct ac_fit_policy p = policy;

	p.app_id = NULL;
	ck_assert_int_eq(verify_claims(claims_with(NULL, NULL), &p), AC_ERR_FIT_AUD);
	p.app_id = "";
	ck_assert_int_eq(verify_claims(claims_with(NULL, NULL), &p), AC_ERR_FIT_AUD);
}
END_TEST

START_TEST(iss)
{
	CHECK(claims_with("iss", "\"forge/invocation-token/\""), AC_ERR_FIT_ISS);
	CHECK(claims_with("iss", "\"Forge/invocation-token\""), AC_ERR_FIT_ISS);
	CHECK(claims_with("iss", NULL), AC_ERR_FIT_ISS);
}
END_TEST

/* exp and nbf with the leeway, at their edges (RFC 7519: reject on or after exp). */
START_TEST(times)
{
	CHECK(claims_with("exp", "1789999996"), AC_OK);           /* 4 s ago, leeway 5 */
	CHECK(claims_with("exp", "1789999995"), AC_ERR_FIT_EXPIRED); /* now - leeway */
	CHECK(claims_with("exp", "1700000000"), AC_ERR_FIT_EXPIRED);
	CHECK(claims_with("exp", NULL), AC_ERR_FIT_EXPIRED);
	CHECK(claims_with("nbf", "1790000005"), AC_OK);
	CHECK(claims_with("nbf", "1790000006"), AC_ERR_FIT_NOT_YET_VALID);
	CHECK(claims_with("iat", "1790000006"), AC_ERR_FIT_NOT_YET_VALID);
	CHECK(claims_with("nbf", NULL), AC_OK);
}
END_TEST

START_TEST(leeway_bounds)
{
	struct ac_fit_policy p = policy;

	p.leeway = 0;
	ck_assert_int_eq(verify_claims(claims_with("exp", "1790000000"), &p), AC_ERR_FIT_EXPIRED);
	ck_assert_int_eq(verify_claims(claims_with("exp", "1790000001"), &p), AC_OK);
	/* a caller's leeway of an hour is clamped to the 60 s AC_FORGE_LEEWAY allows */
	p.leeway = 3600;
	ck_assert_int_eq(verify_claims(claims_with("exp", "1789999941"), &p), AC_OK);
	ck_assert_int_eq(verify_claims(claims_with("exp", "1789999940"), &p), AC_ERR_FIT_EXPIRED);
	p.leeway = -5;
	ck_assert_int_eq(verify_claims(claims_with("exp", "1790000000"), &p), AC_ERR_FIT_EXPIRED);
}
END_TEST

START_TEST(app_claims)
{
	CHECK(app_with("id", "\"" OTHER_APP "\""), AC_ERR_FIT_APP_ID);
	CHECK(app_with("id", NULL), AC_ERR_FIT_APP_ID);
	CHECK(app_with("id", "7"), AC_ERR_FIT_APP_ID);
	CHECK(claims_with("app", NULL), AC_ERR_FIT_APP_ID);
	CHECK(claims_with("app", "\"" APP "\""), AC_ERR_FIT_APP_ID);
	CHECK(app_with("installationId", NULL), AC_ERR_FIT_INSTALLATION);
	CHECK(app_with("installationId", "\"\""), AC_ERR_FIT_INSTALLATION);
	CHECK(app_with("installationId", "\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\""), AC_ERR_FIT_INSTALLATION);
	CHECK(app_with("installationId", "\"ari:cloud:ecosystem::installation/\""), AC_ERR_FIT_INSTALLATION);
	CHECK(app_with("installationId", "\"" INST "x\""), AC_ERR_FIT_INSTALLATION);
	CHECK(app_with("installationId", "{}"), AC_ERR_FIT_INSTALLATION);
	CHECK(app_with("environment", NULL), AC_ERR_FIT_ENVIRONMENT);
	CHECK(app_with("environment", "\"PRODUCTION\""), AC_ERR_FIT_ENVIRONMENT);
	CHECK(app_with("environment", "{\"type\":\"TEST\"}"), AC_ERR_FIT_ENVIRONMENT);
	CHECK(app_with("environment", "{\"type\":\"production\"}"), AC_ERR_FIT_ENVIRONMENT);
	CHECK(app_with("environment", "{\"type\":\"STAGING\"}"), AC_OK);
	CHECK(app_with("environment", "{\"type\":\"DEVELOPMENT\"}"), AC_OK);
}
END_TEST

START_TEST(environments_policy)
{
	struct ac_fit_policy p = policy;

	p.environments = AC_FORGE_ENV_PRODUCTION;
	ck_assert_int_eq(verify_claims(app_with("environment", "{\"type\":\"DEVELOPMENT\"}"), &p),
	    AC_ERR_FIT_ENVIRONMENT);
	ck_assert_int_eq(verify_claims(app_with("environment", "{\"type\":\"STAGING\"}"), &p),
	    AC_ERR_FIT_ENVIRONMENT);
	ck_assert_int_eq(verify_claims(claims_with(NULL, NULL), &p), AC_OK);
	p.environments = 0;
	ck_assert_int_eq(verify_claims(claims_with(NULL, NULL), &p), AC_ERR_FIT_ENVIRONMENT);
}
END_TEST

/* alg is pinned before any key: none, HS256 keyed with the public key, RS512, a case variant. */
START_TEST(alg_pinned)
{
	static const char *hs = "{\"alg\":\"HS256\",\"kid\":\"" KID "\"}";
	char *c = claims_with(NULL, NULL), *tok;
	char *n = jh_rsa_param(key, "n");

	tok = jh_token(hs, c, JH_HS256, pem, strlen(pem));
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_ALG);
	free(tok);
	tok = jh_token(hs, c, JH_HS256, n, strlen(n));
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_ALG);
	free(tok);
	tok = jh_token("{\"alg\":\"none\",\"kid\":\"" KID "\"}", c, JH_NONE, NULL, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_ALG);
	free(tok);
	tok = jh_token("{\"alg\":\"none\"}", c, JH_NONE, NULL, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_ALG);
	free(tok);
	tok = jh_token("{\"alg\":\"RS512\",\"kid\":\"" KID "\"}", c, JH_RS256, key, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_ALG);
	free(tok);
	tok = jh_token("{\"alg\":\"rs256\",\"kid\":\"" KID "\"}", c, JH_RS256, key, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_ALG);
	free(tok);
	/* an RS256 header without a signature is malformed, not "unsigned" */
	tok = jh_token(HDR, c, JH_NONE, NULL, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_MALFORMED);
	free(tok);
	free(c);
	free(n);
}
END_TEST

START_TEST(kid_and_signature)
{
	char *c = claims_with(NULL, NULL), *tok, *bad;
	struct ac_token t;
	struct ac_fit f, g;
	size_t dot;

	tok = jh_token("{\"alg\":\"RS256\"}", c, JH_RS256, key, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_KID_UNKNOWN);
	free(tok);
	tok = jh_token("{\"alg\":\"RS256\",\"kid\":\"\"}", c, JH_RS256, key, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_KID_UNKNOWN);
	free(tok);
	tok = jh_token("{\"alg\":\"RS256\",\"kid\":\"forge/invocation-token/wf-2\"}", c, JH_RS256, key, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_KID_UNKNOWN);
	free(tok);
	/* another key under a known kid */
	tok = jh_token(HDR, c, JH_RS256, other, 0);
	ck_assert_int_eq(verify_tok(tok, &policy, NULL), AC_ERR_FIT_SIGNATURE);
	free(tok);
	/* the claims changed after signing */
	tok = jh_token(HDR, c, JH_RS256, key, 0);
	bad = jh_token(HDR, "{\"iss\":\"forge/invocation-token\"}", JH_NONE, NULL, 0);
	dot = strlen(bad);
	bad = realloc(bad, dot + strlen(strrchr(tok, '.')) + 1);
	memcpy(bad + dot - 1, strrchr(tok, '.'), strlen(strrchr(tok, '.')) + 1);
	ck_assert_int_eq(verify_tok(bad, &policy, NULL), AC_ERR_FIT_SIGNATURE);
	free(bad);
	/* a signature one byte short of the modulus */
	{
		unsigned char sig[255];
		struct ac_buf b;
		char *shorter;

		memset(sig, 0x41, sizeof(sig));
		ac_buf_init(&b, 64 * 1024);
		ck_assert_int_eq(ac_buf_add(&b, tok, (size_t)(strrchr(tok, '.') - tok) + 1), AC_OK);
		jh_b64(sig, sizeof(sig), &b);
		ck_assert_int_eq(ac_buf_detach(&b, &shorter, NULL), AC_OK);
		ck_assert_int_eq(verify_tok(shorter, &policy, NULL), AC_ERR_FIT_SIGNATURE);
		free(shorter);
	}
	free(tok);
	/* no set at all: nothing is known; out stays untouched on failure */
	tok = jh_token(HDR, c, JH_RS256, key, 0);
	ck_assert_int_eq(ac_fit_parse(tok, strlen(tok), &t), AC_OK);
	memset(&f, 0x5a, sizeof(f));
	memset(&g, 0x5a, sizeof(g));
	ck_assert_int_eq(ac_fit_verify(&t, NULL, &policy, &f, NULL), AC_ERR_FIT_KID_UNKNOWN);
	ck_assert_int_eq(memcmp(&f, &g, sizeof(f)), 0);
	ac_token_release(&t);
	free(tok);
	free(c);
}
END_TEST

/* The first code is the key's; the report holds every problem. */
START_TEST(order_and_report)
{
	char *c = claims_with("aud", "\"" OTHER_APP "\""), *tok = jh_token(HDR, c, JH_RS256, other, 0);
	struct ac_token t;
	struct ac_token_report r;

	ck_assert_int_eq(ac_fit_parse(tok, strlen(tok), &t), AC_OK);
	ac_token_report_init(&r);
	ck_assert_int_eq(ac_fit_verify(&t, set, &policy, NULL, &r), AC_ERR_FIT_SIGNATURE);
	ck_assert(ac_token_report_has(&r, AC_ERR_FIT_SIGNATURE));
	ck_assert(ac_token_report_has(&r, AC_ERR_FIT_AUD));
	ck_assert(ac_token_report_has(&r, AC_ERR_FIT_APP_ID));
	ac_token_report_release(&r);
	/* without a key, the claims alone */
	ck_assert_int_eq(ac_fit_check_claims(&t, &policy, NULL), AC_ERR_FIT_AUD);
	ac_token_release(&t);
	free(tok);
	free(c);
	c = claims_with(NULL, NULL);
	tok = jh_token(HDR, c, JH_RS256, other, 0);
	ck_assert_int_eq(ac_fit_parse(tok, strlen(tok), &t), AC_OK);
	ck_assert_int_eq(ac_fit_check_claims(&t, &policy, NULL), AC_OK);
	ac_token_release(&t);
	free(tok);
	free(c);
}
END_TEST

START_TEST(malformed)
{
	static const char *cases[] = { "", "a", "a.b", "a.b.c.d", "e30.e30.", "!!.e30.AA",
	    "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.AA" };
	struct ac_token t;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(ac_fit_parse(cases[i], strlen(cases[i]), &t) == AC_ERR_FIT_MALFORMED,
		    "'%s' parsed", cases[i]);
}
END_TEST

START_TEST(extract)
{
	const char *tok = NULL;
	size_t len = 0;

	ck_assert_int_eq(ac_fit_extract(NULL, &tok, &len), AC_ERR_FIT_MISSING);
	ck_assert_int_eq(ac_fit_extract("", &tok, &len), AC_ERR_FIT_MISSING);
	ck_assert_int_eq(ac_fit_extract("JWT a.b.c", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_extract("bearer a.b.c", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_extract("BEARER a.b.c", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_extract("Bearer", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_extract("Bearer ", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_extract("Bearer  a.b.c", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_extract("Bearer a.b.c ", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_extract("Bearer a.b.c, Bearer d.e.f", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_extract("Basic dXNlcjpwdw==", &tok, &len), AC_ERR_FIT_SCHEME);
	ck_assert_ptr_null(tok);
	ck_assert_int_eq(ac_fit_extract("Bearer a.b.c", &tok, &len), AC_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(strncmp(tok, "a.b.c", 5), 0);
}
END_TEST

/* The route's one call: a refetch is asked for only when an unknown kid is the one problem. */
START_TEST(header)
{
	char *c = claims_with(NULL, NULL), *bad = claims_with("aud", "\"" OTHER_APP "\"");
	char *tok, *hdr;
	struct ac_fit f;
	int refetch = 7;

	tok = jh_token(HDR, c, JH_RS256, key, 0);
	hdr = ac_buf_asprintf("Bearer %s", tok);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(ac_fit_verify_header(hdr, set, &policy, &f, &refetch), AC_OK);
	ck_assert_int_eq(refetch, 0);
	ck_assert_str_eq(f.installation_id, INST);
	ac_fit_release(&f);
	ck_assert_int_eq(ac_fit_verify_header(tok, set, &policy, NULL, &refetch), AC_ERR_FIT_SCHEME);
	ck_assert_int_eq(ac_fit_verify_header(NULL, set, &policy, NULL, &refetch), AC_ERR_FIT_MISSING);
	ck_assert_int_eq(ac_fit_verify_header("Bearer x.y", set, &policy, NULL, &refetch),
	    AC_ERR_FIT_MALFORMED);
	ck_assert_int_eq(refetch, 0);
	/* an empty set: the good token asks for a refetch */
	ck_assert_int_eq(ac_fit_verify_header(hdr, NULL, &policy, NULL, &refetch), AC_ERR_FIT_KID_UNKNOWN);
	ck_assert_int_eq(refetch, 1);
	free(tok);
	free(hdr);
	/* an unknown kid on a token that fails a claim: no refetch, the claim's code */
	tok = jh_token("{\"alg\":\"RS256\",\"kid\":\"new\"}", bad, JH_RS256, key, 0);
	hdr = ac_buf_asprintf("Bearer %s", tok);
	ck_assert_int_eq(ac_fit_verify_header(hdr, set, &policy, NULL, &refetch), AC_ERR_FIT_AUD);
	ck_assert_int_eq(refetch, 0);
	free(tok);
	free(hdr);
	/* unsigned, or HS256: never a refetch, whatever the kid */
	tok = jh_token("{\"alg\":\"none\",\"kid\":\"new\"}", c, JH_NONE, NULL, 0);
	hdr = ac_buf_asprintf("Bearer %s", tok);
	ck_assert_int_eq(ac_fit_verify_header(hdr, set, &policy, NULL, &refetch), AC_ERR_FIT_ALG);
	ck_assert_int_eq(refetch, 0);
	free(tok);
	free(hdr);
	tok = jh_token("{\"alg\":\"HS256\",\"kid\":\"new\"}", c, JH_HS256, pem, strlen(pem));
	hdr = ac_buf_asprintf("Bearer %s", tok);
	ck_assert_int_eq(ac_fit_verify_header(hdr, set, &policy, NULL, &refetch), AC_ERR_FIT_ALG);
	ck_assert_int_eq(refetch, 0);
	free(tok);
	free(hdr);
	/* a known kid, another key: the signature, no refetch */
	tok = jh_token(HDR, c, JH_RS256, other, 0);
	hdr = ac_buf_asprintf("Bearer %s", tok);
	ck_assert_int_eq(ac_fit_verify_header(hdr, set, &policy, NULL, &refetch), AC_ERR_FIT_SIGNATURE);
	ck_assert_int_eq(refetch, 0);
	free(tok);
	free(hdr);
	free(c);
	free(bad);
}
END_TEST

static void
teardown_all(void)
{
	/* the fixture's keys live for the whole run; free them so ASan reports only real leaks */
	ac_jwks_free(set);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	free(pem);
	set = NULL;
	key = other = NULL;
	pem = NULL;
}

static Suite *
suite(void)
{
	Suite *s = suite_create("fit");
	TCase *tc = tcase_create("fit");

	tcase_add_unchecked_fixture(tc, setup, teardown_all);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good);
	tcase_add_test(tc, aud_forms);
	tcase_add_test(tc, no_app_id_configured);
	tcase_add_test(tc, iss);
	tcase_add_test(tc, times);
	tcase_add_test(tc, leeway_bounds);
	tcase_add_test(tc, app_claims);
	tcase_add_test(tc, environments_policy);
	tcase_add_test(tc, alg_pinned);
	tcase_add_test(tc, kid_and_signature);
	tcase_add_test(tc, order_and_report);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, extract);
	tcase_add_test(tc, header);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
