/* install_keys.c: Jira signed-install public keys: cached for good, failures remembered, fetches capped. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/pem.h>

#include "base/clock.h"
#include "outbound/http.h"
#include "outbound/install_keys.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"
#include "store/store.h"

/*
 * Anyone can send a token naming any kid, and its claims prove nothing
 * before the key is known: a fetch must not be free (issue 13, 7). The
 * caller checks the claims that need no key first; here a kid the key server
 * did not know is remembered for a minute and one it failed on for a few
 * seconds (a record in install_keys without "pem", shared by every process
 * of the host), and the fetches of the whole host are capped per minute:
 * garbage tokens with fresh random kids cost a few fetches a minute, never a
 * worker each for the key server's timeout.
 */

#define KEY_CONNECT_MS 2000
#define KEY_TIMEOUT_MS 5000

struct key_ctx {
	const char *kid;
	struct ac_install_key st; /* what the store holds (store.h) */
	long status;              /* what the fetch got */
};

/* The key server does not know the kid. */
static int
status_unknown(long status)
{
	return status == 404 || status == 410;
}

/*
 * A "no" from the key server (a 4xx: the kid, or our URL, is wrong) is
 * remembered for a minute; what may pass soon (429, 5xx, no answer, not a
 * key) for a few seconds.
 */
static int
failure_ttl(long status)
{
	return status >= 400 && status < 500 && status != 429 ? AC_INSTALL_KEYS_UNKNOWN_TTL : AC_INSTALL_KEYS_FAILED_TTL;
}

/* After a failed fetch: remember it, for the other processes too (expired failures are purged then). */
static void
key_miss(struct ac_request *req, const struct key_ctx *k)
{
	(void)ac_install_key_missing(req->app->store, k->kid, k->status, ac_clock_now() + failure_ttl(k->status));
}

static int
pem_is_public_key(const struct ac_buf *pem)
{
	BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
	EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	int ok = k != NULL;

	EVP_PKEY_free(k);
	BIO_free(bio);
	return ok;
}

/* A remembered failure answers as the fetch did: unknown_key for a 404, anything else "retry". */
static enum ac_err
key_refused(struct ac_request *req, const struct key_ctx *k)
{
	long left = (long)(k->st.missing_until - ac_clock_now());

	if (k->st.throttled) {
		ac_log_warn("install key for kid %s not fetched: the host's %d fetches per %d s are spent",
		    k->kid, AC_INSTALL_KEYS_FETCH_MAX, AC_INSTALL_KEYS_FETCH_WINDOW);
		return ac_request_fail(req, AC_ERR_KEY_SERVER,
		    "too many install key fetches; retry in %ld s", left > 0 ? left : 1);
	}
	if (status_unknown(k->st.missing))
		return ac_request_fail(req, AC_ERR_UNKNOWN_KEY,
		    "the install key server does not know kid %s (remembered for %ld s more)", k->kid, left);
	return ac_request_fail(req, AC_ERR_KEY_SERVER,
	    "the install key server %s for this kid; retry in %ld s",
	    k->st.missing < 0 ? "is being asked" : "failed", left > 0 ? left : 1);
}

enum ac_err
ac_install_keys_get(struct ac_request *req, const char *kid, struct ac_buf *pem)
{
	struct key_ctx k = { kid, { 0, 0, 0, 0 }, 0 };
	struct ac_http_request rq = { 0 };
	struct ac_buf url;
	enum ac_err err;

	if ((err = ac_install_key_get(req->app->store, kid, pem, &k.st)) != AC_OK)
		return err;
	if (k.st.found)
		return AC_OK;
	if (k.st.missing)
		return key_refused(req, &k);
	/* what another process learnt meanwhile, one fetch of the host's budget, the marker */
	if ((err = ac_install_key_reserve(req->app->store, kid, AC_INSTALL_KEYS_FETCH_MAX, AC_INSTALL_KEYS_FETCH_WINDOW,
	    ac_clock_now() + (KEY_CONNECT_MS + KEY_TIMEOUT_MS) / 1000 + 1, pem, &k.st)) != AC_OK)
		return err;
	if (k.st.found)
		return AC_OK;
	if (k.st.missing || k.st.throttled)
		return key_refused(req, &k);
	ac_buf_init(&url, 4096);
	if ((err = ac_buf_printf(&url, "%s/%s", req->app->conf->install_keys_url, kid)) != AC_OK)
		goto out;
	rq.method = "GET";
	rq.url = url.data;
	rq.connect_timeout_ms = KEY_CONNECT_MS;
	rq.timeout_ms = KEY_TIMEOUT_MS;
	ac_buf_reset(pem);
	err = ac_http_do(req->app->conf, &rq, &k.status, pem, NULL);
	ac_metrics_inc(AC_M_INSTALL_KEY_FETCHES, err != AC_OK ? "outcome=\"unreachable\"" :
	    k.status == 200 && pem_is_public_key(pem) ? "outcome=\"ok\"" :
	    status_unknown(k.status) ? "outcome=\"unknown_kid\"" : "outcome=\"failed\"");
	if (err == AC_ERR_TOO_LARGE || err == AC_ERR_UPSTREAM || err == AC_ERR_HOST_NOT_ALLOWED) {
		k.status = 0;
		key_miss(req, &k);
		err = ac_request_fail(req, AC_ERR_KEY_SERVER, "the install key server could not be reached; retry");
		goto out;
	}
	if (err != AC_OK)
		goto out;
	if (status_unknown(k.status)) {
		key_miss(req, &k);
		err = ac_request_fail(req, AC_ERR_UNKNOWN_KEY, "the install key server does not know kid %s", kid);
		goto out;
	}
	if (k.status != 200 || !pem_is_public_key(pem)) {
		ac_log_error("install key server answered %ld for kid %s%s", k.status, kid,
		    k.status == 200 ? " with something that is not a PEM public key" : "");
		if (k.status == 200)
			k.status = 0;
		key_miss(req, &k);
		err = ac_request_fail(req, AC_ERR_KEY_SERVER, "the install key server failed; retry");
		goto out;
	}
	/* keys never change for a kid: keep it for good (this replaces the fetch marker) */
	err = ac_install_key_put(req->app->store, kid, ac_buf_str(pem));
out:
	ac_buf_release(&url);
	return err;
}
