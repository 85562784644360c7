/*
 * Integration tests of shared/kafka against the local broker program (deploy/local/
 * kafka_broker.c, TEST_KAFKA_BROKERS): keyed produce with delivery reports, a group consuming
 * exactly once and committing, a consumer killed mid-batch replaying exactly what it had not
 * marked done, dead letters with their headers, a lost committed position reported as
 * KAFKA_POLL_RESET, reachability, option errors, interoperability with kcat (the real wire
 * protocol), and the broker program's own control channel and shutdown (TEST_BIN_DIR).
 *
 * Every run uses topics and groups of its own (suffix pid-time); the broker auto-creates the
 * topics on first use (4 partitions). A new group takes about 3 s to form on the local broker,
 * and a group that a member left (or whose member died) about session.timeout.ms more, so
 * waits have deadlines of many seconds and LOCAL_EXTRA keeps the session short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kafka.h"
#include "testenv.h"
#include "timefmt.h"

extern char **environ;

/* The local broker holds an empty fetch for fetch.wait.max.ms, and after a member leaves it
 * completes the group's next join only session.timeout.ms - 1 s later: keep both short. */
#define LOCAL_EXTRA "fetch.wait.max.ms=10,session.timeout.ms=6000,heartbeat.interval.ms=1000"
#define JOIN_DEADLINE_MS 15000

static const char *brokers;
static char run_id[64];

/* A record as a test remembers it after the message is released. */
struct rec {
	char key[64];
	char value[128];
	int32_t partition;
	int64_t offset;
};

/* Sets brokers from TEST_KAFKA_BROKERS, or fails the test. */
static void need_brokers(void)
{
	brokers = testenv_require("TEST_KAFKA_BROKERS",
	                          "run through tests/run.sh, or start build/dev/bin/kafka-broker "
	                          "--bootstrap-file F and export TEST_KAFKA_BROKERS=$(cat F)");
}

/* "test.kafka.<what>.<pid>-<ms>": unique per run, so reruns never see old records. */
static void unique(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "test.kafka.%s.%s", what, run_id);
}

static struct kafka_producer *producer_to(const char *bootstrap, const char *extra)
{
	struct kafka_options opt = {
	        .brokers = bootstrap, .client_id = "test_kafka", .extra = extra};
	char err[512];
	struct kafka_producer *p = kafka_producer_new(&opt, err, sizeof(err));
	if (!p)
		fail_msg("kafka_producer_new: %s", err);
	return p;
}

static struct kafka_producer *producer(void)
{
	need_brokers();
	return producer_to(brokers, LOCAL_EXTRA);
}

static struct kafka_consumer *consumer(const char *group, const char *topic, const char *extra)
{
	need_brokers();
	const char *topics[] = {topic, NULL};
	struct kafka_options opt = {.brokers = brokers,
	                            .client_id = "test_kafka",
	                            .extra = extra ? extra : LOCAL_EXTRA};
	char err[512];
	struct kafka_consumer *c = kafka_consumer_new(&opt, group, topics, err, sizeof(err));
	if (!c)
		fail_msg("kafka_consumer_new: %s", err);
	return c;
}

/* Produces one text record and fails the test unless it is acknowledged. */
static void produce_sync(struct kafka_producer *p, const char *topic, const char *key,
                         const char *value, struct kafka_delivery *out)
{
	char err[256];
	struct kafka_delivery d;
	if (kafka_produce(p, topic, key, key ? strlen(key) : 0, value, strlen(value), NULL, &d, err,
	                  sizeof(err)) != 0)
		fail_msg("kafka_produce: %s", err);
	assert_int_equal(kafka_producer_wait(p, 15000), 0);
	assert_true(d.done);
	if (d.err)
		fail_msg("delivery failed: %s", d.errstr);
	if (out)
		*out = d;
}

static void rec_copy(struct rec *r, const struct kafka_message *m)
{
	snprintf(r->key, sizeof(r->key), "%.*s", (int)m->keylen,
	         m->key ? (const char *)m->key : "");
	snprintf(r->value, sizeof(r->value), "%.*s", (int)m->len,
	         m->value ? (const char *)m->value : "");
	r->partition = m->partition;
	r->offset = m->offset;
}

/*
 * Polls until `want` records arrived or `deadline_ms` passed, copying up to `max` into out
 * and marking each done when `mark_done`. A reset or a consumer error fails the test.
 * Returns the number of records received (which may exceed max; extra ones are not kept).
 */
static int collect(struct kafka_consumer *c, struct rec *out, int max, int want, int deadline_ms,
                   bool mark_done)
{
	int got = 0;
	int64_t deadline = time_mono_ms() + deadline_ms;
	while (got < want && time_mono_ms() < deadline) {
		struct kafka_message m;
		char err[512];
		enum kafka_poll_result r = kafka_consumer_poll(c, 100, &m, err, sizeof(err));
		if (r == KAFKA_POLL_NONE)
			continue;
		if (r == KAFKA_POLL_ERROR) {
			/* Transient errors are the library's to retry; say what they were. */
			print_message("consumer error (continuing): %s\n", err);
			continue;
		}
		if (r == KAFKA_POLL_RESET)
			fail_msg("unexpected offset reset: %s", err);
		if (got < max)
			rec_copy(&out[got], &m);
		got++;
		if (mark_done)
			assert_int_equal(kafka_consumer_done(c, &m), 0);
		kafka_message_release(&m);
	}
	return got;
}

/* ---- 1. keyed produce -------------------------------------------------------------------- */

static void test_produce_keyed(void **state)
{
	(void)state;
	enum { N = 60, KEYS = 6 };
	char topic[128];
	unique(topic, sizeof(topic), "produce");
	struct kafka_producer *p = producer();
	struct kafka_delivery d[N];
	char err[256];
	for (int i = 0; i < N; i++) {
		char key[32], value[32];
		snprintf(key, sizeof(key), "key-%d", i % KEYS);
		snprintf(value, sizeof(value), "value-%d", i);
		const char *headers[] = {"seq", value, NULL};
		if (kafka_produce(p, topic, key, strlen(key), value, strlen(value), headers, &d[i],
		                  err, sizeof(err)) != 0)
			fail_msg("kafka_produce: %s", err);
	}
	assert_true(kafka_producer_outstanding(p) > 0);
	assert_int_equal(kafka_producer_wait(p, 15000), 0);
	assert_int_equal(kafka_producer_outstanding(p), 0);

	int32_t key_partition[KEYS];
	int partitions_used = 0;
	for (int k = 0; k < KEYS; k++)
		key_partition[k] = -1;
	for (int i = 0; i < N; i++) {
		assert_true(d[i].done);
		if (d[i].err)
			fail_msg("record %d: %s", i, d[i].errstr);
		assert_true(d[i].offset >= 0);
		assert_true(d[i].partition >= 0);
		int k = i % KEYS;
		if (key_partition[k] < 0) {
			key_partition[k] = d[i].partition;
		} else if (key_partition[k] != d[i].partition) {
			fail_msg("key-%d went to partitions %d and %d", k, key_partition[k],
			         d[i].partition);
		}
		/* Offsets grow within a partition, one record each. */
		for (int j = 0; j < i; j++)
			if (d[j].partition == d[i].partition)
				assert_true(d[j].offset < d[i].offset);
	}
	for (int k = 0; k < KEYS; k++) {
		bool first = true;
		for (int j = 0; j < k; j++)
			first = first && key_partition[j] != key_partition[k];
		partitions_used += first;
	}
	/* Keys are spread, not all sent to one partition. */
	assert_true(partitions_used > 1);
	kafka_producer_free(p);
}

/* ---- 2. a group consumes exactly once and commits ----------------------------------------- */

static void test_group_exactly_once(void **state)
{
	(void)state;
	enum { N = 40 };
	char topic[128], group[128];
	unique(topic, sizeof(topic), "group");
	unique(group, sizeof(group), "group");
	struct kafka_producer *p = producer();
	for (int i = 0; i < N; i++) {
		char key[32], value[32];
		snprintf(key, sizeof(key), "k%d", i % 5);
		snprintf(value, sizeof(value), "record-%d", i);
		char err[256];
		if (kafka_produce(p, topic, key, strlen(key), value, strlen(value), NULL, NULL, err,
		                  sizeof(err)) != 0)
			fail_msg("kafka_produce: %s", err);
	}
	assert_int_equal(kafka_producer_wait(p, 15000), 0);

	struct kafka_consumer *c1 = consumer(group, topic, NULL);
	struct rec recs[N + 10];
	int got = collect(c1, recs, N + 10, N, 20000, true);
	assert_int_equal(got, N);
	/* Nothing more, and nothing twice. */
	assert_int_equal(collect(c1, recs + N, 10, 1, 1500, true), 0);
	int seen[N] = {0};
	for (int i = 0; i < N; i++) {
		int idx;
		if (sscanf(recs[i].value, "record-%d", &idx) != 1 || idx < 0 || idx >= N)
			fail_msg("unexpected record %s", recs[i].value);
		seen[idx]++;
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	char err[256];
	if (kafka_consumer_commit(c1, err, sizeof(err)) != 0)
		fail_msg("commit: %s", err);
	kafka_consumer_free(c1);

	/* A later member of the group starts after the committed records: it gets only the new
	 * one, which also proves it is consuming at all. */
	produce_sync(p, topic, "k-late", "after-commit", NULL);
	struct kafka_consumer *c2 = consumer(group, topic, NULL);
	struct rec late[N];
	got = collect(c2, late, N, 1, 20000, true);
	assert_int_equal(got, 1);
	assert_string_equal(late[0].value, "after-commit");
	assert_int_equal(collect(c2, late, N, 1, 1500, true), 0);
	/* The only member of the group holds every partition. */
	assert_true(kafka_consumer_assigned(c2) > 1);
	kafka_consumer_free(c2);
	kafka_producer_free(p);
}

/* ---- 3. a crash replays exactly what was not done ----------------------------------------- */

/* The child's ways to fail, reported through its exit status (no cmocka in a child). */
enum child_status {
	CHILD_NO_BROKERS = 9,
	CHILD_NO_CONSUMER,
	CHILD_TIMEOUT,
	CHILD_ORDER,
	CHILD_DONE,
	CHILD_COMMIT
};

/*
 * Consumes 3 of the 5 records, marks 2 done and dies without any cleanup, after either an
 * explicit commit (mode "commit") or only waiting for the background auto-commit (mode
 * "auto"). Runs as `test_kafka --crash-child TOPIC GROUP MODE`.
 */
static _Noreturn void crash_child(const char *topic, const char *group, const char *mode)
{
	if (!brokers)
		_exit(CHILD_NO_BROKERS);
	const char *topics[] = {topic, NULL};
	struct kafka_options opt = {
	        .brokers = brokers, .client_id = "test_kafka_child", .extra = LOCAL_EXTRA};
	char err[512];
	struct kafka_consumer *c = kafka_consumer_new(&opt, group, topics, err, sizeof(err));
	if (!c)
		_exit(CHILD_NO_CONSUMER);
	/* One record at a time, as a service works: r0 and r1 are processed and marked done,
	 * r2 is still being processed when the process dies. */
	struct kafka_message m;
	int64_t deadline = time_mono_ms() + 20000;
	for (int i = 0; i < 3;) {
		if (time_mono_ms() > deadline)
			_exit(CHILD_TIMEOUT);
		if (kafka_consumer_poll(c, 100, &m, err, sizeof(err)) != KAFKA_POLL_MESSAGE)
			continue;
		char want[32];
		snprintf(want, sizeof(want), "r%d", i);
		if (m.len != strlen(want) || memcmp(m.value, want, m.len) != 0)
			_exit(CHILD_ORDER);
		if (++i == 3)
			break;
		if (kafka_consumer_done(c, &m) != 0)
			_exit(CHILD_DONE);
		kafka_message_release(&m);
	}
	if (strcmp(mode, "commit") == 0) {
		if (kafka_consumer_commit(c, err, sizeof(err)) != 0)
			_exit(CHILD_COMMIT);
	} else {
		/* Keep polling (r3 and r4 arrive, unfinished too) past two auto-commit intervals. */
		int64_t until = time_mono_ms() + 2500;
		while (time_mono_ms() < until)
			if (kafka_consumer_poll(c, 100, &m, err, sizeof(err)) == KAFKA_POLL_MESSAGE)
				continue; /* in flight when the process dies; never released */
	}
	raise(SIGKILL);
	_exit(1);
}

static void test_crash_replays_undone(void **state)
{
	(void)state;
	char topic[128], group[128];
	unique(topic, sizeof(topic), "crash");
	unique(group, sizeof(group), "crash");
	struct kafka_producer *p = producer();
	/* One key: one partition, so the child sees r0..r4 in order. */
	for (int i = 0; i < 5; i++) {
		char value[32];
		snprintf(value, sizeof(value), "r%d", i);
		produce_sync(p, topic, "one-key", value, NULL);
	}
	kafka_producer_free(p);

	/* Both children at once: each re-executes this program (see main), so it starts with a
	 * clean librdkafka even if an earlier failed test left handles and threads behind here. */
	static const char *const modes[] = {"commit", "auto"};
	char groups[2][160];
	pid_t pids[2];
	fflush(NULL);
	for (int k = 0; k < 2; k++) {
		snprintf(groups[k], sizeof(groups[k]), "%s.%s", group, modes[k]);
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			char *const argv[] = {"test_kafka",
			                      "--crash-child",
			                      topic,
			                      groups[k],
			                      (char *)(uintptr_t)modes[k],
			                      NULL};
			execv("/proc/self/exe", argv);
			_exit(127);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status;
		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		if (WIFEXITED(status))
			fail_msg("%s child exited with %d before dying (see enum child_status)",
			         modes[k], WEXITSTATUS(status));
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
	}

	/* Each group replays from the first record not done: r2 (polled, unfinished), r3, r4. */
	for (int k = 0; k < 2; k++) {
		struct kafka_consumer *c = consumer(groups[k], topic, NULL);
		struct rec recs[8];
		int got = collect(c, recs, 8, 3, 30000, true);
		got += collect(c, recs + got, 8 - got, 1, 1500, true);
		kafka_consumer_free(c);
		if (got != 3 || strcmp(recs[0].value, "r2") != 0 ||
		    strcmp(recs[1].value, "r3") != 0 || strcmp(recs[2].value, "r4") != 0)
			fail_msg("%s: after the crash the group got %d records, first \"%s\"; want "
			         "r2 r3 r4",
			         modes[k], got, got > 0 ? recs[0].value : "");
	}
}

/* ---- 4. dead letters ----------------------------------------------------------------------- */

static void assert_header(const struct kafka_message *m, const char *name, const char *want)
{
	size_t len;
	const char *v = kafka_message_header(m, name, &len);
	if (!v)
		fail_msg("header %s missing", name);
	if (len != strlen(want) || memcmp(v, want, len) != 0)
		fail_msg("header %s is \"%.*s\", want \"%s\"", name, (int)len, v, want);
}

/* Polls for exactly one record (or fails). The caller releases it. */
static void poll_one(struct kafka_consumer *c, struct kafka_message *m)
{
	int64_t deadline = time_mono_ms() + 20000;
	char err[512];
	for (;;) {
		if (time_mono_ms() > deadline)
			fail_msg("no record within 20 s");
		enum kafka_poll_result r = kafka_consumer_poll(c, 100, m, err, sizeof(err));
		if (r == KAFKA_POLL_MESSAGE)
			return;
		if (r == KAFKA_POLL_RESET)
			fail_msg("unexpected reset: %s", err);
	}
}

static void test_dead_letter(void **state)
{
	(void)state;
	char topic[128], group[128], dlq[160], dlq_group[128];
	unique(topic, sizeof(topic), "dlq");
	unique(group, sizeof(group), "dlq");
	unique(dlq_group, sizeof(dlq_group), "dlq-reader");
	snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
	static const unsigned char bad[] = {'{', '"', 'a', 0x00, 0xff, 0xfe, '\n', '}'};
	struct kafka_producer *p = producer();
	const char *headers[] = {"trace.id", "trace-42", NULL};
	struct kafka_delivery d;
	char err[512];
	if (kafka_produce(p, topic, "dlq-key", 7, bad, sizeof(bad), headers, &d, err,
	                  sizeof(err)) != 0)
		fail_msg("kafka_produce: %s", err);
	assert_int_equal(kafka_producer_wait(p, 15000), 0);
	assert_int_equal(d.err, 0);

	struct kafka_consumer *c = consumer(group, topic, NULL);
	struct kafka_message m;
	poll_one(c, &m);
	int64_t before = time_now_ms();
	const char *reason = "invalid JSON: unexpected byte 0x00 at offset 3";
	if (kafka_dead_letter(p, &m, "test-service", reason, 10000, err, sizeof(err)) != 0)
		fail_msg("kafka_dead_letter: %s", err);
	int64_t after = time_now_ms();
	int32_t orig_partition = m.partition;
	int64_t orig_offset = m.offset;
	assert_int_equal(kafka_consumer_done(c, &m), 0);
	kafka_message_release(&m);
	assert_null(m.internal);
	kafka_consumer_free(c);

	struct kafka_consumer *r = consumer(dlq_group, dlq, NULL);
	poll_one(r, &m);
	assert_string_equal(m.topic, dlq);
	assert_int_equal(m.keylen, 7);
	assert_memory_equal(m.key, "dlq-key", 7);
	assert_int_equal(m.len, sizeof(bad));
	assert_memory_equal(m.value, bad, sizeof(bad));
	char num[32];
	assert_header(&m, "dlq.reason", reason);
	assert_header(&m, "dlq.service", "test-service");
	assert_header(&m, "dlq.topic", topic);
	snprintf(num, sizeof(num), "%" PRId32, orig_partition);
	assert_header(&m, "dlq.partition", num);
	snprintf(num, sizeof(num), "%" PRId64, orig_offset);
	assert_header(&m, "dlq.offset", num);
	assert_header(&m, "trace.id", "trace-42");
	size_t len;
	const char *t = kafka_message_header(&m, "dlq.time", &len);
	assert_non_null(t);
	char ts[40];
	snprintf(ts, sizeof(ts), "%.*s", (int)len, t);
	int64_t when;
	if (rfc3339_parse(ts, &when) != 0)
		fail_msg("dlq.time is not RFC 3339: %s", ts);
	/* Millisecond precision on both sides. */
	assert_true(when >= before - 1 && when <= after + 1);
	assert_null(kafka_message_header(&m, "no.such.header", &len));
	kafka_message_release(&m);
	kafka_consumer_free(r);
	kafka_producer_free(p);
}

/* ---- 5. a lost position is reported, not skipped ------------------------------------------- */

static void test_offset_reset_reported(void **state)
{
	(void)state;
	char topic[128], group[128], fresh_group[128];
	unique(topic, sizeof(topic), "reset");
	unique(group, sizeof(group), "reset");
	unique(fresh_group, sizeof(fresh_group), "reset-fresh");
	struct kafka_producer *p = producer();

	/* The group commits offset 1 of the key's partition... */
	struct kafka_delivery first;
	produce_sync(p, topic, "same", "early", &first);
	assert_int_equal(first.offset, 0);
	struct kafka_consumer *c = consumer(group, topic, NULL);
	struct rec recs[4];
	assert_int_equal(collect(c, recs, 4, 1, 20000, true), 1);
	assert_string_equal(recs[0].value, "early");
	char err[512];
	if (kafka_consumer_commit(c, err, sizeof(err)) != 0)
		fail_msg("commit: %s", err);
	kafka_consumer_free(c);

	/* ...then 8 MiB more on that partition push it out of the broker's ~5 MiB retention. */
	enum { RECORD = 64 * 1024, RECORDS = 128 };
	char *big = calloc(1, RECORD);
	assert_non_null(big);
	for (int i = 0; i < RECORDS; i++) {
		memset(big, 'a' + i % 26, RECORD);
		if (kafka_produce(p, topic, "same", 4, big, RECORD, NULL, NULL, err, sizeof(err)) !=
		    0)
			fail_msg("kafka_produce: %s", err);
	}
	free(big);
	assert_int_equal(kafka_producer_wait(p, 30000), 0);
	kafka_producer_free(p);

	/* The group's next member must hear of the reset before any record after it. */
	c = consumer(group, topic, NULL);
	struct kafka_message m;
	enum kafka_poll_result r = KAFKA_POLL_NONE;
	int64_t deadline = time_mono_ms() + 20000;
	while (r == KAFKA_POLL_NONE || r == KAFKA_POLL_ERROR) {
		if (time_mono_ms() > deadline)
			fail_msg("neither a reset nor a record within 20 s");
		r = kafka_consumer_poll(c, 100, &m, err, sizeof(err));
	}
	if (r == KAFKA_POLL_MESSAGE)
		fail_msg("a record (offset %" PRId64 ") came without a reset report", m.offset);
	assert_int_equal(r, KAFKA_POLL_RESET);
	assert_non_null(strstr(err, topic));
	assert_int_equal(kafka_consumer_resets(c), 1);
	/* Consumption goes on from the earliest record still kept, far past offset 1. */
	assert_true(collect(c, recs, 4, 1, 10000, true) == 1);
	assert_true(recs[0].offset > 1);
	assert_int_equal(kafka_consumer_resets(c), 1);
	kafka_consumer_free(c);

	/* A group that never committed starts at the earliest record: not a reset. */
	c = consumer(fresh_group, topic, NULL);
	assert_int_equal(collect(c, recs, 4, 3, 20000, false), 3);
	assert_int_equal(kafka_consumer_resets(c), 0);
	kafka_consumer_free(c);
}

/* ---- 6. reachability ------------------------------------------------------------------------ */

static void test_reachable(void **state)
{
	(void)state;
	char why[512] = "";
	char topic[128], group[128];
	unique(topic, sizeof(topic), "reach");
	unique(group, sizeof(group), "reach");

	struct kafka_producer *p = producer();
	if (!kafka_producer_reachable(p, 5000, why, sizeof(why)))
		fail_msg("producer: broker not reachable: %s", why);
	kafka_producer_free(p);
	struct kafka_consumer *c = consumer(group, topic, NULL);
	if (!kafka_consumer_reachable(c, 5000, why, sizeof(why)))
		fail_msg("consumer: broker not reachable: %s", why);
	kafka_consumer_free(c);

	/* Nothing listens on port 1: false, within the timeout, with a reason. */
	p = producer_to("127.0.0.1:1", NULL);
	int64_t t0 = time_mono_ms();
	assert_false(kafka_producer_reachable(p, 1500, why, sizeof(why)));
	int64_t took = time_mono_ms() - t0;
	print_message("closed port, producer: %s (%" PRId64 " ms)\n", why, took);
	assert_true(took < 1500 + 500);
	assert_true(strlen(why) > 0);
	kafka_producer_free(p);

	const char *topics[] = {topic, NULL};
	struct kafka_options opt = {.brokers = "127.0.0.1:1", .client_id = "test_kafka"};
	char err[512];
	c = kafka_consumer_new(&opt, group, topics, err, sizeof(err));
	if (!c)
		fail_msg("kafka_consumer_new: %s", err);
	why[0] = '\0';
	t0 = time_mono_ms();
	assert_false(kafka_consumer_reachable(c, 1500, why, sizeof(why)));
	took = time_mono_ms() - t0;
	assert_true(took < 1500 + 500);
	assert_true(strlen(why) > 0);
	kafka_consumer_free(c);
}

/* With no broker to take them, settling gives the records up within the timeout, and every
 * delivery is done (failed) before it returns: a caller may free them right away. A stop flag
 * cuts the wait short. */
static void test_settle_gives_up(void **state)
{
	(void)state;
	struct kafka_delivery d[3];
	char err[256];
	memset(d, 0, sizeof(d));
	struct kafka_producer *p = producer_to("127.0.0.1:1", NULL);
	for (int i = 0; i < 3; i++)
		if (kafka_produce(p, "settle", "k", 1, "v", 1, NULL, &d[i], err, sizeof(err)) < 0)
			fail_msg("kafka_produce: %s", err);
	int64_t t0 = time_mono_ms();
	assert_int_equal(kafka_producer_settle(p, 500, NULL), -1);
	int64_t took = time_mono_ms() - t0;
	assert_true(took >= 450 && took < 5000);
	assert_int_equal(kafka_producer_outstanding(p), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(d[i].done);
		assert_int_not_equal(d[i].err, 0);
	}

	volatile sig_atomic_t stop = 1;
	memset(d, 0, sizeof(d));
	if (kafka_produce(p, "settle", "k", 1, "v", 1, NULL, &d[0], err, sizeof(err)) < 0)
		fail_msg("kafka_produce: %s", err);
	t0 = time_mono_ms();
	assert_int_equal(kafka_producer_settle(p, 60000, &stop), -1);
	assert_true(time_mono_ms() - t0 < 5000);
	assert_true(d[0].done);
	kafka_producer_free(p);
}

/* ---- options -------------------------------------------------------------------------------- */

static void test_options(void **state)
{
	(void)state;
	char err[512];
	struct kafka_options opt = {.brokers = "127.0.0.1:1",
	                            .client_id = "test_kafka",
	                            .extra =
	                                    "linger.ms=2, no.such.property=1,fetch.wait.max.ms=10"};
	assert_null(kafka_producer_new(&opt, err, sizeof(err)));
	assert_non_null(strstr(err, "no.such.property"));

	/* Every bad pair is named, not just the first. */
	opt.extra = "bogus.one=1,linger.ms=notanumber,missing-equals";
	assert_null(kafka_producer_new(&opt, err, sizeof(err)));
	assert_non_null(strstr(err, "bogus.one"));
	assert_non_null(strstr(err, "linger.ms"));
	assert_non_null(strstr(err, "item 3 is not key=value"));

	/* Newline-separated: values may then hold commas. */
	opt.extra = "partition.assignment.strategy=range,roundrobin\nfetch.wait.max.ms=10\n";
	const char *topics[] = {"t", NULL};
	struct kafka_consumer *c = kafka_consumer_new(&opt, "g", topics, err, sizeof(err));
	if (!c)
		fail_msg("newline-separated options: %s", err);
	kafka_consumer_free(c);

	/* The consumer refuses to store offsets before the effect is durable. */
	opt.extra = "enable.auto.offset.store=true";
	assert_null(kafka_consumer_new(&opt, "g", topics, err, sizeof(err)));
	assert_non_null(strstr(err, "enable.auto.offset.store"));

	opt.brokers = NULL;
	opt.extra = NULL;
	assert_null(kafka_producer_new(&opt, err, sizeof(err)));
	kafka_producer_free(NULL);
	kafka_consumer_free(NULL);
}

/* ---- 7. kcat interoperability --------------------------------------------------------------- */

static void test_kcat_interop(void **state)
{
	(void)state;
	need_brokers();
	char topic[128], group[128], cmd[1024];
	unique(topic, sizeof(topic), "kcat-in");
	unique(group, sizeof(group), "kcat-in");

	/* kcat produces, the library consumes. */
	snprintf(cmd, sizeof(cmd), "/usr/bin/kcat -b '%s' -P -t '%s' -k kcat-key", brokers, topic);
	FILE *f = popen(cmd, "w");
	assert_non_null(f);
	fputs("line-1\nline-2\nline-3\n", f);
	assert_int_equal(pclose(f), 0);
	struct kafka_consumer *c = consumer(group, topic, NULL);
	struct rec recs[8];
	int got = collect(c, recs, 8, 3, 20000, true);
	got += collect(c, recs + got, 8 - got, 1, 1000, true);
	assert_int_equal(got, 3);
	for (int i = 0; i < 3; i++) {
		char want[32];
		snprintf(want, sizeof(want), "line-%d", i + 1);
		assert_string_equal(recs[i].key, "kcat-key");
		assert_string_equal(recs[i].value, want);
	}
	kafka_consumer_free(c);

	/* The library produces, kcat consumes. */
	unique(topic, sizeof(topic), "kcat-out");
	struct kafka_producer *p = producer();
	for (int i = 0; i < 3; i++) {
		char key[32], value[32];
		snprintf(key, sizeof(key), "lib-k%d", i);
		snprintf(value, sizeof(value), "lib-v%d", i);
		produce_sync(p, topic, key, value, NULL);
	}
	kafka_producer_free(p);
	snprintf(cmd, sizeof(cmd),
	         "/usr/bin/kcat -b '%s' -C -e -q -o beginning -t '%s' -f '%%k=%%s\\n' "
	         "-X fetch.wait.max.ms=10",
	         brokers, topic);
	f = popen(cmd, "r");
	assert_non_null(f);
	char line[256];
	bool seen[3] = {false, false, false};
	int lines = 0;
	while (fgets(line, sizeof(line), f)) {
		int k, v;
		lines++;
		if (sscanf(line, "lib-k%d=lib-v%d", &k, &v) != 2 || k != v || k < 0 || k > 2)
			fail_msg("kcat read an unexpected line: %s", line);
		seen[k] = true;
	}
	assert_int_equal(pclose(f), 0);
	assert_int_equal(lines, 3);
	assert_true(seen[0] && seen[1] && seen[2]);
}

/* ---- the broker program: control channel and shutdown --------------------------------------- */

static void control(const char *fifo, const char *line)
{
	int fd = open(fifo, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
}

/* The broker this test starts; the teardown stops it even when an assertion failed. */
static struct {
	pid_t pid;
	char dir[32];
	char bootfile[64];
	char fifo[64];
	char out[64];
} own;

static int own_broker_teardown(void **state)
{
	(void)state;
	if (own.pid > 0) {
		kill(own.pid, SIGKILL);
		waitpid(own.pid, NULL, 0);
		own.pid = 0;
	}
	if (*own.dir) {
		unlink(own.bootfile);
		unlink(own.fifo);
		unlink(own.out);
		rmdir(own.dir);
	}
	return 0;
}

/* Reads a whole small file into buf (NUL-terminated); "" when it cannot. */
static void read_small(const char *path, char *buf, size_t size)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_broker_control(void **state)
{
	(void)state;
	const char *bin_dir = testenv_require(
	        "TEST_BIN_DIR", "run through tests/run.sh or export it (e.g. build/dev/bin)");
	char bin[512];
	snprintf(bin, sizeof(bin), "%s/kafka-broker", bin_dir);
	snprintf(own.dir, sizeof(own.dir), "/tmp/test_kafka.XXXXXX");
	assert_non_null(mkdtemp(own.dir));
	snprintf(own.bootfile, sizeof(own.bootfile), "%s/bootstrap", own.dir);
	snprintf(own.fifo, sizeof(own.fifo), "%s/control", own.dir);
	snprintf(own.out, sizeof(own.out), "%s/stdout", own.dir);
	char *argv[] = {bin,          "--brokers", "1",      "--bootstrap-file",
	                own.bootfile, "--control", own.fifo, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, own.out, O_WRONLY | O_CREAT | O_TRUNC,
	                                 0600);
	int rc = posix_spawn(&own.pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		own.pid = 0;
		fail_msg("cannot start %s: %s", bin, strerror(rc));
	}

	/* Ready: the bootstrap file appears whole, and one JSON line on stdout names it. */
	char boot[256] = "";
	for (int i = 0; i < 100 && !*boot; i++) {
		read_small(own.bootfile, boot, sizeof(boot));
		if (!*boot)
			usleep(100 * 1000);
	}
	if (!*boot)
		fail_msg("the broker wrote no bootstrap file");
	assert_int_equal(boot[strlen(boot) - 1], '\n');
	boot[strcspn(boot, "\n")] = '\0';
	char out[4096], want[320];
	read_small(own.out, out, sizeof(out));
	snprintf(want, sizeof(want), "\"msg\":\"ready\",\"bootstrap\":\"%s\"", boot);
	if (!strstr(out, want) || !strstr(out, "\"service\":\"kafka-broker\""))
		fail_msg("no ready line naming %s on stdout: %s", boot, out);

	/* "down 1" refuses connections, "up 1" accepts them again. */
	struct kafka_producer *p = producer_to(boot, "reconnect.backoff.max.ms=200");
	char why[512];
	if (!kafka_producer_reachable(p, 5000, why, sizeof(why)))
		fail_msg("own broker not reachable: %s", why);
	control(own.fifo, "down 1\n");
	usleep(200 * 1000);
	assert_false(kafka_producer_reachable(p, 1500, why, sizeof(why)));
	control(own.fifo, "up 1\n");
	if (!kafka_producer_reachable(p, 5000, why, sizeof(why)))
		fail_msg("broker not back after \"up 1\": %s", why);
	kafka_producer_free(p);

	/* SIGTERM: exit 0, and the files it made are gone. */
	assert_int_equal(kill(own.pid, SIGTERM), 0);
	int status;
	assert_int_equal(waitpid(own.pid, &status, 0), own.pid);
	own.pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	struct stat st;
	assert_int_equal(stat(own.bootfile, &st), -1);
	assert_int_equal(stat(own.fifo, &st), -1);
	read_small(own.out, out, sizeof(out));
	assert_non_null(strstr(out, "\"broker\":1,\"state\":\"down\""));
	assert_non_null(strstr(out, "\"broker\":1,\"state\":\"up\""));
	assert_non_null(strstr(out, "\"msg\":\"stopping\""));
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--crash-child") == 0) {
		/* Outside cmocka: a child without brokers exits with a status of its own. */
		brokers = getenv("TEST_KAFKA_BROKERS");
		crash_child(argv[2], argv[3], argv[4]);
	}
	snprintf(run_id, sizeof(run_id), "%ld-%" PRId64, (long)getpid(), time_now_ms());
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_options),
	        cmocka_unit_test(test_produce_keyed),
	        cmocka_unit_test(test_group_exactly_once),
	        cmocka_unit_test(test_crash_replays_undone),
	        cmocka_unit_test(test_dead_letter),
	        cmocka_unit_test(test_offset_reset_reported),
	        cmocka_unit_test(test_reachable),
	        cmocka_unit_test(test_settle_gives_up),
	        cmocka_unit_test(test_kcat_interop),
	        cmocka_unit_test_teardown(test_broker_control, own_broker_teardown),
	};
	return cmocka_run_group_tests_name("kafka", tests, NULL, NULL);
}
