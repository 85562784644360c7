/* intake: reports, grouping into incidents, moderation or routing (see intake.h). */
#include "intake.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "grouping.h"
#include "incidents.h"
#include "region.h"
#include "timefmt.h"
#include "utf8.h"
#include "xalloc.h"

#define SUMMARY_CHARS 300
#define CANDIDATES 20      /* open incidents compared with a new report */
#define CANDIDATE_TEXTS 20 /* of each, its latest reports' texts */

static const char *const actor = "assigner";

/* One record's work. */
struct step {
	struct db *db;
	struct grouping *g;
	const struct action_env *env;
	const struct intake_settings *s;
	const struct classified *r;
	struct intake_counts *c;
	int64_t now;
	char *err;
	size_t errlen;
};

/*
 * Upserts the report. Returns 1 when the record changed the row (*incident_id: the incident it
 * already belongs to, 0 for none), 0 for a replay, -1 with err.
 */
static int upsert_report(struct step *st, int64_t *incident_id)
{
	const struct message *m = &st->r->message;
	const struct classification *c = &st->r->c;
	json_t *rec = classified_encode(st->r);
	char *classification = json_dumps(json_object_get(rec, "classification"), JSON_COMPACT);
	char *thread = m->thread ? json_dumps(m->thread, JSON_COMPACT) : NULL;
	char rev[24], score[32], posted[32], classified_at[32];
	snprintf(rev, sizeof(rev), "%lld", (long long)m->revision);
	snprintf(score, sizeof(score), "%.6f", c->incident_score);
	const char *p[] = {m->id,
	                   rev,
	                   c->incident ? "t" : "f",
	                   c->topic,
	                   c->subtopic,
	                   c->municipality,
	                   c->urgency,
	                   score,
	                   m->source,
	                   m->external_id,
	                   m->url,
	                   thread,
	                   m->author_id,
	                   m->text,
	                   m->address,
	                   incidents_time(m->posted_at, posted),
	                   incidents_time(c->classified_at, classified_at),
	                   classification};
	PGresult *res = db_exec(
	        st->db,
	        "INSERT INTO assigner.reports (message_id, revision, is_incident, topic, subtopic,"
	        " municipality, urgency, incident_score, source, external_id, url, thread, "
	        "author_id,"
	        " text, address, posted_at, classified_at, classification)"
	        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15,"
	        " $16, $17, $18::jsonb)"
	        " ON CONFLICT (message_id) DO UPDATE SET revision = EXCLUDED.revision,"
	        " is_incident = EXCLUDED.is_incident, topic = EXCLUDED.topic,"
	        " subtopic = EXCLUDED.subtopic, municipality = EXCLUDED.municipality,"
	        " urgency = EXCLUDED.urgency, incident_score = EXCLUDED.incident_score,"
	        " url = EXCLUDED.url, thread = EXCLUDED.thread, author_id = EXCLUDED.author_id,"
	        " text = EXCLUDED.text, address = EXCLUDED.address,"
	        " classified_at = EXCLUDED.classified_at, classification = EXCLUDED.classification,"
	        " updated_at = now()"
	        " WHERE reports.revision < EXCLUDED.revision"
	        " RETURNING coalesce(incident_id, 0)",
	        18, p, st->err, st->errlen);
	free(classification);
	free(thread);
	json_decref(rec);
	if (!res)
		return -1;
	int rc = PQntuples(res) == 1;
	*incident_id = rc ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return rc;
}

/* The first SUMMARY_CHARS characters of the text, cut at a character boundary. */
static char *summary_of(const char *text)
{
	size_t len = strlen(text), i = 0;
	for (size_t chars = 0; i < len && chars < SUMMARY_CHARS; chars++) {
		size_t n = utf8_seq_len(text + i, len - i);
		i += n ? n : 1;
	}
	return i < len ? xasprintf("%.*s…", (int)i, text) : xstrdup(text);
}

/*
 * The open incident this report joins, or 0. *how says why ("text" or "address") and *score
 * the best similarity.
 */
static int64_t find_incident(struct step *st, const char **how, double *score, int *failed)
{
	const struct classified *r = st->r;
	char posted[32], window[24];
	snprintf(window, sizeof(window), "%lld", (long long)st->s->group_window_ms);
	const char *p[] = {r->c.topic, r->c.municipality,
	                   incidents_time(r->message.posted_at, posted), window};
	PGresult *res = db_exec(
	        st->db,
	        "SELECT i.id, i.address, coalesce((SELECT json_agg(t.text) FROM"
	        "  (SELECT text FROM assigner.reports WHERE incident_id = i.id"
	        "   ORDER BY posted_at DESC LIMIT 20) t), '[]')::text"
	        " FROM assigner.incidents i"
	        " WHERE i.topic = $1 AND i.municipality IS NOT DISTINCT FROM $2"
	        "  AND i.status IN ('moderation', 'assigned', 'responded')"
	        "  AND i.last_report_at >= $3::timestamptz - $4::bigint * interval '1 millisecond'"
	        "  AND i.opened_at <= $3::timestamptz + $4::bigint * interval '1 millisecond'"
	        " ORDER BY i.last_report_at DESC, i.id DESC LIMIT 20",
	        4, p, st->err, st->errlen);
	*failed = !res;
	*score = 0;
	if (!res)
		return 0;
	int64_t best = 0;
	char *addr = grouping_address_key(r->message.address);
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		char *theirs =
		        PQgetisnull(res, i, 1) ? NULL : grouping_address_key(PQgetvalue(res, i, 1));
		bool same_address = addr && theirs && !strcmp(addr, theirs);
		free(theirs);
		if (same_address) {
			best = id;
			*how = "address";
			*score = 1;
			break;
		}
		json_t *texts = json_loads(PQgetvalue(res, i, 2), 0, NULL);
		size_t k;
		json_t *t;
		json_array_foreach(texts, k, t)
		{
			double d =
			        grouping_similarity(st->g, r->message.text, json_string_value(t));
			if (d >= st->s->similarity && d > *score) {
				*score = d;
				best = id;
				*how = "text";
			}
		}
		json_decref(texts);
	}
	free(addr);
	PQclear(res);
	return best;
}

/*
 * Raises a normal incident to high urgency when this report is high or the affected count
 * reached the threshold; deadlines recomputed from the same clock start.
 */
static int maybe_raise(struct step *st, json_t **row)
{
	const char *why = !strcmp(st->r->c.urgency, "high")                   ? "report"
	                  : row_int(*row, "affected") >= st->s->affected_high ? "affected"
	                                                                      : NULL;
	if (!why || !strcmp(row_str(*row, "urgency"), "high"))
		return 0;
	int64_t start = row_time(*row, "assigned_at");
	int64_t first = 0, final = 0, reminder = 0;
	if (start) /* in moderation the clock has not started: nothing to recompute */
		incidents_deadlines(st->env->region, "high", start, &first, &final, &reminder);
	char ids[24], now[32], t_first[32], t_final[32], t_rem[32];
	snprintf(ids, sizeof(ids), "%lld", (long long)row_int(*row, "id"));
	const char *p[] = {ids, incidents_time(st->now, now), incidents_time(first, t_first),
	                   incidents_time(final, t_final), incidents_time(reminder, t_rem)};
	if (db_run(st->db,
	           "UPDATE assigner.incidents SET urgency = 'high', updated_at = $2,"
	           " first_answer_due = coalesce($3, first_answer_due),"
	           " final_answer_due = coalesce($4, final_answer_due),"
	           " reminder_at = coalesce($5, reminder_at) WHERE id = $1",
	           5, p, st->err, st->errlen) < 0 ||
	    incidents_reload(st->db, row, st->err, st->errlen) < 0)
		return -1;
	st->c->raised++;
	json_t *details =
	        json_pack("{s:s, s:I, s:s, s:s?, s:s?}", "reason", why, "affected",
	                  (json_int_t)row_int(*row, "affected"), "message_id", st->r->message.id,
	                  "first_answer_due", p[2], "final_answer_due", p[3]);
	if (incidents_audit(st->db, row_int(*row, "id"), st->now, actor, "urgency_raised", details,
	                    st->err, st->errlen) < 0)
		return -1;
	if (strcmp(row_str(*row, "status"), "assigned"))
		return 0;
	return incidents_emit(st->db, st->env, INCIDENT_ASSIGNED, st->now, *row, NULL, st->err,
	                      st->errlen);
}

/* Puts the report into the incident and recounts it. */
static int join(struct step *st, int64_t id, const char *how, double score)
{
	json_t *row = NULL;
	char ids[24], posted[32], now[32];
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	const char *p[] = {ids, incidents_time(st->r->message.posted_at, posted),
	                   st->r->message.address, incidents_time(st->now, now)};
	const char *q[] = {ids, st->r->message.id};
	int rc = -1;
	if (incidents_load(st->db, id, true, &row, st->err, st->errlen) != 1 ||
	    db_run(st->db, "UPDATE assigner.reports SET incident_id = $1 WHERE message_id = $2", 2,
	           q, st->err, st->errlen) < 0 ||
	    db_run(st->db,
	           "UPDATE assigner.incidents SET"
	           " reports = (SELECT count(*) FROM assigner.reports WHERE incident_id = $1),"
	           " affected = (SELECT count(DISTINCT coalesce(author_id, message_id))"
	           "             FROM assigner.reports WHERE incident_id = $1),"
	           " last_report_at = greatest(last_report_at, $2::timestamptz),"
	           " address = coalesce(address, $3), updated_at = $4 WHERE id = $1",
	           4, p, st->err, st->errlen) < 0 ||
	    incidents_reload(st->db, &row, st->err, st->errlen) < 0)
		goto out;
	json_t *details =
	        json_pack("{s:s, s:s, s:f, s:I}", "message_id", st->r->message.id, "by", how,
	                  "similarity", score, "affected", (json_int_t)row_int(row, "affected"));
	if (incidents_audit(st->db, id, st->now, actor, "joined", details, st->err, st->errlen) < 0)
		goto out;
	st->c->joined++;
	rc = maybe_raise(st, &row);
out:
	if (!row && rc < 0 && !st->err[0])
		snprintf(st->err, st->errlen, "incident %lld vanished", (long long)id);
	json_decref(row);
	return rc;
}

/* Why a new incident needs a moderator, or NULL when the rules may route it. */
static const char *moderation_reason(const struct step *st)
{
	const struct classification *c = &st->r->c;
	if (!c->municipality)
		return "municipality_unresolved";
	if (c->municipality_ambiguous)
		return "municipality_ambiguous";
	if (!region_municipality(st->env->region, c->municipality))
		return "municipality_unknown";
	if (c->incident_score < st->s->min_confidence)
		return "low_confidence";
	return NULL;
}

/* Opens an incident from the report: created, then moderation or routing. */
static int open_incident(struct step *st)
{
	const struct classified *r = st->r;
	const char *reason = moderation_reason(st);
	bool high = !strcmp(r->c.urgency, "high") || st->s->affected_high <= 1;
	char *summary = summary_of(r->message.text);
	char posted[32], now[32];
	const char *p[] = {r->c.topic,
	                   r->c.subtopic,
	                   r->c.municipality,
	                   high ? "high" : "normal",
	                   summary,
	                   r->message.address,
	                   incidents_time(r->message.posted_at, posted),
	                   reason,
	                   incidents_time(st->now, now),
	                   r->message.id};
	PGresult *res = db_exec(
	        st->db,
	        "WITH i AS (INSERT INTO assigner.incidents (status, topic, subtopic, municipality,"
	        "  urgency, summary, address, reports, affected, opened_at, last_report_at,"
	        "  moderation_reason, created_at, updated_at)"
	        "  VALUES ('moderation', $1, $2, $3, $4, $5, $6, 1, 1, $7, $7, $8, $9, $9)"
	        "  RETURNING id)"
	        " UPDATE assigner.reports SET incident_id = i.id FROM i WHERE message_id = $10"
	        " RETURNING i.id",
	        10, p, st->err, st->errlen);
	free(summary);
	if (!res)
		return -1;
	int64_t id = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	json_t *row = NULL;
	if (incidents_load(st->db, id, true, &row, st->err, st->errlen) != 1) {
		if (!st->err[0])
			snprintf(st->err, st->errlen, "the new incident is not there");
		return -1;
	}
	st->c->opened++;
	json_t *rec = classified_encode(r);
	json_t *details = json_pack("{s:s, s:O}", "message_id", r->message.id, "classification",
	                            json_object_get(rec, "classification"));
	json_decref(rec);
	int rc =
	        incidents_audit(st->db, id, st->now, actor, "opened", details, st->err, st->errlen);
	if (rc == 0)
		rc = incidents_emit(st->db, st->env, INCIDENT_CREATED, st->now, row, NULL, st->err,
		                    st->errlen);
	if (rc == 0 && reason) {
		st->c->moderated++;
		rc = incidents_audit(st->db, id, st->now, actor, "moderation",
		                     json_pack("{s:s, s:f}", "reason", reason, "incident_score",
		                               r->c.incident_score),
		                     st->err, st->errlen);
	} else if (rc == 0) {
		struct region_route route =
		        region_route(st->env->region, r->c.topic, r->c.subtopic, r->c.municipality);
		json_t *why = json_pack("{s:s, s:s?, s:s}", "topic", r->c.topic, "subtopic",
		                        r->c.subtopic, "municipality", r->c.municipality);
		rc = incidents_assign(st->db, st->env, &row, route.authority->id, route.rule_id,
		                      st->now, actor, why, st->err, st->errlen);
	}
	json_decref(row);
	return rc;
}

static int store_one(struct step *st)
{
	int64_t incident_id;
	int rc = upsert_report(st, &incident_id);
	if (rc <= 0) {
		if (rc == 0)
			st->c->replayed++;
		return rc;
	}
	st->c->reports++;
	if (incident_id) /* a new revision of a grouped report: its incident keeps it */
		return incidents_audit(st->db, incident_id, st->now, actor, "report_updated",
		                       json_pack("{s:s, s:I}", "message_id", st->r->message.id,
		                                 "revision", (json_int_t)st->r->message.revision),
		                       st->err, st->errlen);
	if (!st->r->c.incident)
		return 0;
	const char *how = NULL;
	double score;
	int failed;
	int64_t id = find_incident(st, &how, &score, &failed);
	if (failed)
		return -1;
	return id ? join(st, id, how, score) : open_incident(st);
}

int intake_store(struct db *db, struct grouping *g, const struct action_env *env,
                 const struct intake_settings *s, const struct classified *r, size_t n,
                 struct intake_counts *c, char *err, size_t errlen)
{
	struct intake_counts batch = {0};
	err[0] = '\0';
	if (db_begin(db, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct step st = {db, g, env, s, &r[i], &batch, time_now_ms(), err, errlen};
		if (store_one(&st) < 0) {
			db_rollback(db);
			return -1;
		}
	}
	if (db_commit(db, err, errlen) < 0) {
		db_rollback(db);
		return -1;
	}
	c->reports += batch.reports;
	c->replayed += batch.replayed;
	c->opened += batch.opened;
	c->joined += batch.joined;
	c->moderated += batch.moderated;
	c->raised += batch.raised;
	return 0;
}
