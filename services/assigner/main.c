/*
 * assigner: turns classified messages (messages.classified) into incidents someone is
 * accountable for — grouped reports (intake.h), routed by the region pack's rules with
 * working-time deadlines (region.h, workcal.h), driven through their lifecycle by operators
 * (actions.h, the HTTP API of api.h) and by the deadline scheduler (scheduler.h) — and
 * publishes every change to incidents.events from its outbox (outbox.h).
 *
 * Threads: the main one runs the consumer (pipeline_run); one publishes the outbox; one runs
 * the scheduler; the HTTP server's threads serve the API from a connection pool. Each thread
 * has its own database connection.
 *
 *   assigner           run the service
 *   assigner --help    the settings
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "api.h"
#include "classified.h"
#include "db.h"
#include "files.h"
#include "grouping.h"
#include "http.h"
#include "intake.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "pipeline.h"
#include "region.h"
#include "scheduler.h"
#include "service.h"
#include "timefmt.h"
#include "xalloc.h"

extern const struct db_migration assigner_migrations[];
extern const size_t assigner_migrations_count;

struct settings {
	char *input_topic;
	char *output_topic;
	char *group;
	char *region_dir;
	int64_t group_window_ms;
	int64_t similarity_pct;
	int64_t min_confidence_pct;
	int64_t affected_high;
	int64_t scheduler_interval_ms;
	int64_t batch;
	int64_t outbox_batch;
	int64_t db_pool_size;
	struct api_settings api;
};

#define S(field) offsetof(struct settings, field)
static const struct config_var assigner_vars[] = {
        {"INPUT_TOPIC", CONFIG_STRING, "messages.classified", true, false,
         "topic of classified.v1 records", S(input_topic), 0, 0},
        {"OUTPUT_TOPIC", CONFIG_STRING, "incidents.events", true, false,
         "topic the incident_event.v1 records go to", S(output_topic), 0, 0},
        {"CONSUMER_GROUP", CONFIG_STRING, "assigner", true, false, "Kafka consumer group", S(group),
         0, 0},
        {"REGION_DIR", CONFIG_STRING, NULL, false, false,
         "region pack (default: <binary>/../share/regions/khakassia)", S(region_dir), 0, 0},
        {"GROUP_WINDOW", CONFIG_MS, "72h", true, false,
         "a report joins an open incident whose last report is at most this far from it",
         S(group_window_ms), 60000, 90LL * 24 * 3600 * 1000},
        {"GROUP_SIMILARITY", CONFIG_INT, "30", true, false,
         "text similarity (Dice of word stems, percent) at which reports are one problem",
         S(similarity_pct), 1, 100},
        {"MIN_CONFIDENCE", CONFIG_INT, "60", true, false,
         "incident probability (percent) below which a new incident goes to moderation",
         S(min_confidence_pct), 0, 100},
        {"AFFECTED_HIGH", CONFIG_INT, "5", true, false,
         "affected citizens (distinct authors) that make an incident high-urgency",
         S(affected_high), 1, 1000000},
        {"SCHEDULER_INTERVAL", CONFIG_MS, "30s", true, false,
         "how often reminders, overdue marks and escalations are looked for",
         S(scheduler_interval_ms), 100, 3600000},
        {"BATCH_SIZE", CONFIG_INT, "1000", true, false, "classified records handled per batch",
         S(batch), 1, 10000},
        {"OUTBOX_BATCH", CONFIG_INT, "500", true, false, "events published per outbox round",
         S(outbox_batch), 1, 10000},
        {"DB_POOL_SIZE", CONFIG_INT, "4", true, false, "database connections of the HTTP API",
         S(db_pool_size), 1, 100},
        API_SETTINGS_VARS(struct settings, api),
};
#undef S
#define NVARS (sizeof(assigner_vars) / sizeof(assigner_vars[0]))

struct app {
	struct service svc;
	struct settings settings;
	struct region *region;
	struct action_env env;
	struct intake_settings intake;
	struct grouping *grouping;
	struct db *db; /* the consumer's */
	struct kafka_producer *producer;
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	bool woken;
	struct metric *opened, *joined, *moderated, *raised, *published, *backlog, *scheduled;
};

/* Wakes the publisher: new events were committed. */
static void wake_publisher(struct app *a)
{
	pthread_mutex_lock(&a->wake_lock);
	a->woken = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->wake_lock);
}

/* Waits until woken, stopping, or ms pass. */
static void wait_for_work(struct app *a, int64_t ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&a->wake_lock);
	while (!a->woken && !lifecycle_stopping())
		if (pthread_cond_timedwait(&a->wake, &a->wake_lock, &until) == ETIMEDOUT)
			break;
	a->woken = false;
	pthread_mutex_unlock(&a->wake_lock);
}

/* Decodes the batch and stores it; refuses records that are not classified.v1. */
static int handle(void *ctx, struct pipeline_item *items, size_t n, char *err, size_t errlen)
{
	struct app *a = ctx;
	struct classified *r = xcalloc(n, sizeof(*r));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct field_error fe;
		if (classified_decode_bytes(items[i].msg.value, items[i].msg.len, &r[k], &fe) < 0) {
			items[i].verdict = PIPELINE_DEAD_LETTER;
			snprintf(items[i].reason, sizeof(items[i].reason),
			         "not a classified.v1 record: %.60s%s%.150s", fe.field,
			         fe.field[0] ? ": " : "", fe.message);
			continue;
		}
		k++;
	}
	struct intake_counts c = {0};
	int rc = -1;
	if (db_ensure(a->db, 5000, lifecycle_stop_flag(), err, errlen) == 0 &&
	    intake_store(a->db, a->grouping, &a->env, &a->intake, r, k, time_now_ms(), &c, err,
	                 errlen) == 0) {
		rc = 0;
		metric_add(a->opened, (double)c.opened);
		metric_add(a->joined, (double)c.joined);
		metric_add(a->moderated, (double)c.moderated);
		metric_add(a->raised, (double)c.raised);
		if (c.opened || c.raised)
			wake_publisher(a);
	}
	for (size_t i = 0; i < k; i++)
		classified_clear(&r[i]);
	free(r);
	return rc;
}

/* Rounds of the outbox until stopping, then a last one so committed events leave. */
static void *publisher(void *arg)
{
	struct app *a = arg;
	char err[512];
	int backoff = 100;
	struct db *db = db_connect(a->svc.settings.database_url, 60000, lifecycle_stop_flag(), err,
	                           sizeof(err));
	if (!db) {
		log_error("outbox: cannot connect to PostgreSQL", "{s:s}", "error", err);
		return NULL;
	}
	for (;;) {
		bool stopping = lifecycle_stopping();
		int published = 0, rc = -1;
		long pending = -1;
		if (db_ensure(db, 1000, NULL, err, sizeof(err)) == 0)
			rc = outbox_round(db, a->producer, a->settings.output_topic,
			                  (int)a->settings.outbox_batch, &published, &pending, err,
			                  sizeof(err));
		metric_add(a->published, published);
		if (pending >= 0)
			metric_set(a->backlog, (double)pending);
		if (rc < 0) {
			log_warn("outbox round failed; events stay queued", "{s:s, s:i}", "error",
			         err, "retry_in_ms", backoff);
			if (stopping)
				break;
			wait_for_work(a, backoff);
			backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
			continue;
		}
		backoff = 100;
		if (pending > 0 && published > 0)
			continue; /* more waiting: no pause */
		if (stopping)
			break;
		wait_for_work(a, 200);
	}
	db_free(db);
	return NULL;
}

/* Scheduler rounds every SCHEDULER_INTERVAL until stopping. */
static void *scheduler(void *arg)
{
	struct app *a = arg;
	char err[512];
	struct db *db = db_connect(a->svc.settings.database_url, 60000, lifecycle_stop_flag(), err,
	                           sizeof(err));
	if (!db) {
		log_error("scheduler: cannot connect to PostgreSQL", "{s:s}", "error", err);
		return NULL;
	}
	while (!lifecycle_stopping()) {
		struct scheduler_counts c = {0};
		if (db_ensure(db, 1000, NULL, err, sizeof(err)) < 0 ||
		    scheduler_round(db, &a->env, time_now_ms(), 500, &c, err, sizeof(err)) < 0) {
			log_warn("scheduler round failed; retried next interval", "{s:s}", "error",
			         err);
		} else {
			metric_add(a->scheduled, (double)c.reminders, "reminder");
			metric_add(a->scheduled, (double)c.overdue, "overdue");
			metric_add(a->scheduled, (double)c.escalated, "escalated");
			if (c.reminders || c.overdue)
				wake_publisher(a);
		}
		int64_t until = time_mono_ms() + a->settings.scheduler_interval_ms;
		while (!lifecycle_stopping() && time_mono_ms() < until) {
			struct timespec ts = {0, 50 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	db_free(db);
	return NULL;
}

static void add_metrics(struct app *a)
{
	struct metrics *m = a->svc.metrics;
	a->opened = metrics_counter(m, "assigner_incidents_opened_total",
	                            "Incidents opened from classified reports.", NULL);
	a->joined = metrics_counter(m, "assigner_reports_joined_total",
	                            "Reports that joined an open incident.", NULL);
	a->moderated = metrics_counter(m, "assigner_incidents_moderation_total",
	                               "New incidents sent to the moderation queue.", NULL);
	a->raised = metrics_counter(m, "assigner_urgency_raised_total",
	                            "Incidents raised to high urgency by later reports.", NULL);
	a->published = metrics_counter(m, "assigner_events_published_total",
	                               "incident_event.v1 records acknowledged by Kafka.", NULL);
	a->backlog = metrics_gauge(m, "assigner_outbox_backlog",
	                           "Events committed and not yet published.", NULL);
	a->scheduled = metrics_counter(m, "assigner_scheduler_actions_total",
	                               "Reminders, overdue marks and escalations made.", "action");
}

static int run_service(void)
{
	static struct app a = {.wake_lock = PTHREAD_MUTEX_INITIALIZER,
	                       .wake = PTHREAD_COND_INITIALIZER};
	struct kafka_consumer *consumer = NULL;
	struct db_pool *pool = NULL;
	struct api *api = NULL;
	pthread_t pub, sched;
	bool threads = false;
	char err[1024];
	int status = 1;

	if (service_init(&a.svc, "assigner", assigner_vars, NVARS, &a.settings, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "assigner: %s\n", err);
		return 2;
	}
	char *rdir = a.settings.region_dir ? xstrdup(a.settings.region_dir)
	                                   : file_share_path("regions/khakassia");
	a.region = region_load(rdir, err, sizeof(err));
	free(rdir);
	a.grouping = a.region ? grouping_new(err, sizeof(err)) : NULL;
	if (!a.grouping) {
		log_error("cannot load the region pack", "{s:s}", "error", err);
		status = 2;
		goto out;
	}
	a.env = (struct action_env){a.region, a.settings.api.public_url};
	a.intake = (struct intake_settings){
	        .group_window_ms = a.settings.group_window_ms,
	        .min_confidence = (double)a.settings.min_confidence_pct / 100.0,
	        .similarity = (double)a.settings.similarity_pct / 100.0,
	        .affected_high = a.settings.affected_high,
	};
	add_metrics(&a);
	a.db = service_database(&a.svc, assigner_migrations, assigner_migrations_count);
	if (!a.db)
		goto out;
	pool = db_pool_new(a.svc.settings.database_url, (int)a.settings.db_pool_size);
	api = api_new(&a.svc, pool, a.region, &a.settings.api, err, sizeof(err));
	if (!api) {
		log_error("bad API settings", "{s:s}", "error", err);
		status = 2;
		goto out;
	}
	a.producer = service_kafka_producer(&a.svc);
	if (a.producer)
		consumer = service_kafka_consumer(&a.svc, a.settings.input_topic, a.settings.group);
	if (!consumer) {
		status = 2;
		goto out;
	}
	service_ready_postgres(&a.svc);
	service_ready_kafka_producer(&a.svc, a.producer);
	if (service_listen(&a.svc, err, sizeof(err)) < 0) {
		log_error("cannot start the HTTP server", "{s:s}", "error", err);
		goto out;
	}
	if (pthread_create(&pub, NULL, publisher, &a) != 0 ||
	    pthread_create(&sched, NULL, scheduler, &a) != 0) {
		log_error("cannot start the publisher and scheduler threads", NULL);
		lifecycle_request_stop();
	} else {
		threads = true;
	}
	log_info("assigner running", "{s:s, s:s, s:s}", "region", region_name(a.region), "input",
	         a.settings.input_topic, "output", a.settings.output_topic);
	struct pipeline_options po = {.max_batch = (size_t)a.settings.batch, .service = "assigner"};
	if (threads)
		pipeline_run(&a.svc, consumer, a.producer, &po, handle, &a);
	service_drain(&a.svc);
	status = threads ? 0 : 1;
out:
	if (threads) {
		wake_publisher(&a);
		pthread_join(sched, NULL);
		pthread_join(pub, NULL);
	}
	kafka_consumer_free(consumer);
	/* The API's handlers use the pool and the region: stop serving before freeing them. */
	http_server_free(a.svc.http);
	a.svc.http = NULL;
	api_free(api);
	db_pool_free(pool);
	kafka_producer_free(a.producer);
	db_free(a.db);
	grouping_free(a.grouping);
	region_free(a.region);
	log_info("stopped", "{s:i}", "status", status);
	service_free(&a.svc, assigner_vars, NVARS, &a.settings);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: assigner\n\nsettings (environment):\n");
		config_print_help(service_common_vars, service_common_nvars, stdout);
		config_print_help(assigner_vars, NVARS, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: assigner (--help for settings)\n");
		return 2;
	}
	return run_service();
}
