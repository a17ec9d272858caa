/* json.h: strict JSON parsing with bounds, and typed field access (json-c). */
#ifndef AC_JSON_H
#define AC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "base/err.h"

/*
 * Deepest nesting accepted from outside: 32 nested objects or arrays pass, 33
 * do not, in the webhook scanner and in every full parse alike (the intake
 * must not acknowledge what the worker cannot read).
 */
#define AC_JSON_DEPTH 32

/*
 * Bound on every NumericDate (RFC 7519 2) and timestamp read from JSON:
 * beyond +-10^11 s (about year 5138) a date is malformed, never arithmetic.
 */
#define AC_JSON_DATE_MAX INT64_C(100000000000)

/*
 * Parses exactly s[0..n) as one strict JSON value (trailing bytes other than
 * white space are an error), as strict as ac_json_scan_object (which it runs
 * first): no raw control characters, NaN, Infinity, "1.", single quotes,
 * invalid UTF-8, NUL in a member name or a name twice in one object (compared
 * decoded, at any depth); nesting at most AC_JSON_DEPTH. *out is owned by the caller (json_object_put).
 * AC_ERR_BAD_JSON on any error; why (may be NULL) gets json-c's description
 * (static storage).
 */
enum ac_err ac_json_parse(const char *s, size_t n, json_object **out, const char **why);

/* A top-level member that ac_json_scan_object() looks for. */
struct ac_json_member {
	const char *name;   /* in: the member's name; matched against the decoded name ("\u0065vent" is "event") */
	const char *value;  /* out: the string value's bytes inside the input (borrowed), or NULL */
	size_t len;         /* out: their length */
	int found;          /* out: the member exists (once: a name written twice is an error) */
	int is_string;      /* out: its value is a string */
	int escaped;        /* out: that string has escapes: value is raw, parse fully to decode it */
};

/*
 * Checks that s[0..n) is exactly one JSON object (RFC 8259: strict strings with
 * valid UTF-8, numbers, literals, nesting at most AC_JSON_DEPTH, no member name
 * twice in one object) without
 * building it or allocating, and reports the top-level members named in
 * members. AC_ERR_NOT_OBJECT for valid JSON that is not an object,
 * AC_ERR_BAD_JSON otherwise, with why (static) saying what is wrong.
 * For large bodies that only need checking and a field or two (webhooks).
 */
enum ac_err ac_json_scan_object(const char *s, size_t n, struct ac_json_member *members, size_t nmembers,
    const char **why);

/*
 * The integer value v within [min, max] in *out: a JSON integer, or with
 * fraction set any finite number, rounded down (NumericDates may have one).
 * Out of range is AC_ERR_BAD_JSON, never clamped (json-c clamps what does
 * not fit 64 bits); so is another type or NULL. *out is written on success only.
 */
enum ac_err ac_json_int_in(json_object *v, int64_t min, int64_t max, int fraction, int64_t *out);

/*
 * json_object_put(o) for a tree that held a secret (a sharedSecret, an access
 * token): every string in it is cleansed first (OPENSSL_cleanse), so that the
 * freed memory keeps none. Only for the last reference. A serialization of o
 * (json_object_to_json_string*) lives in o's own buffer: cleanse it first.
 * NULL is a no-op.
 */
void ac_json_put_secret(json_object *o);

/* Borrowed string of a member when it exists and is a string; NULL otherwise. */
const char *ac_json_get_string(json_object *obj, const char *key);

/* Member if it exists with that type; NULL otherwise. Borrowed. */
json_object *ac_json_get_typed(json_object *obj, const char *key, json_type type);

#endif
