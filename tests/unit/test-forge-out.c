/* test-forge-out.c: calls of a Forge installation with its system token, and Forge events through the handler table. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/conf.h"
#include "base/json.h"
#include "events/handler-util.h"
#include "events/handler.h"
#include "events/worker.h"
#include "outbound/client.h"
#include "outbound/forge_client.h"
#include "outbound/http.h"
#include "store/inbox.h"
#include "store/store.h"
#include "unit.h"

#define INST "ari:cloud:ecosystem::installation/11111111-2222-3333-4444-555555555555"
#define TOKEN "sys-token-6f1d2c9a8b7e"
#define HASH "0123456789abcdef0123456789abcdef01234567"

static char dir[64];
static char base[128];       /* the installation's apiBaseUrl: a path of its own */
static int port;
static struct ac_conf conf;
static struct ac_store *st;
static struct ac_client *client;
static pid_t server = -1;
static int calls[2] = { -1, -1 }; /* the server writes "METHOD PATH|AUTHORIZATION\n" per request */

/* The value of header name in the request head req (up to its end), into out. */
static void
header(const char *req, const char *name, char *out, size_t n)
{
	const char *p = strcasestr(req, name), *e;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(name);
	while (*p == ' ')
		p++;
	e = strstr(p, "\r\n");
	snprintf(out, n, "%.*s", e ? (int)(e - p) : (int)strlen(p), p);
}

/* A tiny Bitbucket/Jira behind an apiBaseUrl: records each call and answers by path. */
static void
serve(int lfd)
{
	for (;;) {
		char req[16384], line[1024], auth[512], clen[32], resp[2048], method[16], path[900];
		const char *body = "{}";
		int c = accept(lfd, NULL, NULL), n, status = 200;
		ssize_t got = 0, r;
		char *end;

		if (c < 0)
			continue;
		while ((r = read(c, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
			got += r;
			req[got] = '\0';
			if ((end = strstr(req, "\r\n\r\n")) != NULL) {
				header(req, "Content-Length:", clen, sizeof(clen));
				if ((size_t)got >= (size_t)(end + 4 - req) + (size_t)atol(clen))
					break;
			}
		}
		if (sscanf(req, "%15s %899s", method, path) != 2)
			_exit(1);
		header(req, "Authorization:", auth, sizeof(auth));
		n = snprintf(line, sizeof(line), "%s %s|%s\n", method, path, auth);
		if (write(calls[1], line, (size_t)n) != n)
			_exit(1);
		if (!strcmp(method, "GET") && strstr(path, "/pullrequests/7") && !strstr(path, "comments"))
			body = "{\"id\":7,\"title\":\"bad title\",\"source\":{\"commit\":{\"hash\":\"" HASH "\"}}}";
		else if (!strcmp(method, "GET") && strstr(path, "/comments"))
			body = "{\"values\":[]}";
		else if (!strcmp(method, "GET") && strstr(path, "/rest/api/3/issue/"))
			body = "{\"key\":\"PROJ-1\",\"fields\":{\"summary\":\"a summary\"}}";
		else if (!strcmp(method, "POST"))
			status = 201;
		n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status, strlen(body), body);
		if (write(c, resp, (size_t)n) != n)
			_exit(1);
		close(c);
	}
}

/* Every call the server saw since the last look, one per line. */
static void
seen(char *out, size_t n)
{
	ssize_t r;
	size_t got = 0;

	/* the server wrote its line before answering, and the answer has come: nothing is in flight */
	while (got + 1 < n && (r = read(calls[0], out + got, n - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
}

static int
count(const char *hay, const char *needle)
{
	int k = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		k++;
	return k;
}

static void
put_installation(const char *api_base_url)
{
	struct ac_forge_installation in;

	memset(&in, 0, sizeof(in));
	in.installation_id = INST;
	in.app_id = "ari:cloud:ecosystem::app/x";
	in.environment_type = "DEVELOPMENT";
	in.api_base_url = (char *)api_base_url;
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
}

static void
setup(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int lfd, one = 1, fl;
	char *why = NULL;

	snprintf(dir, sizeof(dir), "/tmp/test-forge-out-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("AC_BASE_URL", "https://app.example.com", 1);
	setenv("AC_DATA_DIR", dir, 1);
	setenv("AC_ALLOWED_HOSTS", "127.0.0.1", 1);
	unsetenv("AC_PRODUCT");
	unsetenv("AC_PR_TITLE_PATTERN");
	unsetenv("AC_CONFIG");
	ck_assert_int_eq(ac_conf_load(&conf, NULL, &why), AC_OK);
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_NOSYNC, &st), AC_OK);
	ck_assert_int_eq(ac_client_new(&conf, st, &client), AC_OK);
	ck_assert_int_eq(pipe(calls), 0);
	fl = fcntl(calls[0], F_GETFL);
	ck_assert_int_eq(fcntl(calls[0], F_SETFL, fl | O_NONBLOCK), 0);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 64), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	port = ntohs(a.sin_port);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/ex/bitbucket/ws-1/", port);
	if ((server = fork()) == 0) {
		close(calls[0]);
		serve(lfd);
	}
	ck_assert_int_gt(server, 0);
	close(lfd);
	close(calls[1]);
	calls[1] = -1;
}

static void
teardown(void)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "sync.lock", "metrics" };
	char p[128];
	size_t i;

	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
	close(calls[0]);
	ac_clock_set(0);
	ac_client_free(client);
	ac_store_close(st);
	ac_conf_release(&conf);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
	ac_handler_util_cleanup();
	ac_http_cleanup();
}

/* Runs fn with stderr (the log) going to a file; the file's text into out. */
static void
capture_log(void (*fn)(void), char *out, size_t n)
{
	char path[128];
	int fd, saved;
	ssize_t r;

	snprintf(path, sizeof(path), "%s/log.txt", dir);
	fflush(stderr);
	ck_assert_int_ge(saved = dup(2), 0);
	ck_assert_int_ge(fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	r = read(fd, out, n - 1);
	out[r > 0 ? r : 0] = '\0';
	close(fd);
	unlink(path);
}

static enum ac_err last;

static void
call_user(void)
{
	struct ac_client_response r;

	ac_client_response_init(&r);
	last = ac_forge_call(&conf, st, INST, "GET", "/2.0/user?fields=uuid", NULL, 0, 0, &r);
	if (last == AC_OK && r.status != 200)
		last = AC_ERR_UPSTREAM;
	ac_client_response_release(&r);
}

START_TEST(bearer_and_base_path)
{
	char log[16384], got[4096];

	put_installation(base);
	ck_assert_int_eq(ac_forge_token_offer(st, INST, TOKEN, (int64_t)time(NULL) + 7200, NULL), AC_OK);
	capture_log(call_user, log, sizeof(log));
	ck_assert_int_eq(last, AC_OK);
	seen(got, sizeof(got));
	/* apiBaseUrl's own path kept, the query too; the token as Bearer */
	ck_assert_str_eq(got, "GET /ex/bitbucket/ws-1/2.0/user?fields=uuid|Bearer " TOKEN "\n");
	ck_assert_msg(strstr(log, "forge api") != NULL, "the call is logged: %s", log);
	ck_assert_msg(strstr(log, TOKEN) == NULL, "the token is in the log: %s", log);
}
END_TEST

START_TEST(no_token_expired_token)
{
	char log[16384], got[4096];
	int64_t now = (int64_t)time(NULL);

	put_installation(base);
	/* none held */
	capture_log(call_user, log, sizeof(log));
	ck_assert_int_eq(last, AC_ERR_FORGE_NO_TOKEN);
	ck_assert_msg(strstr(log, "scheduledTrigger") != NULL, "the log says how to fix it: %s", log);
	ck_assert_ptr_nonnull(strstr(ac_strerror(AC_ERR_FORGE_NO_TOKEN), "acctl forge manifest"));
	/* held, then expired (and one inside the margin is as good as expired) */
	ck_assert_int_eq(ac_forge_token_offer(st, INST, TOKEN, now + 7200, NULL), AC_OK);
	ac_clock_set((time_t)(now + 7200 - AC_FORGE_TOKEN_MARGIN + 1));
	capture_log(call_user, log, sizeof(log));
	ck_assert_int_eq(last, AC_ERR_FORGE_NO_TOKEN);
	ck_assert_msg(strstr(log, TOKEN) == NULL, "the token is in the log: %s", log);
	ac_clock_set((time_t)(now + 7200 - AC_FORGE_TOKEN_MARGIN - 60));
	call_user();
	ck_assert_int_eq(last, AC_OK);
	ac_clock_set(0);
	seen(got, sizeof(got));
	ck_assert_int_eq(count(got, "\n"), 1); /* only the call with the live token went out */
}
END_TEST

START_TEST(refusals)
{
	struct ac_client_response r;
	char other[128], got[4096], *why = NULL;
	struct ac_forge_installation in;

	ac_client_response_init(&r);
	/* unknown installation */
	ck_assert_int_eq(ac_forge_call(&conf, st, INST, "GET", "/2.0/user", NULL, 0, 0, &r),
	    AC_ERR_FORGE_NO_INSTALLATION);
	/* known, no apiBaseUrl anywhere */
	memset(&in, 0, sizeof(in));
	in.installation_id = INST;
	in.app_id = "ari:cloud:ecosystem::app/x";
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
	ck_assert_int_eq(ac_forge_call(&conf, st, INST, "GET", "/2.0/user", NULL, 0, 0, &r),
	    AC_ERR_FORGE_NO_INSTALLATION);
	ck_assert_int_eq(ac_forge_token_offer(st, INST, TOKEN, (int64_t)time(NULL) + 7200, NULL), AC_OK);
	/* a host the allow-list does not name, over https or http; a loopback host not named either */
	put_installation("https://api.atlassian.com/ex/bitbucket/ws-1");
	ck_assert_int_eq(ac_forge_call(&conf, st, INST, "GET", "/2.0/user", NULL, 0, 0, &r), AC_ERR_HOST_NOT_ALLOWED);
	snprintf(other, sizeof(other), "http://127.0.0.2:%d/ex/bitbucket/ws-1", port);
	put_installation(other);
	ck_assert_int_eq(ac_forge_call(&conf, st, INST, "GET", "/2.0/user", NULL, 0, 0, &r), AC_ERR_HOST_NOT_ALLOWED);
	/* plain http to a non-loopback host, even when allowed */
	setenv("AC_ALLOWED_HOSTS", "127.0.0.1,api.example.com", 1);
	put_installation("http://api.example.com/ex/bitbucket/ws-1");
	ac_conf_release(&conf);
	ck_assert_int_eq(ac_conf_load(&conf, NULL, &why), AC_OK);
	ck_assert_int_eq(ac_forge_call(&conf, st, INST, "GET", "/2.0/user", NULL, 0, 0, &r), AC_ERR_HOST_NOT_ALLOWED);
	/* a path that is not one */
	put_installation(base);
	ck_assert_int_eq(ac_forge_call(&conf, st, INST, "GET", "2.0/user", NULL, 0, 0, &r), AC_ERR_INVALID);
	ck_assert_int_eq(ac_forge_call(&conf, st, INST, "GET", "/2.0/u ser", NULL, 0, 0, &r), AC_ERR_INVALID);
	ck_assert_int_eq(ac_forge_call(&conf, st, INST, "get", "/2.0/user", NULL, 0, 0, &r), AC_ERR_INVALID);
	ac_client_response_release(&r);
	seen(got, sizeof(got));
	ck_assert_str_eq(got, ""); /* nothing went out */
}
END_TEST

static const char pr_event[] = "{\"eventType\":\"avi:bitbucket:created:pullrequest\",\"timestamp\":1,"
	"\"workspace\":{\"uuid\":\"{ws-uuid}\"},\"repository\":{\"uuid\":\"{repo-uuid}\"},"
	"\"pullrequest\":{\"id\":7}}";

static uint64_t
queue(const char *event_key, const char *body, const char *id)
{
	uint64_t seq = 0;
	int dup = 0;

	ck_assert_int_eq(ac_inbox_accept(st, INST, event_key, id, body, strlen(body), &seq, &dup), AC_OK);
	ck_assert_int_eq(dup, 0);
	return seq;
}

static int ran;

static void
add_up(const char *labels, uint64_t v, void *ctx)
{
	(void)labels;
	*(uint64_t *)ctx += v;
}

static void
step(void)
{
	ck_assert_int_eq(ac_worker_step(&conf, st, client, &ran), AC_OK);
}

START_TEST(worker_waits_for_a_token)
{
	char log[16384], got[4096];
	struct ac_event ev;
	uint64_t seq;
	int dead = -1;

	put_installation(base);
	seq = queue("avi:bitbucket:created:pullrequest", pr_event, "d-1");
	capture_log(step, log, sizeof(log));
	ck_assert_int_eq(ran, 1);
	ck_assert_int_eq(ac_inbox_get(st, seq, &ev, &dead), AC_OK);
	ck_assert_int_eq(dead, 0);        /* waits: retried later, not dead */
	ck_assert_uint_eq(ev.attempts, 1);
	ck_assert_msg(!strncmp(ev.last_error, "forge_no_token: ", 16), "last_error: %s", ev.last_error);
	ck_assert_msg(strstr(ev.last_error, "scheduledTrigger") && strstr(ev.last_error, "appSystemToken"),
	    "last_error says how to fix it: %s", ev.last_error);
	ck_assert_int_gt(ev.next_at, ac_clock_now()); /* backoff, as for other retryable errors */
	ac_event_release(&ev);
	seen(got, sizeof(got));
	ck_assert_str_eq(got, "");
	/* an unknown installation waits the same way, saying so (the first event is not due yet) */
	{
		static const char body[] = "{\"issue\":{\"id\":\"10001\"}}";
		uint64_t s2 = 0;
		int dup = 0;

		ck_assert_int_eq(ac_inbox_accept(st, "ari:cloud:ecosystem::installation/unknown",
		    "avi:jira:created:issue", "d-2", body, strlen(body), &s2, &dup), AC_OK);
		step();
		ck_assert_int_eq(ran, 1);
		ck_assert_int_eq(ac_inbox_get(st, s2, &ev, &dead), AC_OK);
		ck_assert_int_eq(dead, 0);
		ck_assert_msg(!strncmp(ev.last_error, "forge_no_installation: ", 23), "last_error: %s", ev.last_error);
		ac_event_release(&ev);
	}
}
END_TEST

START_TEST(worker_runs_the_shared_handlers)
{
	char log[32768], got[8192];
	struct ac_event ev;
	uint64_t seq;
	int dead = -1;

	put_installation(base);
	ck_assert_int_eq(ac_forge_token_offer(st, INST, TOKEN, (int64_t)time(NULL) + 7200, NULL), AC_OK);
	seq = queue("avi:bitbucket:created:pullrequest", pr_event, "d-1");
	ck_assert_int_eq(ac_metrics_open(dir, 0), AC_OK);
	capture_log(step, log, sizeof(log));
	ck_assert_int_eq(ran, 1);
	ck_assert_int_eq(ac_inbox_get(st, seq, &ev, &dead), AC_ERR_NOT_FOUND); /* done */
	seen(got, sizeof(got));
	/* the host's metrics: one attempt and one success of the handler, every outbound call by host */
	{
		uint64_t n = 0;

		ac_metrics_foreach(AC_M_WORKER_ATTEMPTS, add_up, &n);
		ck_assert_uint_eq(n, 1);
		n = 0;
		ac_metrics_foreach(AC_M_WORKER_SUCCESSES, add_up, &n);
		ck_assert_uint_eq(n, 1);
		n = 0;
		ac_metrics_foreach(AC_M_OUTBOUND, add_up, &n);
		ck_assert_uint_eq(n, (uint64_t)count(got, "\n"));
		ck_assert_uint_eq(ac_metrics_get(AC_M_OUTBOUND_SECONDS, "host_called=\"127.0.0.1\""), n);
	}
	ac_metrics_close();
	/* the PR fetched (the event has no title), looked for a comment, commented, a build status: all Bearer */
	ck_assert_msg(strstr(got, "GET /ex/bitbucket/ws-1/2.0/repositories/%7Bws-uuid%7D/%7Brepo-uuid%7D/"
	    "pullrequests/7|Bearer " TOKEN "\n") != NULL, "calls: %s", got);
	ck_assert_int_eq(count(got, "POST /ex/bitbucket/ws-1/2.0/repositories/%7Bws-uuid%7D/%7Brepo-uuid%7D/"
	    "pullrequests/7/comments|Bearer " TOKEN "\n"), 1);
	ck_assert_int_eq(count(got, "POST /ex/bitbucket/ws-1/2.0/repositories/%7Bws-uuid%7D/%7Brepo-uuid%7D/"
	    "commit/" HASH "/statuses/build|Bearer " TOKEN "\n"), 1);
	ck_assert_int_eq(count(got, "|Bearer " TOKEN "\n"), count(got, "\n"));
	ck_assert_msg(strstr(log, TOKEN) == NULL, "the token is in the log: %s", log);
	/* the same event again (a Forge retry with another delivery id): no second comment, the status again */
	queue("avi:bitbucket:updated:pullrequest", "{\"payload\":{\"workspace\":{\"uuid\":\"{ws-uuid}\"},"
	    "\"repository\":{\"uuid\":\"{repo-uuid}\"},\"pullrequest\":{\"id\":7,\"title\":{\"value\":\"bad title\","
	    "\"truncated\":false},\"source\":{\"commit\":{\"hash\":\"" HASH "\"}}}},"
	    "\"retryContext\":{\"retryCount\":1}}", "d-2");
	step();
	ck_assert_int_eq(ran, 1);
	seen(got, sizeof(got));
	ck_assert_int_eq(count(got, "/comments"), 0);
	ck_assert_int_eq(count(got, "/pullrequests/7|"), 0); /* title and hash in the event: not fetched */
	ck_assert_int_eq(count(got, "/statuses/build|Bearer " TOKEN), 1);
	/* Jira: the issue by id, under the base's own path */
	{
		char jbase[128];

		snprintf(jbase, sizeof(jbase), "http://127.0.0.1:%d/ex/jira/cloud-1", port);
		put_installation(jbase);
	}
	seq = queue("avi:jira:created:issue", "{\"eventType\":\"avi:jira:created:issue\",\"issue\":{\"id\":\"10001\"}}",
	    "d-3");
	capture_log(step, log, sizeof(log));
	ck_assert_int_eq(ac_inbox_get(st, seq, &ev, &dead), AC_ERR_NOT_FOUND);
	seen(got, sizeof(got));
	ck_assert_str_eq(got, "GET /ex/jira/cloud-1/rest/api/3/issue/10001|Bearer " TOKEN "\n");
	ck_assert_msg(strstr(log, "a summary") != NULL, "the summary is logged: %s", log);
	/* a Forge event without a handler is done without a call */
	seq = queue("avi:forge:installed:app", "{\"eventType\":\"avi:forge:installed:app\"}", "d-4");
	step();
	ck_assert_int_eq(ac_inbox_get(st, seq, &ev, &dead), AC_ERR_NOT_FOUND);
	seen(got, sizeof(got));
	ck_assert_str_eq(got, "");
}
END_TEST

START_TEST(worker_refuses_a_host)
{
	struct ac_event ev;
	uint64_t seq;
	int dead = -1;

	put_installation("https://evil.example.net/ex/bitbucket/ws-1");
	ck_assert_int_eq(ac_forge_token_offer(st, INST, TOKEN, (int64_t)time(NULL) + 7200, NULL), AC_OK);
	seq = queue("avi:bitbucket:created:pullrequest", pr_event, "d-1");
	step();
	ck_assert_int_eq(ac_inbox_get(st, seq, &ev, &dead), AC_OK);
	ck_assert_int_eq(dead, 1); /* never callable: dead at once */
	ck_assert_str_eq(ev.last_error, "host_not_allowed");
	ac_event_release(&ev);
}
END_TEST

START_TEST(table_has_forge_rows)
{
	const struct ac_handler *c = ac_handler_find("pullrequest:created");

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(ac_handler_find("avi:bitbucket:created:pullrequest")->fn, c->fn);
	ck_assert_ptr_eq(ac_handler_find("avi:bitbucket:updated:pullrequest")->fn, c->fn);
	ck_assert_ptr_eq(ac_handler_find("avi:jira:created:issue")->fn, ac_handler_find("jira:issue_created")->fn);
	ck_assert_int_eq(ac_worker_forge_event("avi:jira:created:issue"), 1);
	ck_assert_int_eq(ac_worker_forge_event("jira:issue_created"), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("forge-out");
	TCase *tc = tcase_create("forge-out");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bearer_and_base_path);
	tcase_add_test(tc, no_token_expired_token);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, worker_waits_for_a_token);
	tcase_add_test(tc, worker_runs_the_shared_handlers);
	tcase_add_test(tc, worker_refuses_a_host);
	tcase_add_test(tc, table_has_forge_rows);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
