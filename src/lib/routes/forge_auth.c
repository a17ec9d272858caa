/* forge_auth.c: a Forge route's token: claims first, then the key by kid (store, or one fetch), then the signature. */
#include "config.h"

#include <stdlib.h>

#include "base/clock.h"
#include "base/log.h"
#include "outbound/forge_jwks.h"
#include "routes/forge_auth.h"

static void
fit_free(void *p)
{
	ac_fit_release(p);
	free(p);
}

const struct ac_fit *
ac_forge_fit(const struct ac_request *req)
{
	return req->auth_free == fit_free ? req->auth : NULL;
}

enum ac_err
ac_forge_authenticate(struct ac_request *req)
{
	const struct ac_conf *conf = req->app->conf;
	struct ac_fit_policy policy;
	const struct ac_jwks *set = NULL;
	struct ac_token t;
	struct ac_fit *fit = NULL;
	const char *tok;
	size_t len;
	enum ac_err err;

	if (conf->forge_app_id == NULL || *conf->forge_app_id == '\0')
		return ac_request_fail(req, AC_ERR_NOT_FOUND, "Forge is not configured here (AC_FORGE_APP_ID is empty)");
	if (req->route->auth != AC_AUTH_FORGE)
		return AC_ERR_INTERNAL; /* fail closed: this is for Forge routes only */
	if ((err = ac_fit_extract(ac_request_param(req, "HTTP_AUTHORIZATION"), &tok, &len)) != AC_OK)
		return err;
	if ((err = ac_fit_parse(tok, len, &t)) != AC_OK)
		return err;
	policy.app_id = conf->forge_app_id;
	policy.environments = conf->forge_env_mask;
	policy.leeway = conf->forge_leeway;
	policy.now = (int64_t)ac_clock_now();
	/* unsigned claims prove nothing, but one that fails spares a key lookup and a fetch */
	if ((err = ac_fit_check_claims(&t, &policy, NULL)) != AC_OK)
		goto out;
	if (t.kid && *t.kid && (err = ac_forge_jwks_for(req, t.kid, &set)) != AC_OK)
		goto out;
	if ((fit = calloc(1, sizeof(*fit))) == NULL) {
		err = AC_ERR_NOMEM;
		goto out;
	}
	if ((err = ac_fit_verify(&t, set, &policy, fit, NULL)) != AC_OK)
		goto out;
	req->auth = fit;
	req->auth_free = fit_free;
	fit = NULL;
	ac_request_set_tenant(req, ((struct ac_fit *)req->auth)->installation_id);
out:
	if (err != AC_OK && err != AC_ERR_FIT_JWKS_UNAVAILABLE && err != AC_ERR_NOMEM)
		ac_log_info("Forge token refused: %s (kid %.120s)", ac_err_code(err), t.kid ? t.kid : "none");
	free(fit);
	ac_token_release(&t);
	return err;
}
