/* scheduler: reminders, overdue marks and escalations (see scheduler.h). */
#include "scheduler.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "incidents.h"
#include "region.h"
#include "timefmt.h"

static const char *const actor = "scheduler";

/* The ids a query selects ($1 = now, $2 = limit); NULL with err. */
static PGresult *due(struct db *db, const char *sql, int64_t now, int batch, char *err,
                     size_t errlen)
{
	char when[32], lim[16];
	rfc3339_format(now, when);
	snprintf(lim, sizeof(lim), "%d", batch);
	const char *p[] = {when, lim};
	return db_exec(db, sql, 2, p, err, errlen);
}

/* Sets columns of one incident ($1 = id, $2 = now, $3 = extra) and returns its new row. */
static json_t *set(struct db *db, int64_t id, int64_t now, const char *sql, const char *extra,
                   char *err, size_t errlen)
{
	char ids[24], when[32];
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	rfc3339_format(now, when);
	const char *p[] = {ids, when, extra};
	json_t *row = NULL;
	if (db_run(db, sql, extra ? 3 : 2, p, err, errlen) < 0 ||
	    incidents_load(db, id, false, &row, err, errlen) != 1) {
		json_decref(row);
		return NULL;
	}
	return row;
}

static int remind(struct db *db, const struct action_env *env, int64_t id, int64_t now, char *err,
                  size_t errlen)
{
	json_t *row = set(db, id, now,
	                  "UPDATE assigner.incidents SET reminder_sent_at = $2 WHERE id = $1", NULL,
	                  err, errlen);
	if (!row)
		return -1;
	int rc =
	        incidents_audit(db, id, now, actor, "reminder",
	                        json_pack("{s:s?, s:s?}", "authority", row_str(row, "authority_id"),
	                                  "first_answer_due", row_str(row, "first_answer_due")),
	                        err, errlen);
	if (rc == 0)
		rc = incidents_emit(db, env, INCIDENT_REMINDER, now, row, NULL, err, errlen);
	json_decref(row);
	return rc;
}

/* Marks one incident overdue and escalates it to its authority's parent. */
static int overdue(struct db *db, const struct action_env *env, int64_t id, int64_t now,
                   struct scheduler_counts *c, char *err, size_t errlen)
{
	const struct region_authority *a = NULL, *parent = NULL;
	json_t *row = set(db, id, now,
	                  "UPDATE assigner.incidents SET overdue = true, overdue_at = $2,"
	                  " updated_at = $2 WHERE id = $1",
	                  NULL, err, errlen);
	if (!row)
		return -1;
	if (row_str(row, "authority_id"))
		a = region_authority(env->region, row_str(row, "authority_id"));
	if (a && a->parent)
		parent = region_authority(env->region, a->parent);
	bool first = !row_str(row, "first_answered_at");
	struct incidents_event_extra x = {.parent = parent};
	int rc = incidents_audit(
	        db, id, now, actor, "overdue",
	        json_pack("{s:s, s:s?, s:s?}", "deadline", first ? "first_answer" : "final_answer",
	                  "due", row_str(row, first ? "first_answer_due" : "final_answer_due"),
	                  "authority", a ? a->id : NULL),
	        err, errlen);
	if (rc == 0)
		rc = incidents_emit(db, env, INCIDENT_OVERDUE, now, row, &x, err, errlen);
	if (rc == 0)
		c->overdue++;
	if (rc == 0 && !parent) {
		rc = incidents_audit(db, id, now, actor, "escalation_skipped",
		                     json_pack("{s:s?, s:s}", "authority", a ? a->id : NULL,
		                               "reason", "no parent authority to escalate to"),
		                     err, errlen);
	} else if (rc == 0) {
		json_decref(row);
		row = set(db, id, now,
		          "UPDATE assigner.incidents SET escalated = true, escalated_to = $3,"
		          " escalated_at = $2, updated_at = $2 WHERE id = $1",
		          parent->id, err, errlen);
		rc = row ? incidents_audit(db, id, now, actor, "escalated",
		                           json_pack("{s:s, s:s}", "from", a->id, "to", parent->id),
		                           err, errlen)
		         : -1;
		if (rc == 0)
			rc = incidents_emit(db, env, INCIDENT_ESCALATED, now, row, &x, err, errlen);
		if (rc == 0)
			c->escalated++;
	}
	json_decref(row);
	return rc;
}

int scheduler_round(struct db *db, const struct action_env *env, int64_t now, int batch,
                    struct scheduler_counts *c, char *err, size_t errlen)
{
	struct scheduler_counts round = {0};
	if (db_begin(db, err, errlen) < 0)
		return -1;
	PGresult *res = due(db,
	                    "SELECT id FROM assigner.incidents WHERE status = 'assigned'"
	                    " AND first_answered_at IS NULL AND reminder_sent_at IS NULL"
	                    " AND NOT overdue AND reminder_at <= $1 AND first_answer_due > $1"
	                    " ORDER BY reminder_at LIMIT $2 FOR UPDATE SKIP LOCKED",
	                    now, batch, err, errlen);
	int rc = res ? 0 : -1;
	for (int i = 0; res && rc == 0 && i < PQntuples(res); i++) {
		rc = remind(db, env, strtoll(PQgetvalue(res, i, 0), NULL, 10), now, err, errlen);
		round.reminders += rc == 0;
	}
	PQclear(res);
	res = rc < 0 ? NULL
	             : due(db,
	                   "SELECT id FROM assigner.incidents WHERE NOT overdue AND"
	                   " ((status = 'assigned' AND first_answered_at IS NULL"
	                   "   AND first_answer_due <= $1)"
	                   "  OR (status IN ('assigned', 'responded') AND final_answered_at IS NULL"
	                   "   AND final_answer_due <= $1))"
	                   " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
	                   now, batch, err, errlen);
	if (rc == 0 && !res)
		rc = -1;
	for (int i = 0; res && rc == 0 && i < PQntuples(res); i++)
		rc = overdue(db, env, strtoll(PQgetvalue(res, i, 0), NULL, 10), now, &round, err,
		             errlen);
	PQclear(res);
	if (rc == 0 && db_commit(db, err, errlen) == 0) {
		c->reminders += round.reminders;
		c->overdue += round.overdue;
		c->escalated += round.escalated;
		return 0;
	}
	db_rollback(db);
	return -1;
}
