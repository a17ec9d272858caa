/* buf.c: growable, capped byte buffer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/buf.h"

void
ac_buf_init(struct ac_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->secret = 0;
}

void
ac_buf_init_secret(struct ac_buf *b, size_t cap)
{
	ac_buf_init(b, cap);
	b->secret = 1;
}

void
ac_buf_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	/* a plain memset before free is a dead store gcc -O2 removes; this is not */
	OPENSSL_cleanse(p, n);
	free(p);
}

void
ac_buf_free_secret_str(char *s)
{
	if (s)
		ac_buf_free_secret(s, strlen(s));
}

void
ac_buf_release(struct ac_buf *b)
{
	if (b->secret)
		ac_buf_free_secret(b->data, b->alloc);
	else
		free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void
ac_buf_reset(struct ac_buf *b)
{
	if (b->secret && b->data)
		OPENSSL_cleanse(b->data, b->alloc);
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static enum ac_err
reserve(struct ac_buf *b, size_t n)
{
	size_t need, a;
	char *p;

	if (n > b->cap || b->len > b->cap - n)
		return AC_ERR_TOO_LARGE;
	need = b->len + n + 1;
	if (need <= b->alloc)
		return AC_OK;
	a = b->alloc ? b->alloc : 64;
	while (a < need)
		a = a > (size_t)-1 / 2 ? need : a * 2;
	if (b->cap < (size_t)-1 && a > b->cap + 1)
		a = b->cap + 1;
	if (b->secret) {
		/* realloc may move the bytes and free the old block as it was: copy, cleanse, free */
		if ((p = malloc(a)) == NULL)
			return AC_ERR_NOMEM;
		if (b->data) {
			memcpy(p, b->data, b->alloc);
			ac_buf_free_secret(b->data, b->alloc);
		}
	} else if ((p = realloc(b->data, a)) == NULL) {
		return AC_ERR_NOMEM;
	}
	b->data = p;
	b->alloc = a;
	return AC_OK;
}

enum ac_err
ac_buf_reserve(struct ac_buf *b, size_t n)
{
	return reserve(b, n);
}

enum ac_err
ac_buf_add(struct ac_buf *b, const void *p, size_t n)
{
	enum ac_err err;

	if ((err = reserve(b, n)) != AC_OK)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return AC_OK;
}

enum ac_err
ac_buf_addc(struct ac_buf *b, char c)
{
	return ac_buf_add(b, &c, 1);
}

enum ac_err
ac_buf_adds(struct ac_buf *b, const char *s)
{
	return ac_buf_add(b, s, strlen(s));
}

enum ac_err
ac_buf_vprintf(struct ac_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	enum ac_err err;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return AC_ERR_INVALID;
	if ((err = reserve(b, (size_t)n)) != AC_OK)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return AC_OK;
}

enum ac_err
ac_buf_printf(struct ac_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum ac_err err;

	va_start(ap, fmt);
	err = ac_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

char *
ac_buf_asprintf(const char *fmt, ...)
{
	struct ac_buf b;
	va_list ap;
	char *out = NULL;

	ac_buf_init(&b, 64 * 1024);
	va_start(ap, fmt);
	if (ac_buf_vprintf(&b, fmt, ap) == AC_OK)
		ac_buf_detach(&b, &out, NULL);
	va_end(ap);
	ac_buf_release(&b);
	return out;
}

const char *
ac_buf_str(const struct ac_buf *b)
{
	return b->data ? b->data : "";
}

enum ac_err
ac_buf_detach(struct ac_buf *b, char **out, size_t *len)
{
	enum ac_err err;

	if (b->data == NULL && (err = reserve(b, 0)) != AC_OK)
		return err;
	if (b->data == NULL)
		return AC_ERR_NOMEM;
	b->data[b->len] = '\0';
	*out = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return AC_OK;
}
