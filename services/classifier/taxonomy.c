/* taxonomy: topic codes and the sub-topic lexicon (see taxonomy.h). */
#include "taxonomy.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "xalloc.h"

#define MAX_TERM_WORDS 8
#define MAX_TEXT_TOKENS 1024

const char *const taxonomy_topics[] = {
        "housing",    "improvement", "roads",  "waste",         "transport",
        "healthcare", "education",   "social", "ecology",       "animals",
        "safety",     "telecom",     "trade",  "culture_sport", "other",
};
const size_t taxonomy_ntopics = sizeof(taxonomy_topics) / sizeof(taxonomy_topics[0]);

struct term {
	size_t nwords;
	char *stems[MAX_TERM_WORDS];
};

struct subtopic {
	char *code;
	const char *topic; /* one of taxonomy_topics */
	struct term *terms;
	size_t nterms;
};

struct taxonomy {
	struct subtopic *subs;
	size_t nsubs;
};

int taxonomy_is_topic(const char *code)
{
	for (size_t i = 0; code && i < taxonomy_ntopics; i++)
		if (!strcmp(code, taxonomy_topics[i]))
			return 1;
	return 0;
}

static size_t topic_index(const char *code)
{
	for (size_t i = 0; i < taxonomy_ntopics; i++)
		if (!strcmp(code, taxonomy_topics[i]))
			return i;
	return taxonomy_ntopics - 1;
}

static const char *topic_code(const char *code)
{
	for (size_t i = 0; i < taxonomy_ntopics; i++)
		if (!strcmp(code, taxonomy_topics[i]))
			return taxonomy_topics[i];
	return NULL;
}

static void term_from(struct term *t, struct text_pipeline *tp, const char *s)
{
	struct token toks[MAX_TERM_WORDS];
	t->nwords = text_tokens(tp, s, strlen(s), toks, MAX_TERM_WORDS);
	for (size_t i = 0; i < t->nwords; i++)
		t->stems[i] = xstrdup(toks[i].stem);
}

void taxonomy_free(struct taxonomy *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsubs; i++) {
		for (size_t j = 0; j < t->subs[i].nterms; j++)
			for (size_t w = 0; w < t->subs[i].terms[j].nwords; w++)
				free(t->subs[i].terms[j].stems[w]);
		free(t->subs[i].terms);
		free(t->subs[i].code);
	}
	free(t->subs);
	free(t);
}

struct taxonomy *taxonomy_load(const char *path, struct text_pipeline *tp, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(err, errlen, "%s: line %d: %s", path, je.line, je.text);
		return NULL;
	}
	struct taxonomy *t = xcalloc(1, sizeof(*t));
	json_t *topics = json_object_get(doc, "topics");
	size_t i, j, k;
	json_t *topic, *sub, *term;
	bool seen[16] = {false};

	if (!json_is_array(topics)) {
		snprintf(err, errlen, "%s: topics: must be an array", path);
		goto fail;
	}
	json_array_foreach(topics, i, topic)
	{
		const char *code = json_string_value(json_object_get(topic, "code"));
		const char *tc = code ? topic_code(code) : NULL;
		if (!tc) {
			snprintf(err, errlen, "%s: topics[%zu].code: not one of the 15 topic codes",
			         path, i);
			goto fail;
		}
		for (size_t c = 0; c < taxonomy_ntopics; c++)
			if (taxonomy_topics[c] == tc)
				seen[c] = true;
		json_array_foreach(json_object_get(topic, "subtopics"), j, sub)
		{
			const char *sc = json_string_value(json_object_get(sub, "code"));
			size_t plen = strlen(tc);
			if (!sc || strncmp(sc, tc, plen) != 0 || sc[plen] != '.' || !sc[plen + 1]) {
				snprintf(err, errlen,
				         "%s: topics[%zu].subtopics[%zu].code: must start with "
				         "\"%s.\"",
				         path, i, j, tc);
				goto fail;
			}
			t->subs = xrealloc(t->subs, (t->nsubs + 1) * sizeof(*t->subs));
			struct subtopic *s = &t->subs[t->nsubs++];
			memset(s, 0, sizeof(*s));
			s->code = xstrdup(sc);
			s->topic = tc;
			json_t *terms = json_object_get(sub, "terms");
			s->terms = xcalloc(json_array_size(terms) + 1, sizeof(*s->terms));
			json_array_foreach(terms, k, term)
			{
				if (!json_is_string(term))
					continue;
				term_from(&s->terms[s->nterms], tp, json_string_value(term));
				if (s->terms[s->nterms].nwords)
					s->nterms++;
			}
		}
	}
	for (size_t c = 0; c < taxonomy_ntopics; c++)
		if (!seen[c]) {
			snprintf(err, errlen, "%s: topics: \"%s\" is missing", path,
			         taxonomy_topics[c]);
			goto fail;
		}
	json_decref(doc);
	return t;
fail:
	json_decref(doc);
	taxonomy_free(t);
	return NULL;
}

static bool term_at(const struct term *term, const struct token *toks, size_t n, size_t at)
{
	if (at + term->nwords > n)
		return false;
	for (size_t w = 0; w < term->nwords; w++)
		if (strcmp(toks[at + w].stem, term->stems[w]) != 0)
			return false;
	return true;
}

/* Distinct terms of s found in toks[0..n). */
static int subtopic_hits(const struct subtopic *s, const struct token *toks, size_t n)
{
	int h = 0;
	for (size_t j = 0; j < s->nterms; j++)
		for (size_t at = 0; at < n; at++)
			if (term_at(&s->terms[j], toks, n, at)) {
				h++;
				break;
			}
	return h;
}

void taxonomy_topic_hits(const struct taxonomy *t, struct text_pipeline *tp, const char *text,
                         int *hits)
{
	static _Thread_local struct token toks[MAX_TEXT_TOKENS];
	size_t n = text ? text_tokens(tp, text, strlen(text), toks, MAX_TEXT_TOKENS) : 0;

	memset(hits, 0, taxonomy_ntopics * sizeof(*hits));
	for (size_t i = 0; i < t->nsubs; i++)
		hits[topic_index(t->subs[i].topic)] += subtopic_hits(&t->subs[i], toks, n);
}

const char *taxonomy_subtopic(const struct taxonomy *t, struct text_pipeline *tp, const char *text,
                              const char *topic, int *hits)
{
	static _Thread_local struct token toks[MAX_TEXT_TOKENS];
	size_t n = text ? text_tokens(tp, text, strlen(text), toks, MAX_TEXT_TOKENS) : 0;
	const char *best = NULL;
	int best_hits = 0;

	for (size_t i = 0; topic && i < t->nsubs; i++) {
		const struct subtopic *s = &t->subs[i];
		if (strcmp(s->topic, topic) != 0)
			continue;
		int h = subtopic_hits(s, toks, n);
		if (h > best_hits) {
			best_hits = h;
			best = s->code;
		}
	}
	if (hits)
		*hits = best_hits;
	return best;
}
