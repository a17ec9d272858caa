/* digest.h: SHA-256 and HMAC-SHA256, with OpenSSL's algorithms fetched once per process. */
#ifndef AC_DIGEST_H
#define AC_DIGEST_H

#include <stddef.h>

#define AC_SHA256_LEN 32
#define AC_SHA256_HEX_LEN 65 /* lower-case hex and its NUL */

/* 0 on success, -1 when OpenSSL fails (out is then unspecified). */
int ac_sha256(const void *data, size_t len, unsigned char out[AC_SHA256_LEN]);

/* The same as lower-case hex; hex is "" and -1 is returned when OpenSSL fails. */
int ac_sha256_hex(const void *data, size_t len, char hex[AC_SHA256_HEX_LEN]);

/* HMAC-SHA256 of data under key; keylen may be 0 (key may then be NULL). */
int ac_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[AC_SHA256_LEN]);

#endif
