/*
 * Unit tests of the linear model: both trainers learn separable data, probabilities are a
 * distribution whose argmax is the best score, training is reproducible from its seed and
 * honours the rows it is given, quantised weights agree with float32, the refusals of bad
 * arguments, the file's round trip for every weight type, and model_load's refusal of every
 * kind of damaged or inconsistent file with a message naming the problem.
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
#include <unistd.h>

#include "featurizer.h"
#include "model.h"
#include "xalloc.h"

#define NL 3
#define PER_LABEL 40
#define N (NL * PER_LABEL)

static const char *const labels[NL] = {"housing", "roads", "waste"};

struct data {
	struct features_config fc;
	struct fvec x[N];
	uint32_t y[N];
	char dir[64];
};

static uint64_t rng_state = 42;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((rng_state >> 33) % n);
}

/* Label l's examples share some of its ten signature buckets (l*10 .. l*10+9) and carry noise
 * from buckets 100..1023; values at unit norm. */
static int setup(void **state)
{
	struct data *d = xcalloc(1, sizeof(*d));

	features_config_default(&d->fc);
	d->fc.bits = 10;
	for (size_t i = 0; i < N; i++) {
		struct fvec *v = &d->x[i];
		uint32_t l = (uint32_t)(i % NL);
		float norm;
		d->y[i] = l;
		v->cap = 8;
		v->idx = xmalloc(8 * sizeof(uint32_t));
		v->val = xmalloc(8 * sizeof(float));
		for (uint32_t k = 0; k < 4; k++) {
			v->idx[v->n] = l * 10 + (k * 3 + (uint32_t)i) % 10;
			v->val[v->n++] = 1.0f;
		}
		for (uint32_t k = 0; k < 4; k++) {
			v->idx[v->n] =
			        100 + rnd(900) + k; /* distinct enough; duplicates are harmless */
			v->val[v->n++] = 1.0f;
		}
		norm = sqrtf((float)v->n);
		for (uint32_t k = 0; k < v->n; k++)
			v->val[k] /= norm;
	}
	snprintf(d->dir, sizeof(d->dir), "/tmp/test_model.XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct data *d = *state;
	char cmd[128];

	for (size_t i = 0; i < N; i++)
		fvec_clear(&d->x[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

static struct model *train(struct data *d, const struct train_config *tc, const size_t *rows,
                           size_t nrows)
{
	char err[256];
	struct model *m = model_train(&d->fc, labels, NL, d->x, d->y, rows, rows ? nrows : N, tc,
	                              err, sizeof(err));

	if (!m)
		fail_msg("model_train: %s", err);
	return m;
}

static void check_learned(struct data *d, const struct model *m)
{
	float probs[NL], scores[NL];

	for (size_t i = 0; i < N; i++) {
		uint32_t best = model_predict(m, &d->x[i], probs);
		float sum = 0.0f;
		assert_int_equal(best, d->y[i]);
		assert_int_equal(model_scores(m, &d->x[i], scores), best);
		for (int l = 0; l < NL; l++) {
			assert_true(probs[l] >= 0.0f && probs[l] <= 1.0f);
			assert_true(probs[l] <= probs[best]);
			sum += probs[l];
		}
		assert_true(fabsf(sum - 1.0f) < 1e-5f);
	}
}

static void test_both_trainers_learn(void **state)
{
	struct data *d = *state;
	struct train_config tc;
	struct model *m;

	train_config_default(&tc);
	assert_int_equal(tc.loss, MODEL_LOSS_SVM);
	m = train(d, &tc, NULL, 0);
	check_learned(d, m);
	assert_int_equal(model_loss(m), MODEL_LOSS_SVM);
	assert_true(model_prob_scale(m) == MODEL_SVM_PROB_SCALE);
	assert_int_equal(model_label_count(m), NL);
	assert_string_equal(model_label(m, 2), "waste");
	assert_null(model_label(m, 3));
	assert_int_equal(model_label_index(m, "roads"), 1);
	assert_int_equal(model_label_index(m, "other"), -1);
	assert_int_equal(model_features(m)->bits, 10);
	assert_int_equal(strlen(model_version(m)), 16);
	model_free(m);

	tc.loss = MODEL_LOSS_SOFTMAX;
	m = train(d, &tc, NULL, 0);
	check_learned(d, m);
	assert_true(model_prob_scale(m) == 1.0f);
	model_free(m);
	model_free(NULL);
}

static void test_reproducible_and_rows(void **state)
{
	struct data *d = *state;
	struct train_config tc;
	struct model *a, *b, *c;
	size_t rows[N / 2];
	struct fvec xe[N / 2];
	uint32_t ye[N / 2];
	char err[256];

	train_config_default(&tc);
	a = train(d, &tc, NULL, 0);
	b = train(d, &tc, NULL, 0);
	assert_string_equal(model_version(a), model_version(b));
	model_free(b);
	tc.seed++;
	b = train(d, &tc, NULL, 0);
	assert_string_not_equal(model_version(a), model_version(b));
	model_free(b);
	model_free(a);

	/* Training on rows (the even examples) is training on a copy of those rows. */
	train_config_default(&tc);
	for (size_t i = 0; i < N / 2; i++) {
		rows[i] = 2 * i;
		xe[i] = d->x[2 * i];
		ye[i] = d->y[2 * i];
	}
	a = train(d, &tc, rows, N / 2);
	c = model_train(&d->fc, labels, NL, xe, ye, NULL, N / 2, &tc, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(model_version(a), model_version(c));
	model_free(a);
	model_free(c);
}

static void test_quantisation_agrees(void **state)
{
	struct data *d = *state;
	struct train_config tc;
	struct model *m[3];
	float p[3][NL], row[NL], col[N];
	const enum model_quant q[3] = {MODEL_QUANT_F32, MODEL_QUANT_I16, MODEL_QUANT_I8};

	train_config_default(&tc);
	for (int k = 0; k < 3; k++) {
		tc.quant = q[k];
		m[k] = train(d, &tc, NULL, 0);
		assert_int_equal(model_quantization(m[k]), q[k]);
	}
	for (size_t i = 0; i < N; i++) {
		for (int k = 0; k < 3; k++)
			model_predict(m[k], &d->x[i], p[k]);
		for (int l = 0; l < NL; l++) {
			assert_true(fabsf(p[0][l] - p[1][l]) < 1e-3f);
			assert_true(fabsf(p[0][l] - p[2][l]) < 2e-2f);
		}
	}
	/* The three ways to read weights agree. */
	for (int k = 0; k < 3; k++) {
		model_weights_row(m[k], 5, row);
		for (uint32_t l = 0; l < NL; l++)
			assert_true(row[l] == model_weight(m[k], 5, l));
		model_label_weights(m[k], 1, &d->x[1], col);
		for (uint32_t i = 0; i < d->x[1].n; i++)
			assert_true(col[i] == model_weight(m[k], d->x[1].idx[i], 1));
	}
	/* A signature bucket of roads weighs for roads. */
	assert_true(model_weight(m[2], 13, 1) > 0.0f);
	assert_true(model_weight(m[2], 13, 0) < 0.0f);
	for (int k = 0; k < 3; k++)
		model_free(m[k]);
}

/* A joined model scores as its two parts, for every weight type; model_softmax of a part's
 * scores is that part's model_predict. */
static void test_join(void **state)
{
	static const char *const yes_no[2] = {"true", "false"};
	const enum model_quant q[3] = {MODEL_QUANT_F32, MODEL_QUANT_I16, MODEL_QUANT_I8};
	struct data *d = *state;
	struct train_config tc;
	uint32_t y2[N];
	char err[256];

	for (size_t i = 0; i < N; i++)
		y2[i] = d->y[i] == 1; /* roads or not */
	train_config_default(&tc);
	for (int k = 0; k < 3; k++) {
		struct model *a, *b, *j, *other;
		float sa[2], sb[NL], sj[2 + NL], pa[2], pb[NL], pj[NL];
		tc.quant = q[k];
		a = model_train(&d->fc, yes_no, 2, d->x, y2, NULL, N, &tc, err, sizeof(err));
		b = train(d, &tc, NULL, 0);
		assert_non_null(a);
		model_set_prob_scale(a, 2.5f);
		j = model_join(a, b, err, sizeof(err));
		if (!j)
			fail_msg("model_join: %s", err);
		assert_int_equal(model_label_count(j), 2 + NL);
		assert_string_equal(model_label(j, 1), "false");
		assert_string_equal(model_label(j, 2), "housing");
		assert_int_equal(model_quantization(j), q[k]);
		for (size_t i = 0; i < N; i++) {
			model_scores(a, &d->x[i], sa);
			model_scores(b, &d->x[i], sb);
			model_scores(j, &d->x[i], sj);
			for (uint32_t l = 0; l < 2; l++)
				assert_true(sj[l] == sa[l]);
			for (uint32_t l = 0; l < NL; l++)
				assert_true(sj[2 + l] == sb[l]);
			assert_int_equal(model_softmax(sj, 2, model_prob_scale(a), pj),
			                 model_predict(a, &d->x[i], pa));
			for (uint32_t l = 0; l < 2; l++)
				assert_true(pj[l] == pa[l]);
			assert_int_equal(model_softmax(sj + 2, NL, model_prob_scale(b), pj),
			                 model_predict(b, &d->x[i], pb));
			for (uint32_t l = 0; l < NL; l++)
				assert_true(pj[l] == pb[l]);
		}
		assert_true(model_weight(j, 13, 2 + 1) == model_weight(b, 13, 1));

		/* Refusals: a label in both; other features; other weight types. */
		assert_null(model_join(b, b, err, sizeof(err)));
		assert_non_null(strstr(err, "housing"));
		d->fc.bits = 11;
		other = model_train(&d->fc, yes_no, 2, d->x, y2, NULL, N, &tc, err, sizeof(err));
		d->fc.bits = 10;
		assert_non_null(other);
		assert_null(model_join(other, b, err, sizeof(err)));
		assert_string_equal(err, "the models differ in features or weight type");
		model_free(other);
		tc.quant = q[(k + 1) % 3];
		other = train(d, &tc, NULL, 0);
		assert_null(model_join(a, other, err, sizeof(err)));
		model_free(other);
		model_free(j);
		model_free(a);
		model_free(b);
	}
}

static void expect_train_error(struct data *d, const char *const *lab, uint32_t nl,
                               const uint32_t *y, size_t n, const struct train_config *tc,
                               const char *want)
{
	char err[256] = "";
	struct model *m = model_train(&d->fc, lab, nl, d->x, y, NULL, n, tc, err, sizeof(err));

	assert_null(m);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not mention \"%s\"", err, want);
}

static void test_train_refusals(void **state)
{
	struct data *d = *state;
	struct train_config tc;
	const char *dup[] = {"a", "b", "a"};
	const char *empty[] = {"a", ""};
	const char *bad_utf8[] = {"a", "\xff"};
	uint32_t y[N];

	train_config_default(&tc);
	expect_train_error(d, labels, 1, d->y, N, &tc, "2..");
	expect_train_error(d, dup, 3, d->y, N, &tc, "repeats");
	expect_train_error(d, empty, 2, d->y, N, &tc, "label 1");
	expect_train_error(d, bad_utf8, 2, d->y, N, &tc, "UTF-8");
	expect_train_error(d, labels, NL, d->y, 0, &tc, "no examples");
	memcpy(y, d->y, sizeof(y));
	y[7] = NL;
	expect_train_error(d, labels, NL, y, N, &tc, "out of range");
	tc.epochs = 0;
	expect_train_error(d, labels, NL, d->y, N, &tc, "epochs");
	train_config_default(&tc);
	tc.c = 0.0f;
	expect_train_error(d, labels, NL, d->y, N, &tc, "C > 0");
	train_config_default(&tc);
	tc.quant = (enum model_quant)9;
	expect_train_error(d, labels, NL, d->y, N, &tc, "quantization");
	train_config_default(&tc);
	d->fc.bits = 30;
	expect_train_error(d, labels, NL, d->y, N, &tc, "bits");
	d->fc.bits = 10;
}

static void test_save_and_load(void **state)
{
	struct data *d = *state;
	struct train_config tc;
	const enum model_quant q[3] = {MODEL_QUANT_F32, MODEL_QUANT_I16, MODEL_QUANT_I8};
	char path[128], err[256];

	snprintf(path, sizeof(path), "%s/m.model", d->dir);
	train_config_default(&tc);
	for (int k = 0; k < 3; k++) {
		struct model *m, *l;
		float a[NL], b[NL];
		tc.quant = q[k];
		m = train(d, &tc, NULL, 0);
		model_set_prob_scale(m, 2.5f);
		assert_int_equal(model_save(m, path, err, sizeof(err)), 0);
		assert_int_equal(access(path, F_OK), 0);
		l = model_load(path, err, sizeof(err));
		if (!l)
			fail_msg("model_load: %s", err);
		assert_string_equal(model_version(l), model_version(m));
		assert_int_equal(model_quantization(l), q[k]);
		assert_int_equal(model_loss(l), MODEL_LOSS_SVM);
		assert_true(model_prob_scale(l) == 2.5f);
		assert_int_equal(model_label_count(l), NL);
		for (int i = 0; i < NL; i++)
			assert_string_equal(model_label(l, (uint32_t)i), labels[i]);
		assert_memory_equal(model_features(l), model_features(m),
		                    sizeof(struct features_config));
		for (size_t i = 0; i < N; i++) {
			model_predict(m, &d->x[i], a);
			model_predict(l, &d->x[i], b);
			assert_memory_equal(a, b, sizeof(a));
		}
		model_free(m);
		model_free(l);
	}
	/* The directory does not exist: the error names the temporary file. */
	snprintf(path, sizeof(path), "%s/no/such/m.model", d->dir);
	{
		struct model *m = train(d, &tc, NULL, 0);
		assert_int_equal(model_save(m, path, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "cannot create"));
		model_free(m);
	}
}

/* ---- damaged files ------------------------------------------------------------------------- */

static uint64_t fnv64(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Rewrites the trailing checksum of image[0..len) so that only the change under test is
 * wrong. */
static void reseal(unsigned char *image, size_t len)
{
	uint64_t h = fnv64(image, len - 8);

	for (int i = 0; i < 8; i++)
		image[len - 8 + (size_t)i] = (unsigned char)(h >> (8 * i));
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void expect_load_error(const unsigned char *image, size_t len, const char *want)
{
	char err[256] = "";
	struct model *m = model_load_mem(image, len, "x.model", err, sizeof(err));

	if (m)
		fail_msg("a damaged model (\"%s\" expected) was loaded", want);
	if (!strstr(err, want) || strncmp(err, "x.model: ", 9) != 0)
		fail_msg("error \"%s\" does not name the file and \"%s\"", err, want);
}

static void test_load_refusals(void **state)
{
	struct data *d = *state;
	struct train_config tc;
	struct model *m;
	char path[128], err[256];
	unsigned char *img, *bad;
	size_t len;
	FILE *fp;

	/* The header's offsets: magic 0, version 8, weight type 12, bits 16, char_min 20,
	 * char_max 24, flags 28, char_weight 32, loss 36, prob_scale 40, labels 44, then each
	 * label as a length and its bytes ("housing" at 48..59), biases, scales, weights. */
	train_config_default(&tc);
	tc.quant = MODEL_QUANT_I8;
	m = train(d, &tc, NULL, 0);
	snprintf(path, sizeof(path), "%s/good.model", d->dir);
	assert_int_equal(model_save(m, path, err, sizeof(err)), 0);
	model_free(m);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = (size_t)ftell(fp);
	rewind(fp);
	img = xmalloc(len);
	bad = xmalloc(len);
	assert_int_equal(fread(img, 1, len, fp), len);
	fclose(fp);
	assert_memory_equal(img, "OTKMODEL", 8);
	m = model_load_mem(img, len, "x.model", err, sizeof(err));
	assert_non_null(m);
	model_free(m);

	expect_load_error(img, 0, "not a classifier model");
	memcpy(bad, img, len);
	bad[0] = 'X';
	expect_load_error(bad, len, "not a classifier model");
	memcpy(bad, img, len);
	put32(bad + 8, 2);
	expect_load_error(bad, len, "format version 2");
	expect_load_error(img, 10, "truncated");
	expect_load_error(img, len - 1, "checksum");
	expect_load_error(img, 20, "checksum");
	memcpy(bad, img, len);
	bad[len / 2] ^= 0x40;
	expect_load_error(bad, len, "checksum");

	/* Each field wrong, the checksum right. */
	memcpy(bad, img, len);
	put32(bad + 12, 7);
	reseal(bad, len);
	expect_load_error(bad, len, "weight type 7");
	memcpy(bad, img, len);
	put32(bad + 16, 40);
	reseal(bad, len);
	expect_load_error(bad, len, "bits");
	memcpy(bad, img, len);
	put32(bad + 28, 0x80);
	reseal(bad, len);
	expect_load_error(bad, len, "feature flags");
	memcpy(bad, img, len);
	put32(bad + 36, 5);
	reseal(bad, len);
	expect_load_error(bad, len, "unknown loss 5");
	memcpy(bad, img, len);
	put32(bad + 40, 0x7FC00000); /* NaN */
	reseal(bad, len);
	expect_load_error(bad, len, "probability scale");
	memcpy(bad, img, len);
	put32(bad + 44, 1);
	reseal(bad, len);
	expect_load_error(bad, len, "1 labels");
	memcpy(bad, img, len);
	put32(bad + 48, 100000);
	reseal(bad, len);
	expect_load_error(bad, len, "label 0");
	memcpy(bad, img, len);
	memcpy(bad + 52, "roads\0\0", 7); /* "housing" becomes "roads" plus NULs */
	reseal(bad, len);
	expect_load_error(bad, len, "NUL");
	memcpy(bad, img, len);
	memcpy(bad + 52, "roads", 5);
	put32(bad + 48, 5);
	memmove(bad + 57, img + 59, len - 59); /* the file two bytes shorter */
	reseal(bad, len - 2);
	expect_load_error(bad, len - 2, "repeats");
	/* The first bias (after three labels) is infinite. */
	memcpy(bad, img, len);
	put32(bad + 48 + 11 + 9 + 9, 0x7F800000);
	reseal(bad, len);
	expect_load_error(bad, len, "bias of label 0");
	memcpy(bad, img, len);
	put32(bad + 48 + 11 + 9 + 9 + 4 * NL, 0);
	reseal(bad, len);
	expect_load_error(bad, len, "scale of label 0");
	/* A weight too many. */
	{
		unsigned char *longer = xmalloc(len + 1);
		memcpy(longer, img, len - 8);
		longer[len - 8] = 0;
		reseal(longer, len + 1);
		expect_load_error(longer, len + 1, "bytes of weights");
		free(longer);
	}
	/* From a path: missing file, and a file that is not a model. */
	snprintf(path, sizeof(path), "%s/missing.model", d->dir);
	assert_null(model_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open"));
	assert_non_null(strstr(err, "missing.model"));
	free(img);
	free(bad);
}

static void test_fit_prob_scale(void **state)
{
	enum { M = 400 };
	float *scores = xmalloc(M * 2 * sizeof(float));
	uint32_t y[M];
	float t;

	(void)state;
	/* Scores whose softmax at t = 2 gives the true label 0.88 (e^2 / (1 + e^2)) of the time:
	 * the truth follows that rate. */
	for (int i = 0; i < M; i++) {
		scores[2 * i] = 1.0f;
		scores[2 * i + 1] = 0.0f;
		y[i] = i % 100 < 88 ? 0 : 1;
	}
	t = model_fit_prob_scale(scores, y, M, 2);
	assert_true(fabsf(t - 2.0f) < 0.05f);
	/* Always right: as sharp as the search allows. */
	for (int i = 0; i < M; i++)
		y[i] = 0;
	t = model_fit_prob_scale(scores, y, M, 2);
	assert_true(t > 90.0f);
	free(scores);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_both_trainers_learn),
	        cmocka_unit_test(test_reproducible_and_rows),
	        cmocka_unit_test(test_quantisation_agrees),
	        cmocka_unit_test(test_join),
	        cmocka_unit_test(test_train_refusals),
	        cmocka_unit_test(test_save_and_load),
	        cmocka_unit_test(test_load_refusals),
	        cmocka_unit_test(test_fit_prob_scale),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
