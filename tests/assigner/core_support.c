/* core_support: shared set-up and helpers of the assigner's core tests (see core_support.h). */
#include "core_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "grouping.h"
#include "region.h"
#include "testdb.h"
#include "testenv.h"
#include "timefmt.h"
#include "xalloc.h"

extern const struct db_migration assigner_migrations[];
extern const size_t assigner_migrations_count;

int64_t core_time(int minutes)
{
	int64_t t;
	rfc3339_parse("2026-11-25T03:00:00Z", &t);
	return t + (int64_t)minutes * 60000;
}

int64_t core_time_of(const char *column)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "SELECT to_jsonb(%s) #>> '{}' FROM assigner.incidents WHERE id = 1", column);
	char *s = core_text(&core, sql, NULL);
	int64_t ms = 0;
	if (!s || rfc3339_parse(s, &ms) < 0)
		fail_msg("%s: %s", sql, s ? s : "NULL");
	free(s);
	return ms;
}

void core_open(struct core *c)
{
	char err[2048], dir[600];
	memset(c, 0, sizeof(*c));
	snprintf(dir, sizeof(dir), "%s/../share/regions/khakassia",
	         testenv_require("TEST_BIN_DIR", "run through tests/run.sh"));
	c->region = region_load(dir, err, sizeof(err));
	if (!c->region)
		fail_msg("region pack %s: %s", dir, err);
	c->grouping = grouping_new(err, sizeof(err));
	assert_non_null(c->grouping);
	c->db = db_connect(testdb_url(), 10000, NULL, err, sizeof(err));
	if (!c->db)
		fail_msg("database: %s", err);
	if (db_migrate(c->db, "assigner", assigner_migrations, assigner_migrations_count, err,
	               sizeof(err)) < 0)
		fail_msg("migration: %s", err);
	c->env = (struct action_env){c->region, "http://assigner.test"};
	c->settings = (struct intake_settings){.group_window_ms = 72LL * 3600 * 1000,
	                                       .min_confidence = 0.6,
	                                       .similarity = 0.3,
	                                       .affected_high = 5};
	core_reset(c);
}

struct core core;

int core_group_setup(void **state)
{
	(void)state;
	core_open(&core);
	return 0;
}

int core_group_teardown(void **state)
{
	(void)state;
	core_close(&core);
	return 0;
}

int core_reset_test(void **state)
{
	(void)state;
	core_reset(&core);
	return 0;
}

void core_close(struct core *c)
{
	db_free(c->db);
	grouping_free(c->grouping);
	region_free(c->region);
	memset(c, 0, sizeof(*c));
}

void core_reset(struct core *c)
{
	char err[512];
	if (db_run(c->db,
	           "TRUNCATE assigner.outbox, assigner.audit, assigner.reports, assigner.incidents"
	           " RESTART IDENTITY",
	           0, NULL, err, sizeof(err)) < 0)
		fail_msg("truncate: %s", err);
}

char *core_record(const struct report_spec *s)
{
	char posted[32];
	rfc3339_format(s->posted_at ? s->posted_at : core_time(0), posted);
	const char *colon = strchr(s->id, ':');
	json_t *msg = json_pack(
	        "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:{s:s}, s:s, s:{s:s}}", "schema",
	        "message.v1", "id", s->id, "source", "vk", "external_id", colon ? colon + 1 : s->id,
	        "revision", (json_int_t)(s->revision ? s->revision : 1), "text",
	        s->text ? s->text : "Нет отопления", "posted_at", posted, "received_at", posted,
	        "author", "id", s->author ? s->author : s->id, "url", "https://vk.com/wall-1_1",
	        "thread", "post_id", colon ? colon + 1 : s->id);
	if (s->address)
		json_object_set_new(msg, "location", json_pack("{s:s}", "address", s->address));
	json_t *cls = json_pack(
	        "{s:b, s:f, s:s, s:f, s:s?, s:s?, s:s, s:f, s:b, s:[s], s:s, s:[], s:s, s:s}",
	        "incident", !s->not_incident, "incident_score", s->score ? s->score : 0.95, "topic",
	        s->topic ? s->topic : "housing", "topic_score", 0.9, "subtopic", s->subtopic,
	        "municipality", s->municipality, "municipality_method",
	        s->municipality ? "text" : "none", "municipality_confidence", 0.9,
	        "municipality_ambiguous", s->ambiguous, "municipality_evidence", "в городе",
	        "urgency", s->urgency ? s->urgency : "normal", "urgency_terms", "model_version",
	        "test-model", "classified_at", posted);
	if (!s->municipality)
		json_object_set_new(cls, "municipality", json_null());
	json_t *rec = json_pack("{s:s, s:o, s:o}", "schema", "classified.v1", "message", msg,
	                        "classification", cls);
	char *text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	return text;
}

void core_classified(const struct report_spec *spec, struct classified *r)
{
	char *text = core_record(spec);
	struct field_error fe;
	memset(r, 0, sizeof(*r));
	if (classified_decode_bytes(text, strlen(text), r, &fe) < 0)
		fail_msg("test record is not classified.v1: %s: %s", fe.field, fe.message);
	free(text);
}

struct intake_counts core_store(struct core *c, const struct report_spec *specs, size_t n)
{
	struct classified *r = xcalloc(n, sizeof(*r));
	struct intake_counts counts = {0};
	char err[512];
	for (size_t i = 0; i < n; i++)
		core_classified(&specs[i], &r[i]);
	if (intake_store(c->db, c->grouping, &c->env, &c->settings, r, n,
	                 c->now ? c->now : time_now_ms(), &counts, err, sizeof(err)) < 0)
		fail_msg("intake_store: %s", err);
	for (size_t i = 0; i < n; i++)
		classified_clear(&r[i]);
	free(r);
	return counts;
}

static char *query(struct core *c, const char *sql, va_list ap, bool *null)
{
	const char *p[8];
	int n = 0;
	const char *v;
	while (n < 8 && (v = va_arg(ap, const char *)))
		p[n++] = v;
	char err[512];
	PGresult *res = db_exec(c->db, sql, n, p, err, sizeof(err));
	if (!res)
		fail_msg("%s: %s", sql, err);
	if (PQntuples(res) != 1)
		fail_msg("%s: %d rows", sql, PQntuples(res));
	*null = PQgetisnull(res, 0, 0);
	char *out = *null ? NULL : xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

char *core_text(struct core *c, const char *sql, ...)
{
	va_list ap;
	bool null;
	va_start(ap, sql);
	char *s = query(c, sql, ap, &null);
	va_end(ap);
	return s;
}

int64_t core_int(struct core *c, const char *sql, ...)
{
	va_list ap;
	bool null;
	va_start(ap, sql);
	char *s = query(c, sql, ap, &null);
	va_end(ap);
	if (null)
		fail_msg("%s: NULL", sql);
	int64_t v = strtoll(s, NULL, 10);
	free(s);
	return v;
}
