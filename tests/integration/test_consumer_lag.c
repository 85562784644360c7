/*
 * Integration tests of the consumer-lag gauge (shared/consumer_lag.c over kafka_consumer_lag)
 * against the local broker (TEST_KAFKA_BROKERS): im_consumer_lag_records shows, per assigned
 * partition, the records the group has not marked done; it keeps growing while the consumer
 * polls nothing (a batch stuck on its database), also past max.poll.interval.ms when librdkafka
 * takes the member out of the group, falls to 0 once everything is done, stops showing
 * partitions a rebalance revoked, and shows nothing after consumer_lag_stop, even to
 * a scrape racing the consumer's freeing (the sanitizer build turns a touch of the freed
 * consumer into a failure).
 *
 * The broker auto-creates a topic with 4 partitions on first use; topics and groups carry the
 * run's pid and time, so reruns never see old records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consumer_lag.h"
#include "kafka.h"
#include "metrics.h"
#include "testenv.h"
#include "timefmt.h"

/* As in test_kafka.c: short fetch waits and sessions, so the group forms and rebalances fast. */
#define LOCAL_EXTRA "fetch.wait.max.ms=10,session.timeout.ms=6000,heartbeat.interval.ms=1000"
#define PARTITIONS 4
#define DEADLINE_MS 30000

static const char *brokers;
static char run_id[64];

static struct kafka_options options(void)
{
	brokers = testenv_require("TEST_KAFKA_BROKERS", "run through tests/run.sh");
	return (struct kafka_options){
	        .brokers = brokers, .client_id = "test_consumer_lag", .extra = LOCAL_EXTRA};
}

/* Produces n keyed records; adds each one's partition to per_partition[]. */
static void produce(const char *topic, int n, int64_t per_partition[PARTITIONS])
{
	struct kafka_options o = options();
	char err[512];
	struct kafka_producer *p = kafka_producer_new(&o, err, sizeof(err));
	if (!p)
		fail_msg("kafka_producer_new: %s", err);
	struct kafka_delivery *d = calloc((size_t)n, sizeof(*d));
	assert_non_null(d);
	for (int i = 0; i < n; i++) {
		char key[32];
		snprintf(key, sizeof(key), "key-%d-%" PRId64, i, time_now_ms());
		if (kafka_produce(p, topic, key, strlen(key), "v", 1, NULL, &d[i], err,
		                  sizeof(err)) != 0)
			fail_msg("kafka_produce: %s", err);
	}
	assert_int_equal(kafka_producer_wait(p, 15000), 0);
	for (int i = 0; i < n; i++) {
		if (d[i].err)
			fail_msg("delivery failed: %s", d[i].errstr);
		assert_true(d[i].partition >= 0 && d[i].partition < PARTITIONS);
		per_partition[d[i].partition]++;
	}
	free(d);
	kafka_producer_free(p);
}

/* A new member of group on topic; extra: librdkafka properties replacing LOCAL_EXTRA, or NULL. */
static struct kafka_consumer *join(const char *group, const char *topic, const char *extra)
{
	struct kafka_options o = options();
	const char *topics[] = {topic, NULL};
	if (extra)
		o.extra = extra;
	char err[512];
	struct kafka_consumer *c = kafka_consumer_new(&o, group, topics, err, sizeof(err));
	if (!c)
		fail_msg("kafka_consumer_new: %s", err);
	return c;
}

/* Polls up to `want` records (any partition), marking each done and counting it in
 * done[partition]; waits for the group as long as needed. Returns how many arrived. */
static int consume(struct kafka_consumer *c, int want, int64_t done[PARTITIONS], int deadline_ms)
{
	int got = 0;
	int64_t deadline = time_mono_ms() + deadline_ms;
	while (got < want && time_mono_ms() < deadline) {
		struct kafka_message m;
		char err[512];
		enum kafka_poll_result r = kafka_consumer_poll(c, 100, &m, err, sizeof(err));
		if (r == KAFKA_POLL_RESET)
			fail_msg("unexpected offset reset: %s", err);
		if (r != KAFKA_POLL_MESSAGE)
			continue;
		assert_int_equal(kafka_consumer_done(c, &m), 0);
		done[m.partition]++;
		got++;
		kafka_message_release(&m);
	}
	return got;
}

static void commit(struct kafka_consumer *c)
{
	char err[512];
	if (kafka_consumer_commit(c, err, sizeof(err)) != 0)
		fail_msg("commit: %s", err);
}

/* The value of im_consumer_lag_records{topic, partition} in a render of reg, or -1 when the
 * series is absent. *nseries (may be NULL) gets how many series of the gauge there are. */
static double lag_of(struct metrics *reg, const char *topic, int partition, int *nseries)
{
	char *text = metrics_render(reg);
	char want[512];
	double v = -1;
	int count = 0;
	snprintf(want, sizeof(want), "im_consumer_lag_records{topic=\"%s\",partition=\"%d\"} ",
	         topic, partition);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "im_consumer_lag_records{", 24) != 0)
			continue;
		count++;
		if (strncmp(line, want, strlen(want)) == 0)
			v = strtod(line + strlen(want), NULL);
	}
	free(text);
	if (nseries)
		*nseries = count;
	return v;
}

/* Fails unless every partition's series shows produced - done. */
static void assert_lags(struct metrics *reg, const char *topic, const int64_t produced[],
                        const int64_t done[])
{
	int n = 0;
	for (int p = 0; p < PARTITIONS; p++) {
		double v = lag_of(reg, topic, p, &n);
		if (v != (double)(produced[p] - done[p]))
			fail_msg("partition %d: lag %.0f, want %" PRId64 " - %" PRId64, p, v,
			         produced[p], done[p]);
	}
	assert_int_equal(n, PARTITIONS);
}

/* One test's topic (n records produced), group, first member and its export on a registry. */
struct lag_case {
	char topic[128], group[128];
	int64_t produced[PARTITIONS], done[PARTITIONS];
	struct metrics *reg;
	struct kafka_consumer *c;
	struct consumer_lag *x;
};

static void case_start(struct lag_case *k, const char *name, int n, const char *extra)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->topic, sizeof(k->topic), "test.lag.%s.%s", name, run_id);
	snprintf(k->group, sizeof(k->group), "test-lag-%s-%s", name, run_id);
	produce(k->topic, n, k->produced);
	k->reg = metrics_new();
	k->c = join(k->group, k->topic, extra);
	k->x = consumer_lag_start(k->reg, k->c);
}

/* Polls until the first member holds every partition, marking nothing done (a batch that is
 * not durable yet). */
static void case_take_all(struct lag_case *k)
{
	struct kafka_message m;
	char err[512];
	int64_t deadline = time_mono_ms() + DEADLINE_MS;
	while (kafka_consumer_assigned(k->c) < PARTITIONS) {
		assert_true(time_mono_ms() < deadline);
		if (kafka_consumer_poll(k->c, 100, &m, err, sizeof(err)) == KAFKA_POLL_MESSAGE)
			kafka_message_release(&m);
	}
}

/* Stops the export, then frees the member (NULL when the test did) and the registry. */
static void case_end(struct lag_case *k)
{
	consumer_lag_stop(k->x);
	kafka_consumer_free(k->c);
	metrics_free(k->reg);
}

/* ---- 1. counts what is not done, grows while stuck, falls to 0 ---------------------------- */

static void test_lag_per_partition(void **state)
{
	(void)state;
	struct lag_case k;
	case_start(&k, "counts", 40, NULL);

	/* 15 done and committed: every partition shows what is left of it. */
	assert_int_equal(consume(k.c, 15, k.done, DEADLINE_MS), 15);
	commit(k.c);
	assert_lags(k.reg, k.topic, k.produced, k.done);

	/* Stuck: the consumer polls nothing while 12 more arrive; the gauge follows the broker. */
	produce(k.topic, 12, k.produced);
	assert_lags(k.reg, k.topic, k.produced, k.done);

	/* Polled but not yet done (a batch retrying) still counts; done and committed, not. */
	struct kafka_message m;
	char err[512];
	int64_t deadline = time_mono_ms() + DEADLINE_MS;
	while (kafka_consumer_poll(k.c, 100, &m, err, sizeof(err)) != KAFKA_POLL_MESSAGE)
		assert_true(time_mono_ms() < deadline);
	assert_lags(k.reg, k.topic, k.produced, k.done);
	assert_int_equal(kafka_consumer_done(k.c, &m), 0);
	k.done[m.partition]++;
	kafka_message_release(&m);
	commit(k.c);
	assert_lags(k.reg, k.topic, k.produced, k.done);

	/* Everything done: 0 on every partition. */
	int rest = 0;
	for (int p = 0; p < PARTITIONS; p++)
		rest += (int)(k.produced[p] - k.done[p]);
	assert_int_equal(consume(k.c, rest, k.done, DEADLINE_MS), rest);
	commit(k.c);
	assert_lags(k.reg, k.topic, k.produced, k.done);
	for (int p = 0; p < PARTITIONS; p++)
		assert_true(lag_of(k.reg, k.topic, p, NULL) == 0);
	case_end(&k);
}

/* ---- 2. a revoked partition disappears; nothing after stop ----------------------------- */

struct scraper {
	struct metrics *reg;
	atomic_bool stop;
	atomic_int renders;
};

static void *scrape_loop(void *arg)
{
	struct scraper *s = arg;
	while (!atomic_load(&s->stop)) {
		free(metrics_render(s->reg));
		atomic_fetch_add(&s->renders, 1);
	}
	return NULL;
}

/* Polls both members, marking nothing done, until each holds part of the topic. */
static void wait_split(struct kafka_consumer *a, struct kafka_consumer *b)
{
	struct kafka_message m;
	char err[512];
	int64_t deadline = time_mono_ms() + 2 * DEADLINE_MS;
	while (!(kafka_consumer_assigned(a) > 0 && kafka_consumer_assigned(b) > 0 &&
	         kafka_consumer_assigned(a) + kafka_consumer_assigned(b) == PARTITIONS)) {
		if (time_mono_ms() > deadline)
			fail_msg("the group did not split: %d + %d partitions",
			         kafka_consumer_assigned(a), kafka_consumer_assigned(b));
		if (kafka_consumer_poll(a, 50, &m, err, sizeof(err)) == KAFKA_POLL_MESSAGE)
			kafka_message_release(&m);
		if (kafka_consumer_poll(b, 50, &m, err, sizeof(err)) == KAFKA_POLL_MESSAGE)
			kafka_message_release(&m);
	}
}

static void test_revoked_partitions_disappear(void **state)
{
	(void)state;
	struct lag_case k;
	case_start(&k, "revoke", 20, NULL);
	case_take_all(&k);
	assert_lags(k.reg, k.topic, k.produced, k.done);

	/* A second member joins: the first reports exactly the partitions it kept. */
	struct kafka_consumer *b = join(k.group, k.topic, NULL);
	wait_split(k.c, b);
	int shown = 0, kept = 0;
	for (int p = 0; p < PARTITIONS; p++) {
		double v = lag_of(k.reg, k.topic, p, &shown);
		if (v >= 0) {
			assert_true(v == (double)k.produced[p]);
			kept++;
		}
	}
	assert_int_equal(kept, kafka_consumer_assigned(k.c));
	assert_int_equal(shown, kept);
	assert_true(kept < PARTITIONS);

	/* Stopped while scrapes run on another thread, then the consumer freed: no series, and
	 * no scrape touched the consumer after the stop. */
	struct scraper s = {.reg = k.reg};
	atomic_init(&s.stop, false);
	atomic_init(&s.renders, 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, scrape_loop, &s), 0);
	while (atomic_load(&s.renders) < 1)
		usleep(1000);
	consumer_lag_stop(k.x);
	k.x = NULL;
	kafka_consumer_free(k.c);
	k.c = NULL;
	usleep(200000);
	atomic_store(&s.stop, true);
	pthread_join(t, NULL);
	assert_true(lag_of(k.reg, k.topic, 0, &shown) < 0);
	assert_int_equal(shown, 0);

	kafka_consumer_free(b);
	case_end(&k);
}

/* ---- 3. a consumer stuck past max.poll.interval.ms still reports, and the lag grows ------ */

static void test_stuck_consumer_keeps_reporting(void **state)
{
	(void)state;
	struct lag_case k;
	/* librdkafka's smallest allowed max.poll.interval.ms is session.timeout.ms. */
	case_start(&k, "stuck", 8, LOCAL_EXTRA ",max.poll.interval.ms=6000");
	case_take_all(&k);
	assert_lags(k.reg, k.topic, k.produced, k.done);

	/* Stuck: no poll for longer than the interval, and records keep arriving. librdkafka has
	 * taken the member out of the group; the gauge still shows every partition, grown. */
	sleep(6 + 3);
	assert_int_equal(kafka_consumer_assigned(k.c), 0);
	produce(k.topic, 8, k.produced);
	assert_lags(k.reg, k.topic, k.produced, k.done);
	case_end(&k);
}

int main(void)
{
	snprintf(run_id, sizeof(run_id), "%ld-%" PRId64, (long)getpid(), time_now_ms());
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lag_per_partition),
	        cmocka_unit_test(test_revoked_partitions_disappear),
	        cmocka_unit_test(test_stuck_consumer_keeps_reporting),
	};
	return cmocka_run_group_tests_name("consumer_lag", tests, NULL, NULL);
}
