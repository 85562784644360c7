/* classify: models, lexicon, gazetteer and urgency rules into one decision (see classify.h). */
#include "classify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "featurizer.h"
#include "files.h"
#include "json_out.h"
#include "model.h"
#include "place.h"
#include "taxonomy.h"
#include "text.h"
#include "timefmt.h"
#include "urgency.h"
#include "utf8.h"
#include "xalloc.h"

#define TOP_FEATURES 5
_Static_assert(TOP_FEATURES <= CLASSIFICATION_MAX_FEATURES &&
                       sizeof(((struct feature_weight *)0)->name) == CLASSIFICATION_FEATURE_BYTES,
               "the explaining features fit classification_values");
_Static_assert(TAXONOMY_NTOPICS <= CLASSIFICATION_MAX_TOPICS,
               "every topic fits classification_values");
/* Measured on text nobody here wrote (README): the shipped model alone reaches topic accuracy
 * 0.36 on the Kursk and St Petersburg appeals, with the lexicon at this weight 0.52 and 0.43. */
#define LEXICON_WEIGHT 1.0

struct classifier {
	struct model *incident, *topic; /* their labels and scales; weights dropped for both's */
	struct model *both;             /* the two joined (model_join): one pass over the weights */
	struct gazetteer *gazetteer;
	struct urgency_rules *urgency;
	struct taxonomy *taxonomy;
	struct text_pipeline *tp;
	struct token_list toks; /* the message's, shared by every stage */
	struct featurizer *fz;
	struct fvec x;
	float *scores, *probs;
	int *sub_hits; /* per sub-topic, taxonomy_match */
	int *lexicon;  /* per topic label of the topic model: taxonomy_topics index */
	int incident_true;
	double threshold;
	double lexicon_weight;
	char version[40];
};

void classifier_free(struct classifier *c)
{
	if (!c)
		return;
	model_free(c->incident);
	model_free(c->topic);
	model_free(c->both);
	gazetteer_free(c->gazetteer);
	urgency_free(c->urgency);
	taxonomy_free(c->taxonomy);
	text_free(c->tp);
	token_list_clear(&c->toks);
	featurizer_free(c->fz);
	fvec_clear(&c->x);
	free(c->scores);
	free(c->probs);
	free(c->sub_hits);
	free(c->lexicon);
	free(c);
}

struct classifier *classifier_open(const struct classifier_paths *p, char *err, size_t errlen)
{
	struct classifier *c = xcalloc(1, sizeof(*c));
	char why[512] = "", jerr[200];

	c->threshold = p->incident_threshold;
	c->lexicon_weight = LEXICON_WEIGHT;
	if (!(c->incident = model_load(p->incident_model, why, sizeof(why))) ||
	    !(c->topic = model_load(p->topic_model, why, sizeof(why))) ||
	    !(c->tp = text_new(why, sizeof(why))) ||
	    !(c->gazetteer = gazetteer_load(p->gazetteer, why, sizeof(why))) ||
	    !(c->urgency = urgency_load(p->taxonomy, why, sizeof(why))) ||
	    !(c->taxonomy = taxonomy_load(p->taxonomy, why, sizeof(why))))
		goto fail;
	c->incident_true = model_label_index(c->incident, "true");
	if (c->incident_true < 0 || model_label_count(c->incident) != 2) {
		snprintf(why, sizeof(why), "%s: the incident model's labels must be true and false",
		         p->incident_model);
		goto fail;
	}
	for (uint32_t i = 0; i < model_label_count(c->topic); i++)
		if (!taxonomy_is_topic(model_label(c->topic, i))) {
			snprintf(why, sizeof(why), "%s: label \"%s\" is not a topic code",
			         p->topic_model, model_label(c->topic, i));
			goto fail;
		}
	/* One featurizer serves both models only when they were trained alike. */
	if (!features_config_equal(model_features(c->incident), model_features(c->topic))) {
		snprintf(why, sizeof(why), "%s and %s use different feature settings",
		         p->incident_model, p->topic_model);
		goto fail;
	}
	if (model_label_count(c->topic) > CLASSIFICATION_MAX_TOPICS) {
		snprintf(why, sizeof(why), "%s: more than %d labels", p->topic_model,
		         CLASSIFICATION_MAX_TOPICS);
		goto fail;
	}
	if (!(c->fz = featurizer_new(model_features(c->topic), why, sizeof(why))))
		goto fail;
	if (!(c->both = model_join(c->incident, c->topic, jerr, sizeof(jerr)))) {
		snprintf(why, sizeof(why), "%s and %s: %s", p->incident_model, p->topic_model,
		         jerr);
		goto fail;
	}
	/* Only the joined weights are scored: the models keep their labels and scales, and the
	 * ~8 MB of weights each that the join copied go back to the system (idle RSS). */
	model_drop_weights(c->incident);
	model_drop_weights(c->topic);
	featurizer_prefetch_rows(c->fz, c->both);
	c->scores = xcalloc(model_label_count(c->both), sizeof(*c->scores));
	c->probs = xcalloc(model_label_count(c->topic) + 2, sizeof(*c->probs));
	c->sub_hits = xcalloc(taxonomy_subtopic_count(c->taxonomy) + 1, sizeof(*c->sub_hits));
	c->lexicon = xcalloc(model_label_count(c->topic), sizeof(*c->lexicon));
	for (uint32_t i = 0; i < model_label_count(c->topic); i++)
		for (size_t t = 0; t < taxonomy_ntopics; t++)
			if (!strcmp(model_label(c->topic, i), taxonomy_topics[t]))
				c->lexicon[i] = (int)t;
	snprintf(c->version, sizeof(c->version), "%.16s.%.16s", model_version(c->incident),
	         model_version(c->topic));
	return c;
fail:
	snprintf(err, errlen, "%s", why);
	classifier_free(c);
	return NULL;
}

struct classifier *classifier_open_dirs(const char *model_dir, const char *region_dir,
                                        double incident_threshold, char *err, size_t errlen)
{
	char *mdir = model_dir ? xstrdup(model_dir) : file_share_path("classifier");
	char *rdir = region_dir ? xstrdup(region_dir) : file_share_path("regions/khakassia");
	char *incident = xasprintf("%s/incident.model", mdir);
	char *topic = xasprintf("%s/topic.model", mdir);
	char *taxonomy = xasprintf("%s/taxonomy.json", mdir);
	char *gazetteer = xasprintf("%s/municipalities.json", rdir);
	struct classifier_paths p = {incident, topic, taxonomy, gazetteer, incident_threshold};
	struct classifier *c = classifier_open(&p, err, errlen);

	free(mdir);
	free(rdir);
	free(incident);
	free(topic);
	free(taxonomy);
	free(gazetteer);
	return c;
}

const char *classifier_version(const struct classifier *c)
{
	return c->version;
}

/* The strings as a JSON array; NULL, which every encoder writes as [], when there are none
 * (most records: an array allocated and freed for nothing). */
static json_t *string_array(const char *const *items, size_t n)
{
	json_t *a = n ? json_array() : NULL;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

/* Scores, probabilities and weights are written with four decimals: more digits say nothing
 * about a decision, and such a number is written fast (json_out.h). */
static double four_decimals(double v)
{
	return round(v * 10000.0) / 10000.0;
}

int classifier_decide(struct classifier *c, const struct message *m, struct classification *out)
{
	const char *text = m->text ? m->text : "";
	struct place_reading community;

	memset(out, 0, sizeof(*out));
	/* The community name first: reading it tokenises it, which would invalidate the text's
	 * tokens. Then the text is tokenised once, for every stage below. */
	place_read_community(c->gazetteer, c->tp, m->community_name, &community);
	text_tokenize(c->tp, text, strlen(text), &c->toks);
	features_extract_tokens(c->fz, c->toks.items, c->toks.n, true, &c->x);
	taxonomy_match(c->taxonomy, c->toks.items, c->toks.n, c->sub_hits);

	/* Both models' scores in one pass: the incident model's 2 labels, then the topics. */
	model_scores(c->both, &c->x, c->scores);
	model_softmax(c->scores, 2, model_prob_scale(c->incident), c->probs);
	out->incident = c->probs[c->incident_true] >= c->threshold;
	out->incident_score = four_decimals(c->probs[c->incident_true]);

	uint32_t best = model_softmax(c->scores + 2, model_label_count(c->topic),
	                              model_prob_scale(c->topic), c->probs);
	/* The lexicon as evidence on top of the model: each matched term of a topic multiplies its
	 * odds by exp(LEXICON_WEIGHT); renormalised. It rescues topics the small default corpus
	 * teaches poorly, and a retrained regional model keeps its say. */
	if (c->lexicon_weight > 0) {
		int hits[TAXONOMY_NTOPICS];
		double sum = 0;
		taxonomy_topic_hits(c->taxonomy, c->sub_hits, hits);
		for (uint32_t i = 0; i < model_label_count(c->topic); i++) {
			if (hits[c->lexicon[i]])
				c->probs[i] *= (float)exp(c->lexicon_weight * hits[c->lexicon[i]]);
			sum += c->probs[i];
		}
		best = 0;
		for (uint32_t i = 0; i < model_label_count(c->topic); i++) {
			c->probs[i] = (float)(c->probs[i] / sum);
			if (c->probs[i] > c->probs[best])
				best = i;
		}
	}
	out->topic = xstrdup(model_label(c->topic, best));
	out->topic_score = four_decimals(c->probs[best]);
	/* As plain values (classified.h): the labels are topic codes, static in taxonomy.c. */
	out->values.ntopics = model_label_count(c->topic);
	for (uint32_t i = 0; i < model_label_count(c->topic); i++) {
		out->values.topic[i] = taxonomy_topics[c->lexicon[i]];
		out->values.score[i] = four_decimals(c->probs[i]);
	}
	out->subtopic = xstrdup(taxonomy_subtopic(c->taxonomy, c->sub_hits, out->topic, NULL));

	struct feature_weight fw[TOP_FEATURES];
	out->values.nfeatures = features_explain(c->fz, c->both, &c->x, 2 + best, fw, TOP_FEATURES);
	for (size_t i = 0; i < out->values.nfeatures; i++) {
		memcpy(out->values.feature[i], fw[i].name, sizeof(fw[i].name));
		out->values.weight[i] = four_decimals((double)fw[i].weight);
	}

	struct place_result place;
	place_resolve_tokens(c->gazetteer, text, c->toks.items, c->toks.n, &community,
	                     m->has_coords, m->lat, m->lon, &place);
	out->municipality = xstrdup(place.municipality);
	out->municipality_method = xstrdup(place_method_name(place.method));
	out->municipality_confidence = four_decimals(place.confidence);
	out->municipality_ambiguous = place.ambiguous;
	if (place.nevidence)
		out->municipality_evidence = json_array();
	for (size_t i = 0; i < place.nevidence; i++)
		json_array_append_new(out->municipality_evidence, json_string(place.evidence[i]));
	if (place.ncandidates)
		out->municipality_candidates = json_array();
	for (size_t i = 0; i < place.ncandidates; i++)
		json_array_append_new(out->municipality_candidates,
		                      json_string(place.candidates[i].municipality));

	struct urgency_result urg;
	urgency_assess_tokens(c->urgency, c->toks.items, c->toks.n, &urg);
	out->urgency = xstrdup(urgency_level_name(urg.level));
	out->urgency_terms = string_array(urg.terms, urg.nterms);

	out->model_version = xstrdup(c->version);
	out->classified_at = time_now_ms();
	return 0;
}

/*
 * The record is written straight from r, member by member in the order classified_encode and
 * message_encode set them, rather than built as a jansson tree and walked: building the tree
 * cost as much as the writing. test_json_out.c holds the two to the same bytes.
 */

/* ,"key": then s as a string; nothing when s is NULL or, as json_string refuses it, not
 * valid UTF-8 (message_encode's put_string), which is not asked again of a string already
 * checked (a decoded message's: the text's check cost as much as writing it). */
static void write_checked(struct strbuf *b, const char *key, const char *s, bool checked)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (!checked && utf8_invalid_at(s, n) >= 0)
		return;
	strbuf_addstr(b, key);
	json_out_string(b, s, n);
}

static void write_string(struct strbuf *b, const char *key, const char *s)
{
	write_checked(b, key, s, false);
}

static void write_party(struct strbuf *b, const char *key, const char *id, const char *name,
                        bool checked)
{
	size_t start;

	if (!id && !name)
		return;
	strbuf_addstr(b, key);
	strbuf_addch(b, '{');
	start = b->len;
	write_checked(b, ",\"id\":", id, checked);
	write_checked(b, ",\"name\":", name, checked);
	/* The first member's comma dropped: the object opens with it. */
	if (b->len > start)
		memmove(b->buf + start, b->buf + start + 1, b->len-- - start);
	strbuf_addch(b, '}');
}

static void write_json(struct strbuf *b, const char *key, const json_t *v, const char *empty)
{
	strbuf_addstr(b, key);
	if (v)
		json_out(b, v);
	else
		strbuf_addstr(b, empty);
}

static void write_message(struct strbuf *b, const struct message *m)
{
	const bool ok = m->strings_checked;
	char at[32];

	strbuf_addstr(b, "{\"schema\":\"" MESSAGE_SCHEMA "\"");
	write_checked(b, ",\"id\":", m->id, ok);
	write_checked(b, ",\"source\":", m->source, ok);
	write_checked(b, ",\"external_id\":", m->external_id, ok);
	write_checked(b, ",\"kind\":", m->kind, ok);
	if (m->revision > 1)
		strbuf_addf(b, ",\"revision\":%lld", (long long)m->revision);
	write_checked(b, ",\"parent_id\":", m->parent_id, ok);
	write_checked(b, ",\"text\":", m->text, ok);
	rfc3339_format(m->posted_at, at);
	write_checked(b, ",\"posted_at\":", at, true);
	rfc3339_format(m->received_at, at);
	write_checked(b, ",\"received_at\":", at, true);
	write_checked(b, ",\"url\":", m->url, ok);
	write_party(b, ",\"author\":", m->author_id, m->author_name, ok);
	write_party(b, ",\"community\":", m->community_id, m->community_name, ok);
	if (m->address || m->has_coords) {
		size_t start;
		strbuf_addstr(b, ",\"location\":{");
		start = b->len;
		write_checked(b, ",\"address\":", m->address, ok);
		if (m->has_coords) {
			strbuf_addstr(b, ",\"lat\":");
			json_out_real(b, m->lat);
			strbuf_addstr(b, ",\"lon\":");
			json_out_real(b, m->lon);
		}
		if (b->len > start)
			memmove(b->buf + start, b->buf + start + 1, b->len-- - start);
		strbuf_addch(b, '}');
	}
	if (m->links)
		write_json(b, ",\"links\":", m->links, "");
	if (m->mentions)
		write_json(b, ",\"mentions\":", m->mentions, "");
	if (m->thread)
		write_json(b, ",\"thread\":", m->thread, "");
	strbuf_addch(b, '}');
}

static void write_bool(struct strbuf *b, const char *key, bool v)
{
	strbuf_addstr(b, key);
	strbuf_addstr(b, v ? "true" : "false");
}

static void write_real(struct strbuf *b, const char *key, double v)
{
	strbuf_addstr(b, key);
	json_out_real(b, v);
}

void classifier_write(struct strbuf *b, const struct classified *r)
{
	const struct classification *c = &r->c;
	char at[32];

	strbuf_addstr(b, "{\"schema\":\"" CLASSIFIED_SCHEMA "\",\"message\":");
	write_message(b, &r->message);
	write_bool(b, ",\"classification\":{\"incident\":", c->incident);
	write_real(b, ",\"incident_score\":", c->incident_score);
	write_string(b, ",\"topic\":", c->topic);
	write_real(b, ",\"topic_score\":", c->topic_score);
	write_string(b, ",\"subtopic\":", c->subtopic);
	if (c->scores) {
		write_json(b, ",\"scores\":", c->scores, "{}");
	} else {
		strbuf_addstr(b, ",\"scores\":{");
		for (size_t i = 0; i < c->values.ntopics; i++) {
			if (i)
				strbuf_addch(b, ',');
			json_out_string(b, c->values.topic[i], strlen(c->values.topic[i]));
			strbuf_addch(b, ':');
			json_out_real(b, c->values.score[i]);
		}
		strbuf_addch(b, '}');
	}
	if (c->municipality)
		write_string(b, ",\"municipality\":", c->municipality);
	else
		strbuf_addstr(b, ",\"municipality\":null");
	write_string(b, ",\"municipality_method\":",
	             c->municipality_method ? c->municipality_method : "none");
	write_real(b, ",\"municipality_confidence\":", c->municipality_confidence);
	write_bool(b, ",\"municipality_ambiguous\":", c->municipality_ambiguous);
	write_json(b, ",\"municipality_evidence\":", c->municipality_evidence, "[]");
	write_json(b, ",\"municipality_candidates\":", c->municipality_candidates, "[]");
	write_string(b, ",\"urgency\":", c->urgency);
	write_json(b, ",\"urgency_terms\":", c->urgency_terms, "[]");
	if (c->top_features) {
		write_json(b, ",\"top_features\":", c->top_features, "[]");
	} else {
		strbuf_addstr(b, ",\"top_features\":[");
		for (size_t i = 0; i < c->values.nfeatures; i++) {
			size_t start;
			strbuf_addstr(b, i ? ",{" : "{");
			start = b->len;
			write_string(b, ",\"feature\":", c->values.feature[i]);
			write_real(b, ",\"weight\":", c->values.weight[i]);
			/* The first member's comma dropped: the object opens with it. */
			memmove(b->buf + start, b->buf + start + 1, b->len-- - start);
			strbuf_addch(b, '}');
		}
		strbuf_addch(b, ']');
	}
	write_string(b, ",\"model_version\":", c->model_version);
	rfc3339_format(c->classified_at, at);
	write_checked(b, ",\"classified_at\":", at, true);
	strbuf_addstr(b, "}}");
}

char *classifier_encode(const struct classified *r)
{
	struct strbuf b = {0};

	classifier_write(&b, r);
	return strbuf_detach(&b);
}
