/*
 * metrics: counters, gauges and histograms with labels, rendered in the Prometheus text
 * exposition format (version 0.0.4) for every service's /metrics.
 *
 * A registry owns its metrics; a metric is declared once at start-up with its label names
 * and then updated from any thread (one mutex per registry: updates are a few hundred
 * nanoseconds, far below the cost of the work they count). Label values are given as
 * arguments after the value, exactly as many as the metric has label names:
 *
 *     struct metric *rx = metrics_counter(reg, "collector_messages_total",
 *                                         "Messages received, by source and outcome.",
 *                                         "source,outcome");
 *     metric_add(rx, 1, "vk", "accepted");
 *     struct metric *lat = metrics_histogram(reg, "classifier_latency_seconds", "...", NULL,
 *                                            NULL, 0);   // default buckets
 *     metric_observe(lat, 0.0021);
 *
 * Rendering escapes label values (backslash, double quote, newline) and HELP text, writes
 * HELP and TYPE for each family, and for histograms cumulative _bucket{le=...} series ending in
 * le="+Inf", then _sum and _count, so `promtool check metrics` accepts the output.
 */
#ifndef SHARED_METRICS_H
#define SHARED_METRICS_H

#include <stddef.h>

struct metrics;
struct metric;

/* New empty registry. Caller frees with metrics_free. */
struct metrics *metrics_new(void);

/* Frees the registry and every metric in it. NULL is accepted. */
void metrics_free(struct metrics *reg);

/*
 * Declare a metric. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]* (counters should end in
 * _total); `label_names` is a comma-separated list ("source,outcome") or NULL. Strings are
 * copied. Declaring a name twice returns the existing metric when type and labels match and
 * aborts otherwise (a programming error, caught by the first test that runs the service).
 * The returned metric is owned by the registry.
 */
struct metric *metrics_counter(struct metrics *reg, const char *name, const char *help,
                               const char *label_names);
struct metric *metrics_gauge(struct metrics *reg, const char *name, const char *help,
                             const char *label_names);
/* `buckets`: strictly increasing upper bounds, or NULL/0 for the defaults
 * (0.0005 .. 10 seconds, suited to per-message latency). */
struct metric *metrics_histogram(struct metrics *reg, const char *name, const char *help,
                                 const char *label_names, const double *buckets, size_t nbuckets);

/* Counter: adds v (>= 0) to the series selected by the label values. */
void metric_add(struct metric *m, double v, ...);
/* Gauge: sets the series to v. */
void metric_set(struct metric *m, double v, ...);
/* Histogram: records one observation v. */
void metric_observe(struct metric *m, double v, ...);

/* Drops the series selected by the label values, if any, so it is no longer rendered (a gauge
 * of something this process no longer has, e.g. a Kafka partition revoked from it). */
void metric_remove(struct metric *m, ...);

/* Current value of a counter or gauge series (0 if never touched); a histogram's count. */
double metric_value(struct metric *m, ...);

/*
 * A function called at the start of every render, to refresh gauges whose value is read
 * rather than pushed (outbox backlog, resident memory). Called with the registry unlocked.
 */
typedef void (*metrics_collect_fn)(void *ctx);
void metrics_on_render(struct metrics *reg, metrics_collect_fn fn, void *ctx);

/*
 * Declares and keeps up to date the standard process gauges: process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_start_time_seconds (read from /proc).
 */
void metrics_add_process_metrics(struct metrics *reg);

/* Renders the whole registry. Returns a NUL-terminated string the caller frees. */
char *metrics_render(struct metrics *reg);

#endif
