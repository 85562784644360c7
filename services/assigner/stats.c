/* stats: the centre's figures in SQL, for GET /v1/stats and the gauges (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiutil.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "region.h"
#include "timefmt.h"
#include "topics.h"
#include "xalloc.h"

/*
 * One statement for every grouping. An incident's first-answer outcome is decided once it was
 * answered or its deadline passed; one still within its deadline counts for neither side.
 * Times to the first answer are the working milliseconds actions.c recorded (first_answer_ms)
 * and, for comparison with figures published in clock time, the clock hours from assignment.
 */
/* clang-format off */
#define STATS_BASE \
	"WITH base AS (" \
	" SELECT i.municipality, i.topic, i.authority_id, i.first_answer_ms, i.satisfied," \
	"  extract(epoch FROM i.first_answered_at - i.assigned_at) / 3600.0 AS clock_hours," \
	"  i.first_answer_due IS NOT NULL AND (i.first_answered_at IS NOT NULL" \
	"   OR i.first_answer_due <= $3::timestamptz) AS decided," \
	"  i.first_answered_at IS NOT NULL AND i.first_answered_at <= i.first_answer_due" \
	"   AS in_time" \
	" FROM assigner.incidents i" \
	" WHERE i.opened_at >= $1::timestamptz AND i.opened_at < $2::timestamptz" \
	"  AND i.status <> 'rejected'" \
	"  AND ($4::text[] IS NULL OR i.authority_id = ANY($4::text[])))"
#define STATS_FIGURES \
	" count(*)," \
	" count(*) FILTER (WHERE decided)," \
	" avg(in_time::int) FILTER (WHERE decided)," \
	" count(first_answer_ms)," \
	" avg(first_answer_ms) / 3600000.0," \
	" percentile_cont(0.5) WITHIN GROUP (ORDER BY first_answer_ms) / 3600000.0," \
	" avg(clock_hours)," \
	" percentile_cont(0.5) WITHIN GROUP (ORDER BY clock_hours)," \
	" count(satisfied)," \
	" avg(satisfied::int)"
/* clang-format on */

enum {
	C_INCIDENTS,
	C_ANSWERED_N,
	C_IN_TIME,
	C_FIRST_N,
	C_FIRST_MEAN,
	C_FIRST_MEDIAN,
	C_CLOCK_MEAN,
	C_CLOCK_MEDIAN,
	C_SAT_N,
	C_SAT_SHARE,
};

/* A figure backed by n cases: the value, or null under the minimum sample. */
static json_t *figure(const PGresult *res, int row, int col, long n, int min_sample)
{
	if (PQgetisnull(res, row, col) || n < min_sample)
		return json_null();
	return json_real(round(strtod(PQgetvalue(res, row, col), NULL) * 10000) / 10000);
}

/* The members of a group's figures: a count, or a figure with the column of its n. */
static const struct {
	const char *name;
	int col;
	int n_col; /* -1: the column is a count */
} figure_members[] = {
        {"incidents", C_INCIDENTS, -1},
        {"answered_n", C_ANSWERED_N, -1},
        {"in_time_share", C_IN_TIME, C_ANSWERED_N},
        {"first_answer_n", C_FIRST_N, -1},
        {"first_answer_mean_hours", C_FIRST_MEAN, C_FIRST_N},
        {"first_answer_median_hours", C_FIRST_MEDIAN, C_FIRST_N},
        {"first_answer_clock_mean_hours", C_CLOCK_MEAN, C_FIRST_N},
        {"first_answer_clock_median_hours", C_CLOCK_MEDIAN, C_FIRST_N},
        {"satisfaction_n", C_SAT_N, -1},
        {"satisfaction_share", C_SAT_SHARE, C_SAT_N},
};

/* The figures of one row, starting at column `at`. */
static json_t *figures(const PGresult *res, int row, int at, int min_sample)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < sizeof(figure_members) / sizeof(figure_members[0]); i++) {
		int col = at + figure_members[i].col;
		json_t *v;
		if (figure_members[i].n_col < 0)
			v = json_integer(atoll(PQgetvalue(res, row, col)));
		else
			v = figure(res, row, col,
			           atol(PQgetvalue(res, row, at + figure_members[i].n_col)),
			           min_sample);
		json_object_set_new(obj, figure_members[i].name, v);
	}
	return obj;
}

/* The display name of a group's key. */
static const char *group_name(const struct region *region, const struct topics *topics,
                              const char *dimension, const char *key)
{
	if (!key || !region) /* the gauges need no names */
		return NULL;
	if (!strcmp(dimension, "municipality")) {
		const struct region_municipality *m = region_municipality(region, key);
		return m ? m->short_name : NULL;
	}
	if (!strcmp(dimension, "topic")) {
		const struct topic *t = topics_find(topics, key);
		return t ? t->name : NULL;
	}
	const struct region_authority *a = region_authority(region, key);
	return a ? a->name : NULL;
}

/* The groups with at least min_sample incidents, most incidents first (ties by key), at most
 * five: {"<dimension>": key, "name", "incidents"}. */
static json_t *top(const json_t *groups, const char *dimension, int min_sample)
{
	json_t *out = json_array();
	size_t i;
	json_t *g;

	/* groups are already ordered by incidents descending, then key (see the statement). */
	json_array_foreach(groups, i, g)
	{
		if (json_array_size(out) == 5)
			break;
		if (json_integer_value(json_object_get(g, "incidents")) < min_sample ||
		    json_is_null(json_object_get(g, dimension)))
			continue;
		json_array_append_new(out, json_pack("{s:O, s:O, s:O}", dimension,
		                                     json_object_get(g, dimension), "name",
		                                     json_object_get(g, "name"), "incidents",
		                                     json_object_get(g, "incidents")));
	}
	return out;
}

json_t *stats_compute(struct db *db, const struct region *region, const struct topics *topics,
                      int64_t from, int64_t to, const char *scope, int min_sample, char *err,
                      size_t errlen)
{
	static const char *const dimensions[] = {"municipality", "topic", "authority"};
	char f[32], t[32], now[32];
	rfc3339_format(from, f);
	rfc3339_format(to, t);
	rfc3339_format(time_now_ms(), now);
	const char *params[4] = {f, t, now, scope};

	/* g: 0 overall, 1 municipality, 2 topic, 3 authority; key: the group's id. */
	PGresult *res = db_exec(
	        db,
	        STATS_BASE
	        " SELECT CASE WHEN GROUPING(municipality, topic, authority_id) = 7"
	        "   THEN 0 WHEN GROUPING(municipality) = 0 THEN 1"
	        "   WHEN GROUPING(topic) = 0 THEN 2 ELSE 3 END AS g,"
	        "  CASE WHEN GROUPING(municipality) = 0 THEN municipality"
	        "   WHEN GROUPING(topic) = 0 THEN topic ELSE authority_id END AS key," STATS_FIGURES
	        " FROM base"
	        " GROUP BY GROUPING SETS ((), (municipality), (topic), (authority_id))"
	        " ORDER BY g, count(*) DESC, key NULLS LAST",
	        4, params, err, errlen);
	if (!res)
		return NULL;
	json_t *overall = NULL;
	json_t *groups[3] = {json_array(), json_array(), json_array()};
	for (int row = 0; row < PQntuples(res); row++) {
		int g = atoi(PQgetvalue(res, row, 0));
		json_t *fig = figures(res, row, 2, min_sample);
		if (g == 0) {
			json_decref(overall);
			overall = fig;
			continue;
		}
		const char *key = PQgetisnull(res, row, 1) ? NULL : PQgetvalue(res, row, 1);
		const char *name = group_name(region, topics, dimensions[g - 1], key);
		json_object_set_new(fig, dimensions[g - 1], key ? json_string(key) : json_null());
		json_object_set_new(fig, "name", name ? json_string(name) : json_null());
		json_array_append_new(groups[g - 1], fig);
	}
	PQclear(res);
	/* The empty grouping set gives its row even when no incident matched. */
	return json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "from", f, "to", t,
	                 "min_sample", min_sample, "overall", overall, "top_municipalities",
	                 top(groups[0], "municipality", min_sample), "top_topics",
	                 top(groups[1], "topic", min_sample), "by_municipality", groups[0],
	                 "by_topic", groups[1], "by_authority", groups[2]);
}

/* ---- gauges ---------------------------------------------------------------------------------- */

#define GAUGE_WINDOW_MS (30LL * 86400 * 1000)

struct stats_gauges {
	struct db_pool *pool;
	const struct region *region;
	int min_sample;
	struct metric *open, *overdue, *in_time, *first_mean, *satisfaction, *satisfaction_n;
	struct metric *by_authority_open, *by_authority_overdue;
};

/* Open and overdue incidents of every authority of the pack, 0 for one that has none (so a
 * series falls to 0 rather than keeping its last value), from `rows` of (authority_id, open,
 * overdue); NaN for all when the database could not answer. */
static void authority_gauges_set(struct stats_gauges *g, const PGresult *rows)
{
	for (size_t i = 0; i < region_authority_count(g->region); i++) {
		const struct region_authority *a = region_authority_at(g->region, i);
		double open = rows ? 0 : NAN, overdue = rows ? 0 : NAN;

		for (int r = 0; rows && r < PQntuples(rows); r++) {
			if (strcmp(PQgetvalue(rows, r, 0), a->id) == 0) {
				open = strtod(PQgetvalue(rows, r, 1), NULL);
				overdue = strtod(PQgetvalue(rows, r, 2), NULL);
			}
		}
		metric_set(g->by_authority_open, open, a->id, a->name);
		metric_set(g->by_authority_overdue, overdue, a->id, a->name);
	}
}

/* A share or mean as a gauge: NaN ("not known") under the minimum sample. */
static double gauge_value(const json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Sets every gauge; with no figures (the database unreachable) each reads NaN, "not known",
 * rather than keeping a value that is no longer true. */
static void gauges_set(struct stats_gauges *g, const PGresult *counts, const json_t *stats)
{
	const json_t *o = json_object_get(stats, "overall");

	metric_set(g->open, counts ? strtod(PQgetvalue(counts, 0, 0), NULL) : NAN);
	metric_set(g->overdue, counts ? strtod(PQgetvalue(counts, 0, 1), NULL) : NAN);
	metric_set(g->in_time, gauge_value(json_object_get(o, "in_time_share")));
	metric_set(g->first_mean,
	           gauge_value(json_object_get(o, "first_answer_mean_hours")) * 3600);
	metric_set(g->satisfaction, gauge_value(json_object_get(o, "satisfaction_share")));
	metric_set(g->satisfaction_n, gauge_value(json_object_get(o, "satisfaction_n")));
}

static void gauges_collect(void *ctx)
{
	struct stats_gauges *g = ctx;
	char err[256];
	struct db *db = db_pool_acquire(g->pool, 1000, err, sizeof(err));
	PGresult *res = NULL, *by_authority = NULL;
	json_t *stats = NULL;
	int64_t now = time_now_ms();

	if (db)
		res = db_exec(db,
		              "SELECT count(*) FILTER (WHERE status IN"
		              "  ('moderation', 'assigned', 'responded')),"
		              " count(*) FILTER (WHERE status IN"
		              "  ('moderation', 'assigned', 'responded') AND overdue)"
		              " FROM assigner.incidents",
		              0, NULL, err, sizeof(err));
	if (res)
		stats = stats_compute(db, NULL, NULL, now - GAUGE_WINDOW_MS, now, NULL,
		                      g->min_sample, err, sizeof(err));
	if (stats)
		by_authority =
		        db_exec(db,
		                "SELECT authority_id, count(*), count(*) FILTER (WHERE overdue)"
		                " FROM assigner.incidents"
		                " WHERE status IN ('assigned', 'responded')"
		                " AND authority_id IS NOT NULL GROUP BY 1",
		                0, NULL, err, sizeof(err));
	if (!by_authority) {
		log_warn("stats gauges: not refreshed", "{s:s}", "error", err);
		PQclear(res);
		res = NULL;
		json_decref(stats);
		stats = NULL;
	}
	gauges_set(g, res, stats);
	authority_gauges_set(g, by_authority);
	json_decref(stats);
	PQclear(res);
	PQclear(by_authority);
	db_pool_release(g->pool, db);
}

struct stats_gauges *stats_gauges_new(struct metrics *reg, struct db_pool *pool,
                                      const struct region *region, int min_sample)
{
	struct stats_gauges *g = xcalloc(1, sizeof(*g));

	g->pool = pool;
	g->region = region;
	g->min_sample = min_sample;
	g->open = metrics_gauge(reg, "assigner_incidents_open",
	                        "Incidents open now (in moderation, assigned or responded).", NULL);
	g->overdue = metrics_gauge(reg, "assigner_incidents_overdue",
	                           "Open incidents past a deadline.", NULL);
	g->in_time =
	        metrics_gauge(reg, "assigner_answered_in_time_ratio",
	                      "Share of incidents of the last 30 days answered by the first-answer"
	                      " deadline (NaN under the minimum sample).",
	                      NULL);
	g->first_mean = metrics_gauge(reg, "assigner_first_answer_mean_seconds",
	                              "Mean working time to the first answer, incidents of the last"
	                              " 30 days (NaN under the minimum sample).",
	                              NULL);
	g->satisfaction =
	        metrics_gauge(reg, "assigner_satisfaction_ratio",
	                      "Share of citizens satisfied with the reaction, incidents of"
	                      " the last 30 days (NaN under the minimum sample).",
	                      NULL);
	g->satisfaction_n =
	        metrics_gauge(reg, "assigner_satisfaction_responses",
	                      "Citizens' feedback behind assigner_satisfaction_ratio.", NULL);
	g->by_authority_open = metrics_gauge(
	        reg, "assigner_authority_incidents_open",
	        "Incidents an authority of the region pack holds now (assigned or responded).",
	        "authority,name");
	g->by_authority_overdue = metrics_gauge(
	        reg, "assigner_authority_incidents_overdue",
	        "Of assigner_authority_incidents_open, those past a deadline.", "authority,name");
	metrics_on_render(reg, gauges_collect, g);
	return g;
}

void stats_gauges_free(struct stats_gauges *g)
{
	free(g);
}
