/*
 * demo-sources: local stand-ins for the public APIs the collector polls (VK API, Telegram Bot
 * API, RSS/Atom feeds, Open311 GeoReport v2), serving the demo stream
 * (khakassia_posts.ndjson) or posts a test adds, in the APIs' own documented JSON/XML shapes.
 * `make run` points the collector's *_API_URL settings here; the collector tests do the same
 * and use the control endpoints to inject faults.
 *
 * One process, one HTTP server (shared/http.h), one route set per API, all reading one world:
 *
 *   GET  /vk/method/<method>        VK API (wall.get, wall.getComments, newsfeed.search)
 *   GET  /telegram/bot<token>/<m>   Telegram Bot API (getUpdates)
 *   GET  /rss/<community-slug>.xml  RSS 2.0;  GET /atom/<community-slug>.xml  Atom
 *   GET  /open311/<name>/requests.json   Open311 GeoReport v2
 *   POST /vk/method/wall.createComment   the notifier's answers under VK posts
 *   POST /telegram/bot<token>/sendMessage the notifier's notices and answers in Telegram
 *   POST /webhook/<name>   a receiver of the notifier's signed webhooks (checks the signature)
 *   POST /control/posts    append posts (NDJSON, the demo file's line format)
 *   POST /control/fault    {"api":"vk","error_code":6,"count":2} | {"api":"rss","status":500}
 *   GET  /control/stats    {"<api>.<method>": request count, ...}
 *   GET  /control/published  what the notifier sent here: {"published": [...]}
 */
#ifndef DEMO_FAKE_H
#define DEMO_FAKE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct http_response;
struct http_server;

struct fake_world {
	pthread_mutex_t lock; /* guards everything below; handlers run on several threads */
	json_t *posts;        /* array of post objects in the demo file's line format, in order */
	int64_t start_ms;     /* server start: a post's time is start_ms - minutes_ago * 60000 */
	int64_t pace_per_s;   /* 0: every post visible at once; else posts appear at this rate */
	json_t *faults;       /* {"<api>": fault object as posted to /control/fault} */
	json_t *stats;        /* {"<api>.<method>": count} */
	const char *vk_token; /* the access token VK routes accept (others get error 5) */
	const char *tg_token; /* the bot token Telegram routes accept (others get 401) */
	const char *webhook_secret; /* the key webhooks must be signed with (others get 401) */
	json_t *published; /* array: every comment, message and webhook the notifier sent */
};

/* Appends a copy of `item` to the world's published list; returns its 1-based position, the
 * id the fake APIs give what was published. */
json_int_t fake_publish(struct fake_world *w, const json_t *item);

/* Posts visible now: a new array reference of the first N posts (N grows with pace). */
json_t *fake_visible_posts(struct fake_world *w);

/*
 * Takes one pending fault for `api` if any: returns a new reference to the fault object (and
 * decrements its count, removing it at zero), or NULL. Also counts the request in stats under
 * "<api>.<method>".
 */
json_t *fake_take_fault(struct fake_world *w, const char *api, const char *method);

/* Unix seconds of a post's time (start_ms - minutes_ago minutes). */
int64_t fake_post_time(const struct fake_world *w, const json_t *post);

/* A feed's URL slug: "https://news.example/khakassia/rss" -> "news-example-khakassia-rss".
 * Caller frees. */
char *feed_slug(const char *community_id);

/* ---- helpers the API files share ---- */

/* The string member `name` of o (borrowed from o), or NULL: absent, not a string, o NULL. */
const char *fake_str(const json_t *o, const char *name);

/* s as a whole decimal integer, or dflt when s is NULL, empty or not one. */
json_int_t fake_int(const char *s, json_int_t dflt);

/*
 * What the plain-HTTP APIs (RSS, Open311) share in answering a fault from fake_take_fault
 * (borrowed; NULL: none): its "retry_after" becomes a Retry-After header, and its "body" is the
 * answer, as is, with content_type and the fault's "status" (200 without one). Returns true
 * when the body answered the request; otherwise *status is the fault's HTTP status, for the
 * API to answer in its own error shape, or 0 when there is nothing to answer.
 */
bool fake_answer_fault(const json_t *fault, const char *content_type, struct http_response *resp,
                       int *status);

/* Route registration, one per API file. */
void fake_vk_routes(struct http_server *srv, struct fake_world *w);
void fake_telegram_routes(struct http_server *srv, struct fake_world *w);
void fake_rss_routes(struct http_server *srv, struct fake_world *w);
void fake_open311_routes(struct http_server *srv, struct fake_world *w);
void fake_webhook_routes(struct http_server *srv, struct fake_world *w);

#endif
