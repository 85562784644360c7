/*
 * classifier: for every message on messages.raw, decides whether it is a citizen's complaint
 * (an incident), its topic and sub-topic, its municipality and its urgency, with the evidence
 * (classify.h); stores the decision in the classifier's schema and publishes the message with it
 * to messages.classified (classified.v1), keyed municipality|topic.
 *
 *   classifier                       run the service
 *   classifier train ...             learn a model from a labelled CSV/NDJSON archive (cli.h)
 *   classifier eval [--model M] ...  accuracy, macro-F1, per-label table (default: the shipped
 *                                    topic model)
 *   classifier classify [--stats]    message.v1 NDJSON on stdin -> classified.v1 NDJSON on
 *                                    stdout, the service's code path, for back-tests and benches
 *                                    (with --model M: that model's labels alone, cli.h)
 *   classifier --help                the settings
 *
 * The shipped default models (trained at build time on the project's own corpus,
 * services/classifier/data/) and the region pack live in <binary>/../share/ unless MODEL_DIR and
 * REGION_DIR say otherwise.
 */
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
#include "timefmt.h"
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
        {"BATCH_SIZE", CONFIG_INT, "500", true, false, "records handled per batch", S(batch), 1,
         10000},
};
#undef S
#define NVARS (sizeof(classifier_vars) / sizeof(classifier_vars[0]))

/* <directory of this binary>/../share/<what>, the install layout of build/ and the image. */
static char *share_path(const char *what)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return xasprintf("share/%s", what);
	exe[n] = '\0';
	return xasprintf("%s/../share/%s", dirname(exe), what);
}

static struct classifier *open_classifier(const char *model_dir, const char *region_dir,
                                          int threshold_pct, char *err, size_t errlen)
{
	char *mdir = model_dir ? xstrdup(model_dir) : share_path("classifier");
	char *rdir = region_dir ? xstrdup(region_dir) : share_path("regions/khakassia");
	char *incident = xasprintf("%s/incident.model", mdir);
	char *topic = xasprintf("%s/topic.model", mdir);
	char *taxonomy = xasprintf("%s/taxonomy.json", mdir);
	char *gazetteer = xasprintf("%s/municipalities.json", rdir);
	struct classifier_paths p = {incident, topic, taxonomy, gazetteer, threshold_pct / 100.0};
	struct classifier *c = classifier_open(&p, err, errlen);
	free(mdir);
	free(rdir);
	free(incident);
	free(topic);
	free(taxonomy);
	free(gazetteer);
	return c;
}

/* ---- classify: the service's decision over NDJSON, for back-tests and benchmarks ---------- */

static int cmd_classify(int argc, char **argv)
{
	/* With --model: that model alone (cli.h), for back-testing a retrained model. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--model"))
			return cli_classify(argc, argv);
	bool stats = argc > 1 && !strcmp(argv[1], "--stats");
	char err[512];
	struct classifier *c =
	        open_classifier(getenv("MODEL_DIR"), getenv("REGION_DIR"), 50, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "classifier classify: %s\n", err);
		return 1;
	}
	char *line = NULL;
	size_t cap = 0, lineno = 0, done = 0, bad = 0;
	ssize_t len;
	int64_t t0 = time_mono_ms();
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		struct classified r = {0};
		struct field_error fe;
		lineno++;
		if (strspn(line, " \t\r\n") == (size_t)len)
			continue;
		if (message_decode_bytes(line, (size_t)len, &r.message, &fe) < 0) {
			json_t *e = json_pack("{s:I, s:s, s:s}", "line", (json_int_t)lineno,
			                      "field", fe.field, "error", fe.message);
			char *s = json_dumps(e, JSON_COMPACT);
			puts(s);
			free(s);
			json_decref(e);
			bad++;
			continue;
		}
		classifier_decide(c, &r.message, &r.c);
		json_t *rec = classified_encode(&r);
		char *s = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(10));
		puts(s);
		free(s);
		json_decref(rec);
		classified_clear(&r);
		done++;
	}
	free(line);
	double secs = (double)(time_mono_ms() - t0) / 1000.0;
	if (stats)
		fprintf(stderr,
		        "classified %zu messages (%zu bad lines) in %.3f s: %.0f messages/s\n",
		        done, bad, secs, secs > 0 ? (double)done / secs : 0.0);
	classifier_free(c);
	return bad ? 1 : 0;
}

/* eval without --model uses the shipped topic model. */
static int cmd_eval(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--model"))
			return cli_eval(argc, argv);
	char **args = xcalloc((size_t)argc + 3, sizeof(*args));
	char *model = share_path("classifier/topic.model");
	args[0] = argv[0];
	args[1] = "--model";
	args[2] = model;
	for (int i = 1; i < argc; i++)
		args[i + 2] = argv[i];
	int rc = cli_eval(argc + 2, args);
	free(model);
	free(args);
	return rc;
}

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
	if (db_ensure(a->db, 5000, lifecycle_stop_flag(), err, errlen) < 0 ||
	    store_classifications(a->db, r, k, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < k; i++) {
		json_t *rec = classified_encode(&r[i]);
		char *value = json_dumps(rec, JSON_COMPACT);
		char *key = classified_key(&r[i]);
		json_decref(rec);
		int prc = kafka_produce(a->producer, a->settings.output_topic, key, strlen(key),
		                        value, strlen(value), NULL, &d[i], err, errlen);
		free(key);
		free(value);
		if (prc < 0)
			goto wait;
	}
wait:
	if (kafka_producer_wait(a->producer, 15000) < 0) {
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
	for (size_t i = 0; i < n; i++)
		classified_clear(&r[i]);
	free(r);
	free(d);
	return rc;
}

static bool check_producer(void *ctx, char *why, size_t whylen)
{
	return kafka_producer_reachable(ctx, 1000, why, whylen);
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
	a.classifier = open_classifier(a.settings.model_dir, a.settings.region_dir,
	                               (int)a.settings.threshold_pct, err, sizeof(err));
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
	a.db = db_connect(a.svc.settings.database_url, 60000, lifecycle_stop_flag(), err,
	                  sizeof(err));
	if (!a.db) {
		log_error("cannot connect to PostgreSQL", "{s:s}", "error", err);
		goto out;
	}
	if (db_migrate(a.db, "classifier", classifier_migrations, classifier_migrations_count, err,
	               sizeof(err)) < 0) {
		log_error("migration failed", "{s:s}", "error", err);
		goto out;
	}
	struct kafka_options ko = {a.svc.settings.kafka_brokers, "classifier",
	                           a.svc.settings.kafka_options};
	const char *topics[] = {a.settings.input_topic, NULL};
	a.producer = kafka_producer_new(&ko, err, sizeof(err));
	if (a.producer)
		consumer = kafka_consumer_new(&ko, a.settings.group, topics, err, sizeof(err));
	if (!consumer) {
		log_error("cannot create the Kafka clients", "{s:s}", "error", err);
		status = 2;
		goto out;
	}
	service_ready_postgres(&a.svc);
	http_server_ready_check(a.svc.http, "kafka", check_producer, a.producer);
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
		return cmd_eval(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "classify"))
		return cmd_classify(argc - 1, argv + 1);
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
