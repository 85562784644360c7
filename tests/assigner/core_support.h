/*
 * core_support: what the assigner's core tests (intake, actions, scheduler, outbox) share — the
 * shipped Khakassia region pack, a connection to the test database with the assigner schema
 * migrated and emptied, classified.v1 records built from a few facts, and one-value queries.
 * Failures fail the running test (cmocka).
 */
#ifndef TESTS_ASSIGNER_CORE_SUPPORT_H
#define TESTS_ASSIGNER_CORE_SUPPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "actions.h"
#include "classified.h"
#include "intake.h"

struct db;
struct grouping;
struct region;

struct core {
	struct region *region;
	struct db *db;
	struct grouping *grouping;
	struct action_env env;
	struct intake_settings settings; /* the service's defaults */
	int64_t now;                     /* core_store's time of the changes; 0: the clock */
};

/* The core a test binary shares, opened and closed by the cmocka group functions below, and
 * emptied before each test by core_reset_test. */
extern struct core core;
int core_group_setup(void **state);
int core_group_teardown(void **state);
int core_reset_test(void **state);

/* Opens everything (region from TEST_BIN_DIR/../share/regions/khakassia). */
void core_open(struct core *c);
void core_close(struct core *c);
/* Empties the assigner's tables. */
void core_reset(struct core *c);

/* The facts of one classified report; NULL/0 members take defaults (revision 1, urgency
 * "normal", score 0.95, topic "housing", posted 2026-11-25T03:00:00Z, author = id). */
struct report_spec {
	const char *id; /* message id "vk:<n>" */
	const char *text;
	const char *topic;
	const char *subtopic;
	const char *municipality; /* NULL: unresolved */
	const char *urgency;
	const char *author;
	const char *address;
	double score;
	int64_t revision;
	int64_t posted_at;
	bool ambiguous;
	bool not_incident;
};

/* The classified.v1 JSON text of spec (caller frees). */
char *core_record(const struct report_spec *spec);
/* Decoded into r (caller clears). */
void core_classified(const struct report_spec *spec, struct classified *r);
/* intake_store of specs[0..n) in one batch; asserts success. Returns the counts. */
struct intake_counts core_store(struct core *c, const struct report_spec *specs, size_t n);

/* The single value of a query with text parameters (NULL-terminated list), as text (caller
 * frees; NULL for SQL NULL) or as an integer (SQL NULL fails). */
char *core_text(struct core *c, const char *sql, ...);
int64_t core_int(struct core *c, const char *sql, ...);

/* A time column of incident 1 (ids restart at each reset), in ms; NULL fails. */
int64_t core_time_of(const char *column);

/* A fixed instant: 2026-11-25T03:00:00Z (Wednesday, 10:00 in Khakassia) plus minutes. */
int64_t core_time(int minutes);

#endif
