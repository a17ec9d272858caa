/* html.c: escaping at the sink: text and attribute contexts. */
#include "config.h"

#include <string.h>

#include "base/url.h"
#include "web/html.h"

static enum ac_err
escape(struct ac_buf *b, const char *s, size_t n, int attr)
{
	enum ac_err err = AC_OK;
	size_t i, run = 0;

	for (i = 0; err == AC_OK && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *ref = NULL;

		switch (c) {
		case '&': ref = "&amp;"; break;
		case '<': ref = "&lt;"; break;
		case '>': ref = "&gt;"; break;
		case '"': ref = "&quot;"; break;
		case '\'': ref = "&#39;"; break;
		case '\t': ref = attr ? "&#9;" : NULL; break;
		case '\n': ref = attr ? "&#10;" : NULL; break;
		case '\r': ref = attr ? "&#13;" : NULL; break;
		default:
			/* HTML 13.2.5: controls are parse errors; NUL is dropped or replaced by browsers */
			if (c < 0x20 || c == 0x7f)
				ref = "\xef\xbf\xbd";
			break;
		}
		if (ref == NULL) {
			run++;
			continue;
		}
		if (run)
			err = ac_buf_add(b, s + i - run, run);
		run = 0;
		if (err == AC_OK)
			err = ac_buf_adds(b, ref);
	}
	if (err == AC_OK && run)
		err = ac_buf_add(b, s + n - run, run);
	return err;
}

enum ac_err
ac_html_txt_n(struct ac_buf *b, const char *s, size_t n)
{
	return escape(b, s ? s : "", s ? n : 0, 0);
}

enum ac_err
ac_html_txt(struct ac_buf *b, const char *s)
{
	return escape(b, s ? s : "", s ? strlen(s) : 0, 0);
}

enum ac_err
ac_html_attr(struct ac_buf *b, const char *s)
{
	return escape(b, s ? s : "", s ? strlen(s) : 0, 1);
}

int
ac_html_https_url(const char *url)
{
	struct ac_url u;
	const char *p;
	int ok;

	/* the browser reads the raw text: its own scheme, exactly, and plain ASCII ('\\' is '/' to it) */
	if (url == NULL || strncmp(url, "https://", 8) != 0 || url[8] == '\0' || url[8] == '/')
		return 0;
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\')
			return 0;
	/* and the one URL parser (base/url.h) must take it too, without user information */
	if (ac_url_parse(url, &u) != AC_OK)
		return 0;
	ok = !u.has_user;
	ac_url_release(&u);
	return ok;
}
