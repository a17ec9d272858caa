/* policy.c: the token policies (doc/protocol.md §2), one row per kind, and where a URL says a token goes. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "auth/policy.h"
#include "base/url.h"

/* doc/protocol.md §2, §4, §6: product -> app: iss the installation's clientKey; aud, when
 * present, the same tenant. */
static void
build_inbound(const struct ac_policy_ctx *ctx, struct ac_token_policy *p)
{
	p->alg = AC_TOKEN_HS256;
	/* doc/protocol.md §3.5: context-qsh binds a page token to no URL: pages only, never
	 * lifecycle or webhooks */
	p->allow_context_qsh = ctx->page;
	p->allow_query = ctx->page;
	p->iss = ctx->client_key;
	p->aud_rule = AC_TOKEN_AUD_OPTIONAL;
	p->aud = ctx->client_key;
}

/* doc/protocol.md §5: Jira's signed install: RS256 only, iss the body's clientKey, aud our baseUrl. */
static void
build_signed_install(const struct ac_policy_ctx *ctx, struct ac_token_policy *p)
{
	p->alg = AC_TOKEN_RS256;
	p->iss = ctx->client_key;
	p->aud_rule = AC_TOKEN_AUD_URL;
	p->aud = ctx->app_base_url;
}

/*
 * doc/protocol.md §2, §7, §8: app -> product: iss the app key; Bitbucket takes the clientKey
 * as sub, Jira as aud ([clientKey]) when sent. The clientKey in iss is the
 * classic 401 (seeds/003); token.c recognises it from client_key.
 */
static void
build_outbound(const struct ac_policy_ctx *ctx, struct ac_token_policy *p)
{
	int jira = ctx->product == AC_PRODUCT_JIRA;

	p->alg = AC_TOKEN_HS256;
	p->iss = ctx->app_key;
	p->sub = jira ? NULL : ctx->client_key;
	p->aud_rule = jira && ctx->client_key ? AC_TOKEN_AUD_OPTIONAL : AC_TOKEN_AUD_ANY;
	p->aud = ctx->client_key;
	p->outbound = 1;
}

static enum ac_err
claims_outbound(const struct ac_policy_ctx *ctx, const char *method, const char *url,
    const char *base_url, struct json_object **out)
{
	if (ctx->client_key == NULL)
		return AC_ERR_INVALID;
	if (ctx->product == AC_PRODUCT_JIRA)
		return ac_token_claims_jira(ctx->app_key, ctx->client_key, method, url, base_url, out);
	return ac_token_claims_bitbucket(ctx->app_key, ctx->client_key, method, url, base_url, out);
}

/* Every fact of a kind in one row; sized by the sentinel, so a kind without a row does not build. */
static const struct {
	const char *name;
	const char *what;
	void (*build)(const struct ac_policy_ctx *ctx, struct ac_token_policy *p);
	/* the claims the app signs; NULL for kinds it only receives */
	enum ac_err (*claims)(const struct ac_policy_ctx *ctx, const char *method, const char *url,
	    const char *base_url, struct json_object **out);
} kinds[AC_POLICY_KIND_COUNT] = {
	[AC_POLICY_INBOUND] = { "inbound", "a token the product sends to the app",
	    build_inbound, NULL },
	[AC_POLICY_SIGNED_INSTALL] = { "signed-install",
	    "a signed install, the RS256 token Jira sends to /installed and /uninstalled",
	    build_signed_install, NULL },
	[AC_POLICY_OUTBOUND] = { "outbound", "a token the app sends to the product",
	    build_outbound, claims_outbound },
};

enum ac_err
ac_policy_build(enum ac_policy_kind kind, const struct ac_policy_ctx *ctx,
    struct ac_token_policy *out)
{
	struct ac_token_policy p;

	if ((unsigned)kind >= AC_POLICY_KIND_COUNT || ctx == NULL || out == NULL)
		return AC_ERR_INVALID;
	memset(&p, 0, sizeof(p));
	p.leeway = ctx->leeway;
	/* for the explanations: both names let a swapped iss/sub be recognised */
	p.app_key = ctx->app_key;
	p.client_key = ctx->client_key;
	kinds[kind].build(ctx, &p);
	*out = p;
	return AC_OK;
}

enum ac_err
ac_policy_claims(enum ac_policy_kind kind, const struct ac_policy_ctx *ctx, const char *method,
    const char *url, const char *base_url, struct json_object **out)
{
	if ((unsigned)kind >= AC_POLICY_KIND_COUNT || ctx == NULL || kinds[kind].claims == NULL ||
	    ctx->app_key == NULL)
		return AC_ERR_INVALID;
	return kinds[kind].claims(ctx, method, url, base_url, out);
}

const char *
ac_policy_name(enum ac_policy_kind kind)
{
	return (unsigned)kind < AC_POLICY_KIND_COUNT ? kinds[kind].name : "?";
}

const char *
ac_policy_describe(enum ac_policy_kind kind)
{
	return (unsigned)kind < AC_POLICY_KIND_COUNT ? kinds[kind].what : "?";
}

/* ---------------------------------------------------------------- direction */

/* How far u reaches into base (ac_url_reach), 0 for no base. */
static size_t
reach(const struct ac_url *u, const char *base)
{
	struct ac_url b;
	size_t n;

	if (base == NULL || *base == '\0' || ac_url_parse(base, &b) != AC_OK)
		return 0;
	n = ac_url_reach(u, &b);
	ac_url_release(&b);
	return n;
}

/*
 * The routes of the app that take a token (src/fcgi/): lifecycle, webhook,
 * and the page, where context-qsh (doc/protocol.md §3.5) and ?jwt= are accepted.
 */
static const struct {
	const char *path;
	int page;
} app_routes[] = {
	{ "/installed", 0 },
	{ "/uninstalled", 0 },
	{ "/webhook", 0 },
	{ "/oauth-callback", 1 },
};

/*
 * The route that path (n bytes) names, under app_base_url's path or as the
 * bare route: its index in app_routes, or -1.
 */
static int
app_route(const char *path, size_t n, const char *app_base_url)
{
	struct ac_url b;
	const char *ctx = "";
	size_t m = 0, i;
	int found = -1, have_base = app_base_url && ac_url_parse(app_base_url, &b) == AC_OK;

	if (have_base) {
		ctx = b.path;
		m = strlen(ctx);
		while (m > 0 && ctx[m - 1] == '/')
			m--;
	}
	for (i = 0; i < sizeof(app_routes) / sizeof(app_routes[0]); i++) {
		size_t r = strlen(app_routes[i].path);

		/* with the base's path, or (a path pasted from the route table) without */
		if ((n == m + r && !strncmp(path, ctx, m) && !strncmp(path + m, app_routes[i].path, r)) ||
		    (n == r && !strncmp(path, app_routes[i].path, r)))
			found = (int)i;
	}
	if (have_base)
		ac_url_release(&b);
	return found;
}

int
ac_policy_page_route(const char *url, const char *app_base_url)
{
	struct ac_url u;
	int r;

	if (url == NULL || *url == '\0')
		return 0;
	if (ac_url_parse(url, &u) != AC_OK) {
		r = app_route(url, strcspn(url, "?#"), app_base_url);
	} else {
		r = reach(&u, app_base_url) ? app_route(u.path, strlen(u.path), app_base_url) : -1;
		ac_url_release(&u);
	}
	return r >= 0 && app_routes[r].page;
}

enum ac_err
ac_policy_direction(const char *url, const char *app_base_url, const char *const *product_urls,
    size_t n, enum ac_policy_kind *kind, const char **base)
{
	struct ac_url u;
	const char *best_product = NULL;
	size_t app, product = 0, r, i;

	if (url == NULL)
		return AC_ERR_INVALID;
	if (*url == '\0')
		return AC_ERR_NOT_FOUND;
	if (ac_url_parse(url, &u) != AC_OK) {
		/* a path: the app's when it is one of its routes, else a call to the product */
		if (app_route(url, strcspn(url, "?#"), app_base_url) >= 0) {
			app = 1;
		} else {
			app = 0;
			for (i = 0; i < n && best_product == NULL; i++)
				if (product_urls[i] && *product_urls[i])
					best_product = product_urls[i];
			if (best_product == NULL)
				return AC_ERR_NOT_FOUND;
		}
		product = !app;
	} else {
		app = reach(&u, app_base_url);
		for (i = 0; i < n; i++)
			if ((r = reach(&u, product_urls[i])) > product) {
				product = r;
				best_product = product_urls[i];
			}
		ac_url_release(&u);
		if (app == product)
			return AC_ERR_NOT_FOUND; /* under neither, or both alike */
	}
	if (kind)
		*kind = app > product ? AC_POLICY_INBOUND : AC_POLICY_OUTBOUND;
	if (base)
		*base = app > product ? app_base_url : best_product;
	return AC_OK;
}
