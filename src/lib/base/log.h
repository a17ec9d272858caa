/* log.h: log lines on stderr, one per event, non-printables escaped, never a secret. */
#ifndef AC_LOG_H
#define AC_LOG_H

#include <stddef.h>

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

#endif
