/* forge_link.c: the link between a Connect tenant and a Forge installation (store.h, doc/protocol.md §11). */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/conf.h"
#include "store/store.h"

#define BB_PREFIX "ari:cloud:bitbucket::app/{"

/* A uuid, with or without braces, any case, lower-cased into out; 0, or -1 when s is none. */
static int
norm_uuid(const char *s, size_t n, char out[37])
{
	size_t i;

	if (n == 38 && s[0] == '{' && s[37] == '}') {
		s++;
		n -= 2;
	}
	if (n != 36)
		return -1;
	for (i = 0; i < 36; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[36] = '\0';
	return ac_conf_is_uuid(out) ? 0 : -1;
}

int
ac_forge_link_workspace(const char *client_key, char out[37])
{
	size_t n = sizeof(BB_PREFIX) - 1;
	const char *end;

	if (client_key == NULL || strncasecmp(client_key, BB_PREFIX, n))
		return -1;
	/* the uuid, its closing brace, then "/" and an app key */
	if ((end = strchr(client_key + n, '}')) == NULL || end[1] != '/' || end[2] == '\0')
		return -1;
	return norm_uuid(client_key + n, (size_t)(end - (client_key + n)), out);
}

/* Whether a context of in names the workspace ws (normalised). */
static int
in_workspace(const struct ac_forge_installation *in, const char *ws)
{
	char w[37];
	size_t i;

	for (i = 0; i < in->ncontexts; i++) {
		const char *id = in->contexts[i].workspace_id;

		if (id && norm_uuid(id, strlen(id), w) == 0 && !strcmp(w, ws))
			return 1;
	}
	return 0;
}

/* Whether t and in are linked by the rule of store.h (not by a recorded client_key). */
static int
linked(const struct ac_tenant *t, const struct ac_forge_installation *in, int *by_id)
{
	char ws[37];

	*by_id = 0;
	if (t->installation_id && *t->installation_id && in->installation_id &&
	    !strcasecmp(t->installation_id, in->installation_id)) {
		*by_id = 1;
		return 1;
	}
	return t->product == AC_PRODUCT_BITBUCKET && ac_forge_link_workspace(t->client_key, ws) == 0 &&
	    in_workspace(in, ws);
}

struct find_ctx {
	const struct ac_forge_installation *in;
	char *by_id, *by_workspace;
};

static enum ac_err
find_fn(const struct ac_tenant *t, json_object *rec, void *ctx)
{
	struct find_ctx *f = ctx;
	char **slot;
	int by_id;

	(void)rec;
	if (t->state != AC_TENANT_INSTALLED || !linked(t, f->in, &by_id))
		return AC_OK;
	/* the installationId is the stronger link: it names this installation, not only its workspace */
	slot = by_id ? &f->by_id : &f->by_workspace;
	if (*slot == NULL && (*slot = strdup(t->client_key)) == NULL)
		return AC_ERR_NOMEM;
	return AC_OK;
}

enum ac_err
ac_forge_link_find(struct ac_store *st, const struct ac_forge_installation *in, char **client_key)
{
	struct find_ctx f = { in, NULL, NULL };
	enum ac_err err;

	*client_key = NULL;
	if ((err = ac_tenant_foreach(st, find_fn, &f)) != AC_OK) {
		free(f.by_id);
		free(f.by_workspace);
		return err;
	}
	if (f.by_id) {
		*client_key = f.by_id;
		free(f.by_workspace);
	} else {
		*client_key = f.by_workspace;
	}
	return *client_key ? AC_OK : AC_ERR_NOT_FOUND;
}

struct each_ctx {
	const struct ac_tenant *t;
	enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx);
	void *ctx;
};

static enum ac_err
each_fn(const struct ac_forge_installation *in, void *ctx)
{
	struct each_ctx *e = ctx;
	int by_id;

	if ((in->client_key && !strcmp(in->client_key, e->t->client_key)) || linked(e->t, in, &by_id))
		return e->fn(in, e->ctx);
	return AC_OK;
}

enum ac_err
ac_forge_link_foreach(struct ac_store *st, const struct ac_tenant *t,
    enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx), void *ctx)
{
	struct each_ctx e = { t, fn, ctx };

	return ac_forge_installation_foreach(st, each_fn, &e);
}
