/* json.c: strict, bounded JSON parsing on top of json-c. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <openssl/crypto.h>

#include "base/json.h"

/* ---- a validating scanner: no allocation, no tree (RFC 8259) */

struct scan {
	const unsigned char *p, *end;
	const char *why;
};

static inline void
skip_ws(struct scan *sc)
{
	const unsigned char *p = sc->p, *end = sc->end;

	if (p < end && *p > ' ')
		return; /* most calls: no white space at all */
#ifdef __SSE2__
	/* pretty-printed payloads indent by runs of spaces: 16 at a time */
	if (end - p >= 17 && p[0] == '\n' && p[1] == ' ') {
		const __m128i sp = _mm_set1_epi8(' ');

		p++;
		while (end - p >= 16) {
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), sp));

			if (m != 0xffff) {
				p += __builtin_ctz(~m);
				break;
			}
			p += 16;
		}
	}
#endif
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	sc->p = p;
}

/* How many bytes from p on are plain ASCII string content: not '"', '\\', a control or a non-ASCII byte. */
static size_t
plain_run(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *s = p;

#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(' ');

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* signed compare: bytes 0x80-0xff are negative, so below ' ' with the controls */
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)),
		    _mm_cmplt_epi8(v, sp));
		unsigned m = (unsigned)_mm_movemask_epi8(hit);

		if (m)
			return (size_t)(p - s) + (size_t)__builtin_ctz(m);
		p += 16;
	}
#endif
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return (size_t)(p - s);
}

static int
fail(struct scan *sc, const char *why)
{
	if (sc->why == NULL)
		sc->why = why;
	return 0;
}

static int
hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return 0;
	}
	*out = v;
	return 1;
}

/* RFC 3629 4: well-formed UTF-8, no overlongs, no surrogates, nothing past U+10FFFF. */
static int
utf8_seq(struct scan *sc)
{
	const unsigned char *p = sc->p;
	unsigned c = *p, need, min, cp, i;

	if (c < 0xc2 || c > 0xf4)
		return fail(sc, "invalid UTF-8 in a string");
	need = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
	min = need == 1 ? 0x80 : need == 2 ? 0x800 : 0x10000;
	cp = c & (need == 1 ? 0x1f : need == 2 ? 0x0f : 0x07);
	if ((size_t)(sc->end - p) <= need)
		return fail(sc, "truncated UTF-8 in a string");
	for (i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return fail(sc, "invalid UTF-8 in a string");
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return fail(sc, "invalid UTF-8 in a string");
	sc->p += need + 1;
	return 1;
}

/*
 * One character of a string already checked by scan_string, from *p on: its
 * UTF-8 bytes go to u8, their count is returned. Escapes are decoded, so that
 * "\u0065vent" is the name "event" here as in json-c.
 */
static size_t
next_char(const unsigned char **p, unsigned char u8[4])
{
	const unsigned char *s = *p;
	unsigned cp = 0, lo = 0xdc00;

	if (*s != '\\') {
		u8[0] = *s;
		*p = s + 1;
		return 1;
	}
	if (s[1] != 'u') {
		static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
		const char *f = strchr(from, s[1]);

		u8[0] = f ? (unsigned char)to[f - from] : s[1];
		*p = s + 2;
		return 1;
	}
	(void)hex4(s + 2, &cp);
	s += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		(void)hex4(s + 2, &lo);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		s += 6;
	}
	*p = s;
	if (cp < 0x80) {
		u8[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u8[0] = (unsigned char)(0xc0 | cp >> 6);
		u8[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u8[0] = (unsigned char)(0xe0 | cp >> 12);
		u8[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u8[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u8[0] = (unsigned char)(0xf0 | cp >> 18);
	u8[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	u8[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	u8[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Does the member name raw[0..len) (checked, escapes and all) decode to want? */
static int
name_is(const unsigned char *raw, size_t len, const char *want)
{
	const unsigned char *p = raw, *end = raw + len, *w = (const unsigned char *)want;
	unsigned char u8[4];
	size_t i, n;

	while (p < end) {
		n = next_char(&p, u8);
		for (i = 0; i < n; i++, w++)
			if (*w == '\0' || *w != u8[i])
				return 0;
	}
	return *w == '\0';
}

/* A member name with a NUL: json-c would cut it there, making it another name. */
static int
name_has_nul(const unsigned char *raw, size_t len)
{
	const unsigned char *p = raw, *end = raw + len;
	unsigned char u8[4];

	while (p < end)
		if (next_char(&p, u8) == 1 && u8[0] == '\0')
			return 1;
	return 0;
}

static int
scan_string(struct scan *sc, int *escaped)
{
	*escaped = 0;
	sc->p++; /* the opening quote */
	while (sc->p < sc->end) {
		const unsigned char *p = sc->p, *end = sc->end;
		unsigned c;

		/* the common run of plain ASCII (a webhook body is mostly this) */
		p += plain_run(p, end);
		sc->p = p;
		if (p == end)
			break;
		c = *p;
		if (c == '"') {
			sc->p++;
			return 1;
		}
		if (c < 0x20)
			return fail(sc, "control character in a string");
		if (c == '\\') {
			unsigned u, lo;

			*escaped = 1;
			if (sc->end - sc->p < 2)
				return fail(sc, "truncated escape");
			c = sc->p[1];
			if (c == 'u') {
				if (sc->end - sc->p < 6 || !hex4(sc->p + 2, &u))
					return fail(sc, "bad \\u escape");
				sc->p += 6;
				/* a high surrogate must pair with a low one */
				if (u >= 0xd800 && u <= 0xdbff) {
					if (sc->end - sc->p < 6 || sc->p[0] != '\\' || sc->p[1] != 'u' || !hex4(sc->p + 2, &lo) ||
					    lo < 0xdc00 || lo > 0xdfff)
						return fail(sc, "unpaired surrogate escape");
					sc->p += 6;
				} else if (u >= 0xdc00 && u <= 0xdfff) {
					return fail(sc, "unpaired surrogate escape");
				}
				continue;
			}
			if (!strchr("\"\\/bfnrt", (int)c) || c == '\0')
				return fail(sc, "bad escape");
			sc->p += 2;
			continue;
		}
		if (c < 0x80)
			sc->p++;
		else if (!utf8_seq(sc))
			return 0;
	}
	return fail(sc, "unterminated string");
}

static int
digits(struct scan *sc)
{
	const unsigned char *start = sc->p;

	while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
		sc->p++;
	return sc->p > start;
}

static int
scan_number(struct scan *sc)
{
	if (*sc->p == '-')
		sc->p++;
	if (sc->p < sc->end && *sc->p == '0')
		sc->p++;
	else if (!digits(sc))
		return fail(sc, "bad number");
	if (sc->p < sc->end && *sc->p == '.') {
		sc->p++;
		if (!digits(sc))
			return fail(sc, "bad number");
	}
	if (sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E')) {
		sc->p++;
		if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
			sc->p++;
		if (!digits(sc))
			return fail(sc, "bad number");
	}
	return 1;
}

static int
scan_literal(struct scan *sc, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n))
		return fail(sc, "unexpected character");
	sc->p += n;
	return 1;
}

static int scan_value(struct scan *sc, int depth, struct ac_json_member *m, size_t nm);

/*
 * The member names of one object, to refuse one written twice. RFC 8259 4
 * leaves a repeated name to the parser (json-c keeps the last one); a
 * checker reading the first (a scanner, another library, a log reader) then
 * disagrees with what is used: {"alg":"HS256","alg":"none"}, two "iss", two
 * "clientKey". So every JSON read from outside has unique names, compared
 * decoded ("\u0065vent" is "event"), at every level, in the scanner that
 * every parse runs first.
 */
#define NAMES_LOCAL 16

struct name {
	const unsigned char *p; /* the raw name inside the input, escapes and all */
	size_t len;
	int esc;
};

struct names {
	struct name local[NAMES_LOCAL];
	struct name *v; /* local, or the heap once an object has more members */
	size_t n, cap;
};

/* Decoded names in byte order: a total order whose equality is "the same name". */
static int
name_cmp(const struct name *a, const struct name *b)
{
	const unsigned char *p = a->p, *pe = a->p + a->len, *q = b->p, *qe = b->p + b->len;
	unsigned char u[4], w[4];
	size_t n = 0, k = 0, i = 0, j = 0;
	int c;

	if (!a->esc && !b->esc) {
		c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
		return c ? c : a->len < b->len ? -1 : a->len > b->len;
	}
	/* byte by byte of the decoded texts: one side's character may be raw UTF-8, the other's an escape */
	for (;;) {
		if (i == n && p < pe) {
			n = next_char(&p, u);
			i = 0;
		}
		if (j == k && q < qe) {
			k = next_char(&q, w);
			j = 0;
		}
		if (i == n || j == k)
			return i < n ? 1 : j < k ? -1 : 0;
		if (u[i] != w[j])
			return u[i] < w[j] ? -1 : 1;
		i++;
		j++;
	}
}

static int
name_qcmp(const void *a, const void *b)
{
	return name_cmp(a, b);
}

static int
names_add(struct scan *sc, struct names *ns, const unsigned char *p, size_t len, int esc)
{
	if (ns->n == ns->cap) {
		size_t cap = ns->cap * 2;
		struct name *v = ns->v == ns->local ? malloc(cap * sizeof(*v)) : realloc(ns->v, cap * sizeof(*v));

		if (v == NULL)
			return fail(sc, "out of memory for member names");
		if (ns->v == ns->local)
			memcpy(v, ns->local, sizeof(ns->local));
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n].p = p;
	ns->v[ns->n].len = len;
	ns->v[ns->n].esc = esc;
	ns->n++;
	return 1;
}

/* Pairs for a few names, sorted neighbours for many: never quadratic in a large object. */
static int
names_unique(struct scan *sc, struct names *ns)
{
	size_t i, j;

	if (ns->n <= NAMES_LOCAL) {
		for (i = 1; i < ns->n; i++)
			for (j = 0; j < i; j++)
				if ((ns->v[i].esc || ns->v[j].esc || ns->v[i].len == ns->v[j].len) &&
				    name_cmp(&ns->v[i], &ns->v[j]) == 0)
					return fail(sc, "a member name appears twice in one object");
		return 1;
	}
	qsort(ns->v, ns->n, sizeof(*ns->v), name_qcmp);
	for (i = 1; i < ns->n; i++)
		if (name_cmp(&ns->v[i - 1], &ns->v[i]) == 0)
			return fail(sc, "a member name appears twice in one object");
	return 1;
}

static int scan_members(struct scan *sc, int depth, struct ac_json_member *m, size_t nm, struct names *ns);

static int
scan_container(struct scan *sc, int depth, struct ac_json_member *m, size_t nm)
{
	struct names ns;
	int ok;

	if (depth >= AC_JSON_DEPTH)
		return fail(sc, "nesting too deep");
	ns.v = ns.local;
	ns.n = 0;
	ns.cap = NAMES_LOCAL;
	ok = scan_members(sc, depth, m, nm, &ns) && names_unique(sc, &ns);
	if (ns.v != ns.local)
		free(ns.v);
	return ok;
}

static int
scan_members(struct scan *sc, int depth, struct ac_json_member *m, size_t nm, struct names *ns)
{
	int object = *sc->p == '{';
	unsigned char close = object ? '}' : ']';

	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == close) {
		sc->p++;
		return 1;
	}
	for (;;) {
		struct ac_json_member *hit = NULL;

		skip_ws(sc);
		if (object) {
			const unsigned char *name;
			size_t i, len;
			int esc;

			if (sc->p >= sc->end || *sc->p != '"')
				return fail(sc, "expected a member name");
			name = sc->p + 1;
			if (!scan_string(sc, &esc))
				return 0;
			len = (size_t)(sc->p - name) - 1;
			if (esc && name_has_nul(name, len))
				return fail(sc, "NUL in a member name");
			if (!names_add(sc, ns, name, len, esc))
				return 0;
			/* top-level members, compared by their decoded names (what json-c and the checks see) */
			for (i = 0; depth == 0 && i < nm; i++)
				if (esc ? name_is(name, len, m[i].name) :
				    strlen(m[i].name) == len && !memcmp(m[i].name, name, len))
					hit = &m[i];
			skip_ws(sc);
			if (sc->p >= sc->end || *sc->p != ':')
				return fail(sc, "expected ':'");
			sc->p++;
			skip_ws(sc);
		}
		if (hit) {
			const unsigned char *v = sc->p;

			hit->found = 1;
			hit->is_string = v < sc->end && *v == '"';
			if (!scan_value(sc, depth + 1, m, nm))
				return 0;
			if (hit->is_string) {
				int esc = 0;
				const unsigned char *q;

				for (q = v + 1; q < sc->p - 1; q++)
					if (*q == '\\')
						esc = 1;
				hit->value = (const char *)v + 1;
				hit->len = (size_t)(sc->p - v) - 2;
				hit->escaped = esc;
			} else {
				hit->value = NULL;
				hit->len = 0;
				hit->escaped = 0;
			}
		} else if (!scan_value(sc, depth + 1, m, nm)) {
			return 0;
		}
		skip_ws(sc);
		if (sc->p >= sc->end)
			return fail(sc, "unexpected end");
		if (*sc->p == ',') {
			sc->p++;
			continue;
		}
		if (*sc->p == close) {
			sc->p++;
			return 1;
		}
		return fail(sc, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int
scan_value(struct scan *sc, int depth, struct ac_json_member *m, size_t nm)
{
	int esc;

	skip_ws(sc);
	if (sc->p >= sc->end)
		return fail(sc, "unexpected end");
	switch (*sc->p) {
	case '{':
	case '[':
		return scan_container(sc, depth, m, nm);
	case '"':
		return scan_string(sc, &esc);
	case 't':
		return scan_literal(sc, "true");
	case 'f':
		return scan_literal(sc, "false");
	case 'n':
		return scan_literal(sc, "null");
	default:
		if (*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9'))
			return scan_number(sc);
		return fail(sc, "unexpected character");
	}
}

/* Checks s[0..n) is one JSON value; *object says whether it is an object. */
static enum ac_err
scan_doc(const char *s, size_t n, struct ac_json_member *members, size_t nmembers, int *object, const char **why)
{
	struct scan sc = { (const unsigned char *)s, (const unsigned char *)s + n, NULL };
	size_t i;

	for (i = 0; i < nmembers; i++) {
		members[i].value = NULL;
		members[i].len = 0;
		members[i].found = members[i].is_string = members[i].escaped = 0;
	}
	skip_ws(&sc);
	*object = sc.p < sc.end && *sc.p == '{';
	if (!scan_value(&sc, 0, members, nmembers)) {
		if (why)
			*why = sc.why;
		return AC_ERR_BAD_JSON;
	}
	skip_ws(&sc);
	if (sc.p != sc.end) {
		if (why)
			*why = "trailing data after the JSON value";
		return AC_ERR_BAD_JSON;
	}
	return AC_OK;
}

enum ac_err
ac_json_scan_object(const char *s, size_t n, struct ac_json_member *members, size_t nmembers, const char **why)
{
	enum ac_err err;
	int object;

	if ((err = scan_doc(s, n, members, nmembers, &object, why)) != AC_OK)
		return err;
	return object ? AC_OK : AC_ERR_NOT_OBJECT;
}

enum ac_err
ac_json_parse(const char *s, size_t n, json_object **out, const char **why)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t used;
	int object;

	if (n > (size_t)0x7fffffff) {
		if (why)
			*why = "document too large";
		return AC_ERR_BAD_JSON;
	}
	/*
	 * The scanner first: json-c's strict mode still takes raw control
	 * characters, NaN, Infinity, "1." and single quotes, and counts nesting
	 * its own way. What the scanner refuses nobody reads, so every JSON the
	 * programs read (webhooks at intake and in the worker, lifecycle bodies,
	 * answers, records) has one strictness and one depth limit, AC_JSON_DEPTH.
	 */
	if (scan_doc(s, n, NULL, 0, &object, why) != AC_OK)
		return AC_ERR_BAD_JSON;
	/* json-c counts an object's member one level deeper: give it room, the scanner holds the limit */
	if ((tok = json_tokener_new_ex(AC_JSON_DEPTH + 2)) == NULL)
		return AC_ERR_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, s, (int)n);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (obj == NULL && jerr == json_tokener_continue && !object) {
		/* a bare number only ends at a delimiter: give it one (the scanner saw the end) */
		obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		used = n;
	}
	if (obj == NULL && jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	json_tokener_free(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		if (why)
			*why = json_tokener_error_desc(jerr);
		json_object_put(obj);
		return AC_ERR_BAD_JSON;
	}
	/* the scanner saw one value and only white space after it; json-c must agree */
	for (; used < n; used++)
		if (!strchr(" \t\r\n", s[used]) || s[used] == '\0') {
			if (why)
				*why = "trailing data after the JSON value";
			json_object_put(obj);
			return AC_ERR_BAD_JSON;
		}
	*out = obj;
	return AC_OK;
}

enum ac_err
ac_json_int_in(json_object *v, int64_t min, int64_t max, int fraction, int64_t *out)
{
	int64_t n;
	double d;

	if (json_object_is_type(v, json_type_int)) {
		/* json-c clamps past int64 (and keeps uint64 apart): the bounds below are well inside */
		errno = 0;
		n = json_object_get_int64(v);
		if (errno != 0 || n < min || n > max)
			return AC_ERR_BAD_JSON;
	} else if (fraction && json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!isfinite(d) || d < (double)min || d >= (double)max + 1.0)
			return AC_ERR_BAD_JSON;
		n = (int64_t)floor(d);
	} else {
		return AC_ERR_BAD_JSON;
	}
	*out = n;
	return AC_OK;
}

static void
cleanse_strings(json_object *o)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		/* json-c's own bytes, about to be freed with o */
		OPENSSL_cleanse((void *)(uintptr_t)json_object_get_string(o), (size_t)json_object_get_string_len(o));
		break;
	case json_type_object: {
		json_object_object_foreach(o, name, v) {
			(void)name;
			cleanse_strings(v);
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			cleanse_strings(json_object_array_get_idx(o, i));
		break;
	default:
		break;
	}
}

void
ac_json_put_secret(json_object *o)
{
	if (o == NULL)
		return;
	cleanse_strings(o);
	json_object_put(o);
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
