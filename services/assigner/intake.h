/*
 * intake: classified messages into reports and incidents — the consumer's effect.
 *
 * Every classified.v1 record becomes a report row (its latest revision). A non-incident stays
 * just that, for statistics. An incident report joins an open incident (moderation, assigned
 * or responded) reporting the same problem — same topic and municipality, its last report
 * within the window of this one, and a similar text (grouping.h) or the same address — or
 * opens a new one. A new incident goes to moderation when its municipality is unresolved,
 * ambiguous or not in the region pack, or when the classifier's incident probability is below
 * the minimum confidence; otherwise it is routed by the region's rules (rule id and the
 * classification evidence in its audit) and its deadlines are set.
 *
 * Affected citizens are the distinct authors of an incident's reports (a report without an
 * author counts alone). When they reach the threshold, or a high-urgency report joins, a
 * normal incident becomes high: its deadlines are recomputed from the same clock start, the
 * audit says why, and an assigned incident's incident.assigned event is sent again with the
 * new deadlines. A report joining an incident is audited ("joined"), without an event.
 *
 * Idempotent on the message id and revision: a replayed record (same or lower revision)
 * changes nothing; a higher revision updates the report's row (text, classification) but not
 * the incident it belongs to.
 *
 * Two replicas may run it: the batch holds transaction-scoped advisory locks on its (topic,
 * municipality) keys, so grouping decisions of one key are made one batch at a time. Against
 * the operators' actions it locks nothing: an incident it joins is written only if its row
 * version is still the one grouping read, and a report row only if no one wrote it since it
 * was read; otherwise the batch fails as a whole and the pipeline retries it.
 */
#ifndef ASSIGNER_INTAKE_H
#define ASSIGNER_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "actions.h"
#include "classified.h"

struct db;
struct grouping;

struct intake_settings {
	int64_t group_window_ms; /* a report joins incidents whose last report is this close */
	double min_confidence;   /* incident probability below it: moderation */
	double similarity;       /* grouping_similarity at or above it: the same problem */
	int64_t affected_high;   /* affected citizens that make an incident high-urgency */
};

/* What a batch did, for the metrics. */
struct intake_counts {
	size_t reports;   /* new or updated report rows */
	size_t replayed;  /* records that changed nothing */
	size_t opened;    /* incidents opened */
	size_t joined;    /* reports joined to an open incident */
	size_t moderated; /* opened incidents sent to moderation */
	size_t raised;    /* incidents whose urgency rose */
};

/*
 * Stores r[0..n) in order, in one transaction: committed when it returns 0 (counts added to
 * *c), rolled back with err on -1 (the caller retries the whole batch). `now` is the time of
 * the changes (audit, events, the clock of a routed incident). The end state is the one
 * storing the records one at a time would give; the batch costs a fixed number of statements
 * (a record repeating a message id of the same batch starts another such round).
 */
int intake_store(struct db *db, struct grouping *g, const struct action_env *env,
                 const struct intake_settings *s, const struct classified *r, size_t n, int64_t now,
                 struct intake_counts *c, char *err, size_t errlen);

#endif
