/*
 * stats: the figures a regional management centre is judged by, computed in SQL over the
 * incidents opened in a period (rejected ones — not incidents after all — left out), overall
 * and by municipality, topic and authority:
 *
 *   incidents                   how many were opened
 *   answered_n, in_time_share   of those whose first-answer deadline is decided (answered, or
 *                               the deadline passed unanswered), the share answered by it
 *   first_answer_n, first_answer_mean_hours, first_answer_median_hours
 *                               time from assignment to the first answer in WORKING hours (the
 *                               authority's clock: the region's calendar), mean and median
 *                               (percentile_cont(0.5));
 *   first_answer_clock_mean_hours, first_answer_clock_median_hours
 *                               the same in clock hours, as published figures often count
 *   satisfaction_n, satisfaction_share
 *                               citizens' feedback: how many answered, the share satisfied
 *
 * A share, mean or median from fewer than min_sample cases is null (its n is still given), and
 * the top lists rank only groups with at least min_sample incidents: no league table from a
 * handful of cases.
 *
 * The same headline figures (over the last 30 days) are Prometheus gauges, refreshed from the
 * database whenever /metrics is scraped.
 */
#ifndef ASSIGNER_STATS_H
#define ASSIGNER_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_pool;
struct metrics;
struct region;
struct topics;

/*
 * The statistics of incidents opened in [from, to) (ms since the epoch), as the JSON object
 * GET /v1/stats answers. scope (a text[] literal of authority ids, or NULL for all) limits
 * them to the incidents assigned to those authorities: an authority's user sees the figures of
 * its own incidents. Returns the object (caller owns), or NULL with err on a database error.
 */
json_t *stats_compute(struct db *db, const struct region *region, const struct topics *topics,
                      int64_t from, int64_t to, const char *scope, int min_sample, char *err,
                      size_t errlen);

struct stats_gauges;

/* Declares the assigner_* gauges on reg and refreshes them on every render through pool; the
 * per-authority ones have a series for every authority of region (all borrowed; they must
 * outlive the gauges, and the gauges must outlive rendering). */
struct stats_gauges *stats_gauges_new(struct metrics *reg, struct db_pool *pool,
                                      const struct region *region, int min_sample);

void stats_gauges_free(struct stats_gauges *g);

#endif
