/* api_support: the operator API's test fixture (see api_support.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_support.h"
#include "db.h"
#include "http.h"
#include "http_client.h"
#include "region.h"
#include "service.h"
#include "testdb.h"
#include "xalloc.h"

extern const struct db_migration assigner_migrations[];
extern const size_t assigner_migrations_count;

struct fixture_settings {
	struct api_settings api;
};

static const struct config_var fixture_vars[] = {
        API_SETTINGS_VARS(struct fixture_settings, api),
};
#define NVARS (sizeof(fixture_vars) / sizeof(fixture_vars[0]))

static struct {
	struct service svc;
	struct fixture_settings settings;
	struct db_pool *pool;
	struct region *region;
	struct api *api;
	struct db *db;
	int port;
	char **env_set; /* names set by start, unset by stop */
	size_t nenv;
} fx;

static void fixture_setenv(const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	char *name = xstrndup(assignment, (size_t)(eq - assignment));
	setenv(name, eq + 1, 1);
	fx.env_set = xrealloc(fx.env_set, (fx.nenv + 1) * sizeof(*fx.env_set));
	fx.env_set[fx.nenv++] = name;
}

void api_fixture_start(const char *const *extra_env)
{
	char err[1024];
	const char *url = testdb_url();
	char *db_env = xasprintf("DATABASE_URL=%s", url);
	const char *base[] = {
	        db_env, "HTTP_PORT=0",
	        /* Not above info: service_init's "starting" line owns its config
	                       * object only when it is written (shared/service.c). */
	        "LOG_LEVEL=info", "TAXONOMY_FILE=services/classifier/data/taxonomy.json",
	        "API_TOKENS=" TOKEN_OPERATOR "=operator," TOKEN_VIEWER "=viewer," TOKEN_UKHIT
	        "=authority:abakan_ukhit," TOKEN_ABAKAN "=authority:abakan_admin," TOKEN_CHERNOGORSK
	        "=authority:chernogorsk_admin",
	        NULL};

	for (size_t i = 0; base[i]; i++)
		fixture_setenv(base[i]);
	for (size_t i = 0; extra_env && extra_env[i]; i++)
		fixture_setenv(extra_env[i]);
	free(db_env);

	fx.db = db_connect(url, 10000, NULL, err, sizeof(err));
	if (!fx.db)
		fail_msg("connect: %s", err);
	if (db_migrate(fx.db, "assigner", assigner_migrations, assigner_migrations_count, err,
	               sizeof(err)) < 0)
		fail_msg("migrate: %s", err);
	if (!(fx.region = region_load("deploy/regions/khakassia", err, sizeof(err))))
		fail_msg("region: %s", err);
	if (service_init(&fx.svc, "assigner", fixture_vars, NVARS, &fx.settings, err, sizeof(err)) <
	    0)
		fail_msg("service_init: %s", err);
	fx.pool = db_pool_new(url, 4);
	if (!(fx.api = api_new(&fx.svc, fx.pool, fx.region, &fx.settings.api, err, sizeof(err))))
		fail_msg("api_new: %s", err);
	if (service_listen(&fx.svc, err, sizeof(err)) < 0)
		fail_msg("listen: %s", err);
	fx.port = http_server_port(fx.svc.http);
}

void api_fixture_stop(void)
{
	/* The server first (service_free), then what its handlers used. */
	service_free(&fx.svc, fixture_vars, NVARS, &fx.settings);
	api_free(fx.api);
	db_pool_free(fx.pool);
	region_free(fx.region);
	db_free(fx.db);
	for (size_t i = 0; i < fx.nenv; i++) {
		unsetenv(fx.env_set[i]);
		free(fx.env_set[i]);
	}
	free(fx.env_set);
	memset(&fx, 0, sizeof(fx));
}

struct db *api_fixture_db(void)
{
	return fx.db;
}

int api_fixture_port(void)
{
	return fx.port;
}

long api_call(const char *method, const char *token, const char *path, const char *body,
              json_t **out)
{
	char url[2048], auth[128], err[256];
	const char *headers[3] = {NULL, NULL, NULL};
	int h = 0;
	struct http_client_response r;
	struct http_client *c = http_client_new();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fx.port, path);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[h++] = auth;
	}
	if (body)
		headers[h++] = "Content-Type: application/json";
	if (http_client_request(c, method, url, headers, body, body ? strlen(body) : 0, &r, err,
	                        sizeof(err)) < 0)
		fail_msg("%s %s: %s", method, path, err);
	long status = r.status;
	if (out) {
		json_error_t je;
		*out = json_loads(r.body, 0, &je);
		if (!*out)
			fail_msg("%s %s: status %ld, body is not JSON: %s", method, path, status,
			         r.body);
	}
	http_client_response_clear(&r);
	http_client_free(c);
	return status;
}

int64_t fixture_incident(const struct fixture_incident *in)
{
	char err[512];
	const char *status = in->status ? in->status : "assigned";
	bool unassigned = !strcmp(status, "moderation");
	const char *p[20] = {
	        status,
	        in->topic ? in->topic : "housing",
	        in->subtopic,
	        in->municipality ? in->municipality : "abakan",
	        in->urgency ? in->urgency : "normal",
	        in->authority ? in->authority
	        : unassigned  ? NULL
	                      : "abakan_ukhit",
	        in->rule_id  ? in->rule_id
	        : unassigned ? NULL
	                     : "housing@abakan",
	        in->summary ? in->summary : "Нет отопления в доме на Щетинкина 18",
	        in->address,
	        in->moderation_reason,
	        in->opened_at,
	        in->assigned_at ? in->assigned_at
	        : unassigned    ? NULL
	                        : in->opened_at,
	        in->first_answer_due,
	        in->final_answer_due,
	        in->first_answered_at,
	        in->first_answer_ms,
	        in->resolved_at,
	        in->overdue ? in->overdue : "false",
	        in->satisfied,
	        unassigned ? "t" : "f",
	};
	PGresult *res = db_exec(
	        fx.db,
	        "INSERT INTO assigner.incidents (status, topic, subtopic, municipality, urgency,"
	        " authority_id, rule_id, summary, address, moderation_reason, opened_at,"
	        " last_report_at, assigned_at, first_answer_due, final_answer_due, "
	        "first_answered_at,"
	        " first_answer_ms, resolved_at, overdue, satisfied, feedback_at, reports, affected)"
	        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11::timestamptz, "
	        "now()),"
	        "  coalesce($11::timestamptz, now()),"
	        "  CASE WHEN $20::boolean THEN NULL"
	        "   ELSE coalesce($12::timestamptz, $11::timestamptz, now()) END,"
	        "  CASE WHEN $20::boolean THEN NULL"
	        "   ELSE coalesce($13::timestamptz, coalesce($11::timestamptz, now()) + interval"
	        "    '1 day') END,"
	        "  CASE WHEN $20::boolean THEN NULL"
	        "   ELSE coalesce($14::timestamptz, coalesce($11::timestamptz, now()) + interval"
	        "    '10 days') END,"
	        "  $15, $16::bigint, $17, $18::boolean, $19::boolean,"
	        "  CASE WHEN $19 IS NULL THEN NULL ELSE now() END, 1, 1)"
	        " RETURNING id",
	        20, p, err, sizeof(err));
	if (!res)
		fail_msg("insert incident: %s", err);
	int64_t id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return id;
}

void fixture_report(int64_t incident, const char *message_id, const char *text,
                    const char *posted_at)
{
	char err[512], id[24];
	snprintf(id, sizeof(id), "%lld", (long long)incident);
	const char *p[4] = {id, message_id, text, posted_at};
	if (db_run(fx.db,
	           "INSERT INTO assigner.reports (message_id, revision, incident_id, is_incident,"
	           " topic, municipality, urgency, incident_score, source, external_id, url,"
	           " author_id, text, posted_at, classified_at, classification)"
	           " SELECT $2, 1, i.id, true, i.topic, i.municipality, i.urgency, 0.93, 'vk',"
	           "  split_part($2, ':', 2), 'https://vk.com/wall' || split_part($2, ':', 2),"
	           "  'vk-user-1', $3, $4::timestamptz, $4::timestamptz,"
	           "  jsonb_build_object('incident', true, 'topic', i.topic, 'topic_score', 0.88,"
	           "   'top_features', jsonb_build_array(jsonb_build_object('feature',"
	           "   'stem:отоплен', 'weight', 0.42)))"
	           " FROM assigner.incidents i WHERE i.id = $1",
	           4, p, err, sizeof(err)) < 0)
		fail_msg("insert report: %s", err);
}

char *fixture_query(const char *sql, const char *p1, const char *p2)
{
	char err[512];
	const char *p[2] = {p1, p2};
	int n = p2 ? 2 : p1 ? 1 : 0;
	PGresult *res = db_exec(fx.db, sql, n, p, err, sizeof(err));
	if (!res)
		fail_msg("%s: %s", sql, err);
	if (PQntuples(res) < 1)
		fail_msg("%s: no row", sql);
	char *v = PQgetisnull(res, 0, 0) ? NULL : xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

const char *jstr(const json_t *doc, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	const json_t *v = doc;

	for (char *part = strtok_r(copy, ".", &save); part && v; part = strtok_r(NULL, ".", &save))
		v = json_object_get(v, part);
	free(copy);
	return json_is_string(v) ? json_string_value(v) : "";
}
