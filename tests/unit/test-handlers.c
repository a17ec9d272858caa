/* test-handlers.c: handler rules, payload parsing, notes and the client's refusals, without a network. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbound/client.h"
#include "base/conf.h"
#include "events/handler-util.h"
#include "events/handler.h"
#include "outbound/http.h"
#include "store/inbox.h"
#include "base/json.h"
#include "store/store.h"
#include "store/tenant.h"
#include "unit.h"

static char dir[64];
static struct ac_conf conf;
static struct ac_store *store;
static struct ac_client *client;

static void
setup(void)
{
	char *why = NULL;

	snprintf(dir, sizeof(dir), "/tmp/test-handlers-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("AC_BASE_URL", "https://app.example.com", 1);
	setenv("AC_DATA_DIR", dir, 1);
	setenv("AC_ALLOWED_HOSTS", "bitbucket.org,api.bitbucket.org,127.0.0.1", 1);
	unsetenv("AC_PRODUCT");
	unsetenv("AC_COMMIT_PATTERN");
	unsetenv("AC_PR_TITLE_PATTERN");
	unsetenv("AC_CONFIG");
	ck_assert_int_eq(ac_conf_load(&conf, NULL, &why), AC_OK);
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_NOSYNC, &store), AC_OK);
	ck_assert_int_eq(ac_client_new(&conf, store, &client), AC_OK);
}

static void
teardown(void)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "sync.lock" };
	char p[128];
	size_t i;

	ac_client_free(client);
	ac_store_close(store);
	ac_conf_release(&conf);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
	ac_handler_util_cleanup();
	ac_http_cleanup();
}

static json_object *
parse(const char *s)
{
	json_object *o = NULL;

	ck_assert_int_eq(ac_json_parse(s, strlen(s), &o, NULL), AC_OK);
	return o;
}

static json_object *
fixture(const char *name)
{
	char path[512];
	json_object *o;

	snprintf(path, sizeof(path), "%s/tests/sim/payloads/%s", AC_SRCDIR, name);
	o = json_object_from_file(path);
	ck_assert_ptr_nonnull(o);
	return o;
}

static void
tenant(struct ac_tenant *t, enum ac_product product, const char *api)
{
	memset(t, 0, sizeof(*t));
	t->client_key = "ck-1";
	t->shared_secret = "s3cret";
	t->key = "connect-fcgi";
	t->product = product;
	t->base_url = (char *)api;
	t->base_api_url = (char *)api;
	t->oauth_client_id = "";
	t->display_url = "";
	t->state = AC_TENANT_INSTALLED;
}

START_TEST(conventional_titles)
{
	static const struct {
		const char *text;
		int ok;
	} v[] = {
		{ "feat: add linters", 1 },
		{ "fix(parser): accept empty arrays", 1 },
		{ "feat(api/v2)!: drop the old route", 1 },
		{ "chore(deps-1.2_x): bump", 1 },
		{ "refactor!: split files", 1 },
		{ "feat: first line\nand a body that is not checked", 1 },
		{ "fix: windows\r\nline ends", 1 },
		{ "Add & run linters", 0 },
		{ "feat:no space", 0 },
		{ "feat: ", 0 },
		{ "Feat: upper case", 0 },
		{ "feature: not a type", 0 },
		{ "feat(Scope): upper-case scope", 0 },
		{ "run linters\nfeat: the second line does not count", 0 },
		{ "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_msg(ac_handler_util_match(conf.commit_pattern, v[i].text) == v[i].ok, "%s", v[i].text);
		ck_assert_msg(ac_handler_util_match(conf.pr_title_pattern, v[i].text) == v[i].ok, "%s", v[i].text);
	}
	/* another pattern, then the first again: the cache keeps both apart */
	ck_assert_int_eq(ac_handler_util_match("^JIRA-[0-9]+ ", "JIRA-12 fix it"), 1);
	ck_assert_int_eq(ac_handler_util_match("^JIRA-[0-9]+ ", "feat: x"), 0);
	ck_assert_int_eq(ac_handler_util_match(conf.commit_pattern, "feat: x"), 1);
	ck_assert_int_eq(ac_handler_util_match("([unclosed", "anything"), 0);
}
END_TEST

START_TEST(merges_and_reverts)
{
	ck_assert_int_eq(ac_handler_util_exempt("Merge branch 'x'", 2), 1);
	ck_assert_int_eq(ac_handler_util_exempt("anything", 3), 1);
	ck_assert_int_eq(ac_handler_util_exempt("Revert \"feat: x\"\n\nThis reverts commit abc.", 1), 1);
	ck_assert_int_eq(ac_handler_util_exempt("Revert feat: x", 1), 0);
	ck_assert_int_eq(ac_handler_util_exempt("revert \"x\"", 1), 0);
	ck_assert_int_eq(ac_handler_util_exempt("Merge branch 'x'", 1), 0);
	ck_assert_int_eq(ac_handler_util_exempt(NULL, 0), 0);
}
END_TEST

START_TEST(payload_shapes)
{
	json_object *pr = fixture("bitbucket-webhook-pullrequest-created.json");
	json_object *push = fixture("bitbucket-webhook-repo-push.json");
	json_object *bare, *data;
	struct ac_buf ws, repo;

	ac_buf_init(&ws, 1024);
	ac_buf_init(&repo, 1024);
	/* the envelope of doc/protocol.md §6 and the bare data give the same answers */
	data = ac_handler_util_data(pr);
	ck_assert_ptr_nonnull(ac_handler_util_get(data, "pullrequest", json_type_object));
	ck_assert_ptr_eq(ac_handler_util_data(data), data);
	ck_assert_str_eq(ac_handler_util_get_string(data, "pullrequest.source.commit.hash"), "111111111111");
	ck_assert_str_eq(ac_handler_util_get_string(data, "pullrequest.title"), "Add & run linters");
	ck_assert_ptr_null(ac_handler_util_get_string(data, "pullrequest.id"));
	ck_assert_ptr_nonnull(ac_handler_util_get(data, "pullrequest.id", json_type_int));
	ck_assert_int_eq(ac_handler_util_repo(data, &ws, &repo), AC_OK);
	ck_assert_str_eq(ac_buf_str(&ws), "example-workspace");
	ck_assert_str_eq(ac_buf_str(&repo), "example-repo");

	data = ac_handler_util_data(push);
	ck_assert_ptr_nonnull(ac_handler_util_get(data, "push.changes", json_type_array));
	ck_assert_int_eq(ac_handler_util_repo(data, &ws, &repo), AC_OK);
	ck_assert_str_eq(ac_buf_str(&ws), "example-workspace");

	/* {uuid} names are path segments %7B...%7D; the html link is the last resort */
	bare = parse("{\"repository\":{\"full_name\":\"{ws-uuid}/{repo uuid}\"},\"data\":{}}");
	ck_assert_ptr_eq(ac_handler_util_data(bare), bare);
	ck_assert_int_eq(ac_handler_util_repo(bare, &ws, &repo), AC_OK);
	ck_assert_str_eq(ac_buf_str(&ws), "%7Bws-uuid%7D");
	ck_assert_str_eq(ac_buf_str(&repo), "%7Brepo%20uuid%7D");
	json_object_put(bare);
	bare = parse("{\"repository\":{\"links\":{\"html\":{\"href\":\"https://bitbucket.org/w/r/\"}}}}");
	ck_assert_int_eq(ac_handler_util_repo(bare, &ws, &repo), AC_OK);
	ck_assert_str_eq(ac_buf_str(&ws), "w");
	ck_assert_str_eq(ac_buf_str(&repo), "r");
	json_object_put(bare);
	bare = parse("{\"repository\":{\"full_name\":\"../x/y\"}}");
	ck_assert_int_eq(ac_handler_util_repo(bare, &ws, &repo), AC_ERR_BAD_REQUEST);
	json_object_put(bare);
	bare = parse("{\"repository\":{\"full_name\":\"noslash\"}}");
	ck_assert_int_eq(ac_handler_util_repo(bare, &ws, &repo), AC_ERR_BAD_REQUEST);
	json_object_put(bare);

	ck_assert_int_eq(ac_handler_util_valid_hash("111111111111"), 1);
	ck_assert_int_eq(ac_handler_util_valid_hash("1111111111111111111111111111111111111111"), 1);
	ck_assert_int_eq(ac_handler_util_valid_hash("11111111111111111111111111111111111111111"), 0);
	ck_assert_int_eq(ac_handler_util_valid_hash("abc"), 0);
	ck_assert_int_eq(ac_handler_util_valid_hash("ABCDEF12"), 0);
	ck_assert_int_eq(ac_handler_util_valid_hash("abcdef1/../x"), 0);
	ck_assert_int_eq(ac_handler_util_valid_hash(NULL), 0);
	ac_buf_release(&ws);
	ac_buf_release(&repo);
	json_object_put(pr);
	json_object_put(push);
}
END_TEST

START_TEST(status_codes)
{
	static const struct {
		long status;
		enum ac_err err;
	} v[] = {
		{ 200, AC_OK }, { 201, AC_OK }, { 204, AC_OK },
		{ 400, AC_ERR_BAD_REQUEST }, { 403, AC_ERR_BAD_REQUEST }, { 422, AC_ERR_BAD_REQUEST },
		{ 401, AC_ERR_UPSTREAM }, { 404, AC_ERR_UPSTREAM }, { 409, AC_ERR_UPSTREAM },
		{ 500, AC_ERR_UPSTREAM }, { 503, AC_ERR_UPSTREAM }, { 302, AC_ERR_BAD_REQUEST },
	};
	struct ac_handler_ctx ctx = { &conf, store, client, -1, NULL };
	struct ac_client_response r;
	size_t i;

	ac_client_response_init(&r);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		r.status = v[i].status;
		ck_assert_msg(ac_handler_util_status(&ctx, &r, "test") == v[i].err, "%ld", v[i].status);
	}
	ck_assert_int_eq(ctx.retry_after, -1);
	r.status = 429;
	ck_assert_int_eq(ac_handler_util_status(&ctx, &r, "test"), AC_ERR_UPSTREAM);
	ck_assert_int_eq(ctx.retry_after, -1);
	r.retry_after = 30;
	ck_assert_int_eq(ac_handler_util_status(&ctx, &r, "test"), AC_ERR_UPSTREAM);
	ck_assert_int_eq(ctx.retry_after, 30);
	ac_client_response_release(&r);
}
END_TEST

START_TEST(table)
{
	size_t n;
	const struct ac_handler *t = ac_handler_table(&n);

	ck_assert_uint_eq(n, 7); /* and the three Forge rows (test-forge-out.c) */
	ck_assert_ptr_eq(ac_handler_find("pullrequest:created")->fn, ac_handler_pr_title);
	ck_assert_ptr_eq(ac_handler_find("pullrequest:updated")->fn, ac_handler_pr_title);
	ck_assert_ptr_eq(ac_handler_find("repo:push")->fn, ac_handler_commits);
	ck_assert_ptr_eq(ac_handler_find("jira:issue_created")->fn, ac_handler_jira_issue);
	ck_assert_ptr_null(ac_handler_find("pullrequest:fulfilled"));
	ck_assert_ptr_null(ac_handler_find("repo:push:x"));
	ck_assert_ptr_null(ac_handler_find(""));
	ck_assert_ptr_null(ac_handler_find(NULL));
	ck_assert_ptr_nonnull(t[0].help);
}
END_TEST

START_TEST(notes)
{
	char long_key[1200];

	ck_assert_int_eq(ac_handler_util_note_has(store, "prcomment:ck:w/r/1:abc"), 0);
	ck_assert_int_eq(ac_handler_util_note_put(store, "prcomment:ck:w/r/1:abc"), AC_OK);
	ck_assert_int_eq(ac_handler_util_note_has(store, "prcomment:ck:w/r/1:abc"), 1);
	ck_assert_int_eq(ac_handler_util_note_has(store, "prcomment:ck:w/r/1:abd"), 0);
	/* past LMDB's key limit: stored by hash, still found */
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	ck_assert_int_eq(ac_handler_util_note_has(store, long_key), 0);
	ck_assert_int_eq(ac_handler_util_note_put(store, long_key), AC_OK);
	ck_assert_int_eq(ac_handler_util_note_has(store, long_key), 1);
	long_key[5] = 'x';
	ck_assert_int_eq(ac_handler_util_note_has(store, long_key), 0);
}
END_TEST

/* The marker of a comment posted once: stable, per app, kind and subject, and safe in markdown. */
START_TEST(comment_markers)
{
	struct ac_handler_ctx ctx = { &conf, store, client, -1, NULL };
	struct ac_buf a, b;
	struct ac_tenant t;
	size_t i;

	ac_buf_init(&a, 1024);
	ac_buf_init(&b, 1024);
	tenant(&t, AC_PRODUCT_BITBUCKET, "https://api.bitbucket.org");
	ck_assert_int_eq(ac_handler_util_marker(&ctx, &t, "pr-title", "abc", &a), AC_OK);
	ck_assert_int_eq(ac_handler_util_marker(&ctx, &t, "pr-title", "abc", &b), AC_OK);
	ck_assert_str_eq(ac_buf_str(&a), ac_buf_str(&b));
	ck_assert_uint_eq(a.len, strlen("connect-fcgi:pr-title:") + 32);
	ck_assert(!strncmp(ac_buf_str(&a), "connect-fcgi:pr-title:", 22));
	for (i = 22; i < a.len; i++)
		ck_assert(strchr("0123456789abcdef", a.data[i]) != NULL);
	/* another subject, another kind, another app: another marker */
	ck_assert_int_eq(ac_handler_util_marker(&ctx, &t, "pr-title", "abd", &b), AC_OK);
	ck_assert_str_ne(ac_buf_str(&a), ac_buf_str(&b));
	ck_assert_int_eq(ac_handler_util_marker(&ctx, &t, "commit-message", "abc", &b), AC_OK);
	ck_assert_str_ne(ac_buf_str(&a), ac_buf_str(&b));
	t.key = "another-app";
	ck_assert_int_eq(ac_handler_util_marker(&ctx, &t, "pr-title", "abc", &b), AC_OK);
	ck_assert_str_ne(ac_buf_str(&a), ac_buf_str(&b));
	ac_buf_release(&a);
	ac_buf_release(&b);
}
END_TEST

/* A page's `next` is followed only within the tenant's API base, and never from a look-alike host. */
START_TEST(next_pages)
{
	static const struct {
		const char *base, *next, *path;
	} v[] = {
		{ "https://api.bitbucket.org", "https://api.bitbucket.org/2.0/x?page=2", "/2.0/x?page=2" },
		{ "https://api.bitbucket.org/", "https://api.bitbucket.org/2.0/x?page=2", "/2.0/x?page=2" },
		{ "http://127.0.0.1:9/api", "http://127.0.0.1:9/api/2.0/x?page=2", "/2.0/x?page=2" },
		{ "https://api.bitbucket.org", "https://api.bitbucket.org.evil.example/2.0/x", NULL },
		{ "https://api.bitbucket.org", "https://evil.example/2.0/x", NULL },
		{ "https://api.bitbucket.org", "/2.0/x?page=2", NULL },
		{ "http://127.0.0.1:9/api", "http://127.0.0.1:9/apix/2.0/x", NULL },
		{ "https://api.bitbucket.org", NULL, NULL },
		/* by the one URL parser: host case and default port do not matter; userinfo does */
		{ "https://api.bitbucket.org", "https://API.bitbucket.org:443/2.0/x?page=3", "/2.0/x?page=3" },
		{ "https://api.bitbucket.org", "https://api.bitbucket.org@evil.example/2.0/x", NULL },
		{ "https://api.bitbucket.org", "https://user@api.bitbucket.org/2.0/x", NULL },
		{ "https://api.bitbucket.org", "http://api.bitbucket.org/2.0/x", NULL },
		{ "http://127.0.0.1:9/api", "http://127.0.0.1:9/api", NULL },
	};
	struct ac_tenant t;
	struct ac_buf path;
	size_t i;

	ac_buf_init(&path, 4096);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		tenant(&t, AC_PRODUCT_BITBUCKET, v[i].base);
		ck_assert_int_eq(ac_buf_adds(&path, "stale"), AC_OK);
		ck_assert_int_eq(ac_handler_util_next(&t, v[i].next, &path, "test"), v[i].path ? AC_OK : AC_ERR_NOT_FOUND);
		ck_assert_str_eq(ac_buf_str(&path), v[i].path ? v[i].path : "");
	}
	ac_buf_release(&path);
}
END_TEST

/* Events that can never succeed are permanent before any call (the API base is unroutable). */
START_TEST(bad_events_are_permanent)
{
	struct ac_handler_ctx ctx = { &conf, store, client, -1, NULL };
	struct ac_event ev;
	struct ac_tenant bb, jira;
	json_object *o;

	memset(&ev, 0, sizeof(ev));
	tenant(&bb, AC_PRODUCT_BITBUCKET, "https://api.bitbucket.org");
	tenant(&jira, AC_PRODUCT_JIRA, "https://example.atlassian.net");
	o = parse("{\"event\":\"pullrequest:created\",\"data\":{\"pullrequest\":{\"title\":\"x\"}}}");
	ck_assert_int_eq(ac_handler_pr_title(&ctx, &bb, &ev, o), AC_ERR_BAD_REQUEST);
	json_object_put(o);
	o = parse("{\"pullrequest\":{\"id\":3,\"title\":\"x\",\"source\":{\"commit\":{\"hash\":\"../../x\"}}}}");
	ck_assert_int_eq(ac_handler_pr_title(&ctx, &bb, &ev, o), AC_ERR_BAD_REQUEST);
	json_object_put(o);
	o = parse("{\"pullrequest\":{\"id\":3,\"title\":\"x\",\"source\":{\"commit\":{\"hash\":\"abcdef123456\"}}}}");
	ck_assert_int_eq(ac_handler_pr_title(&ctx, &bb, &ev, o), AC_ERR_BAD_REQUEST); /* no repository */
	ck_assert_int_eq(ac_handler_pr_title(&ctx, &jira, &ev, o), AC_ERR_BAD_REQUEST);
	json_object_put(o);
	/* an id json-c had to clamp (2^64-1 read as 2^63-1) is no id: refused before any call */
	{
		struct ac_tenant lo;
		static const char *const ids[] = { "18446744073709551615", "9223372036854775808", "-1", "0", "1e3",
			"9007199254740993" };
		char doc[512];
		size_t i;

		tenant(&lo, AC_PRODUCT_BITBUCKET, "http://127.0.0.1:1");
		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			snprintf(doc, sizeof(doc), "{\"repository\":{\"full_name\":\"w/r\"},\"pullrequest\":{\"id\":%s,"
			    "\"title\":\"x\",\"source\":{\"commit\":{\"hash\":\"abcdef123456\"}}}}", ids[i]);
			o = parse(doc);
			ck_assert_msg(ac_handler_pr_title(&ctx, &lo, &ev, o) == AC_ERR_BAD_REQUEST, "id %s", ids[i]);
			json_object_put(o);
		}
	}
	o = parse("{\"event\":\"repo:push\",\"data\":{\"repository\":{\"full_name\":\"w/r\"}}}");
	ck_assert_int_eq(ac_handler_commits(&ctx, &bb, &ev, o), AC_ERR_BAD_REQUEST);
	json_object_put(o);
	/* a push that deletes a branch: nothing to check, done */
	o = parse("{\"repository\":{\"full_name\":\"w/r\"},\"push\":{\"changes\":[{\"old\":{},\"new\":null}]}}");
	ck_assert_int_eq(ac_handler_commits(&ctx, &bb, &ev, o), AC_OK);
	json_object_put(o);
	/* neither key nor id (an id alone is enough: GET /rest/api/3/issue/{id or key}) */
	o = parse("{\"webhookEvent\":\"jira:issue_created\",\"issue\":{\"id\":\"..\",\"fields\":{}}}");
	ck_assert_int_eq(ac_handler_jira_issue(&ctx, &jira, &ev, o), AC_ERR_BAD_REQUEST);
	ck_assert_int_eq(ac_handler_jira_issue(&ctx, &bb, &ev, o), AC_ERR_BAD_REQUEST);
	json_object_put(o);
	ck_assert_int_eq(ctx.retry_after, -1);
}
END_TEST

START_TEST(client_refusals)
{
	struct ac_client_response r;
	struct ac_client_trace tr;
	struct ac_tenant t;

	ac_client_response_init(&r);
	/* no network needed: every one of these is refused before a connection */
	tenant(&t, AC_PRODUCT_BITBUCKET, "http://api.bitbucket.org");
	ck_assert_int_eq(ac_client_call(client, &t, "GET", "/2.0/user", NULL, 0, &r, NULL), AC_ERR_HOST_NOT_ALLOWED);
	tenant(&t, AC_PRODUCT_BITBUCKET, "https://api.evil.example.com");
	ck_assert_int_eq(ac_client_call(client, &t, "GET", "/2.0/user", NULL, 0, &r, NULL), AC_ERR_HOST_NOT_ALLOWED);
	tenant(&t, AC_PRODUCT_BITBUCKET, "http://127.0.0.2:9/api");
	ck_assert_int_eq(ac_client_call(client, &t, "GET", "/2.0/user", NULL, 0, &r, NULL), AC_ERR_HOST_NOT_ALLOWED);
	tenant(&t, AC_PRODUCT_BITBUCKET, "https://api.bitbucket.org");
	ck_assert_int_eq(ac_client_call(client, &t, "GET", "2.0/user", NULL, 0, &r, NULL), AC_ERR_INVALID);
	ck_assert_int_eq(ac_client_call(client, &t, "GET", "/2.0/user\r\nX: y", NULL, 0, &r, NULL), AC_ERR_INVALID);
	ck_assert_int_eq(ac_client_call(client, &t, "get", "/2.0/user", NULL, 0, &r, NULL), AC_ERR_INVALID);
	ck_assert_int_eq(ac_client_call(client, &t, "GET", "/2.0/a b", NULL, 0, &r, NULL), AC_ERR_INVALID);
	t.state = AC_TENANT_UNINSTALLED;
	memset(&tr, 0, sizeof(tr));
	ck_assert_int_eq(ac_client_call(client, &t, "GET", "/2.0/user", NULL, 0, &r, &tr), AC_ERR_TENANT_UNINSTALLED);
	ck_assert_str_eq(tr.url, "");
	tenant(&t, AC_PRODUCT_BITBUCKET, "");
	ck_assert_int_eq(ac_client_call(client, &t, "GET", "/2.0/user", NULL, 0, &r, NULL), AC_ERR_INVALID);
	ac_client_response_release(&r);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("handlers");
	TCase *tc = tcase_create("handlers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, conventional_titles);
	tcase_add_test(tc, merges_and_reverts);
	tcase_add_test(tc, payload_shapes);
	tcase_add_test(tc, status_codes);
	tcase_add_test(tc, table);
	tcase_add_test(tc, notes);
	tcase_add_test(tc, comment_markers);
	tcase_add_test(tc, next_pages);
	tcase_add_test(tc, bad_events_are_permanent);
	tcase_add_test(tc, client_refusals);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
