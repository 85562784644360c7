/*
 * consumer_lag: exports a consumer's lag as the gauge im_consumer_lag_records{topic,partition}
 * on a metrics registry, computed at each scrape (kafka_consumer_lag: high watermark minus the
 * group's committed offset, asked of the broker then, so the figure keeps growing while the
 * consumer is stuck on a batch and polls nothing).
 *
 * Only partitions assigned to this member are shown: a partition revoked from it (another
 * replica owns it now, and reports it) disappears at the next scrape. When the broker does not
 * answer within the scrape's budget, the last figures stay (a blip must not reset an alert's
 * `for`), and a consumer never reported shows nothing.
 *
 * Lifetime: /metrics renders on the HTTP server's threads, so the export is detached by
 * consumer_lag_stop() before the consumer may be freed; a scrape running then finishes first,
 * and later scrapes no longer touch the consumer, whatever order the service frees things in.
 */
#ifndef SHARED_CONSUMER_LAG_H
#define SHARED_CONSUMER_LAG_H

#include "kafka.h"
#include "metrics.h"

struct consumer_lag;

/* Starts reporting c's lag on reg (both borrowed; reg must outlive the process's scrapes, as a
 * service's registry does). Returns a handle for consumer_lag_stop. */
struct consumer_lag *consumer_lag_start(struct metrics *reg, struct kafka_consumer *c);

/* Stops reporting: removes the series this export set and forgets the consumer, waiting for a
 * scrape in progress. After it returns the consumer may be freed. NULL is accepted. */
void consumer_lag_stop(struct consumer_lag *x);

#endif
