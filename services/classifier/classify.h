/*
 * classify: the classifier's whole decision for one message, the same code path for the
 * service, `classifier classify` and the benchmarks.
 *
 *  - incident or not: the incident model (labels "true"/"false") over the message's features;
 *    an incident when P(true) >= the threshold;
 *  - topic: the topic model (the 15 codes), its probabilities as the scores, and the features
 *    that weighed most for the chosen topic as the explanation; the sub-topic from the
 *    taxonomy's lexicon (taxonomy.h);
 *  - municipality: the region's gazetteer over the text, then coordinates, then the
 *    community's name (place.h), with the evidence and any ambiguity;
 *  - urgency: the taxonomy's urgency rules (urgency.h) with the matched terms.
 * The text is tokenised once per message and every stage reads those tokens.
 *
 * A struct classifier holds the models, gazetteer and rules (immutable) and one thread's text
 * pipeline, tokens and featurizer: one per thread.
 */
#ifndef CLASSIFIER_CLASSIFY_H
#define CLASSIFIER_CLASSIFY_H

#include <stddef.h>

#include "classified.h"
#include "message.h"

struct classifier;
struct strbuf;

struct classifier_paths {
	const char *incident_model; /* model file with labels "true"/"false" */
	const char *topic_model;    /* model file over the topic codes */
	const char *taxonomy;       /* taxonomy.json (sub-topics, urgency rules) */
	const char *gazetteer;      /* the region pack's municipalities.json */
	double incident_threshold;  /* P(incident) at or above which a message is one */
};

/* Loads everything. NULL with err naming the file and the problem. Caller frees. */
struct classifier *classifier_open(const struct classifier_paths *p, char *err, size_t errlen);

/*
 * The same from the install layout: incident.model, topic.model and taxonomy.json in model_dir,
 * municipalities.json in region_dir. A NULL directory is the shipped default next to the
 * binary (file_share_path, files.h): classifier/ and regions/khakassia/.
 */
struct classifier *classifier_open_dirs(const char *model_dir, const char *region_dir,
                                        double incident_threshold, char *err, size_t errlen);

void classifier_free(struct classifier *c);

/* "<incident model version>.<topic model version>" (borrowed). */
const char *classifier_version(const struct classifier *c);

/* Decides for m into out (zeroed; classification_clear frees it). Returns 0. */
int classifier_decide(struct classifier *c, const struct message *m, struct classification *out);

/* r as one line of compact classified.v1 JSON (classified_encode's record, written by
 * json_out.h), without the line end: what the service publishes and `classifier classify`
 * prints. Caller frees. */
char *classifier_encode(const struct classified *r);

/* The same appended to b. */
void classifier_write(struct strbuf *b, const struct classified *r);

#endif
