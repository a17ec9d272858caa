/* fcgi.c: FastCGI accept loop with a plain-CGI fallback, and program start-up. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "conf.h"
#include "fcgi.h"
#include "log.h"
#include "store.h"

static volatile sig_atomic_t stopping;

/* ---- plain CGI: the environment, stdin and stdout */

static const char *
cgi_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static long
cgi_read(void *ctx, char *buf, size_t n)
{
	size_t r;

	(void)ctx;
	r = fread(buf, 1, n, stdin);
	if (r == 0 && ferror(stdin))
		return -1;
	return (long)r;
}

static int
cgi_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	if (n && fwrite(buf, 1, n, stdout) != n)
		return -1;
	return 0;
}

/* ---- FastCGI */

static const char *
fcgx_param(void *ctx, const char *name)
{
	FCGX_Request *r = ctx;

	return FCGX_GetParam(name, r->envp);
}

static long
fcgx_read(void *ctx, char *buf, size_t n)
{
	FCGX_Request *r = ctx;
	int want = n > INT_MAX ? INT_MAX : (int)n;
	int got = FCGX_GetStr(buf, want, r->in);

	if (got < 0)
		return -1;
	if (got == 0 && FCGX_GetError(r->in))
		return -1;
	return got;
}

static int
fcgx_write(void *ctx, const char *buf, size_t n)
{
	FCGX_Request *r = ctx;

	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;

		if (FCGX_PutStr(buf, chunk, r->out) != chunk)
			return -1;
		buf += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

int
ac_fcgi_is_cgi(void)
{
	return FCGX_IsCGI();
}

int
ac_fcgi_run(struct ac_app *app, const struct ac_route *routes, size_t nroutes)
{
	FCGX_Request r;
	struct ac_io io;
	struct sigaction sa;

	if (FCGX_IsCGI()) {
		io.param = cgi_param;
		io.read = cgi_read;
		io.write = cgi_write;
		io.ctx = NULL;
		ac_request_serve(app, routes, nroutes, &io);
		if (fflush(stdout) != 0)
			return 1;
		if (app->after_response && app->store_err == AC_OK) {
			/* the server sends the response once our stdout closes */
			fclose(stdout);
			app->after_response(app);
		}
		return 0;
	}
	if (FCGX_Init() != 0) {
		ac_log_error("FCGX_Init failed");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a signal must interrupt a blocking accept */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_InitRequest(&r, 0, 0) != 0) {
		ac_log_error("FCGX_InitRequest failed");
		return 1;
	}
	io.param = fcgx_param;
	io.read = fcgx_read;
	io.write = fcgx_write;
	io.ctx = &r;
	while (!stopping && FCGX_Accept_r(&r) == 0) {
		ac_request_serve(app, routes, nroutes, &io);
		/*
		 * libfcgi closes a connection by shutting down its side, then
		 * polling and reading until the server closes too: so that no
		 * unread input turns the close into a reset that could cost the
		 * server the response. Once the input has ended (the request's
		 * empty FCGI_STDIN record; the server sends nothing after it)
		 * there is nothing to drain, and the plain close that
		 * FCGX_Detach selects frees this worker a round trip sooner.
		 */
		if (FCGX_GetChar(r.in) == EOF && FCGX_GetError(r.in) == 0)
			FCGX_Detach(&r);
		FCGX_Finish_r(&r);
		/* a connection the server keeps open stays an ordinary one */
		FCGX_Attach(&r);
		if (app->after_response && app->store_err == AC_OK)
			app->after_response(app);
	}
	FCGX_Free(&r, 1);
	return 0;
}

/* The directory of the running program, for connect-fcgi.conf beside it. */
static char *
program_dir(const char *argv0)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n > 0) {
		buf[n] = '\0';
	} else if (argv0 && strchr(argv0, '/') && strlen(argv0) < sizeof(buf)) {
		memcpy(buf, argv0, strlen(argv0) + 1);
	} else {
		return NULL;
	}
	if ((slash = strrchr(buf, '/')) == NULL)
		return NULL;
	*slash = '\0';
	return strdup(buf[0] ? buf : "/");
}

int
ac_app_init(struct ac_app *app, const char *program, const char *argv0, unsigned flags)
{
	char *dir, *why = NULL;
	enum ac_err err;

	memset(app, 0, sizeof(*app));
	app->program = program;
	ac_log_init(program);
	if ((app->conf = calloc(1, sizeof(*app->conf))) == NULL) {
		ac_log_error("out of memory");
		return 1;
	}
	dir = program_dir(argv0);
	err = ac_conf_load(app->conf, dir, &why);
	free(dir);
	if (err != AC_OK) {
		ac_log_error("configuration: %s", why ? why : ac_strerror(err));
		free(why);
		free(app->conf);
		app->conf = NULL;
		return 1;
	}
	if (flags & AC_APP_STORE) {
		err = ac_store_open(app->conf->data_dir, (size_t)app->conf->map_size_mb << 20,
		    ac_conf_store_flags(app->conf), &app->store);
		if (err == AC_ERR_STORE_DAMAGED) {
			/* served, each request answered 503 store_damaged: a program that exits is only a 502 */
			ac_log_error("cannot open the store in AC_DATA_DIR=%s: %s", app->conf->data_dir,
			    ac_strerror(err));
			app->store_err = err;
		} else if (err != AC_OK) {
			ac_log_error("cannot open the store in AC_DATA_DIR=%s: %s", app->conf->data_dir,
			    ac_strerror(err));
			ac_app_release(app);
			return 1;
		}
	}
	return 0;
}

void
ac_app_release(struct ac_app *app)
{
	ac_store_close(app->store);
	app->store = NULL;
	if (app->conf) {
		ac_conf_release(app->conf);
		free(app->conf);
		app->conf = NULL;
	}
}
