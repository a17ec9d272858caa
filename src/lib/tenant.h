/* tenant.h: tenant records (one per clientKey) in the `tenants` database. */
#ifndef AC_TENANT_H
#define AC_TENANT_H

#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "err.h"
#include "store.h"

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
};

/* AC_ERR_UNKNOWN_TENANT when no record has this clientKey. */
enum ac_err ac_tenant_get(struct ac_store *st, const char *client_key, struct ac_tenant *out);

void ac_tenant_release(struct ac_tenant *t);

#endif
