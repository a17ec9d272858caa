/* handler-util.h: what the event handlers share: patterns, payload access, notes, Bitbucket calls. */
#ifndef AC_HANDLER_UTIL_H
#define AC_HANDLER_UTIL_H

#include <stddef.h>

#include <json-c/json.h>

#include "base/buf.h"
#include "outbound/client.h"
#include "base/err.h"
#include "events/handler.h"
#include "store/store.h"
#include "store/tenant.h"

/* The reference handlers, one file each, listed in the table of handlers.c. */
enum ac_err ac_handler_pr_title(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const struct ac_event *ev, json_object *payload);      /* handler-pr-title.c */
enum ac_err ac_handler_commits(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const struct ac_event *ev, json_object *payload);      /* handler-commits.c */
enum ac_err ac_handler_jira_issue(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const struct ac_event *ev, json_object *payload);      /* handler-jira-issue.c */

/*
 * The rule for pull request titles, the one place it is applied: whether
 * title passes AC_PR_TITLE_PATTERN (ac_handler_util_match). The event
 * handler and the Bitbucket merge check (forge_merge_check.c) both ask it.
 */
int ac_handler_pr_title_passes(const struct ac_conf *conf, const char *title); /* handler-pr-title.c */

/*
 * Build status keys (doc/protocol.md §7: the same key overwrites). This is what makes a
 * status safe to post again on a retry: a second POST with the same key
 * replaces the first, it never adds one.
 */
#define AC_HANDLER_STATUS_TITLE "connect-fcgi-title"
#define AC_HANDLER_STATUS_COMMIT "connect-fcgi-commit"

/*
 * Most commits one repo:push event checks, and pages of a truncated push
 * fetched; also the most pages of comments read looking for a marker.
 */
#define AC_HANDLER_MAX_COMMITS 200
#define AC_HANDLER_MAX_PAGES 10

/*
 * Whether the first line of text (up to the first '\n' or '\r') matches the
 * POSIX extended regex pattern: 1 yes, 0 no. Patterns are compiled once per
 * process (REG_EXTENDED | REG_NOSUB) and cached by their text; one that does
 * not compile (conf.c checks them at load) is logged and matches nothing.
 * Not thread-safe: one worker, one thread.
 */
int ac_handler_util_match(const char *pattern, const char *text);

/* Frees the compiled patterns (tests, valgrind). */
void ac_handler_util_cleanup(void);

/* A commit that passes whatever its message: a merge (2+ parents) or a `Revert "…"`. */
int ac_handler_util_exempt(const char *message, size_t nparents);

/*
 * The event body proper: payload's "data" object when payload is a Bitbucket
 * envelope {"event", "data"} (doc/protocol.md §6), its "payload" object when
 * a Forge event comes wrapped (doc/protocol.md §11.2), else payload itself. Borrowed.
 */
json_object *ac_handler_util_data(json_object *payload);

/*
 * Member at a dotted path ("pullrequest.source.commit.hash") when every step
 * is an object and the last has that type; NULL otherwise. Borrowed.
 */
json_object *ac_handler_util_get(json_object *obj, const char *dotted, json_type type);
const char *ac_handler_util_get_string(json_object *obj, const char *dotted);

/*
 * Workspace and repository of a Bitbucket event: a Forge event's uuids
 * (data.workspace.uuid and data.repository.uuid, doc/protocol.md §11.2), else the slugs of data.repository.full_name
 * ("ws/repo"), else the pullrequest's destination repository, else the
 * repository's links.html.href. Written as URL path segments (every byte but
 * A-Z a-z 0-9 - . _ ~ percent-encoded, so "{uuid}" becomes "%7B…%7D") into
 * ws and repo (caller-owned, initialised). AC_ERR_BAD_REQUEST when absent.
 */
enum ac_err ac_handler_util_repo(json_object *data, struct ac_buf *ws, struct ac_buf *repo);

/* Appends s percent-encoded as one URL path segment (see above). */
enum ac_err ac_handler_util_encode_segment(struct ac_buf *out, const char *s);

/* Whether s is a commit hash we put in a URL: 7 to 40 lower-case hex digits. */
int ac_handler_util_valid_hash(const char *s);

/*
 * What the HTTP status of a product answer means for the event: 2xx AC_OK;
 * 429 AC_ERR_UPSTREAM with ctx->retry_after from Retry-After (when given);
 * 401, 404, 409 and 5xx AC_ERR_UPSTREAM (retried); other 4xx
 * AC_ERR_BAD_REQUEST (permanent). Logs what is not 2xx, naming what.
 */
enum ac_err ac_handler_util_status(struct ac_handler_ctx *ctx, const struct ac_client_response *r,
    const char *what);

/*
 * ac_client_call, then the status mapped as above; *json (may be NULL)
 * gets the parsed answer on AC_OK (json_object_put it; NULL when the body is
 * empty), AC_ERR_UPSTREAM when a 2xx body is not JSON.
 */
enum ac_err ac_handler_util_call(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const char *method, const char *path, json_object *body, json_object **json);

/*
 * POST .../commit/{hash}/statuses/build (doc/protocol.md §7) with key, state ("SUCCESSFUL",
 * "FAILED"), name, url (AC_BASE_URL, when set) and description. ws and repo
 * are already encoded segments.
 */
enum ac_err ac_handler_util_build_status(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const char *ws, const char *repo, const char *hash, const char *key, const char *state,
    const char *name, const char *description);

/* POST a markdown comment ({"content":{"raw":…}}) to path (…/comments). */
enum ac_err ac_handler_util_comment(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const char *path, const char *markdown);

/*
 * The path of the page `next` names, into path (reset first) when next is
 * within the tenant's base API URL: AC_OK. AC_ERR_NOT_FOUND when next is
 * NULL, or names another place (logged, naming what): a page never sends
 * the app, with its token, elsewhere.
 */
enum ac_err ac_handler_util_next(const struct ac_tenant *t, const char *next, struct ac_buf *path,
    const char *what);

/*
 * The marker this app puts in a comment it posts once: "connect-fcgi:" kind
 * ":" and the SHA-256 (hex) of the app key and subject, so that it is found
 * again whatever the product does to the rest of the text. buf (caller-
 * owned, initialised) gets it.
 */
enum ac_err ac_handler_util_marker(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *kind,
    const char *subject, struct ac_buf *buf);

/*
 * Whether a comment holding marker in its content.raw is on the product:
 * GET path (…/comments) newest first, page by page, at most
 * AC_HANDLER_MAX_PAGES pages (next followed only within the API base).
 * *found gets 1 or 0; an error when a page could not be read (the caller
 * must not post blind then).
 */
enum ac_err ac_handler_util_comment_find(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const char *path, const char *marker, int *found);

/*
 * Posts markdown as a comment to path (…/comments) at most once per note:
 * not when the note is in the store, and not when a comment with the marker
 * of kind and subject is already on the product (a worker killed after the
 * POST and before it noted it, a POST whose answer was lost); the marker is
 * appended to markdown as a link reference definition, which markdown does
 * not render. The note is written after a POST or a find. what names it in
 * the log.
 */
enum ac_err ac_handler_util_comment_once(struct ac_handler_ctx *ctx, const struct ac_tenant *t,
    const char *path, const char *note, const char *kind, const char *subject, const char *markdown,
    const char *what);

/*
 * Notes (AC_DB_NOTES): bookkeeping so a handler run again does not repeat
 * what it did (one comment per PR title, per commit). Keys longer than LMDB
 * allows are stored as "sha256:" and their hash. note_has: 1 present, 0
 * absent; on a store error (logged) it says 0, so the worst case is a
 * repeated comment. note_put records the current time.
 */
int ac_handler_util_note_has(struct ac_store *st, const char *key);
enum ac_err ac_handler_util_note_put(struct ac_store *st, const char *key);

#endif
