/* log.h: log lines on stderr, one per event, as text or JSON, non-printables escaped, never a secret. */
#ifndef AC_LOG_H
#define AC_LOG_H

#include <stddef.h>
#include <stdint.h>

/* The program name that starts every line ("descriptor", "acctl"). Borrowed; keep it static. */
void ac_log_init(const char *program);

/* "<program>: error: <message>"; the message is formatted, then escaped. */
void ac_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ac_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ac_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * ac_log_error, but a line said less than a minute ago (one of the last few)
 * is not said again: for damage met again at every poll of a loop (the
 * worker's), which must stay loud without flooding the log.
 */
void ac_log_error_rare(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Writes s[0..n) into out (size outsz, always NUL-terminated) with bytes
 * outside printable ASCII, '"' and '\\' escaped as \xHH. Returns out.
 */
char *ac_log_escape(const char *s, size_t n, char *out, size_t outsz);

/* ---------------------------------------------------------------- AC_LOG_FORMAT (issue 17) */

enum ac_log_format { AC_LOG_TEXT, AC_LOG_JSON };

/* "text" or "json" into *f: 0, or -1 (*f untouched) for anything else. */
int ac_log_format_parse(const char *s, enum ac_log_format *f);

/* The format of every later line (the configuration's AC_LOG_FORMAT, base/conf.h). */
void ac_log_set_format(enum ac_log_format f);

/*
 * The format in use: the one set, else AC_LOG_FORMAT from the environment
 * (read at the first line, so that a configuration that fails to load is
 * reported in it), else text.
 */
enum ac_log_format ac_log_get_format(void);

/*
 * The longest line, its '\n' included: PIPE_BUF, so that one write(2) of a
 * line is never split or interleaved with another process's, on a pipe as in
 * a file opened O_APPEND. Longer messages are cut (JSON: ending in "...").
 */
#define AC_LOG_LINE_MAX 4096

/*
 * One event. A request's line (the access log) has a method; a message line
 * has none. Absent fields are NULL (status 0, usec -1) and left out of a JSON
 * line. Everything is borrowed for the call.
 */
struct ac_log_event {
	const char *program;  /* NULL: the one of ac_log_init */
	const char *level;    /* "error", "warning", "info" */
	const char *method;   /* the request's, or NULL */
	const char *path;     /* without its query (it may carry a token) */
	int status;           /* HTTP status, 0: none */
	long long usec;       /* the request's duration in microseconds, -1: none */
	const char *tenant;   /* clientKey or installation id, NULL: none */
	const char *error;    /* ac_err_code(), NULL: none */
	const char *message;  /* message_len bytes, any bytes; NULL: none */
	size_t message_len;
};

/*
 * ev's line in format f, with its '\n' and a NUL, into out: text as
 * "<program>: <level>: <message>" (a request: "<program>: <method> <path>
 * <status> <usec>us tenant=<t> error=<code>"); JSON as one object with
 * time (ms, milliseconds since the epoch, as RFC 3339 UTC), program, level,
 * method, path, status, microseconds, tenant, error, message: strings
 * escaped, invalid UTF-8 as U+FFFD. In both, anything shaped like a JWT keeps
 * only its first characters. Returns the length (at most AC_LOG_LINE_MAX).
 */
size_t ac_log_format_line(enum ac_log_format f, int64_t ms, const struct ac_log_event *ev,
    char out[AC_LOG_LINE_MAX + 1]);

/* ev's line on stderr in the format in use, with one write(2). */
void ac_log_event(const struct ac_log_event *ev);

#endif
