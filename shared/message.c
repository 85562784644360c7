/*
 * message: the one decoder/validator and encoder of message.v1 (see message.h and
 * shared/schemas/message.v1.md, which documents every rule enforced here).
 *
 * Fields are checked in the order the schema document lists them, so the error names the
 * first offending field in that order. Unknown members are ignored at every level, so that a
 * producer can add an optional field before every consumer knows it.
 */
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
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
	return 0;
}

int message_decode_bytes(const void *data, size_t len, struct message *m, struct field_error *e)
{
	memset(m, 0, sizeof(*m));
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
