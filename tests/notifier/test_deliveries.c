/*
 * The delivery rows against a real PostgreSQL: recorded once however often an event is
 * planned; claimed by one worker at a time (SKIP LOCKED) with the attempt counted; a claim
 * whose worker died (lease expired) due again, so a crash costs one more attempt and loses
 * nothing; retry delays, rate-limit deferrals that do not count as attempts, dead rows and
 * the operator's requeue; the list's filters and pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "deliveries.h"
#include "rules.h"
#include "support.h"
#include "testdb.h"

extern const struct db_migration notifier_migrations[];
extern const size_t notifier_migrations_count;

static struct db *db, *db2;

static int setup(void **state)
{
	char err[256];
	(void)state;
	db = db_connect(testdb_url(), 10000, NULL, err, sizeof(err));
	db2 = db_connect(testdb_url(), 10000, NULL, err, sizeof(err));
	if (!db || !db2)
		fail_msg("%s", err);
	if (db_migrate(db, "notifier", notifier_migrations, notifier_migrations_count, err,
	               sizeof(err)) < 0)
		fail_msg("%s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_run(db, "DROP SCHEMA notifier CASCADE", 0, NULL, NULL, 0);
	db_free(db);
	db_free(db2);
	return 0;
}

static void reset(void)
{
	char err[256];
	assert_int_equal(db_run(db, "TRUNCATE notifier.deliveries", 0, NULL, err, sizeof(err)), 0);
}

/* Plans and records `type` for incident 42; returns the rows added. */
static int record(const char *event_id, const char *type)
{
	struct notify_rules r;
	struct incident_event ev = {0};
	struct field_error fe;
	struct plan p = {0};
	char err[256];
	json_t *obj = sample_event(event_id, type, 42, "gkh@abakan.example", "http://h");
	notify_rules_parse(NULL, NULL, &r, err, sizeof(err));
	assert_int_equal(incident_event_decode(obj, &ev, &fe), 0);
	json_decref(obj);
	notify_plan(&r, &ev, 420, &p);
	int n = deliveries_insert(db, &ev, &p, 1, err, sizeof(err));
	if (n < 0)
		fail_msg("%s", err);
	plan_clear(&p);
	incident_event_clear(&ev);
	return n;
}

static const char *scalar(const char *sql)
{
	static char out[256];
	char err[256];
	PGresult *res = db_exec(db, sql, 0, NULL, err, sizeof(err));
	if (!res)
		fail_msg("%s", err);
	snprintf(out, sizeof(out), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return out;
}

static void test_recorded_once(void **state)
{
	(void)state;
	reset();
	assert_int_equal(record("ev-1", "incident.assigned"), 3);
	assert_int_equal(record("ev-1", "incident.assigned"), 0);
	assert_int_equal(record("ev-2", "incident.overdue"), 5);
	assert_string_equal(scalar("SELECT count(*) FROM notifier.deliveries"), "8");
	assert_string_equal(scalar("SELECT idempotency_key FROM notifier.deliveries ORDER BY id "
	                           "LIMIT 1"),
	                    "ev-1|email|gkh@abakan.example");
	assert_string_equal(scalar("SELECT count(*) FROM notifier.deliveries WHERE status = "
	                           "'pending' AND attempts = 0"),
	                    "8");
}

static void test_claim_lease_and_crash(void **state)
{
	(void)state;
	char err[256];
	struct delivery a, b, c;
	reset();
	record("ev-3", "incident.assigned");

	/* A worker of one channel group claims only its channels. */
	assert_int_equal(deliveries_claim(db, 300, "{vk_reply}", &a, err, sizeof(err)), 0);
	assert_int_equal(deliveries_claim(db, 300, "{webhook,telegram}", &a, err, sizeof(err)), 1);
	assert_string_equal(a.channel, "telegram");
	assert_int_equal(deliveries_mark_retry(db, a.id, 0, "back", err, sizeof(err)), 0);
	delivery_clear(&a);
	db_run(db, "UPDATE notifier.deliveries SET attempts = 0", 0, NULL, err, sizeof(err));
	assert_int_equal(deliveries_claim(db, 300, NULL, &a, err, sizeof(err)), 1);
	assert_int_equal(a.attempts, 1);
	assert_string_equal(a.channel, "email");
	assert_int_equal(a.incident_id, 42);
	assert_string_equal(jstr(a.payload, "to"), "gkh@abakan.example");
	/* Another worker gets another row, never the leased one. */
	assert_int_equal(deliveries_claim(db2, 300, NULL, &b, err, sizeof(err)), 1);
	assert_true(b.id != a.id);
	assert_int_equal(deliveries_claim(db2, 300, NULL, &c, err, sizeof(err)), 1);
	delivery_clear(&c);
	struct delivery none;
	assert_int_equal(deliveries_claim(db2, 300, NULL, &none, err, sizeof(err)), 0);

	/* The worker holding a "dies": after the lease the row is due again, attempt 2. */
	assert_int_equal(deliveries_mark_sent(db2, b.id, "m-1", "", err, sizeof(err)), 0);
	usleep(400 * 1000);
	struct delivery again;
	assert_int_equal(deliveries_claim(db2, 60000, NULL, &again, err, sizeof(err)), 1);
	assert_true(again.id == a.id || again.id == c.id);
	assert_int_equal(again.attempts, 2);
	delivery_clear(&again);
	/* The sent row never comes back. */
	assert_string_equal(scalar("SELECT status || ' ' || remote_id || ' ' || (sent_at IS NOT "
	                           "NULL) FROM notifier.deliveries WHERE remote_id = 'm-1'"),
	                    "sent m-1 true");
	delivery_clear(&a);
	delivery_clear(&b);
}

static void test_retry_defer_dead_requeue(void **state)
{
	(void)state;
	char err[256];
	struct delivery d, x;
	reset();
	record("ev-4", "incident.reminder");
	db_run(db, "DELETE FROM notifier.deliveries WHERE channel <> 'webhook'", 0, NULL, err,
	       sizeof(err));

	assert_int_equal(deliveries_claim(db, 60000, NULL, &d, err, sizeof(err)), 1);
	assert_int_equal(deliveries_mark_retry(db, d.id, 300, "HTTP 503", err, sizeof(err)), 0);
	assert_int_equal(deliveries_claim(db, 60000, NULL, &x, err, sizeof(err)), 0);
	usleep(400 * 1000);
	assert_int_equal(deliveries_claim(db, 60000, NULL, &x, err, sizeof(err)), 1);
	assert_int_equal(x.attempts, 2);
	delivery_clear(&x);
	assert_string_equal(scalar("SELECT last_error FROM notifier.deliveries"), "HTTP 503");

	/* A rate-limit deferral gives the attempt back. */
	assert_int_equal(deliveries_defer(db, d.id, 0, err, sizeof(err)), 0);
	assert_int_equal(deliveries_claim(db, 60000, NULL, &x, err, sizeof(err)), 1);
	assert_int_equal(x.attempts, 2);
	delivery_clear(&x);

	assert_int_equal(deliveries_mark_dead(db, d.id, "HTTP 404", err, sizeof(err)), 0);
	assert_int_equal(deliveries_claim(db, 60000, NULL, &x, err, sizeof(err)), 0);
	int64_t counts[4];
	assert_int_equal(deliveries_count(db, counts, err, sizeof(err)), 0);
	assert_int_equal(counts[3], 1);

	assert_int_equal(deliveries_requeue(db, d.id, err, sizeof(err)), 1);
	assert_int_equal(deliveries_requeue(db, d.id, err, sizeof(err)), 2);
	assert_int_equal(deliveries_requeue(db, 987654, err, sizeof(err)), 0);
	assert_int_equal(deliveries_claim(db, 60000, NULL, &x, err, sizeof(err)), 1);
	assert_int_equal(x.id, d.id);
	assert_int_equal(x.attempts, 1);
	delivery_clear(&x);
	delivery_clear(&d);
}

static void test_list(void **state)
{
	(void)state;
	char err[256];
	reset();
	record("ev-5", "incident.assigned");
	record("ev-6", "incident.overdue");
	struct delivery_filter f = {.limit = 100};
	json_t *all = deliveries_list(db, &f, err, sizeof(err));
	assert_int_equal(json_array_size(all), 8);
	/* Newest first. */
	assert_true(json_integer_value(json_object_get(json_array_get(all, 0), "id")) >
	            json_integer_value(json_object_get(json_array_get(all, 7), "id")));
	json_decref(all);

	f.channel = "email";
	json_t *mail = deliveries_list(db, &f, err, sizeof(err));
	assert_int_equal(json_array_size(mail), 3);
	assert_string_equal(jstr(json_array_get(mail, 0), "channel"), "email");
	json_decref(mail);

	f = (struct delivery_filter){.limit = 3, .incident_id = 42};
	json_t *page1 = deliveries_list(db, &f, err, sizeof(err));
	assert_int_equal(json_array_size(page1), 3);
	f.before_id = json_integer_value(json_object_get(json_array_get(page1, 2), "id"));
	json_t *page2 = deliveries_list(db, &f, err, sizeof(err));
	assert_int_equal(json_array_size(page2), 3);
	assert_true(json_integer_value(json_object_get(json_array_get(page2, 0), "id")) <
	            f.before_id);
	json_decref(page1);
	json_decref(page2);

	f = (struct delivery_filter){.limit = 10, .incident_id = 43};
	json_t *other = deliveries_list(db, &f, err, sizeof(err));
	assert_int_equal(json_array_size(other), 0);
	json_decref(other);
	f = (struct delivery_filter){.limit = 10, .status = "dead"};
	json_t *dead = deliveries_list(db, &f, err, sizeof(err));
	assert_int_equal(json_array_size(dead), 0);
	json_decref(dead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_recorded_once),
	        cmocka_unit_test(test_claim_lease_and_crash),
	        cmocka_unit_test(test_retry_defer_dead_requeue),
	        cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
