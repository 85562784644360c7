/*
 * features: a text as a sparse vector of hashed features, the input of the linear model.
 *
 * Features, each hashed with its kind so that a stem and a character n-gram with the same bytes
 * never meet by construction (only by a bucket collision):
 *  - stem:    the stem of every word that is not a stop word ("stem:отоплен");
 *  - bigram:  two consecutive such stems, stop words and numbers skipped ("bigram:нет отоплен");
 *  - char:    the character n-grams (char_min..char_max code points) of every word, stop words
 *             included, padded with a word-boundary mark written '_' ("char:_нет_");
 *  - num:     the shape of a number token (its digit count capped at 5, house-number letter,
 *             "/" part: "num:dd", "num:ddda", "num:dd/d"): house numbers and dates say
 *             something, their values do not.
 * The value of a bucket is log(1 + count) (a character n-gram counts char_weight, others 1),
 * and the vector is scaled to unit L2 norm.
 *
 * The hash is 64-bit FNV-1a seeded with the kind (over bytes; over code points for character
 * n-grams), finished with a 64-bit avalanche (murmur3's fmix64), its top `bits` bits the
 * bucket: stable across machines and builds, so a saved model is valid wherever it is loaded.
 *
 * A featurizer owns a text pipeline (one stemmer), for callers that pass it text, and scratch
 * space: one per thread.
 */
#ifndef CLASSIFIER_FEATURIZER_H
#define CLASSIFIER_FEATURIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct token;

#define FEATURES_MIN_BITS 10
#define FEATURES_MAX_BITS 24
#define FEATURES_MAX_CHAR_N 8

struct features_config {
	uint32_t bits;               /* log2 of the bucket count, FEATURES_MIN_BITS..MAX_BITS */
	uint32_t char_min, char_max; /* n-gram lengths in code points; char_max 0: none */
	bool stems, bigrams, numbers;
	float char_weight; /* how much one character n-gram counts against one word */
};

/* The configuration the classifier ships with: 2^18 buckets, stems, bigrams, numbers, and
 * character 4..5-grams at weight 0.3 (measured: see README). */
void features_config_default(struct features_config *c);

/* 0 when c is usable, else -1 with the offending member named in err. */
int features_config_check(const struct features_config *c, char *err, size_t errlen);

/* True when a and b make the same features (a text's vector under one is valid for a model
 * trained under the other). */
bool features_config_equal(const struct features_config *a, const struct features_config *b);

/* A sparse vector: n distinct buckets idx[i] with values val[i], in no particular order. */
struct fvec {
	uint32_t n, cap;
	uint32_t *idx;
	float *val;
};

/* Frees v's arrays and zeroes it. */
void fvec_clear(struct fvec *v);

struct featurizer;

/* A featurizer for c (copied), which must pass features_config_check. Returns NULL with err
 * filled when it does not or when the stemmer cannot be made. Caller frees. */
struct featurizer *featurizer_new(const struct features_config *c, char *err, size_t errlen);

/* Frees f; NULL is accepted. */
void featurizer_free(struct featurizer *f);

/* From now on f asks the CPU for m's row of each bucket as the bucket first appears in a
 * vector, so that model_scores finds the rows, scattered over megabytes, in the cache; NULL
 * stops it. A hint only: the vectors are the same. */
void featurizer_prefetch_rows(struct featurizer *f, const struct model *m);

/* The configuration f was made with (borrowed). */
const struct features_config *featurizer_config(const struct featurizer *f);

/*
 * Replaces out's contents with the features of text[0..len) (any bytes; see text.h), growing
 * its arrays as needed (out must be zeroed or a vector from an earlier call). Returns out->n:
 * 0 for a text without a single token.
 */
uint32_t features_extract(struct featurizer *f, const char *text, size_t len, struct fvec *out);

#define FEATURES_MAX_EXPLAIN 32

/* Like features_extract, and also remembers where every feature of the text came from (its
 * kind and tokens, 24 bytes a feature, no copy of its bytes) until the next call on f, for
 * features_explain. */
uint32_t features_extract_named(struct featurizer *f, const char *text, size_t len,
                                struct fvec *out);

/*
 * The same over tokens the caller made (text_tokens, text_tokenize), so that one tokenisation
 * serves the featurizer and the other readers of a text; with explain, as
 * features_extract_named. The tokens are borrowed: with explain they must stay valid until
 * features_explain is done with them.
 */
uint32_t features_extract_tokens(struct featurizer *f, const struct token *toks, size_t n,
                                 bool explain, struct fvec *out);

struct feature_weight {
	char name[96]; /* "stem:отоплен", cut on a character boundary if longer */
	float weight;  /* its contribution to the label's score */
};

/*
 * Why the model gives `label` (an index below model_label_count) to the text of the last
 * features_extract_named call on f, whose vector is v: writes the at most k (capped at
 * FEATURES_MAX_EXPLAIN) features that add most to that label's score, largest first, into
 * out[0..k). A feature's contribution is its value times its weight for the label: what it adds
 * to the label's score (a one-vs-rest SVM's labels are scored independently, so that is the
 * whole of its effect); features that pull the other way are left out. Returns how many were
 * written: 0 when the last call on f was not features_extract_named. The model must have been
 * made with f's configuration.
 */
size_t features_explain(struct featurizer *f, const struct model *m, const struct fvec *v,
                        uint32_t label, struct feature_weight *out, size_t k);

#endif
