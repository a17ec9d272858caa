/* buf.h: the one growable byte buffer, with a cap fixed at creation (after curl's dynbuf). */
#ifndef AC_BUF_H
#define AC_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/err.h"

/*
 * A buffer owns its bytes, keeps them NUL-terminated (data[len] == 0 once
 * anything was added) and never grows past cap bytes of content. Caller-owned
 * struct: ac_buf_init() then ac_buf_release().
 */
struct ac_buf {
	char *data;   /* NULL until the first add */
	size_t len;   /* bytes of content */
	size_t alloc; /* bytes allocated (content + NUL) */
	size_t cap;   /* most content bytes allowed */
	int secret;   /* ac_buf_init_secret: bytes cleansed wherever they are let go */
};

void ac_buf_init(struct ac_buf *b, size_t cap);
/*
 * As ac_buf_init, for a buffer that will hold a secret, a token or a signed
 * assertion: its bytes are cleansed with OPENSSL_cleanse (which the compiler
 * cannot remove, unlike a memset before free) on release, on reset, and when
 * growth moves them (no realloc leaves a copy behind).
 */
void ac_buf_init_secret(struct ac_buf *b, size_t cap);
/* Frees the bytes (cleansed first for a secret buffer); the struct can be reused after ac_buf_init(). */
void ac_buf_release(struct ac_buf *b);
/* Empties the content, keeps the allocation (cleansed for a secret buffer). */
void ac_buf_reset(struct ac_buf *b);

/* Cleanses n bytes at p, then frees p; NULL is a no-op. For anything that held a secret. */
void ac_buf_free_secret(void *p, size_t n);
/* ac_buf_free_secret(s, strlen(s)) for a NUL-terminated secret; NULL is a no-op. */
void ac_buf_free_secret_str(char *s);

/* Room for n more bytes and the NUL, allocated now; AC_ERR_TOO_LARGE past the cap. */
enum ac_err ac_buf_reserve(struct ac_buf *b, size_t n);
/* AC_ERR_TOO_LARGE when the content would pass the cap (buffer unchanged). */
enum ac_err ac_buf_add(struct ac_buf *b, const void *p, size_t n);
enum ac_err ac_buf_addc(struct ac_buf *b, char c);
enum ac_err ac_buf_adds(struct ac_buf *b, const char *s);
enum ac_err ac_buf_printf(struct ac_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
enum ac_err ac_buf_vprintf(struct ac_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* A new formatted string (free() it), at most 64 KiB; NULL when out of memory. */
char *ac_buf_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Borrowed NUL-terminated view; "" when empty. Valid until the next change. */
const char *ac_buf_str(const struct ac_buf *b);

/*
 * Hands the bytes to the caller (free() them, or ac_buf_free_secret_str for a
 * secret buffer; never NULL on AC_OK) and empties b.
 */
enum ac_err ac_buf_detach(struct ac_buf *b, char **out, size_t *len);

#endif
