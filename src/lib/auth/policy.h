/* policy.h: the token policies of doc/protocol.md §2: one builder per kind of token, for the
 * server and acctl. */
#ifndef AC_POLICY_H
#define AC_POLICY_H

#include <stddef.h>

#include <json-c/json.h>

#include "base/conf.h"
#include "base/err.h"
#include "auth/token.h"

/*
 * The kinds of token the app meets. The routes, the outbound client and
 * `acctl jwt verify` all take their checks from here, so that the tool
 * explains exactly what the server enforces. A new kind (issue 15: the Forge
 * Invocation Token) is one enum value and one row in policy.c's table.
 */
enum ac_policy_kind {
	/* product -> app, HS256: webhooks, pages, Bitbucket lifecycle (doc/protocol.md §2, §4, §6) */
	AC_POLICY_INBOUND,
	AC_POLICY_SIGNED_INSTALL, /* Jira -> app lifecycle, RS256 (doc/protocol.md §5) */
	/* app -> product: REST calls and the JWT grant, HS256 (doc/protocol.md §2, §7, §8) */
	AC_POLICY_OUTBOUND,
	AC_POLICY_KIND_COUNT
};

/* What a policy is built from. Strings are borrowed (the policy keeps them); NULL when unknown. */
struct ac_policy_ctx {
	enum ac_product product;
	const char *client_key;   /* the installation (tenant) */
	const char *app_key;      /* the descriptor's "key" */
	const char *app_base_url; /* AC_BASE_URL: what a signed install names in aud */
	long leeway;              /* AC_LEEWAY */
	int page;                 /* a page route (/oauth-callback): ?jwt= and context-qsh accepted */
};

/*
 * Fills *out with the checks of kind for ctx. A NULL client_key leaves iss
 * only required (inbound) and sub unchecked (outbound); a NULL app_key
 * leaves an outbound iss only required. AC_ERR_INVALID for a kind out of
 * range. *out borrows ctx's strings.
 */
enum ac_err ac_policy_build(enum ac_policy_kind kind, const struct ac_policy_ctx *ctx,
    struct ac_token_policy *out);

/*
 * The claims the app signs for a kind it sends (AC_POLICY_OUTBOUND: per
 * product, a call of method to url, qsh against base_url as
 * ac_canon_outbound), the very claims ac_policy_build() of that kind
 * accepts. *out is a new JSON object (json_object_put() it). AC_ERR_INVALID
 * for a kind the app only receives, or a missing app or client key.
 */
enum ac_err ac_policy_claims(enum ac_policy_kind kind, const struct ac_policy_ctx *ctx,
    const char *method, const char *url, const char *base_url, struct json_object **out);

/* "inbound", "signed-install", "outbound"; "?" out of range. Static storage. */
const char *ac_policy_name(enum ac_policy_kind kind);

/* Who sends such a token to whom, in words ("a token the product sends to the app"). Static. */
const char *ac_policy_describe(enum ac_policy_kind kind);

/*
 * The direction of a token from where its request goes (for `acctl jwt verify
 * --tenant`): an absolute url on one of the tenant's product_urls (n of
 * them: its baseUrl and baseApiUrl; NULL or "" entries are skipped) carries a
 * token the app sends (AC_POLICY_OUTBOUND); under app_base_url (AC_BASE_URL)
 * one the product sends (AC_POLICY_INBOUND). "On" means same scheme, host
 * and port and the base's path as a whole-segment prefix; the longest base
 * wins. A relative url (a path) is the app's when it names one of the app's
 * routes that take a token (/installed, /uninstalled, /webhook,
 * /oauth-callback, after app_base_url's path or bare), else a call to the product
 * (the first product url). *base is the base URL (borrowed from the
 * arguments). AC_ERR_NOT_FOUND, with neither output written, for an absolute
 * url under none of them or under an app and a product base alike, or a path
 * outside the app with no product url.
 */
enum ac_err ac_policy_direction(const char *url, const char *app_base_url,
    const char *const *product_urls, size_t n, enum ac_policy_kind *kind, const char **base);

/*
 * Whether url (a path, or an absolute URL under app_base_url) names the app's
 * page route (/oauth-callback after app_base_url's path), the one route whose
 * policy takes ctx.page (context-qsh, ?jwt=).
 */
int ac_policy_page_route(const char *url, const char *app_base_url);

#endif
