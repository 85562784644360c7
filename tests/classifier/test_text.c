/*
 * Unit tests of the classifier's text pipeline: lower-casing of Cyrillic, Latin and Greek with
 * ё -> е, HTML tags, entities and URLs, the look-alike repair, number and house-number tokens,
 * stop-word flags, Snowball stems (also past the stem cache's capacity), invalid UTF-8, the
 * token limit, and inputs without a terminator (the sanitizer build catches over-reads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "xalloc.h"

static int setup(void **state)
{
	char err[128];

	*state = text_new(err, sizeof(err));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	text_free(*state);
	return 0;
}

/* The tokens of s joined with '|': their words (what 'w'), stems ('s') or flags ('f': N for a
 * number, S for a stop word, - for neither). Caller frees. */
static char *joined(struct text_pipeline *p, const char *s, size_t len, char what)
{
	struct token t[256];
	size_t n = text_tokens(p, s, len, t, 256), used = 0;
	char *out = xmalloc(8 * len + 16);

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *v = what == 'w' ? t[i].word : t[i].stem;
		size_t vl = what == 'w' ? t[i].word_len : t[i].stem_len;
		if (i)
			out[used++] = '|';
		if (what == 'f') {
			out[used++] = t[i].flags & TOKEN_NUMBER ? 'N'
			              : t[i].flags & TOKEN_STOP ? 'S'
			                                        : '-';
			continue;
		}
		assert_int_equal(strlen(v), vl);
		memcpy(out + used, v, vl);
		used += vl;
	}
	out[used] = '\0';
	return out;
}

static void expect_tokens(struct text_pipeline *p, const char *in, char what, const char *want)
{
	char *got = joined(p, in, strlen(in), what);

	if (strcmp(got, want) != 0)
		fail_msg("tokens(%c) of \"%s\"\n  got  \"%s\"\n  want \"%s\"", what, in, got, want);
	free(got);
}

static void test_lower_case(void **state)
{
	struct text_pipeline *p = *state;

	expect_tokens(p, "ПРИВЕТ Мир", 'w', "привет|мир");
	expect_tokens(p, "ЁЛКА Ёж ещё", 'w', "елка|еж|еще");
	expect_tokens(p, "Hello WORLD", 'w', "hello|world");
	/* Ukrainian, Belarusian, Serbian capitals (U+0400..040F) and paired letters further on. */
	expect_tokens(p, "ЇЖАК ЄВА ЎЗЯТЬ ЂАК", 'w', "їжак|єва|ўзять|ђак");
	expect_tokens(p, "ҒАЛЫМ ӘЖЕ Ӏ", 'w', "ғалым|әже|ӏ");
	/* Latin-1 and Latin Extended-A, and Greek. */
	expect_tokens(p, "ÀÉÎÕÜ Straße ŁÓDŹ ŸES", 'w', "àéîõü|straße|łódź|ÿes");
	expect_tokens(p, "ΑΘΗΝΑ", 'w', "αθηνα");
	/* × and ÷ are not letters. */
	expect_tokens(p, "3×4", 'w', "3|4");
}

static void test_html_and_urls(void **state)
{
	struct text_pipeline *p = *state;

	expect_tokens(p, "<p>Нет&nbsp;воды</p><br/>совсем", 'w', "нет|воды|совсем");
	expect_tokens(p, "<a href=\"https://x.ru/?a=1&b=2\">Ленина</a>", 'w', "ленина");
	expect_tokens(p, "<div title='a > b'>внутри</div>", 'w', "внутри");
	expect_tokens(p, "до<!-- скрыто -->после", 'w', "до|после");
	expect_tokens(p, "&#1040;&#x431;&#X430;кан", 'w', "абакан");
	expect_tokens(p, "пере&shy;нос &laquo;цитата&raquo;", 'w', "перенос|цитата");
	/* Not markup: a comparison, an unclosed tag, an unknown or unterminated entity. */
	expect_tokens(p, "a < b и c>d", 'w', "a|b|и|c|d");
	expect_tokens(p, "незакрытый <b тег", 'w', "незакрытый|b|тег");
	expect_tokens(p, "&amp &#xZZ; &#0; R&D", 'w', "amp|xzz|r|d");
	expect_tokens(p, "см. https://vk.com/wall-1_2?x=3 и www.abakan.ru/news, HTTP://A.B", 'w',
	              "см|и");
	expect_tokens(p, "ftp://files/x.zip конец", 'w', "конец");
	/* A URL-like prefix inside a word is part of the word. */
	expect_tokens(p, "awwwww.ru", 'w', "awwwww|ru");
}

static void test_lookalikes(void **state)
{
	struct text_pipeline *p = *state;

	/* Latin o, a, e, c, p typed inside Russian words. */
	expect_tokens(p, "oтoпление Kаток пoдъeзд сapай", 'w', "отопление|каток|подъезд|сарай");
	/* Stress marks: combining accent dropped, precomposed á in a Russian word repaired. */
	expect_tokens(p, "за\xcc\x81мок зáмок", 'w', "замок|замок");
	/* Words with other Latin letters, or Latin only, are left alone. */
	expect_tokens(p, "cafè hello wifi-роутер qуст", 'w', "cafè|hello|wifi|роутер|qуст");
}

static void test_numbers(void **state)
{
	struct text_pipeline *p = *state;

	expect_tokens(p, "д.5, дом 45а, кв.12/3 и 12/3б", 'w', "д|5|дом|45а|кв|12/3|и|12/3б");
	expect_tokens(p, "д.5, дом 45а, кв.12/3 и 12/3б", 'f', "-|N|-|N|-|N|S|N");
	expect_tokens(p, "5этаж кв12 18.02.2021 2-й 12/3/4 7/", 'w',
	              "5|этаж|кв|12|18|02|2021|2|й|12/3|4|7");
	/* A number's stem is itself. */
	expect_tokens(p, "45а", 's', "45а");
}

static void test_stems_and_stop_words(void **state)
{
	struct text_pipeline *p = *state;

	expect_tokens(p, "Нет отопления в домах на улицах", 's', "нет|отоплен|в|дом|на|улиц");
	expect_tokens(p, "Нет отопления в домах на улицах", 'f', "-|-|S|-|S|-");
	/* Negation and absence are not stop words. */
	expect_tokens(p, "не ни без и это", 'f', "-|-|-|S|S");
	/* Words from all over the sorted list: a binary search over a list out of order misses
	 * some of them. */
	static const char *const stops[] = {
	        "а",     "будет", "в",     "вам",  "весь",  "все",  "где", "да",    "для", "до",
	        "его",   "ее",    "если",  "есть", "еще",   "же",   "за",  "здесь", "и",   "из",
	        "им",    "их",    "к",     "как",  "когда", "кто",  "ли",  "мне",   "мы",  "на",
	        "над",   "нас",   "но",    "о",    "он",    "от",   "по",  "под",   "при", "с",
	        "сам",   "со",    "так",   "там",  "то",    "тот",  "ты",  "у",     "уже", "чем",
	        "через", "что",   "чтобы", "эти",  "это",   "этот", "я",
	};
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		if (!text_is_stop_word(stops[i], strlen(stops[i])))
			fail_msg("\"%s\" is not found as a stop word", stops[i]);
	assert_true(text_is_stop_word("а", strlen("а")));
	assert_true(text_is_stop_word("я", strlen("я")));
	assert_true(text_is_stop_word("которые", strlen("которые")));
	assert_true(text_is_stop_word("чтобы", strlen("чтобы")));
	assert_false(text_is_stop_word("нет", strlen("нет")));
	assert_false(text_is_stop_word("надо", strlen("надо")));
	assert_false(text_is_stop_word("", 0));
	assert_false(text_is_stop_word("чтобыы", strlen("чтобыы")));
	assert_false(text_is_stop_word("чтоб", 2)); /* a prefix of a stop word */
}

/* Stems through the pipeline (and its cache) equal Snowball's own, also after the cache has
 * filled and been emptied several times over. */
static void test_stem_cache_agrees_with_snowball(void **state)
{
	struct text_pipeline *p = *state;
	struct sb_stemmer *st = sb_stemmer_new("russian", "UTF_8");
	static const char *const roots[] = {"отоплен", "дорог", "мусор", "подъезд", "крыш"};
	static const char *const ends[] = {"ие", "ия", "ями", "ах", "ой", "ую"};
	struct token t[4];
	char word[64];

	assert_non_null(st);
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < 60000; i++) {
			/* Distinct words: a root, four letters а..п spelling i in base 16, an ending;
			 * 60,000 of them fill the cache (16,384 words) several times. */
			size_t len = strlen(roots[i % 5]), el = strlen(ends[i % 6]);
			const sb_symbol *want;
			memcpy(word, roots[i % 5], len);
			for (unsigned d = 0, v = i; d < 4; d++, v /= 16) {
				word[len++] = (char)0xD0;
				word[len++] = (char)(0xB0 + v % 16);
			}
			memcpy(word + len, ends[i % 6], el);
			len += el;
			assert_int_equal(text_tokens(p, word, len, t, 4), 1);
			assert_memory_equal(t[0].word, word, len);
			want = sb_stemmer_stem(st, (const sb_symbol *)word, (int)len);
			assert_int_equal(t[0].stem_len, sb_stemmer_length(st));
			assert_memory_equal(t[0].stem, want, t[0].stem_len);
		}
	}
	sb_stemmer_delete(st);
}

static void test_invalid_utf8_and_limits(void **state)
{
	struct text_pipeline *p = *state;
	struct token t[3];
	char *exact;
	char *big;
	size_t n;

	/* An invalid byte, a surrogate, an overlong form separate. */
	expect_tokens(p,
	              "абв\xff"
	              "где\xed\xa0\x80жз\xc0\xafий",
	              'w', "абв|где|жз|ий");
	/* Emoji and punctuation separate. */
	expect_tokens(p, "холодно\xf0\x9f\x98\xa1!!!батареи", 'w', "холодно|батареи");
	/* The limit: only the first max tokens. */
	n = text_tokens(p, "один два три четыре", strlen("один два три четыре"), t, 3);
	assert_int_equal(n, 3);
	assert_string_equal(t[2].word, "три");
	assert_int_equal(text_tokens(p, "один", 8, t, 0), 0);
	assert_int_equal(text_tokens(p, "", 0, t, 3), 0);
	assert_int_equal(text_tokens(p, " ,.!? ", 6, t, 3), 0);
	/* No terminator after the input: a tag, an entity, a URL and a word cut by the end. */
	static const char *const cuts[] = {"<p",    "<!-- x",   "&#10",
	                                   "&nbsp", "http://x", "слово\xd0"};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t len = strlen(cuts[i]);
		exact = xmalloc(len);
		memcpy(exact, cuts[i], len);
		(void)text_tokens(p, exact, len, t, 3);
		free(exact);
	}
	/* The buffers grow for a long text, and words stay correct. */
	big = xmalloc(60000);
	for (size_t i = 0; i < 60000; i += 5)
		memcpy(big + i, "Ёж ", 5);
	n = text_tokens(p, big, 60000, t, 3);
	assert_int_equal(n, 3);
	assert_string_equal(t[2].word, "еж");
	free(big);
}

/* text_tokenize keeps every token of a long text, in a list reused from text to text. */
static void test_token_list(void **state)
{
	struct text_pipeline *p = *state;
	struct token_list l = {0};
	char *big = xmalloc(60000);

	for (size_t i = 0; i < 60000; i += 5)
		memcpy(big + i, "Ёж ", 5);
	assert_int_equal(text_tokenize(p, big, 60000, &l), 12000);
	assert_int_equal(l.n, 12000);
	assert_string_equal(l.items[11999].word, "еж");
	assert_true(l.cap >= 60001);
	assert_int_equal(text_tokenize(p, "нет воды", strlen("нет воды"), &l), 2);
	assert_true(l.cap >= 60001);
	assert_string_equal(l.items[1].stem, "вод");
	assert_int_equal(text_tokenize(p, "", 0, &l), 0);
	token_list_clear(&l);
	assert_null(l.items);
	assert_int_equal(l.cap, 0);
	free(big);
}

static void test_tokens_stay_valid_until_next_call(void **state)
{
	struct text_pipeline *p = *state;
	struct token t[8];
	size_t n = text_tokens(p, "Подъезды не убирают", strlen("Подъезды не убирают"), t, 8);

	assert_int_equal(n, 3);
	assert_string_equal(t[0].word, "подъезды");
	assert_string_equal(t[0].stem, "подъезд");
	assert_string_equal(t[2].word, "убирают");
	assert_string_equal(t[2].stem, "убира");
	assert_int_equal(t[0].flags, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lower_case),
	        cmocka_unit_test(test_html_and_urls),
	        cmocka_unit_test(test_lookalikes),
	        cmocka_unit_test(test_numbers),
	        cmocka_unit_test(test_stems_and_stop_words),
	        cmocka_unit_test(test_stem_cache_agrees_with_snowball),
	        cmocka_unit_test(test_invalid_utf8_and_limits),
	        cmocka_unit_test(test_tokens_stay_valid_until_next_call),
	        cmocka_unit_test(test_token_list),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
