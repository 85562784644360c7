/*
 * Unit tests of the incident_event.v1 codec: a full record round-trips exactly, every type name
 * parses back, what a type requires (the authority of an assignment, the answer of a response)
 * is enforced, and every kind of bad record is refused naming its field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "incident_event.h"
#include "xalloc.h"

static const char good[] =
        "{\"schema\":\"incident_event.v1\",\"event_id\":\"assigner:1729\","
        "\"type\":\"incident.responded\",\"incident_id\":42,"
        "\"occurred_at\":\"2026-11-28T03:15:04.210Z\","
        "\"incident\":{\"id\":42,\"status\":\"responded\",\"topic\":\"housing\","
        "\"subtopic\":\"housing.heating\",\"municipality\":\"abakan\",\"urgency\":\"high\","
        "\"summary\":\"Третий день нет отопления\",\"reports\":3,\"affected\":3,"
        "\"opened_at\":\"2026-11-28T03:15:02.120Z\"},"
        "\"authority\":{\"id\":\"abakan_gkh\",\"name\":\"Управление ЖКХ\","
        "\"parent\":\"abakan_admin\",\"channels\":[{\"type\":\"email\","
        "\"address\":\"gkh@abakan.example\"},{\"type\":\"telegram\",\"chat_id\":-100200300},"
        "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:8089/hooks/gkh\"},"
        "{\"type\":\"pigeon\"}]},"
        "\"parent_authority\":null,\"previous_authority\":null,"
        "\"answer\":{\"kind\":\"final\",\"text\":\"Отопление восстановлено\","
        "\"author\":\"Диспетчер\",\"at\":\"2026-11-28T05:00:00Z\"},\"feedback\":null,"
        "\"reports\":[{\"message_id\":\"vk:-1_2\",\"source\":\"vk\",\"external_id\":\"-1_2\","
        "\"url\":\"https://vk.com/wall-1_2\",\"thread\":{\"owner_id\":\"-1\",\"post_id\":\"2\"}}]}";

static void test_round_trip(void **state)
{
	struct incident_event ev, again;
	struct field_error e;
	(void)state;

	assert_int_equal(incident_event_decode_bytes(good, strlen(good), &ev, &e), 0);
	assert_string_equal(ev.event_id, "assigner:1729");
	assert_int_equal(ev.type, INCIDENT_RESPONDED);
	assert_int_equal(ev.incident_id, 42);
	assert_null(ev.parent_authority);
	assert_null(ev.feedback);
	assert_string_equal(json_string_value(json_object_get(ev.answer, "text")),
	                    "Отопление восстановлено");
	assert_int_equal(json_array_size(ev.reports), 1);
	char *key = incident_event_key(&ev);
	assert_string_equal(key, "42");
	free(key);

	json_t *enc = incident_event_encode(&ev);
	char *text = json_dumps(enc, JSON_COMPACT);
	assert_int_equal(incident_event_decode_bytes(text, strlen(text), &again, &e), 0);
	json_t *enc2 = incident_event_encode(&again);
	assert_true(json_equal(enc, enc2));
	/* The original bytes and the re-encoding say the same thing. */
	json_t *orig = json_loads(good, 0, NULL);
	assert_true(json_equal(orig, enc));
	json_decref(orig);
	json_decref(enc);
	json_decref(enc2);
	free(text);
	incident_event_clear(&again);
	incident_event_clear(&ev);
}

static void test_type_names(void **state)
{
	(void)state;
	for (int t = 0; t < INCIDENT_EVENT_TYPES; t++) {
		const char *name = incident_event_type_name((enum incident_event_type)t);
		assert_non_null(name);
		assert_int_equal(incident_event_type_parse(name), t);
	}
	assert_null(incident_event_type_name(INCIDENT_EVENT_TYPES));
	assert_int_equal(incident_event_type_parse("incident.exploded"), -1);
	assert_int_equal(incident_event_type_parse(NULL), -1);
}

/* Replaces the first occurrence of `from` in the good record and expects `field` refused. */
static void expect_bad(const char *from, const char *to, const char *field)
{
	const char *at = strstr(good, from);
	assert_non_null(at);
	char *bad = xasprintf("%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	struct incident_event ev;
	struct field_error e;
	if (incident_event_decode_bytes(bad, strlen(bad), &ev, &e) == 0)
		fail_msg("accepted: %s", bad);
	if (strcmp(e.field, field) != 0)
		fail_msg("want field %s, got %s (%s) for %s", field, e.field, e.message, bad);
	assert_null(ev.event_id);
	free(bad);
}

static void test_bad_records_name_the_field(void **state)
{
	(void)state;
	expect_bad("incident_event.v1", "incident_event.v2", "schema");
	expect_bad("\"event_id\":\"assigner:1729\",", "", "event_id");
	expect_bad("\"incident.responded\"", "\"incident.exploded\"", "type");
	expect_bad("\"incident_id\":42", "\"incident_id\":0", "incident_id");
	expect_bad("\"occurred_at\":\"2026-11-28T03:15:04.210Z\"", "\"occurred_at\":1764299704",
	           "occurred_at");
	expect_bad("{\"id\":42,", "{\"id\":43,", "incident.id");
	expect_bad("\"status\":\"responded\"", "\"status\":\"lost\"", "incident.status");
	expect_bad("\"urgency\":\"high\"", "\"urgency\":\"panic\"", "incident.urgency");
	expect_bad("\"opened_at\":\"2026-11-28T03:15:02.120Z\"", "\"opened_at\":null",
	           "incident.opened_at");
	/* A response needs the authority and the answer. */
	expect_bad("\"authority\":{", "\"authority\":null,\"x\":{", "authority");
	expect_bad("\"answer\":{", "\"answer\":null,\"x\":{", "answer");
	expect_bad("\"kind\":\"final\"", "\"kind\":\"draft\"", "answer.kind");
	expect_bad("\"text\":\"Отопление восстановлено\",", "", "answer.text");
	expect_bad("\"name\":\"Управление ЖКХ\"", "\"name\":7", "authority.name");
	expect_bad("\"address\":\"gkh@abakan.example\"", "\"address\":\"\"",
	           "authority.channels[0].address");
	expect_bad("\"chat_id\":-100200300", "\"chat_id\":[1]", "authority.channels[1].chat_id");
	expect_bad("\"url\":\"http://127.0.0.1:8089/hooks/gkh\"", "\"uri\":\"x\"",
	           "authority.channels[2].url");
	expect_bad("{\"type\":\"pigeon\"}", "\"pigeon\"", "authority.channels[3]");
	expect_bad("\"source\":\"vk\",", "", "reports[0].source");
	expect_bad("\"thread\":{\"owner_id\":\"-1\",\"post_id\":\"2\"}", "\"thread\":[1]",
	           "reports[0].thread");
}

/* What each type requires beyond the common members. */
static void test_type_requirements(void **state)
{
	(void)state;
	expect_bad("\"incident.responded\"", "\"incident.reassigned\"", "previous_authority");
	expect_bad("\"incident.responded\"", "\"incident.escalated\"", "parent_authority");
	expect_bad("\"incident.responded\"", "\"incident.feedback\"", "feedback");

	/* A created incident in moderation has no authority and no answer: both may be null. */
	json_t *obj = json_loads(good, 0, NULL);
	json_object_set_new(obj, "type", json_string("incident.created"));
	json_object_set_new(obj, "authority", json_null());
	json_object_del(obj, "answer");
	struct incident_event ev;
	struct field_error e;
	if (incident_event_decode(obj, &ev, &e) != 0)
		fail_msg("%s: %s", e.field, e.message);
	assert_int_equal(ev.type, INCIDENT_CREATED);
	assert_null(ev.authority);
	assert_null(ev.answer);
	incident_event_clear(&ev);
	json_decref(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_type_names),
	        cmocka_unit_test(test_bad_records_name_the_field),
	        cmocka_unit_test(test_type_requirements),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
