/*
 * The operator API over real HTTP against real PostgreSQL, with actions.c doing the work: who
 * may see and do what (operator, an authority and the one above it, another authority, a
 * viewer, no token, a wrong token), the list's filters and pagination, the detail with reports
 * and audit, every action's way through the lifecycle, the illegal transitions (409 with the
 * reason), and bad requests answered 400/413/415 naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_support.h"
#include "xalloc.h"

static int setup_group(void **state)
{
	(void)state;
	const char *env[] = {"HTTP_MAX_BODY=65536", NULL};
	api_fixture_start(env);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	api_fixture_stop();
	return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static long get(const char *token, const char *path, json_t **out)
{
	return api_call("GET", token, path, NULL, out);
}

static long post_action(const char *token, int64_t id, const char *action, const char *body,
                        json_t **out)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/incidents/%lld/%s", (long long)id, action);
	return api_call("POST", token, path, body, out);
}

/* The ids of a list answer, in order, as "1,2,3". Caller frees. */
static char *ids_of(const json_t *list)
{
	char *out = xstrdup("");
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(list, "items"), i, it)
	{
		char *next = xasprintf("%s%s%lld", out, i ? "," : "",
		                       (long long)json_integer_value(json_object_get(it, "id")));
		free(out);
		out = next;
	}
	return out;
}

static void expect_ids(const char *token, const char *path, const char *want)
{
	json_t *doc;
	long st = get(token, path, &doc);
	if (st != 200)
		fail_msg("GET %s: %ld %s", path, st, json_dumps(doc, 0));
	char *got = ids_of(doc);
	if (strcmp(got, want))
		fail_msg("GET %s as %s: ids [%s], want [%s]", path, token ? token : "-", got, want);
	free(got);
	json_decref(doc);
}

/* docp: where the call put its answer (read only after the call: argument order). */
static void expect_error(long got_status, json_t **docp, long status, const char *error,
                         const char *field, const char *msg_part)
{
	json_t *doc = *docp;
	char *text = json_dumps(doc, 0);
	if (got_status != status)
		fail_msg("want %ld, got %ld: %s", status, got_status, text);
	if (strcmp(jstr(doc, "error"), error))
		fail_msg("want error %s: %s", error, text);
	if (field && strcmp(jstr(doc, "field"), field))
		fail_msg("want field %s: %s", field, text);
	if (msg_part && !strstr(jstr(doc, "message"), msg_part))
		fail_msg("want message with \"%s\": %s", msg_part, text);
	free(text);
	json_decref(doc);
}

#define ID(x) ((long long)(x))

/* ---- roles on the list and the detail ------------------------------------------------------- */

/* January 2026: one incident per place in the hierarchy. */
static int64_t r_ukhit, r_vodokanal, r_admin, r_chern, r_moder;

static void insert_role_incidents(void)
{
	if (r_ukhit)
		return;
	r_moder = fixture_incident(&(struct fixture_incident){.status = "moderation",
	                                                      .municipality = "abakan",
	                                                      .opened_at = "2026-01-10T01:00:00Z"});
	r_chern = fixture_incident(&(struct fixture_incident){.municipality = "chernogorsk",
	                                                      .authority = "chernogorsk_admin",
	                                                      .opened_at = "2026-01-11T01:00:00Z"});
	r_admin = fixture_incident(&(struct fixture_incident){.authority = "abakan_admin",
	                                                      .opened_at = "2026-01-12T01:00:00Z"});
	r_vodokanal = fixture_incident(&(struct fixture_incident){
	        .authority = "abakan_vodokanal", .opened_at = "2026-01-13T01:00:00Z"});
	r_ukhit = fixture_incident(&(struct fixture_incident){.authority = "abakan_ukhit",
	                                                      .opened_at = "2026-01-14T01:00:00Z"});
}

static void test_list_by_role(void **state)
{
	(void)state;
	insert_role_incidents();
	const char *jan = "/v1/incidents?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z";
	char all[128], ukhit[64], abakan[96], chern[32];
	snprintf(all, sizeof(all), "%lld,%lld,%lld,%lld,%lld", ID(r_ukhit), ID(r_vodokanal),
	         ID(r_admin), ID(r_chern), ID(r_moder));
	snprintf(ukhit, sizeof(ukhit), "%lld,%lld", ID(r_ukhit), ID(r_vodokanal));
	snprintf(abakan, sizeof(abakan), "%lld,%lld,%lld", ID(r_ukhit), ID(r_vodokanal),
	         ID(r_admin));
	snprintf(chern, sizeof(chern), "%lld", ID(r_chern));

	expect_ids(TOKEN_OPERATOR, jan, all);
	expect_ids(TOKEN_VIEWER, jan, all);
	/* An authority sees its own and those below it (the Vodokanal is under the UKHiT). */
	expect_ids(TOKEN_UKHIT, jan, ukhit);
	/* The city administration oversees its departments. */
	expect_ids(TOKEN_ABAKAN, jan, abakan);
	expect_ids(TOKEN_CHERNOGORSK, jan, chern);

	json_t *doc;
	expect_error(get(NULL, jan, &doc), &doc, 401, "unauthorized", NULL, "Bearer");
	expect_error(get("no-such-token", jan, &doc), &doc, 401, "unauthorized", NULL,
	             "unknown token");
}

static void test_detail_by_role(void **state)
{
	(void)state;
	insert_role_incidents();
	char path[64], other[64];
	snprintf(path, sizeof(path), "/v1/incidents/%lld", ID(r_vodokanal));
	snprintf(other, sizeof(other), "/v1/incidents/%lld", ID(r_chern));
	json_t *doc;

	assert_int_equal(get(TOKEN_OPERATOR, path, &doc), 200);
	json_decref(doc);
	assert_int_equal(get(TOKEN_VIEWER, path, &doc), 200);
	json_decref(doc);
	assert_int_equal(get(TOKEN_UKHIT, path, &doc), 200);
	assert_string_equal(jstr(doc, "authority.id"), "abakan_vodokanal");
	json_decref(doc);
	/* Another authority's incident is answered exactly as an unknown one. */
	expect_error(get(TOKEN_UKHIT, other, &doc), &doc, 404, "not_found", "id", NULL);
	expect_error(get(TOKEN_CHERNOGORSK, path, &doc), &doc, 404, "not_found", "id", NULL);
	expect_error(get(NULL, path, &doc), &doc, 401, "unauthorized", NULL, NULL);
	expect_error(get("wrong", path, &doc), &doc, 401, "unauthorized", NULL, "unknown token");
	expect_error(get(TOKEN_OPERATOR, "/v1/incidents/999999", &doc), &doc, 404, "not_found",
	             "id", NULL);
	expect_error(get(TOKEN_OPERATOR, "/v1/incidents/abc", &doc), &doc, 404, "not_found", "id",
	             NULL);
	expect_error(get(TOKEN_OPERATOR, "/v1/incidents/-1", &doc), &doc, 404, "not_found", "id",
	             NULL);
}

/* ---- the detail --------------------------------------------------------------------------- */

static void test_detail_with_reports_evidence_and_audit(void **state)
{
	(void)state;
	int64_t id = fixture_incident(
	        &(struct fixture_incident){.subtopic = "housing.heating",
	                                   .rule_id = "housing.heating@abakan",
	                                   .address = "Абакан, ул. Щетинкина, 18",
	                                   .opened_at = "2026-03-02T03:00:00Z",
	                                   .first_answer_due = "2026-03-02T11:00:00Z",
	                                   .final_answer_due = "2026-03-16T11:00:00Z"});
	fixture_report(id, "vk:-1_10", "Третий день нет отопления, Щетинкина 18",
	               "2026-03-02T03:00:00Z");
	fixture_report(id, "vk:-1_11", "У нас тоже холодно", "2026-03-02T04:00:00Z");
	json_t *doc;
	assert_int_equal(post_action(TOKEN_OPERATOR, id, "respond",
	                             "{\"kind\":\"interim\",\"text\":\"Бригада выехала\"}", &doc),
	                 200);
	json_decref(doc);

	char path[64];
	snprintf(path, sizeof(path), "/v1/incidents/%lld", ID(id));
	assert_int_equal(get(TOKEN_OPERATOR, path, &doc), 200);
	assert_int_equal(json_integer_value(json_object_get(doc, "id")), id);
	assert_string_equal(jstr(doc, "status"), "responded");
	assert_string_equal(jstr(doc, "rule_id"), "housing.heating@abakan");
	assert_string_equal(jstr(doc, "authority.id"), "abakan_ukhit");
	assert_non_null(strstr(jstr(doc, "authority.name"), "Абакана"));
	assert_string_equal(jstr(doc, "municipality_name"), "Абакан");
	assert_string_equal(jstr(doc, "opened_at"), "2026-03-02T03:00:00.000Z");
	assert_string_equal(jstr(doc, "first_answer_due"), "2026-03-02T11:00:00.000Z");
	assert_string_equal(jstr(doc, "final_answer_due"), "2026-03-16T11:00:00.000Z");
	assert_string_equal(jstr(doc, "address"), "Абакан, ул. Щетинкина, 18");

	json_t *reports = json_object_get(doc, "reports_list");
	assert_int_equal(json_array_size(reports), 2);
	json_t *r0 = json_array_get(reports, 0);
	assert_string_equal(jstr(r0, "message_id"), "vk:-1_10");
	assert_string_equal(jstr(r0, "source"), "vk");
	assert_string_equal(jstr(r0, "url"), "https://vk.com/wall-1_10");
	assert_string_equal(jstr(r0, "text"), "Третий день нет отопления, Щетинкина 18");
	assert_string_equal(jstr(r0, "posted_at"), "2026-03-02T03:00:00.000Z");
	assert_string_equal(jstr(r0, "classification.topic"), "housing");
	assert_null(json_object_get(r0, "author_id")); /* personal data stays in the database */

	json_t *audit = json_object_get(doc, "audit");
	json_t *last = json_array_get(audit, json_array_size(audit) - 1);
	assert_string_equal(jstr(last, "action"), "responded");
	assert_string_equal(jstr(last, "actor"), "operator");
	assert_string_equal(jstr(last, "details.text"), "Бригада выехала");
	json_decref(doc);
}

/* ---- filters and pagination --------------------------------------------------------------- */

static void test_filters(void **state)
{
	(void)state;
	/* April 2026, oldest first. */
	int64_t a =
	        fixture_incident(&(struct fixture_incident){.topic = "roads",
	                                                    .municipality = "chernogorsk",
	                                                    .authority = "chernogorsk_admin",
	                                                    .urgency = "high",
	                                                    .summary = "Яма на Советской",
	                                                    .opened_at = "2026-04-01T01:00:00Z"});
	int64_t b =
	        fixture_incident(&(struct fixture_incident){.topic = "roads",
	                                                    .overdue = "true",
	                                                    .summary = "Разбитая дорога на Пушкина",
	                                                    .opened_at = "2026-04-02T01:00:00Z"});
	int64_t c =
	        fixture_incident(&(struct fixture_incident){.status = "resolved",
	                                                    .resolved_at = "2026-04-04T01:00:00Z",
	                                                    .summary = "Не вывозят мусор",
	                                                    .topic = "waste",
	                                                    .authority = "aerosity",
	                                                    .opened_at = "2026-04-03T01:00:00Z"});
	int64_t d =
	        fixture_incident(&(struct fixture_incident){.status = "moderation",
	                                                    .municipality = "sayanogorsk",
	                                                    .topic = "other",
	                                                    .opened_at = "2026-04-04T01:00:00Z"});
	const char *apr = "from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z";
	char path[256], want[96];
#define EXPECT(query, ...)                                                                         \
	do {                                                                                       \
		snprintf(path, sizeof(path), "/v1/incidents?%s&%s", apr, query);                   \
		snprintf(want, sizeof(want), __VA_ARGS__);                                         \
		expect_ids(TOKEN_OPERATOR, path, want);                                            \
	} while (0)
	EXPECT("topic=roads", "%lld,%lld", ID(b), ID(a));
	EXPECT("municipality=chernogorsk", "%lld", ID(a));
	EXPECT("authority=aerosity", "%lld", ID(c));
	EXPECT("urgency=high", "%lld", ID(a));
	EXPECT("overdue=true", "%lld", ID(b));
	EXPECT("overdue=false", "%lld,%lld,%lld", ID(d), ID(c), ID(a));
	EXPECT("status=resolved", "%lld", ID(c));
	EXPECT("status=closed", "%lld", ID(c));
	EXPECT("status=open", "%lld,%lld,%lld", ID(d), ID(b), ID(a));
	EXPECT("status=moderation", "%lld", ID(d));
	EXPECT("q=%D0%BF%D1%83%D1%88%D0%BA%D0%B8%D0%BD%D0%B0", "%lld",
	       ID(b)); /* "пушкина", case-insensitive */
	EXPECT("topic=roads&overdue=false", "%lld", ID(a));
	/* from is inclusive, to exclusive. */
	snprintf(path, sizeof(path),
	         "/v1/incidents?from=2026-04-02T01:00:00Z&to=2026-04-04T01:00:00Z");
	snprintf(want, sizeof(want), "%lld,%lld", ID(c), ID(b));
	expect_ids(TOKEN_OPERATOR, path, want);
#undef EXPECT
}

static void test_pagination(void **state)
{
	(void)state;
	int64_t ids[7];
	char when[32];
	for (int i = 0; i < 7; i++) {
		/* Two share an opened_at, so the id breaks the tie. */
		snprintf(when, sizeof(when), "2026-05-%02dT01:00:00Z", i == 4 ? 4 : i + 1);
		ids[i] = fixture_incident(
		        &(struct fixture_incident){.topic = "ecology", .opened_at = when});
	}
	char path[512];
	snprintf(path, sizeof(path),
	         "/v1/incidents?topic=ecology&from=2026-05-01T00:00:00Z&limit=3");
	char seen[256] = "";
	int pages = 0;
	for (;;) {
		json_t *doc;
		assert_int_equal(get(TOKEN_OPERATOR, path, &doc), 200);
		assert_int_equal(json_integer_value(json_object_get(doc, "total")), 7);
		char *page = ids_of(doc);
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s", *seen ? "," : "",
		         page);
		free(page);
		pages++;
		const char *next = jstr(doc, "next");
		if (!*next) {
			assert_true(json_is_null(json_object_get(doc, "next_cursor")));
			json_decref(doc);
			break;
		}
		/* The link keeps the filters. */
		assert_non_null(strstr(next, "topic=ecology"));
		assert_non_null(strstr(next, "limit=3"));
		snprintf(path, sizeof(path), "%s", next);
		json_decref(doc);
		assert_true(pages < 5);
	}
	/* Newest first; the two of May 4th by id descending (ids[4] was inserted after ids[3]). */
	char want[256];
	snprintf(want, sizeof(want), "%lld,%lld,%lld,%lld,%lld,%lld,%lld", ID(ids[6]), ID(ids[5]),
	         ID(ids[4]), ID(ids[3]), ID(ids[2]), ID(ids[1]), ID(ids[0]));
	assert_string_equal(seen, want);
	assert_int_equal(pages, 3);
}

static void test_bad_filters_name_the_parameter(void **state)
{
	(void)state;
	static const struct {
		const char *query, *field, *msg;
	} cases[] = {
	        {"topic=heating", "topic", "unknown topic"},
	        {"status=open,closed", "status", "must be"},
	        {"municipality=moscow", "municipality", "unknown municipality"},
	        {"authority=nobody", "authority", "unknown authority"},
	        {"urgency=urgent", "urgency", "high or normal"},
	        {"overdue=yes", "overdue", "true or false"},
	        {"from=yesterday", "from", "RFC 3339"},
	        {"to=2026-13-01T00:00:00Z", "to", "RFC 3339"},
	        {"from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to", "later than from"},
	        {"limit=0", "limit", "1 to 200"},
	        {"limit=201", "limit", "1 to 200"},
	        {"limit=ten", "limit", "1 to 200"},
	        {"cursor=abc", "cursor", "not a cursor"},
	        {"q=", "q", "1 to 200"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256];
		json_t *doc;
		snprintf(path, sizeof(path), "/v1/incidents?%s", cases[i].query);
		expect_error(get(TOKEN_OPERATOR, path, &doc), &doc, 400, "invalid_parameter",
		             cases[i].field, cases[i].msg);
	}
}

/* ---- actions: roles ----------------------------------------------------------------------- */

static const char *const bodies[][2] = {
        {"moderate", "{\"decision\":\"confirm\"}"},
        {"reassign", "{\"authority\":\"abakan_admin\"}"},
        {"respond", "{\"kind\":\"interim\",\"text\":\"Работаем\"}"},
        {"resolve", "{\"comment\":\"Сделано\"}"},
        {"reopen", "{\"comment\":\"Снова\"}"},
        {"feedback", "{\"satisfied\":true}"},
};

static void test_action_roles(void **state)
{
	(void)state;
	int64_t own = fixture_incident(&(struct fixture_incident){.authority = "abakan_vodokanal"});
	int64_t other = fixture_incident(&(struct fixture_incident){
	        .municipality = "chernogorsk", .authority = "chernogorsk_admin"});
	json_t *doc;

	for (size_t i = 0; i < 6; i++) {
		const char *action = bodies[i][0], *body = bodies[i][1];
		bool authority_may = !strcmp(action, "respond") || !strcmp(action, "resolve");

		expect_error(post_action(NULL, own, action, body, &doc), &doc, 401, "unauthorized",
		             NULL, "Bearer");
		expect_error(post_action("wrong", own, action, body, &doc), &doc, 401,
		             "unauthorized", NULL, "unknown token");
		expect_error(post_action(TOKEN_VIEWER, own, action, body, &doc), &doc, 403,
		             "forbidden", NULL, "read-only");
		if (!authority_may) {
			expect_error(post_action(TOKEN_UKHIT, own, action, body, &doc), &doc, 403,
			             "forbidden", NULL, "only respond and resolve");
			continue;
		}
		/* Another authority's incident: 404, as if it did not exist; nothing changes. */
		expect_error(post_action(TOKEN_UKHIT, other, action, body, &doc), &doc, 404,
		             "not_found", "id", NULL);
	}
	char idtext[24];
	snprintf(idtext, sizeof(idtext), "%lld", ID(other));
	char *status = fixture_query("SELECT status FROM assigner.incidents WHERE id = $1::bigint",
	                             idtext, NULL);
	assert_string_equal(status, "assigned");
	free(status);
	char *audits = fixture_query(
	        "SELECT count(*) FROM assigner.audit WHERE incident_id = $1::bigint", idtext, NULL);
	assert_string_equal(audits, "0");
	free(audits);

	/* Its own (below it): respond, then resolve. The actor is recorded. */
	assert_int_equal(post_action(TOKEN_UKHIT, own, "respond", bodies[2][1], &doc), 200);
	assert_string_equal(jstr(doc, "status"), "responded");
	json_decref(doc);
	/* The administration above may act on its department's incidents too. */
	assert_int_equal(post_action(TOKEN_ABAKAN, own, "resolve", bodies[3][1], &doc), 200);
	assert_string_equal(jstr(doc, "status"), "resolved");
	json_t *audit = json_object_get(doc, "audit");
	assert_string_equal(jstr(json_array_get(audit, 0), "actor"), "authority:abakan_ukhit");
	assert_string_equal(jstr(json_array_get(audit, json_array_size(audit) - 1), "actor"),
	                    "authority:abakan_admin");
	json_decref(doc);
	/* «Not ours» takes the incident out of the authority's hands: the answer still shows
	 * where it went, and from then on the incident is not the authority's to see. */
	int64_t declined =
	        fixture_incident(&(struct fixture_incident){.authority = "abakan_ukhit"});
	assert_int_equal(post_action(TOKEN_UKHIT, declined, "respond",
	                             "{\"not_responsible\":true,\"text\":\"Не наш дом\"}", &doc),
	                 200);
	assert_string_not_equal(jstr(doc, "authority.id"), "abakan_ukhit");
	assert_string_not_equal(jstr(doc, "authority.id"), "abakan_vodokanal");
	json_decref(doc);
	char path[64];
	snprintf(path, sizeof(path), "/v1/incidents/%lld", ID(declined));
	expect_error(get(TOKEN_UKHIT, path, &doc), &doc, 404, "not_found", "id", NULL);

	/* The operator may do the rest. */
	assert_int_equal(post_action(TOKEN_OPERATOR, own, "feedback", bodies[5][1], &doc), 200);
	json_decref(doc);
	assert_int_equal(post_action(TOKEN_OPERATOR, own, "reopen", bodies[4][1], &doc), 200);
	assert_string_equal(jstr(doc, "status"), "assigned");
	json_decref(doc);
	assert_int_equal(post_action(TOKEN_OPERATOR, own, "reassign", bodies[1][1], &doc), 200);
	assert_string_equal(jstr(doc, "authority.id"), "abakan_admin");
	json_decref(doc);
}

/* ---- actions: the lifecycle through HTTP -------------------------------------------------- */

static long outbox_count(int64_t id, const char *type)
{
	char idtext[24];
	snprintf(idtext, sizeof(idtext), "%lld", ID(id));
	char *v = fixture_query("SELECT count(*) FROM assigner.outbox"
	                        " WHERE incident_id = $1::bigint AND type = $2",
	                        idtext, type);
	long n = atol(v);
	free(v);
	return n;
}

static void test_lifecycle_happy_paths(void **state)
{
	(void)state;
	json_t *doc;
	int64_t id =
	        fixture_incident(&(struct fixture_incident){.status = "moderation",
	                                                    .topic = "housing",
	                                                    .subtopic = "housing.heating",
	                                                    .municipality = "abakan",
	                                                    .moderation_reason = "low_confidence"});

	assert_int_equal(post_action(TOKEN_OPERATOR, id, "moderate",
	                             "{\"decision\":\"confirm\",\"comment\":\"Похоже на правду\"}",
	                             &doc),
	                 200);
	assert_string_equal(jstr(doc, "status"), "assigned");
	assert_true(*jstr(doc, "authority.id"));
	assert_true(*jstr(doc, "rule_id"));
	assert_true(*jstr(doc, "first_answer_due"));
	json_decref(doc);
	assert_int_equal(outbox_count(id, "incident.assigned"), 1);

	assert_int_equal(post_action(TOKEN_OPERATOR, id, "reassign",
	                             "{\"authority\":\"abakan_admin\",\"comment\":\"Город\"}",
	                             &doc),
	                 200);
	assert_string_equal(jstr(doc, "authority.id"), "abakan_admin");
	json_decref(doc);
	assert_int_equal(outbox_count(id, "incident.reassigned"), 1);

	assert_int_equal(post_action(TOKEN_ABAKAN, id, "respond",
	                             "{\"kind\":\"interim\",\"text\":\"Бригада выехала\"}", &doc),
	                 200);
	assert_string_equal(jstr(doc, "status"), "responded");
	assert_true(*jstr(doc, "first_answered_at"));
	json_decref(doc);
	assert_int_equal(post_action(TOKEN_ABAKAN, id, "respond",
	                             "{\"kind\":\"final\",\"text\":\"Отопление дали\"}", &doc),
	                 200);
	assert_true(*jstr(doc, "final_answered_at"));
	json_decref(doc);
	assert_int_equal(outbox_count(id, "incident.responded"), 2);

	assert_int_equal(post_action(TOKEN_OPERATOR, id, "feedback",
	                             "{\"satisfied\":true,\"comment\":\"Спасибо\"}", &doc),
	                 200);
	assert_true(json_is_true(json_object_get(doc, "satisfied")));
	json_decref(doc);
	assert_int_equal(post_action(TOKEN_ABAKAN, id, "resolve", "{}", &doc), 200);
	assert_string_equal(jstr(doc, "status"), "resolved");
	json_decref(doc);
	assert_int_equal(
	        post_action(TOKEN_OPERATOR, id, "reopen", "{\"comment\":\"Опять холодно\"}", &doc),
	        200);
	assert_string_equal(jstr(doc, "status"), "assigned");
	json_decref(doc);
	assert_int_equal(outbox_count(id, "incident.reopened"), 1);

	/* «Not our responsibility» from the authority re-routes it, the clock kept. */
	char idtext[24];
	snprintf(idtext, sizeof(idtext), "%lld", ID(id));
	char *due = fixture_query(
	        "SELECT first_answer_due FROM assigner.incidents WHERE id = $1::bigint", idtext,
	        NULL);
	char *auth = fixture_query(
	        "SELECT authority_id FROM assigner.incidents WHERE id = $1::bigint", idtext, NULL);
	assert_int_equal(post_action(TOKEN_ABAKAN, id, "respond",
	                             "{\"not_responsible\":true,\"text\":\"Это не наш дом\"}",
	                             &doc),
	                 200);
	assert_string_not_equal(jstr(doc, "authority.id"), auth);
	json_decref(doc);
	char *due2 = fixture_query(
	        "SELECT first_answer_due FROM assigner.incidents WHERE id = $1::bigint", idtext,
	        NULL);
	assert_string_equal(due, due2);
	free(due);
	free(due2);
	free(auth);

	/* Reject from moderation, and reopen back into it. */
	int64_t junk = fixture_incident(&(struct fixture_incident){.status = "moderation"});
	assert_int_equal(post_action(TOKEN_OPERATOR, junk, "moderate",
	                             "{\"decision\":\"reject\",\"comment\":\"Реклама\"}", &doc),
	                 200);
	assert_string_equal(jstr(doc, "status"), "rejected");
	json_decref(doc);
	assert_int_equal(outbox_count(junk, "incident.rejected"), 1);
	assert_int_equal(post_action(TOKEN_OPERATOR, junk, "reopen", "{}", &doc), 200);
	assert_string_equal(jstr(doc, "status"), "moderation");
	json_decref(doc);
}

static void test_illegal_transitions_409_with_reason(void **state)
{
	(void)state;
	json_t *doc;
	int64_t moder = fixture_incident(&(struct fixture_incident){.status = "moderation"});
	int64_t assigned = fixture_incident(&(struct fixture_incident){0});
	int64_t resolved = fixture_incident(&(struct fixture_incident){
	        .status = "resolved", .resolved_at = "2026-06-01T00:00:00Z"});
	static const struct {
		int which; /* 0 moderation, 1 assigned, 2 resolved */
		const char *action, *body, *msg;
	} cases[] = {
	        {0, "respond", "{\"kind\":\"interim\",\"text\":\"x\"}", "moderate it first"},
	        {0, "resolve", "{}", "is moderation"},
	        {0, "reassign", "{\"authority\":\"abakan_admin\"}", "is moderation"},
	        {0, "feedback", "{\"satisfied\":false}", "is moderation"},
	        {0, "reopen", "{}", "is moderation"},
	        {1, "moderate", "{\"decision\":\"confirm\"}", "is assigned"},
	        {1, "reopen", "{}", "is assigned"},
	        {1, "feedback", "{\"satisfied\":true}", "is assigned"},
	        {2, "resolve", "{}", "reopen it first"},
	        {2, "respond", "{\"kind\":\"final\",\"text\":\"x\"}", "reopen it first"},
	        {2, "moderate", "{\"decision\":\"reject\"}", "is resolved"},
	        {2, "reassign", "{\"authority\":\"abakan_admin\"}", "is resolved"},
	};
	int64_t ids[3] = {moder, assigned, resolved};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(post_action(TOKEN_OPERATOR, ids[cases[i].which], cases[i].action,
		                         cases[i].body, &doc),
		             &doc, 409, "conflict", NULL, cases[i].msg);
	expect_error(post_action(TOKEN_OPERATOR, 99999999, "resolve", "{}", &doc), &doc, 404,
	             "not_found", "id", NULL);
}

static void test_bad_bodies_name_the_field(void **state)
{
	(void)state;
	json_t *doc;
	int64_t id = fixture_incident(&(struct fixture_incident){0});
	int64_t moder = fixture_incident(&(struct fixture_incident){.status = "moderation"});
	char *long_text = xmalloc(4001 * 2 + 64);
	strcpy(long_text, "{\"comment\":\"");
	for (int i = 0; i < 4001; i++)
		strcat(long_text, "ж");
	strcat(long_text, "\"}");
	static const struct {
		bool moderation;
		const char *action, *body, *error, *field, *msg;
	} cases[] = {
	        {true, "moderate", "{}", "invalid_field", "decision", "is required"},
	        {true, "moderate", "{\"decision\":\"maybe\"}", "invalid_field", "decision",
	         "confirm or reject"},
	        {true, "moderate", "{\"decision\":7}", "invalid_field", "decision", "string"},
	        {true, "moderate", "{\"decision\":\"confirm\",\"municipality\":\"moscow\"}",
	         "invalid_field", "municipality", NULL},
	        {false, "reassign", "{}", "invalid_field", "authority", "is required"},
	        {false, "reassign", "{\"authority\":\"nobody\"}", "invalid_field", "authority",
	         NULL},
	        {false, "respond", "{\"text\":\"x\"}", "invalid_field", "kind", "is required"},
	        {false, "respond", "{\"kind\":\"maybe\",\"text\":\"x\"}", "invalid_field", "kind",
	         "interim, final"},
	        {false, "respond", "{\"kind\":\"final\"}", "invalid_field", "text", "is required"},
	        {false, "respond", "{\"kind\":\"final\",\"text\":\"x\",\"not_responsible\":1}",
	         "invalid_field", "not_responsible", "true or false"},
	        {false, "feedback", "{}", "invalid_field", "satisfied", "is required"},
	        {false, "feedback", "{\"satisfied\":\"yes\"}", "invalid_field", "satisfied",
	         "true or false"},
	        {false, "resolve", "{\"comment\":false}", "invalid_field", "comment", "string"},
	        {false, "resolve", "{\"comment\":", "invalid_json", "", "line 1"},
	        {false, "resolve", "[1]", "invalid_json", "", "JSON object"},
	        {false, "resolve", "", "invalid_json", "", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(post_action(TOKEN_OPERATOR, cases[i].moderation ? moder : id,
		                         cases[i].action, cases[i].body, &doc),
		             &doc, 400, cases[i].error, cases[i].field, cases[i].msg);
	expect_error(post_action(TOKEN_OPERATOR, id, "resolve", long_text, &doc), &doc, 400,
	             "invalid_field", "comment", "at most 4000");
	free(long_text);

	/* 415 without a JSON content type; 413 over HTTP_MAX_BODY (64 KiB here). */
	char path[96];
	snprintf(path, sizeof(path), "/v1/incidents/%lld/resolve", ID(id));
	expect_error(api_call("POST", TOKEN_OPERATOR, path, NULL, &doc), &doc, 415,
	             "unsupported_media_type", NULL, "application/json");
	char *huge = xmalloc(70001);
	memset(huge, ' ', 70000);
	huge[0] = '{';
	huge[69999] = '}';
	huge[70000] = '\0';
	expect_error(post_action(TOKEN_OPERATOR, id, "resolve", huge, &doc), &doc, 413,
	             "body_too_large", NULL, NULL);
	free(huge);

	/* Nothing of it changed the incident. */
	char idtext[24];
	snprintf(idtext, sizeof(idtext), "%lld", ID(id));
	char *status = fixture_query("SELECT status FROM assigner.incidents WHERE id = $1::bigint",
	                             idtext, NULL);
	assert_string_equal(status, "assigned");
	free(status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_list_by_role),
	        cmocka_unit_test(test_detail_by_role),
	        cmocka_unit_test(test_detail_with_reports_evidence_and_audit),
	        cmocka_unit_test(test_filters),
	        cmocka_unit_test(test_pagination),
	        cmocka_unit_test(test_bad_filters_name_the_parameter),
	        cmocka_unit_test(test_action_roles),
	        cmocka_unit_test(test_lifecycle_happy_paths),
	        cmocka_unit_test(test_illegal_transitions_409_with_reason),
	        cmocka_unit_test(test_bad_bodies_name_the_field),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
