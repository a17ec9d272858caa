/* log.c: one line per event on stderr, escaped so no input can forge a line. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static const char *prog = "connect-fcgi";

void
ac_log_init(const char *program)
{
	if (program)
		prog = program;
}

char *
ac_log_escape(const char *s, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (outsz == 0)
		return out;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char raw[2048], esc[4096];
	int n;

	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(raw))
		n = sizeof(raw) - 1;
	ac_log_escape(raw, (size_t)n, esc, sizeof(esc));
	fprintf(stderr, "%s: %s: %s\n", prog, level, esc);
	fflush(stderr);
}

void
ac_log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}

void
ac_log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", fmt, ap);
	va_end(ap);
}

void
ac_log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}
