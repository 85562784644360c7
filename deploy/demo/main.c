/*
 * demo-sources: one process that stands in for every public API the collector polls, serving
 * the demo stream (or posts a test adds) in each API's own shapes (see fake.h), and pushing the
 * stream's "http" lines to the collector's ingest API like another region's system would.
 *
 *   demo-sources --port N --posts FILE [--pace N] [--bind ADDR]
 *                [--vk-token T] [--telegram-token T] [--webhook-secret S]
 *                [--push URL --push-token T]
 *                [--collector-env FILE]
 *
 *   --port N         0 picks a free port; when listening, one JSON line on stdout:
 *                    {"msg":"ready","port":N}
 *   --posts FILE     NDJSON lines in the demo format (deploy/demo/README.md); "expect" is
 *                    dropped on load: it is the answer key, never sent to the services
 *   --pace N         posts per second becoming visible (0, the default: all at once)
 *   --collector-env FILE  once listening, write the collector's settings (KEY=value lines)
 *                    that point each of its pollers at this world: every VK community, the
 *                    bot, every feed, every Open311 jurisdiction (make run uses it)
 *   --push URL       POST the visible lines whose channel is "http" to this ingest URL
 *                    (.../v1/messages) as message items, in batches, with
 *                    "Authorization: Bearer <--push-token>", retrying until they are taken
 *
 * Exit status: 0 after SIGTERM/SIGINT, 2 for bad arguments or posts, 1 when the server cannot
 * start. Diagnostics are JSON lines on stderr.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake.h"
#include "fetch.h"
#include "http.h"
#include "lifecycle.h"
#include "log.h"
#include "strbuf.h"
#include "timefmt.h"
#include "files.h"
#include "xalloc.h"

#define PUSH_BATCH 50
#define MAX_CONTROL_BODY (16u << 20)

/* ---- the world ------------------------------------------------------------------------------ */

json_t *fake_visible_posts(struct fake_world *w)
{
	json_t *out = json_array();
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = json_array_size(w->posts);
	if (w->pace_per_s > 0) {
		int64_t elapsed = time_now_ms() - w->start_ms;
		int64_t visible = elapsed > 0 ? elapsed * w->pace_per_s / 1000 : 0;

		if ((int64_t)n > visible)
			n = (size_t)visible;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append(out, json_array_get(w->posts, i));
	pthread_mutex_unlock(&w->lock);
	return out;
}

json_t *fake_take_fault(struct fake_world *w, const char *api, const char *method)
{
	json_t *fault, *taken = NULL;
	char *key = xasprintf("%s.%s", api, method ? method : "");

	pthread_mutex_lock(&w->lock);
	json_object_set_new(w->stats, key,
	                    json_integer(json_integer_value(json_object_get(w->stats, key)) + 1));
	fault = json_object_get(w->faults, api);
	if (fault) {
		const char *only = json_string_value(json_object_get(fault, "method"));
		json_int_t count = json_integer_value(json_object_get(fault, "count"));

		/* A fault may name one method; others of the API pass untouched. */
		if (!only || (method && strcmp(only, method) == 0)) {
			taken = json_deep_copy(fault);
			if (count <= 1)
				json_object_del(w->faults, api);
			else
				json_object_set_new(fault, "count", json_integer(count - 1));
		}
	}
	pthread_mutex_unlock(&w->lock);
	free(key);
	return taken;
}

json_int_t fake_publish(struct fake_world *w, const json_t *item)
{
	pthread_mutex_lock(&w->lock);
	json_array_append_new(w->published, json_deep_copy(item));
	json_int_t id = (json_int_t)json_array_size(w->published);
	pthread_mutex_unlock(&w->lock);
	return id;
}

int64_t fake_post_time(const struct fake_world *w, const json_t *post)
{
	json_int_t minutes = json_integer_value(json_object_get(post, "minutes_ago"));

	return (w->start_ms - (int64_t)minutes * 60000) / 1000;
}

const char *fake_str(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

json_int_t fake_int(const char *s, json_int_t dflt)
{
	char *end;

	if (!s || !*s)
		return dflt;
	long long v = strtoll(s, &end, 10);
	return *end == '\0' ? (json_int_t)v : dflt;
}

bool fake_answer_fault(const json_t *fault, const char *content_type, struct http_response *resp,
                       int *status)
{
	json_int_t st = json_integer_value(json_object_get(fault, "status"));
	const char *body = fake_str(fault, "body");
	const json_t *retry = json_object_get(fault, "retry_after");

	*status = 0;
	if (!fault)
		return false;
	if (json_is_integer(retry)) {
		char v[32];

		snprintf(v, sizeof(v), "%" JSON_INTEGER_FORMAT, json_integer_value(retry));
		http_response_header(resp, "Retry-After", v);
	}
	if (body) {
		resp->status = st >= 100 && st <= 599 ? (int)st : 200;
		resp->body = xstrdup(body);
		resp->body_len = strlen(body);
		resp->content_type = content_type;
		return true;
	}
	if (st >= 100 && st <= 599)
		*status = (int)st;
	return false;
}

/*
 * Checks one line of the demo format and drops "expect". Returns 0, or -1 with the reason.
 * The channel-specific fields are checked by each API's renderer, which skips what it cannot
 * show.
 */
static int check_post(json_t *post, char *why, size_t whylen)
{
	static const char *const channels[] = {"vk", "telegram", "rss", "open311", "http"};
	const char *channel = json_string_value(json_object_get(post, "channel"));
	json_t *minutes = json_object_get(post, "minutes_ago");
	bool known = false;

	if (!json_is_object(post)) {
		snprintf(why, whylen, "not a JSON object");
		return -1;
	}
	if (!json_string_value(json_object_get(post, "id")) ||
	    !*json_string_value(json_object_get(post, "id"))) {
		snprintf(why, whylen, "\"id\" must be a non-empty string");
		return -1;
	}
	for (size_t i = 0; channel && i < sizeof(channels) / sizeof(channels[0]); i++)
		known = known || strcmp(channel, channels[i]) == 0;
	if (!known) {
		snprintf(why, whylen, "\"channel\" must be vk, telegram, rss, open311 or http");
		return -1;
	}
	if (!json_is_string(json_object_get(post, "text"))) {
		snprintf(why, whylen, "\"text\" must be a string");
		return -1;
	}
	if (minutes && (!json_is_integer(minutes) || json_integer_value(minutes) < 0)) {
		snprintf(why, whylen, "\"minutes_ago\" must be a non-negative integer");
		return -1;
	}
	json_object_del(post, "expect");
	return 0;
}

/*
 * Parses NDJSON (blank lines skipped) into a new array of checked posts. Returns NULL with the
 * line number and reason in why.
 */
static json_t *parse_posts(const char *text, size_t len, char *why, size_t whylen)
{
	json_t *posts = json_array();
	const char *p = text, *end = text + len;
	int lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *q = p;
		json_error_t jerr;
		json_t *post;
		char reason[160];

		lineno++;
		while (q < line_end && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q == line_end) {
			p = nl ? nl + 1 : end;
			continue;
		}
		post = json_loadb(p, (size_t)(line_end - p), JSON_REJECT_DUPLICATES, &jerr);
		if (!post) {
			snprintf(why, whylen, "line %d: invalid JSON: %s", lineno, jerr.text);
			json_decref(posts);
			return NULL;
		}
		if (check_post(post, reason, sizeof(reason)) < 0) {
			snprintf(why, whylen, "line %d: %s", lineno, reason);
			json_decref(post);
			json_decref(posts);
			return NULL;
		}
		json_array_append_new(posts, post);
		p = nl ? nl + 1 : end;
	}
	return posts;
}

/* ---- control endpoints ---------------------------------------------------------------------- */

/* POST /control/posts: appends NDJSON lines (all or none). */
static void control_posts(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;
	char why[256];
	json_t *posts = parse_posts(req->body, req->body_len, why, sizeof(why));
	size_t total;

	if (!posts) {
		http_respond_error(resp, 400, "invalid_posts", NULL, why);
		return;
	}
	pthread_mutex_lock(&w->lock);
	json_array_extend(w->posts, posts);
	total = json_array_size(w->posts);
	pthread_mutex_unlock(&w->lock);
	http_respond_json(resp, 200,
	                  json_pack("{s:I, s:I}", "added", (json_int_t)json_array_size(posts),
	                            "total", (json_int_t)total));
	json_decref(posts);
}

/*
 * POST /control/fault: {"api":"rss","status":503,"retry_after":5,"count":2} replaces the
 * pending fault of that API; "count" 0 clears it. What a fault holds is each API's business
 * (status, error_code, body, method...).
 */
static void control_fault(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;
	json_error_t jerr;
	json_t *fault = json_loadb(req->body, req->body_len, 0, &jerr);
	const char *api = json_string_value(json_object_get(fault, "api"));
	json_t *count = json_object_get(fault, "count");

	if (!json_is_object(fault) || !api || !*api) {
		http_respond_error(resp, 400, "invalid_field", "api",
		                   "body must be a JSON object with a string \"api\"");
		json_decref(fault);
		return;
	}
	if (count && (!json_is_integer(count) || json_integer_value(count) < 0)) {
		http_respond_error(resp, 400, "invalid_field", "count",
		                   "must be a non-negative integer");
		json_decref(fault);
		return;
	}
	if (!count)
		json_object_set_new(fault, "count", json_integer(1));
	pthread_mutex_lock(&w->lock);
	if (json_integer_value(json_object_get(fault, "count")) == 0)
		json_object_del(w->faults, api);
	else
		json_object_set(w->faults, api, fault);
	pthread_mutex_unlock(&w->lock);
	http_respond_json(resp, 200, json_pack("{s:O}", "fault", fault));
	json_decref(fault);
}

/* A copy of a member of the world, taken under its lock (new reference). */
static json_t *world_copy(struct fake_world *w, const json_t *member)
{
	json_t *copy;

	pthread_mutex_lock(&w->lock);
	copy = json_deep_copy(member);
	pthread_mutex_unlock(&w->lock);
	return copy;
}

/* GET /control/stats: request counts by "<api>.<method>". */
static void control_stats(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;

	(void)req;
	http_respond_json(resp, 200, world_copy(w, w->stats));
}

/* GET /control/published: what the notifier published here, oldest first. */
static void control_published(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;

	(void)req;
	http_respond_json(resp, 200, json_pack("{s:o}", "published", world_copy(w, w->published)));
}

/* ---- pushing the "http" lines --------------------------------------------------------------- */

struct pusher {
	struct fake_world *w;
	const char *url;
	const char *token;
	pthread_t thread;
	bool started;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A demo line as an ingest item (message.v1 without schema, id and received_at). */
static json_t *push_item(const struct fake_world *w, const json_t *line)
{
	json_t *item = json_object();
	json_t *author = json_object_get(line, "author");
	json_t *community = json_object_get(line, "community");
	json_t *location = json_object();
	const char *address = json_string_value(json_object_get(line, "address"));
	json_t *lat = json_object_get(line, "lat"), *lon = json_object_get(line, "lon");
	char posted[32];

	rfc3339_format(fake_post_time(w, line) * 1000, posted);
	json_object_set_new(item, "source", json_string("http"));
	json_object_set(item, "external_id", json_object_get(line, "id"));
	json_object_set_new(item, "kind", json_string("post"));
	json_object_set(item, "text", json_object_get(line, "text"));
	json_object_set_new(item, "posted_at", json_string(posted));
	if (json_is_object(author))
		json_object_set_new(item, "author", json_deep_copy(author));
	if (json_is_object(community))
		json_object_set_new(item, "community", json_deep_copy(community));
	if (address)
		json_object_set_new(location, "address", json_string(address));
	if (json_is_number(lat) && json_is_number(lon)) {
		json_object_set(location, "lat", lat);
		json_object_set(location, "lon", lon);
	}
	if (json_object_size(location))
		json_object_set_new(item, "location", location);
	else
		json_decref(location);
	return item;
}

/*
 * Sends one batch until the ingest API takes it: 202 (some or all accepted) and 400 with a
 * per-item answer (all rejected: sending again would not help) end it; anything else (the
 * collector not up yet, 503 while its database is away, 401 before its tokens are configured)
 * is retried with back-off. Returns false when the process is stopping.
 */
static bool push_batch(struct pusher *p, json_t *batch)
{
	char *body = json_dumps(batch, JSON_COMPACT);
	char *auth = xasprintf("Authorization: Bearer %s", p->token ? p->token : "");
	const char *headers[] = {"Content-Type: application/json", auth, NULL};
	struct fetch_request req = {
	        .method = "POST",
	        .url = p->url,
	        .headers = headers,
	        .body = body,
	        .body_len = strlen(body),
	        .timeout_ms = 10000,
	};
	long backoff = 200;
	bool done = false;

	while (!done && !lifecycle_stopping()) {
		struct fetch_response resp;
		char err[512];

		if (fetch(&req, &resp, err, sizeof(err)) < 0) {
			log_warn("push failed", "{s:s}", "error", err);
		} else if (resp.status == 202 || resp.status == 200) {
			json_t *answer = json_loadb(resp.body, resp.body_len, 0, NULL);

			log_info("pushed", "{s:I, s:O?}", "items",
			         (json_int_t)json_array_size(batch), "accepted",
			         json_object_get(answer, "accepted"));
			json_decref(answer);
			done = true;
		} else if (resp.status == 400 && strstr(resp.body, "\"items\"")) {
			log_warn("push rejected", "{s:I, s:s}", "status", (json_int_t)resp.status,
			         "body", resp.body);
			done = true;
		} else {
			log_warn("push not taken, retrying", "{s:I, s:s}", "status",
			         (json_int_t)resp.status, "body", resp.body);
		}
		fetch_response_clear(&resp);
		if (!done) {
			for (long slept = 0; slept < backoff && !lifecycle_stopping(); slept += 100)
				sleep_ms(100);
			backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
		}
	}
	free(auth);
	free(body);
	return done;
}

static void *push_run(void *arg)
{
	struct pusher *p = arg;
	size_t next = 0; /* visible lines before this index have been handled */

	while (!lifecycle_stopping()) {
		json_t *visible = fake_visible_posts(p->w);
		json_t *batch = json_array();

		for (; next < json_array_size(visible); next++) {
			const json_t *line = json_array_get(visible, next);
			const char *channel = json_string_value(json_object_get(line, "channel"));

			if (!channel || strcmp(channel, "http") != 0)
				continue;
			json_array_append_new(batch, push_item(p->w, line));
			if (json_array_size(batch) == PUSH_BATCH) {
				if (!push_batch(p, batch))
					break;
				json_array_clear(batch);
			}
		}
		if (json_array_size(batch) && !lifecycle_stopping())
			push_batch(p, batch);
		json_decref(batch);
		json_decref(visible);
		sleep_ms(200);
	}
	return NULL;
}

/* ---- the collector's settings for this world -------------------------------------------------- */

/* Appends to list (comma-separated) the item unless it is there already. */
static void list_add_unique(char **list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = *list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, item, n))
			return;
		p = end ? end + 1 : NULL;
	}
	char *joined = xasprintf("%s%s%s", *list ? *list : "", *list ? "," : "", item);
	free(*list);
	*list = joined;
}

static int write_collector_env(struct fake_world *w, const char *path, unsigned port)
{
	char *vk = NULL, *slugs = NULL, *feeds = NULL, *open311 = NULL;
	size_t i;
	json_t *line;

	json_array_foreach(w->posts, i, line)
	{
		const char *channel = json_string_value(json_object_get(line, "channel"));
		const char *cid = json_string_value(
		        json_object_get(json_object_get(line, "community"), "id"));
		if (!channel || !cid)
			continue;
		if (!strcmp(channel, "vk")) {
			list_add_unique(&vk, cid);
		} else if (!strcmp(channel, "rss")) {
			char *slug = feed_slug(cid);
			list_add_unique(&slugs, slug);
			free(slug);
		} else if (!strcmp(channel, "open311")) {
			char *entry =
			        xasprintf("%s=http://127.0.0.1:%u/open311/%s", cid, port, cid);
			list_add_unique(&open311, entry);
			free(entry);
		}
	}
	/* Every second feed is read as Atom, so the demo exercises both formats. */
	int nfeeds = 0;
	for (char *slug = slugs ? strtok(slugs, ",") : NULL; slug; slug = strtok(NULL, ",")) {
		char *entry = xasprintf("%s=http://127.0.0.1:%u/%s/%s", slug, port,
		                        nfeeds++ % 2 ? "atom" : "rss", slug);
		list_add_unique(&feeds, entry);
		free(entry);
	}
	FILE *f = fopen(path, "w");
	if (f)
		fprintf(f,
		        "VK_API_URL=http://127.0.0.1:%u/vk/method\nVK_ACCESS_TOKEN=%s\n"
		        "VK_COMMUNITIES=%s\nVK_COMMENT_POSTS=20\nVK_INTERVAL=5s\n"
		        "TELEGRAM_API_URL=http://127.0.0.1:%u/telegram\nTELEGRAM_BOT_TOKEN=%s\n"
		        "TELEGRAM_POLL_TIMEOUT=2s\n"
		        "RSS_FEEDS=%s\nRSS_INTERVAL=10s\nOPEN311_ENDPOINTS=%s\nOPEN311_INTERVAL="
		        "10s\n",
		        port, w->vk_token, vk ? vk : "", port, w->tg_token, feeds ? feeds : "",
		        open311 ? open311 : "");
	free(vk);
	free(slugs);
	free(feeds);
	free(open311);
	return f && fclose(f) == 0 ? 0 : -1;
}

/* ---- main ----------------------------------------------------------------------------------- */

static int usage(const char *why)
{
	fprintf(stderr,
	        "demo-sources: %s\n"
	        "usage: demo-sources --port N --posts FILE [--pace N] [--bind ADDR]\n"
	        "                    [--vk-token T] [--telegram-token T] [--webhook-secret S]\n"
	        "                    [--push URL --push-token T] [--collector-env FILE]\n",
	        why);
	return 2;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	const char *posts_path = NULL, *bind = "127.0.0.1", *push_url = NULL, *push_token = NULL;
	const char *env_path = NULL;
	long port = -1, pace = 0;
	struct fake_world w = {.vk_token = "demo-vk-token",
	                       .tg_token = "demo-telegram-token",
	                       .webhook_secret = "demo-webhook-secret"};
	struct http_options opt = {0};
	struct http_server *srv;
	struct pusher pusher = {0};
	char why[512], *text;
	size_t len = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage("local fakes of the VK, Telegram, RSS/Atom and Open311 APIs");
			return 0;
		}
		if (!v)
			return usage("every option takes a value");
		i++;
		if (strcmp(a, "--port") == 0) {
			if (!parse_int(v, 0, 65535, &port))
				return usage("--port must be 0..65535");
		} else if (strcmp(a, "--posts") == 0) {
			posts_path = v;
		} else if (strcmp(a, "--pace") == 0) {
			if (!parse_int(v, 0, 1000000, &pace))
				return usage("--pace must be 0..1000000 posts per second");
		} else if (strcmp(a, "--bind") == 0) {
			bind = v;
		} else if (strcmp(a, "--vk-token") == 0) {
			w.vk_token = v;
		} else if (strcmp(a, "--telegram-token") == 0) {
			w.tg_token = v;
		} else if (strcmp(a, "--webhook-secret") == 0) {
			w.webhook_secret = v;
		} else if (strcmp(a, "--push") == 0) {
			push_url = v;
		} else if (strcmp(a, "--push-token") == 0) {
			push_token = v;
		} else if (strcmp(a, "--collector-env") == 0) {
			env_path = v;
		} else {
			snprintf(why, sizeof(why), "unknown option %s", a);
			return usage(why);
		}
	}
	if (port < 0)
		return usage("--port is required (0 for any free port)");
	if (!posts_path)
		return usage("--posts is required");
	if (push_url && strncmp(push_url, "http://", 7) != 0 &&
	    strncmp(push_url, "https://", 8) != 0)
		return usage("--push must be an http:// or https:// URL");
	if (push_url && !push_token)
		return usage("--push needs --push-token");

	log_init("demo-sources", LOG_LEVEL_INFO);
	lifecycle_install();
	json_set_alloc_funcs(xmalloc, free);
	if (fetch_global_init() < 0) {
		log_error("curl_global_init failed", NULL);
		return 1;
	}
	text = file_read(posts_path, &len, why, sizeof(why));
	if (!text) {
		log_error("cannot read the posts", "{s:s}", "error", why);
		return 2;
	}
	pthread_mutex_init(&w.lock, NULL);
	w.posts = parse_posts(text, len, why, sizeof(why));
	free(text);
	if (!w.posts) {
		log_error("bad posts file", "{s:s, s:s}", "file", posts_path, "error", why);
		return 2;
	}
	w.start_ms = time_now_ms();
	w.pace_per_s = pace;
	w.faults = json_object();
	w.stats = json_object();
	w.published = json_array();

	opt.bind_addr = bind;
	opt.port = (uint16_t)port;
	opt.max_body = MAX_CONTROL_BODY;
	opt.threads = 4;
	srv = http_server_new(&opt, NULL);
	fake_vk_routes(srv, &w);
	fake_telegram_routes(srv, &w);
	fake_rss_routes(srv, &w);
	fake_open311_routes(srv, &w);
	fake_webhook_routes(srv, &w);
	http_server_route(srv, "POST /control/posts", control_posts, &w);
	http_server_route(srv, "POST /control/fault", control_fault, &w);
	http_server_route(srv, "GET /control/stats", control_stats, &w);
	http_server_route(srv, "GET /control/published", control_published, &w);
	if (http_server_start(srv, why, sizeof(why)) < 0) {
		log_error("cannot listen", "{s:s}", "error", why);
		http_server_free(srv);
		return 1;
	}
	if (env_path && write_collector_env(&w, env_path, http_server_port(srv)) < 0) {
		log_error("cannot write the collector settings", "{s:s}", "file", env_path);
		http_server_free(srv);
		return 1;
	}
	printf("{\"msg\":\"ready\",\"port\":%u}\n", (unsigned)http_server_port(srv));
	fflush(stdout);
	log_info("listening", "{s:s, s:i, s:I, s:I}", "bind", bind, "port",
	         (int)http_server_port(srv), "posts", (json_int_t)json_array_size(w.posts), "pace",
	         (json_int_t)pace);

	if (push_url) {
		pusher.w = &w;
		pusher.url = push_url;
		pusher.token = push_token;
		if (pthread_create(&pusher.thread, NULL, push_run, &pusher) == 0)
			pusher.started = true;
		else
			log_error("cannot start the push thread", NULL);
	}
	while (!lifecycle_stopping())
		sleep_ms(100);
	log_info("stopping", "{s:i}", "signal", lifecycle_stop_signal());
	if (pusher.started)
		pthread_join(pusher.thread, NULL);
	http_server_free(srv);
	json_decref(w.posts);
	json_decref(w.faults);
	json_decref(w.stats);
	json_decref(w.published);
	pthread_mutex_destroy(&w.lock);
	return 0;
}
