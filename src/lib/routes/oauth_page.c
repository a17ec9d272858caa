/* oauth_page.c: /oauth-callback: the tenant proved by its token, the grant, and an escaped page. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/canon.h"
#include "outbound/client.h"
#include "base/clock.h"
#include "outbound/grant.h"
#include "web/html.h"
#include "base/json.h"
#include "base/log.h"
#include "routes/oauth_page.h"
#include "store/store.h"
#include "store/tenant.h"

/* Longest client_key parameter looked up (LMDB keys are at most 511 bytes). */
#define CLIENT_KEY_MAX 511
/* Most bytes of a page. */
#define PAGE_MAX (256 * 1024)

/* ------------------------------------------------------------------ the request */

/*
 * The first parameter called name in the raw query (auth/canon.h: the one
 * lookup and decoder): *present says whether there is one; *out (when
 * non-NULL) gets its value decoded ('+' is a space, a bad escape stays
 * literal), malloc'd, or NULL when it holds a NUL or is longer than max.
 */
static enum ac_err
query_get(const char *q, const char *name, size_t max, int *present, char **out)
{
	struct ac_buf d;
	const char *v;
	size_t vlen;
	enum ac_err err;

	*present = 0;
	if (out)
		*out = NULL;
	if (ac_canon_query_find(q, strlen(q), name, &v, &vlen) == 0)
		return AC_OK;
	*present = 1;
	if (out == NULL || vlen > 3 * max)
		return AC_OK;
	ac_buf_init(&d, max + 1);
	err = ac_canon_decode(v, vlen, &d);
	if (err == AC_OK && d.len <= max && !memchr(ac_buf_str(&d), '\0', d.len))
		err = ac_buf_detach(&d, out, NULL);
	else if (err == AC_ERR_TOO_LARGE)
		err = AC_OK;
	ac_buf_release(&d);
	return err;
}

static int
wants_json(const struct ac_request *req)
{
	const char *a = ac_request_param(req, "HTTP_ACCEPT");

	/* a browser names text/html; an API client that asks for JSON gets JSON */
	return a && strstr(a, "application/json") && !strstr(a, "text/html");
}

enum ac_err
ac_oauth_page_authenticate(struct ac_request *req)
{
	const char *authz = ac_request_param(req, "HTTP_AUTHORIZATION");
	int jwt = 0, ck = 0;
	enum ac_err err;

	if ((err = query_get(req->query, "jwt", 0, &jwt, NULL)) != AC_OK ||
	    (err = query_get(req->query, "client_key", 0, &ck, NULL)) != AC_OK)
		return err;
	/* any sign of a token is verified; only a request with none may be the public status page */
	if ((authz && *authz) || jwt || !ck)
		return ac_auth_authenticate(req);
	return AC_OK;
}

/* Headers of every answer: a page that runs nothing, is not cached and leaks no ?jwt= in a Referer. */
static void
page_headers(struct ac_request *req)
{
	ac_response_header(req, "Content-Security-Policy", AC_OAUTH_PAGE_CSP);
	ac_response_header(req, "X-Content-Type-Options", "nosniff");
	ac_response_header(req, "Referrer-Policy", "no-referrer");
	ac_response_header(req, "Cache-Control", "no-store");
}

/* ------------------------------------------------------------------ HTML */

static enum ac_err
page_begin(struct ac_buf *b, const char *app_name, const char *title)
{
	enum ac_err err;

	if ((err = ac_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n<title>")) != AC_OK ||
	    (err = ac_html_txt(b, title)) != AC_OK || (err = ac_buf_adds(b, " \xe2\x80\x94 ")) != AC_OK ||
	    (err = ac_html_txt(b, app_name)) != AC_OK)
		return err;
	return ac_buf_adds(b, "</title>\n<style>\n"
	    "body{font:15px/1.5 -apple-system,'Segoe UI',Roboto,sans-serif;color:#172b4d;margin:0;padding:24px}\n"
	    "main{max-width:44em}h1{font-size:1.4em;margin:0 0 .6em}dt{font-weight:600;margin-top:.6em}\n"
	    "dd{margin:0 0 0 1em}code{background:#f4f5f7;padding:0 .25em;border-radius:3px}\n"
	    ".err{border-left:4px solid #de350b;padding-left:12px}.ok{border-left:4px solid #00875a;padding-left:12px}\n"
	    "img{vertical-align:middle;border-radius:50%;margin-right:.4em}.muted{color:#6b778c}\n"
	    "</style>\n</head>\n<body>\n<main>\n");
}

static enum ac_err
page_end(struct ac_buf *b)
{
	return ac_buf_adds(b, "</main>\n</body>\n</html>\n");
}

/* "<dt>label</dt><dd>text</dd>", text escaped; nothing when text is NULL or empty. */
static enum ac_err
dl_item(struct ac_buf *b, const char *label, const char *text, int code)
{
	enum ac_err err;

	if (text == NULL || *text == '\0')
		return AC_OK;
	if ((err = ac_buf_printf(b, "<dt>%s</dt><dd>%s", label, code ? "<code>" : "")) != AC_OK ||
	    (err = ac_html_txt(b, text)) != AC_OK)
		return err;
	return ac_buf_printf(b, "%s</dd>\n", code ? "</code>" : "");
}

static enum ac_err
respond_html(struct ac_request *req, int status, struct ac_buf *b)
{
	enum ac_err err = ac_response_set(req, status, "text/html; charset=utf-8", b->data ? b->data : "", b->len);

	if (err == AC_OK)
		page_headers(req);
	return err;
}

static enum ac_err
respond_json(struct ac_request *req, int status, json_object *o)
{
	enum ac_err err = o ? ac_response_json(req, status, o) : AC_ERR_NOMEM;

	if (err == AC_OK)
		page_headers(req);
	return err;
}

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v && *v ? json_object_new_string(v) : json_object_new_null());
}

/* ------------------------------------------------------------------ the status page */

/* The install body kept with the tenant (tenant.c: "install", sharedSecret already removed); NULL if none. */
static json_object *
read_record(struct ac_store *st, const char *client_key)
{
	json_object *o = NULL;

	if (strlen(client_key) > CLIENT_KEY_MAX || ac_tenant_get_record(st, client_key, &o) != AC_OK)
		return NULL;
	return o;
}

static enum ac_err
status_page(struct ac_request *req)
{
	struct ac_tenant t;
	const char *state, *what;
	struct ac_buf b;
	char *ck = NULL;
	int present;
	enum ac_err err;

	if ((err = query_get(req->query, "client_key", CLIENT_KEY_MAX, &present, &ck)) != AC_OK)
		return err;
	if (ck == NULL || *ck == '\0') {
		free(ck);
		return ac_request_fail(req, AC_ERR_BAD_REQUEST, "client_key is empty, too long or not text");
	}
	memset(&t, 0, sizeof(t));
	err = ac_tenant_get(req->app->store, ck, &t);
	if (err == AC_OK) {
		state = ac_tenant_state_name(t.state);
		what = t.state == AC_TENANT_INSTALLED ? "is installed" : "was uninstalled";
	} else if (err == AC_ERR_UNKNOWN_TENANT) {
		state = "unknown";
		what = "is not known to this app: its install did not reach this server";
	} else {
		free(ck);
		return err;
	}
	ac_tenant_release(&t);
	if (wants_json(req)) {
		json_object *o = json_object_new_object();

		if (o) {
			add_str(o, "clientKey", ck);
			json_object_object_add(o, "state", json_object_new_string(state));
			json_object_object_add(o, "installed", json_object_new_boolean(!strcmp(state, "installed")));
		}
		err = respond_json(req, 200, o);
		json_object_put(o);
		free(ck);
		return err;
	}
	ac_buf_init(&b, PAGE_MAX);
	if ((err = page_begin(&b, req->app->conf->app_name, "Installation")) == AC_OK &&
	    (err = ac_buf_printf(&b, "<section class=\"%s\">\n<h1>", strcmp(state, "installed") ? "err" : "ok")) == AC_OK &&
	    (err = ac_html_txt(&b, req->app->conf->app_name)) == AC_OK &&
	    (err = ac_buf_printf(&b, " %s</h1>\n<p>The installation <code>", what)) == AC_OK &&
	    (err = ac_html_txt(&b, ck)) == AC_OK &&
	    (err = ac_buf_printf(&b, "</code> %s.</p>\n", what)) == AC_OK &&
	    (err = ac_buf_adds(&b, "<p class=\"muted\">Open the app from inside the product to see the account it "
	    "acts as; this address alone proves nothing and shows nothing more.</p>\n</section>\n")) == AC_OK &&
	    (err = page_end(&b)) == AC_OK)
		err = respond_html(req, 200, &b);
	ac_buf_release(&b);
	free(ck);
	return err;
}

/* ------------------------------------------------------------------ the Bitbucket page */

static json_object *
get_path(json_object *o, const char *a, const char *b)
{
	json_object *v = ac_json_get_typed(o, a, json_type_object);

	return v && b ? ac_json_get_typed(v, b, json_type_object) : v;
}

/* The scopes as a JSON array. */
static json_object *
scopes_array(const char *s)
{
	json_object *a = json_object_new_array();

	while (a && s && *s) {
		size_t w;

		s += strspn(s, " ");
		if ((w = strcspn(s, " ")) == 0)
			break;
		json_object_array_add(a, json_object_new_string_len(s, (int)w));
		s += w;
	}
	return a;
}

static enum ac_err
bitbucket_json(struct ac_request *req, const struct ac_tenant *t, json_object *user, json_object *principal,
    const struct ac_grant_token *tok)
{
	json_object *o = json_object_new_object(), *ten, *acc, *tk, *ws;
	char when[64];
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	ten = json_object_new_object();
	acc = json_object_new_object();
	tk = json_object_new_object();
	json_object_object_add(o, "tenant", ten);
	json_object_object_add(o, "account", acc);
	json_object_object_add(o, "token", tk);
	add_str(ten, "clientKey", t->client_key);
	add_str(ten, "product", "bitbucket");
	add_str(ten, "baseApiUrl", t->base_api_url);
	if (principal) {
		ws = json_object_new_object();
		add_str(ws, "display_name", ac_json_get_string(principal, "display_name"));
		add_str(ws, "username", ac_json_get_string(principal, "username"));
		add_str(ws, "uuid", ac_json_get_string(principal, "uuid"));
		json_object_object_add(ten, "workspace", ws);
	}
	add_str(acc, "display_name", ac_json_get_string(user, "display_name"));
	add_str(acc, "uuid", ac_json_get_string(user, "uuid"));
	add_str(acc, "account_id", ac_json_get_string(user, "account_id"));
	add_str(acc, "username", ac_json_get_string(user, "username"));
	add_str(acc, "nickname", ac_json_get_string(user, "nickname"));
	add_str(acc, "type", ac_json_get_string(user, "type"));
	json_object_object_add(tk, "scopes", scopes_array(tok->scopes));
	ac_clock_iso8601(tok->expires_at, when, sizeof(when));
	add_str(tk, "expiresAt", when);
	json_object_object_add(tk, "expiresIn", json_object_new_int64(tok->expires_at - (int64_t)ac_clock_now()));
	err = respond_json(req, 200, o);
	json_object_put(o);
	return err;
}

static enum ac_err
bitbucket_html(struct ac_request *req, const struct ac_tenant *t, json_object *user, json_object *principal,
    const struct ac_grant_token *tok)
{
	const char *app = req->app->conf->app_name, *name = ac_json_get_string(user, "display_name");
	const char *avatar = NULL, *s;
	json_object *av = get_path(user, "links", "avatar");
	int64_t left = tok->expires_at - (int64_t)ac_clock_now();
	struct ac_buf b;
	char when[64];
	enum ac_err err;

	if (av)
		avatar = ac_json_get_string(av, "href");
	ac_clock_iso8601(tok->expires_at, when, sizeof(when));
	ac_buf_init(&b, PAGE_MAX);
	if ((err = page_begin(&b, app, "Connected")) != AC_OK ||
	    (err = ac_buf_adds(&b, "<section class=\"ok\">\n<h1>")) != AC_OK || (err = ac_html_txt(&b, app)) != AC_OK ||
	    (err = ac_buf_adds(&b, " is connected</h1>\n<dl>\n")) != AC_OK)
		goto out;
	if (principal && (s = ac_json_get_string(principal, "display_name")) != NULL &&
	    (err = dl_item(&b, "Workspace", s, 0)) != AC_OK)
		goto out;
	if ((err = dl_item(&b, "Installation", t->client_key, 1)) != AC_OK ||
	    (err = ac_buf_adds(&b, "<dt>Acting as</dt><dd>")) != AC_OK)
		goto out;
	/* an image from anywhere but https could be mixed content or a tracking scheme: checked, then escaped */
	if (ac_html_https_url(avatar) && ((err = ac_buf_adds(&b, "<img alt=\"\" width=\"24\" height=\"24\" src=\"")) != AC_OK ||
	    (err = ac_html_attr(&b, avatar)) != AC_OK || (err = ac_buf_adds(&b, "\">")) != AC_OK))
		goto out;
	if ((err = ac_html_txt(&b, name ? name : "(no display name)")) != AC_OK)
		goto out;
	if ((s = ac_json_get_string(user, "uuid")) != NULL &&
	    ((err = ac_buf_adds(&b, " <code>")) != AC_OK || (err = ac_html_txt(&b, s)) != AC_OK ||
	    (err = ac_buf_adds(&b, "</code>")) != AC_OK))
		goto out;
	if ((err = ac_buf_adds(&b, "</dd>\n")) != AC_OK ||
	    (err = dl_item(&b, "Account id", ac_json_get_string(user, "account_id"), 1)) != AC_OK ||
	    (err = ac_buf_adds(&b, "<dt>Scopes</dt><dd>")) != AC_OK)
		goto out;
	if (tok->scopes && *tok->scopes) {
		const char *p = tok->scopes;

		while (err == AC_OK && *p) {
			size_t w;

			p += strspn(p, " ");
			if ((w = strcspn(p, " ")) == 0)
				break;
			if ((err = ac_buf_adds(&b, "<code>")) == AC_OK && (err = ac_html_txt_n(&b, p, w)) == AC_OK)
				err = ac_buf_adds(&b, "</code> ");
			p += w;
		}
	} else {
		err = ac_buf_adds(&b, "<span class=\"muted\">none named by Bitbucket</span>");
	}
	if (err != AC_OK ||
	    (err = ac_buf_printf(&b, "</dd>\n<dt>Access token expires</dt><dd><time datetime=\"%s\">%s</time> "
	    "(in %lld min)</dd>\n</dl>\n", when, when, (long long)(left > 0 ? left / 60 : 0))) != AC_OK ||
	    (err = ac_buf_adds(&b, "<p class=\"muted\">The access token stays on the server: every process of "
	    "the app reuses it until a minute before it expires, then asks Bitbucket for a new one.</p>\n"
	    "</section>\n")) != AC_OK ||
	    (err = page_end(&b)) != AC_OK)
		goto out;
	err = respond_html(req, 200, &b);
out:
	ac_buf_release(&b);
	return err;
}

static enum ac_err
bitbucket_page(struct ac_request *req, const struct ac_tenant *t)
{
	struct ac_client_opts opts = { AC_CLIENT_AUTH_BEARER, NULL, NULL };
	struct ac_client *client = req->app->data;
	struct ac_client_response resp;
	struct ac_grant_token tok;
	json_object *user = NULL, *rec = NULL, *principal = NULL;
	enum ac_err err;

	if (client == NULL)
		return AC_ERR_INTERNAL;
	ac_grant_token_init(&tok);
	ac_client_response_init(&resp);
	/* doc/protocol.md §8: the grant first, so that its failure is told apart from the API's */
	if ((err = ac_grant_bitbucket(req->app->conf, req->app->store, t, NULL, &tok, NULL)) != AC_OK)
		goto out;
	ac_grant_token_release(&tok);
	if ((err = ac_client_call_ex(client, t, &opts, "GET", "/2.0/user", NULL, 0, &resp, NULL)) != AC_OK)
		goto out;
	if (resp.status != 200) {
		err = ac_request_fail(req, AC_ERR_UPSTREAM, "Bitbucket answered %ld to GET /2.0/user", resp.status);
		goto out;
	}
	if (ac_json_parse(resp.body.data ? resp.body.data : "", resp.body.len, &user, NULL) != AC_OK ||
	    !json_object_is_type(user, json_type_object)) {
		err = ac_request_fail(req, AC_ERR_UPSTREAM, "Bitbucket's GET /2.0/user is not a JSON object");
		goto out;
	}
	/* what the page shows is the token now cached (a 401 above may have replaced it) */
	if ((err = ac_grant_bitbucket(req->app->conf, req->app->store, t, NULL, &tok, NULL)) != AC_OK)
		goto out;
	if ((rec = read_record(req->app->store, t->client_key)) != NULL)
		principal = get_path(rec, "install", "principal");
	if (wants_json(req))
		err = bitbucket_json(req, t, user, principal, &tok);
	else
		err = bitbucket_html(req, t, user, principal, &tok);
out:
	ac_json_put_secret(rec); /* the tenant record: its sharedSecret too */
	json_object_put(user);
	ac_client_response_release(&resp);
	ac_grant_token_release(&tok);
	return err;
}

/* ------------------------------------------------------------------ the Jira page */

static enum ac_err
jira_page(struct ac_request *req, const struct ac_tenant *t)
{
	const char *app = req->app->conf->app_name;
	struct ac_buf b;
	enum ac_err err;

	if (wants_json(req)) {
		json_object *o = json_object_new_object(), *ten = json_object_new_object();

		if (o && ten) {
			json_object_object_add(o, "tenant", ten);
			add_str(ten, "clientKey", t->client_key);
			add_str(ten, "product", "jira");
			add_str(ten, "baseUrl", t->base_url);
			json_object_object_add(ten, "impersonation", json_object_new_boolean(*t->oauth_client_id != '\0'));
		} else {
			json_object_put(ten);
		}
		err = respond_json(req, 200, o);
		json_object_put(o);
		return err;
	}
	ac_buf_init(&b, PAGE_MAX);
	if ((err = page_begin(&b, app, "Connected")) == AC_OK &&
	    (err = ac_buf_adds(&b, "<section class=\"ok\">\n<h1>")) == AC_OK && (err = ac_html_txt(&b, app)) == AC_OK &&
	    (err = ac_buf_adds(&b, " is connected</h1>\n<dl>\n")) == AC_OK &&
	    (err = dl_item(&b, "Jira site", t->base_url, 0)) == AC_OK &&
	    (err = dl_item(&b, "Installation", t->client_key, 1)) == AC_OK &&
	    (err = dl_item(&b, "Acting as a user", *t->oauth_client_id ? "available (ACT_AS_USER)" :
	    "not available: the install has no oauthClientId", 0)) == AC_OK &&
	    (err = ac_buf_adds(&b, "</dl>\n</section>\n")) == AC_OK && (err = page_end(&b)) == AC_OK)
		err = respond_html(req, 200, &b);
	ac_buf_release(&b);
	return err;
}

enum ac_err
ac_oauth_page_handle(struct ac_request *req)
{
	const struct ac_tenant *t = ac_auth_tenant(req);

	if (t == NULL) {
		int ck = 0;

		/* only ac_oauth_page_authenticate's tokenless client_key requests get here unauthenticated */
		if (query_get(req->query, "client_key", 0, &ck, NULL) != AC_OK || !ck)
			return AC_ERR_TOKEN_MISSING;
		return status_page(req);
	}
	return t->product == AC_PRODUCT_BITBUCKET ? bitbucket_page(req, t) : jira_page(req, t);
}

/* ------------------------------------------------------------------ errors */

/* What a person can do about err. */
static const char *
advice(enum ac_err err)
{
	switch (err) {
	case AC_ERR_TOKEN_MISSING:
		return "Open this page from inside Bitbucket or Jira: the product adds a signed token to the address.";
	case AC_ERR_UNKNOWN_TENANT:
		return "This installation is not known to the app: its install never reached this server. "
		    "Install the app again from the workspace or site settings.";
	case AC_ERR_TENANT_UNINSTALLED:
		return "The app was uninstalled from this workspace or site. Install it again to use it.";
	case AC_ERR_EXPIRED:
	case AC_ERR_NOT_YET_VALID:
		return "The link has expired or the clocks disagree. Reload the page from the product.";
	case AC_ERR_BAD_SIGNATURE:
		return "The token is not signed with the secret this app holds for the installation. Reload the "
		    "page from the product; if it persists, reinstall the app.";
	case AC_ERR_GRANT_REFUSED:
		return "Bitbucket refused the app's signed token request. The shared secret stored for this "
		    "installation is probably stale: the app was reinstalled while this server missed the "
		    "/installed call, or the data was restored from an old backup. Uninstall and install the app "
		    "again in the workspace settings, then reload this page. The operator can compare with "
		    "`acctl tenant show CLIENTKEY`.";
	case AC_ERR_UPSTREAM:
		return "Bitbucket did not answer in time or failed. Try again in a minute.";
	default:
		break;
	}
	if (ac_err_http_status(err) == 401)
		return "The token does not fit this page. Reload the page from the product.";
	return "Try again later; the operator's log says more.";
}

void
ac_oauth_page_error(struct ac_request *req, enum ac_err err)
{
	const char *msg = req->message ? req->message : ac_strerror(err);
	struct ac_buf b;
	int status = req->status;

	if (wants_json(req)) {
		json_object *o = json_object_new_object();

		if (o) {
			json_object_object_add(o, "error", json_object_new_string(ac_err_code(err)));
			json_object_object_add(o, "message", json_object_new_string(msg));
			json_object_object_add(o, "advice", json_object_new_string(advice(err)));
		}
		/* on failure the plain JSON error stays */
		respond_json(req, status, o);
		json_object_put(o);
		return;
	}
	ac_buf_init(&b, PAGE_MAX);
	if (page_begin(&b, req->app->conf ? req->app->conf->app_name : "connect-fcgi", ac_http_reason(status)) == AC_OK &&
	    ac_buf_printf(&b, "<section class=\"err\">\n<h1>%d %s</h1>\n<p>", status, ac_http_reason(status)) == AC_OK &&
	    ac_html_txt(&b, msg) == AC_OK &&
	    ac_buf_adds(&b, " <code>") == AC_OK && ac_html_txt(&b, ac_err_code(err)) == AC_OK &&
	    ac_buf_adds(&b, "</code></p>\n<p>") == AC_OK && ac_html_txt(&b, advice(err)) == AC_OK &&
	    ac_buf_adds(&b, "</p>\n</section>\n") == AC_OK && page_end(&b) == AC_OK)
		respond_html(req, status, &b);
	ac_buf_release(&b);
}
