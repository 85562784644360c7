/*
 * The incident lifecycle against PostgreSQL with the shipped Khakassia pack: every operator
 * action's legal transitions (row, audit, event) and each illegal one (409 with the reason),
 * bad arguments naming the field, unknown and out-of-scope incidents; the scheduler's
 * reminder, overdue mark and escalation at times the test chooses, each once; the outbox
 * publishing to a real Kafka topic, records decoded with incident_event_decode.
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
#include <time.h>
#include <unistd.h>

#include "core_support.h"
#include "db.h"
#include "incident_event.h"
#include "incidents.h"
#include "kafka.h"
#include "outbox.h"
#include "region.h"
#include "scheduler.h"
#include "testdb.h"
#include "testenv.h"
#include "timefmt.h"

static const struct action_actor op = {"operator:test", NULL};

/* Opens incident 1 in Abakan (assigned by the rules) and returns its authority (caller frees). */
static char *assigned_incident(void)
{
	struct report_spec r = {.id = "vk:1",
	                        .text = "Нет отопления в доме на Щетинкина 18",
	                        .subtopic = "housing.heating",
	                        .municipality = "abakan"};
	core_store(&core, &r, 1);
	return core_text(&core, "SELECT authority_id FROM assigner.incidents WHERE id = 1", NULL);
}

/* Opens incident 1 in moderation (municipality unresolved). */
static void moderated_incident(void)
{
	struct report_spec r = {.id = "vk:1", .text = "Нет отопления третий день"};
	core_store(&core, &r, 1);
}

static char *column(const char *name)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT %s::text FROM assigner.incidents WHERE id = 1", name);
	return core_text(&core, sql, NULL);
}

static void assert_column(const char *name, const char *want)
{
	char *got = column(name);
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got ? got : "(null)", want);
	free(got);
}

static char *last_event_type(void)
{
	return core_text(&core, "SELECT type FROM assigner.outbox ORDER BY id DESC LIMIT 1", NULL);
}

static void assert_last_event(const char *type)
{
	char *got = last_event_type();
	assert_string_equal(got, type);
	free(got);
}

static void assert_conflict(enum action_status st, const struct action_error *e,
                            const char *reason_part)
{
	assert_int_equal(st, ACTION_CONFLICT);
	assert_int_equal(e->status, ACTION_CONFLICT);
	if (!strstr(e->message, reason_part))
		fail_msg("409 reason \"%s\" does not say \"%s\"", e->message, reason_part);
}

static void assert_bad(enum action_status st, const struct action_error *e, const char *field)
{
	assert_int_equal(st, ACTION_BAD_ARGUMENT);
	assert_string_equal(e->field, field);
}

static void test_moderate_confirm_routes(void **state)
{
	(void)state;
	struct action_error e;
	moderated_incident();
	struct action_moderation m = {"confirm", "chernogorsk", NULL, "это Черногорск"};
	assert_int_equal(action_moderate(core.db, &core.env, 1, &m, &op, &e), ACTION_OK);
	struct region_route want = region_route(core.region, "housing", NULL, "chernogorsk");
	assert_column("status", "assigned");
	assert_column("municipality", "chernogorsk");
	assert_column("authority_id", want.authority->id);
	assert_column("rule_id", want.rule_id);
	char *due = column("first_answer_due");
	assert_non_null(due);
	free(due);
	assert_last_event("incident.assigned");
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action = 'moderated'"
	                          " AND actor = 'operator:test' AND details->>'comment' ="
	                          " 'это Черногорск'",
	                          NULL),
	                 1);
	/* Moderated once: again is illegal. */
	assert_conflict(action_moderate(core.db, &core.env, 1, &m, &op, &e), &e, "is assigned");
}

static void test_moderate_confirm_to_authority_and_reject(void **state)
{
	(void)state;
	struct action_error e;
	moderated_incident();
	struct action_moderation m = {"confirm", NULL, "cur_rh", NULL};
	assert_int_equal(action_moderate(core.db, &core.env, 1, &m, &op, &e), ACTION_OK);
	assert_column("authority_id", "cur_rh");
	assert_column("rule_id", "manual");

	core_reset(&core);
	moderated_incident();
	struct action_moderation reject = {"reject", NULL, NULL, "реклама"};
	assert_int_equal(action_moderate(core.db, &core.env, 1, &reject, &op, &e), ACTION_OK);
	assert_column("status", "rejected");
	assert_last_event("incident.rejected");
	/* Nothing but reopen works on a rejected incident. */
	assert_conflict(action_respond(core.db, &core.env, 1, "final", "x", &op, &e), &e,
	                "reopen it first");
	assert_conflict(action_resolve(core.db, &core.env, 1, NULL, &op, &e), &e, "is rejected");
	assert_conflict(action_reassign(core.db, &core.env, 1, "cur_rh", NULL, &op, &e), &e,
	                "is rejected");
	assert_conflict(action_feedback(core.db, &core.env, 1, true, NULL, &op, &e), &e,
	                "is rejected");
	assert_int_equal(action_reopen(core.db, &core.env, 1, "ошибка", &op, &e), ACTION_OK);
	assert_column("status", "moderation");
	assert_last_event("incident.reopened");
}

static void test_moderation_arguments_and_state(void **state)
{
	(void)state;
	struct action_error e;
	moderated_incident();
	struct action_moderation m = {"maybe", NULL, NULL, NULL};
	assert_bad(action_moderate(core.db, &core.env, 1, &m, &op, &e), &e, "decision");
	m = (struct action_moderation){NULL, NULL, NULL, NULL};
	assert_bad(action_moderate(core.db, &core.env, 1, &m, &op, &e), &e, "decision");
	m = (struct action_moderation){"confirm", "atlantis", NULL, NULL};
	assert_bad(action_moderate(core.db, &core.env, 1, &m, &op, &e), &e, "municipality");
	m = (struct action_moderation){"confirm", NULL, "nobody", NULL};
	assert_bad(action_moderate(core.db, &core.env, 1, &m, &op, &e), &e, "authority");
	m = (struct action_moderation){"confirm", NULL, NULL, "\xff"};
	assert_bad(action_moderate(core.db, &core.env, 1, &m, &op, &e), &e, "comment");
	m = (struct action_moderation){"confirm", NULL, NULL, NULL};
	assert_int_equal(action_moderate(core.db, &core.env, 99, &m, &op, &e), ACTION_NOT_FOUND);
	/* In moderation no authority is responsible: nothing but moderate. */
	assert_conflict(action_respond(core.db, &core.env, 1, "interim", "x", &op, &e), &e,
	                "moderate it first");
	assert_conflict(action_reassign(core.db, &core.env, 1, "cur_rh", NULL, &op, &e), &e,
	                "is moderation");
	assert_conflict(action_resolve(core.db, &core.env, 1, NULL, &op, &e), &e, "is moderation");
	assert_conflict(action_reopen(core.db, &core.env, 1, NULL, &op, &e), &e, "is moderation");
	/* Nothing changed by the refusals. */
	assert_int_equal(core_int(&core, "SELECT count(*) FROM assigner.outbox", NULL), 1);
	struct action_actor anonymous = {NULL, NULL};
	assert_bad(action_resolve(core.db, &core.env, 1, NULL, &anonymous, &e), &e, "actor");
}

static void test_reassign_keeps_the_clock(void **state)
{
	(void)state;
	struct action_error e;
	char *from = assigned_incident();
	char *due = column("first_answer_due");
	const char *to = strcmp(from, "cur_rh") ? "cur_rh" : "minstroy_rh";
	assert_int_equal(action_reassign(core.db, &core.env, 1, to, "не их", &op, &e), ACTION_OK);
	assert_column("authority_id", to);
	assert_column("rule_id", "manual");
	assert_column("first_answer_due", due);
	assert_last_event("incident.reassigned");
	char *prev = core_text(&core,
	                       "SELECT event->'previous_authority'->>'id' FROM assigner.outbox"
	                       " ORDER BY id DESC LIMIT 1",
	                       NULL);
	assert_string_equal(prev, from);
	free(prev);
	assert_conflict(action_reassign(core.db, &core.env, 1, to, NULL, &op, &e), &e,
	                "already assigned");
	assert_bad(action_reassign(core.db, &core.env, 1, "nobody", NULL, &op, &e), &e,
	           "authority");
	assert_bad(action_reassign(core.db, &core.env, 1, NULL, NULL, &op, &e), &e, "authority");
	assert_int_equal(action_reassign(core.db, &core.env, 7, to, NULL, &op, &e),
	                 ACTION_NOT_FOUND);
	free(from);
	free(due);
}

static void test_respond_resolve_feedback_reopen(void **state)
{
	(void)state;
	struct action_error e;
	char *authority = assigned_incident();
	struct action_actor own = {"authority:user", authority};
	struct action_actor other = {"authority:user", "nobody_else"};
	/* Another authority's user sees no such incident. */
	assert_int_equal(action_respond(core.db, &core.env, 1, "interim", "x", &other, &e),
	                 ACTION_NOT_FOUND);
	assert_conflict(action_feedback(core.db, &core.env, 1, true, NULL, &op, &e), &e,
	                "feedback needs status responded or resolved");
	assert_conflict(action_reopen(core.db, &core.env, 1, NULL, &op, &e), &e, "is assigned");
	assert_bad(action_respond(core.db, &core.env, 1, "maybe", "x", &own, &e), &e, "kind");
	assert_bad(action_respond(core.db, &core.env, 1, "final", "", &own, &e), &e, "text");

	assert_int_equal(
	        action_respond(core.db, &core.env, 1, "interim", "Бригада выехала", &own, &e),
	        ACTION_OK);
	assert_column("status", "responded");
	char *first = column("first_answered_at");
	assert_non_null(first);
	assert_true(core_int(&core, "SELECT first_answer_ms FROM assigner.incidents", NULL) >= 0);
	assert_column("final_answered_at", NULL);
	char *answer = core_text(&core,
	                         "SELECT event->'answer'->>'kind' || ':' || (event->'answer'->>"
	                         "'text') FROM assigner.outbox ORDER BY id DESC LIMIT 1",
	                         NULL);
	assert_string_equal(answer, "interim:Бригада выехала");
	free(answer);
	/* The events carry the reports to answer in. */
	assert_int_equal(core_int(&core,
	                          "SELECT jsonb_array_length(event->'reports') FROM assigner.outbox"
	                          " ORDER BY id DESC LIMIT 1",
	                          NULL),
	                 1);

	assert_int_equal(action_respond(core.db, &core.env, 1, "final", "Отопление дали", &own, &e),
	                 ACTION_OK);
	assert_column("first_answered_at", first); /* the first answer stays the first */
	char *final = column("final_answered_at");
	assert_non_null(final);
	free(final);
	assert_int_equal(action_feedback(core.db, &core.env, 1, true, "спасибо", &op, &e),
	                 ACTION_OK);
	assert_column("satisfied", "true");
	assert_last_event("incident.feedback");
	assert_int_equal(action_resolve(core.db, &core.env, 1, NULL, &own, &e), ACTION_OK);
	assert_column("status", "resolved");
	assert_last_event("incident.resolved");
	assert_conflict(action_resolve(core.db, &core.env, 1, NULL, &op, &e), &e, "is resolved");
	assert_conflict(action_respond(core.db, &core.env, 1, "final", "x", &op, &e), &e,
	                "reopen it first");
	/* Feedback may still come after the resolution; a later one replaces it. */
	assert_int_equal(action_feedback(core.db, &core.env, 1, false, "опять холодно", &op, &e),
	                 ACTION_OK);
	assert_column("satisfied", "false");
	assert_int_equal(action_reopen(core.db, &core.env, 1, "снова нет отопления", &op, &e),
	                 ACTION_OK);
	assert_column("status", "assigned");
	assert_column("final_answered_at", NULL);
	assert_last_event("incident.reopened");
	/* Every step is in the audit. */
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action IN"
	                          " ('responded', 'feedback', 'resolved', 'reopened')",
	                          NULL),
	                 6);
	free(first);
	free(authority);
}

static void test_not_responsible_reroutes(void **state)
{
	(void)state;
	struct action_error e;
	char *first = assigned_incident();
	char *due = column("first_answer_due");
	assert_int_equal(action_respond(core.db, &core.env, 1, "not_responsible",
	                                "Не наша зона ответственности", &op, &e),
	                 ACTION_OK);
	char *second = column("authority_id");
	assert_string_not_equal(second, first);
	assert_column("status", "assigned");
	assert_column("first_answer_due", due);
	assert_last_event("incident.reassigned");
	assert_int_equal(
	        core_int(&core, "SELECT count(*) FROM assigner.incidents WHERE $1 = ANY(declined)",
	                 first, NULL),
	        1);
	/* The next one declines too: neither of them gets it back. */
	assert_int_equal(
	        action_respond(core.db, &core.env, 1, "not_responsible", "И не наша", &op, &e),
	        ACTION_OK);
	char *third = column("authority_id");
	assert_string_not_equal(third, first);
	assert_string_not_equal(third, second);
	/* Declining until no candidate is left ends in a 409 that asks for a reassignment. */
	enum action_status st;
	int rounds = 0;
	while ((st = action_respond(core.db, &core.env, 1, "not_responsible", "нет", &op, &e)) ==
	               ACTION_OK &&
	       rounds < 10)
		rounds++;
	assert_conflict(st, &e, "no other authority");
	free(first);
	free(second);
	free(third);
	free(due);
}

static struct scheduler_counts round_at(int64_t now)
{
	struct scheduler_counts c = {0};
	char err[512];
	if (scheduler_round(core.db, &core.env, now, 100, &c, err, sizeof(err)) < 0)
		fail_msg("scheduler_round: %s", err);
	return c;
}

static void test_scheduler_reminds_marks_overdue_escalates(void **state)
{
	(void)state;
	char *authority = assigned_incident();
	int64_t remind = core_time_of("reminder_at"), due = core_time_of("first_answer_due");
	assert_true(remind < due);

	struct scheduler_counts c = round_at(remind - 1000);
	assert_int_equal(c.reminders + c.overdue, 0);
	c = round_at(remind + 1000);
	assert_int_equal(c.reminders, 1);
	assert_last_event("incident.reminder");
	c = round_at(remind + 2000); /* once */
	assert_int_equal(c.reminders, 0);

	c = round_at(due + 1000);
	assert_int_equal(c.overdue, 1);
	assert_column("overdue", "true");
	const struct region_authority *a = region_authority(core.region, authority);
	assert_non_null(a->parent);
	assert_int_equal(c.escalated, 1);
	assert_column("escalated_to", a->parent);
	assert_last_event("incident.escalated");
	char *parent = core_text(&core,
	                         "SELECT event->'parent_authority'->>'id' FROM assigner.outbox"
	                         " WHERE type = 'incident.overdue'",
	                         NULL);
	assert_string_equal(parent, a->parent);
	free(parent);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE actor = 'scheduler'"
	                          " AND action IN ('reminder', 'overdue', 'escalated')",
	                          NULL),
	                 3);
	c = round_at(due + 60000); /* once */
	assert_int_equal(c.overdue + c.escalated + c.reminders, 0);
	free(authority);
}

static void test_scheduler_final_deadline_and_answers(void **state)
{
	(void)state;
	struct action_error e;
	free(assigned_incident());
	int64_t due = core_time_of("first_answer_due"), final = core_time_of("final_answer_due");
	assert_int_equal(action_respond(core.db, &core.env, 1, "interim", "Разбираемся", &op, &e),
	                 ACTION_OK);
	/* Answered: neither reminder nor overdue at the first deadline. */
	struct scheduler_counts c = round_at(due + 1000);
	assert_int_equal(c.reminders + c.overdue, 0);
	/* No final answer by the final deadline: overdue. */
	c = round_at(final + 1000);
	assert_int_equal(c.overdue, 1);
	char *deadline = core_text(&core,
	                           "SELECT details->>'deadline' FROM assigner.audit WHERE action ="
	                           " 'overdue'",
	                           NULL);
	assert_string_equal(deadline, "final_answer");
	free(deadline);
}

static void test_scheduler_top_authority_not_escalated(void **state)
{
	(void)state;
	struct action_error e;
	moderated_incident();
	struct action_moderation m = {"confirm", NULL, "cur_rh", NULL}; /* the top */
	assert_int_equal(action_moderate(core.db, &core.env, 1, &m, &op, &e), ACTION_OK);
	struct scheduler_counts c = round_at(core_time_of("first_answer_due") + 1000);
	assert_int_equal(c.overdue, 1);
	assert_int_equal(c.escalated, 0);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action ="
	                          " 'escalation_skipped'",
	                          NULL),
	                 1);
}

/* One scheduler replica: its own connection, rounds of 7 until nothing is left. */
struct replica {
	int64_t now;
	struct scheduler_counts done;
	char err[512];
};

static void *replica_run(void *arg)
{
	struct replica *r = arg;
	struct db *db = db_connect(testdb_url(), 10000, NULL, r->err, sizeof(r->err));
	if (!db)
		return NULL;
	for (;;) {
		struct scheduler_counts c = {0};
		if (scheduler_round(db, &core.env, r->now, 7, &c, r->err, sizeof(r->err)) < 0)
			break;
		r->done.overdue += c.overdue;
		r->done.escalated += c.escalated;
		if (c.overdue == 0)
			break;
	}
	db_free(db);
	return NULL;
}

static void test_two_schedulers_share_the_work(void **state)
{
	(void)state;
	enum { N = 40 };
	static const char *const munis[] = {"abakan", "chernogorsk", "sayanogorsk", "abaza",
	                                    "sorsk"};
	static const char *const topics[] = {"roads",     "waste",  "transport", "healthcare",
	                                     "education", "social", "telecom",   "trade"};
	struct report_spec r[N];
	char ids[N][24];
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "vk:%d", i + 1);
		r[i] = (struct report_spec){
		        .id = ids[i], .municipality = munis[i % 5], .topic = topics[i / 5]};
	}
	core_store(&core, r, N);
	assert_int_equal(
	        core_int(&core, "SELECT count(*) FROM assigner.incidents WHERE status = 'assigned'",
	                 NULL),
	        N);
	/* Long after every deadline, two replicas at once: each incident is marked once. */
	struct replica a = {.now = core_time(60 * 24 * 60)}, b = a;
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, replica_run, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, replica_run, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (a.err[0] || b.err[0])
		fail_msg("scheduler: %s %s", a.err, b.err);
	assert_int_equal(a.done.overdue + b.done.overdue, N);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.outbox WHERE type ="
	                          " 'incident.overdue'",
	                          NULL),
	                 N);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action = 'overdue'",
	                          NULL),
	                 N);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.outbox WHERE type ="
	                          " 'incident.escalated'",
	                          NULL),
	                 (int64_t)(a.done.escalated + b.done.escalated));
}

/* Reads up to `want` records of topic from the beginning within ms. */
static size_t consume(const char *topic, struct incident_event *out, char keys[][24], size_t want,
                      int ms)
{
	char err[256], group[64];
	const char *brokers = testenv_require("TEST_KAFKA_BROKERS", "run through tests/run.sh");
	struct kafka_options ko = {brokers, "test", "fetch.wait.max.ms=10"};
	const char *topics[] = {topic, NULL};
	snprintf(group, sizeof(group), "check-%d", (int)getpid());
	struct kafka_consumer *c = kafka_consumer_new(&ko, group, topics, err, sizeof(err));
	assert_non_null(c);
	size_t n = 0;
	int64_t deadline = time_mono_ms() + ms;
	while (n < want && time_mono_ms() < deadline) {
		struct kafka_message m;
		if (kafka_consumer_poll(c, 100, &m, err, sizeof(err)) != KAFKA_POLL_MESSAGE)
			continue;
		struct field_error fe;
		if (incident_event_decode_bytes(m.value, m.len, &out[n], &fe) < 0)
			fail_msg("not incident_event.v1: %s: %s", fe.field, fe.message);
		snprintf(keys[n], 24, "%.*s", (int)m.keylen, (const char *)m.key);
		n++;
		kafka_message_release(&m);
	}
	kafka_consumer_free(c);
	return n;
}

static void test_outbox_publishes_decodable_events_once(void **state)
{
	(void)state;
	struct action_error e;
	free(assigned_incident());
	assert_int_equal(action_respond(core.db, &core.env, 1, "final", "Отопление дали", &op, &e),
	                 ACTION_OK);
	const char *brokers = testenv_require("TEST_KAFKA_BROKERS", "run through tests/run.sh");
	char err[512], topic[64];
	snprintf(topic, sizeof(topic), "incidents.events.%d.%ld", (int)getpid(), (long)time(NULL));
	struct kafka_options ko = {brokers, "test", NULL};
	struct kafka_producer *p = kafka_producer_new(&ko, err, sizeof(err));
	assert_non_null(p);
	int published = 0;
	long pending = 0;
	if (outbox_round(core.db, p, topic, 100, &published, &pending, err, sizeof(err)) < 0)
		fail_msg("outbox_round: %s", err);
	assert_int_equal(published, 3);
	assert_int_equal(pending, 0);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.outbox WHERE published AND"
	                          " published_at IS NOT NULL",
	                          NULL),
	                 3);
	assert_int_equal(
	        outbox_round(core.db, p, topic, 100, &published, &pending, err, sizeof(err)), 0);
	assert_int_equal(published, 0);
	kafka_producer_free(p);

	struct incident_event ev[4];
	char keys[4][24];
	memset(ev, 0, sizeof(ev));
	assert_int_equal(consume(topic, ev, keys, 4, 5000), 3);
	static const enum incident_event_type types[] = {INCIDENT_CREATED, INCIDENT_ASSIGNED,
	                                                 INCIDENT_RESPONDED};
	for (int i = 0; i < 3; i++) {
		char id[32];
		snprintf(id, sizeof(id), "assigner:%d", i + 1);
		assert_string_equal(ev[i].event_id, id);
		assert_int_equal(ev[i].type, types[i]);
		assert_int_equal(ev[i].incident_id, 1);
		assert_string_equal(keys[i], "1");
		assert_int_equal(json_array_size(ev[i].reports), 1);
	}
	assert_null(ev[0].authority); /* created: before routing */
	assert_non_null(ev[1].authority);
	assert_true(json_array_size(json_object_get(ev[1].authority, "channels")) > 0);
	assert_string_equal(json_string_value(json_object_get(ev[1].incident, "url")),
	                    "http://assigner.test/v1/incidents/1");
	assert_string_equal(json_string_value(json_object_get(ev[2].answer, "text")),
	                    "Отопление дали");
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(ev[2].reports, 0), "external_id")),
	        "1");
	for (int i = 0; i < 3; i++)
		incident_event_clear(&ev[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_moderate_confirm_routes, core_reset_test),
	        cmocka_unit_test_setup(test_moderate_confirm_to_authority_and_reject,
	                               core_reset_test),
	        cmocka_unit_test_setup(test_moderation_arguments_and_state, core_reset_test),
	        cmocka_unit_test_setup(test_reassign_keeps_the_clock, core_reset_test),
	        cmocka_unit_test_setup(test_respond_resolve_feedback_reopen, core_reset_test),
	        cmocka_unit_test_setup(test_not_responsible_reroutes, core_reset_test),
	        cmocka_unit_test_setup(test_scheduler_reminds_marks_overdue_escalates,
	                               core_reset_test),
	        cmocka_unit_test_setup(test_scheduler_final_deadline_and_answers, core_reset_test),
	        cmocka_unit_test_setup(test_scheduler_top_authority_not_escalated, core_reset_test),
	        cmocka_unit_test_setup(test_two_schedulers_share_the_work, core_reset_test),
	        cmocka_unit_test_setup(test_outbox_publishes_decodable_events_once,
	                               core_reset_test),
	};
	return cmocka_run_group_tests(tests, core_group_setup, core_group_teardown);
}
