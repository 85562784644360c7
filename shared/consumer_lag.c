/*
 * consumer_lag: im_consumer_lag_records refreshed on each render (see consumer_lag.h).
 *
 * The render hook of a registry cannot be removed and has no destructor, so it is registered
 * with the registry itself as context, and the live exports are found in a list of this file,
 * under one lock: consumer_lag_stop() unlinks its export under that lock, which is how a scrape
 * and the freeing of a consumer never overlap.
 */
#include "consumer_lag.h"

#include "xalloc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one scrape may wait for the broker (a healthy one answers in tens of milliseconds). It
 * also bounds how long consumer_lag_stop() can wait for a scrape in progress, which comes out
 * of a service's drain (SHUTDOWN_TIMEOUT, 10 s by default) when the broker is gone. */
#define SCRAPE_BUDGET_MS 2000

struct consumer_lag {
	struct consumer_lag *next;
	struct metrics *reg;
	struct metric *gauge;
	struct kafka_consumer *consumer;
	struct kafka_partition_lag *shown; /* the series set by the last refresh */
	size_t nshown;
};

static pthread_mutex_t exports_lock = PTHREAD_MUTEX_INITIALIZER;
static struct consumer_lag *exports; /* under exports_lock */

static bool contains(const struct kafka_partition_lag *l, size_t n,
                     const struct kafka_partition_lag *p)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].partition == p->partition && strcmp(l[i].topic, p->topic) == 0)
			return true;
	return false;
}

/* Removes the shown series that are not in keep[]. */
static void remove_shown(struct consumer_lag *x, const struct kafka_partition_lag *keep,
                         size_t nkeep)
{
	char part[16];
	for (size_t i = 0; i < x->nshown; i++) {
		if (contains(keep, nkeep, &x->shown[i]))
			continue;
		snprintf(part, sizeof(part), "%" PRId32, x->shown[i].partition);
		metric_remove(x->gauge, x->shown[i].topic, part);
	}
}

/* exports_lock held. */
static void refresh(struct consumer_lag *x)
{
	char err[256], part[16];
	size_t n;
	struct kafka_partition_lag *now =
	        kafka_consumer_lag(x->consumer, SCRAPE_BUDGET_MS, &n, err, sizeof(err));
	if (!now)
		return; /* broker unreachable: keep the last figures (see the header) */
	for (size_t i = 0; i < n; i++) {
		snprintf(part, sizeof(part), "%" PRId32, now[i].partition);
		metric_set(x->gauge, (double)now[i].lag, now[i].topic, part);
	}
	remove_shown(x, now, n);
	free(x->shown);
	x->shown = now;
	x->nshown = n;
}

static void collect(void *ctx)
{
	struct metrics *reg = ctx;
	pthread_mutex_lock(&exports_lock);
	for (struct consumer_lag *x = exports; x; x = x->next)
		if (x->reg == reg)
			refresh(x);
	pthread_mutex_unlock(&exports_lock);
}

struct consumer_lag *consumer_lag_start(struct metrics *reg, struct kafka_consumer *c)
{
	struct consumer_lag *x = xcalloc(1, sizeof(*x));
	bool hooked = false;
	x->reg = reg;
	x->consumer = c;
	x->gauge = metrics_gauge(reg, "im_consumer_lag_records",
	                         "Records of a partition assigned to this consumer that its group "
	                         "has not yet processed: the partition's high watermark minus the "
	                         "group's committed offset, read from the broker at each scrape.",
	                         "topic,partition");
	pthread_mutex_lock(&exports_lock);
	/* A registry with a live export has the hook already. One whose exports all stopped gets
	 * a second: harmless (a refresh repeated), where trusting a remembered registry address
	 * could leave a new registry at the same address without any. */
	for (struct consumer_lag *o = exports; o; o = o->next)
		hooked = hooked || o->reg == reg;
	x->next = exports;
	exports = x;
	pthread_mutex_unlock(&exports_lock);
	if (!hooked)
		metrics_on_render(reg, collect, reg);
	return x;
}

void consumer_lag_stop(struct consumer_lag *x)
{
	if (!x)
		return;
	pthread_mutex_lock(&exports_lock);
	struct consumer_lag **p = &exports;
	while (*p != x)
		p = &(*p)->next;
	*p = x->next;
	remove_shown(x, NULL, 0);
	pthread_mutex_unlock(&exports_lock);
	free(x->shown);
	free(x);
}
