/*
 * The notifier as a process, against the local broker, PostgreSQL, aiosmtpd and the HTTP
 * stand-ins (support.h): incident_event.v1 records produced to its topic (encoded by the
 * shared codec) become e-mails, Telegram messages, signed webhooks and published answers with
 * their links; a replayed event sends nothing new; SMTP 4xx and 5xx, webhook 5xx and Telegram
 * 429 take their paths to sent or dead (with a dead letter); the operator API lists, filters
 * and retries behind its token; /metrics passes promtool; kill -9 during a stalled webhook
 * costs exactly one more attempt of that delivery and loses nothing; SIGTERM during one exits 0
 * promptly and gives the attempt back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "http_client.h"
#include "incident_event.h"
#include "kafka.h"
#include "promtool.h"
#include "support.h"
#include "testdb.h"
#include "testenv.h"
#include "testproc.h"
#include "testtopic.h"
#include "timefmt.h"

#define SECRET "service-test-secret"
#define TOKEN "operator-test-token"

static const char *brokers;
static char topic[64], dlq_topic[80], bin[512], logpath[512];
static int port;
static struct testproc proc;
static struct remote *remote;
static struct smtp_server smtp;
static struct db *db;
static char env[24][600];
static const char *envp[25];

static void start_notifier(void)
{
	testproc_start(&proc, bin, NULL, envp, logpath);
	testproc_wait_http(&proc, port, "/readyz", 30000);
}

static int setup_group(void **state)
{
	char err[256];
	(void)state;
	const char *bindir = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	const char *work = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	brokers = testenv_require("TEST_KAFKA_BROKERS", "run through tests/run.sh");
	port = testenv_free_port();
	snprintf(topic, sizeof(topic), "events.ntf.%d.%ld", (int)getpid(), (long)time(NULL));
	snprintf(dlq_topic, sizeof(dlq_topic), "%s.dlq", topic);
	snprintf(bin, sizeof(bin), "%s/notifier", bindir);
	snprintf(logpath, sizeof(logpath), "%s/notifier-service.log", work);
	remote = remote_start(SECRET);
	smtp_start(&smtp, "service-smtp", NULL);

	int n = 0;
	snprintf(env[n++], sizeof(env[0]), "HTTP_PORT=%d", port);
	snprintf(env[n++], sizeof(env[0]), "DATABASE_URL=%s", testdb_url());
	snprintf(env[n++], sizeof(env[0]), "KAFKA_BROKERS=%s", brokers);
	snprintf(env[n++], sizeof(env[0]), "%s",
	         "KAFKA_OPTIONS=fetch.wait.max.ms=10,session.timeout.ms=6000,"
	         "heartbeat.interval.ms=1000");
	snprintf(env[n++], sizeof(env[0]), "INPUT_TOPIC=%s", topic);
	snprintf(env[n++], sizeof(env[0]), "DEAD_LETTER_TOPIC=%s", dlq_topic);
	snprintf(env[n++], sizeof(env[0]), "SMTP_URL=smtp://127.0.0.1:%d", smtp.port);
	snprintf(env[n++], sizeof(env[0]), "SMTP_FROM=otklik@khakassia.example");
	snprintf(env[n++], sizeof(env[0]), "TELEGRAM_API_URL=%s/telegram", remote_base(remote));
	snprintf(env[n++], sizeof(env[0]), "TELEGRAM_BOT_TOKEN=42:bot");
	snprintf(env[n++], sizeof(env[0]), "VK_API_URL=%s/vk", remote_base(remote));
	snprintf(env[n++], sizeof(env[0]), "VK_ACCESS_TOKEN=vk-community-token");
	snprintf(env[n++], sizeof(env[0]), "WEBHOOK_SECRET=%s", SECRET);
	snprintf(env[n++], sizeof(env[0]), "OPERATOR_TOKENS=other,%s", TOKEN);
	snprintf(env[n++], sizeof(env[0]), "RETRY_BASE=200ms");
	snprintf(env[n++], sizeof(env[0]), "RETRY_MAX=1s");
	snprintf(env[n++], sizeof(env[0]), "DELIVERY_MAX_ATTEMPTS=3");
	snprintf(env[n++], sizeof(env[0]), "DELIVERY_TIMEOUT=10s");
	snprintf(env[n++], sizeof(env[0]), "DELIVERY_LEASE=12s");
	snprintf(env[n++], sizeof(env[0]), "DELIVERY_POLL=100ms");
	snprintf(env[n++], sizeof(env[0]), "VK_RATE=1");
	/* One thread per channel group: a stalled webhook must not hold up mail or chats. */
	snprintf(env[n++], sizeof(env[0]), "DELIVERY_WORKERS=1");
	for (int i = 0; i < n; i++)
		envp[i] = env[i];
	envp[n] = NULL;
	start_notifier();
	db = db_connect(testdb_url(), 10000, NULL, err, sizeof(err));
	if (!db)
		fail_msg("%s", err);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	testproc_stop(&proc, SIGKILL, 1000);
	remote_stop(remote);
	smtp_stop(&smtp);
	db_free(db);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void produce(json_t *const *events, size_t n)
{
	char err[256];
	struct kafka_options ko = {brokers, "test", NULL};
	struct kafka_producer *p = kafka_producer_new(&ko, err, sizeof(err));
	struct kafka_delivery d[16];
	assert_non_null(p);
	assert_true(n <= 16);
	memset(d, 0, sizeof(d));
	for (size_t i = 0; i < n; i++) {
		char key[24], *value;
		struct incident_event ev = {0};
		struct field_error fe;
		if (json_is_string(events[i])) {
			value = strdup(json_string_value(events[i]));
			snprintf(key, sizeof(key), "bad");
		} else {
			/* Through the shared codec, as the assigner publishes. */
			if (incident_event_decode(events[i], &ev, &fe) < 0)
				fail_msg("test event does not decode: %s: %s", fe.field,
				         fe.message);
			json_t *enc = incident_event_encode(&ev);
			value = json_dumps(enc, JSON_COMPACT);
			json_decref(enc);
			snprintf(key, sizeof(key), "%lld", (long long)ev.incident_id);
			incident_event_clear(&ev);
		}
		assert_int_equal(kafka_produce(p, topic, key, strlen(key), value, strlen(value),
		                               NULL, &d[i], err, sizeof(err)),
		                 0);
		free(value);
	}
	assert_int_equal(kafka_producer_wait(p, 10000), 0);
	kafka_producer_free(p);
}

static void produce_one(json_t *event)
{
	produce(&event, 1);
	json_decref(event);
}

static char *query(const char *sql)
{
	char err[256];
	PGresult *res = db_exec(db, sql, 0, NULL, err, sizeof(err));
	if (!res)
		return strdup("");
	char *v = strdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return v;
}

/* Polls `sql` until it returns `want`; fails after ms. */
static void wait_for(const char *sql, const char *want, int ms)
{
	int64_t deadline = time_mono_ms() + ms;
	char *got = NULL;
	for (;;) {
		free(got);
		got = query(sql);
		if (strcmp(got, want) == 0)
			break;
		if (time_mono_ms() > deadline) {
			testproc_print_log(&proc, 30);
			fail_msg("waited %d ms for [%s] = %s, last %s", ms, sql, want, got);
		}
		usleep(50 * 1000);
	}
	free(got);
}

static json_t *event_with_channels(const char *id, const char *type, long incident,
                                   json_t *channels)
{
	json_t *ev = sample_event(id, type, incident, "unused@abakan.example", remote_base(remote));
	json_object_set_new(json_object_get(ev, "authority"), "channels", channels);
	return ev;
}

static json_t *api(const char *method, const char *path, const char *token)
{
	char url[256], auth[128], err[256];
	struct http_client_response r;
	struct http_client *c = http_client_new();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	const char *headers[] = {auth, NULL};
	if (http_client_request(c, method, url, token ? headers : NULL, NULL, 0, &r, err,
	                        sizeof(err)) < 0)
		fail_msg("%s", err);
	json_t *body = json_loads(r.body, 0, NULL);
	json_t *out =
	        json_pack("{s:i, s:o}", "status", (int)r.status, "body", body ? body : json_null());
	http_client_response_clear(&r);
	http_client_free(c);
	return out;
}

static int status_of(json_t *resp)
{
	return (int)json_integer_value(json_object_get(resp, "status"));
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_events_become_notifications(void **state)
{
	(void)state;
	json_t *events[] = {
	        sample_event("a:1", "incident.assigned", 101, "gkh@abakan.example",
	                     remote_base(remote)),
	        sample_event("a:2", "incident.overdue", 102, "gkh@abakan.example",
	                     remote_base(remote)),
	        sample_event("a:3", "incident.responded", 103, "gkh@abakan.example",
	                     remote_base(remote)),
	        json_string("{\"schema\":\"incident_event.v1\",\"event_id\":\"x\"}"),
	        sample_event("a:4", "incident.created", 104, "gkh@abakan.example",
	                     remote_base(remote)),
	};
	produce(events, 5);
	for (size_t i = 0; i < 5; i++)
		json_decref(events[i]);

	/* assigned: 3 (mail, chat, hook); overdue: 5 (+ parent's mail and chat); responded: 2. */
	wait_for("SELECT count(*) FILTER (WHERE status = 'sent') || '/' || count(*)"
	         " FROM notifier.deliveries WHERE incident_id BETWEEN 101 AND 104",
	         "10/10", 30000);

	json_t *box = smtp_messages(&smtp);
	assert_int_equal(json_array_size(box), 3);
	int to_admin = 0, assigned = 0;
	size_t i;
	json_t *m;
	json_array_foreach(box, i, m)
	{
		to_admin += strcmp(jstr(m, "to"), "admin@abakan.example") == 0;
		if (strstr(jstr(m, "subject"), "Вам назначено обращение №101")) {
			assigned++;
			assert_string_equal(jstr(m, "to"), "gkh@abakan.example");
			assert_non_null(strstr(jstr(m, "body"), "Срок первого ответа: 28.11.2026 "
			                                        "14:15 (UTC+07:00)"));
			assert_non_null(strstr(jstr(m, "body"), "/v1/incidents/101"));
		}
	}
	assert_int_equal(to_admin, 1);
	assert_int_equal(assigned, 1);
	json_decref(box);

	json_t *hooks = remote_requests(remote, REMOTE_WEBHOOK);
	assert_int_equal(json_array_size(hooks), 2);
	json_array_foreach(hooks, i, m)
	{
		assert_true(json_is_true(json_object_get(m, "signature_ok")));
		assert_string_equal(jstr(json_object_get(m, "body"), "schema"),
		                    "incident_event.v1");
		assert_string_equal(jstr(m, "role"), "authority");
	}
	json_decref(hooks);

	/* The answer in both citizens' threads, with the links recorded. */
	json_t *vk = remote_requests(remote, REMOTE_VK);
	assert_int_equal(json_array_size(vk), 1);
	assert_non_null(strstr(jstr(json_array_get(vk, 0), "body"), "post_id=4512"));
	json_decref(vk);
	char *link = query("SELECT link FROM notifier.deliveries WHERE channel = 'vk_reply'");
	assert_true(strncmp(link, "https://vk.com/wall-170000001_4512?reply=", 41) == 0);
	free(link);
	link = query("SELECT link FROM notifier.deliveries WHERE channel = 'telegram_reply'");
	assert_true(strncmp(link, "https://t.me/c/1234/", 20) == 0);
	free(link);
	json_t *tg = remote_requests(remote, REMOTE_TELEGRAM);
	int replies = 0;
	json_array_foreach(tg, i, m)
	{
		json_t *body = json_object_get(m, "body");
		if (json_integer_value(json_object_get(body, "reply_to_message_id")) == 77) {
			replies++;
			assert_non_null(strstr(jstr(body, "text"), "Отопление восстановлено"));
		}
	}
	assert_int_equal(replies, 1);
	json_decref(tg);

	/* Two notices to one chat (-100200300, from a:1 and a:2) keep Telegram's 1 s per chat. */
	char *gap = query("SELECT max(sent_at) - min(sent_at) >= interval '900 ms' FROM "
	                  "notifier.deliveries WHERE channel = 'telegram' AND recipient = "
	                  "'-100200300' AND event_id IN ('a:1', 'a:2')");
	assert_string_equal(gap, "t");
	free(gap);
}

static void test_replay_sends_nothing_new(void **state)
{
	(void)state;
	json_t *box = smtp_messages(&smtp);
	int mails = (int)json_array_size(box);
	json_decref(box);
	int hooks = remote_count(remote, REMOTE_WEBHOOK);
	int chats = remote_count(remote, REMOTE_TELEGRAM);

	/* The same events again, then a new one for the same incident: the key keeps them in
	 * order on one partition, so once the new one is done the replay was handled. */
	json_t *events[] = {
	        sample_event("a:1", "incident.assigned", 101, "gkh@abakan.example",
	                     remote_base(remote)),
	        sample_event("a:3", "incident.responded", 103, "gkh@abakan.example",
	                     remote_base(remote)),
	        event_with_channels("a:5", "incident.reminder", 101,
	                            json_pack("[{s:s, s:s}]", "type", "email", "address",
	                                      "marker@abakan.example")),
	};
	produce(events, 3);
	for (size_t i = 0; i < 3; i++)
		json_decref(events[i]);
	wait_for("SELECT status FROM notifier.deliveries WHERE event_id = 'a:5'", "sent", 30000);
	box = smtp_messages(&smtp);
	assert_int_equal((int)json_array_size(box), mails + 1);
	json_decref(box);
	assert_int_equal(remote_count(remote, REMOTE_WEBHOOK), hooks);
	assert_int_equal(remote_count(remote, REMOTE_TELEGRAM), chats);
	assert_int_equal(remote_count(remote, REMOTE_VK), 1);
	char *n =
	        query("SELECT count(*) FROM notifier.deliveries WHERE event_id IN ('a:1', 'a:3')");
	assert_string_equal(n, "5");
	free(n);
}

static void test_failures_retry_then_dead(void **state)
{
	(void)state;
	char hook[160];
	snprintf(hook, sizeof(hook), "%s/hook/failing", remote_base(remote));
	for (int i = 0; i < 3; i++)
		remote_script(remote, REMOTE_WEBHOOK, 503, NULL, 0, 0);
	remote_script(remote, REMOTE_TELEGRAM, 429, NULL, 0, 1);
	produce_one(event_with_channels(
	        "f:1", "incident.assigned", 201,
	        json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "type", "email",
	                  "address", "tempfail2-busy@abakan.example", "type", "email", "address",
	                  "reject-gone@abakan.example", "type", "webhook", "url", hook, "type",
	                  "telegram", "chat_id", "-100555")));

	/* SMTP 4xx twice, then accepted on the third and last attempt. */
	wait_for("SELECT status || ' ' || attempts FROM notifier.deliveries"
	         " WHERE recipient = 'tempfail2-busy@abakan.example'",
	         "sent 3", 30000);
	assert_int_equal(smtp_attempts(&smtp, "tempfail2-busy@abakan.example"), 3);
	/* SMTP 5xx: dead at once. */
	wait_for("SELECT status || ' ' || attempts FROM notifier.deliveries"
	         " WHERE recipient = 'reject-gone@abakan.example'",
	         "dead 1", 30000);
	char *why = query("SELECT last_error FROM notifier.deliveries"
	                  " WHERE recipient = 'reject-gone@abakan.example'");
	assert_non_null(strstr(why, "550"));
	free(why);
	/* 5xx three times: out of attempts. */
	wait_for("SELECT status || ' ' || attempts FROM notifier.deliveries"
	         " WHERE channel = 'webhook' AND event_id = 'f:1'",
	         "dead 3", 30000);
	why = query("SELECT last_error FROM notifier.deliveries WHERE channel = 'webhook' AND "
	            "event_id = 'f:1'");
	assert_non_null(strstr(why, "out of attempts"));
	assert_non_null(strstr(why, "503"));
	free(why);
	/* Telegram 429 retry_after 1: sent on the second attempt, a second or more later. */
	wait_for("SELECT status || ' ' || attempts FROM notifier.deliveries"
	         " WHERE channel = 'telegram' AND event_id = 'f:1'",
	         "sent 2", 30000);
	char *gap = query("SELECT (sent_at - created_at) >= interval '1 second' FROM "
	                  "notifier.deliveries WHERE channel = 'telegram' AND event_id = 'f:1'");
	assert_string_equal(gap, "t");
	free(gap);

	/* Two answers under two VK posts keep VK_RATE (1/s here) for the community's token. */
	json_t *two = sample_event("f:2", "incident.responded", 202, "gkh@abakan.example",
	                           remote_base(remote));
	json_array_append_new(json_object_get(two, "reports"),
	                      json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "message_id",
	                                "vk:-170000001_4513", "source", "vk", "external_id",
	                                "-170000001_4513", "thread", "owner_id", "-170000001",
	                                "post_id", "4513"));
	produce_one(two);
	wait_for("SELECT count(*) FROM notifier.deliveries WHERE event_id = 'f:2' AND channel = "
	         "'vk_reply' AND status = 'sent'",
	         "2", 30000);
	gap = query("SELECT max(sent_at) - min(sent_at) >= interval '900 ms' FROM "
	            "notifier.deliveries WHERE event_id = 'f:2' AND channel = 'vk_reply'");
	assert_string_equal(gap, "t");
	free(gap);

	/* Both dead ones, and the bad record of the first test, are on the dead-letter topic. */
	json_t *records = testtopic_read(brokers, dlq_topic, 3, 20000);
	int dead = 0, bad = 0;
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r)
	{
		const char *reason = jstr(r, "reason");
		assert_true(*reason);
		json_t *v = json_object_get(r, "value");
		if (json_is_object(v) &&
		    strcmp(jstr(v, "schema"), "notifier_dead_delivery.v1") == 0) {
			dead++;
			assert_int_equal(json_integer_value(json_object_get(v, "incident_id")),
			                 201);
		} else {
			bad++;
			assert_non_null(strstr(reason, "not an incident_event.v1 record"));
		}
	}
	json_decref(records);
	assert_int_equal(dead, 2);
	assert_int_equal(bad, 1);
}

static void test_operator_api(void **state)
{
	(void)state;
	json_t *r = api("GET", "/v1/deliveries", NULL);
	assert_int_equal(status_of(r), 401);
	json_decref(r);
	r = api("GET", "/v1/deliveries", "wrong");
	assert_int_equal(status_of(r), 401);
	json_decref(r);

	r = api("GET", "/v1/deliveries?status=dead", TOKEN);
	assert_int_equal(status_of(r), 200);
	json_t *rows = json_object_get(json_object_get(r, "body"), "deliveries");
	assert_int_equal(json_array_size(rows), 2);
	json_int_t hook_id = 0, mail_id = 0;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		assert_string_equal(jstr(row, "status"), "dead");
		assert_true(strlen(jstr(row, "last_error")) > 0);
		if (strcmp(jstr(row, "channel"), "webhook") == 0)
			hook_id = json_integer_value(json_object_get(row, "id"));
		else
			mail_id = json_integer_value(json_object_get(row, "id"));
	}
	assert_true(hook_id > 0 && mail_id > 0);
	json_decref(r);

	r = api("GET", "/v1/deliveries?incident=101&channel=email", TOKEN);
	rows = json_object_get(json_object_get(r, "body"), "deliveries");
	assert_int_equal(json_array_size(rows), 2); /* a:1 and the marker a:5 */
	json_array_foreach(rows, i, row)
	{
		assert_int_equal(json_integer_value(json_object_get(row, "incident_id")), 101);
		assert_string_equal(jstr(row, "channel"), "email");
	}
	json_decref(r);

	/* Pages of two, newest first, until next_before is null. */
	int seen = 0, pages = 0;
	char path[128] = "/v1/deliveries?limit=2&incident=102";
	for (;;) {
		r = api("GET", path, TOKEN);
		json_t *body = json_object_get(r, "body");
		seen += (int)json_array_size(json_object_get(body, "deliveries"));
		pages++;
		json_t *next = json_object_get(body, "next_before");
		if (!json_is_integer(next)) {
			json_decref(r);
			break;
		}
		snprintf(path, sizeof(path), "/v1/deliveries?limit=2&incident=102&before=%lld",
		         (long long)json_integer_value(next));
		json_decref(r);
	}
	assert_int_equal(seen, 5);
	assert_int_equal(pages, 3);

	r = api("GET", "/v1/deliveries?status=lost", TOKEN);
	assert_int_equal(status_of(r), 400);
	assert_string_equal(jstr(json_object_get(r, "body"), "field"), "status");
	json_decref(r);
	r = api("GET", "/v1/deliveries?incident=abc", TOKEN);
	assert_string_equal(jstr(json_object_get(r, "body"), "field"), "incident");
	json_decref(r);
	r = api("GET", "/v1/deliveries?limit=100000", TOKEN);
	assert_string_equal(jstr(json_object_get(r, "body"), "field"), "limit");
	json_decref(r);

	/* Retry the dead webhook: the receiver works now, so it is sent. */
	snprintf(path, sizeof(path), "/v1/deliveries/%lld/retry", (long long)hook_id);
	r = api("POST", path, NULL);
	assert_int_equal(status_of(r), 401);
	json_decref(r);
	r = api("POST", path, TOKEN);
	assert_int_equal(status_of(r), 200);
	json_decref(r);
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT status FROM notifier.deliveries WHERE id = %lld",
	         (long long)hook_id);
	wait_for(sql, "sent", 20000);
	r = api("POST", path, TOKEN);
	assert_int_equal(status_of(r), 409);
	json_decref(r);
	snprintf(path, sizeof(path), "/v1/deliveries/%lld", (long long)hook_id);
	r = api("GET", path, TOKEN);
	assert_int_equal(status_of(r), 200);
	assert_string_equal(jstr(json_object_get(r, "body"), "status"), "sent");
	assert_int_equal(
	        json_integer_value(json_object_get(json_object_get(r, "body"), "attempts")), 1);
	json_decref(r);
	r = api("GET", "/v1/deliveries/99999999", TOKEN);
	assert_int_equal(status_of(r), 404);
	json_decref(r);
	r = api("POST", "/v1/deliveries/99999999/retry", TOKEN);
	assert_int_equal(status_of(r), 404);
	json_decref(r);
	r = api("POST", "/v1/deliveries/x1/retry", TOKEN);
	assert_int_equal(status_of(r), 400);
	json_decref(r);
	/* The rejected mail is tried once more and dead again. */
	snprintf(path, sizeof(path), "/v1/deliveries/%lld/retry", (long long)mail_id);
	r = api("POST", path, TOKEN);
	assert_int_equal(status_of(r), 200);
	json_decref(r);
	snprintf(sql, sizeof(sql), "SELECT status FROM notifier.deliveries WHERE id = %lld",
	         (long long)mail_id);
	wait_for(sql, "dead", 20000);
	assert_int_equal(smtp_attempts(&smtp, "reject-gone@abakan.example"), 2);
}

static void test_metrics(void **state)
{
	(void)state;
	char url[128], err[256];
	struct http_client_response r;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	assert_int_equal(http_get(url, &r, err, sizeof(err)), 0);
	assert_int_equal(promtool_check(r.body, r.body_len, NULL, 0), 0);
	const char *want[] = {
	        "notifier_deliveries_sent_total{channel=\"email\"}",
	        "notifier_deliveries_sent_total{channel=\"vk_reply\"}",
	        "notifier_deliveries_dead_total{channel=\"email\"} 2",
	        "notifier_deliveries_dead_total{channel=\"webhook\"} 1",
	        "notifier_delivery_retries_total{channel=\"webhook\"} 2",
	        "notifier_delivery_failures_total{channel=\"telegram\"} 1",
	        "notifier_delivery_latency_seconds_bucket{channel=\"email\",le=\"+Inf\"}",
	        "notifier_queue_depth{status=\"dead\"} 1",
	        "notifier_queue_depth{status=\"pending\"} 0",
	        "notifier_events_total{type=\"incident.assigned\"}",
	        "im_messages_dead_lettered_total 1",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(r.body, want[i]))
			fail_msg("/metrics lacks %s:\n%s", want[i], r.body);
	http_client_response_clear(&r);
}

/* Produces an event whose authority has one webhook, to a receiver that takes the request
 * and never answers in time; returns once the attempt is on the wire, with the number of
 * webhook requests before it. */
static int stalled_webhook(const char *event_id, const char *type, long incident)
{
	char hook[160];
	snprintf(hook, sizeof(hook), "%s/hook/stalling-%s", remote_base(remote), event_id);
	int before = remote_count(remote, REMOTE_WEBHOOK);
	remote_script(remote, REMOTE_WEBHOOK, 200, NULL, 60000, 0);
	produce_one(event_with_channels(event_id, type, incident,
	                                json_pack("[{s:s, s:s}]", "type", "webhook", "url", hook)));
	assert_int_equal(remote_wait(remote, REMOTE_WEBHOOK, before + 1, 30000), before + 1);
	return before;
}

static void test_kill9_mid_delivery(void **state)
{
	(void)state;
	int before = stalled_webhook("k:1", "incident.escalated", 301);
	/* The parent's mail and chat message go out while the webhook's only thread is stuck
	 * (channels do not block each other); then the webhook is the one in flight, and what a
	 * kill may repeat is exactly that attempt. */
	wait_for("SELECT count(*) FROM notifier.deliveries WHERE event_id = 'k:1'"
	         " AND role = 'parent' AND status = 'sent'",
	         "2", 30000);
	/* Mid-delivery: the attempt is on the wire, the row "sending". */
	assert_int_equal(testproc_stop(&proc, SIGKILL, 1000), -SIGKILL);
	char *st = query("SELECT status FROM notifier.deliveries WHERE event_id = 'k:1' AND "
	                 "channel = 'webhook'");
	assert_string_equal(st, "sending");
	free(st);

	start_notifier();
	/* After the lease, exactly one more attempt, and the delivery is not lost. */
	wait_for("SELECT status || ' ' || attempts FROM notifier.deliveries"
	         " WHERE event_id = 'k:1' AND channel = 'webhook'",
	         "sent 2", 30000);
	/* The parent's deliveries of that event stay sent once each. */
	wait_for("SELECT count(*) FILTER (WHERE status = 'sent') || '/' || count(*)"
	         " FROM notifier.deliveries WHERE event_id = 'k:1'",
	         "3/3", 30000);
	usleep(500 * 1000);
	assert_int_equal(remote_count(remote, REMOTE_WEBHOOK), before + 2);
	json_t *hooks = remote_requests(remote, REMOTE_WEBHOOK);
	const char *k1 = jstr(json_array_get(hooks, before), "delivery");
	assert_string_equal(jstr(json_array_get(hooks, before + 1), "delivery"), k1);
	json_decref(hooks);
	json_t *box = smtp_messages(&smtp);
	int to_admin = 0;
	size_t i;
	json_t *m;
	json_array_foreach(box, i, m) to_admin += strstr(jstr(m, "subject"), "№301") != NULL;
	assert_int_equal(to_admin, 1);
	json_decref(box);
}

static void test_sigterm_mid_delivery(void **state)
{
	(void)state;
	stalled_webhook("t:1", "incident.assigned", 401);
	/* SIGTERM does not wait out the stalled receiver, and the attempt is given back. */
	int64_t t0 = time_mono_ms();
	assert_int_equal(testproc_stop(&proc, SIGTERM, 20000), 0);
	assert_true(time_mono_ms() - t0 < 10000);
	char *st = query("SELECT status || ' ' || attempts FROM notifier.deliveries"
	                 " WHERE event_id = 't:1'");
	assert_string_equal(st, "pending 0");
	free(st);
	start_notifier();
	wait_for("SELECT status || ' ' || attempts FROM notifier.deliveries WHERE event_id = 't:1'",
	         "sent 1", 30000);
}

static void test_sigterm(void **state)
{
	(void)state;
	assert_int_equal(testproc_stop(&proc, SIGTERM, 20000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_events_become_notifications),
	        cmocka_unit_test(test_replay_sends_nothing_new),
	        cmocka_unit_test(test_failures_retry_then_dead),
	        cmocka_unit_test(test_operator_api),
	        cmocka_unit_test(test_metrics),
	        cmocka_unit_test(test_kill9_mid_delivery),
	        cmocka_unit_test(test_sigterm_mid_delivery),
	        cmocka_unit_test(test_sigterm),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
