/* jwks.c: RSA public keys from a JWKS document (RFC 7517, RFC 7518 §6.3), built with OpenSSL 3. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "auth/jwks.h"
#include "auth/token.h"
#include "base/buf.h"
#include "base/json.h"

/*
 * The set is a trust anchor fetched from a CDN: one odd member (an EC key, a
 * key for encryption, a weak or broken RSA key) must not take the others
 * down, so members are ignored one by one and only a set with nothing usable
 * is an error. Keys are built from n and e alone (no x5c, no PEM), so what is
 * trusted is exactly what the JWK says.
 */

/*
 * RFC 7518 §6.3.1 Base64urlUInt: base64url without padding (RFC 7515 §2), as
 * token.c's strict decoder (no '=', no white space, no length of 1 mod 4, zero
 * unused bits), and not empty. *out is malloc'd (n * 3 / 4 bytes at most).
 */
static int
b64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *p;

	if (n == 0 || (p = malloc(n * 3 / 4 + 1)) == NULL)
		return -1;
	if (ac_b64url_decode(s, n, p, outlen) != 0) {
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* An RSA public key from the big-endian n and e; NULL when OpenSSL refuses them. */
static EVP_PKEY *
rsa_from_ne(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *bn = NULL, *be = NULL;

	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL || (be = BN_bin2bn(e, (int)elen, NULL)) == NULL)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pk;
}

/* Builds the key of one member, or returns why it is ignored (static text). */
static const char *
member_key(json_object *m, EVP_PKEY **out, int *bits)
{
	const char *kty, *use, *alg, *n64, *e64;
	unsigned char *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0, skip = 0;
	const char *why = NULL;
	EVP_PKEY *pk;
	int nbits;

	if ((kty = ac_json_get_string(m, "kty")) == NULL)
		return "no kty";
	if (strcmp(kty, "RSA") != 0)
		return "kty is not RSA";
	if (json_object_object_get_ex(m, "use", NULL) &&
	    ((use = ac_json_get_string(m, "use")) == NULL || strcmp(use, "sig") != 0))
		return "use is not \"sig\"";
	if (json_object_object_get_ex(m, "alg", NULL) &&
	    ((alg = ac_json_get_string(m, "alg")) == NULL || strcmp(alg, "RS256") != 0))
		return "alg is not \"RS256\"";
	if ((n64 = ac_json_get_string(m, "n")) == NULL || (e64 = ac_json_get_string(m, "e")) == NULL)
		return "n or e is missing or not a string";
	/* 8192 bits are 1366 base64url characters; anything far longer is not worth decoding */
	if (strlen(n64) > 2048 || strlen(e64) > 16)
		return "n or e is too long";
	if (b64url_decode(n64, strlen(n64), &n, &nlen) != 0 ||
	    b64url_decode(e64, strlen(e64), &e, &elen) != 0) {
		why = "n or e is not strict base64url (RFC 7518 §6.3.1)";
		goto out;
	}
	/* A leading zero octet breaks RFC 7518 §6.3.1's "minimum number of octets"; the
	 * value is still the same number, and dropping the CDN's whole set over it
	 * would only stop every invocation, so it is tolerated. */
	while (skip < nlen && n[skip] == 0)
		skip++;
	nbits = (int)(nlen - skip) * 8;
	if (skip < nlen) {
		unsigned char top = n[skip];
		while (!(top & 0x80)) {
			top = (unsigned char)(top << 1);
			nbits--;
		}
	}
	if (nbits < AC_JWKS_RSA_MIN_BITS) {
		why = "RSA modulus shorter than 2048 bits";
		goto out;
	}
	if (nbits > AC_JWKS_RSA_MAX_BITS) {
		why = "RSA modulus longer than 8192 bits";
		goto out;
	}
	if (elen > 8 || !(e[elen - 1] & 1) || (elen == 1 && e[0] == 1)) {
		why = "RSA exponent e is not an odd number > 1 of at most 8 bytes";
		goto out;
	}
	if ((pk = rsa_from_ne(n + skip, nlen - skip, e, elen)) == NULL) {
		why = "OpenSSL refused n and e as an RSA public key";
		goto out;
	}
	*out = pk;
	*bits = nbits;
out:
	free(n);
	free(e);
	return why;
}

static enum ac_err
add_ignored(struct ac_jwks *set, const char *kid, const char *why)
{
	set->nignored++;
	if (set->nignored_listed >= AC_JWKS_KEYS_MAX)
		return AC_OK;
	set->ignored[set->nignored_listed].why = why;
	set->ignored[set->nignored_listed].kid = NULL;
	if (kid && (set->ignored[set->nignored_listed].kid = strdup(kid)) == NULL)
		return AC_ERR_NOMEM;
	set->nignored_listed++;
	return AC_OK;
}

enum ac_err
ac_jwks_parse(const char *doc, size_t len, struct ac_jwks **out, char **why)
{
	json_object *root = NULL, *keys;
	struct ac_jwks *set = NULL;
	const char *jwhy = NULL;
	enum ac_err err;
	size_t i, count;

	if (why)
		*why = NULL;
	if (len > AC_JWKS_MAX) {
		if (why)
			*why = ac_buf_asprintf("the JWKS is %zu bytes, more than the %d accepted", len,
			    AC_JWKS_MAX);
		return AC_ERR_TOO_LARGE;
	}
	if ((err = ac_json_parse(doc, len, &root, &jwhy)) != AC_OK) {
		if (why)
			*why = ac_buf_asprintf("the JWKS is not strict JSON: %s", jwhy ? jwhy : "?");
		return AC_ERR_BAD_JSON;
	}
	if ((keys = ac_json_get_typed(root, "keys", json_type_array)) == NULL) {
		if (why)
			*why = ac_buf_asprintf("the JWKS is not an object with a \"keys\" array");
		err = AC_ERR_BAD_JSON;
		goto out;
	}
	err = AC_ERR_NOMEM;
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->keys = calloc(AC_JWKS_KEYS_MAX, sizeof(*set->keys))) == NULL ||
	    (set->ignored = calloc(AC_JWKS_KEYS_MAX, sizeof(*set->ignored))) == NULL)
		goto out;
	count = json_object_array_length(keys);
	for (i = 0; i < count; i++) {
		json_object *m = json_object_array_get_idx(keys, i);
		const char *kid = NULL, *bad;
		EVP_PKEY *pk = NULL;
		int bits = 0;

		if (!json_object_is_type(m, json_type_object))
			bad = "not a JSON object";
		else if ((kid = ac_json_get_string(m, "kid")) == NULL || *kid == '\0')
			bad = "no kid: keys are looked up by kid";
		else if ((size_t)json_object_get_string_len(json_object_object_get(m, "kid")) != strlen(kid))
			bad = "a kid with a NUL character";
		else if (ac_jwks_find(set, kid) != NULL)
			bad = "a second key with the same kid (the first is kept)";
		else if (set->n >= AC_JWKS_KEYS_MAX)
			bad = "beyond the 64 keys looked at";
		else
			bad = member_key(m, &pk, &bits);
		if (bad) {
			if (add_ignored(set, kid, bad) != AC_OK)
				goto out;
			continue;
		}
		if ((set->keys[set->n].kid = strdup(kid)) == NULL) {
			EVP_PKEY_free(pk);
			goto out;
		}
		set->keys[set->n].pkey = pk;
		set->keys[set->n].bits = bits;
		set->n++;
	}
	if (set->n == 0) {
		if (why)
			*why = ac_buf_asprintf("the JWKS has no usable key: %zu member(s), none an RSA "
			    "signing key of at least %d bits with a kid%s%s", count, AC_JWKS_RSA_MIN_BITS,
			    set->nignored_listed ? "; the first: " : "",
			    set->nignored_listed ? set->ignored[0].why : "");
		err = AC_ERR_INVALID;
		goto out;
	}
	*out = set;
	set = NULL;
	err = AC_OK;
out:
	if (err == AC_ERR_NOMEM && why && *why == NULL)
		*why = ac_buf_asprintf("out of memory");
	ac_jwks_free(set);
	json_object_put(root);
	return err;
}

void
ac_jwks_free(struct ac_jwks *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; set->keys && i < set->n; i++) {
		free(set->keys[i].kid);
		EVP_PKEY_free(set->keys[i].pkey);
	}
	for (i = 0; set->ignored && i < set->nignored_listed; i++)
		free(set->ignored[i].kid);
	free(set->keys);
	free(set->ignored);
	free(set);
}

const struct ac_jwks_key *
ac_jwks_find(const struct ac_jwks *set, const char *kid)
{
	size_t i;

	if (set == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < set->n; i++)
		if (!strcmp(set->keys[i].kid, kid))
			return &set->keys[i];
	return NULL;
}

const char *
ac_jwks_ignored_why(const struct ac_jwks *set, const char *kid)
{
	size_t i;

	if (set == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < set->nignored_listed; i++)
		if (set->ignored[i].kid && !strcmp(set->ignored[i].kid, kid))
			return set->ignored[i].why;
	return NULL;
}
