/* worker: claim, rate-limit, attempt, record (see worker.h). */
#include "worker.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "deliveries.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "timefmt.h"
#include "xalloc.h"

/* The channel groups, each with threads of its own (PostgreSQL array literals). */
static const char *const channel_groups[] = {
        "{" CHANNEL_EMAIL "}",
        "{" CHANNEL_TELEGRAM "," CHANNEL_TELEGRAM_REPLY "}",
        "{" CHANNEL_WEBHOOK "}",
        "{" CHANNEL_VK_REPLY "}",
};
#define NGROUPS (sizeof(channel_groups) / sizeof(channel_groups[0]))

struct worker_thread {
	struct workers *w;
	const char *channels;
	pthread_t thread;
};

struct workers {
	const struct worker_options *opt;
	struct worker_thread *threads;
	int nthreads;
	pthread_mutex_t lock;     /* guards `wakeups` */
	pthread_mutex_t dlq_lock; /* one dead letter at a time through the producer */
	pthread_cond_t cond;
	unsigned long wakeups;
	struct metric *sent, *failed, *retried, *dead, *latency;
};

int64_t worker_backoff_ms(int64_t base_ms, int64_t max_ms, int attempt, unsigned *seed)
{
	int64_t delay = base_ms;
	for (int i = 1; i < attempt && delay < max_ms; i++)
		delay *= 2;
	if (delay > max_ms)
		delay = max_ms;
	int64_t half = delay / 2;
	return delay - half + (half > 0 ? (int64_t)(rand_r(seed) % (half + 1)) : 0);
}

/* Publishes the dead delivery to the dead-letter topic (best effort: the row is the record). */
static void publish_dead(struct workers *w, const struct delivery *d, const char *reason)
{
	const struct worker_options *o = w->opt;
	struct kafka_delivery kd = {0};
	char err[256], id[24], key[24];

	if (!o->dlq || !o->dlq_topic)
		return;
	snprintf(id, sizeof(id), "%" PRId64, d->id);
	snprintf(key, sizeof(key), "%" PRId64, d->incident_id);
	json_t *rec = json_pack("{s:s, s:I, s:s, s:s, s:I, s:i, s:s, s:O}", "schema",
	                        "notifier_dead_delivery.v1", "delivery_id", (json_int_t)d->id,
	                        "idempotency_key", d->key, "channel", d->channel, "incident_id",
	                        (json_int_t)d->incident_id, "attempts", d->attempts, "reason",
	                        reason, "payload", d->payload ? d->payload : json_null());
	char *value = json_dumps(rec, JSON_COMPACT);
	const char *headers[] = {"dlq.reason",      reason, "dlq.service", "notifier",
	                         "dlq.delivery_id", id,     NULL};
	json_decref(rec);
	pthread_mutex_lock(&w->dlq_lock);
	int rc = kafka_produce(o->dlq, o->dlq_topic, key, strlen(key), value, strlen(value),
	                       headers, &kd, err, sizeof(err));
	if (rc == 0 && (kafka_producer_settle(o->dlq, 10000, NULL) < 0 || !kd.done || kd.err)) {
		snprintf(err, sizeof(err), "%s", kd.done ? kd.errstr : "not acknowledged in time");
		rc = -1;
	}
	pthread_mutex_unlock(&w->dlq_lock);
	if (rc < 0)
		log_error("dead delivery not published to the dead-letter topic (it stays dead in "
		          "the "
		          "table)",
		          "{s:I, s:s, s:s}", "delivery", (json_int_t)d->id, "topic", o->dlq_topic,
		          "error", err);
	free(value);
}

/* The limiter a delivery is held to and its key there (Telegram: the chat; VK: the one
 * community token), or NULL for channels without a limit. */
static struct ratelimit *limit_for(const struct worker_options *o, const struct delivery *d,
                                   char *key, size_t len)
{
	if (strcmp(d->channel, CHANNEL_VK_REPLY) == 0) {
		snprintf(key, len, "vk");
		return o->vk_limit;
	}
	if (strcmp(d->channel, CHANNEL_TELEGRAM) != 0 &&
	    strcmp(d->channel, CHANNEL_TELEGRAM_REPLY) != 0)
		return NULL;
	json_t *chat = json_object_get(d->payload, "chat_id");
	if (json_is_integer(chat))
		snprintf(key, len, "%" JSON_INTEGER_FORMAT, json_integer_value(chat));
	else
		snprintf(key, len, "%s", json_is_string(chat) ? json_string_value(chat) : "");
	return o->telegram_limit;
}

/* One claimed row: attempt it and record what happened. */
static void attempt(struct workers *w, struct db *db, struct delivery *d, unsigned *seed)
{
	const struct worker_options *o = w->opt;
	struct send_result r;
	char err[512], lkey[96];
	struct ratelimit *limit = limit_for(o, d, lkey, sizeof(lkey));
	int rc;

	if (limit) {
		int64_t wait = ratelimit_take(limit, lkey, time_mono_ms());
		if (wait > 0) {
			if (deliveries_defer(db, d->id, wait, err, sizeof(err)) < 0)
				log_warn("cannot defer a rate-limited delivery", "{s:I, s:s}",
				         "delivery", (json_int_t)d->id, "error", err);
			return;
		}
	}
	channel_send(&o->channels, d->channel, d->key, d->payload, &r);
	if (r.outcome == SEND_OK) {
		rc = deliveries_mark_sent(db, d->id, r.remote_id, r.link, err, sizeof(err));
		metric_add(w->sent, 1, d->channel);
		double latency = (double)(time_now_ms() - d->occurred_at) / 1000.0;
		metric_observe(w->latency, latency > 0 ? latency : 0, d->channel);
		log_info("delivered", "{s:I, s:s, s:i, s:s}", "delivery", (json_int_t)d->id,
		         "channel", d->channel, "attempt", d->attempts, "link", r.link);
	} else {
		if (!lifecycle_stopping())
			metric_add(w->failed, 1, d->channel);
		if (limit && r.retry_after_s > 0)
			ratelimit_block(limit, lkey,
			                time_mono_ms() + (int64_t)r.retry_after_s * 1000);
		if (r.outcome == SEND_TEMPORARY && lifecycle_stopping()) {
			/* Cut short by the shutdown, not failed: the attempt is given back and the
			 * row is due at once for the next start (or another replica). */
			rc = deliveries_defer(db, d->id, 0, err, sizeof(err));
			log_info("attempt interrupted by shutdown; left due", "{s:I, s:s}",
			         "delivery", (json_int_t)d->id, "channel", d->channel);
		} else if (r.outcome == SEND_TEMPORARY && d->attempts < o->max_attempts) {
			int64_t delay = r.retry_after_s > 0 ? (int64_t)r.retry_after_s * 1000
			                                    : worker_backoff_ms(o->backoff_base_ms,
			                                                        o->backoff_max_ms,
			                                                        d->attempts, seed);
			rc = deliveries_mark_retry(db, d->id, delay, r.error, err, sizeof(err));
			metric_add(w->retried, 1, d->channel);
			log_warn("delivery failed, will retry", "{s:I, s:s, s:i, s:I, s:s}",
			         "delivery", (json_int_t)d->id, "channel", d->channel, "attempt",
			         d->attempts, "retry_in_ms", (json_int_t)delay, "error", r.error);
		} else {
			char reason[600];
			snprintf(reason, sizeof(reason), "%s%s",
			         r.outcome == SEND_TEMPORARY ? "out of attempts: " : "", r.error);
			publish_dead(w, d, reason);
			rc = deliveries_mark_dead(db, d->id, reason, err, sizeof(err));
			metric_add(w->dead, 1, d->channel);
			log_error("delivery dead-lettered", "{s:I, s:s, s:i, s:s}", "delivery",
			          (json_int_t)d->id, "channel", d->channel, "attempt", d->attempts,
			          "reason", reason);
		}
	}
	/* The row stays "sending": after its lease it is attempted once more, which is the
	 * price of not knowing; the outcome is not lost silently. */
	if (rc < 0)
		log_error("cannot record a delivery's outcome", "{s:I, s:s}", "delivery",
		          (json_int_t)d->id, "error", err);
}

static void idle_wait(struct workers *w, unsigned long seen)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	int64_t ns = until.tv_nsec + (w->opt->poll_ms % 1000) * 1000000;
	until.tv_sec += (time_t)(w->opt->poll_ms / 1000 + ns / 1000000000);
	until.tv_nsec = (long)(ns % 1000000000);
	pthread_mutex_lock(&w->lock);
	if (w->wakeups == seen && !lifecycle_stopping())
		pthread_cond_timedwait(&w->cond, &w->lock, &until);
	pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg)
{
	struct worker_thread *t = arg;
	struct workers *w = t->w;
	const struct worker_options *o = w->opt;
	unsigned seed = (unsigned)time_now_ms() ^ (unsigned)(uintptr_t)pthread_self();
	char err[512];
	struct db *db = NULL;

	while (!lifecycle_stopping()) {
		pthread_mutex_lock(&w->lock);
		unsigned long seen = w->wakeups;
		pthread_mutex_unlock(&w->lock);
		if (!db)
			db = db_connect(o->database_url, 5000, lifecycle_stop_flag(), err,
			                sizeof(err));
		if (!db || db_ensure(db, 5000, lifecycle_stop_flag(), err, sizeof(err)) < 0) {
			log_warn("worker: PostgreSQL unavailable", "{s:s}", "error", err);
			idle_wait(w, seen);
			continue;
		}
		struct delivery d;
		int rc = deliveries_claim(db, o->lease_ms, t->channels, &d, err, sizeof(err));
		if (rc < 0)
			log_warn("worker: claim failed", "{s:s}", "error", err);
		if (rc <= 0) {
			idle_wait(w, seen);
			continue;
		}
		attempt(w, db, &d, &seed);
		delivery_clear(&d);
	}
	db_free(db);
	return NULL;
}

struct workers *workers_start(const struct worker_options *opt, struct metrics *metrics)
{
	struct workers *w = xcalloc(1, sizeof(*w));
	w->opt = opt;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->dlq_lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->sent = metrics_counter(metrics, "notifier_deliveries_sent_total",
	                          "Deliveries the remote accepted, by channel.", "channel");
	w->failed = metrics_counter(metrics, "notifier_delivery_failures_total",
	                            "Failed delivery attempts, by channel.", "channel");
	w->retried = metrics_counter(metrics, "notifier_delivery_retries_total",
	                             "Retries scheduled after a temporary failure, by channel.",
	                             "channel");
	w->dead = metrics_counter(metrics, "notifier_deliveries_dead_total",
	                          "Deliveries dead-lettered, by channel.", "channel");
	static const double buckets[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
	w->latency = metrics_histogram(metrics, "notifier_delivery_latency_seconds",
	                               "From the event's occurred_at to the remote's acceptance.",
	                               "channel", buckets, sizeof(buckets) / sizeof(buckets[0]));
	w->threads = xcalloc(NGROUPS * (size_t)opt->threads, sizeof(*w->threads));
	for (size_t g = 0; g < NGROUPS; g++)
		for (int i = 0; i < opt->threads; i++) {
			struct worker_thread *t = &w->threads[w->nthreads];
			t->w = w;
			t->channels = channel_groups[g];
			if (pthread_create(&t->thread, NULL, worker_main, t) != 0) {
				log_error("cannot start a worker thread", NULL);
				return w;
			}
			w->nthreads++;
		}
	return w;
}

void workers_wake(struct workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->wakeups++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void workers_stop(struct workers *w)
{
	if (!w)
		return;
	workers_wake(w);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i].thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->dlq_lock);
	free(w->threads);
	free(w);
}
