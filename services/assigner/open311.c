/* open311: GeoReport v2 read endpoints over the assigner's incidents (see open311.h). */
#include "open311.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiutil.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "region.h"
#include "strbuf.h"
#include "timefmt.h"
#include "topics.h"
#include "xalloc.h"

#define MAX_SPAN_MS (90LL * 86400 * 1000) /* the spec's longest start_date..end_date */
#define MAX_RESULTS 1000
#define MAX_IDS 100

/* Answers a GeoReport v2 error: [{"code": status, "description": "..."}]. */
static void open311_error(struct http_response *resp, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void open311_error(struct http_response *resp, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_respond_json(resp, status,
	                  json_pack("[{s:i, s:s}]", "code", status, "description", msg));
}

/* When the deployment keeps Open311 behind tokens: any API token will do. */
static bool allowed(const struct open311_deps *d, const struct http_request *req,
                    struct http_response *resp)
{
	if (!d->auth || auth_check(d->auth, req))
		return true;
	open311_error(resp, 401, "a valid Authorization: Bearer <token> is required");
	return false;
}

/* ---- services.json ----------------------------------------------------------------------- */

static void handle_services(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const struct open311_deps *d = ctx;
	json_t *list = json_array();

	if (!allowed(d, req, resp)) {
		json_decref(list);
		return;
	}
	for (size_t i = 0; i < d->topics->n; i++) {
		const struct topic *t = &d->topics->items[i];
		char *desc = xasprintf("Сообщения жителей по теме «%s»: %s", t->name, t->keywords);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s}",
		                                      "service_code", t->code, "service_name",
		                                      t->name, "description", desc, "metadata", 0,
		                                      "type", "realtime", "keywords", t->keywords,
		                                      "group", region_name(d->region)));
		free(desc);
	}
	api_respond(resp, 200, list);
}

/* ---- requests ---------------------------------------------------------------------------- */

char *open311_mask(const char *text)
{
	struct strbuf sb = {0};
	const char *p = text;

	while (*p) {
		/* A phone number: a run of digits with the separators people write, 7+ digits. */
		if ((*p >= '0' && *p <= '9') || (*p == '+' && p[1] >= '0' && p[1] <= '9')) {
			const char *q = p;
			int digits = 0;
			while (*q && strchr("0123456789+-() ", *q)) {
				digits += *q >= '0' && *q <= '9';
				q++;
			}
			while (q > p && !(q[-1] >= '0' && q[-1] <= '9'))
				q--; /* trailing separators are not part of it */
			if (digits >= 7) {
				strbuf_addstr(&sb, "[телефон скрыт]");
				p = q;
				continue;
			}
			strbuf_add(&sb, p, (size_t)(q - p));
			p = q;
			continue;
		}
		/* An e-mail address: the word around an '@' with a dot after it. */
		if (*p == '@' && sb.len && !strchr(" \t\n", sb.buf[sb.len - 1])) {
			const char *q = p + 1;
			while (*q && !strchr(" \t\n,;()<>\"'", *q))
				q++;
			if (memchr(p, '.', (size_t)(q - p))) {
				while (sb.len && !strchr(" \t\n,;()<>\"'", sb.buf[sb.len - 1]))
					sb.buf[--sb.len] = '\0';
				strbuf_addstr(&sb, "[e-mail скрыт]");
				p = q;
				continue;
			}
		}
		strbuf_addch(&sb, *p++);
	}
	return strbuf_detach(&sb);
}

/* clang-format off */
/* The public incidents ('open': an authority is on it; 'closed': resolved) as GeoReport rows. */
#define REQUESTS_SELECT \
	"SELECT i.id, i.topic, CASE WHEN i.status = 'resolved' THEN 'closed' ELSE 'open' END," \
	" i.summary, i.authority_id, i.address, " API_TS("i.opened_at") "," \
	" " API_TS("i.updated_at") ", " API_TS("i.final_answer_due") "," \
	" " API_TS("i.first_answer_due") "," \
	" (SELECT a.details->>'text' FROM assigner.audit a WHERE a.incident_id = i.id" \
	"   AND a.action = 'responded' AND a.details->>'kind' IN ('interim', 'final')" \
	"   ORDER BY a.id DESC LIMIT 1)" \
	" FROM assigner.incidents i WHERE i.status IN ('assigned', 'responded', 'resolved')"
/* clang-format on */

enum {
	R_ID,
	R_TOPIC,
	R_STATUS,
	R_SUMMARY,
	R_AUTHORITY,
	R_ADDRESS,
	R_OPENED,
	R_UPDATED,
	R_EXPECTED,
	R_FIRST_DUE,
	R_NOTES
};

static json_t *nullable(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static json_t *request_json(const struct open311_deps *d, const PGresult *res, int row)
{
	const struct topic *t = topics_find(d->topics, PQgetvalue(res, row, R_TOPIC));
	const struct region_authority *a =
	        PQgetisnull(res, row, R_AUTHORITY)
	                ? NULL
	                : region_authority(d->region, PQgetvalue(res, row, R_AUTHORITY));
	bool open = !strcmp(PQgetvalue(res, row, R_STATUS), "open");
	char *description = open311_mask(PQgetvalue(res, row, R_SUMMARY));
	char *address = PQgetisnull(res, row, R_ADDRESS)
	                        ? NULL
	                        : open311_mask(PQgetvalue(res, row, R_ADDRESS));
	char *notice = NULL;
	if (open && !PQgetisnull(res, row, R_FIRST_DUE))
		notice = xasprintf("Ответ ведомства ожидается до %s (UTC)",
		                   PQgetvalue(res, row, R_FIRST_DUE));
	json_t *r = json_pack(
	        "{s:s, s:s, s:o, s:s?, s:s, s:s, s:s?, s:s?, s:o, s:o, s:o, s:s?, s:n, s:n, s:n}",
	        "service_request_id", PQgetvalue(res, row, R_ID), "status",
	        open ? "open" : "closed", "status_notes", nullable(res, row, R_NOTES),
	        "service_name", t ? t->name : NULL, "service_code", PQgetvalue(res, row, R_TOPIC),
	        "description", description, "agency_responsible", a ? a->name : NULL,
	        "service_notice", notice, "requested_datetime", nullable(res, row, R_OPENED),
	        "updated_datetime", nullable(res, row, R_UPDATED), "expected_datetime",
	        nullable(res, row, R_EXPECTED), "address", address, "address_id", "zipcode",
	        "media_url");
	free(description);
	free(address);
	free(notice);
	return r;
}

/* Runs the statement and answers the rows as a GeoReport list; a single request's list is
 * answered 404 when empty. */
static void respond_requests(const struct open311_deps *d, struct http_response *resp,
                             const char *sql, int n, const char *const *params, bool single)
{
	char err[512];
	struct db *db = db_pool_acquire(d->pool, 5000, err, sizeof(err));
	PGresult *res = db ? db_exec(db, sql, n, params, err, sizeof(err)) : NULL;

	if (!res) {
		log_error("open311: query failed", "{s:s}", "error", err);
		open311_error(resp, 503, "the database is unavailable");
	} else if (single && PQntuples(res) == 0) {
		open311_error(resp, 404, "service_request_id: no such request");
	} else {
		json_t *list = json_array();
		for (int row = 0; row < PQntuples(res); row++)
			json_array_append_new(list, request_json(d, res, row));
		api_respond(resp, 200, list);
	}
	PQclear(res);
	db_pool_release(d->pool, db);
}

/* A GeoReport time parameter; answers 400 naming it when invalid. */
static int time_param(const struct http_request *req, struct http_response *resp, const char *name,
                      int64_t *ms, bool *present)
{
	const char *v = http_request_query(req, name);
	*present = v != NULL;
	if (v && rfc3339_parse(v, ms) < 0) {
		open311_error(resp, 400, "%s: not a W3C/RFC 3339 date-time", name);
		return -1;
	}
	return 0;
}

/* service_request_id=1,2,3: every id a positive integer. Returns the text[] literal or NULL
 * after answering 400. */
static char *id_list(const char *v, struct http_response *resp)
{
	char *copy = xstrdup(v), *save = NULL;
	const char *ids[MAX_IDS];
	size_t n = 0;
	char *out = NULL;

	for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		while (*s == ' ')
			s++;
		char *end = s;
		long long id = *s >= '0' && *s <= '9' ? strtoll(s, &end, 10) : 0;
		/* Spaces may follow a number, nothing else: "1 2" is no id. */
		if (id > 0 && end[strspn(end, " ")])
			id = 0;
		if (id <= 0 || n == MAX_IDS) {
			open311_error(resp, 400,
			              "service_request_id: must be up to %d request ids, "
			              "comma-separated",
			              MAX_IDS);
			goto out;
		}
		*end = '\0'; /* compared as text: "7 " would match no request */
		ids[n++] = s;
	}
	if (n == 0) {
		open311_error(resp, 400, "service_request_id: no id given");
		goto out;
	}
	out = db_text_array(ids, n);
out:
	free(copy);
	return out;
}

static void handle_requests(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const struct open311_deps *d = ctx;
	const char *v;

	if (!allowed(d, req, resp))
		return;
	if ((v = http_request_query(req, "service_request_id"))) {
		/* The spec: a list of ids overrides every other parameter. */
		char *ids = id_list(v, resp);
		if (!ids)
			return;
		const char *params[1] = {ids};
		respond_requests(d, resp,
		                 REQUESTS_SELECT " AND i.id::text = ANY($1::text[])"
		                                 " ORDER BY i.opened_at DESC, i.id DESC",
		                 1, params, false);
		free(ids);
		return;
	}
	const char *code = http_request_query(req, "service_code");
	if (code && !topics_find(d->topics, code)) {
		open311_error(resp, 400, "service_code: unknown service code");
		return;
	}
	const char *status = http_request_query(req, "status");
	if (status && strcmp(status, "open") && strcmp(status, "closed")) {
		open311_error(resp, 400, "status: must be open or closed");
		return;
	}
	int64_t start = 0, end = 0;
	bool has_start, has_end;
	if (time_param(req, resp, "start_date", &start, &has_start) < 0 ||
	    time_param(req, resp, "end_date", &end, &has_end) < 0)
		return;
	/* The spec's defaults: the 90 days before end_date (or now), and never a longer span. */
	if (!has_end)
		end = has_start ? start + MAX_SPAN_MS : time_now_ms();
	if (!has_start)
		start = end - MAX_SPAN_MS;
	if (end < start) {
		open311_error(resp, 400, "end_date: must not be before start_date");
		return;
	}
	if (end - start > MAX_SPAN_MS) {
		open311_error(resp, 400, "end_date: the span may not exceed 90 days");
		return;
	}
	char s[32], e[32], lim[16];
	rfc3339_format(start, s);
	rfc3339_format(end, e);
	snprintf(lim, sizeof(lim), "%d", MAX_RESULTS);
	const char *params[5] = {code, status, s, e, lim};
	respond_requests(d, resp,
	                 REQUESTS_SELECT " AND ($1::text IS NULL OR i.topic = $1)"
	                                 " AND ($2::text IS NULL OR"
	                                 "      ($2 = 'closed') = (i.status = 'resolved'))"
	                                 " AND i.opened_at >= $3::timestamptz"
	                                 " AND i.opened_at <= $4::timestamptz"
	                                 " ORDER BY i.opened_at DESC, i.id DESC LIMIT $5::int",
	                 5, params, false);
}

static void handle_request(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const struct open311_deps *d = ctx;
	const char *file = http_request_param(req, "file");
	size_t len = file ? strlen(file) : 0;
	char id[24];

	if (!allowed(d, req, resp))
		return;
	/* "{id}.json": the router captures whole segments, so the format suffix is ours to cut. */
	if (len < 6 || len - 5 >= sizeof(id) || strcmp(file + len - 5, ".json") != 0) {
		open311_error(resp, 404, "service_request_id: no such request (use <id>.json)");
		return;
	}
	memcpy(id, file, len - 5);
	id[len - 5] = '\0';
	char *end;
	long long v = id[0] >= '0' && id[0] <= '9' ? strtoll(id, &end, 10) : 0;
	if (v <= 0 || *end) {
		open311_error(resp, 404, "service_request_id: no such request");
		return;
	}
	char idtext[24];
	snprintf(idtext, sizeof(idtext), "%lld", v);
	const char *params[1] = {idtext};
	respond_requests(d, resp, REQUESTS_SELECT " AND i.id = $1::bigint", 1, params, true);
}

int open311_routes(struct http_server *srv, struct open311_deps *d)
{
	int rc = http_server_route(srv, "GET /open311/v2/services.json", handle_services, d);
	rc |= http_server_route(srv, "GET /open311/v2/requests.json", handle_requests, d);
	rc |= http_server_route(srv, "GET /open311/v2/requests/{file}", handle_request, d);
	return rc ? -1 : 0;
}
