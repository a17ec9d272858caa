/* jose-helpers.h: RSA keys, JWKs and RS256 tokens made with OpenSSL in the unit tests of jwks.c and fit.c. */
#ifndef AC_JOSE_HELPERS_H
#define AC_JOSE_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <check.h>

#include "base/buf.h"

/* RFC 4648 §5 base64url without padding, appended to out. */
static inline void
jh_b64(const void *data, size_t n, struct ac_buf *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char q[4] = { a[v >> 18 & 63], a[v >> 12 & 63], a[v >> 6 & 63], a[v & 63] };
		ck_assert_int_eq(ac_buf_add(out, q, 4), AC_OK);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		char q[2] = { a[v >> 18 & 63], a[v >> 12 & 63] };
		ck_assert_int_eq(ac_buf_add(out, q, 2), AC_OK);
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		char q[3] = { a[v >> 18 & 63], a[v >> 12 & 63], a[v >> 6 & 63] };
		ck_assert_int_eq(ac_buf_add(out, q, 3), AC_OK);
	}
}

/* n or e of an RSA key, base64url (big-endian, minimal); caller frees. */
static inline char *
jh_rsa_param(EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char *bin;
	struct ac_buf b;
	char *out;
	int len;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	len = BN_num_bytes(bn);
	bin = malloc((size_t)len);
	ck_assert_int_eq(BN_bn2bin(bn, bin), len);
	ac_buf_init(&b, 64 * 1024);
	jh_b64(bin, (size_t)len, &b);
	ck_assert_int_eq(ac_buf_detach(&b, &out, NULL), AC_OK);
	free(bin);
	BN_free(bn);
	return out;
}

/* {"kty":"RSA","kid":kid,"n":..,"e":..}extra} as text; extra is "" or ',"use":"sig"'...; caller frees. */
static inline char *
jh_jwk(EVP_PKEY *k, const char *kid, const char *extra)
{
	char *n = jh_rsa_param(k, OSSL_PKEY_PARAM_RSA_N), *e = jh_rsa_param(k, OSSL_PKEY_PARAM_RSA_E);
	char *out = ac_buf_asprintf("{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}",
	    kid, n, e, extra);

	free(n);
	free(e);
	return out;
}

enum jh_sign { JH_RS256, JH_HS256, JH_NONE };

/* header.claims.signature over raw JSON texts; key is an EVP_PKEY (RS256) or bytes (HS256). */
static inline char *
jh_token(const char *header, const char *claims, enum jh_sign how, const void *key, size_t keylen)
{
	struct ac_buf b;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	unsigned int hlen = 0;
	char *out;

	ac_buf_init(&b, 64 * 1024);
	jh_b64(header, strlen(header), &b);
	ck_assert_int_eq(ac_buf_addc(&b, '.'), AC_OK);
	jh_b64(claims, strlen(claims), &b);
	if (how == JH_RS256) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, (EVP_PKEY *)key), 1);
		ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)b.data, b.len), 1);
		EVP_MD_CTX_free(ctx);
	} else if (how == JH_HS256) {
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)b.data,
		    b.len, sig, &hlen));
		siglen = hlen;
	} else {
		siglen = 0;
	}
	ck_assert_int_eq(ac_buf_addc(&b, '.'), AC_OK);
	jh_b64(sig, siglen, &b);
	ck_assert_int_eq(ac_buf_detach(&b, &out, NULL), AC_OK);
	return out;
}

#endif
