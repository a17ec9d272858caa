/*
 * store.h: the store interface: every operation the programs, the worker and
 * acctl need from the store, in the project's own types (doc/architecture.md, "The store interface").
 * Two backends implement it: LMDB (store.c and the files beside it; their
 * private header is store-lmdb.h) and PostgreSQL (pg*.c, store-pg.h);
 * dispatch.c sends each operation to the one the store was opened with. The intake, the inbox, deliveries and dead letters
 * are declared in store/inbox.h, tenant records in store/tenant.h; both are
 * part of this interface. Nothing here names LMDB or libpq.
 */
#ifndef AC_STORE_H
#define AC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "base/conf.h"
#include "base/buf.h"
#include "base/err.h"
#include "store/tenant.h"

/*
 * The schema version this build writes; a store with a newer one is refused
 * ("the store has schema version ..."), an older one is read and, when opened
 * writable, marked with this one. 2: inbox records name their lease's owner
 * (inbox.c record version 2; version 1 records are still read).
 */
#define AC_STORE_SCHEMA 2

struct ac_store;

/*
 * One transaction, opaque: the operations given the same ac_txn commit
 * together or not at all (an install writes the tenant, remembers its token
 * and forgets the tenant's access tokens in one).
 */
struct ac_txn;

enum ac_store_flags {
	AC_STORE_NOSYNC = 1 << 0,   /* AC_SYNC=off: no flush after commit */
	AC_STORE_RDONLY = 1 << 1,   /* open for reading only (acctl inspection) */
	AC_STORE_SYNC_EACH = 1 << 2,/* AC_SYNC=each: one flush per commit, no sharing (for comparison) */
};

/*
 * Opens (creating when absent: directory 0700, files 0600) the environment in
 * dir, creates the named databases, checks or records the schema version and
 * clears stale reader slots. map_size is the initial map in bytes (0: 64 MiB);
 * it grows on MDB_MAP_FULL. Call after any fork. A data.mdb shorter than its
 * last commit needs (truncated) is AC_ERR_STORE_DAMAGED, here and before any
 * later transaction, instead of SIGBUS; a full disk is AC_ERR_STORE_FULL. *out is freed with
 * ac_store_close(). Errors are logged with mdb_strerror().
 */
enum ac_err ac_store_open(const char *dir, size_t map_size, unsigned flags, struct ac_store **out);

/*
 * Opens the store the settings name: AC_STORE=lmdb, ac_store_open() on
 * AC_DATA_DIR with AC_MAP_SIZE_MB; AC_STORE=postgres, the database at
 * AC_DATABASE_URL (one connection for this process, kept and reconnected
 * with backoff; opened even while the server is down, every use then
 * answering AC_ERR_STORE until it is back; AC_ERR_STORE_SCHEMA, logged with
 * the command to run, when its schema is not this build's).
 */
enum ac_err ac_store_open_conf(const struct ac_conf *conf, unsigned flags, struct ac_store **out);

/*
 * `acctl store migrate`: applies to the database of AC_DATABASE_URL the
 * migrations of AC_SQL_DIR it lacks, each in its own transaction, under an
 * advisory lock (hosts migrating at once take turns; the second finds
 * nothing to do). *from and *to: the versions before and after.
 */
enum ac_err ac_store_migrate(const struct ac_conf *conf, int *from, int *to);

/* The ac_store_open() flags for the settings' AC_SYNC. */
unsigned ac_store_conf_flags(const struct ac_conf *conf);

/* Closes; NULL is a no-op. No transaction may be open. */
void ac_store_close(struct ac_store *st);

/* The intake journal beside the store (journal.h); NULL when opened read-only. */
struct ac_journal *ac_store_journal(struct ac_store *st);

/*
 * Runs fn in one write transaction and commits it when fn says AC_OK;
 * anything else aborts it (the store is then exactly as it was) and is
 * returned. fn may run more than once (LMDB: again from scratch after the
 * map grew), so it must not keep state across calls. After the commit,
 * unless AC_STORE_NOSYNC, the data is flushed (AC_SYNC).
 */
enum ac_err ac_store_update(struct ac_store *st, enum ac_err (*fn)(struct ac_txn *txn, void *ctx), void *ctx);

/* Runs fn in a read-only transaction: a consistent view; what fn borrows from it dies when fn returns. */
enum ac_err ac_store_view(struct ac_store *st, enum ac_err (*fn)(struct ac_txn *txn, void *ctx), void *ctx);

/* The schema version the store records (AC_STORE_SCHEMA once a writer opened it). */
enum ac_err ac_store_schema_version(struct ac_store *st, int *version);

/*
 * Whether the store's files (LMDB: data.mdb or lock.mdb) were removed or replaced while st was open
 * (found at a transaction's start, which then fails AC_ERR_STORE_DAMAGED,
 * logged): only a process that opens the store again uses the files there
 * now. A long-running process under a supervisor exits to be started again.
 */
int ac_store_stale(const struct ac_store *st);

/* The map size in bytes now (grows with use). */
size_t ac_store_map_size(struct ac_store *st);

/* Tests only: called in ac_store_open() between opening the environment and its first transaction. */
extern void (*ac_store_test_open_hook)(const char *dir);

/* ---- tenants: one record per clientKey (store/tenant.h has the record and its JSON form) */

/* AC_ERR_UNKNOWN_TENANT when no record has this clientKey. */
enum ac_err ac_tenant_get(struct ac_store *st, const char *client_key, struct ac_tenant *out);

/* The same inside a transaction the caller holds (check and write in one). */
enum ac_err ac_tenant_get_txn(struct ac_txn *txn, const char *client_key, struct ac_tenant *out);

/*
 * The whole stored record as JSON (ac_tenant_to_json's form: the kept
 * install body too), *out NULL when there is none or it is unreadable. It
 * holds the sharedSecret: release it with ac_json_put_secret().
 */
enum ac_err ac_tenant_get_record(struct ac_store *st, const char *client_key, json_object **out);

/*
 * Writes t as the record of t->client_key in the caller's write transaction.
 * install (may be NULL) is the raw install body kept for forensics; its
 * sharedSecret member is never written. AC_ERR_TOO_LARGE past the record limit.
 */
enum ac_err ac_tenant_put_txn(struct ac_txn *txn, const struct ac_tenant *t, json_object *install);

/* AC_ERR_UNKNOWN_TENANT when absent (acctl tenant purge, in the transaction that checked it is old). */
enum ac_err ac_tenant_delete(struct ac_store *st, const char *client_key);
enum ac_err ac_tenant_delete_txn(struct ac_txn *txn, const char *client_key);

/*
 * Calls fn for every record in key order with the tenant and its whole record
 * as JSON (both borrowed for the call); a non-AC_OK return stops the walk
 * and is returned. Unreadable records are logged and skipped.
 */
enum ac_err ac_tenant_foreach(struct ac_store *st,
    enum ac_err (*fn)(const struct ac_tenant *t, json_object *record, void *ctx), void *ctx);

/*
 * Frees the process's cache of decoded records (ac_tenant_get keeps the last
 * few, keyed by their exact bytes, so a changed record is never served stale).
 */
void ac_tenant_cache_clear(void);

/* ---- install keys: the Jira signed-install public keys by kid, and the fetches' bookkeeping */

/* What the cache holds for a kid, as of now (ac_clock_now()). */
struct ac_install_key {
	int found;             /* the PEM was written into the caller's buffer */
	long missing;          /* a remembered failure: its HTTP status, -1 a fetch under way; 0 none */
	time_t missing_until;  /* until when the failure (or the throttle) holds */
	int throttled;         /* ac_install_key_reserve: the host's fetches of this window are spent */
};

/* Looks kid up: its key into pem, or a failure that still holds; absent or expired records are nothing. */
enum ac_err ac_install_key_get(struct ac_store *st, const char *kid, struct ac_buf *pem, struct ac_install_key *out);

/*
 * Before a fetch, in one write transaction: the lookup again (another
 * process may have learnt the key meanwhile: out says so and nothing is
 * written), then one fetch from the host's budget of max per window seconds
 * (spent: out->throttled, missing_until the window's end), and a marker
 * "fetch under way" for kid until marker_until that makes concurrent
 * lookups wait for this fetch instead of repeating it.
 */
enum ac_err ac_install_key_reserve(struct ac_store *st, const char *kid, int max, int window, time_t marker_until,
    struct ac_buf *pem, struct ac_install_key *out);

/* Keeps kid's PEM key for good (keys never change for a kid; this replaces the marker). */
enum ac_err ac_install_key_put(struct ac_store *st, const char *kid, const char *pem);

/*
 * Remembers a failed fetch of kid (status 0: no answer, -1: under way) until
 * `until`, for every process; in the same transaction, ac_install_key_purge()
 * from kid with AC_INSTALL_KEY_PURGE_MAX.
 */
enum ac_err ac_install_key_missing(struct ac_store *st, const char *kid, long status, time_t until);

/* Failure records removed per new one: the cache stays small. */
#define AC_INSTALL_KEY_PURGE_MAX 8

/*
 * Removes expired failure records from kid on (random kids spread over the
 * key space: those just after one stand for all), stopping after max
 * records looked at; keys are never removed. *n (may be NULL): how many went.
 */
enum ac_err ac_install_key_purge(struct ac_store *st, const char *kid, int max, size_t *n);

/* ---- access tokens: minted once, shared by every process (outbound/grant.c) */

/*
 * What the cache holds under a key: a token, or the failure of the last
 * attempt. Keys are "bb:{clientKey}" or "jira:{clientKey} ...", at most
 * AC_TOKEN_KEY_MAX bytes (the caller hashes longer ones, keeping that head).
 * access_token is a live credential: ac_token_rec_release() wipes it.
 */
struct ac_token_rec {
	char *access_token;   /* NULL: no token */
	char *scopes;         /* "" when none (set whenever access_token is) */
	int64_t expires_at;   /* epoch seconds; 0 when unreadable (expired) */
	int64_t obtained_at;
	int64_t failed_at_ms; /* 0: no failure recorded */
	enum ac_err failure;  /* AC_ERR_GRANT_REFUSED or AC_ERR_UPSTREAM, with failed_at_ms */
};

#define AC_TOKEN_KEY_MAX 400

void ac_token_rec_release(struct ac_token_rec *r);

/* The record under key; absent or unreadable, an empty record (out zeroed) and AC_OK. */
enum ac_err ac_token_get(struct ac_store *st, const char *key, struct ac_token_rec *out);

/* Stores r under key in one short write: its token when r->access_token, else its failure. */
enum ac_err ac_token_put(struct ac_store *st, const char *key, const struct ac_token_rec *r);

/*
 * Drops every cached token of client_key (Bitbucket's and each Jira
 * user's) in the caller's write transaction; *n (may be NULL) gets how many.
 */
enum ac_err ac_token_forget_txn(struct ac_txn *txn, const char *client_key, size_t *n);

/*
 * Minting the token of key, one process at a time on every host that shares
 * the store (one grant per miss): ac_token_lock waits, a bounded time, for
 * the store's lock of key; lk->held says whether this process now holds it
 * (ac_token_unlock releases it; keys may share a lock). PostgreSQL: a session
 * advisory lock keyed by a hash of key, so that the programs of every host
 * take turns. LMDB has none (lk->held 0, AC_OK): its processes share one
 * host, where grant.c locks a byte of AC_DATA_DIR/grant.lock instead. An
 * error: the lock could not be had (the caller may mint without it: more
 * calls, never a wrong answer).
 */
struct ac_token_lock {
	int held;
	unsigned session;     /* the backend's: which connection holds it */
};

enum ac_err ac_token_lock(struct ac_store *st, const char *key, struct ac_token_lock *lk);
void ac_token_unlock(struct ac_store *st, const char *key, struct ac_token_lock *lk);

/* ---- handler notes: what a handler did once (e.g. "comment posted for this PR title") */

/* Whether key was noted: AC_OK (*found 0 or 1) or a store error. Keys of any length. */
enum ac_err ac_note_get(struct ac_store *st, const char *key, int *found);

/* Notes key (with the time, ac_clock_now()). */
enum ac_err ac_note_put(struct ac_store *st, const char *key);

/* ---- lifecycle_seen: the lifecycle tokens accepted, remembered until they expire (replays) */

#define AC_SEEN_SHA_LEN 32

/* One accepted token. Strings: owned by a _get (ac_seen_release), borrowed in a list; NULL when absent. */
struct ac_seen {
	int64_t exp;                           /* the token's exp (negative: 0); entries sort by it */
	unsigned char token_sha[AC_SEEN_SHA_LEN]; /* SHA-256 of the token */
	char *body;                            /* hex SHA-256 of the body it came with */
	char *client_key;
	char *event;                           /* "installed" or "uninstalled" */
	int64_t iat;
	int64_t at;                            /* when it was accepted */
};

void ac_seen_release(struct ac_seen *e);

/* The entry of (exp, token_sha) into out: AC_ERR_NOT_FOUND when none (an unreadable one has NULL strings). */
enum ac_err ac_seen_get_txn(struct ac_txn *txn, int64_t exp, const unsigned char token_sha[AC_SEEN_SHA_LEN],
    struct ac_seen *out);

/* Remembers e; AC_ERR_STORE when (exp, token_sha) is there already (never overwritten). */
enum ac_err ac_seen_put_txn(struct ac_txn *txn, const struct ac_seen *e);

/* Removes entries whose exp is before `before`, oldest first, at most max of them. */
enum ac_err ac_seen_purge_txn(struct ac_txn *txn, int64_t before, size_t max, size_t *n);

/* Every entry, by exp (an older store opened read-only has none); a non-AC_OK from fn stops and is returned. */
enum ac_err ac_seen_list(struct ac_store *st, enum ac_err (*fn)(const struct ac_seen *e, void *ctx), void *ctx);

/* ---- Forge (doc/protocol.md §11): installations, the app system token of each, the JWKS */

/* One element of an installation's contexts; absent strings are NULL. */
struct ac_forge_context {
	char *name;
	char *api_base_url;
	char *cloud_id;         /* Jira, Confluence */
	char *workspace_id;     /* Bitbucket */
};

/*
 * What the backend knows of a Forge installation, from verified invocations
 * (the FIT's app claims) and the lifecycle events. Owned copies
 * (ac_forge_installation_release); absent strings are NULL, except
 * installation_id.
 */
struct ac_forge_installation {
	char *installation_id;      /* ari:cloud:ecosystem::installation/<uuid>: the key */
	char *app_id;
	char *app_version;
	char *environment_type;     /* DEVELOPMENT, STAGING, PRODUCTION */
	char *environment_id;
	char *api_base_url;         /* base of every REST call of the installation */
	char *site_url;             /* context.siteUrl or the site the lifecycle event names */
	char *client_key;           /* the linked Connect tenant, when known */
	struct ac_forge_context *contexts;
	size_t ncontexts;
	int64_t first_seen, last_seen;
};

void ac_forge_installation_release(struct ac_forge_installation *in);

/* The record of installation_id into out: AC_ERR_NOT_FOUND when none (or unreadable: logged). */
enum ac_err ac_forge_installation_get(struct ac_store *st, const char *installation_id,
    struct ac_forge_installation *out);

/*
 * Creates or refreshes the record of in->installation_id with in's fields:
 * first_seen is kept from the record there (now when new), last_seen is now
 * (ac_clock_now()), and a client_key that in leaves NULL keeps the one
 * recorded. AC_ERR_INVALID without an installation_id.
 */
enum ac_err ac_forge_installation_put(struct ac_store *st, const struct ac_forge_installation *in);

/* Every installation in key order (borrowed for the call); a non-AC_OK from fn stops and is returned. */
enum ac_err ac_forge_installation_foreach(struct ac_store *st,
    enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx), void *ctx);

/*
 * The app system token of an installation (x-forge-oauth-system), a live
 * credential: ac_forge_token_release() wipes it. Never log or print it.
 */
struct ac_forge_token {
	char *token;            /* NULL: none held */
	int64_t exp;            /* when it stops working (epoch seconds) */
	int64_t received_at;
};

void ac_forge_token_release(struct ac_forge_token *t);

/* The token held for installation_id; none: out->token NULL and AC_OK. */
enum ac_err ac_forge_token_get(struct ac_store *st, const char *installation_id, struct ac_forge_token *out);

/*
 * Offers a token received now with its exp: kept (*kept = 1) only when it is
 * not empty, exp is in the future and later than the exp of the token held
 * (the newest wins; an older token, an equal exp or no token never replaces
 * one), in one write transaction. kept may be NULL.
 */
enum ac_err ac_forge_token_offer(struct ac_store *st, const char *installation_id, const char *token,
    int64_t exp, int *kept);

/* The JWKS document kept for every process, and how its fetches went. */
struct ac_forge_jwks_state {
	int found;              /* a document is kept: it was written into the caller's buffer */
	int64_t fetched_at;     /* when it was fetched (0: never) */
	int64_t attempt_at;     /* the last fetch reserved (0: never) */
	int attempt;            /* how that fetch went: 1 ok, 0 failed, -1 under way */
	int granted;            /* ac_forge_jwks_reserve: this caller may fetch now */
};

/* The kept JWKS into doc (cap bounds it) and the fetch state. */
enum ac_err ac_forge_jwks_get(struct ac_store *st, struct ac_buf *doc, struct ac_forge_jwks_state *out);

/*
 * Before a fetch, in one write transaction: the document again (a process
 * may have fetched one after seen_fetched_at: then out says so, doc has it
 * and nothing is granted), then at most one fetch per window seconds for the
 * host (every process): granted, the attempt is recorded as under way.
 */
enum ac_err ac_forge_jwks_reserve(struct ac_store *st, int window, int64_t seen_fetched_at, struct ac_buf *doc,
    struct ac_forge_jwks_state *out);

/* After the granted fetch: doc (len bytes) is kept, fetched now; or (doc NULL) the attempt failed. */
enum ac_err ac_forge_jwks_put(struct ac_store *st, const char *doc, size_t len);

/*
 * The link between Connect and Forge (doc/protocol.md §11). The Connect tenant
 * of a Forge installation is the installed tenant whose installationId (kept
 * from its /installed body: Connect on Forge, Jira and Confluence) is in's,
 * else the installed Bitbucket tenant whose clientKey,
 * ari:cloud:bitbucket::app/{<workspace uuid>}/<app key>, names the workspace
 * of one of in's contexts (workspaceId, with or without braces, any case).
 * Found: AC_OK and *client_key a copy (free() it); none: AC_ERR_NOT_FOUND and
 * *client_key NULL. It reads the tenants as they are now, so a tenant
 * installed after the Forge event is found too; in->client_key, the link
 * recorded when the installed/upgraded event arrived, is not consulted.
 */
enum ac_err ac_forge_link_find(struct ac_store *st, const struct ac_forge_installation *in, char **client_key);

/*
 * The reverse, for showing a tenant: fn for every Forge installation linked
 * to t, by the rule above or by the client_key recorded on the installation;
 * a non-AC_OK from fn stops and is returned.
 */
enum ac_err ac_forge_link_foreach(struct ac_store *st, const struct ac_tenant *t,
    enum ac_err (*fn)(const struct ac_forge_installation *in, void *ctx), void *ctx);

/*
 * The workspace uuid a Bitbucket Connect clientKey names, lower case and
 * without braces, into out; 0, or -1 when client_key is not of that form.
 */
int ac_forge_link_workspace(const char *client_key, char out[37]);

/* ---- moving a store (`acctl store copy`): what the operations above cannot list, or write as it was */

struct ac_event;

/* What an item is; the members of struct ac_store_item each kind uses follow it. */
enum ac_item_kind {
	AC_ITEM_TOKEN,              /* key: the token's key; token */
	AC_ITEM_INSTALL_KEY,        /* key: the kid; text: its PEM; at: when it was fetched */
	AC_ITEM_NOTE,               /* key: as stored (a long key hashed, alike in both backends); at */
	AC_ITEM_FORGE_TOKEN,        /* key: the installation id; forge_token */
	AC_ITEM_JWKS,               /* text, len: the document (NULL: none kept); jwks: its fetch state */
	AC_ITEM_DELIVERY,           /* key: the client key; delivery_id; seq; at: when it came */
	AC_ITEM_SEQ,                /* seq: the last sequence number handed out (0: none) */
	AC_ITEM_FORGE_INSTALLATION, /* installation, its first_seen, last_seen and client_key as they are */
	AC_ITEM_EVENT,              /* event, into the inbox with its seq, attempts, next_at, last_error,
	                               received_at and delivery id; its lease dropped */
	AC_ITEM_DEAD,               /* event, the same into `dead` */
	AC_ITEM__COUNT
};

/* One item; everything borrowed. Secrets (tokens) are the caller's to wipe. */
struct ac_store_item {
	enum ac_item_kind kind;
	const char *key;
	const char *text;
	size_t len;
	int64_t at;
	uint64_t seq;
	const char *delivery_id;
	const struct ac_token_rec *token;
	const struct ac_forge_token *forge_token;
	const struct ac_forge_jwks_state *jwks;
	const struct ac_forge_installation *installation;
	const struct ac_event *event;
};

/*
 * Calls fn, in one read transaction, for every access token, install key
 * (those with a PEM: remembered failures and fetches under way are not
 * items), handler note, Forge system token, the JWKS document and its fetch
 * state (one item, when either is there), every delivery id still within
 * AC_INBOX_DEDUPE_SECONDS of now, and last the AC_ITEM_SEQ item. Tenants,
 * lifecycle_seen, Forge installations and events are listed by their own
 * foreach/list above. A non-AC_OK return from fn stops and is returned.
 */
enum ac_err ac_store_items(struct ac_store *st, enum ac_err (*fn)(const struct ac_store_item *it, void *ctx),
    void *ctx);

/*
 * Writes it as it was in the caller's write transaction (replacing a record
 * under the same key): times, seq and attempts kept, nothing taken from the
 * clock. An event keeps its seq, and the store's next sequence number is
 * moved past it (AC_ITEM_SEQ: past that number), so that the next event
 * accepted gets a new one.
 */
enum ac_err ac_store_item_put_txn(struct ac_txn *txn, const struct ac_store_item *it);

/*
 * ac_store_copy (store-copy.c, `acctl store copy`): every record of from
 * written into to in to's one write transaction, through this interface
 * alone (any backend to any backend). The kinds it counts, in the order of
 * ac_store_copy_kind_name (AC_ITEM_SEQ is copied but not counted):
 */
enum ac_store_copy_kind {
	AC_COPY_TENANT, AC_COPY_SEEN, AC_COPY_FORGE_INSTALLATION, AC_COPY_TOKEN, AC_COPY_INSTALL_KEY,
	AC_COPY_NOTE, AC_COPY_FORGE_TOKEN, AC_COPY_JWKS, AC_COPY_DELIVERY, AC_COPY_EVENT, AC_COPY_DEAD,
	AC_COPY__COUNT
};

/* What the operator knows kind as ("tenants", "inbox events" ...). */
const char *ac_store_copy_kind_name(enum ac_store_copy_kind kind);

/* Where ac_store_copy stopped (or, AC_OK, AC_COPY_WRITTEN). */
enum ac_store_copy_step {
	AC_COPY_LEASES,   /* reading from's inbox for events under a live lease */
	AC_COPY_TARGET,   /* reading what to holds */
	AC_COPY_WRITE,    /* the copy, in to's transaction: nothing written */
	AC_COPY_WRITTEN
};

struct ac_store_copy_report {
	enum ac_store_copy_step step;
	int refused;              /* 1: stopped at step without FORCE: leased, or holds */
	size_t leased;            /* from's events under a live lease (a worker runs there) */
	const char *holds;        /* NULL: to was empty; else the kind name of what it held first */
	size_t n[AC_COPY__COUNT]; /* records written, by kind (a lifecycle_seen entry to has already: not) */
};

/*
 * Copies from into to, which must be empty: the programs and workers of
 * from must be stopped, so an event under a live lease in from refuses the
 * copy, and so does a to that holds anything (out->refused, AC_ERR_INVALID).
 * AC_STORE_COPY_FORCE copies anyway: leases are not copied, and a record
 * under the same key in to is replaced (a lifecycle_seen entry is never
 * overwritten). On a store error out->step says what was being done. One
 * transaction: on any error nothing is written to to.
 */
#define AC_STORE_COPY_FORCE 0x1u
enum ac_err ac_store_copy(struct ac_store *from, struct ac_store *to, unsigned flags,
    struct ac_store_copy_report *out);

#endif
