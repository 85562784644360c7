/*
 * demo-sources (deploy/demo) as a process: the push of the stream's "http" lines to an ingest
 * API (here a capturing server of the test's own, which refuses the first attempt), the
 * control endpoints, --pace, exit status 0 on SIGTERM and 2 on bad arguments or posts. The
 * feeds and APIs themselves are tested through their pollers (tests/collector/).
 *
 * Environment (tests/run.sh): TEST_BIN_DIR, TEST_WORK_DIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "http_client.h"
#include "testenv.h"
#include "testproc.h"
#include "timefmt.h"
#include "xalloc.h"

static const char posts[] =
        "{\"id\":\"h1\",\"channel\":\"http\",\"community\":{\"id\":\"portal-19\",\"name\":\"Портал "
        "обращений\"},\"author\":{\"id\":\"701\",\"name\":\"Анна Т.\"},\"kind\":\"post\","
        "\"minutes_ago\":15,\"text\":\"Во дворе дома 4 по ул. Ленина не убран снег.\","
        "\"address\":\"ул. Ленина, 4\",\"lat\":53.72,\"lon\":91.44,"
        "\"expect\":{\"incident\":true,\"topic\":\"improvement\"}}\n"
        "\n"
        "{\"id\":\"v1\",\"channel\":\"vk\",\"community\":{\"id\":\"-10001\",\"name\":\"Абакан\"},"
        "\"author\":{\"id\":\"702\",\"name\":\"Пётр\"},\"kind\":\"post\",\"minutes_ago\":5,"
        "\"text\":\"Доброе утро!\"}\n"
        "{\"id\":\"h2\",\"channel\":\"http\",\"community\":{\"id\":\"bot-abakan\",\"name\":\"Бот "
        "Абакана\"},\"author\":{\"id\":\"703\",\"name\":\"Игорь\"},\"kind\":\"post\","
        "\"minutes_ago\":3,\"text\":\"Спасибо дворникам!\"}\n";

static const char *bin_dir, *work_dir;

/* ---- a capturing ingest API ----------------------------------------------------------------- */

static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *captured; /* [{"auth":..., "type":..., "body":<parsed>, "status":...}] */

static void capture(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const char *auth = http_request_header(req, "Authorization");
	const char *type = http_request_header(req, "Content-Type");
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	int status;

	(void)ctx;
	pthread_mutex_lock(&cap_lock);
	/* The first attempt finds the collector "not ready": demo-sources must retry. */
	status = json_array_size(captured) == 0 ? 503 : 202;
	json_array_append_new(captured, json_pack("{s:s?, s:s?, s:o?, s:i}", "auth", auth, "type",
	                                          type, "body", body, "status", status));
	pthread_mutex_unlock(&cap_lock);
	if (status == 503)
		http_respond_error(resp, 503, "unavailable", NULL, "database unavailable");
	else
		http_respond_json(
		        resp, 202,
		        json_pack("{s:I}", "accepted", (json_int_t)json_array_size(body)));
}

static size_t captured_count(void)
{
	size_t n;

	pthread_mutex_lock(&cap_lock);
	n = json_array_size(captured);
	pthread_mutex_unlock(&cap_lock);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void wait_captured(size_t n, struct testproc *p)
{
	for (int i = 0; i < 200 && captured_count() < n; i++)
		sleep_ms(50);
	if (captured_count() < n) {
		testproc_print_log(p, 30);
		fail_msg("%zu pushes captured, expected %zu", captured_count(), n);
	}
}

/* ---- helpers -------------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		fail_msg("cannot write %s", path);
}

static long request(int port, const char *method, const char *path, const char *body, json_t **out)
{
	char url[256], err[256];
	struct http_client *c = http_client_new();
	struct http_client_response r;
	long status;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	if (http_client_request(c, method, url, NULL, body, body ? strlen(body) : 0, &r, err,
	                        sizeof(err)) < 0)
		fail_msg("%s %s: %s", method, path, err);
	status = r.status;
	if (out) {
		*out = json_loads(r.body, 0, NULL);
		if (!*out)
			fail_msg("%s %s: not JSON: %s", method, path, r.body);
	}
	http_client_response_clear(&r);
	http_client_free(c);
	return status;
}

/* Starts demo-sources on a free port with extra arguments (NULL-terminated). */
static int start_demo(struct testproc *p, const char *posts_path, const char *log_name,
                      const char *const *extra)
{
	char path[512], log[512], port_s[16];
	char *argv[16];
	int port = testenv_free_port(), n = 0;

	snprintf(path, sizeof(path), "%s/demo-sources", bin_dir);
	snprintf(log, sizeof(log), "%s/%s", work_dir, log_name);
	snprintf(port_s, sizeof(port_s), "%d", port);
	argv[n++] = path;
	argv[n++] = "--port";
	argv[n++] = port_s;
	argv[n++] = "--posts";
	argv[n++] = (char *)(uintptr_t)posts_path;
	for (; extra && *extra && n < 15; extra++)
		argv[n++] = (char *)(uintptr_t)*extra;
	argv[n] = NULL;
	testproc_start(p, path, argv, NULL, log);
	testproc_wait_http(p, port, "/healthz", 20000);
	return port;
}

static int group_setup(void **state)
{
	(void)state;
	bin_dir = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	work_dir = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	captured = json_array();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	json_decref(captured);
	return 0;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_push_retries_until_taken(void **state)
{
	struct http_options opt = {.port = 0};
	struct http_server *api = http_server_new(&opt, NULL);
	char err[256], push_url[128], posts_path[512];
	struct testproc demo;
	int port;
	json_t *first, *second, *items, *item, *expect, *third;
	int64_t t;

	(void)state;
	assert_int_equal(http_server_route(api, "POST /v1/messages", capture, NULL), 0);
	if (http_server_start(api, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	snprintf(push_url, sizeof(push_url), "http://127.0.0.1:%u/v1/messages",
	         (unsigned)http_server_port(api));
	snprintf(posts_path, sizeof(posts_path), "%s/test_demo_sources_posts.ndjson", work_dir);
	write_file(posts_path, posts);
	{
		const char *extra[] = {"--push", push_url, "--push-token", "tok-demo-1", NULL};

		port = start_demo(&demo, posts_path, "test_demo_sources-push.log", extra);
	}
	wait_captured(2, &demo);

	pthread_mutex_lock(&cap_lock);
	first = json_incref(json_array_get(captured, 0));
	second = json_incref(json_array_get(captured, 1));
	pthread_mutex_unlock(&cap_lock);
	assert_int_equal(json_integer_value(json_object_get(first, "status")), 503);
	assert_true(json_equal(json_object_get(first, "body"), json_object_get(second, "body")));
	assert_string_equal(json_string_value(json_object_get(second, "auth")),
	                    "Bearer tok-demo-1");
	assert_string_equal(json_string_value(json_object_get(second, "type")), "application/json");

	/* One batch: the two "http" lines in file order, the vk line left out. */
	items = json_object_get(second, "body");
	assert_int_equal(json_array_size(items), 2);
	item = json_array_get(items, 0);
	assert_int_equal(rfc3339_parse(json_string_value(json_object_get(item, "posted_at")), &t),
	                 0);
	assert_true(t <= time_now_ms() - 15 * 60000 + 1000 && t > time_now_ms() - 16 * 60000);
	json_object_del(item, "posted_at");
	expect = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:f, s:f}}",
	                   "source", "http", "external_id", "h1", "kind", "post", "text",
	                   "Во дворе дома 4 по ул. Ленина не убран снег.", "author", "id", "701",
	                   "name", "Анна Т.", "community", "id", "portal-19", "name",
	                   "Портал обращений", "location", "address", "ул. Ленина, 4", "lat", 53.72,
	                   "lon", 91.44);
	if (!json_equal(item, expect)) {
		char *got = json_dumps(item, JSON_SORT_KEYS);

		fail_msg("pushed item: %s", got);
	}
	json_decref(expect);
	item = json_array_get(items, 1);
	assert_string_equal(json_string_value(json_object_get(item, "external_id")), "h2");
	assert_null(json_object_get(item, "location"));
	assert_null(json_object_get(item, "expect"));

	/* A line added later is pushed on its own, once. */
	assert_int_equal(request(port, "POST", "/control/posts",
	                         "{\"id\":\"h3\",\"channel\":\"http\",\"kind\":\"post\","
	                         "\"minutes_ago\":0,\"text\":\"Новая жалоба\"}\n",
	                         NULL),
	                 200);
	wait_captured(3, &demo);
	sleep_ms(600); /* a few more push rounds: nothing sent twice */
	assert_int_equal(captured_count(), 3);
	pthread_mutex_lock(&cap_lock);
	third = json_incref(json_array_get(captured, 2));
	pthread_mutex_unlock(&cap_lock);
	assert_int_equal(json_array_size(json_object_get(third, "body")), 1);
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(json_object_get(third, "body"), 0),
	                                          "external_id")),
	        "h3");

	assert_int_equal(testproc_stop(&demo, SIGTERM, 10000), 0);
	json_decref(first);
	json_decref(second);
	json_decref(third);
	http_server_free(api);
}

static void test_control_endpoints(void **state)
{
	char posts_path[512];
	struct testproc demo;
	int port;
	json_t *j;

	(void)state;
	snprintf(posts_path, sizeof(posts_path), "%s/test_demo_sources_posts.ndjson", work_dir);
	write_file(posts_path, posts);
	port = start_demo(&demo, posts_path, "test_demo_sources-control.log", NULL);

	/* Posts: all or none; the bad line is named. */
	assert_int_equal(request(port, "POST", "/control/posts",
	                         "{\"id\":\"x1\",\"channel\":\"rss\",\"text\":\"a\"}\n"
	                         "{\"id\":\"x2\",\"channel\":\"fax\",\"text\":\"b\"}\n",
	                         &j),
	                 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "line 2"));
	json_decref(j);
	assert_int_equal(request(port, "POST", "/control/posts", "{\"id\":\"x1\"", &j), 400);
	json_decref(j);
	assert_int_equal(
	        request(port, "POST", "/control/posts",
	                "{\"id\":\"x1\",\"channel\":\"rss\",\"community\":{\"id\":\"https://"
	                "n.example/rss\",\"name\":\"N\"},\"minutes_ago\":1,\"text\":\"a\"}",
	                &j),
	        200);
	assert_int_equal(json_integer_value(json_object_get(j, "added")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 4);
	json_decref(j);

	/* Faults: "api" required, count checked, taken once, counted in stats. */
	assert_int_equal(request(port, "POST", "/control/fault", "{\"status\":500}", &j), 400);
	assert_string_equal(json_string_value(json_object_get(j, "field")), "api");
	json_decref(j);
	assert_int_equal(
	        request(port, "POST", "/control/fault", "{\"api\":\"rss\",\"count\":-1}", &j), 400);
	assert_string_equal(json_string_value(json_object_get(j, "field")), "count");
	json_decref(j);
	assert_int_equal(
	        request(port, "POST", "/control/fault", "{\"api\":\"rss\",\"status\":500}", NULL),
	        200);
	assert_int_equal(request(port, "GET", "/rss/n-example-rss", NULL, NULL), 500);
	assert_int_equal(request(port, "GET", "/rss/n-example-rss", NULL, NULL), 200);
	assert_int_equal(request(port, "GET", "/control/stats", NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "rss.n-example-rss")), 2);
	json_decref(j);

	/* The feed index lists the new feed. */
	assert_int_equal(request(port, "GET", "/rss", NULL, &j), 200);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "slug")),
	                    "n-example-rss");
	json_decref(j);
	assert_int_equal(testproc_stop(&demo, SIGTERM, 10000), 0);
}

static void test_pace(void **state)
{
	char posts_path[512];
	struct testproc demo;
	int port;
	json_t *j;
	const char *extra[] = {"--pace", "2", NULL};
	size_t early;

	(void)state;
	snprintf(posts_path, sizeof(posts_path), "%s/test_demo_sources_pace.ndjson", work_dir);
	write_file(posts_path,
	           "{\"id\":\"p1\",\"channel\":\"open311\",\"community\":{\"id\":\"j.example\"},"
	           "\"service\":\"S\",\"minutes_ago\":1,\"text\":\"a\"}\n"
	           "{\"id\":\"p2\",\"channel\":\"open311\",\"community\":{\"id\":\"j.example\"},"
	           "\"service\":\"S\",\"minutes_ago\":1,\"text\":\"b\"}\n"
	           "{\"id\":\"p3\",\"channel\":\"open311\",\"community\":{\"id\":\"j.example\"},"
	           "\"service\":\"S\",\"minutes_ago\":1,\"text\":\"c\"}\n"
	           "{\"id\":\"p4\",\"channel\":\"open311\",\"community\":{\"id\":\"j.example\"},"
	           "\"service\":\"S\",\"minutes_ago\":1,\"text\":\"d\"}\n");
	port = start_demo(&demo, posts_path, "test_demo_sources-pace.log", extra);
	assert_int_equal(request(port, "GET", "/open311/j.example/requests.json", NULL, &j), 200);
	early = json_array_size(j);
	json_decref(j);
	assert_true(early < 4);
	sleep_ms(2500);
	assert_int_equal(request(port, "GET", "/open311/j.example/requests.json", NULL, &j), 200);
	assert_int_equal(json_array_size(j), 4);
	json_decref(j);
	assert_int_equal(testproc_stop(&demo, SIGTERM, 10000), 0);
}

static void test_bad_arguments(void **state)
{
	char path[512], log[512], posts_path[512], bad_path[512];
	struct testproc p;

	(void)state;
	snprintf(path, sizeof(path), "%s/demo-sources", bin_dir);
	snprintf(log, sizeof(log), "%s/test_demo_sources-args.log", work_dir);
	snprintf(posts_path, sizeof(posts_path), "%s/test_demo_sources_posts.ndjson", work_dir);
	snprintf(bad_path, sizeof(bad_path), "%s/test_demo_sources_bad.ndjson", work_dir);
	write_file(posts_path, posts);
	write_file(bad_path, "{\"id\":\"a\",\"channel\":\"vk\",\"text\":\"x\"}\n{\"id\":\"b\",\n");
	{
		char *const no_port[] = {path, "--posts", posts_path, NULL};
		char *const bad_port[] = {path, "--port", "70000", "--posts", posts_path, NULL};
		char *const unknown[] = {path,       "--port", "0", "--posts",
		                         posts_path, "--nope", "1", NULL};
		char *const bad_posts[] = {path, "--port", "0", "--posts", bad_path, NULL};
		char *const missing[] = {path, "--port", "0", "--posts", "/nonexistent/x", NULL};
		char *const push_no_token[] = {path,
		                               "--port",
		                               "0",
		                               "--posts",
		                               posts_path,
		                               "--push",
		                               "http://127.0.0.1:1/v1/messages",
		                               NULL};
		char *const *cases[] = {no_port,   bad_port, unknown,
		                        bad_posts, missing,  push_no_token};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			testproc_start(&p, path, cases[i], NULL, log);
			if (testproc_stop(&p, 0, 10000) != 2) {
				testproc_print_log(&p, 10);
				fail_msg("case %zu: exit status %d, want 2", i, p.status);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_push_retries_until_taken),
	        cmocka_unit_test(test_control_endpoints),
	        cmocka_unit_test(test_pace),
	        cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
