/* test-descriptor.c: templates render with escaped values, broken ones fail clearly. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "routes/descriptor.h"
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
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
