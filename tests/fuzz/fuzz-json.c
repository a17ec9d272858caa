/* fuzz-json.c: libFuzzer target for the validating scanner: never crashes, never reads past the
 * input, what it accepts json-c's strict parser accepts too (the scanner is the stricter), and the
 * members it reports are the ones json-c finds under the same (decoded) name. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ac_json_member m[2] = { { "event", NULL, 0, 0, 0, 0 }, { "webhookEvent", NULL, 0, 0, 0, 0 } };
	char *copy = malloc(size + 1);
	enum ac_err err;
	json_object *o = NULL;

	if (copy == NULL)
		return 0;
	/* an exact-size copy: ASan catches any read past the end */
	memcpy(copy, data, size);
	err = ac_json_scan_object(copy, size, m, 2, NULL);
	if (err == AC_OK) {
		if (ac_json_parse(copy, size, &o, NULL) != AC_OK || !json_object_is_type(o, json_type_object))
			abort();
		if (m[0].found && m[0].is_string && !m[0].escaped &&
		    (m[0].value < copy || m[0].value + m[0].len > copy + size))
			abort();
		/* members are matched by decoded name, as json-c sees them ("\u0065vent" is "event") */
		if (m[0].found != (json_object_object_get_ex(o, "event", NULL) != 0))
			abort();
		if (m[0].found && m[0].is_string && !m[0].escaped) {
			const char *v = ac_json_get_string(o, "event");

			if (v == NULL || strlen(v) != m[0].len || memcmp(v, m[0].value, m[0].len))
				abort();
		}
		json_object_put(o);
	}
	free(copy);
	return 0;
}
