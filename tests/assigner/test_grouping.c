/*
 * grouping: the text similarity that decides whether two reports are one problem (Russian
 * stems, case and word forms ignored, stop words and short words dropped, numbers kept) and
 * the address key (case, punctuation and spacing ignored).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "grouping.h"

static struct grouping *g;

static int setup(void **state)
{
	(void)state;
	char err[128];
	g = grouping_new(err, sizeof(err));
	return g ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	grouping_free(g);
	return 0;
}

static void test_same_problem_is_similar(void **state)
{
	(void)state;
	/* Word forms differ, the stems do not. */
	double d = grouping_similarity(g, "Нет отопления в доме на Щетинкина 18",
	                               "ОТОПЛЕНИЕ отсутствует, дом Щетинкина, 18!");
	assert_true(d >= 0.5);
	assert_true(grouping_similarity(g, "Яма на дороге", "яма на дороге") == 1.0);
}

static void test_other_problem_is_not(void **state)
{
	(void)state;
	double d = grouping_similarity(g, "Нет отопления в доме на Щетинкина 18",
	                               "Во дворе не вывозят мусор уже неделю");
	assert_true(d < 0.1);
	/* Stop words and short words do not make texts alike. */
	assert_true(grouping_similarity(g, "это очень что как в на", "это очень что как") == 0.0);
	/* The house number is a word of its own: another number halves the likeness. */
	assert_true(grouping_similarity(g, "Щетинкина 18", "Щетинкина 20") == 0.5);
}

static void test_empty_texts(void **state)
{
	(void)state;
	assert_true(grouping_similarity(g, "", "яма") == 0.0);
	assert_true(grouping_similarity(g, NULL, NULL) == 0.0);
	assert_true(grouping_similarity(g, "\xff\xfe", "яма") == 0.0);
}

/* A text is a set of stems: a repeated word or another form of it counts once. */
static void test_stem_sets(void **state)
{
	(void)state;
	/* {труб, подвал} and {труб, подвал, двор}: 2 * 2 / (2 + 3). */
	assert_true(grouping_similarity(g, "трубы трубы ТРУБЫ подвал", "труба подвал двор") == 0.8);
	/* The prepared texts the intake compares many times give the same figure. */
	struct grouping_text *a = grouping_text_new(g, "Трубы в подвале, трубы текут"),
	                     *b = grouping_text_new(g, "текут трубы"),
	                     *e = grouping_text_new(g, NULL);
	assert_true(grouping_dice(a, b) ==
	            grouping_similarity(g, "Трубы в подвале, трубы текут", "текут трубы"));
	assert_true(grouping_dice(a, b) == 0.8);
	assert_true(grouping_dice(a, a) == 1.0);
	assert_true(grouping_dice(a, e) == 0.0 && grouping_dice(e, e) == 0.0);
	grouping_text_free(a);
	grouping_text_free(b);
	grouping_text_free(e);
}

static void test_address_key(void **state)
{
	(void)state;
	char *a = grouping_address_key("Абакан, ул. Щетинкина,  18");
	char *b = grouping_address_key("абакан ул щетинкина 18");
	assert_string_equal(a, "абакан ул щетинкина 18");
	assert_string_equal(a, b);
	assert_null(grouping_address_key(" , . "));
	assert_null(grouping_address_key(NULL));
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_same_problem_is_similar),
	        cmocka_unit_test(test_other_problem_is_not),
	        cmocka_unit_test(test_empty_texts),
	        cmocka_unit_test(test_stem_sets),
	        cmocka_unit_test(test_address_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
