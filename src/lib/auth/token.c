/* token.c: JWT extraction, strict parsing and policy verification (signing: token-sign.c). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/buf.h"
#include "auth/canon.h"
#include "base/digest.h"
#include "base/clock.h"
#include "base/json.h"
#include "auth/token.h"

/*
 * Why no libjwt here: libjwt 1.10 verifies with whatever algorithm the token
 * names, so an HS256 token "signed" with an RSA public key PEM as the HMAC
 * secret verifies against that PEM (doc/protocol.md §5). We never let the token
 * choose: the policy's algorithm picks the code path below, the header must
 * name it (checked before any crypto), and the key is only ever used as that
 * algorithm's key. HMAC is computed with OpenSSL and compared with
 * CRYPTO_memcmp; RS256 goes through EVP_DigestVerify. jwt_decode() is thus
 * never called, with or without a key.
 */

#ifdef UNITTEST
/* Lets the unit test prove that signatures and qsh go through ct_equal. */
static unsigned ct_calls;
#endif

static int
ct_equal(const void *a, const void *b, size_t n)
{
#ifdef UNITTEST
	ct_calls++;
#endif
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---------------------------------------------------------------- base64url */

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * RFC 7515 §2 / RFC 4648 §5: base64url without padding. Strict: no '=', no
 * whitespace, no length of 1 mod 4, and the unused low bits of the last
 * character must be zero, so one byte string has exactly one encoding.
 * out has room for n * 3 / 4 bytes.
 */
int
ac_b64url_decode(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		v = b64url_value((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	*outlen = o;
	return 0;
}

/* ---------------------------------------------------------------- parse */

/* A decoded segment as one strict JSON object; NULL otherwise. */
static struct json_object *
parse_object(const unsigned char *p, size_t n)
{
	struct json_tokener *tok;
	struct json_object *obj;

	/* json-c would stop at a NUL; a NUL is never part of valid JSON text. */
	if (n == 0 || memchr(p, '\0', n) != NULL)
		return NULL;
	/* the same strictness as every other JSON read (NaN, "1.", raw controls...) */
	if (ac_json_scan_object((const char *)p, n, NULL, 0, NULL) != AC_OK)
		return NULL;
	tok = json_tokener_new_ex(AC_TOKEN_JSON_DEPTH);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, (const char *)p, (int)n);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* A string member: absent is fine (*out NULL); wrong type or an inner NUL is not. */
static int
get_string(struct json_object *o, const char *name, const char **out)
{
	struct json_object *v;
	const char *s;

	*out = NULL;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return -1;
	*out = s;
	return 0;
}

/*
 * RFC 7519 §2: a NumericDate is a JSON number of seconds, possibly
 * non-integer. Beyond AC_JSON_DATE_MAX either way it is malformed: the
 * checks then subtract dates from now without overflow, and no huge exp
 * is clamped into a token that never expires.
 */
static int
get_date(struct json_object *o, const char *name, int *has, int64_t *out)
{
	struct json_object *v;

	*has = 0;
	*out = 0;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (ac_json_int_in(v, -AC_JSON_DATE_MAX, AC_JSON_DATE_MAX, 1, out) != AC_OK)
		return -1;
	*has = 1;
	return 0;
}

static int
get_aud(struct json_object *claims, struct ac_token *t)
{
	struct json_object *v, *e;
	size_t i, n;

	if (!json_object_object_get_ex(claims, "aud", &v))
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		t->aud = malloc(sizeof(*t->aud));
		if (t->aud == NULL || get_string(claims, "aud", &t->aud[0]) != 0)
			return -1;
		t->naud = 1;
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return -1;
	t->aud_is_array = 1;
	n = json_object_array_length(v);
	if (n == 0)
		return 0;
	t->aud = calloc(n, sizeof(*t->aud));
	if (t->aud == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) ||
		    (size_t)json_object_get_string_len(e) != strlen(json_object_get_string(e)))
			return -1;
		t->aud[i] = json_object_get_string(e);
	}
	t->naud = n;
	return 0;
}

static enum ac_token_alg
alg_of(const char *name)
{
	if (!strcmp(name, "HS256"))
		return AC_TOKEN_HS256;
	if (!strcmp(name, "RS256"))
		return AC_TOKEN_RS256;
	return AC_TOKEN_ALG_OTHER;
}

enum ac_err
ac_token_parse(const char *tok, size_t len, struct ac_token *out)
{
	struct ac_token t;
	const char *dot1, *dot2;
	unsigned char *dec = NULL;
	size_t hlen, clen, slen, n;
	struct json_object *v;

	memset(&t, 0, sizeof(t));
	if (tok == NULL || len == 0 || len > AC_TOKEN_MAX)
		return AC_ERR_TOKEN_MALFORMED;
	/* RFC 7515 §7.1: exactly three segments, two dots. */
	dot1 = memchr(tok, '.', len);
	if (dot1 == NULL)
		return AC_ERR_TOKEN_MALFORMED;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - tok)) != NULL)
		return AC_ERR_TOKEN_MALFORMED;
	hlen = (size_t)(dot1 - tok);
	clen = (size_t)(dot2 - dot1 - 1);
	slen = len - (size_t)(dot2 + 1 - tok);

	dec = malloc(len); /* big enough for any one decoded segment */
	if (dec == NULL)
		return AC_ERR_NOMEM;
	if (ac_b64url_decode(tok, hlen, dec, &n) != 0 || (t.header = parse_object(dec, n)) == NULL)
		goto malformed;
	if (ac_b64url_decode(dot1 + 1, clen, dec, &n) != 0 ||
	    (t.claims = parse_object(dec, n)) == NULL)
		goto malformed;
	if (slen == 0 || ac_b64url_decode(dot2 + 1, slen, dec, &n) != 0)
		goto malformed;
	t.sig = malloc(n);
	if (t.sig == NULL)
		goto nomem;
	memcpy(t.sig, dec, n);
	t.sig_len = n;

	/* RFC 7515 §4.1.1: alg is required. */
	if (get_string(t.header, "alg", &t.alg_name) != 0 || t.alg_name == NULL)
		goto malformed;
	t.alg = alg_of(t.alg_name);
	if (get_string(t.header, "kid", &t.kid) != 0)
		goto malformed;
	if (json_object_object_get_ex(t.header, "typ", &v) && !json_object_is_type(v, json_type_string))
		goto malformed;
	/* RFC 7515 §4.1.11: we understand no extension, so any crit is refused. */
	if (json_object_object_get_ex(t.header, "crit", NULL))
		goto malformed;

	if (get_string(t.claims, "iss", &t.iss) != 0 || get_string(t.claims, "sub", &t.sub) != 0 ||
	    get_string(t.claims, "qsh", &t.qsh) != 0 ||
	    get_date(t.claims, "exp", &t.has_exp, &t.exp) != 0 ||
	    get_date(t.claims, "nbf", &t.has_nbf, &t.nbf) != 0 ||
	    get_date(t.claims, "iat", &t.has_iat, &t.iat) != 0 || get_aud(t.claims, &t) != 0)
		goto malformed;

	t.signing_input_len = (size_t)(dot2 - tok);
	t.signing_input = malloc(t.signing_input_len + 1);
	if (t.signing_input == NULL)
		goto nomem;
	memcpy(t.signing_input, tok, t.signing_input_len);
	t.signing_input[t.signing_input_len] = '\0';
	ac_buf_free_secret(dec, len); /* held the decoded segments */
	*out = t;
	return AC_OK;

malformed:
	ac_buf_free_secret(dec, len); /* held the decoded segments */
	ac_token_release(&t);
	return AC_ERR_TOKEN_MALFORMED;
nomem:
	ac_buf_free_secret(dec, len); /* held the decoded segments */
	ac_token_release(&t);
	return AC_ERR_NOMEM;
}

void
ac_token_release(struct ac_token *t)
{
	json_object_put(t->header);
	json_object_put(t->claims);
	free(t->aud);
	/* a token is a credential until it expires: its parts do not stay in freed memory */
	ac_buf_free_secret(t->signing_input, t->signing_input_len);
	ac_buf_free_secret(t->sig, t->sig_len);
	memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------- extract */

enum ac_err
ac_token_extract(const char *authorization, const char *query, size_t query_len,
    int allow_query, const char **tok, size_t *len, const char **hint)
{
	const char *p, *found = NULL, *why = NULL;
	size_t n, found_len = 0, count = 0;

	if (hint)
		*hint = NULL;
	if (authorization != NULL && *authorization != '\0') {
		/* RFC 7235 §2.1 lets schemes be case-insensitive, but Atlassian's is exact. */
		if (!strncmp(authorization, "JWT ", 4)) {
			p = authorization + 4;
			while (*p == ' ')
				p++;
			n = strlen(p);
			while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			if (n > 0) {
				*tok = p;
				*len = n;
				return AC_OK;
			}
			why = "'Authorization: JWT' carries no token";
		} else if (!strncasecmp(authorization, "JWT ", 4)) {
			why = "the Authorization scheme is case-sensitive: write 'JWT <token>'";
		} else if (!strncasecmp(authorization, "Bearer ", 7)) {
			why = "Connect tokens use 'Authorization: JWT <token>', not Bearer";
		} else {
			why = "the Authorization header does not use the 'JWT <token>' scheme";
		}
	}

	/* the parameter the canonical query leaves out of the qsh: the decoded name "jwt" (auth/canon.h) */
	if (query != NULL)
		count = ac_canon_query_find(query, query_len, "jwt", &found, &found_len);
	if (count > 0 && !allow_query) {
		if (why == NULL)
			why = "this route takes the token only in 'Authorization: JWT <token>', not ?jwt=";
		count = 0;
	}
	if (count > 1)
		return AC_ERR_TOKEN_MALFORMED;
	if (count == 1 && found_len > 0) {
		*tok = found;
		*len = found_len;
		return AC_OK;
	}
	if (hint)
		*hint = why;
	return AC_ERR_TOKEN_MISSING;
}

/* ---------------------------------------------------------------- report */

void
ac_token_report_init(struct ac_token_report *r)
{
	r->v = NULL;
	r->n = 0;
	r->alloc = 0;
}

void
ac_token_report_release(struct ac_token_report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].text);
	free(r->v);
	ac_token_report_init(r);
}

int
ac_token_report_has(const struct ac_token_report *r, enum ac_err err)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].err == err)
			return 1;
	return 0;
}

/* The verification state: the first error and, optionally, every one. */
struct check {
	enum ac_err first;
	struct ac_token_report *report;
};

static void problem(struct check *c, enum ac_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
problem(struct check *c, enum ac_err err, const char *fmt, ...)
{
	struct ac_token_report *r = c->report;
	struct ac_token_problem *v;
	struct ac_buf b;
	va_list ap;
	char *text = NULL;
	size_t n;

	if (c->first == AC_OK)
		c->first = err;
	if (r == NULL)
		return;
	ac_buf_init(&b, 8192);
	va_start(ap, fmt);
	(void)ac_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (ac_buf_detach(&b, &text, &n) != AC_OK) {
		ac_buf_release(&b);
		text = strdup("");
	}
	if (r->n == r->alloc) {
		v = realloc(r->v, (r->alloc ? r->alloc * 2 : 8) * sizeof(*v));
		if (v == NULL) {
			free(text);
			return;
		}
		r->v = v;
		r->alloc = r->alloc ? r->alloc * 2 : 8;
	}
	if (text == NULL)
		return;
	r->v[r->n].err = err;
	r->v[r->n].text = text;
	r->n++;
}

/* ---------------------------------------------------------------- verify */

static int
verify_hs256(const struct ac_token *t, const void *key, size_t keylen)
{
	unsigned char md[AC_SHA256_LEN];

	if (ac_hmac_sha256(key, keylen, t->signing_input, t->signing_input_len, md) != 0)
		return -1;
	/* The length is public (always 32); only the bytes need constant time. */
	if (t->sig_len != sizeof(md))
		return 0;
	return ct_equal(md, t->sig, sizeof(md));
}

/* 1 valid, 0 invalid, -1 the key is not a PEM RSA public key. */
static int
verify_rs256(const struct ac_token *t, const void *key, size_t keylen)
{
	BIO *bio;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	int ok = -1;

	if (keylen > 64 * 1024)
		return -1;
	bio = BIO_new_mem_buf(key, (int)keylen);
	if (bio == NULL)
		return -1;
	pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
		goto out;
	ok = 0;
	if ((int)t->sig_len != EVP_PKEY_get_size(pk))
		goto out;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, t->sig, t->sig_len, (const unsigned char *)t->signing_input,
	         t->signing_input_len) == 1;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}

static int
url_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na > 0 && a[na - 1] == '/')
		na--;
	if (nb > 0 && b[nb - 1] == '/')
		nb--;
	return na == nb && !memcmp(a, b, na);
}

static void
check_alg_and_signature(const struct ac_token *t, const void *key, size_t keylen,
    const struct ac_token_policy *p, struct check *c)
{
	const char *want = ac_token_alg_name(p->alg);
	int ok;

	if (t->alg != p->alg) {
		if (!strcasecmp(t->alg_name, "none"))
			problem(c, AC_ERR_ALG_NOT_ALLOWED,
			    "alg is \"%s\": unsigned tokens are never accepted; %s is required",
			    t->alg_name, want);
		else if (t->alg == AC_TOKEN_HS256 && p->alg == AC_TOKEN_RS256)
			problem(c, AC_ERR_ALG_NOT_ALLOWED,
			    "alg is HS256 but this route requires RS256 "
			    "(Jira signed install, doc/protocol.md §5); "
			    "an HS256 token checked against the RSA public key would let anyone who "
			    "knows that public key sign");
		else if (t->alg == AC_TOKEN_RS256 && p->alg == AC_TOKEN_HS256)
			problem(c, AC_ERR_ALG_NOT_ALLOWED,
			    "alg is RS256 but this route requires HS256: RS256 is only for Jira "
			    "signed-install lifecycle calls; everything else is signed with the "
			    "tenant's sharedSecret");
		else
			problem(c, AC_ERR_ALG_NOT_ALLOWED, "alg is \"%s\" but this route requires %s",
			    t->alg_name, want);
		if (c->report)
			problem(c, AC_ERR_ALG_NOT_ALLOWED,
			    "signature not checked: the key is only ever used as %s", want);
		return;
	}
	/* From here the algorithm is the policy's; the header only agreed with it. */
	switch (p->alg) {
	case AC_TOKEN_HS256:
		ok = verify_hs256(t, key, keylen);
		if (ok == 0)
			problem(c, AC_ERR_BAD_SIGNATURE,
			    "the HMAC-SHA256 signature does not match this secret: the token was "
			    "signed with another key. The key is the tenant's sharedSecret string "
			    "exactly as /installed sent it; a reinstall sends a new one, so a stale "
			    "secret fails like this");
		else if (ok < 0)
			problem(c, AC_ERR_BAD_SIGNATURE, "HMAC-SHA256 could not be computed");
		break;
	case AC_TOKEN_RS256:
		ok = verify_rs256(t, key, keylen);
		if (ok == 0)
			problem(c, AC_ERR_BAD_SIGNATURE,
			    "the RS256 signature does not verify with this public key%s%s%s",
			    t->kid ? " (kid " : "", t->kid ? t->kid : "", t->kid ? ")" : "");
		else if (ok < 0)
			problem(c, AC_ERR_BAD_SIGNATURE,
			    "the key is not a PEM RSA public key, so no RS256 signature can verify");
		break;
	default:
		problem(c, AC_ERR_ALG_NOT_ALLOWED, "no algorithm pinned");
		break;
	}
}

/* RFC 7519 leaves exp and iss optional; Connect requires both. */
static void
check_required(const struct ac_token *t, const struct ac_token_policy *p, struct check *c)
{
	if (t->iss == NULL)
		problem(c, AC_ERR_CLAIM_MISSING, "iss is missing: %s",
		    p->outbound ? "calls from the app carry iss = the app key (descriptor \"key\")" :
		    "tokens from the product carry iss = the installation's clientKey");
	if (!t->has_exp)
		problem(c, AC_ERR_CLAIM_MISSING, "exp is missing: every token must expire "
		    "(outbound tokens: iat + %d s)", AC_TOKEN_TTL);
}

static void
check_times(const struct ac_token *t, const struct ac_token_policy *p, int64_t now,
    struct check *c)
{
	char d1[64], d2[64];
	/* dates are within AC_JSON_DATE_MAX (get_date); a leeway past a day is a caller's mistake */
	int64_t leeway = p->leeway <= 0 ? 0 : p->leeway < 86400 ? p->leeway : 86400;

	if (t->has_exp && t->exp <= now - leeway) {
		/* RFC 7519 §4.1.4: reject on or after exp, here with AC_LEEWAY. */
		problem(c, AC_ERR_EXPIRED,
		    "expired %" PRId64 " s ago: exp %s, now %s, leeway %" PRId64 " s.\n"
		    "If the token was made just now, the signer's clock is behind ours by at least "
		    "%" PRId64 " s beyond the leeway%s",
		    now - t->exp, ac_clock_iso8601(t->exp, d1, sizeof(d1)), ac_clock_iso8601(now, d2, sizeof(d2)),
		    leeway, now - leeway - t->exp, t->has_iat && t->exp > t->iat ? "" :
		    "; also exp is not after iat");
	}
	if (t->has_nbf && t->nbf > now + leeway)
		problem(c, AC_ERR_NOT_YET_VALID,
		    "nbf is %" PRId64 " s in the future: nbf %s, now %s, leeway %" PRId64 " s.\n"
		    "The signer's clock is ahead of ours by at least %" PRId64 " s beyond the leeway; "
		    "check NTP on both sides",
		    t->nbf - now, ac_clock_iso8601(t->nbf, d1, sizeof(d1)), ac_clock_iso8601(now, d2, sizeof(d2)),
		    leeway, t->nbf - now - leeway);
	if (t->has_iat && t->iat > now + leeway)
		problem(c, AC_ERR_NOT_YET_VALID,
		    "iat is %" PRId64 " s in the future: iat %s, now %s, leeway %" PRId64 " s.\n"
		    "The signer's clock is ahead of ours by at least %" PRId64 " s beyond the leeway; "
		    "check NTP on both sides",
		    t->iat - now, ac_clock_iso8601(t->iat, d1, sizeof(d1)), ac_clock_iso8601(now, d2, sizeof(d2)),
		    leeway, t->iat - now - leeway);
}

static void
check_iss_sub_aud(const struct ac_token *t, const struct ac_token_policy *p, struct check *c)
{
	size_t i;
	int named;

	if (t->iss != NULL && p->outbound && p->client_key && !strcmp(t->iss, p->client_key) &&
	    (p->iss == NULL || strcmp(t->iss, p->iss) != 0)) {
		/* seeds/003: the most common outbound 401, recognised even without the app key */
		problem(c, AC_ERR_ISS_MISMATCH,
		    "iss is the clientKey \"%s\", but on calls from the app to the product "
		    "iss is the app key (the descriptor's \"key\"%s%s%s).\n"
		    "The clientKey names the installation: it goes in sub (Bitbucket) or "
		    "aud (Jira), never in iss",
		    t->iss, p->iss ? ", here \"" : "", p->iss ? p->iss : "", p->iss ? "\"" : "");
	} else if (t->iss != NULL && p->iss != NULL && strcmp(t->iss, p->iss) != 0) {
		if (!p->outbound && p->app_key && !strcmp(t->iss, p->app_key))
			problem(c, AC_ERR_ISS_MISMATCH,
			    "iss is the app key \"%s\": that is a token the app signed for the product. "
			    "Tokens the product sends are issued by the installation, iss = clientKey "
			    "\"%s\"",
			    t->iss, p->iss);
		else
			problem(c, AC_ERR_ISS_MISMATCH, "iss is \"%s\", expected \"%s\" (%s)", t->iss,
			    p->iss, p->outbound ? "the app key: calls from the app are issued by it" :
			    "the clientKey of the installation");
	}

	if (p->sub != NULL) {
		if (t->sub == NULL)
			problem(c, AC_ERR_SUB_MISMATCH,
			    "sub is missing: Bitbucket needs sub = the clientKey \"%s\" of the "
			    "installation, as /installed sent it", p->sub);
		else if (strcmp(t->sub, p->sub) != 0)
			problem(c, AC_ERR_SUB_MISMATCH,
			    "sub is \"%s\", expected the clientKey \"%s\".\n"
			    "Bitbucket takes the installation's clientKey (\"ari:cloud:bitbucket::app/...\" "
			    "from /installed) as sub: not an account id, user UUID or username%s",
			    t->sub, p->sub,
			    p->app_key && !strcmp(t->sub, p->app_key) ? ", nor the app key" : "");
	}

	switch (p->aud_rule) {
	case AC_TOKEN_AUD_ANY:
		break;
	case AC_TOKEN_AUD_OPTIONAL:
		if (t->naud == 0 && !t->aud_is_array)
			break;
		named = 0;
		for (i = 0; i < t->naud; i++)
			if (p->aud && !strcmp(t->aud[i], p->aud))
				named = 1;
		if (!named)
			problem(c, AC_ERR_AUD_MISMATCH,
			    "aud %s\"%s\" does not name \"%s\"%s", t->naud > 1 ? "(first of several) " : "",
			    t->naud ? t->aud[0] : "[]", p->aud ? p->aud : "",
			    p->outbound ? " (Jira: aud, when sent, is [clientKey])" :
			    " (when present it must name the same tenant as iss)");
		break;
	case AC_TOKEN_AUD_URL:
		/* doc/protocol.md §5: the string or the first element, trailing '/' ignored. */
		if (t->naud == 0)
			problem(c, AC_ERR_AUD_MISMATCH,
			    "aud is missing: a signed install names the app's baseUrl \"%s\"",
			    p->aud ? p->aud : "");
		else if (p->aud == NULL || !url_equal(t->aud[0], p->aud))
			problem(c, AC_ERR_AUD_MISMATCH, "aud is \"%s\", expected the app's baseUrl \"%s\"",
			    t->aud[0], p->aud ? p->aud : "");
		break;
	}
}

static void
check_qsh(const struct ac_token *t, const struct ac_token_policy *p, const char *expected,
    struct check *c)
{
	size_t n;

	if (t->qsh == NULL) {
		problem(c, AC_ERR_QSH_MISSING,
		    "qsh is missing: Connect binds every token to its request with "
		    "qsh = sha256(\"METHOD&PATH&QUERY\")");
		return;
	}
	if (!strcmp(t->qsh, AC_TOKEN_CONTEXT_QSH)) {
		if (!p->allow_context_qsh)
			problem(c, AC_ERR_QSH_MISMATCH,
			    "qsh is \"context-qsh\", accepted only on page routes (/oauth-callback); "
			    "this request needs the hash of its method, path and query");
		return;
	}
	n = strlen(t->qsh);
	if (expected == NULL || n != AC_QSH_HEX_LEN - 1 || !ct_equal(t->qsh, expected, n))
		problem(c, AC_ERR_QSH_MISMATCH, "qsh is %s, this request's is %s", t->qsh,
		    expected ? expected : "(none)");
}

enum ac_err
ac_token_verify(const struct ac_token *t, const void *key, size_t keylen,
    const struct ac_token_policy *policy, const char *expected_qsh,
    struct ac_token_report *report)
{
	struct check c = { AC_OK, report };
	int64_t now;

	if (t == NULL || key == NULL || policy == NULL || t->alg_name == NULL)
		return AC_ERR_INVALID;
	now = (int64_t)ac_clock_now();
	/* Every check runs so that the report is complete; the first error is returned. */
	check_alg_and_signature(t, key, keylen, policy, &c);
	check_required(t, policy, &c);
	check_times(t, policy, now, &c);
	check_iss_sub_aud(t, policy, &c);
	check_qsh(t, policy, expected_qsh, &c);
	return c.first;
}

enum ac_err
ac_token_check_claims(const struct ac_token *t, const struct ac_token_policy *policy,
    const char *expected_qsh, struct ac_token_report *report)
{
	struct check c = { AC_OK, report };

	if (t == NULL || policy == NULL || t->alg_name == NULL)
		return AC_ERR_INVALID;
	/* the same checks as ac_token_verify, less the one that needs the key */
	if (t->alg != policy->alg)
		problem(&c, AC_ERR_ALG_NOT_ALLOWED, "alg is \"%s\" but this route requires %s",
		    t->alg_name, ac_token_alg_name(policy->alg));
	check_required(t, policy, &c);
	check_times(t, policy, (int64_t)ac_clock_now(), &c);
	check_iss_sub_aud(t, policy, &c);
	check_qsh(t, policy, expected_qsh, &c);
	return c.first;
}

/* ---------------------------------------------------------------- names */

const char *
ac_token_alg_name(enum ac_token_alg alg)
{
	switch (alg) {
	case AC_TOKEN_HS256: return "HS256";
	case AC_TOKEN_RS256: return "RS256";
	default: return "?";
	}
}
