/* test-descriptor.c: templates render with escaped values, broken ones fail clearly. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "routes/descriptor.h"
#include "routes/forge_manifest.h"
#include "base/json.h"
#include "unit.h"

static struct ac_conf conf;

static void
setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.base_url = (char *)"https://app.example.com";
	conf.app_key = (char *)"my-app";
	conf.app_name = (char *)"My \"quoted\" App";
	conf.template_dir = (char *)AC_SRCDIR "/descriptor";
	conf.descriptor = (char *)"";
}

static json_object *
render_shipped(enum ac_product p)
{
	struct ac_buf out;
	json_object *o = NULL;
	char *why = NULL;

	conf.product = p;
	ac_buf_init(&out, 1 << 20);
	ck_assert_msg(ac_descriptor_load(&conf, &out, &why) == AC_OK, "%s", why ? why : "");
	ck_assert_ptr_null(strstr(ac_buf_str(&out), "{{"));
	ck_assert_int_eq(ac_json_parse(out.data, out.len, &o, NULL), AC_OK);
	ac_buf_release(&out);
	return o;
}

static int
has_string(json_object *arr, const char *s)
{
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s))
			return 1;
	return 0;
}

static int
has_webhook(json_object *o, const char *event)
{
	json_object *mods = ac_json_get_typed(o, "modules", json_type_object);
	json_object *hooks = ac_json_get_typed(mods, "webhooks", json_type_array);
	size_t i;

	for (i = 0; hooks && i < json_object_array_length(hooks); i++) {
		json_object *h = json_object_array_get_idx(hooks, i);
		if (!strcmp(ac_json_get_string(h, "event"), event) && !strcmp(ac_json_get_string(h, "url"), "/webhook"))
			return 1;
	}
	return 0;
}

START_TEST(bitbucket_template)
{
	json_object *o = render_shipped(AC_PRODUCT_BITBUCKET), *x;
	json_object *scopes = ac_json_get_typed(o, "scopes", json_type_array);
	json_object *lc = ac_json_get_typed(o, "lifecycle", json_type_object);

	ck_assert_str_eq(ac_json_get_string(o, "key"), "my-app");
	ck_assert_str_eq(ac_json_get_string(o, "name"), "My \"quoted\" App");
	ck_assert_str_eq(ac_json_get_string(o, "baseUrl"), "https://app.example.com");
	ck_assert_str_eq(ac_json_get_string(ac_json_get_typed(o, "authentication", json_type_object), "type"), "jwt");
	ck_assert_str_eq(ac_json_get_string(lc, "installed"), "/installed");
	ck_assert_str_eq(ac_json_get_string(lc, "uninstalled"), "/uninstalled");
	ck_assert(has_string(scopes, "account") && has_string(scopes, "repository") && has_string(scopes, "pullrequest"));
	ck_assert(has_string(ac_json_get_typed(o, "contexts", json_type_array), "account"));
	ck_assert(has_webhook(o, "repo:push"));
	ck_assert(has_webhook(o, "pullrequest:created"));
	ck_assert(has_webhook(o, "pullrequest:updated"));
	x = ac_json_get_typed(ac_json_get_typed(o, "modules", json_type_object), "repoPages", json_type_array);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(strncmp(ac_json_get_string(json_object_array_get_idx(x, 0), "url"), "/oauth-callback", 15), 0);
	json_object_put(o);
}
END_TEST

START_TEST(jira_template)
{
	json_object *o = render_shipped(AC_PRODUCT_JIRA);
	json_object *mig = ac_json_get_typed(o, "apiMigrations", json_type_object);
	json_object *scopes = ac_json_get_typed(o, "scopes", json_type_array);

	ck_assert(json_object_get_boolean(ac_json_get_typed(mig, "signed-install", json_type_boolean)));
	ck_assert(json_object_get_boolean(ac_json_get_typed(mig, "context-qsh", json_type_boolean)));
	ck_assert(has_string(scopes, "READ") && has_string(scopes, "WRITE") && has_string(scopes, "ACT_AS_USER"));
	ck_assert(has_webhook(o, "jira:issue_created"));
	ck_assert(has_webhook(o, "jira:issue_updated"));
	json_object_put(o);
}
END_TEST

static enum ac_err
render(const char *t, char **why)
{
	struct ac_buf out;
	enum ac_err err;

	ac_buf_init(&out, 1 << 20);
	err = ac_descriptor_render(t, strlen(t), &conf, &out, why);
	ac_buf_release(&out);
	return err;
}

START_TEST(broken_templates)
{
	static const char *cases[][2] = {
		{ "{\"key\":\"{{appKey}}\",\"baseUrl\":\"{{baseUrl}}\"", "JSON" },
		{ "{\"key\":\"{{appKey}}\",\n\"baseUrl\":\"{{baseURL}}\",\"authentication\":{}}", "{{baseURL}} at line 2" },
		{ "{\"key\":\"{{appKey\"}", "without" },
		{ "[1,2]", "object" },
		{ "{\"key\":\"other\",\"baseUrl\":\"{{baseUrl}}\",\"authentication\":{}}", "key" },
		{ "{\"key\":\"{{appKey}}\",\"baseUrl\":\"https://elsewhere\",\"authentication\":{}}", "baseUrl" },
		{ "{\"key\":\"{{appKey}}\",\"baseUrl\":\"{{baseUrl}}\"}", "authentication" },
		{ "{\"key\":\"{{appKey}}\",\"baseUrl\":\"{{baseUrl}}\",\"authentication\":{}} x", "JSON" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *why = NULL;

		ck_assert_msg(render(cases[i][0], &why) == AC_ERR_CONFIG, "case %zu accepted", i);
		ck_assert_msg(why && strstr(why, cases[i][1]), "case %zu: '%s' lacks '%s'", i, why, cases[i][1]);
		free(why);
	}
}
END_TEST

START_TEST(missing_file)
{
	struct ac_buf out;
	char *why = NULL;

	conf.descriptor = (char *)"/nonexistent/descriptor.json";
	ac_buf_init(&out, 1 << 20);
	ck_assert_int_eq(ac_descriptor_load(&conf, &out, &why), AC_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent/descriptor.json"));
	free(why);
	ac_buf_release(&out);
}
END_TEST

/* The configuration as an operator gives it: the Forge app id as a bare upper-case uuid. */
static const char *forge_env[16];

static const char *
forge_lookup(const char *name, void *ctx)
{
	size_t i;

	(void)ctx;
	for (i = 0; forge_env[i]; i += 2)
		if (!strcmp(forge_env[i], name))
			return forge_env[i + 1];
	return NULL;
}

#define LINK "https://developer.atlassian.com/console/install/0f1e2d3c?signature=a%2Fb&product=bitbucket"
#define UUID "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"
#define ARI "ari:cloud:ecosystem::app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

/* The shipped descriptor of product rendered with AC_FORGE_APP_LINK=link, AC_FORGE_APP_ID=id. */
static json_object *
render_forge(const char *product, const char *link, const char *id)
{
	struct ac_conf c;
	struct ac_buf out;
	json_object *o = NULL;
	char *why = NULL;
	size_t i = 0;

	forge_env[i++] = "AC_BASE_URL";
	forge_env[i++] = "https://app.example.com";
	forge_env[i++] = "AC_PRODUCT";
	forge_env[i++] = product;
	forge_env[i++] = "AC_TEMPLATE_DIR";
	forge_env[i++] = AC_SRCDIR "/descriptor";
	forge_env[i++] = "AC_FORGE_APP_LINK";
	forge_env[i++] = link;
	forge_env[i++] = "AC_FORGE_APP_ID";
	forge_env[i++] = id;
	forge_env[i] = NULL;
	ck_assert_msg(ac_conf_load_with(&c, NULL, forge_lookup, NULL, &why) == AC_OK, "%s", why ? why : "");
	ac_buf_init(&out, 1 << 20);
	ck_assert_msg(ac_descriptor_load(&c, &out, &why) == AC_OK, "%s", why ? why : "");
	ck_assert_int_eq(ac_json_parse(out.data, out.len, &o, NULL), AC_OK);
	ac_buf_release(&out);
	ac_conf_release(&c);
	return o;
}

/* o's root field name: the string want, or absent for NULL. */
static void
check_root(json_object *o, const char *name, const char *want)
{
	json_object *v = NULL;
	int there = json_object_object_get_ex(o, name, &v);

	if (want == NULL) {
		ck_assert_msg(!there, "%s present: %s", name, json_object_get_string(v));
		return;
	}
	ck_assert_msg(there && json_object_is_type(v, json_type_string), "%s missing", name);
	ck_assert_str_eq(json_object_get_string(v), want);
}

/* Issue 15 item 7: the Bitbucket Connect descriptor names its Forge successor. */
START_TEST(forge_link)
{
	static const struct {
		const char *product, *link, *id, *want_link, *want_id;
	} cases[] = {
		{ "bitbucket", LINK, UUID, LINK, ARI },          /* both set; a bare uuid becomes the ARI */
		{ "bitbucket", LINK, ARI, LINK, ARI },
		{ "bitbucket", LINK, "", LINK, NULL },           /* one set */
		{ "bitbucket", "", UUID, NULL, ARI },
		{ "bitbucket", "", "", NULL, NULL },             /* none */
		{ "jira", LINK, UUID, NULL, NULL },              /* never for Jira */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *o = render_forge(cases[i].product, cases[i].link, cases[i].id);

		check_root(o, "forgeAppLink", cases[i].want_link);
		check_root(o, "forgeAppId", cases[i].want_id);
		ck_assert_str_eq(ac_json_get_string(o, "key"), "connect-fcgi");
		json_object_put(o);
	}
}
END_TEST

/* ---- the Forge manifest templates (forge/{product}.yml), rendered as acctl forge manifest does */

static void
forge_conf(void)
{
	conf.forge_app_id = (char *)ARI;
	conf.base_url = (char *)"https://app.example.com/base";
	conf.template_dir = (char *)AC_SRCDIR "/descriptor";
}

/* t rendered: the error, *text (caller frees) the output, *why (caller frees) the message. */
static enum ac_err
render_manifest(const char *t, char **text, char **why)
{
	struct ac_buf out;
	enum ac_err err;

	ac_buf_init(&out, 1 << 20);
	err = ac_forge_manifest_render(t, strlen(t), &conf, &out, why);
	if (err != AC_OK)
		ck_assert_uint_eq(out.len, 0);
	*text = strdup(ac_buf_str(&out));
	ac_buf_release(&out);
	return err;
}

START_TEST(manifest_shipped)
{
	static const enum ac_product products[] = { AC_PRODUCT_BITBUCKET, AC_PRODUCT_JIRA };
	size_t i;

	forge_conf();
	for (i = 0; i < 2; i++) {
		struct ac_buf out;
		char *why = NULL, *path = ac_forge_manifest_path(&conf, products[i]);

		ck_assert_ptr_nonnull(strstr(path, products[i] == AC_PRODUCT_JIRA ? "/forge/jira.yml" :
		    "/forge/bitbucket.yml"));
		ac_buf_init(&out, 1 << 20);
		ck_assert_msg(ac_forge_manifest_load(path, &conf, &out, &why) == AC_OK, "%s", why ? why : "");
		ck_assert_ptr_null(strstr(ac_buf_str(&out), "{{"));
		ck_assert_ptr_nonnull(strstr(ac_buf_str(&out), "\n  id: \"" ARI "\"\n"));
		ck_assert_ptr_nonnull(strstr(ac_buf_str(&out), "baseUrl: \"https://app.example.com/base\"\n"));
		ck_assert_ptr_nonnull(strstr(ac_buf_str(&out), "path: /forge/events\n"));
		if (products[i] == AC_PRODUCT_JIRA)
			ck_assert_ptr_nonnull(strstr(ac_buf_str(&out), "key: \"my-app\"\n"));
		else
			ck_assert_ptr_nonnull(strstr(ac_buf_str(&out), "path: /forge/merge-check\n"));
		ac_buf_release(&out);
		free(path);
	}
}
END_TEST

START_TEST(manifest_values)
{
	/* the app name, a setting of free text: YAML's double-quoted escapes, nothing else changed */
	static const char *ok_names[][2] = {
		{ "My \"quoted\" App", "x: \"My \\\"quoted\\\" App\"\n" },
		{ "a\\b: #c 'd' {e} [f] ${HOME}", "x: \"a\\\\b: #c 'd' {e} [f] ${HOME}\"\n" },
		{ "caf\xc3\xa9", "x: \"caf\xc3\xa9\"\n" },
	};
	/* a value that would add lines to the manifest, or carry a control character, is refused */
	static const char *bad_names[][2] = {
		{ "a\nevil: 1", "AC_APP_NAME contains a line break" },
		{ "a\r", "AC_APP_NAME contains a line break" },
		{ "a\tb", "AC_APP_NAME contains a control character" },
		{ "a\x7f", "AC_APP_NAME contains a control character" },
	};
	char *text, *why;
	size_t i;

	forge_conf();
	for (i = 0; i < sizeof(ok_names) / sizeof(ok_names[0]); i++) {
		why = NULL;
		conf.app_name = (char *)ok_names[i][0];
		ck_assert_int_eq(render_manifest("x: {{appName}}\n", &text, &why), AC_OK);
		ck_assert_str_eq(text, ok_names[i][1]);
		free(text);
	}
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		why = NULL;
		conf.app_name = (char *)bad_names[i][0];
		ck_assert_int_eq(render_manifest("x: {{appName}}\n", &text, &why), AC_ERR_CONFIG);
		ck_assert_msg(why && strstr(why, bad_names[i][1]), "case %zu: '%s'", i, why);
		free(text);
		free(why);
	}
	/* the same rule for every setting a template can name */
	conf.app_name = (char *)"ok";
	conf.app_key = (char *)"key\n";
	why = NULL;
	ck_assert_int_eq(render_manifest("k: {{appKey}}\n", &text, &why), AC_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(why, "AC_APP_KEY contains a line break"));
	free(text);
	free(why);
}
END_TEST

START_TEST(manifest_refusals)
{
	static const char *cases[][3] = {
		/* template, app id, what the message says */
		{ "id: {{appId}}\n", "", "AC_FORGE_APP_ID is empty" },
		{ "id: {{appId}}\n", NULL, "AC_FORGE_APP_ID is empty" },
		{ "u: {{baseUrl}}\n", ARI, "AC_BASE_URL is 'http://localhost'" },
		{ "a: 1\nid: \"{{appId}}\"\n", ARI, "line 2: {{appId}} inside quotes" },
		{ "id: '{{appId}}'\n", ARI, "line 1: {{appId}} inside quotes" },
		{ "a: 1\n\nid: {{appID}}\n", ARI, "line 3: unknown placeholder {{appID}}" },
		{ "id: {{appId\n}}\n", ARI, "line 1: '{{' without '}}'" },
		{ "id: {{appId", ARI, "line 1: '{{' without '}}'" },
	};
	size_t i;

	forge_conf();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text, *why = NULL;

		conf.forge_app_id = (char *)(cases[i][1] ? cases[i][1] : "");
		conf.base_url = (char *)(strstr(cases[i][2], "AC_BASE_URL") ? "http://localhost" :
		    "https://app.example.com");
		ck_assert_msg(render_manifest(cases[i][0], &text, &why) == AC_ERR_CONFIG, "case %zu accepted", i);
		ck_assert_msg(why && strstr(why, cases[i][2]), "case %zu: '%s' lacks '%s'", i, why, cases[i][2]);
		free(text);
		free(why);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("descriptor");
	TCase *tc = tcase_create("descriptor");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, bitbucket_template);
	tcase_add_test(tc, jira_template);
	tcase_add_test(tc, broken_templates);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, forge_link);
	tcase_add_test(tc, manifest_shipped);
	tcase_add_test(tc, manifest_values);
	tcase_add_test(tc, manifest_refusals);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
