/* cmd-jwt.c: `acctl jwt qsh|sign|decode|verify`, the JWT workbench that explains 401s. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acctl.h"
#include "base/buf.h"
#include "auth/canon.h"
#include "base/clock.h"
#include "base/conf.h"
#include "base/num.h"
#include "base/url.h"
#include "auth/explain.h"
#include "auth/policy.h"
#include "store/store.h"
#include "store/tenant.h"
#include "auth/token.h"

#define SECRET_MAX (64 * 1024)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: acctl jwt qsh [--base-url URL] METHOD URL\n"
	    "       acctl jwt sign (--secret S | --secret-file FILE) --iss ISS [--sub SUB]\n"
	    "                 [--aud AUD]... [--ttl SECONDS] [--claim NAME=VALUE]...\n"
	    "                 [--context-qsh | --no-qsh] [--base-url URL] METHOD URL\n"
	    "       acctl jwt decode TOKEN\n"
	    "       acctl jwt verify (--secret S | --secret-file FILE | --public-key FILE |\n"
	    "                 --tenant CLIENTKEY) [--inbound | --outbound] [--base-url URL]\n"
	    "                 [--leeway N] [--product bitbucket|jira] [--app-key KEY]\n"
	    "                 [--client-key KEY] [--aud AUD] [--context-qsh] METHOD URL TOKEN\n"
	    "A secret, secret file or TOKEN of '-' is read from standard input.\n"
	    "Exit status: 0 ok/valid, 1 invalid token, 2 unusable input. See acctl(1).\n");
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The message, then the usage, on stderr; returns the exit status 2. */
static int
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "acctl jwt: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

/* ---------------------------------------------------------------- input */

/* A secret or token from a file or '-' (stdin), one trailing newline removed. */
static char *
read_source(const char *path, size_t max, size_t *len, const char *what)
{
	char *s;

	if ((s = acctl_read_input("jwt", path, max, len, what)) == NULL)
		return NULL;
	if (*len > 0 && s[*len - 1] == '\n')
		s[--*len] = '\0';
	if (*len > 0 && s[*len - 1] == '\r')
		s[--*len] = '\0';
	return s;
}

struct secret {
	char *data; /* owned, wiped on release */
	size_t len;
	int from_stdin;
};

static void
secret_release(struct secret *s)
{
	if (s->data) {
		OPENSSL_cleanse(s->data, s->len);
		free(s->data);
	}
	s->data = NULL;
	s->len = 0;
}

/* --secret S (S "-": stdin) or --secret-file FILE (FILE "-": stdin). */
static int
secret_set(struct secret *s, const char *arg, int is_file)
{
	if (s->data != NULL) {
		fprintf(stderr, "acctl jwt: give one secret or key\n");
		return -1;
	}
	if (!is_file && strcmp(arg, "-") != 0) {
		s->len = strlen(arg);
		s->data = malloc(s->len + 1);
		if (s->data == NULL)
			return -1;
		memcpy(s->data, arg, s->len + 1);
		return 0;
	}
	s->from_stdin = !strcmp(arg, "-");
	s->data = read_source(arg, SECRET_MAX, &s->len, "secret");
	return s->data ? 0 : -1;
}

static int
method_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i]; i++)
		if (!isalpha((unsigned char)m[i]))
			return 0;
	return i > 0 && i <= 16;
}

/* The canonical request and its qsh, or a message and -1. */
static int
canonical(const char *method, const char *url, const char *base_url, struct ac_buf *out,
    char hex[AC_QSH_HEX_LEN])
{
	enum ac_err err;

	if (!method_ok(method)) {
		fprintf(stderr, "acctl jwt: '%s' is not an HTTP method\n", method);
		return -1;
	}
	if (*url == '\0') {
		fprintf(stderr, "acctl jwt: the URL is empty\n");
		return -1;
	}
	err = ac_canon_outbound(method, url, base_url, out);
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: cannot build the canonical request of '%s': %s\n", url,
		    ac_strerror(err));
		return -1;
	}
	ac_canon_qsh(ac_buf_str(out), out->len, hex);
	return 0;
}

/* ---------------------------------------------------------------- qsh */

static const struct option qsh_opts[] = {
	{ "base-url", required_argument, NULL, 'b' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_qsh(int argc, char **argv)
{
	const char *base_url = NULL;
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN];
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "b:h", qsh_opts, NULL)) != -1) {
		switch (o) {
		case 'b': base_url = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 2)
		return bad_usage("qsh takes METHOD URL");
	ac_buf_init(&c, AC_CANON_MAX);
	rc = canonical(argv[optind], argv[optind + 1], base_url, &c, hex) == 0 ? 0 : 2;
	if (rc == 0)
		printf("%s\n%s\n", ac_buf_str(&c), hex);
	ac_buf_release(&c);
	return rc;
}

/* ---------------------------------------------------------------- sign */

static const struct option sign_opts[] = {
	{ "secret", required_argument, NULL, 's' },
	{ "secret-file", required_argument, NULL, 'S' },
	{ "iss", required_argument, NULL, 'i' },
	{ "sub", required_argument, NULL, 'u' },
	{ "aud", required_argument, NULL, 'a' },
	{ "ttl", required_argument, NULL, 't' },
	{ "claim", required_argument, NULL, 'c' },
	{ "base-url", required_argument, NULL, 'b' },
	{ "context-qsh", no_argument, NULL, 'C' },
	{ "no-qsh", no_argument, NULL, 'N' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
parse_long(const char *s, long min, long max, long *out)
{
	int64_t v;

	if (ac_num_parse_str(s, min, max, &v) != AC_OK)
		return -1;
	*out = (long)v;
	return 0;
}

/* Whether url is absolute (scheme://host...), as the one URL parser sees it. */
static int
absolute(const char *url)
{
	struct ac_url u;
	int ok = ac_url_parse(url, &u) == AC_OK;

	ac_url_release(&u);
	return ok;
}

/* VALUE as strict JSON when it is JSON (123, true, ["a"], {"k":1}), else as a string. */
static struct json_object *
claim_value(const char *v)
{
	struct json_tokener *tok = json_tokener_new_ex(AC_TOKEN_JSON_DEPTH);
	struct json_object *o = NULL;
	size_t n = strlen(v);

	if (tok != NULL && n > 0) {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		/* with its NUL, so that a bare number ends */
		o = json_tokener_parse_ex(tok, v, (int)n + 1);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) < n) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	return o ? o : json_object_new_string(v);
}

static int
cmd_sign(int argc, char **argv)
{
	struct secret secret = { NULL, 0, 0 };
	const char *iss = NULL, *sub = NULL, *base_url = NULL;
	struct json_object *claims = NULL, *auds = NULL, *extra = NULL;
	long ttl = AC_TOKEN_TTL;
	int o, rc = 2, qsh_mode = 0; /* 0 computed, 1 context-qsh, 2 none */
	int64_t now;
	struct ac_buf c;
	char hex[AC_QSH_HEX_LEN], *tok = NULL, *eq;
	enum ac_err err;

	ac_buf_init(&c, AC_CANON_MAX);
	auds = json_object_new_array();
	extra = json_object_new_object();
	claims = json_object_new_object();
	if (auds == NULL || extra == NULL || claims == NULL)
		goto out;
	optind = 1;
	while ((o = getopt_long(argc, argv, "s:S:i:u:a:t:c:b:CNh", sign_opts, NULL)) != -1) {
		switch (o) {
		case 's':
		case 'S':
			if (secret_set(&secret, optarg, o == 'S') != 0)
				goto out;
			break;
		case 'i': iss = optarg; break;
		case 'u': sub = optarg; break;
		case 'a': json_object_array_add(auds, json_object_new_string(optarg)); break;
		case 't':
			if (parse_long(optarg, 1, 365L * 86400, &ttl) != 0) {
				rc = bad_usage("--ttl takes seconds, 1 to a year, not '%s'", optarg);
				goto out;
			}
			break;
		case 'c':
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg) {
				rc = bad_usage("--claim takes NAME=VALUE, not '%s'", optarg);
				goto out;
			}
			*eq = '\0';
			json_object_object_add(extra, optarg, claim_value(eq + 1));
			*eq = '=';
			break;
		case 'b': base_url = optarg; break;
		case 'C': qsh_mode = 1; break;
		case 'N': qsh_mode = 2; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (secret.data == NULL) {
		rc = bad_usage("sign needs --secret or --secret-file");
		goto out;
	}
	if (iss == NULL) {
		rc = bad_usage("sign needs --iss (outbound: the app key)");
		goto out;
	}
	if (qsh_mode == 0 ? argc - optind != 2 : argc - optind > 2) {
		rc = bad_usage("sign takes METHOD URL");
		goto out;
	}
	if (qsh_mode == 0 && canonical(argv[optind], argv[optind + 1], base_url, &c, hex) != 0)
		goto out;

	now = (int64_t)ac_clock_now();
	json_object_object_add(claims, "iss", json_object_new_string(iss));
	if (sub)
		json_object_object_add(claims, "sub", json_object_new_string(sub));
	if (json_object_array_length(auds) == 1)
		json_object_object_add(claims, "aud",
		    json_object_get(json_object_array_get_idx(auds, 0)));
	else if (json_object_array_length(auds) > 1)
		json_object_object_add(claims, "aud", json_object_get(auds));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(claims, "exp", json_object_new_int64(now + ttl));
	if (qsh_mode == 0)
		json_object_object_add(claims, "qsh", json_object_new_string(hex));
	else if (qsh_mode == 1)
		json_object_object_add(claims, "qsh", json_object_new_string(AC_TOKEN_CONTEXT_QSH));
	{
		/* --claim last, so that it can also override (to build broken tokens on purpose) */
		json_object_object_foreach(extra, k, v)
			json_object_object_add(claims, k, json_object_get(v));
	}
	err = ac_token_sign_hs256(claims, secret.data, secret.len, &tok);
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: signing failed: %s\n", ac_strerror(err));
		rc = 2;
		goto out;
	}
	printf("%s\n", tok);
	rc = 0;
out:
	ac_buf_free_secret_str(tok);
	json_object_put(claims);
	json_object_put(extra);
	json_object_put(auds);
	ac_buf_release(&c);
	secret_release(&secret);
	return rc;
}

/* ---------------------------------------------------------------- decode */

/* What is wrong with a token that ac_token_parse() refused, on stderr. */
static void
print_malformed(const char *tok, size_t len)
{
	struct ac_buf b;

	ac_buf_init(&b, 64 * 1024);
	if (ac_explain_malformed(tok, len, &b) == AC_OK)
		fputs(ac_buf_str(&b), stderr);
	ac_buf_release(&b);
}

/* TOKEN, or '-' for stdin; caller frees. */
static char *
token_arg(const char *arg, size_t *len)
{
	char *s;

	if (!strcmp(arg, "-"))
		return read_source("-", 1024 * 1024, len, "token");
	*len = strlen(arg);
	s = malloc(*len + 1);
	if (s)
		memcpy(s, arg, *len + 1);
	return s;
}

static int
cmd_decode(int argc, char **argv)
{
	struct json_object *out;
	struct ac_token t;
	char *tok;
	size_t len;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2)
		return bad_usage("decode takes TOKEN");
	if ((tok = token_arg(argv[1], &len)) == NULL)
		return 2;
	if (ac_token_parse(tok, len, &t) != AC_OK) {
		fprintf(stderr, "acctl jwt: token_malformed: not a well-formed compact JWS\n");
		print_malformed(tok, len);
		free(tok);
		return 2;
	}
	out = ac_explain_decoded(&t, (int64_t)ac_clock_now());
	if (out == NULL) {
		fprintf(stderr, "acctl jwt: out of memory\n");
		ac_token_release(&t);
		ac_buf_free_secret_str(tok);
		return 2;
	}
	printf("%s\n", json_object_to_json_string_ext(out,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	ac_token_release(&t);
	ac_buf_free_secret_str(tok);
	return 0;
}

/* ---------------------------------------------------------------- verify */

static const struct option verify_opts[] = {
	{ "secret", required_argument, NULL, 's' },
	{ "secret-file", required_argument, NULL, 'S' },
	{ "public-key", required_argument, NULL, 'k' },
	{ "tenant", required_argument, NULL, 'T' },
	{ "base-url", required_argument, NULL, 'b' },
	{ "leeway", required_argument, NULL, 'l' },
	{ "outbound", no_argument, NULL, 'o' },
	{ "inbound", no_argument, NULL, 'i' },
	{ "product", required_argument, NULL, 'p' },
	{ "app-key", required_argument, NULL, 'A' },
	{ "client-key", required_argument, NULL, 'K' },
	{ "aud", required_argument, NULL, 'a' },
	{ "context-qsh", no_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --tenant: the secret and names of an installed tenant from AC_DATA_DIR. */
static int
load_tenant(const char *client_key, struct secret *secret, struct ac_tenant *tenant,
    int *have_tenant, struct ac_conf *conf, int *have_conf)
{
	struct ac_store *st = NULL;
	char *why = NULL;
	enum ac_err err;

	if (ac_conf_load(conf, ".", &why) != AC_OK) {
		fprintf(stderr, "acctl jwt: configuration: %s\n", why ? why : "error");
		free(why);
		return 2;
	}
	*have_conf = 1;
	if (acctl_as_data_owner(conf) != 0)
		return 2;
	err = ac_store_open_conf(conf, AC_STORE_RDONLY, &st);
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: cannot open the store in %s: %s\n", acctl_store_where(conf),
		    ac_strerror(err));
		return 2;
	}
	err = ac_tenant_get(st, client_key, tenant);
	ac_store_close(st);
	if (err == AC_ERR_UNKNOWN_TENANT) {
		printf("%s: no tenant with clientKey \"%s\" in %s: the app was never installed "
		    "there, or the clientKey is mistyped\n", ac_err_code(err), client_key,
		    conf->data_dir);
		return 1;
	}
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: reading tenant: %s\n", ac_strerror(err));
		return 2;
	}
	*have_tenant = 1;
	secret->len = strlen(tenant->shared_secret);
	secret->data = malloc(secret->len + 1);
	if (secret->data == NULL)
		return 2;
	memcpy(secret->data, tenant->shared_secret, secret->len + 1);
	return 0;
}

static long
default_leeway(void)
{
	const char *s = getenv("AC_LEEWAY");
	long v;

	if (s && parse_long(s, 0, 3600, &v) == 0)
		return v;
	return 60;
}

/*
 * --tenant without --inbound or --outbound: the URL says the direction
 * (ac_policy_direction), *base the base it is on; an absolute URL on neither
 * side is an error that says how to choose.
 */
static int
infer_kind(const char *url, const struct ac_tenant *t, const struct ac_conf *conf,
    enum ac_policy_kind *kind, const char **base)
{
	const char *products[2];

	/* a path outside the app is a REST call: Bitbucket's go to baseApiUrl */
	products[0] = t->base_api_url;
	products[1] = t->base_url;
	if (ac_policy_direction(url, conf->base_url, products, 2, kind, base) == AC_OK)
		return 0;
	fprintf(stderr, "acctl jwt: cannot tell from %s whom the token is for: the product of "
	    "tenant \"%s\" is at %s%s%s, the app (AC_BASE_URL) at %s; give --outbound for a call "
	    "to the product, --inbound for one to the app\n", url, t->client_key,
	    *t->base_url ? t->base_url : "\"\"", *t->base_api_url ? " and " : "", t->base_api_url,
	    conf->base_url);
	return -1;
}

static int
cmd_verify(int argc, char **argv)
{
	struct secret key = { NULL, 0, 0 };
	struct ac_tenant tenant;
	struct ac_conf conf;
	struct ac_policy_ctx ctx;
	struct ac_token_policy p;
	struct ac_explain_case ec;
	struct ac_buf c, out, diag;
	enum ac_policy_kind kind = AC_POLICY_INBOUND;
	enum ac_explain_verdict verdict;
	const char *tenant_key = NULL, *base_url = NULL, *product = NULL, *aud = NULL;
	const char *base = NULL, *method, *url;
	char hex[AC_QSH_HEX_LEN], *tok = NULL;
	size_t len;
	long leeway = -1;
	int o, rc = 2, rs256 = 0, have_tenant = 0, have_conf = 0, page = 0, inferred = 0;
	int dir = 0; /* 'i' --inbound, 'o' --outbound, 0 from the URL (--tenant) */
	enum ac_err err;

	memset(&ctx, 0, sizeof(ctx));
	memset(&tenant, 0, sizeof(tenant));
	ac_buf_init(&c, AC_CANON_MAX);
	ac_buf_init(&out, 1024 * 1024);
	ac_buf_init(&diag, 64 * 1024);
	optind = 1;
	while ((o = getopt_long(argc, argv, "s:S:k:T:b:l:oip:A:K:a:Ch", verify_opts, NULL)) != -1) {
		switch (o) {
		case 's':
		case 'S':
		case 'k':
			if (tenant_key || secret_set(&key, optarg, o != 's') != 0) {
				if (tenant_key)
					fprintf(stderr, "acctl jwt: give one secret or key\n");
				goto out;
			}
			rs256 = o == 'k';
			break;
		case 'T':
			if (key.data || tenant_key) {
				fprintf(stderr, "acctl jwt: give one secret or key\n");
				goto out;
			}
			tenant_key = optarg;
			break;
		case 'b': base_url = optarg; break;
		case 'l':
			if (parse_long(optarg, 0, 86400, &leeway) != 0) {
				rc = bad_usage("--leeway takes seconds, not '%s'", optarg);
				goto out;
			}
			break;
		case 'o':
		case 'i':
			if (dir && dir != o) {
				rc = bad_usage("--inbound and --outbound exclude each other");
				goto out;
			}
			dir = o;
			break;
		case 'p':
			if (strcmp(optarg, "bitbucket") && strcmp(optarg, "jira")) {
				rc = bad_usage("--product is bitbucket or jira, not '%s'", optarg);
				goto out;
			}
			product = optarg;
			break;
		case 'A': ctx.app_key = optarg; break;
		case 'K': ctx.client_key = optarg; break;
		case 'a': aud = optarg; break;
		case 'C': page = 1; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (argc - optind != 3) {
		rc = bad_usage("verify takes METHOD URL TOKEN");
		goto out;
	}
	method = argv[optind];
	url = argv[optind + 1];
	if (key.data == NULL && tenant_key == NULL) {
		rc = bad_usage("verify needs --secret, --secret-file, --public-key or --tenant");
		goto out;
	}
	if (rs256 && dir == 'o') {
		rc = bad_usage("--public-key checks Jira's signed installs; tokens the app sends "
		    "are HS256 (--secret)");
		goto out;
	}
	if (key.from_stdin && !strcmp(argv[optind + 2], "-")) {
		rc = bad_usage("the secret and the token cannot both come from stdin");
		goto out;
	}
	if (tenant_key) {
		rc = load_tenant(tenant_key, &key, &tenant, &have_tenant, &conf, &have_conf);
		if (rc != 0)
			goto out;
		rc = 2;
		if (!ctx.client_key)
			ctx.client_key = tenant.client_key;
		if (!ctx.app_key)
			ctx.app_key = *tenant.key ? tenant.key : conf.app_key;
		if (!product)
			product = ac_conf_product_name(tenant.product);
		if (leeway < 0)
			leeway = conf.leeway;
	}
	if (dir == 'o')
		kind = AC_POLICY_OUTBOUND;
	else if (rs256)
		kind = AC_POLICY_SIGNED_INSTALL;
	else if (dir == 0 && have_tenant) {
		if (infer_kind(url, &tenant, &conf, &kind, &base) != 0)
			goto out;
		inferred = 1;
		/* as the server's page route: context-qsh and ?jwt= there only */
		if (kind == AC_POLICY_INBOUND && ac_policy_page_route(url, conf.base_url))
			page = 1;
	}
	if (!base_url && have_tenant)
		base_url = base ? base : kind != AC_POLICY_OUTBOUND ? conf.base_url :
		    *tenant.base_api_url ? tenant.base_api_url : tenant.base_url;
	if (leeway < 0)
		leeway = default_leeway();
	if ((tok = token_arg(argv[optind + 2], &len)) == NULL)
		goto out;
	if (canonical(method, url, base_url, &c, hex) != 0)
		goto out;

	ctx.product = product && !strcmp(product, "jira") ? AC_PRODUCT_JIRA : AC_PRODUCT_BITBUCKET;
	ctx.app_base_url = aud ? aud : base_url;
	ctx.leeway = leeway;
	ctx.page = page;
	if (ac_policy_build(kind, &ctx, &p) != AC_OK)
		goto out;
	/* the person's own overrides, on any kind */
	p.allow_context_qsh |= page;
	if (aud) {
		p.aud = aud;
		if (p.aud_rule == AC_TOKEN_AUD_ANY)
			p.aud_rule = AC_TOKEN_AUD_OPTIONAL;
	}

	memset(&ec, 0, sizeof(ec));
	ec.method = method;
	ec.url = url;
	ec.base_url = base_url;
	ec.expected_qsh = hex;
	ec.token = tok;
	ec.token_len = len;
	ec.key = key.data;
	ec.keylen = key.len;
	ec.policy = &p;
	err = ac_explain_verify(&ec, &out, &diag, &verdict);
	if (err != AC_OK) {
		fprintf(stderr, "acctl jwt: cannot verify: %s\n", ac_strerror(err));
		goto out;
	}
	fputs(ac_buf_str(&out), stdout);
	fflush(stdout);
	fputs(ac_buf_str(&diag), stderr);
	ac_buf_reset(&out);
	rc = verdict == AC_EXPLAIN_VALID ? 0 : 1;
	if (verdict == AC_EXPLAIN_MALFORMED || !have_tenant)
		goto out;
	if (tenant.state == AC_TENANT_UNINSTALLED)
		printf(verdict == AC_EXPLAIN_VALID ? "note: tenant \"%s\" has uninstalled the app; "
		    "the server answers tenant_uninstalled\n" :
		    "tenant_uninstalled: tenant \"%s\" has uninstalled the app\n", tenant.client_key);
	/* the direction the URL chose, when it may be what the person did not mean */
	if (verdict == AC_EXPLAIN_INVALID && inferred &&
	    ac_explain_direction(kind, base, kind == AC_POLICY_INBOUND ? "AC_BASE_URL" :
	    base == tenant.base_api_url ? "the tenant's baseApiUrl" : "the tenant's baseUrl",
	    !absolute(url), &out) == AC_OK)
		fputs(ac_buf_str(&out), stdout);
out:
	ac_buf_free_secret_str(tok);
	ac_buf_release(&diag);
	ac_buf_release(&out);
	ac_buf_release(&c);
	secret_release(&key);
	if (have_tenant)
		ac_tenant_release(&tenant);
	if (have_conf)
		ac_conf_release(&conf);
	return rc;
}

/* ---------------------------------------------------------------- dispatch */

int
acctl_cmd_jwt(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} subs[] = {
		{ "qsh", cmd_qsh },
		{ "sign", cmd_sign },
		{ "decode", cmd_decode },
		{ "verify", cmd_verify },
	};
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(argc - 1, argv + 1);
	return bad_usage("unknown subcommand '%s'", argv[1]);
}
