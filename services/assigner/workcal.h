/*
 * workcal: the region's working calendar, and deadlines counted in working time.
 *
 * An authority's clock runs only in working hours (e.g. 09:00–18:00 local time), on working
 * days: Monday to Friday, minus the public holidays of the Russian production calendar, plus
 * the Saturdays it declares working (transfers). The region's time is a fixed UTC offset
 * (Russia keeps no summer time; Khakassia is +07:00). Deadlines that must not wait for Monday
 * (urgent ones) use the calendar clock instead: see region.h's deadline policy.
 *
 * All instants are milliseconds since the epoch, UTC. The calendar is immutable after
 * workcal_new and may be shared across threads.
 */
#ifndef ASSIGNER_WORKCAL_H
#define ASSIGNER_WORKCAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct workcal;

/*
 * Builds a calendar from the region pack's calendar.json object (format in
 * deploy/regions/README.md): utc_offset, day start and end, holidays and working weekend days
 * as "YYYY-MM-DD" lists. Returns NULL with err naming the bad member ("calendar.holidays[3]:
 * not a date YYYY-MM-DD").
 */
struct workcal *workcal_new(const json_t *calendar, char *err, size_t errlen);
void workcal_free(struct workcal *cal);

/* Whether the local calendar day containing the instant `at` is a working day. */
bool workcal_is_working_day(const struct workcal *cal, int64_t at);

/* The instant when `working_ms` of working time has passed after `start` (a start outside
 * working hours counts from the next working period's beginning). working_ms 0 gives the
 * start itself when it is inside working hours, else the next period's beginning. */
int64_t workcal_add_working(const struct workcal *cal, int64_t start, int64_t working_ms);

/* The end of the working day that is `days` working days after the local day of `start`
 * (days >= 1; day 1 is the next working day after start's day). */
int64_t workcal_add_working_days(const struct workcal *cal, int64_t start, int days);

/* Working time between two instants (0 when b <= a). */
int64_t workcal_working_between(const struct workcal *cal, int64_t a, int64_t b);

#endif
