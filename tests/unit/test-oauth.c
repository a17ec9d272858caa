/* test-oauth.c: HTML escapers, the lenient token answer parser, scopes, and the shared token cache. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/conf.h"
#include "outbound/grant.h"
#include "web/html.h"
#include "store/store.h"
#include "store/tenant.h"
#include "unit.h"
#include "pg-harness.h"

/* ------------------------------------------------------------------ escapers */

static char *
txt(const char *s, int attr)
{
	static char out[1024];
	struct ac_buf b;

	ac_buf_init(&b, 4096);
	ck_assert_int_eq(attr ? ac_html_attr(&b, s) : ac_html_txt(&b, s), AC_OK);
	snprintf(out, sizeof(out), "%s", ac_buf_str(&b));
	ac_buf_release(&b);
	return out;
}

START_TEST(html_text)
{
	ck_assert_str_eq(txt("plain text é", 0), "plain text é");
	ck_assert_str_eq(txt("<script>alert('x')</script>", 0), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	ck_assert_str_eq(txt("a & b \"c\"", 0), "a &amp; b &quot;c&quot;");
	ck_assert_str_eq(txt("&amp;", 0), "&amp;amp;");
	ck_assert_str_eq(txt("line\nnext\ttab", 0), "line\nnext\ttab");
	ck_assert_str_eq(txt("bell\x07!", 0), "bell\xef\xbf\xbd!");
	ck_assert_str_eq(txt("", 0), "");
	ck_assert_str_eq(txt(NULL, 0), "");
}
END_TEST

START_TEST(html_attribute)
{
	ck_assert_str_eq(txt("\" onload=\"x", 1), "&quot; onload=&quot;x");
	ck_assert_str_eq(txt("' onerror='x", 1), "&#39; onerror=&#39;x");
	ck_assert_str_eq(txt("a\nb\tc\rd", 1), "a&#10;b&#9;c&#13;d");
	ck_assert_str_eq(txt("https://x/?a=1&b=<2>", 1), "https://x/?a=1&amp;b=&lt;2&gt;");
}
END_TEST

START_TEST(html_text_n_keeps_nul_out)
{
	struct ac_buf b;

	ac_buf_init(&b, 64);
	ck_assert_int_eq(ac_html_txt_n(&b, "a\0<b", 4), AC_OK);
	ck_assert_uint_eq(b.len, strlen("a\xef\xbf\xbd&lt;b"));
	ck_assert_mem_eq(b.data, "a\xef\xbf\xbd&lt;b", b.len);
	ac_buf_release(&b);
}
END_TEST

START_TEST(html_https_urls)
{
	ck_assert(ac_html_https_url("https://avatar.example/u/1.png?s=32"));
	ck_assert(!ac_html_https_url("http://avatar.example/1.png"));
	ck_assert(!ac_html_https_url("javascript:alert(1)"));
	ck_assert(!ac_html_https_url("https:///x"));
	ck_assert(!ac_html_https_url("https://a b/"));
	ck_assert(!ac_html_https_url("https://a\\b/"));
	ck_assert(!ac_html_https_url(NULL));
	/* the one URL parser must take it too: no user information, a well-formed host */
	ck_assert(!ac_html_https_url("https://user@avatar.example/1.png"));
	ck_assert(!ac_html_https_url("https://avatar.example@evil.example/1.png"));
	ck_assert(!ac_html_https_url("https://[::1/1.png"));
	ck_assert(ac_html_https_url("https://[::1]:8443/1.png"));
}
END_TEST

/* ------------------------------------------------------------------ the parser */

static enum ac_err
parse(const char *body, struct ac_grant_token *t)
{
	const char *why = NULL;

	ac_grant_token_init(t);
	return ac_grant_parse(body, strlen(body), 1000, t, &why);
}

START_TEST(parse_bitbucket_answer)
{
	struct ac_grant_token t;

	ck_assert_int_eq(parse("{\"access_token\":\"abc-_=.~+/\",\"scopes\":\"pullrequest repository account\","
	    "\"expires_in\":7200,\"token_type\":\"bearer\"}", &t), AC_OK);
	ck_assert_str_eq(t.access_token, "abc-_=.~+/");
	ck_assert_str_eq(t.scopes, "pullrequest repository account");
	ck_assert_int_eq(t.expires_at, 8200);
	ck_assert_int_eq(t.obtained_at, 1000);
	ac_grant_token_release(&t);
	ck_assert_ptr_null(t.access_token);
}
END_TEST

START_TEST(parse_lenient)
{
	struct ac_grant_token t;

	/* expires_in as a string, token_type in another case, scopes as an array, scope as the name */
	ck_assert_int_eq(parse("{\"access_token\":\"x\",\"expires_in\":\"3600\",\"token_type\":\"Bearer\","
	    "\"scopes\":[\"a\",1,\"b\",\"\"]}", &t), AC_OK);
	ck_assert_int_eq(t.expires_at, 4600);
	ck_assert_str_eq(t.scopes, "a b");
	ac_grant_token_release(&t);
	ck_assert_int_eq(parse("{\"access_token\":\"x\",\"scope\":\"READ,WRITE\",\"refresh_token\":\"ignored\"}", &t),
	    AC_OK);
	ck_assert_int_eq(t.expires_at, 1000 + AC_GRANT_DEFAULT_TTL);
	ck_assert_str_eq(t.scopes, "READ WRITE");
	ac_grant_token_release(&t);
	ck_assert_int_eq(parse("{\"access_token\":\"x\",\"expires_in\":7199.9,\"token_type\":\"BEARER\"}", &t), AC_OK);
	ck_assert_int_eq(t.expires_at, 1000 + 7199);
	ck_assert_str_eq(t.scopes, "");
	ac_grant_token_release(&t);
	ck_assert_int_eq(parse("{\"access_token\":\"x\",\"expires_in\":\" 60.0 \",\"expires_on\":null}", &t), AC_OK);
	ck_assert_int_eq(t.expires_at, 1060);
	ac_grant_token_release(&t);
	ck_assert_int_eq(parse("{\"access_token\":\"x\",\"expires_in\":null}", &t), AC_OK);
	ck_assert_int_eq(t.expires_at, 1000 + AC_GRANT_DEFAULT_TTL);
	ac_grant_token_release(&t);
	ck_assert_int_eq(parse("{\"access_token\":\"x\",\"expires_in\":99999999999}", &t), AC_OK);
	ck_assert_int_eq(t.expires_at, 1000 + AC_GRANT_MAX_TTL);
	ac_grant_token_release(&t);
	ck_assert_int_eq(parse("{\"access_token\":\"x\",\"expires_in\":-5}", &t), AC_OK);
	ck_assert_int_eq(t.expires_at, 1000);
	ac_grant_token_release(&t);
}
END_TEST

START_TEST(parse_refuses)
{
	static const char *bad[] = {
		"", "null", "[]", "\"access_token\"", "{}", "{\"access_token\":\"\"}", "{\"access_token\":42}",
		"{\"access_token\":\"a b\"}", "{\"access_token\":\"a\\r\\nX-Evil: 1\"}", "{\"access_token\":\"\\u00e9\"}",
		"{\"access_token\":\"x\",\"token_type\":\"mac\"}", "{\"access_token\":\"x\",\"expires_in\":\"soon\"}",
		"{\"access_token\":\"x\",\"expires_in\":\"12abc\"}", "{\"access_token\":\"x\",\"expires_in\":true}",
		"{\"access_token\":\"x\",\"expires_in\":{}}", "{\"access_token\":\"x\"} trailing",
	};
	struct ac_grant_token t;
	char big[AC_GRANT_TOKEN_MAX + 64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &t) == AC_ERR_UPSTREAM, "accepted: %s", bad[i]);
		ck_assert_ptr_null(t.access_token);
	}
	snprintf(big, sizeof(big), "{\"access_token\":\"%0*d\"}", AC_GRANT_TOKEN_MAX + 1, 0);
	ck_assert_int_eq(parse(big, &t), AC_ERR_UPSTREAM);
}
END_TEST

START_TEST(scopes_normalised)
{
	char *s;

	ck_assert_int_eq(ac_grant_scopes(" read, write  act_as_user ", &s), AC_OK);
	ck_assert_str_eq(s, "READ WRITE ACT_AS_USER");
	free(s);
	ck_assert_int_eq(ac_grant_scopes(NULL, &s), AC_OK);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_int_eq(ac_grant_scopes("read&admin=1", &s), AC_ERR_INVALID);
	ck_assert_int_eq(ac_grant_scopes("read\nwrite", &s), AC_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------------ the cache, against a forked endpoint */

static char dir[64];
static char url[128];
static struct ac_store *st;
static struct ac_conf conf;
static pid_t server = -1;
static int counter[2]; /* the server writes one byte per request it answers */
static unsigned serve_delay_ms; /* how long the server thinks before each answer */

/* Answers each connection with the HTTP status and body of the mode given at fork. */
static void
serve(int lfd, int status, int expires_in)
{
	for (;;) {
		char req[8192], body[256], resp[512];
		int c = accept(lfd, NULL, NULL), n;
		ssize_t got = 0, r;

		if (c < 0)
			continue;
		/* read up to the end of the (small) form body */
		while ((r = read(c, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
			got += r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") && strstr(req, "grant_type="))
				break;
		}
		if (write(counter[1], "x", 1) != 1)
			_exit(1);
		if (serve_delay_ms)
			usleep(serve_delay_ms * 1000u);
		if (status == 200)
			n = snprintf(body, sizeof(body), "{\"access_token\":\"tok-%ld\",\"scopes\":\"account\","
			    "\"expires_in\":%d,\"token_type\":\"bearer\"}", (long)random(), expires_in);
		else
			n = snprintf(body, sizeof(body), "{\"error\":\"nope\"}");
		n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		    "Content-Length: %d\r\nConnection: close\r\n\r\n%s", status, n, body);
		if (write(c, resp, (size_t)n) != n)
			_exit(1);
		close(c);
	}
}

static void
start_server(int status, int expires_in)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(lfd, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 64), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/site/oauth2/access_token", ntohs(a.sin_port));
	free(conf.bitbucket_token_url);
	conf.bitbucket_token_url = strdup(url);
	if ((server = fork()) == 0) {
		close(counter[0]);
		serve(lfd, status, expires_in);
	}
	close(lfd);
}

static void
stop_server(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
}

/* How many requests the server answered so far. */
static int
served(void)
{
	char b[256];
	ssize_t r;
	int n = 0;

	while ((r = read(counter[0], b, sizeof(b))) > 0)
		n += (int)r;
	return n;
}

static int
fcntl_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static const char *
lookup(const char *name, void *ctx)
{
	(void)ctx;
	if (!strcmp(name, "AC_BASE_URL"))
		return "http://127.0.0.1";
	if (!strcmp(name, "AC_DATA_DIR"))
		return dir;
	if (!strcmp(name, "AC_ALLOWED_HOSTS"))
		return "127.0.0.1";
	if (!strcmp(name, "AC_APP_KEY"))
		return "test-app";
	return NULL;
}

static struct ac_tenant tenant = {
	.client_key = "ck-1", .shared_secret = "s3cret", .key = "test-app", .product = AC_PRODUCT_BITBUCKET,
	.base_url = "http://127.0.0.1", .base_api_url = "http://127.0.0.1/api", .oauth_client_id = "",
	.display_url = "", .state = AC_TENANT_INSTALLED,
};

static void
cache_setup(void)
{
	char *why = NULL;

	snprintf(dir, sizeof(dir), "/tmp/test-oauth-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(ac_conf_load_with(&conf, NULL, lookup, NULL, &why), AC_OK);
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_NOSYNC, &st), AC_OK);
	ck_assert_int_eq(pipe(counter), 0);
	ck_assert_int_eq(fcntl_nonblock(counter[0]), 0);
	ac_clock_set(0);
}

static void
cache_teardown(void)
{
	static const char *files[] = { "data.mdb", "lock.mdb", "sync.lock", AC_GRANT_LOCK_FILE };
	char p[128];
	size_t i;

	stop_server();
	close(counter[0]);
	close(counter[1]);
	ac_store_close(st);
	ac_conf_release(&conf);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
	ac_clock_set(0);
}

START_TEST(cache_reuses_then_refreshes)
{
	struct ac_grant_token a, b;
	int fresh = -1;
	char *first;

	start_server(200, 3600);
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &a, &fresh), AC_OK);
	ck_assert_int_eq(fresh, 1);
	ck_assert_str_eq(a.scopes, "account");
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &b, &fresh), AC_OK);
	ck_assert_int_eq(fresh, 0);
	ck_assert_str_eq(a.access_token, b.access_token);
	ck_assert_int_eq(served(), 1);
	first = strdup(a.access_token);
	ac_grant_token_release(&b);
	/* a 401 with it: that token is never handed out again */
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, first, &b, &fresh), AC_OK);
	ck_assert_int_eq(fresh, 1);
	ck_assert_str_ne(b.access_token, first);
	ck_assert_int_eq(served(), 1);
	ac_grant_token_release(&b);
	/* 61 s before expiry: still used; 60 s: a new one */
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &b, &fresh), AC_OK);
	ac_clock_set((time_t)(b.expires_at - AC_GRANT_EARLY - 1));
	ac_grant_token_release(&b);
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &b, &fresh), AC_OK);
	ck_assert_int_eq(fresh, 0);
	ac_clock_set((time_t)(b.expires_at - AC_GRANT_EARLY));
	ac_grant_token_release(&b);
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &b, &fresh), AC_OK);
	ck_assert_int_eq(fresh, 1);
	ck_assert_int_eq(served(), 1);
	ac_grant_token_release(&a);
	ac_grant_token_release(&b);
	free(first);
}
END_TEST

/* install, reinstall and uninstall forget a tenant's cached tokens, and only that tenant's */
static void
put_raw(const char *const *keys)
{
	struct ac_token_rec r;

	memset(&r, 0, sizeof(r));
	r.failed_at_ms = 1;
	r.failure = AC_ERR_UPSTREAM;
	for (; *keys; keys++)
		ck_assert_int_eq(ac_token_put(st, *keys, &r), AC_OK);
}

static enum ac_err
forget_fn(struct ac_txn *txn, void *ctx)
{
	return ac_grant_forget_txn(txn, ctx);
}

static int
cached(const char *key)
{
	struct ac_token_rec r;
	int found;

	ck_assert_int_eq(ac_token_get(st, key, &r), AC_OK);
	found = r.access_token != NULL || r.failed_at_ms != 0;
	ac_token_rec_release(&r);
	return found;
}

START_TEST(cache_forgotten_per_tenant)
{
	static const char *const keys[] = {
		"bb:ck-10", "jira:ck-1 acc-1 READ", "jira:ck-1 sha256:00ff", "jira:ck-10 acc-1 READ",
		"jira:ck-1", "bb:ck-0", NULL,
	};
	struct ac_tenant other = tenant;
	struct ac_grant_token a, b;
	int fresh = -1;

	start_server(200, 3600);
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &a, &fresh), AC_OK);
	other.client_key = (char *)"ck-10";
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &other, NULL, &b, &fresh), AC_OK);
	ac_grant_token_release(&b);
	put_raw(keys);
	ck_assert_int_eq(cached("bb:ck-1"), 1);
	ck_assert_int_eq(ac_store_update(st, forget_fn, (void *)"ck-1"), AC_OK);
	ck_assert_int_eq(cached("bb:ck-1"), 0);
	ck_assert_int_eq(cached("jira:ck-1 acc-1 READ"), 0);
	ck_assert_int_eq(cached("jira:ck-1 sha256:00ff"), 0);
	/* other tenants, even those whose clientKey starts with this one, keep theirs */
	ck_assert_int_eq(cached("bb:ck-10"), 1);
	ck_assert_int_eq(cached("jira:ck-10 acc-1 READ"), 1);
	ck_assert_int_eq(cached("bb:ck-0"), 1);
	ck_assert_int_eq(cached("jira:ck-1"), 1);
	/* the next call makes a new grant */
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &b, &fresh), AC_OK);
	ck_assert_int_eq(fresh, 1);
	ck_assert_str_ne(a.access_token, b.access_token);
	ck_assert_int_eq(served(), 3);
	/* forgetting a tenant with nothing cached is not an error */
	ck_assert_int_eq(ac_store_update(st, forget_fn, (void *)"ck-none"), AC_OK);
	ac_grant_token_release(&a);
	ac_grant_token_release(&b);
}
END_TEST

START_TEST(cache_refused_and_down)
{
	struct ac_grant_token t;
	struct ac_tenant gone = tenant;

	ac_grant_token_init(&t);
	start_server(401, 0);
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &t, NULL), AC_ERR_GRANT_REFUSED);
	ck_assert_ptr_null(t.access_token);
	stop_server();
	start_server(500, 0);
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &t, NULL), AC_ERR_UPSTREAM);
	stop_server();
	/* nobody listens any more */
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, NULL, &t, NULL), AC_ERR_UPSTREAM);
	ck_assert_int_eq(served(), 2);
	gone.state = AC_TENANT_UNINSTALLED;
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &gone, NULL, &t, NULL), AC_ERR_TENANT_UNINSTALLED);
	gone = tenant;
	gone.product = AC_PRODUCT_JIRA;
	ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &gone, NULL, &t, NULL), AC_ERR_INVALID);
	ck_assert_int_eq(ac_grant_jira_user(&conf, st, &gone, "bad id!", NULL, NULL, &t, NULL), AC_ERR_INVALID);
	/* no oauthClientId: not installed with ACT_AS_USER */
	ck_assert_int_eq(ac_grant_jira_user(&conf, st, &gone, "557058:abc", NULL, NULL, &t, NULL), AC_ERR_INVALID);
}
END_TEST

START_TEST(cache_one_call_for_many_processes)
{
	pid_t kids[8];
	int i, status, ok = 0;

	start_server(200, 3600);
	for (i = 0; i < 8; i++) {
		if ((kids[i] = fork()) == 0) {
			struct ac_store *s2;
			struct ac_grant_token t;

			/* a store per process, as every program opens its own after fork */
			if (ac_store_open(dir, 0, AC_STORE_NOSYNC, &s2) != AC_OK)
				_exit(2);
			_exit(ac_grant_bitbucket(&conf, s2, &tenant, NULL, &t, NULL) == AC_OK ? 0 : 1);
		}
	}
	for (i = 0; i < 8; i++)
		if (waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	ck_assert_int_eq(ok, 8);
	ck_assert_int_eq(served(), 1);
}
END_TEST

/*
 * Several hosts on one PostgreSQL (issue 16): processes that share no
 * grant.lock (each its own AC_DATA_DIR, as on different machines) and all
 * miss the same token at once make one grant request between them; the
 * others wait on the store's advisory lock and find its token.
 */
START_TEST(cache_one_call_across_hosts)
{
	enum { KIDS = 6 };
	struct ac_conf pconf;
	char kiddir[KIDS][96];
	pid_t kids[KIDS];
	int i, status, ok = 0, go[2];
	char c;

	pgh_conf(&pconf);
	/* slow enough that every process misses before the first answer is stored */
	serve_delay_ms = 300;
	start_server(200, 3600);
	/* after the server's fork: it must not hold the pipe open */
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < KIDS; i++) {
		snprintf(kiddir[i], sizeof(kiddir[i]), "%s-host%d", dir, i);
		ck_assert_int_eq(mkdir(kiddir[i], 0700), 0);
		if ((kids[i] = fork()) == 0) {
			struct ac_conf host = conf;
			struct ac_store *s2;
			struct ac_grant_token t;

			close(go[1]);
			host.store = AC_STORE_POSTGRES;
			host.database_url = pconf.database_url;
			host.sql_dir = pconf.sql_dir;
			host.data_dir = kiddir[i];
			/* its own connection, as every program opens its own after fork */
			if (ac_store_open_conf(&host, AC_STORE_NOSYNC, &s2) != AC_OK)
				_exit(2);
			/* all at once: the parent closes the pipe */
			if (read(go[0], &c, 1) != 0)
				_exit(3);
			_exit(ac_grant_bitbucket(&host, s2, &tenant, NULL, &t, NULL) == AC_OK ? 0 : 1);
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < KIDS; i++)
		if (waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	serve_delay_ms = 0;
	ck_assert_int_eq(ok, KIDS);
	ck_assert_int_eq(served(), 1);
	for (i = 0; i < KIDS; i++) {
		char p[256];

		snprintf(p, sizeof(p), "%.96s/%.100s", kiddir[i], AC_GRANT_LOCK_FILE);
		unlink(p);
		rmdir(kiddir[i]);
	}
	free(pconf.database_url);
	free(pconf.sql_dir);
	free(pconf.data_dir);
}
END_TEST

/*
 * grant.lock planted as a link to a file elsewhere (issue 13): minted without
 * the lock, and that file untouched; as root on a directory of another user,
 * the file is not given to that user.
 */
START_TEST(cache_lock_never_through_a_link)
{
	struct ac_grant_token t;
	struct stat before, after;
	char lock[128], victim[128], *first = NULL;
	int fd, pass;

	snprintf(victim, sizeof(victim), "%s.victim", dir);
	ck_assert_int_ge(fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
	ck_assert_int_eq(write(fd, "root's", 6), 6);
	close(fd);
	snprintf(lock, sizeof(lock), "%s/%s", dir, AC_GRANT_LOCK_FILE);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(dir, 65534, 65534), 0);
	start_server(200, 3600);
	for (pass = 0; pass < 2; pass++) {
		unlink(lock);
		ck_assert_int_eq(pass ? link(victim, lock) : symlink(victim, lock), 0);
		ck_assert_int_eq(stat(victim, &before), 0);
		ac_grant_token_init(&t);
		/* the second time, the first token is stale: a new one is minted, under the lock */
		ck_assert_int_eq(ac_grant_bitbucket(&conf, st, &tenant, first, &t, NULL), AC_OK);
		free(first);
		first = strdup(t.access_token);
		ac_grant_token_release(&t);
		ck_assert_int_eq(stat(victim, &after), 0);
		ck_assert_msg(after.st_uid == before.st_uid && after.st_gid == before.st_gid &&
		    after.st_mode == before.st_mode && after.st_size == 6, "%s: the file it leads to changed",
		    pass ? "a hard link" : "a symbolic link");
	}
	ck_assert_int_eq(served(), 2);
	free(first);
	unlink(lock);
	unlink(victim);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(dir, 0, 0), 0);
}
END_TEST

/* In the parent, before the forked tests (an unchecked fixture: the harness asserts, which Check allows only there and in tests). */
static void
pg_server_setup(void)
{
	pgh_server();
}

static Suite *
suite(void)
{
	Suite *s = suite_create("oauth");
	TCase *tc = tcase_create("html");
	TCase *tp = tcase_create("parse");
	TCase *tk = tcase_create("cache");

	tcase_add_test(tc, html_text);
	tcase_add_test(tc, html_attribute);
	tcase_add_test(tc, html_text_n_keeps_nul_out);
	tcase_add_test(tc, html_https_urls);
	tcase_add_test(tp, parse_bitbucket_answer);
	tcase_add_test(tp, parse_lenient);
	tcase_add_test(tp, parse_refuses);
	tcase_add_test(tp, scopes_normalised);
	tcase_add_checked_fixture(tk, cache_setup, cache_teardown);
	tcase_set_timeout(tk, 60);
	tcase_add_test(tk, cache_reuses_then_refreshes);
	tcase_add_test(tk, cache_refused_and_down);
	tcase_add_test(tk, cache_one_call_for_many_processes);
	/* one server for the test that needs one (pg-harness.h) */
	tcase_add_unchecked_fixture(tk, pg_server_setup, NULL);
	(void)pgh_open;
	tcase_add_test(tk, cache_one_call_across_hosts);
	tcase_add_test(tk, cache_forgotten_per_tenant);
	tcase_add_test(tk, cache_lock_never_through_a_link);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tp);
	suite_add_tcase(s, tk);
	return s;
}

AC_UNIT_MAIN(suite)
