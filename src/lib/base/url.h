/* url.h: absolute URLs split by libcurl's URL API, and the one rule for a loopback host. */
#ifndef AC_URL_H
#define AC_URL_H

#include <stddef.h>

#include "base/err.h"

/*
 * An absolute URL's parts as libcurl normalises them, each allocated by
 * libcurl and released by ac_url_release(). What libcurl would connect to is
 * what every check here looks at: the host is percent-decoded, an IPv4
 * address in any form libcurl takes ("127.1", "0x7f000001") is dotted quad,
 * an IPv6 address is in brackets in its shortest form ("[::1]").
 */
struct ac_url {
	char *url;     /* the whole URL again, normalised ("https://h/p?q#f") */
	char *scheme;  /* lower case */
	char *host;    /* never empty; its case as written */
	char *port;    /* always: the scheme's default when none is written */
	char *path;    /* "/" at least, dot segments removed */
	char *query;   /* NULL when there is none */
	char *fragment;/* NULL when there is none */
	int has_user;  /* user information ("user:pw@host") was written */
	int has_port;  /* a port was written (port holds it either way) */
};

/*
 * Splits text, an absolute URL ("scheme://host..."): libcurl's parser, plus
 * the "//" it would otherwise guess ("http:/x"), an authority it would
 * otherwise take from the path ("https:///x"), and no byte at or below 0x20
 * nor 0x7f anywhere. Any scheme is accepted (check it). On success u owns
 * the parts; on failure u is left empty (ac_url_release() is still safe).
 * AC_ERR_INVALID for what is not such a URL, AC_ERR_NOMEM.
 */
enum ac_err ac_url_parse(const char *text, struct ac_url *u);

/* Frees the parts of u and empties it; an emptied or zeroed u is fine. */
void ac_url_release(struct ac_url *u);

/*
 * The one rule for "loopback": host (as struct ac_url holds it) is
 * "localhost" in any case, an IPv4 address in 127.0.0.0/8 written as a
 * dotted quad, or the IPv6 address ::1 in brackets. Decided by parsing the
 * address, never by a prefix ("127.evil.com", "127.0.0.1.nip.io" are not
 * loopback), and a trailing dot ("localhost.", "127.0.0.1.") is a name for
 * DNS, not loopback. Nor is an IPv4-mapped address ("[::ffff:127.0.0.1]").
 */
int ac_url_host_is_loopback(const char *host);

/*
 * The transport rule for every URL we call or advertise: https, or plain http
 * to a loopback host (tests, local development). 1 or 0.
 */
int ac_url_is_secure(const struct ac_url *u);

/*
 * How far u reaches into base: 0 when u is not on base (another scheme, host
 * in any case, or port, the default ports filled in; or a path that is not
 * base's path or under it by whole segments), else 1 + the length of base's
 * path without its trailing '/'s (so u->path + that - 1 is the rest of u's path).
 */
size_t ac_url_reach(const struct ac_url *u, const struct ac_url *base);

/* ac_url_reach() of two texts; 0 when either does not parse. */
size_t ac_url_reach_str(const char *url, const char *base);

#endif
