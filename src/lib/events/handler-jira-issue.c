/* handler-jira-issue.c: jira:issue_created, avi:jira:created:issue: reads the issue back, to show the product calls work. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "events/handler-util.h"
#include "base/log.h"

enum ac_err
ac_handler_jira_issue(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const struct ac_event *ev,
    json_object *payload)
{
	json_object *data = ac_handler_util_data(payload), *issue = NULL, *jid;
	const char *key = ac_handler_util_get_string(data, "issue.key"), *summary;
	char idbuf[32];
	struct ac_buf path;
	enum ac_err err;

	if (t->product != AC_PRODUCT_JIRA)
		return AC_ERR_BAD_REQUEST;
	/* Forge events carry ids (doc/protocol.md §11.2): the key when there is one, else the id, a string or a number */
	if ((key == NULL || *key == '\0') && (key = ac_handler_util_get_string(data, "issue.id")) == NULL &&
	    (jid = ac_handler_util_get(data, "issue.id", json_type_int)) != NULL) {
		snprintf(idbuf, sizeof(idbuf), "%" PRId64, json_object_get_int64(jid));
		key = idbuf;
	}
	if (key == NULL || *key == '\0' || strlen(key) > 255 || !strcmp(key, ".") || !strcmp(key, "..")) {
		ac_log_warn("%s without issue.key or issue.id", ev && ev->event_key ? ev->event_key : "issue event");
		return AC_ERR_BAD_REQUEST;
	}
	ac_buf_init(&path, 4096);
	/* a GET and a log line: nothing on the product to repeat when the event runs again */
	if ((err = ac_buf_adds(&path, "/rest/api/3/issue/")) != AC_OK ||
	    (err = ac_handler_util_encode_segment(&path, key)) != AC_OK ||
	    (err = ac_handler_util_call(ctx, t, "GET", ac_buf_str(&path), NULL, &issue)) != AC_OK)
		goto out;
	summary = ac_handler_util_get_string(issue, "fields.summary");
	ac_log_info("jira issue %s of %s: summary: %.300s", key, t->client_key, summary ? summary : "(none)");
out:
	json_object_put(issue);
	ac_buf_release(&path);
	return err;
}
