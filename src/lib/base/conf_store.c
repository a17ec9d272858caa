/* conf_store.c: the store settings' helpers (issue 16): the store's name and a database URL safe to show. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/conf.h"

#define MASK "********"

const char *
ac_conf_store_name(enum ac_store_kind k)
{
	return k == AC_STORE_POSTGRES ? "postgres" : "lmdb";
}

struct out {
	char *p;
	size_t left; /* room before the NUL */
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (n > o->left)
		n = o->left;
	memcpy(o->p, s, n);
	o->p += n;
	o->left -= n;
	*o->p = '\0';
}

/* postgresql://[user[:password]@][hosts][/db][?k=v&...]: the password of the user info and of password=. */
static void
mask_uri(const char *u, struct out *o)
{
	const char *auth = strstr(u, "://") + 3, *end = auth + strcspn(auth, "/?"), *at = NULL, *p, *q;

	/* the user info ends at the last '@' of the authority (a password may hold '@' percent-encoded only) */
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	put(o, u, (size_t)(auth - u));
	if (at != NULL && (q = memchr(auth, ':', (size_t)(at - auth))) != NULL) {
		put(o, auth, (size_t)(q + 1 - auth));
		put(o, MASK, strlen(MASK));
		p = at;
	} else
		p = auth;
	q = strchr(p, '?');
	put(o, p, q ? (size_t)(q - p) : strlen(p));
	while (q != NULL && *q) {
		/* q at '?' or '&': one parameter */
		const char *par = q + 1, *next = strchr(par, '&'), *eq = strchr(par, '=');
		size_t len = next ? (size_t)(next - par) : strlen(par);

		put(o, q, 1);
		if (eq != NULL && eq < par + len && (size_t)(eq - par) == 8 && !strncasecmp(par, "password", 8)) {
			put(o, par, 9);
			put(o, MASK, strlen(MASK));
		} else
			put(o, par, len);
		q = next;
	}
}

/* host=... password='a b' ...: the value of every password key, quoted or not. */
static void
mask_kv(const char *s, struct out *o)
{
	const char *p = s;

	while (*p) {
		const char *key = p, *v;
		size_t klen;

		if (isspace((unsigned char)*p)) {
			put(o, p++, 1);
			continue;
		}
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		klen = (size_t)(p - key);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=') {
			/* not key=value: libpq refuses it; shown as it is */
			put(o, key, (size_t)(p - key));
			continue;
		}
		p++;
		while (isspace((unsigned char)*p))
			p++;
		v = p;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p == '\'')
				p++;
		} else
			while (*p && !isspace((unsigned char)*p))
				p++;
		put(o, key, klen);
		put(o, "=", 1);
		if (klen == 8 && !strncmp(key, "password", 8))
			put(o, MASK, strlen(MASK));
		else
			put(o, v, (size_t)(p - v));
	}
}

void
ac_conf_mask_dburl(const char *url, char *out, size_t n)
{
	struct out o = { out, n - 1 };

	*out = '\0';
	if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
		mask_uri(url, &o);
	else
		mask_kv(url, &o);
}

void
ac_conf_store_where(const struct ac_conf *conf, char *out, size_t n)
{
	char url[512];

	if (conf->store == AC_STORE_POSTGRES) {
		ac_conf_mask_dburl(conf->database_url, url, sizeof(url));
		snprintf(out, n, "AC_DATABASE_URL=%s", *url ? url : "(libpq defaults)");
	} else
		snprintf(out, n, "AC_DATA_DIR=%s", conf->data_dir);
}
