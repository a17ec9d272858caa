/* url.c: absolute URLs split by libcurl's URL API, and the one rule for a loopback host. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/url.h"

void
ac_url_release(struct ac_url *u)
{
	curl_free(u->url);
	curl_free(u->scheme);
	curl_free(u->host);
	curl_free(u->port);
	curl_free(u->path);
	curl_free(u->query);
	curl_free(u->fragment);
	memset(u, 0, sizeof(*u));
}

/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "//" and an authority (RFC 3986 §3.2). */
static int
starts_absolute(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
	    (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.'; i++)
		;
	/* and an authority: libcurl reads "https:///x" as host x */
	return s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/' && s[i + 3] != '/';
}

/* A part libcurl may lack: CURLUE_NO_* leaves *out NULL, anything else is an error. */
static int
get_optional(CURLU *h, CURLUPart part, char **out)
{
	CURLUcode rc = curl_url_get(h, part, out, 0);

	if (rc == CURLUE_OK)
		return 0;
	*out = NULL;
	return rc == CURLUE_NO_QUERY || rc == CURLUE_NO_FRAGMENT ? 0 : -1;
}

enum ac_err
ac_url_parse(const char *text, struct ac_url *u)
{
	CURLU *h;
	char *user = NULL;
	const char *p;
	CURLUcode rc;
	enum ac_err err = AC_ERR_INVALID;

	memset(u, 0, sizeof(*u));
	if (text == NULL || !starts_absolute(text))
		return AC_ERR_INVALID;
	for (p = text; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return AC_ERR_INVALID;
	if ((h = curl_url()) == NULL)
		return AC_ERR_NOMEM;
	/* CURLU_NON_SUPPORT_SCHEME: the caller judges the scheme, with its own words */
	rc = curl_url_set(h, CURLUPART_URL, text, CURLU_NON_SUPPORT_SCHEME);
	if (rc == CURLUE_OUT_OF_MEMORY)
		err = AC_ERR_NOMEM;
	if (rc != CURLUE_OK)
		goto out;
	if (curl_url_get(h, CURLUPART_URL, &u->url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &u->scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &u->host, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PORT, &u->port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PATH, &u->path, 0) != CURLUE_OK ||
	    get_optional(h, CURLUPART_QUERY, &u->query) != 0 ||
	    get_optional(h, CURLUPART_FRAGMENT, &u->fragment) != 0 ||
	    *u->host == '\0')
		goto out;
	if (curl_url_get(h, CURLUPART_PORT, &user, 0) == CURLUE_OK)
		u->has_port = 1;
	curl_free(user);
	user = NULL;
	if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK)
		u->has_user = 1;
	else if (curl_url_get(h, CURLUPART_PASSWORD, &user, 0) == CURLUE_OK)
		u->has_user = 1;
	err = AC_OK;
out:
	curl_free(user);
	curl_url_cleanup(h);
	if (err != AC_OK)
		ac_url_release(u);
	return err;
}

int
ac_url_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char v6[INET6_ADDRSTRLEN + 2];
	size_t n;

	if (host == NULL)
		return 0;
	if (!strcasecmp(host, "localhost"))
		return 1;
	/* inet_pton takes exactly a dotted quad of decimals: no name that only starts like one */
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	n = strlen(host);
	if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= sizeof(v6))
		return 0;
	memcpy(v6, host + 1, n - 2);
	v6[n - 2] = '\0';
	return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int
ac_url_is_secure(const struct ac_url *u)
{
	if (u->scheme == NULL || u->host == NULL)
		return 0;
	return !strcmp(u->scheme, "https") || (!strcmp(u->scheme, "http") && ac_url_host_is_loopback(u->host));
}

size_t
ac_url_reach(const struct ac_url *u, const struct ac_url *base)
{
	size_t m;

	if (u->scheme == NULL || base->scheme == NULL)
		return 0;
	m = strlen(base->path);
	while (m > 0 && base->path[m - 1] == '/')
		m--;
	/* hosts compare without case (RFC 3986 §3.2.2); the path is a whole-segment prefix */
	if (strcmp(u->scheme, base->scheme) || strcasecmp(u->host, base->host) || strcmp(u->port, base->port) ||
	    strncmp(u->path, base->path, m) || (u->path[m] != '\0' && u->path[m] != '/'))
		return 0;
	return m + 1;
}

size_t
ac_url_reach_str(const char *url, const char *base)
{
	struct ac_url u, b;
	size_t n = 0;

	if (ac_url_parse(url, &u) != AC_OK)
		return 0;
	if (ac_url_parse(base, &b) == AC_OK) {
		n = ac_url_reach(&u, &b);
		ac_url_release(&b);
	}
	ac_url_release(&u);
	return n;
}
