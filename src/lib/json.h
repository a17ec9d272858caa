/* json.h: strict JSON parsing with bounds, and typed field access (json-c). */
#ifndef AC_JSON_H
#define AC_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"

/* Deepest nesting accepted from outside. */
#define AC_JSON_DEPTH 32

/*
 * Parses exactly s[0..n) as one strict JSON value (trailing bytes other than
 * white space are an error). *out is owned by the caller (json_object_put).
 * AC_ERR_BAD_JSON on any error; why (may be NULL) gets json-c's description
 * (static storage).
 */
enum ac_err ac_json_parse(const char *s, size_t n, json_object **out, const char **why);

/* Borrowed string of a member when it exists and is a string; NULL otherwise. */
const char *ac_json_get_string(json_object *obj, const char *key);

/* Member if it exists with that type; NULL otherwise. Borrowed. */
json_object *ac_json_get_typed(json_object *obj, const char *key, json_type type);

#endif
