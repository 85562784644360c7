/*
 * Unit tests of the collector's normalisation: HTML to text, entities, whitespace, invalid
 * UTF-8, VK mention markup, links and mentions, and the finishing of a message (id, defaults,
 * validation naming the field).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "xalloc.h"

static void expect_text(const char *in, const char *want)
{
	char *got = normalize_text(in, strlen(in));
	if (strcmp(got, want) != 0)
		fail_msg("normalize_text(\"%s\")\n  got  \"%s\"\n  want \"%s\"", in, got, want);
	free(got);
}

static void test_html_to_text(void **state)
{
	(void)state;
	expect_text("<p>Нет отопления</p><p>уже 3 дня!</p>", "Нет отопления\nуже 3 дня!");
	expect_text("Двор<br>не убран<br/>совсем", "Двор\nне убран\nсовсем");
	expect_text("<b>Яма</b> на <a href=\"https://x.example/?a=1&b=2\">Ленина</a>",
	            "Яма на Ленина");
	expect_text("<script>alert('x')</script>Текст<style>p{color:red}</style> после",
	            "Текст после");
	expect_text("<!-- скрыто -->видно", "видно");
	expect_text("a < b и c > d", "a < b и c > d");
	expect_text("<div title='a > b'>внутри</div>", "внутри");
	expect_text("незакрытый <b тег", "незакрытый");
}

static void test_entities(void **state)
{
	(void)state;
	expect_text("&laquo;Водоканал&raquo; &mdash; опять &amp; снова",
	            "«Водоканал» — опять & снова");
	expect_text("&#1040;&#x431;&#X430;кан", "Абакан");
	expect_text("&nbsp;ул.&nbsp;Ленина,&nbsp;45&nbsp;", "ул. Ленина, 45");
	expect_text("&unknown; &amp &#xZZ; &#0;", "&unknown; &amp &#xZZ; \xEF\xBF\xBD");
	expect_text("пере&shy;нос", "перенос");
}

static void test_whitespace_and_control(void **state)
{
	(void)state;
	expect_text("  много   пробелов\t\tи табов  ", "много пробелов и табов");
	expect_text("строка\r\n\r\n\r\n\nещё", "строка\nещё");
	expect_text("звонок\x07 и \x1b[0m", "звонок и [0m");
	expect_text("   ", "");
}

static void test_invalid_utf8_replaced(void **state)
{
	(void)state;
	expect_text("плохой \xff байт", "плохой \xEF\xBF\xBD байт");
	expect_text("обрез \xD0", "обрез \xEF\xBF\xBD");
	expect_text("overlong \xC0\xAF", "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
}

static void fill(struct message *m, const char *text)
{
	memset(m, 0, sizeof(*m));
	m->source = xstrdup("vk");
	m->external_id = xstrdup("-10001_42");
	m->text = xstrdup(text);
	m->posted_at = 1796000000000;
}

static void test_message_finished(void **state)
{
	struct message m;
	struct field_error e;
	(void)state;

	fill(&m, "[id123|Иван], <b>посмотрите</b>: https://vk.com/wall-1_2. Пишу @abakan_adm и "
	         "[club77|Мэрию] (@gkh.abakan), e-mail a@b.ru");
	assert_int_equal(normalize_message(&m, &e), 0);
	assert_string_equal(m.id, "vk:-10001_42");
	assert_string_equal(m.text, "Иван, посмотрите: https://vk.com/wall-1_2. Пишу @abakan_adm и "
	                            "Мэрию (@gkh.abakan), e-mail a@b.ru");
	assert_int_equal(m.revision, 1);
	assert_true(m.received_at > 0);
	char *links = json_dumps(m.links, JSON_COMPACT);
	char *mentions = json_dumps(m.mentions, JSON_COMPACT);
	assert_string_equal(links, "[\"https://vk.com/wall-1_2\"]");
	assert_string_equal(mentions, "[\"id123\",\"club77\",\"@abakan_adm\",\"@gkh.abakan\"]");
	free(links);
	free(mentions);
	message_clear(&m);
}

static void test_message_rejections_name_the_field(void **state)
{
	struct message m;
	struct field_error e;
	(void)state;

	fill(&m, "<p> </p>&nbsp;");
	assert_int_equal(normalize_message(&m, &e), -1);
	assert_string_equal(e.field, "text");
	message_clear(&m);

	char *big = xmalloc(MESSAGE_MAX_TEXT_CHARS * 2 + 16);
	for (int i = 0; i < MESSAGE_MAX_TEXT_CHARS + 1; i++)
		memcpy(big + i * 2, "я", 2);
	big[(MESSAGE_MAX_TEXT_CHARS + 1) * 2] = '\0';
	fill(&m, big);
	assert_int_equal(normalize_message(&m, &e), -1);
	assert_string_equal(e.field, "text");
	message_clear(&m);
	/* Markup that disappears brings an over-long post under the limit: it is the text that
	 * counts, not the HTML. */
	big[(MESSAGE_MAX_TEXT_CHARS - 1) * 2] = '\0';
	char *wrapped = xasprintf("<div><b>%s</b></div>", big);
	fill(&m, wrapped);
	assert_int_equal(normalize_message(&m, &e), 0);
	message_clear(&m);
	free(wrapped);
	free(big);

	fill(&m, "текст");
	free(m.external_id);
	m.external_id = xmalloc(300);
	memset(m.external_id, '7', 299);
	m.external_id[299] = '\0';
	assert_int_equal(normalize_message(&m, &e), -1);
	assert_string_equal(e.field, "external_id");
	message_clear(&m);

	fill(&m, "текст");
	free(m.source);
	m.source = xstrdup("VK!");
	assert_int_equal(normalize_message(&m, &e), -1);
	assert_string_equal(e.field, "source");
	message_clear(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_html_to_text),
	        cmocka_unit_test(test_entities),
	        cmocka_unit_test(test_whitespace_and_control),
	        cmocka_unit_test(test_invalid_utf8_replaced),
	        cmocka_unit_test(test_message_finished),
	        cmocka_unit_test(test_message_rejections_name_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
