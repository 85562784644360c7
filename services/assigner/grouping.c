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

struct stems {
	struct grouping *g;
	char **items;
	size_t n, cap;
};

static bool stop_word(const char *w, size_t len)
{
	for (size_t i = 0; i < sizeof(stop_words) / sizeof(stop_words[0]); i++)
		if (strlen(stop_words[i]) == len && !memcmp(stop_words[i], w, len))
			return true;
	return false;
}

static void add_stem(void *ctx, const char *w, size_t len, size_t chars, bool digits)
{
	struct stems *s = ctx;
	if ((!digits && chars < 3) || stop_word(w, len))
		return;
	const char *stem = w;
	size_t slen = len;
	if (!digits) {
		const sb_symbol *st =
		        sb_stemmer_stem(s->g->stemmer, (const sb_symbol *)w, (int)len);
		if (st) {
			stem = (const char *)st;
			slen = (size_t)sb_stemmer_length(s->g->stemmer);
		}
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
	}
	s->items[s->n++] = xstrndup(stem, slen);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, de-duplicated stems of s. */
static void stem_set(struct grouping *g, const char *s, struct stems *out)
{
	*out = (struct stems){.g = g};
	each_word(s, add_stem, out);
	if (!out->n)
		return;
	qsort(out->items, out->n, sizeof(*out->items), cmp_str);
	size_t k = 1;
	for (size_t i = 1; i < out->n; i++) {
		if (strcmp(out->items[i], out->items[k - 1]))
			out->items[k++] = out->items[i];
		else
			free(out->items[i]);
	}
	out->n = k;
}

static void stems_clear(struct stems *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->items[i]);
	free(s->items);
}

struct grouping_text {
	struct stems stems;
};

struct grouping_text *grouping_text_new(struct grouping *g, const char *text)
{
	struct grouping_text *t = xcalloc(1, sizeof(*t));
	stem_set(g, text ? text : "", &t->stems);
	return t;
}

void grouping_text_free(struct grouping_text *t)
{
	if (!t)
		return;
	stems_clear(&t->stems);
	free(t);
}

double grouping_dice(const struct grouping_text *a, const struct grouping_text *b)
{
	const struct stems *x = &a->stems, *y = &b->stems;
	size_t common = 0;
	for (size_t i = 0, j = 0; i < x->n && j < y->n;) {
		int c = strcmp(x->items[i], y->items[j]);
		if (c == 0) {
			common++;
			i++;
			j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	return x->n + y->n ? 2.0 * (double)common / (double)(x->n + y->n) : 0.0;
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
