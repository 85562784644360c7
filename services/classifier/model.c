/*
 * model: softmax regression trained by AdaGrad SGD, quantised weights, and the model file
 * (see model.h).
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "hash.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"

#define MODEL_MAGIC "OTKMODEL"
#define MODEL_FORMAT_VERSION 1u

/* In memory a bucket's row of weights is padded to a multiple of 16 labels: an int8 row of 15
 * labels then fills 16 aligned bytes instead of straddling cache lines, and the scoring loop
 * works in fixed blocks of 16 that the compiler vectorises. */
#define ROW_BLOCK 16
#define PREFETCH_AHEAD 8

struct model {
	struct features_config fc;
	uint32_t nl;
	char **labels;
	float *bias;  /* [nl] */
	float *scale; /* [nl]: weight = stored value * scale (1 for float32) */
	enum model_quant quant;
	enum model_loss loss;
	float prob_scale; /* probabilities are softmax(prob_scale * scores) */
	void *w;          /* [buckets][stride] of float, int16_t or int8_t, 64-byte aligned */
	void *w_alloc;    /* the allocation w lies in */
	size_t stride;    /* nl rounded up to ROW_BLOCK, the padding zero */
	char version[17];
};

static void image_version(struct model *m);

void train_config_default(struct train_config *c)
{
	memset(c, 0, sizeof(*c));
	c->loss = MODEL_LOSS_SVM;
	c->epochs = 50;
	c->c = 2.0f;
	c->tol = 0.1f;
	c->eta = 0.5f;
	c->lambda = 1e-5f;
	c->balance = 0.0f;
	c->seed = 20250101;
	c->quant = MODEL_QUANT_I8;
}

uint32_t model_label_count(const struct model *m)
{
	return m->nl;
}

const char *model_label(const struct model *m, uint32_t i)
{
	return i < m->nl ? m->labels[i] : NULL;
}

int model_label_index(const struct model *m, const char *name)
{
	for (uint32_t i = 0; i < m->nl; i++)
		if (strcmp(m->labels[i], name) == 0)
			return (int)i;
	return -1;
}

const struct features_config *model_features(const struct model *m)
{
	return &m->fc;
}

enum model_quant model_quantization(const struct model *m)
{
	return m->quant;
}

const char *model_version(const struct model *m)
{
	return m->version;
}

static size_t model_buckets(const struct model *m)
{
	return (size_t)1 << m->fc.bits;
}

float model_weight(const struct model *m, uint32_t b, uint32_t l)
{
	size_t i = (size_t)b * m->stride + l;

	switch (m->quant) {
	case MODEL_QUANT_I16:
		return (float)((const int16_t *)m->w)[i] * m->scale[l];
	case MODEL_QUANT_I8:
		return (float)((const int8_t *)m->w)[i] * m->scale[l];
	default:
		return ((const float *)m->w)[i];
	}
}

void model_weights_row(const struct model *m, uint32_t b, float *row)
{
	const size_t i = (size_t)b * m->stride;

	for (uint32_t l = 0; l < m->nl; l++) {
		switch (m->quant) {
		case MODEL_QUANT_I16:
			row[l] = (float)((const int16_t *)m->w)[i + l] * m->scale[l];
			break;
		case MODEL_QUANT_I8:
			row[l] = (float)((const int8_t *)m->w)[i + l] * m->scale[l];
			break;
		default:
			row[l] = ((const float *)m->w)[i + l];
			break;
		}
	}
}

void model_label_weights(const struct model *m, uint32_t l, const struct fvec *x, float *out)
{
	const size_t st = m->stride;

	switch (m->quant) {
	case MODEL_QUANT_I16:
		for (uint32_t i = 0; i < x->n; i++)
			out[i] = (float)((const int16_t *)m->w)[x->idx[i] * st + l] * m->scale[l];
		break;
	case MODEL_QUANT_I8:
		for (uint32_t i = 0; i < x->n; i++)
			out[i] = (float)((const int8_t *)m->w)[x->idx[i] * st + l] * m->scale[l];
		break;
	default:
		for (uint32_t i = 0; i < x->n; i++)
			out[i] = ((const float *)m->w)[x->idx[i] * st + l];
		break;
	}
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nl; i++)
		free(m->labels[i]);
	free(m->labels);
	free(m->bias);
	free(m->scale);
	free(m->w_alloc);
	free(m);
}

/* Softmax of s[0..n) in place; returns the index of the largest (the first of equals). */
static uint32_t softmax(float *s, uint32_t n)
{
	uint32_t best = 0;
	float sum = 0.0f;

	for (uint32_t l = 1; l < n; l++)
		if (s[l] > s[best])
			best = l;
	for (uint32_t l = 0; l < n; l++) {
		s[l] = expf(s[l] - s[best]);
		sum += s[l];
	}
	for (uint32_t l = 0; l < n; l++)
		s[l] /= sum;
	return best;
}

enum model_loss model_loss(const struct model *m)
{
	return m->loss;
}

float model_prob_scale(const struct model *m)
{
	return m->prob_scale;
}

uint32_t model_softmax(const float *scores, uint32_t n, float t, float *probs)
{
	for (uint32_t l = 0; l < n; l++)
		probs[l] = scores[l] * t;
	return softmax(probs, n);
}

uint32_t model_predict(const struct model *m, const struct fvec *x, float *probs)
{
	const uint32_t nl = m->nl;

	model_scores(m, x, probs);
	for (uint32_t l = 0; l < nl; l++)
		probs[l] *= m->prob_scale;
	return softmax(probs, nl);
}

const void *model_rows(const struct model *m, size_t *row_bytes)
{
	*row_bytes = m->stride * (m->quant == MODEL_QUANT_I8    ? 1
	                          : m->quant == MODEL_QUANT_I16 ? 2
	                                                        : 4);
	return m->w;
}

uint32_t model_scores(const struct model *m, const struct fvec *x, float *scores)
{
	const size_t stride = m->stride;
	float acc[MODEL_MAX_LABELS + ROW_BLOCK];
	uint32_t best = 0;

	memset(acc, 0, stride * sizeof(float));
	switch (m->quant) {
	case MODEL_QUANT_I8:
		for (uint32_t i = 0; i < x->n; i++) {
			const int8_t *row = (const int8_t *)m->w + (size_t)x->idx[i] * stride;
			/* The rows are scattered over megabytes: ask for a later one while this one
			 * is added (measured: see README). */
			if (i + PREFETCH_AHEAD < x->n)
				__builtin_prefetch((const int8_t *)m->w +
				                   (size_t)x->idx[i + PREFETCH_AHEAD] * stride);
			const float v = x->val[i];
			for (size_t b = 0; b < stride; b += ROW_BLOCK)
				for (size_t k = 0; k < ROW_BLOCK; k++)
					acc[b + k] += v * (float)row[b + k];
		}
		break;
	case MODEL_QUANT_I16:
		for (uint32_t i = 0; i < x->n; i++) {
			const int16_t *row = (const int16_t *)m->w + (size_t)x->idx[i] * stride;
			const float v = x->val[i];
			for (size_t b = 0; b < stride; b += ROW_BLOCK)
				for (size_t k = 0; k < ROW_BLOCK; k++)
					acc[b + k] += v * (float)row[b + k];
		}
		break;
	default:
		for (uint32_t i = 0; i < x->n; i++) {
			const float *row = (const float *)m->w + (size_t)x->idx[i] * stride;
			const float v = x->val[i];
			for (size_t b = 0; b < stride; b += ROW_BLOCK)
				for (size_t k = 0; k < ROW_BLOCK; k++)
					acc[b + k] += v * row[b + k];
		}
		break;
	}
	for (uint32_t l = 0; l < m->nl; l++) {
		scores[l] = m->bias[l] + m->scale[l] * acc[l];
		if (scores[l] > scores[best])
			best = l;
	}
	return best;
}

/* Mean negative log-likelihood of the true labels under softmax(t * scores). */
static double scaled_nll(const float *scores, const uint32_t *y, size_t n, uint32_t nl, double t)
{
	double sum = 0.0;

	for (size_t i = 0; i < n; i++) {
		const float *s = scores + i * nl;
		double mx = s[0], z = 0.0;
		for (uint32_t l = 1; l < nl; l++)
			mx = s[l] > mx ? s[l] : mx;
		for (uint32_t l = 0; l < nl; l++)
			z += exp(t * (s[l] - mx));
		sum += log(z) - t * (s[y[i]] - mx);
	}
	return n ? sum / (double)n : 0.0;
}

float model_fit_prob_scale(const float *scores, const uint32_t *y, size_t n, uint32_t nl)
{
	/* The likelihood is convex in t: golden-section search over log t in [1/100, 100]. */
	const double g = 0.6180339887498949;
	double a = log(0.01), b = log(100.0);
	double c = b - g * (b - a), d = a + g * (b - a);
	double fc = scaled_nll(scores, y, n, nl, exp(c)), fd = scaled_nll(scores, y, n, nl, exp(d));

	for (int it = 0; it < 60 && b - a > 1e-4; it++) {
		if (fc < fd) {
			b = d;
			d = c;
			fd = fc;
			c = b - g * (b - a);
			fc = scaled_nll(scores, y, n, nl, exp(c));
		} else {
			a = c;
			c = d;
			fc = fd;
			d = a + g * (b - a);
			fd = scaled_nll(scores, y, n, nl, exp(d));
		}
	}
	return (float)exp((a + b) / 2);
}

void model_set_prob_scale(struct model *m, float t)
{
	m->prob_scale = t;
	image_version(m);
}

/* ---- training ------------------------------------------------------------------------------ */

/* splitmix64: a small, well-mixed generator whose sequence is fixed by the seed everywhere. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias worth speaking of for n < 2^32. */
static size_t rng_below(uint64_t *state, size_t n)
{
	return (size_t)(((rng_next(state) >> 32) * (uint64_t)n) >> 32);
}

static int check_labels(const char *const *labels, uint32_t nl, char *err, size_t errlen)
{
	if (nl < 2 || nl > MODEL_MAX_LABELS) {
		snprintf(err, errlen, "labels: %u labels, a model needs 2..%d", nl,
		         MODEL_MAX_LABELS);
		return -1;
	}
	for (uint32_t i = 0; i < nl; i++) {
		size_t len = labels[i] ? strlen(labels[i]) : 0;
		if (len == 0 || len > MODEL_MAX_LABEL_BYTES) {
			snprintf(err, errlen, "label %u: must be 1..%d bytes", i,
			         MODEL_MAX_LABEL_BYTES);
			return -1;
		}
		if (utf8_invalid_at(labels[i], len) >= 0) {
			snprintf(err, errlen, "label %u: not valid UTF-8", i);
			return -1;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(labels[i], labels[j]) == 0) {
				snprintf(err, errlen, "label %u: \"%s\" repeats label %u", i,
				         labels[i], j);
				return -1;
			}
		}
	}
	return 0;
}

static struct model *model_alloc(const struct features_config *fc, const char *const *labels,
                                 uint32_t nl)
{
	struct model *m = xcalloc(1, sizeof(*m));

	m->fc = *fc;
	m->nl = nl;
	m->labels = xcalloc(nl, sizeof(char *));
	for (uint32_t i = 0; i < nl; i++)
		m->labels[i] = xstrdup(labels[i]);
	m->bias = xcalloc(nl, sizeof(float));
	m->scale = xcalloc(nl, sizeof(float));
	m->stride = (nl + ROW_BLOCK - 1) / ROW_BLOCK * ROW_BLOCK;
	return m;
}

/* Zeroed room for m's weights, elem bytes each, into m->w: aligned to a cache line, so that a
 * row of up to 64 bytes lies in one line. */
static void *weights_new(struct model *m, size_t elem)
{
	size_t bytes = model_buckets(m) * m->stride * elem;

	m->w_alloc = xcalloc(bytes + 63, 1);
	m->w = (void *)(((uintptr_t)m->w_alloc + 63) & ~(uintptr_t)63);
	return m->w;
}

/* Stores the trained float weights w ([buckets][nl], freed here) as m->quant asks, in rows
 * padded to the stride. */
static void quantize(struct model *m, float *w)
{
	const size_t nb = model_buckets(m), nl = m->nl, st = m->stride;
	const float qmax = m->quant == MODEL_QUANT_I8 ? 127.0f : 32767.0f;

	for (size_t l = 0; l < nl; l++) {
		float mx = 0.0f;
		for (size_t b = 0; b < nb; b++)
			if (fabsf(w[b * nl + l]) > mx)
				mx = fabsf(w[b * nl + l]);
		m->scale[l] = m->quant == MODEL_QUANT_F32 || mx == 0.0f ? 1.0f : mx / qmax;
	}
	if (m->quant == MODEL_QUANT_I8) {
		int8_t *q = weights_new(m, 1);
		for (size_t b = 0; b < nb; b++)
			for (size_t l = 0; l < nl; l++)
				q[b * st + l] = (int8_t)lrintf(w[b * nl + l] / m->scale[l]);
	} else if (m->quant == MODEL_QUANT_I16) {
		int16_t *q = weights_new(m, sizeof(int16_t));
		for (size_t b = 0; b < nb; b++)
			for (size_t l = 0; l < nl; l++)
				q[b * st + l] = (int16_t)lrintf(w[b * nl + l] / m->scale[l]);
	} else {
		float *q = weights_new(m, sizeof(float));
		for (size_t b = 0; b < nb; b++)
			memcpy(q + b * st, w + b * nl, nl * sizeof(float));
	}
	free(w);
}

/* Softmax regression by AdaGrad: per-coordinate rates eta / sqrt(sum of squared gradients),
 * L2 applied to the weights an example touches. */
static void train_softmax(struct model *m, float *w, const struct fvec *x, const uint32_t *y,
                          size_t *order, size_t nrows, const float *cw,
                          const struct train_config *tc)
{
	const uint32_t nl = m->nl;
	const size_t nb = model_buckets(m);
	const float eps = 1e-6f;
	float *g2 = xcalloc(nb * nl, sizeof(float)), *bias_g2 = xcalloc(nl, sizeof(float));
	float *s = xmalloc(nl * sizeof(float));
	uint64_t rng = tc->seed;

	for (uint32_t e = 0; e < tc->epochs; e++) {
		for (size_t i = nrows - 1; i > 0; i--) {
			size_t j = rng_below(&rng, i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (size_t r = 0; r < nrows; r++) {
			const struct fvec *v = &x[order[r]];
			const uint32_t yl = y[order[r]];
			for (uint32_t l = 0; l < nl; l++)
				s[l] = m->bias[l];
			for (uint32_t i = 0; i < v->n; i++) {
				const float *row = w + (size_t)v->idx[i] * nl;
				for (uint32_t l = 0; l < nl; l++)
					s[l] += v->val[i] * row[l];
			}
			softmax(s, nl);
			/* s becomes the gradient of the loss with respect to the scores. */
			s[yl] -= 1.0f;
			for (uint32_t l = 0; l < nl; l++) {
				s[l] *= cw[yl];
				bias_g2[l] += s[l] * s[l];
				m->bias[l] -= tc->eta * s[l] / (sqrtf(bias_g2[l]) + eps);
			}
			for (uint32_t i = 0; i < v->n; i++) {
				float *row = w + (size_t)v->idx[i] * nl;
				float *acc = g2 + (size_t)v->idx[i] * nl;
				const float xv = v->val[i];
				for (uint32_t l = 0; l < nl; l++) {
					float gr = s[l] * xv + tc->lambda * row[l];
					acc[l] += gr * gr;
					row[l] -= tc->eta * gr / (sqrtf(acc[l]) + eps);
				}
			}
		}
	}
	free(g2);
	free(bias_g2);
	free(s);
}

/*
 * One-vs-rest L2-regularised L2-loss (squared hinge) SVM, each label by the dual coordinate
 * descent of Hsieh et al. (ICML 2008), the solver behind LIBLINEAR and scikit-learn's
 * LinearSVC: exact regularisation, no learning rate, converging in a few passes. The bias is a
 * feature of value 1 (regularised like the others, as LIBLINEAR does). A label's weights are
 * trained in a dense vector of their own (one megabyte at 2^18 buckets, cache-resident) and
 * interleaved into w at the end.
 */
static void train_svm(struct model *m, float *w, const struct fvec *x, const uint32_t *y,
                      const size_t *order, size_t nrows, const float *cw,
                      const struct train_config *tc)
{
	const uint32_t nl = m->nl;
	const size_t nb = model_buckets(m);
	float *wl = xmalloc(nb * sizeof(float)), *alpha = xmalloc(nrows * sizeof(float));
	float *qd = xmalloc(nrows * sizeof(float));
	size_t *perm = xmalloc(nrows * sizeof(size_t));

	for (size_t j = 0; j < nrows; j++) {
		const struct fvec *v = &x[order[j]];
		float sq = 1.0f; /* the bias feature */
		for (uint32_t i = 0; i < v->n; i++)
			sq += v->val[i] * v->val[i];
		qd[j] = sq;
	}
	for (uint32_t l = 0; l < nl; l++) {
		uint64_t rng = tc->seed + l;
		float bias = 0.0f;
		memset(wl, 0, nb * sizeof(float));
		memset(alpha, 0, nrows * sizeof(float));
		for (size_t j = 0; j < nrows; j++)
			perm[j] = j;
		for (uint32_t it = 0; it < tc->epochs; it++) {
			float pg_max = -INFINITY, pg_min = INFINITY;
			for (size_t j = nrows - 1; j > 0; j--) {
				size_t k = rng_below(&rng, j + 1), t = perm[j];
				perm[j] = perm[k];
				perm[k] = t;
			}
			for (size_t k = 0; k < nrows; k++) {
				const size_t j = perm[k];
				const struct fvec *v = &x[order[j]];
				const uint32_t yl = y[order[j]];
				const float yi = yl == l ? 1.0f : -1.0f;
				/* Class weights scale C; the L2 loss puts 1/(2C) on the diagonal. */
				const float dii = 0.5f / (tc->c * cw[yi > 0 ? l : yl]);
				float dot = bias, g, pg, a;
				for (uint32_t i = 0; i < v->n; i++)
					dot += wl[v->idx[i]] * v->val[i];
				g = yi * dot - 1.0f + dii * alpha[j];
				pg = alpha[j] > 0.0f ? g : fminf(g, 0.0f);
				pg_max = fmaxf(pg_max, pg);
				pg_min = fminf(pg_min, pg);
				if (fabsf(pg) < 1e-12f)
					continue;
				a = fmaxf(alpha[j] - g / (qd[j] + dii), 0.0f);
				if (a != alpha[j]) {
					const float d = (a - alpha[j]) * yi;
					alpha[j] = a;
					bias += d;
					for (uint32_t i = 0; i < v->n; i++)
						wl[v->idx[i]] += d * v->val[i];
				}
			}
			if (pg_max - pg_min < tc->tol)
				break;
		}
		for (size_t b = 0; b < nb; b++)
			w[b * nl + l] = wl[b];
		m->bias[l] = bias;
	}
	free(wl);
	free(alpha);
	free(qd);
	free(perm);
}

struct model *model_train(const struct features_config *fc, const char *const *labels,
                          uint32_t nlabels, const struct fvec *x, const uint32_t *y,
                          const size_t *rows, size_t nrows, const struct train_config *tc,
                          char *err, size_t errlen)
{
	const uint32_t nl = nlabels;
	struct model *m;
	size_t nb, *order, *count;
	float *w, *cw;

	if (features_config_check(fc, err, errlen) < 0 || check_labels(labels, nl, err, errlen) < 0)
		return NULL;
	if (nrows == 0) {
		snprintf(err, errlen, "no examples to train on");
		return NULL;
	}
	if ((tc->loss != MODEL_LOSS_SOFTMAX && tc->loss != MODEL_LOSS_SVM) || tc->epochs < 1 ||
	    tc->epochs > 1000 || !(tc->eta > 0.0f) || !(tc->lambda >= 0.0f) ||
	    !(tc->balance >= 0.0f && tc->balance <= 1.0f) || !(tc->c > 0.0f) || !(tc->tol > 0.0f)) {
		snprintf(err, errlen,
		         "training: loss softmax or svm, epochs 1..1000, eta > 0, lambda >= 0, "
		         "balance 0..1, C > 0, tol > 0");
		return NULL;
	}
	if (tc->quant != MODEL_QUANT_F32 && tc->quant != MODEL_QUANT_I16 &&
	    tc->quant != MODEL_QUANT_I8) {
		snprintf(err, errlen, "training: unknown quantization %d", (int)tc->quant);
		return NULL;
	}
	order = xmalloc(nrows * sizeof(size_t));
	count = xcalloc(nl, sizeof(size_t));
	for (size_t i = 0; i < nrows; i++) {
		order[i] = rows ? rows[i] : i;
		if (y[order[i]] >= nl) {
			snprintf(err, errlen, "example %zu: label index %u out of range", order[i],
			         y[order[i]]);
			free(order);
			free(count);
			return NULL;
		}
		count[y[order[i]]]++;
	}
	m = model_alloc(fc, labels, nl);
	m->quant = tc->quant;
	m->loss = tc->loss;
	m->prob_scale = tc->loss == MODEL_LOSS_SVM ? MODEL_SVM_PROB_SCALE : 1.0f;
	nb = model_buckets(m);
	w = xcalloc(nb * nl, sizeof(float));
	cw = xmalloc(nl * sizeof(float));
	for (uint32_t l = 0; l < nl; l++)
		cw[l] = count[l] ? powf((float)nrows / ((float)nl * (float)count[l]), tc->balance)
		                 : 1.0f;

	if (tc->loss == MODEL_LOSS_SVM)
		train_svm(m, w, x, y, order, nrows, cw, tc);
	else
		train_softmax(m, w, x, y, order, nrows, cw, tc);
	free(order);
	free(count);
	free(cw);
	quantize(m, w);
	image_version(m);
	return m;
}

/* ---- the file ------------------------------------------------------------------------------ */

static void put_u32(struct strbuf *b, uint32_t v)
{
	unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
	                       (unsigned char)(v >> 24)};

	strbuf_add(b, le, 4);
}

static void put_u64(struct strbuf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32(struct strbuf *b, float f)
{
	uint32_t v;

	memcpy(&v, &f, 4);
	put_u32(b, v);
}

enum feature_flags { FF_STEMS = 1, FF_BIGRAMS = 2, FF_NUMBERS = 4 };

/* The file image of m, checksum included, into b (empty). */
static void image_write(const struct model *m, struct strbuf *b)
{
	const size_t nb = model_buckets(m), nl = m->nl, st = m->stride;
	uint32_t flags = (m->fc.stems ? FF_STEMS : 0) | (m->fc.bigrams ? FF_BIGRAMS : 0) |
	                 (m->fc.numbers ? FF_NUMBERS : 0);

	strbuf_add(b, MODEL_MAGIC, 8);
	put_u32(b, MODEL_FORMAT_VERSION);
	put_u32(b, (uint32_t)m->quant);
	put_u32(b, m->fc.bits);
	put_u32(b, m->fc.char_min);
	put_u32(b, m->fc.char_max);
	put_u32(b, flags);
	put_f32(b, m->fc.char_weight);
	put_u32(b, (uint32_t)m->loss);
	put_f32(b, m->prob_scale);
	put_u32(b, m->nl);
	for (uint32_t l = 0; l < m->nl; l++) {
		uint32_t len = (uint32_t)strlen(m->labels[l]);
		put_u32(b, len);
		strbuf_add(b, m->labels[l], len);
	}
	for (uint32_t l = 0; l < m->nl; l++)
		put_f32(b, m->bias[l]);
	for (uint32_t l = 0; l < m->nl; l++)
		put_f32(b, m->scale[l]);
	for (size_t r = 0; r < nb; r++) {
		switch (m->quant) {
		case MODEL_QUANT_I8:
			strbuf_add(b, (const int8_t *)m->w + r * st, nl);
			break;
		case MODEL_QUANT_I16:
			for (size_t l = 0; l < nl; l++) {
				uint16_t v = (uint16_t)((const int16_t *)m->w)[r * st + l];
				unsigned char le[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
				strbuf_add(b, le, 2);
			}
			break;
		default:
			for (size_t l = 0; l < nl; l++)
				put_f32(b, ((const float *)m->w)[r * st + l]);
			break;
		}
	}
	put_u64(b, fnv1a64(FNV1A64_OFFSET, b->buf, b->len));
}

static void set_version(struct model *m, const void *image, size_t len)
{
	snprintf(m->version, sizeof(m->version), "%016llx",
	         (unsigned long long)fnv1a64(FNV1A64_OFFSET, image, len));
}

static void image_version(struct model *m)
{
	struct strbuf b = {0};

	image_write(m, &b);
	set_version(m, b.buf, b.len);
	strbuf_release(&b);
}

int model_save(const struct model *m, const char *path, char *err, size_t errlen)
{
	struct strbuf b = {0};
	char *tmp = xasprintf("%s.tmp", path);
	FILE *fp = fopen(tmp, "wb");
	int rc = -1;

	image_write(m, &b);
	if (!fp) {
		snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	if (fwrite(b.buf, 1, b.len, fp) != b.len || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
		fclose(fp);
		unlink(tmp);
		goto out;
	}
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot rename into place: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&b);
	free(tmp);
	return rc;
}

struct rbuf {
	const unsigned char *p;
	size_t len, pos;
};

static int get(struct rbuf *r, void *out, size_t n)
{
	if (r->len - r->pos < n)
		return -1;
	memcpy(out, r->p + r->pos, n);
	r->pos += n;
	return 0;
}

static int get_u32(struct rbuf *r, uint32_t *v)
{
	unsigned char le[4];

	if (get(r, le, 4) < 0)
		return -1;
	*v = (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 | (uint32_t)le[3] << 24;
	return 0;
}

static int get_f32(struct rbuf *r, float *f)
{
	uint32_t v;

	if (get_u32(r, &v) < 0)
		return -1;
	memcpy(f, &v, 4);
	return 0;
}

struct model *model_load_mem(const void *data, size_t len, const char *name, char *err,
                             size_t errlen)
{
	struct rbuf r = {data, len, 0};
	struct features_config fc;
	uint32_t version, quant, flags, nl, stored_lo, stored_hi, loss;
	float prob_scale;
	uint64_t stored;
	char magic[8], **labels = NULL, cerr[160];
	struct model *m = NULL;
	size_t n, wbytes, st;

	if (len < 8 || memcmp(data, MODEL_MAGIC, 8) != 0) {
		snprintf(err, errlen, "%s: not a classifier model (no \"%s\" at its start)", name,
		         MODEL_MAGIC);
		return NULL;
	}
	get(&r, magic, 8);
	if (get_u32(&r, &version) < 0) {
		snprintf(err, errlen, "%s: truncated after the magic", name);
		return NULL;
	}
	if (version != MODEL_FORMAT_VERSION) {
		snprintf(err, errlen, "%s: format version %u, this build reads version %u", name,
		         version, MODEL_FORMAT_VERSION);
		return NULL;
	}
	if (len < r.pos + 8) {
		snprintf(err, errlen, "%s: truncated (%zu bytes)", name, len);
		return NULL;
	}
	/* The checksum first: whatever else is wrong with a damaged file, that is the news. */
	r.len = len - 8;
	{
		struct rbuf tail = {data, len, len - 8};
		get_u32(&tail, &stored_lo);
		get_u32(&tail, &stored_hi);
		stored = (uint64_t)stored_hi << 32 | stored_lo;
	}
	if (stored != fnv1a64(FNV1A64_OFFSET, data, len - 8)) {
		snprintf(err, errlen, "%s: checksum mismatch: the file is damaged or truncated",
		         name);
		return NULL;
	}
	memset(&fc, 0, sizeof(fc));
	if (get_u32(&r, &quant) < 0 || get_u32(&r, &fc.bits) < 0 || get_u32(&r, &fc.char_min) < 0 ||
	    get_u32(&r, &fc.char_max) < 0 || get_u32(&r, &flags) < 0 ||
	    get_f32(&r, &fc.char_weight) < 0 || get_u32(&r, &loss) < 0 ||
	    get_f32(&r, &prob_scale) < 0 || get_u32(&r, &nl) < 0) {
		snprintf(err, errlen, "%s: truncated header", name);
		return NULL;
	}
	if (quant != MODEL_QUANT_F32 && quant != MODEL_QUANT_I16 && quant != MODEL_QUANT_I8) {
		snprintf(err, errlen, "%s: unknown weight type %u", name, quant);
		return NULL;
	}
	if (loss != MODEL_LOSS_SOFTMAX && loss != MODEL_LOSS_SVM) {
		snprintf(err, errlen, "%s: unknown loss %u", name, loss);
		return NULL;
	}
	if (!(prob_scale > 0.0f && prob_scale <= 1000.0f)) {
		snprintf(err, errlen, "%s: probability scale is not in (0, 1000]", name);
		return NULL;
	}
	if (flags & ~(uint32_t)(FF_STEMS | FF_BIGRAMS | FF_NUMBERS)) {
		snprintf(err, errlen, "%s: unknown feature flags 0x%x", name, flags);
		return NULL;
	}
	fc.stems = flags & FF_STEMS;
	fc.bigrams = flags & FF_BIGRAMS;
	fc.numbers = flags & FF_NUMBERS;
	if (features_config_check(&fc, cerr, sizeof(cerr)) < 0) {
		snprintf(err, errlen, "%s: feature configuration: %s", name, cerr);
		return NULL;
	}
	if (nl < 2 || nl > MODEL_MAX_LABELS) {
		snprintf(err, errlen, "%s: %u labels, a model has 2..%d", name, nl,
		         MODEL_MAX_LABELS);
		return NULL;
	}
	labels = xcalloc(nl, sizeof(char *));
	for (uint32_t l = 0; l < nl; l++) {
		uint32_t ll;
		if (get_u32(&r, &ll) < 0 || ll > MODEL_MAX_LABEL_BYTES || r.len - r.pos < ll) {
			snprintf(err, errlen, "%s: label %u: truncated or longer than %d bytes",
			         name, l, MODEL_MAX_LABEL_BYTES);
			goto fail;
		}
		labels[l] = xstrndup((const char *)r.p + r.pos, ll);
		if (strlen(labels[l]) != ll) {
			snprintf(err, errlen, "%s: label %u: contains a NUL byte", name, l);
			goto fail;
		}
		r.pos += ll;
	}
	if (check_labels((const char *const *)labels, nl, cerr, sizeof(cerr)) < 0) {
		snprintf(err, errlen, "%s: %s", name, cerr);
		goto fail;
	}
	m = model_alloc(&fc, (const char *const *)labels, nl);
	m->quant = (enum model_quant)quant;
	m->loss = (enum model_loss)loss;
	m->prob_scale = prob_scale;
	for (uint32_t l = 0; l < 2 * nl; l++) {
		float *f = l < nl ? &m->bias[l] : &m->scale[l - nl];
		if (get_f32(&r, f) < 0) {
			snprintf(err, errlen, "%s: truncated biases and scales", name);
			goto fail;
		}
		if (!isfinite(*f) || (l >= nl && !(*f > 0.0f))) {
			snprintf(err, errlen, "%s: %s of label %u is not a finite%s number", name,
			         l < nl ? "bias" : "scale", l % nl, l < nl ? "" : " positive");
			goto fail;
		}
	}
	n = model_buckets(m) * nl;
	wbytes = n * (quant == MODEL_QUANT_I8 ? 1 : quant == MODEL_QUANT_I16 ? 2 : 4);
	if (r.len - r.pos != wbytes) {
		snprintf(err, errlen, "%s: %zu bytes of weights, %u labels x 2^%u buckets need %zu",
		         name, r.len - r.pos, nl, fc.bits, wbytes);
		goto fail;
	}
	st = m->stride;
	if (quant == MODEL_QUANT_I8) {
		int8_t *q = weights_new(m, 1);
		for (size_t b = 0; b < model_buckets(m); b++)
			get(&r, q + b * st, nl);
	} else if (quant == MODEL_QUANT_I16) {
		int16_t *q = weights_new(m, sizeof(int16_t));
		for (size_t i = 0; i < n; i++, r.pos += 2)
			q[i / nl * st + i % nl] =
			        (int16_t)(uint16_t)(r.p[r.pos] | r.p[r.pos + 1] << 8);
	} else {
		float *f = weights_new(m, sizeof(float));
		for (size_t i = 0; i < n; i++) {
			float *at = &f[i / nl * st + i % nl];
			get_f32(&r, at);
			if (!isfinite(*at)) {
				snprintf(err, errlen, "%s: weight %zu is not a finite number", name,
				         i);
				goto fail;
			}
		}
	}
	set_version(m, data, len);
	for (uint32_t l = 0; l < nl; l++)
		free(labels[l]);
	free(labels);
	return m;
fail:
	for (uint32_t l = 0; l < nl; l++)
		free(labels[l]);
	free(labels);
	model_free(m);
	return NULL;
}

struct model *model_load(const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	struct model *m;
	char *data = file_read(path, &len, err, errlen);

	if (!data)
		return NULL;
	m = model_load_mem(data, len, path, err, errlen);
	free(data);
	return m;
}

void model_drop_weights(struct model *m)
{
	free(m->w_alloc);
	m->w_alloc = m->w = NULL;
}

struct model *model_join(const struct model *a, const struct model *b, char *err, size_t errlen)
{
	const char *labels[MODEL_MAX_LABELS];
	const uint32_t nl = a->nl + b->nl;
	size_t elem;
	struct model *m;
	char cerr[160];

	if (!features_config_equal(&a->fc, &b->fc) || a->quant != b->quant) {
		snprintf(err, errlen, "the models differ in features or weight type");
		return NULL;
	}
	if (nl > MODEL_MAX_LABELS) {
		snprintf(err, errlen, "%u labels together, a model has at most %d", nl,
		         MODEL_MAX_LABELS);
		return NULL;
	}
	for (uint32_t l = 0; l < nl; l++)
		labels[l] = l < a->nl ? a->labels[l] : b->labels[l - a->nl];
	if (check_labels(labels, nl, cerr, sizeof(cerr)) < 0) {
		snprintf(err, errlen, "%s", cerr);
		return NULL;
	}
	m = model_alloc(&a->fc, labels, nl);
	m->quant = a->quant;
	m->loss = a->loss;
	m->prob_scale = 1.0f;
	memcpy(m->bias, a->bias, a->nl * sizeof(float));
	memcpy(m->bias + a->nl, b->bias, b->nl * sizeof(float));
	memcpy(m->scale, a->scale, a->nl * sizeof(float));
	memcpy(m->scale + a->nl, b->scale, b->nl * sizeof(float));
	elem = m->quant == MODEL_QUANT_I8 ? 1 : m->quant == MODEL_QUANT_I16 ? 2 : 4;
	weights_new(m, elem);
	for (size_t r = 0; r < model_buckets(m); r++) {
		unsigned char *row = (unsigned char *)m->w + r * m->stride * elem;
		memcpy(row, (const unsigned char *)a->w + r * a->stride * elem, a->nl * elem);
		memcpy(row + a->nl * elem, (const unsigned char *)b->w + r * b->stride * elem,
		       b->nl * elem);
	}
	image_version(m);
	return m;
}
