/*
 * sources: the pollers (source adapters) and the threads that run them.
 *
 * Each configured source instance (the VK communities and keywords, the Telegram bot, each RSS
 * feed, each Open311 endpoint) is a struct source run by its own thread with its own database
 * connection, so a slow or failing source never holds up another. A poll fetches what is new
 * since the source's cursor, submits it (intake_submit), and only then moves the cursor on
 * (store_cursor_set), so a crash re-polls and the store's idempotence drops the repeats.
 *
 * The runner turns poll results into pacing: OK waits interval_ms; RETRY backs off
 * exponentially (1 s doubling to 5 min, with jitter); RATE_LIMITED waits retry_after_ms (or
 * backs off); FAILED (bad credentials, a source that will not work until someone acts) marks
 * the source down in collector_source_up, logs an error, and retries every 5 minutes, never a
 * crash loop.
 */
#ifndef COLLECTOR_SOURCES_H
#define COLLECTOR_SOURCES_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct collector;
struct db;
struct fetch_response;

/* Settings of each adapter (read from the environment through the collector's table). */
struct vk_settings {
	char *api_url;      /* VK_API_URL, default https://api.vk.com/method */
	char *access_token; /* VK_ACCESS_TOKEN (secret); unset: VK disabled */
	char *api_version;  /* VK_API_VERSION, default 5.199 */
	char *communities;  /* VK_COMMUNITIES: owner ids "-10001,-10002" (wall.get + comments) */
	char *keywords;     /* VK_KEYWORDS: "отопление,мусор" (newsfeed.search) */
	int64_t comment_posts; /* VK_COMMENT_POSTS: recent posts per community whose comments are read */
	int64_t interval_ms; /* VK_INTERVAL */
};

struct telegram_settings {
	char *api_url;           /* TELEGRAM_API_URL, default https://api.telegram.org */
	char *bot_token;         /* TELEGRAM_BOT_TOKEN (secret); unset: Telegram disabled */
	int64_t poll_timeout_ms; /* TELEGRAM_POLL_TIMEOUT: getUpdates long-poll timeout */
};

struct rss_settings {
	char *feeds;         /* RSS_FEEDS: "name=url,name2=url2" (RSS 2.0 or Atom) */
	int64_t interval_ms; /* RSS_INTERVAL */
};

struct open311_settings {
	char *endpoints;     /* OPEN311_ENDPOINTS: "name=base_url,..." (GeoReport v2) */
	char *api_key;       /* OPEN311_API_KEY (secret), optional */
	int64_t interval_ms; /* OPEN311_INTERVAL */
	int64_t page_limit;  /* OPEN311_PAGE_LIMIT: the servers' cap on one answer */
};

struct source_env {
	struct collector *collector;
	struct db *db;                     /* this source's own connection */
	const volatile sig_atomic_t *stop; /* long operations give up when *stop is set */
};

enum poll_status {
	POLL_OK,           /* done; wait interval_ms */
	POLL_RETRY,        /* transient failure (network, 5xx, store): back off */
	POLL_RATE_LIMITED, /* the API asked us to slow down */
	POLL_FAILED,       /* needs an operator (invalid token, forbidden): source marked down */
};

struct poll_result {
	enum poll_status status;
	int retry_after_ms; /* RATE_LIMITED: how long the API asked for, or 0 */
	int fetched;        /* messages handed to intake_submit in this poll */
	char error[256];    /* what went wrong, when status != OK (no secrets) */
};

struct source {
	char *name;          /* instance: "vk", "telegram", "rss:abakan-news", "open311:krsk";
	                        metrics label and cursor namespace (owned) */
	int64_t interval_ms; /* pause after a successful poll (0: poll again at once) */
	void *impl;          /* the adapter's state (owned; freed by free_impl) */
	void (*poll)(struct source *src, struct source_env *env, struct poll_result *res);
	void (*free_impl)(void *impl);
	pthread_t thread; /* the runner's */
	bool started;
};

/* A growable list of sources. */
struct source_set {
	struct source **items;
	size_t n;
};

/* Appends src (takes ownership). */
void source_set_add(struct source_set *set, struct source *src);

/* New source with a copy of name; the adapter fills the rest. */
struct source *source_new(const char *name, int64_t interval_ms);

/* Frees every source and the list. */
void source_set_free(struct source_set *set);

/*
 * Adapter constructors: each appends its configured instances to set and returns 0 (none when
 * the adapter is not configured), or -1 with err naming the bad variable.
 */
int vk_sources(const struct vk_settings *s, struct source_set *set, char *err, size_t errlen);
int telegram_sources(const struct telegram_settings *s, struct source_set *set, char *err,
                     size_t errlen);
int rss_sources(const struct rss_settings *s, struct source_set *set, char *err, size_t errlen);
int open311_sources(const struct open311_settings *s, struct source_set *set, char *err,
                    size_t errlen);

/* Sets res->status and res->error (printf-style, cut to fit; never give it a secret). */
void poll_result_set(struct poll_result *res, enum poll_status status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * The pacing an HTTP answer other than 2xx gets, the same for every API polled over plain HTTP
 * (RSS, Open311): 429, and 503 with a Retry-After, are RATE_LIMITED (*retry_after_ms: the
 * Retry-After, or 0 without one, and the runner backs off); other 5xx, 408 and 3xx (a redirect
 * not followed) are RETRY; the rest of 4xx FAILED, as the configuration needs fixing.
 * *retry_after_ms is 0 but for RATE_LIMITED. The error message is the adapter's to write.
 */
enum poll_status poll_status_of_http(const struct fetch_response *resp, int *retry_after_ms);

/* An API's Unix time in seconds ("date") as ms since the epoch, or -1 when it is negative or
 * too large to be one (a corrupt answer: multiplying it would overflow). */
int64_t source_unix_ms(long long seconds);

/* One entry of a list setting of sources such as RSS_FEEDS: "name=url". */
struct source_url {
	char *name; /* 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit */
	char *url;  /* http:// or https:// with more after it */
};

/* How the errors of one list setting speak of it (source_urls_parse). */
struct source_url_words {
	const char *variable; /* the setting, first in every error: "RSS_FEEDS" */
	const char *syntax;   /* an entry's form: "entry 2 is not name=url" */
	const char *entry;    /* what an entry is: "feed \"a\" is configured twice" */
	const char *url;      /* what its URL is: "the URL must be http:// or https://" */
};

/*
 * Parses `value`, comma-separated name=url entries with blanks around each ignored (RSS_FEEDS,
 * OPEN311_ENDPOINTS), into *entries[0..*n) (caller frees with source_urls_free). Each entry is
 * checked in turn: its form, its name, an http(s) URL, then `check` when not NULL (further rules
 * of one setting; it may shorten url in place, and returns 0, or -1 with err), and last that its
 * name is not taken. Names end up in metric labels and cursor keys, hence the plain alphabet.
 * Returns 0 (NULL or "": no entries), or -1 with err naming the setting and the entry, by number
 * or by name, never its URL, which may hold a key; *entries and *n are then untouched.
 */
int source_urls_parse(const char *value, const struct source_url_words *words,
                      int (*check)(const char *name, char *url, char *err, size_t errlen),
                      struct source_url **entries, size_t *n, char *err, size_t errlen);

/* Frees entries[0..n) and the array. NULL is accepted. */
void source_urls_free(struct source_url *entries, size_t n);

/* Starts one thread per source. Returns 0 or -1 with err. */
int sources_start(struct collector *c, struct source_set *set, char *err, size_t errlen);

/* Waits for the source threads to finish after lifecycle_stopping() turned true. */
void sources_join(struct source_set *set);

#endif
