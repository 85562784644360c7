/*
 * Tests of the region pack: the shipped Khakassia pack loads, names real things and routes
 * every level (sub-topic rule, topic rule, "*" rules, the three fallbacks); every escalation
 * chain ends at the duty desk; every sub-topic it routes on is one the classifier can emit;
 * and each validation problem of a broken pack is reported, all at once, naming file and
 * member. Broken packs are tests/assigner/data/region_<case>/: only the files that differ
 * from region_minimal/, laid over a copy of it in a temporary directory.
 *
 * Run from the repository root (tests/run.sh does). Prints the routing speed it measures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "region.h"

#define KHAKASSIA "deploy/regions/khakassia"
#define DATA "tests/assigner/data"
#define TAXONOMY "services/classifier/data/taxonomy.json"

static const char *const pack_files[] = {"municipalities.json", "authorities.json", "routing.json",
                                         "deadlines.json", "calendar.json"};

static struct region *khakassia;

static int setup(void **state)
{
	char err[4096];

	(void)state;
	khakassia = region_load(KHAKASSIA, err, sizeof(err));
	if (!khakassia)
		fprintf(stderr, "%s\n", err);
	return khakassia ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	region_free(khakassia);
	return 0;
}

/* Copies src to dst when src exists; returns whether it did. */
static bool copy_file(const char *src, const char *dst)
{
	char err[256];
	size_t len;
	char *data = file_read(src, &len, err, sizeof(err));

	if (!data)
		return false;
	FILE *f = fopen(dst, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	free(data);
	return true;
}

/* Loads region_minimal with tests/assigner/data/<overlay>/ laid over it; returns the region
 * (NULL on failure, with err filled). */
static struct region *load_overlay(const char *overlay, char *err, size_t errlen)
{
	char dir[] = "/tmp/test_region.XXXXXX", src[512], dst[512];

	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < 5; i++) {
		snprintf(dst, sizeof(dst), "%s/%s", dir, pack_files[i]);
		snprintf(src, sizeof(src), "%s/%s/%s", DATA, overlay, pack_files[i]);
		if (!copy_file(src, dst)) {
			snprintf(src, sizeof(src), "%s/region_minimal/%s", DATA, pack_files[i]);
			assert_true(copy_file(src, dst));
		}
	}
	struct region *r = region_load(dir, err, errlen);
	for (size_t i = 0; i < 5; i++) {
		snprintf(dst, sizeof(dst), "%s/%s", dir, pack_files[i]);
		unlink(dst);
	}
	rmdir(dir);
	return r;
}

/* The pack must fail to load, and its error must hold every one of the expected problems. */
static void expect_problems(const char *overlay, const char *const *problems, size_t n)
{
	char err[4096] = "";
	struct region *r = load_overlay(overlay, err, sizeof(err));

	if (r)
		fail_msg("%s: loaded, expected it to fail", overlay);
	for (size_t i = 0; i < n; i++)
		if (!strstr(err, problems[i]))
			fail_msg("%s: no \"%s\" in \"%s\"", overlay, problems[i], err);
}

#define EXPECT(overlay, ...)                                                                       \
	do {                                                                                       \
		static const char *const p_[] = {__VA_ARGS__};                                     \
		expect_problems(overlay, p_, sizeof(p_) / sizeof(p_[0]));                          \
	} while (0)

static void assert_route(const struct region *r, const char *topic, const char *sub,
                         const char *muni, const char *authority, const char *rule)
{
	struct region_route route = region_route(r, topic, sub, muni);

	assert_non_null(route.authority);
	assert_string_equal(route.authority->id, authority);
	assert_string_equal(route.rule_id, rule);
}

/* ---- the Khakassia pack --------------------------------------------------------------------- */

static void test_khakassia_contents(void **state)
{
	static const char *const munis[] = {
	        "abakan",     "chernogorsk",   "sayanogorsk", "abaza",     "sorsk",
	        "altaysky",   "askizsky",      "beysky",      "bogradsky", "ordzhonikidzevsky",
	        "tashtypsky", "ust_abakansky", "shirinsky"};
	(void)state;

	assert_string_equal(region_name(khakassia), "Республика Хакасия");
	assert_int_equal(region_municipality_count(khakassia), 13);
	for (size_t i = 0; i < 13; i++) {
		const struct region_municipality *m = region_municipality(khakassia, munis[i]);
		assert_non_null(m);
		assert_ptr_equal(m, region_municipality_at(khakassia, i));
		const struct region_authority *a = region_authority(khakassia, m->administration);
		assert_non_null(a);
		assert_string_equal(a->kind, "administration");
	}
	assert_string_equal(region_municipality(khakassia, "abakan")->short_name, "Абакан");
	assert_null(region_municipality(khakassia, "krasnoyarsk"));
	assert_null(region_municipality_at(khakassia, 13));

	const struct region_authority *waste = region_authority(khakassia, "aerosity");
	assert_non_null(waste);
	assert_non_null(strstr(waste->name, "АЭРОСИТИ-2000"));
	assert_string_equal(waste->kind, "operator");
	assert_null(region_authority(khakassia, "minzdrav"));
	assert_true(region_authority_count(khakassia) > 25);

	/* The duty desk and a ministry can be reached by webhook (the demo receiver). */
	static const char *const hooked[] = {"cur_rh", "minstroy_rh"};
	for (size_t i = 0; i < 2; i++) {
		const json_t *chans = region_authority(khakassia, hooked[i])->channels, *c;
		size_t k;
		bool found = false;
		json_array_foreach(chans, k, c)
		{
			const char *url = json_string_value(json_object_get(c, "url"));
			found |= url && strncmp(url, "http://127.0.0.1:8089/hooks/", 28) == 0;
		}
		assert_true(found);
	}
	/* No real mailbox: every address is under the reserved .example TLD. */
	for (size_t i = 0; i < region_authority_count(khakassia); i++) {
		const json_t *c;
		size_t k;
		json_array_foreach(region_authority_at(khakassia, i)->channels, k, c)
		{
			const char *addr = json_string_value(json_object_get(c, "address"));
			if (addr)
				assert_non_null(strstr(addr, ".example"));
		}
	}
}

static void test_routing_levels(void **state)
{
	(void)state;
	/* A sub-topic rule for the municipality. */
	assert_route(khakassia, "housing", "housing.heating", "abakan", "abakan_ukhit",
	             "housing.heating@abakan");
	/* A sub-topic rule for every municipality. */
	assert_route(khakassia, "housing", "housing.management", "chernogorsk", "gzhi_rh",
	             "housing.management@any");
	/* A topic rule for the municipality. */
	assert_route(khakassia, "roads", "roads.potholes", "abakan", "abakan_ukhit",
	             "roads@abakan");
	assert_route(khakassia, "roads", NULL, "abakan", "abakan_ukhit", "roads@abakan");
	/* A topic rule for every municipality, also when the place is unresolved. */
	assert_route(khakassia, "waste", "waste.collection", "sorsk", "aerosity", "waste@any");
	assert_route(khakassia, "waste", NULL, NULL, "aerosity", "waste@any");
	assert_route(khakassia, "healthcare", NULL, "shirinsky", "minzdrav_rh", "healthcare@any");
	/* A sub-topic rule for the municipality beats the topic's rule for every one. */
	assert_route(khakassia, "waste", "waste.dumps", "abakan", "abakan_ukhit",
	             "waste.dumps@abakan");
	assert_route(khakassia, "waste", "waste.dumps", "abaza", "aerosity", "waste@any");
	/* No rule, municipality unknown or unresolved: the topic's regional ministry. */
	assert_route(khakassia, "roads", "roads.potholes", NULL, "mintrans_rh",
	             "fallback:topic_owner");
	assert_route(khakassia, "roads", NULL, "krasnoyarsk", "mintrans_rh",
	             "fallback:topic_owner");
	/* No rule, municipality known: its administration. */
	assert_route(khakassia, "roads", "roads.potholes", "chernogorsk", "chernogorsk_admin",
	             "fallback:administration");
	assert_route(khakassia, "animals", "animals.stray_dogs", "askizsky", "askizsky_admin",
	             "fallback:administration");
	/* Nothing at all: the duty desk. */
	assert_route(khakassia, "astrology", NULL, NULL, "cur_rh", "fallback:duty_desk");
	assert_route(khakassia, NULL, "roads.potholes", "abaza", "abaza_admin",
	             "fallback:administration");
	/* A sub-topic of another topic (a classifier inconsistency) is ignored: the topic rules. */
	assert_route(khakassia, "roads", "housing.heating", "abakan", "abakan_ukhit",
	             "roads@abakan");
}

static void test_routing_minimal_pack(void **state)
{
	char err[1024];
	struct region *r = load_overlay("region_minimal", err, sizeof(err));

	(void)state;
	if (!r)
		fail_msg("%s", err);
	assert_string_equal(region_name(r), "Тестовая область");
	assert_route(r, "roads", "roads.potholes", "north", "north_roads", "roads.potholes@north");
	assert_route(r, "roads", "roads.winter", "south", "south_admin", "roads@south");
	assert_route(r, "roads", "roads.winter", NULL, "min_roads", "fallback:topic_owner");
	assert_route(r, "housing", NULL, "north", "north_admin", "fallback:administration");
	/* housing has no owner here: with no place either, the duty desk. */
	assert_route(r, "housing", NULL, NULL, "duty", "fallback:duty_desk");
	assert_route(r, "housing", NULL, "atlantis", "duty", "fallback:duty_desk");
	region_free(r);
}

static void test_escalation_ends_at_duty_desk(void **state)
{
	size_t n = region_authority_count(khakassia);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const struct region_authority *a = region_authority_at(khakassia, i);
		size_t steps = 0;
		while (a->parent) {
			a = region_authority(khakassia, a->parent);
			assert_non_null(a);
			assert_true(++steps <= n);
		}
		assert_string_equal(a->id, "cur_rh");
		assert_string_equal(a->kind, "duty_desk");
	}
	/* A municipal department escalates through its administration. */
	const struct region_authority *d = region_authority(khakassia, "abakan_ukhit");
	assert_string_equal(d->parent, "abakan_admin");
	assert_string_equal(region_authority(khakassia, d->parent)->parent, "cur_rh");
}

/* Every sub-topic the pack routes on is one the classifier's taxonomy has. */
static void test_subtopics_exist_in_taxonomy(void **state)
{
	json_error_t je;
	json_t *tax = json_load_file(TAXONOMY, 0, &je), *topic, *sub, *routing, *rule;
	size_t i, k;
	int checked = 0;

	(void)state;
	assert_non_null(tax);
	routing = json_load_file(KHAKASSIA "/routing.json", 0, &je);
	assert_non_null(routing);
	json_array_foreach(json_object_get(routing, "rules"), i, rule)
	{
		const char *code = json_string_value(json_object_get(rule, "subtopic"));
		bool found = false;
		if (!code)
			continue;
		json_array_foreach(json_object_get(tax, "topics"), k, topic)
		{
			size_t j;
			json_array_foreach(json_object_get(topic, "subtopics"), j, sub)
			{
				found |= strcmp(json_string_value(json_object_get(sub, "code")),
				                code) == 0;
			}
		}
		if (!found)
			fail_msg("routing.json rule %zu: sub-topic %s is not in %s", i, code,
			         TAXONOMY);
		checked++;
	}
	assert_true(checked >= 10);
	json_decref(routing);
	json_decref(tax);
}

static void test_deadlines(void **state)
{
	(void)state;
	const struct region_deadline *high = region_deadline(khakassia, "high");
	const struct region_deadline *normal = region_deadline(khakassia, "normal");
	assert_non_null(high);
	assert_non_null(normal);
	assert_int_equal(high->first_answer_ms, 2 * 3600 * 1000);
	assert_false(high->first_answer_working);
	assert_int_equal(high->final_answer_days, 1);
	assert_int_equal(normal->first_answer_ms, 8 * 3600 * 1000);
	assert_true(normal->first_answer_working);
	assert_int_equal(normal->final_answer_days, 10);
	assert_true(normal->reminder_share > 0.74 && normal->reminder_share < 0.76);
	/* Unknown urgencies get normal's. */
	assert_ptr_equal(region_deadline(khakassia, "cosmic"), normal);
	assert_ptr_equal(region_deadline(khakassia, NULL), normal);
	assert_non_null(region_calendar(khakassia));
}

static void test_authority_json(void **state)
{
	(void)state;
	json_t *j = region_authority_json(region_authority(khakassia, "abakan_ukhit"));
	assert_string_equal(json_string_value(json_object_get(j, "id")), "abakan_ukhit");
	assert_non_null(strstr(json_string_value(json_object_get(j, "name")), "Абакана"));
	assert_string_equal(json_string_value(json_object_get(j, "parent")), "abakan_admin");
	assert_true(json_array_size(json_object_get(j, "channels")) >= 1);
	json_decref(j);

	j = region_authority_json(region_authority(khakassia, "cur_rh"));
	assert_true(json_is_null(json_object_get(j, "parent")));
	json_decref(j);
	j = region_authority_json(NULL);
	assert_true(json_is_null(j));
	json_decref(j);
}

/* ---- validation ----------------------------------------------------------------------------- */

static void test_missing_pack(void **state)
{
	char err[4096];

	(void)state;
	assert_null(region_load("/nonexistent/pack", err, sizeof(err)));
	for (size_t i = 0; i < 5; i++)
		assert_non_null(strstr(err, pack_files[i]));
}

static void test_bad_authorities(void **state)
{
	(void)state;
	EXPECT("region_unknown_parent",
	       "authorities.json: authorities[1].parent: unknown authority \"minzdrav\"");
	EXPECT("region_parent_cycle",
	       "authorities.json: authorities[2].parent: escalation loops back to \"north_admin\"",
	       "authorities.json: authorities[4].parent: escalation loops back to \"north_roads\"");
	EXPECT("region_duplicate_id",
	       "authorities.json: authorities[5].id: duplicate id \"min_roads\"");
	EXPECT("region_top_not_duty_desk",
	       "authorities.json: authorities[0].parent: the duty desk \"duty\" must have none",
	       "authorities.json: authorities[1].parent: missing (only the duty desk \"duty\" may "
	       "have none)",
	       "authorities.json: authorities[4].kind: unknown kind \"bureau\"");
}

static void test_bad_channels(void **state)
{
	(void)state;
	EXPECT("region_bad_channels",
	       "authorities[0].channels[0].address: \"duty at region.example\" is not an e-mail "
	       "address",
	       "authorities[0].channels[1].chat_id: \"12ab\" is not a Telegram chat id",
	       "authorities[0].channels[2].url: \"ftp://127.0.0.1/hooks\" is not an http(s) URL",
	       "authorities[0].channels[3].type: unknown channel type \"pigeon\"",
	       "authorities[1].channels: must be a non-empty array",
	       "authorities[2].channels: missing",
	       "authorities[3].channels[0].chat_id: must be a non-empty string");
}

static void test_bad_rules(void **state)
{
	(void)state;
	EXPECT("region_bad_rules", "routing.json: topic_owners.astrology: unknown topic",
	       "routing.json: topic_owners.housing: unknown authority \"min_housing\"",
	       "routing.json: rules[0].authority: unknown authority \"minzdrav\"",
	       "routing.json: rules[1].municipality: unknown municipality \"atlantis\"",
	       "routing.json: rules[2].topic: unknown topic \"astrology\"",
	       "routing.json: rules[3].subtopic: \"housing.heating\" is not a sub-topic of "
	       "\"roads\"",
	       "routing.json: rules[5].id: duplicate rule id \"r5\"",
	       "routing.json: rules[6]: matches the same topic and municipality as rule \"r5\"",
	       "routing.json: rules[7].municipality: missing");
}

static void test_no_duty_desk(void **state)
{
	(void)state;
	EXPECT("region_no_duty_desk", "routing.json: duty_desk: missing");
}

static void test_bad_municipalities(void **state)
{
	(void)state;
	EXPECT("region_no_administration",
	       "municipalities.json: municipalities[0].administration: missing",
	       "municipalities.json: municipalities[1].administration: unknown authority "
	       "\"south_council\"",
	       "municipalities.json: municipalities[2].id: duplicate id \"south\"");
}

static void test_bad_deadlines(void **state)
{
	(void)state;
	EXPECT("region_bad_deadlines", "deadlines.json: deadlines.normal: missing",
	       "deadlines.json: deadlines.high.first_answer_minutes: must be an integer from 1",
	       "deadlines.json: deadlines.high.first_answer_clock: must be \"working\" or "
	       "\"calendar\"",
	       "deadlines.json: deadlines.high.final_answer_days: must be an integer from 1 to 365",
	       "deadlines.json: deadlines.high.reminder_share: must be a number between 0 and 1");
}

static void test_bad_calendar(void **state)
{
	(void)state;
	EXPECT("region_bad_calendar", "calendar.json: calendar.holidays[1]: not a date YYYY-MM-DD");
}

static void test_not_json(void **state)
{
	(void)state;
	EXPECT("region_not_json", "deadlines.json: line 4:");
}

/* ---- speed (printed, not asserted) ---------------------------------------------------------- */

static void test_routing_speed(void **state)
{
	static const struct {
		const char *topic, *sub, *muni;
	} cases[] = {{"housing", "housing.heating", "abakan"},
	             {"roads", "roads.potholes", "chernogorsk"},
	             {"waste", "waste.collection", NULL},
	             {"healthcare", "healthcare.staff", "shirinsky"},
	             {"animals", "animals.stray_dogs", "abaza"},
	             {"other", NULL, NULL}};
	const int n = 2000000;
	size_t sink = 0;
	struct timespec t0, t1;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		size_t c = (size_t)i % (sizeof(cases) / sizeof(cases[0]));
		sink += (size_t)region_route(khakassia, cases[c].topic, cases[c].sub, cases[c].muni)
		                .rule_id[0];
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("region_route: %d routes in %.3f s, %.1f million/s (%zu)\n", n, s, n / s / 1e6,
	       sink % 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_khakassia_contents),
	        cmocka_unit_test(test_routing_levels),
	        cmocka_unit_test(test_routing_minimal_pack),
	        cmocka_unit_test(test_escalation_ends_at_duty_desk),
	        cmocka_unit_test(test_subtopics_exist_in_taxonomy),
	        cmocka_unit_test(test_deadlines),
	        cmocka_unit_test(test_authority_json),
	        cmocka_unit_test(test_missing_pack),
	        cmocka_unit_test(test_bad_authorities),
	        cmocka_unit_test(test_bad_channels),
	        cmocka_unit_test(test_bad_rules),
	        cmocka_unit_test(test_no_duty_desk),
	        cmocka_unit_test(test_bad_municipalities),
	        cmocka_unit_test(test_bad_deadlines),
	        cmocka_unit_test(test_bad_calendar),
	        cmocka_unit_test(test_not_json),
	        cmocka_unit_test(test_routing_speed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
