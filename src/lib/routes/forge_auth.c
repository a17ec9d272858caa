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
	const char *authorization = ac_request_param(req, "HTTP_AUTHORIZATION");
	struct ac_fit_policy policy;
	const struct ac_jwks *set = NULL;
	struct ac_fit *fit;
	int refetch = 0;
	enum ac_err err;

	if (conf->forge_app_id == NULL || *conf->forge_app_id == '\0')
		return ac_request_fail(req, AC_ERR_NOT_FOUND, "Forge is not configured here (AC_FORGE_APP_ID is empty)");
	if (req->route->auth != AC_AUTH_FORGE)
		return AC_ERR_INTERNAL; /* fail closed: this is for Forge routes only */
	policy.app_id = conf->forge_app_id;
	policy.environments = conf->forge_env_mask;
	policy.leeway = conf->forge_leeway;
	policy.now = (int64_t)ac_clock_now();
	if ((fit = calloc(1, sizeof(*fit))) == NULL)
		return AC_ERR_NOMEM;
	if ((err = ac_forge_jwks_kept(req, &set)) != AC_OK)
		goto out;
	err = ac_fit_verify_header(authorization, set, &policy, fit, &refetch);
	/* a kid not in the kept set, on a token whose claims could pass: the keys may have rotated */
	if (err == AC_ERR_FIT_KID_UNKNOWN && refetch) {
		if ((err = ac_forge_jwks_refetch(req, "a token's kid is not in the kept set", &set)) != AC_OK)
			goto out;
		err = ac_fit_verify_header(authorization, set, &policy, fit, &refetch);
	}
	if (err != AC_OK)
		goto out;
	req->auth = fit;
	req->auth_free = fit_free;
	fit = NULL;
	ac_request_set_tenant(req, ((struct ac_fit *)req->auth)->installation_id);
out:
	if (err != AC_OK && err != AC_ERR_NOMEM && err != AC_ERR_FIT_JWKS_UNAVAILABLE)
		ac_log_info("Forge token refused: %s", ac_err_code(err));
	free(fit);
	return err;
}
