/* handler-util.c: the pieces every event handler needs, so that a handler reads as its rule. */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/digest.h"
#include "events/handler-util.h"
#include "outbound/forge_client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/url.h"

/* ------------------------------------------------------------------ patterns */

#define PATTERN_CACHE 4

static struct {
	char *pattern;
	regex_t re;
	int ok;
} cache[PATTERN_CACHE];
static size_t cache_next;

static const regex_t *
compiled(const char *pattern)
{
	size_t i;

	for (i = 0; i < PATTERN_CACHE; i++)
		if (cache[i].pattern && !strcmp(cache[i].pattern, pattern))
			return cache[i].ok ? &cache[i].re : NULL;
	/* a new pattern (tests switch them): take the next slot round-robin */
	i = cache_next++ % PATTERN_CACHE;
	if (cache[i].pattern) {
		if (cache[i].ok)
			regfree(&cache[i].re);
		free(cache[i].pattern);
		cache[i].pattern = NULL;
	}
	if ((cache[i].pattern = strdup(pattern)) == NULL)
		return NULL;
	cache[i].ok = regcomp(&cache[i].re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
	if (!cache[i].ok)
		ac_log_error("pattern does not compile as a POSIX extended regex: %s", pattern);
	return cache[i].ok ? &cache[i].re : NULL;
}

int
ac_handler_util_match(const char *pattern, const char *text)
{
	const regex_t *re;
	size_t n;
	char *line;
	int rc;

	if (pattern == NULL || text == NULL || (re = compiled(pattern)) == NULL)
		return 0;
	n = strcspn(text, "\r\n");
	if ((line = malloc(n + 1)) == NULL)
		return 0;
	memcpy(line, text, n);
	line[n] = '\0';
	rc = regexec(re, line, 0, NULL, 0) == 0;
	free(line);
	return rc;
}

void
ac_handler_util_cleanup(void)
{
	size_t i;

	for (i = 0; i < PATTERN_CACHE; i++) {
		if (cache[i].pattern && cache[i].ok)
			regfree(&cache[i].re);
		free(cache[i].pattern);
		cache[i].pattern = NULL;
		cache[i].ok = 0;
	}
	cache_next = 0;
}

int
ac_handler_util_exempt(const char *message, size_t nparents)
{
	/* git's own wording for merges and reverts: the rule is for what people write */
	return nparents >= 2 || (message && !strncmp(message, "Revert \"", 8));
}

/* ------------------------------------------------------------------ payloads */

json_object *
ac_handler_util_data(json_object *payload)
{
	json_object *d = ac_json_get_typed(payload, "data", json_type_object);

	/* doc/protocol.md §6: Bitbucket wraps the event as {"event": key, "data": {...}};
	 * accept it bare too */
	if (d && !ac_json_get_typed(payload, "repository", json_type_object) &&
	    !ac_json_get_typed(payload, "issue", json_type_object))
		return d;
	/* doc/protocol.md §11.2: a Forge event may come under "payload" (with retryContext beside it) */
	d = ac_json_get_typed(payload, "payload", json_type_object);
	if (d && !ac_json_get_typed(payload, "repository", json_type_object) &&
	    !ac_json_get_typed(payload, "issue", json_type_object) &&
	    !ac_json_get_typed(payload, "pullrequest", json_type_object))
		return d;
	return payload;
}

json_object *
ac_handler_util_get(json_object *obj, const char *dotted, json_type type)
{
	char name[128];
	const char *p = dotted, *dot;
	size_t n;

	while (obj && (dot = strchr(p, '.')) != NULL) {
		n = (size_t)(dot - p);
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, p, n);
		name[n] = '\0';
		obj = ac_json_get_typed(obj, name, json_type_object);
		p = dot + 1;
	}
	return obj ? ac_json_get_typed(obj, p, type) : NULL;
}

const char *
ac_handler_util_get_string(json_object *obj, const char *dotted)
{
	json_object *s = ac_handler_util_get(obj, dotted, json_type_string);

	return s ? json_object_get_string(s) : NULL;
}

enum ac_err
ac_handler_util_encode_segment(struct ac_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	enum ac_err err = AC_OK;
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p && err == AC_OK; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~')
			err = ac_buf_addc(out, (char)*p);
		else if ((err = ac_buf_addc(out, '%')) == AC_OK && (err = ac_buf_addc(out, hex[*p >> 4])) == AC_OK)
			err = ac_buf_addc(out, hex[*p & 15]);
	}
	return err;
}

/* "ws/repo" into two encoded segments; 0 when it is not that shape. */
static int
split_full_name(const char *full, struct ac_buf *ws, struct ac_buf *repo)
{
	const char *slash = full ? strchr(full, '/') : NULL;
	char *w;
	int ok;

	if (slash == NULL || slash == full || slash[1] == '\0' || strchr(slash + 1, '/') ||
	    !strcmp(slash + 1, ".") || !strcmp(slash + 1, ".."))
		return 0;
	if ((w = strndup(full, (size_t)(slash - full))) == NULL)
		return 0;
	ok = strcmp(w, ".") && strcmp(w, "..") && ac_handler_util_encode_segment(ws, w) == AC_OK &&
	    ac_handler_util_encode_segment(repo, slash + 1) == AC_OK;
	free(w);
	return ok;
}

enum ac_err
ac_handler_util_repo(json_object *data, struct ac_buf *ws, struct ac_buf *repo)
{
	static const char *const names[] = {
		"repository.full_name",
		"pullrequest.destination.repository.full_name",
		"pullrequest.source.repository.full_name",
	};
	const char *wsid = ac_handler_util_get_string(data, "workspace.uuid");
	const char *repoid = ac_handler_util_get_string(data, "repository.uuid");
	struct ac_url u;
	size_t i;

	/* doc/protocol.md §11.2: a Forge event names both by uuid ("{…}", a path segment as it is, encoded) */
	if (wsid && *wsid && strcmp(wsid, ".") && strcmp(wsid, "..") && repoid && *repoid && strcmp(repoid, ".") &&
	    strcmp(repoid, "..")) {
		ac_buf_reset(ws);
		ac_buf_reset(repo);
		if (ac_handler_util_encode_segment(ws, wsid) == AC_OK &&
		    ac_handler_util_encode_segment(repo, repoid) == AC_OK)
			return AC_OK;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ac_buf_reset(ws);
		ac_buf_reset(repo);
		if (split_full_name(ac_handler_util_get_string(data, names[i]), ws, repo))
			return AC_OK;
	}
	/* links.html.href: https://bitbucket.org/{ws}/{repo} */
	if (ac_url_parse(ac_handler_util_get_string(data, "repository.links.html.href"), &u) == AC_OK) {
		char *path = strdup(u.path + 1);
		int ok;

		ac_url_release(&u);
		if (path == NULL)
			return AC_ERR_NOMEM;
		if (*path && path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		ac_buf_reset(ws);
		ac_buf_reset(repo);
		ok = split_full_name(path, ws, repo);
		free(path);
		if (ok)
			return AC_OK;
	}
	ac_log_warn("event names no repository (repository.full_name)");
	return AC_ERR_BAD_REQUEST;
}

int
ac_handler_util_valid_hash(const char *s)
{
	size_t n = s ? strspn(s, "0123456789abcdef") : 0;

	return s && s[n] == '\0' && n >= 7 && n <= 40;
}

/* ------------------------------------------------------------------ calls */

enum ac_err
ac_handler_util_status(struct ac_handler_ctx *ctx, const struct ac_client_response *r, const char *what)
{
	if (r->status >= 200 && r->status < 300)
		return AC_OK;
	/* the log line escapes what the product wrote; 160 bytes are enough to say why */
	ac_log_warn("%s: HTTP %ld: %.160s", what, r->status, ac_buf_str(&r->body));
	if (r->status == 429 || r->status == 503) {
		/* doc/protocol.md §7, RFC 9110 10.2.3: honour Retry-After when the product sends it
		 * with a 429 or a 503; else the worker backs off */
		if (r->retry_after >= 0)
			ctx->retry_after = r->retry_after;
		return AC_ERR_UPSTREAM;
	}
	/* 401 after a re-sign, 404 and 409 can be passing states (replication, a concurrent write) */
	if (r->status == 401 || r->status == 404 || r->status == 409 || r->status >= 500 || r->status < 200)
		return AC_ERR_UPSTREAM;
	return AC_ERR_BAD_REQUEST;
}

enum ac_err
ac_handler_util_call(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *method,
    const char *path, json_object *body, json_object **json)
{
	struct ac_client_response r;
	const char *b = NULL;
	char what[300];
	enum ac_err err;

	if (body)
		b = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	ac_client_response_init(&r);
	/* one handler for both: a Forge event calls with the installation's system token */
	if (ctx->forge_installation)
		err = ac_forge_call(ctx->conf, ctx->store, ctx->forge_installation, method, path, b,
		    b ? strlen(b) : 0, 0, &r);
	else
		err = ac_client_call(ctx->client, t, method, path, b, b ? strlen(b) : 0, &r, NULL);
	if (err == AC_ERR_TENANT_UNINSTALLED) {
		/* nothing to do for a tenant that left: the event can never succeed */
		err = AC_ERR_BAD_REQUEST;
		goto out;
	}
	if (err != AC_OK)
		goto out;
	snprintf(what, sizeof(what), "%s %s", method, path);
	if (ctx->forge_installation && r.status == 403) {
		/* doc/protocol.md §11.2: right after the install the app's permissions may not be active yet */
		ac_log_warn("%s: HTTP 403 for a Forge installation: retried (permissions may not be active yet)", what);
		err = AC_ERR_UPSTREAM;
		goto out;
	}
	if ((err = ac_handler_util_status(ctx, &r, what)) != AC_OK)
		goto out;
	if (json) {
		*json = NULL;
		if (r.body.len > 0 && ac_json_parse(r.body.data, r.body.len, json, NULL) != AC_OK) {
			ac_log_error("%s: the answer is not JSON", what);
			err = AC_ERR_UPSTREAM;
		}
	}
out:
	ac_client_response_release(&r);
	return err;
}

static enum ac_err
add_str(json_object *o, const char *k, const char *v)
{
	json_object *s = json_object_new_string(v);

	if (s == NULL || json_object_object_add(o, k, s) != 0) {
		json_object_put(s);
		return AC_ERR_NOMEM;
	}
	return AC_OK;
}

/*
 * Safe to repeat: Bitbucket keeps one status per commit and key (doc/protocol.md §7), so a
 * retry, or a run after a worker killed mid-call, replaces it, never adds.
 */
enum ac_err
ac_handler_util_build_status(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *ws,
    const char *repo, const char *hash, const char *key, const char *state, const char *name,
    const char *description)
{
	json_object *o = json_object_new_object();
	struct ac_buf path;
	enum ac_err err;

	if (o == NULL)
		return AC_ERR_NOMEM;
	ac_buf_init(&path, 4096);
	if ((err = add_str(o, "key", key)) != AC_OK || (err = add_str(o, "state", state)) != AC_OK ||
	    (err = add_str(o, "name", name)) != AC_OK || (err = add_str(o, "description", description)) != AC_OK)
		goto out;
	/* Bitbucket wants a url for the status link: this app's, when the program knows it */
	if (*ctx->conf->base_url && (err = add_str(o, "url", ctx->conf->base_url)) != AC_OK)
		goto out;
	if ((err = ac_buf_printf(&path, "/2.0/repositories/%s/%s/commit/%s/statuses/build", ws, repo, hash)) != AC_OK)
		goto out;
	err = ac_handler_util_call(ctx, t, "POST", ac_buf_str(&path), o, NULL);
out:
	ac_buf_release(&path);
	json_object_put(o);
	return err;
}

enum ac_err
ac_handler_util_comment(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *path,
    const char *markdown)
{
	json_object *o = json_object_new_object(), *content = json_object_new_object();
	enum ac_err err;

	if (o == NULL || content == NULL || json_object_object_add(o, "content", content) != 0) {
		json_object_put(o);
		json_object_put(content);
		return AC_ERR_NOMEM;
	}
	if ((err = add_str(content, "raw", markdown)) == AC_OK)
		err = ac_handler_util_call(ctx, t, "POST", path, o, NULL);
	json_object_put(o);
	return err;
}

enum ac_err
ac_handler_util_next(const struct ac_tenant *t, const char *next, struct ac_buf *path, const char *what)
{
	struct ac_url u, b;
	enum ac_err err = AC_ERR_NOT_FOUND;
	size_t r = 0;

	ac_buf_reset(path);
	if (next == NULL)
		return AC_ERR_NOT_FOUND;
	/* follow `next` only within the tenant's API (base/url.h): never to a host the page names */
	if (ac_url_parse(next, &u) == AC_OK) {
		if (ac_url_parse(t->base_api_url, &b) == AC_OK) {
			r = ac_url_reach(&u, &b);
			ac_url_release(&b);
		}
		/* under the base by a whole segment: "/2.0/x" under "/2.0", not "/2.0" itself */
		if (r > 0 && u.path[r - 1] == '/' && !u.has_user) {
			err = ac_buf_adds(path, u.path + r - 1);
			if (err == AC_OK && u.query)
				err = ac_buf_printf(path, "?%s", u.query);
		}
		ac_url_release(&u);
	}
	if (err == AC_ERR_NOT_FOUND)
		ac_log_warn("%s: a next page outside the API base (%s); not followed", what, next);
	return err;
}

enum ac_err
ac_handler_util_marker(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *kind,
    const char *subject, struct ac_buf *buf)
{
	const char *app = *t->key ? t->key : ctx->conf->app_key;
	char digest[AC_SHA256_HEX_LEN];
	struct ac_buf in;
	enum ac_err err;

	/* the app's key: two apps built from this code on one repository do not hide each other's comments */
	ac_buf_init(&in, 16384);
	if ((err = ac_buf_printf(&in, "%s\n%s", app ? app : "", subject)) == AC_OK) {
		(void)ac_sha256_hex(in.data, in.len, digest);
		ac_buf_reset(buf);
		err = ac_buf_printf(buf, "connect-fcgi:%s:%.32s", kind, digest);
	}
	ac_buf_release(&in);
	return err;
}

enum ac_err
ac_handler_util_comment_find(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *path,
    const char *marker, int *found)
{
	struct ac_buf page;
	enum ac_err err;
	int n, seen = 0;

	ac_buf_init(&page, 8192);
	/* newest first: a comment of a run cut short is among the last, on the first page */
	err = ac_buf_printf(&page, "%s?sort=-created_on&pagelen=50", path);
	for (n = 0; err == AC_OK && n < AC_HANDLER_MAX_PAGES; n++) {
		json_object *list = NULL, *values;
		size_t i;

		if ((err = ac_handler_util_call(ctx, t, "GET", ac_buf_str(&page), NULL, &list)) != AC_OK)
			break;
		values = ac_handler_util_get(list, "values", json_type_array);
		for (i = 0; values && i < json_object_array_length(values) && !seen; i++) {
			const char *raw = ac_handler_util_get_string(json_object_array_get_idx(values, i), "content.raw");

			seen = raw && strstr(raw, marker) != NULL;
		}
		if (!seen)
			err = ac_handler_util_next(t, ac_handler_util_get_string(list, "next"), &page, path);
		json_object_put(list);
		if (seen || err == AC_ERR_NOT_FOUND) {
			err = AC_OK;
			goto out;
		}
	}
	if (err == AC_OK)
		ac_log_warn("%s: no marker in the newest %d pages of comments; not read further", path, n);
out:
	if (err == AC_OK)
		*found = seen;
	ac_buf_release(&page);
	return err;
}

enum ac_err
ac_handler_util_comment_once(struct ac_handler_ctx *ctx, const struct ac_tenant *t, const char *path,
    const char *note, const char *kind, const char *subject, const char *markdown, const char *what)
{
	struct ac_buf marker, md;
	enum ac_err err;
	int found = 0;

	if (ac_handler_util_note_has(ctx->store, note)) {
		ac_log_info("%s: already commented; no new comment", what);
		return AC_OK;
	}
	ac_buf_init(&marker, 1024);
	ac_buf_init(&md, 65536);
	if ((err = ac_handler_util_marker(ctx, t, kind, subject, &marker)) != AC_OK)
		goto out;
	/*
	 * Not noted is not proof of not done: a worker killed between its POST
	 * and the note, or a POST whose answer was lost, left a comment the
	 * store does not know. The product is the authority: look first.
	 */
	if ((err = ac_handler_util_comment_find(ctx, t, path, ac_buf_str(&marker), &found)) != AC_OK)
		goto out;
	if (found) {
		ac_log_info("%s: the comment is already on the product (an earlier run was cut short); not posted again",
		    what);
	} else {
		/* CommonMark 4.7: a link reference definition is not rendered; the raw text keeps it */
		if ((err = ac_buf_adds(&md, markdown)) != AC_OK ||
		    (err = ac_buf_printf(&md, "\n[//]: # \"%s\"\n", ac_buf_str(&marker))) != AC_OK ||
		    (err = ac_handler_util_comment(ctx, t, path, ac_buf_str(&md))) != AC_OK)
			goto out;
	}
	/* a lost note costs one GET on the next run, not a second comment */
	if (ac_handler_util_note_put(ctx->store, note) != AC_OK)
		ac_log_warn("%s: could not note the comment", what);
out:
	ac_buf_release(&md);
	ac_buf_release(&marker);
	return err;
}

/* ------------------------------------------------------------------ notes */

int
ac_handler_util_note_has(struct ac_store *st, const char *key)
{
	int found = 0;

	/* the store's notes (store.h): an error reads as "not noted" */
	return ac_note_get(st, key, &found) == AC_OK && found;
}

enum ac_err
ac_handler_util_note_put(struct ac_store *st, const char *key)
{
	return ac_note_put(st, key);
}
