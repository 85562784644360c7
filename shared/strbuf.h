/*
 * strbuf: a growable byte string that is always NUL-terminated, for text built piece by piece
 * (an XML feed, normalised text, the metrics exposition, a list of errors, an HTTP body).
 *
 *     struct strbuf sb = {0};          // a zeroed strbuf is an empty one
 *     strbuf_addstr(&sb, "<p>");
 *     strbuf_addf(&sb, "%d items", n);
 *     char *s = strbuf_detach(&sb);    // caller frees; sb is empty again
 *
 * The buffer is owned by the struct until strbuf_detach hands it over; strbuf_release frees
 * it. Growth goes through xrealloc, so no function here fails. One strbuf is not to be used by
 * two threads at once.
 */
#ifndef SHARED_STRBUF_H
#define SHARED_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;  /* NULL until the first addition; then buf[len] == '\0' (owned) */
	size_t len; /* bytes added (NUL bytes added as data included), the terminator not counted */
	size_t cap; /* bytes allocated */
};

/* Appends data[0..n) (may hold NUL bytes; data may be NULL when n is 0). */
void strbuf_add(struct strbuf *sb, const void *data, size_t n);

/* Appends the string s. */
void strbuf_addstr(struct strbuf *sb, const char *s);

/* Appends one byte. */
void strbuf_addch(struct strbuf *sb, char c);

/* Appends printf output; a format error appends nothing. */
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* strbuf_addf with a va_list (which it consumes). */
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/*
 * Hands the string over: returns buf (caller frees; an allocated "" when nothing was added, so
 * never NULL) and leaves sb empty, ready for reuse.
 */
char *strbuf_detach(struct strbuf *sb);

/* Frees the buffer and leaves sb empty, ready for reuse. */
void strbuf_release(struct strbuf *sb);

#endif
