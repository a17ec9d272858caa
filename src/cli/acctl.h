/* acctl.h: the subcommands of acctl, one file each (src/cli/cmd-<name>.c). */
#ifndef AC_ACCTL_H
#define AC_ACCTL_H

#include <stddef.h>
#include <time.h>

#include "base/conf.h"

/* t as "2026-11-22T19:28:00Z" (UTC) in buf, or "-" for 0; returns what to print. */
const char *acctl_time(time_t t, char *buf, size_t n);

/*
 * Before a subcommand opens an LMDB store in AC_DATA_DIR: a root acctl acts as the
 * directory's owner from then on (ac_datadir_become_owner(), acctl(1)), so
 * that nothing planted there can make it touch another file. 0, or 1 after
 * saying why it cannot (the subcommand then stops).
 */
int acctl_as_data_owner(const struct ac_conf *conf);

/* The settings, as for operator tools (AC_BASE_URL may be unset): 0, or 2 after "acctl: configuration: ..." on stderr. */
int acctl_load_conf(struct ac_conf *conf);

/* "AC_DATA_DIR=..." or "AC_DATABASE_URL=..." (password masked): where the store is, for messages. Static. */
const char *acctl_store_where(const struct ac_conf *conf);

/*
 * All of path ("-": standard input), at most max bytes, as a NUL-terminated
 * malloc'd string (*len bytes before the NUL); NULL after saying why on
 * stderr as "acctl CMD: WHAT: ...". What was read is wiped on failure: a
 * secret or a token may be in it.
 */
char *acctl_read_input(const char *cmd, const char *path, size_t max, size_t *len, const char *what);

/*
 * A subcommand gets argv with argv[0] its own name ("jwt", "config", ...)
 * and returns the process exit status: 0 success, 1 a negative answer (a token
 * that does not verify, a tenant not found), 2 unusable input or usage.
 * It prints its own usage on --help and on bad usage (to stderr, exit 2).
 */
int acctl_cmd_config(int argc, char **argv);
int acctl_cmd_jwt(int argc, char **argv);
int acctl_cmd_tenant(int argc, char **argv);
int acctl_cmd_api(int argc, char **argv);
int acctl_cmd_worker(int argc, char **argv);
int acctl_cmd_inbox(int argc, char **argv);
int acctl_cmd_forge(int argc, char **argv);
int acctl_cmd_status(int argc, char **argv);
int acctl_cmd_store(int argc, char **argv);
/* `acctl forge manifest` (cmd-forge-manifest.c), argv[0] "manifest". */
int acctl_forge_manifest(int argc, char **argv);

#endif
