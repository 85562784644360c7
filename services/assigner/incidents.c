/* incidents: the shared writes of an incident's change — row, audit, event (see incidents.h). */
#include "incidents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "region.h"
#include "timefmt.h"
#include "workcal.h"
#include "xalloc.h"

#define MAX_EVENT_REPORTS 100

const char *incidents_time(int64_t ms, char buf[32])
{
	if (!ms)
		return NULL;
	rfc3339_format(ms, buf);
	return buf;
}

const char *row_str(const json_t *row, const char *column)
{
	return json_string_value(json_object_get(row, column));
}

int64_t row_int(const json_t *row, const char *column)
{
	return (int64_t)json_integer_value(json_object_get(row, column));
}

bool row_bool(const json_t *row, const char *column)
{
	return json_is_true(json_object_get(row, column));
}

int64_t row_time(const json_t *row, const char *column)
{
	int64_t ms;
	const char *s = row_str(row, column);
	return s && rfc3339_parse(s, &ms) == 0 ? ms : 0;
}

/* Parses the one-row, one-column JSON text result of res into *row. */
static int json_result(PGresult *res, json_t **row, char *err, size_t errlen)
{
	json_error_t je;
	*row = json_loads(PQgetvalue(res, 0, 0), 0, &je);
	if (!*row) {
		snprintf(err, errlen, "incident row is not JSON: %s", je.text);
		return -1;
	}
	return 0;
}

int incidents_load(struct db *db, int64_t id, bool lock, json_t **row, char *err, size_t errlen)
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	const char *p[] = {ids};
	PGresult *res = db_exec(db,
	                        lock ? "SELECT to_jsonb(i)::text FROM assigner.incidents i"
	                               " WHERE id = $1 FOR UPDATE"
	                             : "SELECT to_jsonb(i)::text FROM assigner.incidents i"
	                               " WHERE id = $1",
	                        1, p, err, errlen);
	*row = NULL;
	if (!res)
		return -1;
	int rc = 0;
	if (PQntuples(res) == 1)
		rc = json_result(res, row, err, errlen) < 0 ? -1 : 1;
	PQclear(res);
	return rc;
}

int incidents_reload(struct db *db, json_t **row, char *err, size_t errlen)
{
	json_t *fresh;
	int rc = incidents_load(db, row_int(*row, "id"), false, &fresh, err, errlen);
	if (rc <= 0) {
		if (rc == 0)
			snprintf(err, errlen, "incident %lld vanished",
			         (long long)row_int(*row, "id"));
		return -1;
	}
	json_decref(*row);
	*row = fresh;
	return 0;
}

/* Runs a statement whose one parameter is the JSON document rows. */
static int run_rows(struct db *db, const char *sql, const json_t *rows, char *err, size_t errlen)
{
	char *a = json_dumps(rows, JSON_COMPACT);
	const char *p[] = {a};
	int rc = db_run(db, sql, 1, p, err, errlen);
	free(a);
	return rc;
}

int incidents_audit_rows(struct db *db, const json_t *rows, char *err, size_t errlen)
{
	return run_rows(db,
	                "INSERT INTO assigner.audit (incident_id, at, actor, action, details)"
	                " SELECT r.incident_id, r.at, r.actor, r.action,"
	                "  coalesce(r.details, '{}')"
	                " FROM jsonb_populate_recordset(NULL::assigner.audit, $1::jsonb)"
	                "  WITH ORDINALITY r ORDER BY r.ordinality",
	                rows, err, errlen);
}

int incidents_audit(struct db *db, int64_t id, int64_t at, const char *actor, const char *action,
                    json_t *details, char *err, size_t errlen)
{
	char when[32];
	rfc3339_format(at, when);
	json_t *rows = json_pack("[{s:I, s:s, s:s, s:s, s:o}]", "incident_id", (json_int_t)id, "at",
	                         when, "actor", actor, "action", action, "details",
	                         details ? details : json_object());
	int rc = incidents_audit_rows(db, rows, err, errlen);
	json_decref(rows);
	return rc;
}

/* Copies a time column into the snapshot as RFC 3339 UTC (as the schema writes times). */
static void snap_time(json_t *snap, const json_t *row, const char *column)
{
	char buf[32];
	const char *t = incidents_time(row_time(row, column), buf);
	if (t)
		json_object_set_new(snap, column, json_string(t));
}

static void snap_copy(json_t *snap, const json_t *row, const char *column)
{
	json_t *v = json_object_get(row, column);
	if (v && !json_is_null(v))
		json_object_set(snap, column, v);
}

/* The incident as incident_event.v1's "incident" member shows it. */
static json_t *snapshot(const struct action_env *env, const json_t *row)
{
	static const char *const copied[] = {
	        "id",        "status",      "topic",   "subtopic",     "municipality",
	        "urgency",   "summary",     "address", "reports",      "affected",
	        "overdue",   "escalated",   "rule_id", "authority_id", "moderation_reason",
	        "satisfied", "escalated_to"};
	static const char *const times[] = {"opened_at",         "first_answer_due",
	                                    "final_answer_due",  "first_answered_at",
	                                    "final_answered_at", "resolved_at"};
	json_t *snap = json_object();
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		snap_copy(snap, row, copied[i]);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		snap_time(snap, row, times[i]);
	const struct region_municipality *m =
	        row_str(row, "municipality")
	                ? region_municipality(env->region, row_str(row, "municipality"))
	                : NULL;
	if (m)
		json_object_set_new(snap, "municipality_name", json_string(m->short_name));
	if (env->public_url && env->public_url[0])
		json_object_set_new(snap, "url",
		                    json_sprintf("%s/v1/incidents/%lld", env->public_url,
		                                 (long long)row_int(row, "id")));
	return snap;
}

/* The incident's reports as the event lists them (oldest first, at most 100). */
static json_t *event_reports(struct db *db, int64_t id, char *err, size_t errlen)
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	const char *p[] = {ids};
	PGresult *res = db_exec(
	        db,
	        "SELECT coalesce(json_agg(json_strip_nulls(json_build_object('message_id', "
	        "message_id,"
	        " 'source', source, 'external_id', external_id, 'url', url, 'thread', thread))"
	        " ORDER BY posted_at, message_id), '[]')::text"
	        " FROM (SELECT * FROM assigner.reports WHERE incident_id = $1"
	        "       ORDER BY posted_at, message_id LIMIT 100) r",
	        1, p, err, errlen);
	if (!res)
		return NULL;
	json_t *reports = NULL;
	json_result(res, &reports, err, errlen);
	PQclear(res);
	return reports;
}

json_t *incidents_event(const struct action_env *env, enum incident_event_type type, int64_t at,
                        const json_t *row, const struct incidents_event_extra *x, json_t *reports)
{
	static const struct incidents_event_extra none = {0};
	if (!x)
		x = &none;
	const char *aid = row_str(row, "authority_id");
	struct incident_event ev = {
	        .event_id = "assigner:0", /* replaced by the outbox row's id when queued */
	        .type = type,
	        .incident_id = row_int(row, "id"),
	        .occurred_at = at,
	        .incident = snapshot(env, row),
	        .authority = aid ? region_authority_json(region_authority(env->region, aid)) : NULL,
	        .previous_authority = x->previous ? region_authority_json(x->previous) : NULL,
	        .parent_authority = x->parent ? region_authority_json(x->parent) : NULL,
	        .answer = x->answer,
	        .feedback = x->feedback,
	        .reports = reports,
	};
	json_t *obj = incident_event_encode(&ev);
	json_decref(ev.incident);
	json_decref(ev.authority);
	json_decref(ev.previous_authority);
	json_decref(ev.parent_authority);
	return obj;
}

int incidents_queue(struct db *db, const json_t *rows, char *err, size_t errlen)
{
	/* nextval in array order: one incident's events keep their order in the outbox. */
	return run_rows(db,
	                "INSERT INTO assigner.outbox (id, incident_id, type, event, created_at)"
	                " SELECT n.id, n.incident_id, n.type,"
	                "  jsonb_set(n.event, '{event_id}', to_jsonb('assigner:' || n.id)),"
	                "  n.created_at"
	                " FROM (SELECT nextval('assigner.outbox_id_seq') AS id, r.incident_id,"
	                "        r.type, r.event, r.created_at, r.ordinality"
	                "       FROM jsonb_populate_recordset(NULL::assigner.outbox, $1::jsonb)"
	                "        WITH ORDINALITY r ORDER BY r.ordinality) n"
	                " ORDER BY n.ordinality",
	                rows, err, errlen);
}

int incidents_emit(struct db *db, const struct action_env *env, enum incident_event_type type,
                   int64_t at, const json_t *row, const struct incidents_event_extra *x, char *err,
                   size_t errlen)
{
	json_t *reports = event_reports(db, row_int(row, "id"), err, errlen);
	if (!reports)
		return -1;
	char when[32];
	rfc3339_format(at, when);
	json_t *rows =
	        json_pack("[{s:I, s:s, s:o, s:s}]", "incident_id", (json_int_t)row_int(row, "id"),
	                  "type", incident_event_type_name(type), "event",
	                  incidents_event(env, type, at, row, x, reports), "created_at", when);
	int rc = incidents_queue(db, rows, err, errlen);
	json_decref(rows);
	json_decref(reports);
	return rc;
}

void incidents_deadlines(const struct region *region, const char *urgency, int64_t start,
                         int64_t *first, int64_t *final, int64_t *reminder)
{
	const struct region_deadline *d = region_deadline(region, urgency);
	const struct workcal *cal = region_calendar(region);
	int64_t before = (int64_t)((double)d->first_answer_ms * d->reminder_share);
	if (d->first_answer_working) {
		*first = workcal_add_working(cal, start, d->first_answer_ms);
		*reminder = workcal_add_working(cal, start, before);
	} else {
		*first = start + d->first_answer_ms;
		*reminder = start + before;
	}
	*final = workcal_add_working_days(cal, start, d->final_answer_days);
}

int incidents_assign(struct db *db, const struct action_env *env, json_t **row,
                     const char *authority, const char *rule_id, int64_t now, const char *actor,
                     json_t *evidence, char *err, size_t errlen)
{
	int64_t start = row_time(*row, "assigned_at");
	int64_t first = row_time(*row, "first_answer_due");
	int64_t final = row_time(*row, "final_answer_due");
	int64_t reminder = row_time(*row, "reminder_at");
	if (!start) { /* the clock starts now; a running one is kept */
		start = now;
		incidents_deadlines(env->region, row_str(*row, "urgency"), start, &first, &final,
		                    &reminder);
	}
	char ids[24], t_now[32], t_start[32], t_first[32], t_final[32], t_rem[32];
	snprintf(ids, sizeof(ids), "%lld", (long long)row_int(*row, "id"));
	const char *p[] = {ids,
	                   authority,
	                   rule_id,
	                   incidents_time(now, t_now),
	                   incidents_time(start, t_start),
	                   incidents_time(first, t_first),
	                   incidents_time(final, t_final),
	                   incidents_time(reminder, t_rem)};
	if (db_run(db,
	           "UPDATE assigner.incidents SET status = 'assigned', authority_id = $2,"
	           " rule_id = $3, moderation_reason = NULL, updated_at = $4, assigned_at = $5,"
	           " first_answer_due = $6, final_answer_due = $7, reminder_at = $8 WHERE id = $1",
	           8, p, err, errlen) < 0 ||
	    incidents_reload(db, row, err, errlen) < 0) {
		json_decref(evidence);
		return -1;
	}
	json_t *details =
	        json_pack("{s:s, s:s, s:s?, s:s?}", "authority", authority, "rule_id", rule_id,
	                  "first_answer_due", t_first, "final_answer_due", t_final);
	if (evidence)
		json_object_set_new(details, "evidence", evidence);
	if (incidents_audit(db, row_int(*row, "id"), now, actor, "assigned", details, err, errlen) <
	    0)
		return -1;
	return incidents_emit(db, env, INCIDENT_ASSIGNED, now, *row, NULL, err, errlen);
}
