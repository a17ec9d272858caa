/* test-jwks.c: unit tests of jwks.c: usable RSA keys kept by kid, every other member ignored and counted. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/jwks.h"
#include "jose-helpers.h"
#include "unit.h"

static EVP_PKEY *k2048, *k1024;
static char *good;  /* the JWK of k2048, kid "good" */

static void
setup(void)
{
	if (k2048 == NULL) {
		k2048 = EVP_RSA_gen(2048);
		k1024 = EVP_RSA_gen(1024);
		ck_assert_ptr_nonnull(k2048);
		ck_assert_ptr_nonnull(k1024);
		good = jh_jwk(k2048, "good", ",\"use\":\"sig\",\"alg\":\"RS256\"");
	}
}

static enum ac_err
parse(const char *doc, struct ac_jwks **set, char **why)
{
	return ac_jwks_parse(doc, strlen(doc), set, why);
}

START_TEST(one_good_key)
{
	char *doc = ac_buf_asprintf("{\"keys\":[%s]}", good), *why = NULL;
	struct ac_jwks *set = NULL;
	const struct ac_jwks_key *k;

	ck_assert_int_eq(parse(doc, &set, &why), AC_OK);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(set->n, 1);
	ck_assert_uint_eq(set->nignored, 0);
	k = ac_jwks_find(set, "good");
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->bits, 2048);
	/* the key built from n and e is the key: it compares equal to the original */
	ck_assert_int_eq(EVP_PKEY_eq(k->pkey, k2048), 1);
	ck_assert_ptr_null(ac_jwks_find(set, "Good"));
	ck_assert_ptr_null(ac_jwks_find(set, "goo"));
	ck_assert_ptr_null(ac_jwks_find(set, NULL));
	ck_assert_ptr_null(ac_jwks_find(NULL, "good"));
	ac_jwks_free(set);
	free(doc);
}
END_TEST

/* use and alg are optional; an unknown member is fine */
START_TEST(bare_key)
{
	char *jwk = jh_jwk(k2048, "bare", ",\"x5t\":\"whatever\"");
	char *doc = ac_buf_asprintf("{\"keys\":[%s]}", jwk);
	struct ac_jwks *set = NULL;

	ck_assert_int_eq(parse(doc, &set, NULL), AC_OK);
	ck_assert_ptr_nonnull(ac_jwks_find(set, "bare"));
	ac_jwks_free(set);
	free(doc);
	free(jwk);
}
END_TEST

/* Each member that is not a usable RSA signing key is ignored beside a good one, and said why. */
START_TEST(members_ignored_one_by_one)
{
	char *n = jh_rsa_param(k2048, "n"), *e = jh_rsa_param(k2048, "e");
	char *small = jh_jwk(k1024, "bad", "");
	char *cases[32];
	size_t i, nc = 0;

	cases[nc++] = ac_buf_asprintf("{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}");
	cases[nc++] = ac_buf_asprintf("{\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"%s\"}", n, e);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"}", n, e);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"use\":1,\"n\":\"%s\",\"e\":\"%s\"}", n, e);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"alg\":\"RS512\",\"n\":\"%s\",\"e\":\"%s\"}", n, e);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"alg\":\"HS256\",\"n\":\"%s\",\"e\":\"%s\"}", n, e);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s=\",\"e\":\"%s\"}", n, e);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"+%s\",\"e\":\"%s\"}", n + 1, e);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB=\"}", n);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAC\"}", n); /* even e */
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQ\"}", n);   /* e = 1 */
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"\"}", n);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\"}", n);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":7,\"e\":\"%s\"}", e);
	cases[nc++] = ac_buf_asprintf("%s", small);
	cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\\u0000x\",\"n\":\"%s\",\"e\":\"%s\"}", n, e);
	/* the last character of n with a nonzero unused bit: another encoding of other bytes */
	{
		char *m = strdup(n);
		size_t l = strlen(m);

		ck_assert_uint_ne(l % 4, 0); /* 256 bytes: four unused bits in the last character */
		m[l - 1] = m[l - 1] == 'A' ? 'B' : (char)(m[l - 1] + 1);
		cases[nc++] = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"%s\"}", m, e);
		free(m);
	}
	for (i = 0; i < nc; i++) {
		char *doc = ac_buf_asprintf("{\"keys\":[%s,%s]}", good, cases[i]);
		struct ac_jwks *set = NULL;
		char *why = NULL;

		ck_assert_msg(parse(doc, &set, &why) == AC_OK, "case %zu: %s", i, why ? why : "");
		ck_assert_msg(set->n == 1 && set->nignored == 1, "case %zu kept %zu, ignored %zu",
		    i, set->n, set->nignored);
		ck_assert_ptr_nonnull(ac_jwks_find(set, "good"));
		ck_assert_msg(ac_jwks_find(set, "bad") == NULL, "case %zu kept", i);
		ck_assert_msg(ac_jwks_ignored_why(set, "bad") != NULL, "case %zu: no reason", i);
		ac_jwks_free(set);
		free(doc);
		free(cases[i]);
	}
	free(n);
	free(e);
	free(small);
}
END_TEST

START_TEST(ignored_without_kid_duplicate_and_non_objects)
{
	char *nokid = jh_jwk(k2048, "", "");
	char *doc = ac_buf_asprintf("{\"keys\":[%s,%s,%s,1,\"x\",null,[]]}", good, good, nokid);
	struct ac_jwks *set = NULL;

	ck_assert_int_eq(parse(doc, &set, NULL), AC_OK);
	ck_assert_uint_eq(set->n, 1);
	ck_assert_uint_eq(set->nignored, 6);
	ck_assert_ptr_nonnull(ac_jwks_ignored_why(set, "good")); /* the second one */
	ac_jwks_free(set);
	free(doc);
	free(nokid);
}
END_TEST

START_TEST(small_key_reason)
{
	char *small = jh_jwk(k1024, "small", "");
	char *doc = ac_buf_asprintf("{\"keys\":[%s,%s]}", good, small);
	struct ac_jwks *set = NULL;

	ck_assert_int_eq(parse(doc, &set, NULL), AC_OK);
	ck_assert_ptr_nonnull(strstr(ac_jwks_ignored_why(set, "small"), "2048"));
	ac_jwks_free(set);
	free(doc);
	free(small);
}
END_TEST

/* A leading zero octet in n is the same number: tolerated, the size is the number's. */
START_TEST(leading_zero_and_huge_modulus)
{
	unsigned char big[8200 / 8 + 1];
	struct ac_buf b;
	char *n = jh_rsa_param(k2048, "n"), *e = jh_rsa_param(k2048, "e"), *hn, *doc;
	struct ac_jwks *set = NULL;
	unsigned char raw[257];
	size_t rawlen;
	BIGNUM *bn = NULL;

	/* n with a 0x00 in front */
	ck_assert_int_eq(EVP_PKEY_get_bn_param(k2048, "n", &bn), 1);
	raw[0] = 0;
	rawlen = (size_t)BN_bn2bin(bn, raw + 1) + 1;
	BN_free(bn);
	ac_buf_init(&b, 4096);
	jh_b64(raw, rawlen, &b);
	doc = ac_buf_asprintf("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"z\",\"n\":\"%s\",\"e\":\"%s\"}]}",
	    ac_buf_str(&b), e);
	ck_assert_int_eq(parse(doc, &set, NULL), AC_OK);
	ck_assert_int_eq(ac_jwks_find(set, "z")->bits, 2048);
	ck_assert_int_eq(EVP_PKEY_eq(ac_jwks_find(set, "z")->pkey, k2048), 1);
	ac_jwks_free(set);
	free(doc);
	ac_buf_release(&b);

	/* more than 8192 bits: ignored before OpenSSL sees it */
	memset(big, 0xab, sizeof(big));
	ac_buf_init(&b, 4096);
	jh_b64(big, sizeof(big), &b);
	hn = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"huge\",\"n\":\"%s\",\"e\":\"%s\"}", ac_buf_str(&b), e);
	doc = ac_buf_asprintf("{\"keys\":[%s,%s]}", good, hn);
	ck_assert_int_eq(parse(doc, &set, NULL), AC_OK);
	ck_assert_ptr_null(ac_jwks_find(set, "huge"));
	ck_assert_ptr_nonnull(ac_jwks_ignored_why(set, "huge"));
	ac_jwks_free(set);
	free(doc);
	free(hn);
	ac_buf_release(&b);
	free(n);
	free(e);
}
END_TEST

START_TEST(documents_refused)
{
	static const struct {
		const char *doc;
		enum ac_err err;
	} cases[] = {
		{ "", AC_ERR_BAD_JSON },
		{ "[]", AC_ERR_BAD_JSON },
		{ "{}", AC_ERR_BAD_JSON },
		{ "{\"keys\":{}}", AC_ERR_BAD_JSON },
		{ "{\"keys\":[]}", AC_ERR_INVALID },
		{ "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"x\"}]}", AC_ERR_INVALID },
		{ "{\"keys\":[1,2]}", AC_ERR_INVALID },
		{ "{\"keys\":[],\"keys\":[]}", AC_ERR_BAD_JSON },   /* strict: a name twice */
		{ "{\"keys\":[]} x", AC_ERR_BAD_JSON },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ac_jwks *set = NULL;
		char *why = NULL;

		ck_assert_msg(parse(cases[i].doc, &set, &why) == cases[i].err, "case %zu", i);
		ck_assert_ptr_null(set);
		ck_assert_msg(why != NULL, "case %zu: no reason", i);
		free(why);
	}
}
END_TEST

START_TEST(size_cap)
{
	size_t len = AC_JWKS_MAX + 1;
	char *doc = malloc(len), *why = NULL;
	struct ac_jwks *set = NULL;

	memset(doc, ' ', len);
	ck_assert_int_eq(ac_jwks_parse(doc, len, &set, &why), AC_ERR_TOO_LARGE);
	ck_assert_ptr_nonnull(why);
	free(why);
	free(doc);
}
END_TEST

/* Beyond AC_JWKS_KEYS_MAX members, the rest are ignored, counted, and never fatal. */
START_TEST(many_members)
{
	struct ac_buf b;
	struct ac_jwks *set = NULL;
	size_t i;

	ac_buf_init(&b, AC_JWKS_MAX);
	ck_assert_int_eq(ac_buf_printf(&b, "{\"keys\":[%s", good), AC_OK);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(ac_buf_printf(&b, ",{\"kty\":\"oct\",\"kid\":\"k%zu\"}", i), AC_OK);
	ck_assert_int_eq(ac_buf_adds(&b, "]}"), AC_OK);
	ck_assert_int_eq(ac_jwks_parse(b.data, b.len, &set, NULL), AC_OK);
	ck_assert_uint_eq(set->n, 1);
	ck_assert_uint_eq(set->nignored, 200);
	ck_assert_uint_eq(set->nignored_listed, AC_JWKS_KEYS_MAX);
	ac_jwks_free(set);
	ac_buf_release(&b);
	ac_jwks_free(NULL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("jwks");
	TCase *tc = tcase_create("jwks");

	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, one_good_key);
	tcase_add_test(tc, bare_key);
	tcase_add_test(tc, members_ignored_one_by_one);
	tcase_add_test(tc, ignored_without_kid_duplicate_and_non_objects);
	tcase_add_test(tc, small_key_reason);
	tcase_add_test(tc, leading_zero_and_huge_modulus);
	tcase_add_test(tc, documents_refused);
	tcase_add_test(tc, size_cap);
	tcase_add_test(tc, many_members);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
