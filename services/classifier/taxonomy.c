/* taxonomy: topic codes and the sub-topic lexicon, indexed by first stem (see taxonomy.h). */
#include "taxonomy.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "hash.h"
#include "text.h"
#include "xalloc.h"

#define STACK_FOUND 256

const char *const taxonomy_topics[TAXONOMY_NTOPICS] = {
        "housing",    "improvement", "roads",  "waste",         "transport",
        "healthcare", "education",   "social", "ecology",       "animals",
        "safety",     "telecom",     "trade",  "culture_sport", "other",
};
const size_t taxonomy_ntopics = TAXONOMY_NTOPICS;

struct term {
	uint32_t sub;  /* its sub-topic */
	uint32_t next; /* the next term with the same first stem, + 1; 0 ends the chain */
	uint32_t nwords;
	char *stems[TAXONOMY_MAX_TERM_WORDS];
	uint32_t lens[TAXONOMY_MAX_TERM_WORDS];
};

struct subtopic {
	char *code;
	uint32_t topic; /* index in taxonomy_topics */
};

/* A slot of the first-stem index: the chain of terms whose first stem hashes to hash. */
struct slot {
	uint64_t hash;
	uint32_t head; /* term + 1; 0 is an empty slot */
};

struct taxonomy {
	struct subtopic *subs;
	size_t nsubs;
	struct term *terms;
	size_t nterms;
	struct slot *slots;
	size_t nslots; /* a power of two */
};

int taxonomy_is_topic(const char *code)
{
	for (size_t i = 0; code && i < taxonomy_ntopics; i++)
		if (!strcmp(code, taxonomy_topics[i]))
			return 1;
	return 0;
}

static int topic_index(const char *code)
{
	for (size_t i = 0; code && i < taxonomy_ntopics; i++)
		if (!strcmp(code, taxonomy_topics[i]))
			return (int)i;
	return -1;
}

void taxonomy_free(struct taxonomy *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsubs; i++)
		free(t->subs[i].code);
	for (size_t i = 0; i < t->nterms; i++)
		for (uint32_t w = 0; w < t->terms[i].nwords; w++)
			free(t->terms[i].stems[w]);
	free(t->subs);
	free(t->terms);
	free(t->slots);
	free(t);
}

static bool same_stem(const struct term *term, uint32_t w, const struct token *tok)
{
	return tok->stem_len == term->lens[w] &&
	       memcmp(tok->stem, term->stems[w], tok->stem_len) == 0;
}

/* The index slot of first stem s[0..len) with hash h: its chain, or the empty slot for it. */
static struct slot *slot_for(const struct taxonomy *t, const char *s, uint32_t len, uint64_t h)
{
	size_t i = (size_t)h & (t->nslots - 1);

	while (t->slots[i].head) {
		const struct term *first = &t->terms[t->slots[i].head - 1];
		if (t->slots[i].hash == h && first->lens[0] == len &&
		    memcmp(first->stems[0], s, len) == 0)
			break;
		i = (i + 1) & (t->nslots - 1);
	}
	return &t->slots[i];
}

static void index_build(struct taxonomy *t)
{
	t->nslots = 16;
	while (t->nslots < 2 * t->nterms)
		t->nslots *= 2;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	/* From the last term to the first, so that each chain runs in file order. */
	for (size_t i = t->nterms; i-- > 0;) {
		struct term *term = &t->terms[i];
		uint64_t h = fnv1a64(FNV1A64_OFFSET, term->stems[0], term->lens[0]);
		struct slot *s = slot_for(t, term->stems[0], term->lens[0], h);
		term->next = s->head;
		s->hash = h;
		s->head = (uint32_t)i + 1;
	}
}

/* Adds the term s of sub-topic sub; where names it in errors. */
static int add_term(struct taxonomy *t, struct text_pipeline *tp, size_t *cap, uint32_t sub,
                    const char *s, const char *where, char *err, size_t errlen)
{
	struct token toks[TAXONOMY_MAX_TERM_WORDS + 1];
	size_t n = text_tokens(tp, s, strlen(s), toks, TAXONOMY_MAX_TERM_WORDS + 1);
	struct term *term;

	if (n == 0 || n > TAXONOMY_MAX_TERM_WORDS) {
		if (n)
			doc_err(err, errlen, "%s: more than %d words", where,
			        TAXONOMY_MAX_TERM_WORDS);
		else
			doc_err(err, errlen, "%s: no words after normalisation", where);
		return -1;
	}
	if (t->nterms == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		t->terms = xrealloc(t->terms, *cap * sizeof(*t->terms));
	}
	term = &t->terms[t->nterms++];
	memset(term, 0, sizeof(*term));
	term->sub = sub;
	term->nwords = (uint32_t)n;
	for (size_t w = 0; w < n; w++) {
		term->stems[w] = xstrdup(toks[w].stem);
		term->lens[w] = toks[w].stem_len;
	}
	return 0;
}

/* The loaded object, for doc_load. */
static void *load_json(const json_t *doc, const char *name, char *err, size_t errlen)
{
	struct taxonomy *t = xcalloc(1, sizeof(*t));
	struct text_pipeline *tp = text_new(err, errlen);
	const json_t *topics = json_object_get(doc, "topics"), *topic, *sub, *term;
	bool seen[TAXONOMY_NTOPICS] = {false};
	size_t i, j, k, term_cap = 0;
	char where[640];

	if (!tp)
		goto fail;
	if (!json_is_array(topics)) {
		doc_err(err, errlen, "%s: topics: must be an array", name);
		goto fail;
	}
	json_array_foreach(topics, i, topic)
	{
		const char *code = json_string_value(json_object_get(topic, "code"));
		const json_t *subs = json_object_get(topic, "subtopics");
		int ti = topic_index(code);
		if (ti < 0) {
			doc_err(err, errlen, "%s: topics[%zu].code: not one of the 15 topic codes",
			        name, i);
			goto fail;
		}
		seen[ti] = true;
		t->subs = xrealloc(t->subs, (t->nsubs + json_array_size(subs)) * sizeof(*t->subs));
		json_array_foreach(subs, j, sub)
		{
			const char *sc = json_string_value(json_object_get(sub, "code"));
			size_t plen = strlen(code);
			uint32_t si = (uint32_t)t->nsubs;
			if (!sc || strncmp(sc, code, plen) != 0 || sc[plen] != '.' ||
			    !sc[plen + 1]) {
				doc_err(err, errlen,
				        "%s: topics[%zu].subtopics[%zu].code: must start with "
				        "\"%s.\"",
				        name, i, j, code);
				goto fail;
			}
			t->subs[t->nsubs++] = (struct subtopic){xstrdup(sc), (uint32_t)ti};
			json_array_foreach(json_object_get(sub, "terms"), k, term)
			{
				snprintf(where, sizeof(where),
				         "%s: topics[%zu].subtopics[%zu].terms[%zu]", name, i, j,
				         k);
				if (!json_is_string(term)) {
					doc_err(err, errlen, "%s: must be a string", where);
					goto fail;
				}
				if (add_term(t, tp, &term_cap, si, json_string_value(term), where,
				             err, errlen) < 0)
					goto fail;
			}
		}
	}
	for (size_t c = 0; c < taxonomy_ntopics; c++)
		if (!seen[c]) {
			doc_err(err, errlen, "%s: topics: \"%s\" is missing", name,
			        taxonomy_topics[c]);
			goto fail;
		}
	index_build(t);
	text_free(tp);
	return t;
fail:
	text_free(tp);
	taxonomy_free(t);
	return NULL;
}

struct taxonomy *taxonomy_load(const char *path, char *err, size_t errlen)
{
	return doc_load(path, NULL, 0, load_json, err, errlen);
}

struct taxonomy *taxonomy_load_mem(const char *data, size_t len, const char *name, char *err,
                                   size_t errlen)
{
	return doc_load(name, data, len, load_json, err, errlen);
}

size_t taxonomy_subtopic_count(const struct taxonomy *t)
{
	return t->nsubs;
}

const char *taxonomy_subtopic_code(const struct taxonomy *t, size_t i)
{
	return t->subs[i].code;
}

static bool term_at(const struct term *term, const struct token *toks, size_t n, size_t at)
{
	if (at + term->nwords > n)
		return false;
	for (uint32_t w = 1; w < term->nwords; w++)
		if (!same_stem(term, w, &toks[at + w]))
			return false;
	return true;
}

void taxonomy_match(const struct taxonomy *t, const struct token *toks, size_t n, int *hits)
{
	uint32_t stack[STACK_FOUND], *found = stack;
	size_t nfound = 0, cap = STACK_FOUND;

	memset(hits, 0, t->nsubs * sizeof(*hits));
	for (size_t at = 0; at < n; at++) {
		const struct token *tok = &toks[at];
		uint32_t i = slot_for(t, tok->stem, tok->stem_len, tok->stem_fnv)->head;

		for (; i; i = t->terms[i - 1].next) {
			const struct term *term = &t->terms[i - 1];
			size_t f = 0;
			if (!term_at(term, toks, n, at))
				continue;
			while (f < nfound && found[f] != i)
				f++;
			if (f < nfound)
				continue; /* counted already */
			if (nfound == cap) {
				cap *= 2;
				found = found == stack ? memcpy(xmalloc(cap * sizeof(*found)),
				                                stack, sizeof(stack))
				                       : xrealloc(found, cap * sizeof(*found));
			}
			found[nfound++] = i;
			hits[term->sub]++;
		}
	}
	if (found != stack)
		free(found);
}

void taxonomy_topic_hits(const struct taxonomy *t, const int *hits, int *topic_hits)
{
	memset(topic_hits, 0, taxonomy_ntopics * sizeof(*topic_hits));
	for (size_t i = 0; i < t->nsubs; i++)
		topic_hits[t->subs[i].topic] += hits[i];
}

const char *taxonomy_subtopic(const struct taxonomy *t, const int *hits, const char *topic,
                              int *best)
{
	int ti = topic_index(topic), best_hits = 0;
	const char *code = NULL;

	for (size_t i = 0; ti >= 0 && i < t->nsubs; i++)
		if ((int)t->subs[i].topic == ti && hits[i] > best_hits) {
			best_hits = hits[i];
			code = t->subs[i].code;
		}
	if (best)
		*best = best_hits;
	return code;
}
