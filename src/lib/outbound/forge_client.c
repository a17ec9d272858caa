/* forge_client.c: REST calls of a Forge installation with its app system token (doc/protocol.md §11.3). */
#include "config.h"

#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "outbound/forge_client.h"
#include "outbound/http.h"

/* As the Connect client: a worker can wait, and the product may be busy. */
#define CONNECT_TIMEOUT_MS 5000L

/* Longest URL we build: an API base and a path with its query. */
#define URL_MAX_BYTES (4096 + 2048)

const char *
ac_forge_api_base(const struct ac_forge_installation *in)
{
	size_t i;

	if (in->api_base_url && *in->api_base_url)
		return in->api_base_url;
	for (i = 0; i < in->ncontexts; i++)
		if (in->contexts[i].api_base_url && *in->contexts[i].api_base_url)
			return in->contexts[i].api_base_url;
	return NULL;
}

/* The live token of installation_id into tok (wiped by its release): AC_ERR_FORGE_NO_TOKEN when none is. */
static enum ac_err
live_token(struct ac_store *st, const char *installation_id, struct ac_forge_token *tok)
{
	enum ac_err err;

	if ((err = ac_forge_token_get(st, installation_id, tok)) != AC_OK)
		return err;
	if (tok->token == NULL || *tok->token == '\0')
		return AC_ERR_FORGE_NO_TOKEN;
	if (tok->exp - AC_FORGE_TOKEN_MARGIN <= (int64_t)ac_clock_now())
		return AC_ERR_FORGE_NO_TOKEN;
	return AC_OK;
}

/* One call with token as Bearer; the header is a secret buffer, wiped when let go. */
static enum ac_err
attempt(const struct ac_conf *conf, const char *token, const char *method, const char *url, const char *body,
    size_t body_len, long timeout_ms, struct ac_client_response *resp)
{
	const char *headers[5];
	struct ac_buf auth;
	enum ac_err err;
	size_t nh = 0;

	ac_buf_init_secret(&auth, strlen(token) + 64);
	if ((err = ac_buf_printf(&auth, "Authorization: Bearer %s", token)) != AC_OK)
		goto out;
	headers[nh++] = ac_buf_str(&auth);
	headers[nh++] = "Accept: application/json";
	if (body) {
		headers[nh++] = "Content-Type: application/json";
		headers[nh++] = "Expect:"; /* no 100-continue round trip */
	}
	headers[nh] = NULL;
	{
		struct ac_http_request rq = { method, url, headers, body, body_len,
			timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS, timeout_ms };

		ac_buf_reset(&resp->body);
		resp->status = 0;
		resp->retry_after = -1;
		err = ac_http_do(conf, &rq, &resp->status, &resp->body, &resp->retry_after);
	}
out:
	ac_buf_release(&auth);
	return err;
}

enum ac_err
ac_forge_call(const struct ac_conf *conf, struct ac_store *st, const char *installation_id,
    const char *method, const char *path, const char *body, size_t body_len, long timeout_ms,
    struct ac_client_response *resp)
{
	struct ac_forge_installation in;
	struct ac_forge_token tok, fresh;
	struct ac_buf url;
	const char *base = NULL;
	uint64_t t0 = ac_clock_usec();
	enum ac_err err;
	size_t blen;

	if (conf == NULL || st == NULL || installation_id == NULL || resp == NULL ||
	    !ac_client_valid_call(method, path))
		return AC_ERR_INVALID;
	if (timeout_ms <= 0 || timeout_ms > AC_FORGE_CALL_TIMEOUT_MS)
		timeout_ms = AC_FORGE_CALL_TIMEOUT_MS;
	memset(&in, 0, sizeof(in));
	memset(&tok, 0, sizeof(tok));
	memset(&fresh, 0, sizeof(fresh));
	ac_buf_init(&url, URL_MAX_BYTES);
	err = ac_forge_installation_get(st, installation_id, &in);
	if (err == AC_ERR_NOT_FOUND || (err == AC_OK && (base = ac_forge_api_base(&in)) == NULL)) {
		ac_log_warn("forge api %s %s: installation %s: %s", method, path, installation_id,
		    ac_strerror(AC_ERR_FORGE_NO_INSTALLATION));
		err = AC_ERR_FORGE_NO_INSTALLATION;
		goto out;
	}
	if (err != AC_OK)
		goto out;
	blen = strlen(base);
	if (blen > 0 && base[blen - 1] == '/')
		blen--;
	/* the base's own path stays: /ex/jira/<cloudId> + /rest/api/3/... (doc/protocol.md §11.3) */
	if ((err = ac_buf_add(&url, base, blen)) != AC_OK || (err = ac_buf_adds(&url, path)) != AC_OK)
		goto out;
	/* a Forge apiBaseUrl is a product host like any other: on the allow-list, https */
	if ((err = ac_http_url_allowed(conf, ac_buf_str(&url), 1)) != AC_OK) {
		ac_log_error("forge api %s %s: installation %s: refusing to call %.*s: only https to "
		    "AC_ALLOWED_HOSTS (or http to an allowed loopback host)", method, path, installation_id,
		    (int)blen, base);
		goto out;
	}
	if ((err = live_token(st, installation_id, &tok)) != AC_OK) {
		if (err == AC_ERR_FORGE_NO_TOKEN)
			ac_log_warn("forge api %s %s: installation %s: %s", method, path, installation_id,
			    ac_strerror(err));
		goto out;
	}
	err = attempt(conf, tok.token, method, ac_buf_str(&url), body, body_len, timeout_ms, resp);
	if (err == AC_OK && resp->status == 401 && live_token(st, installation_id, &fresh) == AC_OK &&
	    strcmp(fresh.token, tok.token) != 0) {
		/* a newer token came in (a scheduled trigger) while this one was in flight: once more with it */
		ac_log_info("forge api %s %s -> 401; a newer system token is held, calling once more", method, path);
		err = attempt(conf, fresh.token, method, ac_buf_str(&url), body, body_len, timeout_ms, resp);
	}
	if (err == AC_OK)
		ac_log_info("forge api %s %s %s -> %ld (%lu ms)", installation_id, method, path, resp->status,
		    (unsigned long)((ac_clock_usec() - t0) / 1000));
	else
		ac_log_error("forge api %s %s %s failed: %s (%lu ms)", installation_id, method, path,
		    ac_err_code(err), (unsigned long)((ac_clock_usec() - t0) / 1000));
out:
	ac_forge_token_release(&fresh);
	ac_forge_token_release(&tok);
	ac_forge_installation_release(&in);
	ac_buf_release(&url);
	return err;
}
