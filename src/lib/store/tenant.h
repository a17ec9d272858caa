/* tenant.h: the tenant record (one per clientKey) and its JSON form; the store operations are in store.h. */
#ifndef AC_TENANT_H
#define AC_TENANT_H

#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "base/conf.h"
#include "base/err.h"

enum ac_tenant_state { AC_TENANT_INSTALLED, AC_TENANT_UNINSTALLED };

/*
 * A tenant as read from the store. ac_tenant_get() fills it with owned copies
 * (ac_tenant_release() frees them); strings are "" when absent, never NULL.
 */
struct ac_tenant {
	char *client_key;
	char *shared_secret;
	char *key;             /* the app key it was installed for */
	enum ac_product product;
	char *base_url;
	char *base_api_url;    /* Bitbucket; "" for Jira */
	char *oauth_client_id; /* Jira; "" otherwise */
	char *display_url;
	enum ac_tenant_state state;
	time_t installed_at;
	time_t updated_at;
	time_t uninstalled_at; /* 0 while installed */
	/*
	 * iat of the newest signed lifecycle call accepted (0: none yet); an
	 * older one is refused. Record member "lifecycleIat", written only when
	 * set, so records stay version 1 (an older build reads and drops it).
	 */
	int64_t lifecycle_iat;
	/*
	 * The Forge installation this Connect tenant is (Connect on Forge: the
	 * /installed body's installationId, ari:cloud:ecosystem::installation/<uuid>);
	 * "" when none. Record member "installationId", written only when set, so
	 * that a record without one is byte-identical to an older build's.
	 */
	char *installation_id;
};

/* Largest record accepted from the store or an import (a larger write: AC_ERR_TOO_LARGE). */
#define AC_TENANT_RECORD_MAX (256 * 1024)

/* The version of the record format this build writes and reads. */
#define AC_TENANT_RECORD_VERSION 1

/*
 * The record as JSON (what the store holds: version, fields, timestamps,
 * the install body) and back. from_json checks every field and fills out
 * with owned copies; *install (may be NULL) gets the kept install body.
 */
enum ac_err ac_tenant_to_json(const struct ac_tenant *t, json_object *install, json_object **out);
enum ac_err ac_tenant_from_json(json_object *rec, struct ac_tenant *out, json_object **install);

/*
 * A record as a backend stores it (len bytes of ac_tenant_to_json's text)
 * decoded into out, through the process's cache of decoded records (keyed by
 * the exact bytes, so a changed record is never served stale).
 * AC_ERR_STORE (logged) when it is corrupt or unreadable.
 */
enum ac_err ac_tenant_decode(const char *raw, size_t len, struct ac_tenant *out);

/* Releases what a get or from_json filled; a zeroed struct is fine. */
void ac_tenant_release(struct ac_tenant *t);

const char *ac_tenant_state_name(enum ac_tenant_state s);

#endif
