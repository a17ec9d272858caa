/* fit.h: Forge Invocation Tokens (doc/protocol.md §11): extract, check, verify against a JWKS. */
#ifndef AC_FIT_H
#define AC_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/conf.h"
#include "base/err.h"
#include "auth/jwks.h"
#include "auth/token.h"

/* doc/protocol.md §11: the one issuer of every FIT. */
#define AC_FIT_ISS "forge/invocation-token"
/* The installation id's ARI prefix, followed by a uuid. */
#define AC_FIT_INSTALLATION_PREFIX "ari:cloud:ecosystem::installation/"
/* Contexts of app.installation.contexts[] kept; more are ignored. */
#define AC_FIT_CONTEXTS_MAX 16

/* What a Forge route (or `acctl forge verify`) accepts. Strings are borrowed. */
struct ac_fit_policy {
	const char *app_id;     /* the ARI (conf forge_app_id, ac_conf_forge_app_ari); aud and app.id must be it */
	unsigned environments;  /* AC_FORGE_ENV_* bits accepted (conf forge_env_mask) */
	long leeway;            /* AC_FORGE_LEEWAY seconds on exp, nbf, iat; clamped to 0..60 */
	int64_t now;            /* the time to check against (ac_clock_now() on a server) */
};

/* One element of app.installation.contexts[]; absent strings are NULL. */
struct ac_fit_context {
	char *name;
	char *api_base_url;
	char *cloud_id;         /* Jira, Confluence */
	char *workspace_id;     /* Bitbucket */
};

/*
 * What a verified FIT says, owned copies (ac_fit_release). Absent optional
 * strings are NULL; app_id and installation_id never are.
 */
struct ac_fit {
	char *kid;
	char *jti;
	int64_t exp;
	char *app_id;               /* app.id == aud */
	char *installation_id;      /* app.installationId, ari:cloud:ecosystem::installation/<uuid> */
	char *app_version;          /* app.appVersion (app.version when only it is there) */
	unsigned environment;       /* one AC_FORGE_ENV_* bit */
	char *environment_type;     /* app.environment.type */
	char *environment_id;       /* app.environment.id */
	char *api_base_url;         /* app.apiBaseUrl: base of every REST call */
	struct ac_fit_context *contexts; /* app.installation.contexts[], ncontexts of them */
	size_t ncontexts;
	char *module_type;          /* app.module.type */
	char *module_key;           /* app.module.key */
	char *principal;            /* UI calls: the user's account id */
	char *context_cloud_id;     /* context.cloudId (UI calls) */
	char *context_workspace_id; /* context.workspaceId (UI calls) */
	char *site_url;             /* context.siteUrl (UI calls) */
};

void ac_fit_release(struct ac_fit *f);

/*
 * The FIT of an `Authorization` header value: exactly "Bearer " and a
 * token (case-sensitive scheme as Forge sends it, one space, no more
 * white space). *tok points into authorization (borrowed).
 * AC_ERR_FIT_MISSING when authorization is NULL or empty;
 * AC_ERR_FIT_SCHEME for any other scheme (a Connect "JWT" token included)
 * or an empty token. *tok and *len are written only on AC_OK.
 */
enum ac_err ac_fit_extract(const char *authorization, const char **tok, size_t *len);

/*
 * ac_token_parse() (strict compact JWS, at most AC_TOKEN_MAX bytes) with
 * its failure as AC_ERR_FIT_MALFORMED, except that an unsigned token (empty
 * signature) whose header names an alg other than RS256 parses, with no
 * signature bytes, so that verification refuses it as fit_alg and says why.
 * *t is filled only on AC_OK; release it with ac_token_release().
 */
enum ac_err ac_fit_parse(const char *tok, size_t len, struct ac_token *t);

/*
 * The checks that need no key: alg RS256 (header), iss, aud (a string, or an
 * array holding it) == policy app_id, exp/nbf/iat with the leeway, app.id ==
 * aud, app.installationId an installation ARI, app.environment.type
 * accepted. AC_OK proves nothing (the claims are unsigned): it only lets a
 * caller refuse a token before doing work for its kid (a JWKS refetch).
 * Returns the first code in this order: fit_alg, fit_iss, fit_aud,
 * fit_expired, fit_not_yet_valid, fit_app_id, fit_installation,
 * fit_environment. report (may be NULL) gets every problem, explained.
 */
enum ac_err ac_fit_check_claims(const struct ac_token *t, const struct ac_fit_policy *p,
    struct ac_token_report *report);

/*
 * Verifies a parsed FIT: alg pinned to RS256 before any key is chosen, the
 * key of the header's kid in set, the RS256 signature (EVP_DigestVerify),
 * then ac_fit_check_claims(). Returns the first code in the order fit_alg,
 * fit_kid_unknown, fit_signature, then those of ac_fit_check_claims; on
 * AC_OK *out (may be NULL) is filled, else left alone. report (may be NULL)
 * gets every problem with an explanation for a person (never the token).
 * set may be NULL (no key known: fit_kid_unknown).
 */
enum ac_err ac_fit_verify(const struct ac_token *t, const struct ac_jwks *set,
    const struct ac_fit_policy *p, struct ac_fit *out, struct ac_token_report *report);

/*
 * The whole check of a request's Authorization header value, for a route:
 * ac_fit_extract, ac_fit_parse, alg, then, when the header's kid is in set,
 * ac_fit_verify. When the kid is not in set the claims are checked without
 * a key first (an unsigned token must not make us fetch anything): a claim
 * that fails gives its own code; when every claim passes the answer is
 * AC_ERR_FIT_KID_UNKNOWN with *refetch = 1, meaning the token could be good
 * under a key not fetched yet: the caller may refetch the JWKS (at most once
 * a minute per host) and call again, and answers AC_ERR_FIT_JWKS_UNAVAILABLE
 * (503) when that fetch fails. *refetch is 0 in every other case. out as in
 * ac_fit_verify (may be NULL). No report: explanations are acctl's.
 */
enum ac_err ac_fit_verify_header(const char *authorization, const struct ac_jwks *set,
    const struct ac_fit_policy *p, struct ac_fit *out, int *refetch);

#endif
