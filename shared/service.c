/*
 * service: the start-up and shut-down wiring every service shares (see service.h), so that a
 * service's main.c is about its own work: configuration validated as a whole, JSON logging, the
 * standard metrics, the HTTP server with its readiness checks, and draining on SIGTERM.
 */
#include "service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "http.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"
#include "xalloc.h"

/* Threads serving HTTP: two, so a slow readiness check (a ping timing out) never holds up a
 * scrape of /metrics or /healthz. */
#define HTTP_THREADS 2
/* Longest a /readyz Kafka check waits for the cluster's answer. */
#define KAFKA_READY_TIMEOUT_MS 1000

const struct config_var service_common_vars[] = {
        {"KAFKA_BROKERS", CONFIG_STRING, "127.0.0.1:9092", true, false,
         "Kafka bootstrap servers, host:port[,host:port...]",
         offsetof(struct service_settings, kafka_brokers), 0, 0},
        {"KAFKA_OPTIONS", CONFIG_STRING, NULL, false, false,
         "extra librdkafka properties, key=value[,key=value...]",
         offsetof(struct service_settings, kafka_options), 0, 0},
        {"DATABASE_URL", CONFIG_STRING, NULL, true, true,
         "PostgreSQL connection URI (libpq), e.g. postgresql://user:pass@host:5432/incidents",
         offsetof(struct service_settings, database_url), 0, 0},
        {"HTTP_ADDR", CONFIG_STRING, "127.0.0.1", true, false,
         "IP address for /healthz, /readyz, /metrics and the API",
         offsetof(struct service_settings, http_addr), 0, 0},
        {"HTTP_PORT", CONFIG_INT, "8080", true, false, "HTTP port, 0 for any free one",
         offsetof(struct service_settings, http_port), 0, 65535},
        {"HTTP_MAX_BODY", CONFIG_INT, "1048576", true, false, "largest request body, in bytes",
         offsetof(struct service_settings, http_max_body), 1, 1073741824},
        {"LOG_LEVEL", CONFIG_STRING, "info", true, false, "debug, info, warn or error",
         offsetof(struct service_settings, log_level), 0, 0},
        {"SHUTDOWN_TIMEOUT", CONFIG_MS, "10s", true, false,
         "longest drain after SIGTERM (e.g. 10s, 500ms)",
         offsetof(struct service_settings, shutdown_timeout_ms), 1, 3600000},
};
const size_t service_common_nvars = sizeof(service_common_vars) / sizeof(service_common_vars[0]);

/* Appends "; part" (or just part) to err. */
static void append_err(char *err, size_t errlen, const char *part)
{
	size_t used;

	if (!err || errlen == 0 || !part || !*part)
		return;
	used = strnlen(err, errlen);
	if (used >= errlen - 1)
		return;
	snprintf(err + used, errlen - used, "%s%s", used ? "; " : "", part);
}

/* Checks the common settings that config types cannot express. Appends to err; returns the
 * number of problems found. */
static int validate_common(const struct service_settings *s, enum log_level *level, char *err,
                           size_t errlen)
{
	struct in_addr a4;
	struct in6_addr a6;
	char part[256];
	int bad = 0;

	if (s->log_level && log_level_parse(s->log_level, level) < 0) {
		snprintf(part, sizeof(part),
		         "LOG_LEVEL: unknown level \"%.32s\" (debug, info, warn, error)",
		         s->log_level);
		append_err(err, errlen, part);
		bad++;
	}
	if (s->http_addr && inet_pton(AF_INET, s->http_addr, &a4) != 1 &&
	    inet_pton(AF_INET6, s->http_addr, &a6) != 1) {
		snprintf(part, sizeof(part), "HTTP_ADDR: not an IP address: \"%.64s\"",
		         s->http_addr);
		append_err(err, errlen, part);
		bad++;
	}
	return bad;
}

static void declare_standard_metrics(struct service *svc)
{
	struct metric *info;

	svc->processed = metrics_counter(svc->metrics, "im_messages_processed_total",
	                                 "Messages whose effect is durable.", NULL);
	svc->failed = metrics_counter(svc->metrics, "im_messages_failed_total",
	                              "Messages that failed and will be retried.", NULL);
	svc->dead_lettered = metrics_counter(
	        svc->metrics, "im_messages_dead_lettered_total",
	        "Messages sent to a dead-letter topic instead of being processed.", NULL);
	svc->latency = metrics_histogram(svc->metrics, "im_processing_seconds",
	                                 "Time to process one message, in seconds.", NULL, NULL, 0);
	info = metrics_gauge(svc->metrics, "im_service_info",
	                     "Always 1; labels name the service and its version.",
	                     "service,version");
	metric_set(info, 1, svc->name, SERVICE_VERSION);
	metrics_add_process_metrics(svc->metrics);
}

int service_init(struct service *svc, const char *name, const struct config_var *vars, size_t nvars,
                 void *settings, char *err, size_t errlen)
{
	enum log_level level = LOG_LEVEL_INFO;
	char *part = xmalloc(errlen ? errlen : 1);
	int bad = 0;
	json_t *config;
	struct http_options opt;

	if (err && errlen)
		err[0] = '\0';
	svc->name = name;
	/* Before this function builds any JSON: jansson's allocation failures then abort through
	 * xmalloc like every other, instead of coming back as NULL values that json_object_set_new
	 * and the like would quietly drop. free matches xmalloc's malloc. */
	json_set_alloc_funcs(xmalloc, free);
	lifecycle_install();

	/* Both tables are loaded whatever the first one says: every problem in one message. */
	part[0] = '\0';
	if (config_load(service_common_vars, service_common_nvars, &svc->settings, NULL, NULL, part,
	                errlen ? errlen : 1) < 0) {
		append_err(err, errlen, part);
		bad++;
	}
	part[0] = '\0';
	if (vars && nvars &&
	    config_load(vars, nvars, settings, NULL, NULL, part, errlen ? errlen : 1) < 0) {
		append_err(err, errlen, part);
		bad++;
	}
	free(part);
	bad += validate_common(&svc->settings, &level, err, errlen);
	if (bad) {
		config_free(service_common_vars, service_common_nvars, &svc->settings);
		if (vars && nvars)
			config_free(vars, nvars, settings);
		return -1;
	}

	log_init(name, level);
	config = config_describe(service_common_vars, service_common_nvars, &svc->settings);
	if (vars && nvars) {
		json_t *own = config_describe(vars, nvars, settings);

		json_object_update(config, own);
		json_decref(own);
	}
	/* "O", not "o": the log line is skipped below LOG_LEVEL info, and ours is the reference. */
	log_info("starting", "{s:s, s:O}", "version", SERVICE_VERSION, "config", config);
	json_decref(config);

	svc->metrics = metrics_new();
	declare_standard_metrics(svc);

	memset(&opt, 0, sizeof(opt));
	opt.bind_addr = svc->settings.http_addr;
	opt.port = (uint16_t)svc->settings.http_port;
	opt.max_body = (size_t)svc->settings.http_max_body;
	opt.threads = HTTP_THREADS;
	svc->http = http_server_new(&opt, svc->metrics);
	return 0;
}

static bool check_postgres(void *ctx, char *why, size_t whylen)
{
	struct service *svc = ctx;

	return db_reachable(svc->settings.database_url, why, whylen);
}

void service_ready_postgres(struct service *svc)
{
	http_server_ready_check(svc->http, "postgres", check_postgres, svc);
}

static bool check_kafka_producer(void *ctx, char *why, size_t whylen)
{
	return kafka_producer_reachable(ctx, KAFKA_READY_TIMEOUT_MS, why, whylen);
}

static bool check_kafka_consumer(void *ctx, char *why, size_t whylen)
{
	return kafka_consumer_reachable(ctx, KAFKA_READY_TIMEOUT_MS, why, whylen);
}

struct db *service_database(struct service *svc, const struct db_migration *migrations, size_t n)
{
	char err[512];
	struct db *db = db_connect(svc->settings.database_url, 60000, lifecycle_stop_flag(), err,
	                           sizeof(err));
	if (!db) {
		log_error("cannot connect to PostgreSQL", "{s:s}", "error", err);
		return NULL;
	}
	int applied = db_migrate(db, svc->name, migrations, n, err, sizeof(err));
	if (applied < 0) {
		log_error("migration failed", "{s:s}", "error", err);
		db_free(db);
		return NULL;
	}
	if (applied > 0)
		log_info("schema migrated", "{s:s, s:i}", "schema", svc->name, "applied", applied);
	return db;
}

static struct kafka_options kafka_options_of(const struct service *svc)
{
	return (struct kafka_options){svc->settings.kafka_brokers, svc->name,
	                              svc->settings.kafka_options};
}

struct kafka_producer *service_kafka_producer(struct service *svc)
{
	char err[512];
	struct kafka_options ko = kafka_options_of(svc);
	struct kafka_producer *p = kafka_producer_new(&ko, err, sizeof(err));

	if (!p)
		log_error("cannot create the Kafka producer", "{s:s}", "error", err);
	return p;
}

struct kafka_consumer *service_kafka_consumer(struct service *svc, const char *topic,
                                              const char *group)
{
	char err[512];
	struct kafka_options ko = kafka_options_of(svc);
	const char *topics[] = {topic, NULL};
	struct kafka_consumer *c = kafka_consumer_new(&ko, group, topics, err, sizeof(err));

	if (!c)
		log_error("cannot create the Kafka consumer", "{s:s, s:s}", "topic", topic, "error",
		          err);
	return c;
}

void service_ready_kafka_producer(struct service *svc, struct kafka_producer *p)
{
	http_server_ready_check(svc->http, "kafka", check_kafka_producer, p);
}

void service_ready_kafka_consumer(struct service *svc, struct kafka_consumer *c)
{
	http_server_ready_check(svc->http, "kafka", check_kafka_consumer, c);
}

int service_listen(struct service *svc, char *err, size_t errlen)
{
	if (http_server_start(svc->http, err, errlen) < 0)
		return -1;
	log_info("listening", "{s:s, s:i}", "addr", svc->settings.http_addr, "port",
	         (int)http_server_port(svc->http));
	return 0;
}

/* The drain's bound: a thread waiting SHUTDOWN_TIMEOUT for service_free to disarm it. */
struct drain_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool disarmed;       /* under lock */
	int64_t timeout_ms;
};

static void *watch_drain(void *arg)
{
	struct drain_watchdog *w = arg;
	struct timespec until = time_after_ms(CLOCK_MONOTONIC, w->timeout_ms);

	pthread_mutex_lock(&w->lock);
	while (!w->disarmed) {
		if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT &&
		    !w->disarmed) {
			log_error("the drain outlasted SHUTDOWN_TIMEOUT: exiting without finishing "
			          "it; "
			          "what was in flight is redone after the restart",
			          "{s:I, s:i}", "timeout_ms", (json_int_t)w->timeout_ms,
			          "exit_code", SERVICE_EXIT_DRAIN_TIMEOUT);
			_exit(SERVICE_EXIT_DRAIN_TIMEOUT);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void service_drain(struct service *svc)
{
	http_server_set_draining(svc->http);
	log_info("draining", "{s:i, s:I}", "signal", lifecycle_stop_signal(), "timeout_ms",
	         (json_int_t)svc->settings.shutdown_timeout_ms);
	if (svc->watchdog)
		return;
	struct drain_watchdog *w = xcalloc(1, sizeof(*w));
	pthread_condattr_t attr;

	w->timeout_ms = svc->settings.shutdown_timeout_ms;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&w->thread, NULL, watch_drain, w) != 0) {
		log_warn("the drain is not bounded: no thread for its watchdog", NULL);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return;
	}
	svc->watchdog = w;
}

static void drain_watchdog_disarm(struct drain_watchdog *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->disarmed = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void service_free(struct service *svc, const struct config_var *vars, size_t nvars, void *settings)
{
	if (!svc)
		return;
	drain_watchdog_disarm(svc->watchdog);
	svc->watchdog = NULL;
	/* The server first: its handlers may still be using the metrics. */
	http_server_free(svc->http);
	svc->http = NULL;
	metrics_free(svc->metrics);
	svc->metrics = NULL;
	svc->processed = svc->failed = svc->dead_lettered = svc->latency = NULL;
	config_free(service_common_vars, service_common_nvars, &svc->settings);
	if (vars && nvars && settings)
		config_free(vars, nvars, settings);
}
