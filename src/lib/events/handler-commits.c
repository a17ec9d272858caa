/* handler-commits.c: repo:push: the first line of every new commit must match AC_COMMIT_PATTERN. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/handler-util.h"
#include "base/log.h"

struct push {
	struct ac_handler_ctx *ctx;
	const struct ac_tenant *t;
	const char *ws, *repo;
	size_t n;                                  /* commits checked */
	char seen[AC_HANDLER_MAX_COMMITS][41];     /* a commit pushed to two branches is checked once */
};

/* One comment per commit, whatever runs this push again (see ac_handler_util_comment_once). */
static enum ac_err
comment_once(struct push *p, const char *hash, const char *message)
{
	struct ac_buf note, path, md, what;
	size_t n = strcspn(message, "\r\n");
	enum ac_err err;
	size_t i;

	ac_buf_init(&note, 8192);
	ac_buf_init(&path, 4096);
	ac_buf_init(&md, 16384);
	ac_buf_init(&what, 4096);
	if ((err = ac_buf_printf(&note, "commitcomment:%s:%s/%s/%s", p->t->client_key, p->ws, p->repo, hash)) != AC_OK ||
	    (err = ac_buf_printf(&what, "commit %s/%s@%.12s", p->ws, p->repo, hash)) != AC_OK)
		goto out;
	if ((err = ac_buf_printf(&path, "/2.0/repositories/%s/%s/commit/%s/comments", p->ws, p->repo, hash)) != AC_OK ||
	    (err = ac_buf_adds(&md, "**Commit message check failed.** The first line `")) != AC_OK)
		goto out;
	for (i = 0; i < n && err == AC_OK; i++)
		err = ac_buf_addc(&md, message[i] == '`' ? '\'' : (unsigned char)message[i] < 0x20 ? ' ' : message[i]);
	if (err != AC_OK ||
	    (err = ac_buf_adds(&md, "` does not match the rule for commit messages (a POSIX extended regular "
	    "expression):\n\n```\n")) != AC_OK ||
	    (err = ac_buf_adds(&md, p->ctx->conf->commit_pattern)) != AC_OK ||
	    (err = ac_buf_adds(&md, "\n```\n\nFor example `fix(api): retry on 503`. Merge commits and "
	    "`Revert \"...\"` commits are exempt.\n")) != AC_OK)
		goto out;
	err = ac_handler_util_comment_once(p->ctx, p->t, ac_buf_str(&path), ac_buf_str(&note), "commit-message", hash,
	    ac_buf_str(&md), ac_buf_str(&what));
out:
	ac_buf_release(&what);
	ac_buf_release(&md);
	ac_buf_release(&path);
	ac_buf_release(&note);
	return err;
}

/* One commit object of a push or of GET .../commits: {hash, message, parents}. */
static enum ac_err
check_commit(struct push *p, json_object *commit)
{
	const char *hash = ac_handler_util_get_string(commit, "hash");
	const char *message = ac_handler_util_get_string(commit, "message");
	json_object *parents = ac_handler_util_get(commit, "parents", json_type_array);
	size_t np = parents ? json_object_array_length(parents) : 0, i;
	enum ac_err err;
	int ok;

	if (hash == NULL || strlen(hash) != 40 || !ac_handler_util_valid_hash(hash)) {
		ac_log_warn("push: a commit without a full hash; skipped");
		return AC_OK;
	}
	for (i = 0; i < p->n; i++)
		if (!strcmp(p->seen[i], hash))
			return AC_OK;
	if (p->n == AC_HANDLER_MAX_COMMITS) {
		ac_log_warn("push: more than %d commits; the rest are not checked", AC_HANDLER_MAX_COMMITS);
		return AC_OK;
	}
	memcpy(p->seen[p->n++], hash, 41);
	if (message == NULL)
		message = "";
	ok = ac_handler_util_exempt(message, np) || ac_handler_util_match(p->ctx->conf->commit_pattern, message);
	ac_log_info("commit %s/%s@%.12s: %s", p->ws, p->repo, hash,
	    np >= 2 ? "merge, exempt" : !strncmp(message, "Revert \"", 8) ? "revert, exempt" : ok ? "passes" : "fails");
	if (!ok && (err = comment_once(p, hash, message)) != AC_OK)
		return err;
	/* idempotent by its key: posting it again on a retry replaces it */
	return ac_handler_util_build_status(p->ctx, p->t, p->ws, p->repo, hash, AC_HANDLER_STATUS_COMMIT,
	    ok ? "SUCCESSFUL" : "FAILED", "Commit message",
	    ok ? "The first line follows the rule" : "The first line does not match AC_COMMIT_PATTERN");
}

/* A truncated change (doc/protocol.md §6): its commits through
 * GET .../commits?include=new&exclude=old, page by page. */
static enum ac_err
fetch_commits(struct push *p, const char *new_hash, const char *old_hash)
{
	struct ac_buf path;
	enum ac_err err = AC_OK;
	size_t i;
	int page;

	ac_buf_init(&path, 8192);
	err = ac_buf_printf(&path, "/2.0/repositories/%s/%s/commits?include=%s", p->ws, p->repo, new_hash);
	if (err == AC_OK && old_hash)
		err = ac_buf_printf(&path, "&exclude=%s", old_hash);
	for (page = 0; err == AC_OK && page < AC_HANDLER_MAX_PAGES; page++) {
		json_object *list = NULL, *values;

		if ((err = ac_handler_util_call(p->ctx, p->t, "GET", ac_buf_str(&path), NULL, &list)) != AC_OK)
			break;
		values = ac_handler_util_get(list, "values", json_type_array);
		for (i = 0; values && i < json_object_array_length(values) && err == AC_OK; i++)
			err = check_commit(p, json_object_array_get_idx(values, i));
		if (err == AC_OK &&
		    (err = ac_handler_util_next(p->t, ac_handler_util_get_string(list, "next"), &path, "push")) ==
		    AC_ERR_NOT_FOUND)
			err = AC_OK;
		json_object_put(list);
		if (err != AC_OK || path.len == 0 || p->n >= AC_HANDLER_MAX_COMMITS)
			break;
	}
	ac_buf_release(&path);
	return err;
}

enum ac_err
ac_handler_commits(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const struct ac_event *ev,
    json_object *payload)
{
	json_object *data = ac_handler_util_data(payload), *changes;
	struct ac_buf ws, repo;
	struct push *p;
	enum ac_err err;
	size_t i, j;

	(void)ev;
	if (t->product != AC_PRODUCT_BITBUCKET)
		return AC_ERR_BAD_REQUEST;
	if ((changes = ac_handler_util_get(data, "push.changes", json_type_array)) == NULL) {
		ac_log_warn("repo:push without push.changes");
		return AC_ERR_BAD_REQUEST;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return AC_ERR_NOMEM;
	ac_buf_init(&ws, 1024);
	ac_buf_init(&repo, 1024);
	if ((err = ac_handler_util_repo(data, &ws, &repo)) != AC_OK)
		goto out;
	p->ctx = ctx;
	p->t = t;
	p->ws = ac_buf_str(&ws);
	p->repo = ac_buf_str(&repo);
	for (i = 0; i < json_object_array_length(changes) && err == AC_OK; i++) {
		json_object *ch = json_object_array_get_idx(changes, i), *commits, *trunc;
		const char *new_hash = ac_handler_util_get_string(ch, "new.target.hash");
		const char *old_hash = ac_handler_util_get_string(ch, "old.target.hash");

		/* a deleted branch or tag has no new commits */
		if (!ac_handler_util_get(ch, "new", json_type_object))
			continue;
		trunc = ac_handler_util_get(ch, "truncated", json_type_boolean);
		if (trunc && json_object_get_boolean(trunc)) {
			if (!ac_handler_util_valid_hash(new_hash) || (old_hash && !ac_handler_util_valid_hash(old_hash))) {
				ac_log_warn("repo:push: a truncated change without valid new/old target hashes; skipped");
				continue;
			}
			err = fetch_commits(p, new_hash, old_hash);
			continue;
		}
		commits = ac_handler_util_get(ch, "commits", json_type_array);
		for (j = 0; commits && j < json_object_array_length(commits) && err == AC_OK; j++)
			err = check_commit(p, json_object_array_get_idx(commits, j));
	}
out:
	ac_buf_release(&repo);
	ac_buf_release(&ws);
	free(p);
	return err;
}
