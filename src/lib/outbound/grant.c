/* grant.c: access tokens minted once and shared by every process through `tokens` and a lock (the store's, or a file). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "auth/canon.h"
#include "base/clock.h"
#include "base/datadir.h"
#include "outbound/grant.h"
#include "outbound/http.h"
#include "base/json.h"
#include "base/log.h"
#include "auth/policy.h"
#include "auth/token.h"

/* Token endpoints answer fast or not at all; a page load is waiting. */
#define GRANT_CONNECT_MS 2000L
#define GRANT_TOTAL_MS 5000L
/* Most bytes of a token endpoint's answer. */
#define ANSWER_MAX (64 * 1024)
/* Longer keys are hashed (the store's limit, store.h). */
#define KEY_MAX AC_TOKEN_KEY_MAX
/* Lock slots in the lock file: keys hashing to the same byte share a lock. */
#define LOCK_SLOTS 4096

void
ac_grant_token_init(struct ac_grant_token *t)
{
	memset(t, 0, sizeof(*t));
}

void
ac_grant_token_release(struct ac_grant_token *t)
{
	/* a live credential: do not leave it in freed memory */
	ac_buf_free_secret_str(t->access_token);
	free(t->scopes);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------ the answer */

/* Printable ASCII without space: what can follow "Bearer " in a header. */
static int
token_chars_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* expires_in: a number, or a string of digits (some servers quote it). */
static int
parse_expires_in(json_object *v, int64_t *out)
{
	int64_t n = 0;

	if (v == NULL || json_object_is_type(v, json_type_null)) {
		*out = AC_GRANT_DEFAULT_TTL;
		return 1;
	}
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
		/* lenient within reason; a number json-c had to clamp (or NaN) is garbage, not "for ever" */
		if (ac_json_int_in(v, -AC_JSON_DATE_MAX, AC_JSON_DATE_MAX, 1, &n) != AC_OK)
			return 0;
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v), i = 0;

		while (i < len && s[i] == ' ')
			i++;
		if (i == len || !isdigit((unsigned char)s[i]))
			return 0;
		for (; i < len && isdigit((unsigned char)s[i]); i++)
			if (n <= AC_GRANT_MAX_TTL)
				n = n * 10 + (s[i] - '0');
		/* "7200.0" */
		if (i < len && s[i] == '.')
			for (i++; i < len && isdigit((unsigned char)s[i]); i++)
				;
		while (i < len && s[i] == ' ')
			i++;
		if (i != len)
			return 0;
	} else {
		return 0;
	}
	if (n < 0)
		n = 0;
	*out = n > AC_GRANT_MAX_TTL ? AC_GRANT_MAX_TTL : n;
	return 1;
}

/* scopes: "a b", "a,b" or ["a","b"], joined with one space. */
static enum ac_err
parse_scopes(json_object *v, char **out)
{
	struct ac_buf b;
	enum ac_err err = AC_OK;
	size_t i, n;

	ac_buf_init(&b, 8192);
	if (v && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		while (err == AC_OK && *s) {
			size_t w;

			s += strspn(s, " ,\t");
			w = strcspn(s, " ,\t");
			if (w == 0)
				break;
			if (b.len)
				err = ac_buf_addc(&b, ' ');
			if (err == AC_OK)
				err = ac_buf_add(&b, s, w);
			s += w;
		}
	} else if (v && json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; err == AC_OK && i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);

			if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0)
				continue;
			if (b.len)
				err = ac_buf_addc(&b, ' ');
			if (err == AC_OK)
				err = ac_buf_adds(&b, json_object_get_string(e));
		}
	}
	if (err == AC_OK)
		err = ac_buf_add(&b, "", 0);
	if (err == AC_OK)
		err = ac_buf_detach(&b, out, NULL);
	ac_buf_release(&b);
	return err;
}

enum ac_err
ac_grant_parse(const char *body, size_t len, int64_t now, struct ac_grant_token *out, const char **why)
{
	json_object *o = NULL, *v;
	const char *tok, *w = NULL;
	struct ac_grant_token t;
	int64_t ttl;
	size_t tlen;
	enum ac_err err = AC_ERR_UPSTREAM;

	ac_grant_token_init(&t);
	if (ac_json_parse(body, len, &o, NULL) != AC_OK || !json_object_is_type(o, json_type_object)) {
		w = "the answer is not a JSON object";
		goto out;
	}
	v = ac_json_get_typed(o, "access_token", json_type_string);
	if (v == NULL || (tlen = (size_t)json_object_get_string_len(v)) == 0) {
		w = "the answer has no access_token string";
		goto out;
	}
	tok = json_object_get_string(v);
	if (tlen > AC_GRANT_TOKEN_MAX || !token_chars_ok(tok, tlen)) {
		w = "the access_token is too long or has characters a header cannot carry";
		goto out;
	}
	if ((v = ac_json_get_typed(o, "token_type", json_type_string)) != NULL &&
	    strcasecmp(json_object_get_string(v), "bearer") != 0) {
		w = "the token_type is not bearer";
		goto out;
	}
	json_object_object_get_ex(o, "expires_in", &v);
	if (!parse_expires_in(v, &ttl)) {
		w = "expires_in is neither a number nor a numeric string";
		goto out;
	}
	if (!json_object_object_get_ex(o, "scopes", &v))
		json_object_object_get_ex(o, "scope", &v);
	if ((err = parse_scopes(v, &t.scopes)) != AC_OK)
		goto out;
	if ((t.access_token = strndup(tok, tlen)) == NULL) {
		err = AC_ERR_NOMEM;
		goto out;
	}
	t.obtained_at = now;
	t.expires_at = now + ttl;
	*out = t;
	ac_grant_token_init(&t);
	err = AC_OK;
out:
	if (err == AC_ERR_UPSTREAM && why)
		*why = w;
	ac_grant_token_release(&t);
	/* json-c frees without wiping: the answer's strings hold the access token */
	ac_json_put_secret(o);
	return err;
}

enum ac_err
ac_grant_scopes(const char *in, char **out)
{
	struct ac_buf b;
	const char *s = in ? in : "";
	enum ac_err err = AC_OK;

	ac_buf_init(&b, 1024);
	while (err == AC_OK && *s) {
		size_t w, i;

		s += strspn(s, " ,\t");
		w = strcspn(s, " ,\t");
		if (w == 0)
			break;
		if (b.len)
			err = ac_buf_addc(&b, ' ');
		for (i = 0; err == AC_OK && i < w; i++) {
			unsigned char c = (unsigned char)s[i];

			if (!isalnum(c) && c != '_' && c != '-' && c != ':')
				err = AC_ERR_INVALID;
			else
				err = ac_buf_addc(&b, (char)toupper(c));
		}
		s += w;
	}
	if (err == AC_OK)
		err = ac_buf_add(&b, "", 0);
	if (err == AC_OK)
		err = ac_buf_detach(&b, out, NULL);
	ac_buf_release(&b);
	return err;
}

/* ------------------------------------------------------------------ the cache */

/* What the cache holds for a key: a token, or the failure of the last attempt. */
struct record {
	int has_token;
	struct ac_grant_token tok;
	int64_t failed_at_ms; /* 0: no failure recorded */
	enum ac_err failure;
};

static void
record_release(struct record *r)
{
	ac_grant_token_release(&r->tok);
	memset(r, 0, sizeof(*r));
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the record of key (store.h); an absent or unreadable one is an empty record. */
static enum ac_err
cache_get(struct ac_store *st, const char *key, struct record *r)
{
	struct ac_token_rec tr;
	enum ac_err err;

	memset(r, 0, sizeof(*r));
	if ((err = ac_token_get(st, key, &tr)) != AC_OK)
		return err;
	if (tr.access_token) {
		r->has_token = 1;
		r->tok.access_token = tr.access_token;
		r->tok.scopes = tr.scopes;
		r->tok.expires_at = tr.expires_at;
		r->tok.obtained_at = tr.obtained_at;
		tr.access_token = tr.scopes = NULL;
	}
	r->failed_at_ms = tr.failed_at_ms;
	r->failure = tr.failure;
	ac_token_rec_release(&tr);
	return AC_OK;
}

/* Stores a token (tok non-NULL) or a failure (err) under key, in one short write. */
static enum ac_err
cache_put(struct ac_store *st, const char *key, const struct ac_grant_token *tok, enum ac_err failure)
{
	struct ac_token_rec tr;

	memset(&tr, 0, sizeof(tr));
	if (tok) {
		tr.access_token = tok->access_token;
		tr.scopes = tok->scopes;
		tr.expires_at = tok->expires_at;
		tr.obtained_at = tok->obtained_at;
	} else {
		tr.failed_at_ms = now_ms();
		tr.failure = failure;
	}
	return ac_token_put(st, key, &tr);
}

/* Whether a cached token may serve now: not within AC_GRANT_EARLY of expiry, not the one refused. */
static int
usable(const struct record *r, const char *stale)
{
	return r->has_token && r->tok.expires_at - AC_GRANT_EARLY > (int64_t)ac_clock_now() &&
	    (stale == NULL || strcmp(r->tok.access_token, stale) != 0);
}

/* ------------------------------------------------------------------ the lock */

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/*
 * An exclusive lock on the key's byte of AC_DATA_DIR/grant.lock, so that only
 * one process at a time mints a given token; -1 when it cannot be had (then
 * the caller mints without it: more calls, never a wrong answer). Open file
 * description locks belong to the fd, so closing it releases the lock, and
 * they work between the threads of one process as between processes.
 */
static int
lock_acquire(const char *dir, const char *key)
{
	struct flock fl;
	int fd, dfd, n;

	/*
	 * Never through a link planted under the name, and only a regular file
	 * of the directory's owner (ac_datadir_openat); root (acctl) creating it
	 * leaves it to that owner, the programs' user.
	 */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		ac_log_warn("grant: cannot open %s: %s; minting without the lock", dir, strerror(errno));
		return -1;
	}
	fd = ac_datadir_openat(dfd, dir, AC_GRANT_LOCK_FILE, O_RDWR, AC_DATADIR_CREATE);
	close(dfd);
	if (fd < 0) {
		ac_log_warn("grant: cannot open %s/%s: %s; minting without the lock", dir, AC_GRANT_LOCK_FILE,
		    strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)(fnv1a(key) % LOCK_SLOTS);
	fl.l_len = 1;
#ifdef F_OFD_SETLKW
	while ((n = fcntl(fd, F_OFD_SETLKW, &fl)) != 0 && errno == EINTR)
		;
#else
	while ((n = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
		;
#endif
	if (n != 0) {
		ac_log_warn("grant: cannot lock %s/%s: %s; minting without the lock", dir, AC_GRANT_LOCK_FILE,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Releases what obtain() took: the store's lock, or the lock file's. */
static void
lock_release(struct ac_store *st, const char *key, struct ac_token_lock *lk, int fd)
{
	if (lk->held)
		ac_token_unlock(st, key, lk);
	if (fd >= 0)
		close(fd);
}

/* ------------------------------------------------------------------ minting */

/* Mints a token into *out; the caller stores it. */
typedef enum ac_err (*mint_fn)(const struct ac_conf *conf, void *ctx, struct ac_grant_token *out);

/* POSTs a form with headers to url and parses the answer; what names the endpoint in logs. */
static enum ac_err
post_form(const struct ac_conf *conf, const char *what, const char *url, const char *const *headers,
    const char *form, struct ac_grant_token *out)
{
	struct ac_http_request rq = { "POST", url, headers, form, strlen(form), GRANT_CONNECT_MS, GRANT_TOTAL_MS };
	struct ac_buf answer;
	uint64_t t0 = ac_clock_usec();
	const char *why = NULL;
	long status = 0;
	enum ac_err err;

	ac_buf_init_secret(&answer, ANSWER_MAX);
	err = ac_http_do(conf, &rq, &status, &answer, NULL);
	if (err != AC_OK) {
		/* ac_http_do logged curl's words */
		err = AC_ERR_UPSTREAM;
		goto out;
	}
	if (status == 401 || status == 403) {
		ac_log_error("%s: %s answered %ld: the assertion was refused; the stored shared secret "
		    "is probably stale (reinstall the app)", what, url, status);
		err = AC_ERR_GRANT_REFUSED;
		goto out;
	}
	if (status < 200 || status > 299) {
		ac_log_error("%s: %s answered %ld", what, url, status);
		err = AC_ERR_UPSTREAM;
		goto out;
	}
	if ((err = ac_grant_parse(answer.data ? answer.data : "", answer.len, (int64_t)ac_clock_now(), out,
	    &why)) != AC_OK) {
		/* never the body: it may hold the token */
		ac_log_error("%s: %s answered %ld but %s", what, url, status, why ? why : ac_strerror(err));
		goto out;
	}
	ac_log_info("%s: new token, expires in %lld s (%lu ms)", what,
	    (long long)(out->expires_at - out->obtained_at), (unsigned long)((ac_clock_usec() - t0) / 1000));
out:
	ac_buf_release(&answer);
	return err;
}

/* Signs claims with the tenant's secret into "Authorization: JWT <token>" in hdr. */
static enum ac_err
jwt_header(const struct ac_tenant *t, json_object *claims, struct ac_buf *hdr, char **token)
{
	enum ac_err err;

	if ((err = ac_token_sign_hs256(claims, t->shared_secret, strlen(t->shared_secret), token)) != AC_OK)
		return err;
	return ac_buf_printf(hdr, "Authorization: JWT %s", *token);
}

static enum ac_err
mint_bitbucket(const struct ac_conf *conf, void *ctx, struct ac_grant_token *out)
{
	const struct ac_tenant *t = ctx;
	const char *app_key = *t->key ? t->key : conf->app_key;
	struct ac_policy_ctx pctx = { 0 };
	const char *headers[5];
	json_object *claims = NULL;
	struct ac_buf auth;
	char *token = NULL, what[600];
	enum ac_err err;

	snprintf(what, sizeof(what), "grant %s", t->client_key);
	ac_buf_init_secret(&auth, AC_TOKEN_MAX + 64);
	/* doc/protocol.md §8: the outbound policy's claims (iss app key, sub clientKey),
	 * qsh of POST to the endpoint's path */
	pctx.product = AC_PRODUCT_BITBUCKET;
	pctx.client_key = t->client_key;
	pctx.app_key = app_key;
	if ((err = ac_policy_claims(AC_POLICY_OUTBOUND, &pctx, "POST", conf->bitbucket_token_url, NULL,
	    &claims)) != AC_OK || (err = jwt_header(t, claims, &auth, &token)) != AC_OK)
		goto out;
	headers[0] = ac_buf_str(&auth);
	headers[1] = "Content-Type: application/x-www-form-urlencoded";
	headers[2] = "Accept: application/json";
	headers[3] = "Expect:";
	headers[4] = NULL;
	err = post_form(conf, what, conf->bitbucket_token_url, headers, "grant_type=urn:bitbucket:oauth2:jwt", out);
out:
	ac_buf_free_secret_str(token);
	ac_buf_release(&auth);
	json_object_put(claims);
	return err;
}

struct jira_ctx {
	const struct ac_tenant *t;
	const char *account_id;
	const char *scopes; /* normalised */
};

static enum ac_err
mint_jira(const struct ac_conf *conf, void *ctx, struct ac_grant_token *out)
{
	const struct jira_ctx *j = ctx;
	const char *headers[4], *p;
	json_object *claims = NULL;
	struct ac_buf form, url;
	char *token = NULL, what[600];
	size_t n;
	enum ac_err err;

	snprintf(what, sizeof(what), "impersonation %s", j->t->client_key);
	ac_buf_init_secret(&form, AC_TOKEN_MAX + 4096);
	ac_buf_init(&url, 4096);
	n = strlen(conf->oauth_server_url);
	while (n > 0 && conf->oauth_server_url[n - 1] == '/')
		n--;
	if ((err = ac_buf_add(&url, conf->oauth_server_url, n)) != AC_OK ||
	    (err = ac_buf_adds(&url, "/oauth2/token")) != AC_OK)
		goto out;
	/* doc/protocol.md §9: the assertion carries no qsh; aud is the authorization server */
	if ((err = ac_token_claims_jira_assertion(j->t->oauth_client_id, j->account_id, j->t->base_url, NULL,
	    &claims)) != AC_OK)
		goto out;
	if ((err = ac_token_sign_hs256(claims, j->t->shared_secret, strlen(j->t->shared_secret), &token)) != AC_OK)
		goto out;
	/* the token is base64url and '.', safe in a form as is */
	if ((err = ac_buf_printf(&form, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
	    "&assertion=%s", token)) != AC_OK)
		goto out;
	if (*j->scopes) {
		err = ac_buf_adds(&form, "&scope=");
		for (p = j->scopes; err == AC_OK && *p; p++)
			err = *p == ' ' ? ac_buf_addc(&form, '+') : *p == ':' ? ac_buf_adds(&form, "%3A") :
			    ac_buf_addc(&form, *p);
		if (err != AC_OK)
			goto out;
	}
	headers[0] = "Content-Type: application/x-www-form-urlencoded";
	headers[1] = "Accept: application/json";
	headers[2] = "Expect:";
	headers[3] = NULL;
	err = post_form(conf, what, ac_buf_str(&url), headers, ac_buf_str(&form), out);
out:
	ac_buf_free_secret_str(token);
	ac_buf_release(&form);
	ac_buf_release(&url);
	json_object_put(claims);
	return err;
}

/* ------------------------------------------------------------------ single flight */

/*
 * The cache key for parts. One longer than KEY_MAX keeps its "prefix +
 * clientKey" head in clear and hashes the whole ("jira:{clientKey}
 * sha256:{hex}"), so that every key of a tenant starts with its clientKey and
 * ac_grant_forget_txn finds them all (lifecycle caps a clientKey at 255
 * bytes, so the head always fits).
 */
static enum ac_err
make_key(struct ac_buf *key, const char *prefix, const char *a, const char *b, const char *c)
{
	enum ac_err err = ac_buf_printf(key, "%s%s%s%s%s%s", prefix, a, b ? " " : "", b ? b : "", c ? " " : "",
	    c ? c : "");

	if (err == AC_OK && key->len > KEY_MAX) {
		char hex[AC_QSH_HEX_LEN];

		ac_canon_qsh(key->data, key->len, hex);
		ac_buf_reset(key);
		if (strlen(prefix) + strlen(a) + 8 + strlen(hex) <= KEY_MAX)
			err = ac_buf_printf(key, "%s%s sha256:%s", prefix, a, hex);
		else
			err = ac_buf_printf(key, "%ssha256:%s", prefix, hex);
	}
	return err;
}

enum ac_err
ac_grant_forget_txn(struct ac_txn *txn, const char *client_key)
{
	size_t n = 0;
	enum ac_err err = ac_token_forget_txn(txn, client_key, &n);

	if (err == AC_OK && n > 0)
		ac_log_info("dropped %zu cached access token(s) of %s", n, client_key);
	return err;
}

static enum ac_err
obtain(const struct ac_conf *conf, struct ac_store *st, const char *key, const char *stale, mint_fn mint,
    void *ctx, struct ac_grant_token *out, int *fresh)
{
	struct ac_token_lock lk;
	struct record r;
	struct ac_grant_token t;
	int64_t start_ms = now_ms();
	enum ac_err err;
	int fd = -1, locked;

	if (fresh)
		*fresh = 0;
	/* the common case: a reader, no lock, no call */
	if (cache_get(st, key, &r) == AC_OK && usable(&r, stale))
		goto hit;
	record_release(&r);
	/*
	 * One grant per miss: the store's lock when it has one (PostgreSQL: every
	 * host's processes take turns), else the host's lock file (LMDB)
	 */
	if (ac_token_lock(st, key, &lk) != AC_OK || !lk.held)
		fd = lock_acquire(conf->data_dir, key);
	locked = lk.held || fd >= 0;
	/* whoever held the lock may have stored what we need */
	if ((err = cache_get(st, key, &r)) != AC_OK) {
		lock_release(st, key, &lk, fd);
		return err;
	}
	if (usable(&r, stale)) {
		lock_release(st, key, &lk, fd);
		goto hit;
	}
	if (r.failed_at_ms > start_ms && locked) {
		/*
		 * it failed while we waited: one call per outage, not one per waiter.
		 * Strictly later: a failure stored in the millisecond this call began
		 * may be an earlier call's, finished just before (a test flaked on it).
		 */
		err = r.failure;
		record_release(&r);
		lock_release(st, key, &lk, fd);
		return err;
	}
	ac_grant_token_init(&t);
	err = mint(conf, ctx, &t);
	if (err == AC_OK) {
		if (cache_put(st, key, &t, AC_OK) != AC_OK)
			ac_log_warn("grant: the new token could not be cached; other processes will mint their own");
		*out = t;
		if (fresh)
			*fresh = 1;
	} else if (err == AC_ERR_UPSTREAM && r.has_token && r.tok.expires_at > (int64_t)ac_clock_now() &&
	    (stale == NULL || strcmp(r.tok.access_token, stale) != 0)) {
		/* the endpoint is down but the old token has a few seconds left: better than nothing */
		ac_log_warn("grant: keeping the cached token for its last %lld s",
		    (long long)(r.tok.expires_at - (int64_t)ac_clock_now()));
		lock_release(st, key, &lk, fd);
		goto hit;
	} else if (err == AC_ERR_GRANT_REFUSED || err == AC_ERR_UPSTREAM) {
		cache_put(st, key, NULL, err);
	}
	record_release(&r);
	lock_release(st, key, &lk, fd);
	return err;
hit:
	*out = r.tok;
	ac_grant_token_init(&r.tok);
	record_release(&r);
	return AC_OK;
}

enum ac_err
ac_grant_bitbucket(const struct ac_conf *conf, struct ac_store *st, const struct ac_tenant *t,
    const char *stale, struct ac_grant_token *out, int *fresh)
{
	struct ac_buf key;
	enum ac_err err;

	if (conf == NULL || st == NULL || t == NULL || out == NULL || t->product != AC_PRODUCT_BITBUCKET)
		return AC_ERR_INVALID;
	if (t->state != AC_TENANT_INSTALLED)
		return AC_ERR_TENANT_UNINSTALLED;
	ac_buf_init(&key, 4096);
	if ((err = make_key(&key, "bb:", t->client_key, NULL, NULL)) == AC_OK)
		err = obtain(conf, st, ac_buf_str(&key), stale, mint_bitbucket, (void *)t, out, fresh);
	ac_buf_release(&key);
	return err;
}

/* Atlassian account ids: "557058:f58131cb-..." or 24 hex digits; nothing that needs escaping. */
static int
valid_account_id(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != ':' && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

enum ac_err
ac_grant_jira_user(const struct ac_conf *conf, struct ac_store *st, const struct ac_tenant *t,
    const char *account_id, const char *scopes, const char *stale, struct ac_grant_token *out, int *fresh)
{
	struct jira_ctx j;
	struct ac_buf key;
	char *norm = NULL, *keyscopes, *p;
	enum ac_err err;

	if (conf == NULL || st == NULL || t == NULL || out == NULL || account_id == NULL ||
	    t->product != AC_PRODUCT_JIRA)
		return AC_ERR_INVALID;
	if (t->state != AC_TENANT_INSTALLED)
		return AC_ERR_TENANT_UNINSTALLED;
	if (!valid_account_id(account_id)) {
		ac_log_error("impersonation %s: not an Atlassian account id", t->client_key);
		return AC_ERR_INVALID;
	}
	if (*t->oauth_client_id == '\0') {
		ac_log_error("impersonation %s: the tenant has no oauthClientId (is ACT_AS_USER in the "
		    "descriptor's scopes?)", t->client_key);
		return AC_ERR_INVALID;
	}
	if ((err = ac_grant_scopes(scopes, &norm)) != AC_OK) {
		ac_log_error("impersonation %s: scopes are letters, digits, '_', '-' and ':'", t->client_key);
		return err;
	}
	j.t = t;
	j.account_id = account_id;
	j.scopes = norm;
	if ((keyscopes = strdup(norm)) == NULL) {
		free(norm);
		return AC_ERR_NOMEM;
	}
	for (p = keyscopes; *p; p++)
		if (*p == ' ')
			*p = ',';
	ac_buf_init(&key, 4096);
	/*
	 * "jira:{clientKey} {accountId} {SCOPE,SCOPE}": neither an account id nor
	 * the scopes contain a space, so the key names one triple only
	 */
	if ((err = make_key(&key, "jira:", t->client_key, account_id, keyscopes)) == AC_OK)
		err = obtain(conf, st, ac_buf_str(&key), stale, mint_jira, &j, out, fresh);
	ac_buf_release(&key);
	free(keyscopes);
	free(norm);
	return err;
}
