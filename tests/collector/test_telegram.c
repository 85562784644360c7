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
#include "db.h"
#include "fetch.h"
#include "http_client.h"
#include "metrics.h"
#include "sources.h"
#include "testdb.h"
#include "testenv.h"
#include "testproc.h"
#include "timefmt.h"
#include "xalloc.h"

#define TG_TOKEN "123456:tg-test-Token_x"
#define VK_TOKEN "vk-token-unused"

#define GROUP "-1002000000001"
#define GROUP_NAME "Черногорск: чат двора"
#define CHANNEL "-1002000000002"
#define CHANNEL_NAME "Саяногорск: новости"

extern const struct db_migration collector_migrations[];
extern const size_t collector_migrations_count;

static const char *bin_dir, *work_dir, *db_url;
static struct db *db;
static struct testproc fake;
static int fake_port;
static char posts_path[512];
static struct collector coll;
static struct source_set sources;
static volatile sig_atomic_t stop_flag;
static int test_no;

/* ---- the world ------------------------------------------------------------------------------ */

struct lines {
	char *buf;
	size_t len;
};

static void add_line(struct lines *l, json_t *line)
{
	char *s = json_dumps(line, JSON_COMPACT);
	size_t n = strlen(s);
	l->buf = xrealloc(l->buf, l->len + n + 2);
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len++] = '\n';
	l->buf[l->len] = '\0';
	free(s);
	json_decref(line);
}

/* A Telegram line of the demo format in the group or (channel true) the channel. */
static void tg_line(struct lines *l, const char *id, bool channel, const char *author_id,
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
	add_line(l, o);
}

/* An edit of line `of`. */
static void tg_edit(struct lines *l, const char *id, const char *of, const char *text)
{
	add_line(l, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "id", id, "channel", "telegram",
	                      "edit_of", of, "kind", "post", "minutes_ago", 0, "text", text));
}

/*
 * The standard world, 7 updates: in the group t01, t02, the reply t03 to t01, t04 sent on
 * behalf of the group, t05 without text; in the channel t06 (by the channel) and t07 (signed).
 * Group message ids 1..5, channel message ids 1..2.
 */
static char *standard_world(void)
{
	struct lines l = {0};
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
	return l.buf;
}

static void fake_start(const char *ndjson)
{
	char path[512], log[512], port_s[16];

	snprintf(posts_path, sizeof(posts_path), "%s/tg-posts-%d-%d.ndjson", work_dir,
	         (int)getpid(), test_no);
	FILE *f = fopen(posts_path, "w");
	if (!f)
		fail_msg("cannot write %s", posts_path);
	fputs(ndjson, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/demo-sources", bin_dir);
	snprintf(log, sizeof(log), "%s/demo-sources-telegram.log", work_dir);
	fake_port = testenv_free_port();
	snprintf(port_s, sizeof(port_s), "%d", fake_port);
	char *const argv[] = {path,       "--port",     port_s,   "--posts",
	                      posts_path, "--vk-token", VK_TOKEN, "--telegram-token",
	                      TG_TOKEN,   NULL};
	testproc_start(&fake, path, argv, NULL, log);
	testproc_wait_http(&fake, fake_port, "/healthz", 10000);
}

static void fake_control(const char *path, const char *body)
{
	char url[256], err[256];
	struct http_client_response r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fake_port, path);
	if (http_post(url, "application/json", body, strlen(body), &r, err, sizeof(err)) < 0)
		fail_msg("POST %s: %s", path, err);
	if (r.status != 200)
		fail_msg("POST %s: %ld %s", path, r.status, r.body);
	http_client_response_clear(&r);
}

static void fake_add(const char *ndjson)
{
	fake_control("/control/posts", ndjson);
}

static void fake_fault(const char *json)
{
	fake_control("/control/fault", json);
}

static long fake_requests(void)
{
	char url[256], err[256];
	struct http_client_response r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/stats", fake_port);
	if (http_get(url, &r, err, sizeof(err)) < 0)
		fail_msg("stats: %s", err);
	json_t *doc = json_loads(r.body, 0, NULL);
	long n = (long)json_integer_value(json_object_get(doc, "telegram.getUpdates"));
	json_decref(doc);
	http_client_response_clear(&r);
	return n;
}

/* ---- the database --------------------------------------------------------------------------- */

static void sql(const char *statement)
{
	char err[256];
	if (db_run(db, statement, 0, NULL, err, sizeof(err)) < 0)
		fail_msg("%s: %s", statement, err);
}

static long count_rows(const char *id_like)
{
	char err[256];
	const char *p[1] = {id_like};
	PGresult *res = db_exec(db, "SELECT count(*) FROM collector.messages WHERE id LIKE $1", 1,
	                        p, err, sizeof(err));
	if (!res)
		fail_msg("count: %s", err);
	long n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* The stored record of id (fails when absent); *revision gets the row's revision. */
static json_t *record(const char *id, long *revision)
{
	char err[256];
	const char *p[1] = {id};
	PGresult *res =
	        db_exec(db, "SELECT record::text, revision FROM collector.messages WHERE id = $1",
	                1, p, err, sizeof(err));
	if (!res)
		fail_msg("record: %s", err);
	if (PQntuples(res) != 1)
		fail_msg("message %s is not stored", id);
	json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (revision)
		*revision = atol(PQgetvalue(res, 0, 1));
	PQclear(res);
	assert_non_null(doc);
	return doc;
}

static void assert_offset(const char *expected)
{
	char err[256];
	PGresult *res = db_exec(db,
	                        "SELECT value FROM collector.cursors WHERE source = 'telegram' AND "
	                        "key = 'offset'",
	                        0, NULL, err, sizeof(err));
	if (!res)
		fail_msg("cursor: %s", err);
	const char *v = PQntuples(res) ? PQgetvalue(res, 0, 0) : NULL;
	if (!expected && v)
		fail_msg("offset cursor is %s, expected none", v);
	if (expected && !v)
		fail_msg("offset cursor is not stored, expected %s", expected);
	if (expected)
		assert_string_equal(v, expected);
	PQclear(res);
}

static const char *jstr(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}

static json_int_t jint(const json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

/* ---- the collector -------------------------------------------------------------------------- */

static void collector_init(void)
{
	struct metrics *reg = metrics_new();

	memset(&coll, 0, sizeof(coll));
	coll.svc.name = "collector";
	coll.svc.metrics = reg;
	coll.svc.processed = metrics_counter(reg, "im_messages_processed_total", "processed", NULL);
	coll.svc.failed = metrics_counter(reg, "im_messages_failed_total", "failed", NULL);
	coll.svc.dead_lettered =
	        metrics_counter(reg, "im_messages_dead_lettered_total", "dl", NULL);
	coll.svc.latency =
	        metrics_histogram(reg, "im_processing_seconds", "latency", NULL, NULL, 0);
	collector_setup(&coll, reg);
}

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
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/telegram", fake_port);
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
	struct source_env env = {.collector = &coll, .db = db, .stop = &stop_flag};
	struct poll_result res;
	memset(&res, 0, sizeof(res));
	src->poll(src, &env, &res);
	return res;
}

static void assert_ok(const struct poll_result *r)
{
	if (r->status != POLL_OK)
		fail_msg("poll status %d, expected OK: %s", r->status, r->error);
}

/* ---- fixtures ------------------------------------------------------------------------------- */

static int setup_group(void **state)
{
	(void)state;
	db_url = testdb_url();
	bin_dir = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	work_dir = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	if (fetch_global_init() < 0)
		fail_msg("curl_global_init failed");
	char err[256];
	db = db_connect(db_url, 5000, NULL, err, sizeof(err));
	if (!db)
		fail_msg("db_connect: %s", err);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	db_free(db);
	return 0;
}

static void start(const char *world)
{
	char err[256];

	test_no++;
	stop_flag = 0;
	sql("DROP SCHEMA IF EXISTS collector CASCADE");
	if (db_migrate(db, "collector", collector_migrations, collector_migrations_count, err,
	               sizeof(err)) < 0)
		fail_msg("migrate: %s", err);
	collector_init();
	if (world)
		fake_start(world);
}

static int teardown(void **state)
{
	(void)state;
	source_set_free(&sources);
	testproc_stop(&fake, SIGTERM, 3000);
	collector_teardown(&coll);
	metrics_free(coll.svc.metrics);
	coll.svc.metrics = NULL;
	return 0;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Every kind of update mapped exactly; the text-less message passed over; the cursor set. */
static void test_updates(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct telegram_settings s = settings(TG_TOKEN);
	struct poll_result r = poll_once(make_source(&s));
	assert_ok(&r);
	assert_int_equal(r.fetched, 6);
	assert_int_equal(count_rows("telegram:%"), 6);
	assert_int_equal(count_rows("telegram:" GROUP "\\_5"), 0); /* no text: passed over */
	assert_offset("7");

	long rev;
	json_t *m = record("telegram:" GROUP "_1", &rev);
	assert_int_equal(rev, 1);
	assert_string_equal(jstr(m, "kind", NULL), "message");
	assert_string_equal(jstr(m, "external_id", NULL), GROUP "_1");
	assert_string_equal(jstr(m, "text", NULL),
	                    "В подъезде на Советской 75 третий день холодные батареи");
	assert_string_equal(jstr(m, "author", "id"), "501");
	assert_string_equal(jstr(m, "author", "name"), "Наталья Ким");
	assert_string_equal(jstr(m, "community", "id"), GROUP);
	assert_string_equal(jstr(m, "community", "name"), GROUP_NAME);
	assert_string_equal(jstr(m, "url", NULL), "https://t.me/c/2000000001/1");
	assert_true(jint(m, "thread", "chat_id") == -1002000000001LL);
	assert_int_equal(jint(m, "thread", "message_id"), 1);
	assert_null(json_object_get(m, "parent_id"));
	json_decref(m);

	m = record("telegram:" GROUP "_3", NULL);
	assert_string_equal(jstr(m, "parent_id", NULL), "telegram:" GROUP "_1");
	assert_string_equal(jstr(m, "author", "name"), "Ольга Сазанакова");
	json_decref(m);

	m = record("telegram:" GROUP "_4", NULL); /* sent on behalf of the group */
	assert_string_equal(jstr(m, "author", "id"), GROUP);
	assert_string_equal(jstr(m, "author", "name"), GROUP_NAME);
	json_decref(m);

	m = record("telegram:" CHANNEL "_1", NULL);
	assert_string_equal(jstr(m, "kind", NULL), "post");
	assert_string_equal(jstr(m, "text", NULL), "В Саяногорске открыли новую остановку у рынка");
	assert_string_equal(jstr(m, "author", "id"), CHANNEL);
	assert_string_equal(jstr(m, "author", "name"), CHANNEL_NAME);
	assert_string_equal(jstr(m, "community", "name"), CHANNEL_NAME);
	json_decref(m);
	json_decref(record("telegram:" CHANNEL "_2", NULL));
}

/* An edit is revision 2 of the same message with the original date; an original and its
 * edit in one answer still end as revision 2. */
static void test_edits(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct telegram_settings s = settings(TG_TOKEN);
	struct source *src = make_source(&s);
	struct poll_result r = poll_once(src);
	assert_ok(&r);
	json_t *before = record("telegram:" GROUP "_1", NULL);

	struct lines l = {0};
	tg_edit(&l, "e01", "t01",
	        "В подъезде на Советской 75 третий день холодные батареи (уже 4-й)");
	fake_add(l.buf);
	free(l.buf);
	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(r.fetched, 1);
	long rev;
	json_t *after = record("telegram:" GROUP "_1", &rev);
	assert_int_equal(rev, 2);
	assert_int_equal(json_integer_value(json_object_get(after, "revision")), 2);
	assert_string_equal(jstr(after, "text", NULL),
	                    "В подъезде на Советской 75 третий день холодные батареи (уже 4-й)");
	assert_string_equal(jstr(after, "posted_at", NULL), jstr(before, "posted_at", NULL));
	json_decref(before);
	json_decref(after);
	assert_int_equal(metric_value(coll.messages, "telegram", "updated"), 1);
	assert_offset("8");

	/* A new channel post and its edit arrive together. */
	struct lines l2 = {0};
	tg_line(&l2, "t08", true, "2", CHANNEL_NAME, NULL, 1, "Автобус 5 ходит по новому графику");
	tg_edit(&l2, "e02", "t08", "Автобус 5 ходит по новому графику с понедельника");
	fake_add(l2.buf);
	free(l2.buf);
	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(r.fetched, 2);
	json_t *post = record("telegram:" CHANNEL "_3", &rev);
	assert_int_equal(rev, 2);
	assert_string_equal(jstr(post, "text", NULL),
	                    "Автобус 5 ходит по новому графику с понедельника");
	assert_string_equal(jstr(post, "kind", NULL), "post");
	json_decref(post);
	assert_offset("10");
	assert_int_equal(count_rows("telegram:%"), 7);
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
	assert_ok(&r);
	assert_int_equal(count_rows("telegram:%"), 6);

	testproc_stop(&fake, SIGTERM, 3000);
	fake_start(world);
	free(world);
	struct lines l = {0};
	tg_line(&l, "t08", false, "505", "Евгений Тоғочаков", NULL, 2,
	        "На Юбилейной опять прорвало трубу, вода по колено");
	tg_line(&l, "t09", false, "506", "Марина Шулбаева", "t08", 1, "Аварийку вызвали, едут");
	fake_add(l.buf);
	free(l.buf);

	s = settings(TG_TOKEN); /* the fake's new port */
	struct source *src = make_source(&s);
	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(r.fetched, 2);
	assert_int_equal(count_rows("telegram:%"), 8);
	assert_int_equal(metric_value(coll.messages, "telegram", "duplicate"), 0);
	json_t *m = record("telegram:" GROUP "_7", NULL);
	assert_string_equal(jstr(m, "parent_id", NULL), "telegram:" GROUP "_6");
	json_decref(m);
	assert_offset("9");

	/* Nothing new: the long poll waits about its timeout, then nothing is fetched. */
	int64_t t0 = time_mono_ms();
	r = poll_once(src);
	int64_t took = time_mono_ms() - t0;
	assert_ok(&r);
	assert_int_equal(r.fetched, 0);
	assert_true(took >= 900);
	assert_offset("9");
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
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/posts", fake_port);
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

	struct lines l = {0};
	tg_line(&l, "t01", false, "507", "Людмила Чаптыкова", NULL, 0,
	        "Горит мусорка во дворе на Пушкина 98!");
	struct delayed_post d = {300, l.buf};
	pthread_t th;
	pthread_create(&th, NULL, post_later, &d);
	int64_t t0 = time_mono_ms();
	struct poll_result r = poll_once(src);
	int64_t took = time_mono_ms() - t0;
	pthread_join(th, NULL);
	free(l.buf);
	assert_ok(&r);
	assert_int_equal(r.fetched, 1);
	assert_true(took >= 250 && took < 1800);
	assert_int_equal(count_rows("telegram:%"), 1);
	assert_offset("1");
}

/* 429 is a rate limit with Telegram's retry_after; nothing stored, no cursor. */
static void test_rate_limited(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct telegram_settings s = settings(TG_TOKEN);
	struct source *src = make_source(&s);

	fake_fault("{\"api\":\"telegram\",\"status\":429,\"retry_after\":3}");
	struct poll_result r = poll_once(src);
	assert_int_equal(r.status, POLL_RATE_LIMITED);
	assert_int_equal(r.retry_after_ms, 3000);
	assert_int_equal(count_rows("%"), 0);
	assert_offset(NULL);

	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(count_rows("telegram:%"), 6);
	assert_int_equal(fake_requests(), 2);
}

/* 401 and 409 need an operator; 5xx, the network and the database are retried. No secret in
 * any error, nothing stored, no cursor moved. */
static void test_errors(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);

	struct telegram_settings bad = settings("999:wrong-token");
	struct poll_result r = poll_once(make_source(&bad));
	assert_int_equal(r.status, POLL_FAILED);
	assert_non_null(strstr(r.error, "401"));
	assert_non_null(strstr(r.error, "TELEGRAM_BOT_TOKEN"));
	assert_null(strstr(r.error, "wrong-token"));

	struct telegram_settings s = settings(TG_TOKEN);
	struct source *src = make_source(&s);
	fake_fault("{\"api\":\"telegram\",\"status\":409}");
	r = poll_once(src);
	assert_int_equal(r.status, POLL_FAILED);
	assert_non_null(strstr(r.error, "409"));
	assert_non_null(strstr(r.error, "webhook"));

	fake_fault("{\"api\":\"telegram\",\"status\":502}");
	r = poll_once(src);
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "502"));

	sql("ALTER TABLE collector.messages RENAME TO messages_away");
	r = poll_once(src);
	sql("ALTER TABLE collector.messages_away RENAME TO messages");
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "store"));
	assert_int_equal(count_rows("%"), 0);
	assert_offset(NULL);

	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(count_rows("telegram:%"), 6);
	assert_offset("7");

	testproc_stop(&fake, SIGTERM, 3000);
	r = poll_once(src);
	assert_int_equal(r.status, POLL_RETRY);
	assert_null(strstr(r.error, "tg-test-Token_x"));
	assert_offset("7");
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
