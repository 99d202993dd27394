/* log.c — see log.h. */
#include "util/log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

const char LOG_NUM[] = "";

static enum log_level min_level = LOG_INFO;
static bool as_json;
static const char *names[] = {"debug", "info", "warn", "error"};

void
log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

void
log_set_json(bool json)
{
	as_json = json;
}

/* A JSON string: quotes, backslashes and control bytes escaped; other bytes
 * as they are (what we log is ours or already checked UTF-8). */
static void
put_json(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_putc(b, '\\'), buf_putc(b, (char)c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

/* A text value: bare when it has no space, quote, '=' or control byte,
 * else quoted with the JSON escapes. */
static void
put_text(struct buf *b, const char *s)
{
	bool bare = s[0] != '\0';

	for (const char *p = s; *p && bare; p++)
		bare = (unsigned char)*p > 0x20 && *p != '"' && *p != '=' && *p != '\\';
	if (bare)
		buf_puts(b, s);
	else
		put_json(b, s);
}

static void
put_num(struct buf *b, double v)
{
	if (v == floor(v) && fabs(v) < 9e15)
		buf_printf(b, "%lld", (long long)v);
	else
		buf_printf(b, "%.3f", v);
}

/* Start a line: the time and the level, then the message as text or as
 * the JSON "msg" member. */
static void
begin(struct buf *b, enum log_level lvl, const char *msg)
{
	char ts[40];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!as_json) {
		buf_printf(b, "%sZ %s %s", ts, names[lvl], msg);
		return;
	}
	buf_printf(b, "{\"time\": \"%s.%03ldZ\", \"level\": \"%s\", \"msg\": ", ts,
		   now.tv_nsec / 1000000, names[lvl]);
	put_json(b, msg);
}

/* End the line and write it at once (one write: lines of threads never mix). */
static void
finish(struct buf *b)
{
	if (as_json)
		buf_putc(b, '}');
	buf_putc(b, '\n');
	fwrite(b->data, 1, b->len, stderr);
	buf_free(b);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048];
	struct buf b;
	va_list ap;

	if (lvl < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_init(&b, 0);
	begin(&b, lvl, line);
	finish(&b);
}

void
log_fields(enum log_level lvl, const char *event, const struct log_field *f, size_t n)
{
	struct buf b;

	if (lvl < min_level)
		return;
	buf_init(&b, 0);
	begin(&b, lvl, event);
	for (size_t i = 0; i < n; i++) {
		bool num = f[i].str == LOG_NUM, none = !num && (f[i].str == NULL || !f[i].str[0]);
		if (as_json) {
			buf_printf(&b, ", \"%s\": ", f[i].key);
			if (num)
				put_num(&b, f[i].num);
			else if (none)
				buf_puts(&b, "null");
			else
				put_json(&b, f[i].str);
		} else {
			buf_printf(&b, " %s=", f[i].key);
			if (num)
				put_num(&b, f[i].num);
			else
				put_text(&b, none ? "-" : f[i].str);
		}
	}
	finish(&b);
}
