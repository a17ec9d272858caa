/* forge_events.c: POST /forge/events: verified, the app token kept, durable in the inbox, answered at once. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/digest.h"
#include "base/json.h"
#include "base/log.h"
#include "routes/forge_auth.h"
#include "routes/forge_events.h"
#include "store/store.h"

/* App system tokens are a few KiB; anything longer is not one. */
#define SYSTEM_TOKEN_MAX (16 * 1024)

enum ac_err
ac_forge_token_exp(const char *token, int64_t *exp)
{
	const char *p = token ? strchr(token, '.') : NULL, *e = p ? strchr(p + 1, '.') : NULL;
	struct ac_buf b64, raw;
	json_object *o = NULL, *v;
	size_t n, i;
	int len;
	enum ac_err err = AC_ERR_INVALID;

	if (e == NULL || strlen(token) > SYSTEM_TOKEN_MAX || (n = (size_t)(e - p - 1)) == 0)
		return AC_ERR_INVALID;
	/* the claims are the token's: base64url to base64, decoded in buffers that are cleansed */
	ac_buf_init_secret(&b64, n + 4);
	ac_buf_init_secret(&raw, n + 4);
	for (i = 0; i < n; i++) {
		char c = p[1 + i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			goto out;
		if (ac_buf_addc(&b64, c == '-' ? '+' : c == '_' ? '/' : c) != AC_OK)
			goto out;
	}
	if (n % 4 == 1)
		goto out;
	while (b64.len % 4)
		if (ac_buf_addc(&b64, '=') != AC_OK)
			goto out;
	if (ac_buf_reserve(&raw, b64.len / 4 * 3 + 1) != AC_OK)
		goto out;
	if ((len = EVP_DecodeBlock((unsigned char *)raw.data, (const unsigned char *)b64.data, (int)b64.len)) < 0)
		goto out;
	len -= (int)(b64.len - n); /* EVP_DecodeBlock counts the padding as zero bytes */
	if (ac_json_parse(raw.data, (size_t)len, &o, NULL) != AC_OK || !json_object_is_type(o, json_type_object))
		goto out;
	if ((v = ac_json_get_typed(o, "exp", json_type_int)) == NULL || ac_json_int_in(v, 1, AC_JSON_DATE_MAX, 0, exp) != AC_OK)
		goto out;
	err = AC_OK;
out:
	ac_json_put_secret(o);
	ac_buf_release(&b64);
	ac_buf_release(&raw);
	return err;
}

enum ac_err
ac_forge_delivery_id(const char *installation_id, const char *event_key, json_object *body,
    char id[AC_FORGE_DELIVERY_ID_LEN])
{
	json_object *payload;
	struct ac_buf b;
	const char *s;
	size_t len;
	enum ac_err err;

	json_object_object_del(body, "retryContext");
	if ((payload = ac_json_get_typed(body, "payload", json_type_object)) != NULL)
		json_object_object_del(payload, "retryContext");
	if ((s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len)) == NULL)
		return AC_ERR_NOMEM;
	ac_buf_init(&b, AC_INBOX_BODY_MAX * 2 + 1024);
	/* NUL-separated: no field can run into the next */
	if ((err = ac_buf_add(&b, installation_id, strlen(installation_id) + 1)) == AC_OK &&
	    (err = ac_buf_add(&b, event_key, strlen(event_key) + 1)) == AC_OK &&
	    (err = ac_buf_add(&b, s, len)) == AC_OK) {
		memcpy(id, "forge:", 6);
		if (ac_sha256_hex(b.data, b.len, id + 6) != 0)
			err = AC_ERR_INTERNAL;
	}
	ac_buf_release(&b);
	return err;
}

/* Event keys such as "avi:bitbucket:created:pullrequest": what webhook.c accepts too. */
static int
event_key_valid(const char *k, size_t n)
{
	size_t i;

	if (n == 0 || n > 128 || strlen(k) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= '0' && k[i] <= '9') ||
		    strchr(":_-.", k[i])))
			return 0;
	return 1;
}

/* x-forge-oauth-system: kept when newer than the one held; never logged. */
static enum ac_err
keep_system_token(struct ac_request *req, const struct ac_fit *fit)
{
	const char *tok = ac_request_param(req, "HTTP_X_FORGE_OAUTH_SYSTEM");
	int64_t exp, now = (int64_t)ac_clock_now();
	int kept = 0;
	enum ac_err err;

	if (tok == NULL || *tok == '\0')
		return AC_OK; /* nothing never replaces a token */
	if (ac_forge_token_exp(tok, &exp) != AC_OK) {
		/* an expiry we cannot know would make "the newest wins" a guess: not kept */
		ac_log_warn("installation %s: x-forge-oauth-system has no readable exp; not kept", fit->installation_id);
		return AC_OK;
	}
	if (exp > now + AC_FORGE_TOKEN_LIFE_MAX)
		exp = now + AC_FORGE_TOKEN_LIFE_MAX; /* a far exp must not shut newer tokens out */
	if ((err = ac_forge_token_offer(req->app->store, fit->installation_id, tok, exp, &kept)) != AC_OK)
		return err;
	if (kept)
		ac_log_info("installation %s: app system token kept, expires in %lld s", fit->installation_id,
		    (long long)(exp - now));
	return AC_OK;
}

/* avi:forge:installed:app, avi:forge:upgraded:app: the installation as the token describes it. */
static enum ac_err
record_installation(struct ac_request *req, const struct ac_fit *fit)
{
	struct ac_forge_installation in;
	struct ac_forge_context ctx[AC_FIT_CONTEXTS_MAX];
	char *client_key = NULL;
	enum ac_err err;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.installation_id = fit->installation_id;
	in.app_id = fit->app_id;
	in.app_version = fit->app_version;
	in.environment_type = fit->environment_type;
	in.environment_id = fit->environment_id;
	in.api_base_url = fit->api_base_url;
	in.site_url = fit->site_url;
	for (i = 0; i < fit->ncontexts && i < AC_FIT_CONTEXTS_MAX; i++) {
		ctx[i].name = fit->contexts[i].name;
		ctx[i].api_base_url = fit->contexts[i].api_base_url;
		ctx[i].cloud_id = fit->contexts[i].cloud_id;
		ctx[i].workspace_id = fit->contexts[i].workspace_id;
	}
	in.contexts = ctx;
	in.ncontexts = i;
	/*
	 * The Connect tenant of the same installation (Jira: its installationId)
	 * or workspace (Bitbucket), recorded so that a Forge call finds it; none
	 * known yet leaves the recorded one, if any, as it was.
	 */
	err = ac_forge_link_find(req->app->store, &in, &client_key);
	if (err != AC_OK && err != AC_ERR_NOT_FOUND)
		return err;
	if (client_key)
		ac_log_info("installation %s: linked to the Connect tenant %s", fit->installation_id, client_key);
	in.client_key = client_key;
	err = ac_forge_installation_put(req->app->store, &in);
	free(client_key);
	return err;
}

/* The body's eventType, at the top level or under "payload"; NULL when none. */
static json_object *
event_type_of(json_object *body)
{
	json_object *v, *payload;

	if (json_object_object_get_ex(body, "eventType", &v))
		return v;
	if ((payload = ac_json_get_typed(body, "payload", json_type_object)) != NULL &&
	    json_object_object_get_ex(payload, "eventType", &v))
		return v;
	return NULL;
}

enum ac_err
ac_forge_events_handle(struct ac_request *req)
{
	const struct ac_fit *fit = ac_forge_fit(req);
	char id[AC_FORGE_DELIVERY_ID_LEN], event[129];
	json_object *body = NULL, *ev;
	const char *why = NULL;
	uint64_t seq = 0;
	int dup = 0;
	size_t n;
	enum ac_err err;

	if (fit == NULL)
		return AC_ERR_INTERNAL;
	if (!ac_request_is_json(req))
		return ac_request_fail(req, AC_ERR_MEDIA_TYPE, "Content-Type must be application/json");
	if (ac_json_parse(req->body.data ? req->body.data : "", req->body.len, &body, &why) != AC_OK ||
	    !json_object_is_type(body, json_type_object)) {
		err = ac_request_fail(req, AC_ERR_BAD_JSON, "the body is not a JSON object: %s", why ? why : "?");
		goto out;
	}
	/* every verified call may bring a fresh token: the scheduled trigger exists for that */
	if ((err = keep_system_token(req, fit)) != AC_OK)
		goto out;
	if ((ev = event_type_of(body)) == NULL) {
		ac_log_info("installation %s: scheduled trigger (%s): nothing queued", fit->installation_id,
		    fit->module_key ? fit->module_key : "no module key");
		req->status = 204;
		goto out;
	}
	n = json_object_is_type(ev, json_type_string) ? (size_t)json_object_get_string_len(ev) : 0;
	if (!event_key_valid(n ? json_object_get_string(ev) : "", n)) {
		err = ac_request_fail(req, AC_ERR_EVENT_MISSING, "the body's eventType is not a valid event key");
		goto out;
	}
	memcpy(event, json_object_get_string(ev), n + 1);
	if (!strcmp(event, "avi:forge:installed:app") || !strcmp(event, "avi:forge:upgraded:app")) {
		if ((err = record_installation(req, fit)) != AC_OK)
			goto out;
	} else if ((err = ac_forge_know_installation(req, fit)) != AC_OK)
		goto out;
	if ((err = ac_forge_delivery_id(fit->installation_id, event, body, id)) != AC_OK)
		goto out;
	err = ac_inbox_intake(req->app->store, fit->installation_id, event, id, req->body.data ? req->body.data : "",
	    req->body.len, &seq, &dup);
	if (err != AC_OK)
		goto out;
	if (dup)
		ac_log_info("Forge event %s of %s seen before (event %llu): not queued again", event,
		    fit->installation_id, (unsigned long long)seq);
	req->status = 204;
out:
	if (err == AC_ERR_STORE_FULL || err == AC_ERR_IO)
		err = err == AC_ERR_STORE_FULL ? AC_ERR_STORE_FULL : AC_ERR_STORE; /* 503: Forge retries */
	json_object_put(body);
	return err;
}

enum ac_err
ac_forge_offer_system_token(struct ac_request *req, const struct ac_fit *fit)
{
	return keep_system_token(req, fit);
}

enum ac_err
ac_forge_record_installation(struct ac_request *req, const struct ac_fit *fit)
{
	return record_installation(req, fit);
}

enum ac_err
ac_forge_know_installation(struct ac_request *req, const struct ac_fit *fit)
{
	struct ac_forge_installation in = { 0 };
	enum ac_err err;

	err = ac_forge_installation_get(req->app->store, fit->installation_id, &in);
	ac_forge_installation_release(&in);
	if (err == AC_ERR_NOT_FOUND) {
		/* its installed event was missed (or came before this build): the token's app claims say as much */
		if ((err = record_installation(req, fit)) == AC_OK)
			ac_log_info("installation %s: recorded from a %s call", fit->installation_id,
			    fit->module_type ? fit->module_type : "Forge");
	}
	if (err == AC_ERR_NOMEM)
		return err;
	if (err != AC_OK)
		ac_log_warn("installation %s: not recorded: %s", fit->installation_id, ac_err_code(err));
	return AC_OK;
}
