/*
 * buf.h — a growable byte buffer with a hard cap (curl's dynbuf).
 *
 * Always NUL-terminated so text users can read b->data directly. An append
 * that would pass `max` fails with -1 and leaves the buffer unchanged: every
 * input has a cap (STYLE.md §10).
 */
#ifndef SESAME_UTIL_BUF_H
#define SESAME_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 = unlimited */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hand the bytes to the caller (who frees them) and reset the buffer. */
char *buf_steal(struct buf *b, size_t *len_out);

#endif
