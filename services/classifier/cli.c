/*
 * cli: `train`, `eval` and `classify` (see cli.h): the offline face of the classifier, built
 * from the same featurizer and model the service runs.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "featurizer.h"
#include "message.h"
#include "model.h"
#include "xalloc.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- arguments ----------------------------------------------------------------------------- */

struct opt {
	const char *name; /* "--input" */
	bool flag;        /* takes no value */
	const char *value;
	bool seen;
};

/* Fills opts from argv[1..argc); returns 0, or -1 after naming the problem on stderr. */
static int parse_opts(const char *cmd, int argc, char **argv, struct opt *opts, size_t nopts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		struct opt *o = NULL;

		for (size_t k = 0; k < nopts; k++)
			if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, a, nlen) == 0)
				o = &opts[k];
		if (!o) {
			fprintf(stderr, "%s: unknown option %s\n", cmd, a);
			return -1;
		}
		if (o->flag) {
			if (eq) {
				fprintf(stderr, "%s: %s takes no value\n", cmd, o->name);
				return -1;
			}
			o->seen = true;
			continue;
		}
		if (eq) {
			o->value = eq + 1;
		} else if (i + 1 < argc) {
			o->value = argv[++i];
		} else {
			fprintf(stderr, "%s: %s needs a value\n", cmd, o->name);
			return -1;
		}
		o->seen = true;
	}
	return 0;
}

static int parse_u32(const char *cmd, const char *name, const char *s, uint32_t lo, uint32_t hi,
                     uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "%s: %s must be an integer in %u..%u, not \"%s\"\n", cmd, name, lo,
		        hi, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_float(const char *cmd, const char *name, const char *s, float lo, float hi,
                       float *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "%s: %s must be a number in %g..%g, not \"%s\"\n", cmd, name, lo,
		        hi, s);
		return -1;
	}
	*out = (float)v;
	return 0;
}

/* ---- metrics ------------------------------------------------------------------------------- */

/* Counts of true labels and predictions over nl labels. */
struct tally {
	uint32_t nl;
	size_t n, correct;
	size_t *tp, *fp, *fn;
};

static void tally_init(struct tally *t, uint32_t nl)
{
	memset(t, 0, sizeof(*t));
	t->nl = nl;
	t->tp = xcalloc(nl, sizeof(size_t));
	t->fp = xcalloc(nl, sizeof(size_t));
	t->fn = xcalloc(nl, sizeof(size_t));
}

static void tally_free(struct tally *t)
{
	free(t->tp);
	free(t->fp);
	free(t->fn);
}

static void tally_add(struct tally *t, uint32_t truth, uint32_t pred)
{
	t->n++;
	if (truth == pred) {
		t->correct++;
		t->tp[truth]++;
	} else {
		t->fn[truth]++;
		t->fp[pred]++;
	}
}

static double tally_accuracy(const struct tally *t)
{
	return t->n ? (double)t->correct / (double)t->n : 0.0;
}

static void label_prf(const struct tally *t, uint32_t l, double *p, double *r, double *f1)
{
	double tp = (double)t->tp[l];

	*p = t->tp[l] + t->fp[l] ? tp / (double)(t->tp[l] + t->fp[l]) : 0.0;
	*r = t->tp[l] + t->fn[l] ? tp / (double)(t->tp[l] + t->fn[l]) : 0.0;
	*f1 = *p + *r > 0.0 ? 2.0 * *p * *r / (*p + *r) : 0.0;
}

/* Mean F1 over the labels that occur as truth or as prediction (scikit-learn's "macro"). */
static double tally_macro_f1(const struct tally *t)
{
	double sum = 0.0;
	uint32_t k = 0;

	for (uint32_t l = 0; l < t->nl; l++) {
		double p, r, f1;
		if (t->tp[l] + t->fp[l] + t->fn[l] == 0)
			continue;
		label_prf(t, l, &p, &r, &f1);
		sum += f1;
		k++;
	}
	return k ? sum / k : 0.0;
}

/* ---- shared by train and eval -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted distinct labels of r (borrowed from r) into *labels, and each record's index in *y. */
static uint32_t index_labels(const struct records *r, char ***labels, uint32_t **y)
{
	char **sorted = xmalloc((r->n ? r->n : 1) * sizeof(char *));
	uint32_t nl = 0;

	memcpy(sorted, r->label, r->n * sizeof(char *));
	qsort(sorted, r->n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < r->n; i++)
		if (nl == 0 || strcmp(sorted[nl - 1], sorted[i]) != 0)
			sorted[nl++] = sorted[i];
	*y = xmalloc((r->n ? r->n : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < r->n; i++) {
		char **hit = bsearch(&r->label[i], sorted, nl, sizeof(char *), cmp_str);
		(*y)[i] = (uint32_t)(hit - sorted);
	}
	*labels = sorted;
	return nl;
}

static void print_loaded(const char *path, const struct records *r)
{
	printf("records: %zu from %s", r->n, path);
	if (r->skipped)
		printf(" (%zu skipped without text or label, the first on line %zu)", r->skipped,
		       r->first_skipped);
	printf("\n");
}

static void describe_features(const struct features_config *fc, char *buf, size_t len)
{
	char chars[64] = "no char n-grams";

	if (fc->char_max)
		snprintf(chars, sizeof(chars), "char %u-%u-grams x%g", fc->char_min, fc->char_max,
		         (double)fc->char_weight);
	snprintf(buf, len, "2^%u buckets, %s%s%s%s", fc->bits, fc->stems ? "stems, " : "",
	         fc->bigrams ? "stem bigrams, " : "", fc->numbers ? "number shapes, " : "", chars);
}

/* ---- train --------------------------------------------------------------------------------- */

enum {
	T_INPUT,
	T_TEXT,
	T_LABEL,
	T_OUT,
	T_FOLDS,
	T_EPOCHS,
	T_BITS,
	T_CHARS,
	T_NO_BIGRAMS,
	T_NO_STEMS,
	T_NO_NUMBERS,
	T_CHAR_WEIGHT,
	T_ETA,
	T_LAMBDA,
	T_BALANCE,
	T_SEED,
	T_QUANT,
	T_LOSS,
	T_C,
	T_TOL,
	T_COUNT
};

static int train_options(int argc, char **argv, struct opt *o, struct features_config *fc,
                         struct train_config *tc, uint32_t *folds)
{
	const char *cmd = argv[0];
	uint32_t seed = 0;

	if (parse_opts(cmd, argc, argv, o, T_COUNT) < 0)
		return -1;
	if (!o[T_INPUT].seen || !o[T_OUT].seen) {
		fprintf(stderr, "%s: --input and --out are required\n", cmd);
		return -1;
	}
	if ((o[T_FOLDS].seen && parse_u32(cmd, "--folds", o[T_FOLDS].value, 0, 100, folds) < 0) ||
	    (o[T_EPOCHS].seen &&
	     parse_u32(cmd, "--epochs", o[T_EPOCHS].value, 1, 1000, &tc->epochs) < 0) ||
	    (o[T_BITS].seen && parse_u32(cmd, "--bits", o[T_BITS].value, FEATURES_MIN_BITS,
	                                 FEATURES_MAX_BITS, &fc->bits) < 0) ||
	    (o[T_CHAR_WEIGHT].seen && parse_float(cmd, "--char-weight", o[T_CHAR_WEIGHT].value,
	                                          0.01f, 100.0f, &fc->char_weight) < 0) ||
	    (o[T_ETA].seen &&
	     parse_float(cmd, "--eta", o[T_ETA].value, 1e-6f, 100.0f, &tc->eta) < 0) ||
	    (o[T_LAMBDA].seen &&
	     parse_float(cmd, "--lambda", o[T_LAMBDA].value, 0.0f, 10.0f, &tc->lambda) < 0) ||
	    (o[T_BALANCE].seen &&
	     parse_float(cmd, "--balance", o[T_BALANCE].value, 0.0f, 1.0f, &tc->balance) < 0) ||
	    (o[T_SEED].seen &&
	     parse_u32(cmd, "--seed", o[T_SEED].value, 0, UINT32_MAX, &seed) < 0) ||
	    (o[T_C].seen && parse_float(cmd, "--c", o[T_C].value, 1e-6f, 1e6f, &tc->c) < 0) ||
	    (o[T_TOL].seen &&
	     parse_float(cmd, "--tol", o[T_TOL].value, 1e-9f, 10.0f, &tc->tol) < 0))
		return -1;
	if (o[T_LOSS].seen) {
		if (strcmp(o[T_LOSS].value, "softmax") == 0) {
			tc->loss = MODEL_LOSS_SOFTMAX;
		} else if (strcmp(o[T_LOSS].value, "svm") == 0) {
			tc->loss = MODEL_LOSS_SVM;
		} else {
			fprintf(stderr, "%s: --loss must be softmax or svm, not \"%s\"\n", cmd,
			        o[T_LOSS].value);
			return -1;
		}
	}
	if (*folds == 1) {
		fprintf(stderr, "%s: --folds must be 0 (none) or at least 2\n", cmd);
		return -1;
	}
	if (o[T_SEED].seen)
		tc->seed = seed;
	if (o[T_CHARS].seen) {
		const char *v = o[T_CHARS].value;
		unsigned a, b;
		char extra;
		if (strcmp(v, "0") == 0) {
			fc->char_min = fc->char_max = 0;
		} else if (sscanf(v, "%u-%u%c", &a, &b, &extra) == 2 && a >= 1 && a <= b &&
		           b <= FEATURES_MAX_CHAR_N) {
			fc->char_min = a;
			fc->char_max = b;
		} else {
			fprintf(stderr,
			        "%s: --chars must be MIN-MAX within 1-%d, or 0, not \"%s\"\n", cmd,
			        FEATURES_MAX_CHAR_N, v);
			return -1;
		}
	}
	fc->bigrams = !o[T_NO_BIGRAMS].seen;
	fc->stems = !o[T_NO_STEMS].seen;
	fc->numbers = !o[T_NO_NUMBERS].seen;
	if (o[T_QUANT].seen) {
		const char *q = o[T_QUANT].value;
		if (strcmp(q, "i8") == 0) {
			tc->quant = MODEL_QUANT_I8;
		} else if (strcmp(q, "i16") == 0) {
			tc->quant = MODEL_QUANT_I16;
		} else if (strcmp(q, "f32") == 0) {
			tc->quant = MODEL_QUANT_F32;
		} else {
			fprintf(stderr, "%s: --quant must be i8, i16 or f32, not \"%s\"\n", cmd, q);
			return -1;
		}
	}
	return 0;
}

/* Stratified folds: each label's records, shuffled with the seed, dealt round-robin, the
 * dealing carried on from one label to the next so the folds' sizes differ by at most one. */
static void assign_folds(const uint32_t *y, size_t n, uint32_t nl, uint32_t k, uint64_t seed,
                         uint32_t *fold)
{
	size_t *idx = xmalloc((n ? n : 1) * sizeof(size_t)), next = 0;
	uint64_t rng = seed ^ 0x5DEECE66DULL;

	for (uint32_t l = 0; l < nl; l++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (y[i] == l)
				idx[m++] = i;
		for (size_t i = m; i > 1; i--) {
			uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
			size_t j, t;
			z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
			z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
			z ^= z >> 31;
			j = (size_t)(z % i);
			t = idx[i - 1];
			idx[i - 1] = idx[j];
			idx[j] = t;
		}
		for (size_t i = 0; i < m; i++)
			fold[idx[i]] = (uint32_t)(next++ % k);
	}
	free(idx);
}

/* Prints the cross-validated figures and fits the probability scale on the held-out scores
 * into *prob_scale. */
static int cross_validate(const struct features_config *fc, const struct train_config *tc,
                          char **labels, uint32_t nl, const struct fvec *x, const uint32_t *y,
                          size_t n, uint32_t k, float *prob_scale)
{
	uint32_t *fold = xmalloc(n * sizeof(uint32_t));
	size_t *rows = xmalloc(n * sizeof(size_t));
	float *scores = xmalloc(n * nl * sizeof(float));
	double acc_sum = 0, acc_sq = 0, f1_sum = 0, f1_sq = 0;
	struct tally all;
	char err[256];
	int rc = 0;

	tally_init(&all, nl);
	assign_folds(y, n, nl, k, tc->seed, fold);
	for (uint32_t f = 0; f < k && rc == 0; f++) {
		size_t nr = 0;
		double t0 = now_s(), acc, f1;
		struct tally one;
		struct model *m;

		for (size_t i = 0; i < n; i++)
			if (fold[i] != f)
				rows[nr++] = i;
		m = model_train(fc, (const char *const *)labels, nl, x, y, rows, nr, tc, err,
		                sizeof(err));
		if (!m) {
			fprintf(stderr, "train: %s\n", err);
			rc = 1;
			break;
		}
		tally_init(&one, nl);
		for (size_t i = 0; i < n; i++) {
			if (fold[i] != f)
				continue;
			uint32_t p = model_scores(m, &x[i], scores + i * nl);
			tally_add(&one, y[i], p);
			tally_add(&all, y[i], p);
		}
		acc = tally_accuracy(&one);
		f1 = tally_macro_f1(&one);
		acc_sum += acc;
		acc_sq += acc * acc;
		f1_sum += f1;
		f1_sq += f1 * f1;
		printf("fold %u/%u: accuracy %.4f, macro-F1 %.4f (%zu held out, trained in %.1f "
		       "s)\n",
		       f + 1, k, acc, f1, n - nr, now_s() - t0);
		fflush(stdout);
		tally_free(&one);
		model_free(m);
	}
	if (rc == 0) {
		double am = acc_sum / k, fm = f1_sum / k;
		printf("cross-validation, %u stratified folds: accuracy %.4f (mean of folds %.4f "
		       "+- "
		       "%.4f), macro-F1 %.4f (mean of folds %.4f +- %.4f)\n",
		       k, tally_accuracy(&all), am, sqrt(fmax(0.0, acc_sq / k - am * am)),
		       tally_macro_f1(&all), fm, sqrt(fmax(0.0, f1_sq / k - fm * fm)));
		*prob_scale = model_fit_prob_scale(scores, y, n, nl);
		printf("probability scale fitted on the held-out scores: %.3f\n",
		       (double)*prob_scale);
	}
	tally_free(&all);
	free(fold);
	free(rows);
	free(scores);
	return rc;
}

int cli_train(int argc, char **argv)
{
	struct opt o[T_COUNT] = {
	        [T_INPUT] = {"--input", false, NULL, false},
	        [T_TEXT] = {"--text-column", false, "text", false},
	        [T_LABEL] = {"--label-column", false, "label", false},
	        [T_OUT] = {"--out", false, NULL, false},
	        [T_FOLDS] = {"--folds", false, NULL, false},
	        [T_EPOCHS] = {"--epochs", false, NULL, false},
	        [T_BITS] = {"--bits", false, NULL, false},
	        [T_CHARS] = {"--chars", false, NULL, false},
	        [T_NO_BIGRAMS] = {"--no-bigrams", true, NULL, false},
	        [T_NO_STEMS] = {"--no-stems", true, NULL, false},
	        [T_NO_NUMBERS] = {"--no-numbers", true, NULL, false},
	        [T_CHAR_WEIGHT] = {"--char-weight", false, NULL, false},
	        [T_ETA] = {"--eta", false, NULL, false},
	        [T_LAMBDA] = {"--lambda", false, NULL, false},
	        [T_BALANCE] = {"--balance", false, NULL, false},
	        [T_SEED] = {"--seed", false, NULL, false},
	        [T_QUANT] = {"--quant", false, NULL, false},
	        [T_LOSS] = {"--loss", false, NULL, false},
	        [T_C] = {"--c", false, NULL, false},
	        [T_TOL] = {"--tol", false, NULL, false},
	};
	struct features_config fc;
	struct train_config tc;
	struct records rec = {0};
	struct featurizer *fz = NULL;
	struct fvec *x = NULL;
	struct model *m = NULL;
	uint32_t folds = 5, nl, *y = NULL;
	float prob_scale = 0.0f;
	char **labels = NULL, err[512], desc[160];
	double t0;
	int rc = 1;

	features_config_default(&fc);
	train_config_default(&tc);
	if (train_options(argc, argv, o, &fc, &tc, &folds) < 0)
		return 2;
	if (features_config_check(&fc, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 2;
	}
	if (records_load(o[T_INPUT].value, o[T_TEXT].value, o[T_LABEL].value, &rec, err,
	                 sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	print_loaded(o[T_INPUT].value, &rec);
	nl = index_labels(&rec, &labels, &y);
	if (nl < 2) {
		fprintf(stderr, "%s: %s: %u distinct labels in \"%s\", training needs at least 2\n",
		        argv[0], o[T_INPUT].value, nl, o[T_LABEL].value);
		goto out;
	}
	fz = featurizer_new(&fc, err, sizeof(err));
	if (!fz) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		goto out;
	}
	describe_features(&fc, desc, sizeof(desc));
	printf("labels: %u; features: %s\n", nl, desc);
	if (tc.loss == MODEL_LOSS_SVM)
		printf("training: one-vs-rest linear SVM, C %g, at most %u passes, tol %g, balance "
		       "%g, seed %llu\n",
		       (double)tc.c, tc.epochs, (double)tc.tol, (double)tc.balance,
		       (unsigned long long)tc.seed);
	else
		printf("training: softmax regression, %u epochs, eta %g, lambda %g, balance %g, "
		       "seed %llu\n",
		       tc.epochs, (double)tc.eta, (double)tc.lambda, (double)tc.balance,
		       (unsigned long long)tc.seed);
	t0 = now_s();
	x = xcalloc(rec.n, sizeof(*x));
	for (size_t i = 0; i < rec.n; i++) {
		/* Trimmed to size: tens of thousands of vectors stay resident through training. */
		struct fvec *v = &x[i];
		struct fvec tmp = {0};
		features_extract(fz, rec.text[i], strlen(rec.text[i]), &tmp);
		v->n = v->cap = tmp.n;
		v->idx = xmalloc((tmp.n ? tmp.n : 1) * sizeof(uint32_t));
		v->val = xmalloc((tmp.n ? tmp.n : 1) * sizeof(float));
		memcpy(v->idx, tmp.idx, tmp.n * sizeof(uint32_t));
		memcpy(v->val, tmp.val, tmp.n * sizeof(float));
		fvec_clear(&tmp);
	}
	printf("features of %zu texts in %.1f s\n", rec.n, now_s() - t0);
	fflush(stdout);
	if (folds >= 2 &&
	    cross_validate(&fc, &tc, labels, nl, x, y, rec.n, folds, &prob_scale) != 0)
		goto out;
	t0 = now_s();
	m = model_train(&fc, (const char *const *)labels, nl, x, y, NULL, rec.n, &tc, err,
	                sizeof(err));
	if (!m) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		goto out;
	}
	if (prob_scale > 0.0f)
		model_set_prob_scale(m, prob_scale);
	if (model_save(m, o[T_OUT].value, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		goto out;
	}
	printf("model: trained on all %zu records in %.1f s, written to %s (version %s)\n", rec.n,
	       now_s() - t0, o[T_OUT].value, model_version(m));
	rc = 0;
out:
	if (x)
		for (size_t i = 0; i < rec.n; i++)
			fvec_clear(&x[i]);
	free(x);
	free(y);
	free(labels); /* its strings belong to rec */
	model_free(m);
	featurizer_free(fz);
	records_clear(&rec);
	return rc;
}

/* ---- eval ---------------------------------------------------------------------------------- */

struct row_order {
	uint32_t label;
	size_t support;
	const char *name;
};

static int by_support(const void *a, const void *b)
{
	const struct row_order *x = a, *y = b;

	if (x->support != y->support)
		return x->support < y->support ? 1 : -1;
	return strcmp(x->name, y->name);
}

int cli_eval(int argc, char **argv)
{
	enum { E_MODEL, E_INPUT, E_TEXT, E_LABEL, E_COUNT };
	struct opt o[E_COUNT] = {
	        [E_MODEL] = {"--model", false, NULL, false},
	        [E_INPUT] = {"--input", false, NULL, false},
	        [E_TEXT] = {"--text-column", false, "text", false},
	        [E_LABEL] = {"--label-column", false, "label", false},
	};
	struct records rec = {0};
	struct featurizer *fz = NULL;
	struct model *m = NULL;
	struct fvec v = {0};
	struct tally t = {0};
	struct row_order *rows = NULL;
	const char **names = NULL;
	char err[512];
	float *probs = NULL;
	uint32_t nl, nnames;
	int rc = 1;

	if (parse_opts(argv[0], argc, argv, o, E_COUNT) < 0)
		return 2;
	if (!o[E_MODEL].seen || !o[E_INPUT].seen) {
		fprintf(stderr, "%s: --model and --input are required\n", argv[0]);
		return 2;
	}
	m = model_load(o[E_MODEL].value, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	if (records_load(o[E_INPUT].value, o[E_TEXT].value, o[E_LABEL].value, &rec, err,
	                 sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		goto out;
	}
	fz = featurizer_new(model_features(m), err, sizeof(err));
	if (!fz) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		goto out;
	}
	print_loaded(o[E_INPUT].value, &rec);
	printf("model: %s (version %s, %u labels)\n", o[E_MODEL].value, model_version(m),
	       model_label_count(m));
	nl = model_label_count(m);
	/* The model's labels, then the data's labels the model does not know (always wrong). */
	names = xmalloc((nl + rec.n) * sizeof(char *));
	for (uint32_t l = 0; l < nl; l++)
		names[l] = model_label(m, l);
	nnames = nl;
	tally_init(&t, nl + (uint32_t)rec.n);
	probs = xmalloc(nl * sizeof(float));
	for (size_t i = 0; i < rec.n; i++) {
		int truth = model_label_index(m, rec.label[i]);
		uint32_t pred;
		if (truth < 0) {
			for (uint32_t k = nl; k < nnames && truth < 0; k++)
				if (strcmp(names[k], rec.label[i]) == 0)
					truth = (int)k;
			if (truth < 0) {
				truth = (int)nnames;
				names[nnames++] = rec.label[i];
			}
		}
		features_extract(fz, rec.text[i], strlen(rec.text[i]), &v);
		pred = model_predict(m, &v, probs);
		tally_add(&t, (uint32_t)truth, pred);
	}
	if (nnames > nl)
		printf("labels unknown to the model: %u (their records count as errors)\n",
		       nnames - nl);
	printf("accuracy %.4f, macro-F1 %.4f over %zu records\n\n", tally_accuracy(&t),
	       tally_macro_f1(&t), t.n);
	rows = xmalloc(nnames * sizeof(*rows));
	for (uint32_t l = 0; l < nnames; l++) {
		rows[l].label = l;
		rows[l].support = t.tp[l] + t.fn[l];
		rows[l].name = names[l];
	}
	qsort(rows, nnames, sizeof(*rows), by_support);
	printf("%-40s %9s %9s %9s %9s\n", "label", "precision", "recall", "f1", "support");
	for (uint32_t k = 0; k < nnames; k++) {
		double p, r, f1;
		uint32_t l = rows[k].label;
		if (rows[k].support == 0 && t.fp[l] == 0)
			continue;
		label_prf(&t, l, &p, &r, &f1);
		printf("%-40s %9.4f %9.4f %9.4f %9zu\n", rows[k].name, p, r, f1, rows[k].support);
	}
	rc = 0;
out:
	tally_free(&t);
	free(rows);
	free(names);
	free(probs);
	fvec_clear(&v);
	featurizer_free(fz);
	model_free(m);
	records_clear(&rec);
	return rc;
}

/* ---- classify ------------------------------------------------------------------------------ */

struct obuf {
	char *p;
	size_t len, cap;
};

static void ob_put(struct obuf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		while (b->len + n > b->cap)
			b->cap = b->cap ? 2 * b->cap : 4096;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void ob_str(struct obuf *b, const char *s)
{
	ob_put(b, s, strlen(s));
}

/* s as a JSON string; s is valid UTF-8 (decoded messages, labels, feature names). */
static void ob_json(struct obuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	ob_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ob_put(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ob_put(b, esc, 2);
		} else if (c == '\n') {
			ob_put(b, "\\n", 2);
		} else if (c == '\t') {
			ob_put(b, "\\t", 2);
		} else if (c == '\r') {
			ob_put(b, "\\r", 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			ob_put(b, esc, 6);
		}
	}
	ob_put(b, run, (size_t)(s - run));
	ob_put(b, "\"", 1);
}

/* v with four decimals ("0.4213", "-1.0000"), as printf's "%.4f" writes it but without its
 * cost, which showed in the profile of classify at 16 numbers a line. */
static void ob_num(struct obuf *b, double v)
{
	char num[32], *p = num + sizeof(num);
	unsigned long long units;
	bool neg;

	if (!(fabs(v) < 1e12)) {
		int n = snprintf(num, sizeof(num), "%.4f", isfinite(v) ? v : 0.0);
		ob_put(b, num, (size_t)n);
		return;
	}
	units = (unsigned long long)llround(fabs(v) * 10000.0);
	neg = v < 0 && units > 0;
	for (int i = 0; i < 4; i++, units /= 10)
		*--p = (char)('0' + units % 10);
	*--p = '.';
	do {
		*--p = (char)('0' + units % 10);
		units /= 10;
	} while (units);
	if (neg)
		*--p = '-';
	ob_put(b, p, (size_t)(num + sizeof(num) - p));
}

/* The classification of one message as its output line. labels[l] is label l as a JSON
 * string, escaped once for every line. */
static void write_result(struct obuf *b, const struct model *m, const char *const *labels,
                         const struct message *msg, const float *probs, uint32_t best,
                         const struct feature_weight *top, size_t ntop)
{
	ob_str(b, "{\"id\":");
	ob_json(b, msg->id);
	ob_str(b, ",\"label\":");
	ob_str(b, labels[best]);
	ob_str(b, ",\"score\":");
	ob_num(b, probs[best]);
	ob_str(b, ",\"scores\":{");
	for (uint32_t l = 0; l < model_label_count(m); l++) {
		if (l)
			ob_put(b, ",", 1);
		ob_str(b, labels[l]);
		ob_put(b, ":", 1);
		ob_num(b, probs[l]);
	}
	ob_str(b, "},\"top_features\":[");
	for (size_t i = 0; i < ntop; i++) {
		ob_str(b, i ? ",{\"feature\":" : "{\"feature\":");
		ob_json(b, top[i].name);
		ob_str(b, ",\"weight\":");
		ob_num(b, top[i].weight);
		ob_put(b, "}", 1);
	}
	ob_str(b, "],\"model\":");
	ob_json(b, model_version(m));
	ob_str(b, "}\n");
}

static void write_error(struct obuf *b, size_t line, const struct field_error *e)
{
	char num[32];

	snprintf(num, sizeof(num), "%zu", line);
	ob_str(b, "{\"line\":");
	ob_str(b, num);
	ob_str(b, ",\"error\":");
	ob_json(b, e->message);
	ob_str(b, ",\"field\":");
	ob_json(b, e->field);
	ob_str(b, "}\n");
}

int cli_classify(int argc, char **argv)
{
	enum { C_MODEL, C_TOP, C_STATS, C_COUNT };
	struct opt o[C_COUNT] = {
	        [C_MODEL] = {"--model", false, NULL, false},
	        [C_TOP] = {"--top", false, NULL, false},
	        [C_STATS] = {"--stats", true, NULL, false},
	};
	struct model *m;
	struct featurizer *fz;
	struct fvec v = {0};
	struct obuf out = {0};
	struct feature_weight top[FEATURES_MAX_EXPLAIN];
	uint32_t ntop = 5;
	char *line = NULL, **labels, err[512];
	size_t cap = 0, lineno = 0, ok = 0, bad = 0;
	ssize_t got;
	float *probs;
	double t0;
	int rc = 0;

	if (parse_opts(argv[0], argc, argv, o, C_COUNT) < 0)
		return 2;
	if (!o[C_MODEL].seen) {
		fprintf(stderr, "%s: --model is required\n", argv[0]);
		return 2;
	}
	if (o[C_TOP].seen &&
	    parse_u32(argv[0], "--top", o[C_TOP].value, 0, FEATURES_MAX_EXPLAIN, &ntop) < 0)
		return 2;
	m = model_load(o[C_MODEL].value, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	fz = featurizer_new(model_features(m), err, sizeof(err));
	if (!fz) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		model_free(m);
		return 1;
	}
	probs = xmalloc(model_label_count(m) * sizeof(float));
	labels = xcalloc(model_label_count(m), sizeof(char *));
	for (uint32_t l = 0; l < model_label_count(m); l++) {
		struct obuf lb = {0};
		ob_json(&lb, model_label(m, l));
		ob_put(&lb, "", 1);
		labels[l] = lb.p;
	}
	t0 = now_s();
	while ((got = getline(&line, &cap, stdin)) >= 0) {
		struct message msg;
		struct field_error fe;
		size_t len = (size_t)got, nt;
		uint32_t best;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		if (message_decode_bytes(line, len, &msg, &fe) < 0) {
			write_error(&out, lineno, &fe);
			bad++;
		} else {
			size_t tl = strlen(msg.text);
			if (ntop)
				features_extract_named(fz, msg.text, tl, &v);
			else
				features_extract(fz, msg.text, tl, &v);
			best = model_predict(m, &v, probs);
			nt = ntop ? features_explain(fz, m, &v, best, top, ntop) : 0;
			write_result(&out, m, (const char *const *)labels, &msg, probs, best, top,
			             nt);
			message_clear(&msg);
			ok++;
		}
		if (out.len >= 1 << 16) {
			if (fwrite(out.p, 1, out.len, stdout) != out.len)
				break;
			out.len = 0;
		}
	}
	if (out.len && fwrite(out.p, 1, out.len, stdout) != out.len)
		rc = 1;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: writing the output failed: %s\n", argv[0], strerror(errno));
		rc = 1;
	}
	if (ferror(stdin)) {
		fprintf(stderr, "%s: reading stdin failed: %s\n", argv[0], strerror(errno));
		rc = 1;
	}
	if (o[C_STATS].seen) {
		double s = now_s() - t0;
		fprintf(stderr, "classified %zu texts (%zu bad lines) in %.3f s: %.0f texts/s\n",
		        ok, bad, s, s > 0 ? (double)(ok + bad) / s : 0.0);
	}
	for (uint32_t l = 0; l < model_label_count(m); l++)
		free(labels[l]);
	free(labels);
	free(line);
	free(out.p);
	free(probs);
	fvec_clear(&v);
	featurizer_free(fz);
	model_free(m);
	return rc;
}
