/*
 * The Open311 GeoReport v2 reads over real HTTP: services.json from the taxonomy, requests.json
 * mapping incidents (only those an authority is accountable for; personal data masked) with
 * the standard filters and their errors, one request by id, and the token requirement when
 * OPEN311_PUBLIC=false.
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

#include "api_support.h"
#include "open311.h"
#include "timefmt.h"
#include "xalloc.h"

#define DAY (86400LL * 1000)

static int64_t a_open, b_answered, c_resolved, d_moderation, e_rejected, f_old;
static int64_t now;

static const char *ago(int64_t ms, char buf[32])
{
	rfc3339_format(now - ms, buf);
	return buf;
}

static int setup_group(void **state)
{
	(void)state;
	char t1[32], t2[32], t3[32];
	api_fixture_start(NULL);
	now = time_now_ms();
	a_open = fixture_incident(&(struct fixture_incident){
	        .summary = "Нет отопления, звоните +7 (913) 123-45-67 или пишите "
	                   "ivan.petrov@mail.ru, дом 18",
	        .address = "Абакан, ул. Щетинкина, 18",
	        .opened_at = ago(3 * DAY, t1),
	        .first_answer_due = ago(3 * DAY - 8 * 3600000, t2),
	        .final_answer_due = ago(-7 * DAY, t3)});
	b_answered = fixture_incident(&(struct fixture_incident){.topic = "roads",
	                                                         .municipality = "chernogorsk",
	                                                         .authority = "chernogorsk_admin",
	                                                         .opened_at = ago(2 * DAY, t1)});
	c_resolved = fixture_incident(&(struct fixture_incident){.status = "resolved",
	                                                         .topic = "waste",
	                                                         .authority = "aerosity",
	                                                         .opened_at = ago(DAY, t1),
	                                                         .resolved_at = ago(DAY / 2, t2)});
	d_moderation = fixture_incident(
	        &(struct fixture_incident){.status = "moderation", .opened_at = ago(3600000, t1)});
	e_rejected = fixture_incident(
	        &(struct fixture_incident){.status = "rejected", .opened_at = ago(3600000, t1)});
	f_old = fixture_incident(&(struct fixture_incident){.opened_at = ago(200 * DAY, t1)});
	char path[96];
	json_t *doc;
	snprintf(path, sizeof(path), "/v1/incidents/%lld/respond", (long long)b_answered);
	if (api_call("POST", TOKEN_OPERATOR, path,
	             "{\"kind\":\"final\",\"text\":\"Яму заделали 20 ноября\"}", &doc) != 200)
		fail_msg("respond: %s", json_dumps(doc, 0));
	json_decref(doc);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	api_fixture_stop();
	return 0;
}

/* "id,id,..." of a GeoReport list. Caller frees. */
static char *request_ids(const json_t *list)
{
	char *out = xstrdup("");
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r)
	{
		char *next = xasprintf("%s%s%s", out, i ? "," : "", jstr(r, "service_request_id"));
		free(out);
		out = next;
	}
	return out;
}

static void expect_requests(const char *query, int n, ...)
{
	char path[512], want[256] = "";
	va_list ap;
	json_t *doc;

	snprintf(path, sizeof(path), "/open311/v2/requests.json%s%s", *query ? "?" : "", query);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%lld", i ? "," : "",
		         (long long)va_arg(ap, int64_t));
	va_end(ap);
	long st = api_call("GET", NULL, path, NULL, &doc);
	if (st != 200)
		fail_msg("GET %s: %ld %s", path, st, json_dumps(doc, 0));
	char *got = request_ids(doc);
	if (strcmp(got, want))
		fail_msg("GET %s: [%s], want [%s]", path, got, want);
	free(got);
	json_decref(doc);
}

/* A GeoReport error: [{"code": status, "description": "<param>: ..."}]. */
static void expect_open311_error(const char *path, long status, const char *description_part)
{
	json_t *doc;
	long st = api_call("GET", NULL, path, NULL, &doc);
	char *text = json_dumps(doc, 0);
	if (st != status)
		fail_msg("GET %s: %ld, want %ld: %s", path, st, status, text);
	json_t *e = json_array_get(doc, 0);
	if (json_integer_value(json_object_get(e, "code")) != status ||
	    !strstr(jstr(e, "description"), description_part))
		fail_msg("GET %s: %s lacks code %ld and \"%s\"", path, text, status,
		         description_part);
	free(text);
	json_decref(doc);
}

static void test_services(void **state)
{
	(void)state;
	json_t *doc;
	assert_int_equal(api_call("GET", NULL, "/open311/v2/services.json", NULL, &doc), 200);
	assert_int_equal(json_array_size(doc), 15);
	json_t *housing = json_array_get(doc, 0);
	assert_string_equal(jstr(housing, "service_code"), "housing");
	assert_string_equal(jstr(housing, "service_name"), "ЖКХ и содержание домов");
	assert_true(json_is_false(json_object_get(housing, "metadata")));
	assert_string_equal(jstr(housing, "type"), "realtime");
	assert_non_null(strstr(jstr(housing, "keywords"), "Отопление"));
	assert_non_null(strstr(jstr(housing, "description"), "ЖКХ"));
	assert_string_equal(jstr(housing, "group"), "Республика Хакасия");
	assert_string_equal(jstr(json_array_get(doc, 14), "service_code"), "other");
	json_decref(doc);
}

static void test_requests_mapping(void **state)
{
	(void)state;
	json_t *doc;
	/* Newest first; neither the one in moderation nor the rejected one; not the old one. */
	expect_requests("", 3, c_resolved, b_answered, a_open);

	assert_int_equal(api_call("GET", NULL, "/open311/v2/requests.json", NULL, &doc), 200);
	json_t *c = json_array_get(doc, 0), *b = json_array_get(doc, 1),
	       *a = json_array_get(doc, 2);
	assert_string_equal(jstr(a, "status"), "open");
	assert_string_equal(jstr(a, "service_code"), "housing");
	assert_string_equal(jstr(a, "service_name"), "ЖКХ и содержание домов");
	assert_non_null(strstr(jstr(a, "agency_responsible"), "Абакана"));
	/* The citizen's phone and e-mail do not leave the building. */
	assert_string_equal(jstr(a, "description"),
	                    "Нет отопления, звоните [телефон скрыт] или пишите [e-mail скрыт], "
	                    "дом 18");
	assert_string_equal(jstr(a, "address"), "Абакан, ул. Щетинкина, 18");
	char t[32];
	rfc3339_format(now - 3 * DAY, t);
	assert_string_equal(jstr(a, "requested_datetime"), t);
	rfc3339_format(now + 7 * DAY, t);
	assert_string_equal(jstr(a, "expected_datetime"), t);
	rfc3339_format(now - 3 * DAY + 8 * 3600000, t);
	assert_non_null(strstr(jstr(a, "service_notice"), t));
	assert_true(json_is_null(json_object_get(a, "status_notes")));
	assert_true(*jstr(a, "updated_datetime"));
	assert_true(json_is_null(json_object_get(a, "media_url")));
	/* The authority's published answer. */
	assert_string_equal(jstr(b, "status"), "open");
	assert_string_equal(jstr(b, "status_notes"), "Яму заделали 20 ноября");
	assert_string_equal(jstr(c, "status"), "closed");
	assert_true(json_is_null(json_object_get(c, "service_notice")));
	json_decref(doc);
}

static void test_requests_filters(void **state)
{
	(void)state;
	char q[256], s[32], e[32];

	expect_requests("service_code=waste", 1, c_resolved);
	expect_requests("status=closed", 1, c_resolved);
	expect_requests("status=open", 2, b_answered, a_open);
	expect_requests("service_code=roads&status=closed", 0);
	snprintf(q, sizeof(q), "start_date=%s", ago(5 * DAY / 2, s));
	expect_requests(q, 2, c_resolved, b_answered);
	snprintf(q, sizeof(q), "end_date=%s", ago(5 * DAY / 2, e));
	expect_requests(q, 1, a_open);
	snprintf(q, sizeof(q), "start_date=%s&end_date=%s", ago(201 * DAY, s), ago(150 * DAY, e));
	expect_requests(q, 1, f_old);
	/* A list of ids overrides every other filter; hidden ones stay hidden. */
	snprintf(q, sizeof(q), "service_request_id=%lld,%lld,%lld,%lld&service_code=waste",
	         (long long)a_open, (long long)d_moderation, (long long)f_old,
	         (long long)e_rejected);
	expect_requests(q, 2, a_open, f_old);

	expect_open311_error("/open311/v2/requests.json?service_code=heating", 400, "service_code");
	expect_open311_error("/open311/v2/requests.json?status=pending", 400, "status");
	expect_open311_error("/open311/v2/requests.json?start_date=yesterday", 400, "start_date");
	expect_open311_error("/open311/v2/requests.json?end_date=2026-02-30T00:00:00Z", 400,
	                     "end_date");
	expect_open311_error("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date="
	                     "2026-06-01T00:00:00Z",
	                     400, "90 days");
	expect_open311_error("/open311/v2/requests.json?start_date=2026-06-01T00:00:00Z&end_date="
	                     "2026-01-01T00:00:00Z",
	                     400, "end_date");
	expect_open311_error("/open311/v2/requests.json?service_request_id=1,abc", 400,
	                     "service_request_id");
}

static void test_single_request(void **state)
{
	(void)state;
	char path[96];
	json_t *doc;

	snprintf(path, sizeof(path), "/open311/v2/requests/%lld.json", (long long)b_answered);
	assert_int_equal(api_call("GET", NULL, path, NULL, &doc), 200);
	assert_int_equal(json_array_size(doc), 1);
	assert_int_equal(atoll(jstr(json_array_get(doc, 0), "service_request_id")), b_answered);
	assert_string_equal(jstr(json_array_get(doc, 0), "service_code"), "roads");
	json_decref(doc);

	snprintf(path, sizeof(path), "/open311/v2/requests/%lld.json", (long long)d_moderation);
	expect_open311_error(path, 404, "service_request_id");
	expect_open311_error("/open311/v2/requests/99999999.json", 404, "no such request");
	expect_open311_error("/open311/v2/requests/abc.json", 404, "no such request");
	snprintf(path, sizeof(path), "/open311/v2/requests/%lld", (long long)a_open);
	expect_open311_error(path, 404, ".json");
}

static void test_mask(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	        {"тел. 8-913-123-45-67.", "тел. [телефон скрыт]."},
	        {"звоните 89131234567 вечером", "звоните [телефон скрыт] вечером"},
	        {"дом 18, кв. 5, 2026 год", "дом 18, кв. 5, 2026 год"},
	        {"почта a.b@c.ru)", "почта [e-mail скрыт])"},
	        {"не адрес @ и @handle", "не адрес @ и @handle"},
	        {"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = open311_mask(cases[i][0]);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
}

/* Last: restarts the API with OPEN311_PUBLIC=false. */
static void test_token_required_when_not_public(void **state)
{
	(void)state;
	json_t *doc;
	const char *env[] = {"OPEN311_PUBLIC=false", NULL};

	api_fixture_stop();
	api_fixture_start(env);
	expect_open311_error("/open311/v2/services.json", 401, "Bearer");
	expect_open311_error("/open311/v2/requests.json", 401, "Bearer");
	assert_int_equal(api_call("GET", TOKEN_VIEWER, "/open311/v2/requests.json", NULL, &doc),
	                 200);
	assert_int_equal(json_array_size(doc), 3);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_services),
	        cmocka_unit_test(test_requests_mapping),
	        cmocka_unit_test(test_requests_filters),
	        cmocka_unit_test(test_single_request),
	        cmocka_unit_test(test_mask),
	        cmocka_unit_test(test_token_required_when_not_public),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
