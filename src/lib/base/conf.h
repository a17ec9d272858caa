/* conf.h: the configuration of every program, from one declarative table. */
#ifndef AC_CONF_H
#define AC_CONF_H

#include <stddef.h>

#include "base/err.h"
#include "base/log.h"

enum ac_product { AC_PRODUCT_BITBUCKET, AC_PRODUCT_JIRA };
enum ac_sync { AC_SYNC_FULL, AC_SYNC_OFF, AC_SYNC_EACH };
enum ac_worker_mode { AC_WORKER_DAEMON, AC_WORKER_INLINE };
enum ac_bitbucket_auth { AC_BITBUCKET_AUTH_JWT, AC_BITBUCKET_AUTH_BEARER };
enum ac_store_kind { AC_STORE_LMDB, AC_STORE_POSTGRES };

/*
 * The effective configuration. Strings are owned by the struct (released by
 * ac_conf_release) and never NULL after ac_conf_load succeeded: an unset
 * optional string is "".
 */
struct ac_conf {
	char *base_url;            /* AC_BASE_URL, no trailing '/' */
	char *base_path;           /* path part of base_url ("" for none), derived */
	char *app_key;             /* AC_APP_KEY */
	char *app_name;            /* AC_APP_NAME */
	enum ac_product product;   /* AC_PRODUCT */
	char *data_dir;            /* AC_DATA_DIR */
	char *allowed_hosts;       /* AC_ALLOWED_HOSTS, comma-separated */
	long leeway;               /* AC_LEEWAY, seconds */
	enum ac_sync sync;         /* AC_SYNC */
	char *install_keys_url;    /* AC_INSTALL_KEYS_URL */
	char *bitbucket_token_url; /* AC_BITBUCKET_TOKEN_URL */
	char *oauth_server_url;    /* AC_OAUTH_SERVER_URL */
	enum ac_bitbucket_auth bitbucket_auth; /* AC_BITBUCKET_AUTH: per-call JWT or the grant's Bearer */
	char *descriptor;          /* AC_DESCRIPTOR, "" = by product */
	char *template_dir;        /* AC_TEMPLATE_DIR */
	char *commit_pattern;      /* AC_COMMIT_PATTERN */
	char *pr_title_pattern;    /* AC_PR_TITLE_PATTERN */
	long map_size_mb;          /* AC_MAP_SIZE_MB, initial LMDB map */
	enum ac_worker_mode worker;/* AC_WORKER */
	long retry_for;            /* AC_RETRY_FOR, seconds an event is retried before `dead` */
	long retry_base_ms;        /* AC_RETRY_BASE_MS, the first backoff */
	long processes;            /* AC_PROCESSES, serving processes under a supervisor (0: none) */
	char *source;              /* the config file read, "" when none (derived) */
	/* Forge Remote (issue 15, doc/connect-fcgi.7 "Forge") */
	char *forge_app_id;        /* AC_FORGE_APP_ID in its ARI form, lower case; "" = Forge off */
	char *forge_jwks_url;      /* AC_FORGE_JWKS_URL */
	char *forge_environments;  /* AC_FORGE_ENVIRONMENTS, normalised: "DEVELOPMENT,STAGING,PRODUCTION" order */
	unsigned forge_env_mask;   /* the same as AC_FORGE_ENV_* bits (derived) */
	long forge_leeway;         /* AC_FORGE_LEEWAY, seconds on exp/nbf/iat of a FIT */
	char *forge_app_link;      /* AC_FORGE_APP_LINK, the Forge install link; "" = none */
	/* Several hosts (issue 16, doc/connect-fcgi.7 "PostgreSQL") */
	enum ac_store_kind store;  /* AC_STORE */
	char *database_url;        /* AC_DATABASE_URL, a libpq URI or key/value string; "" = libpq's defaults */
	char *sql_dir;             /* AC_SQL_DIR, the migrations `acctl store migrate` applies */
	enum ac_log_format log_format; /* AC_LOG_FORMAT (issue 17); ac_conf_load applies it to base/log.h */
};

/* One row of the declarative table, exposed for `acctl config`, the man page test and docs. */
struct ac_conf_setting {
	const char *name;     /* "base_url" */
	const char *env;      /* "AC_BASE_URL" */
	const char *defval;   /* NULL: required */
	/* Parses and checks text into the field at offset; returns NULL or what is wrong. */
	const char *(*check)(struct ac_conf *conf, const struct ac_conf_setting *s, const char *text);
	size_t offset;        /* of the field in struct ac_conf */
	int secret;           /* masked by `acctl config` */
	const char *help;     /* one line */
};

/* The table; *n receives its length. Static storage. */
const struct ac_conf_setting *ac_conf_settings(size_t *n);

/*
 * Fills conf from the environment, then from the file named by AC_CONFIG, else
 * from `connect-fcgi.conf` in program_dir (NULL: none). The file has lines
 * `AC_NAME=value` (or `AC_NAME = value`), '#' comments and blank lines; the
 * environment wins over it. Every value is checked; on failure *errmsg (owned
 * by the caller, free()) names the setting and what is wrong, and conf is
 * left released. Defaults as in the table.
 */
enum ac_err ac_conf_load(struct ac_conf *conf, const char *program_dir, char **errmsg);

/* As ac_conf_load, but lookup(name, ctx) replaces getenv (tests). */
enum ac_err ac_conf_load_with(struct ac_conf *conf, const char *program_dir,
    const char *(*lookup)(const char *name, void *ctx), void *ctx, char **errmsg);

/*
 * ac_conf_load and ac_conf_load_tool also set the log format (base/log.h)
 * from AC_LOG_FORMAT, before any other setting is checked, so that the
 * caller's report of a bad setting is written in it.
 */

/* As ac_conf_load, for operator tools (acctl): AC_BASE_URL may be unset. */
enum ac_err ac_conf_load_tool(struct ac_conf *conf, const char *program_dir, char **errmsg);

void ac_conf_release(struct ac_conf *conf);

/* The effective value of a setting as text (for `acctl config`); borrowed, lives with conf. */
const char *ac_conf_value(const struct ac_conf *conf, const struct ac_conf_setting *s,
    char *scratch, size_t scratchsz);

/*
 * Whether host (not NUL-terminated, length n) matches AC_ALLOWED_HOSTS: exact
 * names, case-insensitive, and `*.x` matching exactly one more label.
 */
int ac_conf_host_allowed(const struct ac_conf *conf, const char *host, size_t n);

/* Forge environment types (AC_FORGE_ENVIRONMENTS, app.environment.type of a FIT). */
#define AC_FORGE_ENV_DEVELOPMENT 1u
#define AC_FORGE_ENV_STAGING     2u
#define AC_FORGE_ENV_PRODUCTION  4u
#define AC_FORGE_ENV_ALL         7u

/* The AC_FORGE_ENV_* bit of an environment type (exact, upper case; n bytes); 0 for none. */
unsigned ac_conf_forge_env_bit(const char *name, size_t n);

/* "ari:cloud:ecosystem::app/" and a uuid: the longest Forge app id, with its NUL. */
#define AC_FORGE_APP_ARI_PREFIX "ari:cloud:ecosystem::app/"
#define AC_FORGE_APP_ID_MAX (sizeof(AC_FORGE_APP_ARI_PREFIX) + 36)

/*
 * A Forge app id as configured (a bare uuid, or the ARI
 * "ari:cloud:ecosystem::app/<uuid>"; the uuid 8-4-4-4-12 hex digits, any
 * case) into out in its ARI form with the uuid in lower case, as tokens carry
 * it. 0, or -1 (out untouched) when text is neither.
 */
int ac_conf_forge_app_ari(const char *text, char out[AC_FORGE_APP_ID_MAX]);

/* Whether s is exactly a uuid: 8-4-4-4-12 hex digits, any case, then the NUL. */
int ac_conf_is_uuid(const char *s);

/* Whether s is exactly a Forge installation id, "ari:cloud:ecosystem::installation/<uuid>". */
#define AC_FORGE_INSTALLATION_ARI_PREFIX "ari:cloud:ecosystem::installation/"
int ac_conf_is_forge_installation_id(const char *s);

/* The longest normalised AC_FORGE_ENVIRONMENTS, with its NUL. */
#define AC_FORGE_ENVS_MAX sizeof("DEVELOPMENT,STAGING,PRODUCTION")

/*
 * AC_FORGE_ENVIRONMENTS: a comma (or space) separated list of environment
 * types, at least one, into *mask (AC_FORGE_ENV_* bits) and list (in the
 * order DEVELOPMENT, STAGING, PRODUCTION, comma-separated). NULL, or what is
 * wrong (static text; *mask and list untouched).
 */
const char *ac_conf_forge_envs_parse(const char *text, unsigned *mask, char list[AC_FORGE_ENVS_MAX]);

/*
 * A database URL or libpq key/value string for people: every password in it
 * (the URI's user:password@, a password= parameter) replaced by "********",
 * into out (truncated to n, n >= 1). Logs and `acctl config` show only this.
 */
void ac_conf_mask_dburl(const char *url, char *out, size_t n);

/* Where the store is, for messages: "AC_DATA_DIR=..." or "AC_DATABASE_URL=..." (password masked). */
void ac_conf_store_where(const struct ac_conf *conf, char *out, size_t n);

/* "lmdb" or "postgres". */
const char *ac_conf_store_name(enum ac_store_kind k);

/* "bitbucket" or "jira". */
const char *ac_conf_product_name(enum ac_product p);

#endif
