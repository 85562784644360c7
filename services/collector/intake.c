/*
 * intake: the one path by which a message becomes accepted (see collector.h): normalise and
 * validate each, store the valid ones together, count every outcome, wake the outbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "log.h"
#include "metrics.h"
#include "normalize.h"
#include "timefmt.h"
#include "xalloc.h"

static const char *outcome_label(enum store_outcome o)
{
	switch (o) {
	case STORE_ACCEPTED:
		return "accepted";
	case STORE_UPDATED:
		return "updated";
	case STORE_DUPLICATE:
		break;
	}
	return "duplicate";
}

int intake_submit(struct collector *c, struct db *db, const char *source, struct message *msgs,
                  const bool *edits, size_t n, struct intake_result *res, char *err, size_t errlen)
{
	struct message *valid = xcalloc(n ? n : 1, sizeof(*valid));
	bool *valid_edits = xcalloc(n ? n : 1, sizeof(*valid_edits));
	size_t *index = xcalloc(n ? n : 1, sizeof(*index));
	enum store_outcome *out = xcalloc(n ? n : 1, sizeof(*out));
	size_t k = 0;
	int rc = 0;
	int64_t t0 = time_mono_ms();

	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		if (normalize_message(&msgs[i], &res[i].error) < 0) {
			res[i].status = INTAKE_REJECTED;
			const char *label = source           ? source
			                    : msgs[i].source ? msgs[i].source
			                                     : "unknown";
			metric_add(c->messages, 1, label, "rejected");
			metric_add(c->rejected, 1, label, res[i].error.field);
			continue;
		}
		valid[k] = msgs[i]; /* shallow: the strings stay msgs[i]'s */
		valid_edits[k] = edits && edits[i];
		index[k++] = i;
	}
	if (k && store_messages(db, valid, valid_edits, k, out, err, errlen) < 0) {
		metric_add(c->svc.failed, (double)k);
		rc = -1;
		goto out;
	}
	for (size_t j = 0; j < k; j++) {
		struct message *m = &msgs[index[j]];
		m->revision = valid[j].revision;
		res[index[j]].status = out[j] == STORE_ACCEPTED  ? INTAKE_ACCEPTED
		                       : out[j] == STORE_UPDATED ? INTAKE_UPDATED
		                                                 : INTAKE_DUPLICATE;
		metric_add(c->messages, 1, source ? source : m->source, outcome_label(out[j]));
		if (out[j] != STORE_DUPLICATE)
			metric_add(c->svc.processed, 1);
	}
	if (k)
		collector_wake_outbox(c);
	metric_observe(c->svc.latency, (double)(time_mono_ms() - t0) / 1000.0);
out:
	free(valid);
	free(valid_edits);
	free(index);
	free(out);
	return rc;
}

void intake_count_rejected(struct collector *c, const char *source, const struct field_error *e)
{
	/* Label by the top-level field: nested names ("thread.<key>") come from input and would
	 * make the label set unbounded. */
	char field[32];
	size_t n = strcspn(e->field, ".[");
	snprintf(field, sizeof(field), "%.*s", (int)(n < sizeof(field) - 1 ? n : sizeof(field) - 1),
	         e->field);
	metric_add(c->messages, 1, source, "rejected");
	metric_add(c->rejected, 1, source, field[0] ? field : "body");
}

void collector_wake_outbox(struct collector *c)
{
	pthread_mutex_lock(&c->wake_lock);
	c->woken = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->wake_lock);
}
