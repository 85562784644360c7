/*
 * collector: the platform's front door. Every feed in (the HTTP ingest API, VK, Telegram,
 * RSS/Atom, Open311, archive replay), normalised, de-duplicated, stored in the collector's
 * schema, and published once to messages.raw by the outbox.
 *
 *   collector                 run the service
 *   collector replay FILE|-   store NDJSON items (the ingest format) from a file or stdin,
 *                             publish them, print a summary; for back-filling archives
 *   collector --help          the settings
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "db.h"
#include "fetch.h"
#include "http.h"
#include "ingest.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "xalloc.h"

extern const struct db_migration collector_migrations[];
extern const size_t collector_migrations_count;

#define S(field) offsetof(struct collector_settings, field)
static const struct config_var collector_vars[] = {
        {"INGEST_TOKENS", CONFIG_STRING, NULL, false, true,
         "API tokens and the sources each may submit: token=source|source,token2=*",
         S(ingest_tokens), 0, 0},
        {"INGEST_SOURCES", CONFIG_STRING, "http", true, false,
         "source names accepted by POST /v1/messages, comma-separated", S(ingest_sources), 0, 0},
        {"INGEST_MAX_ITEMS", CONFIG_INT, "1000", true, false, "most messages in one request",
         S(ingest_max_items), 1, 100000},
        {"RAW_TOPIC", CONFIG_STRING, "messages.raw", true, false, "topic the outbox publishes to",
         S(topic), 0, 0},
        {"OUTBOX_BATCH", CONFIG_INT, "500", true, false, "messages published per outbox round",
         S(outbox_batch), 1, 10000},
        {"DB_POOL_SIZE", CONFIG_INT, "4", true, false, "database connections for HTTP handlers",
         S(db_pool_size), 1, 64},
        {"VK_API_URL", CONFIG_STRING, "https://api.vk.com/method", true, false, "VK API base URL",
         S(vk.api_url), 0, 0},
        {"VK_ACCESS_TOKEN", CONFIG_STRING, NULL, false, true, "VK access token; unset: VK off",
         S(vk.access_token), 0, 0},
        {"VK_API_VERSION", CONFIG_STRING, "5.199", true, false, "VK API version", S(vk.api_version),
         0, 0},
        {"VK_COMMUNITIES", CONFIG_STRING, NULL, false, false,
         "VK community owner ids to read (wall and comments): -10001,-10002", S(vk.communities), 0,
         0},
        {"VK_KEYWORDS", CONFIG_STRING, NULL, false, false, "VK newsfeed.search keywords",
         S(vk.keywords), 0, 0},
        {"VK_COMMENT_POSTS", CONFIG_INT, "10", true, false,
         "recent posts per community whose comments are read", S(vk.comment_posts), 0, 100},
        {"VK_INTERVAL", CONFIG_MS, "60s", true, false, "pause between VK polls", S(vk.interval_ms),
         1000, 3600000},
        {"TELEGRAM_API_URL", CONFIG_STRING, "https://api.telegram.org", true, false,
         "Telegram Bot API base URL", S(telegram.api_url), 0, 0},
        {"TELEGRAM_BOT_TOKEN", CONFIG_STRING, NULL, false, true,
         "Telegram bot token; unset: Telegram off", S(telegram.bot_token), 0, 0},
        {"TELEGRAM_POLL_TIMEOUT", CONFIG_MS, "25s", true, false, "getUpdates long-poll timeout",
         S(telegram.poll_timeout_ms), 0, 60000},
        {"RSS_FEEDS", CONFIG_STRING, NULL, false, false, "RSS/Atom feeds: name=url,name2=url2",
         S(rss.feeds), 0, 0},
        {"RSS_INTERVAL", CONFIG_MS, "5m", true, false, "pause between polls of a feed",
         S(rss.interval_ms), 1000, 86400000},
        {"OPEN311_ENDPOINTS", CONFIG_STRING, NULL, false, false,
         "Open311 GeoReport v2 endpoints: name=base_url,...", S(open311.endpoints), 0, 0},
        {"OPEN311_API_KEY", CONFIG_STRING, NULL, false, true, "Open311 api_key, if required",
         S(open311.api_key), 0, 0},
        {"OPEN311_INTERVAL", CONFIG_MS, "5m", true, false, "pause between polls of an endpoint",
         S(open311.interval_ms), 1000, 86400000},
        {"OPEN311_PAGE_LIMIT", CONFIG_INT, "1000", true, false,
         "the most requests an endpoint answers at once; a full answer is read again for "
         "the older part of its window",
         S(open311.page_limit), 1, 1000000},
};
#undef S
#define NVARS (sizeof(collector_vars) / sizeof(collector_vars[0]))

/* Builds every configured source; all adapters are asked, so every bad setting is reported. */
static int build_sources(struct collector *c, struct source_set *set, char *err, size_t errlen)
{
	char e[4][256] = {"", "", "", ""};
	size_t used = 0;

	vk_sources(&c->settings.vk, set, e[0], sizeof(e[0]));
	telegram_sources(&c->settings.telegram, set, e[1], sizeof(e[1]));
	rss_sources(&c->settings.rss, set, e[2], sizeof(e[2]));
	open311_sources(&c->settings.open311, set, e[3], sizeof(e[3]));
	err[0] = '\0';
	for (int i = 0; i < 4; i++) {
		if (!e[i][0] || used >= errlen)
			continue;
		int w = snprintf(err + used, errlen - used, "%s%s", used ? "; " : "", e[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	return err[0] ? -1 : 0;
}

/* Reads the replay input: NDJSON items, submitted in batches; returns the exit status. */
static int replay(struct collector *c, struct db *db, const char *path)
{
	enum { BATCH = 500 };
	FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct message msgs[BATCH];
	struct intake_result res[BATCH];
	int lines[BATCH];
	size_t n = 0, counts[4] = {0}, read = 0;
	char *line = NULL, err[512];
	size_t cap = 0;
	int lineno = 0, rc = 0;

	if (!in) {
		log_error("replay: cannot open the input", "{s:s}", "path", path);
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (;;) {
		ssize_t len = getline(&line, &cap, in);
		if (len >= 0) {
			lineno++;
			json_error_t je;
			json_t *item = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &je);
			struct field_error fe;
			memset(&fe, 0, sizeof(fe));
			if (!item && strspn(line, " \t\r\n") == (size_t)len)
				continue; /* blank line */
			read++;
			if (!item)
				field_fail(&fe, "", "invalid JSON: %.120s", je.text);
			if (!item || ingest_decode_item(item, &msgs[n], &fe) < 0) {
				counts[INTAKE_REJECTED]++;
				intake_count_rejected(c, "replay", &fe);
				log_warn("replay: line rejected", "{s:i, s:s, s:s}", "line", lineno,
				         "field", fe.field, "error", fe.message);
				message_clear(&msgs[n]);
			} else {
				lines[n++] = lineno;
			}
			json_decref(item);
		}
		if (n == BATCH || (len < 0 && n > 0)) {
			if (intake_submit(c, db, NULL, msgs, NULL, n, res, err, sizeof(err)) < 0) {
				log_error("replay: store failed; stopping", "{s:s, s:i}", "error",
				          err, "first_line", lines[0]);
				rc = 1;
				break;
			}
			for (size_t i = 0; i < n; i++) {
				counts[res[i].status]++;
				if (res[i].status == INTAKE_REJECTED)
					log_warn("replay: line rejected", "{s:i, s:s, s:s}", "line",
					         lines[i], "field", res[i].error.field, "error",
					         res[i].error.message);
				message_clear(&msgs[i]);
			}
			n = 0;
		}
		if (len < 0)
			break;
	}
	for (size_t i = 0; i < n; i++)
		message_clear(&msgs[i]);
	free(line);
	if (in != stdin)
		fclose(in);

	/* Publish what is queued, so a replay works without a running collector. */
	int published = 0, total = 0;
	while (rc == 0) {
		if (outbox_round(c, db, &published, err, sizeof(err)) < 0) {
			log_error("replay: publishing failed; the messages stay queued for the "
			          "service",
			          "{s:s}", "error", err);
			rc = 1;
			break;
		}
		total += published;
		if (published == 0)
			break;
	}
	printf("{\"read\":%zu,\"accepted\":%zu,\"duplicates\":%zu,\"updated\":%zu,\"rejected\":%zu,"
	       "\"published\":%d}\n",
	       read, counts[INTAKE_ACCEPTED], counts[INTAKE_DUPLICATE], counts[INTAKE_UPDATED],
	       counts[INTAKE_REJECTED], total);
	return rc ? rc : counts[INTAKE_REJECTED] ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct collector c;
	struct source_set sources = {0};
	struct ingest *ingest = NULL;
	struct db *db = NULL;
	char err[1024];
	int status = 1;
	bool replaying = argc >= 2 && !strcmp(argv[1], "replay");

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: collector [replay FILE|-]\n\nsettings (environment variables):\n");
		config_print_help(service_common_vars, service_common_nvars, stdout);
		config_print_help(collector_vars, NVARS, stdout);
		return 0;
	}
	if ((replaying && argc != 3) || (!replaying && argc > 1)) {
		fprintf(stderr,
		        "usage: collector [replay FILE|-]   (collector --help for settings)\n");
		return 2;
	}
	if (service_init(&c.svc, "collector", collector_vars, NVARS, &c.settings, err,
	                 sizeof(err)) < 0) {
		fprintf(stderr, "collector: %s\n", err);
		return 2;
	}
	collector_setup(&c, c.svc.metrics);
	fetch_global_init();
	if (!replaying && (build_sources(&c, &sources, err, sizeof(err)) < 0 ||
	                   !(ingest = ingest_new(&c, err, sizeof(err))))) {
		log_error("bad configuration", "{s:s}", "error", err);
		status = 2;
		goto out;
	}

	db = service_database(&c.svc, collector_migrations, collector_migrations_count);
	if (!db)
		goto out;
	c.producer = service_kafka_producer(&c.svc);
	if (!c.producer) {
		status = 2;
		goto out;
	}
	if (replaying) {
		status = replay(&c, db, argv[2]);
		goto out;
	}

	c.pool = db_pool_new(c.svc.settings.database_url, (int)c.settings.db_pool_size);
	service_ready_postgres(&c.svc);
	service_ready_kafka_producer(&c.svc, c.producer);
	if (ingest_routes(ingest, c.svc.http) < 0 || service_listen(&c.svc, err, sizeof(err)) < 0) {
		log_error("cannot start the HTTP server", "{s:s}", "error", err);
		goto out;
	}
	if (sources_start(&c, &sources, err, sizeof(err)) < 0) {
		log_error("cannot start the sources", "{s:s}", "error", err);
		goto out;
	}
	log_info("collector running", "{s:i, s:s}", "sources", (int)sources.n, "topic",
	         c.settings.topic);

	outbox_run(&c, db); /* returns once stopping and the queue had its last round */
	service_drain(&c.svc);
	sources_join(&sources);
	/* What the pollers stored while stopping goes out too. */
	int published;
	while (outbox_round(&c, db, &published, err, sizeof(err)) == 0 && published > 0)
		;
	status = 0;
out:
	sources_join(&sources); /* no-op unless an error came after sources_start */
	if (c.svc.http) {
		http_server_free(c.svc.http); /* handlers use the pool: stop them first */
		c.svc.http = NULL;
	}
	kafka_producer_free(c.producer);
	db_pool_free(c.pool);
	db_free(db);
	ingest_free(ingest);
	source_set_free(&sources);
	collector_teardown(&c);
	log_info("stopped", "{s:i}", "status", status);
	service_free(&c.svc, collector_vars, NVARS, &c.settings);
	return status;
}
