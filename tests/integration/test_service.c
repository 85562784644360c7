/*
 * Integration tests of shared/service through a real process: the echo_service fixture
 * (tests/fixtures/echo_service.c) started against the test PostgreSQL server. They check what
 * every service inherits from service.h: readiness, the JSON API, /metrics accepted by promtool,
 * JSON log lines with the secret DATABASE_URL redacted, configuration errors (exit status 2, every
 * bad variable named), draining on SIGTERM (exit 0), and migrations applied once when two
 * replicas start together.
 *
 * Environment: TEST_DATABASE_URL (required), TEST_FIXTURE_DIR (default build/dev/tests/fixtures).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "http_client.h"
#include "promtool.h"
#include "service.h"
#include "testdb.h"
#include "testenv.h"
#include "timefmt.h"

#define MAX_CHILDREN 8

struct child {
	pid_t pid;
	int port;
	char log[256];
	bool reaped;
	int status;
};

static const char *db_url;
/* DATABASE_URL given to the fixture: the test URL plus a marker that must never be logged. */
static char secret_url[1024];
static char secret_marker[64];
static char fixture[1024];
static char run_id[48];
static struct child children[MAX_CHILDREN];
static int nchildren;

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- the fixture process ------------------------------------------------------------------- */

/*
 * Starts the fixture with the standard environment for this run, then `overrides`
 * ("NAME=value" sets, "NAME" unsets; NULL-terminated, may be NULL). stdout and stderr go to
 * c->log.
 */
static struct child *start_echo(const char *schema, const char *const *overrides)
{
	struct child *c;
	char port[16];

	assert_true(nchildren < MAX_CHILDREN);
	c = &children[nchildren];
	memset(c, 0, sizeof(*c));
	c->port = testenv_free_port();
	snprintf(c->log, sizeof(c->log), "/tmp/test_service_%s_%d.log", run_id, nchildren);
	nchildren++;
	snprintf(port, sizeof(port), "%d", c->port);

	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		int fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
		unsetenv("KAFKA_OPTIONS");
		unsetenv("SHUTDOWN_TIMEOUT");
		unsetenv("HTTP_MAX_BODY");
		setenv("DATABASE_URL", secret_url, 1);
		setenv("HTTP_ADDR", "127.0.0.1", 1);
		setenv("HTTP_PORT", port, 1);
		setenv("LOG_LEVEL", "info", 1);
		setenv("ECHO_GREETING", "hello from the test", 1);
		setenv("ECHO_SCHEMA", schema, 1);
		setenv("ECHO_DRAIN_MS", "200", 1);
		for (size_t i = 0; overrides && overrides[i]; i++) {
			const char *eq = strchr(overrides[i], '=');

			if (eq) {
				char name[64];

				snprintf(name, sizeof(name), "%.*s", (int)(eq - overrides[i]),
				         overrides[i]);
				setenv(name, eq + 1, 1);
			} else {
				unsetenv(overrides[i]);
			}
		}
		execl(fixture, fixture, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", fixture, strerror(errno));
		_exit(127);
	}
	return c;
}

static void print_log(const struct child *c)
{
	FILE *f = fopen(c->log, "r");
	char line[4096];

	if (!f)
		return;
	fprintf(stderr, "--- %s\n", c->log);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

/* Waits up to timeout_ms for the child to exit; returns its wait status, or -1 on timeout. */
static int wait_exit(struct child *c, int timeout_ms)
{
	int64_t deadline = time_mono_ms() + timeout_ms;

	while (!c->reaped) {
		pid_t r = waitpid(c->pid, &c->status, WNOHANG);

		if (r == c->pid) {
			c->reaped = true;
			break;
		}
		if (time_mono_ms() > deadline)
			return -1;
		sleep_ms(20);
	}
	return c->status;
}

/* Exit code of a child that must exit normally within timeout_ms. */
static int exit_code(struct child *c, int timeout_ms)
{
	int st = wait_exit(c, timeout_ms);

	if (st == -1) {
		print_log(c);
		fail_msg("fixture pid %d did not exit within %d ms", (int)c->pid, timeout_ms);
	}
	if (!WIFEXITED(st)) {
		print_log(c);
		fail_msg("fixture pid %d died of signal %d", (int)c->pid, WTERMSIG(st));
	}
	return WEXITSTATUS(st);
}

static void url_of(const struct child *c, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%d%s", c->port, path);
}

/* Polls /readyz until 200; fails (with the fixture's log) if it exits or takes over 20 s. */
static void wait_ready(struct child *c)
{
	int64_t deadline = time_mono_ms() + 20000;
	char url[128], err[256];

	url_of(c, "/readyz", url, sizeof(url));
	while (time_mono_ms() < deadline) {
		struct http_client_response r;

		if (wait_exit(c, 0) != -1) {
			print_log(c);
			fail_msg("fixture exited before becoming ready (status 0x%x)", c->status);
		}
		if (http_get(url, &r, err, sizeof(err)) == 0) {
			long status = r.status;

			http_client_response_clear(&r);
			if (status == 200)
				return;
		}
		sleep_ms(50);
	}
	print_log(c);
	fail_msg("fixture not ready within 20 s");
}

static void must_get(const struct child *c, const char *path, struct http_client_response *r)
{
	char url[256], err[256] = "";

	url_of(c, path, url, sizeof(url));
	if (http_get(url, r, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/*
 * Checks every line of the child's log: a JSON object with ts, level, service "echo" and msg,
 * never the DATABASE_URL nor its marker. Returns the parsed lines as an array (caller decrefs).
 */
static json_t *check_log(const struct child *c)
{
	FILE *f = fopen(c->log, "r");
	json_t *lines = json_array();
	char line[16384];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t jerr;
		json_t *j = json_loads(line, 0, &jerr);
		const char *level;

		if (!j || !json_is_object(j))
			fail_msg("log line is not a JSON object (%s): %s", jerr.text, line);
		assert_true(json_is_string(json_object_get(j, "ts")));
		assert_true(json_is_string(json_object_get(j, "msg")));
		level = json_string_value(json_object_get(j, "level"));
		assert_non_null(level);
		assert_true(strcmp(level, "debug") == 0 || strcmp(level, "info") == 0 ||
		            strcmp(level, "warn") == 0 || strcmp(level, "error") == 0);
		assert_string_equal(json_string_value(json_object_get(j, "service")), "echo");
		if (strstr(line, secret_marker) || strstr(line, db_url))
			fail_msg("the DATABASE_URL leaked into a log line: %s", line);
		json_array_append_new(lines, j);
	}
	fclose(f);
	return lines;
}

/* The first log line whose msg is `msg`, or NULL. Borrowed from lines. */
static json_t *find_line(json_t *lines, const char *msg)
{
	size_t i;
	json_t *j;

	json_array_foreach(lines, i, j)
	{
		if (strcmp(json_string_value(json_object_get(j, "msg")), msg) == 0)
			return j;
	}
	return NULL;
}

/* A schema for this run and test. */
static void schema_for(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "echo_%s_%s", run_id, what);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	const char *dir = getenv("TEST_FIXTURE_DIR");

	(void)state;
	db_url = testdb_url();
	snprintf(fixture, sizeof(fixture), "%s/echo_service",
	         dir && *dir ? dir : "build/dev/tests/fixtures");
	if (access(fixture, X_OK) != 0) {
		fprintf(stderr, "fixture %s is not executable (make %s; or set TEST_FIXTURE_DIR)\n",
		        fixture, fixture);
		return -1;
	}
	snprintf(run_id, sizeof(run_id), "%ld_%ld", (long)getpid(), (long)time(NULL) % 100000);
	snprintf(secret_marker, sizeof(secret_marker), "echo-secret-%s", run_id);
	snprintf(secret_url, sizeof(secret_url), "%s%sapplication_name=%s", db_url,
	         strchr(db_url, '?') ? "&" : "?", secret_marker);
	return 0;
}

/* Drops every schema this run's fixtures created. */
static int group_teardown(void **state)
{
	char run_prefix[80], err[512];

	(void)state;
	snprintf(run_prefix, sizeof(run_prefix), "echo_%s_", run_id);
	if (testdb_drop_schemas(db_url, run_prefix, err, sizeof(err)) < 0)
		fprintf(stderr, "teardown: %s\n", err);
	return 0;
}

/* Kills whatever a failed test left running and removes the logs. */
static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < nchildren; i++) {
		if (!children[i].reaped) {
			kill(children[i].pid, SIGKILL);
			waitpid(children[i].pid, NULL, 0);
			children[i].reaped = true;
		}
		unlink(children[i].log);
	}
	nchildren = 0;
	return 0;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_serves_api_metrics_and_json_logs(void **state)
{
	char schema[96];
	struct child *c;
	struct http_client_response r;
	json_t *j, *lines, *starting;

	(void)state;
	schema_for(schema, sizeof(schema), "api");
	c = start_echo(schema, NULL);
	wait_ready(c);

	must_get(c, "/v1/echo/hello", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "application/json");
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "echo")), "hello");
	assert_string_equal(json_string_value(json_object_get(j, "greeting")),
	                    "hello from the test");
	json_decref(j);
	http_client_response_clear(&r);

	must_get(c, "/readyz", &r);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ready");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(j, "checks"), "postgres")), "ok");
	json_decref(j);
	http_client_response_clear(&r);

	must_get(c, "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r.body, "\nim_messages_processed_total 1\n"));
	assert_non_null(strstr(r.body, "\nim_messages_failed_total 0\n"));
	assert_non_null(strstr(r.body, "\nim_messages_dead_lettered_total 0\n"));
	assert_non_null(strstr(r.body, "\nim_processing_seconds_count 1\n"));
	assert_non_null(strstr(r.body, "im_service_info{service=\"echo\",version=\"0.1.0\"} 1"));
	assert_non_null(strstr(r.body, "\nprocess_resident_memory_bytes "));
	assert_non_null(strstr(
	        r.body, "http_requests_total{route=\"GET /v1/echo/{word}\",code=\"200\"} 1"));
	if (promtool_check(r.body, r.body_len, NULL, 0) != 0)
		fail_msg("promtool rejected /metrics:\n%s", r.body);
	http_client_response_clear(&r);

	kill(c->pid, SIGTERM);
	assert_int_equal(exit_code(c, 10000), 0);

	lines = check_log(c);
	starting = find_line(lines, "starting");
	assert_non_null(starting);
	/* The secret is in the configuration line, redacted; the other settings are shown. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(starting, "config"),
	                                                      "DATABASE_URL")),
	                    "***");
	assert_string_equal(json_string_value(json_object_get(json_object_get(starting, "config"),
	                                                      "ECHO_SCHEMA")),
	                    schema);
	assert_non_null(find_line(lines, "listening"));
	assert_non_null(find_line(lines, "draining"));
	assert_non_null(find_line(lines, "stopped"));
	json_decref(lines);
}

static void test_bad_configuration_exits_2_naming_every_variable(void **state)
{
	static const char *const bad[] = {"HTTP_PORT=abc", "ECHO_GREETING", "LOG_LEVEL=loud", NULL};
	char schema[96];
	struct child *c;
	json_t *lines, *line;
	const char *error;

	(void)state;
	schema_for(schema, sizeof(schema), "badconf");
	c = start_echo(schema, bad);
	assert_int_equal(exit_code(c, 10000), 2);
	lines = check_log(c);
	if (json_array_size(lines) != 1) {
		print_log(c);
		fail_msg("expected exactly one log line, got %zu", json_array_size(lines));
	}
	line = json_array_get(lines, 0);
	assert_string_equal(json_string_value(json_object_get(line, "level")), "error");
	error = json_string_value(json_object_get(line, "error"));
	assert_non_null(error);
	assert_non_null(strstr(error, "HTTP_PORT"));
	assert_non_null(strstr(error, "\"abc\""));
	assert_non_null(strstr(error, "ECHO_GREETING"));
	assert_non_null(strstr(error, "LOG_LEVEL"));
	json_decref(lines);

	/* A missing secret is named, and nothing was migrated: the process stopped at once. */
	{
		static const char *const nodb[] = {"DATABASE_URL", NULL};
		struct db *db;
		char err[256];
		const char *p[1] = {schema};
		PGresult *res;

		c = start_echo(schema, nodb);
		assert_int_equal(exit_code(c, 10000), 2);
		lines = check_log(c);
		assert_int_equal(json_array_size(lines), 1);
		assert_non_null(strstr(
		        json_string_value(json_object_get(json_array_get(lines, 0), "error")),
		        "DATABASE_URL"));
		json_decref(lines);
		db = db_connect(db_url, 5000, NULL, err, sizeof(err));
		assert_non_null(db);
		res = db_exec(db, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", 1, p, err,
		              sizeof(err));
		assert_non_null(res);
		assert_string_equal(PQgetvalue(res, 0, 0), "0");
		PQclear(res);
		db_free(db);
	}
}

static void test_sigterm_drains_then_exits_0(void **state)
{
	static const char *const slow_drain[] = {"ECHO_DRAIN_MS=1500", NULL};
	char schema[96];
	struct child *c;
	struct http_client_response r;
	int64_t t0;
	bool saw_draining = false;

	(void)state;
	schema_for(schema, sizeof(schema), "drain");
	c = start_echo(schema, slow_drain);
	wait_ready(c);
	t0 = time_mono_ms();
	kill(c->pid, SIGTERM);
	while (time_mono_ms() - t0 < 1000 && !saw_draining) {
		json_t *j;

		must_get(c, "/readyz", &r);
		j = json_loadb(r.body, r.body_len, 0, NULL);
		if (r.status == 503 && j &&
		    strcmp(json_string_value(json_object_get(j, "status")), "draining") == 0)
			saw_draining = true;
		json_decref(j);
		http_client_response_clear(&r);
		if (!saw_draining)
			sleep_ms(20);
	}
	assert_true(saw_draining);
	/* Still alive while draining. */
	must_get(c, "/healthz", &r);
	assert_int_equal(r.status, 200);
	http_client_response_clear(&r);

	assert_int_equal(exit_code(c, 10000), 0);
	assert_true(time_mono_ms() - t0 >= 1400);
	json_decref(check_log(c));
}

/* A drain that would take 20 s with SHUTDOWN_TIMEOUT at 500 ms: cut short, exit status 3, the
 * reason logged. */
static void test_drain_cut_short_at_shutdown_timeout(void **state)
{
	static const char *const stuck[] = {"ECHO_DRAIN_MS=20000", "SHUTDOWN_TIMEOUT=500ms", NULL};
	char schema[96];
	struct child *c;
	int64_t t0, took;
	json_t *lines, *line;

	(void)state;
	schema_for(schema, sizeof(schema), "stuck");
	c = start_echo(schema, stuck);
	wait_ready(c);
	t0 = time_mono_ms();
	kill(c->pid, SIGTERM);
	assert_int_equal(exit_code(c, 10000), SERVICE_EXIT_DRAIN_TIMEOUT);
	took = time_mono_ms() - t0;
	if (took < 450 || took > 5000)
		fail_msg("exited %lld ms after SIGTERM, want about 500", (long long)took);
	lines = check_log(c);
	line = find_line(lines, "the drain outlasted SHUTDOWN_TIMEOUT: exiting without finishing "
	                        "it; what was in flight is redone after the restart");
	if (!line) {
		print_log(c);
		fail_msg("no log line saying why the drain was cut short");
	}
	assert_string_equal(json_string_value(json_object_get(line, "level")), "error");
	assert_int_equal(json_integer_value(json_object_get(line, "timeout_ms")), 500);
	json_decref(lines);
}

/* Sum of "applied" over a child's "migrated" lines. */
static int applied_in_log(const struct child *c)
{
	json_t *lines = check_log(c);
	json_t *m = find_line(lines, "migrated");
	int n;

	if (!m) {
		print_log(c);
		fail_msg("no \"migrated\" line");
	}
	n = (int)json_integer_value(json_object_get(m, "applied"));
	json_decref(lines);
	return n;
}

static void test_two_replicas_migrate_once(void **state)
{
	char schema[96], sql[256], err[256] = "";
	struct child *a, *b, *again;
	struct db *db;
	PGresult *res;

	(void)state;
	schema_for(schema, sizeof(schema), "replicas");
	a = start_echo(schema, NULL);
	b = start_echo(schema, NULL);
	wait_ready(a);
	wait_ready(b);

	db = db_connect(db_url, 5000, NULL, err, sizeof(err));
	assert_non_null(db);
	snprintf(sql, sizeof(sql),
	         "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM "
	         "%s.schema_migrations",
	         schema);
	res = db_exec(db, sql, 0, NULL, err, sizeof(err));
	if (!res)
		fail_msg("%s", err);
	assert_string_equal(PQgetvalue(res, 0, 0), "1:create_echoes,2:add_created_at");
	PQclear(res);

	kill(a->pid, SIGTERM);
	kill(b->pid, SIGTERM);
	assert_int_equal(exit_code(a, 10000), 0);
	assert_int_equal(exit_code(b, 10000), 0);
	assert_int_equal(applied_in_log(a) + applied_in_log(b), 2);

	/* A restart finds everything applied. */
	again = start_echo(schema, NULL);
	wait_ready(again);
	kill(again->pid, SIGTERM);
	assert_int_equal(exit_code(again, 10000), 0);
	assert_int_equal(applied_in_log(again), 0);
	res = db_exec(db, sql, 0, NULL, err, sizeof(err));
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "1:create_echoes,2:add_created_at");
	PQclear(res);
	db_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_serves_api_metrics_and_json_logs, teardown),
	        cmocka_unit_test_teardown(test_bad_configuration_exits_2_naming_every_variable,
	                                  teardown),
	        cmocka_unit_test_teardown(test_sigterm_drains_then_exits_0, teardown),
	        cmocka_unit_test_teardown(test_drain_cut_short_at_shutdown_timeout, teardown),
	        cmocka_unit_test_teardown(test_two_replicas_migrate_once, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
