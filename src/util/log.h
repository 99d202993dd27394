/*
 * log.h — the process logger (with struct conf, the only process-wide state
 * besides util/metrics). One line per event on stderr: time, level, message;
 * with --log-format json the same as one JSON object per line ({"time",
 * "level", "msg"} and, for log_fields, one member per field). Never pass
 * secrets, passwords or message bodies.
 */
#ifndef SESAME_UTIL_LOG_H
#define SESAME_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

void log_set_level(enum log_level lvl);
/* true: JSON lines; false (the default): text. Set once at start. */
void log_set_json(bool json);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One field of a structured event: a string (NULL or "" shows as "-" in
 * text and null in JSON) or, when str is LOG_NUM, the number num. */
struct log_field {
	const char *key;
	const char *str;
	double num;
};
extern const char LOG_NUM[];
#define LOG_S(k, v) ((struct log_field){(k), (v), 0})
#define LOG_N(k, v) ((struct log_field){(k), LOG_NUM, (double)(v)})

/* A structured event: in text `event k=v k="v w" …` (values quoted when
 * they hold a space, a quote or '='), in JSON {"msg": event, k: v, …}. */
void log_fields(enum log_level lvl, const char *event, const struct log_field *f, size_t n);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)

#endif
