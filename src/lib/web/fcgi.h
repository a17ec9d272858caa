/* fcgi.h: the accept loop (FastCGI, or one CGI request) and the start-up every program shares. */
#ifndef AC_FCGI_H
#define AC_FCGI_H

#include <stddef.h>

#include "web/request.h"

enum ac_app_flags {
	AC_APP_STORE = 1 << 0, /* the program opens the LMDB store */
};

/*
 * Start-up: names the log, loads the configuration (the file beside the
 * program found through argv0 or /proc/self/exe) and, with AC_APP_STORE,
 * opens the store. With AC_PROCESSES=N > 0 and a listening socket on fd 0,
 * the process becomes the socket's supervisor before the store is opened:
 * it forks N serving processes, which return from here, and replaces any
 * that dies; it never returns itself (it exits on SIGTERM or SIGINT once the
 * serving processes have finished). On any error prints a message naming the setting on
 * stderr and returns non-zero: main exits with it. ac_app_release() undoes it.
 */
int ac_app_init(struct ac_app *app, const char *program, const char *argv0, unsigned flags);
void ac_app_release(struct ac_app *app);

/*
 * Serves requests until told to stop: under a FastCGI manager (fd 0 is a
 * listening socket: spawn-fcgi, mod_fcgid) it loops over FCGX_Accept_r,
 * and otherwise serves exactly one request as plain CGI from the
 * environment, stdin and stdout (fcgiwrap, mod_cgi, tests). SIGTERM and
 * SIGINT end the loop after the current request. Returns the exit status.
 */
int ac_fcgi_run(struct ac_app *app, const struct ac_route *routes, size_t nroutes);
/* a serving process's exit status when its listening socket no longer accepts: its supervisor stops too */
#define AC_FCGI_EXIT_NO_SOCKET 74

/*
 * CONNECT_FCGI_PARENT=PID in the environment (scripts/run exports its own pid):
 * this process gets SIGTERM when its parent dies, even by SIGKILL, instead of
 * running for ever with nobody to stop it (PR_SET_PDEATHSIG). -1 when that
 * parent is gone already (the caller exits), 0 otherwise or when unset.
 */
int ac_end_with_starter(void);

/* Whether this process runs as plain CGI (no FastCGI listener on fd 0). */
int ac_fcgi_is_cgi(void);

#endif
