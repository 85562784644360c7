/*
 * pipeline: the consume loop every consuming service runs, so that invariants 1-3 live in one
 * place: poll a batch from the input topic, hand it to the service's handler, and only when the
 * handler says the batch's effects are durable (rows committed, outputs acknowledged) mark the
 * records done for commit. Records the handler refuses go to the dead-letter topic with the
 * reason, and the loop goes on.
 *
 * The handler decides per record: processed, or dead-letter with a reason. It returns 0 when
 * every processed record's effect is durable, or -1 when something transient failed (database
 * down, broker not acknowledging): then nothing is marked done, the loop waits (backing off
 * from 100 ms to 5 s) and hands the same batch again, so the handler's effects must be
 * idempotent, which the design requires anyway. A batch still failing when the service stops is
 * left unmarked and replays after the restart.
 *
 * Metrics kept on the service's standard metrics: im_messages_processed_total,
 * im_messages_failed_total (records of failed attempts), im_messages_dead_lettered_total,
 * im_processing_seconds (per batch, divided by its size), plus
 * im_consumer_offset_resets_total (data skipped by the broker: logged as an error each time) and
 * im_consumer_lag_records per assigned partition (consumer_lag.h), read from the broker at each
 * scrape while the loop runs.
 */
#ifndef SHARED_PIPELINE_H
#define SHARED_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "kafka.h"

struct service;

enum pipeline_verdict {
	PIPELINE_PROCESSED = 0, /* the handler's default: its effect is part of the batch's */
	PIPELINE_DEAD_LETTER,   /* cannot be processed, ever: publish to <topic>.dlq, mark done */
};

struct pipeline_item {
	struct kafka_message msg; /* borrowed from the consumer for the batch's lifetime */
	enum pipeline_verdict verdict;
	char reason[256]; /* for DEAD_LETTER: names what is wrong */
};

/*
 * Processes items[0..n): sets verdict/reason of records it refuses; returns 0 when the effects
 * of the others are durable, -1 with err when the batch must be retried.
 */
typedef int (*pipeline_handler)(void *ctx, struct pipeline_item *items, size_t n, char *err,
                                size_t errlen);

struct pipeline_options {
	size_t max_batch;    /* records per batch; 0 means 500 */
	int max_wait_ms;     /* longest wait to fill a batch once it has a record; 0 means 20 */
	const char *service; /* name written in dead letters' dlq.service header */
};

/*
 * Runs until lifecycle_stopping(): poll, batch, handle, dead-letter, mark done. `dlq` is the
 * producer for dead letters (borrowed). On stop it finishes the batch in hand, marks what is
 * durable and commits. Returns 0, or -1 when the consumer failed fatally (logged).
 */
int pipeline_run(struct service *svc, struct kafka_consumer *consumer, struct kafka_producer *dlq,
                 const struct pipeline_options *opt, pipeline_handler fn, void *ctx);

#endif
