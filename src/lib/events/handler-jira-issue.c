/* handler-jira-issue.c: jira:issue_created: reads the issue back with a signed call, to show Jira signing works. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "events/handler-util.h"
#include "base/log.h"

enum ac_err
ac_handler_jira_issue(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const struct ac_event *ev,
    json_object *payload)
{
	const char *key = ac_handler_util_get_string(payload, "issue.key"), *summary;
	json_object *issue = NULL;
	struct ac_buf path;
	enum ac_err err;

	(void)ev;
	if (t->product != AC_PRODUCT_JIRA)
		return AC_ERR_BAD_REQUEST;
	if (key == NULL || *key == '\0' || strlen(key) > 255) {
		ac_log_warn("jira:issue_created without issue.key");
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
