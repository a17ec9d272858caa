/* forge_manifest.c: renders the Forge manifest templates (forge/{product}.yml) for a deployment. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes/descriptor.h"
#include "routes/forge_manifest.h"

static long
line_of(const char *t, const char *p)
{
	long line = 1;

	for (; t < p; t++)
		if (*t == '\n')
			line++;
	return line;
}

/*
 * The value of setting env as a YAML 1.2 double-quoted scalar (YAML 1.2, section 7.3.1): '\' and
 * '"' escaped. Line breaks and other control characters are refused rather than
 * escaped: no setting of an app key, name, id or URL has one, so one there is a
 * mistake (or an attempt to add lines to the manifest) to report, not to carry.
 */
static enum ac_err
add_quoted(struct ac_buf *b, const char *env, const char *v, char **errmsg)
{
	const char *p;
	enum ac_err err;

	for (p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*errmsg = ac_buf_asprintf("%s contains a %s: a manifest value is one line of "
			    "printable text", env, *p == '\n' || *p == '\r' ? "line break" : "control character");
			return AC_ERR_CONFIG;
		}
	if ((err = ac_buf_addc(b, '"')) != AC_OK)
		return err;
	for (p = v; *p; p++) {
		if ((*p == '"' || *p == '\\') && (err = ac_buf_addc(b, '\\')) != AC_OK)
			return err;
		if ((err = ac_buf_addc(b, *p)) != AC_OK)
			return err;
	}
	return ac_buf_addc(b, '"');
}

/* What keeps the value of a placeholder out of a manifest, or NULL. */
static char *
unfit(const char *name, const struct ac_conf *conf)
{
	if (!strcmp(name, "appId") && *conf->forge_app_id == '\0')
		return ac_buf_asprintf("AC_FORGE_APP_ID is empty: set it to the id of the Forge app "
		    "(`forge register` prints it; a uuid or ari:cloud:ecosystem::app/<uuid>)");
	if (!strcmp(name, "baseUrl") && strncmp(conf->base_url, "https://", 8) != 0)
		return ac_buf_asprintf("AC_BASE_URL is '%s': Forge calls a remote over https only; "
		    "set AC_BASE_URL to the public https URL of this backend", conf->base_url);
	return NULL;
}

enum ac_err
ac_forge_manifest_render(const char *t, size_t n, const struct ac_conf *conf, struct ac_buf *out,
    char **errmsg)
{
	static const struct {
		const char *name;
		const char *env;
		size_t off;
	} vars[] = {
		{ "appId", "AC_FORGE_APP_ID", offsetof(struct ac_conf, forge_app_id) },
		{ "baseUrl", "AC_BASE_URL", offsetof(struct ac_conf, base_url) },
		{ "appKey", "AC_APP_KEY", offsetof(struct ac_conf, app_key) },
		{ "appName", "AC_APP_NAME", offsetof(struct ac_conf, app_name) },
	};
	struct ac_buf text;
	const char *p = t, *end = t + n;
	enum ac_err err = AC_OK;

	*errmsg = NULL;
	ac_buf_init(&text, AC_FORGE_MANIFEST_MAX * 2);
	while (p < end) {
		const char *open = memmem(p, (size_t)(end - p), "{{", 2), *close;
		char name[64];
		size_t i, nl;

		if (open == NULL) {
			err = ac_buf_add(&text, p, (size_t)(end - p));
			break;
		}
		if ((err = ac_buf_add(&text, p, (size_t)(open - p))) != AC_OK)
			break;
		close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
		if (close == NULL || memchr(open, '\n', (size_t)(close - open)) != NULL) {
			*errmsg = ac_buf_asprintf("line %ld: '{{' without '}}'", line_of(t, open));
			err = AC_ERR_CONFIG;
			goto out;
		}
		nl = (size_t)(close - open - 2);
		i = nl < sizeof(name) - 1 ? nl : sizeof(name) - 1;
		memcpy(name, open + 2, i);
		name[i] = '\0';
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (strlen(vars[i].name) == nl && !memcmp(vars[i].name, open + 2, nl))
				break;
		if (i == sizeof(vars) / sizeof(vars[0])) {
			*errmsg = ac_buf_asprintf("line %ld: unknown placeholder {{%s}} (known: appId, "
			    "baseUrl, appKey, appName)", line_of(t, open), name);
			err = AC_ERR_CONFIG;
			goto out;
		}
		/* the value comes quoted: inside quotes it would end them */
		if (open > t && (open[-1] == '"' || open[-1] == '\'')) {
			*errmsg = ac_buf_asprintf("line %ld: {{%s}} inside quotes; write it bare, it is "
			    "replaced by a quoted string", line_of(t, open), name);
			err = AC_ERR_CONFIG;
			goto out;
		}
		if ((*errmsg = unfit(name, conf)) != NULL) {
			err = AC_ERR_CONFIG;
			goto out;
		}
		err = add_quoted(&text, vars[i].env,
		    *(char *const *)(const void *)((const char *)conf + vars[i].off), errmsg);
		if (err != AC_OK)
			goto out;
		p = close + 2;
	}
	if (err == AC_OK)
		err = ac_buf_add(out, text.data ? text.data : "", text.len);
out:
	ac_buf_release(&text);
	if (err != AC_OK && *errmsg == NULL)
		*errmsg = ac_buf_asprintf("rendering failed: %s", ac_strerror(err));
	return err;
}

char *
ac_forge_manifest_path(const struct ac_conf *conf, enum ac_product product)
{
	return ac_buf_asprintf("%s/forge/%s.yml", conf->template_dir, ac_conf_product_name(product));
}

enum ac_err
ac_forge_manifest_load(const char *path, const struct ac_conf *conf, struct ac_buf *out, char **errmsg)
{
	struct ac_buf t;
	char *inner = NULL;
	enum ac_err err;

	if ((err = ac_template_read(path, "manifest", AC_FORGE_MANIFEST_MAX, &t, errmsg)) == AC_OK &&
	    (err = ac_forge_manifest_render(ac_buf_str(&t), t.len, conf, out, &inner)) != AC_OK) {
		*errmsg = ac_buf_asprintf("%s: %s", path, inner ? inner : ac_strerror(err));
		free(inner);
	}
	ac_buf_release(&t);
	return err;
}
