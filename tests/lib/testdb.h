/*
 * testdb: the PostgreSQL side of the integration tests. tests/run.sh gives each test binary a
 * fresh database (TEST_DATABASE_URL); inside it a run works in schemas named with a prefix of
 * its own (pid and time), so that reruns by hand never see old tables, and drops them at the end.
 */
#ifndef TESTS_TESTDB_H
#define TESTS_TESTDB_H

#include <stddef.h>

/*
 * TEST_DATABASE_URL (borrowed from the environment). When it is unset, fails the running test or
 * group setup (testenv_require) with how to start a server by hand.
 */
const char *testdb_url(void);

/*
 * Drops, with CASCADE, every schema of the database at `url` whose name starts with `prefix`,
 * taken literally (LIKE's _ and % in it are escaped). A schema that cannot be dropped does not
 * stop the others. Returns the number dropped, or -1 with the first problem in err (connecting,
 * listing or one of the drops). For teardowns: it never fails the test itself, and a NULL url
 * (a group setup that failed before it had one) has nothing to drop and returns 0.
 */
int testdb_drop_schemas(const char *url, const char *prefix, char *err, size_t errlen);

#endif
