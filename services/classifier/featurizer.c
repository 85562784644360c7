/*
 * features: hashed stems, stem bigrams, character n-grams and number shapes (see features.h).
 *
 * The hot path allocates nothing once its buffers have grown to the longest text seen: tokens
 * come from the text pipeline's buffer, and duplicates are merged through an open-addressing
 * table whose slots are marked with a per-call generation, so it is never cleared.
 */
#include "featurizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "text.h"
#include "xalloc.h"

enum feature_kind { KIND_STEM = 1, KIND_BIGRAM, KIND_CHAR, KIND_NUM };

static const char *const kind_names[] = {"", "stem:", "bigram:", "char:", "num:"};

/* One feature as emitted, kept only while explaining. */
struct named {
	uint64_t hash;
	uint32_t bucket;
	uint32_t name_off, name_len; /* in the featurizer's name buffer */
	float count;
};

struct featurizer {
	struct features_config cfg;
	struct text_pipeline *text;
	struct token *toks;
	size_t toks_cap;
	char *pad; /* "_word_" for character n-grams */
	size_t pad_cap;
	/* Merge table: slot s holds bucket slot_key[s] at out position slot_pos[s] when
	 * slot_gen[s] == gen. */
	uint32_t *slot_key, *slot_pos, *slot_gen;
	uint32_t slot_mask, gen;
	/* Explaining: every emitted feature with its name. */
	bool naming;
	struct named *names;
	size_t nnames, names_cap;
	char *namebuf;
	size_t namebuf_len, namebuf_cap;
};

void features_config_default(struct features_config *c)
{
	memset(c, 0, sizeof(*c));
	c->bits = 18;
	c->char_min = 3;
	c->char_max = 5;
	c->stems = true;
	c->bigrams = true;
	c->numbers = true;
	c->char_weight = 0.3f;
}

int features_config_check(const struct features_config *c, char *err, size_t errlen)
{
	if (c->bits < FEATURES_MIN_BITS || c->bits > FEATURES_MAX_BITS) {
		snprintf(err, errlen, "bits: %u is outside %d..%d", c->bits, FEATURES_MIN_BITS,
		         FEATURES_MAX_BITS);
		return -1;
	}
	if (c->char_max > FEATURES_MAX_CHAR_N || (c->char_max > 0 && c->char_min < 1) ||
	    c->char_min > c->char_max) {
		snprintf(err, errlen, "char n-grams: %u..%u is not a range within 1..%d", c->char_min,
		         c->char_max, FEATURES_MAX_CHAR_N);
		return -1;
	}
	if (!(c->char_weight > 0.0f && c->char_weight <= 100.0f)) {
		snprintf(err, errlen, "char_weight: must be in (0, 100]");
		return -1;
	}
	if (!c->stems && !c->bigrams && !c->numbers && c->char_max == 0) {
		snprintf(err, errlen, "features: every kind is disabled");
		return -1;
	}
	return 0;
}

void fvec_clear(struct fvec *v)
{
	free(v->idx);
	free(v->val);
	memset(v, 0, sizeof(*v));
}

struct featurizer *featurizer_new(const struct features_config *c, char *err, size_t errlen)
{
	struct featurizer *f;
	struct text_pipeline *t;

	if (features_config_check(c, err, errlen) < 0)
		return NULL;
	t = text_new(err, errlen);
	if (!t)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	f->cfg = *c;
	f->text = t;
	f->slot_mask = 1023;
	f->slot_key = xcalloc(f->slot_mask + 1, sizeof(uint32_t));
	f->slot_pos = xcalloc(f->slot_mask + 1, sizeof(uint32_t));
	f->slot_gen = xcalloc(f->slot_mask + 1, sizeof(uint32_t));
	return f;
}

void featurizer_free(struct featurizer *f)
{
	if (!f)
		return;
	text_free(f->text);
	free(f->toks);
	free(f->pad);
	free(f->slot_key);
	free(f->slot_pos);
	free(f->slot_gen);
	free(f->names);
	free(f->namebuf);
	free(f);
}

const struct features_config *featurizer_config(const struct featurizer *f)
{
	return &f->cfg;
}

/* ---- hashing ------------------------------------------------------------------------------- */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t kind_seed(enum feature_kind k)
{
	return FNV_OFFSET ^ ((uint64_t)k * 0x9E3779B97F4A7C15ULL);
}

static uint64_t fnv_add(uint64_t h, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		h ^= u[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* murmur3's fmix64: every input bit reaches the top bits that choose the bucket. */
static uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* ---- emitting ------------------------------------------------------------------------------ */

static void fvec_reserve(struct fvec *v, uint32_t need)
{
	uint32_t cap;

	if (v->cap >= need)
		return;
	cap = v->cap ? v->cap : 256;
	while (cap < need)
		cap *= 2;
	v->idx = xrealloc(v->idx, cap * sizeof(*v->idx));
	v->val = xrealloc(v->val, cap * sizeof(*v->val));
	v->cap = cap;
}

static uint32_t slot_of(uint32_t bucket, uint32_t mask)
{
	return (uint32_t)((bucket * 0x9E3779B1u) >> 7) & mask;
}

/* Position of bucket in the vector being built, or UINT32_MAX. */
static uint32_t lookup_pos(const struct featurizer *f, uint32_t bucket)
{
	for (uint32_t s = slot_of(bucket, f->slot_mask);; s = (s + 1) & f->slot_mask) {
		if (f->slot_gen[s] != f->gen)
			return UINT32_MAX;
		if (f->slot_key[s] == bucket)
			return f->slot_pos[s];
	}
}

/* Doubles the merge table and re-enters the vector's buckets. */
static void grow_slots(struct featurizer *f, const struct fvec *out)
{
	uint32_t size = (f->slot_mask + 1) * 2;

	free(f->slot_key);
	free(f->slot_pos);
	free(f->slot_gen);
	f->slot_mask = size - 1;
	f->slot_key = xcalloc(size, sizeof(uint32_t));
	f->slot_pos = xcalloc(size, sizeof(uint32_t));
	f->slot_gen = xcalloc(size, sizeof(uint32_t));
	f->gen = 1;
	for (uint32_t i = 0; i < out->n; i++) {
		uint32_t s = slot_of(out->idx[i], f->slot_mask);
		while (f->slot_gen[s] == f->gen)
			s = (s + 1) & f->slot_mask;
		f->slot_gen[s] = f->gen;
		f->slot_key[s] = out->idx[i];
		f->slot_pos[s] = i;
	}
}

static uint32_t bucket_of(const struct featurizer *f, uint64_t h)
{
	return (uint32_t)(fmix64(h) >> (64 - f->cfg.bits));
}

static void name_add(struct featurizer *f, uint64_t h, float w, enum feature_kind kind, const char *a, size_t alen, const char *b,
                     size_t blen)
{
	size_t klen = strlen(kind_names[kind]);
	size_t need = klen + alen + (b ? 1 + blen : 0);
	struct named *nm;

	if (f->nnames == f->names_cap) {
		f->names_cap = f->names_cap ? 2 * f->names_cap : 256;
		f->names = xrealloc(f->names, f->names_cap * sizeof(*f->names));
	}
	if (f->namebuf_len + need > f->namebuf_cap) {
		while (f->namebuf_len + need > f->namebuf_cap)
			f->namebuf_cap = f->namebuf_cap ? 2 * f->namebuf_cap : 4096;
		f->namebuf = xrealloc(f->namebuf, f->namebuf_cap);
	}
	nm = &f->names[f->nnames++];
	nm->hash = h;
	nm->bucket = bucket_of(f, h);
	nm->count = w;
	nm->name_off = (uint32_t)f->namebuf_len;
	nm->name_len = (uint32_t)need;
	memcpy(f->namebuf + f->namebuf_len, kind_names[kind], klen);
	memcpy(f->namebuf + f->namebuf_len + klen, a, alen);
	if (b) {
		f->namebuf[f->namebuf_len + klen + alen] = ' ';
		memcpy(f->namebuf + f->namebuf_len + klen + alen + 1, b, blen);
	}
	f->namebuf_len += need;
}

/* Adds w to the bucket of hash h. */
static void emit(struct featurizer *f, struct fvec *out, uint64_t h, float w)
{
	uint32_t bucket = bucket_of(f, h);
	uint32_t s;

	if (out->n + 1 > (f->slot_mask + 1) / 2)
		grow_slots(f, out);
	for (s = slot_of(bucket, f->slot_mask); f->slot_gen[s] == f->gen;
	     s = (s + 1) & f->slot_mask) {
		if (f->slot_key[s] == bucket) {
			out->val[f->slot_pos[s]] += w;
			return;
		}
	}
	fvec_reserve(out, out->n + 1);
	f->slot_gen[s] = f->gen;
	f->slot_key[s] = bucket;
	f->slot_pos[s] = out->n;
	out->idx[out->n] = bucket;
	out->val[out->n] = w;
	out->n++;
}

static size_t utf8_char_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* The character n-grams of "_word_". */
static void emit_char_ngrams(struct featurizer *f, struct fvec *out, const struct token *t)
{
	const uint32_t nmin = f->cfg.char_min, nmax = f->cfg.char_max;
	const float w = f->cfg.char_weight;
	size_t plen = t->word_len + 2;
	uint64_t seed = kind_seed(KIND_CHAR);

	if (f->pad_cap < plen) {
		f->pad_cap = plen > 2 * f->pad_cap ? plen : 2 * f->pad_cap;
		free(f->pad);
		f->pad = xmalloc(f->pad_cap);
	}
	f->pad[0] = '_';
	memcpy(f->pad + 1, t->word, t->word_len);
	f->pad[plen - 1] = '_';
	for (size_t start = 0; start + 1 < plen;) {
		size_t first = utf8_char_len((unsigned char)f->pad[start]);
		size_t pos = start;
		uint64_t h = seed;
		for (uint32_t n = 1; n <= nmax && pos < plen; n++) {
			size_t cl = utf8_char_len((unsigned char)f->pad[pos]);
			h = fnv_add(h, f->pad + pos, cl);
			pos += cl;
			if (n >= nmin) {
				emit(f, out, h, w);
				if (f->naming)
					name_add(f, h, w, KIND_CHAR, f->pad + start, pos - start,
					         NULL, 0);
			}
		}
		start += first;
	}
}

/* "num:" shape of a number token: 'd' per digit (at most 5), 'a' for a letter, '/'. */
static size_t number_shape(const struct token *t, char *shape, size_t cap)
{
	size_t n = 0, run = 0;

	for (uint32_t i = 0; i < t->word_len && n + 1 < cap;) {
		unsigned char c = (unsigned char)t->word[i];
		if (c >= '0' && c <= '9') {
			if (run++ < 5)
				shape[n++] = 'd';
			i++;
		} else if (c == '/') {
			shape[n++] = '/';
			run = 0;
			i++;
		} else {
			shape[n++] = 'a';
			i += (uint32_t)utf8_char_len(c);
		}
	}
	return n;
}

uint32_t features_extract(struct featurizer *f, const char *text, size_t len, struct fvec *out)
{
	const struct features_config *c = &f->cfg;
	size_t ntok, prev = SIZE_MAX;
	double norm = 0.0;

	out->n = 0;
	if (++f->gen == 0) {
		memset(f->slot_gen, 0, (f->slot_mask + 1) * sizeof(uint32_t));
		f->gen = 1;
	}
	f->nnames = 0;
	f->namebuf_len = 0;
	/* At most one token per input byte. */
	if (f->toks_cap < len + 1) {
		f->toks_cap = len + 1 > 2 * f->toks_cap ? len + 1 : 2 * f->toks_cap;
		free(f->toks);
		f->toks = xmalloc(f->toks_cap * sizeof(*f->toks));
	}
	ntok = text_tokens(f->text, text, len, f->toks, f->toks_cap);
	for (size_t i = 0; i < ntok; i++) {
		const struct token *t = &f->toks[i];
		uint64_t h;

		if (t->flags & TOKEN_NUMBER) {
			if (c->numbers) {
				char shape[24];
				size_t sl = number_shape(t, shape, sizeof(shape));
				h = fnv_add(kind_seed(KIND_NUM), shape, sl);
				emit(f, out, h, 1.0f);
				if (f->naming)
					name_add(f, h, 1.0f, KIND_NUM, shape, sl, NULL, 0);
			}
			continue;
		}
		if (c->char_max > 0)
			emit_char_ngrams(f, out, t);
		if (t->flags & TOKEN_STOP)
			continue;
		if (c->stems) {
			h = fnv_add(kind_seed(KIND_STEM), t->stem, t->stem_len);
			emit(f, out, h, 1.0f);
			if (f->naming)
				name_add(f, h, 1.0f, KIND_STEM, t->stem, t->stem_len, NULL, 0);
		}
		if (c->bigrams && prev != SIZE_MAX) {
			const struct token *p = &f->toks[prev];
			h = fnv_add(kind_seed(KIND_BIGRAM), p->stem, p->stem_len);
			h = fnv_add(h, " ", 1);
			h = fnv_add(h, t->stem, t->stem_len);
			emit(f, out, h, 1.0f);
			if (f->naming)
				name_add(f, h, 1.0f, KIND_BIGRAM, p->stem, p->stem_len, t->stem,
				         t->stem_len);
		}
		prev = i;
	}
	for (uint32_t i = 0; i < out->n; i++) {
		out->val[i] = log1pf(out->val[i]);
		norm += (double)out->val[i] * out->val[i];
	}
	if (norm > 0.0) {
		float inv = (float)(1.0 / sqrt(norm));
		for (uint32_t i = 0; i < out->n; i++)
			out->val[i] *= inv;
	}
	return out->n;
}

/* ---- explaining ---------------------------------------------------------------------------- */

static int named_by_hash(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	return (x->hash > y->hash) - (x->hash < y->hash);
}

static int by_weight_desc(const void *a, const void *b)
{
	const struct feature_weight *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Copies name[0..len) into out (NUL-terminated), cut on a UTF-8 character boundary. */
static void copy_name(char *out, size_t cap, const char *name, size_t len)
{
	if (len >= cap) {
		len = cap - 1;
		while (len > 0 && ((unsigned char)name[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(out, name, len);
	out[len] = '\0';
}

size_t features_explain(struct featurizer *f, const struct model *m, const char *text, size_t len,
                        uint32_t label, struct feature_weight *out, size_t k)
{
	const uint32_t nl = model_label_count(m);
	struct fvec v = {0};
	struct feature_weight *cand;
	float *bucket_count;
	size_t ncand = 0, nout;

	if (k == 0 || label >= nl)
		return 0;
	f->naming = true;
	features_extract(f, text, len, &v);
	f->naming = false;
	/* One entry per distinct feature (same name, same 64-bit hash), its counts summed. */
	qsort(f->names, f->nnames, sizeof(*f->names), named_by_hash);
	cand = xmalloc((f->nnames ? f->nnames : 1) * sizeof(*cand));
	/* A bucket shared by several features is split between them by their counts. */
	bucket_count = xcalloc(v.n ? v.n : 1, sizeof(float));
	for (size_t i = 0; i < f->nnames; i++) {
		uint32_t pos = lookup_pos(f, f->names[i].bucket);
		if (pos != UINT32_MAX)
			bucket_count[pos] += f->names[i].count;
	}
	for (size_t i = 0; i < f->nnames;) {
		const struct named *nm = &f->names[i];
		float count = 0.0f, mean = 0.0f, contrib;
		uint32_t pos = lookup_pos(f, nm->bucket);
		size_t j = i;

		while (j < f->nnames && f->names[j].hash == nm->hash)
			count += f->names[j++].count;
		i = j;
		if (pos == UINT32_MAX)
			continue;
		for (uint32_t l = 0; l < nl; l++)
			mean += model_weight(m, nm->bucket, l);
		mean /= (float)nl;
		contrib = v.val[pos] * (count / bucket_count[pos]) *
		          (model_weight(m, nm->bucket, label) - mean);
		if (!(contrib > 0.0f))
			continue;
		copy_name(cand[ncand].name, sizeof(cand[ncand].name), f->namebuf + nm->name_off,
		          nm->name_len);
		cand[ncand].weight = contrib;
		ncand++;
	}
	qsort(cand, ncand, sizeof(*cand), by_weight_desc);
	nout = ncand < k ? ncand : k;
	memcpy(out, cand, nout * sizeof(*cand));
	free(cand);
	free(bucket_count);
	fvec_clear(&v);
	return nout;
}
