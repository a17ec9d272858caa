/* fcgi.c: FastCGI accept loop with a plain-CGI fallback, and program start-up. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "base/conf.h"
#include "web/fcgi.h"
#include "base/log.h"
#include "base/metrics.h"
#include "store/store.h"

static volatile sig_atomic_t stopping;
/* this process serves under a supervisor (AC_PROCESSES), which starts another when it exits */
static int supervised;

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

/*
 * After FCGX_Accept_r failed with got (-errno, or -9999 when libfcgi knew
 * no errno): 0 to try again after a pause (a transient error; each one in a
 * row waits twice as long as the last, 10 ms to 1 s, so that no process
 * spins on an accept that keeps failing), -1 to give up (one log line).
 */
static int
accept_failed(int got, long *pause_ms)
{
	int err = got < 0 && got > -9999 ? -got : 0;
	long was = *pause_ms;
	struct timespec ts;

	switch (err) {
	case EINTR:
	case EAGAIN:
	case ECONNABORTED:
	case EPROTO:
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		*pause_ms = *pause_ms == 0 ? 10 : *pause_ms >= 500 ? 1000 : *pause_ms * 2;
		if (was < 1000 && *pause_ms >= 1000)
			ac_log_warn("accept on the listening socket: %s; trying again in 1 s", strerror(err));
		ts.tv_sec = *pause_ms / 1000;
		ts.tv_nsec = (*pause_ms % 1000) * 1000000;
		nanosleep(&ts, NULL);
		return 0;
	default:
		ac_log_error("accept on the listening socket (fd 0): %s; exiting",
		    err ? strerror(err) : "failed without an error number");
		return -1;
	}
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
	long pause_ms = 0;
	int rc = 0;

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
	while (!stopping) {
		int got = FCGX_Accept_r(&r);

		if (got != 0) {
			if (stopping)
				break;
			if (accept_failed(got, &pause_ms) == 0)
				continue;
			/* the socket is gone (closed, shut down, never one): no request can come */
			rc = supervised ? AC_FCGI_EXIT_NO_SOCKET : 1;
			break;
		}
		pause_ms = 0;
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
		if (supervised && ac_store_stale(app->store)) {
			/* the store's files were replaced: only a new process opens them (its supervisor starts one) */
			ac_log_warn("exiting: the store's files were replaced; a process started again uses them");
			break;
		}
	}
	FCGX_Free(&r, 1);
	return rc;
}

/*
 * ---- the supervisor (AC_PROCESSES=N > 0)
 *
 * The listening socket on fd 0 must outlive any one serving process: while
 * it is open, a connection that arrives when no process accepts waits in
 * the backlog instead of being refused, and nginx never sees the socket as
 * dead. So the process started on the socket keeps it, does nothing else
 * (no store, no request: little that can crash it), forks N processes that
 * serve it, and forks a new one as soon as one dies, whatever killed it.
 * A process that dies within a second of its start again and again (a
 * store it cannot open) is restarted after a growing pause, at most 1 s.
 */

struct sup_slot {
	pid_t pid;
	struct timespec started;
	struct timespec due;   /* when to start this slot again (pid 0) */
	unsigned quick;        /* deaths in a row within a second of the start */
	int status;            /* how the last process ended, for the log line */
	pid_t was;             /* ... and its pid (0: the first start) */
};

static volatile sig_atomic_t sup_stopping;

static void
sup_on_stop(int sig)
{
	(void)sig;
	sup_stopping = 1;
}

static void
sup_on_child(int sig)
{
	(void)sig;
}

static long
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void
ms_after(struct timespec *t, const struct timespec *from, long ms)
{
	t->tv_sec = from->tv_sec + ms / 1000;
	t->tv_nsec = from->tv_nsec + (ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Whether fd 0 is a listening socket: run by spawn-fcgi or a systemd socket unit. */
static int
listening_on_stdin(void)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* How a process ended, for one log line. */
static void
describe_end(int status, char *out, size_t outsz)
{
	if (WIFSIGNALED(status))
		snprintf(out, outsz, "killed by signal %d", WTERMSIG(status));
	else if (WIFEXITED(status))
		snprintf(out, outsz, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(out, outsz, "ended (status 0x%x)", (unsigned)status);
}

int
ac_end_with_starter(void)
{
	const char *v = getenv("CONNECT_FCGI_PARENT");
	char *end;
	long want;

	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	want = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || want <= 1)
		return 0;
	/* here, after spawn-fcgi or setpriv changed the user: a change of credentials clears it */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* a starter gone before prctl: this process was handed to another parent already */
	if (getppid() != (pid_t)want) {
		ac_log_warn("the process that started this one (CONNECT_FCGI_PARENT=%ld) is gone; exiting", want);
		return -1;
	}
	return 0;
}

/*
 * Returns in a serving process (the caller goes on to serve), never in the
 * supervisor: it exits once SIGTERM or SIGINT has been passed on to the
 * serving processes and they have finished their requests.
 */
static void
supervise(long n)
{
	struct sup_slot *slot;
	struct sigaction sa;
	sigset_t block, orig;
	pid_t parent = getpid(), pid;
	long i;
	pid_t socket_gone = 0;	/* a serving process that found the socket gone */
	int status;

	if (ac_end_with_starter() != 0)
		exit(0);
	if ((slot = calloc((size_t)n, sizeof(*slot))) == NULL) {
		ac_log_error("out of memory");
		exit(1);
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sup_on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = sup_on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* the signals arrive only inside pselect, so none is missed between checks */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	for (;;) {
		struct timespec now, wait, *timeout = NULL;
		long soonest = -1;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n && slot[i].pid != pid; i++)
				;
			if (i == n)
				continue;
			clock_gettime(CLOCK_MONOTONIC, &now);
			slot[i].quick = ms_between(&slot[i].started, &now) < 1000 ? slot[i].quick + 1 : 0;
			/* 0, 100, 200, 400, 800, then 1000 ms after 1, 2, 3 ... quick deaths in a row */
			ms_after(&slot[i].due, &now, slot[i].quick < 2 ? 0 :
			    slot[i].quick >= 6 ? 1000 : 100L << (slot[i].quick - 2));
			slot[i].status = status;
			slot[i].was = pid;
			slot[i].pid = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == AC_FCGI_EXIT_NO_SOCKET)
				socket_gone = pid;
		}
		if (socket_gone) {
			/* a process started again would fail the same way: whoever started this one gives a new socket */
			ac_log_error("the listening socket no longer accepts connections (process %ld exited with "
			    "status %d): stopping", (long)socket_gone, AC_FCGI_EXIT_NO_SOCKET);
			break;
		}
		if (sup_stopping)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (i = 0; i < n; i++) {
			char how[64];
			long ms;

			if (slot[i].pid != 0)
				continue;
			if ((ms = ms_between(&now, &slot[i].due)) > 0) {
				if (soonest < 0 || ms < soonest)
					soonest = ms;
				continue;
			}
			if ((pid = fork()) < 0) {
				ac_log_error("fork: %s; trying again in 1 s", strerror(errno));
				ms_after(&slot[i].due, &now, 1000);
				if (soonest < 0 || soonest > 1000)
					soonest = 1000;
				continue;
			}
			if (pid == 0) {
				/* a serving process: ends with the supervisor, serves like one started alone */
				prctl(PR_SET_PDEATHSIG, SIGTERM);
				if (getppid() != parent)
					_exit(0);
				signal(SIGTERM, SIG_DFL);
				signal(SIGINT, SIG_DFL);
				signal(SIGCHLD, SIG_DFL);
				sigprocmask(SIG_SETMASK, &orig, NULL);
				free(slot);
				supervised = 1;
				return;
			}
			slot[i].pid = pid;
			slot[i].started = now;
			if (slot[i].was) {
				describe_end(slot[i].status, how, sizeof(how));
				ac_log_warn("process %ld %s; started process %ld in its place",
				    (long)slot[i].was, how, (long)pid);
			}
		}
		if (soonest >= 0) {
			wait.tv_sec = soonest / 1000;
			wait.tv_nsec = (soonest % 1000) * 1000000;
			timeout = &wait;
		}
		pselect(0, NULL, NULL, NULL, timeout, &orig);
	}
	/* stopping: each serving process finishes its request, then exits */
	for (i = 0; i < n; i++)
		if (slot[i].pid > 0)
			kill(slot[i].pid, SIGTERM);
	while (waitpid(-1, &status, 0) > 0 || errno == EINTR)
		;
	free(slot);
	exit(socket_gone ? 1 : 0);
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
	/* before the store: an LMDB environment must not cross a fork */
	if (app->conf->processes > 0 && listening_on_stdin())
		supervise(app->conf->processes);
	if (flags & AC_APP_STORE &&
	    (err = ac_store_open_conf(app->conf, ac_store_conf_flags(app->conf), &app->store)) != AC_OK) {
		char where[600];

		ac_conf_store_where(app->conf, where, sizeof(where));
		ac_log_error("cannot open the store in %s: %s", where, ac_strerror(err));
		/* damaged: served, each request answered 503 store_damaged (a program that exits is only a 502) */
		if (err != AC_ERR_STORE_DAMAGED) {
			ac_app_release(app);
			return 1;
		}
		app->store_err = err;
	}
	/* the host's counters, in AC_DATA_DIR (local to the host whatever the store); without it nothing is counted */
	ac_metrics_open(app->conf->data_dir, 0);
	return 0;
}

void
ac_app_release(struct ac_app *app)
{
	ac_metrics_close();
	ac_store_close(app->store);
	app->store = NULL;
	if (app->conf) {
		ac_conf_release(app->conf);
		free(app->conf);
		app->conf = NULL;
	}
}
