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

#include "classified.h"
#include "classify.h"
#include "csv.h"
#include "featurizer.h"
#include "files.h"
#include "json_out.h"
#include "message.h"
#include "model.h"
#include "strbuf.h"
#include "xalloc.h"

static double clock_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
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

/* Makes room for nl labels, the new ones at zero. */
static void tally_grow(struct tally *t, uint32_t nl)
{
	size_t **counts[] = {&t->tp, &t->fp, &t->fn};

	for (size_t i = 0; i < 3; i++) {
		*counts[i] = xrealloc(*counts[i], (nl ? nl : 1) * sizeof(size_t));
		memset(*counts[i] + t->nl, 0, (nl - t->nl) * sizeof(size_t));
	}
	t->nl = nl;
}

static void tally_init(struct tally *t, uint32_t nl)
{
	memset(t, 0, sizeof(*t));
	tally_grow(t, nl);
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

/* ---- scoring: one column's labels by name, and their tally --------------------------------- */

struct scorer {
	char **names; /* owned */
	uint32_t n, cap;
	struct tally t;
};

static uint32_t scorer_label(struct scorer *s, const char *name)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return i;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->names = xrealloc(s->names, s->cap * sizeof(char *));
		tally_grow(&s->t, s->cap);
	}
	s->names[s->n] = xstrdup(name);
	return s->n++;
}

static void scorer_add(struct scorer *s, const char *truth, const char *pred)
{
	uint32_t t = scorer_label(s, truth);

	tally_add(&s->t, t, scorer_label(s, pred));
}

static void scorer_free(struct scorer *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	tally_free(&s->t);
	memset(s, 0, sizeof(*s));
}

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

/* Accuracy, macro-F1, and the table of the labels that occur, most supported first. */
static void scorer_print(const struct scorer *s)
{
	const struct tally *t = &s->t;
	struct row_order *rows = xmalloc((s->n ? s->n : 1) * sizeof(*rows));

	printf("accuracy %.4f, macro-F1 %.4f over %zu records\n\n", tally_accuracy(t),
	       tally_macro_f1(t), t->n);
	for (uint32_t l = 0; l < s->n; l++)
		rows[l] = (struct row_order){l, t->tp[l] + t->fn[l], s->names[l]};
	qsort(rows, s->n, sizeof(*rows), by_support);
	printf("%-40s %9s %9s %9s %9s\n", "label", "precision", "recall", "f1", "support");
	for (uint32_t k = 0; k < s->n; k++) {
		double p, r, f1;
		uint32_t l = rows[k].label;
		if (rows[k].support == 0 && t->fp[l] == 0)
			continue;
		label_prf(t, l, &p, &r, &f1);
		printf("%-40s %9.4f %9.4f %9.4f %9zu\n", rows[k].name, p, r, f1, rows[k].support);
	}
	free(rows);
}

/* ---- eval ---------------------------------------------------------------------------------- */

enum {
	E_MODEL,
	E_DECISION,
	E_INPUT,
	E_TEXT,
	E_LABEL,
	E_INCIDENT,
	E_MUNICIPALITY,
	E_URGENCY,
	E_COMMUNITY,
	E_MODEL_DIR,
	E_REGION_DIR,
	E_COUNT
};

/* The model alone on the records of one label column. */
static int eval_model(const char *cmd, const char *path, struct opt *o)
{
	struct records rec = {0};
	struct featurizer *fz = NULL;
	struct model *m;
	struct fvec v = {0};
	struct scorer sc = {0};
	char err[512];
	float *probs = NULL;
	uint32_t nl;
	int rc = 1;

	m = model_load(path, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return 1;
	}
	if (records_load(o[E_INPUT].value, o[E_TEXT].value, o[E_LABEL].value, &rec, err,
	                 sizeof(err)) < 0 ||
	    !(fz = featurizer_new(model_features(m), err, sizeof(err)))) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	print_loaded(o[E_INPUT].value, &rec);
	nl = model_label_count(m);
	printf("model: %s (version %s, %u labels)\n", path, model_version(m), nl);
	/* The model's labels first: those the data adds are unknown to it (always wrong). */
	for (uint32_t l = 0; l < nl; l++)
		scorer_label(&sc, model_label(m, l));
	probs = xmalloc(nl * sizeof(float));
	for (size_t i = 0; i < rec.n; i++) {
		features_extract(fz, rec.text[i], strlen(rec.text[i]), &v);
		scorer_add(&sc, rec.label[i], model_label(m, model_predict(m, &v, probs)));
	}
	if (sc.n > nl)
		printf("labels unknown to the model: %u (their records count as errors)\n",
		       sc.n - nl);
	scorer_print(&sc);
	rc = 0;
out:
	scorer_free(&sc);
	free(probs);
	fvec_clear(&v);
	featurizer_free(fz);
	model_free(m);
	records_clear(&rec);
	return rc;
}

/* One column the decision is scored on: its records (in file order) and its scores. */
struct column {
	const char *what; /* "topic", ... */
	const char *name; /* the file's column */
	bool present;
	struct records rec;
	size_t at; /* the next record to score */
	struct scorer sc;
};

/* What the decision says for column k (in the order of eval_decision's columns). */
static const char *decided(const struct classification *c, size_t k)
{
	switch (k) {
	case 0:
		return c->topic;
	case 1:
		return c->incident ? "true" : "false";
	case 2:
		return c->municipality ? c->municipality : "none";
	default:
		return c->urgency;
	}
}

/*
 * The full decision (classify.h) on the texts of a labelled file, scored on every column it
 * has: topic, incident, municipality, urgency. A column is scored over the records that have a
 * value in it; the columns' records are matched by their line, and each text is decided once.
 */
static int eval_decision(const char *cmd, struct opt *o)
{
	struct column cols[] = {
	        {"topic", o[E_LABEL].seen ? o[E_LABEL].value : "topic", false, {0}, 0, {0}},
	        {"incident", o[E_INCIDENT].value, false, {0}, 0, {0}},
	        {"municipality", o[E_MUNICIPALITY].value, false, {0}, 0, {0}},
	        {"urgency", o[E_URGENCY].value, false, {0}, 0, {0}},
	};
	const size_t ncols = sizeof(cols) / sizeof(cols[0]);
	const char *input = o[E_INPUT].value, *community_column = o[E_COMMUNITY].value;
	struct records community = {0}; /* community names by line, when asked for */
	struct classifier *c = NULL;
	size_t decisions = 0, scored = 0, ci = 0;
	char err[512];
	int rc = 1;

	if (strcmp(community_column, "-") != 0 &&
	    records_load(input, o[E_TEXT].value, community_column, &community, err, sizeof(err)) <
	            0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	for (size_t k = 0; k < ncols; k++) {
		int r;
		if (strcmp(cols[k].name, "-") == 0)
			continue; /* not asked for */
		r = records_load(input, o[E_TEXT].value, cols[k].name, &cols[k].rec, err,
		                 sizeof(err));
		if (r == -1) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			goto out;
		}
		cols[k].present = r == 0;
		scored += cols[k].present;
	}
	if (!scored) {
		fprintf(stderr, "%s: %s has none of the columns %s, %s, %s, %s: nothing to score\n",
		        cmd, input, cols[0].name, cols[1].name, cols[2].name, cols[3].name);
		goto out;
	}
	c = classifier_open_dirs(o[E_MODEL_DIR].value, o[E_REGION_DIR].value, 0.5, err,
	                         sizeof(err));
	if (!c) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	for (;;) {
		struct message m = {0};
		struct classification d;
		size_t line = SIZE_MAX;
		for (size_t k = 0; k < ncols; k++)
			if (cols[k].at < cols[k].rec.n && cols[k].rec.line[cols[k].at] < line) {
				line = cols[k].rec.line[cols[k].at];
				m.text = cols[k].rec.text[cols[k].at];
			}
		if (line == SIZE_MAX)
			break;
		while (ci < community.n && community.line[ci] < line)
			ci++;
		if (ci < community.n && community.line[ci] == line)
			m.community_name = community.label[ci];
		classifier_decide(c, &m, &d);
		decisions++;
		for (size_t k = 0; k < ncols; k++) {
			struct column *col = &cols[k];
			if (col->at < col->rec.n && col->rec.line[col->at] == line)
				scorer_add(&col->sc, col->rec.label[col->at++], decided(&d, k));
		}
		classification_clear(&d);
	}
	if (community.n)
		printf("records: %zu texts from %s, each decided once from its text and its "
		       "community's name (column \"%s\"), without coordinates\n",
		       decisions, input, community_column);
	else
		printf("records: %zu texts from %s, each decided once from its text alone (no "
		       "community name, no coordinates)\n",
		       decisions, input);
	printf("decision: models %s\n", classifier_version(c));
	for (size_t k = 0; k < ncols; k++) {
		if (!cols[k].present) {
			if (strcmp(cols[k].name, "-") == 0)
				printf("\n%s: not scored (not asked for)\n", cols[k].what);
			else
				printf("\n%s: not scored (%s has no column \"%s\")\n", cols[k].what,
				       input, cols[k].name);
			continue;
		}
		printf("\n%s (column \"%s\"): ", cols[k].what, cols[k].name);
		scorer_print(&cols[k].sc);
	}
	rc = 0;
out:
	for (size_t k = 0; k < ncols; k++) {
		records_clear(&cols[k].rec);
		scorer_free(&cols[k].sc);
	}
	records_clear(&community);
	classifier_free(c);
	return rc;
}

int cli_eval(int argc, char **argv)
{
	struct opt o[E_COUNT] = {
	        [E_MODEL] = {"--model", false, NULL, false},
	        [E_DECISION] = {"--decision", true, NULL, false},
	        [E_INPUT] = {"--input", false, NULL, false},
	        [E_TEXT] = {"--text-column", false, "text", false},
	        [E_LABEL] = {"--label-column", false, "label", false},
	        [E_INCIDENT] = {"--incident-column", false, "incident", false},
	        [E_MUNICIPALITY] = {"--municipality-column", false, "municipality", false},
	        [E_URGENCY] = {"--urgency-column", false, "urgency", false},
	        [E_COMMUNITY] = {"--community-column", false, "-", false},
	        [E_MODEL_DIR] = {"--model-dir", false, getenv("MODEL_DIR"), false},
	        [E_REGION_DIR] = {"--region-dir", false, getenv("REGION_DIR"), false},
	};
	char *shipped;
	int rc;

	if (parse_opts(argv[0], argc, argv, o, E_COUNT) < 0)
		return 2;
	if (!o[E_INPUT].seen) {
		fprintf(stderr, "%s: --input is required\n", argv[0]);
		return 2;
	}
	if (o[E_DECISION].seen && o[E_MODEL].seen) {
		fprintf(stderr, "%s: --decision scores the shipped decision; --model one model\n",
		        argv[0]);
		return 2;
	}
	if (o[E_DECISION].seen)
		return eval_decision(argv[0], o);
	if (o[E_MODEL].seen)
		return eval_model(argv[0], o[E_MODEL].value, o);
	shipped = o[E_MODEL_DIR].value ? xasprintf("%s/topic.model", o[E_MODEL_DIR].value)
	                               : file_share_path("classifier/topic.model");
	rc = eval_model(argv[0], shipped, o);
	free(shipped);
	return rc;
}

/* ---- classify ------------------------------------------------------------------------------ */

/* v with four decimals ("0.4213", "-1.0000"), as printf's "%.4f" writes it but without its
 * cost, which showed in the profile of classify at 16 numbers a line. */
static void sb_num(struct strbuf *b, double v)
{
	char num[32], *p = num + sizeof(num);
	unsigned long long units;
	bool neg;

	if (!(fabs(v) < 1e12)) {
		strbuf_addf(b, "%.4f", isfinite(v) ? v : 0.0);
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
	strbuf_add(b, p, (size_t)(num + sizeof(num) - p));
}

/* What classify runs on each message: one model alone, or the full decision. */
struct classify_run {
	/* --model */
	struct model *m;
	struct featurizer *fz;
	struct fvec v;
	float *probs;
	char **labels; /* label l as a JSON string, escaped once for every line */
	uint32_t ntop;
	struct feature_weight top[FEATURES_MAX_EXPLAIN];
	/* otherwise */
	struct classifier *c;
	/* --stats: seconds spent */
	double decoding, deciding, encoding;
};

/* The model's label of text, its probabilities in cr->probs and the features that weighed
 * most for it in cr->top[0..*ntop). */
static uint32_t model_classify(struct classify_run *cr, const char *text, size_t *ntop)
{
	uint32_t best;

	if (cr->ntop)
		features_extract_named(cr->fz, text, strlen(text), &cr->v);
	else
		features_extract(cr->fz, text, strlen(text), &cr->v);
	best = model_predict(cr->m, &cr->v, cr->probs);
	*ntop = cr->ntop ? features_explain(cr->fz, cr->m, &cr->v, best, cr->top, cr->ntop) : 0;
	return best;
}

/* That classification of msg as its output line. */
static void write_model_result(const struct classify_run *cr, struct strbuf *b,
                               const struct message *msg, uint32_t best, size_t ntop)
{
	const uint32_t nl = model_label_count(cr->m);

	strbuf_addstr(b, "{\"id\":");
	json_out_string(b, msg->id, strlen(msg->id));
	strbuf_addstr(b, ",\"label\":");
	strbuf_addstr(b, cr->labels[best]);
	strbuf_addstr(b, ",\"score\":");
	sb_num(b, cr->probs[best]);
	strbuf_addstr(b, ",\"scores\":{");
	for (uint32_t l = 0; l < nl; l++) {
		if (l)
			strbuf_addch(b, ',');
		strbuf_addstr(b, cr->labels[l]);
		strbuf_addch(b, ':');
		sb_num(b, cr->probs[l]);
	}
	strbuf_addstr(b, "},\"top_features\":[");
	for (size_t i = 0; i < ntop; i++) {
		strbuf_addstr(b, i ? ",{\"feature\":" : "{\"feature\":");
		json_out_string(b, cr->top[i].name, strlen(cr->top[i].name));
		strbuf_addstr(b, ",\"weight\":");
		sb_num(b, cr->top[i].weight);
		strbuf_addch(b, '}');
	}
	strbuf_addstr(b, "],\"model\":");
	json_out_string(b, model_version(cr->m), strlen(model_version(cr->m)));
	strbuf_addstr(b, "}\n");
}

static void write_error(struct strbuf *b, size_t line, const struct field_error *e)
{
	strbuf_addf(b, "{\"line\":%zu,\"error\":", line);
	json_out_string(b, e->message, strlen(e->message));
	strbuf_addstr(b, ",\"field\":");
	json_out_string(b, e->field, strlen(e->field));
	strbuf_addstr(b, "}\n");
}

/* Decodes one input line, decides and writes its output line. Returns 0, or -1 for a line
 * that is not a message.v1 record (its error line written). */
static int classify_line(struct classify_run *cr, struct strbuf *b, const char *line, size_t len,
                         size_t lineno)
{
	struct classified r = {0};
	struct field_error fe;
	double t0 = now_s(), t1, t2;

	if (message_decode_bytes(line, len, &r.message, &fe) < 0) {
		write_error(b, lineno, &fe);
		return -1;
	}
	t1 = now_s();
	if (cr->m) {
		size_t ntop;
		uint32_t best = model_classify(cr, r.message.text, &ntop);
		t2 = now_s();
		write_model_result(cr, b, &r.message, best, ntop);
	} else {
		classifier_decide(cr->c, &r.message, &r.c);
		t2 = now_s();
		classifier_write(b, &r);
		strbuf_addch(b, '\n');
	}
	classified_clear(&r);
	cr->decoding += t1 - t0;
	cr->deciding += t2 - t1;
	cr->encoding += now_s() - t2;
	return 0;
}

enum { C_MODEL, C_TOP, C_STATS, C_MODEL_DIR, C_REGION_DIR, C_COUNT };

/* Loads what the options ask for into cr: 0, or the exit status. */
static int classify_open(const char *cmd, const struct opt *o, struct classify_run *cr)
{
	char err[512];

	cr->ntop = 5;
	if (!o[C_MODEL].seen) {
		if (o[C_TOP].seen) {
			fprintf(stderr, "%s: --top goes with --model (a decision names 5)\n", cmd);
			return 2;
		}
		cr->c = classifier_open_dirs(o[C_MODEL_DIR].value, o[C_REGION_DIR].value, 0.5, err,
		                             sizeof(err));
		if (!cr->c) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			return 1;
		}
		return 0;
	}
	if (o[C_TOP].seen &&
	    parse_u32(cmd, "--top", o[C_TOP].value, 0, FEATURES_MAX_EXPLAIN, &cr->ntop) < 0)
		return 2;
	if (!(cr->m = model_load(o[C_MODEL].value, err, sizeof(err))) ||
	    !(cr->fz = featurizer_new(model_features(cr->m), err, sizeof(err)))) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return 1;
	}
	cr->probs = xmalloc(model_label_count(cr->m) * sizeof(float));
	cr->labels = xcalloc(model_label_count(cr->m), sizeof(char *));
	for (uint32_t l = 0; l < model_label_count(cr->m); l++) {
		struct strbuf lb = {0};
		json_out_string(&lb, model_label(cr->m, l), strlen(model_label(cr->m, l)));
		cr->labels[l] = strbuf_detach(&lb);
	}
	return 0;
}

int cli_classify(int argc, char **argv)
{
	struct opt o[C_COUNT] = {
	        [C_MODEL] = {"--model", false, NULL, false},
	        [C_TOP] = {"--top", false, NULL, false},
	        [C_STATS] = {"--stats", true, NULL, false},
	        [C_MODEL_DIR] = {"--model-dir", false, getenv("MODEL_DIR"), false},
	        [C_REGION_DIR] = {"--region-dir", false, getenv("REGION_DIR"), false},
	};
	struct classify_run cr = {0};
	struct strbuf out = {0};
	char *line = NULL;
	size_t cap = 0, lineno = 0, ok = 0, bad = 0;
	ssize_t got;
	double t0, cpu0;
	int rc;

	if (parse_opts(argv[0], argc, argv, o, C_COUNT) < 0)
		return 2;
	rc = classify_open(argv[0], o, &cr);
	if (rc)
		goto out;
	t0 = now_s();
	cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	while ((got = getline(&line, &cap, stdin)) >= 0) {
		size_t len = (size_t)got;
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		if (classify_line(&cr, &out, line, len, lineno) < 0)
			bad++;
		else
			ok++;
		if (out.len >= 1 << 16) {
			if (fwrite(out.buf, 1, out.len, stdout) != out.len)
				break;
			out.len = 0; /* the buffer is kept for the next lines */
			out.buf[0] = '\0';
		}
	}
	if (out.len && fwrite(out.buf, 1, out.len, stdout) != out.len)
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
		double s = now_s() - t0, per = ok ? 1e6 / (double)ok : 0.0;
		/* The process's CPU time too: on a core shared with other work, the wall clock
		 * counts the time others had it. */
		double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
		fprintf(stderr,
		        "classified %zu %s (%zu bad lines) in %.3f s: %.0f %s/s; per %s: decoding "
		        "%.1f us, %s %.1f us, writing %.1f us; CPU %.3f s: %.0f %s/s\n",
		        ok, cr.m ? "texts" : "messages", bad, s,
		        s > 0 ? (double)(ok + bad) / s : 0.0, cr.m ? "texts" : "messages",
		        cr.m ? "text" : "message", cr.decoding * per,
		        cr.m ? "classifying" : "deciding", cr.deciding * per, cr.encoding * per,
		        cpu, cpu > 0 ? (double)(ok + bad) / cpu : 0.0, cr.m ? "texts" : "messages");
	}
out:
	if (cr.labels)
		for (uint32_t l = 0; l < model_label_count(cr.m); l++)
			free(cr.labels[l]);
	free(cr.labels);
	free(line);
	strbuf_release(&out);
	free(cr.probs);
	fvec_clear(&cr.v);
	featurizer_free(cr.fz);
	model_free(cr.m);
	classifier_free(cr.c);
	return rc;
}
