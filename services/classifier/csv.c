/*
 * csv: the RFC 4180 reader and the labelled-records loader over CSV and NDJSON (see csv.h).
 *
 * The reader works on the whole input in memory: training archives are tens of megabytes, and
 * a row's fields are unescaped into one buffer the reader reuses, so reading allocates nothing
 * per row once the buffers fit the widest row.
 */
#include "csv.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "files.h"
#include "strbuf.h"
#include "xalloc.h"

struct csv_reader {
	const char *p;
	size_t len, pos;
	size_t line;       /* line at pos */
	size_t row_line;   /* where the last row started */
	struct strbuf buf; /* the row's unescaped fields, each NUL-terminated */
	struct csv_field *fields;
	size_t *offs;
	size_t fields_cap;
};

struct csv_reader *csv_reader_new(const char *data, size_t len)
{
	struct csv_reader *r = xcalloc(1, sizeof(*r));

	r->p = data;
	r->len = len;
	r->line = 1;
	return r;
}

void csv_reader_free(struct csv_reader *r)
{
	if (!r)
		return;
	strbuf_release(&r->buf);
	free(r->fields);
	free(r->offs);
	free(r);
}

size_t csv_line(const struct csv_reader *r)
{
	return r->row_line;
}

/* Consumes the line end at pos (CRLF, LF or CR); false if there is none. */
static bool eat_line_end(struct csv_reader *r)
{
	if (r->pos < r->len && r->p[r->pos] == '\r') {
		r->pos++;
		if (r->pos < r->len && r->p[r->pos] == '\n')
			r->pos++;
		r->line++;
		return true;
	}
	if (r->pos < r->len && r->p[r->pos] == '\n') {
		r->pos++;
		r->line++;
		return true;
	}
	return false;
}

int csv_next(struct csv_reader *r, const struct csv_field **fields, size_t *nfields, char *err,
             size_t errlen)
{
	size_t n = 0;

	while (eat_line_end(r))
		; /* blank lines */
	if (r->pos >= r->len)
		return 0;
	r->row_line = r->line;
	r->buf.len = 0; /* the buffer is kept for the next rows */
	for (;;) {
		if (n == r->fields_cap) {
			r->fields_cap = r->fields_cap ? 2 * r->fields_cap : 16;
			r->fields = xrealloc(r->fields, r->fields_cap * sizeof(*r->fields));
			r->offs = xrealloc(r->offs, r->fields_cap * sizeof(*r->offs));
		}
		r->offs[n] = r->buf.len;
		if (r->pos < r->len && r->p[r->pos] == '"') {
			size_t open_line = r->line;
			r->pos++;
			for (;;) {
				char c;
				if (r->pos >= r->len) {
					snprintf(err, errlen,
					         "line %zu: the quoted field opened here is not "
					         "closed",
					         open_line);
					r->pos = r->len;
					return -1;
				}
				c = r->p[r->pos++];
				if (c == '"') {
					if (r->pos < r->len && r->p[r->pos] == '"') {
						strbuf_addch(&r->buf, '"');
						r->pos++;
						continue;
					}
					break;
				}
				if (c == '\n' ||
				    (c == '\r' && (r->pos >= r->len || r->p[r->pos] != '\n')))
					r->line++;
				strbuf_addch(&r->buf, c);
			}
			if (r->pos < r->len && r->p[r->pos] != ',' && r->p[r->pos] != '\r' &&
			    r->p[r->pos] != '\n') {
				snprintf(err, errlen,
				         "line %zu: '%c' after a closing quote (a quote inside a "
				         "quoted "
				         "field is written \"\")",
				         r->line, r->p[r->pos]);
				r->pos = r->len;
				return -1;
			}
		} else {
			while (r->pos < r->len && r->p[r->pos] != ',' && r->p[r->pos] != '\r' &&
			       r->p[r->pos] != '\n')
				strbuf_addch(&r->buf, r->p[r->pos++]);
		}
		r->fields[n].len = r->buf.len - r->offs[n];
		strbuf_addch(&r->buf, '\0');
		n++;
		if (r->pos < r->len && r->p[r->pos] == ',') {
			r->pos++;
			continue;
		}
		eat_line_end(r);
		break;
	}
	for (size_t i = 0; i < n; i++)
		r->fields[i].s = r->buf.buf + r->offs[i];
	*fields = r->fields;
	*nfields = n;
	return 1;
}

/* ---- records ------------------------------------------------------------------------------- */

void records_clear(struct records *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->text[i]);
		free(r->label[i]);
	}
	free(r->text);
	free(r->label);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Adds a record, or counts it as skipped when its text or label is empty. Labels lose the
 * white space around them ("housing " is "housing"). */
static void records_add(struct records *out, size_t *cap, const char *text, size_t text_len,
                        const char *label, size_t label_len, size_t line)
{
	while (label_len > 0 && is_blank(label[0])) {
		label++;
		label_len--;
	}
	while (label_len > 0 && is_blank(label[label_len - 1]))
		label_len--;
	if (text_len == 0 || label_len == 0) {
		if (out->skipped++ == 0)
			out->first_skipped = line;
		return;
	}
	if (out->n == *cap) {
		*cap = *cap ? 2 * *cap : 1024;
		out->text = xrealloc(out->text, *cap * sizeof(char *));
		out->label = xrealloc(out->label, *cap * sizeof(char *));
		out->line = xrealloc(out->line, *cap * sizeof(size_t));
	}
	out->text[out->n] = xstrndup(text, text_len);
	out->label[out->n] = xstrndup(label, label_len);
	out->line[out->n] = line;
	out->n++;
}

/* The value must be valid UTF-8 without NUL bytes. */
static int check_text(const char *name, size_t line, const char *column, const char *s, size_t len,
                      char *err, size_t errlen)
{
	long bad = utf8_invalid_at(s, len);

	if (bad >= 0) {
		snprintf(err, errlen, "%s: line %zu: \"%s\" is not valid UTF-8 (byte %ld)", name,
		         line, column, bad);
		return -1;
	}
	return 0;
}

static int load_csv(const char *data, size_t len, const char *name, const char *text_column,
                    const char *label_column, struct records *out, char *err, size_t errlen)
{
	struct csv_reader *r;
	const struct csv_field *f;
	size_t nf, ncols, ti = SIZE_MAX, li = SIZE_MAX, cap = 0;
	char perr[200];
	int rc;

	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	r = csv_reader_new(data, len);
	rc = csv_next(r, &f, &nf, perr, sizeof(perr));
	if (rc <= 0) {
		if (rc == 0)
			snprintf(err, errlen, "%s: empty: no header row", name);
		else
			snprintf(err, errlen, "%s: %s", name, perr);
		csv_reader_free(r);
		return -1;
	}
	ncols = nf;
	for (size_t i = 0; i < nf; i++) {
		if (ti == SIZE_MAX && strcmp(f[i].s, text_column) == 0)
			ti = i;
		if (li == SIZE_MAX && strcmp(f[i].s, label_column) == 0)
			li = i;
	}
	if (ti == SIZE_MAX || li == SIZE_MAX) {
		size_t used = 0;
		char cols[200] = "";
		for (size_t i = 0; i < nf && used + 4 < sizeof(cols); i++) {
			int k = snprintf(cols + used, sizeof(cols) - used, "%s%s", i ? ", " : "",
			                 f[i].s);
			used = k < 0 ? used : used + (size_t)k;
		}
		snprintf(err, errlen, "%s: no column \"%s\" in the header (it has: %s)", name,
		         ti == SIZE_MAX ? text_column : label_column, cols);
		csv_reader_free(r);
		return ti == SIZE_MAX ? -1 : -2;
	}
	while ((rc = csv_next(r, &f, &nf, perr, sizeof(perr))) > 0) {
		size_t line = csv_line(r);
		if (nf != ncols) {
			snprintf(err, errlen, "%s: line %zu: %zu fields, the header has %zu", name,
			         line, nf, ncols);
			rc = -2;
			break;
		}
		if (check_text(name, line, text_column, f[ti].s, f[ti].len, err, errlen) < 0 ||
		    check_text(name, line, label_column, f[li].s, f[li].len, err, errlen) < 0) {
			rc = -2;
			break;
		}
		records_add(out, &cap, f[ti].s, f[ti].len, f[li].s, f[li].len, line);
	}
	if (rc == -1)
		snprintf(err, errlen, "%s: %s", name, perr);
	csv_reader_free(r);
	if (rc < 0) {
		records_clear(out);
		return -1;
	}
	return 0;
}

/* obj[key] as a string into *s and *len (an integer is written in decimal into num, a boolean
 * as "true"/"false"); absent or null gives an empty value. */
/* The member obj[key]; a key with dots that is not a member itself is a path into nested
 * objects ("expect.topic", "community.name"). NULL when there is none. */
static const json_t *member(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *dot;

	while (!v && obj && (dot = strchr(key, '.')) != NULL) {
		obj = json_object_getn(obj, key, (size_t)(dot - key));
		key = dot + 1;
		v = json_object_get(obj, key);
	}
	return v;
}

static int json_value(const json_t *obj, const char *key, const char **s, size_t *len, char num[32],
                      const char *name, size_t line, char *err, size_t errlen)
{
	const json_t *v = member(obj, key);

	*s = "";
	*len = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		snprintf(num, 32, "%lld", (long long)json_integer_value(v));
		*s = num;
		*len = strlen(num);
		return 0;
	}
	if (json_is_boolean(v)) { /* a yes/no label such as "incident" */
		*s = json_is_true(v) ? "true" : "false";
		*len = strlen(*s);
		return 0;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen,
		         "%s: line %zu: \"%s\" must be a string, an integer or a boolean", name,
		         line, key);
		return -1;
	}
	/* Parsed without JSON_ALLOW_NUL: a string holds no NUL. */
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int load_ndjson(const char *data, size_t len, const char *name, const char *text_column,
                       const char *label_column, struct records *out, char *err, size_t errlen)
{
	size_t pos = 0, line = 0, cap = 0, objects = 0, labelled = 0;

	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len, start = pos;
		const char *ts, *ls;
		size_t tl, ll;
		char tnum[32], lnum[32];
		json_error_t jerr;
		json_t *obj;
		bool blank = true;

		line++;
		pos = nl ? end + 1 : len;
		for (size_t i = start; i < end && blank; i++)
			blank = is_blank(data[i]);
		if (blank)
			continue;
		obj = json_loadb(data + start, end - start, 0, &jerr);
		if (!obj) {
			snprintf(err, errlen, "%s: line %zu: invalid JSON at column %d: %s", name,
			         line, jerr.column, jerr.text);
			records_clear(out);
			return -1;
		}
		if (!json_is_object(obj)) {
			snprintf(err, errlen, "%s: line %zu: not a JSON object", name, line);
			json_decref(obj);
			records_clear(out);
			return -1;
		}
		if (json_value(obj, text_column, &ts, &tl, tnum, name, line, err, errlen) < 0 ||
		    json_value(obj, label_column, &ls, &ll, lnum, name, line, err, errlen) < 0) {
			json_decref(obj);
			records_clear(out);
			return -1;
		}
		objects++;
		if (member(obj, label_column))
			labelled++;
		records_add(out, &cap, ts, tl, ls, ll, line);
		json_decref(obj);
	}
	if (objects > 0 && labelled == 0) {
		snprintf(err, errlen, "%s: no record has \"%s\"", name, label_column);
		records_clear(out);
		return -2;
	}
	return 0;
}

static enum records_format sniff(const char *data, size_t len)
{
	size_t i = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

	while (i < len && is_blank(data[i]))
		i++;
	return i < len && data[i] == '{' ? RECORDS_NDJSON : RECORDS_CSV;
}

int records_load_mem(const char *data, size_t len, enum records_format fmt, const char *name,
                     const char *text_column, const char *label_column, struct records *out,
                     char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (fmt == RECORDS_AUTO)
		fmt = sniff(data, len);
	if (fmt == RECORDS_NDJSON)
		return load_ndjson(data, len, name, text_column, label_column, out, err, errlen);
	return load_csv(data, len, name, text_column, label_column, out, err, errlen);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

int records_load(const char *path, const char *text_column, const char *label_column,
                 struct records *out, char *err, size_t errlen)
{
	enum records_format fmt = RECORDS_AUTO;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	char *data = file_read(path, &len, err, errlen);
	if (!data)
		return -1;
	if (ends_with(path, ".ndjson") || ends_with(path, ".jsonl") || ends_with(path, ".json"))
		fmt = RECORDS_NDJSON;
	else if (ends_with(path, ".csv"))
		fmt = RECORDS_CSV;
	rc = records_load_mem(data, len, fmt, path, text_column, label_column, out, err, errlen);
	free(data);
	return rc;
}
