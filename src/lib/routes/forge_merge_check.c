/* forge_merge_check.c: POST /forge/merge-check: the pull request fetched with the app's token, its title put to the rule. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "events/handler-util.h"
#include "outbound/forge_client.h"
#include "routes/forge_auth.h"
#include "routes/forge_merge_check.h"

/* Leaves the answer this much of the budget after the fetch, and the fetch at least this much. */
#define ANSWER_MS 100L
#define FETCH_MIN_MS 250L
/* A uuid in braces is 38 bytes; anything much longer is not one. */
#define UUID_MAX 64
/* The most of a title put in a message: Bitbucket shows the message beside the merge button. */
#define TITLE_SHOWN 200

/* {"success": ok, "message": text}, 200. */
static enum ac_err
answer(struct ac_request *req, int ok, const char *message)
{
	json_object *o = json_object_new_object(), *s = json_object_new_boolean(ok),
	    *m = json_object_new_string(message);
	enum ac_err err = AC_ERR_NOMEM;

	if (o == NULL || s == NULL || m == NULL) {
		json_object_put(s);
		json_object_put(m);
		goto out;
	}
	json_object_object_add(o, "success", s);
	json_object_object_add(o, "message", m);
	err = ac_response_json(req, 200, o);
out:
	json_object_put(o);
	return err;
}

/* The uuid at "<what>.uuid" of the body, encoded as one URL path segment into seg. */
static enum ac_err
uuid_segment(struct ac_request *req, json_object *body, const char *what, struct ac_buf *seg)
{
	char dotted[32];
	const char *u;

	snprintf(dotted, sizeof(dotted), "%s.uuid", what);
	u = ac_handler_util_get_string(body, dotted);
	if (u == NULL || *u == '\0' || strlen(u) > UUID_MAX)
		return ac_request_fail(req, AC_ERR_BAD_REQUEST, "the merge check names no %s (%s)", what, dotted);
	return ac_handler_util_encode_segment(seg, u);
}

/* What the failure of the fetch means for the person who wants to merge. */
static enum ac_err
not_checked(struct ac_request *req, enum ac_err err, long status, const char *what, const char *path)
{
	struct ac_buf m;
	enum ac_err e;

	ac_buf_init(&m, 4096);
	switch (err) {
	case AC_ERR_FORGE_NO_TOKEN:
		e = ac_buf_adds(&m, "The title was not checked: the app's backend holds no live app system token "
		    "for this installation. The merge-check endpoint and an hourly scheduledTrigger need "
		    "auth.appSystemToken in the app's manifest (acctl forge manifest renders one).");
		break;
	case AC_ERR_FORGE_NO_INSTALLATION:
		e = ac_buf_adds(&m, "The title was not checked: the app's backend does not know this "
		    "installation's API base yet (no installed event or invocation has told it).");
		break;
	case AC_ERR_UPSTREAM:
		e = ac_buf_printf(&m, "The title was not checked: Bitbucket did not answer the app's request "
		    "for %s within the merge check's %ld s budget, or could not be reached. Run the check "
		    "again.", what, AC_FORGE_MERGE_CHECK_BUDGET_MS / 1000);
		break;
	case AC_ERR_HOST_NOT_ALLOWED:
		e = ac_buf_adds(&m, "The title was not checked: the installation's API base is not among the "
		    "hosts the app's backend may call (AC_ALLOWED_HOSTS).");
		break;
	case AC_OK: /* the product answered, but not with a pull request that has a title */
		if (status == 401 || status == 403)
			e = ac_buf_printf(&m, "The title was not checked: Bitbucket refused the app's token "
			    "for %s (HTTP %ld). Permissions can take a while after an install; the app needs "
			    "the scope read:pullrequest:bitbucket.", what, status);
		else if (status < 200 || status > 299)
			e = ac_buf_printf(&m, "The title was not checked: Bitbucket answered HTTP %ld for %s.",
			    status, what);
		else
			e = ac_buf_printf(&m, "The title was not checked: Bitbucket's answer for %s has no "
			    "title.", what);
		break;
	default:
		e = ac_buf_printf(&m, "The title was not checked: the app's backend could not read %s (%s).",
		    what, ac_err_code(err));
		break;
	}
	if (e == AC_OK) {
		ac_log_warn("merge check of %s: not checked: %s (HTTP %ld)", path, ac_err_code(err), status);
		e = answer(req, 0, ac_buf_str(&m));
	}
	ac_buf_release(&m);
	return e;
}

/* The verdict of the rule on title, in words. */
static enum ac_err
verdict(struct ac_request *req, const char *title, const char *path, const char *trigger)
{
	int ok = ac_handler_pr_title_passes(req->app->conf, title);
	struct ac_buf m;
	enum ac_err err;

	ac_buf_init(&m, 8192);
	if (ok)
		err = ac_buf_adds(&m, "The pull request title follows the rule for titles.");
	else
		err = ac_buf_printf(&m, "The pull request title \"%.*s%s\" does not match the rule for titles "
		    "(a POSIX extended regular expression): %s. Edit the title, for example "
		    "\"feat(parser): accept empty arrays\".", TITLE_SHOWN, title,
		    strlen(title) > TITLE_SHOWN ? "..." : "", req->app->conf->pr_title_pattern);
	if (err == AC_OK) {
		ac_log_info("merge check of %s (%s): title %s", path, trigger ? trigger : "no trigger",
		    ok ? "passes" : "fails");
		err = answer(req, ok, ac_buf_str(&m));
	}
	ac_buf_release(&m);
	return err;
}

enum ac_err
ac_forge_merge_check_handle(struct ac_request *req)
{
	const struct ac_fit *fit = ac_forge_fit(req);
	struct ac_client_response resp;
	json_object *body = NULL, *pr = NULL, *jid;
	struct ac_buf ws, repo, path, what;
	const char *why = NULL, *title, *trigger;
	int64_t id, left;
	enum ac_err err;

	if (fit == NULL)
		return AC_ERR_INTERNAL;
	ac_client_response_init(&resp);
	ac_buf_init(&ws, 1024);
	ac_buf_init(&repo, 1024);
	ac_buf_init(&path, 4096);
	ac_buf_init(&what, 4096);
	if (!ac_request_is_json(req)) {
		err = ac_request_fail(req, AC_ERR_MEDIA_TYPE, "Content-Type must be application/json");
		goto out;
	}
	if (ac_json_parse(req->body.data ? req->body.data : "", req->body.len, &body, &why) != AC_OK ||
	    !json_object_is_type(body, json_type_object)) {
		err = ac_request_fail(req, AC_ERR_BAD_JSON, "the body is not a JSON object: %s", why ? why : "?");
		goto out;
	}
	jid = ac_handler_util_get(body, "pullrequest.id", json_type_int);
	/* json-c clamps past 64 bits; ids past 2^53 are not interoperable JSON numbers (RFC 7493 2.2) */
	if (jid == NULL || ac_json_int_in(jid, 1, INT64_C(1) << 53, 0, &id) != AC_OK) {
		err = ac_request_fail(req, AC_ERR_BAD_REQUEST, "the merge check names no pull request (pullrequest.id)");
		goto out;
	}
	if ((err = uuid_segment(req, body, "workspace", &ws)) != AC_OK ||
	    (err = uuid_segment(req, body, "repository", &repo)) != AC_OK)
		goto out;
	trigger = ac_handler_util_get_string(body, "trigger.type");
	if ((err = ac_buf_printf(&path, "/2.0/repositories/%s/%s/pullrequests/%" PRId64, ac_buf_str(&ws),
	    ac_buf_str(&repo), id)) != AC_OK ||
	    (err = ac_buf_printf(&what, "pull request #%" PRId64, id)) != AC_OK)
		goto out;
	/* the fetch gets what the token check left of the budget, and the answer a moment after it */
	left = AC_FORGE_MERGE_CHECK_BUDGET_MS - ANSWER_MS - (int64_t)((ac_clock_usec() - req->start_usec) / 1000);
	if (left < FETCH_MIN_MS)
		left = FETCH_MIN_MS;
	err = ac_forge_call(req->app->conf, req->app->store, fit->installation_id, "GET", ac_buf_str(&path),
	    NULL, 0, (long)left, &resp);
	if (err == AC_ERR_NOMEM)
		goto out;
	if (err == AC_OK && resp.status >= 200 && resp.status <= 299 &&
	    ac_json_parse(resp.body.data ? resp.body.data : "", resp.body.len, &pr, NULL) == AC_OK &&
	    (title = ac_handler_util_get_string(pr, "title")) != NULL) {
		err = verdict(req, title, ac_buf_str(&path), trigger);
		goto out;
	}
	err = not_checked(req, err, resp.status, ac_buf_str(&what), ac_buf_str(&path));
out:
	json_object_put(pr);
	json_object_put(body);
	ac_buf_release(&what);
	ac_buf_release(&path);
	ac_buf_release(&repo);
	ac_buf_release(&ws);
	ac_client_response_release(&resp);
	return err;
}
