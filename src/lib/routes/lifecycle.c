/* lifecycle.c: verified installs and uninstalls; a forged one never changes a tenant. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/canon.h"
#include "base/clock.h"
#include "base/digest.h"
#include "outbound/grant.h"
#include "outbound/http.h"
#include "outbound/install_keys.h"
#include "base/json.h"
#include "routes/lifecycle.h"
#include "base/log.h"
#include "base/url.h"
#include "auth/policy.h"
#include "store/store.h"
#include "store/tenant.h"
#include "auth/token.h"

/* Everything one lifecycle request learns, released in one place. */
struct lc {
	struct ac_request *req;
	enum ac_lifecycle_event ev;
	const struct ac_conf *conf;
	json_object *body;
	const char *client_key, *secret, *base_url, *base_api_url, *oauth_client_id, *display_url;
	const char *installation_id; /* Connect on Forge: the Forge installation of this tenant */
	int has_token;
	struct ac_token token;
	unsigned char token_sha[AC_SHA256_LEN]; /* SHA-256 of the compact token: its replay key */
	char body_hex[AC_SHA256_HEX_LEN];       /* SHA-256 of the body, as received */
	int retry;          /* the same token and body as an accepted call: answered as that one was */
	char qsh[AC_QSH_HEX_LEN];
};

enum ac_err
ac_lifecycle_authenticate(struct ac_request *req)
{
	/*
	 * Which secret verifies a Bitbucket lifecycle call depends on the stored
	 * tenant, read in the same transaction that replaces it: the handler
	 * does it all. The route stays marked as authenticated so that a program
	 * without this hook fails closed.
	 */
	(void)req;
	return AC_OK;
}

int
ac_lifecycle_kid_valid(const char *kid)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t g, i;
	const char *p = kid;

	for (g = 0; g < 5; g++) {
		for (i = 0; i < (size_t)groups[g]; i++, p++)
			if (!isxdigit((unsigned char)*p))
				return 0;
		if (g < 4 && *p++ != '-')
			return 0;
	}
	return *p == '\0';
}

/* An https URL, or http to a loopback host named in AC_ALLOWED_HOSTS (tests). */
static enum ac_err
check_url(struct lc *lc, const char *url, enum ac_err field)
{
	enum ac_err err = ac_http_url_allowed(lc->conf, url, 1);
	struct ac_url u;
	int parsed, https, user;

	if (err == AC_OK)
		return AC_OK;
	parsed = ac_url_parse(url, &u) == AC_OK;
	user = parsed && u.has_user;
	https = parsed && !strcmp(u.scheme, "https") && !user;
	ac_url_release(&u);
	if (err == AC_ERR_HOST_NOT_ALLOWED && https)
		return ac_request_fail(lc->req, AC_ERR_HOST_NOT_ALLOWED,
		    "the host of %s is not in AC_ALLOWED_HOSTS", field == AC_ERR_FIELD_BASE_URL ? "baseUrl" : "baseApiUrl");
	return ac_request_fail(lc->req, field, "%s must be an https URL%s",
	    field == AC_ERR_FIELD_BASE_URL ? "baseUrl" : "baseApiUrl",
	    !parsed ? "" : user ? ", without user information" :
	    " (plain http only for loopback hosts in AC_ALLOWED_HOSTS)");
}

static const char *
str_field(struct lc *lc, const char *name, int required, size_t max, enum ac_err field, enum ac_err *err)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(lc->body, name, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			*err = ac_request_fail(lc->req, field, "\"%s\" is missing", name);
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		*err = ac_request_fail(lc->req, field, "\"%s\" must be a string", name);
		return NULL;
	}
	s = json_object_get_string(v);
	if ((required && *s == '\0') || strlen(s) > max || strlen(s) != (size_t)json_object_get_string_len(v)) {
		*err = ac_request_fail(lc->req, field, "\"%s\" must be a non-empty string of at most %zu bytes",
		    name, max);
		return NULL;
	}
	return s;
}

/* Checks every field before anything in the body is trusted. */
static enum ac_err
check_body(struct lc *lc)
{
	static const struct {
		const char *name;
		json_type type;
	} typed[] = {
		{ "principal", json_type_object }, { "user", json_type_object }, { "actor", json_type_object },
		{ "publicKey", json_type_string }, { "description", json_type_string },
		{ "serverVersion", json_type_string }, { "pluginsVersion", json_type_string },
		{ "entitlementId", json_type_string }, { "entitlementNumber", json_type_string },
	};
	struct ac_request *req = lc->req;
	const char *why = NULL, *s;
	enum ac_err err = AC_OK;
	size_t i;
	int jira = lc->conf->product == AC_PRODUCT_JIRA;

	if (!ac_request_is_json(req))
		return ac_request_fail(req, AC_ERR_MEDIA_TYPE, "Content-Type must be application/json");
	if (ac_json_parse(req->body.data ? req->body.data : "", req->body.len, &lc->body, &why) != AC_OK)
		return ac_request_fail(req, AC_ERR_BAD_JSON, "the body is not valid JSON: %s", why ? why : "?");
	if (!json_object_is_type(lc->body, json_type_object))
		return AC_ERR_NOT_OBJECT;

	s = str_field(lc, "key", 1, 64, AC_ERR_FIELD_KEY, &err);
	if (err)
		return err;
	if (strcmp(s, lc->conf->app_key))
		return ac_request_fail(req, AC_ERR_FIELD_KEY, "\"key\" is not this app's key (AC_APP_KEY)");
	lc->client_key = str_field(lc, "clientKey", 1, 255, AC_ERR_FIELD_CLIENT_KEY, &err);
	if (err)
		return err;
	for (s = lc->client_key; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return ac_request_fail(req, AC_ERR_FIELD_CLIENT_KEY, "\"clientKey\" has control characters");
	ac_request_set_tenant(req, lc->client_key);
	lc->secret = str_field(lc, "sharedSecret", lc->ev == AC_LIFECYCLE_INSTALLED, 1024,
	    AC_ERR_FIELD_SHARED_SECRET, &err);
	if (err)
		return err;
	s = str_field(lc, "productType", 1, 32, AC_ERR_FIELD_PRODUCT_TYPE, &err);
	if (err)
		return err;
	if (strcmp(s, ac_conf_product_name(lc->conf->product)))
		return ac_request_fail(req, AC_ERR_FIELD_PRODUCT_TYPE, "\"productType\" must be \"%s\" (AC_PRODUCT)",
		    ac_conf_product_name(lc->conf->product));
	s = str_field(lc, "eventType", 1, 32, AC_ERR_FIELD_EVENT_TYPE, &err);
	if (err)
		return err;
	if (strcmp(s, lc->ev == AC_LIFECYCLE_INSTALLED ? "installed" : "uninstalled"))
		return ac_request_fail(req, AC_ERR_FIELD_EVENT_TYPE, "\"eventType\" must be \"%s\" on this route",
		    lc->ev == AC_LIFECYCLE_INSTALLED ? "installed" : "uninstalled");
	lc->base_url = str_field(lc, "baseUrl", 1, 2048, AC_ERR_FIELD_BASE_URL, &err);
	if (err)
		return err;
	lc->base_api_url = str_field(lc, "baseApiUrl", !jira, 2048, AC_ERR_FIELD_BASE_API_URL, &err);
	if (err)
		return err;
	lc->oauth_client_id = str_field(lc, "oauthClientId", 0, 255, AC_ERR_FIELD_OTHER, &err);
	if (err)
		return err;
	lc->display_url = str_field(lc, "displayUrl", 0, 2048, AC_ERR_FIELD_OTHER, &err);
	if (err)
		return err;
	/*
	 * Connect on Forge (doc/protocol.md §11): the Forge installation this
	 * tenant is, the one link a Forge invocation has to its Connect tenant.
	 * A malformed one is refused, not dropped: kept wrong or lost, the link
	 * would fail later and far from its cause.
	 */
	lc->installation_id = str_field(lc, "installationId", 0, 128, AC_ERR_FIELD_OTHER, &err);
	if (err)
		return err;
	if (lc->installation_id && !ac_conf_is_forge_installation_id(lc->installation_id))
		return ac_request_fail(req, AC_ERR_FIELD_OTHER, "\"installationId\" must be "
		    AC_FORGE_INSTALLATION_ARI_PREFIX "<uuid>");
	for (i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		json_object *v;

		if (json_object_object_get_ex(lc->body, typed[i].name, &v) && !json_object_is_type(v, json_type_null) &&
		    !json_object_is_type(v, typed[i].type))
			return ac_request_fail(req, AC_ERR_FIELD_OTHER, "\"%s\" must be a%s %s", typed[i].name,
			    typed[i].type == json_type_object ? "n" : "", json_type_to_name(typed[i].type));
	}
	if ((err = check_url(lc, lc->base_url, AC_ERR_FIELD_BASE_URL)) != AC_OK)
		return err;
	if (lc->base_api_url && (err = check_url(lc, lc->base_api_url, AC_ERR_FIELD_BASE_API_URL)) != AC_OK)
		return err;
	return AC_OK;
}

/* The token, when there is one: structure only, before any store lookup. */
static enum ac_err
parse_token(struct lc *lc)
{
	struct ac_request *req = lc->req;
	const char *tok, *hint = NULL;
	size_t len;
	struct ac_buf canon;
	enum ac_err err;

	err = ac_token_extract(ac_request_param(req, "HTTP_AUTHORIZATION"), req->query, strlen(req->query), 0,
	    &tok, &len, &hint);
	if (err == AC_ERR_TOKEN_MISSING) {
		if (hint)
			ac_request_fail(req, err, "%s", hint);
		return err;
	}
	if (err != AC_OK)
		return err;
	if ((err = ac_token_parse(tok, len, &lc->token)) != AC_OK)
		return err;
	lc->has_token = 1;
	if (ac_sha256(tok, len, lc->token_sha) != 0 ||
	    ac_sha256_hex(req->body.data ? req->body.data : "", req->body.len, lc->body_hex) != 0)
		return AC_ERR_INTERNAL;
	ac_buf_init(&canon, AC_CANON_MAX);
	err = ac_canon_inbound(req->method, strlen(req->method), req->uri, strlen(req->uri),
	    lc->conf->base_path, strlen(lc->conf->base_path), &canon);
	if (err == AC_OK)
		ac_canon_qsh(canon.data, canon.len, lc->qsh);
	ac_buf_release(&canon);
	return err == AC_OK ? AC_OK : AC_ERR_BAD_REQUEST;
}

/*
 * The client gets the stable code; the explanation (which names what was
 * expected) goes to the log, for the operator, never a secret.
 */
static enum ac_err
verify(struct lc *lc, const void *key, size_t keylen, const struct ac_token_policy *p)
{
	struct ac_token_report rep;
	enum ac_err err;
	size_t i;

	ac_token_report_init(&rep);
	err = ac_token_verify(&lc->token, key, keylen, p, lc->qsh, &rep);
	for (i = 0; err != AC_OK && i < rep.n; i++)
		ac_log_warn("%s from %s refused: %s", lc->req->path, lc->client_key, rep.v[i].text);
	ac_token_report_release(&rep);
	return err;
}

/*
 * The checks of a signed install that need no key, so that a token that
 * cannot pass costs no fetch; the signature is checked once the key is known.
 */
static enum ac_err
precheck(struct lc *lc, const struct ac_token_policy *p)
{
	struct ac_token_report rep;
	enum ac_err err;
	size_t i;

	ac_token_report_init(&rep);
	err = ac_token_check_claims(&lc->token, p, lc->qsh, &rep);
	for (i = 0; err != AC_OK && i < rep.n; i++)
		ac_log_warn("%s from %s refused before any key fetch: %s", lc->req->path, lc->client_key,
		    rep.v[i].text);
	ac_token_report_release(&rep);
	if (err == AC_OK && !lc->token.has_iat)
		err = ac_request_fail(lc->req, AC_ERR_CLAIM_MISSING,
		    "lifecycle tokens must carry iat: it orders them (a replay is older)");
	return err;
}

/* The policy of kind for this call's tenant (the body's clientKey): the one acctl jwt verify explains. */
static void
policy_of(const struct lc *lc, enum ac_policy_kind kind, struct ac_token_policy *p)
{
	struct ac_policy_ctx ctx = { 0 };

	ctx.product = lc->conf->product;
	ctx.client_key = lc->client_key;
	ctx.app_key = lc->conf->app_key;
	ctx.app_base_url = lc->conf->base_url;
	ctx.leeway = lc->conf->leeway;
	/* both kinds are in policy.c's table: this cannot fail */
	(void)ac_policy_build(kind, &ctx, p);
}

static enum ac_err refused_by_store_fn(struct ac_txn *txn, void *ctx);

static enum ac_err
verify_jira(struct lc *lc)
{
	struct ac_token_policy p;
	struct ac_buf pem;
	enum ac_err err;

	if (!lc->has_token)
		return ac_request_fail(lc->req, AC_ERR_TOKEN_MISSING, "Jira lifecycle calls must be signed (RS256)");
	if (lc->token.alg != AC_TOKEN_RS256)
		return ac_request_fail(lc->req, AC_ERR_ALG_NOT_ALLOWED, "signed installs use RS256, not %s",
		    lc->token.alg_name);
	if (lc->token.kid == NULL || !ac_lifecycle_kid_valid(lc->token.kid))
		return ac_request_fail(lc->req, AC_ERR_TOKEN_MALFORMED, "the token's kid is missing or not a UUID");
	policy_of(lc, AC_POLICY_SIGNED_INSTALL, &p);
	if ((err = precheck(lc, &p)) != AC_OK ||
	    (err = ac_store_view(lc->req->app->store, refused_by_store_fn, lc)) != AC_OK)
		return err;
	ac_buf_init(&pem, AC_INSTALL_KEY_MAX);
	if ((err = ac_install_keys_get(lc->req, lc->token.kid, &pem)) == AC_OK)
		err = verify(lc, pem.data, pem.len, &p);
	ac_buf_release(&pem);
	return err;
}

/* Bitbucket: HS256, iss the body's clientKey, aud (when present) naming it. */
static void
policy_bitbucket(const struct lc *lc, struct ac_token_policy *p)
{
	policy_of(lc, AC_POLICY_INBOUND, p);
}

/* Bitbucket, with secret. */
static enum ac_err
verify_bitbucket(struct lc *lc, const char *secret)
{
	struct ac_token_policy p;

	policy_bitbucket(lc, &p);
	return verify(lc, secret, strlen(secret), &p);
}

/*
 * ---- Replay (issue 13, 6): a lifecycle token is good for one use
 *
 * A signed install stays valid until its exp: replayed with another body,
 * it would replace the tenant's sharedSecret. Every accepted token is
 * remembered in lifecycle_seen until it has expired, with the hash of the
 * body it came with, written in the transaction that applies it: a refused
 * call leaves the store as it was. The same token with the same body again
 * is the product retrying (it did not see our answer): answered 204 again,
 * changing nothing. With another body it is token_replayed. A token older
 * (iat) than the last one accepted for the tenant is refused too, which also
 * orders a held-back token behind newer calls.
 */

/* Seconds a remembered token is kept past exp + leeway (AC_LEEWAY may differ between programs). */
#define SEEN_MARGIN 300
/* Expired records removed per transaction: each write pays a bounded share. */
#define SEEN_PURGE_MAX 16

/* The entry of this call's token in lifecycle_seen (store.h), if any: AC_ERR_NOT_FOUND when none. */
static enum ac_err
seen_get(struct ac_txn *txn, const struct lc *lc, struct ac_seen *e)
{
	return ac_seen_get_txn(txn, lc->token.exp, lc->token_sha, e);
}

/*
 * Before the token is verified: a token accepted before with this body is
 * the product's retry (it may be signed with a secret that call replaced,
 * so it is recognised before the signature is checked: only a token that
 * verified once is in lifecycle_seen); with another body it is a replay.
 */
static enum ac_err
check_seen(struct ac_txn *txn, struct lc *lc)
{
	struct ac_token_policy p;
	struct ac_seen e;
	enum ac_err err;
	int same;

	lc->retry = 0;
	if (!lc->has_token)
		return AC_OK;
	if ((err = seen_get(txn, lc, &e)) != AC_OK)
		return err == AC_ERR_NOT_FOUND ? AC_OK : err;
	same = e.body != NULL && !strcmp(e.body, lc->body_hex);
	ac_seen_release(&e);
	if (!same) {
		ac_log_warn("%s from %s refused: its token was accepted before, with another body", lc->req->path,
		    lc->client_key);
		return ac_request_fail(lc->req, AC_ERR_TOKEN_REPLAYED,
		    "this token was already accepted with another body; each lifecycle call is signed anew");
	}
	/* a retry only while the token is still good (Jira's claims were checked before the key) */
	if (lc->conf->product == AC_PRODUCT_BITBUCKET) {
		policy_bitbucket(lc, &p);
		if (ac_token_check_claims(&lc->token, &p, lc->qsh, NULL) != AC_OK)
			return AC_OK; /* verification says why */
	}
	ac_log_info("%s from %s: a retry of an accepted call (same token and body); nothing changed",
	    lc->req->path, lc->client_key);
	lc->retry = 1;
	return AC_OK;
}

/* A token older (iat) than the last lifecycle call accepted for the tenant old. */
static enum ac_err
older_than_stored(struct lc *lc, const struct ac_tenant *old)
{
	if (lc->token.iat >= old->lifecycle_iat)
		return AC_OK;
	ac_log_warn("%s from %s refused: iat %" PRId64 " is older than the last lifecycle call accepted (%" PRId64 ")",
	    lc->req->path, lc->client_key, lc->token.iat, old->lifecycle_iat);
	return ac_request_fail(lc->req, AC_ERR_TOKEN_REPLAYED,
	    "this token is older (iat) than the last lifecycle call accepted for this clientKey");
}

/*
 * Before a Jira key is fetched (issue 13, 7), what the store already says
 * cannot pass: an uninstall of a clientKey never installed, a token older
 * than the last call accepted. write_fn checks both again in the
 * transaction that applies the call; this read only spares the fetch.
 */
static enum ac_err
refused_by_store_fn(struct ac_txn *txn, void *ctx)
{
	struct lc *lc = ctx;
	struct ac_tenant old;
	struct ac_seen e;
	enum ac_err err;

	/* a token accepted before: a retry (answered as that call was) or a replay; write_fn tells which */
	if ((err = seen_get(txn, lc, &e)) == AC_OK)
		ac_seen_release(&e);
	if (err != AC_ERR_NOT_FOUND)
		return err;
	err = ac_tenant_get_txn(txn, lc->client_key, &old);
	if (err == AC_ERR_UNKNOWN_TENANT)
		return lc->ev == AC_LIFECYCLE_UNINSTALLED ? err : AC_OK;
	if (err != AC_OK)
		return err;
	err = older_than_stored(lc, &old);
	ac_tenant_release(&old);
	return err;
}

/*
 * After the token verified, in the transaction that applies the call: an
 * older token than the last accepted is refused; this one is remembered.
 * old is the stored tenant (NULL: none).
 */
static enum ac_err
remember_token(struct ac_txn *txn, struct lc *lc, const struct ac_tenant *old)
{
	struct ac_seen e;
	time_t now = ac_clock_now();
	enum ac_err err;

	if (!lc->has_token)
		return AC_OK;
	if (!lc->token.has_iat)
		return ac_request_fail(lc->req, AC_ERR_CLAIM_MISSING,
		    "lifecycle tokens must carry iat: it orders them (a replay is older)");
	if (old && (err = older_than_stored(lc, old)) != AC_OK)
		return err;
	memset(&e, 0, sizeof(e));
	e.exp = lc->token.exp;
	memcpy(e.token_sha, lc->token_sha, AC_SEEN_SHA_LEN);
	e.body = lc->body_hex;
	e.client_key = (char *)lc->client_key;
	e.event = (char *)(lc->ev == AC_LIFECYCLE_INSTALLED ? "installed" : "uninstalled");
	e.iat = lc->token.iat;
	e.at = (int64_t)now;
	if ((err = ac_seen_put_txn(txn, &e)) != AC_OK)
		return err;
	return ac_seen_purge_txn(txn, (int64_t)now - (lc->conf->leeway > 0 ? lc->conf->leeway : 0) - SEEN_MARGIN,
	    SEEN_PURGE_MAX, NULL);
}

static enum ac_err
dup_into(char **dst, const char *s)
{
	return (*dst = strdup(s ? s : "")) ? AC_OK : AC_ERR_NOMEM;
}

/* Check and write in one transaction: a reinstall racing another sees one winner. */
static enum ac_err
write_fn(struct ac_txn *txn, void *ctx)
{
	struct lc *lc = ctx;
	struct ac_tenant old, t;
	enum ac_err err;
	int known, jira = lc->conf->product == AC_PRODUCT_JIRA;
	time_t now = ac_clock_now();

	memset(&t, 0, sizeof(t));
	if ((err = check_seen(txn, lc)) != AC_OK || lc->retry)
		return err; /* a retry commits nothing: answered 204 as the call it repeats */
	err = ac_tenant_get_txn(txn, lc->client_key, &old);
	if (err != AC_OK && err != AC_ERR_UNKNOWN_TENANT)
		return err;
	known = err == AC_OK;
	if (!jira) {
		if (known) {
			/* doc/protocol.md §4: only the stored secret proves a reinstall or uninstall */
			if (!lc->has_token)
				err = ac_request_fail(lc->req, AC_ERR_TOKEN_MISSING,
				    "this clientKey is installed: the call must be signed with its stored secret");
			else
				err = verify_bitbucket(lc, old.shared_secret);
		} else if (lc->ev == AC_LIFECYCLE_UNINSTALLED) {
			err = AC_ERR_UNKNOWN_TENANT;
		} else {
			/* first install: trust on first use; a token present must hold with the new secret */
			err = lc->has_token ? verify_bitbucket(lc, lc->secret) : AC_OK;
		}
		if (err != AC_OK)
			goto out;
	} else if (!known && lc->ev == AC_LIFECYCLE_UNINSTALLED) {
		/* verified by Atlassian's key, but nothing here to uninstall */
		err = AC_ERR_UNKNOWN_TENANT;
		goto out;
	}
	if ((err = remember_token(txn, lc, known ? &old : NULL)) != AC_OK)
		goto out;
	if (lc->ev == AC_LIFECYCLE_UNINSTALLED) {
		if (lc->has_token && lc->token.iat > old.lifecycle_iat)
			old.lifecycle_iat = lc->token.iat;
		old.state = AC_TENANT_UNINSTALLED;
		old.uninstalled_at = now;
		old.updated_at = now;
		if ((err = ac_tenant_put_txn(txn, &old, NULL)) == AC_OK)
			err = ac_grant_forget_txn(txn, lc->client_key);
		goto out;
	}
	t.product = lc->conf->product;
	t.state = AC_TENANT_INSTALLED;
	t.installed_at = known ? old.installed_at : now;
	t.updated_at = now;
	t.uninstalled_at = 0;
	t.lifecycle_iat = known ? old.lifecycle_iat : 0;
	if (lc->has_token && lc->token.iat > t.lifecycle_iat)
		t.lifecycle_iat = lc->token.iat;
	if ((err = dup_into(&t.client_key, lc->client_key)) || (err = dup_into(&t.shared_secret, lc->secret)) ||
	    (err = dup_into(&t.key, lc->conf->app_key)) || (err = dup_into(&t.base_url, lc->base_url)) ||
	    (err = dup_into(&t.base_api_url, lc->base_api_url)) ||
	    (err = dup_into(&t.oauth_client_id, lc->oauth_client_id)) ||
	    (err = dup_into(&t.display_url, lc->display_url)) ||
	    (err = dup_into(&t.installation_id, lc->installation_id)))
		goto out;
	if ((err = ac_tenant_put_txn(txn, &t, lc->body)) == AC_OK)
		err = ac_grant_forget_txn(txn, lc->client_key);
out:
	if (known)
		ac_tenant_release(&old);
	ac_tenant_release(&t);
	return err;
}

/* One lifecycle call's state, before anything is read. */
static void
lc_init(struct lc *lc, struct ac_request *req, enum ac_lifecycle_event ev)
{
	memset(lc, 0, sizeof(*lc));
	lc->req = req;
	lc->ev = ev;
	lc->conf = req->app->conf;
}

enum ac_err
ac_lifecycle_handle(struct ac_request *req, enum ac_lifecycle_event ev)
{
	struct lc lc;
	enum ac_err err;

	lc_init(&lc, req, ev);
	if (req->app->store == NULL)
		return AC_ERR_INTERNAL;
	if ((err = check_body(&lc)) != AC_OK)
		goto out;
	err = parse_token(&lc);
	if (err == AC_ERR_TOKEN_MISSING && lc.conf->product == AC_PRODUCT_BITBUCKET)
		err = AC_OK; /* a first install may be unsigned; write_fn decides */
	if (err != AC_OK)
		goto out;
	if (lc.conf->product == AC_PRODUCT_JIRA && (err = verify_jira(&lc)) != AC_OK)
		goto out;
	err = ac_store_update(req->app->store, write_fn, &lc);
	if (err == AC_ERR_TOO_LARGE) /* the record would pass its limit: the body's doing, not ours */
		err = ac_request_fail(req, AC_ERR_BODY_TOO_LARGE, "the install body is too large to store");
	if (err != AC_OK)
		goto out;
	req->status = 204;
out:
	if (lc.has_token)
		ac_token_release(&lc.token);
	ac_json_put_secret(lc.body); /* it holds the sharedSecret */
	return err;
}

enum ac_err
ac_lifecycle_check_body(struct ac_request *req, enum ac_lifecycle_event ev)
{
	struct lc lc;
	enum ac_err err;

	lc_init(&lc, req, ev);
	err = check_body(&lc);
	ac_json_put_secret(lc.body);
	return err;
}
