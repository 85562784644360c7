/*
 * fields: typed reads of untrusted JSON whose errors name the field (see fields.h).
 *
 * Error messages are fixed English phrases ("is required", "must be a string", ...) so that
 * callers and tests can rely on them; values from the input are never copied into a message,
 * only lengths, offsets and limits.
 */
#include "fields.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

/*
 * Cuts s (a NUL-terminated buffer) at its first invalid UTF-8 sequence, so that a message
 * truncated by snprintf in the middle of a character, or a parser's excerpt of bad input, can
 * still be put into a JSON error body.
 */
static void utf8_truncate(char *s)
{
	long bad = utf8_invalid_at(s, strlen(s));
	if (bad >= 0)
		s[bad] = '\0';
}

int field_fail(struct field_error *e, const char *field, const char *fmt, ...)
{
	if (!e)
		return -1;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	utf8_truncate(e->field);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	utf8_truncate(e->message);
	return -1;
}

/*
 * obj[name], with JSON null taken as absent and obj that is not an object having no members;
 * its full name for errors goes into field: "path.name", or "name" when path is empty.
 */
static const json_t *member(const json_t *obj, const char *path, const char *name, char field[96])
{
	if (path && *path)
		snprintf(field, 96, "%s.%s", path, name);
	else
		snprintf(field, 96, "%s", name);
	const json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;
	return json_is_null(v) ? NULL : v;
}

/* What every reader returns for an absent member: the error when it is required, else 0. */
static int absent(bool required, const char *field, struct field_error *e)
{
	return required ? field_fail(e, field, "is required") : 0;
}

/* Validates one string value; `field` is its full path. */
static int check_string(const json_t *v, const char *field, bool nonempty, size_t max_chars,
                        struct field_error *e)
{
	if (!json_is_string(v))
		return field_fail(e, field, "must be a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (nonempty && len == 0)
		return field_fail(e, field, "must not be empty");
	long bad = utf8_invalid_at(s, len);
	if (bad >= 0) {
		if (s[bad] == '\0')
			return field_fail(e, field, "must not contain NUL characters");
		return field_fail(e, field, "must be valid UTF-8 (invalid byte at offset %ld)",
		                  bad);
	}
	if (max_chars) {
		size_t chars = utf8_length(s, len);
		if (chars > max_chars)
			return field_fail(e, field, "must be at most %zu characters, got %zu",
			                  max_chars, chars);
	}
	return 0;
}

int field_string(const json_t *obj, const char *path, const char *name, bool required,
                 size_t max_chars, const char **out, struct field_error *e)
{
	char field[96];
	const json_t *v = member(obj, path, name, field);
	*out = NULL;
	if (!v)
		return absent(required, field, e);
	if (check_string(v, field, required, max_chars, e) < 0)
		return -1;
	*out = json_string_value(v);
	return 0;
}

int field_time(const json_t *obj, const char *path, const char *name, bool required, int64_t *ms,
               bool *present, struct field_error *e)
{
	char field[96];
	const json_t *v = member(obj, path, name, field);
	if (present)
		*present = false;
	if (!v)
		return absent(required, field, e);
	if (!json_is_string(v))
		return field_fail(e, field, "must be a string");
	/* A NUL inside would let rfc3339_parse see only a valid prefix. */
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    rfc3339_parse(json_string_value(v), ms) < 0)
		return field_fail(e, field,
		                  "must be an RFC 3339 time such as 2026-11-28T03:15:00Z");
	if (present)
		*present = true;
	return 0;
}

int field_number(const json_t *obj, const char *path, const char *name, bool required, double min,
                 double max, double *out, bool *present, struct field_error *e)
{
	char field[96];
	const json_t *v = member(obj, path, name, field);
	if (present)
		*present = false;
	if (!v)
		return absent(required, field, e);
	if (!json_is_number(v))
		return field_fail(e, field, "must be a number");
	double d = json_number_value(v);
	/* Written so that NaN (possible in values built in code) fails too. */
	if (!(d >= min && d <= max))
		return field_fail(e, field, "must be between %g and %g", min, max);
	*out = d;
	if (present)
		*present = true;
	return 0;
}

int field_integer(const json_t *obj, const char *path, const char *name, bool required, int64_t min,
                  int64_t max, int64_t *out, bool *present, struct field_error *e)
{
	char field[96];
	const json_t *v = member(obj, path, name, field);
	if (present)
		*present = false;
	if (!v)
		return absent(required, field, e);
	if (!json_is_integer(v))
		return field_fail(e, field, "must be an integer");
	int64_t i = json_integer_value(v);
	if (i < min || i > max)
		return field_fail(e, field, "must be between %" PRId64 " and %" PRId64, min, max);
	*out = i;
	if (present)
		*present = true;
	return 0;
}

int field_object(const json_t *obj, const char *path, const char *name, bool required,
                 const json_t **out, struct field_error *e)
{
	char field[96];
	const json_t *v = member(obj, path, name, field);
	*out = NULL;
	if (!v)
		return absent(required, field, e);
	if (!json_is_object(v))
		return field_fail(e, field, "must be an object");
	*out = v;
	return 0;
}

int field_string_array(const json_t *obj, const char *path, const char *name, size_t max_items,
                       size_t max_chars, const json_t **out, struct field_error *e)
{
	char field[96];
	const json_t *v = member(obj, path, name, field);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return field_fail(e, field, "must be an array of strings");
	size_t n = json_array_size(v);
	if (max_items && n > max_items)
		return field_fail(e, field, "must have at most %zu items, got %zu", max_items, n);
	for (size_t i = 0; i < n; i++) {
		char item[128]; /* room for the index; field_fail truncates to 96 */
		snprintf(item, sizeof(item), "%s[%zu]", field, i);
		if (check_string(json_array_get(v, i), item, true, max_chars, e) < 0)
			return -1;
	}
	*out = v;
	return 0;
}

int field_schema(const json_t *obj, const char *schema, struct field_error *e)
{
	char field[96];
	const json_t *v = member(obj, "", "schema", field);
	if (!v)
		return absent(true, field, e);
	if (!json_is_string(v))
		return field_fail(e, field, "must be a string");
	if (json_string_length(v) != strlen(schema) || strcmp(json_string_value(v), schema) != 0)
		return field_fail(e, field, "must be \"%s\"", schema);
	return 0;
}
