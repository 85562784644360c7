/*
 * Integration tests of shared/db against a real PostgreSQL server (TEST_DATABASE_URL):
 * parameters travel as data, transactions, the migration runner (idempotence, failure,
 * concurrent replicas), connection failures and recovery after the server kills our session.
 * Every run works in schemas of its own (t_db_<pid>_...), dropped at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "testdb.h"
#include "testenv.h"
#include "timefmt.h"

static const char *db_url;
static char prefix[64];

/* A schema name unique to this run and test. */
static void schema_name(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "%s_%s", prefix, what);
}

static struct db *connect_or_fail(void)
{
	char err[512] = "";
	struct db *db = db_connect(db_url, 10000, NULL, err, sizeof(err));

	if (!db)
		fail_msg("db_connect(TEST_DATABASE_URL): %s", err);
	return db;
}

/* Runs a statement that must succeed. */
static void must_run(struct db *db, const char *sql, int n, const char *const *params)
{
	char err[512] = "";

	if (db_run(db, sql, n, params, err, sizeof(err)) < 0)
		fail_msg("%s: %s", sql, err);
}

/* The single value of a one-row, one-column query, copied into out. */
static void query_value(struct db *db, const char *sql, int n, const char *const *params, char *out,
                        size_t outlen)
{
	char err[512] = "";
	PGresult *res = db_exec(db, sql, n, params, err, sizeof(err));

	if (!res)
		fail_msg("%s: %s", sql, err);
	assert_int_equal(PQntuples(res), 1);
	snprintf(out, outlen, "%s", PQgetisnull(res, 0, 0) ? "<null>" : PQgetvalue(res, 0, 0));
	PQclear(res);
}

static long query_long(struct db *db, const char *sql, int n, const char *const *params)
{
	char buf[64];

	query_value(db, sql, n, params, buf, sizeof(buf));
	return strtol(buf, NULL, 10);
}

static int group_setup(void **state)
{
	(void)state;
	db_url = testdb_url();
	snprintf(prefix, sizeof(prefix), "t_db_%ld_%ld", (long)getpid(), (long)time(NULL));
	return 0;
}

/* Drops every schema this run created. */
static int group_teardown(void **state)
{
	char run_prefix[80], err[512];

	(void)state;
	snprintf(run_prefix, sizeof(run_prefix), "%s_", prefix);
	if (testdb_drop_schemas(db_url, run_prefix, err, sizeof(err)) < 0)
		fprintf(stderr, "teardown: %s\n", err);
	return 0;
}

/* ---- statements ------------------------------------------------------------------------------ */

static void test_parameters_are_data(void **state)
{
	static const char *const evil = "it's \"quoted\" ''; DROP TABLE x; -- \\ $1 %s "
	                                "\xd0\x90\xd0\xb1\xd0\xb0\xd0\xba\xd0\xb0\xd0\xbd";
	char schema[96], sql[512], out[256];
	struct db *db = connect_or_fail();

	(void)state;
	schema_name(schema, sizeof(schema), "params");
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
	must_run(db, sql, 0, NULL);
	snprintf(sql, sizeof(sql), "CREATE TABLE %s.x (id int PRIMARY KEY, v text, n text)",
	         schema);
	must_run(db, sql, 0, NULL);

	{
		const char *p[3] = {"1", evil, NULL};

		snprintf(sql, sizeof(sql), "INSERT INTO %s.x (id, v, n) VALUES ($1, $2, $3)",
		         schema);
		must_run(db, sql, 3, p);
	}
	{
		const char *p[1] = {evil};
		char err[512] = "";
		PGresult *res;

		snprintf(sql, sizeof(sql), "SELECT id, v, n FROM %s.x WHERE v = $1", schema);
		res = db_exec(db, sql, 1, p, err, sizeof(err));
		assert_non_null(res);
		assert_int_equal(PQntuples(res), 1);
		assert_string_equal(PQgetvalue(res, 0, 0), "1");
		assert_string_equal(PQgetvalue(res, 0, 1), evil);
		assert_true(PQgetisnull(res, 0, 2));
		PQclear(res);
	}
	/* The table is still there, with exactly the one row. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.x", schema);
	query_value(db, sql, 0, NULL, out, sizeof(out));
	assert_string_equal(out, "1");
	db_free(db);
}

static void test_statement_error_keeps_connection(void **state)
{
	char err[512] = "";
	struct db *db = connect_or_fail();
	PGresult *res;

	(void)state;
	res = db_exec(db, "SELEC 1", 0, NULL, err, sizeof(err));
	assert_null(res);
	assert_non_null(strstr(err, "ERROR: syntax error"));
	assert_non_null(strstr(err, "SQLSTATE 42601"));
	assert_null(strchr(err, '\n'));
	assert_true(db_ok(db));
	assert_int_equal(query_long(db, "SELECT 41 + 1", 0, NULL), 42);
	db_free(db);
}

static void test_transactions(void **state)
{
	char schema[96], sql[512], err[512] = "";
	struct db *db = connect_or_fail();
	struct db *other = connect_or_fail();

	(void)state;
	schema_name(schema, sizeof(schema), "tx");
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
	must_run(db, sql, 0, NULL);
	snprintf(sql, sizeof(sql), "CREATE TABLE %s.t (v text)", schema);
	must_run(db, sql, 0, NULL);
	snprintf(sql, sizeof(sql), "INSERT INTO %s.t (v) VALUES ($1)", schema);

	{
		const char *p[1] = {"rolled back"};

		assert_int_equal(db_begin(db, err, sizeof(err)), 0);
		must_run(db, sql, 1, p);
		db_rollback(db);
	}
	{
		const char *p[1] = {"committed"};
		char count[512];

		assert_int_equal(db_begin(db, err, sizeof(err)), 0);
		must_run(db, sql, 1, p);
		/* Not visible to another session before COMMIT. */
		snprintf(count, sizeof(count), "SELECT count(*) FROM %s.t", schema);
		assert_int_equal(query_long(other, count, 0, NULL), 0);
		assert_int_equal(db_commit(db, err, sizeof(err)), 0);
		assert_int_equal(query_long(other, count, 0, NULL), 1);
		snprintf(count, sizeof(count), "SELECT v FROM %s.t", schema);
		{
			char out[64];

			query_value(other, count, 0, NULL, out, sizeof(out));
			assert_string_equal(out, "committed");
		}
	}
	/* A failed statement aborts the transaction; rollback makes the connection usable. */
	assert_int_equal(db_begin(db, err, sizeof(err)), 0);
	assert_int_equal(db_run(db, "SELECT 1/0", 0, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "22012"));
	db_rollback(db);
	assert_int_equal(query_long(db, "SELECT 7", 0, NULL), 7);
	db_free(other);
	db_free(db);
}

/* ---- migrations ------------------------------------------------------------------------------ */

static const struct db_migration good_migrations[] = {
        {1, "create_items", "CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL);"},
        {2, "add_index",
         "ALTER TABLE items ADD COLUMN created_at timestamptz; "
         "CREATE INDEX items_created_at ON items (created_at);"},
        {3, "seed", "INSERT INTO items (id, title) VALUES (1, 'first');"},
};

/* Columns, indexes and row counts of a schema's tables, as one comparable string. */
static void schema_snapshot(struct db *db, const char *schema, char *out, size_t outlen)
{
	const char *p[1] = {schema};
	char err[512] = "";
	PGresult *res = db_exec(
	        db,
	        "SELECT coalesce((SELECT string_agg(table_name || '.' || column_name || ':' || "
	        "data_type, ',' ORDER BY table_name, column_name) FROM information_schema.columns "
	        "WHERE table_schema = $1), '') || '|' || coalesce((SELECT string_agg(indexdef, ',' "
	        "ORDER BY indexname) FROM pg_indexes WHERE schemaname = $1), '')",
	        1, p, err, sizeof(err));

	if (!res)
		fail_msg("snapshot: %s", err);
	snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

static void test_migrate_applies_then_nothing(void **state)
{
	char schema[96], sql[512], err[512] = "", before[4096], after[4096];
	struct db *db = connect_or_fail();
	int n;

	(void)state;
	/* A name that needs quoting proves the identifier is escaped. */
	snprintf(schema, sizeof(schema), "%s_Mixed Case", prefix);
	n = db_migrate(db, schema, good_migrations, 3, err, sizeof(err));
	if (n < 0)
		fail_msg("db_migrate: %s", err);
	assert_int_equal(n, 3);
	schema_snapshot(db, schema, before, sizeof(before));
	assert_non_null(strstr(before, "items.created_at"));
	assert_non_null(strstr(before, "items_created_at"));

	n = db_migrate(db, schema, good_migrations, 3, err, sizeof(err));
	assert_int_equal(n, 0);
	schema_snapshot(db, schema, after, sizeof(after));
	assert_string_equal(before, after);

	{
		const char *p[1] = {schema};

		assert_int_equal(query_long(db,
		                            "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
		                            1, p),
		                 1);
	}
	snprintf(sql, sizeof(sql),
	         "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM "
	         "\"%s\".schema_migrations",
	         schema);
	query_value(db, sql, 0, NULL, after, sizeof(after));
	assert_string_equal(after, "1:create_items,2:add_index,3:seed");
	/* The seed ran once. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\".items", schema);
	assert_int_equal(query_long(db, sql, 0, NULL), 1);

	/* One more migration later applies only that one. */
	{
		const struct db_migration more[] = {
		        good_migrations[0],
		        good_migrations[1],
		        good_migrations[2],
		        {4, "more", "INSERT INTO items (id, title) VALUES (2, 'second');"},
		};

		assert_int_equal(db_migrate(db, schema, more, 4, err, sizeof(err)), 1);
		assert_int_equal(query_long(db, sql, 0, NULL), 2);
	}
	/* The migration's search_path was transaction-local. */
	query_value(db, "SELECT current_setting('search_path')", 0, NULL, after, sizeof(after));
	assert_null(strstr(after, prefix));
	db_free(db);
}

static void test_migrate_failure_names_migration(void **state)
{
	static const struct db_migration bad[] = {
	        {1, "create_items", "CREATE TABLE items (id bigint PRIMARY KEY);"},
	        {2, "add_index", "CREATE TABLE half_done (x int); CREATE INDEX ON nosuch (x);"},
	        {3, "never", "CREATE TABLE never (x int);"},
	};
	char schema[96], sql[512], err[512] = "", out[256];
	struct db *db = connect_or_fail();

	(void)state;
	schema_name(schema, sizeof(schema), "fail");
	assert_int_equal(db_migrate(db, schema, bad, 3, err, sizeof(err)), -1);
	if (strncmp(err, "migration 2 (add_index): ERROR: ", 32) != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(strstr(err, "nosuch"));
	assert_true(db_ok(db));

	snprintf(sql, sizeof(sql),
	         "SELECT string_agg(version::text, ',' ORDER BY version) FROM %s.schema_migrations",
	         schema);
	query_value(db, sql, 0, NULL, out, sizeof(out));
	assert_string_equal(out, "1");
	{
		const char *p[1] = {schema};

		/* Migration 2's first statement was rolled back with it; 3 never ran. */
		assert_int_equal(
		        query_long(db,
		                   "SELECT count(*) FROM information_schema.tables "
		                   "WHERE table_schema = $1 AND table_name IN ('half_done', "
		                   "'never')",
		                   1, p),
		        0);
		assert_int_equal(query_long(db,
		                            "SELECT count(*) FROM information_schema.tables "
		                            "WHERE table_schema = $1 AND table_name = 'items'",
		                            1, p),
		                 1);
	}
	/* The lock was released: another session can migrate the schema right away. */
	{
		struct db *other = connect_or_fail();
		static const struct db_migration fixed[] = {
		        {1, "create_items", "CREATE TABLE items (id bigint PRIMARY KEY);"},
		        {2, "add_index", "CREATE INDEX ON items (id);"},
		};

		must_run(other, "SET lock_timeout = '2s'", 0, NULL);
		assert_int_equal(db_migrate(other, schema, fixed, 2, err, sizeof(err)), 1);
		db_free(other);
	}
	db_free(db);
}

static void test_migrate_rejects_unordered(void **state)
{
	static const struct db_migration unordered[] = {
	        {2, "b", "SELECT 1;"},
	        {1, "a", "SELECT 1;"},
	};
	char schema[96], err[512] = "";
	struct db *db = connect_or_fail();

	(void)state;
	schema_name(schema, sizeof(schema), "unordered");
	assert_int_equal(db_migrate(db, schema, unordered, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "strictly increasing"));
	db_free(db);
}

static void test_migrate_concurrent_replicas(void **state)
{
	enum { REPLICAS = 4 };
	/* Each migration appends a row without a unique key: applying one twice shows up. */
	static const struct db_migration ms[] = {
	        {1, "create_log",
	         "CREATE TABLE applied (version int); SELECT pg_sleep(0.3); "
	         "INSERT INTO applied VALUES (1);"},
	        {2, "second", "INSERT INTO applied VALUES (2);"},
	        {3, "third", "CREATE TABLE third (x int); INSERT INTO applied VALUES (3);"},
	};
	char schema[96], sql[512];
	pid_t pids[REPLICAS];
	struct db *db;
	int total = 0;

	(void)state;
	schema_name(schema, sizeof(schema), "race");
	for (int i = 0; i < REPLICAS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char err[512] = "";
			struct db *mine = db_connect(db_url, 10000, NULL, err, sizeof(err));
			int n = mine ? db_migrate(mine, schema, ms, 3, err, sizeof(err)) : -1;

			if (n < 0)
				fprintf(stderr, "replica %d: %s\n", i, err);
			db_free(mine);
			/* Exit status: how many this replica applied, 100 on failure. */
			_exit(n < 0 ? 100 : n);
		}
	}
	for (int i = 0; i < REPLICAS; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_not_equal(WEXITSTATUS(status), 100);
		total += WEXITSTATUS(status);
	}
	assert_int_equal(total, 3);

	db = connect_or_fail();
	snprintf(sql, sizeof(sql),
	         "SELECT string_agg(version::text, ',' ORDER BY version) FROM %s.applied", schema);
	{
		char out[64];

		query_value(db, sql, 0, NULL, out, sizeof(out));
		assert_string_equal(out, "1,2,3");
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.schema_migrations", schema);
	assert_int_equal(query_long(db, sql, 0, NULL), 3);
	db_free(db);
}

/* ---- connections ----------------------------------------------------------------------------- */

static void test_connect_closed_port_times_out(void **state)
{
	char url[128], err[512] = "";
	int64_t t0, elapsed;
	struct db *db;

	(void)state;
	snprintf(url, sizeof(url), "postgresql://postgres@127.0.0.1:%d/incidents",
	         testenv_free_port());
	t0 = time_mono_ms();
	db = db_connect(url, 1200, NULL, err, sizeof(err));
	elapsed = time_mono_ms() - t0;
	assert_null(db);
	/* It retried until the timeout (refusals are immediate), and not much longer. */
	assert_true(elapsed >= 1000);
	assert_true(elapsed < 3000);
	assert_non_null(strstr(err, "connecting to PostgreSQL"));
	assert_true(strlen(err) > strlen("connecting to PostgreSQL: "));
}

static void test_connect_honours_stop_flag(void **state)
{
	char url[128], err[512] = "";
	volatile sig_atomic_t stop = 1;
	int64_t t0;

	(void)state;
	snprintf(url, sizeof(url), "postgresql://postgres@127.0.0.1:%d/incidents",
	         testenv_free_port());
	t0 = time_mono_ms();
	assert_null(db_connect(url, 30000, &stop, err, sizeof(err)));
	assert_true(time_mono_ms() - t0 < 1000);
}

static void test_connect_malformed_url_fails_at_once(void **state)
{
	static const char *const url =
	        "postgresql://postgres:hunter2@127.0.0.1:5432/x?bogus_option=1";
	char err[512] = "";
	int64_t t0 = time_mono_ms();

	(void)state;
	assert_null(db_connect(url, 10000, NULL, err, sizeof(err)));
	assert_true(time_mono_ms() - t0 < 1000);
	assert_non_null(strstr(err, "not a valid"));
	assert_null(strstr(err, "hunter2"));
}

static void test_reachable(void **state)
{
	char url[128], why[256] = "";

	(void)state;
	assert_true(db_reachable(db_url, why, sizeof(why)));
	snprintf(url, sizeof(url), "postgresql://postgres@127.0.0.1:%d/incidents",
	         testenv_free_port());
	assert_false(db_reachable(url, why, sizeof(why)));
	assert_true(strlen(why) > 0);
}

static void test_reconnect_after_session_killed(void **state)
{
	char pid[32], err[512] = "", pid2[32];
	struct db *db = connect_or_fail();
	struct db *admin = connect_or_fail();

	(void)state;
	query_value(db, "SELECT pg_backend_pid()", 0, NULL, pid, sizeof(pid));
	{
		const char *p[1] = {pid};
		char ok[16];

		query_value(admin, "SELECT pg_terminate_backend($1::int)", 1, p, ok, sizeof(ok));
		assert_string_equal(ok, "t");
	}
	/* The backend is gone once it no longer shows in pg_stat_activity. */
	for (int i = 0; i < 100; i++) {
		const char *p[1] = {pid};

		if (query_long(admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
		               1, p) == 0)
			break;
		usleep(20000);
	}
	assert_true(db_ok(db)); /* nothing noticed yet: no round trip */
	assert_null(db_exec(db, "SELECT 1", 0, NULL, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	assert_false(db_ok(db));
	/* Statements fail fast until reconnected. */
	assert_int_equal(db_run(db, "SELECT 1", 0, NULL, err, sizeof(err)), -1);

	assert_int_equal(db_ensure(db, 5000, NULL, err, sizeof(err)), 0);
	assert_true(db_ok(db));
	query_value(db, "SELECT pg_backend_pid()", 0, NULL, pid2, sizeof(pid2));
	assert_string_not_equal(pid, pid2);
	/* Already connected: nothing to do. */
	assert_int_equal(db_ensure(db, 0, NULL, err, sizeof(err)), 0);
	db_free(admin);
	db_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parameters_are_data),
	        cmocka_unit_test(test_statement_error_keeps_connection),
	        cmocka_unit_test(test_transactions),
	        cmocka_unit_test(test_migrate_applies_then_nothing),
	        cmocka_unit_test(test_migrate_failure_names_migration),
	        cmocka_unit_test(test_migrate_rejects_unordered),
	        cmocka_unit_test(test_migrate_concurrent_replicas),
	        cmocka_unit_test(test_connect_closed_port_times_out),
	        cmocka_unit_test(test_connect_honours_stop_flag),
	        cmocka_unit_test(test_connect_malformed_url_fails_at_once),
	        cmocka_unit_test(test_reachable),
	        cmocka_unit_test(test_reconnect_after_session_killed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
