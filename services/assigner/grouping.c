/* grouping: text similarity of reports and address keys (see grouping.h). */
#include "grouping.h"

#include <libstemmer.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"

struct grouping {
	struct sb_stemmer *stemmer;
};

/* Frequent words that say nothing about the problem (after lower-casing, before stemming). */
static const char *const stop_words[] = {
        "что",     "это",     "как",  "все",   "всё",   "уже",   "для",    "при",   "его",
        "она",     "они",     "так",  "там",   "тут",   "нас",   "вас",    "нам",   "есть",
        "был",     "была",    "были", "будет", "или",   "ещё",   "еще",    "меня",  "мне",
        "когда",   "где",     "этот", "эти",   "этого", "очень", "только", "даже",  "просто",
        "который", "которые", "наш",  "наши",  "нашем", "нашей", "вот",    "чтобы", "кто",
};

struct grouping *grouping_new(char *err, size_t errlen)
{
	struct sb_stemmer *st = sb_stemmer_new("russian", "UTF_8");
	if (!st) {
		snprintf(err, errlen, "libstemmer has no \"russian\" stemmer for UTF_8");
		return NULL;
	}
	struct grouping *g = xcalloc(1, sizeof(*g));
	g->stemmer = st;
	return g;
}

void grouping_free(struct grouping *g)
{
	if (!g)
		return;
	sb_stemmer_delete(g->stemmer);
	free(g);
}

static bool is_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

/* Letters we read words of: Latin and Cyrillic; others (punctuation, emoji) separate words. */
static bool is_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0x400 && c <= 0x4FF);
}

static uint32_t lower(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0x410 && c <= 0x42F)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	return c;
}

static void add_code_point(struct strbuf *sb, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xC0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else {
		b[0] = (char)(0xE0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		b[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	}
	strbuf_add(sb, b, n);
}

/*
 * Calls fn for every word of s: a run of letters or a run of digits, lower-cased, with its
 * length in code points. Invalid bytes separate words.
 */
static void each_word(const char *s,
                      void (*fn)(void *ctx, const char *w, size_t len, size_t chars, bool digits),
                      void *ctx)
{
	struct strbuf w = {0};
	size_t chars = 0;
	bool digits = false;
	size_t len = strlen(s);
	for (size_t i = 0; i <= len;) {
		size_t n = i < len ? utf8_seq_len(s + i, len - i) : 0;
		uint32_t c = n ? utf8_decode(s + i, n) : 0;
		bool letter = n && is_letter(c), digit = n && is_digit(c);
		if (chars && !((letter && !digits) || (digit && digits))) {
			fn(ctx, w.buf, w.len, chars, digits);
			w.len = 0;
			chars = 0;
		}
		if (letter || digit) {
			if (!chars)
				digits = digit;
			add_code_point(&w, lower(c));
			chars++;
		}
		i += n ? n : 1;
	}
	strbuf_release(&w);
}

/*
 * A text's stems as a sorted set of 64-bit FNV-1a hashes: comparing two sets is a merge of
 * integers, and a set is one allocation (the intake stems every candidate incident's latest
 * texts each batch, thousands of them, and compares each new report with up to 400). Two
 * different stems of 64-bit hashes colliding is not a practical concern.
 */
struct grouping_text {
	struct grouping *g; /* while stemming */
	uint64_t *h;
	size_t n, cap;
};

static bool stop_word(const char *w, size_t len)
{
	for (size_t i = 0; i < sizeof(stop_words) / sizeof(stop_words[0]); i++)
		if (strlen(stop_words[i]) == len && !memcmp(stop_words[i], w, len))
			return true;
	return false;
}

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
	return h;
}

static void add_stem(void *ctx, const char *w, size_t len, size_t chars, bool digits)
{
	struct grouping_text *t = ctx;
	if ((!digits && chars < 3) || stop_word(w, len))
		return;
	const char *stem = w;
	size_t slen = len;
	if (!digits) {
		const sb_symbol *st =
		        sb_stemmer_stem(t->g->stemmer, (const sb_symbol *)w, (int)len);
		if (st) {
			stem = (const char *)st;
			slen = (size_t)sb_stemmer_length(t->g->stemmer);
		}
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->h = xrealloc(t->h, t->cap * sizeof(*t->h));
	}
	t->h[t->n++] = fnv1a(stem, slen);
}

static int cmp_hash(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct grouping_text *grouping_text_new(struct grouping *g, const char *text)
{
	struct grouping_text *t = xcalloc(1, sizeof(*t));
	t->g = g;
	each_word(text ? text : "", add_stem, t);
	t->g = NULL;
	if (!t->n)
		return t;
	qsort(t->h, t->n, sizeof(*t->h), cmp_hash);
	size_t k = 1;
	for (size_t i = 1; i < t->n; i++)
		if (t->h[i] != t->h[k - 1])
			t->h[k++] = t->h[i];
	t->n = k;
	return t;
}

void grouping_text_free(struct grouping_text *t)
{
	if (!t)
		return;
	free(t->h);
	free(t);
}

double grouping_dice(const struct grouping_text *a, const struct grouping_text *b)
{
	size_t common = 0;
	for (size_t i = 0, j = 0; i < a->n && j < b->n;) {
		if (a->h[i] == b->h[j]) {
			common++;
			i++;
			j++;
		} else if (a->h[i] < b->h[j]) {
			i++;
		} else {
			j++;
		}
	}
	return a->n + b->n ? 2.0 * (double)common / (double)(a->n + b->n) : 0.0;
}

double grouping_similarity(struct grouping *g, const char *a, const char *b)
{
	struct grouping_text *x = grouping_text_new(g, a), *y = grouping_text_new(g, b);
	double d = grouping_dice(x, y);
	grouping_text_free(x);
	grouping_text_free(y);
	return d;
}

static void add_address_word(void *ctx, const char *w, size_t len, size_t chars, bool digits)
{
	(void)chars;
	(void)digits;
	struct strbuf *sb = ctx;
	if (sb->len)
		strbuf_addch(sb, ' ');
	strbuf_add(sb, w, len);
}

char *grouping_address_key(const char *address)
{
	if (!address)
		return NULL;
	struct strbuf sb = {0};
	each_word(address, add_address_word, &sb);
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}
