/*
 * classifier: for every message on messages.raw, decides whether it is a citizen's complaint
 * (an incident), its topic and sub-topic, its municipality and its urgency, with the evidence
 * (classify.h); stores the decision in the classifier's schema and publishes the message with it
 * to messages.classified (classified.v1), keyed municipality|topic.
 *
 *   classifier                       run the service
 *   classifier train ...             learn a model from a labelled CSV/NDJSON archive
 *   classifier eval ...              accuracy, macro-F1, per-label table of a model, or of the
 *                                    full decision on every column a file has
 *   classifier classify ...          message.v1 NDJSON on stdin -> classified.v1 NDJSON on
 *                                    stdout, the service's code path, for back-tests and benches
 *   classifier --help                the settings
 * (cli.h has the offline commands' options.)
 *
 * The shipped default models (trained at build time on the project's own corpus,
 * services/classifier/data/) and the region pack live in <binary>/../share/ unless MODEL_DIR and
 * REGION_DIR say otherwise.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classified.h"
#include "classify.h"
#include "cli.h"
#include "db.h"
#include "http.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "service.h"
#include "store.h"
#include "xalloc.h"

extern const struct db_migration classifier_migrations[];
extern const size_t classifier_migrations_count;

struct settings {
	char *input_topic;
	char *output_topic;
	char *group;
	char *model_dir;
	char *region_dir;
	int64_t threshold_pct;
	int64_t batch;
};

#define S(field) offsetof(struct settings, field)
static const struct config_var classifier_vars[] = {
        {"INPUT_TOPIC", CONFIG_STRING, "messages.raw", true, false, "topic of message.v1 records",
         S(input_topic), 0, 0},
        {"OUTPUT_TOPIC", CONFIG_STRING, "messages.classified", true, false,
         "topic the classified.v1 records go to", S(output_topic), 0, 0},
        {"CONSUMER_GROUP", CONFIG_STRING, "classifier", true, false, "Kafka consumer group",
         S(group), 0, 0},
        {"MODEL_DIR", CONFIG_STRING, NULL, false, false,
         "incident.model, topic.model, taxonomy.json (default: <binary>/../share/classifier)",
         S(model_dir), 0, 0},
        {"REGION_DIR", CONFIG_STRING, NULL, false, false,
         "region pack with municipalities.json (default: <binary>/../share/regions/khakassia)",
         S(region_dir), 0, 0},
        {"INCIDENT_THRESHOLD", CONFIG_INT, "50", true, false,
         "P(incident) in percent at or above which a message is an incident", S(threshold_pct), 1,
         99},
        /* 2,000: a batch's acknowledgements come ~50 ms after it is published (the local
         * broker, 500 to 2,000 a batch) while PostgreSQL stores its rows; at 500 a batch the
         * store took less and the service waited: 7,000 a second, 12,000 at 2,000
         * (tests/bench/classifier_kafka.sh, README's Benchmarks). */
        {"BATCH_SIZE", CONFIG_INT, "2000", true, false, "records handled per batch", S(batch), 1,
         10000},
};
#undef S
#define NVARS (sizeof(classifier_vars) / sizeof(classifier_vars[0]))

/* ---- the service -------------------------------------------------------------------------- */

struct app {
	struct service svc;
	struct settings settings;
	struct classifier *classifier;
	struct db *db;
	struct kafka_producer *producer;
	struct metric *decisions; /* classifier_messages_total{incident,topic,municipality} */
};

/* Decodes, decides, stores and publishes a batch; refuses records that are not message.v1. */
static int handle(void *ctx, struct pipeline_item *items, size_t n, char *err, size_t errlen)
{
	struct app *a = ctx;
	struct classified *r = xcalloc(n, sizeof(*r));
	struct kafka_delivery *d = xcalloc(n, sizeof(*d));
	char **lines = xcalloc(n, sizeof(*lines));
	size_t k = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		struct field_error fe;
		if (message_decode_bytes(items[i].msg.value, items[i].msg.len, &r[k].message, &fe) <
		    0) {
			items[i].verdict = PIPELINE_DEAD_LETTER;
			snprintf(items[i].reason, sizeof(items[i].reason),
			         "not a message.v1 record: %.60s%s%.150s", fe.field,
			         fe.field[0] ? ": " : "", fe.message);
			continue;
		}
		classifier_decide(a->classifier, &r[k].message, &r[k].c);
		k++;
	}
	/* Published first and acknowledged last: the acknowledgements arrive while PostgreSQL
	 * stores the rows (the two waits overlap), and the batch is done only when both are. Each
	 * line is written once, for Kafka and for the row (store.h). A
	 * batch that fails after publishing is published again when handed again: consumers of
	 * classified.v1 are idempotent on message id and revision. */
	size_t sent = 0;
	char perr[256] = "";
	for (; sent < k; sent++) {
		char *key = classified_key(&r[sent]);
		lines[sent] = classifier_encode(&r[sent]);
		int prc = kafka_produce(a->producer, a->settings.output_topic, key, strlen(key),
		                        lines[sent], strlen(lines[sent]), NULL, &d[sent], perr,
		                        sizeof(perr));
		free(key);
		if (prc < 0)
			break;
	}
	int stored = -1;
	if (sent == k && db_ensure(a->db, 5000, lifecycle_stop_flag(), err, errlen) == 0)
		stored = store_classifications(a->db, r, lines, k, err, errlen);
	/* Settled also after a failure, since the deliveries point into d; a stop (the broker may
	 * be gone) cuts the wait short. */
	kafka_producer_settle(a->producer, 15000, lifecycle_stop_flag());
	if (sent < k) {
		snprintf(err, errlen, "%s", perr);
		goto out;
	}
	if (stored < 0)
		goto out;
	if (kafka_producer_outstanding(a->producer) > 0) {
		snprintf(err, errlen, "Kafka did not acknowledge the classified records in time");
		goto out;
	}
	for (size_t i = 0; i < k; i++)
		if (!d[i].done || d[i].err) {
			snprintf(err, errlen, "publishing to %s: %s", a->settings.output_topic,
			         d[i].done ? d[i].errstr : "not sent");
			goto out;
		}
	for (size_t i = 0; i < k; i++)
		metric_add(a->decisions, 1, r[i].c.incident ? "true" : "false", r[i].c.topic,
		           r[i].c.municipality ? r[i].c.municipality : "unknown");
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		classified_clear(&r[i]);
		free(lines[i]);
	}
	free(lines);
	free(r);
	free(d);
	return rc;
}

static int run_service(void)
{
	static struct app a;
	struct kafka_consumer *consumer = NULL;
	char err[1024];
	int status = 1;

	if (service_init(&a.svc, "classifier", classifier_vars, NVARS, &a.settings, err,
	                 sizeof(err)) < 0) {
		fprintf(stderr, "classifier: %s\n", err);
		return 2;
	}
	a.classifier =
	        classifier_open_dirs(a.settings.model_dir, a.settings.region_dir,
	                             (double)a.settings.threshold_pct / 100.0, err, sizeof(err));
	if (!a.classifier) {
		log_error("cannot load the models, taxonomy or region pack", "{s:s}", "error", err);
		status = 2;
		goto out;
	}
	a.decisions = metrics_counter(a.svc.metrics, "classifier_messages_total",
	                              "Messages classified, by incident, topic and municipality.",
	                              "incident,topic,municipality");
	metric_set(metrics_gauge(a.svc.metrics, "classifier_model_info",
	                         "The models in use (value 1), by version.", "version"),
	           1, classifier_version(a.classifier));
	a.db = service_database(&a.svc, classifier_migrations, classifier_migrations_count);
	if (!a.db)
		goto out;
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
	log_info("classifier running", "{s:s, s:s, s:s}", "model", classifier_version(a.classifier),
	         "input", a.settings.input_topic, "output", a.settings.output_topic);
	struct pipeline_options po = {.max_batch = (size_t)a.settings.batch,
	                              .service = "classifier"};
	pipeline_run(&a.svc, consumer, a.producer, &po, handle, &a);
	service_drain(&a.svc);
	status = 0;
out:
	/* /readyz asks the producer: stop serving before freeing it (a probe during the drain
	 * would use it freed). */
	http_server_free(a.svc.http);
	a.svc.http = NULL;
	kafka_consumer_free(consumer);
	kafka_producer_free(a.producer);
	db_free(a.db);
	classifier_free(a.classifier);
	log_info("stopped", "{s:i}", "status", status);
	service_free(&a.svc, classifier_vars, NVARS, &a.settings);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "train"))
		return cli_train(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "eval"))
		return cli_eval(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "classify"))
		return cli_classify(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: classifier [train|eval|classify ...]\n\nsettings (environment):\n");
		config_print_help(service_common_vars, service_common_nvars, stdout);
		config_print_help(classifier_vars, NVARS, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr,
		        "usage: classifier [train|eval|classify ...] (--help for settings)\n");
		return 2;
	}
	return run_service();
}
