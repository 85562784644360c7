/*
 * workcal: working-time arithmetic over the region's production calendar (workcal.h).
 *
 * Instants are shifted by the fixed UTC offset into local time and cut into local days (days
 * since 1970-01-01). Whether a day is working comes from a flag table built once over the
 * years the calendar lists (weekday rule, minus holidays, plus working weekend days); outside
 * those years Monday to Friday work. Every function walks whole days, so a deadline ten
 * working days ahead costs about fourteen table lookups.
 */
#include "workcal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define MINUTE_MS INT64_C(60000)
#define DAY_MS INT64_C(86400000)

struct workcal {
	int64_t offset_ms; /* local = UTC + offset */
	int64_t start_ms;  /* working period within a local day: [start_ms, end_ms) */
	int64_t end_ms;
	int64_t first_day; /* flags[i] tells whether local day first_day + i works */
	size_t ndays;
	bool *flags;
};

/* Floor division, so instants before the epoch land in the right day. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Monday 0 .. Sunday 6; 1970-01-01 was a Thursday. */
static int weekday(int64_t day)
{
	return (int)(((day + 3) % 7 + 7) % 7);
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int parse_2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "YYYY-MM-DD" (a real date) to a day number; -1 on anything else. */
static int parse_date(const char *s, int64_t *day, int *year)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !is_digits(s, 4) ||
	    !is_digits(s + 5, 2) || !is_digits(s + 8, 2))
		return -1;
	int y = parse_2(s) * 100 + parse_2(s + 2), m = parse_2(s + 5), d = parse_2(s + 8);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap_year(y)))
		return -1;
	*day = days_from_civil(y, m, d);
	*year = y;
	return 0;
}

/* "HH:MM" (00:00..24:00) to milliseconds after midnight; -1 on anything else. */
static int parse_clock(const char *s, int64_t *ms)
{
	if (strlen(s) != 5 || s[2] != ':' || !is_digits(s, 2) || !is_digits(s + 3, 2))
		return -1;
	int h = parse_2(s), m = parse_2(s + 3);
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	*ms = (h * 60 + m) * MINUTE_MS;
	return 0;
}

/* "+07:00" / "-03:30" to milliseconds; -1 on anything else. */
static int parse_offset(const char *s, int64_t *ms)
{
	if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !is_digits(s + 1, 2) ||
	    !is_digits(s + 4, 2))
		return -1;
	int h = parse_2(s + 1), m = parse_2(s + 4);
	if (h > 14 || m > 59)
		return -1;
	*ms = (s[0] == '-' ? -1 : 1) * (h * 60 + m) * MINUTE_MS;
	return 0;
}

/* Reads the string member `key` with `parse` into *out; -1 with err naming the member. */
static int read_member(const json_t *cal, const char *key, int (*parse)(const char *, int64_t *),
                       const char *form, int64_t *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(cal, key);

	if (!json_is_string(v)) {
		snprintf(err, errlen, "calendar.%s: %s", key, v ? "must be a string" : "missing");
		return -1;
	}
	if (parse(json_string_value(v), out) != 0) {
		snprintf(err, errlen, "calendar.%s: not %s", key, form);
		return -1;
	}
	return 0;
}

/* Checks one date list and widens [*lo, *hi] to the years it mentions. */
static int scan_dates(const json_t *cal, const char *key, int *lo, int *hi, char *err,
                      size_t errlen)
{
	const json_t *arr = json_object_get(cal, key), *v;
	size_t i;

	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "calendar.%s: must be an array of dates YYYY-MM-DD", key);
		return -1;
	}
	json_array_foreach(arr, i, v)
	{
		int64_t day;
		int year;

		if (!json_is_string(v) || parse_date(json_string_value(v), &day, &year) != 0) {
			snprintf(err, errlen, "calendar.%s[%zu]: not a date YYYY-MM-DD", key, i);
			return -1;
		}
		if (year < *lo)
			*lo = year;
		if (year > *hi)
			*hi = year;
	}
	return 0;
}

/* Sets the flag of every listed day to `working`; a working weekend day must fall on a
 * weekend, and no day may be in both lists. */
static int mark_dates(struct workcal *cal, const json_t *obj, const char *key, bool working,
                      bool *seen, char *err, size_t errlen)
{
	const json_t *arr = json_object_get(obj, key), *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		int64_t day;
		int year;

		parse_date(json_string_value(v), &day, &year);
		size_t k = (size_t)(day - cal->first_day);
		if (working && weekday(day) < 5) {
			snprintf(err, errlen, "calendar.%s[%zu]: %s is not a Saturday or Sunday",
			         key, i, json_string_value(v));
			return -1;
		}
		if (seen[k] && cal->flags[k] != working) {
			snprintf(err, errlen, "calendar.%s[%zu]: %s is also listed as %s", key, i,
			         json_string_value(v), working ? "a holiday" : "a working day");
			return -1;
		}
		seen[k] = true;
		cal->flags[k] = working;
	}
	return 0;
}

struct workcal *workcal_new(const json_t *calendar, char *err, size_t errlen)
{
	int64_t offset_ms, start_ms, end_ms;
	int lo = 9999, hi = 0;

	if (!json_is_object(calendar)) {
		snprintf(err, errlen, "calendar: must be an object");
		return NULL;
	}
	if (read_member(calendar, "utc_offset", parse_offset, "an offset +HH:MM", &offset_ms, err,
	                errlen) != 0)
		return NULL;
	if (read_member(calendar, "day_start", parse_clock, "a time HH:MM", &start_ms, err,
	                errlen) != 0)
		return NULL;
	if (read_member(calendar, "day_end", parse_clock, "a time HH:MM", &end_ms, err, errlen) !=
	    0)
		return NULL;
	if (end_ms <= start_ms) {
		snprintf(err, errlen, "calendar.day_end: must be after day_start");
		return NULL;
	}
	if (scan_dates(calendar, "holidays", &lo, &hi, err, errlen) != 0 ||
	    scan_dates(calendar, "working_weekends", &lo, &hi, err, errlen) != 0)
		return NULL;

	struct workcal *cal = xcalloc(1, sizeof(*cal));
	cal->offset_ms = offset_ms;
	cal->start_ms = start_ms;
	cal->end_ms = end_ms;
	if (lo > hi) /* no dates at all: the weekday rule everywhere */
		return cal;
	cal->first_day = days_from_civil(lo, 1, 1);
	cal->ndays = (size_t)(days_from_civil(hi + 1, 1, 1) - cal->first_day);
	cal->flags = xmalloc(cal->ndays * sizeof(*cal->flags));
	for (size_t i = 0; i < cal->ndays; i++)
		cal->flags[i] = weekday(cal->first_day + (int64_t)i) < 5;

	bool *seen = xcalloc(cal->ndays, sizeof(*seen));
	int rc = mark_dates(cal, calendar, "holidays", false, seen, err, errlen);
	if (rc == 0)
		rc = mark_dates(cal, calendar, "working_weekends", true, seen, err, errlen);
	free(seen);
	if (rc != 0) {
		workcal_free(cal);
		return NULL;
	}
	return cal;
}

void workcal_free(struct workcal *cal)
{
	if (!cal)
		return;
	free(cal->flags);
	free(cal);
}

static int64_t local_day(const struct workcal *cal, int64_t at)
{
	return floor_div(at + cal->offset_ms, DAY_MS);
}

/* The UTC instant of a local day's midnight. */
static int64_t day_begin(const struct workcal *cal, int64_t day)
{
	return day * DAY_MS - cal->offset_ms;
}

static bool day_works(const struct workcal *cal, int64_t day)
{
	if (day >= cal->first_day && day - cal->first_day < (int64_t)cal->ndays)
		return cal->flags[day - cal->first_day];
	return weekday(day) < 5;
}

bool workcal_is_working_day(const struct workcal *cal, int64_t at)
{
	return day_works(cal, local_day(cal, at));
}

int64_t workcal_add_working(const struct workcal *cal, int64_t start, int64_t working_ms)
{
	int64_t t = start, left = working_ms < 0 ? 0 : working_ms;

	for (int64_t day = local_day(cal, t);; day++) {
		if (!day_works(cal, day))
			continue;
		int64_t open = day_begin(cal, day) + cal->start_ms;
		int64_t close = day_begin(cal, day) + cal->end_ms;
		if (t < open)
			t = open;
		if (t >= close)
			continue;
		/* A deadline that uses up the day exactly falls at its close, not next morning;
		 * zero time left means "now", which must be inside the period (t < close). */
		if (left <= close - t)
			return t + left;
		left -= close - t;
	}
}

int64_t workcal_add_working_days(const struct workcal *cal, int64_t start, int days)
{
	int64_t day = local_day(cal, start);

	for (int n = 0; n < days;)
		if (day_works(cal, ++day))
			n++;
	return day_begin(cal, day) + cal->end_ms;
}

int64_t workcal_working_between(const struct workcal *cal, int64_t a, int64_t b)
{
	int64_t total = 0;

	if (b <= a)
		return 0;
	for (int64_t day = local_day(cal, a), last = local_day(cal, b); day <= last; day++) {
		if (!day_works(cal, day))
			continue;
		int64_t open = day_begin(cal, day) + cal->start_ms;
		int64_t close = day_begin(cal, day) + cal->end_ms;
		int64_t from = a > open ? a : open, to = b < close ? b : close;
		if (to > from)
			total += to - from;
	}
	return total;
}
