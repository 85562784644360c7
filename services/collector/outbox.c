/* outbox: from the collector's table to messages.raw, acknowledged (see outbox.h). */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"
#include "xalloc.h"

#define ACK_TIMEOUT_MS 15000

int outbox_round(struct collector *c, struct db *db, int *published, char *err, size_t errlen)
{
	struct outbox_entry *entries;
	size_t n;

	*published = 0;
	if (store_outbox_take(db, (int)c->settings.outbox_batch, &entries, &n, err, errlen) < 0)
		return -1;
	if (n == 0) {
		db_rollback(db);
		store_outbox_free(entries, n);
		return 0;
	}
	struct kafka_delivery *d = xcalloc(n, sizeof(*d));
	bool *acked = xcalloc(n, sizeof(*acked));
	int rc = 0;
	size_t produced = 0;
	for (size_t i = 0; i < n; i++) {
		if (kafka_produce(c->producer, c->settings.topic, entries[i].id,
		                  strlen(entries[i].id), entries[i].record, entries[i].record_len,
		                  NULL, &d[i], err, errlen) < 0) {
			rc = -1;
			break;
		}
		produced++;
	}
	/* Settled: whatever happens, no delivery in d is still open after this. */
	if (kafka_producer_settle(c->producer, ACK_TIMEOUT_MS, NULL) < 0 && rc == 0) {
		snprintf(err, errlen, "Kafka did not acknowledge within %d ms", ACK_TIMEOUT_MS);
		rc = -1;
	}
	for (size_t i = 0; i < produced; i++) {
		acked[i] = d[i].done && d[i].err == 0;
		if (acked[i])
			(*published)++;
		else if (rc == 0 && d[i].done) {
			snprintf(err, errlen, "Kafka rejected a record: %s", d[i].errstr);
			rc = -1;
		}
	}
	/* Mark what the broker has, whatever happened to the rest: they stay queued. */
	char err2[256];
	if (store_outbox_done(db, entries, acked, n, err2, sizeof(err2)) < 0) {
		snprintf(err, errlen, "marking published: %s", err2);
		rc = -1;
		*published = 0;
	}
	metric_add(c->published, *published);
	if (produced < n || rc < 0)
		metric_add(c->svc.failed, (double)(n - (size_t)*published));
	free(d);
	free(acked);
	store_outbox_free(entries, n);
	return rc;
}

/* Waits until woken or ms pass. */
static void wait_for_work(struct collector *c, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&c->wake_lock);
	while (!c->woken && !lifecycle_stopping())
		if (pthread_cond_timedwait(&c->wake, &c->wake_lock, &until) == ETIMEDOUT)
			break;
	c->woken = false;
	pthread_mutex_unlock(&c->wake_lock);
}

static void update_backlog(struct collector *c, struct db *db)
{
	char err[256];
	int64_t backlog = store_outbox_backlog(db, err, sizeof(err));
	if (backlog >= 0)
		metric_set(c->backlog, (double)backlog);
}

void outbox_run(struct collector *c, struct db *db)
{
	int backoff = 100;
	int64_t last_backlog = 0;
	char err[512];

	for (;;) {
		bool stopping = lifecycle_stopping();
		int published = 0;
		int rc = -1;

		if (db_ensure(db, 1000, NULL, err, sizeof(err)) == 0)
			rc = outbox_round(c, db, &published, err, sizeof(err));
		if (time_mono_ms() - last_backlog > 1000 && db_ok(db)) {
			update_backlog(c, db);
			last_backlog = time_mono_ms();
		}
		if (rc < 0) {
			log_warn("outbox round failed; messages stay queued", "{s:s, s:i}", "error",
			         err, "retry_in_ms", backoff);
			if (stopping)
				return;
			struct timespec ts = {backoff / 1000, (long)(backoff % 1000) * 1000000L};
			nanosleep(&ts, NULL);
			backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
			continue;
		}
		backoff = 100;
		if (published == (int)c->settings.outbox_batch)
			continue; /* more waiting: no pause */
		if (stopping)
			return;
		wait_for_work(c, 200);
	}
}
