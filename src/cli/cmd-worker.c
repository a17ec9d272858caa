/* cmd-worker.c: `acctl worker`, the process that drains the inbox. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acctl.h"
#include "outbound/client.h"
#include "base/clock.h"
#include "base/conf.h"
#include "events/handler.h"
#include "store/inbox.h"
#include "base/log.h"
#include "base/metrics.h"
#include "store/store.h"
#include "events/worker.h"
#include "web/fcgi.h"

/*
 * Idle: at most this long between claims. LMDB's ac_inbox_wait sleeps 50 ms
 * (a new event starts within that); PostgreSQL's is woken by the intake's
 * NOTIFY, so an idle worker asks the database once a second (for retries
 * that came due) and a new event still starts at once.
 */
#define IDLE_MS 1000

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctl worker [--once] [--list]\n"
	    "  drains the inbox of AC_DATA_DIR: runs the handler of each event, in order per\n"
	    "  tenant, retrying failures with backoff for AC_RETRY_FOR seconds, then `dead`.\n"
	    "  Several workers may run at once. SIGTERM or SIGINT: stop after the current event.\n"
	    "  --once  run what is due, then exit (status 1 when the store failed)\n"
	    "  --list  print the handler table\n");
}

int
acctl_cmd_worker(int argc, char **argv)
{
	struct ac_conf conf;
	struct ac_store *st = NULL;
	struct ac_client *client = NULL;
	struct sigaction sa;
	char *why = NULL;
	int once = 0, list = 0, a, rc = 0;
	uint64_t last_prune = 0, last_said = 0;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--once"))
			once = 1;
		else if (!strcmp(argv[a], "--list"))
			list = 1;
		else if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		size_t n, i;
		const struct ac_handler *h = ac_handler_table(&n);

		for (i = 0; i < n; i++)
			printf("%-24s %s\n", h[i].pattern, h[i].help ? h[i].help : "");
		return 0;
	}
	ac_log_init("worker");
	if (ac_conf_load_tool(&conf, ".", &why) != AC_OK) {
		ac_log_error("configuration: %s", why ? why : "error");
		free(why);
		return 2;
	}
	if (acctl_as_data_owner(&conf) != 0 ||
	    ac_store_open_conf(&conf, ac_store_conf_flags(&conf), &st) != AC_OK ||
	    ac_client_new(&conf, st, &client) != AC_OK) {
		ac_log_error("cannot open the store in %s", acctl_store_where(&conf));
		rc = 1;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ac_end_with_starter() != 0)
		goto out;
	if (!once)
		ac_log_info("draining %s (pid %ld)", conf.data_dir, (long)getpid());
	/* the host's counters, and the heartbeat that /healthcheck and acctl status read (AC_WORKER=daemon) */
	ac_metrics_open(conf.data_dir, 0);
	while (!stopping) {
		int ran = 0;
		enum ac_err err;

		/* a store in the mapped metrics file: no system call, and no store write, per poll */
		ac_metrics_heartbeat();
		err = ac_worker_step(&conf, st, client, &ran);

		if (err != AC_OK) {
			/* a database away is said by the store once a minute; other errors each time */
			if (err != AC_ERR_STORE || ac_clock_usec() - last_said > 60000000u) {
				ac_log_error("store: %s", ac_strerror(err));
				last_said = ac_clock_usec();
			}
			ran = 0;
			/* --once could not do what is due: say so by the exit status (cron, scripts) */
			if (once)
				rc = 1;
			if (ac_store_stale(st)) {
				/* only a new process uses the store's files there now: scripts/run or systemd starts it */
				ac_log_error("exiting: the store's files were replaced; start the worker again");
				rc = 1;
				break;
			}
		}
		if (ac_clock_usec() - last_prune > 60000000u) {
			/* delivery ids are kept a day for dedupe, then forgotten */
			ac_inbox_prune_deliveries(st, ac_clock_now() - AC_INBOX_DEDUPE_SECONDS, NULL);
			last_prune = ac_clock_usec();
		}
		if (!ran) {
			if (once)
				break;
			ac_inbox_wait(st, IDLE_MS);
		}
	}
out:
	ac_metrics_close();
	ac_client_free(client);
	ac_store_close(st);
	ac_conf_release(&conf);
	return rc;
}
