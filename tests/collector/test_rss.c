/*
 * The RSS / Atom poller (services/collector/rss.c) against demo-sources' feeds and the test
 * PostgreSQL: each test builds the sources from an RSS_FEEDS value, calls their poll directly
 * and checks the rows in collector.messages and collector.cursors. A feed's items are stored
 * once, the second poll is answered 304 (the fake's stats show it), a restart resumes from the
 * cursors, malformed XML and entity bombs are a RETRY that stores nothing, 503 with
 * Retry-After is RATE_LIMITED, Atom is read, and bad RSS_FEEDS values are named.
 *
 * Environment (tests/run.sh): TEST_DATABASE_URL, TEST_BIN_DIR (demo-sources), TEST_WORK_DIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "collector.h"
#include "fetch.h"
#include "metrics.h"
#include "sources.h"
#include "support.h"
#include "testenv.h"
#include "timefmt.h"
#include "xalloc.h"

/* Our own demo lines: three feeds, texts written for these tests. */
#define ABAZA "https://vesti.example/abaza/rss"
#define ABAZA_SLUG "vesti-example-abaza-rss"
#define SORSK "https://vesti.example/sorsk/rss"
#define SORSK_SLUG "vesti-example-sorsk-rss"
#define FORUM "https://forum.example/shira/rss"
#define FORUM_SLUG "forum-example-shira-rss"

static const char posts[] =
        "{\"id\":\"r101\",\"channel\":\"rss\",\"community\":{\"id\":\"" ABAZA "\",\"name\":\"Абаза "
        "сегодня\"},\"author\":{\"id\":\"901\",\"name\":\"Редакция Абазы\"},\"kind\":\"post\","
        "\"minutes_ago\":10,\"title\":\"В Абазе на Ленина прорвало трубу\",\"url\":\"https://"
        "vesti.example/abaza/101\",\"text\":\"Вода идёт по улице, движение перекрыто.\","
        "\"expect\":{\"incident\":true}}\n"
        "{\"id\":\"r102\",\"channel\":\"rss\",\"community\":{\"id\":\"" ABAZA "\",\"name\":\"Абаза "
        "сегодня\"},\"author\":{\"id\":\"901\",\"name\":\"Редакция Абазы\"},\"kind\":\"post\","
        "\"minutes_ago\":60,\"title\":\"Ярмарка выходного дня\",\"url\":\"https://vesti.example/"
        "abaza/102\",\"text\":\"В субботу на площади — мёд, орехи и <b>кедровые</b> шишки.\"}\n"
        "{\"id\":\"r103\",\"channel\":\"rss\",\"community\":{\"id\":\"" ABAZA "\",\"name\":\"Абаза "
        "сегодня\"},\"author\":{\"id\":\"901\",\"name\":\"Редакция Абазы\"},\"kind\":\"post\","
        "\"minutes_ago\":300,\"title\":\"Автобус до Абакана опаздывает\",\"url\":\"https://"
        "vesti.example/abaza/103\",\"text\":\"Пассажиры жалуются: утренний рейс третий день "
        "приходит с опозданием на час.\"}\n"
        "{\"id\":\"r104\",\"channel\":\"rss\",\"community\":{\"id\":\"" ABAZA "\",\"name\":\"Абаза "
        "сегодня\"},\"author\":{\"id\":\"901\",\"name\":\"Редакция Абазы\"},\"kind\":\"post\","
        "\"minutes_ago\":2000,\"title\":\"Школьники заняли призовые места\",\"url\":\"https://"
        "vesti.example/abaza/104\",\"text\":\"Команда школы №1 — вторая на республиканской "
        "олимпиаде.\"}\n"
        "{\"id\":\"r105\",\"channel\":\"rss\",\"community\":{\"id\":\"" ABAZA "\",\"name\":\"Абаза "
        "сегодня\"},\"author\":{\"id\":\"901\",\"name\":\"Редакция Абазы\"},\"kind\":\"post\","
        "\"minutes_ago\":3000,\"title\":\"Снег не вывозят\",\"url\":\"https://vesti.example/"
        "abaza/105\",\"text\":\"Сугробы во дворах по ул. Филимонова выше машин.\"}\n"
        "{\"id\":\"r201\",\"channel\":\"rss\",\"community\":{\"id\":\"" SORSK "\",\"name\":\"Сорск "
        "онлайн\"},\"author\":{\"id\":\"902\",\"name\":\"Сорск онлайн\"},\"kind\":\"post\","
        "\"minutes_ago\":20,\"title\":\"Нет воды на Кирова\",\"url\":\"https://vesti.example/"
        "sorsk/201\",\"text\":\"С утра нет холодной воды в домах 5–9.\"}\n"
        "{\"id\":\"r202\",\"channel\":\"rss\",\"community\":{\"id\":\"" SORSK "\",\"name\":\"Сорск "
        "онлайн\"},\"author\":{\"id\":\"902\",\"name\":\"Сорск онлайн\"},\"kind\":\"post\","
        "\"minutes_ago\":1900,\"title\":\"Каток открыт\",\"url\":\"https://vesti.example/sorsk/"
        "202\",\"text\":\"Каток у ДК залит, вход бесплатный.\"}\n"
        "{\"id\":\"r203\",\"channel\":\"rss\",\"community\":{\"id\":\"" SORSK "\",\"name\":\"Сорск "
        "онлайн\"},\"author\":{\"id\":\"902\",\"name\":\"Сорск онлайн\"},\"kind\":\"post\","
        "\"minutes_ago\":2500,\"title\":\"Фонари на Пионерской\",\"url\":\"https://vesti.example/"
        "sorsk/203\",\"text\":\"Половина фонарей не горит уже неделю.\"}\n"
        "{\"id\":\"r301\",\"channel\":\"rss\",\"community\":{\"id\":\"" FORUM "\",\"name\":\"Форум "
        "Шира\"},\"author\":{\"id\":\"903\",\"name\":\"shira_local\"},\"kind\":\"post\","
        "\"minutes_ago\":45,\"title\":\"Собаки у школы\",\"url\":\"https://forum.example/shira/"
        "t/301\",\"text\":\"Стая бродячих собак каждое утро у школы №2.\\nДети боятся идти.\"}\n"
        "{\"id\":\"r302\",\"channel\":\"rss\",\"community\":{\"id\":\"" FORUM "\",\"name\":\"Форум "
        "Шира\"},\"author\":{\"id\":\"904\",\"name\":\"ozero\"},\"kind\":\"post\","
        "\"minutes_ago\":90,\"url\":\"https://forum.example/shira/t/302\",\"text\":\"Кто знает, "
        "когда откроют каток на озере?\"}\n";

static struct demo_sources demo;
static struct db *db;
static struct collector coll;

/* ---- fixture -------------------------------------------------------------------------------- */

static int setup_group(void **state)
{
	(void)state;
	fetch_global_init();
	db = support_db_connect();
	support_db_migrate(db);
	demo_sources_start(&demo, "test_rss", posts, NULL);
	support_collector_init(&coll);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	/* demo-sources stops cleanly on SIGTERM. */
	assert_int_equal(demo_sources_stop(&demo), 0);
	db_free(db);
	support_collector_release(&coll);
	return 0;
}

/* Each test starts with empty tables and no pending fault. */
static int setup(void **state)
{
	(void)state;
	support_sql(db, "TRUNCATE collector.messages, collector.cursors");
	demo_sources_control(&demo, "/control/fault", "{\"api\":\"rss\",\"count\":0}");
	return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* Builds the sources of one RSS_FEEDS value; fails the test on a configuration error. */
static void make_sources(const char *feeds, struct source_set *set)
{
	struct rss_settings s = {.feeds = (char *)(uintptr_t)feeds, .interval_ms = 60000};
	char err[256] = "";

	memset(set, 0, sizeof(*set));
	if (rss_sources(&s, set, err, sizeof(err)) < 0)
		fail_msg("rss_sources: %s", err);
}

static void poll_once(struct source *src, struct poll_result *res)
{
	memset(res, 0xA5, sizeof(*res)); /* the poll must set every field itself */
	support_poll(src, &coll, db, NULL, res);
}

static long rows(void)
{
	return support_query_long(
	        db, "SELECT count(*) FROM collector.messages WHERE source = 'rss'", NULL);
}

static int64_t posted_at(const char *id)
{
	json_t *r = support_record(db, id, NULL);
	int64_t ms = 0;

	assert_int_equal(rfc3339_parse(json_string_value(json_object_get(r, "posted_at")), &ms), 0);
	json_decref(r);
	return ms;
}

/* Sources for "name=<demo-sources>/path"; the first one is returned. */
static struct source *feed_source(const char *name, const char *path, struct source_set *set)
{
	char *feeds = xasprintf("%s=http://127.0.0.1:%d%s", name, demo.port, path);

	make_sources(feeds, set);
	free(feeds);
	assert_int_equal(set->n, 1);
	return set->items[0];
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_items_stored_once_and_304(void **state)
{
	struct source_set set;
	struct source *src = feed_source("abaza", "/rss/" ABAZA_SLUG, &set);
	struct poll_result res;
	long not_modified = demo_sources_stat(&demo, "rss.not_modified");
	long requests = demo_sources_stat(&demo, "rss." ABAZA_SLUG);
	char *etag, *lm;
	json_t *r;
	int64_t now = time_now_ms(), t;

	(void)state;
	assert_string_equal(src->name, "rss:abaza");
	assert_int_equal(src->interval_ms, 60000);
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 5);
	assert_int_equal(rows(), 5);
	assert_int_equal(demo_sources_stat(&demo, "rss." ABAZA_SLUG), requests + 1);
	assert_int_equal(metric_value(coll.messages, "rss:abaza", "accepted"), 5);

	/* The mapping, after normalisation (HTML of the feed gone, entities decoded). */
	r = support_record(db, "rss:abaza/r102", NULL);
	assert_string_equal(support_jstr(r, "source", NULL), "rss");
	assert_string_equal(support_jstr(r, "external_id", NULL), "abaza/r102");
	assert_string_equal(support_jstr(r, "kind", NULL), "post");
	assert_string_equal(support_jstr(r, "text", NULL),
	                    "Ярмарка выходного дня\nВ субботу на площади — "
	                    "мёд, орехи и <b>кедровые</b> шишки.");
	assert_string_equal(support_jstr(r, "url", NULL), "https://vesti.example/abaza/102");
	assert_string_equal(support_jstr(r, "author", "name"), "Редакция Абазы");
	assert_string_equal(support_jstr(r, "community", "id"), "abaza");
	assert_string_equal(support_jstr(r, "community", "name"), "Абаза сегодня");
	json_decref(r);

	/* pubDate (+0700, second precision) read right: minutes_ago apart, and recent. */
	t = posted_at("rss:abaza/r101");
	assert_true(t <= now && t > now - 11 * 60000 - 2000);
	assert_int_equal(posted_at("rss:abaza/r101") - posted_at("rss:abaza/r103"),
	                 (300 - 10) * 60000LL);
	assert_int_equal(posted_at("rss:abaza/r101") - posted_at("rss:abaza/r105"),
	                 (3000 - 10) * 60000LL);

	etag = support_cursor(db, "rss:abaza", "etag");
	lm = support_cursor(db, "rss:abaza", "last_modified");
	assert_non_null(etag);
	assert_non_null(lm);

	/* Second poll: a conditional GET, answered 304; nothing submitted. */
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("second poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 0);
	assert_int_equal(demo_sources_stat(&demo, "rss.not_modified"), not_modified + 1);
	assert_int_equal(demo_sources_stat(&demo, "rss." ABAZA_SLUG), requests + 2);
	assert_int_equal(rows(), 5);
	assert_int_equal(metric_value(coll.messages, "rss:abaza", "duplicate"), 0);
	free(etag);
	free(lm);
	source_set_free(&set);
}

static void test_resume_after_restart(void **state)
{
	struct source_set set;
	struct source *src = feed_source("sorsk", "/rss/" SORSK_SLUG ".xml", &set);
	struct poll_result res;
	long not_modified;
	static const char more[] =
	        "{\"id\":\"r204\",\"channel\":\"rss\",\"community\":{\"id\":\"" SORSK "\",\"name\":"
	        "\"Сорск онлайн\"},\"author\":{\"id\":\"902\",\"name\":\"Сорск онлайн\"},"
	        "\"kind\":\"post\",\"minutes_ago\":1,\"title\":\"Вода появилась\",\"text\":\"На "
	        "Кирова воду дали в 14:00.\"}\n";

	(void)state;
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_OK);
	assert_int_equal(res.fetched, 3);
	assert_int_equal(rows(), 3);
	source_set_free(&set); /* "restart": the adapter's state is gone, the cursors remain */

	/* Unchanged feed after the restart: still a 304 from the stored ETag. */
	not_modified = demo_sources_stat(&demo, "rss.not_modified");
	src = feed_source("sorsk", "/rss/" SORSK_SLUG ".xml", &set);
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_OK);
	assert_int_equal(res.fetched, 0);
	assert_int_equal(demo_sources_stat(&demo, "rss.not_modified"), not_modified + 1);
	source_set_free(&set);

	/* A new item: the feed changes, every item is submitted again (none is skipped by its
	 * date: a late item with an old date must not be lost) and only the new one is stored. */
	assert_int_equal(demo_sources_request(&demo, "POST", "/control/posts", more, NULL), 200);
	src = feed_source("sorsk", "/rss/" SORSK_SLUG ".xml", &set);
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 4);
	assert_int_equal(rows(), 4);
	assert_int_equal(metric_value(coll.messages, "rss:sorsk", "accepted"), 4);
	assert_int_equal(metric_value(coll.messages, "rss:sorsk", "duplicate"), 3);
	{
		json_t *r = support_record(db, "rss:sorsk/r204", NULL);

		/* No link in the item: the guid still identifies it. */
		assert_null(json_object_get(r, "url"));
		assert_string_equal(support_jstr(r, "text", NULL),
		                    "Вода появилась\nНа Кирова воду дали в "
		                    "14:00.");
		json_decref(r);
	}
	source_set_free(&set);
}

static void test_atom(void **state)
{
	struct source_set set;
	struct source *src = feed_source("shira-forum", "/atom/" FORUM_SLUG, &set);
	struct poll_result res;
	long not_modified = demo_sources_stat(&demo, "rss.not_modified");
	json_t *r;

	(void)state;
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 2);
	r = support_record(db, "rss:shira-forum/r301", NULL);
	assert_string_equal(support_jstr(r, "text", NULL),
	                    "Собаки у школы\nСтая бродячих собак каждое утро "
	                    "у школы №2.\nДети боятся идти.");
	assert_string_equal(support_jstr(r, "url", NULL), "https://forum.example/shira/t/301");
	assert_string_equal(support_jstr(r, "author", "name"), "shira_local");
	assert_string_equal(support_jstr(r, "community", "id"), "shira-forum");
	assert_string_equal(support_jstr(r, "community", "name"), "Форум Шира");
	json_decref(r);
	/* An item without a title: the fake titles it with the start of its text. */
	r = support_record(db, "rss:shira-forum/r302", NULL);
	assert_non_null(strstr(support_jstr(r, "text", NULL), "когда откроют каток на озере?"));
	json_decref(r);
	assert_int_equal(posted_at("rss:shira-forum/r301") - posted_at("rss:shira-forum/r302"),
	                 45 * 60000LL);

	poll_once(src, &res);
	assert_int_equal(res.status, POLL_OK);
	assert_int_equal(res.fetched, 0);
	assert_int_equal(demo_sources_stat(&demo, "rss.not_modified"), not_modified + 1);
	assert_int_equal(rows(), 2);
	source_set_free(&set);
}

static void test_malformed_xml_is_retried(void **state)
{
	struct source_set set;
	struct source *src = feed_source("abaza", "/rss/" ABAZA_SLUG, &set);
	struct poll_result res;

	(void)state;
	demo_sources_fault(
	        &demo,
	        json_pack("{s:s, s:s, s:s}", "api", "rss", "method", ABAZA_SLUG, "body",
	                  "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>Обрыв"
	                  "</item></channel></rss>"));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RETRY);
	if (!strstr(res.error, "XML") || !strstr(res.error, "abaza"))
		fail_msg("error: %s", res.error);
	assert_int_equal(rows(), 0);
	assert_null(support_cursor(db, "rss:abaza", "etag"));

	/* The source keeps working: the next poll gets the real feed. */
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(res.fetched, 5);
	assert_int_equal(rows(), 5);
	source_set_free(&set);
}

static void test_http_errors(void **state)
{
	struct source_set set;
	struct source *src = feed_source("abaza", "/rss/" ABAZA_SLUG, &set);
	struct poll_result res;

	(void)state;
	demo_sources_fault(
	        &demo, json_pack("{s:s, s:i, s:i}", "api", "rss", "status", 503, "retry_after", 7));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RATE_LIMITED);
	assert_int_equal(res.retry_after_ms, 7000);
	assert_non_null(strstr(res.error, "503"));
	assert_int_equal(rows(), 0);

	demo_sources_fault(&demo, json_pack("{s:s, s:i}", "api", "rss", "status", 429));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RATE_LIMITED);
	assert_int_equal(res.retry_after_ms, 0);

	demo_sources_fault(&demo, json_pack("{s:s, s:i}", "api", "rss", "status", 503));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RETRY);

	demo_sources_fault(&demo, json_pack("{s:s, s:i}", "api", "rss", "status", 500));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RETRY);
	assert_non_null(strstr(res.error, "500"));

	demo_sources_fault(&demo, json_pack("{s:s, s:i}", "api", "rss", "status", 410));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_FAILED);
	assert_int_equal(rows(), 0);
	source_set_free(&set);

	/* A feed that does not exist: 404, the configuration needs fixing. */
	src = feed_source("gone", "/rss/no-such-feed", &set);
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_FAILED);
	assert_non_null(strstr(res.error, "404"));
	source_set_free(&set);

	/* Nobody listening: a transient failure, and the URL (it may hold a key) not echoed. */
	{
		char *feeds = xasprintf("closed=http://127.0.0.1:%d/rss/private-key-12345",
		                        testenv_free_port());

		make_sources(feeds, &set);
		free(feeds);
		poll_once(set.items[0], &res);
		assert_int_equal(res.status, POLL_RETRY);
		if (strstr(res.error, "private-key-12345"))
			fail_msg("the feed URL leaked into the error: %s", res.error);
		source_set_free(&set);
	}
	assert_int_equal(rows(), 0);
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void test_entity_bombs(void **state)
{
	struct source_set set;
	struct source *src = feed_source("abaza", "/rss/" ABAZA_SLUG, &set);
	struct poll_result res;
	char *doc = xstrdup("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY l0 \"lol\">\n");
	long before;

	(void)state;
	/* Billion laughs: 10 levels of 10 references, 3 GB if expanded. */
	for (int level = 1; level <= 9; level++) {
		char *next = xasprintf("%s<!ENTITY l%d \"", doc, level);

		free(doc);
		for (int i = 0; i < 10; i++) {
			doc = xasprintf("%s&l%d;", next, level - 1);
			free(next);
			next = doc;
		}
		doc = xasprintf("%s\">\n", next);
		free(next);
	}
	{
		char *full = xasprintf("%s]>\n<rss version=\"2.0\"><channel><title>t</title><item>"
		                       "<guid>bomb</guid><title>Бомба &l9;</title></item></channel>"
		                       "</rss>\n",
		                       doc);

		free(doc);
		doc = full;
	}
	before = max_rss_kb();
	demo_sources_fault(&demo, json_pack("{s:s, s:s}", "api", "rss", "body", doc));
	poll_once(src, &res);
	assert_int_equal(res.status, POLL_RETRY);
	assert_non_null(strstr(res.error, "XML"));
	assert_int_equal(rows(), 0);
	assert_true(max_rss_kb() - before < 64 * 1024);
	free(doc);

	/* Quadratic blow-up: a 20 kB entity referenced 10000 times. Well-formed, so parsed, but
	 * the references are skipped: the item keeps only its own text. */
	{
		char *big = xmalloc(20001), *refs = xmalloc(10000 * 3 + 1);

		memset(big, 'x', 20000);
		big[20000] = '\0';
		for (int i = 0; i < 10000; i++)
			memcpy(refs + i * 3, "&a;", 3);
		refs[30000] = '\0';
		doc = xasprintf(
		        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY a \"%s\">]>\n"
		        "<rss version=\"2.0\"><channel><title>t</title><item><guid>quad</guid>"
		        "<title>Квадрат %s</title><description>Только это</description></item>"
		        "</channel></rss>\n",
		        big, refs);
		free(big);
		free(refs);
	}
	before = max_rss_kb();
	demo_sources_fault(&demo, json_pack("{s:s, s:s}", "api", "rss", "body", doc));
	poll_once(src, &res);
	if (res.status != POLL_OK)
		fail_msg("poll: %d %s", res.status, res.error);
	assert_int_equal(rows(), 1);
	{
		json_t *r = support_record(db, "rss:abaza/quad", NULL);

		assert_string_equal(support_jstr(r, "text", NULL), "Квадрат\nТолько это");
		json_decref(r);
	}
	assert_true(max_rss_kb() - before < 64 * 1024);
	free(doc);
	source_set_free(&set);
}

static void test_feeds_setting(void **state)
{
	static const struct {
		const char *value;
		const char *expect; /* in the error */
	} bad[] = {
	        {"abaza", "entry 1 is not name=url"},
	        {"a=http://x.example/rss,abaza", "entry 2 is not name=url"},
	        {"=http://x.example/rss", "entry 1: the name"},
	        {"a b=http://x.example/rss", "entry 1: the name"},
	        {"a/b=http://x.example/rss", "entry 1: the name"},
	        {"a=ftp://x.example/secret-path", "feed \"a\": the URL must be"},
	        {"a=http://", "feed \"a\": the URL must be"},
	        {"a=", "feed \"a\": the URL must be"},
	        {"a=http://x.example/1,a=http://x.example/2", "feed \"a\" is configured twice"},
	        {"a=http://x.example/1,,b=http://x.example/2", "entry 2 is not name=url"},
	};
	struct source_set set = {0};
	struct rss_settings s = {.interval_ms = 1000};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.feeds = (char *)(uintptr_t)bad[i].value;
		err[0] = '\0';
		if (rss_sources(&s, &set, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].value);
		assert_int_equal(set.n, 0);
		if (!strstr(err, "RSS_FEEDS") || !strstr(err, bad[i].expect))
			fail_msg("%s: error \"%s\" lacks \"%s\"", bad[i].value, err, bad[i].expect);
		assert_null(strstr(err, "secret-path"));
	}

	/* Unset or empty: RSS disabled, no sources. */
	s.feeds = NULL;
	assert_int_equal(rss_sources(&s, &set, err, sizeof(err)), 0);
	s.feeds = (char *)(uintptr_t) "";
	assert_int_equal(rss_sources(&s, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);

	s.feeds = (char *)(uintptr_t) " news=https://news.example/rss , "
	                              "forum.1=HTTP://forum.example/a?x=1 ";
	assert_int_equal(rss_sources(&s, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.items[0]->name, "rss:news");
	assert_string_equal(set.items[1]->name, "rss:forum.1");
	assert_int_equal(set.items[1]->interval_ms, 1000);
	assert_non_null(set.items[0]->poll);
	source_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_items_stored_once_and_304, setup),
	        cmocka_unit_test_setup(test_resume_after_restart, setup),
	        cmocka_unit_test_setup(test_atom, setup),
	        cmocka_unit_test_setup(test_malformed_xml_is_retried, setup),
	        cmocka_unit_test_setup(test_http_errors, setup),
	        cmocka_unit_test_setup(test_entity_bombs, setup),
	        cmocka_unit_test(test_feeds_setting),
	};

	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
