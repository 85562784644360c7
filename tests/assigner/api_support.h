/*
 * api_support: the operator API's test fixture. Starts the assigner's HTTP server in the test
 * process, the way main.c does (service_init with the api's settings table, a database pool,
 * the Khakassia region pack, api_new, service_listen on a free port), against a fresh schema
 * migrated in TEST_DATABASE_URL; inserts incidents in a known state; calls the API over real
 * HTTP with a role's token.
 */
#ifndef TESTS_ASSIGNER_API_SUPPORT_H
#define TESTS_ASSIGNER_API_SUPPORT_H

#include <jansson.h>
#include <stdint.h>

struct db;

/* The tokens the fixture configures. */
#define TOKEN_OPERATOR "op-token-0123456789"
#define TOKEN_VIEWER "viewer-token-0123456789"
#define TOKEN_UKHIT "ukhit-token-0123456789"       /* authority:abakan_ukhit */
#define TOKEN_ABAKAN "abakan-token-0123456789"     /* authority:abakan_admin, above abakan_ukhit */
#define TOKEN_CHERNOGORSK "chern-token-0123456789" /* authority:chernogorsk_admin */

/* Starts the API; extra_env ("NAME=value", NULL-terminated, may be NULL) adds settings. */
void api_fixture_start(const char *const *extra_env);
void api_fixture_stop(void);

/* A connection of the test's own, for inserting and checking rows. */
struct db *api_fixture_db(void);

/* The bound port. */
int api_fixture_port(void);

/*
 * Calls the API: method, path with query ("/v1/incidents?topic=roads"), token (NULL: no
 * Authorization header), body (NULL: none; sent as application/json). Returns the status; the
 * parsed JSON body goes to *out when out is not NULL (the test fails if it is not JSON).
 */
long api_call(const char *method, const char *token, const char *path, const char *body,
              json_t **out);

/* An incident to insert. NULL members take the defaults in api_support.c (an assigned
 * housing incident in Abakan, normal urgency, opened now). Times are RFC 3339 text. */
struct fixture_incident {
	const char *status, *topic, *subtopic, *municipality, *urgency, *authority, *rule_id;
	const char *summary, *address, *moderation_reason;
	const char *opened_at, *assigned_at, *first_answer_due, *final_answer_due;
	const char *first_answered_at, *first_answer_ms, *resolved_at;
	const char *overdue, *satisfied; /* "true"/"false" text, NULL: false / no feedback */
};

/* Inserts it and returns its id. */
int64_t fixture_incident(const struct fixture_incident *in);

/* Adds a report to an incident (message id "vk:<n>"). */
void fixture_report(int64_t incident, const char *message_id, const char *text,
                    const char *posted_at);

/* One value of a query with up to two text parameters, as text (caller frees; NULL for SQL
 * NULL). Fails the test on an error or when no row comes back. */
char *fixture_query(const char *sql, const char *p1, const char *p2);

/* The string at a JSON path of dotted members ("error", "authority.id"), or "" when absent. */
const char *jstr(const json_t *doc, const char *path);

#endif
