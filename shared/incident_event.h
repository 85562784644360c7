/*
 * incident_event: the incident_event.v1 record, one change in an incident's life as the
 * assigner publishes it on incidents.events (key: the incident id as decimal text, so one
 * incident's events keep their order). The JSON shape is documented in
 * shared/schemas/incident_event.v1.md; this module is its one encoder and its one
 * decoder/validator.
 *
 * The typed members are what every consumer routes on; the nested parts (the incident's
 * snapshot, authorities, answer, feedback, reports) stay JSON objects, validated on decode for
 * the members the schema requires, and passed through as they are otherwise.
 */
#ifndef SHARED_INCIDENT_EVENT_H
#define SHARED_INCIDENT_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fields.h"

#define INCIDENT_EVENT_SCHEMA "incident_event.v1"

/* The event types, "incident.<name>". */
enum incident_event_type {
	INCIDENT_CREATED,
	INCIDENT_ASSIGNED,
	INCIDENT_REASSIGNED,
	INCIDENT_REMINDER,
	INCIDENT_OVERDUE,
	INCIDENT_ESCALATED,
	INCIDENT_RESPONDED,
	INCIDENT_RESOLVED,
	INCIDENT_REJECTED,
	INCIDENT_REOPENED,
	INCIDENT_FEEDBACK,
	INCIDENT_EVENT_TYPES /* count */
};

struct incident_event {
	char *event_id; /* unique, stable across replays */
	enum incident_event_type type;
	int64_t incident_id;
	int64_t occurred_at;        /* ms since the epoch, UTC */
	json_t *incident;           /* object: the incident after the change (required) */
	json_t *authority;          /* object or NULL: responsible authority */
	json_t *previous_authority; /* object or NULL (reassigned) */
	json_t *parent_authority;   /* object or NULL (overdue, escalated) */
	json_t *answer;             /* object or NULL (responded) */
	json_t *feedback;           /* object or NULL (feedback) */
	json_t *reports;            /* array (possibly empty), never NULL after decode */
};

/* "incident.assigned" for INCIDENT_ASSIGNED; NULL for an out-of-range value. Static string. */
const char *incident_event_type_name(enum incident_event_type t);

/* The type for a name ("incident.assigned"), or -1 when it is not one. */
int incident_event_type_parse(const char *name);

/* New incident_event.v1 object (caller owns the reference). JSON members of ev are copied;
 * NULL ones are written as null (reports as []). */
json_t *incident_event_encode(const struct incident_event *ev);

/* Validates and decodes; on error returns -1 with e naming the field ("incident.status",
 * "authority.channels[1].address") and leaves ev cleared. JSON members are owned by ev. */
int incident_event_decode(const json_t *obj, struct incident_event *ev, struct field_error *e);
int incident_event_decode_bytes(const void *data, size_t len, struct incident_event *ev,
                                struct field_error *e);

/* The Kafka key: the incident id as decimal text. Caller frees. */
char *incident_event_key(const struct incident_event *ev);

/* Frees ev's contents and zeroes it. */
void incident_event_clear(struct incident_event *ev);

#endif
