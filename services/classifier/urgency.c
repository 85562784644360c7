/*
 * urgency: the urgency rule (see urgency.h). Loading tokenises every phrase of the taxonomy's
 * "urgency" object and indexes the phrases by the first letters of their first word's stem;
 * assessing tokenises the text once and tries, at each word, only the phrases indexed under
 * its stem's first letters.
 */
#include "urgency.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "hash.h"
#include "text.h"
#include "utf8.h"
#include "xalloc.h"

#define PREFIX_LETTERS 5 /* stems this long match by prefix; shorter ones exactly */
#define STACK_PHRASES 256

struct uword {
	char *stem;
	uint32_t stem_len, letters;
	/* Stems of 3 letters or fewer meet unrelated words («горит» and «горы» are both гор): the
	 * text's word must also begin with the rule's word less its last letter («горит»,
	 * «дыма» for «дым»). NULL when the stem is longer. */
	char *head;
	uint32_t head_len;
};

struct phrase {
	struct uword w[URGENCY_MAX_PHRASE_WORDS];
	uint32_t n;
	bool absence; /* its rule speaks of absence: «нет»/«без» before it do not negate it */
};

struct group {
	uint32_t first, n; /* its phrases: phrases[first .. first + n) */
	char *label;
};

struct bucket {
	char key[4 * PREFIX_LETTERS + 1];
	size_t key_len;
	uint64_t hash;
	uint32_t *phrases, n, cap;
};

struct urgency_rules {
	struct phrase *phrases; /* high_terms first, then the groups' phrases */
	size_t nphrases, cap;
	size_t nterms;
	char **labels; /* of the high_terms, as written */
	struct group *groups;
	size_t ngroups;
	struct bucket *buckets; /* open addressing; key_len 0 is empty */
	size_t nbuckets;        /* a power of two */
};

static bool word_is(const struct token *t, const char *w)
{
	return strcmp(t->word, w) == 0;
}

static bool word_in(const struct token *t, const char *const *list)
{
	for (; *list; list++)
		if (word_is(t, *list))
			return true;
	return false;
}

static const char *const absence_words[] = {"не", "нет", "ни", "без", NULL};
static const char *const intensifiers[] = {"очень", "сильно", "особо", "совсем",
                                           "уже",   "больше", "было",  NULL};
static const char *const after_negated[] = {"было",      "обнаружено",  "обнаружили", "чувствуется",
                                            "ощущается", "наблюдается", NULL};

/* ---- stems ------------------------------------------------------------------------------------- */

/* Bytes of the index key of a stem: its first PREFIX_LETTERS code points, or all of it. */
static size_t key_len_of(const char *stem, size_t len, uint32_t *letters)
{
	size_t i = 0, n = 0;

	while (i < len) {
		size_t k = utf8_seq_len(stem + i, len - i);
		if (n == PREFIX_LETTERS)
			break;
		i += k ? k : 1;
		n++;
	}
	*letters = (uint32_t)(n + (i < len ? utf8_length(stem + i, len - i) : 0));
	return i;
}

/* Does the text token t match the rule word w (see urgency.h)? */
static bool stem_matches(const struct uword *w, const struct token *t)
{
	uint32_t letters;
	size_t shorter;

	if (t->stem_len == w->stem_len) {
		if (memcmp(t->stem, w->stem, w->stem_len) != 0)
			return false;
		return !w->head ||
		       (t->word_len >= w->head_len && memcmp(t->word, w->head, w->head_len) == 0);
	}
	if (w->letters < PREFIX_LETTERS)
		return false;
	key_len_of(t->stem, t->stem_len, &letters);
	if (letters < PREFIX_LETTERS)
		return false;
	shorter = t->stem_len < w->stem_len ? t->stem_len : w->stem_len;
	return memcmp(t->stem, w->stem, shorter) == 0;
}

/* ---- index ------------------------------------------------------------------------------------- */

static struct bucket *bucket_find(const struct urgency_rules *r, const char *key, size_t len,
                                  uint64_t h)
{
	if (!r->nbuckets)
		return NULL;
	for (size_t s = (size_t)h & (r->nbuckets - 1); r->buckets[s].key_len;
	     s = (s + 1) & (r->nbuckets - 1)) {
		struct bucket *b = &r->buckets[s];
		if (b->hash == h && b->key_len == len && memcmp(b->key, key, len) == 0)
			return b;
	}
	return NULL;
}

static void index_build(struct urgency_rules *r)
{
	r->nbuckets = 16;
	while (r->nbuckets < 2 * r->nphrases)
		r->nbuckets *= 2;
	r->buckets = xcalloc(r->nbuckets, sizeof(*r->buckets));
	for (size_t p = 0; p < r->nphrases; p++) {
		const struct uword *w = &r->phrases[p].w[0];
		uint32_t letters;
		size_t kl = key_len_of(w->stem, w->stem_len, &letters);
		uint64_t h = fnv1a64(FNV1A64_OFFSET, w->stem, kl);
		struct bucket *b = bucket_find(r, w->stem, kl, h);

		if (!b) {
			size_t s = (size_t)h & (r->nbuckets - 1);
			while (r->buckets[s].key_len)
				s = (s + 1) & (r->nbuckets - 1);
			b = &r->buckets[s];
			memcpy(b->key, w->stem, kl);
			b->key_len = kl;
			b->hash = h;
		}
		if (b->n == b->cap) {
			b->cap = b->cap ? 2 * b->cap : 4;
			b->phrases = xrealloc(b->phrases, b->cap * sizeof(*b->phrases));
		}
		b->phrases[b->n++] = (uint32_t)p;
	}
}

/* ---- loading ----------------------------------------------------------------------------------- */

/* Tokenises s (found at `where`) into a new phrase. */
static int add_phrase(struct urgency_rules *r, struct text_pipeline *tp, const char *s,
                      const char *where, char *err, size_t errlen)
{
	struct token toks[URGENCY_MAX_PHRASE_WORDS + 1];
	size_t n = text_tokens(tp, s, strlen(s), toks, URGENCY_MAX_PHRASE_WORDS + 1);
	struct phrase *p;

	if (n == 0) {
		doc_err(err, errlen, "%s: no words after normalisation", where);
		return -1;
	}
	if (n > URGENCY_MAX_PHRASE_WORDS) {
		doc_err(err, errlen, "%s: more than %d words", where, URGENCY_MAX_PHRASE_WORDS);
		return -1;
	}
	if (r->nphrases == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->phrases = xrealloc(r->phrases, r->cap * sizeof(*r->phrases));
	}
	p = &r->phrases[r->nphrases++];
	memset(p, 0, sizeof(*p));
	p->n = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		uint32_t letters;
		p->w[i].stem = xstrndup(toks[i].stem, toks[i].stem_len);
		p->w[i].stem_len = toks[i].stem_len;
		key_len_of(toks[i].stem, toks[i].stem_len, &letters);
		p->w[i].letters = letters;
		if (letters <= 3) {
			/* The word less its last letter, or the whole word when it is its stem. */
			size_t hl = toks[i].word_len;
			if (hl > toks[i].stem_len) {
				hl--;
				while (hl > 0 && ((unsigned char)toks[i].word[hl] & 0xC0) == 0x80)
					hl--;
			}
			p->w[i].head = xstrndup(toks[i].word, hl);
			p->w[i].head_len = (uint32_t)hl;
		}
		if (word_in(&toks[i], absence_words))
			p->absence = true;
	}
	return 0;
}

/* The loaded object, for doc_load. */
static void *load_json(const json_t *root, const char *name, char *err, size_t errlen)
{
	struct urgency_rules *r = xcalloc(1, sizeof(*r));
	struct text_pipeline *tp = NULL;
	const json_t *u, *terms, *groups, *v, *g;
	size_t i;
	char where[96];

	if (!json_is_object(root)) {
		doc_err(err, errlen, "%s: the top level must be an object", name);
		goto fail;
	}
	u = json_object_get(root, "urgency");
	if (!json_is_object(u)) {
		doc_err(err, errlen, "%s: urgency must be an object", name);
		goto fail;
	}
	terms = json_object_get(u, "high_terms");
	if (!json_is_array(terms)) {
		doc_err(err, errlen, "%s: urgency.high_terms must be an array of strings", name);
		goto fail;
	}
	groups = json_object_get(u, "high_if_all");
	if (groups && !json_is_array(groups)) {
		doc_err(err, errlen, "%s: urgency.high_if_all must be an array of arrays", name);
		goto fail;
	}
	tp = text_new(err, errlen);
	if (!tp)
		goto fail;

	r->labels = xcalloc(json_array_size(terms) + 1, sizeof(*r->labels));
	json_array_foreach(terms, i, v)
	{
		snprintf(where, sizeof(where), "urgency.high_terms[%zu]", i);
		if (!json_is_string(v)) {
			doc_err(err, errlen, "%s: must be a string", where);
			goto fail;
		}
		if (add_phrase(r, tp, json_string_value(v), where, err, errlen) < 0)
			goto fail;
		r->labels[r->nterms++] = xstrdup(json_string_value(v));
	}

	r->groups = xcalloc(json_array_size(groups) + 1, sizeof(*r->groups));
	json_array_foreach(groups, i, g)
	{
		struct group *gr = &r->groups[r->ngroups];
		size_t j, len = 0;
		bool absence = false;

		snprintf(where, sizeof(where), "urgency.high_if_all[%zu]", i);
		if (!json_is_array(g) || json_array_size(g) == 0) {
			doc_err(err, errlen, "%s: must be a non-empty array of strings", where);
			goto fail;
		}
		gr->first = (uint32_t)r->nphrases;
		json_array_foreach(g, j, v)
		{
			snprintf(where, sizeof(where), "urgency.high_if_all[%zu][%zu]", i, j);
			if (!json_is_string(v)) {
				doc_err(err, errlen, "%s: must be a string", where);
				goto fail;
			}
			if (add_phrase(r, tp, json_string_value(v), where, err, errlen) < 0)
				goto fail;
			absence = absence || r->phrases[r->nphrases - 1].absence;
			len += strlen(json_string_value(v)) + 3;
		}
		gr->n = (uint32_t)(r->nphrases - gr->first);
		for (uint32_t k = gr->first; k < gr->first + gr->n; k++)
			r->phrases[k].absence = absence;
		gr->label = xmalloc(len + 1);
		len = 0;
		json_array_foreach(g, j, v)
		{
			size_t vl = strlen(json_string_value(v));
			if (j) {
				memcpy(gr->label + len, " + ", 3);
				len += 3;
			}
			memcpy(gr->label + len, json_string_value(v), vl);
			len += vl;
		}
		gr->label[len] = '\0';
		r->ngroups++;
	}
	text_free(tp);
	index_build(r);
	return r;
fail:
	text_free(tp);
	urgency_free(r);
	return NULL;
}

struct urgency_rules *urgency_load(const char *taxonomy_path, char *err, size_t errlen)
{
	return doc_load(taxonomy_path, NULL, 0, load_json, err, errlen);
}

struct urgency_rules *urgency_load_mem(const char *data, size_t len, const char *name, char *err,
                                       size_t errlen)
{
	return doc_load(name, data, len, load_json, err, errlen);
}

void urgency_free(struct urgency_rules *r)
{
	if (!r)
		return;
	for (size_t p = 0; p < r->nphrases; p++)
		for (uint32_t i = 0; i < r->phrases[p].n; i++) {
			free(r->phrases[p].w[i].stem);
			free(r->phrases[p].w[i].head);
		}
	for (size_t i = 0; i < r->nterms; i++)
		free(r->labels[i]);
	for (size_t i = 0; i < r->ngroups; i++)
		free(r->groups[i].label);
	for (size_t i = 0; i < r->nbuckets; i++)
		free(r->buckets[i].phrases);
	free(r->phrases);
	free(r->labels);
	free(r->groups);
	free(r->buckets);
	free(r);
}

size_t urgency_term_count(const struct urgency_rules *r)
{
	return r->nterms;
}

size_t urgency_group_count(const struct urgency_rules *r)
{
	return r->ngroups;
}

const char *urgency_level_name(enum urgency_level l)
{
	return l == URGENCY_HIGH ? "high" : "normal";
}

/* ---- assessing --------------------------------------------------------------------------------- */

static bool phrase_at(const struct phrase *p, const struct token *toks, size_t n, size_t i)
{
	if (i + p->n > n)
		return false;
	for (uint32_t k = 0; k < p->n; k++)
		if (!stem_matches(&p->w[k], &toks[i + k]))
			return false;
	return true;
}

/* Is the phrase found at toks[i .. j) negated (see urgency.h)? */
static bool negated(const struct phrase *p, const struct token *toks, size_t n, size_t i, size_t j)
{
	static const char *const always[] = {"не", "ни", NULL};

	if (i >= 1) {
		const struct token *b = &toks[i - 1];
		if (word_in(b, always))
			return true;
		if (!p->absence && (word_is(b, "нет") || word_is(b, "без")))
			return true;
		if (i >= 2 && word_in(&toks[i - 2], always) && word_in(b, intensifiers))
			return true;
	}
	if (j < n) {
		if (!p->absence && word_is(&toks[j], "нет"))
			return true;
		if (word_is(&toks[j], "не") && j + 1 < n && word_in(&toks[j + 1], after_negated))
			return true;
	}
	return false;
}

static void add_term(const char **list, size_t *n, const char *label)
{
	if (*n < URGENCY_MAX_TERMS)
		list[(*n)++] = label;
}

struct hit {
	uint8_t state;  /* 0 not found, 1 found, 2 found only negated */
	uint32_t start; /* token of the first occurrence that is not negated */
};

struct span {
	uint32_t start, end;
};

#define MAX_SPANS 64

/* Is [start, start + len) inside one of the spans? */
static bool covered(const struct span *spans, size_t n, uint32_t start, uint32_t len)
{
	for (size_t i = 0; i < n; i++)
		if (spans[i].start <= start && start + len <= spans[i].end)
			return true;
	return false;
}

int urgency_assess_tokens(const struct urgency_rules *r, const struct token *toks, size_t n,
                          struct urgency_result *out)
{
	struct hit hits_stack[STACK_PHRASES], *hits;
	struct span spans[MAX_SPANS];
	size_t nspans = 0;

	if (!r || (!toks && n) || !out)
		return -1;
	memset(out, 0, sizeof(*out));
	out->level = URGENCY_NORMAL;
	if (!n || !r->nphrases)
		return 0;

	hits = r->nphrases <= STACK_PHRASES ? hits_stack : xmalloc(r->nphrases * sizeof(*hits));
	memset(hits, 0, r->nphrases * sizeof(*hits));
	for (size_t i = 0; i < n; i++) {
		uint32_t letters;
		size_t kl = key_len_of(toks[i].stem, toks[i].stem_len, &letters);
		const struct bucket *b = bucket_find(
		        r, toks[i].stem, kl,
		        kl == toks[i].stem_len ? toks[i].stem_fnv
		                               : fnv1a64(FNV1A64_OFFSET, toks[i].stem, kl));

		for (uint32_t k = 0; b && k < b->n; k++) {
			uint32_t p = b->phrases[k];
			const struct phrase *ph = &r->phrases[p];
			if (hits[p].state == 1 || !phrase_at(ph, toks, n, i))
				continue;
			if (negated(ph, toks, n, i, i + ph->n)) {
				hits[p].state = 2;
			} else {
				hits[p].state = 1;
				hits[p].start = (uint32_t)i;
			}
		}
	}

	/* Terms in rule order; one whose words are exactly another's match («укусили» for both
	 * «укусил» and «укусили») is named once. */
	for (size_t t = 0; t < r->nterms; t++) {
		uint32_t len = r->phrases[t].n;
		if (hits[t].state == 2)
			add_term(out->negated, &out->nnegated, r->labels[t]);
		if (hits[t].state != 1)
			continue;
		out->level = URGENCY_HIGH;
		if (covered(spans, nspans, hits[t].start, len) && nspans < MAX_SPANS)
			continue;
		add_term(out->terms, &out->nterms, r->labels[t]);
		if (nspans < MAX_SPANS)
			spans[nspans++] = (struct span){hits[t].start, hits[t].start + len};
	}
	/* Groups; one whose every phrase lies inside a matched term adds nothing to say. */
	for (size_t gi = 0; gi < r->ngroups; gi++) {
		const struct group *g = &r->groups[gi];
		bool all = true, seen = true, inside = true;
		for (uint32_t k = g->first; k < g->first + g->n; k++) {
			all = all && hits[k].state == 1;
			seen = seen && hits[k].state != 0;
			inside = inside && covered(spans, nspans, hits[k].start, r->phrases[k].n);
		}
		if (all) {
			out->level = URGENCY_HIGH;
			if (!inside)
				add_term(out->terms, &out->nterms, g->label);
		} else if (seen) {
			add_term(out->negated, &out->nnegated, g->label);
		}
	}
	if (hits != hits_stack)
		free(hits);
	return 0;
}

int urgency_assess(const struct urgency_rules *r, struct text_pipeline *tp, const char *text,
                   struct urgency_result *out)
{
	struct token_list toks = {0};
	int rc;

	if (!r || !tp || !out)
		return -1;
	if (text)
		text_tokenize(tp, text, strlen(text), &toks);
	rc = urgency_assess_tokens(r, toks.items, toks.n, out);
	token_list_clear(&toks);
	return rc;
}
