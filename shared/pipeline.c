/* pipeline: poll, batch, handle, dead-letter, mark done (see pipeline.h). */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer_lag.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "timefmt.h"
#include "xalloc.h"

#define POLL_IDLE_MS 100
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define DLQ_TIMEOUT_MS 10000

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Fills items[] with up to max records: waits for the first, then at most max_wait_ms more. */
static size_t fill_batch(struct kafka_consumer *consumer, struct pipeline_item *items, size_t max,
                         int max_wait_ms, struct metric *resets)
{
	size_t n = 0;
	int64_t deadline = 0;
	char err[512];

	while (n < max) {
		int timeout = POLL_IDLE_MS;
		if (n) {
			timeout = (int)(deadline - time_mono_ms());
			if (timeout <= 0)
				break;
		}
		memset(&items[n], 0, sizeof(items[n]));
		switch (kafka_consumer_poll(consumer, timeout, &items[n].msg, err, sizeof(err))) {
		case KAFKA_POLL_MESSAGE:
			if (n++ == 0)
				deadline = time_mono_ms() + max_wait_ms;
			break;
		case KAFKA_POLL_NONE:
			if (n || lifecycle_stopping())
				return n;
			break;
		case KAFKA_POLL_RESET:
			/* Records this group never processed are gone: an operator must know. */
			metric_add(resets, 1);
			log_error("consumer offset reset: records were skipped", "{s:s}", "error",
			          err);
			break;
		case KAFKA_POLL_ERROR:
			log_warn("consumer error", "{s:s}", "error", err);
			if (!n)
				return 0;
			break;
		}
	}
	return n;
}

/* Publishes the batch's refused records to their dead-letter topics. Returns 0, or -1 when one
 * could not be published (the batch is then retried as a whole). */
static int dead_letter(struct kafka_producer *dlq, const char *service, struct pipeline_item *items,
                       size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (items[i].verdict != PIPELINE_DEAD_LETTER)
			continue;
		if (kafka_dead_letter(dlq, &items[i].msg, service, items[i].reason, DLQ_TIMEOUT_MS,
		                      err, errlen) < 0)
			return -1;
		log_warn("record dead-lettered", "{s:s, s:i, s:I, s:s}", "topic",
		         items[i].msg.topic, "partition", (int)items[i].msg.partition, "offset",
		         (json_int_t)items[i].msg.offset, "reason", items[i].reason);
	}
	return 0;
}

int pipeline_run(struct service *svc, struct kafka_consumer *consumer, struct kafka_producer *dlq,
                 const struct pipeline_options *opt, pipeline_handler fn, void *ctx)
{
	size_t max = opt && opt->max_batch ? opt->max_batch : 500;
	int max_wait = opt && opt->max_wait_ms ? opt->max_wait_ms : 20;
	const char *name = opt && opt->service ? opt->service : svc->name;
	struct pipeline_item *items = xcalloc(max, sizeof(*items));
	struct metric *resets =
	        metrics_counter(svc->metrics, "im_consumer_offset_resets_total",
	                        "Times the broker moved this consumer past records it never "
	                        "processed (they were deleted by retention).",
	                        NULL);
	struct consumer_lag *lag = consumer_lag_start(svc->metrics, consumer);
	char err[512];

	while (!lifecycle_stopping()) {
		size_t n = fill_batch(consumer, items, max, max_wait, resets);
		if (n == 0)
			continue;
		int64_t t0 = time_mono_ms();
		int backoff = BACKOFF_MIN_MS;
		bool durable = false;
		for (;;) {
			for (size_t i = 0; i < n; i++) {
				items[i].verdict = PIPELINE_PROCESSED;
				items[i].reason[0] = '\0';
			}
			if (fn(ctx, items, n, err, sizeof(err)) == 0 &&
			    dead_letter(dlq, name, items, n, err, sizeof(err)) == 0) {
				durable = true;
				break;
			}
			metric_add(svc->failed, (double)n);
			log_warn("batch failed; it will be handed again", "{s:s, s:i, s:i}",
			         "error", err, "records", (int)n, "retry_in_ms", backoff);
			if (lifecycle_stopping())
				break; /* unmarked: the batch replays after the restart */
			sleep_ms(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		}
		double per_record = (double)(time_mono_ms() - t0) / 1000.0 / (double)n;
		for (size_t i = 0; i < n; i++) {
			if (durable) {
				(void)kafka_consumer_done(consumer, &items[i].msg);
				if (items[i].verdict == PIPELINE_DEAD_LETTER)
					metric_add(svc->dead_lettered, 1);
				else
					metric_add(svc->processed, 1);
				metric_observe(svc->latency, per_record);
			}
			kafka_message_release(&items[i].msg);
		}
	}
	free(items);
	if (kafka_consumer_commit(consumer, err, sizeof(err)) < 0)
		log_warn("final offset commit failed; the last records will replay", "{s:s}",
		         "error", err);
	/* The caller frees the consumer next, maybe while /metrics is being served. */
	consumer_lag_stop(lag);
	return 0;
}
