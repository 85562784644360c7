/* testdb: the test database and its per-run schemas (see testdb.h). */
#include "testdb.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "testenv.h"

#define CONNECT_TIMEOUT_MS 5000

const char *testdb_url(void)
{
	return testenv_require("TEST_DATABASE_URL",
	                       "these tests need a PostgreSQL server (tests/run.sh starts one; or "
	                       "deploy/local/pg.sh start DIR PORT and export "
	                       "TEST_DATABASE_URL=$(sh deploy/local/pg.sh url PORT))");
}

/* prefix with \ before each of \ _ %, then %: a LIKE pattern for "starts with prefix". */
static int like_prefix(const char *prefix, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = prefix; *p; p++) {
		if (o + 3 > outlen)
			return -1;
		if (*p == '\\' || *p == '_' || *p == '%')
			out[o++] = '\\';
		out[o++] = *p;
	}
	if (o + 2 > outlen)
		return -1;
	out[o++] = '%';
	out[o] = '\0';
	return 0;
}

int testdb_drop_schemas(const char *url, const char *prefix, char *err, size_t errlen)
{
	char like[256], why[512];
	const char *params[1] = {like};
	struct db *db;
	PGresult *res;
	int dropped = 0, failed = 0;

	if (!url)
		return 0;
	if (like_prefix(prefix, like, sizeof(like)) < 0) {
		snprintf(err, errlen, "schema prefix too long: %s", prefix);
		return -1;
	}
	db = db_connect(url, CONNECT_TIMEOUT_MS, NULL, err, errlen);
	if (!db)
		return -1;
	/* The statements come from pg_namespace's names, quoted by format('%I'). */
	res = db_exec(db,
	              "SELECT format('DROP SCHEMA %I CASCADE', nspname) FROM pg_namespace "
	              "WHERE nspname LIKE $1",
	              1, params, err, errlen);
	if (!res) {
		db_free(db);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		if (db_run(db, PQgetvalue(res, i, 0), 0, NULL, why, sizeof(why)) == 0)
			dropped++;
		else if (failed++ == 0)
			snprintf(err, errlen, "%s: %s", PQgetvalue(res, i, 0), why);
	}
	PQclear(res);
	db_free(db);
	return failed ? -1 : dropped;
}
