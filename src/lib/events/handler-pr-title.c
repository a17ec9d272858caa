/* handler-pr-title.c: pullrequest:created/updated (Connect and Forge): the title must match AC_PR_TITLE_PATTERN. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/digest.h"
#include "events/handler-util.h"
#include "base/json.h"
#include "base/log.h"

/* The title as inline code in markdown: no backtick or line break can end it early. */
static enum ac_err
add_code(struct ac_buf *b, const char *s)
{
	enum ac_err err = ac_buf_adds(b, "`");

	for (; *s && err == AC_OK; s++)
		err = ac_buf_addc(b, *s == '`' ? '\'' : (unsigned char)*s < 0x20 ? ' ' : *s);
	return err == AC_OK ? ac_buf_adds(b, "`") : err;
}

/* The 40-hex hash of the PR's source commit: doc/protocol.md §6, PR payloads carry 12 characters. */
static enum ac_err
full_hash(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *ws, const char *repo,
    const char *hash, char out[41])
{
	json_object *commit = NULL;
	struct ac_buf path;
	const char *full;
	enum ac_err err;

	if (strlen(hash) == 40) {
		memcpy(out, hash, 41);
		return AC_OK;
	}
	ac_buf_init(&path, 4096);
	if ((err = ac_buf_printf(&path, "/2.0/repositories/%s/%s/commit/%s", ws, repo, hash)) != AC_OK ||
	    (err = ac_handler_util_call(ctx, t, "GET", ac_buf_str(&path), NULL, &commit)) != AC_OK)
		goto out;
	full = ac_handler_util_get_string(commit, "hash");
	if (full == NULL || strlen(full) != 40 || !ac_handler_util_valid_hash(full) ||
	    strncmp(full, hash, strlen(hash))) {
		ac_log_error("GET %s: no full hash for %s in the answer", ac_buf_str(&path), hash);
		err = AC_ERR_UPSTREAM;
		goto out;
	}
	memcpy(out, full, 41);
out:
	json_object_put(commit);
	ac_buf_release(&path);
	return err;
}

/*
 * One comment per PR and title: not one per update of the PR, nor per retry
 * of this event, nor again after a worker died between the POST and its
 * note (ac_handler_util_comment_once looks for the comment's marker first).
 */
static enum ac_err
comment_once(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *ws, const char *repo,
    int64_t id, const char *title)
{
	struct ac_buf note, path, md, what;
	char digest[AC_SHA256_HEX_LEN];
	enum ac_err err;

	ac_buf_init(&note, 8192);
	ac_buf_init(&path, 4096);
	ac_buf_init(&md, 16384);
	ac_buf_init(&what, 4096);
	(void)ac_sha256_hex(title, strlen(title), digest);
	if ((err = ac_buf_printf(&note, "prcomment:%s:%s/%s/%" PRId64 ":%s", t->client_key, ws, repo, id,
	    digest)) != AC_OK ||
	    (err = ac_buf_printf(&what, "PR %s/%s#%" PRId64, ws, repo, id)) != AC_OK)
		goto out;
	if ((err = ac_buf_printf(&path, "/2.0/repositories/%s/%s/pullrequests/%" PRId64 "/comments", ws, repo,
	    id)) != AC_OK ||
	    (err = ac_buf_adds(&md, "**Pull request title check failed.** The title ")) != AC_OK ||
	    (err = add_code(&md, title)) != AC_OK ||
	    (err = ac_buf_adds(&md, " does not match the rule for titles (a POSIX extended regular expression):"
	    "\n\n```\n")) != AC_OK ||
	    (err = ac_buf_adds(&md, ctx->conf->pr_title_pattern)) != AC_OK ||
	    (err = ac_buf_adds(&md, "\n```\n\nFor example `feat(parser): accept empty arrays` or `fix: "
	    "handle a missing header`. Edit the title and the build status turns green; this comment is "
	    "not repeated for the same title.\n")) != AC_OK)
		goto out;
	/* the marker's subject: this title (the comment is on this PR already) */
	err = ac_handler_util_comment_once(ctx, t, ac_buf_str(&path), ac_buf_str(&note), "pr-title", digest,
	    ac_buf_str(&md), ac_buf_str(&what));
out:
	ac_buf_release(&what);
	ac_buf_release(&md);
	ac_buf_release(&path);
	ac_buf_release(&note);
	return err;
}

/*
 * The title of the event's pull request: a string (Connect), or
 * {"value", "truncated"} (Forge, doc/protocol.md §11.2); NULL when absent or
 * truncated (the whole title is then fetched).
 */
static const char *
event_title(json_object *pr)
{
	json_object *tr;

	if (ac_handler_util_get(pr, "title", json_type_object) == NULL)
		return ac_handler_util_get_string(pr, "title");
	tr = ac_handler_util_get(pr, "title.truncated", json_type_boolean);
	if (tr && json_object_get_boolean(tr))
		return NULL;
	return ac_handler_util_get_string(pr, "title.value");
}

/*
 * Forge events carry ids, not whole objects (doc/protocol.md §11.2): the pull
 * request itself, read when the event lacks its title or source commit.
 * *fetched owns what title and hash point into.
 */
static enum ac_err
fetch_pr(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *ws, const char *repo, int64_t id,
    json_object **fetched, const char **title, const char **hash)
{
	struct ac_buf path;
	enum ac_err err;

	ac_buf_init(&path, 4096);
	if ((err = ac_buf_printf(&path, "/2.0/repositories/%s/%s/pullrequests/%" PRId64, ws, repo, id)) != AC_OK ||
	    (err = ac_handler_util_call(ctx, t, "GET", ac_buf_str(&path), NULL, fetched)) != AC_OK)
		goto out;
	*title = ac_handler_util_get_string(*fetched, "title");
	*hash = ac_handler_util_get_string(*fetched, "source.commit.hash");
	if (*title == NULL || !ac_handler_util_valid_hash(*hash)) {
		ac_log_error("GET %s: no title or source.commit.hash in the answer", ac_buf_str(&path));
		err = AC_ERR_UPSTREAM;
	}
out:
	ac_buf_release(&path);
	return err;
}

enum ac_err
ac_handler_pr_title(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const struct ac_event *ev,
    json_object *payload)
{
	json_object *data = ac_handler_util_data(payload), *pr, *jid, *fetched = NULL;
	const char *title, *hash;
	struct ac_buf ws, repo;
	char full[41];
	int64_t id;
	enum ac_err err;
	int ok;

	(void)ev;
	if (t->product != AC_PRODUCT_BITBUCKET)
		return AC_ERR_BAD_REQUEST;
	pr = ac_handler_util_get(data, "pullrequest", json_type_object);
	jid = pr ? ac_handler_util_get(pr, "id", json_type_int) : NULL;
	title = pr ? event_title(pr) : NULL;
	hash = pr ? ac_handler_util_get_string(pr, "source.commit.hash") : NULL;
	/* json-c clamps past 64 bits; ids past 2^53 are not interoperable JSON numbers (RFC 7493 2.2) */
	if (jid == NULL || ac_json_int_in(jid, 1, INT64_C(1) << 53, 0, &id) != AC_OK ||
	    (hash != NULL && !ac_handler_util_valid_hash(hash))) {
		ac_log_warn("pull request event without pullrequest id, or with a bad source.commit.hash");
		return AC_ERR_BAD_REQUEST;
	}
	ac_buf_init(&ws, 1024);
	ac_buf_init(&repo, 1024);
	if ((err = ac_handler_util_repo(data, &ws, &repo)) != AC_OK)
		goto out;
	if ((title == NULL || hash == NULL) &&
	    (err = fetch_pr(ctx, t, ac_buf_str(&ws), ac_buf_str(&repo), id, &fetched, &title, &hash)) != AC_OK)
		goto out;
	if ((err = full_hash(ctx, t, ac_buf_str(&ws), ac_buf_str(&repo), hash, full)) != AC_OK)
		goto out;
	ok = ac_handler_pr_title_passes(ctx->conf, title);
	ac_log_info("PR %s/%s#%" PRId64 " at %.12s: title %s", ac_buf_str(&ws), ac_buf_str(&repo), id, full,
	    ok ? "passes" : "fails");
	if (!ok && (err = comment_once(ctx, t, ac_buf_str(&ws), ac_buf_str(&repo), id, title)) != AC_OK)
		goto out;
	/* idempotent by its key: posting it again on a retry replaces it */
	err = ac_handler_util_build_status(ctx, t, ac_buf_str(&ws), ac_buf_str(&repo), full,
	    AC_HANDLER_STATUS_TITLE, ok ? "SUCCESSFUL" : "FAILED", "Pull request title",
	    ok ? "The title follows the rule" : "The title does not match AC_PR_TITLE_PATTERN");
out:
	json_object_put(fetched);
	ac_buf_release(&repo);
	ac_buf_release(&ws);
	return err;
}

int
ac_handler_pr_title_passes(const struct ac_conf *conf, const char *title)
{
	return ac_handler_util_match(conf->pr_title_pattern, title);
}
