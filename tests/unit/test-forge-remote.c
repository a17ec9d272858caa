/* test-forge-remote.c: forge-remote.fcgi's routes through the request layer: FITs signed here, the product faked on loopback. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/clock.h"
#include "base/json.h"
#include "events/handler-util.h"
#include "outbound/forge_jwks.h"
#include "outbound/http.h"
#include "routes/forge_merge_check.h"
#include "routes/forge_remote.h"
#include "store/journal.h"
#include "store/store.h"
#include "jose-helpers.h"
#include "request-harness.h"
#include "unit.h"

#define APP "ari:cloud:ecosystem::app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define INST "ari:cloud:ecosystem::installation/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define KID1 "forge/invocation-token/wf-1"
#define CHECK "{\"workspace\":{\"uuid\":\"{ws-1}\"},\"repository\":{\"uuid\":\"{r-1}\"}," \
	"\"pullrequest\":{\"id\":7},\"trigger\":{\"type\":\"on-merge\"}}"
#define PR_PATH "/2.0/repositories/%7Bws-1%7D/%7Br-1%7D/pullrequests/7"

static char dir[64], answer_file[96], seen_file[96], product[64];
static struct ac_conf conf;
static struct ac_app app;
static EVP_PKEY *key1, *other;
static pid_t server = -1;
static char *last_body;

/*
 * The product: every request's first line and Authorization header are
 * appended to seen_file; the answer is answer_file: "SILENT" (the
 * connection is held and never answered), or a status line's code, a
 * newline and the body.
 */
static void
serve(int lfd)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		char req[8192], hdr[256], body[4096], *a, *e;
		int c = accept(lfd, NULL, NULL), n, status = 200;
		ssize_t got = 0, r;
		size_t len = 0;
		FILE *fp;

		if (c < 0)
			continue;
		while ((r = read(c, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
			got += r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[got] = '\0';
		if ((fp = fopen(seen_file, "a")) != NULL) {
			e = strstr(req, "\r\n");
			fprintf(fp, "%.*s\n", e ? (int)(e - req) : 0, req);
			if ((a = strstr(req, "\r\nAuthorization: ")) != NULL) {
				a += 2;
				e = strstr(a, "\r\n");
				fprintf(fp, "%.*s\n", (int)(e - a), a);
			}
			fclose(fp);
		}
		if ((fp = fopen(answer_file, "r")) != NULL) {
			len = fread(body, 1, sizeof(body) - 1, fp);
			fclose(fp);
		}
		body[len] = '\0';
		if (!strncmp(body, "SILENT", 6)) {
			if (fork() == 0) {
				sleep(30); /* holds the connection: the backend's budget must end it */
				_exit(0);
			}
			close(c);
			continue;
		}
		status = atoi(body);
		a = strchr(body, '\n');
		a = a ? a + 1 : body + len;
		n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, strlen(a));
		if (write(c, hdr, (size_t)n) == n && write(c, a, strlen(a)) < 0)
			n = 0;
		close(c);
	}
}

static void
product_answers(const char *s)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(answer_file, "w"));
	fputs(s, fp);
	fclose(fp);
}

/* What the product saw since the last call ("" when nothing), into a static buffer. */
static const char *
product_saw(void)
{
	static char b[8192];
	FILE *fp = fopen(seen_file, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(b, 1, sizeof(b) - 1, fp);
		fclose(fp);
		unlink(seen_file);
	}
	b[n] = '\0';
	return b;
}

static void
setup_with(const char *app_id)
{
	char *jwk, *doc;
	int lfd, port;

	if (key1 == NULL) {
		ck_assert_ptr_nonnull(key1 = EVP_RSA_gen(2048));
		ck_assert_ptr_nonnull(other = EVP_RSA_gen(2048));
	}
	snprintf(dir, sizeof(dir), "/tmp/test-forge-remote-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(answer_file, sizeof(answer_file), "%s.answer", dir);
	snprintf(seen_file, sizeof(seen_file), "%s.seen", dir);
	lfd = rh_listen_loopback(&port);
	snprintf(product, sizeof(product), "http://127.0.0.1:%d", port);
	if ((server = fork()) == 0)
		serve(lfd);
	close(lfd);
	setenv("AC_BASE_URL", "https://app.example.com", 1);
	setenv("AC_DATA_DIR", dir, 1);
	setenv("AC_ALLOWED_HOSTS", "api.bitbucket.org,127.0.0.1", 1);
	setenv("AC_FORGE_APP_ID", app_id, 1);
	setenv("AC_FORGE_JWKS_URL", "http://127.0.0.1:9/.well-known/jwks.json", 1); /* never fetched: kept below */
	setenv("AC_PR_TITLE_PATTERN", "^(feat|fix)(\\([a-z]+\\))?: .+", 1);
	unsetenv("AC_PRODUCT");
	rh_app_open(&app, &conf, dir, ac_forge_remote_authenticate);
	/* the JWKS as a fetch would have kept it: this test is about the routes, not the fetch */
	jwk = jh_jwk(key1, KID1, ",\"use\":\"sig\",\"alg\":\"RS256\"");
	doc = ac_buf_asprintf("{\"keys\":[%s]}", jwk);
	ck_assert_int_eq(ac_forge_jwks_put(app.store, doc, strlen(doc)), AC_OK);
	free(jwk);
	free(doc);
	ac_forge_jwks_cleanup();
	product_answers("200\n{\"id\":7,\"title\":\"feat(parser): accept empty arrays\"}");
}

static void
setup(void)
{
	setup_with(APP);
}

static void
setup_off(void)
{
	setup_with("");
}

static void
teardown(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
	free(last_body);
	last_body = NULL;
	ac_store_close(app.store);
	ac_conf_release(&conf);
	ac_forge_jwks_cleanup();
	ac_handler_util_cleanup();
	ac_http_cleanup();
	unlink(answer_file);
	unlink(seen_file);
	rh_store_remove(dir);
	unsetenv("AC_FORGE_APP_ID");
	unsetenv("AC_FORGE_JWKS_URL");
	unsetenv("AC_PR_TITLE_PATTERN");
}

/* A FIT of the test app, now, whose apiBaseUrl is the fake product. */
static char *
fit_with(EVP_PKEY *k, const char *module_type)
{
	char *hdr = ac_buf_asprintf("{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", KID1);
	long now = (long)ac_clock_now();
	char *claims = ac_buf_asprintf("{\"iss\":\"forge/invocation-token\",\"aud\":\"%s\",\"iat\":%ld,\"nbf\":%ld,"
	    "\"exp\":%ld,\"jti\":\"j-%ld\",\"app\":{\"id\":\"%s\",\"installationId\":\"%s\","
	    "\"apiBaseUrl\":\"%s\",\"appVersion\":\"2.1.0\","
	    "\"environment\":{\"type\":\"PRODUCTION\",\"id\":\"env-1\"},"
	    "\"module\":{\"type\":\"%s\",\"key\":\"title-check\"},"
	    "\"installation\":{\"contexts\":[{\"name\":\"bitbucket\",\"apiBaseUrl\":\"%s\","
	    "\"workspaceId\":\"{ws-1}\"}]}}}", APP, now, now, now + 25, now, APP, INST, product, module_type,
	    product);
	char *t = jh_token(hdr, claims, JH_RS256, k, 0);

	free(hdr);
	free(claims);
	return t;
}

static char *
fit(void)
{
	return fit_with(key1, "core:endpoint");
}

/* An app system token: only its exp is read. */
static char *
system_token(long exp)
{
	char *claims = ac_buf_asprintf("{\"sub\":\"app\",\"exp\":%ld}", exp);
	char *t = jh_token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, JH_RS256, other, 0);

	free(claims);
	return t;
}

/* method path with body (NULL: none), a Bearer FIT (consumed; NULL: no Authorization) and a system token header. */
static int
call(const char *method, const char *path, const char *body, char *tok, const char *sys)
{
	char cl[32], *auth = tok ? ac_buf_asprintf("Bearer %s", tok) : NULL;
	const char *p[] = { "REQUEST_METHOD", method, "REQUEST_URI", path, "CONTENT_TYPE", "application/json",
		"CONTENT_LENGTH", cl, auth ? "HTTP_AUTHORIZATION" : "X_NONE", auth ? auth : "",
		sys ? "HTTP_X_FORGE_OAUTH_SYSTEM" : "X_NONE2", sys ? sys : "", NULL };
	struct fake f = { p, body ? body : "", body ? strlen(body) : 0, 0, 0, { 0 } };
	struct ac_io io = FAKE_IO(&f);
	const char *s;
	int status;

	snprintf(cl, sizeof(cl), "%zu", f.inlen);
	ac_buf_init(&f.out, 1 << 20);
	ac_request_serve(&app, ac_forge_remote_routes, ac_forge_remote_nroutes, &io);
	status = rh_status(ac_buf_str(&f.out));
	free(last_body);
	s = strstr(ac_buf_str(&f.out), "\r\n\r\n");
	last_body = strdup(s ? s + 4 : "");
	ac_buf_release(&f.out);
	free(auth);
	free(tok);
	return status;
}

/* A string (or "null", or "true"/"false") at a dotted path of the last JSON body. */
static const char *
field(const char *dotted)
{
	static char b[1024];
	json_object *o = NULL, *v;

	ck_assert_int_eq(ac_json_parse(last_body, strlen(last_body), &o, NULL), AC_OK);
	v = o;
	{
		char d[256], *part, *save = NULL;

		snprintf(d, sizeof(d), "%s", dotted);
		for (part = strtok_r(d, ".", &save); part && v; part = strtok_r(NULL, ".", &save))
			if (!json_object_object_get_ex(v, part, &v))
				v = NULL, part = NULL;
	}
	snprintf(b, sizeof(b), "%s", v == NULL ? "null" : json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : json_object_to_json_string(v));
	json_object_put(o);
	return b;
}

START_TEST(forge_off_is_404)
{
	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), NULL), 404);
	ck_assert_str_eq(field("error"), "not_found");
	ck_assert_int_eq(call("GET", "/forge/remote/installation", NULL, fit(), NULL), 404);
	ck_assert_str_eq(field("error"), "not_found");
	ck_assert_str_eq(product_saw(), "");
}
END_TEST

/* The title rule decides, on the pull request fetched with the token the merge check brought. */
START_TEST(merge_check_by_title)
{
	char *sys = system_token((long)ac_clock_now() + 7200), *want;

	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), sys), 200);
	ck_assert_str_eq(field("success"), "true");
	ck_assert_ptr_nonnull(strstr(field("message"), "follows the rule"));
	want = ac_buf_asprintf("GET %s HTTP/1.1\nAuthorization: Bearer %s\n", PR_PATH, sys);
	ck_assert_str_eq(product_saw(), want);
	free(want);
	/* the token kept from that call serves the next, which brings none */
	product_answers("200\n{\"id\":7,\"title\":\"Fixed the `parser`\"}");
	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), NULL), 200);
	ck_assert_str_eq(field("success"), "false");
	ck_assert_ptr_nonnull(strstr(field("message"), "\"Fixed the `parser`\" does not match the rule"));
	ck_assert_ptr_nonnull(strstr(field("message"), "^(feat|fix)"));
	ck_assert_ptr_nonnull(strstr(product_saw(), sys));
	/* the same function decides for the event handler */
	ck_assert_int_eq(ac_handler_pr_title_passes(&conf, "fix: x"), 1);
	ck_assert_int_eq(ac_handler_pr_title_passes(&conf, "Fixed the `parser`"), 0);
	free(sys);
}
END_TEST

START_TEST(merge_check_without_token)
{
	char *old = system_token((long)ac_clock_now() + 10);

	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), NULL), 200);
	ck_assert_str_eq(field("success"), "false");
	ck_assert_ptr_nonnull(strstr(field("message"), "no live app system token"));
	ck_assert_ptr_nonnull(strstr(field("message"), "auth.appSystemToken"));
	/* one about to expire is no better */
	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), old), 200);
	ck_assert_str_eq(field("success"), "false");
	ck_assert_ptr_nonnull(strstr(field("message"), "no live app system token"));
	ck_assert_str_eq(product_saw(), "");
	free(old);
}
END_TEST

/* A product that never answers: success false, within the budget, not after the 20 s of a call. */
START_TEST(merge_check_product_silent)
{
	char *sys = system_token((long)ac_clock_now() + 7200);
	uint64_t t0;
	int64_t ms;

	product_answers("SILENT");
	t0 = ac_clock_usec();
	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), sys), 200);
	ms = (int64_t)((ac_clock_usec() - t0) / 1000);
	ck_assert_str_eq(field("success"), "false");
	ck_assert_ptr_nonnull(strstr(field("message"), "did not answer"));
	ck_assert_ptr_nonnull(strstr(field("message"), "4 s"));
	ck_assert_int_le(ms, AC_FORGE_MERGE_CHECK_BUDGET_MS + 1500);
	ck_assert_int_ge(ms, AC_FORGE_MERGE_CHECK_BUDGET_MS / 2); /* it did wait for the product */
	free(sys);
}
END_TEST

START_TEST(merge_check_product_refuses)
{
	char *sys = system_token((long)ac_clock_now() + 7200);

	product_answers("403\n{\"type\":\"error\"}");
	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), sys), 200);
	ck_assert_str_eq(field("success"), "false");
	ck_assert_ptr_nonnull(strstr(field("message"), "HTTP 403"));
	product_answers("200\n{\"id\":7}");
	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), NULL), 200);
	ck_assert_str_eq(field("success"), "false");
	ck_assert_ptr_nonnull(strstr(field("message"), "no title"));
	product_answers("500\n{}");
	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit(), NULL), 200);
	ck_assert_str_eq(field("success"), "false");
	ck_assert_ptr_nonnull(strstr(field("message"), "HTTP 500"));
	free(sys);
}
END_TEST

/* The token fails: 401 with its code, and nothing is fetched or kept. */
START_TEST(merge_check_refusals)
{
	char *sys = system_token((long)ac_clock_now() + 7200);
	struct ac_forge_token t;

	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, fit_with(other, "core:endpoint"), sys), 401);
	ck_assert_str_eq(field("error"), "fit_signature");
	ck_assert_int_eq(call("POST", "/forge/merge-check", CHECK, NULL, sys), 401);
	ck_assert_str_eq(field("error"), "fit_missing");
	ck_assert_str_eq(product_saw(), "");
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(ac_forge_token_get(app.store, INST, &t), AC_OK);
	ck_assert_ptr_null(t.token);
	/* a body that is no merge check: 4xx that says what is missing */
	ck_assert_int_eq(call("POST", "/forge/merge-check", "{\"workspace\":{\"uuid\":\"{ws-1}\"}}", fit(), sys), 400);
	ck_assert_ptr_nonnull(strstr(field("message"), "pullrequest.id"));
	ck_assert_int_eq(call("POST", "/forge/merge-check", "{\"pullrequest\":{\"id\":7}}", fit(), sys), 400);
	ck_assert_ptr_nonnull(strstr(field("message"), "workspace"));
	ck_assert_int_eq(call("POST", "/forge/merge-check", "[", fit(), sys), 400);
	ck_assert_str_eq(field("error"), "malformed_json");
	ck_assert_int_eq(call("GET", "/forge/merge-check", NULL, fit(), sys), 405);
	ck_assert_str_eq(product_saw(), "");
	free(sys);
}
END_TEST

START_TEST(installation_resolver)
{
	char *sys = system_token((long)ac_clock_now() + 7200), exp[AC_CLOCK_ISO_SIZE];
	struct ac_forge_installation in;

	/* known from this very call, no token held */
	ck_assert_int_eq(call("GET", "/forge/remote/installation", NULL, fit_with(key1, "bitbucket:repositoryPage"),
	    NULL), 200);
	ck_assert_str_eq(field("installationId"), INST);
	ck_assert_str_eq(field("appId"), APP);
	ck_assert_str_eq(field("environment.type"), "PRODUCTION");
	ck_assert_str_eq(field("environment.id"), "env-1");
	ck_assert_str_eq(field("apiBaseUrl"), product);
	ck_assert_str_eq(field("connectTenant"), "null");
	ck_assert_str_eq(field("systemToken.live"), "false");
	ck_assert_str_eq(field("systemToken.expiresAt"), "null");
	ck_assert_ptr_nonnull(strstr(last_body, "\"workspaceId\":\"{ws-1}\""));
	/* a token held, and the Connect tenant linked */
	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_OK);
	free(in.client_key);
	in.client_key = strdup("ari:cloud:bitbucket::app/{ws-1}/it-app");
	ck_assert_int_eq(ac_forge_installation_put(app.store, &in), AC_OK);
	ac_forge_installation_release(&in);
	ck_assert_int_eq(call("GET", "/forge/remote/installation", NULL, fit(), sys), 200);
	ck_assert_str_eq(field("connectTenant"), "ari:cloud:bitbucket::app/{ws-1}/it-app");
	ck_assert_str_eq(field("systemToken.live"), "true");
	ck_assert_str_eq(field("systemToken.expiresAt"), ac_clock_iso8601((int64_t)ac_clock_now() + 7200, exp,
	    sizeof(exp)));
	ck_assert_ptr_null(strstr(last_body, sys)); /* never the secret */
	ck_assert_ptr_null(strstr(last_body, "token\":\"")); /* nor any field holding one */
	/* an unknown resolver path: 404 in JSON */
	ck_assert_int_eq(call("GET", "/forge/remote/nope", NULL, fit(), NULL), 404);
	ck_assert_str_eq(field("error"), "not_found");
	ck_assert_str_eq(product_saw(), "");
	free(sys);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("forge-remote");
	TCase *off = tcase_create("off"), *tc = tcase_create("remote");

	tcase_add_checked_fixture(off, setup_off, teardown);
	tcase_add_test(off, forge_off_is_404);
	suite_add_tcase(s, off);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, merge_check_by_title);
	tcase_add_test(tc, merge_check_without_token);
	tcase_add_test(tc, merge_check_product_silent);
	tcase_add_test(tc, merge_check_product_refuses);
	tcase_add_test(tc, merge_check_refusals);
	tcase_add_test(tc, installation_resolver);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
