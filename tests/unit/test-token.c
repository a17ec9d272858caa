/* test-token.c: unit tests of token.c (parse, extract, verify, sign). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "unit.h"

/* The whole module, so that its file-local ct_calls counter and b64url_encode are visible. */
#include "auth/token.c"
#include "auth/token-sign.c"

#define NOW 1700000000
#define LEEWAY 30
#define SECRET "s3cr3t-shared-secret"
#define CLIENT_KEY "ari:cloud:bitbucket::app/{1111-2222}/my-app"
#define APP_KEY "my-app"

static EVP_PKEY *rsa_key;
static char *rsa_pem;     /* the public key, PEM */
static size_t rsa_pem_len;
static char *rsa_pem2;    /* another key's public PEM */
static size_t rsa_pem2_len;

static char *
public_pem(EVP_PKEY *k, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;

	ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, k), 1);
	n = BIO_get_mem_data(bio, &p);
	s = malloc((size_t)n + 1);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return s;
}

static void
setup(void)
{
	EVP_PKEY *other;

	ac_clock_set(NOW);
	if (rsa_key == NULL) {
		rsa_key = EVP_RSA_gen(2048);
		ck_assert_ptr_nonnull(rsa_key);
		rsa_pem = public_pem(rsa_key, &rsa_pem_len);
		other = EVP_RSA_gen(2048);
		ck_assert_ptr_nonnull(other);
		rsa_pem2 = public_pem(other, &rsa_pem2_len);
		EVP_PKEY_free(other);
	}
}

static void
teardown(void)
{
	ac_clock_set(0);
}

static void
b64(const void *p, size_t n, struct ac_buf *out)
{
	ck_assert_int_eq(b64url_encode(p, n, out), AC_OK);
}

enum how { SIGN_HS, SIGN_RS, SIGN_NONE };

/* A compact token over raw header and claims text; caller frees. */
static char *
make(const char *header, const char *claims, enum how how, const void *key, size_t keylen)
{
	struct ac_buf b;
	unsigned char sig[1024];
	unsigned int hl = 0;
	size_t sl = sizeof(sig);
	EVP_MD_CTX *ctx;
	char *out;
	size_t n;

	ac_buf_init(&b, 1 << 22);
	b64(header, strlen(header), &b);
	ac_buf_addc(&b, '.');
	b64(claims, strlen(claims), &b);
	switch (how) {
	case SIGN_HS:
		HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)b.data, b.len, sig, &hl);
		sl = hl;
		break;
	case SIGN_RS:
		ctx = EVP_MD_CTX_new();
		ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, rsa_key), 1);
		ck_assert_int_eq(EVP_DigestSign(ctx, sig, &sl, (unsigned char *)b.data, b.len), 1);
		EVP_MD_CTX_free(ctx);
		break;
	case SIGN_NONE:
		sl = 0;
		break;
	}
	ac_buf_addc(&b, '.');
	b64(sig, sl, &b);
	ck_assert_int_eq(ac_buf_detach(&b, &out, &n), AC_OK);
	return out;
}

#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define RS_HEADER "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"0a1b2c3d-0000-4000-8000-000000000000\"}"

static void
qsh_of(const char *method, const char *url, char hex[AC_QSH_HEX_LEN])
{
	struct ac_buf c;

	ac_buf_init(&c, AC_CANON_MAX);
	ck_assert_int_eq(ac_canon_outbound(method, url, NULL, &c), AC_OK);
	ac_canon_qsh(c.data, c.len, hex);
	ac_buf_release(&c);
}

/* Claims of an inbound Bitbucket webhook at NOW, with the given extra text spliced in. */
static char *
claims(const char *extra)
{
	char hex[AC_QSH_HEX_LEN];
	struct ac_buf b;
	char *out;
	size_t n;

	qsh_of("POST", "/webhook", hex);
	ac_buf_init(&b, 1 << 16);
	ac_buf_printf(&b, "{\"iss\":\"%s\",\"iat\":%d,\"exp\":%d,\"qsh\":\"%s\"%s%s}", CLIENT_KEY,
	    NOW - 10, NOW + 3590, hex, extra && *extra ? "," : "", extra ? extra : "");
	ac_buf_detach(&b, &out, &n);
	return out;
}

static struct ac_token_policy
inbound_policy(void)
{
	struct ac_token_policy p;

	memset(&p, 0, sizeof(p));
	p.alg = AC_TOKEN_HS256;
	p.leeway = LEEWAY;
	p.iss = CLIENT_KEY;
	p.aud_rule = AC_TOKEN_AUD_OPTIONAL;
	p.aud = CLIENT_KEY;
	p.app_key = APP_KEY;
	p.client_key = CLIENT_KEY;
	return p;
}

/* Parses tok and verifies it as a POST /webhook with secret SECRET (or key). */
static enum ac_err
check_with(const char *tok, const void *key, size_t keylen, const struct ac_token_policy *p,
    struct ac_token_report *r)
{
	struct ac_token t;
	char hex[AC_QSH_HEX_LEN];
	enum ac_err err;

	err = ac_token_parse(tok, strlen(tok), &t);
	if (err != AC_OK)
		return err;
	qsh_of("POST", "/webhook", hex);
	err = ac_token_verify(&t, key, keylen, p, hex, r);
	ac_token_release(&t);
	return err;
}

static enum ac_err
check_hs(const char *claims_json, const struct ac_token_policy *p)
{
	char *tok = make(HS_HEADER, claims_json, SIGN_HS, SECRET, strlen(SECRET));
	enum ac_err err = check_with(tok, SECRET, strlen(SECRET), p, NULL);

	free(tok);
	return err;
}

static enum ac_err
check_claims(const char *extra)
{
	struct ac_token_policy p = inbound_policy();
	char *c = claims(extra);
	enum ac_err err = check_hs(c, &p);

	free(c);
	return err;
}

/* ---------------------------------------------------------------- tests */

START_TEST(valid_hs256)
{
	ck_assert_int_eq(check_claims(NULL), AC_OK);
	ck_assert_int_eq(check_claims("\"aud\":\"" CLIENT_KEY "\""), AC_OK);
	ck_assert_int_eq(check_claims("\"aud\":[\"" CLIENT_KEY "\"]"), AC_OK);
	ck_assert_int_eq(check_claims("\"nbf\":1699999990.5"), AC_OK);
}
END_TEST

START_TEST(extract)
{
	const char *tok, *hint;
	size_t len;
	static const char q[] = "a=1&jwt=abc.def.ghi&b=2";

	ck_assert_int_eq(ac_token_extract("JWT abc.def.ghi", NULL, 0, 0, &tok, &len, &hint), AC_OK);
	ck_assert_int_eq(len, 11);
	ck_assert_int_eq(memcmp(tok, "abc.def.ghi", 11), 0);
	ck_assert_int_eq(ac_token_extract("JWT  abc.def.ghi \t", NULL, 0, 0, &tok, &len, NULL), AC_OK);
	ck_assert_int_eq(len, 11);

	ck_assert_int_eq(ac_token_extract(NULL, NULL, 0, 1, &tok, &len, &hint), AC_ERR_TOKEN_MISSING);
	ck_assert_ptr_null(hint);
	ck_assert_int_eq(ac_token_extract("", "a=1", 3, 1, &tok, &len, &hint), AC_ERR_TOKEN_MISSING);
	ck_assert_int_eq(ac_token_extract("Bearer abc.def.ghi", NULL, 0, 0, &tok, &len, &hint),
	    AC_ERR_TOKEN_MISSING);
	ck_assert_ptr_nonnull(strstr(hint, "Bearer"));
	ck_assert_int_eq(ac_token_extract("jwt abc.def.ghi", NULL, 0, 0, &tok, &len, &hint),
	    AC_ERR_TOKEN_MISSING);
	ck_assert_ptr_nonnull(strstr(hint, "case-sensitive"));
	ck_assert_int_eq(ac_token_extract("JWT ", NULL, 0, 0, &tok, &len, &hint),
	    AC_ERR_TOKEN_MISSING);
	ck_assert_int_eq(ac_token_extract("JWTabc", NULL, 0, 0, &tok, &len, &hint),
	    AC_ERR_TOKEN_MISSING);

	/* ?jwt= only where the route allows it */
	ck_assert_int_eq(ac_token_extract(NULL, q, strlen(q), 0, &tok, &len, &hint),
	    AC_ERR_TOKEN_MISSING);
	ck_assert_ptr_nonnull(strstr(hint, "?jwt="));
	ck_assert_int_eq(ac_token_extract(NULL, q, strlen(q), 1, &tok, &len, &hint), AC_OK);
	ck_assert_int_eq(len, 11);
	ck_assert_int_eq(memcmp(tok, "abc.def.ghi", 11), 0);
	/* the header wins */
	ck_assert_int_eq(ac_token_extract("JWT x.y.z", q, strlen(q), 1, &tok, &len, NULL), AC_OK);
	ck_assert_int_eq(len, 5);
	/* a repeated jwt= is ambiguous */
	ck_assert_int_eq(ac_token_extract(NULL, "jwt=a.b.c&jwt=d.e.f", 19, 1, &tok, &len, NULL),
	    AC_ERR_TOKEN_MALFORMED);
	/*
	 * The parameter the qsh leaves out (decoded name "jwt") is the one read as the token: a
	 * "%6Awt=" was dropped from the hash yet not found, and counted apart from a jwt= beside it.
	 */
	ck_assert_int_eq(ac_token_extract(NULL, "a=1&%6Awt=a.b.c", 15, 1, &tok, &len, NULL), AC_OK);
	ck_assert_int_eq(len, 5);
	ck_assert_int_eq(memcmp(tok, "a.b.c", 5), 0);
	ck_assert_int_eq(ac_token_extract(NULL, "jwt=a.b.c&jw%74=d.e.f", 21, 1, &tok, &len, NULL),
	    AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(ac_token_extract(NULL, "JWT=a.b.c", 9, 1, &tok, &len, NULL), AC_ERR_TOKEN_MISSING);
	/* not NUL-terminated: stops at query_len */
	ck_assert_int_eq(ac_token_extract(NULL, "jwt=a.b.cXYZ", 9, 1, &tok, &len, NULL), AC_OK);
	ck_assert_int_eq(len, 5);
	ck_assert_int_eq(ac_token_extract(NULL, "xjwt=a.b.c", 10, 1, &tok, &len, NULL),
	    AC_ERR_TOKEN_MISSING);
}
END_TEST

static enum ac_err
parse_str(const char *s)
{
	struct ac_token t;
	enum ac_err err = ac_token_parse(s, strlen(s), &t);

	if (err == AC_OK)
		ac_token_release(&t);
	return err;
}

START_TEST(malformed)
{
	char *c = claims(NULL);
	char *good = make(HS_HEADER, c, SIGN_HS, SECRET, strlen(SECRET));
	char *s, *big;
	size_t n = strlen(good), i;
	struct ac_buf b;

	ck_assert_int_eq(parse_str(good), AC_OK);
	ck_assert_int_eq(parse_str(""), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_str("abc"), AC_ERR_TOKEN_MALFORMED);

	/* two segments */
	s = strdup(good);
	*strrchr(s, '.') = '\0';
	ck_assert_int_eq(parse_str(s), AC_ERR_TOKEN_MALFORMED);
	free(s);
	/* four segments */
	ac_buf_init(&b, 1 << 16);
	ac_buf_printf(&b, "%s.AAAA", good);
	ck_assert_int_eq(parse_str(b.data), AC_ERR_TOKEN_MALFORMED);
	ac_buf_reset(&b);
	ac_buf_printf(&b, "%s.", good);
	ck_assert_int_eq(parse_str(b.data), AC_ERR_TOKEN_MALFORMED);
	/* padding characters, in each segment */
	ac_buf_reset(&b);
	ac_buf_printf(&b, "%s=", good);
	ck_assert_int_eq(parse_str(b.data), AC_ERR_TOKEN_MALFORMED);
	ac_buf_reset(&b);
	ac_buf_printf(&b, "%.*s==%s", (int)(strchr(good, '.') - good), good, strchr(good, '.'));
	ck_assert_int_eq(parse_str(b.data), AC_ERR_TOKEN_MALFORMED);
	/* standard base64 characters, whitespace */
	s = strdup(good);
	s[2] = '+';
	ck_assert_int_eq(parse_str(s), AC_ERR_TOKEN_MALFORMED);
	s[2] = ' ';
	ck_assert_int_eq(parse_str(s), AC_ERR_TOKEN_MALFORMED);
	free(s);
	/* a NUL inside the length */
	ck_assert_int_eq(ac_token_parse("a\0b.c.d", 7, &(struct ac_token){ 0 }), AC_ERR_TOKEN_MALFORMED);
	/* empty signature */
	s = strdup(good);
	strrchr(s, '.')[1] = '\0';
	ck_assert_int_eq(parse_str(s), AC_ERR_TOKEN_MALFORMED);
	free(s);
	/* non-canonical trailing bits: 32-byte HMAC is 43 chars, last one has 2 spare bits */
	s = strdup(good);
	i = n - 1;
	ck_assert(b64url_value((unsigned char)s[i]) % 4 == 0);
	s[i] = (char)("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	    [b64url_value((unsigned char)s[i]) + 1]);
	ck_assert_int_eq(parse_str(s), AC_ERR_TOKEN_MALFORMED);
	free(s);

	/* 1 MB token: refused on its length alone */
	big = malloc(1024 * 1024 + 1);
	memset(big, 'A', 1024 * 1024);
	big[10] = '.';
	big[20] = '.';
	big[1024 * 1024] = '\0';
	ck_assert_int_eq(parse_str(big), AC_ERR_TOKEN_MALFORMED);
	free(big);
	/* just over the cap */
	big = malloc(AC_TOKEN_MAX + 2);
	memcpy(big, good, n);
	memset(big + n, 'A', AC_TOKEN_MAX + 1 - n);
	big[AC_TOKEN_MAX + 1] = '\0';
	ck_assert_int_eq(parse_str(big), AC_ERR_TOKEN_MALFORMED);
	free(big);

	ac_buf_release(&b);
	free(good);
	free(c);
}
END_TEST

static enum ac_err
parse_json_pair(const char *header, const char *claims_json)
{
	char *tok = make(header, claims_json, SIGN_HS, SECRET, strlen(SECRET));
	enum ac_err err = parse_str(tok);

	free(tok);
	return err;
}

START_TEST(malformed_json)
{
	const char *ok = "{\"iss\":\"x\",\"exp\":1}";

	ck_assert_int_eq(parse_json_pair(HS_HEADER, ok), AC_OK);
	ck_assert_int_eq(parse_json_pair("not json", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("[\"HS256\"]", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER " x", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER "{}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("{\"typ\":\"JWT\"}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("{\"alg\":256}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("{\"alg\":\"HS256\",\"kid\":1}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("{\"alg\":\"HS256\",\"typ\":1}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", ok),
	    AC_ERR_TOKEN_MALFORMED);
	/* typ is optional */
	ck_assert_int_eq(parse_json_pair("{\"alg\":\"HS256\"}", ok), AC_OK);
	/* strict JSON: single quotes, trailing comma */
	ck_assert_int_eq(parse_json_pair("{'alg':'HS256'}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"iss\":\"x\",}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "\"claims\""), AC_ERR_TOKEN_MALFORMED);
	/* types of registered claims */
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"exp\":\"1\"}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"iat\":true}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"nbf\":null}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"iss\":1}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"sub\":{}}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"qsh\":[]}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"aud\":1}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"aud\":[\"a\",2]}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"iss\":\"a\\u0000b\"}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"exp\":1e400}"), AC_ERR_TOKEN_MALFORMED);
	/* json-c clamps integers past int64: out of range, so malformed (never a date far away) */
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"exp\":99999999999999999999999}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"exp\":-99999999999999999999999}"), AC_ERR_TOKEN_MALFORMED);
	/* the strictness of every other JSON read: no NaN, Infinity, "1.", raw control characters */
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"exp\":NaN}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"exp\":Infinity}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"exp\":1.}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"iss\":\"a\tb\"}"), AC_ERR_TOKEN_MALFORMED);
	/* a name twice: json-c keeps the last, a checker may read the first; refused, compared decoded */
	ck_assert_int_eq(parse_json_pair("{\"alg\":\"HS256\",\"alg\":\"none\"}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("{\"alg\":\"none\",\"alg\":\"HS256\"}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("{\"alg\":\"HS256\",\"\\u0061lg\":\"HS256\"}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair("{\"alg\":\"RS256\",\"kid\":\"a\",\"kid\":\"b\"}", ok), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"iss\":\"x\",\"iss\":\"y\",\"exp\":1}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"iss\":\"x\",\"exp\":1,\"exp\":2}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"qsh\":\"a\",\"q\\u0073h\":\"b\"}"), AC_ERR_TOKEN_MALFORMED);
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"context\":{\"a\":1,\"a\":1}}"), AC_ERR_TOKEN_MALFORMED);
	/* too deep */
	ck_assert_int_eq(parse_json_pair(HS_HEADER,
	    "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"),
	    AC_ERR_TOKEN_MALFORMED);
	/* invalid UTF-8 */
	ck_assert_int_eq(parse_json_pair(HS_HEADER, "{\"iss\":\"\xff\"}"), AC_ERR_TOKEN_MALFORMED);
}
END_TEST

START_TEST(parsed_fields)
{
	struct ac_token t;
	char *tok = make(RS_HEADER, "{\"iss\":\"i\",\"sub\":\"s\",\"aud\":[\"a\",\"b\"],\"exp\":5,"
	    "\"nbf\":4.9,\"iat\":3,\"qsh\":\"q\"}", SIGN_NONE, NULL, 0);

	ck_assert_int_eq(ac_token_parse(tok, strlen(tok), &t), AC_ERR_TOKEN_MALFORMED); /* no sig */
	free(tok);
	tok = make(RS_HEADER, "{\"iss\":\"i\",\"sub\":\"s\",\"aud\":[\"a\",\"b\"],\"exp\":5,"
	    "\"nbf\":4.9,\"iat\":3,\"qsh\":\"q\"}", SIGN_RS, NULL, 0);
	ck_assert_int_eq(ac_token_parse(tok, strlen(tok), &t), AC_OK);
	ck_assert_str_eq(t.alg_name, "RS256");
	ck_assert_int_eq(t.alg, AC_TOKEN_RS256);
	ck_assert_str_eq(t.kid, "0a1b2c3d-0000-4000-8000-000000000000");
	ck_assert_str_eq(t.iss, "i");
	ck_assert_str_eq(t.sub, "s");
	ck_assert_str_eq(t.qsh, "q");
	ck_assert_int_eq(t.naud, 2);
	ck_assert_int_eq(t.aud_is_array, 1);
	ck_assert_str_eq(t.aud[1], "b");
	ck_assert(t.has_exp && t.exp == 5 && t.has_nbf && t.nbf == 4 && t.has_iat && t.iat == 3);
	ck_assert_int_eq(t.sig_len, 256);
	ac_token_release(&t);
	ac_token_release(&t); /* twice is harmless */
	free(tok);
}
END_TEST

START_TEST(alg_none)
{
	struct ac_token_policy p = inbound_policy();
	char *c = claims(NULL);
	char *tok = make("{\"alg\":\"none\"}", c, SIGN_HS, SECRET, strlen(SECRET));

	ck_assert_int_eq(check_with(tok, SECRET, strlen(SECRET), &p, NULL), AC_ERR_ALG_NOT_ALLOWED);
	free(tok);
	tok = make("{\"alg\":\"HS512\"}", c, SIGN_HS, SECRET, strlen(SECRET));
	ck_assert_int_eq(check_with(tok, SECRET, strlen(SECRET), &p, NULL), AC_ERR_ALG_NOT_ALLOWED);
	free(tok);
	tok = make("{\"alg\":\"hs256\"}", c, SIGN_HS, SECRET, strlen(SECRET));
	ck_assert_int_eq(check_with(tok, SECRET, strlen(SECRET), &p, NULL), AC_ERR_ALG_NOT_ALLOWED);
	free(tok);
	free(c);
}
END_TEST

/* doc/protocol.md §5: the classic RS256 -> HS256 confusion must fail. */
START_TEST(hs256_with_public_key_on_rs256_route)
{
	struct ac_token_policy p = inbound_policy();
	struct ac_token_report r;
	char *c = claims(NULL);
	char *tok = make(HS_HEADER, c, SIGN_HS, rsa_pem, rsa_pem_len);

	p.alg = AC_TOKEN_RS256;
	p.aud_rule = AC_TOKEN_AUD_ANY;
	ac_token_report_init(&r);
	ck_assert_int_eq(check_with(tok, rsa_pem, rsa_pem_len, &p, &r), AC_ERR_ALG_NOT_ALLOWED);
	ck_assert(!ac_token_report_has(&r, AC_ERR_BAD_SIGNATURE));
	ac_token_report_release(&r);
	/* the header lying about RS256 over an HMAC made with the PEM is just a bad signature */
	free(tok);
	tok = make(RS_HEADER, c, SIGN_HS, rsa_pem, rsa_pem_len);
	ck_assert_int_eq(check_with(tok, rsa_pem, rsa_pem_len, &p, NULL), AC_ERR_BAD_SIGNATURE);
	free(tok);
	free(c);
}
END_TEST

START_TEST(rs256_on_hs256_route)
{
	struct ac_token_policy p = inbound_policy();
	char *c = claims(NULL);
	char *tok = make(RS_HEADER, c, SIGN_RS, NULL, 0);

	ck_assert_int_eq(check_with(tok, SECRET, strlen(SECRET), &p, NULL), AC_ERR_ALG_NOT_ALLOWED);
	ck_assert_int_eq(check_with(tok, rsa_pem, rsa_pem_len, &p, NULL), AC_ERR_ALG_NOT_ALLOWED);
	free(tok);
	free(c);
}
END_TEST

START_TEST(rs256_signed_install)
{
	struct ac_token_policy p = inbound_policy();
	struct ac_token t;
	char hex[AC_QSH_HEX_LEN];
	char *c = claims("\"aud\":\"https://app.example.com/\"");
	char *tok = make(RS_HEADER, c, SIGN_RS, NULL, 0);

	p.alg = AC_TOKEN_RS256;
	p.aud_rule = AC_TOKEN_AUD_URL;
	p.aud = "https://app.example.com";
	ck_assert_int_eq(check_with(tok, rsa_pem, rsa_pem_len, &p, NULL), AC_OK);
	ck_assert_int_eq(check_with(tok, rsa_pem2, rsa_pem2_len, &p, NULL), AC_ERR_BAD_SIGNATURE);
	ck_assert_int_eq(check_with(tok, "garbage", 7, &p, NULL), AC_ERR_BAD_SIGNATURE);
	p.aud = "https://other.example.com";
	ck_assert_int_eq(check_with(tok, rsa_pem, rsa_pem_len, &p, NULL), AC_ERR_AUD_MISMATCH);
	free(tok);
	free(c);
	/* aud required on a signed install */
	c = claims(NULL);
	tok = make(RS_HEADER, c, SIGN_RS, NULL, 0);
	ck_assert_int_eq(check_with(tok, rsa_pem, rsa_pem_len, &p, NULL), AC_ERR_AUD_MISMATCH);
	/* a flipped byte of the signature */
	ck_assert_int_eq(ac_token_parse(tok, strlen(tok), &t), AC_OK);
	t.sig[10] ^= 1;
	qsh_of("POST", "/webhook", hex);
	p.aud_rule = AC_TOKEN_AUD_ANY;
	ck_assert_int_eq(ac_token_verify(&t, rsa_pem, rsa_pem_len, &p, hex, NULL), AC_ERR_BAD_SIGNATURE);
	ac_token_release(&t);
	free(tok);
	free(c);
}
END_TEST

START_TEST(bad_signature)
{
	struct ac_token_policy p = inbound_policy();
	char *c = claims(NULL);
	char *tok = make(HS_HEADER, c, SIGN_HS, "other", 5);

	ck_assert_int_eq(check_with(tok, SECRET, strlen(SECRET), &p, NULL), AC_ERR_BAD_SIGNATURE);
	/* a secret that is a prefix of the real one */
	ck_assert_int_eq(check_with(tok, "oth", 3, &p, NULL), AC_ERR_BAD_SIGNATURE);
	ck_assert_int_eq(check_with(tok, "other", 5, &p, NULL), AC_OK);
	free(tok);
	/* an empty secret still is a key, never NULL */
	tok = make(HS_HEADER, c, SIGN_HS, "", 0);
	ck_assert_int_eq(check_with(tok, "", 0, &p, NULL), AC_OK);
	ck_assert_int_eq(check_with(tok, SECRET, strlen(SECRET), &p, NULL), AC_ERR_BAD_SIGNATURE);
	free(tok);
	free(c);
}
END_TEST

START_TEST(null_key)
{
	struct ac_token_policy p = inbound_policy();
	struct ac_token t;
	char *c = claims(NULL);
	char *tok = make(HS_HEADER, c, SIGN_HS, SECRET, strlen(SECRET));

	ck_assert_int_eq(ac_token_parse(tok, strlen(tok), &t), AC_OK);
	ck_assert_int_eq(ac_token_verify(&t, NULL, 0, &p, "x", NULL), AC_ERR_INVALID);
	ac_token_release(&t);
	free(tok);
	free(c);
}
END_TEST

static enum ac_err
check_times_json(const char *json)
{
	struct ac_token_policy p = inbound_policy();

	return check_hs(json, &p);
}

START_TEST(time_edges)
{
	char hex[AC_QSH_HEX_LEN], buf[512];

	qsh_of("POST", "/webhook", hex);
#define T(fmt, ...) (snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\"," fmt "}", \
	hex, __VA_ARGS__), check_times_json(buf))
	/* exp must be later than now - leeway */
	ck_assert_int_eq(T("\"exp\":%d", NOW - LEEWAY), AC_ERR_EXPIRED);
	ck_assert_int_eq(T("\"exp\":%d", NOW - LEEWAY + 1), AC_OK);
	ck_assert_int_eq(T("\"exp\":%d", NOW - 100000), AC_ERR_EXPIRED);
	ck_assert_int_eq(T("\"exp\":%.1f", NOW - LEEWAY + 0.5), AC_ERR_EXPIRED);
	/* nbf and iat no later than now + leeway */
	ck_assert_int_eq(T("\"exp\":%d,\"nbf\":%d", NOW + 60, NOW + LEEWAY), AC_OK);
	ck_assert_int_eq(T("\"exp\":%d,\"nbf\":%d", NOW + 60, NOW + LEEWAY + 1), AC_ERR_NOT_YET_VALID);
	ck_assert_int_eq(T("\"exp\":%d,\"iat\":%d", NOW + 60, NOW + LEEWAY), AC_OK);
	ck_assert_int_eq(T("\"exp\":%d,\"iat\":%d", NOW + 60, NOW + LEEWAY + 1), AC_ERR_NOT_YET_VALID);
	/* exp required */
	ck_assert_int_eq(T("\"iat\":%d", NOW), AC_ERR_CLAIM_MISSING);
	/* no leeway */
	{
		struct ac_token_policy p = inbound_policy();

		p.leeway = 0;
		snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":%d}",
		    hex, NOW);
		ck_assert_int_eq(check_hs(buf, &p), AC_ERR_EXPIRED);
		snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":%d}",
		    hex, NOW + 1);
		ck_assert_int_eq(check_hs(buf, &p), AC_OK);
	}
#undef T
}
END_TEST

/*
 * RFC 7519 2: NumericDates beyond +-AC_JSON_DATE_MAX are malformed, never
 * arithmetic: -2^63 used to overflow "now - exp" (UBSan aborts), 2^64-1 was
 * clamped into a token that never expires. Every date claim, both signs,
 * integers and fractions, at and past the bound.
 */
START_TEST(numeric_date_bounds)
{
	static const char *const names[] = { "exp", "nbf", "iat" };
	static const char *const bad[] = {
		"-9223372036854775808", "9223372036854775807", "18446744073709551615", "-18446744073709551616",
		"100000000001", "-100000000001", "1.00000000001e11", "-1e12", "1e19", "-1e300", "1e400",
	};
	char hex[AC_QSH_HEX_LEN], buf[512];
	size_t i, k;

	qsh_of("POST", "/webhook", hex);
	for (k = 0; k < 3; k++)
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":%d,\"%s\":%s}",
			    hex, NOW + 60, names[k], bad[i]);
			/* verify first: under UBSan an overflow in the time checks aborts right here */
			ck_assert_msg(check_times_json(buf) == AC_ERR_TOKEN_MALFORMED, "%s %s accepted", names[k], bad[i]);
			if (k == 0) /* the second exp is the one json-c keeps */
				ck_assert_msg(parse_json_pair(HS_HEADER, buf) == AC_ERR_TOKEN_MALFORMED, "exp %s", bad[i]);
		}
	/* at the bound: a date, with plain arithmetic */
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":100000000000}", hex);
	ck_assert_int_eq(check_times_json(buf), AC_OK);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":-100000000000}", hex);
	ck_assert_int_eq(check_times_json(buf), AC_ERR_EXPIRED);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":%d,"
	    "\"nbf\":-100000000000,\"iat\":-100000000000.5}", hex, NOW + 60);
	ck_assert_int_eq(check_times_json(buf), AC_ERR_TOKEN_MALFORMED);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":%d,"
	    "\"nbf\":-100000000000,\"iat\":-99999999999.5}", hex, NOW + 60);
	ck_assert_int_eq(check_times_json(buf), AC_OK);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":%d,\"nbf\":100000000000}",
	    hex, NOW + 60);
	ck_assert_int_eq(check_times_json(buf), AC_ERR_NOT_YET_VALID);
	/* a huge leeway from a caller is held to a day, not added into an overflow */
	{
		struct ac_token_policy p = inbound_policy();

		p.leeway = 0x7fffffffL;
		snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"qsh\":\"%s\",\"exp\":-100000000000}", hex);
		ck_assert_int_eq(check_hs(buf, &p), AC_ERR_EXPIRED);
	}
}
END_TEST

START_TEST(iss_sub_aud)
{
	struct ac_token_policy p = inbound_policy();
	char hex[AC_QSH_HEX_LEN], buf[1024];

	qsh_of("POST", "/webhook", hex);
	snprintf(buf, sizeof(buf), "{\"exp\":%d,\"qsh\":\"%s\"}", NOW + 60, hex);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_CLAIM_MISSING);
	snprintf(buf, sizeof(buf), "{\"iss\":\"someone\",\"exp\":%d,\"qsh\":\"%s\"}", NOW + 60, hex);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_ISS_MISMATCH);
	p.iss = NULL; /* only required */
	ck_assert_int_eq(check_hs(buf, &p), AC_OK);
	p = inbound_policy();

	/* aud: string or array naming the tenant */
	ck_assert_int_eq(check_claims("\"aud\":\"other\""), AC_ERR_AUD_MISMATCH);
	ck_assert_int_eq(check_claims("\"aud\":[\"other\"]"), AC_ERR_AUD_MISMATCH);
	ck_assert_int_eq(check_claims("\"aud\":[]"), AC_ERR_AUD_MISMATCH);
	ck_assert_int_eq(check_claims("\"aud\":[\"other\",\"" CLIENT_KEY "\"]"), AC_OK);

	/* outbound Bitbucket: iss app key, sub clientKey */
	p.outbound = 1;
	p.iss = APP_KEY;
	p.sub = CLIENT_KEY;
	p.aud_rule = AC_TOKEN_AUD_ANY;
	snprintf(buf, sizeof(buf), "{\"iss\":\"" APP_KEY "\",\"sub\":\"" CLIENT_KEY "\",\"exp\":%d,"
	    "\"qsh\":\"%s\"}", NOW + 60, hex);
	ck_assert_int_eq(check_hs(buf, &p), AC_OK);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" APP_KEY "\",\"sub\":\"557058:6dcdb6c9\",\"exp\":%d,"
	    "\"qsh\":\"%s\"}", NOW + 60, hex);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_SUB_MISMATCH);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" APP_KEY "\",\"exp\":%d,\"qsh\":\"%s\"}", NOW + 60, hex);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_SUB_MISMATCH);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"sub\":\"" CLIENT_KEY "\",\"exp\":%d,"
	    "\"qsh\":\"%s\"}", NOW + 60, hex);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_ISS_MISMATCH);
}
END_TEST

START_TEST(qsh)
{
	struct ac_token_policy p = inbound_policy();
	char buf[512];

	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"exp\":%d}", NOW + 60);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_QSH_MISSING);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"exp\":%d,\"qsh\":\"%064d\"}", NOW + 60, 0);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_QSH_MISMATCH);
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"exp\":%d,\"qsh\":\"\"}", NOW + 60);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_QSH_MISMATCH);
	/* context-qsh only where allowed */
	snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"exp\":%d,\"qsh\":\"context-qsh\"}",
	    NOW + 60);
	ck_assert_int_eq(check_hs(buf, &p), AC_ERR_QSH_MISMATCH);
	p.allow_context_qsh = 1;
	ck_assert_int_eq(check_hs(buf, &p), AC_OK);
	/* a computed qsh is still fine where context-qsh is allowed */
	ck_assert_int_eq(check_claims(NULL), AC_OK);
	/* upper-case hex is not the canonical form */
	{
		char hex[AC_QSH_HEX_LEN];
		size_t i;

		qsh_of("POST", "/webhook", hex);
		for (i = 0; hex[i]; i++)
			if (hex[i] >= 'a' && hex[i] <= 'f')
				hex[i] = (char)(hex[i] - 'a' + 'A');
		snprintf(buf, sizeof(buf), "{\"iss\":\"" CLIENT_KEY "\",\"exp\":%d,\"qsh\":\"%s\"}",
		    NOW + 60, hex);
		ck_assert_int_eq(check_hs(buf, &p), AC_ERR_QSH_MISMATCH);
	}
}
END_TEST

START_TEST(report_every_problem)
{
	struct ac_token_policy p = inbound_policy();
	struct ac_token_report r;
	char buf[512];
	char *tok;
	size_t i;

	snprintf(buf, sizeof(buf), "{\"iss\":\"" APP_KEY "\",\"exp\":%d,\"iat\":%d,"
	    "\"aud\":\"x\",\"qsh\":\"context-qsh\"}", NOW - 300, NOW + 600);
	tok = make(HS_HEADER, buf, SIGN_HS, "stale", 5);
	ac_token_report_init(&r);
	ck_assert_int_eq(check_with(tok, SECRET, strlen(SECRET), &p, &r), AC_ERR_BAD_SIGNATURE);
	ck_assert(ac_token_report_has(&r, AC_ERR_BAD_SIGNATURE));
	ck_assert(ac_token_report_has(&r, AC_ERR_EXPIRED));
	ck_assert(ac_token_report_has(&r, AC_ERR_NOT_YET_VALID));
	ck_assert(ac_token_report_has(&r, AC_ERR_ISS_MISMATCH));
	ck_assert(ac_token_report_has(&r, AC_ERR_AUD_MISMATCH));
	ck_assert(ac_token_report_has(&r, AC_ERR_QSH_MISMATCH));
	ck_assert_int_eq(r.n, 6);
	for (i = 0; i < r.n; i++) {
		ck_assert_ptr_nonnull(r.v[i].text);
		ck_assert_ptr_null(strstr(r.v[i].text, SECRET));
	}
	/* the explanations */
	ck_assert_ptr_nonnull(strstr(r.v[1].text, "expired 300 s ago"));
	ck_assert_ptr_nonnull(strstr(r.v[2].text, "iat is 600 s in the future"));
	ck_assert_ptr_nonnull(strstr(r.v[3].text, "app key"));
	ac_token_report_release(&r);
	/* the same verdict without a report */
	ck_assert_int_eq(check_with(tok, SECRET, strlen(SECRET), &p, NULL), AC_ERR_BAD_SIGNATURE);
	free(tok);
}
END_TEST

START_TEST(constant_time)
{
	struct ac_token_policy p = inbound_policy();
	unsigned before = ct_calls;

	ck_assert_int_eq(check_claims(NULL), AC_OK);
	/* one for the HMAC, one for the qsh */
	ck_assert_uint_eq(ct_calls - before, 2);
	(void)p;
}
END_TEST

START_TEST(sign_roundtrip)
{
	struct json_object *c;
	struct ac_token t;
	struct ac_token_policy p;
	char *tok;
	char hex[AC_QSH_HEX_LEN];

	ck_assert_int_eq(ac_token_claims_bitbucket(APP_KEY, CLIENT_KEY, "GET",
	    "https://api.bitbucket.org/2.0/user?b=2&a=1", "https://api.bitbucket.org", &c), AC_OK);
	ck_assert_int_eq(ac_token_sign_hs256(c, SECRET, strlen(SECRET), &tok), AC_OK);
	json_object_put(c);
	ck_assert_int_eq(ac_token_parse(tok, strlen(tok), &t), AC_OK);
	ck_assert_str_eq(t.alg_name, "HS256");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(t.header, "typ")), "JWT");
	ck_assert_str_eq(t.iss, APP_KEY);
	ck_assert_str_eq(t.sub, CLIENT_KEY);
	ck_assert(t.has_iat && t.iat == NOW && t.has_exp && t.exp == NOW + 180);
	qsh_of("GET", "/2.0/user?a=1&b=2", hex);
	ck_assert_str_eq(t.qsh, hex);
	memset(&p, 0, sizeof(p));
	p.alg = AC_TOKEN_HS256;
	p.iss = APP_KEY;
	p.sub = CLIENT_KEY;
	p.outbound = 1;
	ck_assert_int_eq(ac_token_verify(&t, SECRET, strlen(SECRET), &p, hex, NULL), AC_OK);
	ac_token_release(&t);
	free(tok);

	/* Jira, with and without aud */
	ck_assert_int_eq(ac_token_claims_jira(APP_KEY, "jira-client", "PUT",
	    "https://x.atlassian.net/rest/api/3/issue/XX-21", "https://x.atlassian.net", &c), AC_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(c, "aud"),
	    JSON_C_TO_STRING_PLAIN), "[\"jira-client\"]");
	ck_assert_ptr_null(json_object_object_get(c, "sub"));
	json_object_put(c);
	ck_assert_int_eq(ac_token_claims_jira(APP_KEY, NULL, "GET", "/rest/api/3/myself", NULL, &c),
	    AC_OK);
	ck_assert_ptr_null(json_object_object_get(c, "aud"));
	json_object_put(c);

	/* doc/protocol.md §8: JWT grant */
	ck_assert_int_eq(ac_token_claims_bitbucket_grant(APP_KEY, CLIENT_KEY,
	    "https://bitbucket.org/site/oauth2/access_token", &c), AC_OK);
	{
		unsigned char md[32];
		char want[65];
		size_t i;
		static const char canon[] = "POST&/site/oauth2/access_token&";

		SHA256((const unsigned char *)canon, strlen(canon), md);
		for (i = 0; i < 32; i++)
			snprintf(want + 2 * i, 3, "%02x", md[i]);
		ck_assert_str_eq(json_object_get_string(json_object_object_get(c, "qsh")), want);
	}
	ck_assert_str_eq(json_object_get_string(json_object_object_get(c, "sub")), CLIENT_KEY);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(c, "exp")), NOW + 180);
	json_object_put(c);

	/* doc/protocol.md §9: impersonation assertion */
	ck_assert_int_eq(ac_token_claims_jira_assertion("oc-1", "5b10a2844c20165700ede21g",
	    "https://x.atlassian.net", NULL, &c), AC_OK);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(c, "iss")),
	    "urn:atlassian:connect:clientid:oc-1");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(c, "sub")),
	    "urn:atlassian:connect:useraccountid:5b10a2844c20165700ede21g");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(c, "tnt")),
	    "https://x.atlassian.net");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(c, "aud")), AC_TOKEN_OAUTH_AUD);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(c, "iat")), NOW);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(c, "exp")), NOW + 60);
	ck_assert_ptr_null(json_object_object_get(c, "qsh"));
	ck_assert_int_eq(ac_token_sign_hs256(c, SECRET, strlen(SECRET), &tok), AC_OK);
	json_object_put(c);
	ck_assert_int_eq(parse_str(tok), AC_OK);
	free(tok);
	ck_assert_int_eq(ac_token_claims_jira_assertion("", "a", "b", NULL, &c), AC_ERR_INVALID);
}
END_TEST

/* digest.c: known answers (FIPS 180-2, RFC 4231), and the cached HMAC re-keyed on every call */
static void
hex_is(const unsigned char *md, const char *want)
{
	char hex[2 * AC_SHA256_LEN + 1];
	size_t i;

	for (i = 0; i < AC_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ck_assert_str_eq(hex, want);
}

START_TEST(digest_known_answers)
{
	unsigned char md[AC_SHA256_LEN], ref[EVP_MAX_MD_SIZE];
	unsigned int reflen = 0;
	char key[16], data[64];
	int i;

	ck_assert_int_eq(ac_sha256("abc", 3, md), 0);
	hex_is(md, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(ac_sha256(NULL, 0, md), 0);
	hex_is(md, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_int_eq(ac_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, md), 0);
	hex_is(md, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	ck_assert_int_eq(ac_hmac_sha256(NULL, 0, NULL, 0, md), 0);
	hex_is(md, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "k%d", i % 7);
		snprintf(data, sizeof(data), "message %d", i);
		ck_assert_int_eq(ac_hmac_sha256(key, strlen(key), data, strlen(data), md), 0);
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data,
		    strlen(data), ref, &reflen));
		ck_assert_uint_eq(reflen, AC_SHA256_LEN);
		ck_assert_mem_eq(md, ref, AC_SHA256_LEN);
	}
}
END_TEST

START_TEST(sign_matches_reference_hmac)
{
	/* RFC 7515 A.1's header/claims are not ours; check against a token built here by hand. */
	struct json_object *c = json_object_new_object();
	char *tok, *ref;

	json_object_object_add(c, "iss", json_object_new_string("a/b"));
	json_object_object_add(c, "exp", json_object_new_int64(NOW + 5));
	ck_assert_int_eq(ac_token_sign_hs256(c, "k", 1, &tok), AC_OK);
	ref = make("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"iss\":\"a/b\",\"exp\":1700000005}",
	    SIGN_HS, "k", 1);
	ck_assert_str_eq(tok, ref);
	free(tok);
	free(ref);
	ck_assert_int_eq(ac_token_sign_hs256(c, NULL, 0, &tok), AC_ERR_INVALID);
	json_object_put(c);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, valid_hs256);
	tcase_add_test(tc, extract);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, malformed_json);
	tcase_add_test(tc, parsed_fields);
	tcase_add_test(tc, alg_none);
	tcase_add_test(tc, hs256_with_public_key_on_rs256_route);
	tcase_add_test(tc, rs256_on_hs256_route);
	tcase_add_test(tc, rs256_signed_install);
	tcase_add_test(tc, bad_signature);
	tcase_add_test(tc, null_key);
	tcase_add_test(tc, time_edges);
	tcase_add_test(tc, numeric_date_bounds);
	tcase_add_test(tc, iss_sub_aud);
	tcase_add_test(tc, qsh);
	tcase_add_test(tc, report_every_problem);
	tcase_add_test(tc, constant_time);
	tcase_add_test(tc, sign_roundtrip);
	tcase_add_test(tc, sign_matches_reference_hmac);
	tcase_add_test(tc, digest_known_answers);
	suite_add_tcase(s, tc);
	return s;
}

static void
free_keys(void)
{
	EVP_PKEY_free(rsa_key);
	free(rsa_pem);
	free(rsa_pem2);
}

static Suite *
make_suite(void)
{
	atexit(free_keys);
	return token_suite();
}

AC_UNIT_MAIN(make_suite)
