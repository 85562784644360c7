/*
 * service: the wiring every service shares, so that a service's main.c is only about its own
 * work. service_init() installs the signal handlers, loads the common settings together with
 * the service's own table (every bad variable of both reported at once), starts JSON logging,
 * logs the effective configuration with secrets redacted, creates the metrics registry with the
 * standard metrics, and creates (not yet starts) the HTTP server.
 *
 * Common settings (every service reads them):
 *   KAFKA_BROKERS     bootstrap servers                      (default 127.0.0.1:9092)
 *   KAFKA_OPTIONS     extra librdkafka properties k=v,...    (default none)
 *   DATABASE_URL      libpq URI of PostgreSQL; secret        (required)
 *   HTTP_ADDR         address for /healthz /readyz /metrics  (default 127.0.0.1)
 *   HTTP_PORT         port, 0 for any free one               (default 8080)
 *   HTTP_MAX_BODY     request body limit in bytes            (default 1048576)
 *   LOG_LEVEL         debug, info, warn, error               (default info)
 *   SHUTDOWN_TIMEOUT  longest drain on SIGTERM               (default 10s): a drain still
 *                     running then is cut short, the process exiting with
 *                     SERVICE_EXIT_DRAIN_TIMEOUT (see service_drain)
 *
 * Standard metrics (names prefixed im_, label-free so every dashboard query works for every
 * service, told apart by Prometheus' job label):
 *   im_messages_processed_total, im_messages_failed_total, im_messages_dead_lettered_total,
 *   im_processing_seconds (histogram), im_service_info{service,version} = 1, plus the process_*
 *   gauges of metrics_add_process_metrics.
 */
#ifndef SHARED_SERVICE_H
#define SHARED_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct http_server;
struct metrics;
struct metric;
struct kafka_producer;
struct kafka_consumer;
struct db;
struct db_migration;

#define SERVICE_VERSION "0.1.0"
/* The exit status of a service whose drain outlasted SHUTDOWN_TIMEOUT. */
#define SERVICE_EXIT_DRAIN_TIMEOUT 3

struct drain_watchdog;

struct service_settings {
	char *kafka_brokers;
	char *kafka_options;
	char *database_url;
	char *http_addr;
	int64_t http_port;
	int64_t http_max_body;
	char *log_level;
	int64_t shutdown_timeout_ms;
};

struct service {
	const char *name; /* static string, e.g. "collector" */
	struct service_settings settings;
	struct metrics *metrics;  /* owned */
	struct http_server *http; /* owned */
	struct metric *processed; /* borrowed from metrics */
	struct metric *failed;
	struct metric *dead_lettered;
	struct metric *latency;
	struct drain_watchdog *watchdog; /* owned: armed by service_drain */
};

/* The common settings table (exposed for README generation and tests). */
extern const struct config_var service_common_vars[];
extern const size_t service_common_nvars;

/*
 * Initialises svc (zeroed by the caller) for the service `name`. `vars`/`settings` describe the
 * service's own settings (may be NULL/0). Returns 0, or -1 with every configuration problem in
 * err; the caller prints err and exits with status 2 (nothing else is set up then).
 *
 * First of all it makes jansson allocate through xmalloc (json_set_alloc_funcs(xmalloc, free),
 * for the whole process), so running out of memory inside jansson aborts through the project's
 * one path too. JSON values made before the call stay valid: both allocators are malloc's.
 */
int service_init(struct service *svc, const char *name, const struct config_var *vars, size_t nvars,
                 void *settings, char *err, size_t errlen);

/*
 * Connects to DATABASE_URL (retrying for up to a minute; SIGTERM cuts it short) and brings the
 * service's own schema, named after the service, up to date with its migrations. Returns the
 * connection (caller frees it with db_free), or NULL after logging why.
 */
struct db *service_database(struct service *svc, const struct db_migration *migrations, size_t n);

/* Adds the readiness check "postgres" (PQping of DATABASE_URL). */
void service_ready_postgres(struct service *svc);

/* The service's Kafka clients, from the common settings (KAFKA_BROKERS, KAFKA_OPTIONS; the
 * service's name as client id): a producer, and a consumer of `topic` in `group`. NULL, with
 * the reason logged, when one cannot be created (a bad KAFKA_OPTIONS entry): the service then
 * exits with status 2, as for any bad configuration. */
struct kafka_producer *service_kafka_producer(struct service *svc);
struct kafka_consumer *service_kafka_consumer(struct service *svc, const char *topic,
                                              const char *group);

/* Adds a readiness check "kafka" through this producer or consumer (borrowed; must outlive the
 * HTTP server). */
void service_ready_kafka_producer(struct service *svc, struct kafka_producer *p);
void service_ready_kafka_consumer(struct service *svc, struct kafka_consumer *c);

/* Starts the HTTP server and logs its address. Returns 0 or -1 with err. */
int service_listen(struct service *svc, char *err, size_t errlen);

/*
 * Marks the service draining (/readyz answers 503), logs it, and bounds it: if service_free has
 * not been reached SHUTDOWN_TIMEOUT later (a broker or database that never answers, a handler
 * that hangs), the drain is cut short: an error is logged and the process exits at once with
 * SERVICE_EXIT_DRAIN_TIMEOUT. Nothing is lost by that: offsets not committed and outbox rows
 * not marked are redone after the restart, as after a crash, and are idempotent. Call when the
 * loop sees lifecycle_stopping().
 */
void service_drain(struct service *svc);

/* Disarms the drain's bound, then frees the HTTP server (waiting for handlers), metrics and
 * settings. NULL members are fine. `vars`/`settings` are the service's own table and struct,
 * freed too. */
void service_free(struct service *svc, const struct config_var *vars, size_t nvars, void *settings);

#endif
