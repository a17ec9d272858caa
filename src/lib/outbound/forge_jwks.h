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
 * The set the store keeps for every process, parsed once per process and
 * document: *set (borrowed, valid until the next call in this process) is
 * NULL when none was ever fetched. Store errors as they are.
 */
enum ac_err ac_forge_jwks_kept(struct ac_request *req, const struct ac_jwks **set);

/*
 * For a token whose kid is not in the kept set and whose claims could pass
 * (ac_fit_verify_header said refetch: the fetch is work done for an
 * unauthenticated request): the JWKS fetched again from AC_FORGE_JWKS_URL
 * (http.c: allow-list, AC_FORGE_JWKS_TIMEOUT_MS, at most
 * AC_FORGE_JWKS_FETCH_MAX bytes) and kept, unless a process of the host
 * fetched it within AC_FORGE_JWKS_WINDOW seconds: then the set that fetch
 * kept is the answer (*set may still lack the kid: fit_kid_unknown).
 * AC_ERR_FIT_JWKS_UNAVAILABLE (503, Forge retries) when the fetch failed,
 * or the window's fetch failed or is under way. why names the kid for the
 * log. Store errors as they are. Messages on req.
 */
enum ac_err ac_forge_jwks_refetch(struct ac_request *req, const char *why, const struct ac_jwks **set);

/*
 * One GET of the JWKS at url for a tool (acctl forge verify --jwks URL, or
 * AC_FORGE_JWKS_URL when the store keeps none), by the server's rules: https,
 * or plain http to a loopback host in AC_ALLOWED_HOSTS (ac_http_url_allowed),
 * AC_FORGE_JWKS_CONNECT_MS and AC_FORGE_JWKS_TIMEOUT_MS, at most
 * AC_FORGE_JWKS_FETCH_MAX bytes, and the answer must parse as a JWKS.
 * Nothing is kept. The document into doc (initialised here; the caller
 * releases it); an error with *why, a plain sentence for a person (free()).
 */
enum ac_err ac_forge_jwks_download(const struct ac_conf *conf, const char *url, struct ac_buf *doc, char **why);

/* Frees the process's parsed set (tests, valgrind). */
void ac_forge_jwks_cleanup(void);

#endif
