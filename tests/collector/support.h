/*
 * support: what the collector's tests share. demo-sources (deploy/demo) runs as a process for
 * the pollers to read and for the tests to steer through its control endpoints; the collector
 * schema is migrated afresh in the test database; a struct collector is assembled by hand (no
 * HTTP server, no Kafka) for the pollers to submit into; and what they stored is read back.
 *
 *     static struct demo_sources demo;
 *     static struct db *db;
 *     static struct collector coll;
 *
 *     demo_sources_start(&demo, "test_rss", posts, NULL);   // group setup
 *     db = support_db_connect();
 *     support_db_migrate(db);
 *     support_collector_init(&coll);
 *     ...
 *     support_collector_release(&coll);                     // group teardown
 *     db_free(db);
 *     assert_int_equal(demo_sources_stop(&demo), 0);
 *
 * Environment (tests/run.sh): TEST_DATABASE_URL, TEST_BIN_DIR (demo-sources), TEST_WORK_DIR.
 * Every failure is cmocka's fail_msg: the running test, or the group setup that called, fails
 * with the reason, so a test never goes on without what it asked for. Strings returned are
 * borrowed unless a function says the caller frees them.
 */
#ifndef TESTS_COLLECTOR_SUPPORT_H
#define TESTS_COLLECTOR_SUPPORT_H

#include <jansson.h>
#include <signal.h>

#include "collector.h"
#include "db.h"
#include "sources.h"
#include "strbuf.h"
#include "testproc.h"

/* ---- demo-sources --------------------------------------------------------------------------- */

struct demo_sources {
	struct testproc proc;
	int port; /* where it listens on 127.0.0.1 */
};

/*
 * Starts TEST_BIN_DIR/demo-sources on a free port, serving `posts` (NDJSON lines of the demo
 * format, written to a file of this start's own in TEST_WORK_DIR), with the extra arguments
 * `args` (NULL-terminated, such as {"--vk-token", T, NULL}; may be NULL), and waits until it
 * answers /healthz. Its output goes to TEST_WORK_DIR/<name>-demo-sources.log; `name` is the
 * test's ("test_rss").
 */
void demo_sources_start(struct demo_sources *d, const char *name, const char *posts,
                        const char *const args[]);

/*
 * Stops it with SIGTERM and returns its exit status (0 is a clean stop), or -signal. One that
 * is not running (never started, stopped already) returns its last status.
 */
int demo_sources_stop(struct demo_sources *d);

/* http://127.0.0.1:<port><path>. Caller frees. */
char *demo_sources_url(const struct demo_sources *d, const char *path);

/*
 * Sends `method` to `path` with `body` (may be NULL) and returns the HTTP status. With `out`
 * not NULL the answer must be JSON and *out gets it (caller decrefs). Fails when no answer
 * comes.
 */
long demo_sources_request(const struct demo_sources *d, const char *method, const char *path,
                          const char *body, json_t **out);

/* POSTs body to a control endpoint ("/control/posts", "/control/fault"); fails unless 200. */
void demo_sources_control(const struct demo_sources *d, const char *path, const char *body);

/* POSTs fault (takes the reference) to /control/fault; fails unless 200. */
void demo_sources_fault(const struct demo_sources *d, json_t *fault);

/* The request count /control/stats has under key ("rss.not_modified"), 0 when none. */
long demo_sources_stat(const struct demo_sources *d, const char *key);

/* Appends line (takes the reference) to ndjson as one compact JSON line. */
void support_ndjson_add(struct strbuf *ndjson, json_t *line);

/* ---- the database --------------------------------------------------------------------------- */

/* A connection to TEST_DATABASE_URL. Caller frees with db_free. */
struct db *support_db_connect(void);

/* Drops the collector schema, if any, and migrates it afresh: empty tables, no cursors. */
void support_db_migrate(struct db *db);

/* Runs statement (no parameters); fails on an error. */
void support_sql(struct db *db, const char *statement);

/* The first column of the first row of sql, which has the one parameter $1 = param or, when
 * param is NULL, none, as a number. */
long support_query_long(struct db *db, const char *sql, const char *param);

/* How many rows of collector.messages have an id LIKE id_like. */
long support_count_messages(struct db *db, const char *id_like);

/*
 * The stored record of message id, parsed (caller decrefs); fails when it is not stored.
 * *revision, when revision is not NULL, gets the row's revision.
 */
json_t *support_record(struct db *db, const char *id, long *revision);

/* The value of cursor key of source (caller frees), or NULL when none is stored. */
char *support_cursor(struct db *db, const char *source, const char *key);

/* Fails unless the cursor holds `expected`, or (expected NULL) none is stored. */
void support_assert_cursor(struct db *db, const char *source, const char *key,
                           const char *expected);

/* ---- the collector -------------------------------------------------------------------------- */

/*
 * Assembles c for the pollers as main.c would, without HTTP or Kafka: c is zeroed, gets a
 * metrics registry of its own (c->svc.metrics), the service metrics every poll counts into,
 * and collector_setup. Release with support_collector_release.
 */
void support_collector_init(struct collector *c);

/* Releases what support_collector_init made, the registry included. */
void support_collector_release(struct collector *c);

/*
 * One poll of src as a source thread makes it (sources.c): with the collector c, the
 * connection db and the stop flag `stop` (may be NULL). *res is handed over as the caller
 * prepared it: the runner zeroes it, and a test that fills it with a pattern first checks that
 * the poll sets every field itself.
 */
void support_poll(struct source *src, struct collector *c, struct db *db,
                  const volatile sig_atomic_t *stop, struct poll_result *res);

/* Fails unless r is POLL_OK, naming the status and the error. */
void support_assert_poll_ok(const struct poll_result *r);

/* ---- records -------------------------------------------------------------------------------- */

/* The string member o.a, or o.a.b when b is not NULL; NULL when absent or not a string. */
const char *support_jstr(const json_t *o, const char *a, const char *b);

#endif
