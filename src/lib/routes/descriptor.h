/* descriptor.h: the app descriptor (atlassian-connect.json) rendered from a template. */
#ifndef AC_DESCRIPTOR_H
#define AC_DESCRIPTOR_H

#include <stddef.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"

/* Largest template accepted. */
#define AC_DESCRIPTOR_MAX (256 * 1024)

/*
 * Renders template text t[0..n): every {{baseUrl}}, {{appKey}} and {{appName}}
 * is replaced by the configured value, JSON-escaped (placeholders stand inside
 * JSON strings). Any other {{name}} is an error. The result must be a JSON
 * object with "key" equal to the app key and "baseUrl" equal to the base
 * URL; it is appended to out compactly serialized. For Bitbucket it gains the
 * root fields "forgeAppLink" (AC_FORGE_APP_LINK) and "forgeAppId"
 * (AC_FORGE_APP_ID, in its ARI form), each when its setting is not empty. On error *errmsg (caller
 * frees) says what is wrong, with a line number where there is one.
 */
enum ac_err ac_descriptor_render(const char *t, size_t n, const struct ac_conf *conf,
    struct ac_buf *out, char **errmsg);

/*
 * The template path for this configuration: AC_DESCRIPTOR, else
 * {AC_TEMPLATE_DIR}/{product}.json. Owned by the caller.
 */
char *ac_descriptor_path(const struct ac_conf *conf);

/* Reads the template file (capped) and renders it. */
enum ac_err ac_descriptor_load(const struct ac_conf *conf, struct ac_buf *out, char **errmsg);

/*
 * The template file at path (a descriptor or a manifest: kind names it in
 * messages), at most max bytes, into t (initialised here; the caller releases
 * it even on failure). AC_ERR_CONFIG with *errmsg (caller frees) otherwise.
 */
enum ac_err ac_template_read(const char *path, const char *kind, size_t max, struct ac_buf *t, char **errmsg);

#endif
