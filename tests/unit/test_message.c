/*
 * Unit tests for shared/message: the message.v1 decoder/validator and encoder.
 *
 * Two data files drive most of the cases (one record per line, readable with jq):
 *   message_good.ndjson  valid message.v1 records; each must decode and round-trip exactly;
 *   message_bad.ndjson   {"why", "expect_field", "expect_message", and one of "input" (a JSON
 *                        object), "input_text" (raw text) or "input_hex" (raw bytes, for
 *                        invalid UTF-8)}; each must fail with exactly that field and message.
 * They are read from $TEST_DATA_DIR (default tests/unit/data, relative to the repository root,
 * where the tests run). The cases that need sizes or bytes a data file cannot hold well (texts
 * at the length limit, deep nesting, strings built in code) are written out below.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "timefmt.h"
#include "xalloc.h"

/* ---- helpers --------------------------------------------------------------------------- */

static void assert_error(const struct field_error *e, const char *field, const char *message)
{
	assert_string_equal(e->field, field);
	assert_string_equal(e->message, message);
}

/* json_object_set_new that fails the test instead of quietly doing nothing on a NULL value
 * (json_stringn returns NULL for invalid UTF-8, which is easy to write by mistake). */
static void set_new(json_t *obj, const char *key, json_t *value)
{
	assert_non_null(value);
	assert_int_equal(json_object_set_new(obj, key, value), 0);
}

static void assert_cleared(const struct message *m)
{
	struct message zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(m, &zero, sizeof(zero));
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool json_eq(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal(a, b));
}

/* Names the first field in which a and b differ, or NULL when they are equal. */
static const char *message_diff(const struct message *a, const struct message *b)
{
	if (!str_eq(a->id, b->id))
		return "id";
	if (!str_eq(a->source, b->source))
		return "source";
	if (!str_eq(a->external_id, b->external_id))
		return "external_id";
	if (!str_eq(a->kind, b->kind))
		return "kind";
	if (!str_eq(a->text, b->text))
		return "text";
	if (a->posted_at != b->posted_at)
		return "posted_at";
	if (a->received_at != b->received_at)
		return "received_at";
	if (!str_eq(a->url, b->url))
		return "url";
	if (!str_eq(a->author_id, b->author_id))
		return "author_id";
	if (!str_eq(a->author_name, b->author_name))
		return "author_name";
	if (!str_eq(a->community_id, b->community_id))
		return "community_id";
	if (!str_eq(a->community_name, b->community_name))
		return "community_name";
	if (!str_eq(a->address, b->address))
		return "address";
	if (a->has_coords != b->has_coords)
		return "has_coords";
	/* Bit-exact: the encoder must print doubles with enough digits to come back the same. */
	if (a->has_coords && (memcmp(&a->lat, &b->lat, sizeof(double)) != 0 ||
	                      memcmp(&a->lon, &b->lon, sizeof(double)) != 0))
		return "lat/lon";
	if (!json_eq(a->links, b->links))
		return "links";
	if (!json_eq(a->mentions, b->mentions))
		return "mentions";
	if (!json_eq(a->thread, b->thread))
		return "thread";
	return NULL;
}

/*
 * encode -> text -> decode gives back the same message, and encoding that gives back the same
 * JSON; checked both through bytes and through the json_t directly.
 */
static void assert_round_trip(const struct message *m, const char *label)
{
	json_t *j = message_encode(m);
	assert_non_null(j);
	char *text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);

	struct message back;
	struct field_error e;
	if (message_decode_bytes(text, strlen(text), &back, &e) != 0)
		fail_msg("%s: re-decoding the encoding failed: %s: %s", label, e.field, e.message);
	const char *diff = message_diff(m, &back);
	if (diff)
		fail_msg("%s: round trip changed %s", label, diff);
	json_t *again = message_encode(&back);
	if (!json_equal(j, again))
		fail_msg("%s: encoding the decoded message differs", label);
	message_clear(&back);

	assert_int_equal(message_decode(j, &back, &e), 0);
	assert_null(message_diff(m, &back));
	message_clear(&back);

	json_decref(again);
	free(text);
	json_decref(j);
}

static char *data_path(const char *name)
{
	const char *dir = getenv("TEST_DATA_DIR");
	if (!dir || !*dir)
		dir = "tests/unit/data";
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = xmalloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static FILE *open_data(const char *name)
{
	char *path = data_path(name);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run from the repository root or set TEST_DATA_DIR)",
		         path);
	free(path);
	return f;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes lower-case hex into a new buffer; the test fails on bad hex. */
static unsigned char *hex_decode(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	assert_int_equal(n % 2, 0);
	unsigned char *out = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		assert_true(hi >= 0 && lo >= 0);
		out[i] = (unsigned char)(hi * 16 + lo);
	}
	*len = n / 2;
	return out;
}

/* A valid message with every field, built in code. Fields are owned (message_clear frees). */
static void build_full(struct message *m)
{
	memset(m, 0, sizeof(*m));
	m->id = xstrdup("vk:-170000001_4512");
	m->source = xstrdup("vk");
	m->external_id = xstrdup("-170000001_4512");
	m->kind = xstrdup("post");
	m->text = xstrdup(
	        "Нет отопления, ул. Щетинкина 18, Абакан 🥶");
	assert_int_equal(rfc3339_parse("2026-11-28T10:15:00+07:00", &m->posted_at), 0);
	assert_int_equal(rfc3339_parse("2026-11-28T03:15:02.120Z", &m->received_at), 0);
	m->url = xstrdup("https://vk.com/wall-170000001_4512");
	m->author_id = xstrdup("id5550101");
	m->author_name = xstrdup("Ольга Сагалакова");
	m->community_id = xstrdup("-170000001");
	m->community_name = xstrdup("Абакан: жалобы");
	m->address = xstrdup("Абакан, ул. Щетинкина, 18");
	m->has_coords = true;
	m->lat = 53.72;
	m->lon = 91.44;
	m->links = json_pack("[s]", "https://abakan.ru/");
	m->mentions = json_pack("[ss]", "@abakan_adm", "@gkh19");
	m->thread = json_pack("{s:s, s:s}", "owner_id", "-170000001", "post_id", "4512");
}

static void build_minimal(struct message *m)
{
	memset(m, 0, sizeof(*m));
	m->id = xstrdup("rss:1");
	m->source = xstrdup("rss");
	m->external_id = xstrdup("1");
	m->text = xstrdup("x");
	m->posted_at = 0;
	m->received_at = 1;
}

/* Encodes m compactly into a new string. */
static char *encode_text(const struct message *m)
{
	json_t *j = message_encode(m);
	assert_non_null(j);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	json_decref(j);
	return s;
}

static const char MINIMAL_TEMPLATE[] =
        "{\"schema\":\"message.v1\",\"id\":\"vk:1\",\"source\":\"vk\","
        "\"external_id\":\"1\",\"text\":\"%s\","
        "\"posted_at\":\"2026-11-28T03:15:00Z\","
        "\"received_at\":\"2026-11-28T03:15:00Z\"%s}";

/* A valid minimal message with the given text and extra members (",\"k\":v" or ""). */
static char *minimal_with(const char *text, const char *extra)
{
	size_t n = sizeof(MINIMAL_TEMPLATE) + strlen(text) + strlen(extra);
	char *s = xmalloc(n);
	snprintf(s, n, MINIMAL_TEMPLATE, text, extra);
	return s;
}

/* Decodes text that must fail with exactly field/message. */
static void assert_bytes_rejected(const void *data, size_t len, const char *field,
                                  const char *message)
{
	struct message m;
	struct field_error e;
	assert_int_equal(message_decode_bytes(data, len, &m, &e), -1);
	assert_error(&e, field, message);
	assert_cleared(&m);
}

static void assert_json_rejected(const json_t *obj, const char *field, const char *message)
{
	struct message m;
	struct field_error e;
	assert_int_equal(message_decode(obj, &m, &e), -1);
	assert_error(&e, field, message);
	assert_cleared(&m);
}

/* ---- data-driven cases ----------------------------------------------------------------- */

static void test_good_corpus(void **state)
{
	(void)state;
	FILE *f = open_data("message_good.ndjson");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		struct message m;
		struct field_error e;
		if (message_decode_bytes(line, (size_t)n, &m, &e) != 0)
			fail_msg("message_good.ndjson:%d rejected: field \"%s\": %s", lineno,
			         e.field, e.message);

		/* What was decoded is what the line says. */
		json_t *in = json_loads(line, 0, NULL);
		assert_non_null(in);
		assert_string_equal(m.id, json_string_value(json_object_get(in, "id")));
		assert_string_equal(m.source, json_string_value(json_object_get(in, "source")));
		assert_string_equal(m.text, json_string_value(json_object_get(in, "text")));
		int64_t ms;
		assert_int_equal(
		        rfc3339_parse(json_string_value(json_object_get(in, "posted_at")), &ms), 0);
		assert_int_equal(m.posted_at, ms);
		json_decref(in);

		char label[64];
		snprintf(label, sizeof(label), "message_good.ndjson:%d", lineno);
		assert_round_trip(&m, label);
		message_clear(&m);
	}
	free(line);
	fclose(f);
	/* An empty or truncated corpus must not pass quietly. */
	assert_int_equal(lineno, 14);
}

static void test_bad_corpus(void **state)
{
	(void)state;
	FILE *f = open_data("message_bad.ndjson");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		json_error_t jerr;
		json_t *c = json_loads(line, 0, &jerr);
		if (!c)
			fail_msg("message_bad.ndjson:%d is not JSON: %s", lineno, jerr.text);
		const char *why = json_string_value(json_object_get(c, "why"));
		const char *want_field = json_string_value(json_object_get(c, "expect_field"));
		const char *want_msg = json_string_value(json_object_get(c, "expect_message"));
		if (!why || !want_field || !want_msg)
			fail_msg("message_bad.ndjson:%d lacks why/expect_field/expect_message",
			         lineno);

		const json_t *input = json_object_get(c, "input");
		const char *text = json_string_value(json_object_get(c, "input_text"));
		const char *hex = json_string_value(json_object_get(c, "input_hex"));
		unsigned char *bytes;
		size_t len;
		if (input) {
			bytes = (unsigned char *)json_dumps(input, JSON_COMPACT);
			len = strlen((char *)bytes);
		} else if (text) {
			bytes = (unsigned char *)xstrdup(text);
			len = strlen(text);
		} else if (hex) {
			bytes = hex_decode(hex, &len);
		} else {
			fail_msg("message_bad.ndjson:%d has no input", lineno);
			return;
		}

		struct message m;
		struct field_error e;
		int rc = message_decode_bytes(bytes, len, &m, &e);
		if (rc != -1 || strcmp(e.field, want_field) != 0 ||
		    strcmp(e.message, want_msg) != 0)
			fail_msg(
			        "message_bad.ndjson:%d (%s): want %s: \"%s\", got rc %d %s: \"%s\"",
			        lineno, why, want_field, want_msg, rc, rc ? e.field : "",
			        rc ? e.message : "");
		assert_cleared(&m);

		/* The same object given as a json_t fails the same way. */
		if (input) {
			rc = message_decode(input, &m, &e);
			if (rc != -1 || strcmp(e.field, want_field) != 0 ||
			    strcmp(e.message, want_msg) != 0)
				fail_msg("message_bad.ndjson:%d (%s) as json_t: got %s: \"%s\"",
				         lineno, why, e.field, e.message);
			assert_cleared(&m);
		}
		free(bytes);
		json_decref(c);
	}
	free(line);
	fclose(f);
	assert_int_equal(lineno, 126);
}

/* ---- decoding, field by field ---------------------------------------------------------- */

static void test_decode_every_field(void **state)
{
	(void)state;
	const char *text =
	        "{\"schema\":\"message.v1\",\"id\":\"vk:-123_456\",\"source\":\"vk\","
	        "\"external_id\":\"-123_456\",\"kind\":\"post\","
	        "\"text\":\"Во дворе дома 7 по ул. Ленина (Абакан) не горят фонари 💡\","
	        "\"posted_at\":\"2026-11-28T10:15:00+07:00\","
	        "\"received_at\":\"2026-11-28T03:15:02.120Z\",\"url\":\"https://vk.com/"
	        "wall-123_456\","
	        "\"author\":{\"id\":\"id77\",\"name\":\"Пётр Топоев\"},"
	        "\"community\":{\"id\":\"-123\",\"name\":\"Подслушано Абакан\"},"
	        "\"location\":{\"address\":\"Абакан, ул. Ленина, 7\",\"lat\":53.72,\"lon\":91.44},"
	        "\"links\":[\"https://vk.com/photo-123_1\"],\"mentions\":[\"@user\"],"
	        "\"thread\":{\"owner_id\":\"-123\",\"post_id\":456}}";
	struct message m;
	struct field_error e;
	assert_int_equal(message_decode_bytes(text, strlen(text), &m, &e), 0);
	assert_string_equal(m.id, "vk:-123_456");
	assert_string_equal(m.source, "vk");
	assert_string_equal(m.external_id, "-123_456");
	assert_string_equal(m.kind, "post");
	assert_string_equal(m.text, "Во дворе дома 7 по ул. Ленина (Абакан) не горят фонари 💡");
	assert_int_equal(m.posted_at, 1795835700000LL);
	assert_int_equal(m.received_at, 1795835702120LL);
	assert_string_equal(m.url, "https://vk.com/wall-123_456");
	assert_string_equal(m.author_id, "id77");
	assert_string_equal(m.author_name, "Пётр Топоев");
	assert_string_equal(m.community_id, "-123");
	assert_string_equal(m.community_name, "Подслушано Абакан");
	assert_string_equal(m.address, "Абакан, ул. Ленина, 7");
	assert_true(m.has_coords);
	assert_true(m.lat == 53.72);
	assert_true(m.lon == 91.44);
	assert_int_equal(json_array_size(m.links), 1);
	assert_string_equal(json_string_value(json_array_get(m.links, 0)),
	                    "https://vk.com/photo-123_1");
	assert_string_equal(json_string_value(json_array_get(m.mentions, 0)), "@user");
	/* Integers in thread stay integers. */
	assert_true(json_is_integer(json_object_get(m.thread, "post_id")));
	assert_int_equal(json_integer_value(json_object_get(m.thread, "post_id")), 456);
	assert_string_equal(json_string_value(json_object_get(m.thread, "owner_id")), "-123");
	message_clear(&m);
	assert_cleared(&m);
}

static void test_decode_owns_its_data(void **state)
{
	(void)state;
	json_t *obj = json_loads(
	        "{\"schema\":\"message.v1\",\"id\":\"a\",\"source\":\"vk\",\"external_id\":\"1\","
	        "\"text\":\"Свет отключили\",\"posted_at\":\"2026-11-28T03:15:00Z\","
	        "\"received_at\":\"2026-11-28T03:15:00Z\",\"links\":[\"https://a.ru\"],"
	        "\"thread\":{\"post_id\":1}}",
	        0, NULL);
	assert_non_null(obj);
	struct message m;
	struct field_error e;
	assert_int_equal(message_decode(obj, &m, &e), 0);
	/* Changing or freeing the input leaves the message intact (ASan checks the reads). */
	json_array_set_new(json_object_get(obj, "links"), 0, json_string("https://changed"));
	set_new(json_object_get(obj, "thread"), "post_id", json_integer(2));
	json_decref(obj);
	assert_string_equal(m.text, "Свет отключили");
	assert_string_equal(json_string_value(json_array_get(m.links, 0)), "https://a.ru");
	assert_int_equal(json_integer_value(json_object_get(m.thread, "post_id")), 1);
	message_clear(&m);
}

/* Every field given every JSON type it must not have, and null. */
static void test_wrong_types_every_field(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *type_error;
		bool required;
	} fields[] = {
	        {"schema", "must be a string", true},
	        {"id", "must be a string", true},
	        {"source", "must be a string", true},
	        {"external_id", "must be a string", true},
	        {"kind", "must be a string", false},
	        {"text", "must be a string", true},
	        {"posted_at", "must be a string", true},
	        {"received_at", "must be a string", true},
	        {"url", "must be a string", false},
	        {"author", "must be an object", false},
	        {"community", "must be an object", false},
	        {"location", "must be an object", false},
	        {"links", "must be an array of strings", false},
	        {"mentions", "must be an array of strings", false},
	        {"thread", "must be an object", false},
	};
	static const char *const values[] = {"0",  "-1.5",    "true", "false", "\"s\"",
	                                     "[]", "[\"s\"]", "{}",   "null"};
	struct message base_m;
	build_full(&base_m);
	json_t *base = message_encode(&base_m);
	message_clear(&base_m);

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
			json_t *v = json_loads(values[k], JSON_DECODE_ANY, NULL);
			assert_non_null(v);
			bool is_null = json_is_null(v);
			/* Skip the types a field does take. */
			bool allowed =
			        (json_is_string(v) &&
			         strcmp(fields[i].type_error, "must be a string") == 0) ||
			        (json_is_object(v) &&
			         strcmp(fields[i].type_error, "must be an object") == 0) ||
			        (json_is_array(v) && strstr(fields[i].type_error, "array") != NULL);
			if (allowed) {
				json_decref(v);
				continue;
			}
			json_t *obj = json_deep_copy(base);
			set_new(obj, fields[i].name, v);
			struct message m;
			struct field_error e;
			int rc = message_decode(obj, &m, &e);
			if (is_null && !fields[i].required) {
				if (rc != 0)
					fail_msg("%s: null rejected: %s", fields[i].name,
					         e.message);
				message_clear(&m);
			} else {
				const char *want = is_null ? "is required" : fields[i].type_error;
				if (rc != -1 || strcmp(e.field, fields[i].name) != 0 ||
				    strcmp(e.message, want) != 0)
					fail_msg("%s = %s: want \"%s\", got rc %d %s: %s",
					         fields[i].name, values[k], want, rc,
					         rc ? e.field : "", rc ? e.message : "");
				assert_cleared(&m);
			}
			json_decref(obj);
		}
	}
	json_decref(base);
}

/* ---- text limits and content ----------------------------------------------------------- */

/* Text of n copies of `unit`. */
static char *repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *s = xmalloc(u * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static void assert_text_accepted(const char *unit, size_t n)
{
	char *text = repeat(unit, n);
	char *doc = minimal_with(text, "");
	struct message m;
	struct field_error e;
	if (message_decode_bytes(doc, strlen(doc), &m, &e) != 0)
		fail_msg("%zu x \"%s\" rejected: %s: %s", n, unit, e.field, e.message);
	assert_string_equal(m.text, text);
	assert_round_trip(&m, unit);
	message_clear(&m);
	free(doc);
	free(text);
}

static void assert_text_too_long(const char *unit, size_t n)
{
	char *text = repeat(unit, n);
	char *doc = minimal_with(text, "");
	char want[96];
	snprintf(want, sizeof(want), "must be at most %d characters, got %zu",
	         MESSAGE_MAX_TEXT_CHARS, n);
	assert_bytes_rejected(doc, strlen(doc), "text", want);
	free(doc);
	free(text);
}

static void test_text_length_limit(void **state)
{
	(void)state;
	/* The limit is in code points: 20000 Cyrillic letters are 40000 bytes, 20000 emoji are
	 * 80000 bytes, and both are exactly at the limit. */
	assert_text_accepted("ж", MESSAGE_MAX_TEXT_CHARS);
	assert_text_accepted("🚧", MESSAGE_MAX_TEXT_CHARS);
	assert_text_accepted("a", MESSAGE_MAX_TEXT_CHARS);
	assert_text_too_long("ж", MESSAGE_MAX_TEXT_CHARS + 1);
	assert_text_too_long("🚧", MESSAGE_MAX_TEXT_CHARS + 1);
	assert_text_too_long("a", MESSAGE_MAX_TEXT_CHARS + 1);
	assert_text_too_long("a", 3 * MESSAGE_MAX_TEXT_CHARS);
}

static void test_text_scripts(void **state)
{
	(void)state;
	static const char *const texts[] = {
	        "Отключили воду в Саяногорске, мкр. Ленинградский",
	        "Сорск: на ул. Кирова не убран снег ❄️❄️❄️",
	        "Хакас тілі: пӱдіс, кӧп, хоң, ӱгретчі",
	        "Mixed: Абаза & Abaza, 阿巴扎, Αμπάζα, 🏔️",
	        "Emoji only: 🤬🤬🤬👎",
	        "Family emoji with joiners: 👨‍👩‍👧",
	        "Right-to-left: مرحبا שלום",
	        "Escapes\\n\\t\\\"quoted\\\" and \\u0416 and \\ud83d\\ude00",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *doc = minimal_with(texts[i], "");
		struct message m;
		struct field_error e;
		if (message_decode_bytes(doc, strlen(doc), &m, &e) != 0)
			fail_msg("\"%s\" rejected: %s", texts[i], e.message);
		assert_round_trip(&m, texts[i]);
		message_clear(&m);
		free(doc);
	}
	/* The escapes are decoded. */
	char *doc = minimal_with("\\u0416\\ud83d\\ude00\\n", "");
	struct message m;
	struct field_error e;
	assert_int_equal(message_decode_bytes(doc, strlen(doc), &m, &e), 0);
	assert_string_equal(m.text, "Ж😀\n");
	message_clear(&m);
	free(doc);
}

/* ---- bytes that are not valid JSON text ------------------------------------------------ */

static void test_invalid_utf8_raw_bytes(void **state)
{
	(void)state;
	static const struct {
		const char *bytes;
		const char *message;
	} cases[] = {
	        {"\xff",
	         "invalid JSON at line 1, column 81: unable to decode byte 0xff near '\"Нет св'"},
	        {"\xc0\x80",
	         "invalid JSON at line 1, column 81: unable to decode byte 0xc0 near '\"Нет св'"},
	        {"\xed\xa0\x80",
	         "invalid JSON at line 1, column 81: unable to decode byte 0xed near '\"Нет св'"},
	        {"\xf4\x90\x80\x80",
	         "invalid JSON at line 1, column 81: unable to decode byte 0xf4 near '\"Нет св'"},
	        {"\xd0",
	         "invalid JSON at line 1, column 81: unable to decode byte 0xd0 near '\"Нет св'"},
	        {"\xe0\x9f\xbf",
	         "invalid JSON at line 1, column 81: unable to decode byte 0xe0 near '\"Нет св'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "Нет св%sета", cases[i].bytes);
		char *doc = minimal_with(text, "");
		assert_bytes_rejected(doc, strlen(doc), "", cases[i].message);
		free(doc);
	}
}

static void test_nul(void **state)
{
	(void)state;
	/* A raw NUL byte inside a string, and the \u0000 escape, both stop at the parser. */
	static const char raw[] = "{\"text\":\"a\0b\"}";
	assert_bytes_rejected(
	        raw, sizeof(raw) - 1, "",
	        "invalid JSON at line 1, column 10: control character 0x0 near '\"a'");
	char *doc = minimal_with("a\\u0000b", "");
	assert_bytes_rejected(
	        doc, strlen(doc), "",
	        "invalid JSON at line 1, column 84: \\u0000 is not allowed without JSON_ALLOW_NUL "
	        "near '\"a\\u0000b\"'");

	/* A parser told to allow it hands over a string with a NUL: the decoder catches it. */
	json_t *obj = json_loads(doc, JSON_ALLOW_NUL, NULL);
	assert_non_null(obj);
	assert_json_rejected(obj, "text", "must not contain NUL characters");
	json_decref(obj);
	free(doc);

	/* len bounds the input: a NUL after it is not read; within it, it is rejected (jansson's
	 * reader takes it for the end of the input, with data left over). */
	static const char trailing[] = "{}\0garbage";
	assert_bytes_rejected(trailing, 2, "schema", "is required");
	assert_bytes_rejected(
	        trailing, sizeof(trailing) - 1, "",
	        "invalid JSON at line 1, column 3: end of file expected near end of file");
}

static void test_not_an_object(void **state)
{
	(void)state;
	assert_json_rejected(NULL, "", "must be a JSON object");
	json_t *arr = json_array();
	assert_json_rejected(arr, "", "must be a JSON object");
	json_decref(arr);
	json_t *str = json_string("message.v1");
	assert_json_rejected(str, "", "must be a JSON object");
	json_decref(str);
	assert_bytes_rejected(NULL, 0, "",
	                      "invalid JSON at line 1, column 0: '[' or '{' expected near end of "
	                      "file");
	assert_bytes_rejected(NULL, 5, "",
	                      "invalid JSON at line 1, column 0: '[' or '{' expected near end of "
	                      "file");
}

/* ---- deep nesting ---------------------------------------------------------------------- */

/* An array nested `depth` levels deep around 1, built in code. */
static json_t *deep_array(int depth)
{
	json_t *v = json_integer(1);
	for (int i = 0; i < depth; i++) {
		json_t *a = json_array();
		json_array_append_new(a, v);
		v = a;
	}
	return v;
}

static void test_deep_nesting(void **state)
{
	(void)state;
	/* 100000 brackets: the parser stops at its depth limit instead of exhausting the stack. */
	size_t n = 100000;
	char *brackets = xmalloc(n);
	memset(brackets, '[', n);
	assert_bytes_rejected(brackets, n, "",
	                      "invalid JSON at line 1, column 2049: maximum parsing depth reached "
	                      "near '['");
	memset(brackets, '{', n);
	assert_bytes_rejected(brackets, n, "",
	                      "invalid JSON at line 1, column 2: string or '}' expected near '{'");
	free(brackets);

	/* Deep but within the parser's limit, in an unknown member: accepted and ignored. */
	char *deep = xmalloc(2 * 2000 + 32);
	char *p = deep;
	memcpy(p, ",\"extension\":", 13);
	p += 13;
	memset(p, '[', 2000);
	p += 2000;
	*p++ = '1';
	memset(p, ']', 2000);
	p += 2000;
	*p = '\0';
	char *doc = minimal_with("Глубина 2000", deep);
	struct message m;
	struct field_error e;
	assert_int_equal(message_decode_bytes(doc, strlen(doc), &m, &e), 0);
	assert_string_equal(m.text, "Глубина 2000");
	message_clear(&m);
	free(doc);

	/* One level deeper in a known member, past the limit: an error. */
	memset(deep + 13, '[', 2100);
	deep[13 + 2100] = '\0';
	doc = minimal_with("x", deep);
	assert_bytes_rejected(doc, strlen(doc), "",
	                      "invalid JSON at line 1, column 2210: maximum parsing depth reached "
	                      "near '['");
	free(doc);
	free(deep);

	/* Built in code, deeper than any parser allows, where a scalar or an object belongs:
	 * rejected by type without descending into it. */
	struct message full;
	build_full(&full);
	json_t *obj = message_encode(&full);
	message_clear(&full);
	set_new(obj, "author", deep_array(5000));
	assert_json_rejected(obj, "author", "must be an object");
	json_object_del(obj, "author");
	set_new(json_object_get(obj, "thread"), "post_id", deep_array(5000));
	assert_json_rejected(obj, "thread.post_id", "must be a string or an integer");
	json_object_del(json_object_get(obj, "thread"), "post_id");
	json_array_append_new(json_object_get(obj, "links"), deep_array(5000));
	assert_json_rejected(obj, "links[1]", "must be a string");
	json_decref(obj);
}

/* ---- strings built in code ------------------------------------------------------------- */

static void test_strings_built_in_code(void **state)
{
	(void)state;
	struct message full;
	build_full(&full);
	json_t *base = message_encode(&full);
	message_clear(&full);

	json_t *obj = json_deep_copy(base);
	set_new(obj, "text", json_stringn_nocheck("Нет\xff", 7));
	assert_json_rejected(obj, "text", "must be valid UTF-8 (invalid byte at offset 6)");
	set_new(obj, "text", json_stringn("Нет\0света", 17));
	assert_json_rejected(obj, "text", "must not contain NUL characters");
	json_decref(obj);

	obj = json_deep_copy(base);
	set_new(json_object_get(obj, "author"), "name", json_string_nocheck("\xed\xa0\x80"));
	assert_json_rejected(obj, "author.name", "must be valid UTF-8 (invalid byte at offset 0)");
	json_decref(obj);

	obj = json_deep_copy(base);
	json_array_append_new(json_object_get(obj, "mentions"), json_string_nocheck("@\xc0\xaf"));
	assert_json_rejected(obj, "mentions[2]", "must be valid UTF-8 (invalid byte at offset 1)");
	json_decref(obj);

	obj = json_deep_copy(base);
	set_new(json_object_get(obj, "thread"), "post_id",
	        json_stringn("45\0"
	                     "12",
	                     5));
	assert_json_rejected(obj, "thread.post_id", "must not contain NUL characters");
	json_decref(obj);

	/* Member names of thread are checked too: a NUL or invalid UTF-8 in a key. */
	obj = json_deep_copy(base);
	json_object_setn_new_nocheck(json_object_get(obj, "thread"), "a\0b", 3, json_integer(1));
	assert_json_rejected(obj, "thread", "member names must be 1 to 64 bytes of valid UTF-8");
	json_decref(obj);
	obj = json_deep_copy(base);
	json_object_set_new_nocheck(json_object_get(obj, "thread"), "\xff", json_integer(1));
	assert_json_rejected(obj, "thread", "member names must be 1 to 64 bytes of valid UTF-8");
	json_decref(obj);

	/* A time with a NUL and junk after it. */
	obj = json_deep_copy(base);
	set_new(obj, "posted_at", json_stringn("2026-11-28T03:15:00Z\0x", 22));
	assert_json_rejected(obj, "posted_at",
	                     "must be an RFC 3339 time such as 2026-11-28T03:15:00Z");
	json_decref(obj);
	json_decref(base);
}

/* ---- limits on the other fields -------------------------------------------------------- */

static void test_other_limits(void **state)
{
	(void)state;
	struct message full;
	build_full(&full);
	json_t *base = message_encode(&full);
	message_clear(&full);

	char *s2048 = repeat("ю", 2048), *s2049 = repeat("ю", 2049);
	char *s1024 = repeat("д", 1024), *s1025 = repeat("д", 1025);
	char *s256 = repeat("@", 256), *s257 = repeat("@", 257);
	struct message m;
	struct field_error e;

	json_t *obj = json_deep_copy(base);
	set_new(obj, "url", json_string(s2048));
	assert_int_equal(message_decode(obj, &m, &e), 0);
	message_clear(&m);
	set_new(obj, "url", json_string(s2049));
	assert_json_rejected(obj, "url", "must be at most 2048 characters, got 2049");
	json_decref(obj);

	obj = json_deep_copy(base);
	set_new(json_object_get(obj, "location"), "address", json_string(s1024));
	assert_int_equal(message_decode(obj, &m, &e), 0);
	message_clear(&m);
	set_new(json_object_get(obj, "location"), "address", json_string(s1025));
	assert_json_rejected(obj, "location.address", "must be at most 1024 characters, got 1025");
	json_decref(obj);

	obj = json_deep_copy(base);
	json_array_append_new(json_object_get(obj, "links"), json_string(s2048));
	assert_int_equal(message_decode(obj, &m, &e), 0);
	message_clear(&m);
	json_array_append_new(json_object_get(obj, "links"), json_string(s2049));
	assert_json_rejected(obj, "links[2]", "must be at most 2048 characters, got 2049");
	json_decref(obj);

	obj = json_deep_copy(base);
	json_array_set_new(json_object_get(obj, "mentions"), 0, json_string(s256));
	assert_int_equal(message_decode(obj, &m, &e), 0);
	message_clear(&m);
	json_array_set_new(json_object_get(obj, "mentions"), 0, json_string(s257));
	assert_json_rejected(obj, "mentions[0]", "must be at most 256 characters, got 257");
	json_decref(obj);

	obj = json_deep_copy(base);
	set_new(json_object_get(obj, "community"), "name", json_string(s257));
	assert_json_rejected(obj, "community.name", "must be at most 256 characters, got 257");
	set_new(json_object_get(obj, "community"), "name", json_string(s256));
	set_new(json_object_get(obj, "community"), "id", json_string(s257));
	assert_json_rejected(obj, "community.id", "must be at most 256 characters, got 257");
	json_decref(obj);

	/* 64 links and mentions are accepted, 65 are not. */
	json_t *list = json_array();
	for (int i = 0; i < MESSAGE_MAX_LIST; i++)
		json_array_append_new(list, json_sprintf("https://vk.com/photo-1_%d", i));
	obj = json_deep_copy(base);
	json_object_set(obj, "links", list);
	json_object_set(obj, "mentions", list);
	assert_int_equal(message_decode(obj, &m, &e), 0);
	assert_int_equal(json_array_size(m.links), MESSAGE_MAX_LIST);
	message_clear(&m);
	json_array_append_new(list, json_string("https://vk.com/photo-1_64"));
	assert_json_rejected(obj, "links", "must have at most 64 items, got 65");
	json_object_del(obj, "links");
	assert_json_rejected(obj, "mentions", "must have at most 64 items, got 65");
	json_decref(obj);
	json_decref(list);

	/* 16 thread members are accepted. */
	obj = json_deep_copy(base);
	json_t *thread = json_object();
	for (int i = 0; i < 16; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		set_new(thread, key, json_integer(i));
	}
	set_new(obj, "thread", thread);
	assert_int_equal(message_decode(obj, &m, &e), 0);
	assert_int_equal(json_object_size(m.thread), 16);
	message_clear(&m);
	json_decref(obj);

	free(s2048);
	free(s2049);
	free(s1024);
	free(s1025);
	free(s256);
	free(s257);
	json_decref(base);
}

/* ---- encoding -------------------------------------------------------------------------- */

static void test_encode_minimal_exact(void **state)
{
	(void)state;
	struct message m;
	build_minimal(&m);
	char *s = encode_text(&m);
	/* Absent optional fields are left out, not written as null. */
	assert_string_equal(s, "{\"schema\":\"message.v1\",\"id\":\"rss:1\",\"source\":\"rss\","
	                       "\"external_id\":\"1\",\"text\":\"x\","
	                       "\"posted_at\":\"1970-01-01T00:00:00.000Z\","
	                       "\"received_at\":\"1970-01-01T00:00:00.001Z\"}");
	free(s);
	assert_round_trip(&m, "minimal");
	message_clear(&m);
}

static void test_encode_full_exact(void **state)
{
	(void)state;
	struct message m;
	build_full(&m);
	char *s = encode_text(&m);
	assert_string_equal(
	        s, "{\"schema\":\"message.v1\",\"id\":\"vk:-170000001_4512\",\"source\":\"vk\","
	           "\"external_id\":\"-170000001_4512\",\"kind\":\"post\","
	           "\"text\":\"Нет отопления, ул. Щетинкина 18, Абакан "
	           "🥶\","
	           "\"posted_at\":\"2026-11-28T03:15:00.000Z\","
	           "\"received_at\":\"2026-11-28T03:15:02.120Z\","
	           "\"url\":\"https://vk.com/wall-170000001_4512\","
	           "\"author\":{\"id\":\"id5550101\",\"name\":\"Ольга Сагалакова\"},"
	           "\"community\":{\"id\":\"-170000001\",\"name\":\"Абакан: жалобы\"},"
	           "\"location\":{\"address\":\"Абакан, ул. Щетинкина, "
	           "18\",\"lat\":53.719999999999999,"
	           "\"lon\":91.439999999999998},"
	           "\"links\":[\"https://abakan.ru/\"],\"mentions\":[\"@abakan_adm\",\"@gkh19\"],"
	           "\"thread\":{\"owner_id\":\"-170000001\",\"post_id\":\"4512\"}}");
	free(s);
	assert_round_trip(&m, "full");
	message_clear(&m);
}

static void test_encode_partial_objects(void **state)
{
	(void)state;
	struct message m;
	build_minimal(&m);
	m.author_name = xstrdup("Аноним");
	m.community_id = xstrdup("-1");
	m.has_coords = true;
	m.lat = -90;
	m.lon = 180;
	json_t *j = message_encode(&m);
	assert_int_equal(json_object_size(json_object_get(j, "author")), 1);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(j, "author"), "name")), "Аноним");
	assert_int_equal(json_object_size(json_object_get(j, "community")), 1);
	json_t *loc = json_object_get(j, "location");
	assert_int_equal(json_object_size(loc), 2);
	assert_null(json_object_get(loc, "address"));
	json_decref(j);
	assert_round_trip(&m, "partial coords");

	/* An address without coordinates writes no lat/lon. */
	m.has_coords = false;
	m.lat = m.lon = 0;
	m.address = xstrdup("Абакан");
	j = message_encode(&m);
	loc = json_object_get(j, "location");
	assert_int_equal(json_object_size(loc), 1);
	assert_string_equal(json_string_value(json_object_get(loc, "address")), "Абакан");
	json_decref(j);
	assert_round_trip(&m, "partial address");
	message_clear(&m);
}

static void test_round_trip_built(void **state)
{
	(void)state;
	struct message m;
	build_full(&m);
	/* Doubles that need all 17 digits, times before 1970 and at the ends of the range,
	 * thread integers beyond a double's precision, every kind. */
	static const double coords[][2] = {{53.72123456789012, 91.44123456789012},
	                                   {0.1 + 0.2, -0.0},
	                                   {-90, -180},
	                                   {90, 180},
	                                   {1e-300, -1e-300},
	                                   {53, 91}};
	static const int64_t times[] = {-62167219200000LL, -1, 0, 1795835702120LL,
	                                253402300799999LL};
	static const char *const kinds[] = {"post", "comment", "report", "message"};
	for (size_t i = 0; i < sizeof(coords) / sizeof(coords[0]); i++) {
		m.lat = coords[i][0];
		m.lon = coords[i][1];
		m.posted_at = times[i % 5];
		m.received_at = times[(i + 2) % 5];
		free(m.kind);
		m.kind = xstrdup(kinds[i % 4]);
		assert_round_trip(&m, "built");
	}
	json_decref(m.thread);
	m.thread = json_pack("{s:I, s:I, s:s}", "owner_id", (json_int_t)-170000001, "post_id",
	                     (json_int_t)9007199254740993LL, "comment_id", "");
	assert_round_trip(&m, "big thread integers");
	json_t *j = message_encode(&m);
	char *s = json_dumps(json_object_get(j, "thread"), JSON_COMPACT);
	assert_string_equal(
	        s, "{\"owner_id\":-170000001,\"post_id\":9007199254740993,\"comment_id\":\"\"}");
	free(s);
	json_decref(j);
	message_clear(&m);
}

static void test_clear(void **state)
{
	(void)state;
	message_clear(NULL);
	struct message m;
	build_full(&m);
	message_clear(&m);
	assert_cleared(&m);
	message_clear(&m);
	assert_cleared(&m);
}

/*
 * message_decode_bytes reads records of the usual shape on a fast path of its own and leaves
 * everything else to jansson + message_decode. Here both are run on the same bytes: the same
 * message, or the same error (field and message), for records of every member the fast path
 * reads and for every cut, deletion, doubling and replacement of one of their bytes.
 */
static void assert_paths_agree(const char *data, size_t len)
{
	struct message fast, slow;
	struct field_error fe = {0}, se = {0};
	json_error_t jerr;
	json_t *obj = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	int frc = message_decode_bytes(data, len, &fast, &fe), src;

	if (obj) {
		src = message_decode(obj, &slow, &se);
		json_decref(obj);
	} else {
		memset(&slow, 0, sizeof(slow));
		src = field_fail(&se, "", "invalid JSON at line %d, column %d: %s", jerr.line,
		                 jerr.column, jerr.text);
	}
	if (frc != src || strcmp(fe.field, se.field) || strcmp(fe.message, se.message))
		fail_msg("%.*s\n  fast: %d %s %s\n  jansson: %d %s %s", (int)len, data, frc,
		         fe.field, fe.message, src, se.field, se.message);
	const char *diff = message_diff(&fast, &slow);
	if (!diff && (fast.revision != slow.revision || !str_eq(fast.parent_id, slow.parent_id)))
		diff = "revision/parent_id";
	if (diff)
		fail_msg("%.*s\n  differs in %s", (int)len, data, diff);
	message_clear(&fast);
	message_clear(&slow);
}

static void test_fast_path_agrees(void **state)
{
	static const char *const records[] = {
	        "{\"schema\":\"message.v1\",\"id\":\"vk:1\",\"source\":\"vk\",\"external_id\":"
	        "\"1\","
	        "\"text\":\"Нет \\\"света\\\" \\\\ \\/ \\b\\f\\n\\r\\t на Ленина 45\","
	        "\"posted_at\":\"2026-11-28T00:00:00Z\",\"received_at\":\"2026-11-28T00:00:01.5+07:"
	        "00\","
	        "\"community\":{\"name\":\"Абакан\"},\"location\":{\"lat\":53.72,\"lon\":91}}",
	        " {\"text\" : \"é€😀\" "
	        ",\"schema\":\"message.v1\",\"received_at\":\"2026-11-28T00:00:01Z\",\r\n"
	        "\"posted_at\":\"2026-11-28T00:00:00Z\",\"kind\":\"comment\",\"revision\":7,"
	        "\"parent_id\":\"vk:0\",\"url\":\"\",\"id\":\"x\",\"source\":\"a.b-c_d\","
	        "\"external_id\":\"-1\",\"author\":{\"id\":\"7\",\"name\":null},"
	        "\"community\":{},\"location\":{\"address\":\"ул. Мира, 1\",\"lat\":-0.0,"
	        "\"lon\":-1.5e2}}\t",
	        "{\"schema\":\"message.v1\",\"id\":\"i\",\"source\":\"s\",\"external_id\":\"e\","
	        "\"kind\":null,\"revision\":null,\"text\":\"t\",\"posted_at\":\"2026-01-01T00:00:"
	        "00Z\","
	        "\"received_at\":\"2026-01-01T00:00:00Z\",\"location\":{\"lat\":-90,\"lon\":180.0},"
	        "\"author\":{\"name\":\"\\u0410\"}}",
	};
	/* JSON's own characters, and bytes that start, continue or break UTF-8 sequences. */
	static const char replacements[] = "\"\\{}[],: 0-.eEn+\x01\x7f\xff\xd0\xc1\xc2\x80\xbf"
	                                   "\xe0\xed\xf0\xf4"
	                                   "a/";
	char buf[1024];

	(void)state;
	for (size_t r = 0; r < sizeof(records) / sizeof(records[0]); r++) {
		const char *rec = records[r];
		size_t len = strlen(rec);
		assert_true(len < sizeof(buf) - 1);
		assert_paths_agree(rec, len);
		for (size_t i = 0; i <= len; i++) {
			assert_paths_agree(rec, i); /* cut */
			if (i == len)
				break;
			memcpy(buf, rec, i); /* deleted */
			memcpy(buf + i, rec + i + 1, len - i - 1);
			assert_paths_agree(buf, len - 1);
			memcpy(buf, rec, i + 1); /* doubled */
			memcpy(buf + i + 1, rec + i, len - i);
			assert_paths_agree(buf, len + 1);
			memcpy(buf, rec, len); /* replaced */
			for (size_t k = 0; k < sizeof(replacements) - 1; k++) {
				buf[i] = replacements[k];
				assert_paths_agree(buf, len);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_good_corpus),
	        cmocka_unit_test(test_bad_corpus),
	        cmocka_unit_test(test_decode_every_field),
	        cmocka_unit_test(test_decode_owns_its_data),
	        cmocka_unit_test(test_wrong_types_every_field),
	        cmocka_unit_test(test_text_length_limit),
	        cmocka_unit_test(test_text_scripts),
	        cmocka_unit_test(test_invalid_utf8_raw_bytes),
	        cmocka_unit_test(test_nul),
	        cmocka_unit_test(test_not_an_object),
	        cmocka_unit_test(test_deep_nesting),
	        cmocka_unit_test(test_strings_built_in_code),
	        cmocka_unit_test(test_other_limits),
	        cmocka_unit_test(test_encode_minimal_exact),
	        cmocka_unit_test(test_encode_full_exact),
	        cmocka_unit_test(test_encode_partial_objects),
	        cmocka_unit_test(test_round_trip_built),
	        cmocka_unit_test(test_clear),
	        cmocka_unit_test(test_fast_path_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
