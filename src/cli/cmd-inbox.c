/* cmd-inbox.c: `acctl inbox`: list, show, retry and drop events, dead letters included; ingest. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acctl.h"
#include "base/clock.h"
#include "base/conf.h"
#include "base/num.h"
#include "store/inbox.h"
#include "store/journal.h"
#include "store/store.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctl inbox list [--dead]   events waiting (or dead), in order\n"
	    "       acctl inbox show SEQ         one event with its body\n"
	    "       acctl inbox retry SEQ        due now (a dead one comes back with a new retry window)\n"
	    "       acctl inbox drop SEQ         remove it\n"
	    "       acctl inbox stats            counts\n"
	    "       acctl inbox ingest [--repair]  move the intake journal into the inbox now\n"
	    "                                    (--repair: give a journal whose header was destroyed one again)\n"
	    "Every command first moves in what the intake journal holds (webhooks accepted since the\n"
	    "last worker step), unless the store is not writable for this user.\n");
}

/* Who holds the event's lease, and whether it holds: "-" when nobody does. */
static void
lease_text(const struct ac_event *ev, char *buf, size_t n)
{
	char who[128];
	time_t now = ac_clock_now();

	if (ev->lease_until == 0) {
		snprintf(buf, n, "-");
		return;
	}
	ac_lease_owner_format(&ev->owner, who, sizeof(who));
	snprintf(buf, n, "%s (%s)", who, ev->lease_until <= now ? "expired" :
	    ac_lease_owner_dead(&ev->owner) ? "gone" : "held");
}

static enum ac_err
print_row(const struct ac_event *ev, void *ctx)
{
	char a[32], b[32], l[200];

	(void)ctx;
	lease_text(ev, l, sizeof(l));
	printf("%-8llu %-24s %-40s %-3u %-20s %-20s %-38s %-16s %s\n", (unsigned long long)ev->seq, ev->event_key,
	    ev->client_key, ev->attempts, acctl_time(ev->received_at, a, sizeof(a)), acctl_time(ev->next_at, b, sizeof(b)),
	    *ev->delivery_id ? ev->delivery_id : "-", *ev->last_error ? ev->last_error : "-", l);
	return AC_OK;
}

static int
parse_seq(const char *s, uint64_t *out)
{
	int64_t v;

	if (ac_num_parse_str(s, 0, INT64_MAX, &v) != AC_OK)
		return 0;
	*out = (uint64_t)v;
	return 1;
}

int
acctl_cmd_inbox(int argc, char **argv)
{
	struct ac_conf conf;
	struct ac_store *st = NULL;
	const char *cmd = argc > 1 ? argv[1] : "";
	int write = !strcmp(cmd, "retry") || !strcmp(cmd, "drop") || !strcmp(cmd, "ingest"), rc = 0;
	uint64_t seq = 0;
	enum ac_err err, open_err = AC_ERR_STORE;
	int repair = 0;

	if (argc < 2 || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if ((!strcmp(cmd, "show") || !strcmp(cmd, "retry") || !strcmp(cmd, "drop")) &&
	    (argc != 3 || !parse_seq(argv[2], &seq))) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "list") && !(argc == 2 || (argc == 3 && !strcmp(argv[2], "--dead")))) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "ingest") && argc == 3 && !strcmp(argv[2], "--repair")) {
		repair = 1;
	} else if ((!strcmp(cmd, "stats") || !strcmp(cmd, "ingest")) && argc != 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "list") && strcmp(cmd, "show") && strcmp(cmd, "stats") && !write) {
		usage(stderr);
		return 2;
	}
	if (acctl_load_conf(&conf) != 0)
		return 2;
	/*
	 * Writable for the commands that change the store, and for the reading
	 * ones when this user may write it (they move the intake journal in
	 * first); read-only otherwise, saying what it cannot show.
	 */
	if (acctl_as_data_owner(&conf) != 0) {
		ac_conf_release(&conf);
		return 1;
	}
	if ((write || access(conf.data_dir, W_OK) == 0) &&
	    (open_err = ac_store_open_conf(&conf, 0, &st)) == AC_OK) {
		/* opened writable */
	} else if (!write && open_err != AC_ERR_STORE_DAMAGED &&
	    (open_err = ac_store_open_conf(&conf, AC_STORE_RDONLY, &st)) == AC_OK) {
		char jp[4096];
		struct stat sb;

		snprintf(jp, sizeof(jp), "%s/%s", conf.data_dir, AC_JOURNAL_FILE);
		if (stat(jp, &sb) == 0 && sb.st_size > AC_JOURNAL_HDR)
			fprintf(stderr, "acctl: the store is read-only for this user: events not yet moved in from %s "
			    "(if any) are not shown\n", jp);
	} else {
		st = NULL;
	}
	if (st == NULL) {
		fprintf(stderr, "acctl: cannot open the store in %s: %s\n", acctl_store_where(&conf),
		    ac_strerror(open_err));
		ac_conf_release(&conf);
		return 1;
	}
	if (!strcmp(cmd, "list")) {
		printf("%-8s %-24s %-40s %-3s %-20s %-20s %-38s %-16s %s\n", "SEQ", "EVENT", "CLIENTKEY", "TRY", "RECEIVED",
		    "NEXT", "DELIVERY", "LAST ERROR", "LEASE");
		err = ac_inbox_list(st, argc == 3, print_row, NULL);
	} else if (!strcmp(cmd, "stats")) {
		size_t inbox = 0, due = 0, dead = 0;
		/* what the counts would otherwise hide: a journal that cannot be moved in */
		enum ac_err jerr = ac_store_journal(st) ? ac_inbox_ingest(st, 0, NULL) : AC_OK;

		if ((err = ac_inbox_counts(st, &inbox, &due, &dead)) == AC_OK)
			printf("inbox %zu\ndue %zu\ndead %zu\n", inbox, due, dead);
		if (err == AC_OK && jerr != AC_OK) {
			fprintf(stderr, "acctl: the intake journal cannot be moved into the inbox (these counts lack "
			    "what waits in it)\n");
			err = jerr;
		}
	} else if (!strcmp(cmd, "show")) {
		struct ac_event ev;
		int dead = 0;
		char a[32], l[200];

		if ((err = ac_inbox_get(st, seq, &ev, &dead)) == AC_OK) {
			printf("seq:          %llu\n", (unsigned long long)ev.seq);
			printf("where:        %s\n", dead ? "dead" : "inbox");
			printf("event:        %s\n", ev.event_key);
			printf("clientKey:    %s\n", ev.client_key);
			printf("deliveryId:   %s\n", *ev.delivery_id ? ev.delivery_id : "-");
			printf("attempts:     %u\n", ev.attempts);
			printf("receivedAt:   %s\n", acctl_time(ev.received_at, a, sizeof(a)));
			printf("nextAt:       %s\n", acctl_time(ev.next_at, a, sizeof(a)));
			printf("lastError:    %s\n", *ev.last_error ? ev.last_error : "-");
			lease_text(&ev, l, sizeof(l));
			printf("lease:        %s\n", l);
			if (ev.lease_until) {
				const struct ac_lease_owner *o = &ev.owner;
				size_t i;

				printf("leaseUntil:   %s\n", acctl_time(ev.lease_until, a, sizeof(a)));
				printf("leaseOwner:   ");
				for (i = 0; i < sizeof(o->id); i++)
					printf("%02x", o->id[i]);
				printf(" host %s pid %ld start %llu boot ", *o->host ? o->host : "?", (long)o->pid,
				    (unsigned long long)o->start);
				for (i = 0; i < sizeof(o->boot); i++)
					printf("%02x", o->boot[i]);
				printf(" pidns %llu\n", (unsigned long long)o->pidns);
			}
			printf("body:\n%s\n", ev.body);
			ac_event_release(&ev);
		}
	} else if (!strcmp(cmd, "ingest")) {
		uint64_t t0 = ac_clock_usec();
		size_t n = 0;
		int same = 0;

		if (repair && (err = ac_inbox_repair(st, &same)) != AC_ERR_NOT_FOUND) {
			if (err != AC_OK)
				goto report;
			printf("%s: header written again; %s\n", AC_JOURNAL_FILE, same ?
			    "the store goes on from where it was" : "its records are read again from its start (duplicates "
			    "are absorbed)");
		} else if (repair) {
			printf("%s: nothing to repair (no file, or its header is sound)\n", AC_JOURNAL_FILE);
		}
		if ((err = ac_inbox_ingest(st, 0, &n)) == AC_OK)
			printf("moved %zu event(s) from the intake journal into the inbox in %.3f s\n", n,
			    (double)(ac_clock_usec() - t0) / 1e6);
	} else if (!strcmp(cmd, "retry")) {
		if ((err = ac_inbox_retry(st, seq)) == AC_OK)
			printf("event %llu is due now\n", (unsigned long long)seq);
	} else {
		if ((err = ac_inbox_drop(st, seq)) == AC_OK)
			printf("event %llu dropped\n", (unsigned long long)seq);
	}
report:
	if (err == AC_ERR_NOT_FOUND) {
		fprintf(stderr, "acctl: no event %llu\n", (unsigned long long)seq);
		rc = 1;
	} else if (err == AC_ERR_STORE_DAMAGED && ac_inbox_damage(st)) {
		/* the operator's sentence: what is damaged and how to repair it */
		fprintf(stderr, "acctl: %s\n", ac_inbox_damage(st));
		rc = 1;
	} else if (err != AC_OK) {
		fprintf(stderr, "acctl: %s\n", ac_strerror(err));
		rc = 1;
	}
	ac_store_close(st);
	ac_conf_release(&conf);
	return rc;
}
