/*
 * message: the one decoder/validator and encoder of message.v1 (see message.h and
 * shared/schemas/message.v1.md, which documents every rule enforced here).
 *
 * Fields are checked in the order the schema document lists them, so the error names the
 * first offending field in that order. Unknown members are ignored at every level, so that a
 * producer can add an optional field before every consumer knows it.
 */
#include "message.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "utf8.h"
#include "xalloc.h"

/* Limits not exported in message.h; documented in message.v1.md. */
#define MESSAGE_MAX_URL_CHARS 2048
#define MESSAGE_MAX_ADDRESS_CHARS 1024
#define MESSAGE_MAX_SOURCE_BYTES 64
#define MESSAGE_MAX_THREAD_KEYS 16
#define MESSAGE_MAX_THREAD_KEY_BYTES 64

static const char *const message_kinds[] = {"post", "comment", "report", "message"};

static bool source_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '.' || c == '-');
}

/* [a-z0-9][a-z0-9_.-]{0,63} */
static bool source_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MESSAGE_MAX_SOURCE_BYTES)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!source_char(s[i], i == 0))
			return false;
	return true;
}

static bool kind_valid(const char *s)
{
	for (size_t i = 0; i < sizeof(message_kinds) / sizeof(message_kinds[0]); i++)
		if (strcmp(s, message_kinds[i]) == 0)
			return true;
	return false;
}

/* Reads an optional or required string member and stores an owned copy in *dst. */
static int take_string(const json_t *obj, const char *path, const char *name, bool required,
                       size_t max_chars, char **dst, struct field_error *e)
{
	const char *s;
	if (field_string(obj, path, name, required, max_chars, &s, e) < 0)
		return -1;
	*dst = xstrdup(s);
	return 0;
}

/*
 * jansson allocates with plain malloc; a NULL from it on valid arguments means memory ran out,
 * which is handled as xalloc handles it.
 */
static json_t *json_checked(json_t *v)
{
	if (!v)
		abort();
	return v;
}

/* thread: an object of at most 16 members whose values are strings or integers. */
static int decode_thread(const json_t *obj, json_t **dst, struct field_error *e)
{
	const json_t *thread;
	if (field_object(obj, "", "thread", false, &thread, e) < 0)
		return -1;
	if (!thread)
		return 0;
	if (json_object_size(thread) > MESSAGE_MAX_THREAD_KEYS)
		return field_fail(e, "thread", "must have at most %d members, got %zu",
		                  MESSAGE_MAX_THREAD_KEYS, json_object_size(thread));
	/* jansson's iterator wants a non-const object; this loop only reads. */
	json_t *t = (json_t *)(uintptr_t)thread;
	for (void *it = json_object_iter(t); it; it = json_object_iter_next(t, it)) {
		const char *key = json_object_iter_key(it);
		size_t key_len = json_object_iter_key_len(it);
		const json_t *value = json_object_iter_value(it);
		/* Checked with the real length: keys set in code may hold a NUL. */
		if (key_len == 0 || key_len > MESSAGE_MAX_THREAD_KEY_BYTES ||
		    utf8_invalid_at(key, key_len) >= 0)
			return field_fail(e, "thread",
			                  "member names must be 1 to %d bytes of valid UTF-8",
			                  MESSAGE_MAX_THREAD_KEY_BYTES);
		if (json_is_integer(value))
			continue;
		if (!json_is_string(value)) {
			char field[128];
			snprintf(field, sizeof(field), "thread.%s", key);
			return field_fail(e, field, "must be a string or an integer");
		}
		const char *s;
		/* Read again through field_string for its UTF-8, NUL and length checks. */
		if (field_string(thread, "thread", key, false, MESSAGE_MAX_ID_CHARS, &s, e) < 0)
			return -1;
	}
	*dst = json_checked(json_deep_copy(thread));
	return 0;
}

static int decode_list(const json_t *obj, const char *name, size_t max_chars, json_t **dst,
                       struct field_error *e)
{
	const json_t *list;
	if (field_string_array(obj, "", name, MESSAGE_MAX_LIST, max_chars, &list, e) < 0)
		return -1;
	if (list)
		*dst = json_checked(json_deep_copy(list));
	return 0;
}

static int decode_location(const json_t *obj, struct message *m, struct field_error *e)
{
	const json_t *loc;
	if (field_object(obj, "", "location", false, &loc, e) < 0)
		return -1;
	if (!loc)
		return 0;
	if (take_string(loc, "location", "address", false, MESSAGE_MAX_ADDRESS_CHARS, &m->address,
	                e) < 0)
		return -1;
	bool has_lat, has_lon;
	if (field_number(loc, "location", "lat", false, -90, 90, &m->lat, &has_lat, e) < 0 ||
	    field_number(loc, "location", "lon", false, -180, 180, &m->lon, &has_lon, e) < 0)
		return -1;
	if (has_lat && !has_lon)
		return field_fail(e, "location.lon", "is required when location.lat is given");
	if (has_lon && !has_lat)
		return field_fail(e, "location.lat", "is required when location.lon is given");
	m->has_coords = has_lat;
	if (!m->has_coords)
		m->lat = m->lon = 0;
	return 0;
}

/* author and community share a shape: {"id": ..., "name": ...}, both optional. */
static int decode_party(const json_t *obj, const char *name, char **id, char **party_name,
                        struct field_error *e)
{
	const json_t *party;
	if (field_object(obj, "", name, false, &party, e) < 0)
		return -1;
	if (!party)
		return 0;
	if (take_string(party, name, "id", false, MESSAGE_MAX_ID_CHARS, id, e) < 0 ||
	    take_string(party, name, "name", false, MESSAGE_MAX_NAME_CHARS, party_name, e) < 0)
		return -1;
	return 0;
}

static int decode_fields(const json_t *obj, struct message *m, struct field_error *e)
{
	if (!json_is_object(obj))
		return field_fail(e, "", "must be a JSON object");
	if (field_schema(obj, MESSAGE_SCHEMA, e) < 0)
		return -1;
	if (take_string(obj, "", "id", true, MESSAGE_MAX_ID_CHARS, &m->id, e) < 0)
		return -1;
	if (take_string(obj, "", "source", true, MESSAGE_MAX_SOURCE_BYTES, &m->source, e) < 0)
		return -1;
	if (!source_valid(m->source))
		return field_fail(e, "source", "must match [a-z0-9][a-z0-9_.-]{0,63}");
	if (take_string(obj, "", "external_id", true, MESSAGE_MAX_ID_CHARS, &m->external_id, e) < 0)
		return -1;
	if (take_string(obj, "", "kind", false, 0, &m->kind, e) < 0)
		return -1;
	if (m->kind && !kind_valid(m->kind))
		return field_fail(e, "kind", "must be one of post, comment, report, message");
	bool has_revision;
	if (field_integer(obj, "", "revision", false, 1, INT32_MAX, &m->revision, &has_revision,
	                  e) < 0)
		return -1;
	if (!has_revision)
		m->revision = 1;
	if (take_string(obj, "", "parent_id", false, MESSAGE_MAX_ID_CHARS, &m->parent_id, e) < 0)
		return -1;
	if (m->parent_id && !m->parent_id[0])
		return field_fail(e, "parent_id", "must not be empty");
	if (take_string(obj, "", "text", true, MESSAGE_MAX_TEXT_CHARS, &m->text, e) < 0)
		return -1;
	if (field_time(obj, "", "posted_at", true, &m->posted_at, NULL, e) < 0 ||
	    field_time(obj, "", "received_at", true, &m->received_at, NULL, e) < 0)
		return -1;
	if (take_string(obj, "", "url", false, MESSAGE_MAX_URL_CHARS, &m->url, e) < 0)
		return -1;
	if (decode_party(obj, "author", &m->author_id, &m->author_name, e) < 0 ||
	    decode_party(obj, "community", &m->community_id, &m->community_name, e) < 0)
		return -1;
	if (decode_location(obj, m, e) < 0)
		return -1;
	if (decode_list(obj, "links", MESSAGE_MAX_URL_CHARS, &m->links, e) < 0 ||
	    decode_list(obj, "mentions", MESSAGE_MAX_NAME_CHARS, &m->mentions, e) < 0)
		return -1;
	return decode_thread(obj, &m->thread, e);
}

int message_decode(const json_t *obj, struct message *m, struct field_error *e)
{
	memset(m, 0, sizeof(*m));
	if (decode_fields(obj, m, e) < 0) {
		message_clear(m);
		return -1;
	}
	m->strings_checked = true; /* by field_string, each */
	return 0;
}

/*
 * The fast path of message_decode_bytes. Parsing into a jansson tree and reading it back cost
 * more than the classifier's whole decision, so a record of the usual shape is read straight
 * into m: a flat object of the known members whose values are strings (with the short escapes
 * only), numbers, null, or the author, community and location objects of such values. Whatever
 * else the input holds (other members, links, mentions, thread, \u escapes, whitespace it does
 * not expect, anything invalid) sends it to the jansson path, so every error, and every record
 * of another shape, is still decided there; the fast path only accepts what that path accepts
 * and yields the same struct (tests/unit/test_message.c compares the two over many mutations).
 */
struct fast {
	const char *p, *end;
};

/* A value read by the fast path: absent (or null), a string, or a number. */
struct fast_value {
	enum { FAST_ABSENT, FAST_STRING, FAST_INTEGER, FAST_REAL } type;
	char *s; /* FAST_STRING: decoded, NUL-terminated, owned */
	size_t len, chars;
	int64_t i;
	double d;
};

static void fast_ws(struct fast *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

static bool fast_eat(struct fast *f, char c)
{
	fast_ws(f);
	if (f->p >= f->end || *f->p != c)
		return false;
	f->p++;
	return true;
}

/*
 * Whether s[0..len) is valid UTF-8 without NUL (what utf8_invalid_at accepts), with its length
 * in code points: one pass where utf8_invalid_at and utf8_length take two, and ASCII and the
 * two-byte sequences of Cyrillic decided here (the same rule as utf8_seq_len's: a lead byte
 * C2..DF and one continuation byte), everything else by utf8_seq_len.
 */
static bool fast_utf8(const char *s, size_t len, size_t *chars)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	for (size_t i = 0, k; i < len; i += k, n++) {
		if (u[i] - 1u < 0x7Fu)
			k = 1;
		else if (u[i] >= 0xC2 && u[i] <= 0xDF && i + 1 < len && (u[i + 1] & 0xC0) == 0x80)
			k = 2;
		else if (!u[i] || !(k = utf8_seq_len(s + i, len - i)))
			return false;
	}
	*chars = n;
	return true;
}

/* A string with the escapes \" \\ \/ \b \f \n \r \t only; valid UTF-8 without NUL. */
static bool fast_string(struct fast *f, struct fast_value *v)
{
	const char *start = f->p + 1, *q = start;
	bool escaped = false;

	while (q < f->end && *q != '"') {
		if ((unsigned char)*q < 0x20)
			return false;
		if (*q == '\\') {
			escaped = true;
			q++;
		}
		q++;
	}
	if (q >= f->end)
		return false;
	v->s = xmalloc((size_t)(q - start) + 1);
	if (!escaped) {
		v->len = (size_t)(q - start);
		memcpy(v->s, start, v->len);
	} else {
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		size_t n = 0;
		for (const char *r = start; r < q; r++) {
			if (*r == '\\') {
				const char *at = strchr(from, *++r);
				if (!*r || !at)
					return false;
				v->s[n++] = to[at - from];
			} else {
				v->s[n++] = *r;
			}
		}
		v->len = n;
	}
	v->s[v->len] = '\0';
	v->type = FAST_STRING;
	f->p = q + 1;
	return fast_utf8(v->s, v->len, &v->chars);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number as JSON writes it; an integer of up to 18 digits, or a finite real. */
static bool fast_number(struct fast *f, struct fast_value *v)
{
	const char *q = f->p, *digits;
	char buf[64];

	if (q < f->end && *q == '-')
		q++;
	digits = q;
	if (q < f->end && *q == '0')
		q++;
	else
		while (q < f->end && is_digit(*q))
			q++;
	if (q == digits)
		return false;
	bool real = q < f->end && (*q == '.' || *q == 'e' || *q == 'E');
	if (!real) {
		if (q - digits > 18 || (q < f->end && is_digit(*q)))
			return false;
		v->i = 0;
		for (const char *r = digits; r < q; r++)
			v->i = v->i * 10 + (*r - '0');
		if (*f->p == '-')
			v->i = -v->i;
		v->type = FAST_INTEGER;
		f->p = q;
		return true;
	}
	if (*q == '.') {
		const char *frac = ++q;
		while (q < f->end && is_digit(*q))
			q++;
		if (q == frac)
			return false;
	}
	if (q < f->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < f->end && (*q == '+' || *q == '-'))
			q++;
		const char *exp = q;
		while (q < f->end && is_digit(*q))
			q++;
		if (q == exp)
			return false;
	}
	if ((size_t)(q - f->p) >= sizeof(buf))
		return false;
	memcpy(buf, f->p, (size_t)(q - f->p));
	buf[q - f->p] = '\0';
	v->d = strtod(buf, NULL);
	if (!isfinite(v->d))
		return false;
	v->type = FAST_REAL;
	f->p = q;
	return true;
}

/* A string, number or null into v, which must be absent (a member named twice is not). */
static bool fast_scalar(struct fast *f, struct fast_value *v)
{
	fast_ws(f);
	if (v->type != FAST_ABSENT || v->s || f->p >= f->end)
		return false;
	if (*f->p == '"')
		return fast_string(f, v);
	if (f->end - f->p >= 4 && memcmp(f->p, "null", 4) == 0) {
		f->p += 4;
		v->s = xstrdup(""); /* marks the member as seen; the value stays absent */
		return true;
	}
	return fast_number(f, v);
}

/* A member name: plain ASCII letters and '_'. Returns its length, 0 for anything else. */
static size_t fast_key(struct fast *f, const char **key)
{
	const char *q;

	if (!fast_eat(f, '"'))
		return 0;
	*key = q = f->p;
	while (q < f->end && ((*q >= 'a' && *q <= 'z') || *q == '_'))
		q++;
	if (q >= f->end || *q != '"')
		return 0;
	f->p = q + 1;
	return fast_eat(f, ':') ? (size_t)(q - *key) : 0;
}

/* An object whose members are among names[0..n) and scalars, into v[0..n); null counts as
 * absent (v[k] stays absent but marked). */
static bool fast_object(struct fast *f, const char *const *names, size_t n, struct fast_value *v)
{
	if (!fast_eat(f, '{'))
		return false;
	if (fast_eat(f, '}'))
		return true;
	do {
		const char *key;
		size_t len = fast_key(f, &key), k;
		if (!len)
			return false;
		for (k = 0; k < n; k++)
			if (strlen(names[k]) == len && memcmp(names[k], key, len) == 0)
				break;
		if (k == n || !fast_scalar(f, &v[k]))
			return false;
	} while (fast_eat(f, ','));
	return fast_eat(f, '}');
}

enum {
	F_SCHEMA,
	F_ID,
	F_SOURCE,
	F_EXTERNAL_ID,
	F_KIND,
	F_REVISION,
	F_PARENT_ID,
	F_TEXT,
	F_POSTED_AT,
	F_RECEIVED_AT,
	F_URL,
	F_AUTHOR_ID,
	F_AUTHOR_NAME,
	F_COMMUNITY_ID,
	F_COMMUNITY_NAME,
	F_ADDRESS,
	F_LAT,
	F_LON,
	F_COUNT
};

static const char *const fast_names[] = {
        "schema",    "id",   "source",    "external_id", "kind", "revision",
        "parent_id", "text", "posted_at", "received_at", "url",
};
static const char *const party_names[] = {"id", "name"};
static const char *const location_names[] = {"address", "lat", "lon"};

/* Moves a string value into *dst as the jansson path would: absent stays NULL; a present
 * string must be valid (empty only when allowed) and at most max_chars long. */
static bool fast_take(struct fast_value *v, bool required, size_t max_chars, char **dst)
{
	if (v->type == FAST_ABSENT)
		return !required;
	if (v->type != FAST_STRING || (required && v->len == 0) ||
	    (max_chars && v->chars > max_chars))
		return false;
	*dst = v->s;
	v->s = NULL;
	return true;
}

static bool fast_time(const struct fast_value *v, int64_t *ms)
{
	return v->type == FAST_STRING && rfc3339_parse(v->s, ms) == 0;
}

static bool fast_coordinate(const struct fast_value *v, double limit, double *out)
{
	double d = v->type == FAST_INTEGER ? (double)v->i : v->d;
	if (v->type != FAST_INTEGER && v->type != FAST_REAL)
		return false;
	*out = d;
	return d >= -limit && d <= limit;
}

/* The checks of decode_fields on the values read; false for anything it would refuse. */
static bool fast_fields(struct fast_value *v, struct message *m)
{
	if (v[F_SCHEMA].type != FAST_STRING || strcmp(v[F_SCHEMA].s, MESSAGE_SCHEMA) != 0 ||
	    !fast_take(&v[F_ID], true, MESSAGE_MAX_ID_CHARS, &m->id) ||
	    !fast_take(&v[F_SOURCE], true, MESSAGE_MAX_SOURCE_BYTES, &m->source) ||
	    !source_valid(m->source) ||
	    !fast_take(&v[F_EXTERNAL_ID], true, MESSAGE_MAX_ID_CHARS, &m->external_id) ||
	    !fast_take(&v[F_KIND], false, 0, &m->kind) || (m->kind && !kind_valid(m->kind)))
		return false;
	m->revision = 1;
	if (v[F_REVISION].type != FAST_ABSENT) {
		if (v[F_REVISION].type != FAST_INTEGER || v[F_REVISION].i < 1 ||
		    v[F_REVISION].i > INT32_MAX)
			return false;
		m->revision = v[F_REVISION].i;
	}
	if (!fast_take(&v[F_PARENT_ID], false, MESSAGE_MAX_ID_CHARS, &m->parent_id) ||
	    (m->parent_id && !m->parent_id[0]) ||
	    !fast_take(&v[F_TEXT], true, MESSAGE_MAX_TEXT_CHARS, &m->text) ||
	    !fast_time(&v[F_POSTED_AT], &m->posted_at) ||
	    !fast_time(&v[F_RECEIVED_AT], &m->received_at) ||
	    !fast_take(&v[F_URL], false, MESSAGE_MAX_URL_CHARS, &m->url) ||
	    !fast_take(&v[F_AUTHOR_ID], false, MESSAGE_MAX_ID_CHARS, &m->author_id) ||
	    !fast_take(&v[F_AUTHOR_NAME], false, MESSAGE_MAX_NAME_CHARS, &m->author_name) ||
	    !fast_take(&v[F_COMMUNITY_ID], false, MESSAGE_MAX_ID_CHARS, &m->community_id) ||
	    !fast_take(&v[F_COMMUNITY_NAME], false, MESSAGE_MAX_NAME_CHARS, &m->community_name) ||
	    !fast_take(&v[F_ADDRESS], false, MESSAGE_MAX_ADDRESS_CHARS, &m->address))
		return false;
	bool has_lat = v[F_LAT].type != FAST_ABSENT, has_lon = v[F_LON].type != FAST_ABSENT;
	if (has_lat != has_lon || (has_lat && (!fast_coordinate(&v[F_LAT], 90, &m->lat) ||
	                                       !fast_coordinate(&v[F_LON], 180, &m->lon))))
		return false;
	m->has_coords = has_lat;
	m->strings_checked = true; /* by fast_string, each */
	return true;
}

/* The whole input read by the fast path into m; false (m cleared) when it cannot say. */
static bool fast_decode(const char *data, size_t len, struct message *m)
{
	struct fast f = {data, data + len};
	struct fast_value v[F_COUNT] = {0};
	bool seen[3] = {false, false, false}, ok = false;

	if (!fast_eat(&f, '{'))
		return false;
	if (fast_eat(&f, '}'))
		goto done; /* {}: the jansson path names what is missing */
	do {
		const char *key;
		size_t n = fast_key(&f, &key), k;
		if (!n)
			goto done;
		for (k = 0; k < sizeof(fast_names) / sizeof(fast_names[0]); k++)
			if (strlen(fast_names[k]) == n && memcmp(fast_names[k], key, n) == 0)
				break;
		if (k < sizeof(fast_names) / sizeof(fast_names[0])) {
			if (!fast_scalar(&f, &v[k]))
				goto done;
			continue;
		}
		int obj = n == 6 && !memcmp(key, "author", 6)      ? 0
		          : n == 9 && !memcmp(key, "community", 9) ? 1
		          : n == 8 && !memcmp(key, "location", 8)  ? 2
		                                                   : -1;
		/* An object member that is null is absent too, but rare: left to jansson. */
		if (obj < 0 || seen[obj])
			goto done;
		seen[obj] = true;
		if (!(obj == 0   ? fast_object(&f, party_names, 2, &v[F_AUTHOR_ID])
		      : obj == 1 ? fast_object(&f, party_names, 2, &v[F_COMMUNITY_ID])
		                 : fast_object(&f, location_names, 3, &v[F_ADDRESS])))
			goto done;
	} while (fast_eat(&f, ','));
	if (!fast_eat(&f, '}'))
		goto done;
	fast_ws(&f);
	ok = f.p == f.end && fast_fields(v, m);
done:
	for (size_t k = 0; k < F_COUNT; k++)
		free(v[k].s);
	if (!ok)
		message_clear(m);
	return ok;
}

int message_decode_bytes(const void *data, size_t len, struct message *m, struct field_error *e)
{
	memset(m, 0, sizeof(*m));
	if (data && fast_decode(data, len, m))
		return 0;
	json_error_t jerr;
	json_t *obj = json_loadb(data ? data : "", data ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return field_fail(e, "", "invalid JSON at line %d, column %d: %s", jerr.line,
		                  jerr.column, jerr.text);
	int rc = message_decode(obj, m, e);
	json_decref(obj);
	return rc;
}

static void put_string(json_t *obj, const char *key, const char *s)
{
	/* json_string returns NULL for invalid UTF-8, and then the member is left out; only
	 * messages built in code can hold such strings, and decoding the result reports them. */
	if (s)
		json_object_set_new(obj, key, json_string(s));
}

static void put_copy(json_t *obj, const char *key, const json_t *v)
{
	if (v)
		json_object_set_new(obj, key, json_checked(json_deep_copy(v)));
}

static void put_party(json_t *obj, const char *key, const char *id, const char *name)
{
	if (!id && !name)
		return;
	json_t *party = json_checked(json_object());
	put_string(party, "id", id);
	put_string(party, "name", name);
	json_object_set_new(obj, key, party);
}

json_t *message_encode(const struct message *m)
{
	char posted[32], received[32];
	rfc3339_format(m->posted_at, posted);
	rfc3339_format(m->received_at, received);

	json_t *obj = json_checked(json_object());
	put_string(obj, "schema", MESSAGE_SCHEMA);
	put_string(obj, "id", m->id);
	put_string(obj, "source", m->source);
	put_string(obj, "external_id", m->external_id);
	put_string(obj, "kind", m->kind);
	if (m->revision > 1)
		json_object_set_new(obj, "revision", json_integer(m->revision));
	put_string(obj, "parent_id", m->parent_id);
	put_string(obj, "text", m->text);
	put_string(obj, "posted_at", posted);
	put_string(obj, "received_at", received);
	put_string(obj, "url", m->url);
	put_party(obj, "author", m->author_id, m->author_name);
	put_party(obj, "community", m->community_id, m->community_name);
	if (m->address || m->has_coords) {
		json_t *loc = json_checked(json_object());
		put_string(loc, "address", m->address);
		if (m->has_coords) {
			json_object_set_new(loc, "lat", json_real(m->lat));
			json_object_set_new(loc, "lon", json_real(m->lon));
		}
		json_object_set_new(obj, "location", loc);
	}
	put_copy(obj, "links", m->links);
	put_copy(obj, "mentions", m->mentions);
	put_copy(obj, "thread", m->thread);
	return obj;
}

void message_clear(struct message *m)
{
	if (!m)
		return;
	free(m->id);
	free(m->source);
	free(m->external_id);
	free(m->kind);
	free(m->parent_id);
	free(m->text);
	free(m->url);
	free(m->author_id);
	free(m->author_name);
	free(m->community_id);
	free(m->community_name);
	free(m->address);
	json_decref(m->links);
	json_decref(m->mentions);
	json_decref(m->thread);
	memset(m, 0, sizeof(*m));
}
