/*
 * Integration tests of shared/db's tools for batched and concurrent work, against a real
 * PostgreSQL server (TEST_DATABASE_URL): text-array parameters (db_text_array) carry any
 * string intact; the connection pool opens lazily up to its size, makes a borrower wait and
 * time out, rolls back a transaction left open, and replaces a connection the server killed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "testdb.h"
#include "timefmt.h"

static const char *db_url;

static int setup_group(void **state)
{
	(void)state;
	db_url = testdb_url();
	return 0;
}

static int backend_pid(struct db *db)
{
	char err[256];
	PGresult *res = db_exec(db, "SELECT pg_backend_pid()", 0, NULL, err, sizeof(err));
	assert_non_null(res);
	int pid = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return pid;
}

static void test_opens_up_to_size_then_times_out(void **state)
{
	char err[256] = "";
	struct db_pool *pool = db_pool_new(db_url, 2);
	(void)state;

	struct db *a = db_pool_acquire(pool, 5000, err, sizeof(err));
	struct db *b = db_pool_acquire(pool, 5000, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a != b);
	assert_int_not_equal(backend_pid(a), backend_pid(b));

	int64_t t0 = time_mono_ms();
	struct db *c = db_pool_acquire(pool, 300, err, sizeof(err));
	int64_t waited = time_mono_ms() - t0;
	assert_null(c);
	assert_non_null(strstr(err, "busy"));
	assert_true(waited >= 250);

	/* Given back, the same connection is lent again: no third one is opened. */
	int pid_a = backend_pid(a);
	db_pool_release(pool, a);
	c = db_pool_acquire(pool, 1000, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(backend_pid(c), pid_a);
	db_pool_release(pool, b);
	db_pool_release(pool, c);
	db_pool_free(pool);
}

struct waiter {
	struct db_pool *pool;
	struct db *got;
	char err[256];
};

static void *acquire_thread(void *arg)
{
	struct waiter *w = arg;
	w->got = db_pool_acquire(w->pool, 5000, w->err, sizeof(w->err));
	return NULL;
}

static void test_waiter_gets_released_connection(void **state)
{
	char err[256] = "";
	struct db_pool *pool = db_pool_new(db_url, 1);
	struct waiter w = {.pool = pool};
	pthread_t t;
	(void)state;

	struct db *a = db_pool_acquire(pool, 5000, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(pthread_create(&t, NULL, acquire_thread, &w), 0);
	usleep(200 * 1000);
	assert_null(w.got); /* still waiting */
	db_pool_release(pool, a);
	pthread_join(t, NULL);
	assert_ptr_equal(w.got, a);
	db_pool_release(pool, w.got);
	db_pool_free(pool);
}

static void test_release_rolls_back_open_transaction(void **state)
{
	char err[256] = "";
	struct db_pool *pool = db_pool_new(db_url, 1);
	(void)state;

	struct db *a = db_pool_acquire(pool, 5000, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(db_run(a, "CREATE TEMP TABLE pool_t(x int)", 0, NULL, err, sizeof(err)),
	                 0);
	assert_int_equal(db_begin(a, err, sizeof(err)), 0);
	assert_int_equal(db_run(a, "INSERT INTO pool_t VALUES (1)", 0, NULL, err, sizeof(err)), 0);
	db_pool_release(pool, a); /* without commit */

	struct db *b = db_pool_acquire(pool, 5000, err, sizeof(err));
	assert_ptr_equal(a, b);
	assert_int_equal(PQtransactionStatus(db_conn(b)), PQTRANS_IDLE);
	PGresult *res = db_exec(b, "SELECT count(*) FROM pool_t", 0, NULL, err, sizeof(err));
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "0");
	PQclear(res);
	db_pool_release(pool, b);
	db_pool_free(pool);
}

static void test_killed_connection_replaced(void **state)
{
	char err[256] = "", pid[16];
	struct db_pool *pool = db_pool_new(db_url, 1);
	struct db *admin = db_connect(db_url, 5000, NULL, err, sizeof(err));
	(void)state;

	assert_non_null(admin);
	struct db *a = db_pool_acquire(pool, 5000, err, sizeof(err));
	assert_non_null(a);
	snprintf(pid, sizeof(pid), "%d", backend_pid(a));
	const char *p[1] = {pid};
	assert_int_equal(
	        db_run(admin, "SELECT pg_terminate_backend($1::int)", 1, p, err, sizeof(err)), 0);
	usleep(100 * 1000);
	/* The caller sees its statement fail... */
	assert_null(db_exec(a, "SELECT 1", 0, NULL, err, sizeof(err)));
	db_pool_release(pool, a);
	/* ...and the next borrower gets a working connection. */
	struct db *b = db_pool_acquire(pool, 5000, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(db_run(b, "SELECT 1", 0, NULL, err, sizeof(err)), 0);
	assert_int_not_equal(backend_pid(b), atoi(pid));
	db_pool_release(pool, b);
	db_pool_free(pool);
	db_free(admin);
}

static void test_text_array_round_trip(void **state)
{
	static const char *const items[] = {"plain",
	                                    "",
	                                    "with \"quotes\"",
	                                    "back\\slash",
	                                    "comma, {braces}",
	                                    "NULL",
	                                    NULL,
	                                    "Абакан, ул. Щетинкина 18 — «кв.» 5",
	                                    "'; DROP TABLE x; --",
	                                    " spaced "};
	const size_t n = sizeof(items) / sizeof(items[0]);
	char err[256] = "";
	struct db *db = db_connect(db_url, 5000, NULL, err, sizeof(err));
	(void)state;

	assert_non_null(db);
	char *array = db_text_array(items, n);
	const char *p[1] = {array};
	PGresult *res = db_exec(
	        db, "SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i", 1, p,
	        err, sizeof(err));
	if (!res)
		fail_msg("%s: %s", array, err);
	assert_int_equal(PQntuples(res), (int)n);
	for (size_t i = 0; i < n; i++) {
		if (!items[i]) {
			assert_true(PQgetisnull(res, (int)i, 0));
			continue;
		}
		assert_false(PQgetisnull(res, (int)i, 0));
		assert_string_equal(PQgetvalue(res, (int)i, 0), items[i]);
	}
	PQclear(res);
	free(array);

	array = db_text_array(NULL, 0);
	assert_string_equal(array, "{}");
	free(array);
	db_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_text_array_round_trip),
	        cmocka_unit_test(test_opens_up_to_size_then_times_out),
	        cmocka_unit_test(test_waiter_gets_released_connection),
	        cmocka_unit_test(test_release_rolls_back_open_transaction),
	        cmocka_unit_test(test_killed_connection_replaced),
	};
	return cmocka_run_group_tests(tests, setup_group, NULL);
}
