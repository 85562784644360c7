/*
 * The Telegram poller (services/collector/telegram.c) against demo-sources' fake Bot API and a
 * real PostgreSQL: group messages, replies, messages sent on behalf of a chat, channel posts,
 * messages without text passed over, edits stored as revision 2 (also when the edit arrives in
 * the same getUpdates answer as the original), the offset cursor stored only after intake,
 * resume after a restart against a fake that forgot everything, the long poll, and the errors
 * (429 with retry_after, 401, 409, 5xx, network, the database) sorted into what the runner
 * does, with nothing stored and the cursor unmoved. A poll in flight gives up when the stop
 * flag is set.
 *
 * Environment (tests/run.sh): TEST_DATABASE_URL, TEST_BIN_DIR, TEST_WORK_DIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "fetch.h"
#include "http_client.h"
#include "metrics.h"
#include "sources.h"
#include "strbuf.h"
#include "support.h"
#include "timefmt.h"

#define TG_TOKEN "123456:tg-test-Token_x"
#define VK_TOKEN "vk-token-unused"

#define GROUP "-1002000000001"
#define GROUP_NAME "Черногорск: чат двора"
#define CHANNEL "-1002000000002"
#define CHANNEL_NAME "Саяногорск: новости"

static struct db *db;
static struct demo_sources fake;
static struct collector coll;
static struct source_set sources;
static volatile sig_atomic_t stop_flag;

/* ---- the world ------------------------------------------------------------------------------ */

/* A Telegram line of the demo format in the group or (channel true) the channel. */
static void tg_line(struct strbuf *l, const char *id, bool channel, const char *author_id,
                    const char *author, const char *parent, int minutes_ago, const char *text)
{
	json_t *community = channel ? json_pack("{s:s, s:s, s:s}", "id", CHANNEL, "name",
	                                        CHANNEL_NAME, "type", "channel")
	                            : json_pack("{s:s, s:s}", "id", GROUP, "name", GROUP_NAME);
	json_t *o = json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:s, s:i, s:s}", "id", id, "channel",
	                      "telegram", "community", community, "author", "id", author_id, "name",
	                      author, "kind", parent ? "comment" : "post", "minutes_ago",
	                      minutes_ago, "text", text);
	if (parent)
		json_object_set_new(o, "parent", json_string(parent));
	support_ndjson_add(l, o);
}

/* An edit of line `of`. */
static void tg_edit(struct strbuf *l, const char *id, const char *of, const char *text)
{
	support_ndjson_add(l, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "id", id, "channel",
	                                "telegram", "edit_of", of, "kind", "post", "minutes_ago", 0,
	                                "text", text));
}

/*
 * The standard world, 7 updates: in the group t01, t02, the reply t03 to t01, t04 sent on
 * behalf of the group, t05 without text; in the channel t06 (by the channel) and t07 (signed).
 * Group message ids 1..5, channel message ids 1..2.
 */
static char *standard_world(void)
{
	struct strbuf l = {0};
	tg_line(&l, "t01", false, "501", "Наталья Ким", NULL, 50,
	        "В подъезде на Советской 75 третий день холодные батареи");
	tg_line(&l, "t02", false, "502", "Игорь Лаптев", NULL, 45,
	        "У нас на Бограда 21 мусорные баки переполнены");
	tg_line(&l, "t03", false, "503", "Ольга Сазанакова", "t01", 40,
	        "Подтверждаю, у соседей тоже холодно");
	tg_line(&l, "t04", false, "1", GROUP_NAME, NULL, 35, "Завтра с 10 до 14 отключение воды");
	tg_line(&l, "t05", false, "501", "Наталья Ким", NULL, 30, "");
	tg_line(&l, "t06", true, "2", CHANNEL_NAME, NULL, 25,
	        "В Саяногорске открыли новую остановку у рынка");
	tg_line(&l, "t07", true, "504", "Анна Белова", NULL, 20,
	        "Репортаж: как убирают снег в Черёмушках");
	return strbuf_detach(&l);
}

static void fake_start(const char *ndjson)
{
	static const char *const args[] = {"--vk-token", VK_TOKEN, "--telegram-token", TG_TOKEN,
	                                   NULL};

	demo_sources_start(&fake, "test_telegram", ndjson, args);
}

/* ---- records -------------------------------------------------------------------------------- */

static json_int_t jint(const json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

/* ---- the collector -------------------------------------------------------------------------- */

static struct telegram_settings settings_for(const char *api_url, const char *token,
                                             int64_t poll_timeout_ms)
{
	struct telegram_settings s = {
	        .api_url = (char *)(uintptr_t)api_url,
	        .bot_token = (char *)(uintptr_t)token,
	        .poll_timeout_ms = poll_timeout_ms,
	};
	return s;
}

static struct telegram_settings settings(const char *token)
{
	static char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/telegram", fake.port);
	return settings_for(url, token, 1000);
}

/* Replaces the Telegram source (a "restart": new state, same database). */
static struct source *make_source(const struct telegram_settings *s)
{
	char err[256];
	source_set_free(&sources);
	if (telegram_sources(s, &sources, err, sizeof(err)) < 0)
		fail_msg("telegram_sources: %s", err);
	assert_int_equal(sources.n, 1);
	assert_string_equal(sources.items[0]->name, "telegram");
	assert_int_equal(sources.items[0]->interval_ms, 0); /* the long poll paces it */
	return sources.items[0];
}

static struct poll_result poll_once(struct source *src)
{
	struct poll_result res = {0}; /* as the runner hands it over */

	support_poll(src, &coll, db, &stop_flag, &res);
	return res;
}

/* ---- fixtures ------------------------------------------------------------------------------- */

static int setup_group(void **state)
{
	(void)state;
	if (fetch_global_init() < 0)
		fail_msg("curl_global_init failed");
	db = support_db_connect();
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	db_free(db);
	return 0;
}

/* A fresh collector schema, collector and (when world is not NULL) fake. */
static void start(const char *world)
{
	stop_flag = 0;
	support_db_migrate(db);
	support_collector_init(&coll);
	if (world)
		fake_start(world);
}

/* start() in the standard world. */
static void start_standard(void)
{
	char *world = standard_world();

	start(world);
	free(world);
}

static int teardown(void **state)
{
	(void)state;
	source_set_free(&sources);
	demo_sources_stop(&fake);
	support_collector_release(&coll);
	return 0;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Every kind of update mapped exactly; the text-less message passed over; the cursor set. */
static void test_updates(void **state)
{
	(void)state;
	start_standard();
	struct telegram_settings s = settings(TG_TOKEN);
	struct poll_result r = poll_once(make_source(&s));
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 6);
	assert_int_equal(support_count_messages(db, "telegram:%"), 6);
	assert_int_equal(support_count_messages(db, "telegram:" GROUP "\\_5"),
	                 0); /* no text: passed over */
	support_assert_cursor(db, "telegram", "offset", "7");

	long rev;
	json_t *m = support_record(db, "telegram:" GROUP "_1", &rev);
	assert_int_equal(rev, 1);
	assert_string_equal(support_jstr(m, "kind", NULL), "message");
	assert_string_equal(support_jstr(m, "external_id", NULL), GROUP "_1");
	assert_string_equal(support_jstr(m, "text", NULL),
	                    "В подъезде на Советской 75 третий день холодные батареи");
	assert_string_equal(support_jstr(m, "author", "id"), "501");
	assert_string_equal(support_jstr(m, "author", "name"), "Наталья Ким");
	assert_string_equal(support_jstr(m, "community", "id"), GROUP);
	assert_string_equal(support_jstr(m, "community", "name"), GROUP_NAME);
	assert_string_equal(support_jstr(m, "url", NULL), "https://t.me/c/2000000001/1");
	assert_true(jint(m, "thread", "chat_id") == -1002000000001LL);
	assert_int_equal(jint(m, "thread", "message_id"), 1);
	assert_null(json_object_get(m, "parent_id"));
	json_decref(m);

	m = support_record(db, "telegram:" GROUP "_3", NULL);
	assert_string_equal(support_jstr(m, "parent_id", NULL), "telegram:" GROUP "_1");
	assert_string_equal(support_jstr(m, "author", "name"), "Ольга Сазанакова");
	json_decref(m);

	m = support_record(db, "telegram:" GROUP "_4", NULL); /* sent on behalf of the group */
	assert_string_equal(support_jstr(m, "author", "id"), GROUP);
	assert_string_equal(support_jstr(m, "author", "name"), GROUP_NAME);
	json_decref(m);

	m = support_record(db, "telegram:" CHANNEL "_1", NULL);
	assert_string_equal(support_jstr(m, "kind", NULL), "post");
	assert_string_equal(support_jstr(m, "text", NULL),
	                    "В Саяногорске открыли новую остановку у рынка");
	assert_string_equal(support_jstr(m, "author", "id"), CHANNEL);
	assert_string_equal(support_jstr(m, "author", "name"), CHANNEL_NAME);
	assert_string_equal(support_jstr(m, "community", "name"), CHANNEL_NAME);
	json_decref(m);
	json_decref(support_record(db, "telegram:" CHANNEL "_2", NULL));
}

/* An edit is revision 2 of the same message with the original date; an original and its
 * edit in one answer still end as revision 2. */
static void test_edits(void **state)
{
	(void)state;
	start_standard();
	struct telegram_settings s = settings(TG_TOKEN);
	struct source *src = make_source(&s);
	struct poll_result r = poll_once(src);
	support_assert_poll_ok(&r);
	json_t *before = support_record(db, "telegram:" GROUP "_1", NULL);

	struct strbuf l = {0};
	tg_edit(&l, "e01", "t01",
	        "В подъезде на Советской 75 третий день холодные батареи (уже 4-й)");
	demo_sources_control(&fake, "/control/posts", l.buf);
	strbuf_release(&l);
	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 1);
	long rev;
	json_t *after = support_record(db, "telegram:" GROUP "_1", &rev);
	assert_int_equal(rev, 2);
	assert_int_equal(json_integer_value(json_object_get(after, "revision")), 2);
	assert_string_equal(support_jstr(after, "text", NULL),
	                    "В подъезде на Советской 75 третий день холодные батареи (уже 4-й)");
	assert_string_equal(support_jstr(after, "posted_at", NULL),
	                    support_jstr(before, "posted_at", NULL));
	json_decref(before);
	json_decref(after);
	assert_int_equal(metric_value(coll.messages, "telegram", "updated"), 1);
	support_assert_cursor(db, "telegram", "offset", "8");

	/* A new channel post and its edit arrive together. */
	struct strbuf l2 = {0};
	tg_line(&l2, "t08", true, "2", CHANNEL_NAME, NULL, 1, "Автобус 5 ходит по новому графику");
	tg_edit(&l2, "e02", "t08", "Автобус 5 ходит по новому графику с понедельника");
	demo_sources_control(&fake, "/control/posts", l2.buf);
	strbuf_release(&l2);
	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 2);
	json_t *post = support_record(db, "telegram:" CHANNEL "_3", &rev);
	assert_int_equal(rev, 2);
	assert_string_equal(support_jstr(post, "text", NULL),
	                    "Автобус 5 ходит по новому графику с понедельника");
	assert_string_equal(support_jstr(post, "kind", NULL), "post");
	json_decref(post);
	support_assert_cursor(db, "telegram", "offset", "10");
	assert_int_equal(support_count_messages(db, "telegram:%"), 7);
}

/* A new source on the same database, against a fresh fake that forgot every confirmation,
 * asks from the stored offset: only new updates come in. */
static void test_resume_after_restart(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	struct telegram_settings s = settings(TG_TOKEN);
	struct poll_result r = poll_once(make_source(&s));
	support_assert_poll_ok(&r);
	assert_int_equal(support_count_messages(db, "telegram:%"), 6);

	demo_sources_stop(&fake);
	fake_start(world);
	free(world);
	struct strbuf l = {0};
	tg_line(&l, "t08", false, "505", "Евгений Тоғочаков", NULL, 2,
	        "На Юбилейной опять прорвало трубу, вода по колено");
	tg_line(&l, "t09", false, "506", "Марина Шулбаева", "t08", 1, "Аварийку вызвали, едут");
	demo_sources_control(&fake, "/control/posts", l.buf);
	strbuf_release(&l);

	s = settings(TG_TOKEN); /* the fake's new port */
	struct source *src = make_source(&s);
	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 2);
	assert_int_equal(support_count_messages(db, "telegram:%"), 8);
	assert_int_equal(metric_value(coll.messages, "telegram", "duplicate"), 0);
	json_t *m = support_record(db, "telegram:" GROUP "_7", NULL);
	assert_string_equal(support_jstr(m, "parent_id", NULL), "telegram:" GROUP "_6");
	json_decref(m);
	support_assert_cursor(db, "telegram", "offset", "9");

	/* Nothing new: the long poll waits about its timeout, then nothing is fetched. */
	int64_t t0 = time_mono_ms();
	r = poll_once(src);
	int64_t took = time_mono_ms() - t0;
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 0);
	assert_true(took >= 900);
	support_assert_cursor(db, "telegram", "offset", "9");
}

struct delayed_post {
	int delay_ms;
	const char *ndjson;
};

static void *post_later(void *arg)
{
	struct delayed_post *d = arg;
	struct timespec ts = {d->delay_ms / 1000, (long)(d->delay_ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	char url[256], err[256];
	struct http_client_response r;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/posts", fake.port);
	if (http_post(url, "application/json", d->ndjson, strlen(d->ndjson), &r, err,
	              sizeof(err)) == 0)
		http_client_response_clear(&r);
	return NULL;
}

/* A message posted during the long poll comes back in that same poll. */
static void test_long_poll(void **state)
{
	(void)state;
	start("");
	struct telegram_settings s = settings(TG_TOKEN);
	s.poll_timeout_ms = 2000;
	struct source *src = make_source(&s);

	struct strbuf l = {0};
	tg_line(&l, "t01", false, "507", "Людмила Чаптыкова", NULL, 0,
	        "Горит мусорка во дворе на Пушкина 98!");
	struct delayed_post d = {300, l.buf};
	pthread_t th;
	pthread_create(&th, NULL, post_later, &d);
	int64_t t0 = time_mono_ms();
	struct poll_result r = poll_once(src);
	int64_t took = time_mono_ms() - t0;
	pthread_join(th, NULL);
	strbuf_release(&l);
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 1);
	assert_true(took >= 250 && took < 1800);
	assert_int_equal(support_count_messages(db, "telegram:%"), 1);
	support_assert_cursor(db, "telegram", "offset", "1");
}

/* 429 is a rate limit with Telegram's retry_after; nothing stored, no cursor. */
static void test_rate_limited(void **state)
{
	(void)state;
	start_standard();
	struct telegram_settings s = settings(TG_TOKEN);
	struct source *src = make_source(&s);

	demo_sources_control(&fake, "/control/fault",
	                     "{\"api\":\"telegram\",\"status\":429,\"retry_after\":3}");
	struct poll_result r = poll_once(src);
	assert_int_equal(r.status, POLL_RATE_LIMITED);
	assert_int_equal(r.retry_after_ms, 3000);
	assert_int_equal(support_count_messages(db, "%"), 0);
	support_assert_cursor(db, "telegram", "offset", NULL);

	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(support_count_messages(db, "telegram:%"), 6);
	assert_int_equal(demo_sources_stat(&fake, "telegram.getUpdates"), 2);
}

/* 401 and 409 need an operator; 5xx, the network and the database are retried. No secret in
 * any error, nothing stored, no cursor moved. */
static void test_errors(void **state)
{
	(void)state;
	start_standard();

	struct telegram_settings bad = settings("999:wrong-token");
	struct poll_result r = poll_once(make_source(&bad));
	assert_int_equal(r.status, POLL_FAILED);
	assert_non_null(strstr(r.error, "401"));
	assert_non_null(strstr(r.error, "TELEGRAM_BOT_TOKEN"));
	assert_null(strstr(r.error, "wrong-token"));

	struct telegram_settings s = settings(TG_TOKEN);
	struct source *src = make_source(&s);
	demo_sources_control(&fake, "/control/fault", "{\"api\":\"telegram\",\"status\":409}");
	r = poll_once(src);
	assert_int_equal(r.status, POLL_FAILED);
	assert_non_null(strstr(r.error, "409"));
	assert_non_null(strstr(r.error, "webhook"));

	demo_sources_control(&fake, "/control/fault", "{\"api\":\"telegram\",\"status\":502}");
	r = poll_once(src);
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "502"));

	support_sql(db, "ALTER TABLE collector.messages RENAME TO messages_away");
	r = poll_once(src);
	support_sql(db, "ALTER TABLE collector.messages_away RENAME TO messages");
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "store"));
	assert_int_equal(support_count_messages(db, "%"), 0);
	support_assert_cursor(db, "telegram", "offset", NULL);

	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(support_count_messages(db, "telegram:%"), 6);
	support_assert_cursor(db, "telegram", "offset", "7");

	demo_sources_stop(&fake);
	r = poll_once(src);
	assert_int_equal(r.status, POLL_RETRY);
	assert_null(strstr(r.error, "tg-test-Token_x"));
	support_assert_cursor(db, "telegram", "offset", "7");
}

static void *raise_stop(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	stop_flag = 1;
	return NULL;
}

/* A long poll against a server that never answers gives up soon after the stop flag. */
static void test_stop_interrupts_long_poll(void **state)
{
	(void)state;
	start(NULL);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t salen = sizeof(sa);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/telegram", ntohs(sa.sin_port));
	struct telegram_settings s = settings_for(url, TG_TOKEN, 30000);
	struct source *src = make_source(&s);

	pthread_t th;
	pthread_create(&th, NULL, raise_stop, NULL);
	int64_t t0 = time_mono_ms();
	struct poll_result r = poll_once(src);
	int64_t took = time_mono_ms() - t0;
	pthread_join(th, NULL);
	close(fd);
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "stopped"));
	assert_null(strstr(r.error, TG_TOKEN));
	assert_true(took < 3000);
}

/* Off without a token; bad variables named. */
static void test_configuration(void **state)
{
	(void)state;
	struct source_set set = {0};
	char err[256];
	struct telegram_settings s = settings_for("https://api.telegram.org", NULL, 25000);

	assert_int_equal(telegram_sources(&s, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);

	s.bot_token = "1:a/b";
	assert_int_equal(telegram_sources(&s, &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TELEGRAM_BOT_TOKEN"));
	assert_null(strstr(err, "1:a/b"));

	s.bot_token = "1:ab";
	s.api_url = "api.telegram.org";
	assert_int_equal(telegram_sources(&s, &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TELEGRAM_API_URL"));

	s.api_url = "https://api.telegram.org/";
	assert_int_equal(telegram_sources(&s, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.items[0]->interval_ms, 0);
	source_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_configuration),
	        cmocka_unit_test_teardown(test_updates, teardown),
	        cmocka_unit_test_teardown(test_edits, teardown),
	        cmocka_unit_test_teardown(test_resume_after_restart, teardown),
	        cmocka_unit_test_teardown(test_long_poll, teardown),
	        cmocka_unit_test_teardown(test_rate_limited, teardown),
	        cmocka_unit_test_teardown(test_errors, teardown),
	        cmocka_unit_test_teardown(test_stop_interrupts_long_poll, teardown),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
