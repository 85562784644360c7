/*
 * The Open311 GeoReport v2 poller (services/collector/open311.c) against demo-sources'
 * GeoReport server and the test PostgreSQL: the mapping of a service request to a message
 * checked member by member against what the server answered, the start_date cursor (the next
 * poll asks only from the newest request on, and a restart resumes there), unusable requests
 * counted while their neighbours are stored, HTTP errors sorted into retry, back-off and
 * operator, the API key never echoed, and bad OPEN311_ENDPOINTS values named.
 *
 * Environment (tests/run.sh): TEST_DATABASE_URL, TEST_BIN_DIR (demo-sources), TEST_WORK_DIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "fetch.h"
#include "metrics.h"
#include "sources.h"
#include "support.h"
#include "testenv.h"
#include "timefmt.h"
#include "xalloc.h"

/* Our own requests: two jurisdictions, texts written for these tests. */
#define LINE(id, juris, name, author, minutes, service, text, extra)                               \
	"{\"id\":\"" id "\",\"channel\":\"open311\",\"community\":{\"id\":\"" juris                \
	"\",\"name\":\"" name "\"},\"author\":{\"id\":\"" author "\",\"name\":\"Житель\"},"  \
	"\"kind\":\"post\",\"minutes_ago\":" #minutes ",\"service\":\"" service                    \
	"\",\"text\":\"" text "\"" extra "}\n"

static const char posts[] = LINE(
        "o101", "sorsk.example", "Сорск 311", "801", 200, "Ямы на дорогах",
        "Яма на перекрёстке Кирова и Пионерской, машины объезжают по встречке.",
        ",\"address\":\"г. Сорск, ул. Кирова, 12\",\"lat\":54.0003,\"lon\":90.2541")
        LINE("o102", "sorsk.example", "Сорск 311", "802", 120, "Уличное освещение",
             "Не горят фонари вдоль всей улицы Геологов.",
             ",\"address\":\"г. Сорск, ул. Геологов\",\"lat\":54.0021,\"lon\":90.2476")
                LINE("o103", "sorsk.example", "Сорск 311", "803", 30, "Вывоз ТКО",
                     "Контейнеры у дома 3 по ул. Молодёжной переполнены, мусор на земле.",
                     ",\"address\":\"г. Сорск, ул. Молодёжная, 3\",\"lat\":53.9987,\"lon\":90.2602")
                        LINE("o201", "abaza.example", "Абаза 311", "804", 50, "Отопление",
                             "В доме 8 по ул. Лазо батареи чуть тёплые.",
                             ",\"address\":\"г. Абаза, ул. Лазо, "
                             "8\",\"lat\":52.6521,\"lon\":90.0883");

static struct demo_sources demo;
static struct db *db;
static struct collector coll;
static int64_t page_limit; /* OPEN311_PAGE_LIMIT of the next sources made (0: the default) */

/* ---- fixture -------------------------------------------------------------------------------- */

static int setup_group(void **state)
{
	(void)state;
	fetch_global_init();
	db = support_db_connect();
	support_db_migrate(db);
	demo_sources_start(&demo, "test_open311", posts, NULL);
	support_collector_init(&coll);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	/* demo-sources stops cleanly on SIGTERM. */
	assert_int_equal(demo_sources_stop(&demo), 0);
	db_free(db);
	support_collector_release(&coll);
	return 0;
}

/* Each test starts with empty tables and no pending fault. */
static int setup(void **state)
{
	(void)state;
	support_sql(db, "TRUNCATE collector.messages, collector.cursors");
	demo_sources_control(&demo, "/control/fault", "{\"api\":\"open311\",\"count\":0}");
	page_limit = 0;
	return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* Builds the sources of one OPEN311_ENDPOINTS value; fails the test on a configuration error. */
static void make_sources(const char *endpoints, const char *api_key, struct source_set *set)
{
	struct open311_settings s = {.endpoints = (char *)(uintptr_t)endpoints,
	                             .api_key = (char *)(uintptr_t)api_key,
	                             .interval_ms = 30000,
	                             .page_limit = page_limit};
	char err[256] = "";

	memset(set, 0, sizeof(*set));
	if (open311_sources(&s, set, err, sizeof(err)) < 0)
		fail_msg("open311_sources: %s", err);
}

static void poll_once(struct source *src, struct poll_result *res)
{
	memset(res, 0xA5, sizeof(*res)); /* the poll must set every field itself */
	support_poll(src, &coll, db, NULL, res);
}

static long rows(void)
{
	return support_query_long(
	        db, "SELECT count(*) FROM collector.messages WHERE source = 'open311'", NULL);
}

/* Sources for "name=<demo-sources>/open311/<jurisdiction>"; the first one is returned. */
static struct source *endpoint(const char *name, const char *jurisdiction, const char *api_key,
                               struct source_set *set)
{
	char *value =
	        xasprintf("%s=http://127.0.0.1:%d/open311/%s/", name, demo.port, jurisdiction);

	make_sources(value, api_key, set);
	free(value);
	assert_int_equal(set->n, 1);
	return set->items[0];
}

/* What demo-sources itself answers for the jurisdiction, to compare the mapping with. */
static json_t *server_requests(const char *jurisdiction)
{
	char *path = xasprintf("/open311/%s/requests.json", jurisdiction);
	json_t *arr;

	assert_int_equal(demo_sources_request(&demo, "GET", path, NULL, &arr), 200);
	free(path);
	assert_true(json_is_array(arr));
	return arr;
}

static json_t *find_request(json_t *arr, const char *id)
{
	size_t i;
	json_t *r;

	json_array_foreach(arr, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "service_request_id")), id) == 0)
			return r;
	}
	fail_msg("request %s not served", id);
	return NULL;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_mapping_exact(void **state)
{
	struct source_set set;
	struct source *src = endpoint("sorsk", "sorsk.example", NULL, &set);
	struct poll_result res;
	json_t *served = server_requests("sorsk.example");
	json_t *req = find_request(served, "o101");
	json_t *r, *expect;
	int64_t requested;
	char when[32], *url;

	(void)state;
	assert_string_equal(src->name, "open311:sorsk");
	assert_int_equal(src->interval_ms, 30000);
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 3);
	assert_int_equal(rows(), 3);
	assert_int_equal(metric_value(coll.messages, "open311:sorsk", "accepted"), 3);

	/* Every member of the stored record, as the mapping defines it. */
	assert_int_equal(
	        rfc3339_parse(json_string_value(json_object_get(req, "requested_datetime")),
	                      &requested),
	        0);
	rfc3339_format(requested, when);
	url = xasprintf("http://127.0.0.1:%d/open311/sorsk.example/requests/o101.json", demo.port);
	expect = json_pack(
	        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s, s:f, s:f}, "
	        "s:{s:s, s:s}}",
	        "schema", "message.v1", "id", "open311:sorsk:o101", "source", "open311",
	        "external_id", "sorsk:o101", "kind", "report", "text",
	        "Ямы на дорогах: Яма на перекрёстке Кирова и Пионерской, машины объезжают по "
	        "встречке.",
	        "posted_at", when, "url", url, "community", "id", "sorsk", "location", "address",
	        "г. Сорск, ул. Кирова, 12", "lat", 54.0003, "lon", 90.2541, "thread", "endpoint",
	        "sorsk", "service_request_id", "o101");
	free(url);
	r = support_record(db, "open311:sorsk:o101", NULL);
	json_object_del(r, "received_at"); /* the collector's clock */
	if (!json_equal(r, expect)) {
		char *got = json_dumps(r, JSON_SORT_KEYS),
		     *want = json_dumps(expect, JSON_SORT_KEYS);

		fail_msg("record\n got: %s\nwant: %s", got, want);
	}
	json_decref(r);
	json_decref(expect);

	/* The cursor is the newest requested_datetime (o103, 30 minutes ago). */
	{
		char *c = support_cursor(db, "open311:sorsk", "start_date");
		int64_t newest, t;

		assert_non_null(c);
		assert_int_equal(rfc3339_parse(c, &newest), 0);
		assert_int_equal(
		        rfc3339_parse(json_string_value(json_object_get(
		                              find_request(served, "o103"), "requested_datetime")),
		                      &t),
		        0);
		assert_int_equal(newest, t);
		free(c);
	}
	/* Only one jurisdiction polled. */
	assert_int_equal(support_query_long(db,
	                                    "SELECT count(*) FROM collector.messages WHERE id LIKE "
	                                    "'open311:abaza:%'",
	                                    NULL),
	                 0);
	json_decref(served);
	source_set_free(&set);
}

static void test_cursor_and_resume(void **state)
{
	struct source_set set;
	struct source *src = endpoint("abaza", "abaza.example", NULL, &set);
	struct poll_result res;
	long requests = demo_sources_stat(&demo, "open311.requests");
	static const char more[] = LINE("o202", "abaza.example", "Абаза 311", "805", 5,
	                                "Уборка снега", "Дорогу к больнице не чистили с утра.", "");

	(void)state;
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_OK);
	assert_int_equal(res.fetched, 1);

	/* start_date is inclusive: the newest request comes again and is a duplicate. */
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_OK);
	assert_int_equal(res.fetched, 1);
	assert_int_equal(rows(), 1);
	assert_int_equal(metric_value(coll.messages, "open311:abaza", "duplicate"), 1);
	assert_int_equal(demo_sources_stat(&demo, "open311.requests"), requests + 2);
	source_set_free(&set);

	/* "Restart" with a new request filed meanwhile: asked from the cursor on, stored once. */
	assert_int_equal(demo_sources_request(&demo, "POST", "/control/posts", more, NULL), 200);
	src = endpoint("abaza", "abaza.example", NULL, &set);
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 2);
	assert_int_equal(rows(), 2);
	{
		json_t *r = support_record(db, "open311:abaza:o202", NULL);

		assert_string_equal(json_string_value(json_object_get(r, "text")),
		                    "Уборка снега: Дорогу к больнице не чистили с утра.");
		/* No address or coordinates given: no location. */
		assert_null(json_object_get(r, "location"));
		json_decref(r);
	}
	source_set_free(&set);
}

/* A server that cuts its answers at 3 requests and gives the newest first: the 7 filed since
 * the cursor come in 3 answers, each asked with end_date at the oldest request of the one
 * before, and none is lost; the cursor moves to the newest only after the last. */
static void test_full_answers_read_back_to_the_cursor(void **state)
{
	struct source_set set;
	struct source *src;
	struct poll_result res;
	long requests;
	double accepted;
	static const char first[] = LINE("o220", "beya.example", "Бея 311", "820", 50, "Отопление",
	                                 "В доме 8 по ул. Мира батареи чуть тёплые.", "");
	static const char more[] = LINE("o210", "beya.example", "Бея 311", "810", 40,
	                                "Ямы на дорогах", "Яма у остановки Школьная.", "")
	        LINE("o211", "beya.example", "Бея 311", "811", 35, "Ямы на дорогах",
	             "Яма на выезде с ул. Ленина.",
	             "") LINE("o212", "beya.example", "Бея 311", "812", 30, "Отопление",
	                      "Холодные батареи в доме 4 по ул. Ленина.",
	                      "") LINE("o213", "beya.example", "Бея 311", "813", 25, "Вывоз ТКО",
	                               "Не вывезли мусор с ул. Заводской.", "")
	                LINE("o214", "beya.example", "Бея 311", "814", 20, "Уличное освещение",
	                     "Темно на ул. Парковой.", "")
	                        LINE("o215", "beya.example", "Бея 311", "815", 15, "Отопление",
	                             "Нет отопления в школе №1.", "")
	                                LINE("o216", "beya.example", "Бея 311", "816", 10,
	                                     "Ямы на дорогах", "Провал асфальта у моста.", "");

	(void)state;
	page_limit = 3;
	assert_int_equal(demo_sources_request(&demo, "POST", "/control/posts", first, NULL), 200);
	src = endpoint("beya", "beya.example", NULL, &set);
	poll_once(src, &res); /* the cursor: o220's time, 50 minutes ago */
	assert_int_equal(res.status, POLL_OK);
	assert_int_equal(rows(), 1);
	accepted = metric_value(coll.messages, "open311:beya", "accepted");

	assert_int_equal(demo_sources_request(&demo, "POST", "/control/posts", more, NULL), 200);
	demo_sources_control(&demo, "/control/fault",
	                     "{\"api\":\"open311\",\"limit\":3,\"newest_first\":true,"
	                     "\"count\":100}");
	requests = demo_sources_stat(&demo, "open311.requests");
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	/* [cursor, now]: 10, 15, 20 min ago; [cursor, 20]: 20, 25, 30; [cursor, 30]: 30, 35, 40;
	 * [cursor, 40]: 40 and 50, not full. */
	assert_int_equal(demo_sources_stat(&demo, "open311.requests"), requests + 4);
	assert_int_equal(res.fetched, 11);
	assert_int_equal(rows(), 8);
	assert_true(metric_value(coll.messages, "open311:beya", "accepted") == accepted + 7);

	/* The cursor is at the newest (10 min ago): the next poll is one answer, one repeat. */
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_OK);
	assert_int_equal(res.fetched, 1);
	assert_int_equal(demo_sources_stat(&demo, "open311.requests"), requests + 5);
	assert_int_equal(rows(), 8);
	source_set_free(&set);
}

static void test_unusable_requests_counted(void **state)
{
	struct source_set set;
	struct source *src = endpoint("sorsk", "sorsk.example", NULL, &set);
	struct poll_result res;
	json_t *r;

	(void)state;
	demo_sources_fault(
	        &demo,
	        json_pack("{s:s, s:s}", "api", "open311", "body",
	                  "[{\"service_request_id\":\"x1\",\"service_name\":\"Деревья\","
	                  "\"description\":"
	                  "\"Упало дерево на "
	                  "тротуар\",\"requested_datetime\":\"2026-11-28T10:15+07:00\","
	                  "\"lat\":\"54.01\",\"long\":\"90.25\"},"
	                  "{\"service_name\":\"Без "
	                  "номера\",\"requested_datetime\":\"2026-11-28T10:00:00Z\"},"
	                  "{\"service_request_id\":\"x3\",\"description\":\"Дата не та\","
	                  "\"requested_datetime\":\"28.11.2026 10:00\"},"
	                  "{\"service_request_id\":4,\"description\":\"Номер числом, координаты "
	                  "вне мира\","
	                  "\"requested_datetime\":\"2026-11-28T03:00:00Z\",\"lat\":120,\"long\":10,"
	                  "\"media_url\":\"https://media.example/4.jpg\"},"
	                  "\"not an object\"]"));
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 2);
	assert_int_equal(rows(), 2);
	assert_int_equal(metric_value(coll.rejected, "open311:sorsk", "service_request_id"), 1);
	assert_int_equal(metric_value(coll.rejected, "open311:sorsk", "requested_datetime"), 1);
	assert_int_equal(metric_value(coll.rejected, "open311:sorsk", "request"), 1);

	r = support_record(db, "open311:sorsk:x1", NULL);
	assert_string_equal(json_string_value(json_object_get(r, "posted_at")),
	                    "2026-11-28T03:15:00.000Z"); /* w3c date-time without seconds */
	assert_true(json_real_value(json_object_get(json_object_get(r, "location"), "lat")) ==
	            54.01); /* numeric strings read */
	json_decref(r);
	r = support_record(db, "open311:sorsk:4", NULL);
	assert_string_equal(json_string_value(json_object_get(r, "text")),
	                    "Номер числом, координаты вне мира");
	assert_null(json_object_get(r, "location")); /* dropped, the report kept */
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "links"), 0)),
	                    "https://media.example/4.jpg");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "thread"),
	                                                      "service_request_id")),
	                    "4");
	json_decref(r);
	source_set_free(&set);
}

static void test_http_errors(void **state)
{
	struct source_set set;
	struct source *src = endpoint("sorsk", "sorsk.example", "secret-key-4242", &set);
	struct poll_result res;

	(void)state;
	demo_sources_fault(&demo, json_pack("{s:s, s:i, s:i}", "api", "open311", "status", 503,
	                                    "retry_after", 12));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RATE_LIMITED);
	assert_int_equal(res.retry_after_ms, 12000);

	demo_sources_fault(&demo, json_pack("{s:s, s:i}", "api", "open311", "status", 502));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RETRY);
	assert_non_null(strstr(res.error, "502"));

	demo_sources_fault(&demo, json_pack("{s:s, s:i}", "api", "open311", "status", 403));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_FAILED);
	assert_non_null(strstr(res.error, "OPEN311_API_KEY"));

	demo_sources_fault(
	        &demo, json_pack("{s:s, s:s}", "api", "open311", "body", "{\"not\":\"an array\"}"));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RETRY);
	assert_non_null(strstr(res.error, "not a JSON array"));

	demo_sources_fault(&demo, json_pack("{s:s, s:s}", "api", "open311", "body",
	                                    "[{\"service_request_id\":"));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RETRY);
	assert_non_null(strstr(res.error, "invalid JSON"));
	assert_int_equal(rows(), 0);
	assert_null(support_cursor(db, "open311:sorsk", "start_date"));

	/* With the API key set, a normal poll still works (the key travels as api_key). */
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 3);
	source_set_free(&set);

	/* An unknown jurisdiction: GeoReport's 404 error, the configuration needs fixing. */
	src = endpoint("nowhere", "nowhere.example", NULL, &set);
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_FAILED);
	assert_non_null(strstr(res.error, "404"));
	assert_non_null(strstr(res.error, "OPEN311_ENDPOINTS"));
	source_set_free(&set);

	/* Nobody listening: transient, and the API key (in the URL) never in the error. */
	{
		char *value = xasprintf("closed=http://127.0.0.1:%d/x", testenv_free_port());

		make_sources(value, "secret-key-4242", &set);
		free(value);
		poll_once(set.items[0], &res);
		assert_int_equal(res.status, POLL_RETRY);
		if (strstr(res.error, "secret-key-4242"))
			fail_msg("the API key leaked into the error: %s", res.error);
		source_set_free(&set);
	}
}

static void test_endpoints_setting(void **state)
{
	static const struct {
		const char *value;
		const char *expect;
	} bad[] = {
	        {"sorsk", "entry 1 is not name=base_url"},
	        {"=http://x.example", "entry 1: the name"},
	        {"a:b=http://x.example", "entry 1: the name"},
	        {"a=file:///etc/passwd", "endpoint \"a\": the base URL must be"},
	        {"a=http://x.example/?api_key=secret-in-url", "must not have a query"},
	        {"a=http://x.example,a=http://y.example", "endpoint \"a\" is configured twice"},
	};
	struct source_set set = {0};
	struct open311_settings s = {.interval_ms = 1000};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.endpoints = (char *)(uintptr_t)bad[i].value;
		err[0] = '\0';
		if (open311_sources(&s, &set, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].value);
		assert_int_equal(set.n, 0);
		if (!strstr(err, "OPEN311_ENDPOINTS") || !strstr(err, bad[i].expect))
			fail_msg("%s: error \"%s\" lacks \"%s\"", bad[i].value, err, bad[i].expect);
		assert_null(strstr(err, "secret-in-url"));
		assert_null(strstr(err, "passwd"));
	}
	s.endpoints = NULL;
	assert_int_equal(open311_sources(&s, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);
	s.endpoints = (char *)(uintptr_t) "tuva=https://311.tuva.example/api/v2, "
	                                  "khakasia-2=http://x.example/";
	assert_int_equal(open311_sources(&s, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.items[0]->name, "open311:tuva");
	assert_string_equal(set.items[1]->name, "open311:khakasia-2");
	source_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_mapping_exact, setup),
	        cmocka_unit_test_setup(test_cursor_and_resume, setup),
	        cmocka_unit_test_setup(test_full_answers_read_back_to_the_cursor, setup),
	        cmocka_unit_test_setup(test_unusable_requests_counted, setup),
	        cmocka_unit_test_setup(test_http_errors, setup),
	        cmocka_unit_test(test_endpoints_setting),
	};

	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
