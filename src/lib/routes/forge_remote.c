/* forge_remote.c: forge-remote.fcgi's routes: the token kept, the installation known, resolvers by path. */
#include "config.h"

#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "outbound/forge_client.h"
#include "routes/forge_auth.h"
#include "routes/forge_events.h"
#include "routes/forge_merge_check.h"
#include "routes/forge_remote.h"
#include "store/store.h"

const struct ac_route ac_forge_remote_routes[] = {
	/* method  path                           handler                       auth           body cap */
	{ "POST", "/forge/merge-check",          ac_forge_merge_check_handle,  AC_AUTH_FORGE, AC_FORGE_REMOTE_BODY_MAX },
	{ "GET",  "/forge/remote/installation",  ac_forge_remote_installation, AC_AUTH_FORGE, 0 },
};
const size_t ac_forge_remote_nroutes = sizeof(ac_forge_remote_routes) / sizeof(ac_forge_remote_routes[0]);

enum ac_err
ac_forge_remote_authenticate(struct ac_request *req)
{
	const struct ac_fit *fit;
	enum ac_err err;

	if ((err = ac_forge_authenticate(req)) != AC_OK)
		return err;
	fit = ac_forge_fit(req);
	/* every verified call may bring a fresh token; keeping it is a bonus, never the call's failure */
	if ((err = ac_forge_offer_system_token(req, fit)) != AC_OK) {
		if (err == AC_ERR_NOMEM)
			return err;
		ac_log_warn("installation %s: the app system token offered could not be kept: %s",
		    fit->installation_id, ac_err_code(err));
	}
	return ac_forge_know_installation(req, fit);
}

/* k: s, or k: null. */
static enum ac_err
add_str(json_object *o, const char *k, const char *s)
{
	json_object *v = NULL;

	if (s != NULL && (v = json_object_new_string(s)) == NULL)
		return AC_ERR_NOMEM;
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return AC_ERR_NOMEM;
	}
	return AC_OK;
}

/* k: the ISO 8601 date of t, or null when t is 0. */
static enum ac_err
add_date(json_object *o, const char *k, int64_t t)
{
	char iso[AC_CLOCK_ISO_SIZE];

	return add_str(o, k, t ? ac_clock_iso8601(t, iso, sizeof(iso)) : NULL);
}

static enum ac_err
add_obj(json_object *o, const char *k, json_object *v)
{
	if (v == NULL)
		return AC_ERR_NOMEM;
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return AC_ERR_NOMEM;
	}
	return AC_OK;
}

/* Whether a token is held that a call could still use, and until when: never the token itself. */
static json_object *
token_state(struct ac_store *st, const char *installation_id)
{
	struct ac_forge_token tok;
	json_object *o = json_object_new_object(), *v;
	int64_t now = (int64_t)ac_clock_now();
	int held;

	memset(&tok, 0, sizeof(tok));
	if (o == NULL)
		return NULL;
	if (ac_forge_token_get(st, installation_id, &tok) != AC_OK)
		tok.token = NULL; /* a store that cannot say: none held, as far as a call goes */
	held = tok.token != NULL && tok.exp > now + AC_FORGE_TOKEN_MARGIN /* what ac_forge_call would still use */;
	if (add_obj(o, "live", json_object_new_boolean(held)) != AC_OK ||
	    add_date(o, "expiresAt", tok.token ? tok.exp : 0) != AC_OK)
		goto fail;
	v = held ? json_object_new_int64(tok.exp - now) : NULL;
	if ((held && v == NULL) || json_object_object_add(o, "expiresIn", v) != 0) {
		json_object_put(v);
		goto fail;
	}
	ac_forge_token_release(&tok);
	return o;
fail:
	ac_forge_token_release(&tok);
	json_object_put(o);
	return NULL;
}

static json_object *
contexts_of(const struct ac_forge_installation *in)
{
	json_object *a = json_object_new_array(), *c;
	size_t i;

	for (i = 0; a != NULL && i < in->ncontexts; i++) {
		if ((c = json_object_new_object()) == NULL || json_object_array_add(a, c) != 0) {
			json_object_put(c);
			goto fail;
		}
		if (add_str(c, "name", in->contexts[i].name) != AC_OK ||
		    add_str(c, "apiBaseUrl", in->contexts[i].api_base_url) != AC_OK ||
		    add_str(c, "cloudId", in->contexts[i].cloud_id) != AC_OK ||
		    add_str(c, "workspaceId", in->contexts[i].workspace_id) != AC_OK)
			goto fail;
	}
	return a;
fail:
	json_object_put(a);
	return NULL;
}

enum ac_err
ac_forge_remote_installation(struct ac_request *req)
{
	const struct ac_fit *fit = ac_forge_fit(req);
	struct ac_forge_installation in;
	json_object *o = NULL, *env;
	enum ac_err err;

	if (fit == NULL)
		return AC_ERR_INTERNAL;
	memset(&in, 0, sizeof(in));
	err = ac_forge_installation_get(req->app->store, fit->installation_id, &in);
	if (err != AC_OK && err != AC_ERR_NOT_FOUND)
		goto out;
	/* the Connect tenant as the store has it now: one installed after the last installed event counts */
	if (err == AC_OK) {
		char *linked = NULL;

		if (ac_forge_link_find(req->app->store, &in, &linked) == AC_OK && linked) {
			free(in.client_key);
			in.client_key = linked;
		}
	}
	/* what the store does not hold (it could not keep the record) comes from this call's token */
	if ((o = json_object_new_object()) == NULL) {
		err = AC_ERR_NOMEM;
		goto out;
	}
	if ((err = add_str(o, "installationId", fit->installation_id)) != AC_OK ||
	    (err = add_str(o, "appId", in.app_id ? in.app_id : fit->app_id)) != AC_OK ||
	    (err = add_str(o, "appVersion", in.app_version ? in.app_version : fit->app_version)) != AC_OK ||
	    (err = add_obj(o, "environment", env = json_object_new_object())) != AC_OK ||
	    (err = add_str(env, "type", in.environment_type ? in.environment_type : fit->environment_type)) != AC_OK ||
	    (err = add_str(env, "id", in.environment_id ? in.environment_id : fit->environment_id)) != AC_OK ||
	    (err = add_str(o, "apiBaseUrl", in.api_base_url ? in.api_base_url : fit->api_base_url)) != AC_OK ||
	    (err = add_str(o, "siteUrl", in.site_url ? in.site_url : fit->site_url)) != AC_OK ||
	    (err = add_obj(o, "contexts", contexts_of(&in))) != AC_OK ||
	    (err = add_str(o, "connectTenant", in.client_key)) != AC_OK ||
	    (err = add_obj(o, "systemToken", token_state(req->app->store, fit->installation_id))) != AC_OK ||
	    (err = add_date(o, "firstSeen", in.first_seen)) != AC_OK ||
	    (err = add_date(o, "lastSeen", in.last_seen)) != AC_OK)
		goto out;
	err = ac_response_json(req, 200, o);
out:
	json_object_put(o);
	ac_forge_installation_release(&in);
	return err;
}
