/* err.h: the one error enum of connect-fcgi, its stable codes and HTTP statuses. */
#ifndef AC_ERR_H
#define AC_ERR_H

/*
 * Every fallible function returns one of these. The request loop maps it to an
 * HTTP status and a JSON body {"error": code, "message": text} in one place
 * (ac_err_http_status, ac_err_code, ac_strerror). Codes are stable: tests,
 * logs and operators rely on them. Add new ones at the end of a group, never
 * rename one.
 */
enum ac_err {
	AC_OK = 0,

	/* internal */
	AC_ERR_NOMEM,             /* out_of_memory, 500 */
	AC_ERR_INTERNAL,          /* internal_error, 500 */
	AC_ERR_IO,                /* io_error, 500 */
	AC_ERR_CONFIG,            /* config_error, 500 */
	AC_ERR_INVALID,           /* invalid_argument, 500: caller passed bad input to an API */
	AC_ERR_TOO_LARGE,         /* too_large, 500: a capped buffer would overflow */

	/* request shape */
	AC_ERR_NOT_FOUND,         /* not_found, 404 */
	AC_ERR_METHOD,            /* method_not_allowed, 405 */
	AC_ERR_LENGTH_REQUIRED,   /* length_required, 411 */
	AC_ERR_BODY_TOO_LARGE,    /* body_too_large, 413 */
	AC_ERR_BAD_LENGTH,        /* bad_content_length, 400 */
	AC_ERR_SHORT_BODY,        /* short_body, 400 */
	AC_ERR_BAD_REQUEST,       /* bad_request, 400 */
	AC_ERR_MEDIA_TYPE,        /* unsupported_media_type, 415 */
	AC_ERR_BAD_JSON,          /* malformed_json, 400 */

	/* authentication: all 401 */
	AC_ERR_TOKEN_MISSING,     /* token_missing */
	AC_ERR_TOKEN_MALFORMED,   /* token_malformed */
	AC_ERR_ALG_NOT_ALLOWED,   /* alg_not_allowed */
	AC_ERR_UNKNOWN_TENANT,    /* unknown_tenant */
	AC_ERR_BAD_SIGNATURE,     /* bad_signature */
	AC_ERR_EXPIRED,           /* expired */
	AC_ERR_NOT_YET_VALID,     /* not_yet_valid */
	AC_ERR_QSH_MISSING,       /* qsh_missing */
	AC_ERR_QSH_MISMATCH,      /* qsh_mismatch */
	AC_ERR_AUD_MISMATCH,      /* aud_mismatch */
	AC_ERR_ISS_MISMATCH,      /* iss_mismatch */
	AC_ERR_TENANT_UNINSTALLED,/* tenant_uninstalled */
	AC_ERR_UNKNOWN_KEY,       /* unknown_key */
	AC_ERR_CLAIM_MISSING,     /* claim_missing: exp or iss absent */
	AC_ERR_SUB_MISMATCH,      /* sub_mismatch: outbound Bitbucket sub is not the clientKey (acctl) */

	/* policy */
	AC_ERR_HOST_NOT_ALLOWED,  /* host_not_allowed, 403 */

	/* upstream and store: 502/503 so the product retries */
	AC_ERR_KEY_SERVER,        /* key_server_unavailable, 503 */
	AC_ERR_STORE,             /* store_unavailable, 503 */
	AC_ERR_STORE_FULL,        /* store_full, 503 */
	AC_ERR_UPSTREAM,          /* upstream_error, 502 */
	AC_ERR_GRANT_REFUSED,     /* grant_refused, 502: the token endpoint refused our assertion (stale secret?) */

	/* lifecycle bodies: 400 with a code naming the field */
	AC_ERR_FIELD_KEY,         /* bad_key: missing, not a string, or not AC_APP_KEY */
	AC_ERR_FIELD_CLIENT_KEY,  /* bad_client_key */
	AC_ERR_FIELD_SHARED_SECRET, /* bad_shared_secret */
	AC_ERR_FIELD_BASE_URL,    /* bad_base_url */
	AC_ERR_FIELD_BASE_API_URL,/* bad_base_api_url */
	AC_ERR_FIELD_PRODUCT_TYPE,/* bad_product_type: missing or not AC_PRODUCT */
	AC_ERR_FIELD_EVENT_TYPE,  /* bad_event_type: missing or not this route's */
	AC_ERR_FIELD_OTHER,       /* bad_field: another field of the wrong type */
	AC_ERR_NOT_OBJECT,        /* not_an_object: the body is JSON but not an object */

	/* webhooks */
	AC_ERR_EVENT_MISSING,     /* event_missing, 400: no X-Event-Key nor webhookEvent */
	AC_ERR_EVENT_MISMATCH,    /* event_mismatch, 400: the body names another event than the header */

	/* damage (issue 13 item 5): the data directory needs its operator */
	AC_ERR_STORE_DAMAGED,     /* store_damaged, 503: a file of the store is damaged (acctl inbox stats says which) */

	/* replay (issue 13, items 6-7) */
	AC_ERR_TOKEN_REPLAYED,    /* token_replayed, 401: a lifecycle token used before, or older than the last one */

	/* leases (issue 13 item 3): a worker whose lease another took over */
	AC_ERR_LEASE_LOST,        /* lease_lost, 409: the event's lease is another worker's now; left to it */

	/* fit: Forge Invocation Tokens (issue 15); 401 so that Forge reports "FIT validation failed" */
	AC_ERR_FIT_MISSING,       /* fit_missing: no Authorization header */
	AC_ERR_FIT_SCHEME,        /* fit_scheme: Authorization is not "Bearer <token>" */
	AC_ERR_FIT_MALFORMED,     /* fit_malformed: not a compact JWS with the claims of a FIT */
	AC_ERR_FIT_ALG,           /* fit_alg: alg is not RS256 */
	AC_ERR_FIT_KID_UNKNOWN,   /* fit_kid_unknown: no kid, or no key of the JWKS has it */
	AC_ERR_FIT_SIGNATURE,     /* fit_signature: the RS256 signature does not verify */
	AC_ERR_FIT_ISS,           /* fit_iss: iss is not forge/invocation-token */
	AC_ERR_FIT_AUD,           /* fit_aud: aud does not name AC_FORGE_APP_ID */
	AC_ERR_FIT_EXPIRED,       /* fit_expired: exp (with AC_FORGE_LEEWAY) has passed, or is missing */
	AC_ERR_FIT_NOT_YET_VALID, /* fit_not_yet_valid: nbf or iat in the future */
	AC_ERR_FIT_APP_ID,        /* fit_app_id: app.id is missing or differs from aud */
	AC_ERR_FIT_INSTALLATION,  /* fit_installation: app.installationId missing or not an installation ARI */
	AC_ERR_FIT_ENVIRONMENT,   /* fit_environment: app.environment.type not in AC_FORGE_ENVIRONMENTS */
	AC_ERR_FIT_JWKS_UNAVAILABLE, /* fit_jwks_unavailable, 503: the kid is unknown and the JWKS cannot be fetched */

	/* forge-out: calls of a Forge installation with its app system token (issue 15 item 4) */
	AC_ERR_FORGE_NO_INSTALLATION, /* forge_no_installation, 503: installation or its apiBaseUrl unknown yet */
	AC_ERR_FORGE_NO_TOKEN,        /* forge_no_token, 503: no live app system token; the event waits */

	/* pg: the PostgreSQL store (issue 16) */
	AC_ERR_STORE_SCHEMA,      /* store_schema, 503: the database's schema is not this build's (acctl store migrate) */

	AC_ERR__COUNT
};

/* Stable machine code, e.g. "qsh_mismatch". Static storage; never NULL. */
const char *ac_err_code(enum ac_err err);

/* One human sentence for the client and logs. Static storage; never NULL. */
const char *ac_strerror(enum ac_err err);

/* The HTTP status this error answers with (200 for AC_OK). */
int ac_err_http_status(enum ac_err err);

/* The reason phrase for an HTTP status ("Not Found"); "Unknown" otherwise. */
const char *ac_http_reason(int status);

#endif
