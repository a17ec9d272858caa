/* json.c: strict, bounded JSON parsing on top of json-c. */
#include "config.h"

#include <string.h>

#include "json.h"

enum ac_err
ac_json_parse(const char *s, size_t n, json_object **out, const char **why)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t used, i;

	if (n > (size_t)0x7fffffff) {
		if (why)
			*why = "document too large";
		return AC_ERR_BAD_JSON;
	}
	if ((tok = json_tokener_new_ex(AC_JSON_DEPTH)) == NULL)
		return AC_ERR_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, s, (int)n);
	jerr = json_tokener_get_error(tok);
	used = tok->char_offset;
	if (obj == NULL && jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	json_tokener_free(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		if (why)
			*why = json_tokener_error_desc(jerr);
		json_object_put(obj);
		return AC_ERR_BAD_JSON;
	}
	/* a strict document is one value; only white space may follow it */
	for (i = used; i < n; i++)
		if (!strchr(" \t\r\n", s[i])) {
			if (why)
				*why = "trailing data after the JSON value";
			json_object_put(obj);
			return AC_ERR_BAD_JSON;
		}
	*out = obj;
	return AC_OK;
}

json_object *
ac_json_get_typed(json_object *obj, const char *key, json_type type)
{
	json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

const char *
ac_json_get_string(json_object *obj, const char *key)
{
	json_object *v = ac_json_get_typed(obj, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}
