/*
 * csv: labelled records (text + label) read from a CSV or an NDJSON archive, the input of
 * `classifier train` and `classifier eval`; and the RFC 4180 CSV reader under it.
 *
 * CSV as RFC 4180 writes it, read a little more leniently than it is written: the first row is
 * the header that names the columns; fields are separated by commas; a field may be quoted
 * ("..."), and a quoted field may hold commas, line breaks and doubled quotes ("" for ");
 * rows end with CRLF, LF or CR; a UTF-8 byte order mark before the header is skipped; blank
 * lines are skipped; a quote inside an unquoted field is taken literally. Errors: a quoted
 * field still open at the end of the input, anything but a comma or a line end after a closing
 * quote, and a row whose field count differs from the header's. Every error names the line.
 *
 * NDJSON: one JSON object per line (blank lines skipped); the "column" is a member name, or a
 * path into nested objects when it has dots and no member has that name ("expect.topic"). A
 * label may be a string, an integer (written in decimal) or a boolean ("true", "false").
 *
 * In both, text and label must be valid UTF-8; a record whose text or label is empty (or, in
 * NDJSON, missing or null) is skipped and counted, not an error: archives have them.
 */
#ifndef CLASSIFIER_CSV_H
#define CLASSIFIER_CSV_H

#include <stdbool.h>
#include <stddef.h>

/* ---- the CSV reader ------------------------------------------------------------------------ */

struct csv_field {
	const char *s; /* the field's bytes, unquoted and unescaped; NUL-terminated */
	size_t len;
};

struct csv_reader;

/* A reader over data[0..len) (borrowed: it must outlive the reader). Caller frees. */
struct csv_reader *csv_reader_new(const char *data, size_t len);

void csv_reader_free(struct csv_reader *r);

/*
 * Reads the next row. Returns 1 with *fields (borrowed from r, valid until the next call) and
 * *nfields set; 0 at the end of the input; -1 with err filled (naming the line) on a syntax
 * error, after which the reader is at the end.
 */
int csv_next(struct csv_reader *r, const struct csv_field **fields, size_t *nfields, char *err,
             size_t errlen);

/* The line (1-based) on which the row last returned by csv_next started. */
size_t csv_line(const struct csv_reader *r);

/* ---- labelled records ---------------------------------------------------------------------- */

enum records_format { RECORDS_AUTO, RECORDS_CSV, RECORDS_NDJSON };

struct records {
	size_t n;
	char **text;          /* owned, NUL-terminated */
	char **label;         /* owned, NUL-terminated */
	size_t *line;         /* where each record starts in its file */
	size_t skipped;       /* records without text or label */
	size_t first_skipped; /* the line of the first of them (0: none) */
};

/*
 * Reads the records of path into out (which must be zeroed; records_clear frees it). The
 * format is NDJSON for names ending in .ndjson, .jsonl or .json, CSV for .csv, and otherwise
 * NDJSON when the first byte after any BOM and white space is '{'. Returns 0, or -1 with err
 * filled naming the file and line (out is left empty), or -2 (err filled, out empty) when the
 * label column is not there at all: not in the CSV header, or a member of no NDJSON record.
 */
int records_load(const char *path, const char *text_column, const char *label_column,
                 struct records *out, char *err, size_t errlen);

/* The same over data[0..len); RECORDS_AUTO sniffs the content. `name` is what errors call it. */
int records_load_mem(const char *data, size_t len, enum records_format fmt, const char *name,
                     const char *text_column, const char *label_column, struct records *out,
                     char *err, size_t errlen);

void records_clear(struct records *r);

#endif
