/*
 * incidents: the writes every path that changes an incident shares — the intake (new reports),
 * the operator actions (actions.h) and the scheduler — so an incident changes the same way
 * whoever changes it: the row, one audit row saying why, and one outbox row carrying the
 * incident_event.v1 record (event_id "assigner:<outbox id>", published by outbox.h).
 *
 * An incident is read as its row in JSON (to_jsonb: every column by name, times as ISO 8601
 * text), which the event's "incident" snapshot is made from. All functions run inside the
 * caller's transaction and return 0 or -1 with err.
 */
#ifndef ASSIGNER_INCIDENTS_H
#define ASSIGNER_INCIDENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actions.h"
#include "incident_event.h"

struct db;
struct region_authority;

/*
 * The incident's row, locked FOR UPDATE when `lock`. Returns 1 and sets *row (caller owns),
 * 0 when there is no such incident, -1 with err.
 */
int incidents_load(struct db *db, int64_t id, bool lock, json_t **row, char *err, size_t errlen);

/* Row accessors: NULL / 0 / false when the column is NULL or absent. */
const char *row_str(const json_t *row, const char *column);
int64_t row_int(const json_t *row, const char *column);
bool row_bool(const json_t *row, const char *column);
int64_t row_time(const json_t *row, const char *column); /* ms since the epoch, 0 when NULL */

/* Appends an audit row; details is stolen (NULL for {}). */
int incidents_audit(struct db *db, int64_t id, int64_t at, const char *actor, const char *action,
                    json_t *details, char *err, size_t errlen);

/* What an event carries besides the incident and its current authority. All borrowed, NULL
 * for none. */
struct incidents_event_extra {
	const struct region_authority *previous; /* reassigned */
	const struct region_authority *parent;   /* overdue, escalated */
	json_t *answer;                          /* responded */
	json_t *feedback;                        /* feedback */
};

/*
 * Appends audit rows in one statement, in array order: rows is an array of objects
 * {incident_id, at, actor, action, details} (times RFC 3339), borrowed.
 */
int incidents_audit_rows(struct db *db, const json_t *rows, char *err, size_t errlen);

/* The incident_event.v1 record of an event about the incident as `row` shows it, with
 * `reports` (borrowed: the event's list of the incident's reports); its event_id is set when
 * it is queued. Caller frees. */
json_t *incidents_event(const struct action_env *env, enum incident_event_type type, int64_t at,
                        const json_t *row, const struct incidents_event_extra *x, json_t *reports);

/*
 * Queues events in one statement, in array order: rows is an array of objects
 * {incident_id, type, event, created_at}, borrowed; each event's event_id becomes
 * "assigner:<its outbox id>".
 */
int incidents_queue(struct db *db, const json_t *rows, char *err, size_t errlen);

/* Queues an event of `type` about the incident as `row` shows it (with its reports and its
 * authority from the region pack). x may be NULL. */
int incidents_emit(struct db *db, const struct action_env *env, enum incident_event_type type,
                   int64_t at, const json_t *row, const struct incidents_event_extra *x, char *err,
                   size_t errlen);

/* The deadlines of a clock started at `start` for an urgency, by the region's policy and
 * calendar: first answer, final answer, and the reminder point. */
void incidents_deadlines(const struct region *region, const char *urgency, int64_t start,
                         int64_t *first, int64_t *final, int64_t *reminder);

/*
 * Assigns the incident to `authority` as routing decided (rule_id names the rule or fallback):
 * status assigned, the clock started now unless it already runs, audit "assigned" with the
 * rule and `evidence` (stolen; may be NULL), event incident.assigned. *row is replaced by
 * the updated row.
 */
int incidents_assign(struct db *db, const struct action_env *env, json_t **row,
                     const char *authority, const char *rule_id, int64_t now, const char *actor,
                     json_t *evidence, char *err, size_t errlen);

/* Re-reads *row after an UPDATE (replacing it). */
int incidents_reload(struct db *db, json_t **row, char *err, size_t errlen);

/* Formats ms as RFC 3339 into buf (32 bytes) and returns buf, or NULL for 0. */
const char *incidents_time(int64_t ms, char buf[32]);

#endif
