/*
 * The classifier's store against PostgreSQL: one row per message at its latest revision, whatever
 * the order of a batch (several records of one message in one batch, older and newer revisions
 * in later batches, a replay), and the row's record is the classification member of the
 * classified.v1 line it was given, not the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classified.h"
#include "db.h"
#include "store.h"
#include "testdb.h"

extern const struct db_migration classifier_migrations[];
extern const size_t classifier_migrations_count;

static struct db *db;

/* A decision of message `id` at `revision` with `topic`, and its classified.v1 line. */
struct rec {
	const char *id;
	int revision;
	const char *topic;
};

static void make(const struct rec *in, size_t n, struct classified *r, char **lines)
{
	memset(r, 0, n * sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		r[i].message.id = (char *)(uintptr_t)in[i].id;
		r[i].message.source = "http";
		r[i].message.revision = in[i].revision;
		r[i].c.incident = true;
		r[i].c.topic = (char *)(uintptr_t)in[i].topic;
		r[i].c.urgency = "normal";
		r[i].c.model_version = "test.1";
		r[i].c.classified_at = 1795824000000LL;
		char buf[512];
		snprintf(buf, sizeof(buf),
		         "{\"schema\":\"classified.v1\",\"message\":{\"id\":\"%s\",\"text\":"
		         "\"\\\"classification\\\":{}\"},\"classification\":{\"incident\":true,"
		         "\"topic\":\"%s\",\"revision_seen\":%d}}",
		         in[i].id, in[i].topic, in[i].revision);
		lines[i] = strdup(buf);
	}
}

static void store(const struct rec *in, size_t n)
{
	struct classified r[8];
	char *lines[8], err[512];
	assert_true(n <= 8);
	make(in, n, r, lines);
	if (store_classifications(db, r, lines, n, err, sizeof(err)) < 0)
		fail_msg("store: %s", err);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
}

/* Fails unless the row of id is at revision with topic and the record is the line's
 * classification member (written by make); topic NULL: unless there is no row of id. */
static void expect_row(const char *id, int revision, const char *topic)
{
	char err[512], want[512];
	const char *params[] = {id};
	PGresult *res = db_exec(db,
	                        "SELECT revision || ' ' || topic || ' ' || record::text"
	                        " FROM classifier.classifications WHERE message_id = $1",
	                        1, params, err, sizeof(err));
	if (!res)
		fail_msg("select: %s", err);
	if (topic)
		snprintf(want, sizeof(want),
		         "%d %s {\"topic\": \"%s\", \"incident\": true, \"revision_seen\": %d}",
		         revision, topic, topic, revision);
	else
		want[0] = '\0';
	assert_string_equal(PQntuples(res) ? PQgetvalue(res, 0, 0) : "", want);
	PQclear(res);
}

static int setup(void **state)
{
	char err[1024];
	(void)state;
	db = db_connect(testdb_url(), 10000, NULL, err, sizeof(err));
	if (!db)
		fail_msg("database: %s", err);
	if (db_migrate(db, "classifier", classifier_migrations, classifier_migrations_count, err,
	               sizeof(err)) < 0)
		fail_msg("migration: %s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_free(db);
	return 0;
}

static void test_latest_revision_of_a_batch(void **state)
{
	(void)state;
	/* b at revision 2 twice: the earlier of the two is kept; a's later revision comes
	 * before its earlier one. */
	const struct rec batch[] = {{"t:b", 1, "roads"},     {"t:a", 3, "housing"},
	                            {"t:b", 2, "water"},     {"t:a", 1, "roads"},
	                            {"t:b", 2, "transport"}, {"t:c", 1, "waste"}};
	store(batch, 6);
	expect_row("t:a", 3, "housing");
	expect_row("t:b", 2, "water");
	expect_row("t:c", 1, "waste");
}

static void test_later_batches(void **state)
{
	(void)state;
	/* A replay and an older revision change nothing; a newer one replaces the decision. */
	const struct rec replay[] = {{"t:a", 3, "other"}, {"t:b", 1, "other"}};
	store(replay, 2);
	expect_row("t:a", 3, "housing");
	expect_row("t:b", 2, "water");
	const struct rec edited[] = {{"t:b", 5, "lighting"}};
	store(edited, 1);
	expect_row("t:b", 5, "lighting");
}

static void test_empty_batch(void **state)
{
	const struct rec none[1] = {{"t:none", 1, "roads"}};
	(void)state;
	store(none, 0);
	expect_row("t:none", 0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_latest_revision_of_a_batch),
	        cmocka_unit_test(test_later_batches),
	        cmocka_unit_test(test_empty_batch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
