/*
 * The VK poller (services/collector/vk.c) against demo-sources' fake VK API and a real
 * PostgreSQL: walls read across pages, comments of the recent posts, newsfeed.search with
 * next_from, cursors stored only after intake, resume after a restart without duplicates, the
 * 3 requests/s pacing, and VK's errors (rate limits, bad tokens, internal errors, HTTP 5xx,
 * network) sorted into what the runner does, with nothing stored and no cursor moved.
 *
 * Each test writes its own posts file, starts demo-sources on a free port, migrates the
 * collector schema afresh and calls the source's poll() directly.
 *
 * Environment (tests/run.sh): TEST_DATABASE_URL, TEST_BIN_DIR, TEST_WORK_DIR.
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

#define VK_TOKEN "vk-test-token-5e1f"
#define TG_TOKEN "tg-test-token-unused"

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

/* NDJSON being built for a posts file or /control/posts. */
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

/* A VK line of the demo format; the demo id "v%04d" is also its VK id (position + 1). */
static void vk_line(struct lines *l, int id, const char *owner, const char *community,
                    const char *author_id, const char *author, const char *kind, int parent,
                    int minutes_ago, const char *text)
{
	char sid[16], sparent[16];
	snprintf(sid, sizeof(sid), "v%04d", id);
	snprintf(sparent, sizeof(sparent), "v%04d", parent);
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:i, s:s}", "id", sid,
	                      "channel", "vk", "community", "id", owner, "name", community,
	                      "author", "id", author_id, "name", author, "kind", kind,
	                      "minutes_ago", minutes_ago, "text", text);
	if (parent)
		json_object_set_new(o, "parent", json_string(sparent));
	add_line(l, o);
}

/* Post i's text: five kinds of everyday posts, numbered. */
static void post_text(int i, char *buf, size_t len)
{
	switch (i % 5) {
	case 0:
		snprintf(buf, len, "Во дворе дома %d по улице Пушкина опять не вывезли мусор", i);
		break;
	case 1:
		snprintf(buf, len, "На перекрёстке Щорса и Ленина %d-й день не работает светофор",
		         i);
		break;
	case 2:
		snprintf(buf, len, "Подскажите, где в Абакане починить телефон? Вопрос номер %d",
		         i);
		break;
	case 3:
		snprintf(buf, len,
		         "Спасибо дворнику с Вяткина, %d раз за неделю расчистил дорожки!", i);
		break;
	default:
		snprintf(buf, len, "В подъезде дома %d холодные батареи, УК не отвечает", i);
		break;
	}
}

#define BIG "-20001"
#define BIG_NAME "Абакан: двор и дом"
#define SMALL "-20002"
#define SMALL_NAME "Сорск — наш город"

/*
 * The standard world: 130 posts on BIG (ids 1..130, 130 the newest), two on SMALL (131 with a
 * geotag and an address, 132 by the community itself), three comments on post 130 (133..135),
 * one on the old post 5 (136) and one on post 131 (137).
 */
static char *standard_world(void)
{
	struct lines l = {0};
	char text[256];

	for (int i = 1; i <= 130; i++) {
		char author_id[16];
		snprintf(author_id, sizeof(author_id), "%d", 700 + i % 7);
		post_text(i, text, sizeof(text));
		vk_line(&l, i, BIG, BIG_NAME, author_id, "Пётр Чебодаев", "post", 0, 3000 - i,
		        text);
	}
	json_t *geo = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:i, s:s, s:s, "
	                        "s:f, s:f}",
	                        "id", "v0131", "channel", "vk", "community", "id", SMALL, "name",
	                        SMALL_NAME, "author", "id", "801", "name", "Алёна Тодышева", "kind",
	                        "post", "minutes_ago", 120, "text",
	                        "На улице Кирова у дома 12 открытый люк, кто-нибудь упадёт",
	                        "address", "ул. Кирова, 12", "lat", 54.0012, "lon", 90.2503);
	add_line(&l, geo);
	vk_line(&l, 132, SMALL, SMALL_NAME, "20002", SMALL_NAME, "post", 0, 100,
	        "Администрация сообщает: завтра плановое отключение воды с 9 до 17");
	vk_line(&l, 133, BIG, BIG_NAME, "901", "Ирина Кызласова", "comment", 130, 50,
	        "У нас та же беда, звонили в УК — тишина");
	vk_line(&l, 134, BIG, BIG_NAME, "902", "Денис Ултургашев", "comment", 130, 40,
	        "Писал в прокуратуру, жду ответа");
	vk_line(&l, 135, BIG, BIG_NAME, "903", "Мария Боргоякова", "comment", 130, 30,
	        "Сегодня вроде начали чинить");
	vk_line(&l, 136, BIG, BIG_NAME, "904", "Олег Топоев", "comment", 5, 20,
	        "Комментарий к старому посту, его не читают");
	vk_line(&l, 137, SMALL, SMALL_NAME, "905", "Светлана Чертыкова", "comment", 131, 10,
	        "Люк уже огородили лентой, но крышки нет");
	return l.buf;
}

static void fake_start(const char *ndjson)
{
	char path[512], log[512], port_s[16];

	snprintf(posts_path, sizeof(posts_path), "%s/vk-posts-%d-%d.ndjson", work_dir,
	         (int)getpid(), test_no);
	FILE *f = fopen(posts_path, "w");
	if (!f)
		fail_msg("cannot write %s", posts_path);
	fputs(ndjson, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/demo-sources", bin_dir);
	snprintf(log, sizeof(log), "%s/demo-sources-vk.log", work_dir);
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

/* Requests the fake counted for "vk.<method>". */
static long fake_requests(const char *method)
{
	char url[256], err[256], key[64];
	struct http_client_response r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/stats", fake_port);
	if (http_get(url, &r, err, sizeof(err)) < 0)
		fail_msg("stats: %s", err);
	json_t *doc = json_loads(r.body, 0, NULL);
	snprintf(key, sizeof(key), "vk.%s", method);
	long n = (long)json_integer_value(json_object_get(doc, key));
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

/* The stored message.v1 record of id (fails when absent). */
static json_t *record(const char *id)
{
	char err[256];
	const char *p[1] = {id};
	PGresult *res = db_exec(db, "SELECT record::text FROM collector.messages WHERE id = $1", 1,
	                        p, err, sizeof(err));
	if (!res)
		fail_msg("record: %s", err);
	if (PQntuples(res) != 1)
		fail_msg("message %s is not stored", id);
	json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	assert_non_null(doc);
	return doc;
}

/* The cursor's value (caller frees) or NULL. */
static char *cursor(const char *key)
{
	char err[256];
	const char *p[1] = {key};
	PGresult *res =
	        db_exec(db, "SELECT value FROM collector.cursors WHERE source = 'vk' AND key = $1",
	                1, p, err, sizeof(err));
	if (!res)
		fail_msg("cursor: %s", err);
	char *v = PQntuples(res) ? xstrdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	return v;
}

static void assert_cursor(const char *key, const char *expected)
{
	char *v = cursor(key);
	if (!expected) {
		if (v)
			fail_msg("cursor %s is %s, expected none", key, v);
		return;
	}
	if (!v)
		fail_msg("cursor %s is not stored, expected %s", key, expected);
	assert_string_equal(v, expected);
	free(v);
}

static const char *jstr(const json_t *o, const char *path1, const char *path2)
{
	const json_t *v = json_object_get(o, path1);
	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
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

static struct vk_settings settings(const char *token, const char *communities, const char *keywords)
{
	static char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/vk/method", fake_port);
	struct vk_settings s = {
	        .api_url = url,
	        .access_token = (char *)(uintptr_t)token,
	        .api_version = "5.199",
	        .communities = (char *)(uintptr_t)communities,
	        .keywords = (char *)(uintptr_t)keywords,
	        .comment_posts = 5,
	        .interval_ms = 60000,
	};
	return s;
}

/* Replaces the VK source (a "restart": new state, same database). */
static struct source *make_source(const struct vk_settings *s)
{
	char err[256];
	source_set_free(&sources);
	if (vk_sources(s, &sources, err, sizeof(err)) < 0)
		fail_msg("vk_sources: %s", err);
	assert_int_equal(sources.n, 1);
	assert_string_equal(sources.items[0]->name, "vk");
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

/* A fresh collector schema, collector and (when world is not NULL) fake. */
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

/* Every wall page, the comments of the recent posts, exact records and cursors, paced. */
static void test_walls_comments_and_cursors(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct vk_settings s = settings(VK_TOKEN, BIG "," SMALL, NULL);
	struct source *src = make_source(&s);

	int64_t t0 = time_mono_ms();
	struct poll_result r = poll_once(src);
	int64_t took = time_mono_ms() - t0;
	assert_ok(&r);
	assert_int_equal(r.fetched, 132 + 3 + 1);
	assert_int_equal(count_rows("vk:%"), 136);
	assert_int_equal(count_rows("vk:" BIG "\\_%\\_c%"), 3);
	assert_int_equal(count_rows("vk:-20001\\_5\\_c%"), 0); /* post 5 is not recent */

	/* BIG's wall is two pages of 100; SMALL's one; comments only where there are some. */
	long walls = fake_requests("wall.get"), comments = fake_requests("wall.getComments");
	assert_int_equal(walls, 3);
	assert_int_equal(comments, 2);
	/* 3 requests per second: n requests take at least (n - 1) gaps of 334 ms. */
	assert_true(took >= (walls + comments - 1) * 330);

	char text[256];
	post_text(77, text, sizeof(text));
	json_t *p77 = record("vk:-20001_77");
	assert_string_equal(jstr(p77, "text", NULL), text);
	assert_string_equal(jstr(p77, "kind", NULL), "post");
	assert_string_equal(jstr(p77, "external_id", NULL), "-20001_77");
	assert_string_equal(jstr(p77, "url", NULL), "https://vk.com/wall-20001_77");
	assert_string_equal(jstr(p77, "community", "id"), BIG);
	assert_string_equal(jstr(p77, "community", "name"), BIG_NAME);
	assert_string_equal(jstr(p77, "author", "id"), "id700");
	assert_string_equal(jstr(p77, "author", "name"), "Пётр Чебодаев");
	assert_string_equal(jstr(p77, "thread", "owner_id"), BIG);
	assert_string_equal(jstr(p77, "thread", "post_id"), "77");
	json_decref(p77);

	json_t *geo = record("vk:-20002_131");
	assert_string_equal(jstr(geo, "text", NULL),
	                    "На улице Кирова у дома 12 открытый люк, кто-нибудь упадёт");
	assert_string_equal(jstr(geo, "location", "address"), "ул. Кирова, 12");
	assert_float_equal(
	        json_number_value(json_object_get(json_object_get(geo, "location"), "lat")),
	        54.0012, 1e-6);
	assert_float_equal(
	        json_number_value(json_object_get(json_object_get(geo, "location"), "lon")),
	        90.2503, 1e-6);
	assert_string_equal(jstr(geo, "author", "name"), "Алёна Тодышева");
	json_decref(geo);

	json_t *admin = record("vk:-20002_132");
	assert_string_equal(jstr(admin, "author", "id"), "club20002");
	assert_string_equal(jstr(admin, "author", "name"), SMALL_NAME);
	json_decref(admin);

	json_t *c = record("vk:-20001_130_c134");
	assert_string_equal(jstr(c, "kind", NULL), "comment");
	assert_string_equal(jstr(c, "parent_id", NULL), "vk:-20001_130");
	assert_string_equal(jstr(c, "text", NULL), "Писал в прокуратуру, жду ответа");
	assert_string_equal(jstr(c, "author", "id"), "id902");
	assert_string_equal(jstr(c, "author", "name"), "Денис Ултургашев");
	assert_string_equal(jstr(c, "url", NULL), "https://vk.com/wall-20001_130?reply=134");
	assert_string_equal(jstr(c, "thread", "comment_id"), "134");
	assert_string_equal(jstr(c, "community", "name"), BIG_NAME);
	json_decref(c);

	assert_cursor("wall:" BIG, "130");
	assert_cursor("wall:" SMALL, "132");
	assert_cursor("comments:-20001_130", "135");
	assert_cursor("comments:-20002_131", "137");
	assert_cursor("comments:-20001_5", NULL);
}

/* A new source object on the same database reads only what is new. */
static void test_resume_after_restart(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct vk_settings s = settings(VK_TOKEN, BIG "," SMALL, NULL);
	struct poll_result r = poll_once(make_source(&s));
	assert_ok(&r);
	assert_int_equal(count_rows("vk:%"), 136);
	long walls = fake_requests("wall.get");

	struct lines l = {0};
	vk_line(&l, 138, BIG, BIG_NAME, "710", "Роман Кичеев", "post", 0, 5,
	        "Новый пост: на Пушкина 40 прорвало трубу, вода во дворе");
	vk_line(&l, 139, BIG, BIG_NAME, "711", "Юлия Асочакова", "post", 0, 4,
	        "Ещё новый: в садике на Чертыгашева нет горячей воды");
	vk_line(&l, 140, BIG, BIG_NAME, "712", "Антон Сагалаков", "comment", 139, 3,
	        "В нашем садике тоже, детей отправляют домой");
	vk_line(&l, 141, BIG, BIG_NAME, "713", "Галина Майнагашева", "comment", 130, 2,
	        "Мусор так и не вывезли, уже неделя");
	fake_add(l.buf);
	free(l.buf);

	struct source *src = make_source(&s); /* the restart */
	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(r.fetched, 4);
	assert_int_equal(count_rows("vk:%"), 140);
	assert_int_equal(metric_value(coll.messages, "vk", "duplicate"), 0);
	assert_int_equal(fake_requests("wall.get") - walls, 2); /* one page each: cursor reached */
	json_t *c = record("vk:-20001_139_c140");
	assert_string_equal(jstr(c, "parent_id", NULL), "vk:-20001_139");
	json_decref(c);
	json_decref(record("vk:-20001_130_c141"));
	assert_cursor("wall:" BIG, "139");
	assert_cursor("comments:-20001_130", "141");
	assert_cursor("comments:-20001_139", "140");

	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(r.fetched, 0);
	assert_int_equal(count_rows("vk:%"), 140);
}

/* VK's error codes become the runner's statuses; nothing is stored, no cursor moves. */
static void test_error_codes(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct vk_settings s = settings(VK_TOKEN, BIG "," SMALL, NULL);
	struct source *src = make_source(&s);
	static const struct {
		int code;
		enum poll_status status;
	} cases[] = {
	        {6, POLL_RATE_LIMITED}, {9, POLL_RATE_LIMITED}, {29, POLL_RATE_LIMITED},
	        {5, POLL_FAILED},       {15, POLL_FAILED},      {17, POLL_FAILED},
	        {27, POLL_FAILED},      {28, POLL_FAILED},      {10, POLL_RETRY},
	        {1, POLL_RETRY},        {100, POLL_RETRY},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char fault[96];
		snprintf(fault, sizeof(fault), "{\"api\":\"vk\",\"error_code\":%d,\"count\":1}",
		         cases[i].code);
		fake_fault(fault);
		struct poll_result r = poll_once(src);
		if (r.status != cases[i].status)
			fail_msg("VK error %d: status %d, expected %d (%s)", cases[i].code,
			         r.status, cases[i].status, r.error);
		char code[16];
		snprintf(code, sizeof(code), "%d", cases[i].code);
		assert_non_null(strstr(r.error, code));
		assert_null(strstr(r.error, VK_TOKEN));
		if (cases[i].code == 6)
			assert_int_equal(r.retry_after_ms, 1000);
		assert_int_equal(r.fetched, 0);
		assert_int_equal(count_rows("vk:%"), 0);
		assert_cursor("wall:" BIG, NULL);
	}
	struct poll_result r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(count_rows("vk:%"), 136);
}

/* A rate limit on the comments leaves the walls read and the comment cursors unmoved. */
static void test_rate_limited_comments(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct vk_settings s = settings(VK_TOKEN, BIG, NULL);
	struct source *src = make_source(&s);

	fake_fault("{\"api\":\"vk\",\"method\":\"wall.getComments\",\"error_code\":6,\"count\":1}");
	struct poll_result r = poll_once(src);
	assert_int_equal(r.status, POLL_RATE_LIMITED);
	assert_int_equal(count_rows("vk:-20001\\_%"), 130);
	assert_int_equal(count_rows("vk:%\\_c%"), 0);
	assert_cursor("wall:" BIG, "130");
	assert_cursor("comments:-20001_130", NULL);

	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(r.fetched, 3);
	assert_int_equal(count_rows("vk:-20001\\_130\\_c%"), 3);
	assert_cursor("comments:-20001_130", "135");
}

/* A wrong token needs an operator and says which variable; the token is never echoed. */
static void test_invalid_token(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct vk_settings s = settings("not-the-token-77", BIG, "мусор");
	struct poll_result r = poll_once(make_source(&s));
	assert_int_equal(r.status, POLL_FAILED);
	assert_non_null(strstr(r.error, "VK_ACCESS_TOKEN"));
	assert_null(strstr(r.error, "not-the-token-77"));
	assert_int_equal(count_rows("%"), 0);
}

/* HTTP 5xx and an unreachable API are retried; the database failing is retried too, and no
 * cursor moves past what was not stored. */
static void test_server_network_and_store_errors(void **state)
{
	(void)state;
	char *world = standard_world();
	start(world);
	free(world);
	struct vk_settings s = settings(VK_TOKEN, BIG "," SMALL, NULL);
	struct source *src = make_source(&s);

	fake_fault("{\"api\":\"vk\",\"status\":502}");
	struct poll_result r = poll_once(src);
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "502"));
	assert_int_equal(count_rows("%"), 0);

	sql("ALTER TABLE collector.messages RENAME TO messages_away");
	r = poll_once(src);
	sql("ALTER TABLE collector.messages_away RENAME TO messages");
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "store"));
	assert_int_equal(count_rows("%"), 0);
	assert_cursor("wall:" BIG, NULL);

	r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(count_rows("vk:%"), 136);

	/* Nobody listens on the API's port any more. */
	testproc_stop(&fake, SIGTERM, 3000);
	r = poll_once(src);
	assert_int_equal(r.status, POLL_RETRY);
	assert_null(strstr(r.error, VK_TOKEN));
	assert_cursor("wall:" BIG, "130");
}

/* newsfeed.search: case-insensitive keyword, next_from pages, start_time from the cursor. */
static void test_search(void **state)
{
	(void)state;
	struct lines l = {0};
	char text[256];
	int id = 0;
	for (int i = 0; i < 105; i++) {
		snprintf(text, sizeof(text),
		         i % 2 ? "ОТОПЛЕНИЕ так и не дали, дом %d на Ленина замерзает"
		               : "Когда включат отопление в доме %d по Комарова?",
		         i + 1);
		vk_line(&l, ++id, "-20009", "Хакасия: тепло и свет", "820", "Лидия Унзыкова",
		        "post", 0, 300 - i, text);
	}
	for (int i = 0; i < 3; i++)
		vk_line(&l, ++id, "-20009", "Хакасия: тепло и свет", "821", "Павел Кокова", "post",
		        0, 50 + i, "Продам дрова, берёза, с доставкой");
	/* Older than a day: newsfeed.search does not reach it without a start_time. */
	vk_line(&l, ++id, "-20009", "Хакасия: тепло и свет", "822", "Вера Тюмерова", "post", 0,
	        2000, "Прошлой зимой отопление дали вовремя, спасибо");
	start(l.buf);
	free(l.buf);

	struct vk_settings s = settings(VK_TOKEN, NULL, "отопление");
	struct source *src = make_source(&s);
	struct poll_result r = poll_once(src);
	assert_ok(&r);
	assert_int_equal(r.fetched, 105);
	assert_int_equal(count_rows("vk:-20009\\_%"), 105);
	assert_int_equal(fake_requests("newsfeed.search"), 2);
	json_t *p = record("vk:-20009_2");
	assert_string_equal(jstr(p, "text", NULL),
	                    "ОТОПЛЕНИЕ так и не дали, дом 2 на Ленина замерзает");
	assert_string_equal(jstr(p, "community", "name"), "Хакасия: тепло и свет");
	assert_string_equal(jstr(p, "author", "name"), "Лидия Унзыкова");
	json_decref(p);

	/* The cursor is the newest post's date. */
	char err[256];
	PGresult *res = db_exec(db,
	                        "SELECT extract(epoch FROM max(posted_at))::bigint::text FROM "
	                        "collector.messages",
	                        0, NULL, err, sizeof(err));
	assert_non_null(res);
	char *newest = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_cursor("search:отопление", newest);
	free(newest);

	struct lines more = {0};
	vk_line(&more, 200, "-20009", "Хакасия: тепло и свет", "823", "Кирилл Тохтобин", "post", 0,
	        0, "Отопление дали только в половине квартир");
	fake_add(more.buf);
	free(more.buf);
	r = poll_once(src);
	assert_ok(&r);
	/* start_time is inclusive: the previous newest post comes again, as a duplicate. */
	assert_int_equal(r.fetched, 2);
	assert_int_equal(count_rows("vk:-20009\\_%"), 106);
	assert_int_equal(metric_value(coll.messages, "vk", "duplicate"), 1);
}

/* The configuration: VK off without a token, every bad variable named. */
static void test_configuration(void **state)
{
	(void)state;
	struct source_set set = {0};
	char err[256];
	struct vk_settings s = {.api_url = "http://127.0.0.1:1/vk/method", .api_version = "5.199"};

	assert_int_equal(vk_sources(&s, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);

	s.access_token = "t";
	assert_int_equal(vk_sources(&s, &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VK_COMMUNITIES"));

	s.communities = "-1, abc";
	assert_int_equal(vk_sources(&s, &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VK_COMMUNITIES"));
	assert_non_null(strstr(err, "abc"));

	s.communities = "-1=Мэрия, -2";
	s.comment_posts = 101;
	assert_int_equal(vk_sources(&s, &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VK_COMMENT_POSTS"));

	s.comment_posts = 10;
	s.api_url = "ftp://example";
	assert_int_equal(vk_sources(&s, &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VK_API_URL"));

	s.api_url = "http://127.0.0.1:1/vk/method";
	assert_int_equal(vk_sources(&s, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.items[0]->name, "vk");
	source_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_configuration),
	        cmocka_unit_test_teardown(test_walls_comments_and_cursors, teardown),
	        cmocka_unit_test_teardown(test_resume_after_restart, teardown),
	        cmocka_unit_test_teardown(test_error_codes, teardown),
	        cmocka_unit_test_teardown(test_rate_limited_comments, teardown),
	        cmocka_unit_test_teardown(test_invalid_token, teardown),
	        cmocka_unit_test_teardown(test_server_network_and_store_errors, teardown),
	        cmocka_unit_test_teardown(test_search, teardown),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
