/*
 * xalloc.h — allocation wrappers that never return NULL: out of memory is
 * the one condition on which sesame aborts (STYLE.md §7).
 */
#ifndef SESAME_UTIL_XALLOC_H
#define SESAME_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Like asprintf, aborting on OOM. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
