/*
 * sources: one thread per configured source instance, pacing its polls by their results, and
 * what the adapters share: the poll result's setters and the name=url list settings (see
 * sources.h).
 */
#include "sources.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "collector.h"
#include "fetch.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"
#include "xalloc.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)
#define FAILED_RETRY_MS (5 * 60 * 1000)

struct source *source_new(const char *name, int64_t interval_ms)
{
	struct source *s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	s->interval_ms = interval_ms;
	return s;
}

void source_set_add(struct source_set *set, struct source *src)
{
	set->items = xrealloc(set->items, (set->n + 1) * sizeof(*set->items));
	set->items[set->n++] = src;
}

void source_set_free(struct source_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct source *s = set->items[i];
		if (s->free_impl)
			s->free_impl(s->impl);
		free(s->name);
		free(s);
	}
	free(set->items);
	set->items = NULL;
	set->n = 0;
}

void poll_result_set(struct poll_result *res, enum poll_status status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

int64_t source_unix_ms(long long seconds)
{
	return seconds >= 0 && seconds <= INT64_MAX / 1000 ? (int64_t)seconds * 1000 : -1;
}

enum poll_status poll_status_of_http(const struct fetch_response *resp, int *retry_after_ms)
{
	long st = resp->status;

	*retry_after_ms = 0;
	if (st == 429 || (st == 503 && resp->retry_after_s >= 0)) {
		*retry_after_ms = resp->retry_after_s > 0 ? resp->retry_after_s * 1000 : 0;
		return POLL_RATE_LIMITED;
	}
	if (st >= 500 || st == 408 || (st >= 300 && st < 400))
		return POLL_RETRY;
	return POLL_FAILED;
}

/* ---- list settings of sources ------------------------------------------------------------- */

static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len > 64 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static void entry_clear(struct source_url *e)
{
	free(e->name);
	free(e->url);
}

/* Reads entry number `entry`, s[0..len) with its blanks trimmed, into *e: all checks but the
 * name's uniqueness. Returns 0, or -1 with err and nothing allocated. */
static int read_entry(const char *s, size_t len, int entry, const struct source_url_words *w,
                      int (*check)(const char *name, char *url, char *err, size_t errlen),
                      struct source_url *e, char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', len);

	if (!eq) {
		snprintf(err, errlen, "%s: entry %d is not %s", w->variable, entry, w->syntax);
		return -1;
	}
	if (!valid_name(s, (size_t)(eq - s))) {
		snprintf(err, errlen,
		         "%s: entry %d: the name must be 1-64 letters, digits, '-', '_' or '.', "
		         "starting with a letter or digit",
		         w->variable, entry);
		return -1;
	}
	e->name = xstrndup(s, (size_t)(eq - s));
	e->url = xstrndup(eq + 1, len - (size_t)(eq - s) - 1);
	if ((strncasecmp(e->url, "http://", 7) != 0 || !e->url[7]) &&
	    (strncasecmp(e->url, "https://", 8) != 0 || !e->url[8])) {
		snprintf(err, errlen, "%s: %s \"%s\": the %s must be http:// or https://",
		         w->variable, w->entry, e->name, w->url);
		entry_clear(e);
		return -1;
	}
	if (check && check(e->name, e->url, err, errlen) < 0) {
		entry_clear(e);
		return -1;
	}
	return 0;
}

int source_urls_parse(const char *value, const struct source_url_words *words,
                      int (*check)(const char *name, char *url, char *err, size_t errlen),
                      struct source_url **entries, size_t *n, char *err, size_t errlen)
{
	struct source_url *out = NULL, e;
	size_t count = 0;
	int entry = 0;

	for (const char *p = value ? value : ""; *p;) {
		const char *end = strchr(p, ',');
		size_t len;

		if (!end)
			end = p + strlen(p);
		entry++;
		while (p < end && isspace((unsigned char)*p))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (read_entry(p, len, entry, words, check, &e, err, errlen) < 0)
			goto fail;
		for (size_t i = 0; i < count; i++) {
			if (strcmp(out[i].name, e.name) == 0) {
				snprintf(err, errlen, "%s: %s \"%s\" is configured twice",
				         words->variable, words->entry, e.name);
				entry_clear(&e);
				goto fail;
			}
		}
		out = xrealloc(out, (count + 1) * sizeof(*out));
		out[count++] = e;
		p = *end ? end + 1 : end;
	}
	*entries = out;
	*n = count;
	return 0;
fail:
	source_urls_free(out, count);
	return -1;
}

void source_urls_free(struct source_url *entries, size_t n)
{
	for (size_t i = 0; entries && i < n; i++)
		entry_clear(&entries[i]);
	free(entries);
}

/* ---- the runner --------------------------------------------------------------------------- */

/* Sleeps up to ms, waking early when the service stops. */
static void pause_ms(int64_t ms)
{
	int64_t until = time_mono_ms() + ms;
	while (!lifecycle_stopping() && time_mono_ms() < until) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static const char *status_label(enum poll_status s)
{
	switch (s) {
	case POLL_OK:
		return "ok";
	case POLL_RETRY:
		return "retry";
	case POLL_RATE_LIMITED:
		return "rate_limited";
	case POLL_FAILED:
		break;
	}
	return "failed";
}

struct runner {
	struct collector *c;
	struct source *src;
};

static void *run_source(void *arg)
{
	struct runner *r = arg;
	struct collector *c = r->c;
	struct source *src = r->src;
	struct source_env env = {.collector = c, .stop = lifecycle_stop_flag()};
	int64_t backoff = BACKOFF_MIN_MS;
	char err[256];

	free(r);
	metric_set(c->source_up, 1, src->name);
	while (!lifecycle_stopping()) {
		struct poll_result res = {0};
		int64_t wait;

		if (!env.db)
			env.db = db_connect(c->svc.settings.database_url, 5000, env.stop, err,
			                    sizeof(err));
		if (!env.db || db_ensure(env.db, 5000, env.stop, err, sizeof(err)) < 0) {
			res.status = POLL_RETRY;
			snprintf(res.error, sizeof(res.error), "database: %.200s", err);
		} else {
			int64_t t0 = time_mono_ms();
			src->poll(src, &env, &res);
			metric_observe(c->poll_seconds, (double)(time_mono_ms() - t0) / 1000.0,
			               src->name);
		}
		metric_add(c->polls, 1, src->name, status_label(res.status));
		switch (res.status) {
		case POLL_OK:
			metric_set(c->source_up, 1, src->name);
			backoff = BACKOFF_MIN_MS;
			wait = src->interval_ms;
			if (res.fetched)
				log_debug("source polled", "{s:s, s:i}", "source", src->name,
				          "fetched", res.fetched);
			break;
		case POLL_RATE_LIMITED:
			wait = res.retry_after_ms > 0 ? res.retry_after_ms : backoff;
			log_warn("source rate limited", "{s:s, s:s, s:I}", "source", src->name,
			         "error", res.error, "wait_ms", (json_int_t)wait);
			break;
		case POLL_FAILED:
			metric_set(c->source_up, 0, src->name);
			wait = FAILED_RETRY_MS;
			log_error("source failed: needs an operator", "{s:s, s:s, s:I}", "source",
			          src->name, "error", res.error, "retry_in_ms", (json_int_t)wait);
			break;
		case POLL_RETRY:
		default:
			/* Jitter spreads retries of many sources failing together. */
			wait = backoff / 2 + rand() % (backoff / 2 + 1);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			log_warn("source poll failed", "{s:s, s:s, s:I}", "source", src->name,
			         "error", res.error, "retry_in_ms", (json_int_t)wait);
			break;
		}
		pause_ms(wait);
	}
	db_free(env.db);
	return NULL;
}

int sources_start(struct collector *c, struct source_set *set, char *err, size_t errlen)
{
	for (size_t i = 0; i < set->n; i++) {
		struct runner *r = xmalloc(sizeof(*r));
		r->c = c;
		r->src = set->items[i];
		if (pthread_create(&set->items[i]->thread, NULL, run_source, r) != 0) {
			free(r);
			snprintf(err, errlen, "cannot start a thread for source %s",
			         set->items[i]->name);
			return -1;
		}
		set->items[i]->started = true;
		log_info("source started", "{s:s}", "source", set->items[i]->name);
	}
	return 0;
}

void sources_join(struct source_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->items[i]->started) {
			pthread_join(set->items[i]->thread, NULL);
			set->items[i]->started = false;
		}
}
