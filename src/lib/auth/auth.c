/* auth.c: tenant-signed requests: token structure first, then the tenant, then every claim. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/canon.h"
#include "base/log.h"
#include "auth/policy.h"
#include "auth/token.h"

static void
tenant_free(void *p)
{
	ac_tenant_release(p);
	free(p);
}

const struct ac_tenant *
ac_auth_tenant(const struct ac_request *req)
{
	return req->auth_free == tenant_free ? req->auth : NULL;
}

enum ac_err
ac_auth_authenticate(struct ac_request *req)
{
	enum ac_auth kind = req->route->auth;
	const struct ac_conf *conf = req->app->conf;
	struct ac_policy_ctx ctx = { 0 };
	struct ac_token_policy p;
	struct ac_token_report rep;
	struct ac_token tok;
	struct ac_tenant *t = NULL;
	struct ac_buf canon;
	char qsh[AC_QSH_HEX_LEN];
	const char *raw, *hint = NULL;
	size_t len, i;
	enum ac_err err;

	if (kind != AC_AUTH_TENANT && kind != AC_AUTH_PAGE)
		return AC_OK;
	err = ac_token_extract(ac_request_param(req, "HTTP_AUTHORIZATION"), req->query, strlen(req->query),
	    kind == AC_AUTH_PAGE, &raw, &len, &hint);
	if (err != AC_OK)
		return hint ? ac_request_fail(req, err, "%s", hint) : err;
	if ((err = ac_token_parse(raw, len, &tok)) != AC_OK)
		return err;
	if (tok.alg != AC_TOKEN_HS256) {
		err = ac_request_fail(req, AC_ERR_ALG_NOT_ALLOWED, "this route takes HS256 tokens only");
		goto out;
	}
	if (tok.iss == NULL || *tok.iss == '\0') {
		err = ac_request_fail(req, AC_ERR_CLAIM_MISSING, "the token has no iss (the clientKey)");
		goto out;
	}
	if (req->app->store == NULL || (t = calloc(1, sizeof(*t))) == NULL) {
		err = req->app->store ? AC_ERR_NOMEM : AC_ERR_INTERNAL;
		goto out;
	}
	if ((err = ac_tenant_get(req->app->store, tok.iss, t)) != AC_OK)
		goto out;
	ac_request_set_tenant(req, t->client_key);
	if (t->state != AC_TENANT_INSTALLED) {
		err = AC_ERR_TENANT_UNINSTALLED;
		goto out;
	}
	ac_buf_init(&canon, AC_CANON_MAX);
	err = ac_canon_inbound(req->method, strlen(req->method), req->uri, strlen(req->uri), conf->base_path,
	    strlen(conf->base_path), &canon);
	if (err == AC_OK)
		ac_canon_qsh(canon.data, canon.len, qsh);
	ac_buf_release(&canon);
	if (err != AC_OK) {
		err = AC_ERR_BAD_REQUEST;
		goto out;
	}
	/* the same policy acctl jwt verify explains */
	ctx.product = t->product;
	ctx.client_key = t->client_key;
	ctx.app_key = conf->app_key;
	ctx.leeway = conf->leeway;
	ctx.page = kind == AC_AUTH_PAGE;
	if ((err = ac_policy_build(AC_POLICY_INBOUND, &ctx, &p)) != AC_OK)
		goto out;
	ac_token_report_init(&rep);
	err = ac_token_verify(&tok, t->shared_secret, strlen(t->shared_secret), &p, qsh, &rep);
	/* the client gets the code; what was expected goes to the operator's log */
	for (i = 0; err != AC_OK && i < rep.n; i++)
		ac_log_warn("%s %s from %s refused: %s", req->method, req->path, t->client_key, rep.v[i].text);
	ac_token_report_release(&rep);
	if (err == AC_OK) {
		req->auth = t;
		req->auth_free = tenant_free;
		t = NULL;
	}
out:
	if (t)
		tenant_free(t);
	ac_token_release(&tok);
	return err;
}
