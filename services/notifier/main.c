/*
 * notifier: turns incident events (incidents.events, incident_event.v1) into notifications:
 * e-mail, Telegram and signed webhooks to the authority that must act (and its parent on
 * overdue and escalation, both authorities on re-assignment), and the official answer
 * published as a reply in each citizen's own thread (VK, Telegram), its link recorded.
 *
 * Two halves meet in the notifier schema (deliveries.h). The consumer (pipeline_run) plans
 * each event's deliveries (rules.h, templates.h) and commits them as rows before the event's
 * offset is marked done; the workers (worker.h) attempt the due rows, retry, dead-letter. So a
 * replayed event finds its rows and sends nothing new, and a crash loses no delivery.
 *
 *   notifier          run the service
 *   notifier --help   the settings
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "channel.h"
#include "db.h"
#include "deliveries.h"
#include "fetch.h"
#include "http.h"
#include "incident_event.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "ratelimit.h"
#include "rules.h"
#include "service.h"
#include "worker.h"
#include "xalloc.h"

extern const struct db_migration notifier_migrations[];
extern const size_t notifier_migrations_count;

struct settings {
	char *input_topic;
	char *group;
	char *dlq_topic;
	int64_t batch;
	char *rules;
	int64_t utc_offset_min;
	char *smtp_url;
	char *smtp_from;
	bool smtp_starttls;
	char *telegram_api_url;
	char *telegram_token;
	int64_t telegram_chat_rate;
	int64_t telegram_global_rate;
	int64_t vk_rate;
	char *vk_api_url;
	char *vk_token;
	char *vk_version;
	char *webhook_secret;
	char *webhook_redirect;
	char *webhook_subscribers;
	char *operator_tokens;
	int64_t workers;
	int64_t timeout_ms;
	int64_t lease_ms;
	int64_t poll_ms;
	int64_t max_attempts;
	int64_t retry_base_ms;
	int64_t retry_max_ms;
	int64_t pool_size;
};

#define S(field) offsetof(struct settings, field)
static const struct config_var notifier_vars[] = {
        {"INPUT_TOPIC", CONFIG_STRING, "incidents.events", true, false,
         "topic of incident_event.v1 records", S(input_topic), 0, 0},
        {"CONSUMER_GROUP", CONFIG_STRING, "notifier", true, false, "Kafka consumer group", S(group),
         0, 0},
        {"DEAD_LETTER_TOPIC", CONFIG_STRING, "incidents.events.dlq", true, false,
         "where dead deliveries are published (notifier_dead_delivery.v1)", S(dlq_topic), 0, 0},
        {"BATCH_SIZE", CONFIG_INT, "200", true, false, "events planned per batch", S(batch), 1,
         10000},
        {"NOTIFY_RULES", CONFIG_STRING, NULL, false, false,
         "type=role|role,... over the defaults (roles: authority, parent, previous, citizens)",
         S(rules), 0, 0},
        {"REGION_UTC_OFFSET", CONFIG_INT, "420", true, false,
         "minutes east of UTC in which deadlines are shown (Khakassia: 420)", S(utc_offset_min),
         -720, 840},
        {"SMTP_URL", CONFIG_STRING, NULL, false, true,
         "smtp://[user:password@]host:port (smtps:// for TLS); mail waits queued while unset",
         S(smtp_url), 0, 0},
        {"SMTP_FROM", CONFIG_STRING, "otklik@localhost", true, false, "sender address",
         S(smtp_from), 0, 0},
        {"SMTP_STARTTLS", CONFIG_BOOL, "false", true, false,
         "require STARTTLS (otherwise used when offered)", S(smtp_starttls), 0, 0},
        {"TELEGRAM_API_URL", CONFIG_STRING, "https://api.telegram.org", true, false,
         "Telegram Bot API base URL", S(telegram_api_url), 0, 0},
        {"TELEGRAM_BOT_TOKEN", CONFIG_STRING, NULL, false, true, "the bot's token",
         S(telegram_token), 0, 0},
        {"TELEGRAM_CHAT_RATE", CONFIG_INT, "1", true, false, "messages per second to one chat",
         S(telegram_chat_rate), 1, 100},
        {"TELEGRAM_GLOBAL_RATE", CONFIG_INT, "30", true, false,
         "messages per second for the bot, all chats", S(telegram_global_rate), 1, 1000},
        {"VK_API_URL", CONFIG_STRING, "https://api.vk.com/method", true, false, "VK API base URL",
         S(vk_api_url), 0, 0},
        {"VK_ACCESS_TOKEN", CONFIG_STRING, NULL, false, true,
         "community token that may comment on its wall", S(vk_token), 0, 0},
        {"VK_RATE", CONFIG_INT, "3", true, false,
         "VK API calls per second for the token (VK: 3 for users, 20 for communities)", S(vk_rate),
         1, 100},
        {"VK_API_VERSION", CONFIG_STRING, "5.199", true, false, "VK API version", S(vk_version), 0,
         0},
        {"WEBHOOK_SECRET", CONFIG_STRING, NULL, false, true,
         "HMAC-SHA256 key of webhook signatures; webhooks wait queued while unset",
         S(webhook_secret), 0, 0},
        {"WEBHOOK_REDIRECT", CONFIG_STRING, NULL, false, false,
         "send every webhook to this URL instead (local runs)", S(webhook_redirect), 0, 0},
        {"WEBHOOK_SUBSCRIBERS", CONFIG_STRING, NULL, false, false,
         "comma-separated webhook URLs that receive every event", S(webhook_subscribers), 0, 0},
        {"OPERATOR_TOKENS", CONFIG_STRING, NULL, false, true,
         "comma-separated bearer tokens of the operator API", S(operator_tokens), 0, 0},
        {"DELIVERY_WORKERS", CONFIG_INT, "2", true, false,
         "threads attempting deliveries, for each of e-mail, Telegram, webhooks and VK", S(workers),
         1, 64},
        {"DELIVERY_TIMEOUT", CONFIG_MS, "15s", true, false, "one attempt's deadline", S(timeout_ms),
         100, 600000},
        {"DELIVERY_LEASE", CONFIG_MS, "60s", true, false,
         "how long a claimed delivery is held before another worker may take it", S(lease_ms), 200,
         3600000},
        {"DELIVERY_POLL", CONFIG_MS, "1s", true, false, "longest idle wait for due deliveries",
         S(poll_ms), 10, 60000},
        {"DELIVERY_MAX_ATTEMPTS", CONFIG_INT, "8", true, false,
         "attempts before a temporary failure is dead-lettered", S(max_attempts), 1, 1000},
        {"RETRY_BASE", CONFIG_MS, "5s", true, false, "first retry's delay, doubling",
         S(retry_base_ms), 1, 86400000},
        {"RETRY_MAX", CONFIG_MS, "1h", true, false, "longest retry delay", S(retry_max_ms), 1,
         86400000},
        {"DB_POOL_SIZE", CONFIG_INT, "4", true, false, "connections for the operator API",
         S(pool_size), 1, 64},
};
#undef S
#define NVARS (sizeof(notifier_vars) / sizeof(notifier_vars[0]))

struct app {
	struct service svc;
	struct settings settings;
	struct notify_rules rules;
	struct db *db;
	struct db_pool *pool;
	struct workers *workers;
	struct metric *events; /* notifier_events_total{type} */
	struct metric *depth;  /* notifier_queue_depth{status} */
};

/* Plans and records a batch's deliveries; refuses records that are not incident_event.v1. */
static int handle(void *ctx, struct pipeline_item *items, size_t n, char *err, size_t errlen)
{
	struct app *a = ctx;
	struct incident_event *ev = xcalloc(n, sizeof(*ev));
	struct plan *plans = xcalloc(n, sizeof(*plans));
	size_t k = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		struct field_error fe;
		if (incident_event_decode_bytes(items[i].msg.value, items[i].msg.len, &ev[k], &fe) <
		    0) {
			items[i].verdict = PIPELINE_DEAD_LETTER;
			snprintf(items[i].reason, sizeof(items[i].reason),
			         "not an incident_event.v1 record: %.60s%s%.150s", fe.field,
			         fe.field[0] ? ": " : "", fe.message);
			continue;
		}
		notify_plan(&a->rules, &ev[k], (int)a->settings.utc_offset_min, &plans[k]);
		/* Someone should have been told and nobody can be: the region pack lacks channels
		 * (or the event its threads). Visible, not silent. */
		if (plans[k].n == 0 && a->rules.roles[ev[k].type])
			log_warn("event notifies nobody: no usable channel or thread",
			         "{s:s, s:s, s:I}", "event_id", ev[k].event_id, "type",
			         incident_event_type_name(ev[k].type), "incident",
			         (json_int_t)ev[k].incident_id);
		k++;
	}
	if (db_ensure(a->db, 5000, lifecycle_stop_flag(), err, errlen) < 0)
		goto out;
	int added = deliveries_insert(a->db, ev, plans, k, err, errlen);
	if (added < 0)
		goto out;
	for (size_t i = 0; i < k; i++)
		metric_add(a->events, 1, incident_event_type_name(ev[i].type));
	if (added > 0) {
		log_debug("deliveries planned", "{s:i, s:i}", "events", (int)k, "deliveries",
		          added);
		workers_wake(a->workers);
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		incident_event_clear(&ev[i]);
		plan_clear(&plans[i]);
	}
	free(ev);
	free(plans);
	return rc;
}

/* Refreshes the queue-depth gauge from the table at every scrape. */
static void collect_depth(void *ctx)
{
	static const char *const statuses[] = {"pending", "sending", "sent", "dead"};
	struct app *a = ctx;
	int64_t counts[4];
	char err[256];
	struct db *db = db_pool_acquire(a->pool, 1000, err, sizeof(err));

	if (db && deliveries_count(db, counts, err, sizeof(err)) == 0)
		for (int i = 0; i < 4; i++)
			metric_set(a->depth, (double)counts[i], statuses[i]);
	db_pool_release(a->pool, db);
}

static int run_service(void)
{
	static struct app a;
	struct kafka_consumer *consumer = NULL;
	struct kafka_producer *producer = NULL;
	struct kafka_producer *dead_producer = NULL; /* the workers' own: waits never mix */
	struct ratelimit *tg_limit = NULL, *vk_limit = NULL;
	struct api *api = NULL;
	char err[1024];
	int status = 1;

	if (service_init(&a.svc, "notifier", notifier_vars, NVARS, &a.settings, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "notifier: %s\n", err);
		return 2;
	}
	struct settings *s = &a.settings;
	if (notify_rules_parse(s->rules, s->webhook_subscribers, &a.rules, err, sizeof(err)) < 0 ||
	    (s->lease_ms <= s->timeout_ms &&
	     snprintf(err, sizeof(err), "DELIVERY_LEASE must be longer than DELIVERY_TIMEOUT")) ||
	    (s->retry_max_ms < s->retry_base_ms &&
	     snprintf(err, sizeof(err), "RETRY_MAX must not be less than RETRY_BASE"))) {
		fprintf(stderr, "notifier: %s\n", err);
		notify_rules_free(&a.rules);
		service_free(&a.svc, notifier_vars, NVARS, &a.settings);
		return 2;
	}
	if (fetch_global_init() < 0) {
		log_error("curl_global_init failed", NULL);
		goto out;
	}
	a.events = metrics_counter(a.svc.metrics, "notifier_events_total",
	                           "Incident events planned, by type.", "type");
	a.depth = metrics_gauge(a.svc.metrics, "notifier_queue_depth",
	                        "Deliveries by status (pending and sending are the queue).",
	                        "status");
	a.db = service_database(&a.svc, notifier_migrations, notifier_migrations_count);
	if (!a.db)
		goto out;
	a.pool = db_pool_new(a.svc.settings.database_url, (int)s->pool_size);
	producer = service_kafka_producer(&a.svc);
	if (producer)
		dead_producer = service_kafka_producer(&a.svc);
	if (dead_producer)
		consumer = service_kafka_consumer(&a.svc, s->input_topic, s->group);
	if (!consumer) {
		status = 2;
		goto out;
	}
	tg_limit = ratelimit_new((double)s->telegram_chat_rate, (double)s->telegram_global_rate);
	vk_limit = ratelimit_new((double)s->vk_rate, (double)s->vk_rate);
	struct worker_options wo = {
	        .database_url = a.svc.settings.database_url,
	        .channels = {.smtp_url = s->smtp_url,
	                     .smtp_from = s->smtp_from,
	                     .smtp_starttls = s->smtp_starttls,
	                     .telegram_api_url = s->telegram_api_url,
	                     .telegram_token = s->telegram_token,
	                     .vk_api_url = s->vk_api_url,
	                     .vk_token = s->vk_token,
	                     .vk_version = s->vk_version,
	                     .webhook_secret = s->webhook_secret,
	                     .webhook_redirect = s->webhook_redirect,
	                     .timeout_ms = (int)s->timeout_ms,
	                     .stop = lifecycle_stop_flag()},
	        .threads = (int)s->workers,
	        .lease_ms = s->lease_ms,
	        .poll_ms = s->poll_ms,
	        .max_attempts = (int)s->max_attempts,
	        .backoff_base_ms = s->retry_base_ms,
	        .backoff_max_ms = s->retry_max_ms,
	        .telegram_limit = tg_limit,
	        .vk_limit = vk_limit,
	        .dlq = dead_producer,
	        .dlq_topic = s->dlq_topic,
	};
	a.workers = workers_start(&wo, a.svc.metrics);
	api = api_new(a.svc.http, a.pool, a.workers, s->operator_tokens);
	metrics_on_render(a.svc.metrics, collect_depth, &a);
	service_ready_postgres(&a.svc);
	service_ready_kafka_producer(&a.svc, producer);
	if (service_listen(&a.svc, err, sizeof(err)) < 0) {
		log_error("cannot start the HTTP server", "{s:s}", "error", err);
		goto out;
	}
	log_info("notifier running", "{s:s, s:i, s:b, s:b, s:b}", "input", s->input_topic,
	         "workers", (int)s->workers, "smtp", s->smtp_url != NULL, "telegram",
	         s->telegram_token != NULL, "vk", s->vk_token != NULL);
	struct pipeline_options po = {.max_batch = (size_t)s->batch, .service = "notifier"};
	pipeline_run(&a.svc, consumer, producer, &po, handle, &a);
	service_drain(&a.svc);
	status = 0;
out:
	/* Workers stop with lifecycle_stopping(); on a start-up failure ask for it first. */
	lifecycle_request_stop();
	workers_stop(a.workers);
	/* The HTTP server's handlers use the pool and the API: free it before them. */
	http_server_free(a.svc.http);
	a.svc.http = NULL;
	api_free(api);
	kafka_consumer_free(consumer);
	kafka_producer_free(producer);
	kafka_producer_free(dead_producer);
	ratelimit_free(tg_limit);
	ratelimit_free(vk_limit);
	db_pool_free(a.pool);
	db_free(a.db);
	notify_rules_free(&a.rules);
	log_info("stopped", "{s:i}", "status", status);
	service_free(&a.svc, notifier_vars, NVARS, &a.settings);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: notifier\n\nsettings (environment):\n");
		config_print_help(service_common_vars, service_common_nvars, stdout);
		config_print_help(notifier_vars, NVARS, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: notifier (--help for settings)\n");
		return 2;
	}
	return run_service();
}
