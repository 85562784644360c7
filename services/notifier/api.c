/* api: GET /v1/deliveries, GET /v1/deliveries/{id}, POST /v1/deliveries/{id}/retry (see
 * api.h). */
#include "api.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "deliveries.h"
#include "http.h"
#include "log.h"
#include "worker.h"
#include "xalloc.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 500

struct api {
	struct db_pool *pool;
	struct workers *workers;
	char **tokens; /* the accepted tokens */
	size_t ntokens;
};

static bool authorized(const struct api *a, const struct http_request *req,
                       struct http_response *resp)
{
	const char *given = http_request_bearer(req);
	bool ok = false;

	for (size_t i = 0; given && i < a->ntokens; i++)
		ok |= http_secret_equal(a->tokens[i], given);
	if (!ok)
		http_respond_error(resp, 401, "unauthorized", NULL,
		                   given ? "unknown token"
		                         : "missing Authorization: Bearer <token>");
	return ok;
}

/* A whole positive decimal number, or -1. */
static int64_t parse_id(const char *s)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	long long v = strtoll(s, &end, 10);
	return *end == '\0' && v > 0 ? (int64_t)v : -1;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static struct db *acquire(struct api *a, struct http_response *resp)
{
	char err[256];
	struct db *db = db_pool_acquire(a->pool, 3000, err, sizeof(err));
	if (!db) {
		log_warn("api: PostgreSQL unavailable", "{s:s}", "error", err);
		http_respond_error(resp, 503, "unavailable", NULL, "the database is unreachable");
	}
	return db;
}

static void list(void *ctx, const struct http_request *req, struct http_response *resp)
{
	static const char *const channels[] = {"email",    "telegram",       "webhook",
	                                       "vk_reply", "telegram_reply", NULL};
	static const char *const statuses[] = {"pending", "sending", "sent", "dead", NULL};
	struct api *a = ctx;
	struct delivery_filter f = {.limit = DEFAULT_LIMIT};
	const char *incident = http_request_query(req, "incident");
	const char *limit = http_request_query(req, "limit");
	const char *before = http_request_query(req, "before");
	char err[256];

	if (!authorized(a, req, resp))
		return;
	f.channel = http_request_query(req, "channel");
	f.status = http_request_query(req, "status");
	if (incident && (f.incident_id = parse_id(incident)) < 0) {
		http_respond_error(resp, 400, "invalid_field", "incident",
		                   "must be a positive integer");
		return;
	}
	if (f.channel && !one_of(f.channel, channels)) {
		http_respond_error(resp, 400, "invalid_field", "channel",
		                   "must be email, telegram, webhook, vk_reply or "
		                   "telegram_reply");
		return;
	}
	if (f.status && !one_of(f.status, statuses)) {
		http_respond_error(resp, 400, "invalid_field", "status",
		                   "must be pending, sending, sent or dead");
		return;
	}
	if (limit) {
		int64_t l = parse_id(limit);
		if (l < 1 || l > MAX_LIMIT) {
			http_respond_error(resp, 400, "invalid_field", "limit",
			                   "must be an integer from 1 to 500");
			return;
		}
		f.limit = (int)l;
	}
	if (before && (f.before_id = parse_id(before)) < 0) {
		http_respond_error(resp, 400, "invalid_field", "before",
		                   "must be a positive integer (a delivery id)");
		return;
	}
	struct db *db = acquire(a, resp);
	if (!db)
		return;
	json_t *rows = deliveries_list(db, &f, err, sizeof(err));
	db_pool_release(a->pool, db);
	if (!rows) {
		log_warn("api: listing deliveries failed", "{s:s}", "error", err);
		{
			http_respond_error(resp, 503, "unavailable", NULL, "listing failed");
			return;
		}
	}
	size_t n = json_array_size(rows);
	json_t *next =
	        n == (size_t)f.limit ? json_object_get(json_array_get(rows, n - 1), "id") : NULL;
	http_respond_json(resp, 200,
	                  json_pack("{s:o, s:O}", "deliveries", rows, "next_before",
	                            next ? next : json_null()));
}

/* The {id} of the route, or a 400 answered. */
static int64_t route_id(const struct http_request *req, struct http_response *resp)
{
	int64_t id = parse_id(http_request_param(req, "id"));
	if (id < 0)
		http_respond_error(resp, 400, "invalid_field", "id", "must be a positive integer");
	return id;
}

static void respond_row(struct api *a, struct db *db, int64_t id, struct http_response *resp)
{
	char err[256];
	json_t *row = deliveries_get(db, id, err, sizeof(err));
	db_pool_release(a->pool, db);
	if (!row)
		http_respond_error(resp, 503, "unavailable", NULL, "reading the delivery failed");
	else if (json_is_null(row)) {
		http_respond_error(resp, 404, "not_found", "id", "no such delivery");
		json_decref(row);
	} else
		http_respond_json(resp, 200, row);
}

static void get_one(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	int64_t id;
	struct db *db;

	if (!authorized(a, req, resp) || (id = route_id(req, resp)) < 0 || !(db = acquire(a, resp)))
		return;
	respond_row(a, db, id, resp);
}

static void retry(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	int64_t id;
	struct db *db;
	char err[256];

	if (!authorized(a, req, resp) || (id = route_id(req, resp)) < 0 || !(db = acquire(a, resp)))
		return;
	int rc = deliveries_requeue(db, id, err, sizeof(err));
	if (rc != 1) {
		db_pool_release(a->pool, db);
		if (rc < 0)
			http_respond_error(resp, 503, "unavailable", NULL, "requeueing failed");
		else if (rc == 0)
			http_respond_error(resp, 404, "not_found", "id", "no such delivery");
		else
			http_respond_error(resp, 409, "conflict", "status",
			                   "only a dead delivery can be retried");
		return;
	}
	log_info("dead delivery requeued by an operator", "{s:I}", "delivery", (json_int_t)id);
	if (a->workers)
		workers_wake(a->workers);
	respond_row(a, db, id, resp);
}

struct api *api_new(struct http_server *srv, struct db_pool *pool, struct workers *workers,
                    const char *tokens)
{
	struct api *a = xcalloc(1, sizeof(*a));
	a->pool = pool;
	a->workers = workers;
	if (tokens) {
		char *copy = xstrdup(tokens), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (!*t)
				continue;
			a->tokens = xrealloc(a->tokens, (a->ntokens + 1) * sizeof(*a->tokens));
			a->tokens[a->ntokens++] = xstrdup(t);
		}
		free(copy);
	}
	http_server_route(srv, "GET /v1/deliveries", list, a);
	http_server_route(srv, "GET /v1/deliveries/{id}", get_one, a);
	http_server_route(srv, "POST /v1/deliveries/{id}/retry", retry, a);
	return a;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->ntokens; i++)
		free(a->tokens[i]);
	free(a->tokens);
	free(a);
}
