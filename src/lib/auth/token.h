/* token.h: JWTs of doc/protocol.md §2: extract, parse, verify per route policy, sign. */
#ifndef AC_TOKEN_H
#define AC_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "base/err.h"

/* Longest compact token accepted; longer ones are token_malformed before any decoding. */
#define AC_TOKEN_MAX (8 * 1024)

/* JSON nesting accepted in a header or claims set. */
#define AC_TOKEN_JSON_DEPTH 16

/* Lifetime of the tokens we sign for REST calls and the JWT grant (doc/protocol.md §2, §8). */
#define AC_TOKEN_TTL 180
/* Lifetime of the Jira impersonation assertion (doc/protocol.md §9). */
#define AC_TOKEN_ASSERTION_TTL 60

/* The qsh claim value that binds a token to no URL (doc/protocol.md §3.5). */
#define AC_TOKEN_CONTEXT_QSH "context-qsh"

/* The Jira impersonation audience (doc/protocol.md §9). */
#define AC_TOKEN_OAUTH_AUD "https://oauth-2-authorization-server.services.atlassian.com"

enum ac_token_alg {
	AC_TOKEN_HS256,   /* tenant-signed: HMAC-SHA256 with the sharedSecret */
	AC_TOKEN_RS256,   /* Jira signed install: RSA PKCS#1 v1.5 SHA-256 */
	AC_TOKEN_ALG_OTHER /* anything else the header names, "none" included */
};

/*
 * A token that passed every structural check but is NOT verified: its claims
 * are only a lookup key until ac_token_verify() says AC_OK. Filled by
 * ac_token_parse(), released by ac_token_release(). The string pointers are
 * borrowed from header/claims and live as long as the struct; absent
 * optional strings are NULL. Strings never contain a NUL byte.
 */
struct ac_token {
	struct json_object *header;  /* owned JSON object */
	struct json_object *claims;  /* owned JSON object */
	const char *alg_name;        /* header alg, always present */
	enum ac_token_alg alg;
	const char *kid;
	const char *iss;
	const char *sub;
	const char *qsh;
	const char **aud;            /* owned array of borrowed strings; naud of them */
	size_t naud;
	int aud_is_array;            /* aud was a JSON array (even of one) */
	int has_exp, has_nbf, has_iat;
	int64_t exp, nbf, iat;       /* NumericDate, fractions dropped */
	char *signing_input;         /* owned copy of "header.claims" (base64url) */
	size_t signing_input_len;
	unsigned char *sig;          /* owned decoded signature */
	size_t sig_len;
};

/*
 * Structural checks only (RFC 7515 §7.1 compact serialization): at most
 * AC_TOKEN_MAX bytes, three segments, strict base64url (RFC 4648 §5, no
 * padding, zero trailing bits), header and claims JSON objects parsed
 * strictly, alg a string, the registered claims of the right types.
 * tok need not be NUL-terminated. AC_ERR_TOKEN_MALFORMED on any failure;
 * *out is written only on AC_OK.
 */
enum ac_err ac_token_parse(const char *tok, size_t len, struct ac_token *out);

/*
 * Strict base64url without padding (RFC 7515 §2): no '=', no white space, no
 * length of 1 mod 4, zero unused bits, so one byte string has one encoding.
 * out has room for n * 3 / 4 bytes. 0, or -1 when s is not such text.
 */
int ac_b64url_decode(const char *s, size_t n, unsigned char *out, size_t *outlen);

/* Frees what ac_token_parse() filled; a zeroed struct is fine. */
void ac_token_release(struct ac_token *t);

/*
 * The token of a request: `Authorization: JWT <token>` (exact,
 * case-sensitive scheme, one space), else, only when allow_query, the single
 * `jwt=` parameter of the raw query string. *tok points into authorization or
 * query (borrowed). AC_ERR_TOKEN_MISSING when there is none; then, when hint
 * is non-NULL, *hint (static storage) says why (a Bearer or lower-case
 * scheme, a query token on a route that takes none) or is NULL.
 * AC_ERR_TOKEN_MALFORMED when `jwt=` is repeated. Either may be NULL.
 */
enum ac_err ac_token_extract(const char *authorization, const char *query, size_t query_len,
    int allow_query, const char **tok, size_t *len, const char **hint);

/* How `aud` is checked. */
enum ac_token_aud_rule {
	AC_TOKEN_AUD_ANY,      /* not checked (type still is, at parse) */
	AC_TOKEN_AUD_OPTIONAL, /* when present, the string or one array element == aud */
	AC_TOKEN_AUD_URL,      /* required; the string or first element == aud, trailing '/' ignored */
};

/* What a route (or `acctl jwt verify`) accepts. Strings are borrowed. */
struct ac_token_policy {
	enum ac_token_alg alg;        /* pinned: the header must name it, the key is used as it */
	int allow_context_qsh;        /* qsh may be "context-qsh" (page routes only) */
	int allow_query;              /* token may come as ?jwt= (for ac_token_extract) */
	long leeway;                  /* AC_LEEWAY seconds on exp/nbf/iat */
	const char *iss;              /* iss must equal this; NULL: only required */
	const char *sub;              /* sub must equal this; NULL: not checked */
	enum ac_token_aud_rule aud_rule;
	const char *aud;              /* for AUD_OPTIONAL and AUD_URL */
	/* Only to explain mistakes in the report (acctl); NULL when unknown. */
	const char *app_key;
	const char *client_key;
	int outbound;                 /* the token is one the app sends to the product */
};

/* One problem found by ac_token_verify(). */
struct ac_token_problem {
	enum ac_err err;
	char *text; /* owned, one or more lines without a final newline */
};

/* Every problem of a token; caller-owned struct: _init, then _release. */
struct ac_token_report {
	struct ac_token_problem *v;
	size_t n;
	size_t alloc;
};

void ac_token_report_init(struct ac_token_report *r);
void ac_token_report_release(struct ac_token_report *r);
/* Whether the report holds a problem with this code. */
int ac_token_report_has(const struct ac_token_report *r, enum ac_err err);

/*
 * Verifies a parsed token against a route policy. key is never NULL: the
 * HS256 secret bytes, or for RS256 a PEM public key (keylen bytes). The
 * algorithm used is the policy's, never the header's; the header must name
 * it. expected_qsh is the qsh of the request (65 bytes hex + NUL, see
 * canon.h); it may be NULL only when the caller will not accept qsh at all,
 * which is a qsh_missing-class error unless the token has no qsh.
 * Signature and qsh are compared in constant time. Returns the first error,
 * in this order: alg_not_allowed, bad_signature, claim_missing, expired,
 * not_yet_valid, iss_mismatch, sub_mismatch, aud_mismatch, qsh_missing,
 * qsh_mismatch. When report is non-NULL every problem is appended to it with
 * an explanation for a human (never a secret). The clock is ac_clock_now().
 */
enum ac_err ac_token_verify(const struct ac_token *t, const void *key, size_t keylen,
    const struct ac_token_policy *policy, const char *expected_qsh,
    struct ac_token_report *report);

/*
 * The checks of ac_token_verify() that need no key: alg against the policy,
 * required claims, exp/nbf/iat, iss/sub/aud, qsh; the same codes and report.
 * AC_OK proves nothing (the claims are unsigned): it only lets a caller
 * refuse a token before doing work for its key (fetching it), then call
 * ac_token_verify() with the key.
 */
enum ac_err ac_token_check_claims(const struct ac_token *t, const struct ac_token_policy *policy,
    const char *expected_qsh, struct ac_token_report *report);

/*
 * Signs claims (a JSON object, borrowed) as a compact HS256 JWS with header
 * {"alg":"HS256","typ":"JWT"}. *out is a NUL-terminated malloc'd string the
 * caller frees with ac_buf_free_secret_str (a live credential). secret must
 * not be NULL; secretlen may be 0.
 */
enum ac_err ac_token_sign_hs256(struct json_object *claims, const void *secret,
    size_t secretlen, char **out);

/*
 * Outbound claims (doc/protocol.md §2): iat = now, exp = now + AC_TOKEN_TTL,
 * qsh of method + url against base_url (ac_canon_outbound). *out is a new
 * JSON object (json_object_put() it).
 * Bitbucket REST or JWT grant: iss app key, sub clientKey.
 */
enum ac_err ac_token_claims_bitbucket(const char *app_key, const char *client_key,
    const char *method, const char *url, const char *base_url, struct json_object **out);

/* Jira REST: iss app key; aud ["clientKey"] when client_key is non-NULL. */
enum ac_err ac_token_claims_jira(const char *app_key, const char *client_key,
    const char *method, const char *url, const char *base_url, struct json_object **out);

/* doc/protocol.md §8: the JWT-grant token, bound to POST token_url (its path only). */
enum ac_err ac_token_claims_bitbucket_grant(const char *app_key, const char *client_key,
    const char *token_url, struct json_object **out);

/*
 * doc/protocol.md §9: the impersonation assertion: iss urn:atlassian:connect:clientid:{id},
 * sub urn:atlassian:connect:useraccountid:{account}, tnt tenant base url,
 * aud (NULL: AC_TOKEN_OAUTH_AUD), iat, exp = iat + AC_TOKEN_ASSERTION_TTL, no qsh.
 */
enum ac_err ac_token_claims_jira_assertion(const char *oauth_client_id,
    const char *account_id, const char *tenant_base_url, const char *aud,
    struct json_object **out);

/* "HS256", "RS256", or "?" */
const char *ac_token_alg_name(enum ac_token_alg alg);

#endif
