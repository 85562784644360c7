/*
 * fake_open311: an Open311 GeoReport v2 server (wiki.open311.org/GeoReport_v2) per
 * jurisdiction, made of the world's lines whose channel is "open311"; the jurisdiction's name
 * in the path is the line's community.id ("abakan.example").
 *
 *   GET /open311/{name}/requests.json        GET Service Requests
 *   GET /open311/{name}/requests/{id}.json   GET Service Request (one id; a one-item array)
 *
 * requests.json takes the standard filters: start_date and end_date (w3c date-times with a
 * zone, compared with requested_datetime, both inclusive), status (comma-separated
 * open,closed) and service_code (comma-separated); without start_date it answers the last 90
 * days, and at most 1000 requests, oldest first; api_key and jurisdiction_id are accepted and
 * ignored. A server that cuts answers elsewhere and gives the newest first is a fault without
 * a status: {"api":"open311","limit":3,"newest_first":true,"count":N} shapes the next N lists. Errors are GeoReport's: an array [{"code":400,"description":"..."}] with that HTTP
 * status (unknown jurisdiction 404, a bad date 400).
 *
 * How a line becomes a request: service_request_id = the line's id, status "open",
 * service_name = "service", service_code = a stable code made from it, description = the text,
 * requested_datetime = updated_datetime = the line's time in Khakassia's zone (+07:00),
 * address, lat, long as given; the optional fields the demo has nothing for are null.
 *
 * Faults (POST /control/fault, api "open311"): {"status":503,"retry_after":5} or
 * {"body":"..."} as in fake_rss. Stats: "open311.requests", "open311.request".
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "http.h"
#include "timefmt.h"
#include "xalloc.h"

#define KHAKASSIA_OFFSET_MS (7LL * 3600 * 1000)
#define DEFAULT_WINDOW_MS (90LL * 24 * 3600 * 1000)
#define MAX_REQUESTS 1000

static void geo_error(struct http_response *resp, int status, const char *description)
{
	http_respond_json(resp, status,
	                  json_pack("[{s:i, s:s}]", "code", status, "description", description));
}

/* A stable service_code for a service name. */
static char *service_code(const char *name)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = name; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return xasprintf("svc-%08llx", (unsigned long long)(h & 0xffffffffULL));
}

static json_t *request_object(struct fake_world *w, const json_t *line)
{
	const char *service = fake_str(line, "service");
	json_t *lat = json_object_get(line, "lat"), *lon = json_object_get(line, "lon");
	const char *address = fake_str(line, "address");
	char iso[32], when[32];
	char *code = service_code(service ? service : "");
	json_t *r;

	rfc3339_format(fake_post_time(w, line) * 1000 + KHAKASSIA_OFFSET_MS, iso);
	snprintf(when, sizeof(when), "%.19s+07:00", iso);
	r = json_pack("{s:O, s:s, s:n, s:s?, s:s, s:O, s:n, s:n, s:s, s:s, s:n, s:s?, s:n, s:n, "
	              "s:O?, s:O?, s:n}",
	              "service_request_id", json_object_get(line, "id"), "status", "open",
	              "status_notes", "service_name", service, "service_code", code, "description",
	              json_object_get(line, "text"), "agency_responsible", "service_notice",
	              "requested_datetime", when, "updated_datetime", when, "expected_datetime",
	              "address", address, "address_id", "zipcode", "lat",
	              json_is_number(lat) ? lat : NULL, "long", json_is_number(lon) ? lon : NULL,
	              "media_url");
	free(code);
	return r;
}

/* True when value is one of the comma-separated items of list. */
static bool in_list(const char *list, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, value, n) == 0)
			return true;
		p = end ? end + 1 : p + len;
	}
	return false;
}

static bool is_jurisdiction(const json_t *line, const char *name)
{
	const char *channel = fake_str(line, "channel");
	const char *cid = fake_str(json_object_get(line, "community"), "id");

	return channel && strcmp(channel, "open311") == 0 && cid && strcmp(cid, name) == 0 &&
	       !fake_str(line, "edit_of");
}

/* True when any line of the world (visible or not yet) belongs to the jurisdiction. */
static bool known_jurisdiction(struct fake_world *w, const char *name)
{
	bool known = false;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < json_array_size(w->posts) && !known; i++)
		known = is_jurisdiction(json_array_get(w->posts, i), name);
	pthread_mutex_unlock(&w->lock);
	return known;
}

/*
 * What both routes answer before looking at the request: a pending fault (taken and counted as
 * `method`), then 404 for an unknown jurisdiction. Returns true when that answered.
 */
static bool answered_first(struct fake_world *w, const char *method, const char *name,
                           struct http_response *resp, json_t **listing)
{
	json_t *fault = fake_take_fault(w, "open311", method);
	int status;
	bool answered = fake_answer_fault(fault, "application/json; charset=utf-8", resp, &status);

	if (answered || status || !name || !known_jurisdiction(w, name)) {
		if (!answered)
			geo_error(resp, status ? status : 404,
			          status ? "injected fault" : "no such jurisdiction");
		json_decref(fault);
		return true;
	}
	if (listing)
		*listing = fault; /* its "limit" and "newest_first", if any, shape the answer */
	else
		json_decref(fault);
	return false;
}

/* Reads an optional date filter; false (with a 400 answered) when present but not valid. */
static bool date_filter(const struct http_request *req, const char *name, int64_t *ms,
                        bool *present, struct http_response *resp)
{
	const char *v = http_request_query(req, name);

	*present = v != NULL;
	if (v && rfc3339_parse(v, ms) < 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s must be a w3c date-time with a zone", name);
		geo_error(resp, 400, msg);
		return false;
	}
	return true;
}

struct sel {
	int64_t t;
	size_t i;
};

static int by_time_asc(const void *a, const void *b)
{
	const struct sel *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i ? 1 : 0;
}

static void requests_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;
	const char *name = http_request_param(req, "name");
	const char *status = http_request_query(req, "status");
	const char *codes = http_request_query(req, "service_code");
	int64_t start = 0, end = 0;
	bool has_start, has_end;
	json_t *visible, *out;
	struct sel *sel;
	size_t k = 0;

	json_t *listing = NULL;

	if (answered_first(w, "requests", name, resp, &listing))
		return;
	json_int_t limit = json_integer_value(json_object_get(listing, "limit"));
	bool newest_first = json_is_true(json_object_get(listing, "newest_first"));

	json_decref(listing);
	if (limit <= 0)
		limit = MAX_REQUESTS;
	if (!date_filter(req, "start_date", &start, &has_start, resp) ||
	    !date_filter(req, "end_date", &end, &has_end, resp))
		return;
	if (!has_end)
		end = time_now_ms();
	if (!has_start)
		start = end - DEFAULT_WINDOW_MS;
	if (status) {
		for (const char *p = status; *p;) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);

			if (!((len == 4 && strncmp(p, "open", 4) == 0) ||
			      (len == 6 && strncmp(p, "closed", 6) == 0))) {
				geo_error(resp, 400, "status must be open, closed or both");
				return;
			}
			p = comma ? comma + 1 : p + len;
		}
	}

	visible = fake_visible_posts(w);
	sel = xcalloc(json_array_size(visible) + 1, sizeof(*sel));
	for (size_t i = 0; i < json_array_size(visible); i++) {
		const json_t *line = json_array_get(visible, i);
		int64_t t = fake_post_time(w, line) * 1000;

		if (!is_jurisdiction(line, name) || t < start || t > end)
			continue;
		if (status && !in_list(status, "open"))
			continue;
		if (codes) {
			char *code = service_code(
			        fake_str(line, "service") ? fake_str(line, "service") : "");
			bool match = in_list(codes, code);

			free(code);
			if (!match)
				continue;
		}
		sel[k].t = t;
		sel[k].i = i;
		k++;
	}
	qsort(sel, k, sizeof(*sel), by_time_asc);
	out = json_array();
	for (size_t j = 0; j < k && j < (size_t)limit; j++) {
		size_t at = newest_first ? k - 1 - j : j;

		json_array_append_new(out, request_object(w, json_array_get(visible, sel[at].i)));
	}
	free(sel);
	json_decref(visible);
	http_respond_json(resp, 200, out);
	resp->content_type = "application/json; charset=utf-8";
}

static void request_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;
	const char *name = http_request_param(req, "name");
	const char *file = http_request_param(req, "file");
	size_t n = file ? strlen(file) : 0;
	json_t *visible, *out = NULL;
	char *id;

	if (answered_first(w, "request", name, resp, NULL))
		return;
	if (n <= 5 || strcmp(file + n - 5, ".json") != 0) {
		geo_error(resp, 404, "only the json format is served");
		return;
	}
	id = xstrndup(file, n - 5);
	visible = fake_visible_posts(w);
	for (size_t i = 0; i < json_array_size(visible) && !out; i++) {
		const json_t *line = json_array_get(visible, i);

		if (is_jurisdiction(line, name) && strcmp(fake_str(line, "id"), id) == 0)
			out = json_pack("[o]", request_object(w, line));
	}
	json_decref(visible);
	free(id);
	if (!out) {
		geo_error(resp, 404, "no such service request");
		return;
	}
	http_respond_json(resp, 200, out);
	resp->content_type = "application/json; charset=utf-8";
}

void fake_open311_routes(struct http_server *srv, struct fake_world *w)
{
	http_server_route(srv, "GET /open311/{name}/requests.json", requests_handler, w);
	http_server_route(srv, "GET /open311/{name}/requests/{file}", request_handler, w);
}
