/*
 * fields: reading typed fields out of untrusted JSON with errors that name the field.
 *
 * Invariant 3 of the design: bad input is answered with the name of what is wrong. Every
 * decoder in the project reads its input through these functions, so every error has the same
 * shape: {"field": "author.name", "message": "must be a string"}.
 *
 * Strings are checked to be valid UTF-8 (jansson already guarantees that for parsed text, but
 * values built in code are checked too) and not to contain NUL bytes, and their length limit
 * is in Unicode code points, not bytes. The check and the count are utf8.h's; this header
 * includes it because decoders that check text of their own (message.c's thread keys) use it
 * alongside these readers.
 */
#ifndef SHARED_FIELDS_H
#define SHARED_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

struct field_error {
	char field[96];    /* dotted path: "location.lat", "items[3].text" */
	char message[160]; /* what is wrong, in English, for the JSON error body */
};

/* Fills e with the field and a printf-formatted message. Returns -1 (for `return` chaining).
 * Both are truncated to fit and then to valid UTF-8, so they can go into a JSON body as they
 * are. e and field may be NULL. */
int field_fail(struct field_error *e, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * In all the readers below, a member whose value is JSON null counts as absent, and obj that
 * is not an object has no members.
 *
 * Reads obj[name] as a string into *out (borrowed from obj). Absent or null: error when
 * required, else *out = NULL and 0. Errors: not a string, empty (when required), invalid UTF-8
 * or NUL, longer than max_chars code points (0: no limit). `path` is the prefix for the field
 * name in errors ("" or "author"). Returns 0 or -1 with e filled.
 */
int field_string(const json_t *obj, const char *path, const char *name, bool required,
                 size_t max_chars, const char **out, struct field_error *e);

/* Reads an RFC 3339 time string into *ms. Absent: error when required, else 0 with *present
 * false. `present` may be NULL. */
int field_time(const json_t *obj, const char *path, const char *name, bool required, int64_t *ms,
               bool *present, struct field_error *e);

/* Reads a JSON number (integer or real) within [min, max]. Absent: as field_time. */
int field_number(const json_t *obj, const char *path, const char *name, bool required, double min,
                 double max, double *out, bool *present, struct field_error *e);

/* Reads a JSON integer within [min, max]. Absent: as field_time. */
int field_integer(const json_t *obj, const char *path, const char *name, bool required, int64_t min,
                  int64_t max, int64_t *out, bool *present, struct field_error *e);

/* Reads obj[name] as an object (borrowed) or NULL when absent and not required. */
int field_object(const json_t *obj, const char *path, const char *name, bool required,
                 const json_t **out, struct field_error *e);

/* Checks obj[name] is absent (or null) or an array of at most max_items strings (0: no limit),
 * each valid as a required field_string with max_chars (so not empty); an item's error names
 * it as "links[2]". *out is borrowed (NULL when absent). */
int field_string_array(const json_t *obj, const char *path, const char *name, size_t max_items,
                       size_t max_chars, const json_t **out, struct field_error *e);

/* Checks that obj["schema"] equals `schema` exactly ("message.v1"). */
int field_schema(const json_t *obj, const char *schema, struct field_error *e);

#endif
