/*
 * Unit tests of the RSS adapter's parsing (services/collector/rss.h), no network or database:
 * the RFC 822 date parser driven by a table of good and bad dates, and rss_parse on RSS 2.0,
 * RSS 1.0 and Atom documents, malformed XML and entity bombs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "rss.h"
#include "timefmt.h"
#include "xalloc.h"

#define NOW_MS 1800000000000LL /* 2027-01-15T08:00:00Z: the poll time given to rss_parse */

/* ---- dates ---------------------------------------------------------------------------------- */

static void test_date_good(void **state)
{
	static const struct {
		const char *in;
		const char *utc; /* rfc3339_format of the result */
	} cases[] = {
	        {"Sat, 28 Nov 2026 13:20:57 +0700", "2026-11-28T06:20:57.000Z"},
	        {"Sat, 28 Nov 2026 13:20:57 GMT", "2026-11-28T13:20:57.000Z"},
	        {"28 Nov 2026 13:20:57 +0000", "2026-11-28T13:20:57.000Z"},
	        {"Sat, 28 Nov 2026 13:20 +0700", "2026-11-28T06:20:00.000Z"},
	        {"Sat,  1 Nov 2026 00:00:00 UT", "2026-11-01T00:00:00.000Z"},
	        {"Sun, 1 Nov 2026 00:00:00 UTC", "2026-11-01T00:00:00.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 -0500", "2026-03-02T14:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 EST", "2026-03-02T14:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 EDT", "2026-03-02T13:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 CST", "2026-03-02T15:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 CDT", "2026-03-02T14:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 MST", "2026-03-02T16:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 MDT", "2026-03-02T15:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 PST", "2026-03-02T17:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 PDT", "2026-03-02T16:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 Z", "2026-03-02T09:05:01.000Z"},
	        {"Mon, 02 Mar 2026 09:05:01 A", "2026-03-02T09:05:01.000Z"}, /* military: UTC */
	        {"mon, 02 mar 2026 09:05:01 gmt", "2026-03-02T09:05:01.000Z"},
	        {"Sat, 28 Nov 26 13:20:57 +0700", "2026-11-28T06:20:57.000Z"},  /* 2-digit year */
	        {"Sat, 28 Nov 99 13:20:57 +0000", "1999-11-28T13:20:57.000Z"},  /* >= 50: 19xx */
	        {"Sat, 28 Nov 126 13:20:57 +0000", "2026-11-28T13:20:57.000Z"}, /* 3 digits */
	        {"  Sat ,\t28  Nov\t2026 13:20:57   +0700  ", "2026-11-28T06:20:57.000Z"},
	        {"Sat, 28 Nov 2026 13:20:57 +0300 (MSK)", "2026-11-28T10:20:57.000Z"},
	        {"Thu, 29 Feb 2024 12:00:00 +0000", "2024-02-29T12:00:00.000Z"},
	        {"Fri, 01 Jan 2027 02:00:00 +0700", "2026-12-31T19:00:00.000Z"},
	        {"Wed, 31 Dec 2025 23:59:60 +0000", "2026-01-01T00:00:00.000Z"}, /* leap second */
	        /* A wrong day name is accepted: the date itself is unambiguous. */
	        {"Mon, 28 Nov 2026 13:20:57 +0700", "2026-11-28T06:20:57.000Z"},
	        {"Sat, 28 Nov 2026 13:20:57 -2359", "2026-11-29T13:19:57.000Z"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -1;
		char buf[32];

		if (rss_date_parse(cases[i].in, &ms) != 0)
			fail_msg("rejected: \"%s\"", cases[i].in);
		rfc3339_format(ms, buf);
		if (strcmp(buf, cases[i].utc) != 0)
			fail_msg("\"%s\": got %s, want %s", cases[i].in, buf, cases[i].utc);
	}
}

static void test_date_bad(void **state)
{
	static const char *const cases[] = {
	        "",
	        "   ",
	        "2026-11-28T13:20:57+07:00",       /* RFC 3339 is not RFC 822 */
	        "Sat 28 Nov 2026 13:20:57 +0700",  /* day name without comma */
	        "Sab, 28 Nov 2026 13:20:57 +0700", /* not a day name */
	        "Saturday, 28 Nov 2026 13:20:57 +0700",
	        "Sat, 28 November 2026 13:20:57 +0700",
	        "Sat, 28 Noy 2026 13:20:57 +0700",
	        "Sat, 28 Nov 2026 13:20:57",        /* no zone */
	        "Sat, 28 Nov 2026 13:20:57 +07:00", /* colon in offset */
	        "Sat, 28 Nov 2026 13:20:57 +070",   /* short offset */
	        "Sat, 28 Nov 2026 13:20:57 +2400",  /* offset hours */
	        "Sat, 28 Nov 2026 13:20:57 +0760",  /* offset minutes */
	        "Sat, 28 Nov 2026 13:20:57 MSK",    /* not an RFC 5322 zone name */
	        "Sat, 28 Nov 2026 13:20:57 J",      /* J is no military zone */
	        "Sat, 28 Nov 2026 24:00:00 +0000",
	        "Sat, 28 Nov 2026 13:60:00 +0000",
	        "Sat, 28 Nov 2026 13:20:61 +0000",
	        "Sat, 28 Nov 2026 13:20:60 +0000", /* leap second not at 23:59:60 UTC */
	        "Sat, 28 Nov 2026 1:20:57 +0000",  /* one-digit hour */
	        "Sat, 28 Nov 2026 13:2:57 +0000",
	        "Sat, 0 Nov 2026 13:20:57 +0000",
	        "Sat, 31 Nov 2026 13:20:57 +0000", /* no 31st of November */
	        "Fri, 29 Feb 2026 13:20:57 +0000", /* not a leap year */
	        "Sat, 123 Nov 2026 13:20:57 +0000",
	        "Sat, 28 Nov 20266 13:20:57 +0000",
	        "Sat, 28 Nov 2 13:20:57 +0000",
	        "Sat, 28 Nov 2026 13:20:57 +0700 trailing",
	        "Sat, 28 Nov 2026 13:20:57 +0700 (unclosed",
	        "Sat, 28Nov 2026 13:20:57 +0700",
	        "Sat, 28 Nov2026 13:20:57 +0700",
	        "Sat, 28 Nov 2026 13:20:57+0700",
	        "Sat, -1 Nov 2026 13:20:57 +0700",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = 12345;

		if (rss_date_parse(cases[i], &ms) == 0)
			fail_msg("accepted: \"%s\"", cases[i]);
		assert_int_equal(ms, 12345); /* untouched on failure */
	}
	assert_int_equal(rss_date_parse(NULL, NULL), -1);
}

/* ---- documents ------------------------------------------------------------------------------ */

static struct rss_item *parse_ok(const char *xml, size_t *n)
{
	struct rss_item *items = NULL;
	char err[256] = "";

	if (rss_parse(xml, strlen(xml), "https://news.example/khakassia/rss", "khakassia-info",
	              NOW_MS, &items, n, err, sizeof(err)) != 0)
		fail_msg("rss_parse: %s", err);
	return items;
}

static void assert_time(int64_t ms, const char *want)
{
	char buf[32];

	rfc3339_format(ms, buf);
	assert_string_equal(buf, want);
}

static const char rss2[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
        "     xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n"
        "<channel>\n"
        "  <title>Хакасия-Инфо &amp; новости</title>\n"
        "  <link>https://news.example/khakassia/</link>\n"
        "  <description>Лента</description>\n"
        "  <item>\n"
        "    <title>В Черногорске дом без тепла</title>\n"
        "    <link>https://news.example/khakassia/2001</link>\n"
        "    <guid isPermaLink=\"false\">n2001</guid>\n"
        "    <description><![CDATA[<p>Жильцы дома №75 по ул. Советской: +12 в "
        "квартирах.</p>]]></description>\n"
        "    <pubDate>Sat, 28 Nov 2026 13:20:57 +0700</pubDate>\n"
        "    <dc:creator>Редакция</dc:creator>\n"
        "  </item>\n"
        "  <item>\n"
        "    <title>Без guid: ссылка вместо него</title>\n"
        "    <link>/khakassia/2002</link>\n"
        "    <content:encoded>&lt;b&gt;Полный&lt;/b&gt; текст</content:encoded>\n"
        "    <author>editor@news.example (Иван Петров)</author>\n"
        "    <pubDate>not a date</pubDate>\n"
        "  </item>\n"
        "  <item>\n"
        "    <description>Только описание, без заголовка и ссылки</description>\n"
        "    <pubDate>2026-11-27T10:00:00+07:00</pubDate>\n"
        "  </item>\n"
        "</channel>\n"
        "</rss>\n";

static void test_parse_rss2(void **state)
{
	size_t n = 0;
	struct rss_item *items = parse_ok(rss2, &n);
	struct message *m;

	(void)state;
	assert_int_equal(n, 3);

	m = &items[0].msg;
	assert_string_equal(m->source, "rss");
	assert_string_equal(m->kind, "post");
	/* A guid that is not a URI is unique only within its feed: scoped by the feed's name. */
	assert_string_equal(m->external_id, "khakassia-info/n2001");
	assert_string_equal(m->text, "В Черногорске дом без тепла\n<p>Жильцы дома №75 по ул. "
	                             "Советской: +12 в квартирах.</p>");
	assert_true(items[0].dated);
	assert_time(m->posted_at, "2026-11-28T06:20:57.000Z");
	assert_string_equal(m->url, "https://news.example/khakassia/2001");
	assert_string_equal(m->author_name, "Редакция");
	assert_string_equal(m->community_id, "khakassia-info");
	assert_string_equal(m->community_name, "Хакасия-Инфо & новости");
	assert_null(m->author_id);

	/* No guid: the (resolved) link is the id; content:encoded stands in for description;
	 * an unreadable date means the poll's time. */
	m = &items[1].msg;
	assert_string_equal(m->url, "https://news.example/khakassia/2002");
	assert_string_equal(m->external_id, "https://news.example/khakassia/2002");
	assert_string_equal(m->text, "Без guid: ссылка вместо него\n<b>Полный</b> текст");
	assert_string_equal(m->author_name, "Иван Петров");
	assert_false(items[1].dated);
	assert_int_equal(m->posted_at, NOW_MS);

	/* Neither guid nor link: a stable hash of the content, in the feed's scope. An RFC 3339
	 * pubDate is read. */
	m = &items[2].msg;
	assert_non_null(m->external_id);
	assert_int_equal(strncmp(m->external_id, "khakassia-info/h:", 17), 0);
	assert_int_equal(strlen(m->external_id), 15 + 18);
	assert_string_equal(m->text, "Только описание, без заголовка и ссылки");
	assert_null(m->url);
	assert_true(items[2].dated);
	assert_time(m->posted_at, "2026-11-27T03:00:00.000Z");
	{
		size_t n2 = 0;
		struct rss_item *again = parse_ok(rss2, &n2);

		assert_string_equal(again[2].msg.external_id, m->external_id);
		rss_items_free(again, n2);
	}
	rss_items_free(items, n);
}

/* The same document read as two feeds: ids that are URIs (a link, an Atom tag: id) name the
 * item in both, so the same post reached through two feeds is one message; bare guids and
 * content hashes are the feed's own, so two feeds numbering their posts alike never merge. */
static void test_ids_scoped_to_their_feed(void **state)
{
	static const char doc[] =
	        "<rss version=\"2.0\"><channel><title>t</title>"
	        "<item><guid isPermaLink=\"false\">101</guid><title>Яма</title></item>"
	        "<item><link>https://city.example/news/5</link><title>Свет</title></item>"
	        "<item><guid>tag:city.example,2026:7</guid><title>Вода</title></item>"
	        "<item><title>Мусор</title></item>"
	        "</channel></rss>";
	struct rss_item *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	char err[256];

	(void)state;
	assert_int_equal(rss_parse(doc, strlen(doc), "https://a.example/", "abaza", NOW_MS, &a, &na,
	                           err, sizeof(err)),
	                 0);
	assert_int_equal(rss_parse(doc, strlen(doc), "https://b.example/", "sorsk", NOW_MS, &b, &nb,
	                           err, sizeof(err)),
	                 0);
	assert_int_equal(na, 4);
	assert_int_equal(nb, 4);
	assert_string_equal(a[0].msg.external_id, "abaza/101");
	assert_string_equal(b[0].msg.external_id, "sorsk/101");
	assert_string_equal(a[1].msg.external_id, "https://city.example/news/5");
	assert_string_equal(b[1].msg.external_id, a[1].msg.external_id);
	assert_string_equal(a[2].msg.external_id, "tag:city.example,2026:7");
	assert_string_equal(b[2].msg.external_id, a[2].msg.external_id);
	assert_int_equal(strncmp(a[3].msg.external_id, "abaza/h:", 8), 0);
	assert_int_equal(strncmp(b[3].msg.external_id, "sorsk/h:", 8), 0);
	assert_string_equal(a[3].msg.external_id + 6, b[3].msg.external_id + 6);
	rss_items_free(a, na);
	rss_items_free(b, nb);
}

static const char atom[] =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
        "  <title type=\"text\">Форум Абакана</title>\n"
        "  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>\n"
        "  <updated>2026-11-28T06:00:00Z</updated>\n"
        "  <author><name>Администрация форума</name></author>\n"
        "  <entry>\n"
        "    <title>Яма на Некрасова &lt;опять&gt;</title>\n"
        "    <link rel=\"edit\" href=\"https://forum.example/edit/1\"/>\n"
        "    <link href=\"https://forum.example/abakan/t/1\"/>\n"
        "    <id>tag:forum.example,2026:t1</id>\n"
        "    <updated>2026-11-28T07:00:00+07:00</updated>\n"
        "    <published>2026-11-28T05:30:00+07:00</published>\n"
        "    <author><name>Kotofey</name></author>\n"
        "    <summary>Кратко</summary>\n"
        "    <content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Диск "
        "погнул</p><p>Засыпьте!</p></div></content>\n"
        "  </entry>\n"
        "  <entry>\n"
        "    <title type=\"html\">Свет &lt;b&gt;погас&lt;/b&gt;</title>\n"
        "    <link rel=\"alternate\" type=\"text/html\" href=\"t/2\"/>\n"
        "    <id>tag:forum.example,2026:t2</id>\n"
        "    <updated>2026-11-28T08:00:00Z</updated>\n"
        "    <summary type=\"html\">&lt;p&gt;С утра без света&lt;/p&gt;</summary>\n"
        "  </entry>\n"
        "  <entry>\n"
        "    <title>Не из этого пространства имён</title>\n"
        "    <bogus:id xmlns:bogus=\"urn:x\">nope</bogus:id>\n"
        "    <updated>2026-11-28T08:00:00Z</updated>\n"
        "  </entry>\n"
        "</feed>\n";

static void test_parse_atom(void **state)
{
	size_t n = 0;
	struct rss_item *items = parse_ok(atom, &n);
	struct message *m;

	(void)state;
	assert_int_equal(n, 3);
	m = &items[0].msg;
	assert_string_equal(m->external_id, "tag:forum.example,2026:t1");
	/* Plain-text title escaped so that normalisation keeps "<опять>" as text. */
	assert_string_equal(m->text, "Яма на Некрасова &lt;опять&gt;\n"
	                             "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Диск "
	                             "погнул</p><p>Засыпьте!</p></div>");
	assert_string_equal(m->url, "https://forum.example/abakan/t/1");
	assert_time(m->posted_at, "2026-11-27T22:30:00.000Z"); /* published, not updated */
	assert_string_equal(m->author_name, "Kotofey");
	assert_string_equal(m->community_id, "khakassia-info");
	assert_string_equal(m->community_name, "Форум Абакана");

	m = &items[1].msg;
	assert_string_equal(m->text, "Свет <b>погас</b>\n<p>С утра без света</p>");
	assert_string_equal(m->url, "https://news.example/khakassia/t/2"); /* relative to feed */
	assert_time(m->posted_at, "2026-11-28T08:00:00.000Z");             /* updated */
	assert_string_equal(m->author_name, "Администрация форума");       /* the feed's */

	/* No Atom id and no link: hashed, never the foreign element's text. */
	assert_int_equal(strncmp(items[2].msg.external_id, "khakassia-info/h:", 17), 0);
	rss_items_free(items, n);
}

static void test_parse_rss1(void **state)
{
	static const char rdf[] =
	        "<?xml version=\"1.0\"?>\n"
	        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"\n"
	        "         xmlns=\"http://purl.org/rss/1.0/\" "
	        "xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
	        "  <channel rdf:about=\"https://news.example/rayony\"><title>Районные "
	        "вести</title></channel>\n"
	        "  <item rdf:about=\"https://news.example/rayony/7\">\n"
	        "    <title>Бея без интернета</title>\n"
	        "    <link>https://news.example/rayony/7</link>\n"
	        "    <description>Третий день нет связи</description>\n"
	        "    <dc:date>2026-11-28T09:00:00+07:00</dc:date>\n"
	        "    <dc:creator>Районные вести</dc:creator>\n"
	        "  </item>\n"
	        "</rdf:RDF>\n";
	size_t n = 0;
	struct rss_item *items = parse_ok(rdf, &n);

	(void)state;
	assert_int_equal(n, 1);
	assert_string_equal(items[0].msg.external_id, "https://news.example/rayony/7");
	assert_string_equal(items[0].msg.text, "Бея без интернета\nТретий день нет связи");
	assert_time(items[0].msg.posted_at, "2026-11-28T02:00:00.000Z");
	assert_string_equal(items[0].msg.community_name, "Районные вести");
	rss_items_free(items, n);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *xml;
		const char *expect; /* in the error */
	} cases[] = {
	        {"<rss version=\"2.0\"><channel><item><title>обрыв", "XML: "},
	        {"<rss><channel></chanel></rss>", "XML: "},
	        {"", "XML: "},
	        {"not xml at all", "XML: "},
	        {"<html><body>502 Bad Gateway</body></html>", "root element <html>"},
	        /* An HTML entity is not defined in XML without the DTD, which is never loaded. */
	        {"<rss "
	         "version=\"2.0\"><channel><item><title>a&nbsp;b</title></item></channel></rss>",
	         "nbsp"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rss_item *items = (struct rss_item *)1;
		size_t n = 99;
		char err[256] = "";

		if (rss_parse(cases[i].xml, strlen(cases[i].xml), "https://x.example/", "x", NOW_MS,
		              &items, &n, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", cases[i].xml);
		assert_null(items);
		assert_int_equal(n, 0);
		if (!strstr(err, cases[i].expect))
			fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].xml, err,
			         cases[i].expect);
	}
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Billion laughs: ten levels of ten references each, 10^9 "lol"s if expanded. */
static char *billion_laughs(void)
{
	char *doc = xstrdup("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol0 \"lol\">\n");

	for (int level = 1; level <= 9; level++) {
		char *next = xasprintf("%s<!ENTITY lol%d \"", doc, level);

		free(doc);
		for (int i = 0; i < 10; i++) {
			doc = xasprintf("%s&lol%d;", next, level - 1);
			free(next);
			next = doc;
		}
		doc = xasprintf("%s\">\n", next);
		free(next);
	}
	{
		char *full =
		        xasprintf("%s]>\n<rss version=\"2.0\"><channel><title>t</title><item>"
		                  "<guid>bomb</guid><title>&lol9;</title></item></channel></rss>\n",
		                  doc);

		free(doc);
		return full;
	}
}

static void test_entity_bombs_are_not_expanded(void **state)
{
	char *bomb = billion_laughs();
	long before = max_rss_kb();
	struct rss_item *items = NULL;
	size_t n = 0;
	char err[256] = "";
	int rc;

	(void)state;
	rc = rss_parse(bomb, strlen(bomb), "https://x.example/", "x", NOW_MS, &items, &n, err,
	               sizeof(err));
	/* libxml2 refuses the document; were it accepted, the item must still not hold the
	 * expansion. Either way memory stays within a few MB (10^9 "lol"s would be 3 GB). */
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			assert_null(strstr(items[i].msg.text, "lollol"));
		rss_items_free(items, n);
	} else {
		assert_non_null(strstr(err, "XML: "));
	}
	assert_true(max_rss_kb() - before < 64 * 1024);
	free(bomb);

	/* Quadratic blow-up: one 50 kB entity referenced 20000 times (1 GB expanded). The
	 * document is well-formed; the references are skipped, not expanded. */
	{
		char *big = xmalloc(50001);
		char *refs = xmalloc(20000 * 3 + 1);
		char *doc;

		memset(big, 'x', 50000);
		big[50000] = '\0';
		for (int i = 0; i < 20000; i++)
			memcpy(refs + i * 3, "&a;", 3);
		refs[20000 * 3] = '\0';
		doc = xasprintf("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY a \"%s\">]>\n"
		                "<rss version=\"2.0\"><channel><title>t</title><item><guid>q</guid>"
		                "<title>Заголовок %s</title></item></channel></rss>\n",
		                big, refs);
		before = max_rss_kb();
		rc = rss_parse(doc, strlen(doc), "https://x.example/", "x", NOW_MS, &items, &n, err,
		               sizeof(err));
		if (rc == 0) {
			assert_int_equal(n, 1);
			assert_string_equal(items[0].msg.text, "Заголовок");
			rss_items_free(items, n);
		}
		assert_true(max_rss_kb() - before < 64 * 1024);
		free(doc);
		free(refs);
		free(big);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_date_good),
	        cmocka_unit_test(test_date_bad),
	        cmocka_unit_test(test_parse_rss2),
	        cmocka_unit_test(test_ids_scoped_to_their_feed),
	        cmocka_unit_test(test_parse_atom),
	        cmocka_unit_test(test_parse_rss1),
	        cmocka_unit_test(test_parse_errors),
	        cmocka_unit_test(test_entity_bombs_are_not_expanded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
