/*
 * GET /v1/stats and the assigner_* gauges on a known set of incidents, with the exact figures:
 * counts, the share answered in time (undecided ones left out), mean and median working hours
 * to the first answer, satisfaction with its sample size, figures and rankings suppressed
 * under the minimum sample, rejected incidents and other periods left out; the gauges checked
 * by promtool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_support.h"
#include "db.h"
#include "http_client.h"
#include "promtool.h"
#include "timefmt.h"
#include "xalloc.h"

static int setup_group(void **state)
{
	(void)state;
	api_fixture_start(NULL);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	api_fixture_stop();
	return 0;
}

/* An incident opened on day `day` of March 2025 at 02:00 UTC with an 8-hour first-answer
 * deadline, answered after `hours` working hours, `clock_hours` by the clock (< 0: not
 * answered), with the citizen's feedback. */
static void answered_after(const char *status, const char *topic, const char *municipality,
                           const char *authority, int day, int hours, int clock_hours,
                           const char *satisfied, const char *due_override)
{
	char opened[32], due[32], at[32], ms[32];
	snprintf(opened, sizeof(opened), "2025-03-%02dT02:00:00Z", day);
	snprintf(due, sizeof(due), "2025-03-%02dT10:00:00Z", day);
	snprintf(at, sizeof(at), "2025-03-%02dT%02d:00:00Z", day + (2 + clock_hours) / 24,
	         (2 + clock_hours) % 24);
	snprintf(ms, sizeof(ms), "%lld", (long long)hours * 3600000);
	fixture_incident(
	        &(struct fixture_incident){.status = status,
	                                   .topic = topic,
	                                   .municipality = municipality,
	                                   .authority = authority,
	                                   .opened_at = opened,
	                                   .first_answer_due = due_override ? due_override : due,
	                                   .first_answered_at = hours >= 0 ? at : NULL,
	                                   .first_answer_ms = hours >= 0 ? ms : NULL,
	                                   .overdue = hours < 0 && !due_override ? "true" : "false",
	                                   .satisfied = satisfied});
}

/* The same with the clock hours equal to the working ones. */
static void answered(const char *status, const char *topic, const char *municipality,
                     const char *authority, int day, int hours, const char *satisfied,
                     const char *due_override)
{
	answered_after(status, topic, municipality, authority, day, hours, hours, satisfied,
	               due_override);
}

static void insert_march(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	/* Abakan, housing: 6 answered after 1, 2, 3, 4, 5 and 9 working hours (the last one
	 * late, and 23 hours by the clock: it waited over a night). */
	static const int hours[] = {1, 2, 3, 4, 5, 9};
	static const int clock[] = {1, 2, 3, 4, 5, 23};
	static const char *const sat[] = {"true", "true", "true", "false", "true", NULL};
	for (int i = 0; i < 6; i++)
		answered_after("responded", "housing", "abakan", "abakan_ukhit", i + 1, hours[i],
		               clock[i], sat[i], NULL);
	/* Chernogorsk, roads: in time twice, once overdue and unanswered. */
	answered("responded", "roads", "chernogorsk", "chernogorsk_admin", 10, 2, "false", NULL);
	answered("responded", "roads", "chernogorsk", "chernogorsk_admin", 11, 6, NULL, NULL);
	answered("assigned", "roads", "chernogorsk", "chernogorsk_admin", 12, -1, NULL, NULL);
	/* Sayanogorsk, waste: within its deadline still, so neither in time nor late. */
	answered("assigned", "waste", "sayanogorsk", "aerosity", 13, -1, NULL,
	         "2099-01-01T00:00:00Z");
	/* Not counted: rejected as not an incident, and opened in April. */
	answered("rejected", "housing", "abakan", "abakan_ukhit", 14, 100, "false", NULL);
	fixture_incident(&(struct fixture_incident){.status = "resolved",
	                                            .opened_at = "2025-04-05T02:00:00Z",
	                                            .first_answered_at = "2025-04-07T02:00:00Z",
	                                            .first_answer_ms = "180000000",
	                                            .resolved_at = "2025-04-08T02:00:00Z"});
}

static json_t *stats(const char *query)
{
	char path[256];
	json_t *doc;
	snprintf(path, sizeof(path), "/v1/stats?%s", query);
	long st = api_call("GET", TOKEN_VIEWER, path, NULL, &doc);
	if (st != 200)
		fail_msg("GET %s: %ld %s", path, st, json_dumps(doc, 0));
	return doc;
}

static void expect_number(const json_t *obj, const char *name, double want)
{
	const json_t *v = json_object_get(obj, name);
	if (!json_is_number(v))
		fail_msg("%s: not a number in %s", name, json_dumps(obj, 0));
	if (fabs(json_number_value(v) - want) > 1e-9)
		fail_msg("%s: %.10g, want %.10g", name, json_number_value(v), want);
}

static void expect_null(const json_t *obj, const char *name)
{
	if (!json_is_null(json_object_get(obj, name)))
		fail_msg("%s: want null in %s", name, json_dumps(obj, 0));
}

static const json_t *group(const json_t *doc, const char *list, const char *key_name,
                           const char *key)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(doc, list), i,
	                   g) if (!strcmp(jstr(g, key_name), key)) return g;
	fail_msg("%s: no %s %s", list, key_name, key);
	return NULL;
}

static void test_overall_figures(void **state)
{
	(void)state;
	insert_march();
	json_t *doc = stats("from=2025-03-01T00:00:00Z&to=2025-04-01T00:00:00Z");
	const json_t *o = json_object_get(doc, "overall");

	assert_string_equal(jstr(doc, "from"), "2025-03-01T00:00:00.000Z");
	assert_string_equal(jstr(doc, "to"), "2025-04-01T00:00:00.000Z");
	expect_number(doc, "min_sample", 5);
	expect_number(o, "incidents", 10);
	/* 6 + 3 decided, 5 + 2 of them in time; the Sayanogorsk one is still undecided. */
	expect_number(o, "answered_n", 9);
	expect_number(o, "in_time_share", 0.7778);
	/* 1 2 2 3 4 5 6 9 hours: mean 4, median 3.5. */
	expect_number(o, "first_answer_n", 8);
	expect_number(o, "first_answer_mean_hours", 4);
	expect_number(o, "first_answer_median_hours", 3.5);
	/* In clock hours from assignment: the same here but for the night the 9-hour one waited
	 * (see insert_march), 1 2 2 3 4 5 6 23: mean 5.75, median 3.5. */
	expect_number(o, "first_answer_clock_mean_hours", 5.75);
	expect_number(o, "first_answer_clock_median_hours", 3.5);
	/* 4 satisfied of 6 who answered. */
	expect_number(o, "satisfaction_n", 6);
	expect_number(o, "satisfaction_share", 0.6667);
	json_decref(doc);
}

static void test_groups_and_small_samples(void **state)
{
	(void)state;
	insert_march();
	json_t *doc = stats("from=2025-03-01T00:00:00Z&to=2025-04-01T00:00:00Z");

	const json_t *abakan = group(doc, "by_municipality", "municipality", "abakan");
	assert_string_equal(jstr(abakan, "name"), "Абакан");
	expect_number(abakan, "incidents", 6);
	expect_number(abakan, "answered_n", 6);
	expect_number(abakan, "in_time_share", 0.8333);
	expect_number(abakan, "first_answer_mean_hours", 4);
	expect_number(abakan, "first_answer_median_hours", 3.5);
	expect_number(abakan, "first_answer_clock_mean_hours", 6.3333);
	expect_number(abakan, "satisfaction_n", 5);
	expect_number(abakan, "satisfaction_share", 0.8);

	/* Three cases: the counts are given, the shares and means are not. */
	const json_t *chern = group(doc, "by_municipality", "municipality", "chernogorsk");
	expect_number(chern, "incidents", 3);
	expect_number(chern, "answered_n", 3);
	expect_null(chern, "in_time_share");
	expect_number(chern, "first_answer_n", 2);
	expect_null(chern, "first_answer_mean_hours");
	expect_null(chern, "first_answer_median_hours");
	expect_null(chern, "first_answer_clock_mean_hours");
	expect_number(chern, "satisfaction_n", 1);
	expect_null(chern, "satisfaction_share");

	const json_t *say = group(doc, "by_municipality", "municipality", "sayanogorsk");
	expect_number(say, "incidents", 1);
	expect_number(say, "answered_n", 0);
	expect_null(say, "in_time_share");
	/* Ordered by incidents. */
	assert_string_equal(
	        jstr(json_array_get(json_object_get(doc, "by_municipality"), 0), "municipality"),
	        "abakan");
	assert_int_equal(json_array_size(json_object_get(doc, "by_municipality")), 3);

	const json_t *housing = group(doc, "by_topic", "topic", "housing");
	assert_string_equal(jstr(housing, "name"), "ЖКХ и содержание домов");
	expect_number(housing, "in_time_share", 0.8333);
	expect_number(group(doc, "by_topic", "topic", "roads"), "incidents", 3);
	const json_t *ukhit = group(doc, "by_authority", "authority", "abakan_ukhit");
	expect_number(ukhit, "incidents", 6);
	expect_number(ukhit, "satisfaction_share", 0.8);
	assert_non_null(strstr(jstr(ukhit, "name"), "Абакана"));
	expect_number(group(doc, "by_authority", "authority", "aerosity"), "incidents", 1);

	/* No ranking from a handful: only Abakan and housing have 5 or more. */
	json_t *top_m = json_object_get(doc, "top_municipalities");
	assert_int_equal(json_array_size(top_m), 1);
	assert_string_equal(jstr(json_array_get(top_m, 0), "municipality"), "abakan");
	assert_string_equal(jstr(json_array_get(top_m, 0), "name"), "Абакан");
	expect_number(json_array_get(top_m, 0), "incidents", 6);
	json_t *top_t = json_object_get(doc, "top_topics");
	assert_int_equal(json_array_size(top_t), 1);
	assert_string_equal(jstr(json_array_get(top_t, 0), "topic"), "housing");
	json_decref(doc);

	/* A period with nothing in it: zero counts, null figures. */
	doc = stats("from=2024-01-01T00:00:00Z&to=2024-02-01T00:00:00Z");
	expect_number(json_object_get(doc, "overall"), "incidents", 0);
	expect_null(json_object_get(doc, "overall"), "satisfaction_share");
	assert_int_equal(json_array_size(json_object_get(doc, "by_topic")), 0);
	json_decref(doc);
}

/* An authority's user gets the figures of its own incidents (and those below it) only. */
static void test_authority_sees_its_own_figures(void **state)
{
	(void)state;
	insert_march();
	json_t *doc;
	const char *march = "/v1/stats?from=2025-03-01T00:00:00Z&to=2025-04-01T00:00:00Z";

	assert_int_equal(api_call("GET", TOKEN_CHERNOGORSK, march, NULL, &doc), 200);
	expect_number(json_object_get(doc, "overall"), "incidents", 3);
	assert_int_equal(json_array_size(json_object_get(doc, "by_authority")), 1);
	assert_string_equal(
	        jstr(json_array_get(json_object_get(doc, "by_authority"), 0), "authority"),
	        "chernogorsk_admin");
	json_decref(doc);
	assert_int_equal(api_call("GET", TOKEN_ABAKAN, march, NULL, &doc), 200);
	expect_number(json_object_get(doc, "overall"), "incidents", 6);
	expect_number(json_object_get(doc, "overall"), "in_time_share", 0.8333);
	json_decref(doc);
}

static void test_parameters_and_roles(void **state)
{
	(void)state;
	json_t *doc;

	assert_int_equal(api_call("GET", TOKEN_VIEWER, "/v1/stats?from=yesterday", NULL, &doc),
	                 400);
	assert_string_equal(jstr(doc, "field"), "from");
	json_decref(doc);
	assert_int_equal(api_call("GET", TOKEN_VIEWER,
	                          "/v1/stats?from=2025-03-01T00:00:00Z&to=2025-03-01T00:00:00Z",
	                          NULL, &doc),
	                 400);
	assert_string_equal(jstr(doc, "field"), "to");
	json_decref(doc);
	assert_int_equal(api_call("GET", NULL, "/v1/stats", NULL, &doc), 401);
	json_decref(doc);
	/* Without a period: the last 30 days. */
	assert_int_equal(api_call("GET", TOKEN_OPERATOR, "/v1/stats", NULL, &doc), 200);
	int64_t from, to;
	assert_int_equal(rfc3339_parse(jstr(doc, "from"), &from), 0);
	assert_int_equal(rfc3339_parse(jstr(doc, "to"), &to), 0);
	assert_true(to - from == 30LL * 86400 * 1000);
	assert_true(llabs(to - time_now_ms()) < 60000);
	json_decref(doc);
}

/* The value of an unlabelled series in the exposition, as text. */
static char *series(const char *text, const char *name)
{
	char key[128];
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *p = strstr(text, key);
	if (!p)
		fail_msg("no series %s in /metrics", name);
	p += strlen(key);
	return xstrndup(p, strcspn(p, "\n"));
}

static void expect_series(const char *text, const char *name, const char *want)
{
	char *got = series(text, name);
	if (strcmp(got, want))
		fail_msg("%s %s, want %s", name, got, want);
	free(got);
}

/* The value of name{authority="<authority>",name="..."}, which must be there. */
static void expect_authority(const char *text, const char *name, const char *authority,
                             const char *want)
{
	char key[160];
	snprintf(key, sizeof(key), "\n%s{authority=\"%s\",name=\"", name, authority);
	const char *p = strstr(text, key);
	if (!p)
		fail_msg("no series %s for %s in /metrics", name, authority);
	p = strstr(p, "} ") + 2;
	char *got = xstrndup(p, strcspn(p, "\n"));
	if (strcmp(got, want))
		fail_msg("%s{authority=%s} %s, want %s", name, authority, got, want);
	free(got);
}

static char *scrape(void)
{
	char url[96], err[256];
	struct http_client_response r;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", api_fixture_port());
	if (http_get(url, &r, err, sizeof(err)) < 0)
		fail_msg("GET /metrics: %s", err);
	assert_int_equal(r.status, 200);
	assert_int_equal(promtool_check(r.body, r.body_len, NULL, 0), 0);
	char *text = xstrdup(r.body);
	http_client_response_clear(&r);
	return text;
}

static void test_gauges(void **state)
{
	(void)state;
	insert_march();
	/* Nothing in the last 30 days yet: the shares are unknown, not zero. */
	char *text = scrape();
	/* Open: the 6 + 2 responded and 2 assigned of March; 1 of them overdue. */
	expect_series(text, "assigner_incidents_open", "10");
	expect_series(text, "assigner_incidents_overdue", "1");
	expect_series(text, "assigner_answered_in_time_ratio", "NaN");
	expect_series(text, "assigner_satisfaction_ratio", "NaN");
	expect_series(text, "assigner_satisfaction_responses", "0");
	/* By authority, every one of the pack: 0 for those holding none. */
	expect_authority(text, "assigner_authority_incidents_open", "abakan_ukhit", "6");
	expect_authority(text, "assigner_authority_incidents_overdue", "abakan_ukhit", "0");
	expect_authority(text, "assigner_authority_incidents_open", "chernogorsk_admin", "3");
	expect_authority(text, "assigner_authority_incidents_overdue", "chernogorsk_admin", "1");
	expect_authority(text, "assigner_authority_incidents_open", "aerosity", "1");
	expect_authority(text, "assigner_authority_incidents_open", "abaza_admin", "0");
	assert_non_null(strstr(text, "name=\"Администрация города Черногорска\""));
	free(text);

	/* Five recent ones, answered after 1 to 5 working hours, in time; 4 of 5 satisfied. */
	int64_t now = time_now_ms();
	for (int i = 0; i < 5; i++) {
		char opened[32], due[32], at[32], ms[32];
		int64_t t = now - (int64_t)(i + 2) * 86400000;
		rfc3339_format(t, opened);
		rfc3339_format(t + 8 * 3600000, due);
		rfc3339_format(t + (int64_t)(i + 1) * 3600000, at);
		snprintf(ms, sizeof(ms), "%lld", (long long)(i + 1) * 3600000);
		fixture_incident(&(struct fixture_incident){.status = "responded",
		                                            .opened_at = opened,
		                                            .first_answer_due = due,
		                                            .first_answered_at = at,
		                                            .first_answer_ms = ms,
		                                            .satisfied = i ? "true" : "false"});
	}
	text = scrape();
	expect_series(text, "assigner_incidents_open", "15");
	expect_series(text, "assigner_answered_in_time_ratio", "1");
	expect_series(text, "assigner_first_answer_mean_seconds", "10800");
	expect_series(text, "assigner_satisfaction_ratio", "0.8");
	expect_series(text, "assigner_satisfaction_responses", "5");
	free(text);

	/* Figures that cannot be read are not known (NaN), not the last ones seen. */
	char err[256];
	assert_int_equal(db_run(api_fixture_db(), "ALTER TABLE assigner.incidents RENAME TO away",
	                        0, NULL, err, sizeof(err)),
	                 0);
	text = scrape();
	assert_int_equal(db_run(api_fixture_db(), "ALTER TABLE assigner.away RENAME TO incidents",
	                        0, NULL, err, sizeof(err)),
	                 0);
	expect_series(text, "assigner_incidents_open", "NaN");
	expect_series(text, "assigner_satisfaction_ratio", "NaN");
	expect_authority(text, "assigner_authority_incidents_open", "chernogorsk_admin", "NaN");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_overall_figures),
	        cmocka_unit_test(test_groups_and_small_samples),
	        cmocka_unit_test(test_authority_sees_its_own_figures),
	        cmocka_unit_test(test_parameters_and_roles),
	        cmocka_unit_test(test_gauges),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
