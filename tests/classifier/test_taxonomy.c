/*
 * Tests of the taxonomy: terms matched by stem over a text's tokens (inflections match, a
 * term's words in sequence, each term counted once however often it occurs), the per-topic
 * sums, the choice of the sub-topic (most terms, ties to the first), and the load errors that
 * name the entry; on a small fixture and on the shipped taxonomy.
 *
 * Run from the repository root (tests/run.sh does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taxonomy.h"
#include "text.h"
#include "xalloc.h"

#define TAXONOMY "services/classifier/data/taxonomy.json"

/* Every topic, as the contract asks; sub-topics only under housing and roads. */
static const char fixture[] =
        "{\"topics\": ["
        "{\"code\": \"housing\", \"subtopics\": ["
        "  {\"code\": \"housing.heating\", \"terms\": [\"нет отопления\", \"батарея\", "
        "   \"батареи холодные\"]},"
        "  {\"code\": \"housing.water\", \"terms\": [\"нет воды\", \"кран\"]}]},"
        "{\"code\": \"roads\", \"subtopics\": ["
        "  {\"code\": \"roads.pits\", \"terms\": [\"яма\"]},"
        "  {\"code\": \"roads.snow\", \"terms\": [\"снег на дороге\"]}]},"
        "{\"code\": \"improvement\"}, {\"code\": \"waste\"}, {\"code\": \"transport\"},"
        "{\"code\": \"healthcare\"}, {\"code\": \"education\"}, {\"code\": \"social\"},"
        "{\"code\": \"ecology\"}, {\"code\": \"animals\"}, {\"code\": \"safety\"},"
        "{\"code\": \"telecom\"}, {\"code\": \"trade\"}, {\"code\": \"culture_sport\"},"
        "{\"code\": \"other\"}]}";

static struct text_pipeline *tp;
static struct taxonomy *tax;
static struct token_list toks;
static int hits[64], topic_hits[TAXONOMY_NTOPICS];

static int setup(void **state)
{
	char err[256];

	(void)state;
	tp = text_new(err, sizeof(err));
	tax = taxonomy_load_mem(fixture, strlen(fixture), "fixture", err, sizeof(err));
	if (!tp || !tax) {
		fprintf(stderr, "fixture: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	taxonomy_free(tax);
	text_free(tp);
	token_list_clear(&toks);
	return 0;
}

/* Matches text against t into hits and topic_hits. */
static void match(const struct taxonomy *t, const char *text)
{
	text_tokenize(tp, text, strlen(text), &toks);
	taxonomy_match(t, toks.items, toks.n, hits);
	taxonomy_topic_hits(t, hits, topic_hits);
}

static void test_match(void **state)
{
	int best = -1;

	(void)state;
	assert_int_equal(taxonomy_subtopic_count(tax), 4);
	assert_string_equal(taxonomy_subtopic_code(tax, 1), "housing.water");

	/* Inflected, in sequence; «батареи холодные» twice counts as one term. */
	match(tax, "Третий день НЕТ ОТОПЛЕНИЯ, батареи холодные, батарея в ванной тоже, и у "
	           "соседей батареи холодные");
	assert_int_equal(hits[0], 3);
	assert_int_equal(hits[1], 0);
	assert_int_equal(topic_hits[0], 3); /* housing */
	assert_string_equal(taxonomy_subtopic(tax, hits, "housing", &best), "housing.heating");
	assert_int_equal(best, 3);
	assert_null(taxonomy_subtopic(tax, hits, "roads", &best));
	assert_int_equal(best, 0);
	assert_null(taxonomy_subtopic(tax, hits, "no such topic", NULL));

	/* Words out of sequence do not make a term: «снег» ... «на дороге» apart. */
	match(tax, "снег убрали, но на дороге яма");
	assert_int_equal(hits[2], 1);
	assert_int_equal(hits[3], 0);
	assert_int_equal(topic_hits[2], 1); /* roads */
	match(tax, "Снег на дороге не убран, ямы под снегом");
	assert_int_equal(hits[3], 1);
	assert_int_equal(topic_hits[2], 2);

	/* A tie goes to the first sub-topic in the file. */
	match(tax, "кран течет, батарея холодная");
	assert_int_equal(hits[0], 1);
	assert_int_equal(hits[1], 1);
	assert_string_equal(taxonomy_subtopic(tax, hits, "housing", NULL), "housing.heating");

	match(tax, "");
	for (size_t i = 0; i < taxonomy_subtopic_count(tax); i++)
		assert_int_equal(hits[i], 0);
}

static void test_shipped(void **state)
{
	char err[256];
	struct taxonomy *t = taxonomy_load(TAXONOMY, err, sizeof(err));
	const char *text = "Батареи ледяные, отопления нет уже неделю";
	int *h;

	(void)state;
	if (!t)
		fail_msg("%s", err);
	h = xcalloc(taxonomy_subtopic_count(t), sizeof(int));
	text_tokenize(tp, text, strlen(text), &toks);
	taxonomy_match(t, toks.items, toks.n, h);
	taxonomy_topic_hits(t, h, topic_hits);
	assert_true(topic_hits[0] >= 2); /* housing */
	assert_string_equal(taxonomy_subtopic(t, h, "housing", NULL), "housing.heating");
	free(h);
	taxonomy_free(t);
}

static void expect_error(const char *json, const char *want)
{
	char err[256] = "";
	struct taxonomy *t = taxonomy_load_mem(json, strlen(json), "tax.json", err, sizeof(err));

	assert_null(t);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want it to contain \"%s\"", err, want);
}

static void test_errors(void **state)
{
	char err[256] = "", *bad;

	(void)state;
	assert_null(taxonomy_load("tests/classifier/data/no_such_taxonomy.json", err, sizeof(err)));
	assert_non_null(strstr(err, "no_such_taxonomy.json: cannot open: "));
	assert_null(taxonomy_load("tests/classifier/data/no_such_taxonomy.json", NULL, 0));
	expect_error("{\"topics\": ", "tax.json: line 1 column 11: ");
	expect_error("{\"topics\": 1}", "tax.json: topics: must be an array");
	expect_error("{\"topics\": [{\"code\": \"weather\"}]}",
	             "tax.json: topics[0].code: not one of the 15 topic codes");
	expect_error("{\"topics\": [{\"code\": \"housing\"}]}",
	             "tax.json: topics: \"improvement\" is missing");
	expect_error(
	        "{\"topics\": [{\"code\": \"housing\", \"subtopics\": [{\"code\": \"roads.x\"}]}]}",
	        "tax.json: topics[0].subtopics[0].code: must start with \"housing.\"");
	expect_error("{\"topics\": [{\"code\": \"housing\", \"subtopics\": [{\"code\": "
	             "\"housing.x\", \"terms\": [\"a\", 5]}]}]}",
	             "tax.json: topics[0].subtopics[0].terms[1]: must be a string");
	expect_error("{\"topics\": [{\"code\": \"housing\", \"subtopics\": [{\"code\": "
	             "\"housing.x\", \"terms\": [\"!!!\"]}]}]}",
	             "tax.json: topics[0].subtopics[0].terms[0]: no words after normalisation");
	expect_error("{\"topics\": [{\"code\": \"housing\", \"subtopics\": [{\"code\": "
	             "\"housing.x\", \"terms\": [\"a b c d e f g h i\"]}]}]}",
	             "tax.json: topics[0].subtopics[0].terms[0]: more than 8 words");
	expect_error("{\"topics\": [], \"topics\": []}", "tax.json: line 1 column ");

	/* The contract's order does not matter, only that every code is there. */
	bad = xstrdup(fixture);
	memcpy(strstr(bad, "\"other\""), "\"trade\"", 7);
	expect_error(bad, "tax.json: topics: \"other\" is missing");
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_match),
	        cmocka_unit_test(test_shipped),
	        cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
