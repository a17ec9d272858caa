/* descriptor.c: renders and validates the descriptor template once per process. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes/descriptor.h"
#include "base/json.h"

/* The value as the inside of a JSON string literal (json-c escapes it). */
static enum ac_err
add_escaped(struct ac_buf *b, const char *v)
{
	json_object *s = json_object_new_string(v);
	const char *enc;
	size_t len;
	enum ac_err err;

	if (s == NULL)
		return AC_ERR_NOMEM;
	enc = json_object_to_json_string_length(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	err = enc && len >= 2 ? ac_buf_add(b, enc + 1, len - 2) : AC_ERR_NOMEM;
	json_object_put(s);
	return err;
}

/* root[name] = v, replacing what the template had there. */
static enum ac_err
set_root_string(json_object *root, const char *name, const char *v)
{
	json_object *s = json_object_new_string(v);

	if (s == NULL || json_object_object_add(root, name, s) != 0) {
		json_object_put(s);
		return AC_ERR_NOMEM;
	}
	return AC_OK;
}

/*
 * The Bitbucket Connect descriptor points at the Forge app that replaces it
 * (developer.atlassian.com/cloud/bitbucket/link-connect-to-its-equivalent-forge-app/):
 * forgeAppLink, the install link, makes Bitbucket offer "Get the Forge app" to
 * workspace admins; forgeAppId, the app's ARI, lets the Forge installation ask
 * GET /2.0/addon/{key}/client-key for its Connect clientKey. Each is there when
 * its setting is, and only then; the settings win over a template's own. Jira
 * has no such fields: a Jira app moves to Forge under its Connect key.
 */
static enum ac_err
add_forge_link(json_object *root, const struct ac_conf *conf)
{
	enum ac_err err = AC_OK;

	if (conf->forge_app_link && *conf->forge_app_link)
		err = set_root_string(root, "forgeAppLink", conf->forge_app_link);
	/* AC_FORGE_APP_ID is kept in its ARI form (ac_conf_forge_app_ari), the form this field takes */
	if (err == AC_OK && conf->forge_app_id && *conf->forge_app_id)
		err = set_root_string(root, "forgeAppId", conf->forge_app_id);
	return err;
}

static long
line_of(const char *t, const char *p)
{
	long line = 1;

	for (; t < p; t++)
		if (*t == '\n')
			line++;
	return line;
}

enum ac_err
ac_descriptor_render(const char *t, size_t n, const struct ac_conf *conf, struct ac_buf *out, char **errmsg)
{
	static const struct {
		const char *name;
		size_t off;
	} vars[] = {
		{ "baseUrl", offsetof(struct ac_conf, base_url) },
		{ "appKey", offsetof(struct ac_conf, app_key) },
		{ "appName", offsetof(struct ac_conf, app_name) },
	};
	struct ac_buf text;
	const char *p = t, *end = t + n, *why = NULL;
	json_object *root = NULL;
	const char *key, *base;
	enum ac_err err = AC_OK;
	size_t len;
	const char *s;

	*errmsg = NULL;
	ac_buf_init(&text, AC_DESCRIPTOR_MAX * 2);
	while (p < end) {
		const char *open = memmem(p, (size_t)(end - p), "{{", 2), *close;
		size_t i, nl;

		if (open == NULL) {
			err = ac_buf_add(&text, p, (size_t)(end - p));
			break;
		}
		if ((err = ac_buf_add(&text, p, (size_t)(open - p))) != AC_OK)
			break;
		close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
		if (close == NULL) {
			*errmsg = ac_buf_asprintf("line %ld: '{{' without '}}'", line_of(t, open));
			err = AC_ERR_CONFIG;
			goto out;
		}
		nl = (size_t)(close - open - 2);
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (strlen(vars[i].name) == nl && !memcmp(vars[i].name, open + 2, nl))
				break;
		if (i == sizeof(vars) / sizeof(vars[0])) {
			char name[64];
			size_t cp = nl < sizeof(name) - 1 ? nl : sizeof(name) - 1;

			memcpy(name, open + 2, cp);
			name[cp] = '\0';
			*errmsg = ac_buf_asprintf("unknown placeholder {{%s}} at line %ld (known: baseUrl, appKey, appName)",
			    name, line_of(t, open));
			err = AC_ERR_CONFIG;
			goto out;
		}
		if ((err = add_escaped(&text, *(char *const *)(const void *)((const char *)conf + vars[i].off))) != AC_OK)
			break;
		p = close + 2;
	}
	if (err != AC_OK) {
		*errmsg = ac_buf_asprintf("rendering failed: %s", ac_strerror(err));
		goto out;
	}
	if ((err = ac_json_parse(text.data ? text.data : "", text.len, &root, &why)) != AC_OK) {
		*errmsg = ac_buf_asprintf("not valid JSON after substitution: %s", why ? why : "?");
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		*errmsg = ac_buf_asprintf("the descriptor must be a JSON object");
		err = AC_ERR_CONFIG;
		goto out;
	}
	key = ac_json_get_string(root, "key");
	base = ac_json_get_string(root, "baseUrl");
	if (key == NULL || strcmp(key, conf->app_key)) {
		*errmsg = ac_buf_asprintf("\"key\" must be \"{{appKey}}\" (is %s)", key ? key : "missing");
		err = AC_ERR_CONFIG;
		goto out;
	}
	if (base == NULL || strcmp(base, conf->base_url)) {
		*errmsg = ac_buf_asprintf("\"baseUrl\" must be \"{{baseUrl}}\" (is %s)", base ? base : "missing");
		err = AC_ERR_CONFIG;
		goto out;
	}
	if (ac_json_get_typed(root, "authentication", json_type_object) == NULL) {
		*errmsg = ac_buf_asprintf("\"authentication\" object missing");
		err = AC_ERR_CONFIG;
		goto out;
	}
	if (conf->product == AC_PRODUCT_BITBUCKET && (err = add_forge_link(root, conf)) != AC_OK)
		goto out;
	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	err = s ? ac_buf_add(out, s, len) : AC_ERR_NOMEM;
out:
	json_object_put(root);
	ac_buf_release(&text);
	if (err != AC_OK && *errmsg == NULL)
		*errmsg = strdup(ac_strerror(err));
	if (err != AC_OK && err != AC_ERR_NOMEM)
		err = AC_ERR_CONFIG;
	return err;
}

char *
ac_descriptor_path(const struct ac_conf *conf)
{
	struct ac_buf b;
	char *out = NULL;

	if (conf->descriptor && *conf->descriptor)
		return strdup(conf->descriptor);
	ac_buf_init(&b, 4096);
	if (ac_buf_printf(&b, "%s/%s.json", conf->template_dir, ac_conf_product_name(conf->product)) == AC_OK)
		ac_buf_detach(&b, &out, NULL);
	ac_buf_release(&b);
	return out;
}

enum ac_err
ac_template_read(const char *path, const char *kind, size_t max, struct ac_buf *t, char **errmsg)
{
	FILE *f;
	char chunk[8192];
	size_t r;
	enum ac_err err = AC_OK;

	*errmsg = NULL;
	ac_buf_init(t, max);
	if ((f = fopen(path, "r")) == NULL) {
		*errmsg = ac_buf_asprintf("cannot read %s template %s: %s", kind, path, strerror(errno));
		return AC_ERR_CONFIG;
	}
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (ac_buf_add(t, chunk, r) != AC_OK) {
			*errmsg = ac_buf_asprintf("%s template %s is larger than %zu bytes", kind, path, max);
			err = AC_ERR_CONFIG;
			break;
		}
	if (err == AC_OK && ferror(f)) {
		*errmsg = ac_buf_asprintf("error reading %s", path);
		err = AC_ERR_CONFIG;
	}
	fclose(f);
	return err;
}

enum ac_err
ac_descriptor_load(const struct ac_conf *conf, struct ac_buf *out, char **errmsg)
{
	struct ac_buf t;
	char *path, *inner = NULL;
	enum ac_err err;

	*errmsg = NULL;
	if ((path = ac_descriptor_path(conf)) == NULL)
		return AC_ERR_NOMEM;
	if ((err = ac_template_read(path, "descriptor", AC_DESCRIPTOR_MAX, &t, errmsg)) == AC_OK &&
	    (err = ac_descriptor_render(ac_buf_str(&t), t.len, conf, out, &inner)) != AC_OK) {
		*errmsg = ac_buf_asprintf("descriptor template %s: %s", path, inner ? inner : "");
		free(inner);
	}
	ac_buf_release(&t);
	free(path);
	return err;
}
