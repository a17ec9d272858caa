/* handlers.c: the table of event handlers: a new rule is one file and one row here. */
#include "config.h"

#include <string.h>

#include "events/handler-util.h"
#include "events/handler.h"

static const struct ac_handler table[] = {
	/* pattern                 handler                 help */
	{ "pullrequest:created", ac_handler_pr_title, "PR title must match AC_PR_TITLE_PATTERN: comment once, build status" },
	{ "pullrequest:updated", ac_handler_pr_title, "the same check when the PR changes" },
	{ "repo:push", ac_handler_commits, "each new commit's first line must match AC_COMMIT_PATTERN" },
	{ "jira:issue_created", ac_handler_jira_issue, "reads the new issue back with a signed call, logs its summary" },
	/* Forge (doc/protocol.md §11.2): the same handlers, calling apiBaseUrl with the app system token */
	{ "avi:bitbucket:created:pullrequest", ac_handler_pr_title, "Forge: the PR title rule (the PR fetched when the event lacks it)" },
	{ "avi:bitbucket:updated:pullrequest", ac_handler_pr_title, "Forge: the same check when the PR changes" },
	{ "avi:jira:created:issue", ac_handler_jira_issue, "Forge: reads the new issue back, logs its summary" },
};

static int
matches(const char *pattern, const char *key)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return !strncmp(pattern, key, n - 1);
	return !strcmp(pattern, key);
}

const struct ac_handler *
ac_handler_find(const char *event_key)
{
	size_t i;

	if (event_key == NULL)
		return NULL;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (matches(table[i].pattern, event_key))
			return &table[i];
	return NULL;
}

const struct ac_handler *
ac_handler_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
