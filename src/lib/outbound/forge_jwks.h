/* forge_jwks.h: the Forge JWKS (doc/protocol.md §11), kept in the store, refetched on an unknown kid at most once a minute per host. */
#ifndef AC_FORGE_JWKS_H
#define AC_FORGE_JWKS_H

#include "auth/jwks.h"
#include "base/err.h"
#include "web/request.h"

/* Most bytes of a JWKS answer accepted (Atlassian's holds a few keys of ~1.5 KiB). */
#define AC_FORGE_JWKS_FETCH_MAX (64 * 1024)
/* The host's JWKS fetches: at most one per this many seconds (every process together). */
#define AC_FORGE_JWKS_WINDOW 60
#define AC_FORGE_JWKS_CONNECT_MS 2000
#define AC_FORGE_JWKS_TIMEOUT_MS 5000

/*
 * The key set to verify a token whose header names kid (borrowed, valid until
 * the next call in this process). The set kept in the store is parsed once
 * per process and document. When it lacks kid, the JWKS is fetched again
 * from AC_FORGE_JWKS_URL (http.c: allow-list, AC_FORGE_JWKS_TIMEOUT_MS, at
 * most AC_FORGE_JWKS_FETCH_MAX bytes), unless a process of the host fetched
 * it within AC_FORGE_JWKS_WINDOW seconds (then the kept set is the answer).
 * Call it only for a token whose claims could pass (ac_fit_check_claims): the
 * fetch is work done for an unauthenticated request.
 * AC_OK with *set (NULL when no set was ever fetched) that may still lack
 * kid: the caller's verification says fit_kid_unknown. 
 * AC_ERR_FIT_JWKS_UNAVAILABLE when kid is unknown and the JWKS could not be
 * fetched (now, or by the host's last attempt in the window, or one is under
 * way): 503, Forge retries. Store errors as they are. Messages on req.
 */
enum ac_err ac_forge_jwks_for(struct ac_request *req, const char *kid, const struct ac_jwks **set);

/* Frees the process's parsed set (tests, valgrind). */
void ac_forge_jwks_cleanup(void);

#endif
