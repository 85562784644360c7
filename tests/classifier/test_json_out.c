/*
 * Tests of json_out: byte for byte what json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(10))
 * writes, for reals of every kind (four-decimal ones on the fast path, others through printf,
 * exponents, negative zero), integers at their limits, strings with every character that is
 * escaped, nested and empty containers; and for the classified.v1 records of the whole
 * decision over the project's corpus and demo stream.
 *
 * Run from the repository root (tests/run.sh does); the decision's files come from
 * $TEST_BIN_DIR/../share (default build/dev/bin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classified.h"
#include "classify.h"
#include "json_out.h"
#include "strbuf.h"
#include "xalloc.h"

#define FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY)

/* json_out(v) must equal json_dumps(v); takes v. */
static void expect_same(json_t *v)
{
	struct strbuf b = {0};
	char *want = json_dumps(v, FLAGS);

	assert_non_null(want);
	json_out(&b, v);
	if (strcmp(b.buf, want) != 0)
		fail_msg("json_out wrote\n  %s\njansson writes\n  %s", b.buf, want);
	free(want);
	strbuf_release(&b);
	json_decref(v);
}

static void test_reals(void **state)
{
	static const double values[] = {
	        0.0,
	        -0.0,
	        1.0,
	        -1.0,
	        0.5,
	        0.9986,
	        0.0001,
	        0.00001,
	        1e-5,
	        3e-7,
	        91.4446,
	        53.72051234,
	        99999.9999,
	        100000.0,
	        123456.789,
	        1e20,
	        -1e-300,
	        1e300,
	        0.98856210708618164,
	        1234567890123.0,
	        0.1,
	        0.2,
	        0.30000000000000004,
	        2.5e-4,
	        12.34,
	        -0.0001,
	        4294967296.5,
	};
	uint64_t rng = 0x9E3779B97F4A7C15ULL;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		expect_same(json_real(values[i]));
	/* Random doubles of every magnitude, and random four-decimal ones. */
	for (int i = 0; i < 20000; i++) {
		double v;
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		v = (double)(rng >> 11) / (double)(1ULL << 53);
		if (i % 2)
			v = round(v * 1e9) / 10000.0 * (i % 3 ? 1 : -1);
		else
			v = ldexp(v, (int)(rng % 200) - 100);
		expect_same(json_real(v));
	}
}

static void test_values(void **state)
{
	char all[40];

	(void)state;
	expect_same(json_integer(0));
	expect_same(json_integer(-5));
	expect_same(json_integer(INT64_MAX));
	expect_same(json_integer(INT64_MIN));
	expect_same(json_true());
	expect_same(json_false());
	expect_same(json_null());
	expect_same(json_string("Нет отопления «совсем», 45а/2 — ё"));
	/* Every character below 0x20, quotes, backslash, slash, DEL. */
	for (int i = 0; i < 32; i++)
		all[i] = (char)(i + 1 == 32 ? '"' : i + 1);
	memcpy(all + 31, "\"\\/\x7f", 5);
	expect_same(json_string(all));
	expect_same(json_stringn("a\0b", 3));
	expect_same(json_pack("{s:[], s:{}, s:[i, f, s, n, {s:[b]}], s:o}", "empty", "obj", "list",
	                      1, 0.25, "x\ty", "deep", 1, "last", json_string("\"")));
}

/* The records of the whole decision: what the service publishes. */
static void test_classified_records(void **state)
{
	static const char *const files[] = {"services/classifier/data/corpus.ndjson",
	                                    "deploy/demo/khakassia_posts.ndjson"};
	const char *bin = getenv("TEST_BIN_DIR") ? getenv("TEST_BIN_DIR") : "build/dev/bin";
	char mdir[512], rdir[512], err[512];
	struct classifier *c;
	size_t n = 0;

	(void)state;
	snprintf(mdir, sizeof(mdir), "%s/../share/classifier", bin);
	snprintf(rdir, sizeof(rdir), "%s/../share/regions/khakassia", bin);
	c = classifier_open_dirs(mdir, rdir, 0.5, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	for (size_t f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "r");
		char line[16384];
		assert_non_null(fp);
		while (fgets(line, sizeof(line), fp)) {
			json_error_t je;
			json_t *src = json_loads(line, 0, &je), *community, *rec;
			struct classified r = {0};
			char *mine, *want;
			assert_non_null(src);
			community = json_object_get(json_object_get(src, "community"), "name");
			r.message.id = xasprintf("t:%zu", n);
			r.message.source = xstrdup("t");
			r.message.external_id = xasprintf("%zu", n);
			r.message.text = xstrdup(json_string_value(json_object_get(src, "text")));
			r.message.community_name =
			        community ? xstrdup(json_string_value(community)) : NULL;
			r.message.has_coords = json_object_get(src, "lat") != NULL;
			r.message.lat = json_number_value(json_object_get(src, "lat"));
			r.message.lon = json_number_value(json_object_get(src, "lon"));
			r.message.revision = 1;
			/* Strings from parsed JSON: valid, as a decoder marks them. */
			r.message.strings_checked = true;
			r.message.posted_at = 1764288000000;
			r.message.received_at = 1764288001000;
			classifier_decide(c, &r.message, &r.c);
			mine = classifier_encode(&r);
			rec = classified_encode(&r);
			want = json_dumps(rec, FLAGS);
			if (strcmp(mine, want) != 0)
				fail_msg("%s line %zu:\n  %s\n  %s", files[f], n, mine, want);
			free(mine);
			free(want);
			json_decref(rec);
			json_decref(src);
			classified_clear(&r);
			n++;
		}
		fclose(fp);
	}
	assert_true(n > 1900);
	classifier_free(c);
}

/* r through classifier_encode and through classified_encode + json_dumps: the same bytes. */
static void assert_same_record(const struct classified *r)
{
	json_t *rec = classified_encode(r);
	char *mine = classifier_encode(r), *want = json_dumps(rec, FLAGS);

	assert_string_equal(mine, want);
	free(mine);
	free(want);
	json_decref(rec);
}

/* Every optional member of the message and the classification, present, absent, empty or
 * refused by json_string (invalid UTF-8, which message_encode leaves out): the direct writer
 * sets them in classified_encode's order and leaves out what it leaves out. */
static void test_records_of_every_shape(void **state)
{
	struct classified r = {0};
	struct message *m = &r.message;
	struct classification *c = &r.c;

	(void)state;
	m->id = xstrdup("vk:1");
	m->source = xstrdup("vk");
	m->external_id = xstrdup("1");
	m->text = xstrdup("Нет \"света\"\n\tна Ленина 45\x01 \\ /");
	m->revision = 1;
	m->posted_at = 1764288000123;
	m->received_at = -1000;
	c->topic = xstrdup("housing");
	c->urgency = xstrdup("normal");
	c->model_version = xstrdup("v");
	/* NULL json members are written empty; municipality null; method "none". */
	assert_same_record(&r);
	/* Scores and features as plain values (classified.h), then also as JSON, which wins. */
	c->values.ntopics = 2;
	c->values.topic[0] = "housing";
	c->values.score[0] = 0.5;
	c->values.topic[1] = "roads";
	c->values.score[1] = 1e-5;
	c->values.nfeatures = 2;
	strcpy(c->values.feature[0], "char:_ост\"");
	c->values.weight[0] = -0.0012;
	strcpy(c->values.feature[1], "\xff");
	c->values.weight[1] = 3;
	assert_same_record(&r);

	m->kind = xstrdup("comment");
	m->revision = 3;
	m->parent_id = xstrdup("vk:0");
	m->url = xstrdup("https://vk.com/wall-1_1");
	m->author_name = xstrdup("Анна");
	m->community_id = xstrdup("-1");
	m->address = xstrdup("ул. Ленина, 45");
	m->links = json_pack("[s,s]", "https://a", "https://b");
	m->mentions = json_array();
	m->thread = json_pack("{s:s,s:i}", "owner_id", "-1", "post_id", 5);
	c->incident = true;
	c->incident_score = 0.9876;
	c->topic_score = 1;
	c->subtopic = xstrdup("housing.heating");
	c->scores = json_pack("{s:f,s:f}", "housing", 0.5, "roads", 0.0001);
	c->municipality = xstrdup("abakan");
	c->municipality_method = xstrdup("text");
	c->municipality_confidence = 0.9;
	c->municipality_ambiguous = true;
	c->municipality_evidence = json_pack("[s]", "в Абакане");
	c->municipality_candidates = json_pack("[s,s]", "abakan", "chernogorsk");
	c->urgency_terms = json_pack("[s]", "нет отопления");
	c->top_features = json_pack("[{s:s,s:f}]", "feature", "stem:отоплен", "weight", -0.25);
	c->classified_at = 1764288000999;
	assert_same_record(&r);

	/* Coordinates without an address; author id alone; strings json_string refuses. */
	free(m->address);
	m->address = NULL;
	m->has_coords = true;
	m->lat = 53.7213;
	m->lon = -91.123456789;
	m->author_id = xstrdup("7");
	free(m->author_name);
	m->author_name = xstrdup("\xff");
	free(m->url);
	m->url = xstrdup("\xc3(");
	free(c->municipality);
	c->municipality = xstrdup("\xe2\x82");
	assert_same_record(&r);

	/* An address without coordinates; a party whose every string is refused. */
	m->has_coords = false;
	m->address = xstrdup("д. 1");
	free(m->author_id);
	m->author_id = xstrdup("\xff");
	assert_same_record(&r);
	classified_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reals),
	        cmocka_unit_test(test_values),
	        cmocka_unit_test(test_classified_records),
	        cmocka_unit_test(test_records_of_every_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
