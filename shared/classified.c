/* classified: the classified.v1 codec (see classified.h and schemas/classified.v1.md). */
#include "classified.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "xalloc.h"

#define MAX_CODE_CHARS 64
#define MAX_EVIDENCE 32

static void put_string(json_t *obj, const char *key, const char *value)
{
	if (value)
		json_object_set_new(obj, key, json_string(value));
}

/* A copy of value, or an empty array when it is NULL. */
static void put_copy(json_t *obj, const char *key, const json_t *value)
{
	json_object_set_new(obj, key, value ? json_deep_copy(value) : json_array());
}

/* scores from c->values when it is NULL. */
static json_t *scores_json(const struct classification *c)
{
	json_t *o;

	if (c->scores)
		return json_deep_copy(c->scores);
	o = json_object();
	for (size_t i = 0; i < c->values.ntopics; i++)
		json_object_set_new(o, c->values.topic[i], json_real(c->values.score[i]));
	return o;
}

/* top_features from c->values when it is NULL. */
static json_t *features_json(const struct classification *c)
{
	json_t *a;

	if (c->top_features)
		return json_deep_copy(c->top_features);
	a = json_array();
	for (size_t i = 0; i < c->values.nfeatures; i++) {
		json_t *f = json_object();
		json_object_set_new(f, "feature", json_string(c->values.feature[i]));
		json_object_set_new(f, "weight", json_real(c->values.weight[i]));
		json_array_append_new(a, f);
	}
	return a;
}

json_t *classified_encode(const struct classified *r)
{
	const struct classification *c = &r->c;
	char at[32];
	rfc3339_format(c->classified_at, at);

	json_t *k = json_object();
	json_object_set_new(k, "incident", json_boolean(c->incident));
	json_object_set_new(k, "incident_score", json_real(c->incident_score));
	put_string(k, "topic", c->topic);
	json_object_set_new(k, "topic_score", json_real(c->topic_score));
	put_string(k, "subtopic", c->subtopic);
	json_object_set_new(k, "scores", scores_json(c));
	json_object_set_new(k, "municipality",
	                    c->municipality ? json_string(c->municipality) : json_null());
	put_string(k, "municipality_method",
	           c->municipality_method ? c->municipality_method : "none");
	json_object_set_new(k, "municipality_confidence", json_real(c->municipality_confidence));
	json_object_set_new(k, "municipality_ambiguous", json_boolean(c->municipality_ambiguous));
	put_copy(k, "municipality_evidence", c->municipality_evidence);
	put_copy(k, "municipality_candidates", c->municipality_candidates);
	put_string(k, "urgency", c->urgency);
	put_copy(k, "urgency_terms", c->urgency_terms);
	json_object_set_new(k, "top_features", features_json(c));
	put_string(k, "model_version", c->model_version);
	json_object_set_new(k, "classified_at", json_string(at));

	return json_pack("{s:s, s:o, s:o}", "schema", CLASSIFIED_SCHEMA, "message",
	                 message_encode(&r->message), "classification", k);
}

static int take(const json_t *obj, const char *name, bool required, char **dst,
                struct field_error *e)
{
	const char *s = NULL;
	if (field_string(obj, "classification", name, required, MAX_CODE_CHARS, &s, e) < 0)
		return -1;
	*dst = xstrdup(s);
	return 0;
}

static int probability(const json_t *obj, const char *name, double *out, struct field_error *e)
{
	return field_number(obj, "classification", name, true, 0.0, 1.0, out, NULL, e);
}

static int boolean(const json_t *obj, const char *name, bool *out, struct field_error *e)
{
	const json_t *v = json_object_get(obj, name);
	if (!json_is_boolean(v)) {
		char field[64];
		snprintf(field, sizeof(field), "classification.%s", name);
		return field_fail(e, field, "must be true or false");
	}
	*out = json_is_true(v);
	return 0;
}

/* Arrays of strings (evidence, candidates, terms): copied after checking each item. */
static int strings(const json_t *obj, const char *name, json_t **dst, struct field_error *e)
{
	const json_t *arr;
	if (field_string_array(obj, "classification", name, MAX_EVIDENCE, 256, &arr, e) < 0)
		return -1;
	*dst = arr ? json_deep_copy(arr) : json_array();
	return 0;
}

static int decode_classification(const json_t *k, struct classification *c, struct field_error *e)
{
	if (!json_is_object(k))
		return field_fail(e, "classification", "must be an object");
	if (boolean(k, "incident", &c->incident, e) < 0 ||
	    probability(k, "incident_score", &c->incident_score, e) < 0 ||
	    take(k, "topic", true, &c->topic, e) < 0 ||
	    probability(k, "topic_score", &c->topic_score, e) < 0 ||
	    take(k, "subtopic", false, &c->subtopic, e) < 0)
		return -1;
	const json_t *scores = json_object_get(k, "scores");
	if (scores && !json_is_object(scores))
		return field_fail(e, "classification.scores", "must be an object of probabilities");
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)(uintptr_t)scores, key, v)
	{
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
			return field_fail(e, "classification.scores",
			                  "%.40s: must be between 0 and 1", key);
	}
	c->scores = scores ? json_deep_copy(scores) : json_object();
	const json_t *mun = json_object_get(k, "municipality");
	if (mun && !json_is_null(mun) && take(k, "municipality", false, &c->municipality, e) < 0)
		return -1;
	if (take(k, "municipality_method", true, &c->municipality_method, e) < 0 ||
	    probability(k, "municipality_confidence", &c->municipality_confidence, e) < 0 ||
	    boolean(k, "municipality_ambiguous", &c->municipality_ambiguous, e) < 0 ||
	    strings(k, "municipality_evidence", &c->municipality_evidence, e) < 0 ||
	    strings(k, "municipality_candidates", &c->municipality_candidates, e) < 0 ||
	    take(k, "urgency", true, &c->urgency, e) < 0 ||
	    strings(k, "urgency_terms", &c->urgency_terms, e) < 0)
		return -1;
	if (strcmp(c->urgency, "high") && strcmp(c->urgency, "normal"))
		return field_fail(e, "classification.urgency", "must be high or normal");
	const json_t *tf = json_object_get(k, "top_features");
	if (tf && !json_is_array(tf))
		return field_fail(e, "classification.top_features", "must be an array");
	c->top_features = tf ? json_deep_copy(tf) : json_array();
	if (take(k, "model_version", true, &c->model_version, e) < 0)
		return -1;
	return field_time(k, "classification", "classified_at", true, &c->classified_at, NULL, e);
}

int classified_decode(const json_t *obj, struct classified *r, struct field_error *e)
{
	memset(r, 0, sizeof(*r));
	if (!json_is_object(obj))
		return field_fail(e, "", "must be a JSON object");
	if (field_schema(obj, CLASSIFIED_SCHEMA, e) < 0)
		return -1;
	const json_t *msg = json_object_get(obj, "message");
	if (!msg)
		return field_fail(e, "message", "is required");
	if (message_decode(msg, &r->message, e) < 0) {
		/* Name the field inside the record: "message.text". */
		char inner[sizeof(e->field)];
		snprintf(inner, sizeof(inner), "%s", e->field);
		snprintf(e->field, sizeof(e->field), "message%s%.80s", inner[0] ? "." : "", inner);
		return -1;
	}
	if (decode_classification(json_object_get(obj, "classification"), &r->c, e) < 0) {
		classified_clear(r);
		return -1;
	}
	return 0;
}

int classified_decode_bytes(const void *data, size_t len, struct classified *r,
                            struct field_error *e)
{
	json_error_t je;
	json_t *obj = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	memset(r, 0, sizeof(*r));
	if (!obj)
		return field_fail(e, "", "invalid JSON at line %d, column %d: %.100s", je.line,
		                  je.column, je.text);
	int rc = classified_decode(obj, r, e);
	json_decref(obj);
	return rc;
}

char *classified_key(const struct classified *r)
{
	return xasprintf("%s|%s", r->c.municipality ? r->c.municipality : "-",
	                 r->c.topic ? r->c.topic : "other");
}

void classification_clear(struct classification *c)
{
	free(c->topic);
	free(c->subtopic);
	free(c->municipality);
	free(c->municipality_method);
	free(c->urgency);
	free(c->model_version);
	json_decref(c->scores);
	json_decref(c->municipality_evidence);
	json_decref(c->municipality_candidates);
	json_decref(c->urgency_terms);
	json_decref(c->top_features);
	memset(c, 0, sizeof(*c));
}

void classified_clear(struct classified *r)
{
	message_clear(&r->message);
	classification_clear(&r->c);
}
