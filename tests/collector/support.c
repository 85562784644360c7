/* support: demo-sources, the database and a hand-built collector for the collector's tests
 * (see support.h). */
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_client.h"
#include "metrics.h"
#include "testdb.h"
#include "testenv.h"
#include "xalloc.h"

#define HOW "run through tests/run.sh"
#define DEMO_START_MS 20000
#define DEMO_STOP_MS 10000
#define DB_CONNECT_MS 10000

extern const struct db_migration collector_migrations[];
extern const size_t collector_migrations_count;

/* ---- demo-sources --------------------------------------------------------------------------- */

void demo_sources_start(struct demo_sources *d, const char *name, const char *posts,
                        const char *const args[])
{
	/* Each start its own posts file: a restarted fake must not read a rewritten one. */
	static int starts;
	const char *bin_dir = testenv_require("TEST_BIN_DIR", HOW);
	const char *work_dir = testenv_require("TEST_WORK_DIR", HOW);
	char *path = xasprintf("%s/demo-sources", bin_dir);
	char *posts_path =
	        xasprintf("%s/%s-posts-%d-%d.ndjson", work_dir, name, (int)getpid(), ++starts);
	char *log = xasprintf("%s/%s-demo-sources.log", work_dir, name);
	char port_s[16];
	char *argv[16] = {path, "--port", port_s, "--posts", posts_path};
	size_t argc = 5;
	FILE *f = fopen(posts_path, "w");

	if (!f || fputs(posts, f) < 0 || fclose(f) != 0)
		fail_msg("cannot write %s", posts_path);
	for (size_t i = 0; args && args[i]; i++) {
		if (argc + 1 >= sizeof(argv) / sizeof(argv[0]))
			fail_msg("demo_sources_start: too many arguments");
		argv[argc++] = (char *)(uintptr_t)args[i];
	}
	argv[argc] = NULL;
	d->port = testenv_free_port();
	snprintf(port_s, sizeof(port_s), "%d", d->port);
	testproc_start(&d->proc, path, argv, NULL, log);
	testproc_wait_http(&d->proc, d->port, "/healthz", DEMO_START_MS);
	free(path);
	free(posts_path);
	free(log);
}

int demo_sources_stop(struct demo_sources *d)
{
	return testproc_stop(&d->proc, SIGTERM, DEMO_STOP_MS);
}

char *demo_sources_url(const struct demo_sources *d, const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", d->port, path);
}

/* Sends the request; returns the status and, when answer is not NULL, the body (caller frees). */
static long request(const struct demo_sources *d, const char *method, const char *path,
                    const char *body, char **answer)
{
	char *url = demo_sources_url(d, path), err[256];
	struct http_client *c = http_client_new();
	struct http_client_response r;
	long status;

	if (http_client_request(c, method, url, NULL, body, body ? strlen(body) : 0, &r, err,
	                        sizeof(err)) < 0)
		fail_msg("%s %s: %s", method, path, err);
	status = r.status;
	if (answer)
		*answer = xstrdup(r.body);
	http_client_response_clear(&r);
	http_client_free(c);
	free(url);
	return status;
}

long demo_sources_request(const struct demo_sources *d, const char *method, const char *path,
                          const char *body, json_t **out)
{
	char *answer;
	long status = request(d, method, path, body, out ? &answer : NULL);

	if (out) {
		*out = json_loads(answer, 0, NULL);
		if (!*out)
			fail_msg("%s %s: %ld, not JSON: %s", method, path, status, answer);
		free(answer);
	}
	return status;
}

void demo_sources_control(const struct demo_sources *d, const char *path, const char *body)
{
	char *answer;
	long status = request(d, "POST", path, body, &answer);

	if (status != 200)
		fail_msg("POST %s: %ld %s", path, status, answer);
	free(answer);
}

void demo_sources_fault(const struct demo_sources *d, json_t *fault)
{
	char *body = json_dumps(fault, JSON_COMPACT);

	demo_sources_control(d, "/control/fault", body);
	free(body);
	json_decref(fault);
}

long demo_sources_stat(const struct demo_sources *d, const char *key)
{
	json_t *stats;
	long status = demo_sources_request(d, "GET", "/control/stats", NULL, &stats);
	long v;

	if (status != 200)
		fail_msg("GET /control/stats: %ld", status);
	v = (long)json_integer_value(json_object_get(stats, key));
	json_decref(stats);
	return v;
}

void support_ndjson_add(struct strbuf *ndjson, json_t *line)
{
	char *s = json_dumps(line, JSON_COMPACT);

	strbuf_addstr(ndjson, s);
	strbuf_addch(ndjson, '\n');
	free(s);
	json_decref(line);
}

/* ---- the database --------------------------------------------------------------------------- */

struct db *support_db_connect(void)
{
	char err[512];
	struct db *db = db_connect(testdb_url(), DB_CONNECT_MS, NULL, err, sizeof(err));

	if (!db)
		fail_msg("db_connect: %s", err);
	return db;
}

void support_db_migrate(struct db *db)
{
	char err[512];

	/* A rerun by hand, or the test before, leaves tables behind. */
	support_sql(db, "DROP SCHEMA IF EXISTS collector CASCADE");
	if (db_migrate(db, "collector", collector_migrations, collector_migrations_count, err,
	               sizeof(err)) < 0)
		fail_msg("db_migrate: %s", err);
}

void support_sql(struct db *db, const char *statement)
{
	char err[256];

	if (db_run(db, statement, 0, NULL, err, sizeof(err)) < 0)
		fail_msg("%s: %s", statement, err);
}

long support_query_long(struct db *db, const char *sql, const char *param)
{
	char err[256];
	const char *params[1] = {param};
	PGresult *r = db_exec(db, sql, param ? 1 : 0, param ? params : NULL, err, sizeof(err));
	long v;

	if (!r)
		fail_msg("%s: %s", sql, err);
	v = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

long support_count_messages(struct db *db, const char *id_like)
{
	return support_query_long(db, "SELECT count(*) FROM collector.messages WHERE id LIKE $1",
	                          id_like);
}

json_t *support_record(struct db *db, const char *id, long *revision)
{
	char err[256];
	const char *params[1] = {id};
	PGresult *r =
	        db_exec(db, "SELECT record::text, revision FROM collector.messages WHERE id = $1",
	                1, params, err, sizeof(err));
	json_t *doc;

	if (!r)
		fail_msg("select record: %s", err);
	if (PQntuples(r) != 1)
		fail_msg("message %s is not stored", id);
	doc = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	if (revision)
		*revision = atol(PQgetvalue(r, 0, 1));
	PQclear(r);
	assert_non_null(doc);
	return doc;
}

char *support_cursor(struct db *db, const char *source, const char *key)
{
	char err[256];
	const char *params[2] = {source, key};
	PGresult *r =
	        db_exec(db, "SELECT value FROM collector.cursors WHERE source = $1 AND key = $2", 2,
	                params, err, sizeof(err));
	char *v;

	if (!r)
		fail_msg("cursor: %s", err);
	v = PQntuples(r) ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	return v;
}

void support_assert_cursor(struct db *db, const char *source, const char *key, const char *expected)
{
	char *v = support_cursor(db, source, key);

	if (!expected && v)
		fail_msg("cursor %s %s is %s, expected none", source, key, v);
	if (expected && !v)
		fail_msg("cursor %s %s is not stored, expected %s", source, key, expected);
	if (expected)
		assert_string_equal(v, expected);
	free(v);
}

/* ---- the collector -------------------------------------------------------------------------- */

void support_collector_init(struct collector *c)
{
	struct metrics *reg = metrics_new();

	memset(c, 0, sizeof(*c));
	c->svc.name = "collector";
	c->svc.metrics = reg;
	c->svc.processed = metrics_counter(reg, "im_messages_processed_total", "processed", NULL);
	c->svc.failed = metrics_counter(reg, "im_messages_failed_total", "failed", NULL);
	c->svc.dead_lettered = metrics_counter(reg, "im_messages_dead_lettered_total", "dl", NULL);
	c->svc.latency = metrics_histogram(reg, "im_processing_seconds", "latency", NULL, NULL, 0);
	collector_setup(c, reg);
}

void support_collector_release(struct collector *c)
{
	collector_teardown(c);
	metrics_free(c->svc.metrics);
	c->svc.metrics = NULL;
}

void support_poll(struct source *src, struct collector *c, struct db *db,
                  const volatile sig_atomic_t *stop, struct poll_result *res)
{
	struct source_env env = {.collector = c, .db = db, .stop = stop};

	src->poll(src, &env, res);
}

void support_assert_poll_ok(const struct poll_result *r)
{
	if (r->status != POLL_OK)
		fail_msg("poll status %d, expected OK: %s", r->status, r->error);
}

/* ---- records -------------------------------------------------------------------------------- */

const char *support_jstr(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}
