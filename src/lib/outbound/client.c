/* client.c: signed REST calls to the tenant's product, with one re-sign after a 401. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/canon.h"
#include "base/clock.h"
#include "outbound/client.h"
#include "outbound/grant.h"
#include "outbound/http.h"
#include "base/log.h"
#include "auth/policy.h"
#include "auth/token.h"

/* Slower than the lifecycle fetches: a worker can wait, and the product may be busy. */
#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS 20000L

/* Longest path (with query) we send; product paths are short. */
#define PATH_MAX_BYTES 4096

/* How much of a token `acctl api -v` shows: enough to tell tokens apart, never usable. */
#define TOKEN_SHOWN 12

struct ac_client {
	const struct ac_conf *conf;
	struct ac_store *st;
};

void
ac_client_response_init(struct ac_client_response *r)
{
	r->status = 0;
	r->retry_after = -1;
	ac_buf_init(&r->body, AC_CLIENT_RESPONSE_MAX);
}

void
ac_client_response_release(struct ac_client_response *r)
{
	ac_buf_release(&r->body);
	r->status = 0;
	r->retry_after = -1;
}

enum ac_err
ac_client_new(const struct ac_conf *conf, struct ac_store *st, struct ac_client **out)
{
	struct ac_client *c;

	if (conf == NULL || st == NULL)
		return AC_ERR_INVALID;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return AC_ERR_NOMEM;
	c->conf = conf;
	c->st = st;
	*out = c;
	return AC_OK;
}

void
ac_client_free(struct ac_client *c)
{
	free(c);
}

int
ac_client_valid_call(const char *method, const char *path)
{
	const char *p;

	if (method == NULL || *method == '\0' || strlen(method) > 16)
		return 0;
	for (p = method; *p; p++)
		if (*p < 'A' || *p > 'Z')
			return 0;
	if (path == NULL || path[0] != '/' || strlen(path) > PATH_MAX_BYTES)
		return 0;
	for (p = path; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
			return 0;
	return 1;
}

/* The API base of a tenant (doc/protocol.md §7): Bitbucket's baseApiUrl, Jira's baseUrl; no '/' at the end. */
static const char *
api_base(const struct ac_tenant *t, size_t *len)
{
	const char *b = t->product == AC_PRODUCT_BITBUCKET ? t->base_api_url : t->base_url;
	size_t n = strlen(b);

	if (n > 0 && b[n - 1] == '/')
		n--;
	*len = n;
	return b;
}

/* Appends header h to the trace, a JWT cut to its first bytes (the rest would be a live credential). */
static void
trace_header(struct ac_client_trace *tr, const char *h)
{
	size_t used = strlen(tr->headers);
	const char *tok = !strncmp(h, "Authorization: JWT ", 19) ? h + 19 : NULL;

	if (tok)
		snprintf(tr->headers + used, sizeof(tr->headers) - used, "Authorization: JWT %.*s... (%zu bytes)\n",
		    TOKEN_SHOWN, tok, strlen(tok));
	else if (!strncmp(h, "Authorization: Bearer ", 22))
		/* an access token is opaque and lives for hours: not one byte of it */
		snprintf(tr->headers + used, sizeof(tr->headers) - used, "Authorization: Bearer <%zu bytes>\n",
		    strlen(h + 22));
	else
		snprintf(tr->headers + used, sizeof(tr->headers) - used, "%s\n", h);
}

/* One attempt: with bearer (an access token) when non-NULL, else signed with the secret of t. */
static enum ac_err
attempt(struct ac_client *c, const struct ac_tenant *t, const char *bearer, const char *method,
    const char *url, const char *base, const char *body, size_t body_len, struct ac_client_response *resp,
    struct ac_client_trace *tr)
{
	const char *app_key = *t->key ? t->key : c->conf->app_key;
	struct ac_policy_ctx ctx = { 0 };
	const char *headers[6];
	struct ac_buf auth;
	json_object *claims = NULL;
	char *token = NULL;
	enum ac_err err;
	size_t nh = 0, i;

	ac_buf_init_secret(&auth, AC_GRANT_TOKEN_MAX + AC_TOKEN_MAX + 64);
	if (bearer) {
		/* doc/protocol.md §8, §2: the grant's token goes as Bearer; the "JWT" scheme is for JWTs */
		if ((err = ac_buf_printf(&auth, "Authorization: Bearer %s", bearer)) != AC_OK)
			goto out;
		goto send;
	}
	/* doc/protocol.md §2: the outbound policy's claims (Bitbucket sub clientKey, Jira aud [clientKey]) */
	ctx.product = t->product;
	ctx.client_key = t->client_key;
	ctx.app_key = app_key;
	err = ac_policy_claims(AC_POLICY_OUTBOUND, &ctx, method, url, base, &claims);
	if (err != AC_OK)
		goto out;
	err = ac_token_sign_hs256(claims, t->shared_secret, strlen(t->shared_secret), &token);
	if (err != AC_OK)
		goto out;
	/* doc/protocol.md §2: the exact scheme; "Bearer <jwt>" is the classic 401 */
	if ((err = ac_buf_printf(&auth, "Authorization: JWT %s", token)) != AC_OK)
		goto out;
send:
	headers[nh++] = ac_buf_str(&auth);
	headers[nh++] = "Accept: application/json";
	if (body) {
		headers[nh++] = "Content-Type: application/json";
		headers[nh++] = "Expect:"; /* no 100-continue round trip */
	}
	headers[nh] = NULL;
	if (tr) {
		struct ac_buf canon;

		ac_buf_init(&canon, AC_CANON_MAX);
		if (ac_canon_outbound(method, url, base, &canon) == AC_OK)
			snprintf(tr->canonical, sizeof(tr->canonical), "%s%s", ac_buf_str(&canon),
			    bearer ? " (not signed: Bearer)" : "");
		ac_buf_release(&canon);
		snprintf(tr->claims, sizeof(tr->claims), "%s", claims ? json_object_to_json_string_ext(claims,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "(none: an access token)");
		snprintf(tr->url, sizeof(tr->url), "%s", url);
		tr->headers[0] = '\0';
		for (i = 0; i < nh; i++)
			trace_header(tr, headers[i]);
	}
	{
		struct ac_http_request rq = { method, url, headers, body, body_len, CONNECT_TIMEOUT_MS,
			TOTAL_TIMEOUT_MS };

		ac_buf_reset(&resp->body);
		resp->status = 0;
		err = ac_http_do(c->conf, &rq, &resp->status, &resp->body, &resp->retry_after);
	}
out:
	ac_buf_release(&auth);
	/* a live credential for AC_TOKEN_TTL seconds: do not leave it in freed memory */
	ac_buf_free_secret_str(token);
	json_object_put(claims);
	return err;
}

/* The access token for a Bearer mode; stale: the one that just got a 401, or NULL. */
static enum ac_err
get_token(struct ac_client *c, const struct ac_tenant *t, enum ac_client_auth mode,
    const struct ac_client_opts *opts, const char *stale, struct ac_grant_token *tok)
{
	if (mode == AC_CLIENT_AUTH_BEARER)
		return ac_grant_bitbucket(c->conf, c->st, t, stale, tok, NULL);
	return ac_grant_jira_user(c->conf, c->st, t, opts->account_id, opts->scopes, stale, tok, NULL);
}

/* The mode a call uses; AC_CLIENT_AUTH_DEFAULT resolved, or -1 when the product has no such mode. */
static int
resolve_mode(const struct ac_client *c, const struct ac_tenant *t, const struct ac_client_opts *opts)
{
	enum ac_client_auth m = opts ? opts->auth : AC_CLIENT_AUTH_DEFAULT;

	if (m == AC_CLIENT_AUTH_DEFAULT)
		m = t->product == AC_PRODUCT_BITBUCKET && c->conf->bitbucket_auth == AC_BITBUCKET_AUTH_BEARER ?
		    AC_CLIENT_AUTH_BEARER : AC_CLIENT_AUTH_JWT;
	if (m == AC_CLIENT_AUTH_BEARER && t->product != AC_PRODUCT_BITBUCKET)
		return -1;
	if (m == AC_CLIENT_AUTH_USER && (t->product != AC_PRODUCT_JIRA || opts->account_id == NULL))
		return -1;
	return (int)m;
}

enum ac_err
ac_client_call(struct ac_client *c, const struct ac_tenant *t, const char *method, const char *path,
    const char *body, size_t body_len, struct ac_client_response *resp, struct ac_client_trace *trace)
{
	return ac_client_call_ex(c, t, NULL, method, path, body, body_len, resp, trace);
}

enum ac_err
ac_client_call_ex(struct ac_client *c, const struct ac_tenant *t, const struct ac_client_opts *opts,
    const char *method, const char *path, const char *body, size_t body_len, struct ac_client_response *resp,
    struct ac_client_trace *trace)
{
	struct ac_tenant fresh;
	struct ac_grant_token tok;
	const struct ac_tenant *use = t;
	const char *base;
	struct ac_buf url, basebuf;
	uint64_t t0 = ac_clock_usec();
	enum ac_err err;
	size_t blen;
	int resigned = 0, mode;
	char *stale = NULL;

	if (c == NULL || t == NULL || resp == NULL || !ac_client_valid_call(method, path))
		return AC_ERR_INVALID;
	if ((mode = resolve_mode(c, t, opts)) < 0) {
		ac_log_error("api %s %s: tenant %s: %s", method, path, t->client_key,
		    t->product == AC_PRODUCT_JIRA ? "Jira calls are signed per call or made as a user (an account id)" :
		    "Bitbucket has no user impersonation; use the JWT grant (bearer) or per-call JWTs");
		return AC_ERR_INVALID;
	}
	if (t->state != AC_TENANT_INSTALLED) {
		ac_log_warn("api %s %s: tenant %s is uninstalled; not calling", method, path, t->client_key);
		return AC_ERR_TENANT_UNINSTALLED;
	}
	memset(&fresh, 0, sizeof(fresh));
	ac_grant_token_init(&tok);
	ac_buf_init(&url, PATH_MAX_BYTES + 2048);
	ac_buf_init(&basebuf, 2048);
	base = api_base(t, &blen);
	if (blen == 0) {
		ac_log_error("api %s %s: tenant %s has no API base URL", method, path, t->client_key);
		err = AC_ERR_INVALID;
		goto out;
	}
	if ((err = ac_buf_add(&basebuf, base, blen)) != AC_OK ||
	    (err = ac_buf_add(&url, base, blen)) != AC_OK || (err = ac_buf_adds(&url, path)) != AC_OK)
		goto out;
	/* product hosts must be on the allow-list even over https (doc/protocol.md §7) */
	if ((err = ac_http_url_allowed(c->conf, ac_buf_str(&url), 1)) != AC_OK) {
		ac_log_error("api %s %s: refusing to call %s: only https to AC_ALLOWED_HOSTS "
		    "(or http to an allowed loopback host)", method, path, ac_buf_str(&basebuf));
		goto out;
	}
	for (;;) {
		if (mode == AC_CLIENT_AUTH_BEARER || mode == AC_CLIENT_AUTH_USER) {
			ac_grant_token_release(&tok);
			if ((err = get_token(c, use, (enum ac_client_auth)mode, opts, stale, &tok)) != AC_OK)
				break;
		}
		err = attempt(c, use, tok.access_token, method, ac_buf_str(&url), ac_buf_str(&basebuf), body,
		    body_len, resp, trace);
		if (err != AC_OK || resp->status != 401 || resigned)
			break;
		/* the secret may have rotated since t was read (a reinstall): read it again, sign once more */
		resigned = 1;
		ac_tenant_release(&fresh);
		memset(&fresh, 0, sizeof(fresh));
		if ((err = ac_tenant_get(c->st, t->client_key, &fresh)) != AC_OK) {
			ac_log_error("api %s %s: 401, and tenant %s cannot be read again: %s", method, path,
			    t->client_key, ac_strerror(err));
			break;
		}
		if (fresh.state != AC_TENANT_INSTALLED) {
			ac_log_warn("api %s %s: 401; tenant %s is now uninstalled", method, path, t->client_key);
			err = AC_ERR_TENANT_UNINSTALLED;
			break;
		}
		if (tok.access_token) {
			/* doc/protocol.md §8: on a 401 drop the cached token and mint a new one, once */
			if ((stale = strdup(tok.access_token)) == NULL) {
				err = AC_ERR_NOMEM;
				break;
			}
			ac_log_info("api %s %s -> 401 with a cached access token (%lu ms); minting a new one once",
			    method, path, (unsigned long)((ac_clock_usec() - t0) / 1000));
		} else {
			ac_log_info("api %s %s -> 401 (%lu ms); re-signing once with the stored secret", method, path,
			    (unsigned long)((ac_clock_usec() - t0) / 1000));
		}
		use = &fresh;
	}
	if (err == AC_OK)
		ac_log_info("api %s %s %s -> %ld (%lu ms)", t->client_key, method, path, resp->status,
		    (unsigned long)((ac_clock_usec() - t0) / 1000));
	else if (err != AC_ERR_TENANT_UNINSTALLED)
		ac_log_error("api %s %s %s failed: %s (%lu ms)", t->client_key, method, path, ac_err_code(err),
		    (unsigned long)((ac_clock_usec() - t0) / 1000));
out:
	ac_buf_free_secret_str(stale);
	ac_grant_token_release(&tok);
	ac_tenant_release(&fresh);
	ac_buf_release(&basebuf);
	ac_buf_release(&url);
	return err;
}
