/*
 * scheduler: the deadlines' side of the lifecycle, run periodically. A round finds
 *   - assigned incidents without a first answer whose reminder point (the policy's share of
 *     the time to the first-answer deadline) has passed while the deadline has not:
 *     reminder_sent_at set, audit "reminder", event incident.reminder;
 *   - incidents whose first-answer deadline (still unanswered) or final-answer deadline
 *     (no final answer) has passed: marked overdue (audit "overdue", event incident.overdue
 *     with the parent authority), then escalated to the responsible authority's parent
 *     (escalated_to, audit "escalated", event incident.escalated); an authority at the top has
 *     no one to escalate to, which the audit says.
 * Each step happens once: the flags it sets are what the next round's queries exclude, and
 * rows are taken FOR UPDATE SKIP LOCKED, so two replicas never take the same incident.
 */
#ifndef ASSIGNER_SCHEDULER_H
#define ASSIGNER_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "actions.h"

struct db;

struct scheduler_counts {
	size_t reminders;
	size_t overdue;
	size_t escalated;
};

/*
 * One round as of `now` (ms since the epoch; the service passes the clock, tests a time of
 * their choosing), at most `batch` incidents of each kind, in one transaction. Adds what it
 * did to *c. Returns 0, or -1 with err (rolled back).
 */
int scheduler_round(struct db *db, const struct action_env *env, int64_t now, int batch,
                    struct scheduler_counts *c, char *err, size_t errlen);

#endif
