/* test-conf.c: defaults, checks that name the setting, file vs environment, host patterns. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/conf.h"
#include "unit.h"

/* A fake environment: NULL-terminated name, value pairs. */
static const char **fake;

static const char *
lookup(const char *name, void *ctx)
{
	const char **p;

	(void)ctx;
	for (p = fake; p && *p; p += 2)
		if (!strcmp(p[0], name))
			return p[1];
	return NULL;
}

static enum ac_err
load(struct ac_conf *c, char **why)
{
	return ac_conf_load_with(c, NULL, lookup, NULL, why);
}

START_TEST(defaults)
{
	const char *env[] = { "AC_BASE_URL", "https://app.example.com/", NULL };
	struct ac_conf c;
	char *why;

	fake = env;
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_str_eq(c.base_url, "https://app.example.com");
	ck_assert_str_eq(c.base_path, "");
	ck_assert_int_eq(c.product, AC_PRODUCT_BITBUCKET);
	ck_assert_str_eq(c.data_dir, "./var/data");
	ck_assert_int_eq(c.leeway, 60);
	ck_assert_int_eq(c.sync, AC_SYNC_FULL);
	ck_assert_str_eq(c.install_keys_url, "https://connect-install-keys.atlassian.com");
	ck_assert_str_eq(c.bitbucket_token_url, "https://bitbucket.org/site/oauth2/access_token");
	ck_assert_str_eq(c.oauth_server_url, "https://oauth-2-authorization-server.services.atlassian.com");
	ck_assert_str_eq(c.allowed_hosts, "bitbucket.org,api.bitbucket.org,*.atlassian.net,*.jira.com");
	ck_assert_str_eq(c.descriptor, "");
	ac_conf_release(&c);
}
END_TEST

START_TEST(base_url_required)
{
	const char *env[] = { NULL };
	struct ac_conf c;
	char *why;

	fake = env;
	ck_assert_int_eq(load(&c, &why), AC_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(why, "AC_BASE_URL"));
	free(why);
}
END_TEST

START_TEST(bad_values_name_the_setting)
{
	static const char *cases[][4] = {
		{ "AC_BASE_URL", "http://app.example.com", "AC_BASE_URL", "https" },
		{ "AC_BASE_URL", "ftp://x", "AC_BASE_URL", "https" },
		{ "AC_BASE_URL", "https://", "AC_BASE_URL", "host" },
		{ "AC_BASE_URL", "https://a.example/?q=1", "AC_BASE_URL", "query" },
		{ "AC_LEEWAY", "ten", "AC_LEEWAY", "number" },
		{ "AC_LEEWAY", "-1", "AC_LEEWAY", "number" },
		{ "AC_LEEWAY", "601", "AC_LEEWAY", "600" },
		{ "AC_LEEWAY", "60s", "AC_LEEWAY", "number" },
		{ "AC_PRODUCT", "confluence", "AC_PRODUCT", "jira" },
		{ "AC_SYNC", "sometimes", "AC_SYNC", "off" },
		{ "AC_APP_KEY", "my key", "AC_APP_KEY", "letters" },
		{ "AC_ALLOWED_HOSTS", "bitbucket.org,evil.com/x", "AC_ALLOWED_HOSTS", "host" },
		{ "AC_INSTALL_KEYS_URL", "http://keys.example.com", "AC_INSTALL_KEYS_URL", "https" },
		{ "AC_COMMIT_PATTERN", "(", "AC_COMMIT_PATTERN", "regular" },
		{ "AC_DATA_DIR", "", "AC_DATA_DIR", "empty" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = { "AC_BASE_URL", "https://app.example.com", cases[i][0], cases[i][1], NULL };
		struct ac_conf c;
		char *why = NULL;

		/* the later pair overrides AC_BASE_URL when it is the one under test */
		if (!strcmp(cases[i][0], "AC_BASE_URL")) {
			env[1] = cases[i][1];
			env[2] = NULL;
		}
		fake = env;
		ck_assert_msg(load(&c, &why) == AC_ERR_CONFIG, "%s=%s accepted", cases[i][0], cases[i][1]);
		ck_assert_msg(strstr(why, cases[i][2]) != NULL, "'%s' does not name %s", why, cases[i][2]);
		ck_assert_msg(strstr(why, cases[i][3]) != NULL, "'%s' does not say '%s'", why, cases[i][3]);
		free(why);
	}
}
END_TEST

START_TEST(localhost_http_and_base_path)
{
	const char *env[] = { "AC_BASE_URL", "http://127.0.0.1:8080/app/", "AC_PRODUCT", "jira",
		"AC_SYNC", "off", "AC_LEEWAY", "0", NULL };
	struct ac_conf c;
	char *why;

	fake = env;
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_str_eq(c.base_url, "http://127.0.0.1:8080/app");
	ck_assert_str_eq(c.base_path, "/app");
	ck_assert_int_eq(c.product, AC_PRODUCT_JIRA);
	ck_assert_int_eq(c.sync, AC_SYNC_OFF);
	ck_assert_int_eq(c.leeway, 0);
	ac_conf_release(&c);
}
END_TEST

/*
 * URL settings go through the one URL parser and loopback rule (base/url.h): 127.0.0.0/8 and
 * [::1] by their address (127.0.0.2 was refused, as outbound took any "127." name), never a
 * name that starts like one; no user information; kept as libcurl normalises them.
 */
START_TEST(url_settings_one_rule)
{
	static const struct {
		const char *url, *base_url, *base_path, *why;
	} v[] = {
		{ "http://127.0.0.2:8080", "http://127.0.0.2:8080", "", NULL },
		{ "http://[::1]:8080/app/", "http://[::1]:8080/app", "/app", NULL },
		{ "http://LOCALHOST:9/", "http://LOCALHOST:9", "", NULL },
		{ "HTTPS://App.Example.com/x/./y/", "https://App.Example.com/x/y", "/x/y", NULL },
		{ "http://127.evil.com", NULL, NULL, "https" },
		{ "http://127.0.0.1.nip.io/", NULL, NULL, "https" },
		{ "http://localhost./", NULL, NULL, "https" },
		{ "https://user:pw@app.example.com", NULL, NULL, "user" },
		{ "https://app.example.com/#x", NULL, NULL, "fragment" },
		{ "https://app.example.com/a b", NULL, NULL, "spaces" },
		{ "https:///app.example.com", NULL, NULL, "host" },
		{ "app.example.com", NULL, NULL, "https" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *env[] = { "AC_BASE_URL", v[i].url, NULL };
		struct ac_conf c;
		char *why = NULL;

		fake = env;
		if (v[i].why == NULL) {
			ck_assert_msg(load(&c, &why) == AC_OK, "%s: %s", v[i].url, why ? why : "");
			ck_assert_str_eq(c.base_url, v[i].base_url);
			ck_assert_str_eq(c.base_path, v[i].base_path);
			ac_conf_release(&c);
		} else {
			ck_assert_msg(load(&c, &why) == AC_ERR_CONFIG, "%s accepted", v[i].url);
			ck_assert_msg(strstr(why, v[i].why) != NULL, "'%s' does not say '%s'", why, v[i].why);
			free(why);
		}
	}
}
END_TEST

/* The other URL settings take the same parser and loopback rule. */
START_TEST(other_url_settings_one_rule)
{
	static const struct {
		const char *name, *value;
		int ok;
	} v[] = {
		{ "AC_INSTALL_KEYS_URL", "http://127.0.0.2:9/keys", 1 },
		{ "AC_INSTALL_KEYS_URL", "http://[::1]:9/keys", 1 },
		{ "AC_INSTALL_KEYS_URL", "http://127.evil.com/keys", 0 },
		{ "AC_INSTALL_KEYS_URL", "https://user@keys.example.com", 0 },
		{ "AC_FORGE_JWKS_URL", "http://127.0.0.1:9/jwks.json", 1 },  /* AC_ALLOWED_HOSTS names it */
		{ "AC_FORGE_JWKS_URL", "http://localhost:9/jwks.json", 0 },  /* loopback, but not named */
		{ "AC_FORGE_APP_LINK", "https://developer.atlassian.com/x", 1 },
		{ "AC_FORGE_APP_LINK", "", 1 },
		{ "AC_FORGE_APP_LINK", "http://localhost/x", 0 },
		{ "AC_FORGE_APP_LINK", "https://user@developer.atlassian.com/x", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *env[] = { "AC_BASE_URL", "https://app.example.com", "AC_ALLOWED_HOSTS", "127.0.0.1",
			v[i].name, v[i].value, NULL };
		struct ac_conf c;
		char *why = NULL;

		fake = env;
		if (v[i].ok) {
			ck_assert_msg(load(&c, &why) == AC_OK, "%s=%s: %s", v[i].name, v[i].value, why ? why : "");
			ac_conf_release(&c);
		} else {
			ck_assert_msg(load(&c, &why) == AC_ERR_CONFIG, "%s=%s accepted", v[i].name, v[i].value);
			ck_assert_ptr_nonnull(strstr(why, v[i].name));
			free(why);
		}
	}
}
END_TEST

static char *
write_file(const char *text)
{
	char *path = strdup("/tmp/test-conf-XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(file_then_environment)
{
	char *path = write_file("# a comment\n\nAC_BASE_URL = https://from-file.example.com\n"
	    "AC_APP_KEY=\"file-key\"\nAC_LEEWAY=30\n");
	const char *env[] = { "AC_CONFIG", path, "AC_LEEWAY", "5", NULL };
	struct ac_conf c;
	char *why;

	fake = env;
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_str_eq(c.base_url, "https://from-file.example.com");
	ck_assert_str_eq(c.app_key, "file-key");
	ck_assert_int_eq(c.leeway, 5);
	ck_assert_str_eq(c.source, path);
	ac_conf_release(&c);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(file_errors)
{
	char *path = write_file("AC_BASE_URL=https://a.example.com\nAC_LEEWAYY=3\n");
	const char *env[] = { "AC_CONFIG", path, NULL };
	const char *missing[] = { "AC_CONFIG", "/nonexistent/connect-fcgi.conf", NULL };
	struct ac_conf c;
	char *why;

	fake = env;
	ck_assert_int_eq(load(&c, &why), AC_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(why, "AC_LEEWAYY"));
	ck_assert_ptr_nonnull(strstr(why, ":2:"));
	free(why);
	fake = missing;
	ck_assert_int_eq(load(&c, &why), AC_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(why, "AC_CONFIG"));
	free(why);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(file_beside_program)
{
	char dir[] = "/tmp/test-conf-dir-XXXXXX";
	char path[256];
	FILE *f;
	struct ac_conf c;
	char *why;
	const char *env[] = { NULL };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/connect-fcgi.conf", dir);
	f = fopen(path, "w");
	fputs("AC_BASE_URL=https://beside.example.com\n", f);
	fclose(f);
	fake = env;
	ck_assert_int_eq(ac_conf_load_with(&c, dir, lookup, NULL, &why), AC_OK);
	ck_assert_str_eq(c.base_url, "https://beside.example.com");
	ac_conf_release(&c);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(host_patterns)
{
	const char *env[] = { "AC_BASE_URL", "https://a.example.com",
		"AC_ALLOWED_HOSTS", "bitbucket.org, api.bitbucket.org,*.atlassian.net,127.0.0.1", NULL };
	struct ac_conf c;
	char *why;
	static const struct {
		const char *host;
		int ok;
	} cases[] = {
		{ "bitbucket.org", 1 }, { "BitBucket.ORG", 1 }, { "api.bitbucket.org", 1 },
		{ "x.atlassian.net", 1 }, { "127.0.0.1", 1 },
		{ "atlassian.net", 0 }, { "a.b.atlassian.net", 0 }, { "bitbucket.org.evil.com", 0 },
		{ "evil.com", 0 }, { "xbitbucket.org", 0 }, { "evilatlassian.net", 0 }, { "", 0 },
		{ ".atlassian.net", 0 },
	};
	size_t i;

	fake = env;
	ck_assert_int_eq(load(&c, &why), AC_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(ac_conf_host_allowed(&c, cases[i].host, strlen(cases[i].host)) == cases[i].ok,
		    "%s", cases[i].host);
	ac_conf_release(&c);
}
END_TEST

/* AC_PROCESSES (heal): 0 by default (no supervisor), a small whole number otherwise. */
START_TEST(processes)
{
	static const char *bad[] = { "-1", "257", "2x", "", "1e3" };
	const char *env[] = { "AC_BASE_URL", "https://app.example.com", "AC_PROCESSES", "4", NULL };
	struct ac_conf c;
	char *why = NULL;
	size_t i;

	env[2] = NULL;
	fake = env;
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_int_eq(c.processes, 0);
	ac_conf_release(&c);
	env[2] = "AC_PROCESSES";
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_int_eq(c.processes, 4);
	ac_conf_release(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env[3] = bad[i];
		why = NULL;
		ck_assert_msg(load(&c, &why) == AC_ERR_CONFIG, "AC_PROCESSES=%s accepted", bad[i]);
		ck_assert_msg(strstr(why, "AC_PROCESSES") != NULL, "'%s' does not name AC_PROCESSES", why);
		free(why);
	}
}
END_TEST

START_TEST(table_is_complete)
{
	size_t n, i;
	const struct ac_conf_setting *s = ac_conf_settings(&n);

	ck_assert_uint_ge(n, 13);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(s[i].help);
		ck_assert_int_eq(strncmp(s[i].env, "AC_", 3), 0);
	}
}
END_TEST

/* Forge settings (issue 15 item 1): defaults, the app id kept as its ARI, bad values refused. */
START_TEST(forge)
{
	static const char *bad[][3] = {
		{ "AC_FORGE_APP_ID", "not-a-uuid", "uuid" },
		{ "AC_FORGE_APP_ID", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f", "uuid" },
		{ "AC_FORGE_APP_ID", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0x", "uuid" },
		{ "AC_FORGE_APP_ID", "0f1e2d3c+4b5a-6978-8796-a5b4c3d2e1f0", "uuid" },
		{ "AC_FORGE_APP_ID", "ari:cloud:ecosystem::installation/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "uuid" },
		{ "AC_FORGE_APP_ID", "ari:cloud:ecosystem::app/", "uuid" },
		{ "AC_FORGE_JWKS_URL", "http://forge.example.com/jwks.json", "http" },
		{ "AC_FORGE_JWKS_URL", "http://127.0.0.1:8080/jwks.json", "AC_ALLOWED_HOSTS" },
		{ "AC_FORGE_JWKS_URL", "ftp://x/jwks.json", "https" },
		{ "AC_FORGE_JWKS_URL", "", "https" },
		{ "AC_FORGE_ENVIRONMENTS", "PRODUCTION,TEST", "DEVELOPMENT" },
		{ "AC_FORGE_ENVIRONMENTS", "production", "DEVELOPMENT" },
		{ "AC_FORGE_ENVIRONMENTS", "", "at least one" },
		{ "AC_FORGE_ENVIRONMENTS", " , ", "at least one" },
		{ "AC_FORGE_LEEWAY", "61", "60" },
		{ "AC_FORGE_LEEWAY", "-1", "60" },
		{ "AC_FORGE_LEEWAY", "5s", "60" },
		{ "AC_FORGE_LEEWAY", "", "60" },
		{ "AC_FORGE_APP_LINK", "http://developer.atlassian.com/console/install/x", "https" },
		{ "AC_FORGE_APP_LINK", "install-me", "https" },
	};
	const char *env[] = { "AC_BASE_URL", "https://app.example.com", NULL, NULL, NULL, NULL, NULL };
	struct ac_conf c;
	char *why = NULL, scratch[32];
	const struct ac_conf_setting *s;
	size_t i, n;

	fake = env;
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_str_eq(c.forge_app_id, "");
	ck_assert_str_eq(c.forge_jwks_url, "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json");
	ck_assert_str_eq(c.forge_environments, "DEVELOPMENT,STAGING,PRODUCTION");
	ck_assert_uint_eq(c.forge_env_mask, AC_FORGE_ENV_ALL);
	ck_assert_int_eq(c.forge_leeway, 5);
	ck_assert_str_eq(c.forge_app_link, "");
	ac_conf_release(&c);

	/* a bare uuid, any case, is kept as the ARI in lower case, as tokens carry it */
	env[2] = "AC_FORGE_APP_ID";
	env[3] = "0F1E2D3C-4b5a-6978-8796-A5B4C3D2E1F0";
	env[4] = "AC_FORGE_ENVIRONMENTS";
	env[5] = "PRODUCTION, DEVELOPMENT";
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_str_eq(c.forge_app_id, "ari:cloud:ecosystem::app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	ck_assert_str_eq(c.forge_environments, "DEVELOPMENT,PRODUCTION");
	ck_assert_uint_eq(c.forge_env_mask, AC_FORGE_ENV_DEVELOPMENT | AC_FORGE_ENV_PRODUCTION);
	/* `acctl config` prints what the table holds */
	s = ac_conf_settings(&n);
	for (i = 0; i < n; i++) {
		if (!strcmp(s[i].env, "AC_FORGE_APP_ID"))
			ck_assert_str_eq(ac_conf_value(&c, &s[i], scratch, sizeof(scratch)), c.forge_app_id);
		if (!strcmp(s[i].env, "AC_FORGE_LEEWAY"))
			ck_assert_str_eq(ac_conf_value(&c, &s[i], scratch, sizeof(scratch)), "5");
	}
	ac_conf_release(&c);
	env[3] = "ari:cloud:ecosystem::app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
	env[4] = "AC_FORGE_APP_LINK";
	env[5] = "https://developer.atlassian.com/console/install/0f1e2d3c?signature=x";
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_str_eq(c.forge_app_id, env[3]);
	ck_assert_str_eq(c.forge_app_link, env[5]);
	ac_conf_release(&c);

	/* http for a JWKS only on a loopback host the allow-list names */
	env[2] = "AC_ALLOWED_HOSTS";
	env[3] = "api.bitbucket.org,127.0.0.1";
	env[4] = "AC_FORGE_JWKS_URL";
	env[5] = "http://127.0.0.1:8080/jwks.json";
	ck_assert_int_eq(load(&c, &why), AC_OK);
	ck_assert_str_eq(c.forge_jwks_url, env[5]);
	ac_conf_release(&c);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env[2] = bad[i][0];
		env[3] = bad[i][1];
		env[4] = NULL;
		why = NULL;
		ck_assert_msg(load(&c, &why) == AC_ERR_CONFIG, "%s=%s accepted", bad[i][0], bad[i][1]);
		ck_assert_msg(strstr(why, bad[i][0]) != NULL, "'%s' does not name %s", why, bad[i][0]);
		ck_assert_msg(strstr(why, bad[i][2]) != NULL, "'%s' does not say '%s'", why, bad[i][2]);
		free(why);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, base_url_required);
	tcase_add_test(tc, bad_values_name_the_setting);
	tcase_add_test(tc, localhost_http_and_base_path);
	tcase_add_test(tc, url_settings_one_rule);
	tcase_add_test(tc, other_url_settings_one_rule);
	tcase_add_test(tc, file_then_environment);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, file_beside_program);
	tcase_add_test(tc, host_patterns);
	tcase_add_test(tc, table_is_complete);
	tcase_add_test(tc, processes);
	tcase_add_test(tc, forge);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
