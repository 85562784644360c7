/*
 * api: the operator API's routes (see api.h): authentication, the incident list and detail,
 * the lifecycle actions (carried out by actions.c), the statistics (stats.c) and the Open311
 * reads (open311.c), wired onto the service's HTTP server.
 */
#include "api.h"

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "actions.h"
#include "apiutil.h"
#include "auth.h"
#include "db.h"
#include "fields.h"
#include "http.h"
#include "log.h"
#include "open311.h"
#include "region.h"
#include "service.h"
#include "stats.h"
#include "strbuf.h"
#include "timefmt.h"
#include "topics.h"
#include "xalloc.h"

#define MAX_LIMIT 200
#define DEFAULT_LIMIT 50
#define MAX_TEXT 4000
#define POOL_WAIT_MS 5000

struct api {
	struct db_pool *pool;
	const struct region *region;
	struct auth *auth;
	struct topics *topics;
	struct stats_gauges *gauges;
	struct open311_deps open311;
	struct action_env env;
	char *public_url;
	int min_sample;
};

/* ---- the incident as the API shows it: built in SQL, named from the region in C ------------ */

/* clang-format off */
#define INCIDENT_JSON \
	"json_build_object('id', i.id, 'status', i.status, 'topic', i.topic," \
	" 'subtopic', i.subtopic, 'municipality', i.municipality, 'urgency', i.urgency," \
	" 'authority', i.authority_id, 'rule_id', i.rule_id," \
	" 'moderation_reason', i.moderation_reason, 'declined', i.declined," \
	" 'summary', i.summary, 'address', i.address, 'reports', i.reports," \
	" 'affected', i.affected, 'opened_at', " API_TS("i.opened_at") "," \
	" 'last_report_at', " API_TS("i.last_report_at") "," \
	" 'assigned_at', " API_TS("i.assigned_at") "," \
	" 'first_answer_due', " API_TS("i.first_answer_due") "," \
	" 'final_answer_due', " API_TS("i.final_answer_due") "," \
	" 'first_answered_at', " API_TS("i.first_answered_at") "," \
	" 'first_answer_hours', round(i.first_answer_ms / 3600000.0, 2)," \
	" 'final_answered_at', " API_TS("i.final_answered_at") "," \
	" 'resolved_at', " API_TS("i.resolved_at") "," \
	" 'overdue', i.overdue, 'overdue_at', " API_TS("i.overdue_at") "," \
	" 'escalated', i.escalated, 'escalated_to', i.escalated_to," \
	" 'escalated_at', " API_TS("i.escalated_at") "," \
	" 'satisfied', i.satisfied, 'feedback_comment', i.feedback_comment," \
	" 'feedback_at', " API_TS("i.feedback_at") "," \
	" 'updated_at', " API_TS("i.updated_at") ")"

/* The list's filters, each "$n IS NULL OR ...", so one statement serves every combination
 * (PostgreSQL plans an unnamed statement for the values given). */
#define LIST_WHERE \
	" WHERE ($1::text[] IS NULL OR i.status = ANY($1::text[]))" \
	" AND ($2::text IS NULL OR i.topic = $2)" \
	" AND ($3::text IS NULL OR i.municipality = $3)" \
	" AND ($4::text IS NULL OR i.authority_id = $4)" \
	" AND ($5::text IS NULL OR i.urgency = $5)" \
	" AND ($6::boolean IS NULL OR i.overdue = $6)" \
	" AND ($7::timestamptz IS NULL OR i.opened_at >= $7)" \
	" AND ($8::timestamptz IS NULL OR i.opened_at < $8)" \
	" AND ($9::text IS NULL OR strpos(lower(i.summary || ' ' || coalesce(i.address, ''))," \
	"                                 lower($9)) > 0)" \
	" AND ($10::text[] IS NULL OR i.authority_id = ANY($10::text[]))"
/* clang-format on */

/* Parses a JSON text from the database into an incident object named from the region. */
static json_t *incident_from_text(const struct api *api, const char *text)
{
	json_t *obj = json_loads(text, 0, NULL);
	if (obj)
		api_name_incident(obj, api->region);
	return obj;
}

/* ---- request plumbing ---------------------------------------------------------------------- */

/* The caller, or NULL after answering 401. */
static const struct auth_principal *
authenticate(const struct api *api, const struct http_request *req, struct http_response *resp)
{
	const struct auth_principal *p = auth_check(api->auth, req);
	if (!p)
		http_respond_error(resp, 401, "unauthorized", NULL,
		                   http_request_header(req, "Authorization")
		                           ? "unknown token"
		                           : "missing Authorization: Bearer <token>");
	return p;
}

static struct db *acquire(struct api *api, struct http_response *resp)
{
	char err[256];
	struct db *db = db_pool_acquire(api->pool, POOL_WAIT_MS, err, sizeof(err));
	if (!db) {
		log_error("api: no database connection", "{s:s}", "error", err);
		http_response_header(resp, "Retry-After", "1");
		http_respond_error(resp, 503, "unavailable", NULL, "the database is unavailable");
	}
	return db;
}

static void db_failed(struct http_response *resp, const char *what, const char *err)
{
	log_error("api: query failed", "{s:s, s:s}", "query", what, "error", err);
	http_respond_error(resp, 503, "unavailable", NULL, "the database is unavailable");
}

/* The {id} of the path as a positive integer; anything else names no incident: 404. */
static int path_id(const struct http_request *req, struct http_response *resp, int64_t *id)
{
	const char *s = http_request_param(req, "id");
	char *end;
	long long v = s && *s >= '0' && *s <= '9' ? strtoll(s, &end, 10) : 0;
	if (v <= 0 || *end || v == LLONG_MAX) {
		http_respond_error(resp, 404, "not_found", "id", "no such incident");
		return -1;
	}
	*id = v;
	return 0;
}

/* The principal's scope as the statements' parameter: NULL for everything. */
static const char *scope_param(const struct auth_principal *p)
{
	return p->role == AUTH_AUTHORITY ? p->scope : NULL;
}

/* ---- GET /v1/incidents --------------------------------------------------------------------- */

static const char *const list_params[] = {
        "status", "topic", "municipality", "authority", "urgency", "overdue", "from",
        "to",     "q",     "limit",        NULL};

/* Validates the filters into the statement's parameters $1..$9. */
static int list_filters(struct api *api, const struct http_request *req, struct http_response *resp,
                        const char *params[9], char times[2][32], char **status_array)
{
	static const char *const statuses[] = {"moderation", "assigned", "responded", "resolved",
	                                       "rejected"};
	static const char *const open[] = {"moderation", "assigned", "responded"};
	static const char *const closed[] = {"resolved", "rejected"};
	const char *v;

	if ((v = http_request_query(req, "status"))) {
		if (!strcmp(v, "open")) {
			*status_array = db_text_array(open, 3);
		} else if (!strcmp(v, "closed")) {
			*status_array = db_text_array(closed, 2);
		} else {
			for (size_t i = 0; i < 5 && !*status_array; i++)
				if (!strcmp(v, statuses[i]))
					*status_array = db_text_array(&statuses[i], 1);
			if (!*status_array)
				return api_bad_parameter(resp, "status",
				                         "must be moderation, assigned, responded, "
				                         "resolved, rejected, open or closed");
		}
		params[0] = *status_array;
	}
	if ((v = http_request_query(req, "topic")) && !topics_find(api->topics, v))
		return api_bad_parameter(resp, "topic", "unknown topic code");
	params[1] = v;
	if ((v = http_request_query(req, "municipality")) && !region_municipality(api->region, v))
		return api_bad_parameter(resp, "municipality", "unknown municipality id");
	params[2] = v;
	if ((v = http_request_query(req, "authority")) && !region_authority(api->region, v))
		return api_bad_parameter(resp, "authority", "unknown authority id");
	params[3] = v;
	if ((v = http_request_query(req, "urgency")) && strcmp(v, "high") && strcmp(v, "normal"))
		return api_bad_parameter(resp, "urgency", "must be high or normal");
	params[4] = v;
	if ((v = http_request_query(req, "overdue")) && strcmp(v, "true") && strcmp(v, "false"))
		return api_bad_parameter(resp, "overdue", "must be true or false");
	params[5] = v;
	int64_t from = 0, to = 0;
	bool has_from, has_to;
	if (api_query_time(req, resp, "from", &from, &has_from) < 0 ||
	    api_query_time(req, resp, "to", &to, &has_to) < 0)
		return -1;
	if (has_from && has_to && to <= from)
		return api_bad_parameter(resp, "to", "must be later than from");
	if (has_from) {
		rfc3339_format(from, times[0]);
		params[6] = times[0];
	}
	if (has_to) {
		rfc3339_format(to, times[1]);
		params[7] = times[1];
	}
	if ((v = http_request_query(req, "q")) && (!*v || utf8_length(v, strlen(v)) > 200))
		return api_bad_parameter(resp, "q", "must be 1 to 200 characters");
	params[8] = v;
	return 0;
}

/* limit and cursor ("<opened_at in µs since the epoch>.<id>", as next_cursor gave it). */
static int page_params(const struct http_request *req, struct http_response *resp, long *limit,
                       long long *cursor_us, long long *cursor_id, bool *has_cursor)
{
	const char *v = http_request_query(req, "limit");
	char *end;

	*limit = DEFAULT_LIMIT;
	if (v) {
		*limit = *v >= '0' && *v <= '9' ? strtol(v, &end, 10) : 0;
		if (*limit < 1 || *limit > MAX_LIMIT || *end)
			return api_bad_parameter(resp, "limit", "must be an integer from 1 to %d",
			                         MAX_LIMIT);
	}
	*has_cursor = (v = http_request_query(req, "cursor")) != NULL;
	if (v) {
		char *dot;
		*cursor_us = strtoll(v, &dot, 10);
		*cursor_id = *dot == '.' ? strtoll(dot + 1, &end, 10) : 0;
		if (dot == v || *dot != '.' || *cursor_id <= 0 || *end)
			return api_bad_parameter(resp, "cursor", "not a cursor this API gave");
	}
	return 0;
}

/* The link to the next page: this request's parameters with the new cursor. */
static char *next_link(const struct api *api, const struct http_request *req, const char *cursor)
{
	struct strbuf sb = {0};

	strbuf_addf(&sb, "%s/v1/incidents?", api->public_url ? api->public_url : "");
	for (size_t i = 0; list_params[i]; i++) {
		const char *v = http_request_query(req, list_params[i]);
		if (!v)
			continue;
		strbuf_addf(&sb, "%s=", list_params[i]);
		api_url_encode(&sb, v);
		strbuf_addch(&sb, '&');
	}
	strbuf_addf(&sb, "cursor=%s", cursor);
	return strbuf_detach(&sb);
}

static void handle_list(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct api *api = ctx;
	const struct auth_principal *who = authenticate(api, req, resp);
	const char *params[13] = {NULL};
	char times[2][32], cur_us[32], cur_id[32], lim[16], err[512];
	char *status_array = NULL;
	long limit;
	long long cursor_us = 0, cursor_id = 0;
	bool has_cursor;
	struct db *db = NULL;
	PGresult *count = NULL, *rows = NULL;

	if (!who || list_filters(api, req, resp, params, times, &status_array) < 0 ||
	    page_params(req, resp, &limit, &cursor_us, &cursor_id, &has_cursor) < 0 ||
	    !(db = acquire(api, resp)))
		goto out;
	params[9] = scope_param(who);
	count = db_exec(db, "SELECT count(*) FROM assigner.incidents i" LIST_WHERE, 10, params, err,
	                sizeof(err));
	if (!count) {
		db_failed(resp, "incidents count", err);
		goto out;
	}
	if (has_cursor) {
		snprintf(cur_us, sizeof(cur_us), "%lld", cursor_us);
		snprintf(cur_id, sizeof(cur_id), "%lld", cursor_id);
		params[10] = cur_us;
		params[11] = cur_id;
	}
	snprintf(lim, sizeof(lim), "%ld", limit);
	params[12] = lim;
	rows = db_exec(db,
	               "SELECT " INCIDENT_JSON "::text,"
	               " (extract(epoch FROM i.opened_at) * 1000000)::bigint, i.id"
	               " FROM assigner.incidents i" LIST_WHERE
	               " AND ($11::bigint IS NULL OR (i.opened_at, i.id) <"
	               "      ('epoch'::timestamptz + $11::bigint * interval '1 microsecond',"
	               "       $12::bigint))"
	               " ORDER BY i.opened_at DESC, i.id DESC LIMIT $13::int",
	               13, params, err, sizeof(err));
	if (!rows) {
		db_failed(resp, "incidents list", err);
		goto out;
	}
	json_t *items = json_array();
	int n = PQntuples(rows);
	for (int i = 0; i < n; i++)
		json_array_append_new(items, incident_from_text(api, PQgetvalue(rows, i, 0)));
	json_t *body = json_pack("{s:o, s:I, s:n, s:n}", "items", items, "total",
	                         (json_int_t)atoll(PQgetvalue(count, 0, 0)), "next_cursor", "next");
	if (n == limit) {
		char cursor[64];
		snprintf(cursor, sizeof(cursor), "%s.%s", PQgetvalue(rows, n - 1, 1),
		         PQgetvalue(rows, n - 1, 2));
		json_object_set_new(body, "next_cursor", json_string(cursor));
		char *link = next_link(api, req, cursor);
		json_object_set_new(body, "next", json_string(link));
		free(link);
	}
	api_respond(resp, 200, body);
out:
	PQclear(count);
	PQclear(rows);
	db_pool_release(api->pool, db);
	free(status_array);
}

/* ---- GET /v1/incidents/{id} ---------------------------------------------------------------- */

/* The incident with its reports and audit trail, or NULL (not found / outside scope, a
 * text[] of authority ids or NULL for all; or a database error: *failed). */
static json_t *incident_detail(struct api *api, struct db *db, int64_t id, const char *scope,
                               bool *failed, char *err, size_t errlen)
{
	char idtext[32];
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	const char *params[2] = {idtext, scope};
	json_t *obj = NULL;

	*failed = true;
	PGresult *res = db_exec(
	        db,
	        "SELECT " INCIDENT_JSON "::text,"
	        " (SELECT coalesce(json_agg(json_build_object('message_id', r.message_id,"
	        "   'source', r.source, 'external_id', r.external_id, 'url', r.url,"
	        "   'text', r.text, 'address', r.address,"
	        "   'posted_at', " API_TS(
	                "r.posted_at") ", 'classification', r.classification)"
	                               "   ORDER BY r.posted_at, r.message_id), '[]')"
	                               "  FROM assigner.reports r WHERE r.incident_id = "
	                               "i.id)::text,"
	                               " (SELECT coalesce(json_agg(json_build_object('id', a.id, "
	                               "'at', " API_TS(
	                                       "a.at") ","
	                                               "   'actor', a.actor, 'action', a.action, "
	                                               "'details', a.details) ORDER BY a.id), '[]')"
	                                               "  FROM assigner.audit a WHERE "
	                                               "a.incident_id = i.id)::text"
	                                               " FROM assigner.incidents i WHERE i.id = $1"
	                                               " AND ($2::text[] IS NULL OR i.authority_id "
	                                               "= ANY($2::text[]))",
	        2, params, err, errlen);
	if (!res)
		return NULL;
	*failed = false;
	if (PQntuples(res) == 1) {
		obj = incident_from_text(api, PQgetvalue(res, 0, 0));
		json_object_set_new(obj, "reports_list",
		                    json_loads(PQgetvalue(res, 0, 1), 0, NULL));
		json_object_set_new(obj, "audit", json_loads(PQgetvalue(res, 0, 2), 0, NULL));
	}
	PQclear(res);
	return obj;
}

/* Answers 200 with the incident's detail, 404 or 503. */
static void respond_detail(struct api *api, struct db *db, int64_t id, const char *scope,
                           struct http_response *resp)
{
	char err[512];
	bool failed;
	json_t *obj = incident_detail(api, db, id, scope, &failed, err, sizeof(err));

	if (obj)
		api_respond(resp, 200, obj);
	else if (failed)
		db_failed(resp, "incident detail", err);
	else
		http_respond_error(resp, 404, "not_found", "id", "no such incident");
}

static void handle_detail(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct api *api = ctx;
	const struct auth_principal *who = authenticate(api, req, resp);
	int64_t id;
	struct db *db;

	if (!who || path_id(req, resp, &id) < 0 || !(db = acquire(api, resp)))
		return;
	respond_detail(api, db, id, scope_param(who), resp);
	db_pool_release(api->pool, db);
}

/* ---- POST /v1/incidents/{id}/<action> ------------------------------------------------------ */

/* A decoded action body: the members any action reads. */
struct action_body {
	const char *decision, *municipality, *authority, *comment, *kind, *text;
	bool satisfied;
};

typedef enum action_status (*action_fn)(struct api *api, struct db *db, int64_t id,
                                        const struct action_body *b,
                                        const struct action_actor *actor, struct action_error *e);

struct action_route {
	const char *name;
	bool authority_may; /* an authority's user may do it on its own incidents */
	int (*decode)(const json_t *body, struct action_body *b, struct field_error *e);
	action_fn run;
};

static int read_text(const json_t *body, const char *name, bool required, const char **out,
                     struct field_error *e)
{
	return field_string(body, "", name, required, MAX_TEXT, out, e);
}

static int decode_moderate(const json_t *body, struct action_body *b, struct field_error *e)
{
	if (read_text(body, "decision", true, &b->decision, e) < 0 ||
	    read_text(body, "municipality", false, &b->municipality, e) < 0 ||
	    read_text(body, "authority", false, &b->authority, e) < 0 ||
	    read_text(body, "comment", false, &b->comment, e) < 0)
		return -1;
	if (strcmp(b->decision, "confirm") && strcmp(b->decision, "reject"))
		return field_fail(e, "decision", "must be confirm or reject");
	return 0;
}

static int decode_reassign(const json_t *body, struct action_body *b, struct field_error *e)
{
	return read_text(body, "authority", true, &b->authority, e) < 0 ||
	                       read_text(body, "comment", false, &b->comment, e) < 0
	               ? -1
	               : 0;
}

static int decode_respond(const json_t *body, struct action_body *b, struct field_error *e)
{
	const json_t *nr = json_object_get(body, "not_responsible");

	if (read_text(body, "text", true, &b->text, e) < 0)
		return -1;
	if (nr && !json_is_null(nr) && !json_is_boolean(nr))
		return field_fail(e, "not_responsible", "must be true or false");
	if (json_is_true(nr)) {
		/* «Not our responsibility»: the text is the reason, and there is no other kind. */
		b->kind = "not_responsible";
		return 0;
	}
	if (read_text(body, "kind", true, &b->kind, e) < 0)
		return -1;
	if (strcmp(b->kind, "interim") && strcmp(b->kind, "final") &&
	    strcmp(b->kind, "not_responsible"))
		return field_fail(e, "kind", "must be interim, final or not_responsible");
	return 0;
}

static int decode_comment(const json_t *body, struct action_body *b, struct field_error *e)
{
	return read_text(body, "comment", false, &b->comment, e);
}

static int decode_feedback(const json_t *body, struct action_body *b, struct field_error *e)
{
	const json_t *s = json_object_get(body, "satisfied");

	if (!s || json_is_null(s))
		return field_fail(e, "satisfied", "is required");
	if (!json_is_boolean(s))
		return field_fail(e, "satisfied", "must be true or false");
	b->satisfied = json_is_true(s);
	return read_text(body, "comment", false, &b->comment, e);
}

static enum action_status run_moderate(struct api *api, struct db *db, int64_t id,
                                       const struct action_body *b,
                                       const struct action_actor *actor, struct action_error *e)
{
	struct action_moderation m = {b->decision, b->municipality, b->authority, b->comment};
	return action_moderate(db, &api->env, id, &m, actor, e);
}

static enum action_status run_reassign(struct api *api, struct db *db, int64_t id,
                                       const struct action_body *b,
                                       const struct action_actor *actor, struct action_error *e)
{
	return action_reassign(db, &api->env, id, b->authority, b->comment, actor, e);
}

static enum action_status run_respond(struct api *api, struct db *db, int64_t id,
                                      const struct action_body *b, const struct action_actor *actor,
                                      struct action_error *e)
{
	return action_respond(db, &api->env, id, b->kind, b->text, actor, e);
}

static enum action_status run_resolve(struct api *api, struct db *db, int64_t id,
                                      const struct action_body *b, const struct action_actor *actor,
                                      struct action_error *e)
{
	return action_resolve(db, &api->env, id, b->comment, actor, e);
}

static enum action_status run_reopen(struct api *api, struct db *db, int64_t id,
                                     const struct action_body *b, const struct action_actor *actor,
                                     struct action_error *e)
{
	return action_reopen(db, &api->env, id, b->comment, actor, e);
}

static enum action_status run_feedback(struct api *api, struct db *db, int64_t id,
                                       const struct action_body *b,
                                       const struct action_actor *actor, struct action_error *e)
{
	return action_feedback(db, &api->env, id, b->satisfied, b->comment, actor, e);
}

static const struct action_route action_routes[] = {
        {"moderate", false, decode_moderate, run_moderate},
        {"reassign", false, decode_reassign, run_reassign},
        {"respond", true, decode_respond, run_respond},
        {"resolve", true, decode_comment, run_resolve},
        {"reopen", false, decode_comment, run_reopen},
        {"feedback", false, decode_feedback, run_feedback},
};

/* The JSON object body, or NULL after answering 415 / 400. */
static json_t *read_body(const struct http_request *req, struct http_response *resp)
{
	const char *ct = http_request_header(req, "Content-Type");
	json_error_t je;

	if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
		http_respond_error(resp, 415, "unsupported_media_type", NULL,
		                   "Content-Type must be application/json");
		return NULL;
	}
	json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		char msg[256];
		snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", je.line,
		         je.column, je.text);
		http_respond_error(resp, 400, "invalid_json", "", msg);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		http_respond_error(resp, 400, "invalid_json", "", "the body must be a JSON object");
		return NULL;
	}
	return doc;
}

/*
 * An authority's user acts only on incidents in its scope: the incident's current authority,
 * read here, becomes the actor's, so actions.c refuses (404) if it moves meanwhile. Returns 0,
 * or -1 after answering 404 / 503.
 */
static int scoped_actor(struct db *db, int64_t id, const struct auth_principal *who,
                        char *authority, size_t len, struct http_response *resp)
{
	char idtext[32], err[256];
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	const char *params[2] = {idtext, who->scope};
	PGresult *res = db_exec(db,
	                        "SELECT authority_id FROM assigner.incidents"
	                        " WHERE id = $1 AND authority_id = ANY($2::text[])",
	                        2, params, err, sizeof(err));
	if (!res) {
		db_failed(resp, "incident scope", err);
		return -1;
	}
	int found = PQntuples(res) == 1;
	if (found)
		snprintf(authority, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!found)
		http_respond_error(resp, 404, "not_found", "id", "no such incident");
	return found ? 0 : -1;
}

static void handle_action(struct api *api, const struct action_route *route,
                          const struct http_request *req, struct http_response *resp)
{
	const struct auth_principal *who = authenticate(api, req, resp);
	struct action_body b = {0};
	struct field_error fe = {{0}, {0}};
	struct action_error ae;
	char actor_name[160], authority[128];
	struct action_actor actor = {actor_name, NULL};
	json_t *body = NULL;
	struct db *db = NULL;
	int64_t id;

	if (!who)
		return;
	if (who->role == AUTH_VIEWER || (who->role == AUTH_AUTHORITY && !route->authority_may)) {
		http_respond_error(resp, 403, "forbidden", NULL,
		                   who->role == AUTH_VIEWER
		                           ? "this token is read-only"
		                           : "an authority's token may only respond and resolve");
		return;
	}
	if (path_id(req, resp, &id) < 0 || !(body = read_body(req, resp)))
		return;
	if (route->decode(body, &b, &fe) < 0) {
		http_respond_error(resp, 400, "invalid_field", fe.field, fe.message);
		goto out;
	}
	if (!(db = acquire(api, resp)))
		goto out;
	if (who->role == AUTH_AUTHORITY) {
		if (scoped_actor(db, id, who, authority, sizeof(authority), resp) < 0)
			goto out;
		actor.authority = authority;
		snprintf(actor_name, sizeof(actor_name), "authority:%s", who->authority);
	} else {
		snprintf(actor_name, sizeof(actor_name), "operator");
	}
	switch (route->run(api, db, id, &b, &actor, &ae)) {
	case ACTION_OK:
		/* Unscoped: an authority that declined («not ours») or reassigned is still owed
		 * the outcome of what it just did. */
		respond_detail(api, db, id, NULL, resp);
		break;
	case ACTION_NOT_FOUND:
		http_respond_error(resp, 404, "not_found", "id", "no such incident");
		break;
	case ACTION_CONFLICT:
		http_respond_error(resp, 409, "conflict", NULL, ae.message);
		break;
	case ACTION_BAD_ARGUMENT:
		http_respond_error(resp, 400, "invalid_field", ae.field, ae.message);
		break;
	default:
		db_failed(resp, route->name, ae.message);
		break;
	}
out:
	db_pool_release(api->pool, db);
	json_decref(body);
}

/* One handler per action, so each route has its own label in http_requests_total. */
#define ACTION_HANDLER(i, name)                                                                    \
	static void handle_##name(void *ctx, const struct http_request *req,                       \
	                          struct http_response *resp)                                      \
	{                                                                                          \
		handle_action(ctx, &action_routes[i], req, resp);                                  \
	}
ACTION_HANDLER(0, moderate)
ACTION_HANDLER(1, reassign)
ACTION_HANDLER(2, respond)
ACTION_HANDLER(3, resolve)
ACTION_HANDLER(4, reopen)
ACTION_HANDLER(5, feedback)
static const http_handler action_handlers[] = {handle_moderate, handle_reassign, handle_respond,
                                               handle_resolve,  handle_reopen,   handle_feedback};

/* ---- GET /v1/stats ------------------------------------------------------------------------- */

static void handle_stats(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct api *api = ctx;
	const struct auth_principal *who = authenticate(api, req, resp);
	int64_t from = 0, to = 0;
	bool has_from, has_to;
	char err[512];
	struct db *db;

	if (!who || api_query_time(req, resp, "from", &from, &has_from) < 0 ||
	    api_query_time(req, resp, "to", &to, &has_to) < 0)
		return;
	if (!has_to)
		to = time_now_ms();
	if (!has_from)
		from = to - 30LL * 86400 * 1000; /* the last 30 days */
	if (to <= from) {
		api_bad_parameter(resp, "to", "must be later than from");
		return;
	}
	if (!(db = acquire(api, resp)))
		return;
	json_t *stats = stats_compute(db, api->region, api->topics, from, to, scope_param(who),
	                              api->min_sample, err, sizeof(err));
	if (stats)
		api_respond(resp, 200, stats);
	else
		db_failed(resp, "stats", err);
	db_pool_release(api->pool, db);
}

/* ---- wiring -------------------------------------------------------------------------------- */

/* <directory of this binary>/../share/classifier/taxonomy.json, the install layout. */
static char *default_taxonomy(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return xstrdup("share/classifier/taxonomy.json");
	exe[n] = '\0';
	return xasprintf("%s/../share/classifier/taxonomy.json", dirname(exe));
}

struct api *api_new(struct service *svc, struct db_pool *pool, const struct region *region,
                    const struct api_settings *s, char *err, size_t errlen)
{
	struct api *api = xcalloc(1, sizeof(*api));
	char *taxonomy = s->taxonomy_file ? xstrdup(s->taxonomy_file) : default_taxonomy();
	char terr[512];

	api->pool = pool;
	api->region = region;
	api->min_sample = (int)s->stats_min_sample;
	api->public_url = s->public_url && *s->public_url ? xstrdup(s->public_url) : NULL;
	api->env.region = region;
	api->env.public_url = api->public_url;
	api->topics = topics_load(taxonomy, terr, sizeof(terr));
	free(taxonomy);
	if (!api->topics) {
		snprintf(err, errlen, "TAXONOMY_FILE: %s", terr);
		goto fail;
	}
	if (!(api->auth = auth_new(s->tokens, region, err, errlen)))
		goto fail;
	api->open311 = (struct open311_deps){pool, region, api->topics,
	                                     s->open311_public ? NULL : api->auth};
	int rc = http_server_route(svc->http, "GET /v1/incidents", handle_list, api);
	rc |= http_server_route(svc->http, "GET /v1/incidents/{id}", handle_detail, api);
	for (size_t i = 0; i < sizeof(action_routes) / sizeof(action_routes[0]); i++) {
		char pattern[96];
		snprintf(pattern, sizeof(pattern), "POST /v1/incidents/{id}/%s",
		         action_routes[i].name);
		rc |= http_server_route(svc->http, pattern, action_handlers[i], api);
	}
	rc |= http_server_route(svc->http, "GET /v1/stats", handle_stats, api);
	rc |= open311_routes(svc->http, &api->open311);
	if (rc) {
		snprintf(err, errlen, "the operator API's routes could not be registered");
		goto fail;
	}
	api->gauges = stats_gauges_new(svc->metrics, pool, region, api->min_sample);
	return api;
fail:
	api_free(api);
	return NULL;
}

void api_free(struct api *api)
{
	if (!api)
		return;
	stats_gauges_free(api->gauges);
	auth_free(api->auth);
	topics_free(api->topics);
	free(api->public_url);
	free(api);
}
