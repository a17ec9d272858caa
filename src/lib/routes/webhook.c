/* webhook.c: verify, persist durably, answer at once; the worker acts later. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "base/json.h"
#include "base/log.h"
#include "routes/webhook.h"

/* Event keys are short tokens such as "repo:push"; anything else is not one. */
static int
event_key_valid(const char *k)
{
	size_t n = strlen(k), i;

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= '0' && k[i] <= '9') ||
		    strchr(":_-.", k[i])))
			return 0;
	return 1;
}

static int
delivery_id_valid(const char *id)
{
	size_t n = strlen(id), i;

	if (n > 200)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * The event key a top-level member m names, into ev (cap bytes): decoded like
 * every other reader of the body would (escapes through a full parse, kept in
 * *body). When *have says ev holds one (the other member's), both must agree. A
 * member that is present but cannot be an event key (not a string, a NUL
 * inside, too long) is refused rather than ignored: what the intake checks
 * against X-Event-Key must be what the body says.
 */
static enum ac_err
body_event_of(struct ac_request *req, const struct ac_json_member *m, json_object **body, char *ev, size_t cap,
    int *have)
{
	json_object *v;
	const char *s;
	size_t len;

	if (!m->found)
		return AC_OK;
	if (!m->is_string)
		return ac_request_fail(req, AC_ERR_EVENT_MISSING, "the body's \"%s\" is not a string", m->name);
	s = m->value;
	len = m->len;
	if (m->escaped || len >= cap) {
		/* rare enough to pay for a full parse to decode it */
		if (*body == NULL && ac_json_parse(req->body.data, req->body.len, body, NULL) != AC_OK)
			return AC_ERR_BAD_JSON;
		if (!json_object_object_get_ex(*body, m->name, &v) || !json_object_is_type(v, json_type_string))
			return AC_ERR_INTERNAL;
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (len >= cap || strlen(s) != len)
			return ac_request_fail(req, AC_ERR_EVENT_MISSING, "the body's event key is not a valid one");
	}
	if (*have && (strlen(ev) != len || memcmp(ev, s, len)))
		return ac_request_fail(req, AC_ERR_EVENT_MISMATCH, "the body's webhookEvent and event differ");
	memcpy(ev, s, len);
	ev[len] = '\0';
	*have = 1;
	return AC_OK;
}

enum ac_err
ac_webhook_handle(struct ac_request *req)
{
	const struct ac_tenant *t = ac_auth_tenant(req);
	const char *hdr_event = ac_request_param(req, "HTTP_X_EVENT_KEY");
	const char *id = ac_request_param(req, "HTTP_X_REQUEST_UUID");
	struct ac_json_member m[2] = { { "webhookEvent", NULL, 0, 0, 0, 0 }, { "event", NULL, 0, 0, 0, 0 } };
	const char *event, *why = NULL;
	char body_event[129];
	json_object *body = NULL;
	enum ac_err err;
	uint64_t seq = 0;
	int dup = 0, have = 0;
	size_t i;

	if (t == NULL)
		return AC_ERR_INTERNAL;
	if (!ac_request_is_json(req))
		return ac_request_fail(req, AC_ERR_MEDIA_TYPE, "Content-Type must be application/json");
	/* checked strictly but not built: a 256 KiB payload is stored as it came */
	err = ac_json_scan_object(req->body.data ? req->body.data : "", req->body.len, m, 2, &why);
	if (err == AC_ERR_BAD_JSON)
		return ac_request_fail(req, err, "the body is not valid JSON: %s", why ? why : "?");
	if (err != AC_OK)
		return err;
	/* Bitbucket wraps the payload as {"event": key, "data": ...}; Jira names it webhookEvent */
	body_event[0] = '\0';
	for (i = 0; i < 2; i++)
		if ((err = body_event_of(req, &m[i], &body, body_event, sizeof(body_event), &have)) != AC_OK)
			goto out;
	if (hdr_event && *hdr_event) {
		event = hdr_event;
		if (*body_event && strcmp(body_event, hdr_event)) {
			err = ac_request_fail(req, AC_ERR_EVENT_MISMATCH, "X-Event-Key says '%.128s', the body '%.128s'",
			    hdr_event, body_event);
			goto out;
		}
	} else {
		event = *body_event ? body_event : NULL;
	}
	if (event == NULL || !event_key_valid(event)) {
		err = event ? ac_request_fail(req, AC_ERR_EVENT_MISSING, "the event key is not a valid one")
		    : AC_ERR_EVENT_MISSING;
		goto out;
	}
	if (id == NULL || *id == '\0')
		id = ac_request_param(req, "HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER");
	if (id == NULL)
		id = "";
	if (!delivery_id_valid(id)) {
		err = ac_request_fail(req, AC_ERR_BAD_REQUEST, "the delivery id is not printable ASCII of at most 200 bytes");
		goto out;
	}
	err = ac_inbox_intake(req->app->store, t->client_key, event, id, req->body.data ? req->body.data : "",
	    req->body.len, &seq, &dup);
	if (err == AC_ERR_STORE_FULL || err == AC_ERR_STORE || err == AC_ERR_IO) {
		/* 5xx: Bitbucket retries only on 5xx; nothing was acknowledged */
		err = err == AC_ERR_STORE_FULL ? AC_ERR_STORE_FULL : AC_ERR_STORE;
		goto out;
	}
	if (err != AC_OK)
		goto out;
	if (dup)
		ac_log_info("delivery %s of %s seen before (event %llu): not queued again", id, t->client_key,
		    (unsigned long long)seq);
	req->status = 204;
out:
	json_object_put(body);
	return err;
}
