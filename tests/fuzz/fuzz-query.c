/* fuzz-query.c: libFuzzer target for the one query parameter lookup and percent-decoder
 * (auth/canon.h): never reads past the query, the value it returns lies inside it, and both agree
 * with a plain reference written the slow way (split on '&' and '=', decode the whole name). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/canon.h"
#include "base/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The reference decoder, byte by byte. */
static size_t
ref_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n + 0 && hex((unsigned char)s[i + 1]) >= 0 &&
		    hex((unsigned char)s[i + 2]) >= 0) {
			out[o++] = (char)(hex((unsigned char)s[i + 1]) << 4 | hex((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t name_len = nl ? (size_t)(nl - (const char *)data) : 0;
	char *name, *q, *want, *got_dec;
	const char *val, *p, *end, *amp, *eq, *first = NULL;
	size_t qn, n, count, ref = 0, piece, kn, first_len = 0, dn;
	struct ac_buf b;

	if (nl == NULL || memchr(data, '\0', name_len))
		return 0;
	name = malloc(name_len + 1);
	qn = size - name_len - 1;
	q = malloc(qn ? qn : 1);  /* exact size: ASan sees a read past the query */
	want = malloc(qn + 1);
	got_dec = malloc(name_len + qn + 1);
	if (!name || !q || !want || !got_dec)
		abort();
	memcpy(name, data, name_len);
	name[name_len] = '\0';
	memcpy(q, nl + 1, qn);

	count = ac_canon_query_find(q, qn, name, &val, &n);
	if (count == 0 ? (val != NULL || n != 0) : (val < q || val + n > q + qn))
		abort();

	/* the reference lookup */
	for (p = q, end = q + qn; p < end; p = amp ? amp + 1 : end) {
		amp = memchr(p, '&', (size_t)(end - p));
		piece = (size_t)((amp ? amp : end) - p);
		if (piece == 0)
			continue;
		eq = memchr(p, '=', piece);
		kn = ref_decode(p, eq ? (size_t)(eq - p) : piece, got_dec);
		if (kn == name_len && !memcmp(got_dec, name, kn)) {
			if (ref++ == 0) {
				first = eq ? eq + 1 : p + piece;
				first_len = eq ? piece - (size_t)(eq - p) - 1 : 0;
			}
		}
	}
	if (ref != count || (count && (first != val || first_len != n)))
		abort();

	/* the decoder against the reference, on the whole query */
	ac_buf_init(&b, qn + 1);
	if (ac_canon_decode(q, qn, &b) != AC_OK)
		abort();
	dn = ref_decode(q, qn, want);
	if (b.len != dn || (dn && memcmp(b.data, want, dn)))
		abort();
	ac_buf_release(&b);
	/* and a cap too small is refused, not overrun */
	if (qn > 1) {
		ac_buf_init(&b, 1);
		if (ac_canon_decode(q, qn, &b) == AC_OK && b.len > 1)
			abort();
		ac_buf_release(&b);
	}
	free(name);
	free(q);
	free(want);
	free(got_dec);
	return 0;
}
