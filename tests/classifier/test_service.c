/*
 * The classifier as a process, against the local broker and PostgreSQL, with the default models
 * built from the project's corpus: message.v1 records in, classified.v1 records out keyed
 * municipality|topic with their evidence, decisions stored once even when a record is replayed,
 * a record that is not message.v1 dead-lettered with the reason while its neighbours go on,
 * /metrics accepted by promtool, SIGTERM exits 0 — also, within SHUTDOWN_TIMEOUT, once its broker
 * is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "http_client.h"
#include "kafka.h"
#include "promtool.h"
#include "testdb.h"
#include "testenv.h"
#include "testproc.h"
#include "testtopic.h"
#include "timefmt.h"
#include "xalloc.h"

static const char *brokers;
static char in_topic[64], out_topic[80], dlq_topic[80];
static int port;
static struct testproc proc;

static const char *const messages[] = {
        "{\"schema\":\"message.v1\",\"id\":\"vk:-1_1\",\"source\":\"vk\",\"external_id\":\"-1_1\","
        "\"text\":\"Третий день нет отопления в Черногорске на Юбилейной 15, батареи ледяные, "
        "дети мерзнут!\",\"posted_at\":\"2026-11-28T01:00:00Z\",\"received_at\":"
        "\"2026-11-28T01:00:01Z\"}",
        "{\"schema\":\"message.v1\",\"id\":\"vk:-1_2\",\"source\":\"vk\",\"external_id\":\"-1_2\","
        "\"text\":\"Продам диван, почти новый, самовывоз, звоните\",\"posted_at\":"
        "\"2026-11-28T01:00:00Z\",\"received_at\":\"2026-11-28T01:00:01Z\"}",
        "{\"schema\":\"message.v1\",\"id\":\"telegram:-5_3\",\"source\":\"telegram\","
        "\"external_id\":\"-5_3\",\"text\":\"Огромная яма на дороге по улице Щетинкина в "
        "Абакане, уже две машины пробили колёса\",\"posted_at\":\"2026-11-28T01:00:00Z\","
        "\"received_at\":\"2026-11-28T01:00:01Z\"}",
        "this is not JSON at all",
};

static void produce_all(const char *to, const char *topic)
{
	char err[256];
	struct kafka_options ko = {to, "test", NULL};
	struct kafka_producer *p = kafka_producer_new(&ko, err, sizeof(err));
	struct kafka_delivery d[6];
	assert_non_null(p);
	memset(d, 0, sizeof(d));
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(kafka_produce(p, topic, "k", 1, messages[i], strlen(messages[i]),
		                               NULL, &d[i], err, sizeof(err)),
		                 0);
	/* A replay of the first: same id, same revision. */
	assert_int_equal(kafka_produce(p, topic, "k", 1, messages[0], strlen(messages[0]), NULL,
	                               &d[4], err, sizeof(err)),
	                 0);
	assert_int_equal(kafka_producer_wait(p, 10000), 0);
	kafka_producer_free(p);
}

static int setup_group(void **state)
{
	(void)state;
	const char *bin = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	const char *work = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	brokers = testenv_require("TEST_KAFKA_BROKERS", "run through tests/run.sh");
	port = testenv_free_port();
	snprintf(in_topic, sizeof(in_topic), "raw.cls.%d.%ld", (int)getpid(), (long)time(NULL));
	snprintf(out_topic, sizeof(out_topic), "%s.out", in_topic);
	snprintf(dlq_topic, sizeof(dlq_topic), "%s.dlq", in_topic);

	static char env[6][600];
	snprintf(env[0], sizeof(env[0]), "HTTP_PORT=%d", port);
	snprintf(env[1], sizeof(env[1]), "DATABASE_URL=%s", testdb_url());
	snprintf(env[2], sizeof(env[2]), "KAFKA_BROKERS=%s", brokers);
	snprintf(env[3], sizeof(env[3]), "INPUT_TOPIC=%s", in_topic);
	snprintf(env[4], sizeof(env[4]), "OUTPUT_TOPIC=%s", out_topic);
	snprintf(env[5], sizeof(env[5]), "%s",
	         "KAFKA_OPTIONS=fetch.wait.max.ms=10,session.timeout.ms=6000,"
	         "heartbeat.interval.ms=1000");
	const char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], NULL};
	char path[512], log[512];
	snprintf(path, sizeof(path), "%s/classifier", bin);
	snprintf(log, sizeof(log), "%s/classifier-service.log", work);
	produce_all(brokers, in_topic);
	testproc_start(&proc, path, NULL, envp, log);
	testproc_wait_http(&proc, port, "/readyz", 30000);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	testproc_stop(&proc, SIGKILL, 1000);
	return 0;
}

static json_t *find(json_t *records, const char *id)
{
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r)
	{
		json_t *msg = json_object_get(json_object_get(r, "value"), "message");
		const char *got = json_string_value(json_object_get(msg, "id"));
		if (got && !strcmp(got, id))
			return r;
	}
	fail_msg("no classified record for %s", id);
	return NULL;
}

static const char *cls(json_t *record, const char *field)
{
	json_t *v = json_object_get(
	        json_object_get(json_object_get(record, "value"), "classification"), field);
	return json_is_string(v) ? json_string_value(v) : json_is_true(v) ? "true" : "false";
}

static void test_classified_with_evidence(void **state)
{
	(void)state;
	json_t *out = testtopic_read(brokers, out_topic, 4, 30000);
	assert_true(json_array_size(out) >= 3);

	json_t *heat = find(out, "vk:-1_1");
	assert_string_equal(json_string_value(json_object_get(heat, "key")), "chernogorsk|housing");
	assert_string_equal(cls(heat, "incident"), "true");
	assert_string_equal(cls(heat, "topic"), "housing");
	assert_string_equal(cls(heat, "municipality"), "chernogorsk");
	assert_string_equal(cls(heat, "municipality_method"), "text");
	assert_string_equal(cls(heat, "urgency"), "high");
	json_t *k = json_object_get(json_object_get(heat, "value"), "classification");
	assert_true(json_array_size(json_object_get(k, "top_features")) > 0);
	assert_true(json_array_size(json_object_get(k, "urgency_terms")) > 0);
	assert_true(json_array_size(json_object_get(k, "municipality_evidence")) > 0);
	assert_true(json_object_size(json_object_get(k, "scores")) == 15);

	json_t *ad = find(out, "vk:-1_2");
	assert_string_equal(cls(ad, "incident"), "false");

	json_t *road = find(out, "telegram:-5_3");
	assert_string_equal(cls(road, "topic"), "roads");
	assert_string_equal(cls(road, "municipality"), "abakan");
	json_decref(out);
}

static void test_bad_record_dead_lettered(void **state)
{
	(void)state;
	json_t *dead = testtopic_read(brokers, dlq_topic, 1, 15000);
	assert_int_equal(json_array_size(dead), 1);
	assert_non_null(
	        strstr(json_string_value(json_object_get(json_array_get(dead, 0), "reason")),
	               "not a message.v1 record"));
	json_decref(dead);
}

static void test_stored_once(void **state)
{
	char err[256];
	(void)state;
	struct db *db = db_connect(testdb_url(), 5000, NULL, err, sizeof(err));
	assert_non_null(db);
	PGresult *res = db_exec(db,
	                        "SELECT count(*), count(*) FILTER (WHERE incident),"
	                        " count(DISTINCT message_id) FROM classifier.classifications",
	                        0, NULL, err, sizeof(err));
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "3");
	assert_string_equal(PQgetvalue(res, 0, 1), "2");
	assert_string_equal(PQgetvalue(res, 0, 2), "3");
	PQclear(res);
	db_free(db);
}

static void test_metrics(void **state)
{
	char url[128], err[256];
	struct http_client_response r;
	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	assert_int_equal(http_get(url, &r, err, sizeof(err)), 0);
	assert_int_equal(promtool_check(r.body, r.body_len, NULL, 0), 0);
	assert_non_null(strstr(r.body,
	                       "classifier_messages_total{incident=\"true\",topic=\"housing\","
	                       "municipality=\"chernogorsk\"}"));
	assert_non_null(strstr(r.body, "im_messages_dead_lettered_total 1"));
	assert_non_null(strstr(r.body, "classifier_model_info{version="));
	http_client_response_clear(&r);
}

static void test_sigterm(void **state)
{
	(void)state;
	assert_int_equal(testproc_stop(&proc, SIGTERM, 20000), 0);
}

/* Reads the bootstrap address the local broker writes once it listens; fails after 10 s. */
static void read_bootstrap(const char *path, char *out, size_t outlen)
{
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(path, "r");
		if (f) {
			bool ok = fgets(out, (int)outlen, f) && out[0];
			fclose(f);
			if (ok) {
				out[strcspn(out, "\r\n")] = '\0';
				return;
			}
		}
		usleep(100000);
	}
	fail_msg("the local Kafka broker wrote no bootstrap address to %s", path);
}

/* The broker dies under a running classifier (joined to its group, producer connected): SIGTERM
 * must still end it within the default SHUTDOWN_TIMEOUT (10 s), not leave it waiting on
 * librdkafka for a coordinator that will never answer. */
static void test_sigterm_broker_gone(void **state)
{
	(void)state;
	const char *bin = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	const char *work = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	char path[512], log[512], boot_file[512], boot[256];
	struct testproc broker, cls;

	snprintf(boot_file, sizeof(boot_file), "%s/gone.%d.bootstrap", work, (int)getpid());
	unlink(boot_file);
	snprintf(path, sizeof(path), "%s/kafka-broker", bin);
	snprintf(log, sizeof(log), "%s/gone-broker.log", work);
	char *const bargv[] = {path,           "--brokers", "1",
	                       "--partitions", "1",         "--bootstrap-file",
	                       boot_file,      "--topic",   "gone.in",
	                       "--topic",      "gone.out",  "--topic",
	                       "gone.in.dlq",  NULL};
	testproc_start(&broker, path, bargv, NULL, log);
	read_bootstrap(boot_file, boot, sizeof(boot));

	int cport = testenv_free_port();
	static char env[6][600];
	snprintf(env[0], sizeof(env[0]), "HTTP_PORT=%d", cport);
	snprintf(env[1], sizeof(env[1]), "DATABASE_URL=%s", testdb_url());
	snprintf(env[2], sizeof(env[2]), "KAFKA_BROKERS=%s", boot);
	snprintf(env[3], sizeof(env[3]), "%s", "INPUT_TOPIC=gone.in");
	snprintf(env[4], sizeof(env[4]), "%s", "OUTPUT_TOPIC=gone.out");
	snprintf(env[5], sizeof(env[5]), "%s",
	         "KAFKA_OPTIONS=fetch.wait.max.ms=10,session.timeout.ms=6000,"
	         "heartbeat.interval.ms=1000,auto.commit.interval.ms=60000");
	const char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], NULL};
	snprintf(path, sizeof(path), "%s/classifier", bin);
	snprintf(log, sizeof(log), "%s/classifier-gone.log", work);
	testproc_start(&cls, path, NULL, envp, log);
	testproc_wait_http(&cls, cport, "/readyz", 30000);
	/* Records handled and their offsets stored but not yet committed (auto commit every
	 * minute here): the final commit and the close then need the coordinator. */
	produce_all(boot, "gone.in");
	json_t *out = testtopic_read(boot, "gone.out", 4, 30000);
	assert_int_equal(json_array_size(out), 4);
	json_decref(out);

	assert_int_equal(testproc_stop(&broker, SIGKILL, 5000), -SIGKILL);
	int64_t t0 = time_mono_ms();
	int status = testproc_stop(&cls, SIGTERM, 15000);
	int64_t ms = time_mono_ms() - t0;
	if (status != 0 || ms > 10000)
		testproc_print_log(&cls, 20);
	assert_int_equal(status, 0);
	assert_true(ms <= 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_classified_with_evidence),
	        cmocka_unit_test(test_bad_record_dead_lettered),
	        cmocka_unit_test(test_stored_once),
	        cmocka_unit_test(test_metrics),
	        cmocka_unit_test(test_sigterm),
	        cmocka_unit_test(test_sigterm_broker_gone),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
