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

#include "collector.h"
#include "fetch.h"
#include "metrics.h"
#include "sources.h"
#include "strbuf.h"
#include "support.h"
#include "timefmt.h"
#include "xalloc.h"

#define VK_TOKEN "vk-test-token-5e1f"
#define TG_TOKEN "tg-test-token-unused"

static struct db *db;
static struct demo_sources fake;
static struct collector coll;
static struct source_set sources;
static volatile sig_atomic_t stop_flag;

/* ---- the world ------------------------------------------------------------------------------ */

/* A VK line of the demo format; the demo id "v%04d" is also its VK id (position + 1). */
static void vk_line(struct strbuf *l, int id, const char *owner, const char *community,
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
	support_ndjson_add(l, o);
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
	struct strbuf l = {0};
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
	support_ndjson_add(&l, geo);
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
	return strbuf_detach(&l);
}

static void fake_start(const char *ndjson)
{
	static const char *const args[] = {"--vk-token", VK_TOKEN, "--telegram-token", TG_TOKEN,
	                                   NULL};

	demo_sources_start(&fake, "test_vk", ndjson, args);
}

/* ---- the collector -------------------------------------------------------------------------- */

static struct vk_settings settings(const char *token, const char *communities, const char *keywords)
{
	static char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/vk/method", fake.port);
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

/* Every wall page, the comments of the recent posts, exact records and cursors, paced. */
static void test_walls_comments_and_cursors(void **state)
{
	(void)state;
	start_standard();
	struct vk_settings s = settings(VK_TOKEN, BIG "," SMALL, NULL);
	struct source *src = make_source(&s);

	int64_t t0 = time_mono_ms();
	struct poll_result r = poll_once(src);
	int64_t took = time_mono_ms() - t0;
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 132 + 3 + 1);
	assert_int_equal(support_count_messages(db, "vk:%"), 136);
	assert_int_equal(support_count_messages(db, "vk:" BIG "\\_%\\_c%"), 3);
	assert_int_equal(support_count_messages(db, "vk:-20001\\_5\\_c%"),
	                 0); /* post 5 is not recent */

	/* BIG's wall is two pages of 100; SMALL's one; comments only where there are some. */
	long walls = demo_sources_stat(&fake, "vk.wall.get"),
	     comments = demo_sources_stat(&fake, "vk.wall.getComments");
	assert_int_equal(walls, 3);
	assert_int_equal(comments, 2);
	/* 3 requests per second: n requests take at least (n - 1) gaps of 334 ms. */
	assert_true(took >= (walls + comments - 1) * 330);

	char text[256];
	post_text(77, text, sizeof(text));
	json_t *p77 = support_record(db, "vk:-20001_77", NULL);
	assert_string_equal(support_jstr(p77, "text", NULL), text);
	assert_string_equal(support_jstr(p77, "kind", NULL), "post");
	assert_string_equal(support_jstr(p77, "external_id", NULL), "-20001_77");
	assert_string_equal(support_jstr(p77, "url", NULL), "https://vk.com/wall-20001_77");
	assert_string_equal(support_jstr(p77, "community", "id"), BIG);
	assert_string_equal(support_jstr(p77, "community", "name"), BIG_NAME);
	assert_string_equal(support_jstr(p77, "author", "id"), "id700");
	assert_string_equal(support_jstr(p77, "author", "name"), "Пётр Чебодаев");
	assert_string_equal(support_jstr(p77, "thread", "owner_id"), BIG);
	assert_string_equal(support_jstr(p77, "thread", "post_id"), "77");
	json_decref(p77);

	json_t *geo = support_record(db, "vk:-20002_131", NULL);
	assert_string_equal(support_jstr(geo, "text", NULL),
	                    "На улице Кирова у дома 12 открытый люк, кто-нибудь упадёт");
	assert_string_equal(support_jstr(geo, "location", "address"), "ул. Кирова, 12");
	assert_float_equal(
	        json_number_value(json_object_get(json_object_get(geo, "location"), "lat")),
	        54.0012, 1e-6);
	assert_float_equal(
	        json_number_value(json_object_get(json_object_get(geo, "location"), "lon")),
	        90.2503, 1e-6);
	assert_string_equal(support_jstr(geo, "author", "name"), "Алёна Тодышева");
	json_decref(geo);

	json_t *admin = support_record(db, "vk:-20002_132", NULL);
	assert_string_equal(support_jstr(admin, "author", "id"), "club20002");
	assert_string_equal(support_jstr(admin, "author", "name"), SMALL_NAME);
	json_decref(admin);

	json_t *c = support_record(db, "vk:-20001_130_c134", NULL);
	assert_string_equal(support_jstr(c, "kind", NULL), "comment");
	assert_string_equal(support_jstr(c, "parent_id", NULL), "vk:-20001_130");
	assert_string_equal(support_jstr(c, "text", NULL), "Писал в прокуратуру, жду ответа");
	assert_string_equal(support_jstr(c, "author", "id"), "id902");
	assert_string_equal(support_jstr(c, "author", "name"), "Денис Ултургашев");
	assert_string_equal(support_jstr(c, "url", NULL),
	                    "https://vk.com/wall-20001_130?reply=134");
	assert_string_equal(support_jstr(c, "thread", "comment_id"), "134");
	assert_string_equal(support_jstr(c, "community", "name"), BIG_NAME);
	json_decref(c);

	support_assert_cursor(db, "vk", "wall:" BIG, "130");
	support_assert_cursor(db, "vk", "wall:" SMALL, "132");
	support_assert_cursor(db, "vk", "comments:-20001_130", "135");
	support_assert_cursor(db, "vk", "comments:-20002_131", "137");
	support_assert_cursor(db, "vk", "comments:-20001_5", NULL);
}

/* A new source object on the same database reads only what is new. */
static void test_resume_after_restart(void **state)
{
	(void)state;
	start_standard();
	struct vk_settings s = settings(VK_TOKEN, BIG "," SMALL, NULL);
	struct poll_result r = poll_once(make_source(&s));
	support_assert_poll_ok(&r);
	assert_int_equal(support_count_messages(db, "vk:%"), 136);
	long walls = demo_sources_stat(&fake, "vk.wall.get");

	struct strbuf l = {0};
	vk_line(&l, 138, BIG, BIG_NAME, "710", "Роман Кичеев", "post", 0, 5,
	        "Новый пост: на Пушкина 40 прорвало трубу, вода во дворе");
	vk_line(&l, 139, BIG, BIG_NAME, "711", "Юлия Асочакова", "post", 0, 4,
	        "Ещё новый: в садике на Чертыгашева нет горячей воды");
	vk_line(&l, 140, BIG, BIG_NAME, "712", "Антон Сагалаков", "comment", 139, 3,
	        "В нашем садике тоже, детей отправляют домой");
	vk_line(&l, 141, BIG, BIG_NAME, "713", "Галина Майнагашева", "comment", 130, 2,
	        "Мусор так и не вывезли, уже неделя");
	demo_sources_control(&fake, "/control/posts", l.buf);
	strbuf_release(&l);

	struct source *src = make_source(&s); /* the restart */
	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 4);
	assert_int_equal(support_count_messages(db, "vk:%"), 140);
	assert_int_equal(metric_value(coll.messages, "vk", "duplicate"), 0);
	assert_int_equal(demo_sources_stat(&fake, "vk.wall.get") - walls,
	                 2); /* one page each: cursor reached */
	json_t *c = support_record(db, "vk:-20001_139_c140", NULL);
	assert_string_equal(support_jstr(c, "parent_id", NULL), "vk:-20001_139");
	json_decref(c);
	json_decref(support_record(db, "vk:-20001_130_c141", NULL));
	support_assert_cursor(db, "vk", "wall:" BIG, "139");
	support_assert_cursor(db, "vk", "comments:-20001_130", "141");
	support_assert_cursor(db, "vk", "comments:-20001_139", "140");

	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 0);
	assert_int_equal(support_count_messages(db, "vk:%"), 140);
}

/* VK's error codes become the runner's statuses; nothing is stored, no cursor moves. */
static void test_error_codes(void **state)
{
	(void)state;
	start_standard();
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
		demo_sources_control(&fake, "/control/fault", fault);
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
		assert_int_equal(support_count_messages(db, "vk:%"), 0);
		support_assert_cursor(db, "vk", "wall:" BIG, NULL);
	}
	struct poll_result r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(support_count_messages(db, "vk:%"), 136);
}

/* A rate limit on the comments leaves the walls read and the comment cursors unmoved. */
static void test_rate_limited_comments(void **state)
{
	(void)state;
	start_standard();
	struct vk_settings s = settings(VK_TOKEN, BIG, NULL);
	struct source *src = make_source(&s);

	demo_sources_control(
	        &fake, "/control/fault",
	        "{\"api\":\"vk\",\"method\":\"wall.getComments\",\"error_code\":6,\"count\":1}");
	struct poll_result r = poll_once(src);
	assert_int_equal(r.status, POLL_RATE_LIMITED);
	assert_int_equal(support_count_messages(db, "vk:-20001\\_%"), 130);
	assert_int_equal(support_count_messages(db, "vk:%\\_c%"), 0);
	support_assert_cursor(db, "vk", "wall:" BIG, "130");
	support_assert_cursor(db, "vk", "comments:-20001_130", NULL);

	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 3);
	assert_int_equal(support_count_messages(db, "vk:-20001\\_130\\_c%"), 3);
	support_assert_cursor(db, "vk", "comments:-20001_130", "135");
}

/* A wrong token needs an operator and says which variable; the token is never echoed. */
static void test_invalid_token(void **state)
{
	(void)state;
	start_standard();
	struct vk_settings s = settings("not-the-token-77", BIG, "мусор");
	struct poll_result r = poll_once(make_source(&s));
	assert_int_equal(r.status, POLL_FAILED);
	assert_non_null(strstr(r.error, "VK_ACCESS_TOKEN"));
	assert_null(strstr(r.error, "not-the-token-77"));
	assert_int_equal(support_count_messages(db, "%"), 0);
}

/* HTTP 5xx and an unreachable API are retried; the database failing is retried too, and no
 * cursor moves past what was not stored. */
static void test_server_network_and_store_errors(void **state)
{
	(void)state;
	start_standard();
	struct vk_settings s = settings(VK_TOKEN, BIG "," SMALL, NULL);
	struct source *src = make_source(&s);

	demo_sources_control(&fake, "/control/fault", "{\"api\":\"vk\",\"status\":502}");
	struct poll_result r = poll_once(src);
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "502"));
	assert_int_equal(support_count_messages(db, "%"), 0);

	support_sql(db, "ALTER TABLE collector.messages RENAME TO messages_away");
	r = poll_once(src);
	support_sql(db, "ALTER TABLE collector.messages_away RENAME TO messages");
	assert_int_equal(r.status, POLL_RETRY);
	assert_non_null(strstr(r.error, "store"));
	assert_int_equal(support_count_messages(db, "%"), 0);
	support_assert_cursor(db, "vk", "wall:" BIG, NULL);

	r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(support_count_messages(db, "vk:%"), 136);

	/* Nobody listens on the API's port any more. */
	demo_sources_stop(&fake);
	r = poll_once(src);
	assert_int_equal(r.status, POLL_RETRY);
	assert_null(strstr(r.error, VK_TOKEN));
	support_assert_cursor(db, "vk", "wall:" BIG, "130");
}

/* newsfeed.search: case-insensitive keyword, next_from pages, start_time from the cursor. */
static void test_search(void **state)
{
	(void)state;
	struct strbuf l = {0};
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
	strbuf_release(&l);

	struct vk_settings s = settings(VK_TOKEN, NULL, "отопление");
	struct source *src = make_source(&s);
	struct poll_result r = poll_once(src);
	support_assert_poll_ok(&r);
	assert_int_equal(r.fetched, 105);
	assert_int_equal(support_count_messages(db, "vk:-20009\\_%"), 105);
	assert_int_equal(demo_sources_stat(&fake, "vk.newsfeed.search"), 2);
	json_t *p = support_record(db, "vk:-20009_2", NULL);
	assert_string_equal(support_jstr(p, "text", NULL),
	                    "ОТОПЛЕНИЕ так и не дали, дом 2 на Ленина замерзает");
	assert_string_equal(support_jstr(p, "community", "name"), "Хакасия: тепло и свет");
	assert_string_equal(support_jstr(p, "author", "name"), "Лидия Унзыкова");
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
	support_assert_cursor(db, "vk", "search:отопление", newest);
	free(newest);

	struct strbuf more = {0};
	vk_line(&more, 200, "-20009", "Хакасия: тепло и свет", "823", "Кирилл Тохтобин", "post", 0,
	        0, "Отопление дали только в половине квартир");
	demo_sources_control(&fake, "/control/posts", more.buf);
	strbuf_release(&more);
	r = poll_once(src);
	support_assert_poll_ok(&r);
	/* start_time is inclusive: the previous newest post comes again, as a duplicate. */
	assert_int_equal(r.fetched, 2);
	assert_int_equal(support_count_messages(db, "vk:-20009\\_%"), 106);
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
