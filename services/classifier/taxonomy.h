/*
 * taxonomy: the topic taxonomy of a region pack or of the shipped default
 * (services/classifier/data/taxonomy.json): the 15 top-level topic codes, which are a contract
 * across the system, and below each its sub-topics with their lexicon terms, which are data.
 *
 * The classifier's model decides the top-level topic; the lexicon then names the sub-topic:
 * among the predicted topic's sub-topics, the one with the most terms found in the text (a
 * term's words in sequence, compared by Snowball stem, so «батареи холодные» matches «батарея
 * холодная»), ties to the first in the file; none when no term matches.
 */
#ifndef CLASSIFIER_TAXONOMY_H
#define CLASSIFIER_TAXONOMY_H

#include <stddef.h>

struct taxonomy;
struct text_pipeline;

/* The top-level codes, in the contract's order. */
extern const char *const taxonomy_topics[];
extern const size_t taxonomy_ntopics;

/*
 * Loads the taxonomy at path, checking that its topics are exactly the contract's codes and
 * that every sub-topic code starts with its topic's ("housing.heating"). Returns NULL with err
 * naming what is wrong ("topics[3].subtopics[1].code: must start with \"waste.\""). tp
 * normalises the terms. Caller frees.
 */
struct taxonomy *taxonomy_load(const char *path, struct text_pipeline *tp, char *err,
                               size_t errlen);

void taxonomy_free(struct taxonomy *t);

/* True when code is one of the 15 top-level codes. */
int taxonomy_is_topic(const char *code);

/*
 * The sub-topic of `topic` whose terms best match text (borrowed code), or NULL; *hits gets the
 * number of matched terms (may be NULL). tp's earlier tokens are invalidated.
 */
const char *taxonomy_subtopic(const struct taxonomy *t, struct text_pipeline *tp, const char *text,
                              const char *topic, int *hits);

/*
 * Counts, for every top-level topic (in taxonomy_topics order), the distinct terms of its
 * sub-topics found in text, into hits[0..taxonomy_ntopics). tp's earlier tokens are invalidated.
 */
void taxonomy_topic_hits(const struct taxonomy *t, struct text_pipeline *tp, const char *text,
                         int *hits);

#endif
