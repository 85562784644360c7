/*
 * The collector as a process, against real PostgreSQL and the local Kafka broker: the ingest
 * API with good and bad inputs (each bad input gets its 4xx naming the problem, and nothing is
 * written), duplicates, the outbox publishing each accepted message once to the raw topic,
 * messages accepted while Kafka is unreachable published after a kill -9 and a restart, the
 * replay command, /metrics accepted by promtool, and SIGTERM.
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
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "http_client.h"
#include "kafka.h"
#include "promtool.h"
#include "support.h"
#include "testdb.h"
#include "testenv.h"
#include "testproc.h"
#include "timefmt.h"
#include "xalloc.h"

#define TOKEN_A "tok-a-0123456789"
#define TOKEN_B "tok-b-9876543210"

static const char *bin_dir, *brokers, *db_url, *work_dir;
static char topic[64], port_env[32], topic_env[96], db_env[512], brokers_env[512];
static int port;
static struct testproc collector;
static struct db *db;

static void start_collector(const char *kafka)
{
	char path[512], log[512];
	snprintf(path, sizeof(path), "%s/collector", bin_dir);
	snprintf(log, sizeof(log), "%s/collector-api.log", work_dir);
	snprintf(brokers_env, sizeof(brokers_env), "KAFKA_BROKERS=%s", kafka);
	const char *env[] = {port_env,
	                     db_env,
	                     brokers_env,
	                     topic_env,
	                     "KAFKA_OPTIONS=fetch.wait.max.ms=10,message.timeout.ms=3000",
	                     "INGEST_TOKENS=" TOKEN_A "=http|partner.tuva," TOKEN_B "=partner.tuva",
	                     "INGEST_SOURCES=http,partner.tuva",
	                     "INGEST_MAX_ITEMS=5",
	                     "HTTP_MAX_BODY=65536",
	                     NULL};
	testproc_start(&collector, path, NULL, env, log);
}

static int setup_group(void **state)
{
	(void)state;
	bin_dir = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	brokers = testenv_require("TEST_KAFKA_BROKERS", "run through tests/run.sh");
	work_dir = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	db_url = testdb_url();
	port = testenv_free_port();
	snprintf(port_env, sizeof(port_env), "HTTP_PORT=%d", port);
	snprintf(topic, sizeof(topic), "raw.api.%d.%ld", (int)getpid(), (long)time(NULL));
	snprintf(topic_env, sizeof(topic_env), "RAW_TOPIC=%s", topic);
	snprintf(db_env, sizeof(db_env), "DATABASE_URL=%s", db_url);
	start_collector(brokers);
	testproc_wait_http(&collector, port, "/readyz", 30000);
	db = support_db_connect();
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	testproc_stop(&collector, SIGKILL, 1000);
	db_free(db);
	return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static long post(const char *token, const char *content_type, const char *body, size_t len,
                 json_t **out)
{
	char url[128], auth[128], ctype[128], err[256];
	const char *headers[3] = {NULL, NULL, NULL};
	int h = 0;
	struct http_client_response r;
	struct http_client *c = http_client_new();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/messages", port);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[h++] = auth;
	}
	if (content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
		headers[h++] = ctype;
	}
	if (http_client_request(c, "POST", url, headers, body, len, &r, err, sizeof(err)) < 0)
		fail_msg("POST: %s", err);
	long status = r.status;
	json_error_t je;
	json_t *doc = json_loads(r.body, 0, &je);
	if (!doc)
		fail_msg("status %ld, body is not JSON: %s", status, r.body);
	if (out)
		*out = doc;
	else
		json_decref(doc);
	http_client_response_clear(&r);
	http_client_free(c);
	return status;
}

static long post_json(const char *body, json_t **out)
{
	return post(TOKEN_A, "application/json", body, strlen(body), out);
}

/* Consumes the raw topic from the beginning in a fresh group until `want` records arrived
 * (then 1.5 s more, to catch a doubled one) or ms passed. Returns {key: count}. */
static json_t *consume_keys_from(const char *bootstrap, int want, int ms)
{
	static int groups;
	char group[96], err[256];
	const char *topics[] = {topic, NULL};
	struct kafka_options ko = {bootstrap, "test-api", "fetch.wait.max.ms=10"};
	json_t *keys = json_object();
	int got = 0;

	snprintf(group, sizeof(group), "test-api-%d-%d", (int)getpid(), ++groups);
	struct kafka_consumer *kc = kafka_consumer_new(&ko, group, topics, err, sizeof(err));
	if (!kc)
		fail_msg("consumer: %s", err);
	int64_t deadline = time_mono_ms() + ms;
	while (time_mono_ms() < deadline) {
		struct kafka_message m;
		enum kafka_poll_result r = kafka_consumer_poll(kc, 100, &m, err, sizeof(err));
		if (r != KAFKA_POLL_MESSAGE)
			continue;
		char *key = xstrndup(m.key ? m.key : "", m.keylen);
		json_t *v = json_object_get(keys, key);
		json_object_set_new(keys, key, json_integer(v ? json_integer_value(v) + 1 : 1));
		free(key);
		kafka_message_release(&m);
		if (++got == want) {
			int64_t more = time_mono_ms() + 1500;
			deadline = more < deadline ? more : deadline;
		}
	}
	kafka_consumer_free(kc);
	return keys;
}

static json_t *consume_keys(int want, int ms)
{
	return consume_keys_from(brokers, want, ms);
}

static long key_count(json_t *keys, const char *key)
{
	json_t *v = json_object_get(keys, key);
	return v ? (long)json_integer_value(v) : 0;
}

static const char *item_field(json_t *doc, size_t i, const char *name)
{
	json_t *v = json_object_get(json_array_get(json_object_get(doc, "items"), i), name);
	return json_is_string(v) ? json_string_value(v) : "";
}

#define GOOD(ext, text)                                                                            \
	"{\"source\":\"http\",\"external_id\":\"" ext "\",\"text\":\"" text "\","                  \
	"\"posted_at\":\"2026-11-28T13:15:00+07:00\"}"

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_single_message_accepted_and_published(void **state)
{
	json_t *doc;
	(void)state;

	assert_int_equal(post_json("{\"source\":\"http\",\"external_id\":\"one\",\"text\":"
	                           "\"<p>Нет отопления,&nbsp;ул. Ленина 45</p>\",\"posted_at\":"
	                           "\"2026-11-28T13:15:00+07:00\",\"author\":{\"name\":\"Ирина\"},"
	                           "\"location\":{\"lat\":53.72,\"lon\":91.44}}",
	                           &doc),
	                 202);
	assert_int_equal(json_integer_value(json_object_get(doc, "accepted")), 1);
	assert_string_equal(item_field(doc, 0, "status"), "accepted");
	assert_string_equal(item_field(doc, 0, "id"), "http:one");
	json_decref(doc);

	char err[256];
	PGresult *res = db_exec(db,
	                        "SELECT record->>'text', record->>'posted_at', record->>'schema'"
	                        " FROM collector.messages WHERE id = 'http:one'",
	                        0, NULL, err, sizeof(err));
	assert_non_null(res);
	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 0), "Нет отопления, ул. Ленина 45");
	assert_string_equal(PQgetvalue(res, 0, 1), "2026-11-28T06:15:00.000Z");
	assert_string_equal(PQgetvalue(res, 0, 2), "message.v1");
	PQclear(res);

	json_t *keys = consume_keys(1, 15000);
	assert_int_equal(key_count(keys, "http:one"), 1);
	json_decref(keys);
}

static void test_batch_bad_items_do_not_take_good_ones_down(void **state)
{
	json_t *doc;
	(void)state;
	char *big = xmalloc(20001 * 2 + 1);
	for (int i = 0; i < 20001; i++)
		memcpy(big + i * 2, "ж", 2);
	big[20001 * 2] = '\0';
	char *body = xasprintf(
	        "[" GOOD("b1", "Яма на дороге") ","
	                                        "{\"source\":\"http\",\"external_id\":\"b2\","
	                                        "\"posted_at\":\"2026-11-28T10:00:00Z\"},"
	                                        "{\"source\":\"http\",\"external_id\":\"b3\","
	                                        "\"text\":\"x\",\"posted_at\":\"вчера\"},"
	                                        "{\"source\":\"nowhere\",\"external_id\":\"b4\","
	                                        "\"text\":\"x\",\"posted_at\":"
	                                        "\"2026-11-28T10:00:00Z\"},"
	                                        "{\"source\":\"http\",\"external_id\":\"b5\","
	                                        "\"text\":\"%s\",\"posted_at\":"
	                                        "\"2026-11-28T10:00:00Z\"}]",
	        big);
	assert_int_equal(post_json(body, &doc), 202);
	assert_int_equal(json_integer_value(json_object_get(doc, "accepted")), 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "rejected")), 4);
	assert_string_equal(item_field(doc, 0, "status"), "accepted");
	assert_string_equal(item_field(doc, 1, "field"), "text");
	assert_string_equal(item_field(doc, 1, "message"), "is required");
	assert_string_equal(item_field(doc, 2, "field"), "posted_at");
	assert_string_equal(item_field(doc, 3, "field"), "source");
	assert_non_null(strstr(item_field(doc, 3, "message"), "unknown source"));
	assert_string_equal(item_field(doc, 4, "field"), "text");
	assert_non_null(strstr(item_field(doc, 4, "message"), "at most 20000"));
	json_decref(doc);
	assert_int_equal(support_count_messages(db, "http:b%"), 1);
	free(body);
	free(big);
}

static void test_ndjson_bad_line_alone_rejected(void **state)
{
	json_t *doc;
	(void)state;
	const char *body =
	        GOOD("n1", "Мусор не вывозят") "\n"
	                                       "{\"source\":\"http\",\"external_id\":\"n2\"\n"
	                                       "\n" GOOD("n3", "Автобус не пришёл") "\n";
	assert_int_equal(
	        post(TOKEN_A, "application/x-ndjson; charset=utf-8", body, strlen(body), &doc),
	        202);
	assert_int_equal(json_integer_value(json_object_get(doc, "accepted")), 2);
	assert_string_equal(item_field(doc, 1, "status"), "rejected");
	assert_string_equal(item_field(doc, 1, "error"), "invalid_json");
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(json_object_get(doc, "items"), 1), "line")),
	                 2);
	json_decref(doc);
	assert_int_equal(support_count_messages(db, "http:n%"), 2);
}

static void test_duplicate_reported_and_stored_once(void **state)
{
	json_t *doc;
	(void)state;
	assert_int_equal(post_json(GOOD("dup", "Нет воды"), &doc), 202);
	assert_string_equal(item_field(doc, 0, "status"), "accepted");
	json_decref(doc);
	assert_int_equal(post_json(GOOD("dup", "Нет воды"), &doc), 202);
	assert_string_equal(item_field(doc, 0, "status"), "duplicate");
	assert_string_equal(item_field(doc, 0, "id"), "http:dup");
	json_decref(doc);
	/* Twice inside one request: the second is a duplicate of the first. */
	assert_int_equal(post_json("[" GOOD("dup2", "a") "," GOOD("dup2", "a") "]", &doc), 202);
	assert_string_equal(item_field(doc, 0, "status"), "accepted");
	assert_string_equal(item_field(doc, 1, "status"), "duplicate");
	json_decref(doc);
	assert_int_equal(support_count_messages(db, "http:dup"), 1);
	assert_int_equal(support_count_messages(db, "http:dup2"), 1);

	json_t *keys = consume_keys(0, 6000);
	assert_int_equal(key_count(keys, "http:dup"), 1);
	assert_int_equal(key_count(keys, "http:dup2"), 1);
	json_decref(keys);
}

static void expect_refused(const char *token, const char *ctype, const char *body, size_t len,
                           long status, const char *error, const char *msg_part)
{
	json_t *doc;
	long before = support_count_messages(db, "%");
	long got = post(token, ctype, body, len, &doc);
	if (got != status)
		fail_msg("want %ld, got %ld: %s", status, got, json_dumps(doc, 0));
	const char *e = json_string_value(json_object_get(doc, "error"));
	assert_non_null(e);
	assert_string_equal(e, error);
	if (msg_part) {
		const char *m = json_string_value(json_object_get(doc, "message"));
		assert_non_null(m);
		if (!strstr(m, msg_part))
			fail_msg("message \"%s\" lacks \"%s\"", m, msg_part);
	}
	json_decref(doc);
	assert_int_equal(support_count_messages(db, "%"), before);
}

static void test_refusals_name_the_problem_and_write_nothing(void **state)
{
	(void)state;
	const char *good = GOOD("r1", "текст");
	const char *json = "application/json";

	expect_refused(NULL, json, good, strlen(good), 401, "unauthorized", "Bearer");
	expect_refused("wrong", json, good, strlen(good), 401, "unauthorized", "unknown token");
	expect_refused(TOKEN_B, json, good, strlen(good), 403, "forbidden", "\"http\"");
	expect_refused(TOKEN_A, "text/plain", good, strlen(good), 415, "unsupported_media_type",
	               "application/json");
	expect_refused(TOKEN_A, json, "", 0, 400, "invalid_request", "empty");
	expect_refused(TOKEN_A, json, "{\"source\":", 10, 400, "invalid_json", "line 1");
	expect_refused(TOKEN_A, json, "{\"text\":\"\xff\xfe\"}", 14, 400, "invalid_json", NULL);
	expect_refused(TOKEN_A, json, "[]", 2, 400, "invalid_request", "no messages");
	const char *six = "[" GOOD("s1", "a") "," GOOD("s2", "a") "," GOOD("s3", "a") "," GOOD(
	        "s4", "a") "," GOOD("s5", "a") "," GOOD("s6", "a") "]";
	expect_refused(TOKEN_A, json, six, strlen(six), 413, "too_many_items", "at most 5");
	char *huge = xmalloc(70000);
	memset(huge, ' ', 70000);
	huge[0] = '[';
	huge[69999] = ']';
	expect_refused(TOKEN_A, json, huge, 70000, 413, "body_too_large", NULL);
	free(huge);

	/* Every item rejected: 400 with the per-item reasons, nothing stored. */
	json_t *doc;
	long before = support_count_messages(db, "%");
	assert_int_equal(
	        post_json("{\"source\":\"http\",\"external_id\":\"r2\",\"text\":\"x\"}", &doc),
	        400);
	assert_string_equal(item_field(doc, 0, "field"), "posted_at");
	json_decref(doc);
	assert_int_equal(support_count_messages(db, "%"), before);
}

static void test_metrics_and_readiness(void **state)
{
	char url[128], err[256];
	struct http_client_response r;
	(void)state;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	assert_int_equal(http_get(url, &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(promtool_check(r.body, r.body_len, NULL, 0), 0);
	assert_non_null(
	        strstr(r.body, "collector_messages_total{source=\"http\",outcome=\"accepted\"}"));
	assert_non_null(
	        strstr(r.body, "collector_rejected_total{source=\"http\",field=\"posted_at\"}"));
	assert_non_null(strstr(r.body, "collector_outbox_backlog"));
	assert_non_null(strstr(r.body, "im_messages_processed_total"));
	http_client_response_clear(&r);
}

/* Accepted while Kafka is unreachable, killed before any publish, published once after the
 * restart: the outbox's promise. */
static void test_kill_between_commit_and_publish(void **state)
{
	json_t *doc;
	(void)state;

	assert_int_equal(testproc_stop(&collector, SIGTERM, 15000), 0);
	start_collector("127.0.0.1:1");
	/* Not ready (Kafka unreachable), but the API takes messages: they are durable. */
	testproc_wait_http(&collector, port, "/healthz", 20000);
	assert_int_equal(
	        post_json("[" GOOD("k1", "Прорвало трубу") "," GOOD("k2", "Нет света") "]", &doc),
	        202);
	json_decref(doc);
	char err[256];
	PGresult *res = db_exec(db,
	                        "SELECT count(*) FROM collector.messages WHERE id IN ('http:k1',"
	                        " 'http:k2') AND published_revision = 0",
	                        0, NULL, err, sizeof(err));
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "2");
	PQclear(res);
	assert_int_equal(testproc_stop(&collector, SIGKILL, 5000), -SIGKILL);

	start_collector(brokers);
	testproc_wait_http(&collector, port, "/readyz", 30000);
	json_t *keys = consume_keys(0, 8000);
	assert_int_equal(key_count(keys, "http:k1"), 1);
	assert_int_equal(key_count(keys, "http:k2"), 1);
	assert_int_equal(key_count(keys, "http:one"), 1); /* published before: not again */
	json_decref(keys);
	res = db_exec(db,
	              "SELECT count(*) FROM collector.messages WHERE published_revision < revision",
	              0, NULL, err, sizeof(err));
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "0");
	PQclear(res);
}

static long unpublished(const char *id_like)
{
	return support_query_long(db,
	                          "SELECT count(*) FROM collector.messages"
	                          " WHERE id LIKE $1 AND published_revision < revision",
	                          id_like);
}

static void broker_control(const char *fifo, const char *line)
{
	FILE *f = fopen(fifo, "w");
	if (!f)
		fail_msg("cannot open the broker's control FIFO %s", fifo);
	fprintf(f, "%s\n", line);
	fclose(f);
}

/* Kafka goes away mid-run: messages accepted meanwhile wait in the outbox and go out once it
 * is back, each exactly once, together with what was published before the outage. */
static void test_broker_outage(void **state)
{
	char path[512], bootstrap_file[512], fifo[512], log[512], topic_arg[96];
	struct testproc broker;
	json_t *doc;
	(void)state;

	snprintf(path, sizeof(path), "%s/kafka-broker", bin_dir);
	snprintf(bootstrap_file, sizeof(bootstrap_file), "%s/outage.bootstrap", work_dir);
	snprintf(fifo, sizeof(fifo), "%s/outage.fifo", work_dir);
	snprintf(log, sizeof(log), "%s/outage-broker.log", work_dir);
	snprintf(topic_arg, sizeof(topic_arg), "%s", topic);
	char *argv[] = {path,
	                "--brokers",
	                "3",
	                "--partitions",
	                "2",
	                "--topic",
	                topic_arg,
	                "--bootstrap-file",
	                bootstrap_file,
	                "--control",
	                fifo,
	                NULL};
	unlink(bootstrap_file);
	testproc_start(&broker, path, argv, NULL, log);
	char bootstrap[512] = "";
	for (int i = 0; i < 100 && !bootstrap[0]; i++) {
		FILE *f = fopen(bootstrap_file, "r");
		if (f) {
			if (!fgets(bootstrap, sizeof(bootstrap), f))
				bootstrap[0] = '\0';
			fclose(f);
		}
		usleep(100 * 1000);
	}
	assert_true(bootstrap[0]);
	bootstrap[strcspn(bootstrap, "\n")] = '\0';

	assert_int_equal(testproc_stop(&collector, SIGTERM, 15000), 0);
	start_collector(bootstrap);
	testproc_wait_http(&collector, port, "/readyz", 30000);
	assert_int_equal(
	        post_json("[" GOOD("o1", "До аварии 1") "," GOOD("o2", "До аварии 2") "]", &doc),
	        202);
	json_decref(doc);
	for (int i = 0; i < 100 && unpublished("http:o%") > 0; i++)
		usleep(100 * 1000);
	assert_int_equal(unpublished("http:o%"), 0);

	broker_control(fifo, "down -1");
	assert_int_equal(
	        post_json("[" GOOD("o3", "Во время аварии 3") "," GOOD(
	                          "o4", "Во время аварии 4") "," GOOD("o5", "Во время 5") "]",
	                  &doc),
	        202);
	json_decref(doc);
	sleep(4);
	assert_int_equal(unpublished("http:o%"), 3); /* durable, waiting */

	broker_control(fifo, "up -1");
	for (int i = 0; i < 300 && unpublished("http:o%") > 0; i++)
		usleep(100 * 1000);
	assert_int_equal(unpublished("http:o%"), 0);

	json_t *keys = consume_keys_from(bootstrap, 5, 20000);
	for (int i = 1; i <= 5; i++) {
		char key[32];
		snprintf(key, sizeof(key), "http:o%d", i);
		if (key_count(keys, key) != 1)
			fail_msg("%s published %ld times", key, key_count(keys, key));
	}
	json_decref(keys);

	/* Back to the shared broker for the tests that follow. */
	assert_int_equal(testproc_stop(&collector, SIGTERM, 15000), 0);
	assert_int_equal(testproc_stop(&broker, SIGTERM, 10000), 0);
	start_collector(brokers);
	testproc_wait_http(&collector, port, "/readyz", 30000);
}

static void test_replay_file(void **state)
{
	char path[512], cmd[1536], out[512] = "";
	(void)state;

	snprintf(path, sizeof(path), "%s/replay.ndjson", work_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"source\":\"archive\",\"external_id\":\"a1\",\"text\":\"Старая жалоба на яму\","
	      "\"posted_at\":\"2025-01-10T09:00:00Z\"}\n"
	      "\n"
	      "{\"source\":\"archive\",\"external_id\":\"a2\",\"text\":\"\",\"posted_at\":"
	      "\"2025-01-10T09:00:00Z\"}\n"
	      "not json\n"
	      "{\"source\":\"archive\",\"external_id\":\"a3\",\"text\":\"Ещё одна\",\"posted_at\":"
	      "\"2025-01-11T09:00:00Z\"}\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	         "DATABASE_URL='%s' KAFKA_BROKERS='%s' RAW_TOPIC='%s' %s/collector replay %s "
	         "2>>%s/replay.log",
	         db_url, brokers, topic, bin_dir, path, work_dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	assert_int_equal(WEXITSTATUS(status), 1); /* some lines were rejected */
	json_t *summary = json_loads(out, 0, NULL);
	if (!summary)
		fail_msg("replay printed: %s", out);
	assert_int_equal(json_integer_value(json_object_get(summary, "read")), 4);
	assert_int_equal(json_integer_value(json_object_get(summary, "accepted")), 2);
	assert_int_equal(json_integer_value(json_object_get(summary, "rejected")), 2);
	assert_true(json_integer_value(json_object_get(summary, "published")) >= 2);
	json_decref(summary);
	assert_int_equal(support_count_messages(db, "archive:%"), 2);
	json_t *keys = consume_keys(0, 6000);
	assert_int_equal(key_count(keys, "archive:a1"), 1);
	assert_int_equal(key_count(keys, "archive:a3"), 1);
	json_decref(keys);
}

static void test_sigterm_exits_zero(void **state)
{
	(void)state;
	assert_int_equal(testproc_stop(&collector, SIGTERM, 15000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_single_message_accepted_and_published),
	        cmocka_unit_test(test_batch_bad_items_do_not_take_good_ones_down),
	        cmocka_unit_test(test_ndjson_bad_line_alone_rejected),
	        cmocka_unit_test(test_duplicate_reported_and_stored_once),
	        cmocka_unit_test(test_refusals_name_the_problem_and_write_nothing),
	        cmocka_unit_test(test_metrics_and_readiness),
	        cmocka_unit_test(test_kill_between_commit_and_publish),
	        cmocka_unit_test(test_broker_outage),
	        cmocka_unit_test(test_replay_file),
	        cmocka_unit_test(test_sigterm_exits_zero),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
