/*
 * xalloc: the one place where allocation failure is handled.
 *
 * Every allocation in the project goes through these functions. Running out of memory in a
 * daemon that must not lose data has no sensible local recovery, so they print one line to
 * stderr and abort(); callers never check for NULL.
 */
#ifndef SHARED_XALLOC_H
#define SHARED_XALLOC_H

#include <stddef.h>

/* malloc(n); never returns NULL (n == 0 allocates one byte). Caller frees. */
void *xmalloc(size_t n);

/* calloc(count, size) with overflow check; never returns NULL. Caller frees. */
void *xcalloc(size_t count, size_t size);

/* realloc(p, n); never returns NULL. p may be NULL. Caller frees the result. */
void *xrealloc(void *p, size_t n);

/* strdup(s); s may be NULL (returns NULL). Caller frees. */
char *xstrdup(const char *s);

/* Copies at most n bytes of s and terminates the copy; never returns NULL. Caller frees. */
char *xstrndup(const char *s, size_t n);

/* printf into a new string; never returns NULL. Caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
