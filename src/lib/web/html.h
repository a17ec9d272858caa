/* html.h: HTML output escaped at the sink, by context (cgit's html_txt and html_attr). */
#ifndef AC_HTML_H
#define AC_HTML_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * Appends s as HTML text (element content): & < > " ' become character
 * references, so the result is also safe inside a quoted attribute. Control
 * characters other than tab, LF and CR, and NUL, become U+FFFD. s is read up
 * to its NUL (_n: exactly n bytes, which may contain NUL).
 */
enum ac_err ac_html_txt(struct ac_buf *b, const char *s);
enum ac_err ac_html_txt_n(struct ac_buf *b, const char *s, size_t n);

/*
 * Appends s for a double-quoted attribute value: as ac_html_txt, and tab,
 * LF and CR as character references too. Never use it for an unquoted
 * attribute, and check URLs (scheme) before putting them in href or src.
 */
enum ac_err ac_html_attr(struct ac_buf *b, const char *s);

/* Whether url is an absolute https URL that may go in an href or src (after ac_html_attr). */
int ac_html_https_url(const char *url);

#endif
