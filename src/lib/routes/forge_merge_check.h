/* forge_merge_check.h: POST /forge/merge-check: a Bitbucket merge check answered by the pull request title rule. */
#ifndef AC_FORGE_MERGE_CHECK_H
#define AC_FORGE_MERGE_CHECK_H

#include "web/request.h"

/* The whole answer is due within this (ms): the pull request fetch gets what is left of it. */
#define AC_FORGE_MERGE_CHECK_BUDGET_MS 4000L

/*
 * The handler of POST /forge/merge-check (after ac_forge_remote_authenticate).
 * The body (Forge's bitbucket:mergeCheck, doc/protocol.md §11.2) is a JSON
 * object {workspace{uuid}, repository{uuid}, pullrequest{id}, trigger{type},
 * ...}: 415 when not JSON, 400 when it is not
 * an object or names no workspace, repository or pull request id. The pull
 * request is fetched with the installation's app system token (ac_forge_call,
 * GET /2.0/repositories/{workspace}/{repository}/pullrequests/{id}) within
 * what is left of AC_FORGE_MERGE_CHECK_BUDGET_MS, and its title put to the
 * rule of AC_PR_TITLE_PATTERN (ac_handler_pr_title_passes): 200 with
 * {"success": true|false, "message": "..."}. Whatever keeps the title from
 * being checked (no live token, the product silent past the budget or
 * unreachable, refusing the token, an answer without a title) is also 200
 * with success false and a message that says what and how to fix it: a 5xx
 * would show in Bitbucket as a broken check rather than a reason.
 */
enum ac_err ac_forge_merge_check_handle(struct ac_request *req);

#endif
