/* err.c: codes, messages and HTTP statuses of enum ac_err, in one table. */
#include "config.h"

#include <stddef.h>

#include "base/err.h"

static const struct {
	const char *code;
	int status;
	const char *message;
} table[AC_ERR__COUNT] = {
	[AC_OK] = { "ok", 200, "success" },
	[AC_ERR_NOMEM] = { "out_of_memory", 500, "the server ran out of memory" },
	[AC_ERR_INTERNAL] = { "internal_error", 500, "internal error" },
	[AC_ERR_IO] = { "io_error", 500, "input/output error" },
	[AC_ERR_CONFIG] = { "config_error", 500, "the server is misconfigured" },
	[AC_ERR_INVALID] = { "invalid_argument", 500, "invalid argument" },
	[AC_ERR_TOO_LARGE] = { "too_large", 500, "a value exceeded its size limit" },
	[AC_ERR_NOT_FOUND] = { "not_found", 404, "no such resource" },
	[AC_ERR_METHOD] = { "method_not_allowed", 405, "method not allowed on this resource" },
	[AC_ERR_LENGTH_REQUIRED] = { "length_required", 411, "a body needs a Content-Length" },
	[AC_ERR_BODY_TOO_LARGE] = { "body_too_large", 413, "the body exceeds this route's limit" },
	[AC_ERR_BAD_LENGTH] = { "bad_content_length", 400, "Content-Length is not a decimal number" },
	[AC_ERR_SHORT_BODY] = { "short_body", 400, "the body is shorter than its Content-Length" },
	[AC_ERR_BAD_REQUEST] = { "bad_request", 400, "bad request" },
	[AC_ERR_MEDIA_TYPE] = { "unsupported_media_type", 415, "the body must be application/json" },
	[AC_ERR_BAD_JSON] = { "malformed_json", 400, "the body is not valid JSON" },
	[AC_ERR_TOKEN_MISSING] = { "token_missing", 401, "no JWT: send 'Authorization: JWT <token>'" },
	[AC_ERR_TOKEN_MALFORMED] = { "token_malformed", 401, "the JWT is not a well-formed compact JWS" },
	[AC_ERR_ALG_NOT_ALLOWED] = { "alg_not_allowed", 401, "the JWT algorithm is not the one this route requires" },
	[AC_ERR_UNKNOWN_TENANT] = { "unknown_tenant", 401, "no installed tenant has this clientKey (iss)" },
	[AC_ERR_BAD_SIGNATURE] = { "bad_signature", 401, "the JWT signature does not verify" },
	[AC_ERR_EXPIRED] = { "expired", 401, "the JWT has expired" },
	[AC_ERR_NOT_YET_VALID] = { "not_yet_valid", 401, "the JWT is not valid yet (nbf or iat in the future)" },
	[AC_ERR_QSH_MISSING] = { "qsh_missing", 401, "the JWT has no qsh claim" },
	[AC_ERR_QSH_MISMATCH] = { "qsh_mismatch", 401, "the JWT qsh does not match this request" },
	[AC_ERR_AUD_MISMATCH] = { "aud_mismatch", 401, "the JWT aud does not name this app or tenant" },
	[AC_ERR_ISS_MISMATCH] = { "iss_mismatch", 401, "the JWT iss does not match the clientKey" },
	[AC_ERR_TENANT_UNINSTALLED] = { "tenant_uninstalled", 401, "the tenant has uninstalled the app" },
	[AC_ERR_UNKNOWN_KEY] = { "unknown_key", 401, "the install key server does not know this kid" },
	[AC_ERR_CLAIM_MISSING] = { "claim_missing", 401, "the JWT lacks a required claim" },
	[AC_ERR_SUB_MISMATCH] = { "sub_mismatch", 401, "the JWT sub is not the one expected (Bitbucket: the clientKey)" },
	[AC_ERR_HOST_NOT_ALLOWED] = { "host_not_allowed", 403, "the product host is not in AC_ALLOWED_HOSTS" },
	[AC_ERR_KEY_SERVER] = { "key_server_unavailable", 503, "the install key server could not be reached; retry" },
	[AC_ERR_STORE] = { "store_unavailable", 503, "the data store failed; retry" },
	[AC_ERR_STORE_FULL] = { "store_full", 503, "the data store is full; retry" },
	[AC_ERR_UPSTREAM] = { "upstream_error", 502, "the product API failed" },
	[AC_ERR_GRANT_REFUSED] = { "grant_refused", 502,
	    "the product refused the app's signed token request; the stored shared secret is probably stale" },
	[AC_ERR_FIELD_KEY] = { "bad_key", 400, "\"key\" must be this app's key (AC_APP_KEY)" },
	[AC_ERR_FIELD_CLIENT_KEY] = { "bad_client_key", 400, "\"clientKey\" must be a non-empty string" },
	[AC_ERR_FIELD_SHARED_SECRET] = { "bad_shared_secret", 400, "\"sharedSecret\" must be a non-empty string" },
	[AC_ERR_FIELD_BASE_URL] = { "bad_base_url", 400, "\"baseUrl\" must be an https URL" },
	[AC_ERR_FIELD_BASE_API_URL] = { "bad_base_api_url", 400, "\"baseApiUrl\" must be an https URL" },
	[AC_ERR_FIELD_PRODUCT_TYPE] = { "bad_product_type", 400, "\"productType\" must be the product this app serves (AC_PRODUCT)" },
	[AC_ERR_FIELD_EVENT_TYPE] = { "bad_event_type", 400, "\"eventType\" must match the route" },
	[AC_ERR_FIELD_OTHER] = { "bad_field", 400, "a field has the wrong type" },
	[AC_ERR_NOT_OBJECT] = { "not_an_object", 400, "the body must be a JSON object" },
	[AC_ERR_EVENT_MISSING] = { "event_missing", 400, "no event key: X-Event-Key header or webhookEvent field" },
	[AC_ERR_EVENT_MISMATCH] = { "event_mismatch", 400, "the body's event key differs from the X-Event-Key header" },
	[AC_ERR_STORE_DAMAGED] = { "store_damaged", 503,
	    "the data store is damaged and needs its operator (acctl inbox stats says what and how); retry" },
	/* replay */
	[AC_ERR_TOKEN_REPLAYED] = { "token_replayed", 401,
	    "this lifecycle token was already used with another body, or is older than the last one accepted" },
	/* leases */
	[AC_ERR_LEASE_LOST] = { "lease_lost", 409,
	    "the event's lease expired and another worker holds it now; the event is left to that worker" },
	/* fit */
	[AC_ERR_FIT_MISSING] = { "fit_missing", 401, "no Forge Invocation Token: send 'Authorization: Bearer <token>'" },
	[AC_ERR_FIT_SCHEME] = { "fit_scheme", 401, "the Authorization header is not 'Bearer <token>'" },
	[AC_ERR_FIT_MALFORMED] = { "fit_malformed", 401, "the Forge Invocation Token is not a well-formed compact JWS" },
	[AC_ERR_FIT_ALG] = { "fit_alg", 401, "the Forge Invocation Token is not signed with RS256" },
	[AC_ERR_FIT_KID_UNKNOWN] = { "fit_kid_unknown", 401, "no key of the Forge JWKS has the token's kid" },
	[AC_ERR_FIT_SIGNATURE] = { "fit_signature", 401, "the Forge Invocation Token signature does not verify" },
	[AC_ERR_FIT_ISS] = { "fit_iss", 401, "the token's iss is not forge/invocation-token" },
	[AC_ERR_FIT_AUD] = { "fit_aud", 401, "the token's aud is not this app's id (AC_FORGE_APP_ID)" },
	[AC_ERR_FIT_EXPIRED] = { "fit_expired", 401, "the Forge Invocation Token has expired" },
	[AC_ERR_FIT_NOT_YET_VALID] = { "fit_not_yet_valid", 401, "the Forge Invocation Token is not valid yet (nbf or iat in the future)" },
	[AC_ERR_FIT_APP_ID] = { "fit_app_id", 401, "the token's app.id is not its aud" },
	[AC_ERR_FIT_INSTALLATION] = { "fit_installation", 401, "the token has no app.installationId" },
	[AC_ERR_FIT_ENVIRONMENT] = { "fit_environment", 401, "the token's environment is not accepted (AC_FORGE_ENVIRONMENTS)" },
	[AC_ERR_FIT_JWKS_UNAVAILABLE] = { "fit_jwks_unavailable", 503, "the Forge JWKS could not be fetched for an unknown kid; retry" },
	/* forge-out */
	[AC_ERR_FORGE_NO_INSTALLATION] = { "forge_no_installation", 503,
	    "the Forge installation or its apiBaseUrl is not known yet (no installed event or invocation seen)" },
	[AC_ERR_FORGE_NO_TOKEN] = { "forge_no_token", 503,
	    "no live app system token for the installation: add an hourly scheduledTrigger with "
	    "auth.appSystemToken to the manifest (see acctl forge manifest) and redeploy; waiting for it" },
	[AC_ERR_STORE_SCHEMA] = { "store_schema", 503,
	    "the PostgreSQL database has no connect-fcgi schema or another version of it: run `acctl store migrate`" },
};

static int
valid(enum ac_err err)
{
	return (unsigned)err < AC_ERR__COUNT && table[err].code != NULL;
}

const char *
ac_err_code(enum ac_err err)
{
	return valid(err) ? table[err].code : "internal_error";
}

const char *
ac_strerror(enum ac_err err)
{
	return valid(err) ? table[err].message : "internal error";
}

int
ac_err_http_status(enum ac_err err)
{
	return valid(err) ? table[err].status : 500;
}

const char *
ac_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}
