/* test-forge-events.c: POST /forge/events through the request layer: FITs signed here, a JWKS server on loopback. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/clock.h"
#include "base/json.h"
#include "outbound/forge_jwks.h"
#include "outbound/http.h"
#include "routes/forge_auth.h"
#include "routes/forge_events.h"
#include "store/inbox.h"
#include "store/journal.h"
#include "store/store.h"
#include "jose-helpers.h"
#include "request-harness.h"
#include "unit.h"

#define NOW 1790000000
#define APP "ari:cloud:ecosystem::app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define OTHER_APP "ari:cloud:ecosystem::app/11111111-2222-3333-4444-555555555555"
#define INST "ari:cloud:ecosystem::installation/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define KID1 "forge/invocation-token/wf-1"
#define KID2 "forge/invocation-token/wf-2"
#define PR_EVENT "{\"eventType\":\"avi:bitbucket:created:pullrequest\",\"timestamp\":\"t1\"," \
	"\"workspace\":{\"uuid\":\"{ws-1}\"},\"pullrequest\":{\"id\":7}}"

static enum ac_err
on_events(struct ac_request *req)
{
	return ac_forge_events_handle(req);
}

static const struct ac_route routes[] = {
	{ "POST", "/forge/events", on_events, AC_AUTH_FORGE, AC_INBOX_BODY_MAX },
};

static char dir[64], jwks_file[96];
static struct ac_conf conf;
static struct ac_app app;
static char last_error[64];
static EVP_PKEY *key1, *key2, *other;
static pid_t server = -1;
static int counter[2] = { -1, -1 }; /* the JWKS server writes one byte per request */

/*
 * GET anything: the file's content (200), or 503 when there is no file; a
 * file that starts with "SLOW" is answered after 7 s (past the 5 s timeout).
 */
static void
serve(int lfd)
{
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		char req[4096], hdr[256], *body = NULL;
		int c = accept(lfd, NULL, NULL), n;
		ssize_t got = 0, r;
		FILE *fp;
		size_t len = 0, cap = 0;

		if (c < 0)
			continue;
		while ((r = read(c, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
			got += r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		if (write(counter[1], "x", 1) != 1)
			_exit(1);
		if ((fp = fopen(jwks_file, "r")) != NULL) {
			size_t k;

			do {
				if (len == cap && (body = realloc(body, cap = cap ? cap * 2 : 65536)) == NULL)
					_exit(1);
				k = fread(body + len, 1, cap - len, fp);
				len += k;
			} while (k > 0);
			fclose(fp);
		}
		if (len >= 4 && !memcmp(body, "SLOW", 4))
			sleep(7);
		n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n", fp ? 200 : 503, len);
		if (write(c, hdr, (size_t)n) == n && len > 0 && write(c, body, len) < 0)
			n = 0; /* the client went away (it gave up, or took only its cap) */
		free(body);
		close(c);
	}
}

/* The JWKS server answers the text s (a 200). */
static void
jwks_serve_text(const char *s, size_t n)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(jwks_file, "w"));
	ck_assert_uint_eq(fwrite(s, 1, n, fp), n);
	fclose(fp);
}

static int
fetches(void)
{
	char b[256];
	ssize_t r;
	int n = 0;

	while ((r = read(counter[0], b, sizeof(b))) > 0)
		n += (int)r;
	return n;
}

/* The JWKS the server gives: a set of the keys given (NULL ends), or none at all (503). */
static void
jwks_serve(EVP_PKEY *a, const char *kid_a, EVP_PKEY *b, const char *kid_b)
{
	char *ja, *jb = NULL, *doc;
	FILE *fp;

	if (a == NULL) {
		unlink(jwks_file);
		return;
	}
	ja = jh_jwk(a, kid_a, ",\"use\":\"sig\",\"alg\":\"RS256\"");
	if (b)
		jb = jh_jwk(b, kid_b, "");
	doc = ac_buf_asprintf("{\"keys\":[%s%s%s]}", ja, jb ? "," : "", jb ? jb : "");
	ck_assert_ptr_nonnull(fp = fopen(jwks_file, "w"));
	fputs(doc, fp);
	fclose(fp);
	free(ja);
	free(jb);
	free(doc);
}

static void
setup_with(const char *app_id)
{
	char url[128];
	int lfd, port;

	if (key1 == NULL) {
		ck_assert_ptr_nonnull(key1 = EVP_RSA_gen(2048));
		ck_assert_ptr_nonnull(key2 = EVP_RSA_gen(2048));
		ck_assert_ptr_nonnull(other = EVP_RSA_gen(2048));
	}
	snprintf(dir, sizeof(dir), "/tmp/test-forge-events-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(jwks_file, sizeof(jwks_file), "%s.jwks", dir);
	jwks_serve(key1, KID1, NULL, NULL);
	lfd = rh_listen_loopback(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/.well-known/jwks.json", port);
	ck_assert_int_eq(pipe(counter), 0);
	ck_assert_int_eq(fcntl(counter[0], F_SETFL, fcntl(counter[0], F_GETFL) | O_NONBLOCK), 0);
	if ((server = fork()) == 0) {
		/* dies with the test, even one that aborts before its teardown */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(counter[0]);
		serve(lfd);
	}
	close(lfd);
	setenv("AC_BASE_URL", "https://app.example.com", 1);
	setenv("AC_DATA_DIR", dir, 1);
	setenv("AC_ALLOWED_HOSTS", "api.bitbucket.org,127.0.0.1", 1);
	setenv("AC_FORGE_APP_ID", app_id, 1);
	setenv("AC_FORGE_JWKS_URL", url, 1);
	unsetenv("AC_PRODUCT");
	rh_app_open(&app, &conf, dir, ac_forge_authenticate);
	ac_forge_jwks_cleanup();
	ac_clock_set(NOW);
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
	close(counter[0]);
	close(counter[1]);
	ac_store_close(app.store);
	ac_conf_release(&conf);
	ac_forge_jwks_cleanup();
	ac_http_cleanup();
	unlink(jwks_file);
	rh_store_remove(dir);
	unsetenv("AC_FORGE_APP_ID");
	unsetenv("AC_FORGE_JWKS_URL");
	ac_clock_set(0);
}

/* A FIT of the test app at the test clock: kid, the key, aud, and the exp offset. */
static char *
fit_full(const char *kid, EVP_PKEY *k, const char *aud, long exp_off, const char *inst)
{
	char *hdr = ac_buf_asprintf("{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
	long now = (long)ac_clock_now();
	char *claims = ac_buf_asprintf("{\"iss\":\"forge/invocation-token\",\"aud\":\"%s\",\"iat\":%ld,\"nbf\":%ld,"
	    "\"exp\":%ld,\"jti\":\"j-%ld\",\"app\":{\"id\":\"%s\",\"installationId\":\"%s\","
	    "\"apiBaseUrl\":\"https://api.bitbucket.org\",\"appVersion\":\"2.1.0\","
	    "\"environment\":{\"type\":\"PRODUCTION\",\"id\":\"env-1\"},"
	    "\"module\":{\"type\":\"core:endpoint\",\"key\":\"events\"},"
	    "\"installation\":{\"contexts\":[{\"name\":\"bitbucket\",\"apiBaseUrl\":\"https://api.bitbucket.org\","
	    "\"workspaceId\":\"{ws-1}\"}]}}}", aud, now, now, now + exp_off, now, aud, inst);
	char *t = jh_token(hdr, claims, JH_RS256, k, 0);

	free(hdr);
	free(claims);
	return t;
}

static char *
fit(const char *kid, EVP_PKEY *k)
{
	return fit_full(kid, k, APP, 25, INST);
}

/* An app system token: only its exp is read (the signature is not Atlassian's concern here). */
static char *
system_token(long exp)
{
	char *claims = ac_buf_asprintf("{\"sub\":\"app\",\"exp\":%ld}", exp);
	char *t = jh_token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, JH_RS256, other, 0);

	free(claims);
	return t;
}

/* POST /forge/events with authorization (NULL: none) and the system token header (NULL: none). */
static int
post_raw(const char *body, const char *authorization, const char *sys)
{
	char cl[32];
	const char *p[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", "/forge/events", "CONTENT_TYPE",
		"application/json", "CONTENT_LENGTH", cl, authorization ? "HTTP_AUTHORIZATION" : "X_NONE",
		authorization ? authorization : "", sys ? "HTTP_X_FORGE_OAUTH_SYSTEM" : "X_NONE2", sys ? sys : "",
		NULL };
	struct fake f = { p, body, strlen(body), 0, 0, { 0 } };
	struct ac_io io = FAKE_IO(&f);
	int status;

	snprintf(cl, sizeof(cl), "%zu", strlen(body));
	ac_buf_init(&f.out, 1 << 20);
	ac_request_serve(&app, routes, 1, &io);
	status = rh_status(ac_buf_str(&f.out));
	rh_error_code(ac_buf_str(&f.out), last_error, sizeof(last_error));
	ac_buf_release(&f.out);
	return status;
}

/* POST with a Bearer token (consumed). */
static int
post(const char *body, char *tok, const char *sys)
{
	char *auth = ac_buf_asprintf("Bearer %s", tok);
	int st = post_raw(body, auth, sys);

	free(auth);
	free(tok);
	return st;
}

#define expect(status, code, call) do {                                  \
	int st_ = (call);                                                \
	ck_assert_int_eq(st_, status);                                   \
	ck_assert_str_eq(last_error, code);                              \
} while (0)

struct count {
	size_t n;
	char keys[512];
};

static enum ac_err
count_fn(const struct ac_event *ev, void *ctx)
{
	struct count *c = ctx;
	size_t l = strlen(c->keys);

	c->n++;
	ck_assert_str_eq(ev->client_key, INST);
	snprintf(c->keys + l, sizeof(c->keys) - l, "%s|", ev->event_key);
	return AC_OK;
}

static size_t
queued(void)
{
	struct count c = { 0, "" };

	ck_assert_int_eq(ac_inbox_list(app.store, 0, count_fn, &c), AC_OK);
	return c.n;
}

START_TEST(forge_off_is_404)
{
	expect(404, "not_found", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_uint_eq(queued(), 0);
	ck_assert_int_eq(fetches(), 0);
}
END_TEST

START_TEST(event_queued_jwks_fetched_once)
{
	struct count c = { 0, "" };

	expect(204, "", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	ck_assert_int_eq(ac_inbox_list(app.store, 0, count_fn, &c), AC_OK);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(c.keys, "avi:bitbucket:created:pullrequest|");
	/* the kept JWKS serves the next calls, in this process and in a new one */
	expect(204, "", post("{\"eventType\":\"avi:bitbucket:updated:pullrequest\",\"x\":1}", fit(KID1, key1), NULL));
	ac_forge_jwks_cleanup();
	expect(204, "", post("{\"eventType\":\"avi:bitbucket:updated:pullrequest\",\"x\":2}", fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 0);
	ck_assert_uint_eq(queued(), 3);
}
END_TEST

START_TEST(retry_deduped_other_event_not)
{
	expect(204, "", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_uint_eq(queued(), 1);
	/* Forge's retries add retryContext, at the top level or under payload */
	expect(204, "", post("{\"eventType\":\"avi:bitbucket:created:pullrequest\",\"timestamp\":\"t1\","
	    "\"workspace\":{\"uuid\":\"{ws-1}\"},\"pullrequest\":{\"id\":7},"
	    "\"retryContext\":{\"retryCount\":1,\"retryReason\":\"FUNCTION_UPSTREAM_RATE_LIMITED\"}}",
	    fit(KID1, key1), NULL));
	ck_assert_uint_eq(queued(), 1);
	expect(204, "", post("{\"payload\":{\"eventType\":\"avi:jira:created:issue\",\"issue\":{\"id\":\"1\"}}}",
	    fit(KID1, key1), NULL));
	ck_assert_uint_eq(queued(), 2);
	expect(204, "", post("{\"payload\":{\"eventType\":\"avi:jira:created:issue\",\"issue\":{\"id\":\"1\"},"
	    "\"retryContext\":{\"retryCount\":2}}}", fit(KID1, key1), NULL));
	ck_assert_uint_eq(queued(), 2);
	/* a different event (another pull request), the same event of another installation: queued */
	expect(204, "", post("{\"eventType\":\"avi:bitbucket:created:pullrequest\",\"timestamp\":\"t1\","
	    "\"workspace\":{\"uuid\":\"{ws-1}\"},\"pullrequest\":{\"id\":8}}", fit(KID1, key1), NULL));
	ck_assert_uint_eq(queued(), 3);
}
END_TEST

static enum ac_err
parse(const char *s, json_object **o)
{
	return ac_json_parse(s, strlen(s), o, NULL);
}

START_TEST(delivery_id)
{
	json_object *a, *b, *c;
	char ia[AC_FORGE_DELIVERY_ID_LEN], ib[AC_FORGE_DELIVERY_ID_LEN], ic[AC_FORGE_DELIVERY_ID_LEN];

	ck_assert_int_eq(parse("{\"eventType\":\"e\",\"n\":1}", &a), AC_OK);
	ck_assert_int_eq(parse("{\"eventType\":\"e\",\"n\":1,\"retryContext\":{\"retryCount\":1}}", &b), AC_OK);
	ck_assert_int_eq(parse("{\"eventType\":\"e\",\"n\":2}", &c), AC_OK);
	ck_assert_int_eq(ac_forge_delivery_id(INST, "e", a, ia), AC_OK);
	ck_assert_int_eq(ac_forge_delivery_id(INST, "e", b, ib), AC_OK);
	ck_assert_str_eq(ia, ib);
	ck_assert_int_eq(strncmp(ia, "forge:", 6), 0);
	ck_assert_uint_eq(strlen(ia), AC_FORGE_DELIVERY_ID_LEN - 1);
	ck_assert_int_eq(ac_forge_delivery_id(INST, "e", c, ic), AC_OK);
	ck_assert_str_ne(ia, ic);
	ck_assert_int_eq(ac_forge_delivery_id("ari:cloud:ecosystem::installation/other", "e", a, ic), AC_OK);
	ck_assert_str_ne(ia, ic);
	ck_assert_int_eq(ac_forge_delivery_id(INST, "f", a, ic), AC_OK);
	ck_assert_str_ne(ia, ic);
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
}
END_TEST

START_TEST(installed_and_upgraded_record_installation)
{
	struct ac_forge_installation in;

	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_ERR_NOT_FOUND);
	/* a product event of an installation whose installed event was missed records it from the token */
	expect(204, "", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_OK);
	ck_assert_str_eq(in.api_base_url, "https://api.bitbucket.org");
	ac_forge_installation_release(&in);
	ac_clock_set(NOW + 10);
	/* and a later one does not rewrite it: last seen stays */
	expect(204, "", post("{\"eventType\":\"avi:bitbucket:updated:pullrequest\"}", fit(KID1, key1), NULL));
	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_OK);
	ck_assert_int_eq(in.last_seen, NOW);
	ac_forge_installation_release(&in);
	ac_clock_set(NOW);
	expect(204, "", post("{\"eventType\":\"avi:forge:installed:app\",\"id\":\"" INST "\","
	    "\"context\":\"ari:cloud:bitbucket::site/1\"}", fit(KID1, key1), NULL));
	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_OK);
	ck_assert_str_eq(in.app_id, APP);
	ck_assert_str_eq(in.environment_type, "PRODUCTION");
	ck_assert_str_eq(in.environment_id, "env-1");
	ck_assert_str_eq(in.api_base_url, "https://api.bitbucket.org");
	ck_assert_uint_eq(in.ncontexts, 1);
	ck_assert_str_eq(in.contexts[0].workspace_id, "{ws-1}");
	ck_assert_int_eq(in.first_seen, NOW);
	ac_forge_installation_release(&in);
	ac_clock_set(NOW + 100);
	expect(204, "", post("{\"eventType\":\"avi:forge:upgraded:app\",\"id\":\"" INST "\",\"v\":2}",
	    fit(KID1, key1), NULL));
	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_OK);
	ck_assert_int_eq(in.first_seen, NOW);
	ck_assert_int_eq(in.last_seen, NOW + 100);
	ac_forge_installation_release(&in);
	/* lifecycle events are queued like any other */
	ck_assert_uint_eq(queued(), 4);
}
END_TEST

static enum ac_err
put_tenant_fn(struct ac_txn *txn, void *ctx)
{
	return ac_tenant_put_txn(txn, ctx, NULL);
}

/*
 * The installed/upgraded event records the Connect tenant of the
 * installation (doc/protocol.md §11) on the installation, for Forge calls to
 * find: none before the tenant exists, its clientKey once it does.
 */
START_TEST(installed_event_records_connect_link)
{
	struct ac_forge_installation in;
	struct ac_tenant t;

	expect(204, "", post("{\"eventType\":\"avi:forge:installed:app\",\"id\":\"" INST "\"}", fit(KID1, key1), NULL));
	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_OK);
	ck_assert_ptr_null(in.client_key);
	ac_forge_installation_release(&in);
	memset(&t, 0, sizeof(t));
	t.client_key = (char *)"cof-1";
	t.shared_secret = (char *)"s";
	t.key = (char *)"k";
	t.product = AC_PRODUCT_JIRA;
	t.base_url = (char *)"https://x.atlassian.net";
	t.base_api_url = t.oauth_client_id = t.display_url = (char *)"";
	t.installation_id = (char *)INST;
	t.state = AC_TENANT_INSTALLED;
	ck_assert_int_eq(ac_store_update(app.store, put_tenant_fn, &t), AC_OK);
	ac_clock_set(NOW + 100);
	expect(204, "", post("{\"eventType\":\"avi:forge:upgraded:app\",\"id\":\"" INST "\"}", fit(KID1, key1), NULL));
	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_OK);
	ck_assert_str_eq(in.client_key, "cof-1");
	ac_forge_installation_release(&in);
}
END_TEST

START_TEST(trigger_keeps_token_queues_nothing)
{
	struct ac_forge_token t;
	char *s2h = system_token(NOW + 7200), *s3h = system_token(NOW + 10800), *s1h = system_token(NOW + 3600);

	/* a scheduled trigger: no eventType */
	expect(204, "", post("{\"context\":{\"cloudId\":\"c\",\"moduleKey\":\"token-refresh\"}}", fit(KID1, key1), s2h));
	ck_assert_uint_eq(queued(), 0);
	ck_assert_int_eq(ac_forge_token_get(app.store, INST, &t), AC_OK);
	ck_assert_str_eq(t.token, s2h);
	ck_assert_int_eq(t.exp, NOW + 7200);
	ac_forge_token_release(&t);
	/* an older one, none, or one without a readable exp never replaces it */
	expect(204, "", post("{}", fit(KID1, key1), s1h));
	expect(204, "", post("{}", fit(KID1, key1), NULL));
	expect(204, "", post("{}", fit(KID1, key1), ""));
	expect(204, "", post("{}", fit(KID1, key1), "opaque-not-a-jwt"));
	expect(204, "", post("{}", fit(KID1, key1), "a.eyJleHAiOiJzb29uIn0.c")); /* {"exp":"soon"} */
	ck_assert_int_eq(ac_forge_token_get(app.store, INST, &t), AC_OK);
	ck_assert_str_eq(t.token, s2h);
	ac_forge_token_release(&t);
	/* a newer one, with a product event too */
	expect(204, "", post(PR_EVENT, fit(KID1, key1), s3h));
	ck_assert_int_eq(ac_forge_token_get(app.store, INST, &t), AC_OK);
	ck_assert_str_eq(t.token, s3h);
	ac_forge_token_release(&t);
	ck_assert_uint_eq(queued(), 1);
	free(s1h);
	free(s2h);
	free(s3h);
}
END_TEST

START_TEST(token_exp)
{
	int64_t exp = 0;
	char *t = system_token(1790007200);

	ck_assert_int_eq(ac_forge_token_exp(t, &exp), AC_OK);
	ck_assert_int_eq(exp, 1790007200);
	ck_assert_int_eq(ac_forge_token_exp("", &exp), AC_ERR_INVALID);
	ck_assert_int_eq(ac_forge_token_exp("a.b", &exp), AC_ERR_INVALID);
	ck_assert_int_eq(ac_forge_token_exp("a..c", &exp), AC_ERR_INVALID);
	ck_assert_int_eq(ac_forge_token_exp("a.e30.c", &exp), AC_ERR_INVALID);      /* {} */
	ck_assert_int_eq(ac_forge_token_exp("a.eyJleHAiOi0xfQ.c", &exp), AC_ERR_INVALID); /* {"exp":-1} */
	ck_assert_int_eq(ac_forge_token_exp("a.e+30.c", &exp), AC_ERR_INVALID);     /* not base64url */
	ck_assert_int_eq(ac_forge_token_exp("a.eyJleHAiOjEwfQ.c", &exp), AC_OK);    /* {"exp":10} */
	ck_assert_int_eq(exp, 10);
	free(t);
}
END_TEST

/* Each refusal: its code, and nothing queued, no token kept, no installation made. */
START_TEST(refusals)
{
	struct ac_forge_installation in;
	struct ac_forge_token t;
	char *sys = system_token(NOW + 7200), *tok;
	const char *inst_body = "{\"eventType\":\"avi:forge:installed:app\"}";

	expect(401, "fit_missing", post_raw(inst_body, NULL, sys));
	tok = fit(KID1, key1);
	{
		char *jwt = ac_buf_asprintf("JWT %s", tok);

		expect(401, "fit_scheme", post_raw(inst_body, jwt, sys));
		free(jwt);
	}
	free(tok);
	expect(401, "fit_malformed", post_raw(inst_body, "Bearer abc", sys));
	expect(401, "fit_expired", post(inst_body, fit_full(KID1, key1, APP, -60, INST), sys));
	expect(401, "fit_aud", post(inst_body, fit_full(KID1, key1, OTHER_APP, 25, INST), sys));
	expect(401, "fit_installation", post(inst_body, fit_full(KID1, key1, APP, 25, "inst-1"), sys));
	/* another key under a known kid */
	expect(401, "fit_signature", post(inst_body, fit(KID1, other), sys));
	/* alg none, and HS256 keyed with anything: refused before any key is looked for */
	{
		char *claims = ac_buf_asprintf("{\"iss\":\"forge/invocation-token\",\"aud\":\"%s\",\"iat\":%d,"
		    "\"nbf\":%d,\"exp\":%d,\"app\":{\"id\":\"%s\",\"installationId\":\"%s\","
		    "\"environment\":{\"type\":\"PRODUCTION\"}}}", APP, NOW, NOW, NOW + 25, APP, INST);

		expect(401, "fit_alg", post(inst_body, jh_token("{\"alg\":\"none\",\"kid\":\"" KID1 "\"}", claims,
		    JH_NONE, NULL, 0), sys));
		expect(401, "fit_alg", post(inst_body, jh_token("{\"alg\":\"HS256\",\"kid\":\"" KID1 "\"}", claims,
		    JH_HS256, "k", 1), sys));
		free(claims);
	}
	ck_assert_uint_eq(queued(), 0);
	ck_assert_int_eq(ac_forge_token_get(app.store, INST, &t), AC_OK);
	ck_assert_ptr_null(t.token);
	ck_assert_int_eq(ac_forge_installation_get(app.store, INST, &in), AC_ERR_NOT_FOUND);
	/* a token refused for its claims made no JWKS fetch */
	ck_assert_int_eq(fetches(), 1); /* the one for fit_signature's kid */
	free(sys);
}
END_TEST

START_TEST(jwks_down_is_503_then_rotation)
{
	int i;

	/* the server is down before anything was fetched: 503, Forge retries */
	jwks_serve(NULL, NULL, NULL, NULL);
	expect(503, "fit_jwks_unavailable", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	/* still within the minute: no new fetch, still 503 */
	jwks_serve(key1, KID1, NULL, NULL);
	ac_clock_set(NOW + 30);
	expect(503, "fit_jwks_unavailable", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 0);
	ac_clock_set(NOW + 61);
	expect(204, "", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	/* keys rotate: kid 2 is unknown to the kept set, one refetch finds it */
	jwks_serve(key1, KID1, key2, KID2);
	ac_clock_set(NOW + 200);
	expect(204, "", post("{\"eventType\":\"avi:bitbucket:push:repository\"}", fit(KID2, key2), NULL));
	ck_assert_int_eq(fetches(), 1);
	/* a flood of unknown kids within the minute: no fetch at all, 401 (the set is fresh) */
	for (i = 0; i < 50; i++) {
		char kid[64];

		snprintf(kid, sizeof(kid), "forge/invocation-token/wf-random-%d", i);
		expect(401, "fit_kid_unknown", post(PR_EVENT, fit(kid, key1), NULL));
	}
	ck_assert_int_eq(fetches(), 0);
	/* the next minute: one fetch for the whole flood again */
	ac_clock_set(NOW + 261);
	for (i = 0; i < 20; i++)
		expect(401, "fit_kid_unknown", post(PR_EVENT, fit("forge/invocation-token/wf-x", key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	/* the server down while the kid is unknown: 503; known kids still verify */
	jwks_serve(NULL, NULL, NULL, NULL);
	ac_clock_set(NOW + 400);
	expect(503, "fit_jwks_unavailable", post(PR_EVENT, fit("forge/invocation-token/wf-y", key1), NULL));
	expect(204, "", post("{\"eventType\":\"avi:bitbucket:push:repository\",\"n\":3}", fit(KID2, key2), NULL));
	ck_assert_int_eq(fetches(), 1);
}
END_TEST

/* An answer past the cap, one that is not a JWKS, one too slow: 503, nothing kept, no crash. */
START_TEST(jwks_bad_answers_are_503)
{
	size_t big = 200 * 1024;
	char *doc = malloc(big);
	int64_t t = NOW;

	/* a real JWKS padded past the 64 KiB cap */
	memset(doc, ' ', big);
	memcpy(doc, "{\"keys\":[]}", 11);
	jwks_serve_text(doc, big);
	expect(503, "fit_jwks_unavailable", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	jwks_serve_text("<html>not a JWKS</html>", strlen("<html>not a JWKS</html>"));
	ac_clock_set((time_t)(t += 61));
	expect(503, "fit_jwks_unavailable", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	{
		const char *ec = "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"x\"}]}";

		jwks_serve_text(ec, strlen(ec));
	}
	ac_clock_set((time_t)(t += 61));
	expect(503, "fit_jwks_unavailable", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	/* slow: the 5 s timeout gives up */
	jwks_serve_text("SLOW", strlen("SLOW"));
	ac_clock_set((time_t)(t += 61));
	expect(503, "fit_jwks_unavailable", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	ck_assert_uint_eq(queued(), 0);
	/* and then a good answer works */
	jwks_serve(key1, KID1, NULL, NULL);
	ac_clock_set((time_t)(t += 61));
	expect(204, "", post(PR_EVENT, fit(KID1, key1), NULL));
	free(doc);
}
END_TEST

/* Another process (a store handle of its own) uses the set the first one fetched: no fetch of its own. */
START_TEST(jwks_shared_by_processes)
{
	pid_t kid;
	int status;

	expect(204, "", post(PR_EVENT, fit(KID1, key1), NULL));
	ck_assert_int_eq(fetches(), 1);
	if ((kid = fork()) == 0) {
		struct ac_store *st = NULL;

		ac_forge_jwks_cleanup();
		ac_store_close(app.store); /* not after fork: a new handle, as a new program would */
		if (ac_store_open(dir, 0, AC_STORE_NOSYNC, &st) != AC_OK)
			_exit(2);
		app.store = st;
		_exit(post("{\"eventType\":\"avi:bitbucket:push:repository\"}", fit(KID1, key1), NULL) == 204 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(kid, &status, 0), kid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(fetches(), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("forge-events");
	TCase *off = tcase_create("off"), *tc = tcase_create("events"), *pure = tcase_create("pure");

	tcase_add_checked_fixture(off, setup_off, teardown);
	tcase_add_test(off, forge_off_is_404);
	suite_add_tcase(s, off);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, event_queued_jwks_fetched_once);
	tcase_add_test(tc, retry_deduped_other_event_not);
	tcase_add_test(tc, installed_and_upgraded_record_installation);
	tcase_add_test(tc, installed_event_records_connect_link);
	tcase_add_test(tc, trigger_keeps_token_queues_nothing);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, jwks_down_is_503_then_rotation);
	tcase_add_test(tc, jwks_shared_by_processes);
	tcase_add_test(tc, jwks_bad_answers_are_503);
	suite_add_tcase(s, tc);
	tcase_add_test(pure, delivery_id);
	tcase_add_test(pure, token_exp);
	suite_add_tcase(s, pure);
	return s;
}

AC_UNIT_MAIN(suite)
