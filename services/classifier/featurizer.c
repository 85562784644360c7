/*
 * featurizer: hashed stems, stem bigrams, character n-grams and number shapes (see
 * featurizer.h).
 *
 * The hot path allocates nothing once its buffers have grown to the longest text seen: tokens
 * come from the text pipeline's buffer, and duplicates are merged through an open-addressing
 * table whose slots are marked with a per-call generation, so it is never cleared. Explaining
 * keeps, per feature, where its bytes are among the tokens rather than a copy of them, and
 * writes names only for the few features it reports.
 */
#include "featurizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "model.h"
#include "text.h"
#include "xalloc.h"

enum feature_kind { KIND_STEM = 1, KIND_BIGRAM, KIND_CHAR, KIND_NUM };

static const char *const kind_names[] = {"", "stem:", "bigram:", "char:", "num:"};

/* One feature as emitted, kept only while explaining: its kind and the token(s) it came
 * from, so its name can be written when it is reported. */
struct named {
	uint64_t hash;
	uint32_t pos; /* in the vector */
	uint32_t tok; /* the token (a bigram's second) */
	uint32_t aux; /* a bigram's first token; where a character n-gram starts in "_word_" */
	uint8_t kind; /* enum feature_kind */
	uint8_t len;  /* a character n-gram's length in bytes */
};

/* A slot of the merge table: bucket `key` is at vector position `pos` when gen is current. */
struct slot {
	uint32_t key, pos, gen;
};

struct featurizer {
	struct features_config cfg;
	struct text_pipeline *text; /* for callers that pass text, not tokens */
	struct token_list own;      /* their tokens */
	const struct token *toks;   /* the current text's tokens (borrowed) */
	uint32_t *cps, *offs;       /* "_word_" for character n-grams */
	size_t cps_cap;
	struct slot *slots; /* the merge table */
	uint32_t slot_mask, gen;
	float log1p_char; /* log1p(char_weight), the value of most character n-grams */
	/* Explaining: every emitted feature with where it came from. */
	bool naming, named_valid;
	struct named *names;
	size_t nnames, names_cap, ntoks;
	unsigned char *mark; /* explaining: 1 + rank of a chosen position, else 0 */
	size_t mark_cap;
	float *lw; /* explaining: the label's weight of each position */
	size_t lw_cap;
	const char *rows; /* featurizer_prefetch_rows */
	size_t row_bytes;
};

void features_config_default(struct features_config *c)
{
	memset(c, 0, sizeof(*c));
	c->bits = 18;
	c->char_min = 4;
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
		snprintf(err, errlen, "char n-grams: %u..%u is not a range within 1..%d",
		         c->char_min, c->char_max, FEATURES_MAX_CHAR_N);
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

bool features_config_equal(const struct features_config *a, const struct features_config *b)
{
	return a->bits == b->bits && a->char_min == b->char_min && a->char_max == b->char_max &&
	       a->stems == b->stems && a->bigrams == b->bigrams && a->numbers == b->numbers &&
	       a->char_weight == b->char_weight;
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
	f->slots = xcalloc(f->slot_mask + 1, sizeof(*f->slots));
	f->log1p_char = log1pf(c->char_weight);
	return f;
}

void featurizer_free(struct featurizer *f)
{
	if (!f)
		return;
	text_free(f->text);
	token_list_clear(&f->own);
	free(f->cps);
	free(f->offs);
	free(f->slots);
	free(f->names);
	free(f->mark);
	free(f->lw);
	free(f);
}

void featurizer_prefetch_rows(struct featurizer *f, const struct model *m)
{
	f->rows = m ? model_rows(m, &f->row_bytes) : NULL;
}

const struct features_config *featurizer_config(const struct featurizer *f)
{
	return &f->cfg;
}

/* ---- hashing ------------------------------------------------------------------------------- */

static uint64_t kind_seed(enum feature_kind k)
{
	return FNV1A64_OFFSET ^ ((uint64_t)k * 0x9E3779B97F4A7C15ULL);
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

/* Doubles the merge table and re-enters the vector's buckets. */
static void grow_slots(struct featurizer *f, const struct fvec *out)
{
	uint32_t size = (f->slot_mask + 1) * 2;

	free(f->slots);
	f->slot_mask = size - 1;
	f->slots = xcalloc(size, sizeof(*f->slots));
	f->gen = 1;
	for (uint32_t i = 0; i < out->n; i++) {
		uint32_t s = slot_of(out->idx[i], f->slot_mask);
		while (f->slots[s].gen == f->gen)
			s = (s + 1) & f->slot_mask;
		f->slots[s].gen = f->gen;
		f->slots[s].key = out->idx[i];
		f->slots[s].pos = i;
	}
}

static uint32_t bucket_of(const struct featurizer *f, uint64_t h)
{
	return (uint32_t)(fmix64(h) >> (64 - f->cfg.bits));
}

static void name_add(struct featurizer *f, uint64_t h, uint32_t pos, enum feature_kind kind,
                     uint32_t tok, uint32_t aux, uint32_t len)
{
	struct named *nm;

	if (f->nnames == f->names_cap) {
		f->names_cap = f->names_cap ? 2 * f->names_cap : 256;
		f->names = xrealloc(f->names, f->names_cap * sizeof(*f->names));
	}
	nm = &f->names[f->nnames++];
	nm->hash = h;
	nm->pos = pos;
	nm->kind = (uint8_t)kind;
	nm->tok = tok;
	nm->aux = aux;
	nm->len = (uint8_t)len;
}

/* Adds w to the bucket of hash h; returns the bucket's position in out. */
static uint32_t emit(struct featurizer *f, struct fvec *out, uint64_t h, float w)
{
	uint32_t bucket = bucket_of(f, h);
	uint32_t s;

	if (out->n + 1 > (f->slot_mask + 1) / 2)
		grow_slots(f, out);
	for (s = slot_of(bucket, f->slot_mask); f->slots[s].gen == f->gen;
	     s = (s + 1) & f->slot_mask) {
		if (f->slots[s].key == bucket) {
			out->val[f->slots[s].pos] += w;
			return f->slots[s].pos;
		}
	}
	if (f->rows)
		__builtin_prefetch(f->rows + (size_t)bucket * f->row_bytes);
	fvec_reserve(out, out->n + 1);
	f->slots[s].gen = f->gen;
	f->slots[s].key = bucket;
	f->slots[s].pos = out->n;
	out->idx[out->n] = bucket;
	out->val[out->n] = w;
	return out->n++;
}

static size_t utf8_char_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* The character n-grams of "_word_". */
static void emit_char_ngrams(struct featurizer *f, struct fvec *out, const struct token *t,
                             uint32_t tok)
{
	const uint32_t nmin = f->cfg.char_min, nmax = f->cfg.char_max;
	const float w = f->cfg.char_weight;
	const uint64_t seed = kind_seed(KIND_CHAR);
	const unsigned char *u = (const unsigned char *)t->word;
	size_t nc = 0, need = (size_t)t->word_len + 3;

	/* "_word_" as code points (hashed one per step: half the steps of bytes for Cyrillic)
	 * and their byte offsets in "_word_" (for names). */
	if (f->cps_cap < need) {
		f->cps_cap = need > 2 * f->cps_cap ? need : 2 * f->cps_cap;
		free(f->cps);
		free(f->offs);
		f->cps = xmalloc(f->cps_cap * sizeof(uint32_t));
		f->offs = xmalloc(f->cps_cap * sizeof(uint32_t));
	}
	f->cps[nc] = '_';
	f->offs[nc++] = 0;
	for (uint32_t i = 0; i < t->word_len;) {
		size_t cl = utf8_char_len(u[i]);
		uint32_t cp = cl == 1 ? u[i] : u[i] & (0x7Fu >> cl);
		for (size_t k = 1; k < cl; k++)
			cp = cp << 6 | (u[i + k] & 0x3Fu);
		f->cps[nc] = cp;
		f->offs[nc++] = i + 1;
		i += (uint32_t)cl;
	}
	f->cps[nc] = '_';
	f->offs[nc++] = t->word_len + 1;
	f->offs[nc] = t->word_len + 2;
	for (size_t start = 0; start + 1 < nc; start++) {
		uint64_t h = seed;
		for (uint32_t n = 1; n <= nmax && start + n <= nc; n++) {
			h = (h ^ f->cps[start + n - 1]) * FNV1A64_PRIME;
			if (n >= nmin) {
				uint32_t at = emit(f, out, h, w);
				if (f->naming)
					name_add(f, h, at, KIND_CHAR, tok, f->offs[start],
					         f->offs[start + n] - f->offs[start]);
			}
		}
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

uint32_t features_extract_tokens(struct featurizer *f, const struct token *toks, size_t ntok,
                                 bool explain, struct fvec *out)
{
	const struct features_config *c = &f->cfg;
	size_t prev = SIZE_MAX;
	double norm = 0.0;

	out->n = 0;
	if (++f->gen == 0) {
		memset(f->slots, 0, (f->slot_mask + 1) * sizeof(*f->slots));
		f->gen = 1;
	}
	f->nnames = 0;
	f->naming = explain;
	f->toks = toks;
	f->ntoks = ntok;
	for (size_t i = 0; i < ntok; i++) {
		const struct token *t = &toks[i];
		uint64_t h;
		uint32_t at;

		if (t->flags & TOKEN_NUMBER) {
			if (c->numbers) {
				char shape[24];
				size_t sl = number_shape(t, shape, sizeof(shape));
				h = fnv1a64(kind_seed(KIND_NUM), shape, sl);
				at = emit(f, out, h, 1.0f);
				if (f->naming)
					name_add(f, h, at, KIND_NUM, (uint32_t)i, 0, 0);
			}
			continue;
		}
		if (c->char_max > 0)
			emit_char_ngrams(f, out, t, (uint32_t)i);
		if (t->flags & TOKEN_STOP)
			continue;
		if (c->stems) {
			h = fnv1a64(kind_seed(KIND_STEM), t->stem, t->stem_len);
			at = emit(f, out, h, 1.0f);
			if (f->naming)
				name_add(f, h, at, KIND_STEM, (uint32_t)i, 0, 0);
		}
		if (c->bigrams && prev != SIZE_MAX) {
			const struct token *p = &toks[prev];
			h = fnv1a64(kind_seed(KIND_BIGRAM), p->stem, p->stem_len);
			h = fnv1a64(h, " ", 1);
			h = fnv1a64(h, t->stem, t->stem_len);
			at = emit(f, out, h, 1.0f);
			if (f->naming)
				name_add(f, h, at, KIND_BIGRAM, (uint32_t)i, (uint32_t)prev, 0);
		}
		prev = i;
	}
	for (uint32_t i = 0; i < out->n; i++) {
		/* Most buckets hold one word feature or one character n-gram. */
		float n = out->val[i];
		out->val[i] = n == 1.0f             ? (float)M_LN2
		              : n == c->char_weight ? f->log1p_char
		                                    : log1pf(n);
		norm += (double)out->val[i] * out->val[i];
	}
	if (norm > 0.0) {
		float inv = (float)(1.0 / sqrt(norm));
		for (uint32_t i = 0; i < out->n; i++)
			out->val[i] *= inv;
	}
	f->named_valid = explain;
	return out->n;
}

uint32_t features_extract(struct featurizer *f, const char *text, size_t len, struct fvec *out)
{
	text_tokenize(f->text, text, len, &f->own);
	return features_extract_tokens(f, f->own.items, f->own.n, false, out);
}

uint32_t features_extract_named(struct featurizer *f, const char *text, size_t len,
                                struct fvec *out)
{
	text_tokenize(f->text, text, len, &f->own);
	return features_extract_tokens(f, f->own.items, f->own.n, true, out);
}

/* ---- explaining ---------------------------------------------------------------------------- */

struct name_buf {
	char *s;
	size_t len, cap; /* cap includes room for the NUL */
	bool cut;
};

/* Appends p[0..n) if it fits whole; a name that does not fit ends at the last whole character
 * that did. */
static void name_put(struct name_buf *b, const char *p, size_t n)
{
	if (b->cut)
		return;
	if (b->len + n >= b->cap) {
		n = b->cap - 1 - b->len;
		while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
		b->cut = true;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
}

/* Writes the name of nm ("stem:отоплен", "char:_отоп") into out[0..cap). */
static void write_name(const struct featurizer *f, const struct named *nm, char *out, size_t cap)
{
	struct name_buf b = {out, 0, cap, false};
	const struct token *t = &f->toks[nm->tok];

	name_put(&b, kind_names[nm->kind], strlen(kind_names[nm->kind]));
	switch (nm->kind) {
	case KIND_STEM:
		name_put(&b, t->stem, t->stem_len);
		break;
	case KIND_BIGRAM:
		name_put(&b, f->toks[nm->aux].stem, f->toks[nm->aux].stem_len);
		name_put(&b, " ", 1);
		name_put(&b, t->stem, t->stem_len);
		break;
	case KIND_CHAR: {
		/* Bytes start..start+len of "_word_". */
		uint32_t a = nm->aux, e = nm->aux + nm->len;
		if (a == 0)
			name_put(&b, "_", 1);
		a = a ? a - 1 : 0;
		name_put(&b, t->word + a, (e > t->word_len + 1 ? t->word_len + 1 : e) - 1 - a);
		if (e == t->word_len + 2)
			name_put(&b, "_", 1);
		break;
	}
	case KIND_NUM: {
		char shape[24];
		name_put(&b, shape, number_shape(t, shape, sizeof(shape)));
		break;
	}
	default:
		break;
	}
	out[b.len] = '\0';
}

/* A distinct feature in one of the chosen buckets. */
struct cand {
	const struct named *nm;
	uint32_t rank; /* of its bucket */
	float count, weight;
};

size_t features_explain(struct featurizer *f, const struct model *m, const struct fvec *v,
                        uint32_t label, struct feature_weight *out, size_t k)
{
	enum { MAX_POS = 2 * FEATURES_MAX_EXPLAIN, MAX_CAND = 8 * FEATURES_MAX_EXPLAIN };
	const uint32_t nl = model_label_count(m);
	uint32_t top_pos[MAX_POS];
	float top_w[MAX_POS], bucket_count[MAX_POS];
	struct cand cand[MAX_CAND];
	size_t ntop = 0, ncand = 0, npos, nout = 0;
	float threshold = 0.0f;

	if (!f->named_valid || label >= nl || k == 0)
		return 0;
	if (k > FEATURES_MAX_EXPLAIN)
		k = FEATURES_MAX_EXPLAIN;
	npos = 2 * k;
	/* The buckets that add most to the label's score. A feature's share of its bucket is at
	 * most the whole, so the top k features are among the top 2k buckets unless collisions
	 * pile up in exactly those. */
	if (f->lw_cap < v->n) {
		free(f->lw);
		f->lw_cap = v->n > 2 * f->lw_cap ? v->n : 2 * f->lw_cap;
		f->lw = xmalloc(f->lw_cap * sizeof(float));
	}
	model_label_weights(m, label, v, f->lw);
	for (uint32_t p = 0; p < v->n; p++) {
		/* One test per position, mostly failing once the list is full: positive and above
		 * the last kept. */
		float w = v->val[p] * f->lw[p];
		size_t at;
		if (w <= threshold)
			continue;
		at = ntop < npos ? ntop++ : ntop - 1;
		while (at > 0 && top_w[at - 1] < w) {
			top_w[at] = top_w[at - 1];
			top_pos[at] = top_pos[at - 1];
			at--;
		}
		top_w[at] = w;
		top_pos[at] = p;
		if (ntop == npos)
			threshold = top_w[ntop - 1];
	}
	/* Their features by name, with the count of each and of each bucket. */
	for (size_t t = 0; t < ntop; t++)
		bucket_count[t] = 0.0f;
	if (f->mark_cap < v->n) {
		free(f->mark);
		f->mark_cap = v->n > 2 * f->mark_cap ? v->n : 2 * f->mark_cap;
		f->mark = xcalloc(f->mark_cap, 1);
	}
	for (size_t t = 0; t < ntop; t++)
		f->mark[top_pos[t]] = (unsigned char)(t + 1);
	for (size_t i = 0; i < f->nnames; i++) {
		const struct named *nm = &f->names[i];
		size_t t, c;
		float count;
		if (nm->pos >= v->n || f->mark[nm->pos] == 0)
			continue;
		t = f->mark[nm->pos] - 1u;
		count = nm->kind == KIND_CHAR ? f->cfg.char_weight : 1.0f;
		bucket_count[t] += count;
		for (c = 0; c < ncand && cand[c].nm->hash != nm->hash; c++)
			;
		if (c == ncand) {
			if (ncand == MAX_CAND)
				continue;
			cand[c].nm = nm;
			cand[c].rank = (uint32_t)t;
			cand[c].count = 0.0f;
			ncand++;
		}
		cand[c].count += count;
	}
	for (size_t t = 0; t < ntop; t++)
		f->mark[top_pos[t]] = 0;
	/* A bucket shared by several features is split between them by their counts. */
	for (size_t c = 0; c < ncand; c++)
		cand[c].weight = top_w[cand[c].rank] * cand[c].count / bucket_count[cand[c].rank];
	while (nout < k) {
		size_t best = SIZE_MAX;
		for (size_t c = 0; c < ncand; c++)
			if (cand[c].weight > 0.0f &&
			    (best == SIZE_MAX || cand[c].weight > cand[best].weight))
				best = c;
		if (best == SIZE_MAX)
			break;
		write_name(f, cand[best].nm, out[nout].name, sizeof(out[nout].name));
		out[nout].weight = cand[best].weight;
		cand[best].weight = 0.0f;
		nout++;
	}
	return nout;
}
