/*
 * worker: the threads that attempt due deliveries. Each claims one due row at a time
 * (deliveries_claim), holds it to the channel's rate limit, attempts it once, and records the
 * outcome: sent; a temporary failure due again after an exponential backoff with jitter (or
 * the remote's retry_after), up to max_attempts; or dead, with the reason, published to the
 * dead-letter topic as well. One row per claim keeps a slow recipient from holding others
 * behind it in a batch. Each group of channels (e-mail; Telegram; webhooks; VK) has threads of
 * its own, so a relay or an API that hangs or fails holds up only its own channel, and
 * several threads per group keep one slow recipient from holding up the rest of it.
 *
 * Metrics (declared on the registry given): notifier_deliveries_sent_total{channel},
 * notifier_delivery_failures_total{channel} (failed attempts), notifier_delivery_retries_total
 * {channel} (retries scheduled), notifier_deliveries_dead_total{channel}, and
 * notifier_delivery_latency_seconds{channel} from the event's occurred_at to the remote's
 * acceptance.
 */
#ifndef NOTIFIER_WORKER_H
#define NOTIFIER_WORKER_H

#include <stdint.h>

#include "channel.h"

struct kafka_producer;
struct metrics;
struct ratelimit;

struct worker_options {
	const char *database_url;
	struct channel_config channels;
	int threads;             /* per channel group: e-mail, Telegram, webhooks, VK */
	int64_t lease_ms;        /* a claimed row's lease: longer than an attempt's deadline */
	int64_t poll_ms;         /* longest idle wait between looks for due rows */
	int max_attempts;        /* attempts before a temporary failure becomes dead */
	int64_t backoff_base_ms; /* first retry's delay; doubles per attempt */
	int64_t backoff_max_ms;  /* cap of the delay */
	struct ratelimit *telegram_limit; /* borrowed; per chat and for the bot */
	struct ratelimit *vk_limit;       /* borrowed; for the community's token, key "vk" */
	struct kafka_producer *dlq;       /* borrowed; dead deliveries are published with it */
	const char *dlq_topic;
};

struct workers;

/* Starts opt->threads threads. opt and what it points to must outlive the workers. */
struct workers *workers_start(const struct worker_options *opt, struct metrics *metrics);

/* Wakes idle workers: new rows were committed. */
void workers_wake(struct workers *w);

/* Waits for the threads to finish their attempt in hand (they stop once lifecycle_stopping()
 * is true) and frees. NULL is accepted. */
void workers_stop(struct workers *w);

/* The delay before retry `attempt` (1-based): base * 2^(attempt-1), capped at max, of which
 * a random half is kept ("equal jitter"), so retries of many rows spread out. */
int64_t worker_backoff_ms(int64_t base_ms, int64_t max_ms, int attempt, unsigned *seed);

#endif
