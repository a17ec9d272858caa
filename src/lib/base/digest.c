/*
 * digest.c: SHA-256 and HMAC-SHA256 for qsh and HS256.
 *
 * OpenSSL 3's one-shot SHA256() and HMAC() look the algorithm up in the
 * provider store on every call (EVP_MD_fetch, and for HMAC a second fetch of
 * its digest): a global lock and a property query per token, which showed in
 * the webhook's profile. Here SHA-256 is fetched once and HMAC keeps one
 * context with its digest set, initialised again with each call's key. Like
 * the rest of libconnect this is for single-threaded programs (one request at
 * a time).
 * Before OpenSSL 3 the one-shot functions are used as they are.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

#include "base/digest.h"

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>

static EVP_MD *sha256;
static EVP_MAC_CTX *hmac_sha256;

int
ac_sha256(const void *data, size_t len, unsigned char out[AC_SHA256_LEN])
{
	unsigned int n = 0;

	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return -1;
	if (EVP_Digest(len ? data : "", len, out, &n, sha256, NULL) != 1 || n != AC_SHA256_LEN)
		return -1;
	return 0;
}

static EVP_MAC_CTX *
hmac_template(void)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;

	if (hmac_sha256)
		return hmac_sha256;
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	hmac_sha256 = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context holds its own reference */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (hmac_sha256 && EVP_MAC_CTX_set_params(hmac_sha256, params) != 1) {
		EVP_MAC_CTX_free(hmac_sha256);
		hmac_sha256 = NULL;
	}
	return hmac_sha256;
}

int
ac_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[AC_SHA256_LEN])
{
	static const unsigned char empty;
	EVP_MAC_CTX *ctx = hmac_template();
	size_t n = 0;

	if (ctx == NULL)
		return -1;
	/*
	 * The one context, initialised again with this key (a NULL key would
	 * mean "the previous key": an empty one is passed as such); no copy of
	 * it and its three digest contexts per call.
	 */
	if (EVP_MAC_init(ctx, keylen ? key : &empty, keylen, NULL) == 1 &&
	    EVP_MAC_update(ctx, len ? data : &empty, len) == 1 &&
	    EVP_MAC_final(ctx, out, &n, AC_SHA256_LEN) == 1 && n == AC_SHA256_LEN)
		return 0;
	/* a context left half-way is not used again */
	EVP_MAC_CTX_free(hmac_sha256);
	hmac_sha256 = NULL;
	return -1;
}

#else

int
ac_sha256(const void *data, size_t len, unsigned char out[AC_SHA256_LEN])
{
	return SHA256(len ? data : (const void *)"", len, out) ? 0 : -1;
}

int
ac_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[AC_SHA256_LEN])
{
	static const unsigned char empty;
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), keylen ? key : &empty, (int)keylen, len ? data : &empty, len, out, &n) == NULL)
		return -1;
	return n == AC_SHA256_LEN ? 0 : -1;
}

#endif

int
ac_sha256_hex(const void *data, size_t len, char hex[AC_SHA256_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[AC_SHA256_LEN];
	size_t i;

	hex[0] = '\0';
	if (ac_sha256(data, len, md) != 0)
		return -1;
	for (i = 0; i < sizeof(md); i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0F];
	}
	hex[2 * sizeof(md)] = '\0';
	return 0;
}
