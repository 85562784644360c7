/*
 * Unit tests of the classified.v1 codec: a full record round-trips exactly, the Kafka key groups
 * by municipality and topic, and every kind of bad record is refused naming its field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "classified.h"
#include "xalloc.h"

static const char good[] =
        "{\"schema\":\"classified.v1\","
        "\"message\":{\"schema\":\"message.v1\",\"id\":\"vk:-1_2\",\"source\":\"vk\","
        "\"external_id\":\"-1_2\",\"text\":\"Третий день нет отопления в Черногорске\","
        "\"posted_at\":\"2026-11-28T03:15:00Z\",\"received_at\":\"2026-11-28T03:15:02Z\"},"
        "\"classification\":{\"incident\":true,\"incident_score\":0.97,\"topic\":\"housing\","
        "\"topic_score\":0.875,\"subtopic\":\"housing.heating\","
        "\"scores\":{\"housing\":0.875,\"roads\":0.125},\"municipality\":\"chernogorsk\","
        "\"municipality_method\":\"text\",\"municipality_confidence\":0.9,"
        "\"municipality_ambiguous\":false,\"municipality_evidence\":[\"в Черногорске\"],"
        "\"municipality_candidates\":[],\"urgency\":\"high\",\"urgency_terms\":[\"нет "
        "отопления\"],\"top_features\":[{\"feature\":\"stem:отоплен\",\"weight\":0.42}],"
        "\"model_version\":\"9f1c00aa12345678\",\"classified_at\":\"2026-11-28T03:15:03.250Z\"}}";

static void test_round_trip(void **state)
{
	struct classified r, again;
	struct field_error e;
	(void)state;

	assert_int_equal(classified_decode_bytes(good, strlen(good), &r, &e), 0);
	assert_true(r.c.incident);
	assert_string_equal(r.c.topic, "housing");
	assert_string_equal(r.c.municipality, "chernogorsk");
	assert_string_equal(r.message.id, "vk:-1_2");
	char *key = classified_key(&r);
	assert_string_equal(key, "chernogorsk|housing");
	free(key);

	json_t *enc = classified_encode(&r);
	char *text = json_dumps(enc, JSON_COMPACT);
	assert_int_equal(classified_decode_bytes(text, strlen(text), &again, &e), 0);
	json_t *enc2 = classified_encode(&again);
	assert_true(json_equal(enc, enc2));
	json_decref(enc);
	json_decref(enc2);
	free(text);
	classified_clear(&again);

	/* Unresolved municipality: null in JSON, "-" in the key. */
	free(r.c.municipality);
	r.c.municipality = NULL;
	key = classified_key(&r);
	assert_string_equal(key, "-|housing");
	free(key);
	enc = classified_encode(&r);
	assert_true(json_is_null(
	        json_object_get(json_object_get(enc, "classification"), "municipality")));
	json_decref(enc);
	classified_clear(&r);
}

/* scores and top_features given as plain values (classified.h) are encoded as the JSON members
 * would be; the JSON members, when set, win. */
static void test_encode_values(void **state)
{
	struct classified r;
	struct field_error e;
	(void)state;

	assert_int_equal(classified_decode_bytes(good, strlen(good), &r, &e), 0);
	json_t *want = classified_encode(&r);
	json_decref(r.c.scores);
	json_decref(r.c.top_features);
	r.c.scores = r.c.top_features = NULL;
	r.c.values.ntopics = 2;
	r.c.values.topic[0] = "housing";
	r.c.values.score[0] = 0.875;
	r.c.values.topic[1] = "roads";
	r.c.values.score[1] = 0.125;
	r.c.values.nfeatures = 1;
	strcpy(r.c.values.feature[0], "stem:отоплен");
	r.c.values.weight[0] = 0.42;
	json_t *got = classified_encode(&r);
	assert_true(json_equal(got, want));
	json_decref(got);

	/* None: an empty object and an empty array. */
	r.c.values.ntopics = r.c.values.nfeatures = 0;
	got = classified_encode(&r);
	json_t *k = json_object_get(got, "classification");
	assert_int_equal(json_object_size(json_object_get(k, "scores")), 0);
	assert_true(json_is_object(json_object_get(k, "scores")));
	assert_int_equal(json_array_size(json_object_get(k, "top_features")), 0);
	assert_true(json_is_array(json_object_get(k, "top_features")));
	json_decref(got);

	/* A JSON member set is taken over the values. */
	r.c.values.ntopics = 1;
	r.c.scores = json_pack("{s:f}", "waste", 1.0);
	got = classified_encode(&r);
	k = json_object_get(got, "classification");
	assert_true(json_equal(json_object_get(k, "scores"), r.c.scores));
	json_decref(got);
	json_decref(want);
	classified_clear(&r);
}

/* Replaces the first occurrence of `from` in the good record and expects `field` refused. */
static void expect_bad(const char *from, const char *to, const char *field)
{
	const char *at = strstr(good, from);
	assert_non_null(at);
	char *bad = xasprintf("%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	struct classified r;
	struct field_error e;
	if (classified_decode_bytes(bad, strlen(bad), &r, &e) == 0)
		fail_msg("accepted: %s", bad);
	if (strcmp(e.field, field) != 0)
		fail_msg("want field %s, got %s (%s) for %s", field, e.field, e.message, bad);
	free(bad);
}

static void test_bad_records_name_the_field(void **state)
{
	(void)state;
	expect_bad("classified.v1", "classified.v2", "schema");
	expect_bad("\"text\":\"Третий день нет отопления в Черногорске\",", "", "message.text");
	expect_bad("\"topic\":\"housing\",", "", "classification.topic");
	expect_bad("\"incident\":true", "\"incident\":\"yes\"", "classification.incident");
	expect_bad("\"incident_score\":0.97", "\"incident_score\":1.5",
	           "classification.incident_score");
	expect_bad("\"roads\":0.125", "\"roads\":-1", "classification.scores");
	expect_bad("\"urgency\":\"high\"", "\"urgency\":\"panic\"", "classification.urgency");
	expect_bad("\"municipality_evidence\":[\"в Черногорске\"]", "\"municipality_evidence\":[1]",
	           "classification.municipality_evidence[0]");
	expect_bad("\"classified_at\":\"2026-11-28T03:15:03.250Z\"", "\"classified_at\":\"soon\"",
	           "classification.classified_at");
	expect_bad("\"model_version\":\"9f1c00aa12345678\",", "", "classification.model_version");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_encode_values),
	        cmocka_unit_test(test_bad_records_name_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
