/* log.c: one line per event on stderr, escaped so no input can forge a line. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "base/log.h"

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
ac_log_error_rare(const char *fmt, ...)
{
	static struct {
		uint64_t hash;
		time_t at;
	} said[8];
	static unsigned next;
	char raw[2048];
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	time_t now = time(NULL);
	va_list ap;
	size_t i;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	for (i = 0; raw[i]; i++)
		h = (h ^ (unsigned char)raw[i]) * 1099511628211ULL;
	for (i = 0; i < sizeof(said) / sizeof(said[0]); i++)
		if (said[i].hash == h && now - said[i].at < 60 && now >= said[i].at)
			return;
	said[next].hash = h;
	said[next].at = now;
	next = (next + 1) % (sizeof(said) / sizeof(said[0]));
	ac_log_error("%s", raw);
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
