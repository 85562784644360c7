/*
 * open311: the Open311 GeoReport v2 poller. One source per OPEN311_ENDPOINTS entry
 * ("open311:<name>") reads GET <base>/requests.json, the service requests of another region's
 * or city's system, and maps each to a message of kind "report".
 *
 * GeoReport v2 (wiki.open311.org/GeoReport_v2) filters requests by requested_datetime with
 * start_date / end_date (w3c date-times) and answers a JSON array of request objects
 * (service_request_id, status, service_name, service_code, description, requested_datetime,
 * updated_datetime, address, lat, long, media_url, ...); without start_date a server answers
 * its default window (90 days or 1000 requests, whichever is smaller). The cursor "start_date"
 * is the newest requested_datetime seen; start_date is inclusive, so the newest request comes
 * back on the next poll and the store drops it as a duplicate, while a request filed in the
 * same second is not missed. The cursor moves only after intake_submit committed; an answer
 * cut at the server's limit is read back to the cursor first (open311_poll).
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collector.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "sources.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

#define OPEN311_MAX_BODY (16u << 20)
#define OPEN311_TIMEOUT_MS 30000
#define MAX_URL_CHARS 2048
/* Narrower windows asked for in one poll before it gives up (and the next starts over). */
#define OPEN311_MAX_PAGES 100

struct open311_endpoint {
	char *name; /* as configured: "abakan" */
	char *base; /* base URL without a trailing slash */
	char *api_key;
	int64_t page_limit; /* OPEN311_PAGE_LIMIT: an answer this long may be cut by the server */
};

static void endpoint_free(void *impl)
{
	struct open311_endpoint *e = impl;

	if (!e)
		return;
	free(e->name);
	free(e->base);
	free(e->api_key);
	free(e);
}

/* GeoReport errors are [{"code":..., "description":...}]; the first description, if any. */
static const char *geo_error(const json_t *body)
{
	const char *d = json_string_value(json_object_get(json_array_get(body, 0), "description"));

	return d ? d : "";
}

/* A non-success HTTP status as the poll's result (poll_status_of_http), with GeoReport's own
 * description; 401/403 mean a wrong OPEN311_API_KEY, 404/410 a wrong OPEN311_ENDPOINTS. */
static void http_failure(struct poll_result *res, const struct fetch_response *resp,
                         const char *name)
{
	long st = resp->status;
	json_t *body = json_loadb(resp->body, resp->body_len, 0, NULL);
	char detail[128];
	int retry_after_ms;
	enum poll_status status = poll_status_of_http(resp, &retry_after_ms);

	snprintf(detail, sizeof(detail), "%s", geo_error(body));
	json_decref(body);
	if (status == POLL_RATE_LIMITED)
		poll_result_set(res, status, "endpoint %s: HTTP %ld (rate limited)", name, st);
	else if (st == 401 || st == 403)
		poll_result_set(res, status, "endpoint %s: HTTP %ld %s: check OPEN311_API_KEY",
		                name, st, detail);
	else if (st == 404 || st == 410)
		poll_result_set(res, status, "endpoint %s: HTTP %ld %s: check OPEN311_ENDPOINTS",
		                name, st, detail);
	else
		poll_result_set(res, status, "endpoint %s: HTTP %ld %s", name, st, detail);
	res->retry_after_ms = retry_after_ms;
}

/* A member that GeoReport servers write as a string or a number, as a new string or NULL. */
static char *scalar_string(const json_t *v)
{
	if (json_is_string(v))
		return json_string_length(v) ? xstrdup(json_string_value(v)) : NULL;
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return NULL;
}

/* lat / long: a JSON number or a numeric string. */
static bool coordinate(const json_t *v, double *out)
{
	char *end;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (!json_is_string(v) || !json_string_length(v))
		return false;
	*out = strtod(json_string_value(v), &end);
	return *end == '\0';
}

static const char *opt_string(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : NULL;
}

/*
 * GeoReport dates are the W3C note's profile of ISO 8601 with a zone: RFC 3339, or the same
 * without seconds ("2026-11-28T13:20+07:00"), which that profile allows too.
 */
static int w3c_datetime_parse(const char *s, int64_t *ms)
{
	char with_seconds[64];
	size_t len = strlen(s);

	if (rfc3339_parse(s, ms) == 0)
		return 0;
	if (len < 17 || len > 40 || s[10] != 'T' || s[13] != ':' ||
	    (s[16] != 'Z' && s[16] != '+' && s[16] != '-'))
		return -1;
	snprintf(with_seconds, sizeof(with_seconds), "%.16s:00%s", s, s + 16);
	return rfc3339_parse(with_seconds, ms);
}

/*
 * Maps one request object. Returns 0, or -1 with the GeoReport field that made it unusable
 * (the request cannot be identified or dated); m is then cleared.
 */
static int map_request(const struct open311_endpoint *e, const json_t *req, struct message *m,
                       const char **bad_field)
{
	char *id = scalar_string(json_object_get(req, "service_request_id"));
	const char *requested = opt_string(req, "requested_datetime");
	const char *service = opt_string(req, "service_name");
	const char *description = opt_string(req, "description");
	const char *address = opt_string(req, "address");
	const char *media = opt_string(req, "media_url");
	char *escaped;
	double lat, lon;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(req)) {
		*bad_field = "request";
		return -1;
	}
	if (!id) {
		*bad_field = "service_request_id";
		return -1;
	}
	if (!requested || w3c_datetime_parse(requested, &m->posted_at) < 0) {
		*bad_field = "requested_datetime";
		free(id);
		return -1;
	}
	m->source = xstrdup("open311");
	m->external_id = xasprintf("%s:%s", e->name, id);
	m->kind = xstrdup("report");
	/* An empty text is left for normalize_message to reject (and count). */
	m->text = xasprintf("%s%s%s", service ? service : "", service && description ? ": " : "",
	                    description ? description : "");
	/* GeoReport's "GET a request" resource is the link to the original. */
	escaped = fetch_escape(id);
	m->url = xasprintf("%s/requests/%s.json", e->base, escaped);
	free(escaped);
	if (strlen(m->url) > MAX_URL_CHARS) {
		free(m->url);
		m->url = NULL;
	}
	m->community_id = xstrdup(e->name);
	m->address = address ? xstrdup(address) : NULL;
	if (coordinate(json_object_get(req, "lat"), &lat) &&
	    coordinate(json_object_get(req, "long"), &lon)) {
		/* Out-of-range coordinates are dropped, not the report. */
		if (lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
			m->has_coords = true;
			m->lat = lat;
			m->lon = lon;
		}
	}
	if (media &&
	    (strncasecmp(media, "http://", 7) == 0 || strncasecmp(media, "https://", 8) == 0) &&
	    strlen(media) <= MAX_URL_CHARS)
		m->links = json_pack("[s]", media);
	m->thread = json_pack("{s:s, s:s}", "endpoint", e->name, "service_request_id", id);
	free(id);
	return 0;
}

/* Appends "<sep>name=<escaped value>" to *query. */
static void query_add(char **query, const char *name, const char *value)
{
	char *escaped = fetch_escape(value), *q;

	q = xasprintf("%s%c%s=%s", *query, **query ? '&' : '?', name, escaped);
	free(escaped);
	free(*query);
	*query = q;
}

/* GET requests.json for requested_datetime in [start_ms, end_ms] (INT64_MIN / INT64_MAX: that
 * bound not sent). Returns the answer's array, or NULL with res set. */
static json_t *fetch_requests(const struct open311_endpoint *e, int64_t start_ms, int64_t end_ms,
                              struct poll_result *res)
{
	struct fetch_request req = {.timeout_ms = OPEN311_TIMEOUT_MS, .max_body = OPEN311_MAX_BODY};
	static const char *const headers[] = {"Accept: application/json", NULL};
	struct fetch_response resp = {0};
	char *query = xstrdup(""), *url, err[512], buf[32];
	json_t *body = NULL;
	json_error_t jerr;

	if (start_ms != INT64_MIN) {
		rfc3339_format(start_ms, buf);
		query_add(&query, "start_date", buf);
	}
	if (end_ms != INT64_MAX) {
		rfc3339_format(end_ms, buf);
		query_add(&query, "end_date", buf);
	}
	if (e->api_key)
		query_add(&query, "api_key", e->api_key);
	url = xasprintf("%s/requests.json%s", e->base, query);
	req.url = url;
	req.headers = headers;
	if (fetch(&req, &resp, err, sizeof(err)) < 0) {
		/* fetch's reason starts with the URL, which carries the API key: never echo it. */
		size_t ul = strlen(url);
		const char *reason =
		        strncmp(err, url, ul) == 0 ? err + ul + (err[ul] ? 2 : 0) : err;

		poll_result_set(res, POLL_RETRY, "endpoint %s: %s", e->name, reason);
	} else if (resp.status < 200 || resp.status > 299) {
		http_failure(res, &resp, e->name);
	} else {
		body = json_loadb(resp.body, resp.body_len, 0, &jerr);
		if (!body)
			poll_result_set(res, POLL_RETRY, "endpoint %s: invalid JSON at line %d: %s",
			                e->name, jerr.line, jerr.text);
		else if (!json_is_array(body)) {
			poll_result_set(res, POLL_RETRY,
			                "endpoint %s: requests.json is not a JSON array", e->name);
			json_decref(body);
			body = NULL;
		}
	}
	fetch_response_clear(&resp);
	free(url);
	free(query);
	return body;
}

/* Maps and stores one answer's requests; unusable ones are counted and logged, the others go
 * on. Widens [*oldest, *newest] to their requested_datetime. Returns how many were handed to
 * intake_submit, or -1 with res set. */
static int store_requests(struct source *src, struct source_env *env, const json_t *answer,
                          int64_t *oldest, int64_t *newest, struct poll_result *res)
{
	const struct open311_endpoint *e = src->impl;
	struct collector *c = env->collector;
	struct message *msgs = xcalloc(json_array_size(answer) + 1, sizeof(*msgs));
	struct intake_result *results = NULL;
	size_t n = 0;
	int rc = 0;
	char err[512];

	for (size_t i = 0; i < json_array_size(answer); i++) {
		const char *bad = NULL;

		if (map_request(e, json_array_get(answer, i), &msgs[n], &bad) < 0) {
			metric_add(c->messages, 1, src->name, "rejected");
			metric_add(c->rejected, 1, src->name, bad);
			log_warn("open311 request skipped", "{s:s, s:i, s:s}", "source", src->name,
			         "index", (int)i, "field", bad);
			continue;
		}
		if (msgs[n].posted_at < *oldest)
			*oldest = msgs[n].posted_at;
		if (msgs[n].posted_at > *newest)
			*newest = msgs[n].posted_at;
		n++;
	}
	if (n) {
		results = xcalloc(n, sizeof(*results));
		if (intake_submit(c, env->db, src->name, msgs, NULL, n, results, err, sizeof(err)) <
		    0) {
			poll_result_set(res, POLL_RETRY, "endpoint %s: storing requests: %s",
			                e->name, err);
			rc = -1;
		}
	}
	for (size_t i = 0; i < n; i++)
		message_clear(&msgs[i]);
	free(msgs);
	free(results);
	return rc < 0 ? -1 : (int)n;
}

/*
 * One poll: everything filed since the cursor. GeoReport servers cap an answer (usually at
 * 1000 requests, OPEN311_PAGE_LIMIT) and some give the newest first, so a full answer may be
 * only the newest part of the window: the part before its oldest request is asked for again
 * (end_date = that request's time, inclusive, so one filed in the same second is not missed),
 * until an answer is not full. Only then does the cursor move, to the newest request seen; a
 * poll that fails midway leaves it, and the next poll's repeats are dropped by the store. The
 * first poll (no cursor yet) takes the server's default window as it is.
 */
static void open311_poll(struct source *src, struct source_env *env, struct poll_result *res)
{
	struct open311_endpoint *e = src->impl;
	char *cursor = NULL, err[512], buf[32];
	int64_t cursor_ms = INT64_MIN, end_ms = INT64_MAX, newest;
	int pages = 0;

	memset(res, 0, sizeof(*res));
	if (store_cursor_get(env->db, src->name, "start_date", &cursor, err, sizeof(err)) < 0) {
		poll_result_set(res, POLL_RETRY, "reading cursor start_date: %s", err);
		goto out;
	}
	if (cursor && rfc3339_parse(cursor, &cursor_ms) < 0)
		cursor_ms = INT64_MIN; /* unreadable: start over from the server's default window */
	newest = cursor_ms;
	for (;;) {
		int64_t oldest = INT64_MAX;
		json_t *answer = fetch_requests(e, cursor_ms, end_ms, res);
		size_t len = answer ? json_array_size(answer) : 0;
		int stored = answer ? store_requests(src, env, answer, &oldest, &newest, res) : -1;

		json_decref(answer);
		if (stored < 0)
			goto out;
		res->fetched += stored;
		if ((int64_t)len < e->page_limit || cursor_ms == INT64_MIN)
			break;
		if (oldest <= cursor_ms || oldest >= end_ms) {
			/* The whole answer is at the window's edge: no narrower window to ask. */
			if (oldest >= end_ms)
				log_warn("open311 answer full at one instant: requests beyond the "
				         "server's limit at that time may be missed",
				         "{s:s, s:i}", "source", src->name, "limit",
				         (int)e->page_limit);
			break;
		}
		if (++pages >= OPEN311_MAX_PAGES || (env->stop && *env->stop)) {
			poll_result_set(res, POLL_RETRY,
			                "endpoint %s: more than %d full answers since the cursor; "
			                "the next poll asks again",
			                e->name, OPEN311_MAX_PAGES);
			goto out;
		}
		end_ms = oldest;
	}
	if (newest != cursor_ms) {
		rfc3339_format(newest, buf);
		if (store_cursor_set(env->db, src->name, "start_date", buf, err, sizeof(err)) < 0) {
			/* Stored already: the next poll asks again and the store drops the repeats. */
			poll_result_set(res, POLL_RETRY, "endpoint %s: writing cursor: %s", e->name,
			                err);
			goto out;
		}
	}
	res->status = POLL_OK;
out:
	free(cursor);
}

/* OPEN311_ENDPOINTS' own rules for a base URL: no query (the key has a setting of its own, and
 * a URL gets logged), and no trailing slash, as requests.json is appended to it. */
static int check_base_url(const char *name, char *base, char *err, size_t errlen)
{
	if (strchr(base, '?')) {
		snprintf(err, errlen,
		         "OPEN311_ENDPOINTS: endpoint \"%s\": the base URL must not have a query "
		         "(the API key goes in OPEN311_API_KEY)",
		         name);
		return -1;
	}
	while (strlen(base) > 8 && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	return 0;
}

int open311_sources(const struct open311_settings *s, struct source_set *set, char *err,
                    size_t errlen)
{
	static const struct source_url_words words = {.variable = "OPEN311_ENDPOINTS",
	                                              .syntax = "name=base_url",
	                                              .entry = "endpoint",
	                                              .url = "base URL"};
	struct source_url *endpoints;
	size_t n;

	if (!s || !s->endpoints || !*s->endpoints)
		return 0;
	if (source_urls_parse(s->endpoints, &words, check_base_url, &endpoints, &n, err, errlen) <
	    0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct open311_endpoint *e = xcalloc(1, sizeof(*e));
		char *label = xasprintf("open311:%s", endpoints[i].name);
		struct source *src = source_new(label, s->interval_ms);

		free(label);
		e->name = endpoints[i].name;
		e->base = endpoints[i].url;
		e->api_key = s->api_key && *s->api_key ? xstrdup(s->api_key) : NULL;
		e->page_limit = s->page_limit > 0 ? s->page_limit : 1000;
		src->impl = e;
		src->poll = open311_poll;
		src->free_impl = endpoint_free;
		source_set_add(set, src);
	}
	free(endpoints);
	return 0;
}
