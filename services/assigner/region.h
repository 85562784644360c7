/*
 * region: the region pack the assigner works from — municipalities (the same
 * municipalities.json the classifier's gazetteer reads: one source of truth), authorities with
 * their parents and notification channels, routing rules, deadline policies and the working
 * calendar. Loaded once at start from a directory (deploy/regions/<name>/, installed into
 * <bin>/../share/regions/<name>/) and validated as a whole: every problem found is reported,
 * each naming the file and member. Adding a region is adding a directory; the file formats are
 * in deploy/regions/README.md.
 *
 * Routing: rules map topic (optionally sub-topic) × municipality (optionally "*") to an
 * authority, each rule with an id. The most specific matching rule wins (sub-topic before
 * topic, a named municipality before "*"; "*" also matches an unresolved or unknown
 * municipality). With no rule: the topic's regional ministry
 * (the authority named in routing.json "topic_owners") when the municipality is unknown, else
 * the municipality's administration, else the centre's duty desk. Every route says which rule
 * or fallback produced it, for the incident's audit trail.
 *
 * Immutable after region_load; may be shared across threads. Returned pointers are borrowed
 * from the region and live as long as it.
 */
#ifndef ASSIGNER_REGION_H
#define ASSIGNER_REGION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "workcal.h"

struct region;

struct region_authority {
	const char *id;
	const char *name;
	/* "duty_desk", "government", "ministry", "committee", "agency", "administration",
	 * "department", "operator", "utility" */
	const char *kind;
	const char *parent; /* authority id for escalation, NULL at the top (the duty desk) */
	/* Non-empty array of {"type":"email","address"}, {"type":"telegram","chat_id"} (a string:
	 * "-100..." or "@name"), {"type":"webhook","url"} */
	const json_t *channels;
};

struct region_municipality {
	const char *id;             /* "abakan" */
	const char *name;           /* "город Абакан" */
	const char *short_name;     /* "Абакан" */
	const char *administration; /* authority id of its administration */
};

struct region_route {
	const struct region_authority *authority;
	const char *rule_id; /* the matching rule's id, or "fallback:administration",
	                      * "fallback:topic_owner", "fallback:duty_desk" */
};

/* A deadline policy for one urgency ("high", "normal"). */
struct region_deadline {
	int64_t first_answer_ms;   /* time to the first answer */
	bool first_answer_working; /* counted in working time (else calendar time) */
	int final_answer_days;     /* working days to the final answer */
	double reminder_share;     /* remind when this share of the first-answer time has passed */
};

/* Loads and validates the pack in `dir`. NULL with every problem in err ("authorities.json:
 * authorities[4].parent: unknown authority \"minzdrav\""; problems separated by "; "). */
struct region *region_load(const char *dir, char *err, size_t errlen);
void region_free(struct region *r);

const char *region_name(const struct region *r); /* "Республика Хакасия" */

/* Lookups by id; NULL when unknown. */
const struct region_authority *region_authority(const struct region *r, const char *id);
const struct region_municipality *region_municipality(const struct region *r, const char *id);

/* All of them, in file order (for listings, Open311 and statistics). */
size_t region_authority_count(const struct region *r);
const struct region_authority *region_authority_at(const struct region *r, size_t i);
size_t region_municipality_count(const struct region *r);
const struct region_municipality *region_municipality_at(const struct region *r, size_t i);

/* Routes an incident. topic is required; subtopic and municipality may be NULL (unresolved).
 * Always succeeds (the duty desk is the last fallback, and the pack must have one). */
struct region_route region_route(const struct region *r, const char *topic, const char *subtopic,
                                 const char *municipality);

/* The deadline policy for an urgency; unknown urgencies get "normal"'s. */
const struct region_deadline *region_deadline(const struct region *r, const char *urgency);

/* The working calendar (borrowed). */
const struct workcal *region_calendar(const struct region *r);

/* The authority as incident_event.v1 writes it: {"id","name","parent","channels"}. Caller owns
 * the reference; NULL a gives JSON null. */
json_t *region_authority_json(const struct region_authority *a);

#endif
