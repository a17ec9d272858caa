/* cmd-forge.c: `acctl forge verify`, which explains why a Forge Invocation Token is refused. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acctl.h"
#include "auth/fit.h"
#include "auth/jwks.h"
#include "auth/token.h"
#include "outbound/forge_jwks.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/conf.h"
#include "base/json.h"
#include "base/num.h"
#include "store/store.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: acctl forge verify [--jwks FILE|URL] [--app-id ID] [--environments LIST]\n"
	    "                 [--leeway SECONDS] [--now TIME] TOKEN\n"
	    "       acctl forge manifest [--product bitbucket|jira] [--template FILE] [--out FILE]\n"
	    "       acctl forge installations\n"
	    "TOKEN is a Forge Invocation Token, 'Bearer TOKEN', 'Authorization: Bearer TOKEN',\n"
	    "or '-' to read it from standard input. ID defaults to AC_FORGE_APP_ID, LIST to\n"
	    "AC_FORGE_ENVIRONMENTS, SECONDS to AC_FORGE_LEEWAY; TIME is seconds since the epoch\n"
	    "or YYYY-MM-DDTHH:MM:SSZ.\n"
	    "Without --jwks: the JWKS the store keeps, else AC_FORGE_JWKS_URL fetched.\n"
	    "Exit status: 0 valid, 1 invalid token, 2 unusable input. See acctl(1).\n"
	    "installations: the Forge installations the store knows, one JSON object a line, with\n"
	    "whether an app system token is held and until when (never the token).\n");
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "acctl forge: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

/* --now: digits (epoch seconds) or YYYY-MM-DDTHH:MM:SSZ. */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;

	if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 12)
		return ac_num_parse_str(s, 0, INT64_MAX, out) == AC_OK ? 0 : -1;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* "in 12 s" / "19 s ago" */
static void
relative(int64_t t, int64_t now, char *out, size_t n)
{
	if (t >= now)
		snprintf(out, n, "in %" PRId64 " s", t - now);
	else
		snprintf(out, n, "%" PRId64 " s ago", now - t);
}

/*
 * Claims are untrusted text: control characters (an escape sequence for the
 * terminal) are shown as \xNN; the newlines of the explanations indent.
 */
static void
put_text(const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n')
			fputs("\n  ", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

/* "  label value\n" with value shown by put_text (NULL: "(none)"). */
static void
field(const char *label, const char *value)
{
	printf("  %-14s", label);
	put_text(value ? value : "(none)");
	putchar('\n');
}

/* What the token says of itself, marked unverified: the facts a person checks first. */
static void
print_about(const struct ac_token *t, int64_t now)
{
	json_object *app = ac_json_get_typed(t->claims, "app", json_type_object), *env;
	char when[64];

	env = app ? ac_json_get_typed(app, "environment", json_type_object) : NULL;
	printf("about the token (unverified claims):\n");
	field("kid:", t->kid);
	field(t->naud > 1 ? "aud[0]:" : "aud:", t->naud ? t->aud[0] : NULL);
	field("app.id:", app ? ac_json_get_string(app, "id") : NULL);
	field("installation:", app ? ac_json_get_string(app, "installationId") : NULL);
	field("environment:", env ? ac_json_get_string(env, "type") : NULL);
	if (env && ac_json_get_string(env, "id"))
		field("environment id:", ac_json_get_string(env, "id"));
	if (t->has_exp) {
		relative(t->exp, now, when, sizeof(when));
		field("expires:", when);
	}
}

static void
print_valid(const struct ac_fit *f, int64_t now)
{
	char when[64];
	size_t i;

	relative(f->exp, now, when, sizeof(when));
	printf("valid\n");
	field("app:", f->app_id);
	field("installation:", f->installation_id);
	field("environment:", f->environment_type);
	if (f->environment_id)
		field("environment id:", f->environment_id);
	if (f->api_base_url)
		field("apiBaseUrl:", f->api_base_url);
	for (i = 0; i < f->ncontexts; i++) {
		const struct ac_fit_context *c = &f->contexts[i];

		field(c->cloud_id ? "cloudId:" : c->workspace_id ? "workspaceId:" : "context:",
		    c->cloud_id ? c->cloud_id : c->workspace_id);
		if (c->api_base_url)
			field("  apiBaseUrl:", c->api_base_url);
	}
	if (f->module_type)
		field("module type:", f->module_type);
	if (f->module_key)
		field("module key:", f->module_key);
	if (f->principal)
		field("principal:", f->principal);
	field("kid:", f->kid);
	field("expires:", when);
}

/* The problems of a report as "code: text", continuation lines indented. */
static void
print_problems(const struct ac_token_report *r)
{
	size_t i;

	printf("invalid: %zu problem%s\n", r->n, r->n == 1 ? "" : "s");
	for (i = 0; i < r->n; i++) {
		printf("%s: ", ac_err_code(r->v[i].err));
		put_text(r->v[i].text);
		putchar('\n');
	}
}

/* scheme://...: fetched (and refused unless https or loopback http), never opened as a file */
static int
is_url(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

	return n > 0 && !strncmp(s + n, "://", 3);
}

/* A copy of b's bytes, NUL-terminated (free() it); NULL when out of memory. */
static char *
copy_doc(const struct ac_buf *b, size_t *len)
{
	char *out = malloc(b->len + 1);

	if (out == NULL)
		return NULL;
	if (b->len)
		memcpy(out, b->data, b->len);
	out[b->len] = '\0';
	*len = b->len;
	return out;
}

/* The JWKS at url, fetched as the server fetches it (forge_jwks.c); NULL after saying why. */
static char *
jwks_fetch(const struct ac_conf *conf, const char *url, const char *what, size_t *len)
{
	struct ac_buf b;
	char *why = NULL, *out = NULL;

	if (ac_forge_jwks_download(conf, url, &b, &why) == AC_OK) {
		if ((out = copy_doc(&b, len)) != NULL)
			fprintf(stderr, "acctl forge: the JWKS fetched from %s%s (%zu bytes)\n", url, what, *len);
	} else {
		fprintf(stderr, "acctl forge: cannot fetch the JWKS%s: %s\n", what, why ? why : "out of memory");
	}
	ac_buf_release(&b);
	free(why);
	return out;
}

/*
 * --jwks URL: that set. No --jwks: the set the store keeps (what the server
 * verifies with now), else AC_FORGE_JWKS_URL fetched. Read-only: nothing is
 * kept. NULL after saying why.
 */
static char *
jwks_fetched_or_kept(const struct ac_conf *conf, const char *url, size_t *len)
{
	struct ac_store *st = NULL;
	struct ac_forge_jwks_state js;
	struct ac_buf b;
	char *out = NULL, when[32];
	enum ac_err err;

	if (url)
		return jwks_fetch(conf, url, "", len);
	memset(&js, 0, sizeof(js));
	ac_buf_init(&b, AC_JWKS_MAX);
	if (acctl_as_data_owner(conf) != 0)
		goto out;
	if ((err = ac_store_open_conf(conf, AC_STORE_RDONLY, &st)) != AC_OK)
		fprintf(stderr, "acctl forge: no store in %s to read a kept JWKS from\n", acctl_store_where(conf));
	else if ((err = ac_forge_jwks_get(st, &b, &js)) != AC_OK)
		fprintf(stderr, "acctl forge: the JWKS kept in the store is unreadable: %s\n", ac_strerror(err));
	if (st)
		ac_store_close(st);
	if (js.found && b.len > 0) {
		if ((out = copy_doc(&b, len)) != NULL)
			fprintf(stderr, "acctl forge: the JWKS kept in the store (fetched %s from AC_FORGE_JWKS_URL)\n",
			    acctl_time((time_t)js.fetched_at, when, sizeof(when)));
		goto out;
	}
	out = jwks_fetch(conf, conf->forge_jwks_url, " (AC_FORGE_JWKS_URL; the store keeps none)", len);
out:
	ac_buf_release(&b);
	return out;
}

static const struct option verify_opts[] = {
	{ "jwks", required_argument, NULL, 'j' },
	{ "app-id", required_argument, NULL, 'a' },
	{ "environments", required_argument, NULL, 'E' },
	{ "leeway", required_argument, NULL, 'l' },
	{ "now", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_verify(int argc, char **argv)
{
	const char *jwks_path = NULL, *app_opt = NULL, *env_opt = NULL, *leeway_opt = NULL;
	const char *now_opt = NULL, *why_scheme = NULL;
	char app_ari[AC_FORGE_APP_ID_MAX], *doc = NULL, *tokbuf = NULL, *why = NULL;
	const char *tok;
	size_t doclen = 0, toklen = 0;
	struct ac_conf conf;
	struct ac_jwks *set = NULL;
	struct ac_token t;
	struct ac_token_report report;
	struct ac_fit fit;
	struct ac_fit_policy pol;
	int o, rc = 2, have_conf = 0, have_token = 0;
	enum ac_err err;

	memset(&t, 0, sizeof(t));
	memset(&fit, 0, sizeof(fit));
	ac_token_report_init(&report);
	optind = 1;
	while ((o = getopt_long(argc, argv, "j:a:E:l:n:h", verify_opts, NULL)) != -1) {
		switch (o) {
		case 'j': jwks_path = optarg; break;
		case 'a': app_opt = optarg; break;
		case 'E': env_opt = optarg; break;
		case 'l': leeway_opt = optarg; break;
		case 'n': now_opt = optarg; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: rc = bad_usage("unknown option"); goto out;
		}
	}
	if (argc - optind != 1) {
		rc = bad_usage("verify takes one TOKEN");
		goto out;
	}
	if (ac_conf_load_tool(&conf, ".", &why) != AC_OK) {
		fprintf(stderr, "acctl forge: configuration: %s\n", why ? why : "error");
		goto out;
	}
	have_conf = 1;
	memset(&pol, 0, sizeof(pol));
	pol.app_id = conf.forge_app_id;
	pol.environments = conf.forge_env_mask;
	pol.leeway = conf.forge_leeway;
	pol.now = (int64_t)ac_clock_now();
	if (app_opt) {
		if (ac_conf_forge_app_ari(app_opt, app_ari) != 0) {
			rc = bad_usage("--app-id must be a uuid or ari:cloud:ecosystem::app/<uuid>");
			goto out;
		}
		pol.app_id = app_ari;
	}
	if (env_opt) {
		const char *p = env_opt;

		pol.environments = 0;
		while (*p) {
			size_t n = strcspn(p, ",");
			unsigned bit = ac_conf_forge_env_bit(p, n);

			if (bit == 0) {
				rc = bad_usage("--environments is a comma list of DEVELOPMENT, STAGING, PRODUCTION");
				goto out;
			}
			pol.environments |= bit;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	if (leeway_opt) {
		int64_t v;

		if (ac_num_parse_str(leeway_opt, 0, 60, &v) != AC_OK) {
			rc = bad_usage("--leeway is a whole number of seconds from 0 to 60");
			goto out;
		}
		pol.leeway = (long)v;
	}
	if (now_opt && parse_time(now_opt, &pol.now) != 0) {
		rc = bad_usage("--now is seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ");
		goto out;
	}
	if (jwks_path && !is_url(jwks_path))
		doc = acctl_read_input("forge", jwks_path, AC_JWKS_MAX + 1, &doclen, "--jwks");
	else
		doc = jwks_fetched_or_kept(&conf, jwks_path, &doclen);
	if (doc == NULL)
		goto out;
	if ((err = ac_jwks_parse(doc, doclen, &set, &why)) != AC_OK) {
		fprintf(stderr, "acctl forge: %s: %s\n", jwks_path ? jwks_path : "the JWKS",
		    why ? why : ac_strerror(err));
		goto out;
	}
	if (set->nignored)
		printf("note: %zu member%s of the JWKS ignored (not RS256 signing keys of at least "
		    "%d bits with a kid)\n", set->nignored, set->nignored == 1 ? "" : "s",
		    AC_JWKS_RSA_MIN_BITS);
	if (!strcmp(argv[optind], "-")) {
		if ((tokbuf = acctl_read_input("forge", "-", AC_TOKEN_MAX + 64, &toklen, "TOKEN")) == NULL)
			goto out;
		while (toklen && (tokbuf[toklen - 1] == '\n' || tokbuf[toklen - 1] == '\r'))
			tokbuf[--toklen] = '\0';
		tok = tokbuf;
	} else {
		tok = argv[optind];
	}
	if (!strncasecmp(tok, "Authorization:", 14)) {
		tok += 14;
		while (*tok == ' ')
			tok++;
	}
	toklen = strlen(tok);
	rc = 1;
	/* pasted with a scheme: check it as the server would */
	if (strchr(tok, ' ') != NULL) {
		err = ac_fit_extract(tok, &tok, &toklen);
		if (err != AC_OK) {
			why_scheme = !strncmp(tok, "JWT ", 4) ?
			    "the scheme is JWT: that is a Connect token; Forge sends "
			    "'Authorization: Bearer <token>'" :
			    "Forge sends exactly 'Authorization: Bearer <token>' (one space, "
			    "case-sensitive scheme)";
			printf("invalid: 1 problem\n%s: %s\n", ac_err_code(err), why_scheme);
			goto out;
		}
	}
	if ((err = ac_fit_parse(tok, toklen, &t)) != AC_OK) {
		printf("invalid: 1 problem\n%s: not a compact JWS of at most %d bytes with JSON "
		    "header and claims (`acctl jwt decode` says what is wrong with it)\n",
		    ac_err_code(err), AC_TOKEN_MAX);
		goto out;
	}
	have_token = 1;
	err = ac_fit_verify(&t, set, &pol, &fit, &report);
	if (err == AC_OK) {
		print_valid(&fit, pol.now);
		rc = 0;
	} else if (err == AC_ERR_NOMEM) {
		fprintf(stderr, "acctl forge: out of memory\n");
		rc = 2;
	} else {
		print_problems(&report);
		print_about(&t, pol.now);
	}
out:
	if (have_token)
		ac_token_release(&t);
	ac_fit_release(&fit);
	ac_token_report_release(&report);
	ac_jwks_free(set);
	free(doc);
	free(why);
	free(tokbuf);
	if (have_conf)
		ac_conf_release(&conf);
	return rc;
}

/* One installation as JSON, into the array ctx (printed after the walk: a read transaction is open). */
static enum ac_err
collect_installation(const struct ac_forge_installation *in, void *ctx)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;

	if (o == NULL || a == NULL) {
		json_object_put(o);
		json_object_put(a);
		return AC_ERR_NOMEM;
	}
#define S(name, v) if (v) json_object_object_add(o, name, json_object_new_string(v))
	S("installationId", in->installation_id);
	S("appId", in->app_id);
	S("appVersion", in->app_version);
	S("environmentType", in->environment_type);
	S("environmentId", in->environment_id);
	S("apiBaseUrl", in->api_base_url);
	S("siteUrl", in->site_url);
	S("clientKey", in->client_key);
#undef S
	for (i = 0; i < in->ncontexts; i++) {
		json_object *c = json_object_new_object();

		if (in->contexts[i].name)
			json_object_object_add(c, "name", json_object_new_string(in->contexts[i].name));
		if (in->contexts[i].api_base_url)
			json_object_object_add(c, "apiBaseUrl", json_object_new_string(in->contexts[i].api_base_url));
		if (in->contexts[i].cloud_id)
			json_object_object_add(c, "cloudId", json_object_new_string(in->contexts[i].cloud_id));
		if (in->contexts[i].workspace_id)
			json_object_object_add(c, "workspaceId", json_object_new_string(in->contexts[i].workspace_id));
		json_object_array_add(a, c);
	}
	json_object_object_add(o, "contexts", a);
	json_object_object_add(o, "firstSeen", json_object_new_int64(in->first_seen));
	json_object_object_add(o, "lastSeen", json_object_new_int64(in->last_seen));
	return json_object_array_add(ctx, o) == 0 ? AC_OK : AC_ERR_NOMEM;
}

/* Each installation as a line, with of its token only whether one is live and until when. */
static enum ac_err
print_installations(struct ac_store *st, json_object *list)
{
	size_t i, n = json_object_array_length(list);
	enum ac_err err = AC_OK;

	for (i = 0; i < n && err == AC_OK; i++) {
		json_object *o = json_object_array_get_idx(list, i);
		struct ac_forge_token tok;
		struct ac_forge_installation in;
		char *ck = NULL;

		/*
		 * The Connect tenant linked now (doc/protocol.md §11): one installed
		 * after the Forge event is found too; else the one recorded stays.
		 */
		if ((err = ac_forge_installation_get(st, ac_json_get_string(o, "installationId"), &in)) == AC_OK) {
			err = ac_forge_link_find(st, &in, &ck);
			ac_forge_installation_release(&in);
		}
		if (err != AC_OK && err != AC_ERR_NOT_FOUND)
			break;
		if (ck)
			json_object_object_add(o, "clientKey", json_object_new_string(ck));
		free(ck);
		if ((err = ac_forge_token_get(st, ac_json_get_string(o, "installationId"), &tok)) != AC_OK)
			break;
		json_object_object_add(o, "systemToken",
		    json_object_new_boolean(tok.token != NULL && tok.exp > (int64_t)ac_clock_now()));
		if (tok.token)
			json_object_object_add(o, "systemTokenExpires", json_object_new_int64(tok.exp));
		ac_forge_token_release(&tok);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	return err;
}

static int
cmd_installations(int argc, char **argv)
{
	struct ac_conf conf;
	struct ac_store *st = NULL;
	json_object *list;
	enum ac_err err;

	(void)argv;
	if (argc != 1)
		return bad_usage("installations takes no argument");
	if (acctl_load_conf(&conf) != 0)
		return 2;
	if (acctl_as_data_owner(&conf) != 0) {
		ac_conf_release(&conf);
		return 1;
	}
	if ((err = ac_store_open_conf(&conf, AC_STORE_RDONLY, &st)) != AC_OK) {
		fprintf(stderr, "acctl: cannot open the store in %s: %s\n", acctl_store_where(&conf), ac_strerror(err));
		ac_conf_release(&conf);
		return 1;
	}
	if ((list = json_object_new_array()) == NULL)
		err = AC_ERR_NOMEM;
	else if ((err = ac_forge_installation_foreach(st, collect_installation, list)) == AC_OK)
		err = print_installations(st, list);
	json_object_put(list);
	ac_store_close(st);
	ac_conf_release(&conf);
	if (err != AC_OK) {
		fprintf(stderr, "acctl: %s\n", ac_strerror(err));
		return 1;
	}
	return 0;
}

int
acctl_cmd_forge(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "installations"))
		return cmd_installations(argc - 1, argv + 1);
	if (!strcmp(argv[1], "manifest"))
		return acctl_forge_manifest(argc - 1, argv + 1);
	return bad_usage("unknown subcommand '%s'", argv[1]);
}
