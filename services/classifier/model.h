/*
 * model: the multiclass linear classifier, its training, and its file.
 *
 * Scores are a bias plus the dot product of a text's feature vector (featurizer.h) with one
 * weight row per label; probabilities are the softmax of the scores times a scale fitted on
 * held-out data (model_fit_prob_scale). Two trainers, both deterministic for a given seed:
 *  - MODEL_LOSS_SVM (the default): one-vs-rest L2-regularised squared-hinge SVMs, each trained
 *    by dual coordinate descent (the LIBLINEAR solver behind scikit-learn's LinearSVC);
 *  - MODEL_LOSS_SOFTMAX: multinomial logistic regression by AdaGrad SGD with L2 on the
 *    weights each example touches, a few shuffled epochs.
 * On the St Petersburg appeals the SVM reaches 0.937 accuracy where softmax by SGD stays at
 * 0.92 (README has the figures), so softmax is kept for comparison only.
 *
 * A trained or loaded model keeps its weights quantised (model_quant): int8 per label with one
 * scale per label by default, a quarter of float32, so 15 labels over 2^18 buckets take 4 MB
 * in memory and on disk, and prediction reads a quarter of the memory; the measured cost is
 * 0.0001 of accuracy.
 *
 * A model is never changed by scoring: threads may share one (each with its own featurizer).
 * In memory a row of weights is padded to a multiple of 16 labels (model.c says why), so a
 * two-label model takes as much memory as a sixteen-label one (4 MB at 2^18 buckets, int8).
 *
 * The file: "OTKMODEL", a version, the feature configuration, the loss and probability scale,
 * the label names, biases and scales, the weights, and a 64-bit FNV-1a checksum of everything
 * before it; all integers and floats little-endian. model_load checks every part and says which
 * one is wrong.
 */
#ifndef CLASSIFIER_MODEL_H
#define CLASSIFIER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "featurizer.h"

#define MODEL_MAX_LABELS 1024
#define MODEL_MAX_LABEL_BYTES 256
/* An SVM's probability scale when no cross-validation fitted one (see model_fit_prob_scale):
 * the value fitted on the St Petersburg appeals (measured, see README). */
#define MODEL_SVM_PROB_SCALE 3.0f

enum model_quant {
	MODEL_QUANT_F32 = 1, /* float32 as trained */
	MODEL_QUANT_I16 = 2, /* int16 times a per-label scale */
	MODEL_QUANT_I8 = 3,  /* int8 times a per-label scale */
};

enum model_loss {
	MODEL_LOSS_SOFTMAX = 1, /* multinomial logistic regression, AdaGrad SGD */
	MODEL_LOSS_SVM = 2,     /* one-vs-rest L2-loss linear SVM, dual coordinate descent */
};

struct train_config {
	enum model_loss loss;
	uint32_t epochs; /* passes over the data (SVM: at most, see tol) */
	float eta;       /* AdaGrad base learning rate */
	float lambda;    /* L2 regularisation, applied to the weights an example touches */
	float balance;   /* class weight (n / (labels * n_class))^balance: 0 none, 1 balanced */
	float c;         /* SVM: the cost C (1 / regularisation) */
	float tol;       /* SVM: stop when the projected gradient's spread is below it */
	uint64_t seed;   /* shuffling */
	enum model_quant quant;
};

/* The configuration the shipped numbers were measured with. */
void train_config_default(struct train_config *c);

struct model;

/*
 * Trains a model for labels[0..nlabels) (copied; 2..MODEL_MAX_LABELS distinct non-empty UTF-8
 * names) and feature configuration fc (copied) on the examples x[rows[i]] with labels y[rows[i]]
 * (an index into labels), i < nrows; rows NULL means every one of nrows examples in order.
 * Returns NULL with err filled when the arguments are unusable. Caller frees.
 */
struct model *model_train(const struct features_config *fc, const char *const *labels,
                          uint32_t nlabels, const struct fvec *x, const uint32_t *y,
                          const size_t *rows, size_t nrows, const struct train_config *tc,
                          char *err, size_t errlen);

/* Frees m; NULL is accepted. */
void model_free(struct model *m);

uint32_t model_label_count(const struct model *m);

/* The name of label i < model_label_count (borrowed). */
const char *model_label(const struct model *m, uint32_t i);

/* The index of the label called name, or -1. */
int model_label_index(const struct model *m, const char *name);

/* The feature configuration the model was trained with (borrowed). */
const struct features_config *model_features(const struct model *m);

/* How the weights are stored. */
enum model_quant model_quantization(const struct model *m);

/* The model's identity: 16 hex digits of the checksum of its file image (borrowed). Two models
 * with the same version are the same model. */
const char *model_version(const struct model *m);

/* The weights as stored: *row_bytes bytes per bucket from the returned address on, for a
 * caller that asks the CPU for a bucket's row before model_scores reads it. */
const void *model_rows(const struct model *m, size_t *row_bytes);

/* The weight of bucket b for label l, dequantised. */
float model_weight(const struct model *m, uint32_t b, uint32_t l);

/* The weight for label l of each of x's buckets, dequantised, into out[0..x->n). */
void model_label_weights(const struct model *m, uint32_t l, const struct fvec *x, float *out);

/* The weights of bucket b for every label, dequantised, into row[0..label count). */
void model_weights_row(const struct model *m, uint32_t b, float *row);

/* The raw score (bias + weights . x) of every label into scores[0..label count). Returns the
 * index of the highest (the first of equals). */
uint32_t model_scores(const struct model *m, const struct fvec *x, float *scores);

/*
 * The probability of every label for x into probs[0..label count): the softmax of the scores
 * times the model's probability scale. Returns the index of the most probable label (the
 * first of equals), the same as model_scores's.
 */
uint32_t model_predict(const struct model *m, const struct fvec *x, float *probs);

/* softmax(t * scores[0..n)) into probs[0..n) (model_predict's probabilities from
 * model_scores's scores, t the model's probability scale). Returns the index of the largest. */
uint32_t model_softmax(const float *scores, uint32_t n, float t, float *probs);

/*
 * One model whose labels are a's then b's, weights and all, for two models trained with the
 * same features that score every text: one row per bucket holds both, so scoring a text reads
 * one row of 32 bytes per feature (a 2-label and a 15-label int8 model) instead of two of 16,
 * and a row lies in one cache line. model_scores gives a's scores then b's; each part's
 * probabilities are model_softmax with its own model's scale (the joined one's is 1). NULL
 * with err filled when the features or weight types differ or a label is in both. Caller
 * frees.
 */
struct model *model_join(const struct model *a, const struct model *b, char *err, size_t errlen);

/*
 * Frees m's weights and keeps the rest (labels, scales, features, version): for a model whose
 * weights live on in a model_join. Scoring m afterwards is a bug; model_free still frees it.
 */
void model_drop_weights(struct model *m);

/* How the model was trained. */
enum model_loss model_loss(const struct model *m);

/* The factor t of softmax(t * scores). An SVM's scores are margins, not log-odds: t turns them
 * into probabilities; a softmax model has 1. */
float model_prob_scale(const struct model *m);

/* The t that makes softmax(t * scores) fit labels y best (maximum likelihood), from the scores
 * of n held-out examples (scores[i * nl + l]), searched within [0.01, 100]. */
float model_fit_prob_scale(const float *scores, const uint32_t *y, size_t n, uint32_t nl);

/* Sets the probability scale (t > 0); the model's version changes with it. */
void model_set_prob_scale(struct model *m, float t);

/* Writes m to path (through a temporary file renamed into place). 0, or -1 with err filled. */
int model_save(const struct model *m, const char *path, char *err, size_t errlen);

/* Reads a model written by model_save. NULL with err filled (naming the path and what is wrong
 * with it) on any error. Caller frees. */
struct model *model_load(const char *path, char *err, size_t errlen);

/* The same from a file image in memory (borrowed; the model copies what it keeps). `name` is
 * what errors call it. */
struct model *model_load_mem(const void *data, size_t len, const char *name, char *err,
                             size_t errlen);

#endif
