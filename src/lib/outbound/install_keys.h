/* install_keys.h: Jira signed-install public keys (doc/protocol.md §5), fetched by kid and cached. */
#ifndef AC_INSTALL_KEYS_H
#define AC_INSTALL_KEYS_H

#include "base/buf.h"
#include "base/err.h"
#include "web/request.h"

/* Install keys are small PEM files: the cap of the buffer given to ac_install_keys_get(). */
#define AC_INSTALL_KEY_MAX (16 * 1024)

/* After a 4xx (404: unknown_key) seconds before the key server is asked again for the kid. */
#define AC_INSTALL_KEYS_UNKNOWN_TTL 60
/* After a 429, a 5xx, a timeout or an answer that is not a key: seconds before asking again. */
#define AC_INSTALL_KEYS_FAILED_TTL 10
/* At most FETCH_MAX fetches per FETCH_WINDOW seconds for the whole host (every process). */
#define AC_INSTALL_KEYS_FETCH_WINDOW 60
#define AC_INSTALL_KEYS_FETCH_MAX 10

/*
 * The PEM public key of kid (a UUID: the caller checked it) into pem, whose
 * cap bounds it: from the install_keys database, else fetched from
 * AC_INSTALL_KEYS_URL/{kid} and kept for good. Call it only for a token whose
 * claims could pass (ac_token_check_claims): a fetch is work done for an
 * unauthenticated request. A failure is remembered in the store for every
 * process and answered again without a fetch: AC_ERR_UNKNOWN_KEY (404, 410),
 * AC_ERR_KEY_SERVER (anything else, a fetch under way elsewhere, or the
 * host's fetches spent for this window), with a message recorded on req.
 * Store errors as they are.
 */
enum ac_err ac_install_keys_get(struct ac_request *req, const char *kid, struct ac_buf *pem);

#endif
