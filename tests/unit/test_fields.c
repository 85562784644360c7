/*
 * Unit tests for shared/fields: the typed readers whose errors name the field (the UTF-8 checks
 * they rely on are tested in test_utf8.c). Every error case checks the exact field and message,
 * since those go verbatim into HTTP error bodies and dead-letter reasons.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fields.h"

static void assert_error(const struct field_error *e, const char *field, const char *message)
{
	assert_string_equal(e->field, field);
	assert_string_equal(e->message, message);
}

/* Parses a JSON text that the test itself writes; fails the test if it does not parse. */
static json_t *obj_from(const char *text)
{
	json_error_t jerr;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
	return o;
}

/* {"name": value}, taking ownership of value. */
static json_t *obj_with(const char *name, json_t *value)
{
	assert_non_null(value);
	json_t *o = json_object();
	assert_int_equal(json_object_set_new(o, name, value), 0);
	return o;
}

/* ---- field_fail ------------------------------------------------------------------------ */

static void test_field_fail(void **state)
{
	(void)state;
	struct field_error e;
	assert_int_equal(field_fail(&e, "location.lat", "must be between %d and %d", -90, 90), -1);
	assert_error(&e, "location.lat", "must be between -90 and 90");
	assert_int_equal(field_fail(&e, NULL, "bad %s", "input"), -1);
	assert_error(&e, "", "bad input");
	assert_int_equal(field_fail(NULL, "x", "ignored"), -1);
}

static void test_field_fail_truncates_to_valid_utf8(void **state)
{
	(void)state;
	struct field_error e;
	char longf[300];
	memset(longf, 'f', sizeof(longf) - 1);
	longf[sizeof(longf) - 1] = '\0';
	field_fail(&e, longf, "x");
	assert_int_equal(strlen(e.field), sizeof(e.field) - 1);

	/* 100 Cyrillic letters are 200 bytes: cut at 159 bytes, in the middle of a letter, and
	 * then back to the last whole letter. */
	char cyr[256] = "";
	for (int i = 0; i < 100; i++)
		strcat(cyr, "ж");
	field_fail(&e, cyr, "%s", cyr);
	assert_int_equal(strlen(e.message), 158);
	assert_int_equal(utf8_invalid_at(e.message, strlen(e.message)), -1);
	assert_int_equal(strlen(e.field), 94);
	assert_int_equal(utf8_invalid_at(e.field, strlen(e.field)), -1);

	/* Invalid bytes in what is formatted (a parser's excerpt of bad input) are cut off. */
	field_fail(&e, "", "near '%s'", "ab\xff\xfe");
	assert_string_equal(e.message, "near 'ab");
}

/* ---- field_string ---------------------------------------------------------------------- */

static void test_string_ok(void **state)
{
	(void)state;
	struct field_error e;
	json_t *o = obj_from("{\"name\":\"Иван Петров\",\"empty\":\"\",\"nil\":null}");
	const char *s = (const char *)1;
	assert_int_equal(field_string(o, "author", "name", true, 11, &s, &e), 0);
	assert_string_equal(s, "Иван Петров");
	/* Borrowed: the very bytes held by the JSON value. */
	assert_ptr_equal(s, json_string_value(json_object_get(o, "name")));

	assert_int_equal(field_string(o, "", "missing", false, 0, &s, &e), 0);
	assert_null(s);
	assert_int_equal(field_string(o, "", "nil", false, 0, &s, &e), 0);
	assert_null(s);
	/* Empty is an error only for required strings. */
	assert_int_equal(field_string(o, "", "empty", false, 0, &s, &e), 0);
	assert_string_equal(s, "");
	json_decref(o);
}

static void test_string_required(void **state)
{
	(void)state;
	struct field_error e;
	const char *s;
	json_t *o = obj_from("{\"nil\":null,\"empty\":\"\"}");
	assert_int_equal(field_string(o, "", "text", true, 0, &s, &e), -1);
	assert_error(&e, "text", "is required");
	assert_null(s);
	assert_int_equal(field_string(o, "author", "nil", true, 0, &s, &e), -1);
	assert_error(&e, "author.nil", "is required");
	assert_int_equal(field_string(o, NULL, "empty", true, 0, &s, &e), -1);
	assert_error(&e, "empty", "must not be empty");
	/* Not an object: it has no members. */
	json_t *arr = json_array();
	assert_int_equal(field_string(arr, "", "text", true, 0, &s, &e), -1);
	assert_error(&e, "text", "is required");
	assert_int_equal(field_string(NULL, "", "text", true, 0, &s, &e), -1);
	assert_error(&e, "text", "is required");
	json_decref(arr);
	json_decref(o);
}

static void test_string_wrong_types(void **state)
{
	(void)state;
	static const char *const values[] = {"1", "1.5", "true", "false", "{}", "[]", "[\"a\"]"};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "{\"name\":%s}", values[i]);
		json_t *o = obj_from(text);
		struct field_error e;
		const char *s;
		assert_int_equal(field_string(o, "community", "name", false, 0, &s, &e), -1);
		assert_error(&e, "community.name", "must be a string");
		json_decref(o);
	}
}

static void test_string_nul_and_utf8(void **state)
{
	(void)state;
	struct field_error e;
	const char *s;
	/* json_stringn accepts an embedded NUL (it is valid UTF-8 to jansson). */
	json_t *o = obj_with("text", json_stringn("a\0b", 3));
	assert_int_equal(field_string(o, "", "text", true, 0, &s, &e), -1);
	assert_error(&e, "text", "must not contain NUL characters");
	json_decref(o);

	/* json_stringn_nocheck stores whatever it is given. */
	o = obj_with("text", json_stringn_nocheck("Да\xff", 5));
	assert_int_equal(field_string(o, "", "text", true, 0, &s, &e), -1);
	assert_error(&e, "text", "must be valid UTF-8 (invalid byte at offset 4)");
	json_decref(o);

	o = obj_with("name", json_string_nocheck("\xed\xa0\x80"));
	assert_int_equal(field_string(o, "author", "name", false, 0, &s, &e), -1);
	assert_error(&e, "author.name", "must be valid UTF-8 (invalid byte at offset 0)");
	json_decref(o);
}

static void test_string_length_in_code_points(void **state)
{
	(void)state;
	struct field_error e;
	const char *s;
	/* 6 code points, 12 bytes: the limit counts code points. */
	json_t *o = obj_from("{\"t\":\"Привет\",\"emoji\":\"🔥🔥🔥\"}");
	assert_int_equal(field_string(o, "", "t", true, 6, &s, &e), 0);
	assert_int_equal(field_string(o, "", "t", true, 5, &s, &e), -1);
	assert_error(&e, "t", "must be at most 5 characters, got 6");
	assert_int_equal(field_string(o, "", "emoji", true, 3, &s, &e), 0);
	assert_int_equal(field_string(o, "", "emoji", true, 2, &s, &e), -1);
	assert_error(&e, "emoji", "must be at most 2 characters, got 3");
	json_decref(o);
}

/* ---- jansson behaviour this module relies on --------------------------------------------- */

static void test_jansson_assumptions(void **state)
{
	(void)state;
	json_error_t jerr;
	/* The parser rejects invalid UTF-8 and, by default, the \u0000 escape. */
	assert_null(json_loads("{\"a\":\"\xff\"}", 0, &jerr));
	assert_null(json_loads("{\"a\":\"\xc0\x80\"}", 0, &jerr));
	assert_null(json_loads("{\"a\":\"\\u0000\"}", 0, &jerr));
	assert_null(json_loads("{\"a\":\"\\ud800\"}", 0, &jerr));
	/* json_string checks UTF-8; the _nocheck and counted variants are what fields.c guards. */
	assert_null(json_string("\xff"));

	/* With JSON_ALLOW_NUL the escape gets through, and field_string catches it. */
	json_t *o = json_loads("{\"a\":\"x\\u0000y\"}", JSON_ALLOW_NUL, &jerr);
	assert_non_null(o);
	assert_int_equal(json_string_length(json_object_get(o, "a")), 3);
	struct field_error e;
	const char *s;
	assert_int_equal(field_string(o, "", "a", true, 0, &s, &e), -1);
	assert_error(&e, "a", "must not contain NUL characters");
	json_decref(o);
}

/* ---- field_time ------------------------------------------------------------------------ */

static void test_time(void **state)
{
	(void)state;
	struct field_error e;
	int64_t ms = 0;
	bool present = false;
	json_t *o = obj_from("{\"posted_at\":\"2026-11-28T13:20:57.5+07:00\",\"n\":5,"
	                     "\"bad\":\"28.11.2026 13:20\",\"nil\":null,\"date\":\"2026-11-28\"}");
	assert_int_equal(field_time(o, "", "posted_at", true, &ms, &present, &e), 0);
	assert_int_equal(ms, 1795846857500LL);
	assert_true(present);
	assert_int_equal(field_time(o, "", "posted_at", true, &ms, NULL, &e), 0);

	assert_int_equal(field_time(o, "", "edited_at", false, &ms, &present, &e), 0);
	assert_false(present);
	assert_int_equal(field_time(o, "", "nil", false, &ms, &present, &e), 0);
	assert_false(present);
	assert_int_equal(field_time(o, "", "received_at", true, &ms, &present, &e), -1);
	assert_error(&e, "received_at", "is required");
	assert_int_equal(field_time(o, "x", "n", true, &ms, &present, &e), -1);
	assert_error(&e, "x.n", "must be a string");
	assert_int_equal(field_time(o, "", "bad", true, &ms, &present, &e), -1);
	assert_error(&e, "bad", "must be an RFC 3339 time such as 2026-11-28T03:15:00Z");
	assert_int_equal(field_time(o, "", "date", true, &ms, &present, &e), -1);
	assert_error(&e, "date", "must be an RFC 3339 time such as 2026-11-28T03:15:00Z");
	json_decref(o);

	/* A valid time followed by an embedded NUL and garbage is not a valid time. */
	o = obj_with("at", json_stringn("2026-11-28T06:20:57Z\0junk", 25));
	assert_int_equal(field_time(o, "", "at", true, &ms, &present, &e), -1);
	assert_error(&e, "at", "must be an RFC 3339 time such as 2026-11-28T03:15:00Z");
	json_decref(o);
}

/* ---- field_number and field_integer ---------------------------------------------------- */

static void test_number(void **state)
{
	(void)state;
	struct field_error e;
	double d = 0;
	bool present = false;
	json_t *o = obj_from("{\"lat\":53.72,\"int\":53,\"lo\":-90,\"hi\":90,\"over\":90.0001,"
	                     "\"str\":\"53.7\",\"bool\":true,\"nil\":null,\"arr\":[1]}");
	assert_int_equal(field_number(o, "location", "lat", true, -90, 90, &d, &present, &e), 0);
	assert_true(d == 53.72);
	assert_true(present);
	assert_int_equal(field_number(o, "location", "int", true, -90, 90, &d, &present, &e), 0);
	assert_true(d == 53.0);
	assert_int_equal(field_number(o, "", "lo", true, -90, 90, &d, NULL, &e), 0);
	assert_true(d == -90.0);
	assert_int_equal(field_number(o, "", "hi", true, -90, 90, &d, NULL, &e), 0);
	assert_true(d == 90.0);

	assert_int_equal(field_number(o, "location", "over", true, -90, 90, &d, &present, &e), -1);
	assert_error(&e, "location.over", "must be between -90 and 90");
	assert_int_equal(field_number(o, "location", "str", true, -90, 90, &d, &present, &e), -1);
	assert_error(&e, "location.str", "must be a number");
	assert_int_equal(field_number(o, "", "bool", true, -90, 90, &d, &present, &e), -1);
	assert_error(&e, "bool", "must be a number");
	assert_int_equal(field_number(o, "", "arr", true, -90, 90, &d, &present, &e), -1);
	assert_error(&e, "arr", "must be a number");
	assert_int_equal(field_number(o, "", "nil", false, -90, 90, &d, &present, &e), 0);
	assert_false(present);
	assert_int_equal(field_number(o, "location", "lon", true, -180, 180, &d, &present, &e), -1);
	assert_error(&e, "location.lon", "is required");
	json_decref(o);
}

static void test_integer(void **state)
{
	(void)state;
	struct field_error e;
	int64_t i = 0;
	bool present = false;
	json_t *o = obj_from("{\"n\":7,\"real\":7.0,\"big\":9223372036854775807,"
	                     "\"small\":-9223372036854775808,\"str\":\"7\"}");
	assert_int_equal(field_integer(o, "", "n", true, 1, 10, &i, &present, &e), 0);
	assert_int_equal(i, 7);
	assert_true(present);
	assert_int_equal(field_integer(o, "", "big", true, INT64_MIN, INT64_MAX, &i, NULL, &e), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(field_integer(o, "", "small", true, INT64_MIN, INT64_MAX, &i, NULL, &e),
	                 0);
	assert_true(i == INT64_MIN);

	assert_int_equal(field_integer(o, "", "n", true, 8, 10, &i, &present, &e), -1);
	assert_error(&e, "n", "must be between 8 and 10");
	assert_int_equal(field_integer(o, "q", "real", true, 1, 10, &i, &present, &e), -1);
	assert_error(&e, "q.real", "must be an integer");
	assert_int_equal(field_integer(o, "", "str", true, 1, 10, &i, &present, &e), -1);
	assert_error(&e, "str", "must be an integer");
	assert_int_equal(field_integer(o, "", "big", true, 0, INT64_MAX - 1, &i, &present, &e), -1);
	assert_error(&e, "big", "must be between 0 and 9223372036854775806");
	assert_int_equal(field_integer(o, "", "none", false, 1, 10, &i, &present, &e), 0);
	assert_false(present);
	assert_int_equal(field_integer(o, "", "none", true, 1, 10, &i, &present, &e), -1);
	assert_error(&e, "none", "is required");
	json_decref(o);
}

/* ---- field_object ---------------------------------------------------------------------- */

static void test_object(void **state)
{
	(void)state;
	struct field_error e;
	const json_t *out = (const json_t *)1;
	json_t *o = obj_from("{\"author\":{\"id\":\"1\"},\"arr\":[],\"s\":\"x\",\"nil\":null}");
	assert_int_equal(field_object(o, "", "author", true, &out, &e), 0);
	assert_ptr_equal(out, json_object_get(o, "author"));
	assert_int_equal(field_object(o, "", "missing", false, &out, &e), 0);
	assert_null(out);
	assert_int_equal(field_object(o, "", "nil", false, &out, &e), 0);
	assert_null(out);
	assert_int_equal(field_object(o, "", "missing", true, &out, &e), -1);
	assert_error(&e, "missing", "is required");
	assert_int_equal(field_object(o, "a", "arr", false, &out, &e), -1);
	assert_error(&e, "a.arr", "must be an object");
	assert_int_equal(field_object(o, "", "s", false, &out, &e), -1);
	assert_error(&e, "s", "must be an object");
	json_decref(o);
}

/* ---- field_string_array ---------------------------------------------------------------- */

static void test_string_array(void **state)
{
	(void)state;
	struct field_error e;
	const json_t *out = (const json_t *)1;
	json_t *o = obj_from("{\"links\":[\"https://vk.com/wall-1_2\",\"https://t.me/abakan/5\"],"
	                     "\"empty\":[],\"nil\":null,\"str\":\"https://x\",\"obj\":{},"
	                     "\"four\":[\"a\",\"b\",\"c\",\"d\"],\"mixed\":[\"a\",\"b\",3],"
	                     "\"blank\":[\"a\",\"\"],\"long\":[\"@Абакан\"],\"nested\":[[\"a\"]]}");
	assert_int_equal(field_string_array(o, "", "links", 2, 0, &out, &e), 0);
	assert_ptr_equal(out, json_object_get(o, "links"));
	assert_int_equal(field_string_array(o, "", "empty", 2, 0, &out, &e), 0);
	assert_ptr_equal(out, json_object_get(o, "empty"));
	assert_int_equal(field_string_array(o, "", "missing", 2, 0, &out, &e), 0);
	assert_null(out);
	assert_int_equal(field_string_array(o, "", "nil", 2, 0, &out, &e), 0);
	assert_null(out);
	/* max_items 0: no limit. */
	assert_int_equal(field_string_array(o, "", "four", 0, 0, &out, &e), 0);

	assert_int_equal(field_string_array(o, "", "str", 8, 0, &out, &e), -1);
	assert_error(&e, "str", "must be an array of strings");
	assert_null(out);
	assert_int_equal(field_string_array(o, "", "obj", 8, 0, &out, &e), -1);
	assert_error(&e, "obj", "must be an array of strings");
	assert_int_equal(field_string_array(o, "", "four", 3, 0, &out, &e), -1);
	assert_error(&e, "four", "must have at most 3 items, got 4");
	assert_int_equal(field_string_array(o, "", "mixed", 8, 0, &out, &e), -1);
	assert_error(&e, "mixed[2]", "must be a string");
	assert_int_equal(field_string_array(o, "", "nested", 8, 0, &out, &e), -1);
	assert_error(&e, "nested[0]", "must be a string");
	assert_int_equal(field_string_array(o, "", "blank", 8, 0, &out, &e), -1);
	assert_error(&e, "blank[1]", "must not be empty");
	assert_int_equal(field_string_array(o, "msg", "long", 8, 6, &out, &e), -1);
	assert_error(&e, "msg.long[0]", "must be at most 6 characters, got 7");
	json_decref(o);

	json_t *arr = json_array();
	json_array_append_new(arr, json_string("ok"));
	json_array_append_new(arr, json_stringn("a\0b", 3));
	o = obj_with("mentions", arr);
	assert_int_equal(field_string_array(o, "", "mentions", 8, 0, &out, &e), -1);
	assert_error(&e, "mentions[1]", "must not contain NUL characters");
	json_array_set_new(arr, 1, json_string_nocheck("\xf0\x9f\x98"));
	assert_int_equal(field_string_array(o, "", "mentions", 8, 0, &out, &e), -1);
	assert_error(&e, "mentions[1]", "must be valid UTF-8 (invalid byte at offset 0)");
	json_decref(o);
}

/* ---- field_schema ---------------------------------------------------------------------- */

static void test_schema(void **state)
{
	(void)state;
	struct field_error e;
	json_t *o = obj_from("{\"schema\":\"message.v1\"}");
	assert_int_equal(field_schema(o, "message.v1", &e), 0);
	assert_int_equal(field_schema(o, "message.v2", &e), -1);
	assert_error(&e, "schema", "must be \"message.v2\"");
	json_decref(o);

	static const char *const bad[] = {"{\"schema\":\"Message.v1\"}",
	                                  "{\"schema\":\"message.v1 \"}",
	                                  "{\"schema\":\"message\"}", "{\"schema\":\"\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = obj_from(bad[i]);
		assert_int_equal(field_schema(o, "message.v1", &e), -1);
		assert_error(&e, "schema", "must be \"message.v1\"");
		json_decref(o);
	}

	o = obj_with("schema", json_stringn("message.v1\0x", 12));
	assert_int_equal(field_schema(o, "message.v1", &e), -1);
	assert_error(&e, "schema", "must be \"message.v1\"");
	json_decref(o);

	o = obj_from("{\"schema\":1}");
	assert_int_equal(field_schema(o, "message.v1", &e), -1);
	assert_error(&e, "schema", "must be a string");
	json_decref(o);
	o = obj_from("{\"schema\":null}");
	assert_int_equal(field_schema(o, "message.v1", &e), -1);
	assert_error(&e, "schema", "is required");
	json_decref(o);
	o = obj_from("{}");
	assert_int_equal(field_schema(o, "message.v1", &e), -1);
	assert_error(&e, "schema", "is required");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_field_fail),
	        cmocka_unit_test(test_field_fail_truncates_to_valid_utf8),
	        cmocka_unit_test(test_string_ok),
	        cmocka_unit_test(test_string_required),
	        cmocka_unit_test(test_string_wrong_types),
	        cmocka_unit_test(test_string_nul_and_utf8),
	        cmocka_unit_test(test_string_length_in_code_points),
	        cmocka_unit_test(test_jansson_assumptions),
	        cmocka_unit_test(test_time),
	        cmocka_unit_test(test_number),
	        cmocka_unit_test(test_integer),
	        cmocka_unit_test(test_object),
	        cmocka_unit_test(test_string_array),
	        cmocka_unit_test(test_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
