/* jwks.h: a JSON Web Key Set (RFC 7517 §5) as the RSA public keys of Forge Invocation Tokens. */
#ifndef AC_JWKS_H
#define AC_JWKS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "base/err.h"

/* Largest JWKS document accepted (Atlassian's holds a few keys of ~1.5 KiB). */
#define AC_JWKS_MAX (256 * 1024)
/* Keys looked at in one set; the rest are ignored (counted). */
#define AC_JWKS_KEYS_MAX 64
/* RSA moduli accepted: at least 2048 bits (doc/protocol.md §11), at most 8192 (verify cost). */
#define AC_JWKS_RSA_MIN_BITS 2048
#define AC_JWKS_RSA_MAX_BITS 8192

/* One usable key. */
struct ac_jwks_key {
	char *kid;          /* owned, never NULL nor empty */
	EVP_PKEY *pkey;     /* owned RSA public key */
	int bits;           /* modulus size */
};

/* One member of "keys" that was not kept, and why (for explanations). */
struct ac_jwks_ignored {
	char *kid;          /* owned; NULL when it had no string kid */
	const char *why;    /* static text: "1024-bit RSA key, fewer than 2048" style */
};

/*
 * The usable keys of a document and what was ignored. Made by
 * ac_jwks_parse(), freed by ac_jwks_free() (NULL is a no-op). Immutable
 * after parse: readers may share it.
 */
struct ac_jwks {
	struct ac_jwks_key *keys;
	size_t n;
	struct ac_jwks_ignored *ignored; /* the first AC_JWKS_KEYS_MAX ignored members */
	size_t nignored_listed;
	size_t nignored;                 /* every ignored member, listed or not */
};

/*
 * Parses doc[0..len) (need not be NUL-terminated), a JWKS {"keys": [...]},
 * strictly (ac_json_parse). A member is kept when it is an object with kty
 * "RSA", a non-empty string kid not seen before, use (when present) "sig",
 * alg (when present) "RS256", and n and e strict base64url (RFC 7518 §6.3.1,
 * no padding, no other characters) making an RSA public key of
 * AC_JWKS_RSA_MIN_BITS..AC_JWKS_RSA_MAX_BITS bits with an odd e > 1 of at
 * most 8 bytes. Anything else is ignored and counted, never fatal.
 * Errors: AC_ERR_TOO_LARGE beyond AC_JWKS_MAX; AC_ERR_BAD_JSON when it is
 * not strict JSON or has no "keys" array; AC_ERR_INVALID when no member is
 * usable; AC_ERR_NOMEM. On error *why (may be NULL) gets an owned message
 * (free()) saying what is wrong; *out is written only on AC_OK.
 */
enum ac_err ac_jwks_parse(const char *doc, size_t len, struct ac_jwks **out, char **why);

void ac_jwks_free(struct ac_jwks *set);

/* The key with this kid (exact, case-sensitive), borrowed from set; NULL when none. */
const struct ac_jwks_key *ac_jwks_find(const struct ac_jwks *set, const char *kid);

/* Why a member with this kid was ignored (static text), or NULL when none was. */
const char *ac_jwks_ignored_why(const struct ac_jwks *set, const char *kid);

#endif
