/*
 * taxonomy: the topic taxonomy of a region pack or of the shipped default
 * (services/classifier/data/taxonomy.json): the 15 top-level topic codes, which are a contract
 * across the system, and below each its sub-topics with their lexicon terms, which are data.
 *
 * The classifier's model decides the top-level topic, with the lexicon's hits as evidence on
 * top; the lexicon then names the sub-topic: among the topic's sub-topics, the one with the most
 * terms found in the text (a term's words in sequence, compared by Snowball stem, so «батареи
 * холодные» matches «батарея холодная»; a term counts once however often it occurs), ties to
 * the first in the file; none when no term matches.
 *
 * Terms are indexed by the stem of their first word, so matching a text costs one hash look-up
 * per token, not a comparison per term. A taxonomy is immutable after loading and may be shared
 * by threads.
 */
#ifndef CLASSIFIER_TAXONOMY_H
#define CLASSIFIER_TAXONOMY_H

#include <stddef.h>

struct taxonomy;
struct token;

/* The top-level codes, in the contract's order. */
#define TAXONOMY_NTOPICS 15
extern const char *const taxonomy_topics[TAXONOMY_NTOPICS];
extern const size_t taxonomy_ntopics; /* TAXONOMY_NTOPICS */

/* A term's longest word count after normalisation; a longer term is a load error. */
#define TAXONOMY_MAX_TERM_WORDS 8

/*
 * Loads the taxonomy at path, checking that its topics are exactly the contract's codes, that
 * every sub-topic code starts with its topic's ("housing.heating") and that every term is a
 * string with 1..TAXONOMY_MAX_TERM_WORDS words. Returns NULL with err naming what is wrong
 * ("topics[3].subtopics[1].code: must start with \"waste.\""). Caller frees. err may be NULL.
 */
struct taxonomy *taxonomy_load(const char *path, char *err, size_t errlen);

/* The same from a document in memory, data[0..len); name labels it in errors. */
struct taxonomy *taxonomy_load_mem(const char *data, size_t len, const char *name, char *err,
                                   size_t errlen);

/* Frees t; NULL is accepted. */
void taxonomy_free(struct taxonomy *t);

/* True when code is one of the 15 top-level codes. */
int taxonomy_is_topic(const char *code);

/* How many sub-topics t has: the length of a hits array. */
size_t taxonomy_subtopic_count(const struct taxonomy *t);

/* The code of sub-topic i < taxonomy_subtopic_count (borrowed). */
const char *taxonomy_subtopic_code(const struct taxonomy *t, size_t i);

/*
 * Counts, for every sub-topic (in file order), its distinct terms found in the tokens
 * toks[0..n) (from text_tokens), into hits[0..taxonomy_subtopic_count(t)). Allocates only when
 * a text matches more than 256 distinct terms.
 */
void taxonomy_match(const struct taxonomy *t, const struct token *toks, size_t n, int *hits);

/* The sum of hits over each top-level topic's sub-topics, into
 * topic_hits[0..taxonomy_ntopics) in taxonomy_topics order. */
void taxonomy_topic_hits(const struct taxonomy *t, const int *hits, int *topic_hits);

/* The sub-topic of `topic` with the most hits (borrowed code; ties to the first in the file),
 * or NULL when none of its sub-topics has any; *best gets that count (may be NULL). */
const char *taxonomy_subtopic(const struct taxonomy *t, const int *hits, const char *topic,
                              int *best);

#endif
