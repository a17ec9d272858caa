/* canon.c: the canonical request and query string hash (qsh), doc/protocol.md §3. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "auth/canon.h"
#include "base/digest.h"

/*
 * doc/protocol.md §3 follows Atlassian's Java implementation, which is what
 * verifies the tokens we sign and signs the ones we receive. Where the npm
 * atlassian-jwt differs (decoded key order, escaped path characters, '\' made
 * '/', a dropped __proto__ key), we do what Java does; tests/integration/
 * qsh-diff.sh counts those differences against the npm package.
 *
 * Memory: the path is copied straight into out. The query is decoded into
 * scratch buffers whose cap is what is left of out's cap: every kept decoded
 * byte costs at least one output byte (a literal or %XX) and every kept
 * parameter at least one ('=', ',' or '&'), so input whose scratch would pass
 * that cap could never fit in out anyway and fails early with
 * AC_ERR_TOO_LARGE. A dropped jwt parameter and empty pieces use no scratch.
 */

/* One decoded query parameter: offsets into the scratch bytes. */
struct param {
	size_t key_off, key_len;
	size_t val_off, val_len;
};

/* A query being canonicalised: decoded bytes and the parameters naming them. */
struct query {
	struct ac_buf bytes;  /* decoded, UTF-8-clean keys and values */
	struct ac_buf params; /* struct param[], aligned since it comes from realloc */
	struct ac_buf tmp;    /* one component, decoded but not yet UTF-8-checked */
};

static const char hex_upper[] = "0123456789ABCDEF";

static int
hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3986 unreserved: the only bytes the canonical query keeps literal (doc/protocol.md §3). */
static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

static const char *
find_byte(const char *p, size_t n, char c)
{
	return n ? memchr(p, c, n) : NULL;
}

/*
 * Form decoding as Java's URLDecoder and Node's querystring do: '+' is a
 * space, %XX a byte; a '%' not followed by two hex digits stays literal
 * (doc/protocol.md §3; Java's URLDecoder would throw, the product never sends it).
 */
static unsigned char
decode_at(const char *s, size_t n, size_t *i)
{
	unsigned char c = (unsigned char)s[*i];
	int hi, lo;

	if (c == '+') {
		c = ' ';
	} else if (c == '%' && n - *i >= 3 && (hi = hex_val((unsigned char)s[*i + 1])) >= 0 &&
	    (lo = hex_val((unsigned char)s[*i + 2])) >= 0) {
		*i += 2;
		c = (unsigned char)(hi << 4 | lo);
	}
	(*i)++;
	return c;
}

enum ac_err
ac_canon_decode(const char *s, size_t n, struct ac_buf *to)
{
	enum ac_err err;
	size_t i, run;

	for (i = 0; i < n; ) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+' || c == '%') {
			c = decode_at(s, n, &i);
		} else {
			/* copy the plain run at once: most of a query is plain */
			for (run = i + 1; run < n && s[run] != '+' && s[run] != '%'; run++)
				;
			if ((err = ac_buf_add(to, s + i, run - i)) != AC_OK)
				return err;
			i = run;
			continue;
		}
		if ((err = ac_buf_addc(to, (char)c)) != AC_OK)
			return err;
	}
	return AC_OK;
}

/*
 * Appends s as well-formed UTF-8, each maximal ill-formed subpart replaced
 * by U+FFFD (the WHATWG decoder). Why: Java decodes parameters to Strings
 * with REPLACE (URLDecoder → new String(bytes, UTF_8)) and Node falls back to
 * Buffer.toString(), both one U+FFFD per maximal subpart; the canonical query
 * is then re-encoded from those characters, so "%FF" canonicalises as
 * "%EF%BF%BD" on both sides. This also makes every value sortable as UTF-16.
 * Known gap: Java decodes each run of %XX separately, so a sequence split
 * between raw and escaped bytes ("%C3" raw 0xA9) gives two U+FFFD there and
 * "é" here; no real client sends raw bytes above 0x7F in a URI.
 */
static enum ac_err
utf8_clean(const unsigned char *s, size_t n, struct ac_buf *to)
{
	static const char fffd[] = "\xEF\xBF\xBD";
	enum ac_err err;
	size_t i = 0, start, need, k;
	unsigned char lo, hi, c;

	while (i < n) {
		start = i;
		c = s[i];
		lo = 0x80;
		hi = 0xBF;
		if (c < 0x80)
			need = 0;
		else if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;	/* no overlong forms */
			if (c == 0xED)
				hi = 0x9F;	/* no surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90;
			if (c == 0xF4)
				hi = 0x8F;	/* nothing above U+10FFFF */
		} else {
			i++;
			goto bad;
		}
		i++;
		for (k = 0; k < need; k++) {
			if (i >= n || s[i] < lo || s[i] > hi)
				goto bad;	/* the offending byte starts the next round */
			lo = 0x80;
			hi = 0xBF;
			i++;
		}
		if ((err = ac_buf_add(to, s + start, i - start)) != AC_OK)
			return err;
		continue;
bad:
		if ((err = ac_buf_add(to, fffd, 3)) != AC_OK)
			return err;
	}
	return AC_OK;
}

/* Decodes one key or value into q->bytes; *off and *len say where it went. */
static enum ac_err
add_component(struct query *q, const char *s, size_t n, size_t *off, size_t *len)
{
	enum ac_err err;

	ac_buf_reset(&q->tmp);
	if ((err = ac_canon_decode(s, n, &q->tmp)) != AC_OK)
		return err;
	*off = q->bytes.len;
	if ((err = utf8_clean((const unsigned char *)q->tmp.data, q->tmp.len, &q->bytes)) != AC_OK)
		return err;
	*len = q->bytes.len - *off;
	return AC_OK;
}

/* Splits the raw query into decoded parameters (doc/protocol.md §3), dropping jwt. */
static enum ac_err
parse_query(struct query *q, const char *s, size_t n)
{
	const char *end = s + n, *amp, *eq;
	struct param p;
	enum ac_err err;
	size_t piece;

	while (s < end) {
		amp = find_byte(s, (size_t)(end - s), '&');
		piece = (size_t)((amp ? amp : end) - s);
		if (piece > 0) {
			eq = find_byte(s, piece, '=');
			if ((err = add_component(q, s, eq ? (size_t)(eq - s) : piece,
			    &p.key_off, &p.key_len)) != AC_OK)
				return err;
			/* only the decoded name "jwt", exactly: JWT and Jwt are hashed */
			if (p.key_len == 3 && memcmp(q->bytes.data + p.key_off, "jwt", 3) == 0) {
				q->bytes.len = p.key_off;
			} else {
				if (eq) {
					err = add_component(q, eq + 1, piece - (size_t)(eq - s) - 1,
					    &p.val_off, &p.val_len);
					if (err != AC_OK)
						return err;
				} else {
					p.val_off = q->bytes.len;
					p.val_len = 0;
				}
				if ((err = ac_buf_add(&q->params, &p, sizeof(p))) != AC_OK)
					return err;
			}
		}
		s += piece + (amp ? 1 : 0);
	}
	return AC_OK;
}

/* Whether s[0..n), form-decoded as ac_canon_decode() does, is name[0..m): no copy. */
static int
decodes_to(const char *s, size_t n, const char *name, size_t m)
{
	size_t i = 0, j = 0;

	while (i < n) {
		unsigned char c = decode_at(s, n, &i);

		if (j == m || (unsigned char)name[j] != c)
			return 0;
		j++;
	}
	return j == m;
}

size_t
ac_canon_query_find(const char *q, size_t n, const char *name, const char **val, size_t *val_len)
{
	const char *end = q + n, *amp, *eq, *v = NULL;
	size_t piece, count = 0, m = strlen(name), vn = 0;

	while (q != NULL && q < end) {
		amp = find_byte(q, (size_t)(end - q), '&');
		piece = (size_t)((amp ? amp : end) - q);
		eq = find_byte(q, piece, '=');
		/* an empty piece ("a&&b") names nothing, as in parse_query */
		if (piece > 0 && decodes_to(q, eq ? (size_t)(eq - q) : piece, name, m)) {
			if (count++ == 0) {
				v = eq ? eq + 1 : q + piece;
				vn = eq ? piece - (size_t)(eq - q) - 1 : 0;
			}
		}
		q += piece + (amp ? 1 : 0);
	}
	if (val)
		*val = v;
	if (val_len)
		*val_len = vn;
	return count;
}

/*
 * Compares a and b by their percent-encoded forms, byte order, without
 * building them: Java sorts keys that way (doc/protocol.md §3). Up to the first
 * differing byte both encodings agree; there, '%' (0x25) is below every
 * unreserved character, and two escapes compare by their (upper-case) hex,
 * which is the byte order.
 */
static int
cmp_encoded(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	size_t i, n = an < bn ? an : bn;
	int ua, ub;

	for (i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		ua = is_unreserved(a[i]);
		ub = is_unreserved(b[i]);
		if (ua == ub)
			return a[i] < b[i] ? -1 : 1;
		return ua ? 1 : -1;
	}
	return an < bn ? -1 : an > bn;
}

/* Next code point of well-formed UTF-8 (utf8_clean made it so). */
static uint32_t
next_cp(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[(*i)++];
	uint32_t cp;
	int more;

	if (c < 0x80)
		return c;
	if (c < 0xE0) {
		cp = c & 0x1F;
		more = 1;
	} else if (c < 0xF0) {
		cp = c & 0x0F;
		more = 2;
	} else {
		cp = c & 0x07;
		more = 3;
	}
	while (more-- > 0 && *i < n)
		cp = cp << 6 | (s[(*i)++] & 0x3F);
	return cp;
}

/* The first UTF-16 code unit of a code point. */
static uint32_t
utf16_lead(uint32_t cp)
{
	return cp >= 0x10000 ? 0xD800 + ((cp - 0x10000) >> 10) : cp;
}

/*
 * Compares as Java's String.compareTo: UTF-16 code units. It differs from
 * byte (code point) order only where a supplementary character (surrogates
 * 0xD800..) meets U+E000..U+FFFF: "😀" sorts before "" and "～".
 */
static int
cmp_utf16(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	size_t i = 0, j = 0;
	uint32_t ca, cb, la, lb;

	while (i < an && j < bn) {
		ca = next_cp(a, an, &i);
		cb = next_cp(b, bn, &j);
		if (ca == cb)
			continue;
		la = utf16_lead(ca);
		lb = utf16_lead(cb);
		if (la != lb)
			return la < lb ? -1 : 1;
		/* same high surrogate: the low ones follow code point order */
		return ca < cb ? -1 : 1;
	}
	if (i < an)
		return 1;
	return j < bn ? -1 : 0;
}

static int
cmp_param(const unsigned char *base, const struct param *x, const struct param *y)
{
	int c = cmp_encoded(base + x->key_off, x->key_len, base + y->key_off, y->key_len);

	if (c != 0)
		return c;
	return cmp_utf16(base + x->val_off, x->val_len, base + y->val_off, y->val_len);
}

/*
 * Heapsort: O(n log n) in the worst case and no memory beyond the array, so
 * a hostile query of thousands of parameters costs neither quadratic time
 * nor a hidden allocation (glibc's qsort may malloc).
 */
static void
sift_down(const unsigned char *base, struct param *v, size_t root, size_t n)
{
	size_t child;
	struct param t;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n && cmp_param(base, &v[child], &v[child + 1]) < 0)
			child++;
		if (cmp_param(base, &v[root], &v[child]) >= 0)
			return;
		t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

static void
sort_params(const unsigned char *base, struct param *v, size_t n)
{
	size_t i;
	struct param t;

	for (i = n / 2; i-- > 0; )
		sift_down(base, v, i, n);
	for (i = n; i-- > 1; ) {
		t = v[0];
		v[0] = v[i];
		v[i] = t;
		sift_down(base, v, 0, i);
	}
}

/* doc/protocol.md §3: only A-Z a-z 0-9 - . _ ~ literal, everything else upper-case %XX. */
static enum ac_err
add_encoded(struct ac_buf *out, const unsigned char *s, size_t n)
{
	enum ac_err err;
	size_t i, run;
	char esc[3];

	for (i = 0; i < n; ) {
		for (run = i; run < n && is_unreserved(s[run]); run++)
			;
		if (run > i && (err = ac_buf_add(out, s + i, run - i)) != AC_OK)
			return err;
		if ((i = run) == n)
			break;
		esc[0] = '%';
		esc[1] = hex_upper[s[i] >> 4];
		esc[2] = hex_upper[s[i] & 0x0F];
		if ((err = ac_buf_add(out, esc, 3)) != AC_OK)
			return err;
		i++;
	}
	return AC_OK;
}

/* key=v1,v2&key2=... from the sorted parameters; equal keys are adjacent. */
static enum ac_err
emit_query(const struct query *q, struct ac_buf *out)
{
	const unsigned char *base = (const unsigned char *)q->bytes.data;
	const struct param *v = (const struct param *)(const void *)q->params.data;
	size_t i, n = q->params.len / sizeof(*v);
	enum ac_err err;
	int same;

	for (i = 0; i < n; i++) {
		same = i > 0 && v[i].key_len == v[i - 1].key_len &&
		    memcmp(base + v[i].key_off, base + v[i - 1].key_off, v[i].key_len) == 0;
		if (same) {
			err = ac_buf_addc(out, ',');
		} else {
			if (i > 0 && (err = ac_buf_addc(out, '&')) != AC_OK)
				return err;
			if ((err = add_encoded(out, base + v[i].key_off, v[i].key_len)) != AC_OK)
				return err;
			err = ac_buf_addc(out, '=');
		}
		if (err != AC_OK)
			return err;
		if ((err = add_encoded(out, base + v[i].val_off, v[i].val_len)) != AC_OK)
			return err;
	}
	return AC_OK;
}

static enum ac_err
add_query(struct ac_buf *out, const char *s, size_t n)
{
	struct query q;
	enum ac_err err;
	size_t room = out->cap - out->len, pcap;

	/* scratch is bounded by what out can still take (see the top of the file) */
	if (room > SIZE_MAX / 2)
		room = SIZE_MAX / 2;
	pcap = room > SIZE_MAX / 2 / sizeof(struct param) ?
	    SIZE_MAX / 2 : room * sizeof(struct param);
	ac_buf_init(&q.bytes, room);
	ac_buf_init(&q.params, pcap);
	ac_buf_init(&q.tmp, room);
	/* an allocated q.bytes even when every key and value is empty: offsets need a base */
	if ((err = ac_buf_add(&q.bytes, "", 0)) != AC_OK ||
	    (err = parse_query(&q, s, n)) != AC_OK)
		goto out;
	if (q.params.len > 0) {
		sort_params((const unsigned char *)q.bytes.data,
		    (struct param *)(void *)q.params.data, q.params.len / sizeof(struct param));
		err = emit_query(&q, out);
	}
out:
	ac_buf_release(&q.tmp);
	ac_buf_release(&q.params);
	ac_buf_release(&q.bytes);
	return err;
}

/*
 * PATH of doc/protocol.md §3, from the raw path: never decoded or re-encoded
 * (Java keeps ' " { | \ as they are; npm would escape them), context path
 * removed as a case-sensitive plain prefix, empty → "/", '&' → "%26" (so
 * "/a&b?x" and "/a?b&x" differ), a leading '/' added, one trailing '/'
 * removed unless the path is "/". "//", dot segments and %2F stay.
 */
static enum ac_err
add_path(struct ac_buf *out, const char *p, size_t n, const char *ctx, size_t ctx_len)
{
	const char *amp;
	enum ac_err err;
	int slash;

	if (ctx_len > 0 && n >= ctx_len && memcmp(p, ctx, ctx_len) == 0) {
		p += ctx_len;
		n -= ctx_len;
	}
	if (n == 0)
		return ac_buf_addc(out, '/');
	slash = p[0] != '/';
	if (slash + n > 1 && p[n - 1] == '/')
		n--;
	if (slash && (err = ac_buf_addc(out, '/')) != AC_OK)
		return err;
	while ((amp = find_byte(p, n, '&')) != NULL) {
		if ((err = ac_buf_add(out, p, (size_t)(amp - p))) != AC_OK ||
		    (err = ac_buf_add(out, "%26", 3)) != AC_OK)
			return err;
		n -= (size_t)(amp - p) + 1;
		p = amp + 1;
	}
	return ac_buf_add(out, p, n);
}

/* HTTP methods are ASCII tokens (RFC 9110 §9.1): ASCII upper-casing is Java's and Node's toUpperCase. */
static enum ac_err
add_method(struct ac_buf *out, const char *m, size_t n)
{
	enum ac_err err;
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		c = m[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if ((err = ac_buf_addc(out, c)) != AC_OK)
			return err;
	}
	return AC_OK;
}

/*
 * The common part: "path?query#fragment" (already without scheme and
 * authority) to METHOD&PATH&QUERY. A fragment is cut first, as Node's
 * url.parse does ("/a#b?c" has no query); servers never pass one inbound,
 * but a stray '#' must not become part of the hashed query. On error out is
 * put back as it was, so that it is written only on success.
 */
static enum ac_err
canonicalize(const char *method, size_t method_len, const char *rest, size_t rest_len,
    const char *ctx, size_t ctx_len, struct ac_buf *out)
{
	const char *hash, *qm;
	size_t start = out->len, path_len;
	enum ac_err err;

	if (method == NULL || method_len == 0 || (rest == NULL && rest_len > 0) ||
	    (ctx == NULL && ctx_len > 0) || out == NULL)
		return AC_ERR_INVALID;
	if ((hash = find_byte(rest, rest_len, '#')) != NULL)
		rest_len = (size_t)(hash - rest);
	qm = find_byte(rest, rest_len, '?');
	path_len = qm ? (size_t)(qm - rest) : rest_len;

	if ((err = add_method(out, method, method_len)) != AC_OK ||
	    (err = ac_buf_addc(out, '&')) != AC_OK ||
	    (err = add_path(out, rest, path_len, ctx, ctx_len)) != AC_OK ||
	    (err = ac_buf_addc(out, '&')) != AC_OK)
		goto fail;
	if (qm && (err = add_query(out, qm + 1, rest_len - path_len - 1)) != AC_OK)
		goto fail;
	return AC_OK;
fail:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return err;
}

/*
 * Length of "scheme://authority" at the start of s (RFC 3986 §3.1, §3.2),
 * or 0 when s is not absolute. The authority ends at the first '/', '?' or
 * '#', as in Node's url.parse and java.net.URI.
 */
static size_t
origin_len(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '-' || c == '.'))
			break;
	}
	if (n - i < 3 || memcmp(s + i, "://", 3) != 0)
		return 0;
	for (i += 3; i < n && s[i] != '/' && s[i] != '?' && s[i] != '#'; i++)
		;
	return i;
}

enum ac_err
ac_canon_inbound(const char *method, size_t method_len,
    const char *uri, size_t uri_len, const char *context_path, size_t context_len,
    struct ac_buf *out)
{
	if (context_path == NULL)
		context_len = 0;
	return canonicalize(method, method_len, uri, uri_len, context_path, context_len, out);
}

enum ac_err
ac_canon_outbound(const char *method, const char *url, const char *base_url,
    struct ac_buf *out)
{
	size_t url_len, o, ctx_len = 0;
	const char *ctx = NULL, *end;

	if (method == NULL || url == NULL)
		return AC_ERR_INVALID;
	if (base_url != NULL) {
		/* the context path: base_url's path, query and fragment ignored (jsuri's path()) */
		size_t base_len = strlen(base_url);

		o = origin_len(base_url, base_len);
		ctx = base_url + o;
		ctx_len = base_len - o;
		if ((end = find_byte(ctx, ctx_len, '?')) != NULL)
			ctx_len = (size_t)(end - ctx);
		if ((end = find_byte(ctx, ctx_len, '#')) != NULL)
			ctx_len = (size_t)(end - ctx);
	}
	url_len = strlen(url);
	o = origin_len(url, url_len);
	return canonicalize(method, strlen(method), url + o, url_len - o, ctx, ctx_len, out);
}

void
ac_canon_qsh(const char *canonical, size_t len, char hex[AC_QSH_HEX_LEN])
{
	if (ac_sha256_hex(canonical ? canonical : "", canonical ? len : 0, hex) != 0) {
		/* never a valid qsh (nor an empty one): a token cannot match it */
		memset(hex, 'x', AC_QSH_HEX_LEN - 1);
		hex[AC_QSH_HEX_LEN - 1] = '\0';
	}
}
