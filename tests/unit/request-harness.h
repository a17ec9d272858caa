/* request-harness.h: a request as a unit test makes it (CGI variables, a body, what came back) and the store it runs on. */
#ifndef AC_REQUEST_HARNESS_H
#define AC_REQUEST_HARNESS_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "store/journal.h"
#include "store/store.h"
#include "web/request.h"

/* The FastCGI side of one request: ac_request_serve reads and writes it through FAKE_IO(&f). */
struct fake {
	const char **params;   /* name, value, ..., NULL */
	const char *in;
	size_t inlen, inpos;
	size_t max_read_total; /* short-read simulation: stop after this many bytes (0: no limit) */
	struct ac_buf out;
};

static inline const char *
f_param(void *ctx, const char *name)
{
	struct fake *f = ctx;
	const char **p;

	for (p = f->params; *p; p += 2)
		if (!strcmp(p[0], name))
			return p[1];
	return NULL;
}

static inline long
f_read(void *ctx, char *buf, size_t n)
{
	struct fake *f = ctx;
	size_t left = f->inlen - f->inpos;

	if (f->max_read_total && f->inpos >= f->max_read_total)
		return 0;
	if (n > left)
		n = left;
	memcpy(buf, f->in + f->inpos, n);
	f->inpos += n;
	return (long)n;
}

static inline int
f_write(void *ctx, const char *buf, size_t n)
{
	struct fake *f = ctx;

	return ac_buf_add(&f->out, buf, n) == AC_OK ? 0 : -1;
}

/* The io of ac_request_serve over the fake f (a struct fake *). */
#define FAKE_IO(f) { f_param, f_read, f_write, (f) }

/* The status of a response (its "Status: " line), or -1 when it has none. */
static inline int
rh_status(const char *s)
{
	int st = 0;

	if (strncmp(s, "Status: ", 8))
		return -1;
	for (s += 8; *s >= '0' && *s <= '9'; s++)
		st = st * 10 + (*s - '0');
	return st;
}

/* The "error" code of a JSON error response into dst ("" when there is none). */
static inline void
rh_error_code(const char *out, char *dst, size_t n)
{
	const char *s, *e;

	dst[0] = '\0';
	if ((s = strstr(out, "\"error\":\"")) != NULL && (e = strchr(s + 9, '"')) != NULL)
		snprintf(dst, n, "%.*s", (int)(e - s - 9), s + 9);
}

/* A TCP socket listening on a free port of 127.0.0.1 (*port), for a fake server forked by the test. */
static inline int
rh_listen_loopback(int *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(lfd, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 64), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return lfd;
}

/*
 * The app of a test: the settings from the environment (AC_DATA_DIR=dir and
 * the rest set by the caller), the store in dir opened without sync, and
 * authenticate as the program would set it.
 */
static inline void
rh_app_open(struct ac_app *app, struct ac_conf *conf, const char *dir,
    enum ac_err (*authenticate)(struct ac_request *req))
{
	char *why = NULL;

	ck_assert_int_eq(ac_conf_load(conf, NULL, &why), AC_OK);
	memset(app, 0, sizeof(*app));
	app->program = "test";
	app->conf = conf;
	app->authenticate = authenticate;
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_NOSYNC, &app->store), AC_OK);
}

/* The files a store leaves in dir (LMDB's, the sync lock, the journal), and dir itself, removed. */
static inline void
rh_store_remove(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "sync.lock", AC_JOURNAL_FILE };
	char p[256];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

#endif
