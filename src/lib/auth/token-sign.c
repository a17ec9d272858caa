/* token-sign.c: the JWTs we sign (doc/protocol.md §2, §8): claims for each call, HS256 signatures. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/canon.h"
#include "auth/token.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/digest.h"
#include "base/json.h"

/*
 * Signing lives apart from parsing and verifying (token.c): what reads
 * untrusted tokens never needs the code that makes credentials, and the
 * fuzzed parser does not carry it.
 */

/* RFC 7515 §2 / RFC 4648 §5: base64url without padding, as token.c decodes it. */
static enum ac_err
b64url_encode(const unsigned char *p, size_t n, struct ac_buf *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char quad[4];
	size_t i;
	uint32_t v;
	enum ac_err err;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		quad[0] = alphabet[v >> 18 & 63];
		quad[1] = alphabet[v >> 12 & 63];
		quad[2] = alphabet[v >> 6 & 63];
		quad[3] = alphabet[v & 63];
		if ((err = ac_buf_add(out, quad, 4)) != AC_OK)
			return err;
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		quad[0] = alphabet[v >> 18 & 63];
		quad[1] = alphabet[v >> 12 & 63];
		return ac_buf_add(out, quad, 2);
	}
	if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		quad[0] = alphabet[v >> 18 & 63];
		quad[1] = alphabet[v >> 12 & 63];
		quad[2] = alphabet[v >> 6 & 63];
		return ac_buf_add(out, quad, 3);
	}
	return AC_OK;
}

/* ---------------------------------------------------------------- sign */

enum ac_err
ac_token_sign_hs256(struct json_object *claims, const void *secret, size_t secretlen,
    char **out)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char md[AC_SHA256_LEN];
	const char *json;
	struct ac_buf b;
	enum ac_err err;
	size_t len;

	if (claims == NULL || secret == NULL || !json_object_is_type(claims, json_type_object))
		return AC_ERR_INVALID;
	json = json_object_to_json_string_ext(claims,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (json == NULL)
		return AC_ERR_NOMEM;
	/* the result is a live credential: no copy of it left behind by growth or on error */
	ac_buf_init_secret(&b, 4 * AC_TOKEN_MAX);
	if ((err = b64url_encode((const unsigned char *)header, sizeof(header) - 1, &b)) != AC_OK ||
	    (err = ac_buf_addc(&b, '.')) != AC_OK ||
	    (err = b64url_encode((const unsigned char *)json, strlen(json), &b)) != AC_OK)
		goto out;
	if (ac_hmac_sha256(secret, secretlen, b.data, b.len, md) != 0) {
		err = AC_ERR_INTERNAL;
		goto out;
	}
	if ((err = ac_buf_addc(&b, '.')) != AC_OK || (err = b64url_encode(md, sizeof(md), &b)) != AC_OK)
		goto out;
	err = ac_buf_detach(&b, out, &len);
out:
	OPENSSL_cleanse(md, sizeof(md));
	ac_buf_release(&b);
	return err;
}

static enum ac_err
add_string(struct json_object *o, const char *name, const char *value)
{
	struct json_object *v = json_object_new_string(value);

	if (v == NULL || json_object_object_add(o, name, v) != 0) {
		json_object_put(v);
		return AC_ERR_NOMEM;
	}
	return AC_OK;
}

static enum ac_err
add_int(struct json_object *o, const char *name, int64_t value)
{
	struct json_object *v = json_object_new_int64(value);

	if (v == NULL || json_object_object_add(o, name, v) != 0) {
		json_object_put(v);
		return AC_ERR_NOMEM;
	}
	return AC_OK;
}

static enum ac_err
add_qsh(struct json_object *o, const char *method, const char *url, const char *base_url)
{
	struct ac_buf canon;
	char hex[AC_QSH_HEX_LEN];
	enum ac_err err;

	ac_buf_init(&canon, AC_CANON_MAX);
	err = ac_canon_outbound(method, url, base_url, &canon);
	if (err == AC_OK) {
		ac_canon_qsh(canon.data ? canon.data : "", canon.len, hex);
		err = add_string(o, "qsh", hex);
	}
	ac_buf_release(&canon);
	return err;
}

/* iss, iat, exp = iat + ttl: the common part of every token we sign. */
static enum ac_err
new_claims(const char *iss, int ttl, struct json_object **out)
{
	struct json_object *o = json_object_new_object();
	int64_t now = (int64_t)ac_clock_now();
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	if ((err = add_string(o, "iss", iss)) != AC_OK || (err = add_int(o, "iat", now)) != AC_OK ||
	    (err = add_int(o, "exp", now + ttl)) != AC_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return AC_OK;
}

enum ac_err
ac_token_claims_bitbucket(const char *app_key, const char *client_key, const char *method,
    const char *url, const char *base_url, struct json_object **out)
{
	struct json_object *o;
	enum ac_err err;

	if (app_key == NULL || client_key == NULL || method == NULL || url == NULL)
		return AC_ERR_INVALID;
	if ((err = new_claims(app_key, AC_TOKEN_TTL, &o)) != AC_OK)
		return err;
	if ((err = add_string(o, "sub", client_key)) != AC_OK ||
	    (err = add_qsh(o, method, url, base_url)) != AC_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return AC_OK;
}

enum ac_err
ac_token_claims_jira(const char *app_key, const char *client_key, const char *method,
    const char *url, const char *base_url, struct json_object **out)
{
	struct json_object *o, *aud;
	enum ac_err err;

	if (app_key == NULL || method == NULL || url == NULL)
		return AC_ERR_INVALID;
	if ((err = new_claims(app_key, AC_TOKEN_TTL, &o)) != AC_OK)
		return err;
	if ((err = add_qsh(o, method, url, base_url)) != AC_OK)
		goto fail;
	if (client_key != NULL) {
		aud = json_object_new_array();
		if (aud == NULL || json_object_object_add(o, "aud", aud) != 0) {
			json_object_put(aud);
			err = AC_ERR_NOMEM;
			goto fail;
		}
		if (json_object_array_add(aud, json_object_new_string(client_key)) != 0) {
			err = AC_ERR_NOMEM;
			goto fail;
		}
	}
	*out = o;
	return AC_OK;
fail:
	json_object_put(o);
	return err;
}

enum ac_err
ac_token_claims_bitbucket_grant(const char *app_key, const char *client_key,
    const char *token_url, struct json_object **out)
{
	/* doc/protocol.md §8: the qsh is that of POST to the token endpoint, its path only. */
	return ac_token_claims_bitbucket(app_key, client_key, "POST", token_url, NULL, out);
}

enum ac_err
ac_token_claims_jira_assertion(const char *oauth_client_id, const char *account_id,
    const char *tenant_base_url, const char *aud, struct json_object **out)
{
	struct json_object *o;
	struct ac_buf b;
	enum ac_err err;

	if (oauth_client_id == NULL || account_id == NULL || tenant_base_url == NULL ||
	    !*oauth_client_id || !*account_id)
		return AC_ERR_INVALID;
	ac_buf_init(&b, 4096);
	if ((err = ac_buf_printf(&b, "urn:atlassian:connect:clientid:%s", oauth_client_id)) != AC_OK)
		goto out;
	if ((err = new_claims(ac_buf_str(&b), AC_TOKEN_ASSERTION_TTL, &o)) != AC_OK)
		goto out;
	ac_buf_reset(&b);
	if ((err = ac_buf_printf(&b, "urn:atlassian:connect:useraccountid:%s", account_id)) != AC_OK ||
	    (err = add_string(o, "sub", ac_buf_str(&b))) != AC_OK ||
	    (err = add_string(o, "tnt", tenant_base_url)) != AC_OK ||
	    (err = add_string(o, "aud", aud ? aud : AC_TOKEN_OAUTH_AUD)) != AC_OK) {
		json_object_put(o);
		goto out;
	}
	*out = o;
out:
	ac_buf_release(&b);
	return err;
}
