/* forge_manifest.h: the Forge manifest (manifest.yml) of this deployment, rendered from a template. */
#ifndef AC_FORGE_MANIFEST_H
#define AC_FORGE_MANIFEST_H

#include <stddef.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"

/* Largest template accepted. */
#define AC_FORGE_MANIFEST_MAX (64 * 1024)

/*
 * Renders template text t[0..n) (YAML): every {{appId}} (AC_FORGE_APP_ID, in
 * its ARI form), {{baseUrl}}, {{appKey}} and {{appName}} is replaced by the
 * configured value as a double-quoted YAML scalar, so a placeholder stands
 * bare where a value goes ("id: {{appId}}"), never inside quotes. Refused,
 * AC_ERR_CONFIG with *errmsg (caller frees) naming the setting or the template
 * line: an unknown, unclosed or quoted placeholder; an empty AC_FORGE_APP_ID;
 * an AC_BASE_URL that is not https (Forge calls remotes over https only); a
 * value with a line break or another control character. The result is
 * appended to out; nothing is appended on error.
 */
enum ac_err ac_forge_manifest_render(const char *t, size_t n, const struct ac_conf *conf,
    struct ac_buf *out, char **errmsg);

/* {AC_TEMPLATE_DIR}/forge/{product}.yml. Owned by the caller; NULL when out of memory. */
char *ac_forge_manifest_path(const struct ac_conf *conf, enum ac_product product);

/*
 * Reads the template at path (capped at AC_FORGE_MANIFEST_MAX) and renders it;
 * *errmsg (caller frees) names the file on error.
 */
enum ac_err ac_forge_manifest_load(const char *path, const struct ac_conf *conf, struct ac_buf *out,
    char **errmsg);

#endif
