/*
 * The assigner as a process, against the local broker and PostgreSQL with the shipped
 * Khakassia pack: classified.v1 records produced to its input topic come out as incident rows
 * and incident_event.v1 records on its output topic (created, then assigned with the
 * authority; related reports grouped; doubtful ones left in moderation), a record that is not
 * classified.v1 is dead-lettered with the reason while the others go on, replaying the topic
 * after a restart (and from the beginning in a new consumer group) creates nothing twice, a
 * kill -9 in the middle of a stream loses and doubles nothing, the API and /metrics answer, and
 * SIGTERM exits 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_support.h"
#include "db.h"
#include "http_client.h"
#include "incident_event.h"
#include "kafka.h"
#include "promtool.h"
#include "testdb.h"
#include "testenv.h"
#include "testproc.h"
#include "testtopic.h"
#include "timefmt.h"
#include "xalloc.h"

static const char *brokers, *bin, *work;
static char in_topic[64], out_topic[80], dlq_topic[80];
static int port;
static struct testproc proc;
/* core (core_support.h): the test's own view of the same database */

static const struct report_spec reports[] = {
        {.id = "vk:-1_1",
         .text = "Третий день нет отопления в доме на Щетинкина 18, батареи "
                 "холодные",
         .subtopic = "housing.heating",
         .municipality = "abakan",
         .author = "a"},
        {.id = "vk:-1_2",
         .text = "Щетинкина 18 без отопления третий день, батареи ледяные",
         .subtopic = "housing.heating",
         .municipality = "abakan",
         .author = "b"},
        {.id = "vk:-1_3",
         .text = "Огромная яма на дороге по улице Пушкина",
         .topic = "roads",
         .municipality = "chernogorsk"},
        {.id = "vk:-1_4", .text = "Во дворе не вывозят мусор неделю", .topic = "waste"},
        {.id = "vk:-1_5",
         .text = "Продам диван",
         .topic = "other",
         .not_incident = true,
         .score = 0.1,
         .municipality = "abakan"},
};
#define NREPORTS (sizeof(reports) / sizeof(reports[0]))

static void produce_all(bool with_garbage)
{
	char err[256];
	struct kafka_options ko = {brokers, "test", NULL};
	struct kafka_producer *p = kafka_producer_new(&ko, err, sizeof(err));
	struct kafka_delivery d[NREPORTS + 1];
	assert_non_null(p);
	memset(d, 0, sizeof(d));
	for (size_t i = 0; i < NREPORTS; i++) {
		char *rec = core_record(&reports[i]);
		const char *key = reports[i].municipality ? reports[i].municipality : "-";
		assert_int_equal(kafka_produce(p, in_topic, key, strlen(key), rec, strlen(rec),
		                               NULL, &d[i], err, sizeof(err)),
		                 0);
		free(rec);
	}
	if (with_garbage)
		assert_int_equal(kafka_produce(p, in_topic, "x", 1, "not JSON", 8, NULL,
		                               &d[NREPORTS], err, sizeof(err)),
		                 0);
	assert_int_equal(kafka_producer_wait(p, 10000), 0);
	kafka_producer_free(p);
}

/* Starts the service in `group`; extra is one more NAME=value setting, or NULL. */
static void start(const char *group, const char *extra)
{
	static char env[11][600];
	snprintf(env[0], sizeof(env[0]), "HTTP_PORT=%d", port);
	snprintf(env[1], sizeof(env[1]), "DATABASE_URL=%s", testdb_url());
	snprintf(env[2], sizeof(env[2]), "KAFKA_BROKERS=%s", brokers);
	snprintf(env[3], sizeof(env[3]), "INPUT_TOPIC=%s", in_topic);
	snprintf(env[4], sizeof(env[4]), "OUTPUT_TOPIC=%s", out_topic);
	snprintf(env[5], sizeof(env[5]), "%s",
	         "KAFKA_OPTIONS=fetch.wait.max.ms=10,session.timeout.ms=6000,"
	         "heartbeat.interval.ms=1000");
	snprintf(env[6], sizeof(env[6]), "CONSUMER_GROUP=%s", group);
	snprintf(env[7], sizeof(env[7]), "API_TOKENS=test-operator-token=operator");
	snprintf(env[8], sizeof(env[8]), "PUBLIC_URL=http://127.0.0.1:%d", port);
	snprintf(env[9], sizeof(env[9]), "SCHEDULER_INTERVAL=1s");
	snprintf(env[10], sizeof(env[10]), "%s", extra ? extra : "LOG_LEVEL=info");
	const char *envp[] = {env[0], env[1], env[2], env[3], env[4],  env[5],
	                      env[6], env[7], env[8], env[9], env[10], NULL};
	char path[512], log[512];
	snprintf(path, sizeof(path), "%s/assigner", bin);
	snprintf(log, sizeof(log), "%s/assigner-service.log", work);
	testproc_start(&proc, path, NULL, envp, log);
	testproc_wait_http(&proc, port, "/readyz", 30000);
}

static int setup_group(void **state)
{
	(void)state;
	bin = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	work = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	brokers = testenv_require("TEST_KAFKA_BROKERS", "run through tests/run.sh");
	port = testenv_free_port();
	snprintf(in_topic, sizeof(in_topic), "cls.asg.%d.%ld", (int)getpid(), (long)time(NULL));
	snprintf(out_topic, sizeof(out_topic), "%s.events", in_topic);
	snprintf(dlq_topic, sizeof(dlq_topic), "%s.dlq", in_topic);
	core_open(&core); /* migrates first, so the service finds the schema either way */
	produce_all(true);
	start("assigner-test", NULL);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	testproc_stop(&proc, SIGKILL, 1000);
	core_close(&core);
	return 0;
}

/* Waits until the query's count reaches want (the service works asynchronously). */
static void wait_count(const char *sql, int64_t want, int ms)
{
	int64_t deadline = time_mono_ms() + ms, got = -1;
	while (time_mono_ms() < deadline && (got = core_int(&core, sql, NULL)) < want) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (got != want) {
		testproc_print_log(&proc, 40);
		fail_msg("%s: %lld, want %lld", sql, (long long)got, (long long)want);
	}
}

static void test_classified_become_incidents_and_events(void **state)
{
	(void)state;
	wait_count("SELECT count(*) FROM assigner.reports", NREPORTS, 30000);
	assert_int_equal(core_int(&core, "SELECT count(*) FROM assigner.incidents", NULL), 3);
	assert_int_equal(core_int(&core,
	                          "SELECT reports FROM assigner.incidents WHERE municipality ="
	                          " 'abakan'",
	                          NULL),
	                 2);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.incidents WHERE status ="
	                          " 'moderation' AND topic = 'waste'",
	                          NULL),
	                 1);
	/* 3 created + 2 assigned, all acknowledged. */
	wait_count("SELECT count(*) FROM assigner.outbox WHERE published", 5, 15000);
	json_t *out = testtopic_read(brokers, out_topic, 5, 20000);
	assert_int_equal(json_array_size(out), 5);
	size_t i, assigned = 0;
	json_t *r;
	json_array_foreach(out, i, r)
	{
		struct incident_event ev = {0};
		struct field_error fe;
		if (incident_event_decode(json_object_get(r, "value"), &ev, &fe) < 0)
			fail_msg("not incident_event.v1: %s: %s", fe.field, fe.message);
		char key[24];
		snprintf(key, sizeof(key), "%lld", (long long)ev.incident_id);
		assert_string_equal(json_string_value(json_object_get(r, "key")), key);
		if (ev.type == INCIDENT_ASSIGNED) {
			assigned++;
			assert_non_null(ev.authority);
			assert_non_null(json_object_get(ev.incident, "first_answer_due"));
			assert_non_null(json_object_get(ev.incident, "rule_id"));
		}
		incident_event_clear(&ev);
	}
	assert_int_equal(assigned, 2);
	json_decref(out);
}

static void test_bad_record_dead_lettered(void **state)
{
	(void)state;
	json_t *dead = testtopic_read(brokers, dlq_topic, 1, 15000);
	assert_int_equal(json_array_size(dead), 1);
	assert_non_null(
	        strstr(json_string_value(json_object_get(json_array_get(dead, 0), "reason")),
	               "not a classified.v1 record"));
	json_decref(dead);
}

static void test_api_and_metrics_answer(void **state)
{
	(void)state;
	char url[128], err[256], check[4096];
	struct http_client *c = http_client_new();
	struct http_client_response resp = {0};
	const char *auth[] = {"Authorization: Bearer test-operator-token", NULL};
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/incidents", port);
	assert_int_equal(http_client_request(c, "GET", url, auth, NULL, 0, &resp, err, sizeof(err)),
	                 0);
	assert_int_equal(resp.status, 200);
	json_t *body = json_loads(resp.body, 0, NULL);
	assert_non_null(body);
	assert_int_equal(json_array_size(json_object_get(body, "items")), 3);
	json_decref(body);
	http_client_response_clear(&resp);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	assert_int_equal(http_client_request(c, "GET", url, NULL, NULL, 0, &resp, err, sizeof(err)),
	                 0);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.body, "assigner_incidents_opened_total 3"));
	assert_non_null(strstr(resp.body, "assigner_events_published_total 5"));
	if (promtool_check(resp.body, resp.body_len, check, sizeof(check)) != 0)
		fail_msg("promtool: %s", check);
	http_client_response_clear(&resp);
	http_client_free(c);
}

/* The value of an unlabelled sample on /metrics, or -1 when absent. */
static double metric(const char *name)
{
	char url[128], err[256];
	struct http_client_response resp = {0};
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	if (http_get(url, &resp, err, sizeof(err)) < 0 || resp.status != 200)
		fail_msg("GET /metrics: %s", err);
	double v = -1;
	size_t n = strlen(name);
	for (const char *line = resp.body; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, name, n) && line[n] == ' ')
			v = strtod(line + n + 1, NULL);
	}
	http_client_response_clear(&resp);
	return v;
}

/* Waits until the service has consumed `want` records (processed or dead-lettered). */
static void wait_consumed(double want)
{
	int64_t deadline = time_mono_ms() + 30000;
	double got = 0;
	while (time_mono_ms() < deadline &&
	       (got = metric("im_messages_processed_total") +
	              metric("im_messages_dead_lettered_total")) < want) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (got < want) {
		testproc_print_log(&proc, 40);
		fail_msg("consumed %.0f records, want %.0f", got, want);
	}
}

static void test_replay_after_restart_creates_nothing(void **state)
{
	(void)state;
	assert_int_equal(testproc_stop(&proc, SIGTERM, 15000), 0);
	const char *totals = "SELECT (SELECT count(*) FROM assigner.incidents) * 1000000 +"
	                     " (SELECT count(*) FROM assigner.reports) * 1000 +"
	                     " (SELECT count(*) FROM assigner.audit)";
	int64_t before = core_int(&core, totals, NULL);
	int64_t events = core_int(&core, "SELECT count(*) FROM assigner.outbox", NULL);
	/* The same records again, after the committed offsets: the restarted service reads
	 * only these five. */
	produce_all(false);
	start("assigner-test", NULL);
	wait_consumed(NREPORTS);
	assert_int_equal(core_int(&core, totals, NULL), before);
	/* The whole topic from the beginning in a fresh consumer group: eleven records. */
	assert_int_equal(testproc_stop(&proc, SIGTERM, 15000), 0);
	start("assigner-replay", NULL);
	wait_consumed(2 * NREPORTS + 1);
	assert_int_equal(core_int(&core, totals, NULL), before);
	assert_int_equal(core_int(&core, "SELECT count(*) FROM assigner.outbox", NULL), events);
	assert_int_equal(testproc_stop(&proc, SIGTERM, 15000), 0);
}

/* Produces n incident reports of 25 problems in 5 municipalities, ids vk:-9_<i>. */
static void produce_many(int n)
{
	static const char *const munis[] = {"abakan", "chernogorsk", "sayanogorsk", "abaza",
	                                    "sorsk"};
	static const char *const words[] = {"отопление", "яма",      "мусор",  "свет",   "вода",
	                                    "лифт",      "крыша",    "снег",   "собаки", "газ",
	                                    "автобус",   "светофор", "подвал", "труба",  "двор"};
	char err[256];
	struct kafka_options ko = {brokers, "test", NULL};
	struct kafka_producer *p = kafka_producer_new(&ko, err, sizeof(err));
	assert_non_null(p);
	for (int i = 0; i < n; i++) {
		char id[32], author[32], text[160];
		int problem = i % 25;
		snprintf(id, sizeof(id), "vk:-9_%d", i);
		snprintf(author, sizeof(author), "c%d", i);
		snprintf(text, sizeof(text), "%s %s %s", words[problem % 15],
		         words[(problem / 3 + 7) % 15], words[(problem / 5 + 11) % 15]);
		struct report_spec r = {.id = id,
		                        .text = text,
		                        .author = author,
		                        .municipality = munis[problem % 5],
		                        .posted_at = core_time(i)};
		char *rec = core_record(&r);
		const char *key = munis[problem % 5];
		assert_int_equal(kafka_produce(p, in_topic, key, strlen(key), rec, strlen(rec),
		                               NULL, NULL, err, sizeof(err)),
		                 0);
		free(rec);
	}
	assert_int_equal(kafka_producer_wait(p, 10000), 0);
	kafka_producer_free(p);
}

/* kill -9 in the middle of a stream, then a restart: every record stored, none twice. */
static void test_kill_loses_and_doubles_nothing(void **state)
{
	(void)state;
	enum { N = 300 };
	int64_t before = core_int(&core, "SELECT count(*) FROM assigner.reports", NULL);
	produce_many(N);
	start("assigner-test", "BATCH_SIZE=10");
	int64_t deadline = time_mono_ms() + 30000;
	while (time_mono_ms() < deadline &&
	       core_int(&core, "SELECT count(*) FROM assigner.reports", NULL) < before + N / 10) {
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	testproc_stop(&proc, SIGKILL, 5000);
	int64_t at_kill = core_int(&core, "SELECT count(*) FROM assigner.reports", NULL);
	start("assigner-test", "BATCH_SIZE=10");
	wait_count("SELECT count(*) FROM assigner.reports", before + N, 60000);
	printf("killed with %lld of %d reports stored; all %d after the restart\n",
	       (long long)(at_kill - before), N, N);
	/* Every incident report opened or joined an incident exactly once. */
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.reports WHERE is_incident AND"
	                          " incident_id IS NULL",
	                          NULL),
	                 0);
	assert_int_equal(
	        core_int(&core,
	                 "SELECT count(*) FROM assigner.audit WHERE action IN ('opened', 'joined')",
	                 NULL),
	        core_int(&core, "SELECT count(*) FROM assigner.reports WHERE is_incident", NULL));
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.incidents i WHERE reports <>"
	                          " (SELECT count(*) FROM assigner.reports r"
	                          "  WHERE r.incident_id = i.id)",
	                          NULL),
	                 0);
	/* And every event the stored incidents made leaves the outbox. */
	wait_count("SELECT count(*) FROM assigner.outbox WHERE NOT published", 0, 30000);
	assert_int_equal(testproc_stop(&proc, SIGTERM, 15000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_classified_become_incidents_and_events),
	        cmocka_unit_test(test_bad_record_dead_lettered),
	        cmocka_unit_test(test_api_and_metrics_answer),
	        cmocka_unit_test(test_replay_after_restart_creates_nothing),
	        cmocka_unit_test(test_kill_loses_and_doubles_nothing),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
