/*
 * Unit tests for shared/utf8: the validator's table-3-7 edge cases (overlong forms, surrogates,
 * the U+10FFFF limit, truncation, stray continuation bytes, NUL), the code point count, the
 * sequence reader and decoder, and the U+FFFD repair used by log and metrics. Inputs that end in
 * the middle of a sequence are also given in heap buffers of their exact size with no terminator,
 * so the sanitizer build catches any read past the length a function was given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xalloc.h"

#define BYTES(lit) (lit), (sizeof(lit) - 1)

/* A heap copy of s[0..len) of exactly len bytes, with no terminator after it. Caller frees. */
static char *exact(const char *s, size_t len)
{
	char *p = xmalloc(len);

	memcpy(p, s, len);
	return p;
}

/* ---- utf8_invalid_at and utf8_length (moved from test_fields.c) --------------------------- */

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_int_equal(utf8_invalid_at("", 0), -1);
	assert_int_equal(utf8_invalid_at(BYTES("plain ascii ~!@#")), -1);
	assert_int_equal(utf8_invalid_at(BYTES("Нет отопления в доме на ул. Щетинкина, Абакан")),
	                 -1);
	assert_int_equal(
	        utf8_invalid_at(BYTES("Яма на дороге 🚧🕳️ Черногорск")),
	        -1);
	/* The first and last code point of every encoded length and around the surrogates. */
	assert_int_equal(utf8_invalid_at(BYTES("\x01\x7f")), -1);
	assert_int_equal(utf8_invalid_at(BYTES("\xc2\x80")), -1);         /* U+0080 */
	assert_int_equal(utf8_invalid_at(BYTES("\xdf\xbf")), -1);         /* U+07FF */
	assert_int_equal(utf8_invalid_at(BYTES("\xe0\xa0\x80")), -1);     /* U+0800 */
	assert_int_equal(utf8_invalid_at(BYTES("\xed\x9f\xbf")), -1);     /* U+D7FF */
	assert_int_equal(utf8_invalid_at(BYTES("\xee\x80\x80")), -1);     /* U+E000 */
	assert_int_equal(utf8_invalid_at(BYTES("\xef\xbf\xbf")), -1);     /* U+FFFF */
	assert_int_equal(utf8_invalid_at(BYTES("\xf0\x90\x80\x80")), -1); /* U+10000 */
	assert_int_equal(utf8_invalid_at(BYTES("\xf4\x8f\xbf\xbf")), -1); /* U+10FFFF */
	/* len bounds the scan: an invalid byte past it is not looked at. */
	assert_int_equal(utf8_invalid_at("ok\xff", 2), -1);
}

static void test_utf8_overlong(void **state)
{
	(void)state;
	assert_int_equal(utf8_invalid_at(BYTES("\xc0\x80")), 0); /* NUL in two bytes */
	assert_int_equal(utf8_invalid_at(BYTES("\xc0\xaf")), 0); /* '/' in two bytes */
	assert_int_equal(utf8_invalid_at(BYTES("\xc1\xbf")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xe0\x80\x80")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xe0\x9f\xbf")), 0); /* U+07FF in three bytes */
	assert_int_equal(utf8_invalid_at(BYTES("\xf0\x80\x80\x80")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xf0\x8f\xbf\xbf")), 0); /* U+FFFF in four */
	assert_int_equal(utf8_invalid_at(BYTES("abc\xc0\xaf")), 3);
}

static void test_utf8_surrogates_and_range(void **state)
{
	(void)state;
	assert_int_equal(utf8_invalid_at(BYTES("\xed\xa0\x80")), 0); /* U+D800 */
	assert_int_equal(utf8_invalid_at(BYTES("\xed\xaf\xbf")), 0); /* U+DBFF */
	assert_int_equal(utf8_invalid_at(BYTES("\xed\xb0\x80")), 0); /* U+DC00 */
	assert_int_equal(utf8_invalid_at(BYTES("\xed\xbf\xbf")), 0); /* U+DFFF */
	/* A CESU-8 pair for an emoji is two surrogates, not one code point. */
	assert_int_equal(utf8_invalid_at(BYTES("ok \xed\xa0\xbd\xed\xb8\x80")), 3);
	assert_int_equal(utf8_invalid_at(BYTES("\xf4\x90\x80\x80")), 0); /* U+110000 */
	assert_int_equal(utf8_invalid_at(BYTES("\xf5\x80\x80\x80")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xf7\xbf\xbf\xbf")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xf8\x88\x80\x80\x80")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xfc\x84\x80\x80\x80\x80")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xfe")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xff")), 0);
}

static void test_utf8_truncated_and_stray(void **state)
{
	(void)state;
	assert_int_equal(utf8_invalid_at(BYTES("ab\xd0")), 2);
	assert_int_equal(utf8_invalid_at(BYTES("\xe2\x82")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xf0\x9f\x98")), 0);
	/* Cut by len in the middle of a valid character. */
	assert_int_equal(utf8_invalid_at("\xd0\x9f", 1), 0);
	assert_int_equal(utf8_invalid_at("Да\xf0\x9f\x98\x80", 7), 4);
	/* Lead byte followed by something that is not a continuation byte. */
	assert_int_equal(utf8_invalid_at(BYTES("\xd0"
	                                       "A")),
	                 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xe2\x82"
	                                       "A")),
	                 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xf0\x9f\x98"
	                                       "A")),
	                 0);
	assert_int_equal(utf8_invalid_at(BYTES("\xd0\xd0\x9f")), 0);
	/* Continuation bytes with no lead byte. */
	assert_int_equal(utf8_invalid_at(BYTES("\x80")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("a\xbf")), 1);
	assert_int_equal(utf8_invalid_at(BYTES("\xd0\x9f\x80")), 2);
	/* The offset is in bytes, after valid multi-byte text. */
	assert_int_equal(utf8_invalid_at(BYTES("Привет\xff")), 12);
}

static void test_utf8_nul(void **state)
{
	(void)state;
	assert_int_equal(utf8_invalid_at(BYTES("\0")), 0);
	assert_int_equal(utf8_invalid_at(BYTES("ab\0cd")), 2);
	assert_int_equal(utf8_invalid_at(BYTES("Абакан\0")), 12);
}

static void test_utf8_length(void **state)
{
	(void)state;
	assert_int_equal(utf8_length("", 0), 0);
	assert_int_equal(utf8_length(BYTES("abc")), 3);
	assert_int_equal(utf8_length(BYTES("Привет")), 6);
	assert_int_equal(utf8_length(BYTES("😀")), 1);
	assert_int_equal(utf8_length(BYTES("Саяногорск 🚌 bus №7")), 19);
	assert_int_equal(utf8_length(BYTES("\xef\xbf\xbf\xf4\x8f\xbf\xbf")), 2);
	/* Mixed scripts: Latin, Cyrillic, Khakas letters, Greek, CJK. */
	assert_int_equal(utf8_length(BYTES("aЯӧҷΩ水")), 6);
}

/* ---- utf8_seq_len and utf8_decode ------------------------------------------------------- */

static void test_seq_len(void **state)
{
	(void)state;
	assert_int_equal(utf8_seq_len(BYTES("a")), 1);
	assert_int_equal(utf8_seq_len(BYTES("\x7f")), 1);
	assert_int_equal(utf8_seq_len(BYTES("\xd0\x9f")), 2);         /* П */
	assert_int_equal(utf8_seq_len(BYTES("\xe2\x82\xac")), 3);     /* € */
	assert_int_equal(utf8_seq_len(BYTES("\xf0\x9f\x98\x80")), 4); /* 😀 */
	/* Only the first sequence counts; what follows is not looked at. */
	assert_int_equal(utf8_seq_len(BYTES("\xd0\x9f\xff")), 2);
	assert_int_equal(utf8_seq_len(BYTES("ab")), 1);
	/* Not a sequence: stray continuation, overlong, surrogate, above U+10FFFF, F5..FF. */
	assert_int_equal(utf8_seq_len(BYTES("\x80")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xc0\xaf")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xe0\x9f\xbf")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xed\xa0\x80")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xf4\x90\x80\x80")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xf5\x80\x80\x80")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xff")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xe2\x82"
	                                    "A")),
	                 0);
}

static void test_seq_len_nul_and_empty(void **state)
{
	(void)state;
	/* NUL is U+0000 to the sequence reader; only utf8_invalid_at refuses it. */
	assert_int_equal(utf8_seq_len(BYTES("\0")), 1);
	assert_int_equal(utf8_seq_len(BYTES("\0abc")), 1);
	assert_int_equal(utf8_invalid_at(BYTES("\0")), 0);
	/* Nothing available: no sequence, and s is not read. */
	assert_int_equal(utf8_seq_len(NULL, 0), 0);
	assert_int_equal(utf8_seq_len("a", 0), 0);
	/* A NUL where a continuation byte should be ends the sequence as invalid. */
	assert_int_equal(utf8_seq_len(BYTES("\xd0\0")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xe2\0\xac")), 0);
	assert_int_equal(utf8_seq_len(BYTES("\xf0\x9f\0\x80")), 0);
}

static void test_seq_len_bounded_by_avail(void **state)
{
	(void)state;
	/* A valid sequence cut by avail is not one, even though the bytes after it would do. */
	assert_int_equal(utf8_seq_len("\xd0\x9f", 1), 0);
	assert_int_equal(utf8_seq_len("\xe2\x82\xac", 2), 0);
	assert_int_equal(utf8_seq_len("\xe2\x82\xac", 1), 0);
	assert_int_equal(utf8_seq_len("\xf0\x9f\x98\x80", 3), 0);
	assert_int_equal(utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
}

static void test_decode(void **state)
{
	(void)state;
	assert_int_equal(utf8_decode(BYTES("\0")), 0);
	assert_int_equal(utf8_decode(BYTES("A")), 0x41);
	assert_int_equal(utf8_decode(BYTES("\xc2\x80")), 0x80);
	assert_int_equal(utf8_decode(BYTES("\xd0\x9f")), 0x41F); /* П */
	assert_int_equal(utf8_decode(BYTES("\xdf\xbf")), 0x7FF);
	assert_int_equal(utf8_decode(BYTES("\xe0\xa0\x80")), 0x800);
	assert_int_equal(utf8_decode(BYTES("\xe2\x80\x94")), 0x2014); /* em dash */
	assert_int_equal(utf8_decode(BYTES("\xef\xbf\xbf")), 0xFFFF);
	assert_int_equal(utf8_decode(BYTES("\xf0\x9f\x98\x80")), 0x1F600);
	assert_int_equal(utf8_decode(BYTES("\xf4\x8f\xbf\xbf")), 0x10FFFF);
}

/* ---- inputs that end in the middle of a sequence, in exact-size buffers ------------------- */

static void test_truncated_at_end_of_buffer(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		size_t cut; /* where the sequence cut by the end starts */
	} cases[] = {
	        {BYTES("\xd0"), 0},             /* 2-byte lead alone */
	        {BYTES("\xe2\x82"), 0},         /* 2 of 3 */
	        {BYTES("\xf0\x9f\x98"), 0},     /* 3 of 4 */
	        {BYTES("ab\xd0"), 2},           /* after ASCII */
	        {BYTES("\xd0\x9f\xe2"), 2},     /* after a whole 2-byte sequence */
	        {BYTES("\xd0\x9f\xe2\x82"), 2}, /* 2 of 3, after one */
	        {BYTES("Да\xf0\x9f\x98"), 4},   /* 3 of 4, after Cyrillic */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = exact(cases[i].bytes, cases[i].len);
		size_t cut = cases[i].cut;
		size_t clean_len;
		char *clean;

		assert_int_equal(utf8_invalid_at(buf, cases[i].len), (long)cut);
		assert_int_equal(utf8_seq_len(buf + cut, cases[i].len - cut), 0);
		/* Every byte of the cut sequence becomes one U+FFFD; what precedes is kept. */
		clean = utf8_sanitize(buf, cases[i].len, &clean_len);
		assert_int_equal(clean_len, cut + 3 * (cases[i].len - cut));
		assert_memory_equal(clean, buf, cut);
		for (size_t k = cut; k < clean_len; k += 3)
			assert_memory_equal(clean + k, "\xEF\xBF\xBD", 3);
		assert_int_equal(clean[clean_len], '\0');
		assert_int_equal(utf8_invalid_at(clean, clean_len), -1);
		free(clean);
		free(buf);
	}
}

static void test_valid_to_end_of_buffer(void **state)
{
	static const char text[] = "Абакан 🚧";
	char *buf = exact(BYTES(text));
	size_t clean_len;
	char *clean;

	(void)state;
	/* The last sequence ends exactly at the end: valid, and nothing after it is read. */
	assert_int_equal(utf8_invalid_at(buf, sizeof(text) - 1), -1);
	assert_int_equal(utf8_length(buf, sizeof(text) - 1), 8);
	assert_int_equal(utf8_seq_len(buf + sizeof(text) - 5, 4), 4);
	clean = utf8_sanitize(buf, sizeof(text) - 1, &clean_len);
	assert_int_equal(clean_len, sizeof(text) - 1);
	assert_string_equal(clean, text);
	free(clean);
	free(buf);
}

/* ---- utf8_sanitize -------------------------------------------------------------------------- */

static void test_sanitize(void **state)
{
	size_t n;
	char *s;

	(void)state;
	s = utf8_sanitize("", 0, &n);
	assert_int_equal(n, 0);
	assert_string_equal(s, "");
	free(s);
	s = utf8_sanitize(BYTES("Нет отопления 🚧"), NULL);
	assert_string_equal(s, "Нет отопления 🚧");
	free(s);
	/* Each invalid byte becomes one U+FFFD, valid text around it is kept. */
	s = utf8_sanitize(BYTES("bad \xff byte"), NULL);
	assert_string_equal(s, "bad \xEF\xBF\xBD byte");
	free(s);
	s = utf8_sanitize(BYTES("\xc0\xaf"), &n);
	assert_int_equal(n, 6);
	assert_string_equal(s, "\xEF\xBF\xBD\xEF\xBF\xBD");
	free(s);
	s = utf8_sanitize(BYTES("ok \xed\xa0\xbd!"), NULL);
	assert_string_equal(s, "ok \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
	free(s);
	/* The lead byte of a broken sequence is replaced, and the next byte read afresh. */
	s = utf8_sanitize(BYTES("\xe2\x82"
	                        "A\xd0\x9f"),
	                  NULL);
	assert_string_equal(s, "\xEF\xBF\xBD\xEF\xBF\xBD"
	                       "AП");
	free(s);
	/* len bounds the copy. */
	s = utf8_sanitize("abc\xff", 3, &n);
	assert_int_equal(n, 3);
	assert_string_equal(s, "abc");
	free(s);
}

static void test_sanitize_keeps_nul(void **state)
{
	size_t n;
	char *s;

	(void)state;
	s = utf8_sanitize(BYTES("a\0\xff\0b"), &n);
	assert_int_equal(n, 7);
	assert_memory_equal(s, "a\0\xEF\xBF\xBD\0b", 8);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_utf8_valid),
	        cmocka_unit_test(test_utf8_overlong),
	        cmocka_unit_test(test_utf8_surrogates_and_range),
	        cmocka_unit_test(test_utf8_truncated_and_stray),
	        cmocka_unit_test(test_utf8_nul),
	        cmocka_unit_test(test_utf8_length),
	        cmocka_unit_test(test_seq_len),
	        cmocka_unit_test(test_seq_len_nul_and_empty),
	        cmocka_unit_test(test_seq_len_bounded_by_avail),
	        cmocka_unit_test(test_decode),
	        cmocka_unit_test(test_truncated_at_end_of_buffer),
	        cmocka_unit_test(test_valid_to_end_of_buffer),
	        cmocka_unit_test(test_sanitize),
	        cmocka_unit_test(test_sanitize_keeps_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
