/* conf.c: settings from the environment, then a file, each checked against one table. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/num.h"
#include "base/url.h"

#ifndef AC_PKGDATADIR
#define AC_PKGDATADIR "/usr/local/share/connect-fcgi"
#endif

#define CONF_FILE "connect-fcgi.conf"
#define CONF_FILE_MAX (64 * 1024)

/* The default of AC_COMMIT_PATTERN and AC_PR_TITLE_PATTERN: Conventional Commits. */
#define CONVENTIONAL \
	"^(build|chore|ci|docs|feat|fix|perf|refactor|revert|style|test)(\\([a-z0-9._/-]+\\))?!?: .+"

#define FIELD(conf, s, type) ((type *)(void *)((char *)(conf) + (s)->offset))

static const char *
set_string(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	char **field = FIELD(conf, s, char *);
	char *dup;

	if ((dup = strdup(text)) == NULL)
		return "out of memory";
	free(*field);
	*field = dup;
	return NULL;
}

static const char *
check_nonempty(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	if (*text == '\0')
		return "must not be empty";
	return set_string(conf, s, text);
}

/*
 * An absolute http(s) URL without user information, split by the one URL
 * parser (base/url.h). Returns NULL or what is wrong; u is filled on success.
 */
static const char *
split_url(const char *text, struct ac_url *u)
{
	enum ac_err err;
	const char *p;

	if ((err = ac_url_parse(text, u)) == AC_ERR_NOMEM)
		return "out of memory";
	if (err != AC_OK) {
		if (strncasecmp(text, "https://", 8) && strncasecmp(text, "http://", 7))
			return "must be an absolute https:// URL";
		for (p = text; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				return "contains spaces or control characters";
		return "has no host, or a malformed one";
	}
	if (strcmp(u->scheme, "https") && strcmp(u->scheme, "http"))
		return "must be an absolute https:// URL";
	if (u->has_user)
		return "must not carry user information";
	/* base/url.h: one rule for loopback, shared with the outbound client */
	if (!ac_url_is_secure(u))
		return "must use https (plain http only for a loopback host: localhost, 127.0.0.0/8, [::1])";
	return NULL;
}

/* An https URL, or http to a loopback host (tests and local development). */
static const char *
check_url(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	struct ac_url u;
	const char *why = split_url(text, &u);

	ac_url_release(&u);
	return why ? why : set_string(conf, s, text);
}

/* As check_url, without query or fragment; kept as libcurl normalises it, without a trailing '/'. */
static const char *
check_base_url(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	const char *why;
	struct ac_url u;
	size_t len, plen;
	char *url = NULL, *bp = NULL;

	(void)s;
	if (*text == '\0')
		return "is required: the public https URL of this app (e.g. https://app.example.com)";
	if ((why = split_url(text, &u)) != NULL)
		goto out;
	if (u.query || u.fragment || strchr(text, '?') || strchr(text, '#')) {
		why = "must not have a query or fragment";
		goto out;
	}
	/* the normalised URL ends with its path: both lose their trailing '/'s alike */
	len = strlen(u.url);
	plen = strlen(u.path);
	while (plen > 0 && u.path[plen - 1] == '/')
		plen--, len--;
	if ((url = strndup(u.url, len)) == NULL || (bp = strndup(u.path, plen)) == NULL) {
		free(url);
		why = "out of memory";
		goto out;
	}
	free(conf->base_url);
	free(conf->base_path);
	conf->base_url = url;
	conf->base_path = bp;
out:
	ac_url_release(&u);
	return why;
}

/* Connect app keys: letters, digits, '-', '.', '_', at most 64 (Connect descriptor rules). */
static const char *
check_app_key(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	const char *p;

	if (*text == '\0' || strlen(text) > 64)
		return "must be 1 to 64 characters";
	for (p = text; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return "may only contain letters, digits, '-', '.' and '_'";
	return set_string(conf, s, text);
}

static const char *
check_text(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	const char *p;

	if (*text == '\0' || strlen(text) > 200)
		return "must be 1 to 200 characters";
	for (p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "must not contain control characters";
	return set_string(conf, s, text);
}

static const char *
check_product(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	enum ac_product *field = FIELD(conf, s, enum ac_product);

	if (!strcmp(text, "bitbucket"))
		*field = AC_PRODUCT_BITBUCKET;
	else if (!strcmp(text, "jira"))
		*field = AC_PRODUCT_JIRA;
	else
		return "must be 'bitbucket' or 'jira'";
	return NULL;
}

static const char *
check_sync(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	enum ac_sync *field = FIELD(conf, s, enum ac_sync);

	if (!strcmp(text, "full"))
		*field = AC_SYNC_FULL;
	else if (!strcmp(text, "off"))
		*field = AC_SYNC_OFF;
	else if (!strcmp(text, "each"))
		*field = AC_SYNC_EACH;
	else
		return "must be 'full', 'off' or 'each'";
	return NULL;
}

static const char *
check_store(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	enum ac_store_kind *field = FIELD(conf, s, enum ac_store_kind);

	if (!strcmp(text, "lmdb"))
		*field = AC_STORE_LMDB;
	else if (!strcmp(text, "postgres") || !strcmp(text, "postgresql"))
		*field = AC_STORE_POSTGRES;
	else
		return "must be 'lmdb' or 'postgres'";
	return NULL;
}

static const char *
parse_long(const char *text, long lo, long hi, long *out)
{
	enum ac_err err;
	int64_t v;

	if ((err = ac_num_parse_str(text, lo, hi, &v)) != AC_OK)
		return err == AC_ERR_TOO_LARGE ? "is out of range" : "must be a whole number";
	*out = (long)v;
	return NULL;
}

static const char *
check_leeway(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	return parse_long(text, 0, 600, FIELD(conf, s, long)) ? "must be a whole number of seconds from 0 to 600" : NULL;
}

static const char *
check_map_size(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	return parse_long(text, 1, 1048576, FIELD(conf, s, long)) ? "must be a whole number of MiB from 1 to 1048576" : NULL;
}

static const char *
check_worker(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	enum ac_worker_mode *field = FIELD(conf, s, enum ac_worker_mode);

	if (!strcmp(text, "daemon"))
		*field = AC_WORKER_DAEMON;
	else if (!strcmp(text, "inline"))
		*field = AC_WORKER_INLINE;
	else
		return "must be 'daemon' or 'inline'";
	return NULL;
}

static const char *
check_bitbucket_auth(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	enum ac_bitbucket_auth *field = FIELD(conf, s, enum ac_bitbucket_auth);

	if (!strcmp(text, "jwt"))
		*field = AC_BITBUCKET_AUTH_JWT;
	else if (!strcmp(text, "bearer"))
		*field = AC_BITBUCKET_AUTH_BEARER;
	else
		return "must be 'jwt' or 'bearer'";
	return NULL;
}

static const char *
check_retry_for(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	return parse_long(text, 1, 30 * 86400, FIELD(conf, s, long)) ? "must be a whole number of seconds from 1 to 2592000" : NULL;
}

static const char *
check_retry_base(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	return parse_long(text, 10, 600000, FIELD(conf, s, long)) ? "must be a whole number of milliseconds from 10 to 600000" : NULL;
}

static const char *
check_processes(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	return parse_long(text, 0, 256, FIELD(conf, s, long)) ? "must be a whole number from 0 to 256" : NULL;
}

static const char *
check_regex(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	regex_t re;

	if (*text == '\0')
		return "must not be empty";
	if (regcomp(&re, text, REG_EXTENDED | REG_NOSUB) != 0)
		return "is not a valid POSIX extended regular expression";
	regfree(&re);
	return set_string(conf, s, text);
}

/* One host pattern: a name or address, or "*." and a name; no ports, no paths. */
static int
valid_host_pattern(const char *p, size_t n)
{
	size_t i;

	if (n >= 2 && p[0] == '*' && p[1] == '.') {
		p += 2;
		n -= 2;
	}
	if (n == 0 || n > 253 || p[0] == '.' || p[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '.')
			return 0;
	return 1;
}

static const char *
check_hosts(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	struct ac_buf b;
	const char *p = text, *why = NULL;
	char *out;

	ac_buf_init(&b, 64 * 1024);
	while (*p) {
		size_t n;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (!valid_host_pattern(p, n)) {
			why = "must be a comma-separated list of host names, each optionally starting with '*.'";
			goto out;
		}
		if ((b.len && ac_buf_addc(&b, ',')) || ac_buf_add(&b, p, n)) {
			why = "is too long";
			goto out;
		}
		p += n;
	}
	if (ac_buf_detach(&b, &out, NULL) != AC_OK) {
		why = "out of memory";
		goto out;
	}
	free(conf->allowed_hosts);
	conf->allowed_hosts = out;
	(void)s;
out:
	ac_buf_release(&b);
	return why;
}

/* ---------------------------------------------------------------- Forge (issue 15), parsers in conf_forge.c */

/* Empty turns Forge off; else a uuid or its ARI, kept as the ARI (what aud carries). */
static const char *
check_forge_app_id(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	char ari[AC_FORGE_APP_ID_MAX];

	if (*text != '\0' && ac_conf_forge_app_ari(text, ari) != 0)
		return "must be empty (Forge off), a uuid or ari:cloud:ecosystem::app/<uuid>";
	return set_string(conf, s, *text ? ari : text);
}

/*
 * check_url, and plain http only when AC_ALLOWED_HOSTS (checked earlier in the
 * table) names the loopback host: a JWKS is a trust anchor, so a test server
 * must be named as deliberately as a product host.
 */
static const char *
check_forge_jwks_url(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	struct ac_url u;
	const char *why;

	if ((why = split_url(text, &u)) == NULL && strcmp(u.scheme, "https") &&
	    !ac_conf_host_allowed(conf, u.host, strlen(u.host)))
		why = "may use plain http only for a loopback host that AC_ALLOWED_HOSTS names";
	ac_url_release(&u);
	return why ? why : set_string(conf, s, text);
}

static const char *
check_https_or_empty(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	struct ac_url u;
	const char *why = NULL;

	if (*text) {
		if ((why = split_url(text, &u)) == NULL && strcmp(u.scheme, "https"))
			why = "must be an https URL (or empty)";
		ac_url_release(&u);
	}
	return why ? why : set_string(conf, s, text);
}

static const char *
check_forge_envs(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	char list[AC_FORGE_ENVS_MAX];
	const char *why;

	if ((why = ac_conf_forge_envs_parse(text, &conf->forge_env_mask, list)) != NULL)
		return why;
	return set_string(conf, s, list);
}

/* Not a minute as AC_LEEWAY: a FIT lives about 25 s (doc/protocol.md §11). */
static const char *
check_forge_leeway(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	return parse_long(text, 0, 60, FIELD(conf, s, long)) ? "must be a whole number of seconds from 0 to 60" : NULL;
}

static const char *
check_log_format(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text)
{
	return ac_log_format_parse(text, FIELD(conf, s, enum ac_log_format)) ? "must be 'text' or 'json'" : NULL;
}

#define OFF(f) offsetof(struct ac_conf, f)

static const struct ac_conf_setting settings[] = {
	{ "base_url", "AC_BASE_URL", NULL, check_base_url, OFF(base_url), 0,
	  "public URL of this app as the product reaches it; https (http only for a loopback host: localhost, 127.0.0.0/8, [::1])" },
	{ "app_key", "AC_APP_KEY", "connect-fcgi", check_app_key, OFF(app_key), 0,
	  "the app key of the descriptor; installs for another key are refused" },
	{ "app_name", "AC_APP_NAME", "connect-fcgi", check_text, OFF(app_name), 0,
	  "the app name shown in the product" },
	{ "product", "AC_PRODUCT", "bitbucket", check_product, OFF(product), 0,
	  "bitbucket or jira: which product this deployment serves" },
	{ "data_dir", "AC_DATA_DIR", "./var/data", check_nonempty, OFF(data_dir), 0,
	  "directory of the LMDB environment (created 0700)" },
	{ "allowed_hosts", "AC_ALLOWED_HOSTS", "bitbucket.org,api.bitbucket.org,*.atlassian.net,*.jira.com",
	  check_hosts, OFF(allowed_hosts), 0,
	  "product hosts trusted for installs and outbound calls; *.x matches one label" },
	{ "leeway", "AC_LEEWAY", "60", check_leeway, OFF(leeway), 0,
	  "seconds of clock skew tolerated on exp, nbf and iat" },
	{ "sync", "AC_SYNC", "full", check_sync, OFF(sync), 0,
	  "full: flush before answering, concurrent writers sharing a flush; each: one flush per commit; off: leave it to the OS" },
	{ "install_keys_url", "AC_INSTALL_KEYS_URL", "https://connect-install-keys.atlassian.com",
	  check_url, OFF(install_keys_url), 0, "where Jira signed-install public keys are fetched ({url}/{kid})" },
	{ "bitbucket_token_url", "AC_BITBUCKET_TOKEN_URL", "https://bitbucket.org/site/oauth2/access_token",
	  check_url, OFF(bitbucket_token_url), 0, "the Bitbucket JWT-grant token endpoint" },
	{ "oauth_server_url", "AC_OAUTH_SERVER_URL", "https://oauth-2-authorization-server.services.atlassian.com",
	  check_url, OFF(oauth_server_url), 0, "the Atlassian authorization server for Jira user impersonation" },
	{ "bitbucket_auth", "AC_BITBUCKET_AUTH", "jwt", check_bitbucket_auth, OFF(bitbucket_auth), 0,
	  "jwt: sign each Bitbucket call; bearer: use the JWT grant's access token, shared by every process" },
	{ "descriptor", "AC_DESCRIPTOR", "", set_string, OFF(descriptor), 0,
	  "descriptor template file; empty: {template_dir}/{product}.json" },
	{ "template_dir", "AC_TEMPLATE_DIR", AC_PKGDATADIR, check_nonempty, OFF(template_dir), 0,
	  "directory of the shipped descriptor templates" },
	{ "commit_pattern", "AC_COMMIT_PATTERN", CONVENTIONAL, check_regex, OFF(commit_pattern), 0,
	  "POSIX extended regex the first line of each commit message must match" },
	{ "pr_title_pattern", "AC_PR_TITLE_PATTERN", CONVENTIONAL, check_regex, OFF(pr_title_pattern), 0,
	  "POSIX extended regex pull request titles must match" },
	{ "map_size_mb", "AC_MAP_SIZE_MB", "64", check_map_size, OFF(map_size_mb), 0,
	  "initial LMDB map size in MiB; it grows when full" },
	{ "worker", "AC_WORKER", "daemon", check_worker, OFF(worker), 0,
	  "daemon: `acctl worker` drains the inbox; inline: webhook.fcgi drains it after answering" },
	{ "retry_for", "AC_RETRY_FOR", "3600", check_retry_for, OFF(retry_for), 0,
	  "seconds a failing event is retried (exponential backoff) before it moves to dead" },
	{ "retry_base_ms", "AC_RETRY_BASE_MS", "1000", check_retry_base, OFF(retry_base_ms), 0,
	  "the first retry delay in milliseconds; it doubles with each attempt, up to 5 minutes" },
	{ "processes", "AC_PROCESSES", "0", check_processes, OFF(processes), 0,
	  "N > 0: on a FastCGI socket, N processes serve it and a supervisor restarts any that dies" },
	/* Forge Remote (issue 15) */
	{ "forge_app_id", "AC_FORGE_APP_ID", "", check_forge_app_id, OFF(forge_app_id), 0,
	  "the Forge app id (uuid or ari:cloud:ecosystem::app/<uuid>), kept as the ARI; empty: Forge routes answer 404" },
	{ "forge_jwks_url", "AC_FORGE_JWKS_URL", "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json",
	  check_forge_jwks_url, OFF(forge_jwks_url), 0,
	  "the JWKS of Forge Invocation Tokens; http only for a loopback host AC_ALLOWED_HOSTS names" },
	{ "forge_environments", "AC_FORGE_ENVIRONMENTS", "DEVELOPMENT,STAGING,PRODUCTION", check_forge_envs,
	  OFF(forge_environments), 0, "the Forge environment types whose invocations are accepted" },
	{ "forge_leeway", "AC_FORGE_LEEWAY", "5", check_forge_leeway, OFF(forge_leeway), 0,
	  "seconds of clock skew tolerated on a Forge token's exp, nbf and iat (0 to 60)" },
	{ "forge_app_link", "AC_FORGE_APP_LINK", "", check_https_or_empty, OFF(forge_app_link), 0,
	  "the Forge app's install link (https), offered by the Bitbucket Connect descriptor; empty: none" },
	/* Several hosts (issue 16) */
	{ "store", "AC_STORE", "lmdb", check_store, OFF(store), 0,
	  "lmdb: the embedded store in AC_DATA_DIR (one host); postgres: PostgreSQL at AC_DATABASE_URL (several hosts)" },
	{ "database_url", "AC_DATABASE_URL", "", set_string, OFF(database_url), 1,
	  "with AC_STORE=postgres: a libpq URI or key/value string (PGPASSFILE, PGSERVICE work); passwords are masked" },
	{ "sql_dir", "AC_SQL_DIR", AC_PKGDATADIR "/sql", check_nonempty, OFF(sql_dir), 0,
	  "directory of the PostgreSQL schema migrations `acctl store migrate` applies" },
	/* operations (issue 17) */
	{ "log_format", "AC_LOG_FORMAT", "text", check_log_format, OFF(log_format), 0,
	  "text: one line per event as program: level: message; json: one JSON object per line" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

const struct ac_conf_setting *
ac_conf_settings(size_t *n)
{
	*n = NSETTINGS;
	return settings;
}

const char *
ac_conf_product_name(enum ac_product p)
{
	return p == AC_PRODUCT_JIRA ? "jira" : "bitbucket";
}

void
ac_conf_release(struct ac_conf *conf)
{
	free(conf->base_url);
	free(conf->base_path);
	free(conf->app_key);
	free(conf->app_name);
	free(conf->data_dir);
	free(conf->allowed_hosts);
	free(conf->install_keys_url);
	free(conf->bitbucket_token_url);
	free(conf->oauth_server_url);
	free(conf->descriptor);
	free(conf->template_dir);
	free(conf->commit_pattern);
	free(conf->pr_title_pattern);
	free(conf->source);
	free(conf->forge_app_id);
	free(conf->forge_jwks_url);
	free(conf->forge_environments);
	free(conf->forge_app_link);
	free(conf->database_url);
	free(conf->sql_dir);
	memset(conf, 0, sizeof(*conf));
}

static const char *
env_lookup(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

static const struct ac_conf_setting *
find_env(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strlen(settings[i].env) == n && !memcmp(settings[i].env, name, n))
			return &settings[i];
	return NULL;
}

/*
 * Reads `AC_NAME=value` lines into vals (owned strings, one per setting).
 * Unknown names are an error: a typo in a config file must not pass silently.
 */
static enum ac_err
read_file(const char *path, int must_exist, char **vals, char **errmsg)
{
	FILE *f;
	char line[8192];
	unsigned lineno = 0;
	size_t total = 0;

	if ((f = fopen(path, "r")) == NULL) {
		if (!must_exist && errno == ENOENT)
			return AC_OK;
		*errmsg = ac_buf_asprintf("AC_CONFIG: cannot read %s: %s", path, strerror(errno));
		return AC_ERR_CONFIG;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *eq, *name_end, *v, *end;
		const struct ac_conf_setting *s;
		size_t i;
		char num[16];

		lineno++;
		total += strlen(line);
		snprintf(num, sizeof(num), "%u", lineno);
		if (total > CONF_FILE_MAX || (strchr(line, '\n') == NULL && !feof(f))) {
			*errmsg = ac_buf_asprintf("%s:%s: line too long or file too large", path, num);
			goto fail;
		}
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			*errmsg = ac_buf_asprintf("%s:%s: expected NAME=value", path, num);
			goto fail;
		}
		name_end = eq;
		while (name_end > p && isspace((unsigned char)name_end[-1]))
			name_end--;
		if ((s = find_env(p, (size_t)(name_end - p))) == NULL) {
			*name_end = '\0';
			*errmsg = ac_buf_asprintf("%s:%s: unknown setting '%s'", path, num, p);
			goto fail;
		}
		v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		end = v + strlen(v);
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		*end = '\0';
		if (end - v >= 2 && ((*v == '"' && end[-1] == '"') || (*v == '\'' && end[-1] == '\''))) {
			v++;
			end[-1] = '\0';
		}
		i = (size_t)(s - settings);
		free(vals[i]);
		if ((vals[i] = strdup(v)) == NULL) {
			*errmsg = ac_buf_asprintf("out of memory reading %s", path);
			goto fail;
		}
	}
	if (ferror(f)) {
		*errmsg = ac_buf_asprintf("AC_CONFIG: error reading %s", path);
		goto fail;
	}
	fclose(f);
	return AC_OK;
fail:
	fclose(f);
	return AC_ERR_CONFIG;
}

/*
 * The programs' own AC_LOG_FORMAT (the environment's, else the file's), before
 * any setting is checked: a bad one is then reported in the format asked for.
 */
static void
apply_log_format(char **file_vals)
{
	const struct ac_conf_setting *s = find_env("AC_LOG_FORMAT", strlen("AC_LOG_FORMAT"));
	const char *v = getenv("AC_LOG_FORMAT");
	enum ac_log_format f;

	if (v == NULL && s)
		v = file_vals[s - settings];
	if (v && ac_log_format_parse(v, &f) == 0)
		ac_log_set_format(f);
}

static enum ac_err
load(struct ac_conf *conf, const char *program_dir,
    const char *(*lookup)(const char *name, void *ctx), void *ctx, int tool, char **errmsg)
{
	char *file_vals[NSETTINGS] = { 0 };
	const char *cfg;
	char *path = NULL;
	enum ac_err err = AC_OK;
	size_t i;

	*errmsg = NULL;
	memset(conf, 0, sizeof(*conf));
	cfg = lookup("AC_CONFIG", ctx);
	if (cfg && *cfg) {
		if ((err = read_file(cfg, 1, file_vals, errmsg)) != AC_OK)
			goto out;
		path = strdup(cfg);
	} else if (program_dir && *program_dir) {
		struct ac_buf b;

		ac_buf_init(&b, 4096);
		if (ac_buf_printf(&b, "%s/%s", program_dir, CONF_FILE) == AC_OK &&
		    ac_buf_detach(&b, &path, NULL) == AC_OK) {
			FILE *f = fopen(path, "r");

			if (f) {
				fclose(f);
				if ((err = read_file(path, 1, file_vals, errmsg)) != AC_OK)
					goto out;
			} else {
				free(path);
				path = NULL;
			}
		}
		ac_buf_release(&b);
	}
	conf->source = strdup(path ? path : "");
	if (lookup == env_lookup)
		apply_log_format(file_vals);
	for (i = 0; i < NSETTINGS; i++) {
		const struct ac_conf_setting *s = &settings[i];
		const char *v = lookup(s->env, ctx), *why;

		if (v == NULL)
			v = file_vals[i];
		if (v == NULL)
			v = s->defval ? s->defval : "";
		/* operator tools read the store; they need no public URL of their own */
		if (tool && *v == '\0' && s->check == check_base_url)
			v = "http://localhost";
		if ((why = s->check(conf, s, v)) != NULL) {
			*errmsg = ac_buf_asprintf("%s %s (got '%s')", s->env, why, s->secret ? "***" : v);
			err = AC_ERR_CONFIG;
			goto out;
		}
	}
	if (conf->source == NULL)
		err = AC_ERR_NOMEM;
out:
	for (i = 0; i < NSETTINGS; i++)
		free(file_vals[i]);
	free(path);
	if (err != AC_OK) {
		ac_conf_release(conf);
		if (*errmsg == NULL)
			*errmsg = strdup("out of memory");
	}
	return err;
}

enum ac_err
ac_conf_load_with(struct ac_conf *conf, const char *program_dir,
    const char *(*lookup)(const char *name, void *ctx), void *ctx, char **errmsg)
{
	return load(conf, program_dir, lookup, ctx, 0, errmsg);
}

enum ac_err
ac_conf_load(struct ac_conf *conf, const char *program_dir, char **errmsg)
{
	return load(conf, program_dir, env_lookup, NULL, 0, errmsg);
}

enum ac_err
ac_conf_load_tool(struct ac_conf *conf, const char *program_dir, char **errmsg)
{
	return load(conf, program_dir, env_lookup, NULL, 1, errmsg);
}

const char *
ac_conf_value(const struct ac_conf *conf, const struct ac_conf_setting *s, char *scratch, size_t scratchsz)
{
	const char *v;

	if (s->check == check_product)
		v = ac_conf_product_name(conf->product);
	else if (s->check == check_sync)
		v = conf->sync == AC_SYNC_OFF ? "off" : conf->sync == AC_SYNC_EACH ? "each" : "full";
	else if (s->check == check_worker)
		v = conf->worker == AC_WORKER_INLINE ? "inline" : "daemon";
	else if (s->check == check_store)
		v = ac_conf_store_name(conf->store);
	else if (s->check == check_bitbucket_auth)
		v = conf->bitbucket_auth == AC_BITBUCKET_AUTH_BEARER ? "bearer" : "jwt";
	else if (s->check == check_log_format)
		v = conf->log_format == AC_LOG_JSON ? "json" : "text";
	else if (s->check == check_leeway || s->check == check_map_size || s->check == check_retry_for ||
	    s->check == check_retry_base || s->check == check_processes ||
	    s->check == check_forge_leeway) {
		snprintf(scratch, scratchsz, "%ld", *(const long *)(const void *)((const char *)conf + s->offset));
		v = scratch;
	} else {
		v = *(char *const *)(const void *)((const char *)conf + s->offset);
		if (v == NULL)
			v = "";
	}
	if (s->secret && *v && s->offset == OFF(database_url)) {
		/* the URL helps the operator; only its password is hidden */
		ac_conf_mask_dburl(v, scratch, scratchsz);
		v = scratch;
	} else if (s->secret && *v)
		v = "********";
	return v;
}

int
ac_conf_host_allowed(const struct ac_conf *conf, const char *host, size_t n)
{
	const char *p = conf->allowed_hosts;

	if (p == NULL || n == 0)
		return 0;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len >= 2 && p[0] == '*' && p[1] == '.') {
			/* *.x matches exactly one more label: a.x, not x, not a.b.x */
			size_t slen = len - 1; /* ".x" */
			if (n > slen && !strncasecmp(host + n - slen, p + 1, slen)) {
				size_t lab = n - slen;
				if (memchr(host, '.', lab) == NULL)
					return 1;
			}
		} else if (len == n && !strncasecmp(host, p, n)) {
			return 1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
