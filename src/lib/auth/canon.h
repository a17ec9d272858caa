/* canon.h: the canonical request and query string hash (qsh) of doc/protocol.md §3. */
#ifndef AC_CANON_H
#define AC_CANON_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Longest canonical request we build; hostile input beyond it is AC_ERR_TOO_LARGE. */
#define AC_CANON_MAX (64 * 1024)

/* 64 lowercase hex digits and a NUL. */
#define AC_QSH_HEX_LEN 65

/*
 * Inbound: the canonical request of a request we received. method and uri
 * are what the server passed (REQUEST_METHOD and the raw REQUEST_URI,
 * "path?query", never decoded); context_path is the path of our own
 * AC_BASE_URL ("" or NULL for none), removed as a plain string prefix.
 * Appends "METHOD&PATH&QUERY" to out (which the caller owns and has
 * initialised; its cap bounds the work). Pointer + length, no NUL needed.
 * Returns AC_ERR_INVALID for an empty or NULL method, AC_ERR_TOO_LARGE when
 * the result would pass out's cap; on any error out is left as it was.
 * A '#' ends the uri as in a URL (servers never pass one). Query bytes that
 * decode to invalid UTF-8 are hashed as U+FFFD, as Java and Node do.
 */
enum ac_err ac_canon_inbound(const char *method, size_t method_len,
    const char *uri, size_t uri_len, const char *context_path, size_t context_len,
    struct ac_buf *out);

/*
 * Outbound: the canonical request of a call we make. url is absolute
 * ("https://host/ctx/path?q") or relative ("/path?q", "path?q"); base_url is
 * the product's baseUrl (may be "" or NULL) whose path is the context path,
 * removed from an absolute url's path and from a relative one when it starts
 * with it. Appends "METHOD&PATH&QUERY" to out. Scheme, authority and
 * fragment are dropped; errors as for ac_canon_inbound().
 */
enum ac_err ac_canon_outbound(const char *method, const char *url, const char *base_url,
    struct ac_buf *out);

/*
 * The one percent-decoder of query parameters, the canonical query's
 * (doc/protocol.md §3): form decoding, '+' is a space, %XX a byte, a '%'
 * not followed by two hex digits stays literal. Appends the decoded bytes
 * of s[0..n) to out; AC_ERR_TOO_LARGE past out's cap (out then holds part).
 */
enum ac_err ac_canon_decode(const char *s, size_t n, struct ac_buf *out);

/*
 * The one query parameter lookup: the parameters of the raw query q (n
 * bytes, without the '?', '&'-separated) whose form-decoded name is name
 * exactly, as the canonical query finds "jwt" ("%6Awt" is jwt; "JWT" is
 * not). Returns how many there are; *val and *val_len (either may be NULL)
 * get the first one's raw value, still encoded, borrowed from q ("" with
 * length 0 for "name" without '='), or NULL and 0 when there is none.
 */
size_t ac_canon_query_find(const char *q, size_t n, const char *name, const char **val, size_t *val_len);

/* qsh of a canonical request: lowercase hex SHA-256 written to hex (65 bytes). */
void ac_canon_qsh(const char *canonical, size_t len, char hex[AC_QSH_HEX_LEN]);

#endif
