/* explain.h: why a token fails, in plain words: the engine behind `acctl jwt verify` and `decode`. */
#ifndef AC_EXPLAIN_H
#define AC_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "auth/policy.h"
#include "auth/token.h"

/*
 * Appends to out, one "  ..." line each, what is wrong with a token that
 * ac_token_parse() refused: its length, its segments, padding, base64
 * instead of base64url, whitespace, foreign characters; else what the
 * structural checks ask of the header and claims. tok need not be
 * NUL-terminated.
 */
enum ac_err ac_explain_malformed(const char *tok, size_t len, struct ac_buf *out);

/*
 * `acctl jwt decode`: {"unverified": true, "note", "header", "claims",
 * "dates": {"iat"|"nbf"|"exp": {"value", "utc", "relative" to now}},
 * "signature_bytes"}, a new object (json_object_put() it; it holds references
 * to t's header and claims); NULL when out of memory. Verifies nothing.
 */
struct json_object *ac_explain_decoded(const struct ac_token *t, int64_t now);

/*
 * Appends to out the expected canonical request and qsh of method + url
 * (against base_url, as ac_canon_outbound), then which usual mistake
 * (doc/protocol.md §3, §12) gives token_qsh: the full URL or the
 * context path hashed, another or a lower-case method, the query as written,
 * unsorted, not re-encoded, with its jwt parameter or left out, a trailing
 * or missing slash, upper-case hex; or that none does. "  ..." lines.
 */
enum ac_err ac_explain_qsh(const char *method, const char *url, const char *base_url,
    const char *token_qsh, struct ac_buf *out);

/* One verification to explain. Strings are borrowed. */
struct ac_explain_case {
	const char *method;
	const char *url;
	const char *base_url;       /* whose path is the context path (ac_canon_outbound); may be NULL */
	const char *expected_qsh;   /* the qsh of method + url against base_url */
	const char *token;          /* as pasted, NUL-terminated: a compact JWS, or an Authorization */
	size_t token_len;           /*   header ("JWT x", "Bearer x", "Authorization: JWT x") */
	const void *key;            /* the HS256 secret or the RS256 PEM public key */
	size_t keylen;
	const struct ac_token_policy *policy; /* from ac_policy_build() */
};

/* What ac_explain_verify() found. */
enum ac_explain_verdict {
	AC_EXPLAIN_VALID,
	AC_EXPLAIN_INVALID,   /* a token, with problems */
	AC_EXPLAIN_MALFORMED  /* no compact JWS at all */
};

/*
 * Verifies c->token against c->policy and explains the outcome for a person.
 * out gets "valid\n"; or "invalid: N problem(s)\n" and every problem as
 * "code: text" (continuation lines indented by two spaces), a qsh mismatch
 * followed by ac_explain_qsh(); or, for a token that is no compact JWS,
 * "token_malformed: ..." with the details (ac_explain_malformed) in diag.
 * A token pasted with its Authorization scheme is checked too, and a scheme
 * the product refuses (Bearer, lower case) is a problem of its own. An
 * inbound policy that names no tenant (aud NULL) takes the token's iss as
 * the tenant, as the server looks tenants up by iss.
 * AC_OK with *verdict set; AC_ERR_INVALID when nothing could be verified (no
 * key, no policy); AC_ERR_NOMEM. The clock is ac_clock_now().
 */
enum ac_err ac_explain_verify(const struct ac_explain_case *c, struct ac_buf *out,
    struct ac_buf *diag, enum ac_explain_verdict *verdict);

/*
 * One line after a verdict saying in which direction the token was checked
 * when its URL chose it (ac_policy_direction), and how to ask for the other:
 * base is the base URL matched, base_name what it is ("AC_BASE_URL", "the
 * tenant's baseApiUrl"); relative says the URL was a path.
 */
enum ac_err ac_explain_direction(enum ac_policy_kind kind, const char *base, const char *base_name,
    int relative, struct ac_buf *out);

#endif
