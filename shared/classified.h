/*
 * classified: the classified.v1 record, one message with the classifier's decision and the
 * evidence for it, carried on messages.classified (key: "<municipality or ->|<topic>", so the
 * reports of one municipality and topic share a partition and the assigner can group them).
 * The JSON shape is documented in shared/schemas/classified.v1.md; this module is its one
 * encoder and its one decoder/validator.
 *
 *     {"schema":"classified.v1","message":{...message.v1...},
 *      "classification":{"incident":true,"incident_score":0.97,"topic":"housing",
 *        "topic_score":0.88,"subtopic":"housing.heating","scores":{"housing":0.88,...},
 *        "municipality":"chernogorsk","municipality_method":"text",
 *        "municipality_confidence":0.9,"municipality_ambiguous":false,
 *        "municipality_evidence":["в Черногорске"],"municipality_candidates":[],
 *        "urgency":"high","urgency_terms":["нет отопления"],
 *        "top_features":[{"feature":"stem:отоплен","weight":0.42}],
 *        "model_version":"9f1c...","classified_at":"2026-11-28T06:20:57.123Z"}}
 */
#ifndef SHARED_CLASSIFIED_H
#define SHARED_CLASSIFIED_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fields.h"
#include "message.h"

#define CLASSIFIED_SCHEMA "classified.v1"

#define CLASSIFICATION_MAX_TOPICS 32
#define CLASSIFICATION_MAX_FEATURES 8
#define CLASSIFICATION_FEATURE_BYTES 96

/*
 * classification.scores and classification.top_features as plain values. A producer that has
 * them as numbers (the classifier) fills these and leaves the JSON members NULL: building a
 * jansson value for each of two dozen numbers, and freeing them, cost it more than deciding.
 * Every encoder reads them where the JSON member is NULL (classified_encode; the classifier's
 * writer); the decoder fills the JSON members.
 */
struct classification_values {
	size_t ntopics;
	const char *topic[CLASSIFICATION_MAX_TOPICS]; /* borrowed; must outlive the record */
	double score[CLASSIFICATION_MAX_TOPICS];
	size_t nfeatures;
	char feature[CLASSIFICATION_MAX_FEATURES][CLASSIFICATION_FEATURE_BYTES]; /* UTF-8 */
	double weight[CLASSIFICATION_MAX_FEATURES];
};

struct classification {
	bool incident;
	double incident_score;           /* probability that it is an incident, 0..1 */
	char *topic;                     /* top-level topic code ("other" for non-incidents) */
	double topic_score;              /* 0..1 */
	char *subtopic;                  /* "housing.heating" or NULL */
	json_t *scores;                  /* {"topic": probability} of every candidate topic */
	char *municipality;              /* region pack id, or NULL when unresolved */
	char *municipality_method;       /* "text", "coordinates", "community", "none" */
	double municipality_confidence;  /* 0..1 */
	bool municipality_ambiguous;     /* several municipalities fitted: see candidates */
	json_t *municipality_evidence;   /* array of strings: what was matched */
	json_t *municipality_candidates; /* array of ids */
	char *urgency;                   /* "high" or "normal" */
	json_t *urgency_terms;           /* array of strings that made it high */
	json_t *top_features;            /* array of {"feature": string, "weight": number} */
	char *model_version;
	int64_t classified_at;               /* ms since the epoch, UTC */
	struct classification_values values; /* scores and top_features when those are NULL */
};

struct classified {
	struct message message;
	struct classification c;
};

/* New classified.v1 object (caller owns the reference). JSON members of c are copied. */
json_t *classified_encode(const struct classified *r);

/* Validates and decodes; on error returns -1 with e naming the field ("classification.topic",
 * "message.text") and leaves r cleared. */
int classified_decode(const json_t *obj, struct classified *r, struct field_error *e);
int classified_decode_bytes(const void *data, size_t len, struct classified *r,
                            struct field_error *e);

/* The Kafka key for r: "<municipality or ->|<topic>". Caller frees. */
char *classified_key(const struct classified *r);

/* Frees r's contents and zeroes it. */
void classified_clear(struct classified *r);
void classification_clear(struct classification *c);

#endif
