/* log.c: one line per event on stderr, escaped so no input can forge a line (the line: logline.c). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

static const char *prog = "connect-fcgi";
static int format = -1; /* enum ac_log_format; -1: not known yet */

void
ac_log_init(const char *program)
{
	if (program)
		prog = program;
	(void)ac_log_get_format();
}

int
ac_log_format_parse(const char *s, enum ac_log_format *f)
{
	if (s && !strcmp(s, "text"))
		*f = AC_LOG_TEXT;
	else if (s && !strcmp(s, "json"))
		*f = AC_LOG_JSON;
	else
		return -1;
	return 0;
}

void
ac_log_set_format(enum ac_log_format f)
{
	format = (int)f;
}

enum ac_log_format
ac_log_get_format(void)
{
	enum ac_log_format f = AC_LOG_TEXT;

	if (format < 0) {
		/* a bad value is the configuration's to report (conf.c); until then, text */
		(void)ac_log_format_parse(getenv("AC_LOG_FORMAT"), &f);
		format = (int)f;
	}
	return (enum ac_log_format)format;
}

void
ac_log_event(const struct ac_log_event *ev)
{
	struct ac_log_event e = *ev;
	struct timespec ts = { 0, 0 };
	char line[AC_LOG_LINE_MAX + 1];
	size_t len, off = 0;

	if (e.program == NULL)
		e.program = prog;
	clock_gettime(CLOCK_REALTIME, &ts);
	len = ac_log_format_line(ac_log_get_format(), (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &e, line);
	/* one write(2) of at most PIPE_BUF bytes: never split, never interleaved (log.h) */
	while (off < len) {
		ssize_t n = write(STDERR_FILENO, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
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
	struct ac_log_event ev = { 0 };
	char raw[AC_LOG_LINE_MAX];
	int n;

	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(raw))
		n = sizeof(raw) - 1;
	ev.level = level;
	ev.usec = -1;
	ev.message = raw;
	ev.message_len = (size_t)n;
	/* what the program wrote to stderr through stdio before this line goes first */
	fflush(stderr);
	ac_log_event(&ev);
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
