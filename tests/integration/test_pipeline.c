/*
 * Integration test of shared/pipeline against the local broker and PostgreSQL: a topic of good
 * and bad records goes through pipeline_run; good ones are stored once (even though one batch
 * fails and is handed again), bad ones land in <topic>.dlq with their reason, every record is
 * committed (a new member of the group sees nothing), and the metrics count each outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "kafka.h"
#include "lifecycle.h"
#include "metrics.h"
#include "pipeline.h"
#include "service.h"
#include "testdb.h"
#include "testenv.h"
#include "timefmt.h"

#define GOOD 18
#define BAD 2

struct handler_state {
	struct db *db;
	int attempts;
	bool failed_once;
};

/* Stores {"n": N} records idempotently; refuses what is not such a record; fails the first
 * batch that holds n = 7, once, as a database outage would. */
static int handle(void *ctx, struct pipeline_item *items, size_t n, char *err, size_t errlen)
{
	struct handler_state *st = ctx;
	st->attempts++;
	if (db_begin(st->db, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_t *doc = json_loadb(items[i].msg.value, items[i].msg.len, 0, NULL);
		json_t *num = json_object_get(doc, "n");
		if (!json_is_integer(num)) {
			items[i].verdict = PIPELINE_DEAD_LETTER;
			snprintf(items[i].reason, sizeof(items[i].reason), "n: must be an integer");
			json_decref(doc);
			continue;
		}
		if (json_integer_value(num) == 7 && !st->failed_once) {
			st->failed_once = true;
			json_decref(doc);
			db_rollback(st->db);
			snprintf(err, errlen, "simulated outage");
			return -1;
		}
		char v[32];
		snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(num));
		const char *p[1] = {v};
		json_decref(doc);
		if (db_run(st->db,
		           "INSERT INTO pipeline_t (n) VALUES ($1::int) ON CONFLICT DO NOTHING", 1,
		           p, err, errlen) < 0) {
			db_rollback(st->db);
			return -1;
		}
	}
	return db_commit(st->db, err, errlen);
}

struct runner {
	struct service *svc;
	struct kafka_consumer *consumer;
	struct kafka_producer *producer;
	struct handler_state *st;
	int rc;
};

static void *run(void *arg)
{
	struct runner *r = arg;
	struct pipeline_options opt = {.max_batch = 5, .max_wait_ms = 50, .service = "test"};
	r->rc = pipeline_run(r->svc, r->consumer, r->producer, &opt, handle, r->st);
	return NULL;
}

static long count(struct db *db, const char *sql)
{
	char err[256];
	PGresult *res = db_exec(db, sql, 0, NULL, err, sizeof(err));
	if (!res)
		fail_msg("%s: %s", sql, err);
	long v = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static void test_batches_dead_letters_and_retries(void **state)
{
	const char *brokers = testenv_require("TEST_KAFKA_BROKERS", "run through tests/run.sh");
	char err[512], topic[64], dlq_topic[80], group[80];
	struct kafka_options ko = {brokers, "test-pipeline", "fetch.wait.max.ms=10"};
	(void)state;

	snprintf(topic, sizeof(topic), "pipeline.%d.%ld", (int)getpid(), (long)time(NULL));
	snprintf(dlq_topic, sizeof(dlq_topic), "%s.dlq", topic);
	snprintf(group, sizeof(group), "g-%s", topic);
	struct db *db = db_connect(testdb_url(), 5000, NULL, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_run(db, "DROP TABLE IF EXISTS pipeline_t", 0, NULL, err, sizeof(err)),
	                 0);
	assert_int_equal(db_run(db, "CREATE TABLE pipeline_t (n int PRIMARY KEY)", 0, NULL, err,
	                        sizeof(err)),
	                 0);

	struct kafka_producer *p = kafka_producer_new(&ko, err, sizeof(err));
	assert_non_null(p);
	struct kafka_delivery d[GOOD + BAD];
	memset(d, 0, sizeof(d));
	for (int i = 0; i < GOOD + BAD; i++) {
		char v[64];
		/* The bad ones sit in the middle, among good neighbours. */
		if (i == 5 || i == 12)
			snprintf(v, sizeof(v), "{\"n\":\"not a number %d\"}", i);
		else
			snprintf(v, sizeof(v), "{\"n\":%d}", i);
		assert_int_equal(kafka_produce(p, topic, "k", 1, v, strlen(v), NULL, &d[i], err,
		                               sizeof(err)),
		                 0);
	}
	assert_int_equal(kafka_producer_wait(p, 10000), 0);

	struct service svc = {.name = "test"};
	svc.metrics = metrics_new();
	svc.processed = metrics_counter(svc.metrics, "im_messages_processed_total", "x", NULL);
	svc.failed = metrics_counter(svc.metrics, "im_messages_failed_total", "x", NULL);
	svc.dead_lettered =
	        metrics_counter(svc.metrics, "im_messages_dead_lettered_total", "x", NULL);
	svc.latency = metrics_histogram(svc.metrics, "im_processing_seconds", "x", NULL, NULL, 0);
	const char *topics[] = {topic, NULL};
	struct kafka_consumer *c = kafka_consumer_new(&ko, group, topics, err, sizeof(err));
	assert_non_null(c);
	struct handler_state st = {.db = db};
	struct runner r = {&svc, c, p, &st, -1};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run, &r), 0);

	int64_t deadline = time_mono_ms() + 30000;
	while (time_mono_ms() < deadline &&
	       metric_value(svc.processed) + metric_value(svc.dead_lettered) < GOOD + BAD)
		usleep(50 * 1000);
	lifecycle_request_stop();
	pthread_join(t, NULL);
	assert_int_equal(r.rc, 0);

	assert_int_equal(count(db, "SELECT count(*) FROM pipeline_t"), GOOD);
	assert_true(st.failed_once);
	assert_true(metric_value(svc.processed) == GOOD);
	assert_true(metric_value(svc.dead_lettered) == BAD);
	assert_true(metric_value(svc.failed) >= 1);
	kafka_consumer_free(c);

	/* The dead letters: original bytes and the reason. */
	char dgroup[96];
	snprintf(dgroup, sizeof(dgroup), "%s-dlq", group);
	const char *dtopics[] = {dlq_topic, NULL};
	struct kafka_consumer *dc = kafka_consumer_new(&ko, dgroup, dtopics, err, sizeof(err));
	assert_non_null(dc);
	int dead = 0;
	deadline = time_mono_ms() + 15000;
	while (dead < BAD && time_mono_ms() < deadline) {
		struct kafka_message m;
		if (kafka_consumer_poll(dc, 100, &m, err, sizeof(err)) != KAFKA_POLL_MESSAGE)
			continue;
		size_t len;
		const char *reason = kafka_message_header(&m, "dlq.reason", &len);
		assert_non_null(reason);
		assert_int_equal(len, strlen("n: must be an integer"));
		assert_memory_equal(reason, "n: must be an integer", len);
		char value[128];
		snprintf(value, sizeof(value), "%.*s", (int)m.len, (const char *)m.value);
		assert_non_null(strstr(value, "not a number")); /* the original bytes */
		kafka_message_release(&m);
		dead++;
	}
	assert_int_equal(dead, BAD);
	kafka_consumer_free(dc);

	/* Everything was committed: the group has nothing left to give. */
	c = kafka_consumer_new(&ko, group, topics, err, sizeof(err));
	assert_non_null(c);
	deadline = time_mono_ms() + 8000;
	while (time_mono_ms() < deadline) {
		struct kafka_message m;
		if (kafka_consumer_poll(c, 100, &m, err, sizeof(err)) == KAFKA_POLL_MESSAGE)
			fail_msg("offset %lld was not committed", (long long)m.offset);
	}
	kafka_consumer_free(c);
	kafka_producer_free(p);
	metrics_free(svc.metrics);
	db_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_batches_dead_letters_and_retries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
