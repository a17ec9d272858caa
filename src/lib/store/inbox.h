/* inbox.h: accepted events, durable before they are acknowledged (doc/architecture.md). */
#ifndef AC_INBOX_H
#define AC_INBOX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"
#include "store/lease.h"
#include "store/store.h"

/* Webhook bodies are at most 256 KiB (Bitbucket's own limit). */
#define AC_INBOX_BODY_MAX (256 * 1024)

/*
 * On PostgreSQL a claim's lease is at most this long (whatever the caller
 * asks), renewed every third of it while the event is held (from the claim
 * to done or fail): an event held by a worker that died on any host, where
 * its pid proves nothing, is taken over by another within a minute. LMDB
 * (one host, whose dead owners are proven at once) keeps the caller's lease.
 */
#define AC_INBOX_PG_LEASE 30

/* How long a delivery id is remembered for dedupe. */
#define AC_INBOX_DEDUPE_SECONDS 86400

/*
 * One event. ac_inbox_* fill it with owned copies (ac_event_release frees
 * them); strings are "" when absent, never NULL; body is NUL-terminated.
 */
struct ac_event {
	uint64_t seq;          /* the inbox key: order of acceptance */
	char *client_key;      /* the tenant */
	char *event_key;       /* "repo:push", "pullrequest:created", "jira:issue_created" ... */
	char *delivery_id;     /* X-Request-UUID / X-Atlassian-Webhook-Identifier; "" when none */
	char *body;            /* the JSON body as received */
	size_t body_len;
	time_t received_at;
	unsigned attempts;     /* handler runs so far */
	time_t next_at;        /* not before this time */
	char *last_error;      /* what the last failed attempt said; "" */
	time_t lease_until;    /* 0 when not leased (a lease past this time is void) */
	struct ac_lease_owner owner; /* who holds (or last held) the lease; zero when none */
};

void ac_event_release(struct ac_event *ev);

/*
 * Accepts an event: unless its delivery id was seen for this tenant within
 * AC_INBOX_DEDUPE_SECONDS (*dup = 1, nothing written), appends it to the
 * inbox under the next sequence number and remembers the delivery id, in
 * one transaction, flushed (AC_SYNC) before it returns: the caller may
 * acknowledge once this says AC_OK. AC_ERR_STORE_FULL / AC_ERR_STORE when
 * it could not be made durable (answer 503 so the product retries).
 */
enum ac_err ac_inbox_accept(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup);

/*
 * What webhook.fcgi does before its 204: the same checks as
 * ac_inbox_accept(), and a delivery id already in the inbox (or done within
 * AC_INBOX_DEDUPE_SECONDS) answers *dup = 1 with its *seq; otherwise the
 * event is appended to the intake journal (journal.h) and flushed (AC_SYNC):
 * as durable as accept makes it, at the cost of one append. *seq is 0 then:
 * the number is given when ac_inbox_ingest() moves the event into the inbox,
 * in the order of the journal, with the same dedupe (a delivery that came
 * twice before either was moved in is queued once).
 */
enum ac_err ac_inbox_intake(struct ac_store *st, const char *client_key, const char *event_key,
    const char *delivery_id, const char *body, size_t body_len, uint64_t *seq, int *dup);

/*
 * Moves what the intake journal holds into the inbox, many events per
 * transaction, recording in the same transaction how far it got (so each
 * event is moved in exactly once, whoever does it and whatever dies midway).
 * With rotate, a journal of AC_JOURNAL_ROTATE_BYTES or more that has been
 * read to its end is replaced by an empty one. *count (may be NULL) gets how
 * many events were read. Every inbox reader below calls it first (claim with
 * rotate): they see every accepted event.
 */
enum ac_err ac_inbox_ingest(struct ac_store *st, int rotate, size_t *count);

/*
 * The operator's repair of an intake journal whose header was destroyed
 * (ac_inbox_ingest() and webhooks say AC_ERR_STORE_DAMAGED): a header is
 * written again, its records kept. Under the file id the store recorded when
 * the record it moved in last is where it says (*same = 1: reading goes on
 * from there), else under a new id and the file is read again from its
 * start like a file cut back (ac_inbox_ingest). AC_ERR_NOT_FOUND: no file,
 * or its header is sound.
 */
enum ac_err ac_inbox_repair(struct ac_store *st, int *same);

/* What damage to the intake journal was last found: a sentence for the operator, or NULL. */
const char *ac_inbox_damage(struct ac_store *st);

/* For tests: the size at which ac_inbox_ingest() rotates (0: the default). */
void ac_inbox_set_rotate_bytes(uint64_t n);

/*
 * Claims the next event that is due, in order per tenant: an event waits
 * while an earlier one of its tenant is leased or waiting for a retry. The
 * claim is a lease in the store (this process's ac_lease_owner_self(), until
 * now + lease_seconds), so several workers never run one event at once. A
 * lease is taken over before it expires only when ac_lease_owner_dead()
 * proves its owner gone; a lease of another host, pid namespace or boot, or
 * of a store from before owners were recorded, waits for its expiry.
 * AC_ERR_NOT_FOUND when nothing is due.
 */
enum ac_err ac_inbox_claim(struct ac_store *st, long lease_seconds, struct ac_event *out);

/*
 * The claimed event is done: it leaves the inbox (its delivery id stays for
 * dedupe). AC_ERR_LEASE_LOST (logged, nothing changed) when the event is
 * leased to another owner now: this process's lease expired and another
 * worker claimed it, so that one settles it. The same for ac_inbox_fail().
 */
enum ac_err ac_inbox_done(struct ac_store *st, uint64_t seq);

/*
 * The claimed event failed: attempts + 1, the error kept, due again at
 * next_at; to_dead moves it to `dead` instead.
 */
enum ac_err ac_inbox_fail(struct ac_store *st, uint64_t seq, const char *error, time_t next_at, int to_dead);

/*
 * An idle worker's pause between claims, up to max_ms: 1 when an event may
 * have become due (PostgreSQL: a NOTIFY of an intake or retry came; the
 * first call on each connection says LISTEN and answers 1 at once), 0 when
 * the time is up or a signal came. LMDB has no notices: it sleeps 50 ms at
 * most (answers 0), as the worker always did.
 */
int ac_inbox_wait(struct ac_store *st, long max_ms);

/* Every event of the inbox (dead = 0) or of `dead` (dead = 1), in order; fn's event is borrowed. */
enum ac_err ac_inbox_list(struct ac_store *st, int dead,
    enum ac_err (*fn)(const struct ac_event *ev, void *ctx), void *ctx);

/* One event, from the inbox or else from `dead` (*dead says which). AC_ERR_NOT_FOUND. */
enum ac_err ac_inbox_get(struct ac_store *st, uint64_t seq, struct ac_event *out, int *dead);

/* Makes an event due now, moving it back from `dead` with its attempts reset. */
enum ac_err ac_inbox_retry(struct ac_store *st, uint64_t seq);

/* Removes an event from the inbox or from `dead`. */
enum ac_err ac_inbox_drop(struct ac_store *st, uint64_t seq);

/* Forgets delivery ids older than before; *n (may be NULL) gets how many. */
enum ac_err ac_inbox_prune_deliveries(struct ac_store *st, time_t before, size_t *n);

/* Counts: events in the inbox, of them due now, and in `dead`. */
enum ac_err ac_inbox_counts(struct ac_store *st, size_t *inbox, size_t *due, size_t *dead);

/* What /healthcheck, /metrics and `acctl status` show of the inbox (issue 17). */
struct ac_inbox_stats {
	size_t inbox;          /* events in the inbox */
	size_t due;            /* of them due now (next_at <= now), as ac_inbox_counts counts */
	size_t leased;         /* of them under a live lease (a worker runs them now) */
	size_t dead;           /* events in `dead` */
	time_t oldest_due;     /* received_at of the oldest due event; 0 when none is due */
};

/*
 * The counts above, the leased events and the oldest due event, as of now
 * (ac_clock_now()), in ONE read transaction and without any write: unlike
 * ac_inbox_counts() it does not move the intake journal in first (a load
 * balancer calls it every second), so events still in the journal are not
 * counted yet (a running worker moves them in within 50 ms). Every backend
 * implements it (PostgreSQL too: one SELECT with FILTERs).
 */
enum ac_err ac_inbox_stats(struct ac_store *st, struct ac_inbox_stats *out);

#endif
