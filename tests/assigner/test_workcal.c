/*
 * Tests of working-time arithmetic over the Khakassia calendar (UTC+7, 09:00–18:00, the
 * Russian production calendar): deadlines across a night, a weekend, the New Year holidays, a
 * transferred working Saturday and the November holidays after it, starts outside working
 * hours (17:30 on a Friday, a Sunday night, exactly at closing), working days to a final
 * answer, working time between instants, and a property check that adding and measuring agree
 * on random instants. Then the calendar's validation errors.
 *
 * Run from the repository root (tests/run.sh does). Prints the deadline speed it measures.
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

#include "region.h"
#include "timefmt.h"
#include "workcal.h"

#define KHAKASSIA "deploy/regions/khakassia"
#define HOUR_MS INT64_C(3600000)
#define MINUTE_MS INT64_C(60000)

static struct region *khakassia;
static const struct workcal *cal;

static int setup(void **state)
{
	char err[4096];

	(void)state;
	khakassia = region_load(KHAKASSIA, err, sizeof(err));
	if (!khakassia) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	cal = region_calendar(khakassia);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	region_free(khakassia);
	return 0;
}

/* A local Khakassia time "2026-11-27 17:30" as an instant. */
static int64_t at(const char *local)
{
	char buf[64];
	int64_t ms;

	snprintf(buf, sizeof(buf), "%s:00+07:00", local);
	if (rfc3339_parse(buf, &ms) != 0)
		fail_msg("bad test time %s", local);
	return ms;
}

static void assert_time(int64_t got, const char *want_local)
{
	int64_t want = at(want_local);

	if (got != want) {
		char g[32];
		rfc3339_format(got + 7 * HOUR_MS, g);
		fail_msg("got %.16s local, want %s", g, want_local);
	}
}

static void test_working_days(void **state)
{
	(void)state;
	assert_true(workcal_is_working_day(cal, at("2026-11-27 12:00")));  /* Friday */
	assert_false(workcal_is_working_day(cal, at("2026-11-28 12:00"))); /* Saturday */
	assert_false(workcal_is_working_day(cal, at("2026-01-09 12:00"))); /* transferred off */
	assert_false(workcal_is_working_day(cal, at("2025-12-31 12:00")));
	assert_true(workcal_is_working_day(cal, at("2025-11-01 12:00")));  /* working Saturday */
	assert_false(workcal_is_working_day(cal, at("2025-11-03 12:00"))); /* its Monday off */
	assert_false(workcal_is_working_day(cal, at("2025-06-13 12:00"))); /* from March 8 */
	assert_false(workcal_is_working_day(cal, at("2026-05-11 12:00"))); /* May 9 on Saturday */
	assert_false(workcal_is_working_day(cal, at("2027-01-04 12:00")));
	/* Beyond the listed years: Monday to Friday. */
	assert_true(workcal_is_working_day(cal, at("2028-03-06 12:00")));
	assert_false(workcal_is_working_day(cal, at("2028-03-04 12:00")));
	/* The local day decides: 17:30 UTC on Friday is 00:30 on Saturday in Abakan. */
	int64_t fri_utc;
	assert_int_equal(rfc3339_parse("2026-11-27T17:30:00Z", &fri_utc), 0);
	assert_false(workcal_is_working_day(cal, fri_utc));
}

static void test_add_working(void **state)
{
	static const struct {
		const char *start;
		int64_t minutes;
		const char *want;
	} cases[] = {
	        /* Within a day, and ending exactly at closing (not the next morning). */
	        {"2026-11-24 10:00", 120, "2026-11-24 12:00"},
	        {"2026-11-24 17:00", 60, "2026-11-24 18:00"},
	        /* Across a night. */
	        {"2026-11-24 17:00", 120, "2026-11-25 10:00"},
	        /* Friday 17:30 + 8 working hours: half an hour on Friday, 7.5 on Monday. */
	        {"2026-11-27 17:30", 480, "2026-11-30 16:30"},
	        /* Starts outside working hours count from the next opening. */
	        {"2026-11-29 03:00", 60, "2026-11-30 10:00"},
	        {"2026-11-24 07:00", 60, "2026-11-24 10:00"},
	        {"2026-11-24 20:00", 60, "2026-11-25 10:00"},
	        /* Zero: the start itself inside working hours, else the next opening. */
	        {"2026-11-24 11:15", 0, "2026-11-24 11:15"},
	        {"2026-11-24 18:00", 0, "2026-11-25 09:00"},
	        {"2026-11-28 12:00", 0, "2026-11-30 09:00"},
	        /* New Year: one hour on December 30, then nothing until Monday, January 12. */
	        {"2025-12-30 17:00", 480, "2026-01-12 16:00"},
	        /* A transferred working Saturday, then the November holidays after it. */
	        {"2025-10-31 17:00", 120, "2025-11-01 10:00"},
	        {"2025-11-01 17:00", 120, "2025-11-05 10:00"},
	        /* A whole working week, and a minute more. */
	        {"2026-11-23 09:00", 45 * 60, "2026-11-27 18:00"},
	        {"2026-11-23 09:00", 45 * 60 + 1, "2026-11-30 09:01"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_time(
		        workcal_add_working(cal, at(cases[i].start), cases[i].minutes * MINUTE_MS),
		        cases[i].want);
}

static void test_add_working_days(void **state)
{
	(void)state;
	assert_time(workcal_add_working_days(cal, at("2026-11-27 10:00"), 1), "2026-11-30 18:00");
	assert_time(workcal_add_working_days(cal, at("2026-11-27 10:00"), 10), "2026-12-11 18:00");
	/* A start at the weekend counts from the weekend day: day 1 is Monday. */
	assert_time(workcal_add_working_days(cal, at("2026-11-28 23:00"), 1), "2026-11-30 18:00");
	assert_time(workcal_add_working_days(cal, at("2025-12-30 10:00"), 1), "2026-01-12 18:00");
	assert_time(workcal_add_working_days(cal, at("2025-10-31 10:00"), 1), "2025-11-01 18:00");
	assert_time(workcal_add_working_days(cal, at("2025-10-31 10:00"), 2), "2025-11-05 18:00");
	/* Across the year boundary into the provisional 2027 holidays. */
	assert_time(workcal_add_working_days(cal, at("2026-12-30 10:00"), 1), "2027-01-11 18:00");
}

static void test_working_between(void **state)
{
	static const struct {
		const char *a, *b;
		int64_t minutes;
	} cases[] = {
	        {"2026-11-24 10:00", "2026-11-24 12:00", 120},
	        {"2026-11-27 17:30", "2026-11-30 10:00", 90},  /* over a weekend */
	        {"2026-11-24 19:00", "2026-11-25 08:00", 0},   /* a night */
	        {"2025-12-30 17:00", "2026-01-12 10:00", 120}, /* the New Year holidays */
	        {"2026-11-23 00:00", "2026-11-30 00:00", 45 * 60},
	        {"2026-11-25 10:00", "2026-11-24 10:00", 0}, /* b before a */
	        {"2026-11-24 10:00", "2026-11-24 10:00", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(workcal_working_between(cal, at(cases[i].a), at(cases[i].b)),
		                 cases[i].minutes * MINUTE_MS);
}

/* Adding working time and measuring it back agree, on random instants over three years. */
static void test_add_and_measure_agree(void **state)
{
	int64_t from = at("2025-01-01 00:00"), span = at("2027-12-01 00:00") - from;
	unsigned seed = 20261128;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		int64_t start =
		        from + (int64_t)(rand_r(&seed) % (int)(span / MINUTE_MS)) * MINUTE_MS;
		int64_t amount = (int64_t)(rand_r(&seed) % (20 * 9 * 60)) * MINUTE_MS;
		int64_t end = workcal_add_working(cal, start, amount);
		assert_true(end >= start);
		assert_int_equal(workcal_working_between(cal, start, end), amount);
		/* The deadline lands in working hours (or at a closing time). */
		assert_true(workcal_is_working_day(cal, end - 1) || amount == 0);
	}
}

/* The urgent policy runs on the calendar clock: danger does not wait for Monday. */
static void test_calendar_clock_deadline(void **state)
{
	const struct region_deadline *high = region_deadline(khakassia, "high");
	const struct region_deadline *normal = region_deadline(khakassia, "normal");
	int64_t start = at("2026-11-27 17:30");

	(void)state;
	assert_false(high->first_answer_working);
	assert_time(start + high->first_answer_ms, "2026-11-27 19:30");
	assert_true(normal->first_answer_working);
	assert_time(workcal_add_working(cal, start, normal->first_answer_ms), "2026-11-30 16:30");
	assert_time(workcal_add_working_days(cal, start, normal->final_answer_days),
	            "2026-12-11 18:00");
}

static void expect_error(const char *json, const char *want)
{
	char err[256] = "";
	json_error_t je;
	json_t *doc = json_loads(json, 0, &je);
	struct workcal *c;

	assert_non_null(doc);
	c = workcal_new(doc, err, sizeof(err));
	json_decref(doc);
	if (c) {
		workcal_free(c);
		fail_msg("%s: accepted, want \"%s\"", json, want);
	}
	if (strcmp(err, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", json, err, want);
}

static void test_calendar_errors(void **state)
{
	(void)state;
	expect_error("[]", "calendar: must be an object");
	expect_error("{\"day_start\":\"09:00\",\"day_end\":\"18:00\"}",
	             "calendar.utc_offset: missing");
	expect_error("{\"utc_offset\":\"+7\",\"day_start\":\"09:00\",\"day_end\":\"18:00\"}",
	             "calendar.utc_offset: not an offset +HH:MM");
	expect_error("{\"utc_offset\":\"+07:00\",\"day_start\":\"9\",\"day_end\":\"18:00\"}",
	             "calendar.day_start: not a time HH:MM");
	expect_error("{\"utc_offset\":\"+07:00\",\"day_start\":\"09:00\",\"day_end\":18}",
	             "calendar.day_end: must be a string");
	expect_error("{\"utc_offset\":\"+07:00\",\"day_start\":\"18:00\",\"day_end\":\"09:00\"}",
	             "calendar.day_end: must be after day_start");
	expect_error("{\"utc_offset\":\"+07:00\",\"day_start\":\"09:00\",\"day_end\":\"18:00\","
	             "\"holidays\":\"2026-01-01\"}",
	             "calendar.holidays: must be an array of dates YYYY-MM-DD");
	expect_error("{\"utc_offset\":\"+07:00\",\"day_start\":\"09:00\",\"day_end\":\"18:00\","
	             "\"holidays\":[\"2026-01-01\",\"2026-13-01\"]}",
	             "calendar.holidays[1]: not a date YYYY-MM-DD");
	expect_error("{\"utc_offset\":\"+07:00\",\"day_start\":\"09:00\",\"day_end\":\"18:00\","
	             "\"working_weekends\":[\"2026-11-27\"]}",
	             "calendar.working_weekends[0]: 2026-11-27 is not a Saturday or Sunday");
	expect_error("{\"utc_offset\":\"+07:00\",\"day_start\":\"09:00\",\"day_end\":\"18:00\","
	             "\"holidays\":[\"2026-11-28\"],\"working_weekends\":[\"2026-11-28\"]}",
	             "calendar.working_weekends[0]: 2026-11-28 is also listed as a holiday");
}

/* Without dates the weekday rule holds everywhere; another offset moves the day. */
static void test_other_calendar(void **state)
{
	char err[256];
	json_error_t je;
	json_t *doc = json_loads("{\"utc_offset\":\"-03:30\",\"day_start\":\"08:00\","
	                         "\"day_end\":\"12:00\"}",
	                         0, &je);
	struct workcal *c = workcal_new(doc, err, sizeof(err));
	int64_t start, want;

	(void)state;
	assert_non_null(c);
	assert_int_equal(rfc3339_parse("2026-11-27T11:00:00-03:30", &start), 0);
	assert_int_equal(rfc3339_parse("2026-11-30T10:00:00-03:30", &want), 0);
	assert_int_equal(workcal_add_working(c, start, 3 * HOUR_MS), want);
	workcal_free(c);
	json_decref(doc);
}

static void test_deadline_speed(void **state)
{
	const int n = 1000000;
	int64_t base = at("2026-01-01 00:00"), sink = 0;
	struct timespec t0, t1;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		int64_t start = base + (int64_t)(i % 525600) * MINUTE_MS;
		sink += workcal_add_working(cal, start, 8 * HOUR_MS);
		sink += workcal_add_working_days(cal, start, 10);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("workcal: %d incidents' deadlines (8 working hours + 10 working days) in %.3f s, "
	       "%.1f million/s (%d)\n",
	       n, s, n / s / 1e6, (int)(sink & 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_working_days),
	        cmocka_unit_test(test_add_working),
	        cmocka_unit_test(test_add_working_days),
	        cmocka_unit_test(test_working_between),
	        cmocka_unit_test(test_add_and_measure_agree),
	        cmocka_unit_test(test_calendar_clock_deadline),
	        cmocka_unit_test(test_calendar_errors),
	        cmocka_unit_test(test_other_calendar),
	        cmocka_unit_test(test_deadline_speed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
