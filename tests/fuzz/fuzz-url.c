/* fuzz-url.c: libFuzzer target for the one URL splitter and the one loopback rule (base/url.h):
 * never crashes or leaks, every part it hands out is what its contract says, the loopback rule
 * only ever says yes to the three forms it names, and the transport rule follows from both. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The only hosts loopback may be: localhost, digits and dots from "127.", a bracketed IPv6. */
static int
loopback_shape(const char *h)
{
	size_t n = strlen(h);

	if (!strcasecmp(h, "localhost"))
		return 1;
	if (!strncmp(h, "127.", 4) && strspn(h, "0123456789.") == n && h[n - 1] != '.')
		return 1;
	return n > 2 && h[0] == '[' && h[n - 1] == ']';
}

static void
check_host(const char *h)
{
	if (ac_url_host_is_loopback(h) && !loopback_shape(h))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ac_url u;
	char *text = malloc(size + 1);
	const char *p;
	size_t m;

	if (text == NULL)
		return 0;
	/* an exact-size string: ASan catches a read past its NUL */
	memcpy(text, data, size);
	text[size] = '\0';
	check_host(text);
	if (ac_url_parse(text, &u) == AC_OK) {
		/* the parts the contract promises */
		if (!u.url || !u.scheme || !u.host || !u.port || !u.path || !*u.scheme || !*u.host ||
		    u.path[0] != '/' || strspn(u.port, "0123456789") != strlen(u.port) || !*u.port)
			abort();
		for (p = u.scheme; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
		/* what was accepted held no control byte nor space */
		for (p = text; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				abort();
		check_host(u.host);
		if (ac_url_is_secure(&u) != (!strcmp(u.scheme, "https") ||
		    (!strcmp(u.scheme, "http") && ac_url_host_is_loopback(u.host))))
			abort();
		/* every URL is on itself, as far as its whole path */
		m = strlen(u.path);
		while (m > 0 && u.path[m - 1] == '/')
			m--;
		if (ac_url_reach(&u, &u) != m + 1)
			abort();
		ac_url_release(&u);
	} else if (u.url || u.scheme || u.host || u.path) {
		abort();  /* a refusal leaves nothing to free */
	}
	free(text);
	return 0;
}
