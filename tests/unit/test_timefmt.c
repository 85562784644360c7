/*
 * Unit tests for shared/timefmt: strict RFC 3339 parsing, formatting, and the two clocks.
 * Expected instants were computed independently (Python's datetime); the calendar code is
 * also checked day by day against the C library's gmtime_r.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

#define MIN_MS (-62167219200000LL) /* 0000-01-01T00:00:00Z */
#define MAX_MS (253402300799999LL) /* 9999-12-31T23:59:59.999Z */

static int64_t parse_ok(const char *s)
{
	int64_t ms = 12345;
	if (rfc3339_parse(s, &ms) != 0)
		fail_msg("rejected valid time \"%s\"", s);
	return ms;
}

static void assert_rejected(const char *s)
{
	int64_t ms = 777;
	if (rfc3339_parse(s, &ms) != -1)
		fail_msg("accepted invalid time \"%s\" as %lld", s, (long long)ms);
	/* A rejected parse must not touch the output. */
	assert_int_equal(ms, 777);
}

static void test_parse_basic(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("2026-11-28T03:15:00Z"), 1795835700000LL);
	assert_int_equal(parse_ok("2026-11-28T06:20:57.5Z"), 1795846857500LL);
	assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
	assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), -62135596800000LL);
}

static void test_parse_case_and_separator(void **state)
{
	(void)state;
	int64_t want = 1795846857000LL;
	assert_int_equal(parse_ok("2026-11-28T06:20:57Z"), want);
	assert_int_equal(parse_ok("2026-11-28t06:20:57z"), want);
	assert_int_equal(parse_ok("2026-11-28 06:20:57Z"), want);
	assert_int_equal(parse_ok("2026-11-28t06:20:57Z"), want);
}

static void test_parse_offsets(void **state)
{
	(void)state;
	int64_t want = 1795846857500LL; /* 2026-11-28T06:20:57.5Z */
	/* Khakassia is UTC+7. */
	assert_int_equal(parse_ok("2026-11-28T13:20:57.5+07:00"), want);
	assert_int_equal(parse_ok("2026-11-28T02:50:57.5-03:30"), want);
	assert_int_equal(parse_ok("2026-11-28T06:20:57.5+00:00"), want);
	assert_int_equal(parse_ok("2026-11-28T06:20:57.5-00:00"), want);
	/* Offsets that cross a day, a month and a year boundary. */
	assert_int_equal(parse_ok("2027-01-01T05:00:00+07:00"), parse_ok("2026-12-31T22:00:00Z"));
	assert_int_equal(parse_ok("2026-12-31T23:30:00-23:59"), parse_ok("2027-01-01T23:29:00Z"));
	assert_int_equal(parse_ok("2026-03-01T00:00:00+23:59"), parse_ok("2026-02-28T00:01:00Z"));
}

static void test_parse_fraction(void **state)
{
	(void)state;
	int64_t base = 1795846857000LL;
	assert_int_equal(parse_ok("2026-11-28T06:20:57.1Z"), base + 100);
	assert_int_equal(parse_ok("2026-11-28T06:20:57.12Z"), base + 120);
	assert_int_equal(parse_ok("2026-11-28T06:20:57.123Z"), base + 123);
	/* Beyond milliseconds: truncated, never rounded up. */
	assert_int_equal(parse_ok("2026-11-28T06:20:57.123456789Z"), base + 123);
	assert_int_equal(parse_ok("2026-11-28T06:20:57.9999999Z"), base + 999);
	assert_int_equal(parse_ok("2026-11-28T06:20:57.000Z"), base);
	assert_int_equal(parse_ok("2026-11-28T06:20:57.05+07:00"), base + 50 - 7 * 3600000LL);
}

static void test_parse_leap_years(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
	assert_int_equal(parse_ok("2024-02-29T12:00:00Z"), 1709208000000LL);
	parse_ok("2028-02-29T00:00:00Z");
	parse_ok("1600-02-29T00:00:00Z");
	assert_rejected("2026-02-29T00:00:00Z");
	assert_rejected("1900-02-29T00:00:00Z"); /* divisible by 100, not by 400 */
	assert_rejected("2100-02-29T00:00:00Z");
	assert_rejected("2023-02-29T00:00:00Z");
	assert_rejected("2024-02-30T00:00:00Z");
	/* Feb 28 and Mar 1 on both kinds of years are one or two days apart. */
	assert_int_equal(parse_ok("2024-03-01T00:00:00Z") - parse_ok("2024-02-28T00:00:00Z"),
	                 2 * 86400000LL);
	assert_int_equal(parse_ok("2026-03-01T00:00:00Z") - parse_ok("2026-02-28T00:00:00Z"),
	                 86400000LL);
}

static void test_parse_month_lengths(void **state)
{
	(void)state;
	static const char *const last_ok[] = {
	        "2026-01-31", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31",
	        "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31",
	};
	static const char *const one_past[] = {
	        "2026-01-32", "2026-03-32", "2026-04-31", "2026-05-32", "2026-06-31", "2026-07-32",
	        "2026-08-32", "2026-09-31", "2026-10-32", "2026-11-31", "2026-12-32",
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(last_ok) / sizeof(last_ok[0]); i++) {
		snprintf(buf, sizeof(buf), "%sT10:00:00Z", last_ok[i]);
		parse_ok(buf);
		snprintf(buf, sizeof(buf), "%sT10:00:00Z", one_past[i]);
		assert_rejected(buf);
	}
}

static void test_parse_out_of_range(void **state)
{
	(void)state;
	assert_rejected("2026-00-10T00:00:00Z");
	assert_rejected("2026-13-10T00:00:00Z");
	assert_rejected("2026-11-00T00:00:00Z");
	assert_rejected("2026-11-28T24:00:00Z");
	assert_rejected("2026-11-28T23:60:00Z");
	assert_rejected("2026-11-28T23:59:61Z");
	assert_rejected("2026-11-28T23:59:99Z");
	assert_rejected("2026-11-28T06:20:57+24:00");
	assert_rejected("2026-11-28T06:20:57+07:60");
	assert_rejected("2026-11-28T06:20:57-99:00");
	/* The instant itself must stay within years 0000..9999 UTC. */
	assert_int_equal(parse_ok("0000-01-01T00:00:00Z"), MIN_MS);
	assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), MAX_MS);
	assert_int_equal(parse_ok("0000-01-01T07:00:00+07:00"), MIN_MS);
	assert_rejected("0000-01-01T00:00:00+00:01");
	assert_rejected("9999-12-31T23:59:59-00:01");
}

static void test_parse_leap_second(void **state)
{
	(void)state;
	int64_t next_day = 1483228800000LL; /* 2017-01-01T00:00:00Z */
	assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), next_day);
	assert_int_equal(parse_ok("2016-12-31T23:59:60.250Z"), next_day + 250);
	/* 06:59:60 in UTC+7 is 23:59:60 UTC. */
	assert_int_equal(parse_ok("2017-01-01T06:59:60+07:00"), next_day);
	assert_int_equal(parse_ok("2016-12-31T20:29:60-03:30"), next_day);
	assert_rejected("2016-12-31T12:00:60Z");
	assert_rejected("2016-12-31T23:58:60Z");
	assert_rejected("2016-12-31T23:59:60+07:00"); /* 16:59:60 UTC */
}

static void test_parse_garbage(void **state)
{
	(void)state;
	int64_t ms = 777;
	assert_int_equal(rfc3339_parse(NULL, &ms), -1);
	static const char *const bad[] = {
	        "",
	        "Z",
	        "now",
	        "2026-11-28",
	        "2026-11-28T",
	        "2026-11-28T06:20Z",
	        "2026-11-28T06:20:57",   /* no offset */
	        "2026-11-28T06:20:57Zx", /* trailing bytes */
	        "2026-11-28T06:20:57Z ", /* trailing space */
	        " 2026-11-28T06:20:57Z", /* leading space */
	        "2026-11-28T06:20:57+07:00 ",
	        "2026-11-28T06:20:57ZZ",
	        "2026-11-28T06:20:57.Z", /* empty fraction */
	        "2026-11-28T06:20:57.",
	        "2026-11-28T06:20:57,5Z",   /* comma fraction */
	        "2026-11-28T06:20:57+0700", /* basic-format offset */
	        "2026-11-28T06:20:57+07",
	        "2026-11-28T06:20:57+7:00",
	        "2026-11-28T06:20:57 +07:00",
	        "2026-11-28T06:20:57UTC",
	        "2026-11-28T06:20:57GMT",
	        "2026-11-28_06:20:57Z",
	        "2026-11-28TT06:20:57Z",
	        "2026/11/28T06:20:57Z",
	        "26-11-28T06:20:57Z",
	        "+2026-11-28T06:20:57Z",
	        "-2026-11-28T06:20:57Z",
	        "12026-11-28T06:20:57Z",
	        "2026-1-28T06:20:57Z",
	        "2026-11-8T06:20:57Z",
	        "2026-11-28T6:20:57Z",
	        "2026-11-28T06:2:57Z",
	        "2026-11-28T06:20:5Z",
	        "2026-11-28T06:20:57.5.5Z",
	        "2026-11-28T06-20-57Z",
	        "2026-11-28T06:20:57\xd0\x97", /* a Cyrillic Ze that looks like Z */
	        "２０２６-11-28T06:20:57Z",    /* full-width digits */
	        "2026-11-28T06:20:57.١Z",      /* Arabic-Indic digit */
	        "1795846857",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejected(bad[i]);
}

static void test_parse_stops_at_nul(void **state)
{
	(void)state;
	/* The parser sees a C string: what follows an embedded NUL is not read. Callers with
	 * counted strings (fields.c) reject embedded NULs themselves. */
	const char s[] = "2026-11-28T06:20:57Z\0garbage";
	assert_int_equal(parse_ok(s), 1795846857000LL);
}

static void assert_format(int64_t ms, const char *want)
{
	char buf[32];
	memset(buf, 'x', sizeof(buf));
	rfc3339_format(ms, buf);
	assert_string_equal(buf, want);
	assert_int_equal(strlen(buf), 24);
}

static void test_format(void **state)
{
	(void)state;
	assert_format(0, "1970-01-01T00:00:00.000Z");
	assert_format(-1, "1969-12-31T23:59:59.999Z");
	assert_format(1795835700000LL, "2026-11-28T03:15:00.000Z");
	assert_format(1795846857500LL, "2026-11-28T06:20:57.500Z");
	assert_format(951782400000LL, "2000-02-29T00:00:00.000Z");
	assert_format(951782400000LL - 1, "2000-02-28T23:59:59.999Z");
	assert_format(-62135596800000LL, "0001-01-01T00:00:00.000Z");
	assert_format(MIN_MS, "0000-01-01T00:00:00.000Z");
	assert_format(MAX_MS, "9999-12-31T23:59:59.999Z");
	/* Clamped at both ends, so the output always parses. */
	assert_format(MIN_MS - 1, "0000-01-01T00:00:00.000Z");
	assert_format(MAX_MS + 1, "9999-12-31T23:59:59.999Z");
	assert_format(INT64_MIN, "0000-01-01T00:00:00.000Z");
	assert_format(INT64_MAX, "9999-12-31T23:59:59.999Z");
}

/* Checks the calendar code against gmtime_r for every day of 1600..2500 and round trips. */
static void test_format_matches_gmtime(void **state)
{
	(void)state;
	int64_t from = parse_ok("1600-01-01T00:00:00Z") / 1000;
	int64_t to = parse_ok("2500-12-31T00:00:00Z") / 1000;
	int checked = 0;
	/* One step of a day plus 3601 s walks through every time of day over the years. */
	for (int64_t sec = from; sec <= to; sec += 86400 + 3601) {
		time_t t = (time_t)sec;
		struct tm tm;
		assert_non_null(gmtime_r(&t, &tm));
		char want[80], got[32];
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.042Z",
		         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		         tm.tm_sec);
		int64_t ms = sec * 1000 + 42;
		rfc3339_format(ms, got);
		assert_string_equal(got, want);
		int64_t back = 0;
		assert_int_equal(rfc3339_parse(got, &back), 0);
		assert_int_equal(back, ms);
		checked++;
	}
	assert_true(checked > 300000);
}

static void test_round_trip_edges(void **state)
{
	(void)state;
	const int64_t values[] = {
	        MIN_MS, MIN_MS + 1,     -86400001LL,     -1,         0,     1, 999,
	        1000,   951868799999LL, 1795846857500LL, MAX_MS - 1, MAX_MS};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char buf[32];
		rfc3339_format(values[i], buf);
		int64_t back = 0;
		assert_int_equal(rfc3339_parse(buf, &back), 0);
		assert_int_equal(back, values[i]);
	}
}

static void test_clocks(void **state)
{
	(void)state;
	int64_t now = time_now_ms();
	int64_t wall = (int64_t)time(NULL) * 1000;
	assert_true(now >= wall - 2000 && now <= wall + 2000);

	int64_t m0 = time_mono_ms();
	struct timespec ts = {0, 30 * 1000000L};
	while (nanosleep(&ts, &ts) != 0) {
	}
	int64_t m1 = time_mono_ms();
	assert_true(m1 - m0 >= 30);
	assert_true(m1 - m0 < 5000);
	assert_true(time_mono_ms() >= m1);
}

/* A deadline ms ahead on the clock asked for, its nanoseconds always below one second. */
static void test_deadlines(void **state)
{
	(void)state;
	static const int64_t ahead[] = {0, 1, 999, 1000, 1999, 2500, 3600000};
	for (size_t i = 0; i < sizeof(ahead) / sizeof(ahead[0]); i++) {
		int64_t before = time_mono_ms();
		struct timespec t = time_after_ms(CLOCK_MONOTONIC, ahead[i]);
		int64_t after = time_mono_ms();
		int64_t at = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
		assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
		assert_true(at >= before + ahead[i] - 1 && at <= after + ahead[i] + 1);
	}
	struct timespec wall = time_after_ms(CLOCK_REALTIME, 5000);
	int64_t wall_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	assert_true(wall_ms - time_now_ms() > 4000 && wall_ms - time_now_ms() <= 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_basic),
	        cmocka_unit_test(test_parse_case_and_separator),
	        cmocka_unit_test(test_parse_offsets),
	        cmocka_unit_test(test_parse_fraction),
	        cmocka_unit_test(test_parse_leap_years),
	        cmocka_unit_test(test_parse_month_lengths),
	        cmocka_unit_test(test_parse_out_of_range),
	        cmocka_unit_test(test_parse_leap_second),
	        cmocka_unit_test(test_parse_garbage),
	        cmocka_unit_test(test_parse_stops_at_nul),
	        cmocka_unit_test(test_format),
	        cmocka_unit_test(test_format_matches_gmtime),
	        cmocka_unit_test(test_round_trip_edges),
	        cmocka_unit_test(test_clocks),
	        cmocka_unit_test(test_deadlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
