/*
 * Unit tests of the featurizer: the configuration's checks, the kinds of features and how many
 * each text gives, values (log(1 + count), unit L2 norm), buckets pinned to fixed numbers (a
 * hash that changed would silently invalidate every saved model), determinism, and the
 * explanations of a small trained model (names, order, collisions, the limit, the no-names
 * case).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "featurizer.h"
#include "model.h"
#include "text.h"
#include "utf8.h"
#include "xalloc.h"

#define S(lit) (lit), strlen(lit)

static struct featurizer *make(const struct features_config *c)
{
	char err[200];
	struct featurizer *f = featurizer_new(c, err, sizeof(err));

	if (!f)
		fail_msg("featurizer_new: %s", err);
	return f;
}

/* Only the kinds asked for. */
static void config_only(struct features_config *c, bool stems, bool bigrams, bool numbers,
                        uint32_t char_min, uint32_t char_max)
{
	features_config_default(c);
	c->stems = stems;
	c->bigrams = bigrams;
	c->numbers = numbers;
	c->char_min = char_min;
	c->char_max = char_max;
}

static uint32_t count_features(const struct features_config *c, const char *text)
{
	struct featurizer *f = make(c);
	struct fvec v = {0};
	uint32_t n = features_extract(f, text, strlen(text), &v);

	fvec_clear(&v);
	featurizer_free(f);
	return n;
}

static void test_config_checks(void **state)
{
	struct features_config c;
	char err[200];

	(void)state;
	features_config_default(&c);
	assert_int_equal(features_config_check(&c, err, sizeof(err)), 0);
	assert_int_equal(c.bits, 18);
	assert_int_equal(c.char_min, 4);
	assert_int_equal(c.char_max, 5);
	c.bits = 9;
	assert_int_equal(features_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bits"));
	c.bits = 25;
	assert_int_equal(features_config_check(&c, err, sizeof(err)), -1);
	features_config_default(&c);
	c.char_min = 6;
	assert_int_equal(features_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "char"));
	c.char_min = 0;
	c.char_max = 3;
	assert_int_equal(features_config_check(&c, err, sizeof(err)), -1);
	c.char_min = 1;
	c.char_max = FEATURES_MAX_CHAR_N + 1;
	assert_int_equal(features_config_check(&c, err, sizeof(err)), -1);
	features_config_default(&c);
	c.char_weight = 0.0f;
	assert_int_equal(features_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "char_weight"));
	c.char_weight = NAN;
	assert_int_equal(features_config_check(&c, err, sizeof(err)), -1);
	config_only(&c, false, false, false, 0, 0);
	assert_int_equal(features_config_check(&c, err, sizeof(err)), -1);
	assert_null(featurizer_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "disabled"));
}

static void test_kinds_and_counts(void **state)
{
	struct features_config c;

	(void)state;
	/* Stems of words that are not stop words. */
	config_only(&c, true, false, false, 0, 0);
	assert_int_equal(count_features(&c, "Нет отопления в доме"), 3);
	assert_int_equal(count_features(&c, "и в на это"), 0);
	assert_int_equal(count_features(&c, "45а 12/3"), 0);
	/* Repeats share a bucket; forms of one stem too. */
	assert_int_equal(count_features(&c, "дом дома домами"), 1);
	/* Bigrams of consecutive stems, stop words and numbers skipped. */
	config_only(&c, false, true, false, 0, 0);
	assert_int_equal(count_features(&c, "нет отопления в доме 5"), 2);
	assert_int_equal(count_features(&c, "одно"), 0);
	/* Number shapes: 45а and 12б are alike, 2021 is not. */
	config_only(&c, false, false, true, 0, 0);
	assert_int_equal(count_features(&c, "дом 45а и 12б"), 1);
	assert_int_equal(count_features(&c, "45а 2021 12/3"), 3);
	/* Character n-grams of "_дом_" (5 characters): two 4-grams, one 5-gram. */
	config_only(&c, false, false, false, 4, 5);
	assert_int_equal(count_features(&c, "дом"), 3);
	/* Stop words have n-grams too; numbers do not. */
	assert_int_equal(count_features(&c, "на 45а"), 1);
	/* Nothing to count. */
	features_config_default(&c);
	assert_int_equal(count_features(&c, ""), 0);
	assert_int_equal(count_features(&c, " ,.!? <p> http://x.ru"), 0);
}

static void test_values_are_normalised(void **state)
{
	struct features_config c;
	struct featurizer *f;
	struct fvec v = {0};
	double sq = 0.0;
	float word = 0.0f, chr = 0.0f;

	(void)state;
	features_config_default(&c);
	f = make(&c);
	assert_int_equal(features_extract(f, S("Нет воды 45а"), &v), 12);
	for (uint32_t i = 0; i < v.n; i++) {
		assert_true(v.idx[i] < (1u << c.bits));
		for (uint32_t j = 0; j < i; j++)
			assert_int_not_equal(v.idx[i], v.idx[j]);
		sq += (double)v.val[i] * v.val[i];
		if (v.val[i] > word)
			word = v.val[i];
		if (chr == 0.0f || v.val[i] < chr)
			chr = v.val[i];
	}
	assert_true(fabs(sq - 1.0) < 1e-5);
	/* A word counted once is log(2), a character n-gram log(1.3), before scaling. */
	assert_true(fabsf(chr / word - log1pf(0.3f) / logf(2.0f)) < 1e-4f);
	/* A repeated word: log(1 + 2). */
	config_only(&c, true, false, false, 0, 0);
	featurizer_free(f);
	f = make(&c);
	assert_int_equal(features_extract(f, S("вода вода свет"), &v), 2);
	assert_true(fabsf(fmaxf(v.val[0], v.val[1]) / fminf(v.val[0], v.val[1]) -
	                  logf(3.0f) / logf(2.0f)) < 1e-4f);
	fvec_clear(&v);
	featurizer_free(f);
}

/* Buckets fixed once and for all: a change here means saved models no longer match. */
static void test_buckets_are_stable(void **state)
{
	static const uint32_t all_want[] = {80525,  170965, 117783, 146062, 158765, 181809,
	                                    231060, 224644, 24848,  139149, 253347, 140162};
	struct features_config c;
	struct featurizer *f;
	struct fvec v = {0};

	(void)state;
	config_only(&c, true, false, false, 0, 0);
	f = make(&c);
	assert_int_equal(features_extract(f, S("отопления"), &v), 1);
	assert_int_equal(v.idx[0], 51083);
	featurizer_free(f);
	config_only(&c, false, false, false, 4, 4);
	f = make(&c);
	assert_int_equal(features_extract(f, S("дом"), &v), 2);
	assert_int_equal(v.idx[0], 149616);
	assert_int_equal(v.idx[1], 66840);
	featurizer_free(f);
	features_config_default(&c);
	f = make(&c);
	assert_int_equal(features_extract(f, S("Нет воды 45а"), &v), 12);
	for (uint32_t i = 0; i < v.n; i++)
		assert_int_equal(v.idx[i], all_want[i]);
	/* The same text again, in another featurizer, after other texts: the same vector. */
	struct featurizer *g = make(&c);
	struct fvec w = {0};
	features_extract(g, S("Совсем другой текст про мусор и свалки"), &w);
	assert_int_equal(features_extract(g, S("Нет воды 45а"), &w), 12);
	for (uint32_t i = 0; i < w.n; i++) {
		assert_int_equal(w.idx[i], v.idx[i]);
		assert_true(w.val[i] == v.val[i]);
	}
	fvec_clear(&v);
	fvec_clear(&w);
	featurizer_free(f);
	featurizer_free(g);
}

static void test_long_text_grows_buffers(void **state)
{
	struct features_config c;
	struct featurizer *f;
	struct fvec v = {0};
	size_t len = 0;
	char *text = xmalloc(200000);
	double sq = 0.0;

	(void)state;
	/* Many distinct words (letters а..п spelling i in base 16): the merge table has to grow
	 * several times. */
	for (unsigned i = 0; len < 190000; i++) {
		for (unsigned d = 0, x = i; d < 4; d++, x /= 16) {
			text[len++] = (char)0xD0;
			text[len++] = (char)(0xB0 + x % 16);
		}
		text[len++] = ' ';
	}
	features_config_default(&c);
	f = make(&c);
	assert_true(features_extract(f, text, len, &v) > 10000);
	for (uint32_t i = 0; i < v.n; i++)
		sq += (double)v.val[i] * v.val[i];
	assert_true(fabs(sq - 1.0) < 1e-3);
	/* And a short one afterwards is not polluted by the long one. */
	assert_int_equal(features_extract(f, S("Нет воды 45а"), &v), 12);
	fvec_clear(&v);
	featurizer_free(f);
	free(text);
}

/* ---- explanations -------------------------------------------------------------------------- */

static const char *const heat[] = {
        "нет отопления батареи холодные", "холодные батареи в квартире",
        "отопление не работает холодно",  "батареи еле теплые нет тепла",
        "когда дадут отопление батареи",  "в подъезде холодно батареи ледяные",
};
static const char *const road[] = {
        "яма на дороге асфальт разбит",    "дорога в ямах машины бьют колеса",
        "асфальт провалился яма",          "разбитая дорога у остановки ямы",
        "ямы на дороге во дворе дома 12б", "ремонт дороги асфальт снова ямы",
};

/* A two-label model over the texts above, and `extra` (NULL: none) as one more heating text. */
static struct model *train_small(struct featurizer *f, const char *extra)
{
	const char *labels[] = {"heating", "roads"};
	struct fvec x[13] = {{0}};
	uint32_t y[13];
	size_t n = extra ? 13 : 12;
	struct train_config tc;
	char err[200];
	struct model *m;

	train_config_default(&tc);
	for (size_t i = 0; i < n; i++) {
		const char *t = i < 6 ? heat[i] : i < 12 ? road[i - 6] : extra;
		features_extract(f, t, strlen(t), &x[i]);
		y[i] = i < 6 || i == 12 ? 0 : 1;
	}
	m = model_train(featurizer_config(f), labels, 2, x, y, NULL, n, &tc, err, sizeof(err));
	if (!m)
		fail_msg("model_train: %s", err);
	for (size_t i = 0; i < n; i++)
		fvec_clear(&x[i]);
	return m;
}

static bool has_feature(const struct feature_weight *fw, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fw[i].name, name) == 0)
			return true;
	return false;
}

static void test_explain(void **state)
{
	struct features_config c;
	struct featurizer *f;
	struct model *m;
	struct fvec v = {0};
	struct feature_weight fw[FEATURES_MAX_EXPLAIN + 5];
	float probs[2];
	size_t n;

	(void)state;
	features_config_default(&c);
	f = make(&c);
	m = train_small(f, NULL);
	/* Without names there is nothing to explain. */
	features_extract(f, S("Батареи холодные, нет отопления"), &v);
	assert_int_equal(features_explain(f, m, &v, 0, fw, 5), 0);

	features_extract_named(f, S("Батареи холодные, нет отопления"), &v);
	assert_int_equal(model_predict(m, &v, probs), 0);
	n = features_explain(f, m, &v, 0, fw, 5);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_true(fw[i].weight > 0.0f);
		if (i)
			assert_true(fw[i].weight <= fw[i - 1].weight);
		assert_true(utf8_invalid_at(fw[i].name, strlen(fw[i].name)) < 0);
		assert_true(strncmp(fw[i].name, "stem:", 5) == 0 ||
		            strncmp(fw[i].name, "bigram:", 7) == 0 ||
		            strncmp(fw[i].name, "char:", 5) == 0);
	}
	/* All of them: the names of stems and character n-grams, '_' the word's edge. */
	n = features_explain(f, m, &v, 0, fw, FEATURES_MAX_EXPLAIN);
	assert_int_equal(n, FEATURES_MAX_EXPLAIN);
	assert_string_equal(fw[0].name, "stem:батар");
	assert_true(has_feature(fw, n, "stem:холодн"));
	assert_true(has_feature(fw, n, "char:_бат"));
	assert_true(has_feature(fw, n, "char:ареи_"));
	assert_true(has_feature(fw, n, "char:олодн"));
	/* The other label's evidence is the road words, none here: the heating words pull the
	 * other way and are left out. */
	n = features_explain(f, m, &v, 1, fw, FEATURES_MAX_EXPLAIN);
	assert_false(has_feature(fw, n, "stem:батар"));
	/* The same from tokens the caller made: the same vector and explanation. */
	{
		struct token_list toks = {0};
		struct text_pipeline *tp = text_new(NULL, 0);
		struct fvec w = {0};
		struct feature_weight again[FEATURES_MAX_EXPLAIN];
		size_t k;
		text_tokenize(tp, S("Батареи холодные, нет отопления"), &toks);
		assert_int_equal(features_extract_tokens(f, toks.items, toks.n, true, &w), v.n);
		for (uint32_t i = 0; i < v.n; i++) {
			assert_int_equal(w.idx[i], v.idx[i]);
			assert_true(w.val[i] == v.val[i]);
		}
		k = features_explain(f, m, &w, 0, again, FEATURES_MAX_EXPLAIN);
		assert_int_equal(k, FEATURES_MAX_EXPLAIN);
		assert_string_equal(again[0].name, "stem:батар");
		/* Without explain, nothing to explain. */
		features_extract_tokens(f, toks.items, toks.n, false, &w);
		assert_int_equal(features_explain(f, m, &w, 0, again, 5), 0);
		features_extract_named(f, S("Батареи холодные, нет отопления"), &v);
		token_list_clear(&toks);
		text_free(tp);
		fvec_clear(&w);
	}
	/* A label out of range, k = 0. */
	assert_int_equal(features_explain(f, m, &v, 2, fw, 5), 0);
	assert_int_equal(features_explain(f, m, &v, 0, fw, 0), 0);
	model_free(m);
	featurizer_free(f);

	/* Without character n-grams, bigrams and number shapes come up. */
	config_only(&c, true, true, true, 0, 0);
	f = make(&c);
	m = train_small(f, NULL);
	features_extract_named(f, S("Батареи холодные, нет отопления"), &v);
	n = features_explain(f, m, &v, 0, fw, FEATURES_MAX_EXPLAIN);
	assert_true(has_feature(fw, n, "bigram:батар холодн"));
	features_extract_named(f, S("яма у дома 45а"), &v);
	n = features_explain(f, m, &v, 1, fw, FEATURES_MAX_EXPLAIN);
	assert_true(has_feature(fw, n, "stem:ям"));
	assert_true(has_feature(fw, n, "num:dda"));
	fvec_clear(&v);
	model_free(m);
	featurizer_free(f);
}

static void test_explain_long_names_and_collisions(void **state)
{
	struct features_config c;
	struct featurizer *f;
	struct model *m;
	struct fvec v = {0};
	struct feature_weight fw[FEATURES_MAX_EXPLAIN];
	char text[400];
	size_t n, len = 0;

	(void)state;
	/* 2^10 buckets: collisions everywhere; contributions still sum up per bucket. */
	features_config_default(&c);
	c.bits = 10;
	f = make(&c);
	/* A 60-letter word, known to the model as heating: its stem's name ("stem:" and 120
	 * bytes) is cut at 95 bytes on a character boundary. */
	for (int i = 0; i < 60; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "ж");
	m = train_small(f, text);
	features_extract_named(f, text, len, &v);
	n = features_explain(f, m, &v, 0, fw, FEATURES_MAX_EXPLAIN);
	assert_true(n > 0);
	assert_true(has_feature(fw, n, "stem:жжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж"));
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(fw[i].name);
		assert_true(nl < sizeof(fw[i].name));
		assert_true(utf8_invalid_at(fw[i].name, nl) < 0);
		assert_true(fw[i].weight > 0.0f);
	}
	fvec_clear(&v);
	model_free(m);
	featurizer_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_config_checks),
	        cmocka_unit_test(test_kinds_and_counts),
	        cmocka_unit_test(test_values_are_normalised),
	        cmocka_unit_test(test_buckets_are_stable),
	        cmocka_unit_test(test_long_text_grows_buffers),
	        cmocka_unit_test(test_explain),
	        cmocka_unit_test(test_explain_long_names_and_collisions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
