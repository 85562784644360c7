/*
 * collector: the service's shared state and its one intake path.
 *
 * Everything that brings messages in (the HTTP ingest API, the pollers, `collector replay`)
 * hands them to intake_submit(), which normalises and validates each one, stores the valid ones
 * idempotently in one transaction, counts every outcome, and wakes the outbox, which publishes
 * them to messages.raw. So there is exactly one place where a message becomes accepted.
 */
#ifndef COLLECTOR_COLLECTOR_H
#define COLLECTOR_COLLECTOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "fields.h"
#include "message.h"
#include "service.h"
#include "sources.h"
#include "store.h"

struct collector_settings {
	char *ingest_tokens;  /* "token=source|source,token2=*" (secret) */
	char *ingest_sources; /* sources accepted over HTTP: "http,tuva.open311" */
	int64_t ingest_max_items;
	char *topic; /* messages.raw */
	int64_t outbox_batch;
	int64_t db_pool_size;
	struct vk_settings vk;
	struct telegram_settings telegram;
	struct rss_settings rss;
	struct open311_settings open311;
};

struct collector {
	struct service svc;
	struct collector_settings settings;
	struct db_pool *pool; /* for HTTP handler threads */
	struct kafka_producer *producer;

	struct metric *messages;     /* collector_messages_total{source,outcome} */
	struct metric *rejected;     /* collector_rejected_total{source,field} */
	struct metric *polls;        /* collector_polls_total{source,result} */
	struct metric *poll_seconds; /* collector_poll_duration_seconds{source} */
	struct metric *source_up;    /* collector_source_up{source} */
	struct metric *backlog;      /* collector_outbox_backlog */
	struct metric *published;    /* collector_published_total */

	pthread_mutex_t wake_lock; /* the outbox sleeps on `wake` between batches */
	pthread_cond_t wake;
	bool woken;
};

/*
 * Declares the collector's metrics in reg (borrowed; usually c->svc.metrics) and initialises
 * the outbox wake-up. Tests call it on a collector they assemble by hand.
 */
void collector_setup(struct collector *c, struct metrics *reg);

/* Releases what collector_setup made (not the metrics: the registry owns them). */
void collector_teardown(struct collector *c);

/* What happened to one submitted message. */
struct intake_result {
	enum {
		INTAKE_ACCEPTED,
		INTAKE_DUPLICATE,
		INTAKE_UPDATED,
		INTAKE_REJECTED,
	} status;
	struct field_error error; /* when rejected */
};

/*
 * Normalises and validates msgs[0..n) (see normalize_message), stores the valid ones in one
 * transaction on `db` (edits may be NULL; see store_messages), counts outcomes under the label
 * `source` (a source instance such as "vk" or "rss:abakan-news", or "http"), and wakes the
 * outbox. res[i] says what happened to each. Returns 0 when the valid messages are committed
 * (the rejected ones are reported in res), -1 with err when the store failed: then nothing was
 * stored and the caller must not acknowledge any of them.
 */
int intake_submit(struct collector *c, struct db *db, const char *source, struct message *msgs,
                  const bool *edits, size_t n, struct intake_result *res, char *err, size_t errlen);

/*
 * Counts a message rejected before or during intake under `source` (a bounded label: a
 * configured source instance, or "http" for what the API refused before knowing its source).
 */
void intake_count_rejected(struct collector *c, const char *source, const struct field_error *e);

/* Wakes the outbox so a stored message is published without waiting for its next round. */
void collector_wake_outbox(struct collector *c);

#endif
