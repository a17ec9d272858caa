/* fuzz-canon.c: libFuzzer target for the canonical request and qsh (doc/protocol.md §3). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "auth/canon.h"
#include "base/err.h"

/*
 * Input: "method\nuri\ncontext" (missing parts are empty). The uri goes to
 * ac_canon_inbound() with its bytes as they are, NULs included, and to
 * ac_canon_outbound() as a C string (cut at the first NUL), with the
 * context as base URL. Any failed invariant aborts, which libFuzzer reports.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
split(const char **p, size_t *n, const char **part, size_t *len)
{
	const char *nl = *n ? memchr(*p, '\n', *n) : NULL;

	*part = *p;
	*len = nl ? (size_t)(nl - *p) : *n;
	*p += *len + (nl ? 1 : 0);
	*n -= *len + (nl ? 1 : 0);
}

static char *
cstr(const char *s, size_t n)
{
	char *c = malloc(n + 1);

	if (c == NULL)
		abort();
	if (n)
		memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

static int
is_upper_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* METHOD&PATH&QUERY: upper-cased method, a path starting with '/', an encoded query. */
static void
check(const char *method, size_t mlen, const struct ac_buf *b)
{
	const char *s = b->data, *amp;
	char hex[AC_QSH_HEX_LEN];
	size_t i, plen;

	if (s == NULL || b->len < mlen + 3 || s[b->len] != '\0')
		abort();
	for (i = 0; i < mlen; i++) {
		char c = method[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (s[i] != c)
			abort();
	}
	if (s[mlen] != '&' || s[mlen + 1] != '/')
		abort();
	/* the path has no raw '&' ('&' became %26), so the next one ends it */
	amp = memchr(s + mlen + 1, '&', b->len - mlen - 1);
	if (amp == NULL)
		abort();
	plen = (size_t)(amp - (s + mlen + 1));
	if (plen == 0)
		abort();
	for (i = (size_t)(amp - s) + 1; i < b->len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= b->len || !is_upper_hex((unsigned char)s[i + 1]) ||
			    !is_upper_hex((unsigned char)s[i + 2]))
				abort();
			i += 2;
		} else if (!is_unreserved(c) && c != '=' && c != ',' && c != '&') {
			abort();
		}
	}
	ac_canon_qsh(s, b->len, hex);
	for (i = 0; i < 64; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			abort();
	if (hex[64] != '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *method, *uri, *ctx;
	size_t n = size, mlen, ulen, clen;
	char *m_s, *u_s, *c_s;
	struct ac_buf in, out;
	enum ac_err ei, eo;

	split(&p, &n, &method, &mlen);
	split(&p, &n, &uri, &ulen);
	ctx = p;
	clen = n;

	/* inputs are copied so that reading past them is caught by ASan */
	m_s = cstr(method, mlen);
	u_s = cstr(uri, ulen);
	c_s = cstr(ctx, clen);

	ac_buf_init(&in, AC_CANON_MAX);
	ei = ac_canon_inbound(m_s, mlen, u_s, ulen, c_s, clen, &in);
	if (ei == AC_OK)
		check(m_s, mlen, &in);
	else if (ei != AC_ERR_TOO_LARGE && !(ei == AC_ERR_INVALID && mlen == 0))
		abort();
	else if (in.len != 0)
		abort();	/* written only on success */

	ac_buf_init(&out, AC_CANON_MAX);
	eo = ac_canon_outbound(m_s, u_s, c_s, &out);
	if (eo == AC_OK)
		check(m_s, strlen(m_s), &out);
	else if (eo != AC_ERR_TOO_LARGE && !(eo == AC_ERR_INVALID && m_s[0] == '\0'))
		abort();

	/*
	 * A relative uri (starting with '/', so no scheme) and a plain context
	 * give the same answer both ways: one code path after the origin.
	 */
	if (ei == AC_OK && eo == AC_OK && ulen > 0 && u_s[0] == '/' && strlen(u_s) == ulen &&
	    strlen(m_s) == mlen && strlen(c_s) == clen && (clen == 0 || c_s[0] == '/') &&
	    strpbrk(c_s, "?#") == NULL &&
	    (in.len != out.len || memcmp(in.data, out.data, in.len) != 0))
		abort();

	ac_buf_release(&out);
	ac_buf_release(&in);
	free(c_s);
	free(u_s);
	free(m_s);
	return 0;
}
