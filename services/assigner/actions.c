/* actions: the operator's transitions of an incident, one transaction each (see actions.h). */
#include "actions.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "incidents.h"
#include "region.h"
#include "timefmt.h"
#include "utf8.h"
#include "workcal.h"
#include "xalloc.h"

#define MAX_TEXT_CHARS 4000

/* One action in progress: the connection, the locked row, the outcome. */
struct act {
	struct db *db;
	const struct action_env *env;
	const struct action_actor *actor;
	struct action_error *e;
	json_t *row;
	int64_t id;
	int64_t now;
	char err[512];
};

static enum action_status set_error(struct action_error *e, enum action_status st,
                                    const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static enum action_status set_error(struct action_error *e, enum action_status st,
                                    const char *field, const char *fmt, ...)
{
	e->status = st;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return st;
}

/* A text argument: optional or required, at most MAX_TEXT_CHARS characters. */
static bool text_ok(struct action_error *e, const char *field, const char *s, bool required)
{
	if (!s || !s[0]) {
		if (required)
			set_error(e, ACTION_BAD_ARGUMENT, field, "is required");
		return !required;
	}
	size_t len = strlen(s);
	if (utf8_invalid_at(s, len) >= 0) {
		set_error(e, ACTION_BAD_ARGUMENT, field, "is not valid UTF-8");
		return false;
	}
	if (utf8_length(s, len) > MAX_TEXT_CHARS) {
		set_error(e, ACTION_BAD_ARGUMENT, field, "is longer than %d characters",
		          MAX_TEXT_CHARS);
		return false;
	}
	return true;
}

/* Ends the action: commits when st is ACTION_OK and the steps succeeded, else rolls back. */
static enum action_status act_end(struct act *a, enum action_status st, int steps)
{
	if (st == ACTION_OK && steps == 0 && db_commit(a->db, a->err, sizeof(a->err)) == 0)
		st = set_error(a->e, ACTION_OK, NULL, "ok");
	else if (st == ACTION_OK)
		st = set_error(a->e, ACTION_ERROR, NULL, "%s", a->err);
	if (st != ACTION_OK)
		db_rollback(a->db);
	json_decref(a->row);
	a->row = NULL;
	return st;
}

static const char *status_of(const struct act *a)
{
	return row_str(a->row, "status");
}

static bool status_in(const struct act *a, const char *s1, const char *s2)
{
	const char *s = status_of(a);
	return !strcmp(s, s1) || (s2 && !strcmp(s, s2));
}

/*
 * Checks the actor, starts the transaction, locks the incident and checks that the action is
 * allowed in its status (s1 or s2; s2 may be NULL). ACTION_OK, or the outcome to return (all
 * done: rolled back, e filled).
 */
static enum action_status act_begin(struct act *a, const char *action, const char *s1,
                                    const char *s2)
{
	if (!a->actor || !a->actor->name || !a->actor->name[0])
		return set_error(a->e, ACTION_BAD_ARGUMENT, "actor", "is required");
	a->now = time_now_ms();
	if (db_begin(a->db, a->err, sizeof(a->err)) < 0)
		return set_error(a->e, ACTION_ERROR, NULL, "%s", a->err);
	int rc = incidents_load(a->db, a->id, true, &a->row, a->err, sizeof(a->err));
	if (rc < 0)
		return act_end(a, set_error(a->e, ACTION_ERROR, NULL, "%s", a->err), 0);
	const char *aid = rc ? row_str(a->row, "authority_id") : NULL;
	if (rc == 0 || (a->actor->authority && (!aid || strcmp(aid, a->actor->authority))))
		return act_end(a,
		               set_error(a->e, ACTION_NOT_FOUND, NULL, "no incident %lld",
		                         (long long)a->id),
		               0);
	if (status_in(a, s1, s2))
		return ACTION_OK;
	const char *s = status_of(a);
	const char *hint = !strcmp(s, "moderation") ? ": moderate it first"
	                   : !strcmp(s, "resolved") || !strcmp(s, "rejected") ? ": reopen it first"
	                                                                      : "";
	return act_end(a,
	               set_error(a->e, ACTION_CONFLICT, NULL,
	                         "incident %lld is %s%s; %s needs status %s%s%s", (long long)a->id,
	                         s, hint, action, s1, s2 ? " or " : "", s2 ? s2 : ""),
	               0);
}

/* Runs an UPDATE of the locked incident ($1 = id, $2 = now, then params) and re-reads it. */
static int update(struct act *a, const char *sql, int n, const char *const *params)
{
	char ids[24], now[32];
	const char *p[8];
	snprintf(ids, sizeof(ids), "%lld", (long long)a->id);
	p[0] = ids;
	p[1] = incidents_time(a->now, now);
	for (int i = 0; i < n && i < 6; i++)
		p[i + 2] = params[i];
	if (db_run(a->db, sql, n + 2, p, a->err, sizeof(a->err)) < 0)
		return -1;
	return incidents_reload(a->db, &a->row, a->err, sizeof(a->err));
}

/* The audit row and the event of the action. details is stolen. */
static int record(struct act *a, const char *action, json_t *details, enum incident_event_type type,
                  const struct incidents_event_extra *x)
{
	if (incidents_audit(a->db, a->id, a->now, a->actor->name, action, details, a->err,
	                    sizeof(a->err)) < 0)
		return -1;
	return incidents_emit(a->db, a->env, type, a->now, a->row, x, a->err, sizeof(a->err));
}

enum action_status action_moderate(struct db *db, const struct action_env *env, int64_t id,
                                   const struct action_moderation *m,
                                   const struct action_actor *actor, struct action_error *e)
{
	bool confirm = m->decision && !strcmp(m->decision, "confirm");
	if (!confirm && !(m->decision && !strcmp(m->decision, "reject")))
		return set_error(e, ACTION_BAD_ARGUMENT, "decision",
		                 m->decision ? "must be \"confirm\" or \"reject\"" : "is required");
	if (m->municipality && !region_municipality(env->region, m->municipality))
		return set_error(e, ACTION_BAD_ARGUMENT, "municipality",
		                 "is not a municipality of the region");
	if (m->authority && !region_authority(env->region, m->authority))
		return set_error(e, ACTION_BAD_ARGUMENT, "authority",
		                 "is not an authority of the region");
	if (!text_ok(e, "comment", m->comment, false))
		return e->status;

	struct act a = {db, env, actor, e, NULL, id, 0, ""};
	enum action_status st = act_begin(&a, "moderate", "moderation", NULL);
	if (st != ACTION_OK)
		return st;
	json_t *details =
	        json_pack("{s:s, s:s?, s:s?, s:s?}", "decision", m->decision, "comment", m->comment,
	                  "municipality", m->municipality, "authority", m->authority);
	if (!confirm) {
		int rc = update(&a,
		                "UPDATE assigner.incidents SET status = 'rejected', updated_at = $2"
		                " WHERE id = $1",
		                0, NULL);
		if (rc == 0)
			rc = record(&a, "moderated", details, INCIDENT_REJECTED, NULL);
		else
			json_decref(details);
		return act_end(&a, ACTION_OK, rc);
	}
	const char *p[] = {m->municipality};
	int rc = m->municipality ? update(&a,
	                                  "UPDATE assigner.incidents SET municipality = $3,"
	                                  " updated_at = $2 WHERE id = $1",
	                                  1, p)
	                         : 0;
	if (rc == 0)
		rc = incidents_audit(db, id, a.now, actor->name, "moderated", details, a.err,
		                     sizeof(a.err));
	else
		json_decref(details);
	if (rc == 0) {
		struct region_route r = {0};
		if (m->authority)
			r = (struct region_route){region_authority(env->region, m->authority),
			                          "manual"};
		else
			r = region_route(env->region, row_str(a.row, "topic"),
			                 row_str(a.row, "subtopic"),
			                 row_str(a.row, "municipality"));
		rc = incidents_assign(db, env, &a.row, r.authority->id, r.rule_id, a.now,
		                      actor->name, NULL, a.err, sizeof(a.err));
	}
	return act_end(&a, ACTION_OK, rc);
}

/* Moves the incident to `to`, as an event incident.reassigned. */
static int move_to(struct act *a, const struct region_authority *to, const char *rule_id,
                   const char *status, const char *declined)
{
	const struct region_authority *from =
	        region_authority(a->env->region, row_str(a->row, "authority_id"));
	const char *p[] = {to->id, rule_id, status, declined};
	if (update(a,
	           "UPDATE assigner.incidents SET authority_id = $3, rule_id = $4, status = $5,"
	           " declined = CASE WHEN $6::text IS NULL THEN declined"
	           "                 ELSE array_append(declined, $6::text) END,"
	           " updated_at = $2 WHERE id = $1",
	           4, p) < 0)
		return -1;
	struct incidents_event_extra x = {.previous = from};
	json_t *details = json_pack("{s:s?, s:s, s:s}", "from", from ? from->id : NULL, "to",
	                            to->id, "rule_id", rule_id);
	return record(a, declined ? "declined" : "reassigned", details, INCIDENT_REASSIGNED, &x);
}

enum action_status action_reassign(struct db *db, const struct action_env *env, int64_t id,
                                   const char *authority, const char *comment,
                                   const struct action_actor *actor, struct action_error *e)
{
	if (!authority || !authority[0])
		return set_error(e, ACTION_BAD_ARGUMENT, "authority", "is required");
	const struct region_authority *to = region_authority(env->region, authority);
	if (!to)
		return set_error(e, ACTION_BAD_ARGUMENT, "authority",
		                 "is not an authority of the region");
	if (!text_ok(e, "comment", comment, false))
		return e->status;
	struct act a = {db, env, actor, e, NULL, id, 0, ""};
	enum action_status st = act_begin(&a, "reassign", "assigned", "responded");
	if (st != ACTION_OK)
		return st;
	if (!strcmp(row_str(a.row, "authority_id"), to->id))
		return act_end(&a,
		               set_error(e, ACTION_CONFLICT, "authority",
		                         "incident %lld is already assigned to %s", (long long)id,
		                         to->id),
		               0);
	int rc = move_to(&a, to, "manual", status_of(&a), NULL);
	if (rc == 0 && comment)
		rc = incidents_audit(db, id, a.now, actor->name, "comment",
		                     json_pack("{s:s}", "comment", comment), a.err, sizeof(a.err));
	return act_end(&a, ACTION_OK, rc);
}

static bool declined_by(const json_t *row, const char *authority)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(row, "declined"), i, v)
	{
		if (!strcmp(json_string_value(v), authority))
			return true;
	}
	return false;
}

/*
 * The next authority after the current one answered «not ours»: the rules' choice, the
 * municipality's administration, the topic's regional ministry, the current one's parent —
 * the first that is neither the current one nor one that declined before.
 */
static struct region_route next_candidate(const struct act *a)
{
	const struct region *r = a->env->region;
	const char *topic = row_str(a->row, "topic"), *muni = row_str(a->row, "municipality");
	const char *current = row_str(a->row, "authority_id");
	const struct region_municipality *m = muni ? region_municipality(r, muni) : NULL;
	const struct region_authority *cur = region_authority(r, current);
	struct region_route c[4] = {
	        region_route(r, topic, row_str(a->row, "subtopic"), muni),
	        {m ? region_authority(r, m->administration) : NULL, "fallback:administration"},
	        region_route(r, topic, NULL, NULL),
	        {cur && cur->parent ? region_authority(r, cur->parent) : NULL, "fallback:parent"},
	};
	for (size_t i = 0; i < 4; i++)
		if (c[i].authority && strcmp(c[i].authority->id, current) &&
		    !declined_by(a->row, c[i].authority->id))
			return c[i];
	return (struct region_route){0};
}

static enum action_status decline(struct act *a, const char *reason)
{
	struct region_route next = next_candidate(a);
	if (!next.authority)
		return act_end(
		        a,
		        set_error(a->e, ACTION_CONFLICT, NULL,
		                  "incident %lld has no other authority to route to: reassign "
		                  "it",
		                  (long long)a->id),
		        0);
	char *current = xstrdup(row_str(a->row, "authority_id"));
	int rc = move_to(a, next.authority, next.rule_id, "assigned", current);
	if (rc == 0)
		rc = incidents_audit(a->db, a->id, a->now, a->actor->name, "comment",
		                     json_pack("{s:s}", "reason", reason), a->err, sizeof(a->err));
	free(current);
	return act_end(a, ACTION_OK, rc);
}

enum action_status action_respond(struct db *db, const struct action_env *env, int64_t id,
                                  const char *kind, const char *text,
                                  const struct action_actor *actor, struct action_error *e)
{
	bool final = kind && !strcmp(kind, "final");
	bool declining = kind && !strcmp(kind, "not_responsible");
	if (!final && !declining && !(kind && !strcmp(kind, "interim")))
		return set_error(e, ACTION_BAD_ARGUMENT, "kind",
		                 kind ? "must be \"interim\", \"final\" or \"not_responsible\""
		                      : "is required");
	if (!text_ok(e, "text", text, true))
		return e->status;
	struct act a = {db, env, actor, e, NULL, id, 0, ""};
	enum action_status st = act_begin(&a, "respond", "assigned", "responded");
	if (st != ACTION_OK)
		return st;
	if (declining)
		return decline(&a, text);

	int64_t taken = workcal_working_between(region_calendar(env->region),
	                                        row_time(a.row, "assigned_at"), a.now);
	char ms[24];
	snprintf(ms, sizeof(ms), "%lld", (long long)taken);
	const char *p[] = {ms, final ? "t" : "f"};
	int rc = update(
	        &a,
	        "UPDATE assigner.incidents SET status = 'responded',"
	        " first_answered_at = coalesce(first_answered_at, $2),"
	        " first_answer_ms = coalesce(first_answer_ms, $3::bigint),"
	        " final_answered_at = CASE WHEN $4::boolean THEN $2 ELSE final_answered_at END,"
	        " updated_at = $2 WHERE id = $1",
	        2, p);
	if (rc == 0) {
		const struct region_authority *by =
		        region_authority(env->region, row_str(a.row, "authority_id"));
		char at[32];
		json_t *answer =
		        json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "text", text, "author",
		                  by ? by->name : actor->name, "at", incidents_time(a.now, at));
		struct incidents_event_extra x = {.answer = answer};
		rc = record(&a, "responded",
		            json_pack("{s:s, s:s, s:I}", "kind", kind, "text", text, "working_ms",
		                      (json_int_t)taken),
		            INCIDENT_RESPONDED, &x);
		json_decref(answer);
	}
	return act_end(&a, ACTION_OK, rc);
}

/* resolve and reopen: a status change with an optional comment. */
static enum action_status simple(struct db *db, const struct action_env *env, int64_t id,
                                 const char *comment, const struct action_actor *actor,
                                 struct action_error *e, bool resolve)
{
	if (!text_ok(e, "comment", comment, false))
		return e->status;
	struct act a = {db, env, actor, e, NULL, id, 0, ""};
	enum action_status st = resolve ? act_begin(&a, "resolve", "assigned", "responded")
	                                : act_begin(&a, "reopen", "resolved", "rejected");
	if (st != ACTION_OK)
		return st;
	/* A reopened incident that was resolved goes back to its authority, which owes a final
	 * answer again; a rejected one goes back to the moderators. */
	int rc = update(&a,
	                resolve ? "UPDATE assigner.incidents SET status = 'resolved',"
	                          " resolved_at = $2, updated_at = $2 WHERE id = $1"
	                        : "UPDATE assigner.incidents SET status = CASE status WHEN"
	                          " 'resolved' THEN 'assigned' ELSE 'moderation' END,"
	                          " resolved_at = NULL, final_answered_at = NULL, updated_at = $2"
	                          " WHERE id = $1",
	                0, NULL);
	if (rc == 0)
		rc = record(&a, resolve ? "resolved" : "reopened",
		            json_pack("{s:s?}", "comment", comment),
		            resolve ? INCIDENT_RESOLVED : INCIDENT_REOPENED, NULL);
	return act_end(&a, ACTION_OK, rc);
}

enum action_status action_resolve(struct db *db, const struct action_env *env, int64_t id,
                                  const char *comment, const struct action_actor *actor,
                                  struct action_error *e)
{
	return simple(db, env, id, comment, actor, e, true);
}

enum action_status action_reopen(struct db *db, const struct action_env *env, int64_t id,
                                 const char *comment, const struct action_actor *actor,
                                 struct action_error *e)
{
	return simple(db, env, id, comment, actor, e, false);
}

enum action_status action_feedback(struct db *db, const struct action_env *env, int64_t id,
                                   bool satisfied, const char *comment,
                                   const struct action_actor *actor, struct action_error *e)
{
	if (!text_ok(e, "comment", comment, false))
		return e->status;
	struct act a = {db, env, actor, e, NULL, id, 0, ""};
	enum action_status st = act_begin(&a, "feedback", "responded", "resolved");
	if (st != ACTION_OK)
		return st;
	const char *p[] = {satisfied ? "t" : "f", comment};
	int rc = update(&a,
	                "UPDATE assigner.incidents SET satisfied = $3::boolean,"
	                " feedback_comment = $4, feedback_at = $2, updated_at = $2 WHERE id = $1",
	                2, p);
	if (rc == 0) {
		json_t *fb = json_pack("{s:b, s:s?}", "satisfied", satisfied, "comment", comment);
		struct incidents_event_extra x = {.feedback = fb};
		rc = record(&a, "feedback", json_incref(fb), INCIDENT_FEEDBACK, &x);
		json_decref(fb);
	}
	return act_end(&a, ACTION_OK, rc);
}
