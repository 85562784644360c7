/*
 * The assigner's intake against PostgreSQL with the shipped Khakassia pack: classified reports
 * become incidents routed by the rules with working-time deadlines, related reports join one
 * incident (same problem by text or address, within the window) and unrelated ones do not,
 * affected citizens raise urgency, doubtful ones wait in moderation, non-incidents are kept
 * for statistics only, and a replayed batch changes nothing. A batch ends exactly as storing
 * its records one a batch does; an incident an operator changes while a batch decides fails
 * that batch as a whole; two replicas storing one problem at once open it once.
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

#include "core_support.h"
#include "db.h"
#include "grouping.h"
#include "incidents.h"
#include "region.h"
#include "testdb.h"
#include "timefmt.h"
#include "workcal.h"
#include "xalloc.h"

static const char *const heat1 = "Третий день нет отопления в доме на улице Щетинкина 18, "
                                 "батареи холодные, дети мёрзнут";
static const char *const heat2 = "Щетинкина 18 опять без отопления, батареи ледяные уже третий "
                                 "день";
static const char *const road = "Огромная яма на дороге возле школы, машины пробивают колёса";

static int64_t incidents(void)
{
	return core_int(&core, "SELECT count(*) FROM assigner.incidents", NULL);
}

static int64_t events(const char *type)
{
	return core_int(&core, "SELECT count(*) FROM assigner.outbox WHERE type = $1", type, NULL);
}

static void test_opens_routes_and_sets_deadlines(void **state)
{
	(void)state;
	struct report_spec r = {.id = "vk:1",
	                        .text = heat1,
	                        .subtopic = "housing.heating",
	                        .municipality = "abakan"};
	struct intake_counts c = core_store(&core, &r, 1);
	assert_int_equal(c.opened, 1);
	assert_int_equal(c.moderated, 0);
	assert_int_equal(incidents(), 1);

	/* Routed as the region's rules say, with the rule recorded on the row and in the audit. */
	struct region_route want =
	        region_route(core.region, "housing", "housing.heating", "abakan");
	char *authority = core_text(&core, "SELECT authority_id FROM assigner.incidents", NULL);
	char *rule = core_text(&core, "SELECT rule_id FROM assigner.incidents", NULL);
	assert_string_equal(authority, want.authority->id);
	assert_string_equal(rule, want.rule_id);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action = 'assigned'"
	                          " AND details->>'rule_id' = $1 AND details->>'authority' = $2",
	                          rule, authority, NULL),
	                 1);
	free(authority);
	free(rule);
	/* The classification evidence is in the audit of the opening. */
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action = 'opened'"
	                          " AND details->'classification'->>'topic' = 'housing'"
	                          " AND details->'classification'->'municipality_evidence' ? "
	                          "'в городе'",
	                          NULL),
	                 1);
	char *status = core_text(&core, "SELECT status FROM assigner.incidents", NULL);
	assert_string_equal(status, "assigned");
	free(status);

	/* Normal urgency: 8 working hours to the first answer, 10 working days to the final. */
	const struct workcal *cal = region_calendar(core.region);
	int64_t start = core_time_of("assigned_at");
	int64_t first = core_time_of("first_answer_due");
	int64_t final = core_time_of("final_answer_due");
	int64_t remind = core_time_of("reminder_at");
	assert_int_equal(first, workcal_add_working(cal, start, 8 * 3600000LL));
	assert_int_equal(final, workcal_add_working_days(cal, start, 10));
	assert_int_equal(remind, workcal_add_working(cal, start, 6 * 3600000LL));
	assert_true(workcal_working_between(cal, start, first) == 8 * 3600000LL);

	/* incident.created, then incident.assigned. */
	assert_int_equal(events("incident.created"), 1);
	assert_int_equal(events("incident.assigned"), 1);
	char *first_type =
	        core_text(&core, "SELECT type FROM assigner.outbox ORDER BY id LIMIT 1", NULL);
	assert_string_equal(first_type, "incident.created");
	free(first_type);
}

static void test_related_reports_join_one_incident(void **state)
{
	(void)state;
	struct report_spec r[] = {
	        {.id = "vk:1", .text = heat1, .municipality = "abakan", .author = "a"},
	        {.id = "vk:2",
	         .text = heat2,
	         .municipality = "abakan",
	         .author = "b",
	         .posted_at = core_time(60)},
	        /* Same author again: a report more, not a citizen more. */
	        {.id = "vk:3",
	         .text = heat2,
	         .municipality = "abakan",
	         .author = "b",
	         .posted_at = core_time(90)},
	};
	struct intake_counts c = core_store(&core, r, 3); /* one batch: grouped inside it too */
	assert_int_equal(c.opened, 1);
	assert_int_equal(c.joined, 2);
	assert_int_equal(incidents(), 1);
	assert_int_equal(core_int(&core, "SELECT reports FROM assigner.incidents", NULL), 3);
	assert_int_equal(core_int(&core, "SELECT affected FROM assigner.incidents", NULL), 2);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.reports WHERE incident_id ="
	                          " (SELECT id FROM assigner.incidents)",
	                          NULL),
	                 3);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action = 'joined'"
	                          " AND details->>'by' = 'text'",
	                          NULL),
	                 2);
	/* A join is audited, not published. */
	assert_int_equal(core_int(&core, "SELECT count(*) FROM assigner.outbox", NULL), 2);
	int64_t last = core_time_of("last_report_at");
	assert_int_equal(last, core_time(90));
}

static void test_unrelated_reports_open_their_own(void **state)
{
	(void)state;
	struct report_spec r[] = {
	        {.id = "vk:1", .text = heat1, .municipality = "abakan"},
	        /* another municipality */
	        {.id = "vk:2", .text = heat1, .municipality = "chernogorsk"},
	        /* another topic */
	        {.id = "vk:3", .text = heat1, .topic = "roads", .municipality = "abakan"},
	        /* another problem in the same topic and place */
	        {.id = "vk:4",
	         .text = "В подъезде не убирают мусор, управляющая компания не "
	                 "отвечает на звонки",
	         .municipality = "abakan"},
	        /* the same words, after the window (72 h) */
	        {.id = "vk:5",
	         .text = heat1,
	         .municipality = "abakan",
	         .posted_at = core_time(73 * 60)},
	};
	struct intake_counts c = core_store(&core, r, 5);
	assert_int_equal(c.opened, 5);
	assert_int_equal(c.joined, 0);
	assert_int_equal(incidents(), 5);
}

static void test_same_address_joins(void **state)
{
	(void)state;
	struct report_spec r[] = {
	        {.id = "vk:1",
	         .text = heat1,
	         .municipality = "abakan",
	         .address = "Абакан, ул. Щетинкина, 18"},
	        {.id = "vk:2",
	         .text = "Жильцы просят помочь, сколько можно терпеть",
	         .municipality = "abakan",
	         .address = "абакан ул щетинкина 18"},
	};
	struct intake_counts c = core_store(&core, r, 2);
	assert_int_equal(c.opened, 1);
	assert_int_equal(c.joined, 1);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action = 'joined'"
	                          " AND details->>'by' = 'address'",
	                          NULL),
	                 1);
}

/* n citizens reporting the heating problem in Abakan, `minutes` apart (ids vk:1.., authors
 * citizen1..). */
static void citizens(struct report_spec *r, char ids[][24], char authors[][24], int n, int minutes)
{
	for (int i = 0; i < n; i++) {
		snprintf(ids[i], 24, "vk:%d", i + 1);
		snprintf(authors[i], 24, "citizen%d", i + 1);
		r[i] = (struct report_spec){.id = ids[i],
		                            .text = i % 2 ? heat2 : heat1,
		                            .municipality = "abakan",
		                            .author = authors[i],
		                            .posted_at = core_time(i * minutes)};
	}
}

static void test_affected_citizens_raise_urgency(void **state)
{
	(void)state;
	struct report_spec r[5];
	char ids[5][24], authors[5][24];
	citizens(r, ids, authors, 5, 10);
	core_store(&core, r, 4);
	char *urgency = core_text(&core, "SELECT urgency FROM assigner.incidents", NULL);
	assert_string_equal(urgency, "normal");
	free(urgency);
	int64_t start = core_time_of("assigned_at");

	struct intake_counts c = core_store(&core, &r[4], 1); /* the fifth citizen */
	assert_int_equal(c.raised, 1);
	urgency = core_text(&core, "SELECT urgency FROM assigner.incidents", NULL);
	assert_string_equal(urgency, "high");
	free(urgency);
	/* High: the first answer within 2 calendar hours of the same clock start. */
	assert_int_equal(core_time_of("assigned_at"), start);
	assert_int_equal(core_time_of("first_answer_due"), start + 2 * 3600000LL);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action ="
	                          " 'urgency_raised' AND details->>'reason' = 'affected'",
	                          NULL),
	                 1);
	/* The authority hears of it: incident.assigned again, with the new deadline. */
	assert_int_equal(events("incident.assigned"), 2);
	char *urg = core_text(&core,
	                      "SELECT event->'incident'->>'urgency' FROM assigner.outbox"
	                      " ORDER BY id DESC LIMIT 1",
	                      NULL);
	assert_string_equal(urg, "high");
	free(urg);
}

static void test_high_report_raises_urgency(void **state)
{
	(void)state;
	struct report_spec r[] = {
	        {.id = "vk:1", .text = heat1, .municipality = "abakan"},
	        {.id = "vk:2", .text = heat2, .municipality = "abakan", .urgency = "high"},
	};
	struct intake_counts c = core_store(&core, r, 2);
	assert_int_equal(c.raised, 1);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action ="
	                          " 'urgency_raised' AND details->>'reason' = 'report'",
	                          NULL),
	                 1);
}

static void test_doubtful_incidents_wait_in_moderation(void **state)
{
	(void)state;
	struct report_spec r[] = {
	        {.id = "vk:1", .text = heat1, .municipality = NULL},
	        {.id = "vk:2",
	         .text = road,
	         .topic = "roads",
	         .municipality = "abakan",
	         .ambiguous = true},
	        {.id = "vk:3", .text = heat1, .municipality = "chernogorsk", .score = 0.55},
	        {.id = "vk:4", .text = heat1, .municipality = "atlantis"},
	};
	struct intake_counts c = core_store(&core, r, 4);
	assert_int_equal(c.opened, 4);
	assert_int_equal(c.moderated, 4);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.incidents WHERE status ="
	                          " 'moderation' AND authority_id IS NULL AND first_answer_due"
	                          " IS NULL",
	                          NULL),
	                 4);
	static const char *const reasons[] = {"municipality_unresolved", "municipality_ambiguous",
	                                      "low_confidence", "municipality_unknown"};
	for (int i = 0; i < 4; i++)
		assert_int_equal(core_int(&core,
		                          "SELECT count(*) FROM assigner.incidents WHERE"
		                          " moderation_reason = $1",
		                          reasons[i], NULL),
		                 1);
	assert_int_equal(events("incident.created"), 4);
	assert_int_equal(events("incident.assigned"), 0);
}

static void test_non_incidents_kept_for_statistics(void **state)
{
	(void)state;
	struct report_spec r = {.id = "vk:1",
	                        .text = "Продам диван",
	                        .topic = "other",
	                        .municipality = "abakan",
	                        .not_incident = true,
	                        .score = 0.1};
	struct intake_counts c = core_store(&core, &r, 1);
	assert_int_equal(c.reports, 1);
	assert_int_equal(c.opened, 0);
	assert_int_equal(incidents(), 0);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.reports WHERE NOT is_incident"
	                          " AND incident_id IS NULL",
	                          NULL),
	                 1);
}

static void test_replay_changes_nothing(void **state)
{
	(void)state;
	struct report_spec r[] = {
	        {.id = "vk:1", .text = heat1, .municipality = "abakan"},
	        {.id = "vk:2", .text = heat2, .municipality = "abakan"},
	        {.id = "vk:3", .text = road, .topic = "roads", .municipality = NULL},
	        {.id = "vk:4", .text = "Продам диван", .not_incident = true},
	};
	core_store(&core, r, 4);
	const char *count_all = "SELECT (SELECT count(*) FROM assigner.incidents) * 1000000 +"
	                        " (SELECT count(*) FROM assigner.audit) * 1000 +"
	                        " (SELECT count(*) FROM assigner.outbox)";
	int64_t before = core_int(&core, count_all, NULL);
	struct intake_counts c = core_store(&core, r, 4);
	assert_int_equal(c.replayed, 4);
	assert_int_equal(c.reports + c.opened + c.joined, 0);
	assert_int_equal(core_int(&core, count_all, NULL), before);

	/* A higher revision updates the report and keeps it in its incident. */
	struct report_spec edited = {.id = "vk:2",
	                             .revision = 2,
	                             .text = "исправленный текст",
	                             .municipality = "abakan"};
	c = core_store(&core, &edited, 1);
	assert_int_equal(c.reports, 1);
	assert_int_equal(c.opened, 0);
	char *text = core_text(&core, "SELECT text FROM assigner.reports WHERE message_id = 'vk:2'",
	                       NULL);
	assert_string_equal(text, "исправленный текст");
	free(text);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.reports WHERE message_id = 'vk:2'"
	                          " AND revision = 2 AND incident_id IS NOT NULL",
	                          NULL),
	                 1);
	/* An older revision arriving late changes nothing. */
	c = core_store(&core, &r[1], 1);
	assert_int_equal(c.replayed, 1);
	/* A non-incident whose edit makes it one opens an incident then. */
	struct report_spec now_incident = {.id = "vk:4",
	                                   .revision = 2,
	                                   .text = "Прорвало трубу, топит подвал на Ленина 5",
	                                   .municipality = "abakan"};
	c = core_store(&core, &now_incident, 1);
	assert_int_equal(c.opened, 1);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.reports WHERE message_id = 'vk:4'"
	                          " AND is_incident AND incident_id IS NOT NULL",
	                          NULL),
	                 1);
}

/* The whole state the intake writes, as one JSON text (times fixed by core.now). */
static char *state(void)
{
	return core_text(
	        &core,
	        "SELECT json_build_object("
	        " 'incidents', (SELECT json_agg(to_jsonb(i) ORDER BY id) FROM assigner.incidents "
	        "i),"
	        " 'reports', (SELECT json_agg(json_build_array(message_id, revision, incident_id,"
	        "   is_incident, text) ORDER BY message_id) FROM assigner.reports),"
	        " 'audit', (SELECT json_agg(json_build_array(id, incident_id, at, actor, action,"
	        "   details) ORDER BY id) FROM assigner.audit),"
	        " 'outbox', (SELECT json_agg(json_build_array(id, incident_id, type, event)"
	        "   ORDER BY id) FROM assigner.outbox))::text",
	        NULL);
}

enum { MAX_SPECS = 16 };

/* specs[0..n) with posted_at read as minutes after core_time(0), stored in one batch, or one
 * record a batch. */
static void store_timed(const struct report_spec *specs, size_t n, bool one_by_one,
                        struct intake_counts *c)
{
	struct report_spec timed[MAX_SPECS];
	assert_true(n <= MAX_SPECS);
	for (size_t i = 0; i < n; i++) {
		timed[i] = specs[i];
		timed[i].posted_at = core_time((int)specs[i].posted_at);
	}
	struct intake_counts sum = {0};
	for (size_t i = 0; i < n; i += one_by_one ? 1 : n) {
		struct intake_counts one = core_store(&core, timed + i, one_by_one ? 1 : n);
		sum.replayed += one.replayed;
		sum.raised += one.raised;
		sum.joined += one.joined;
		sum.opened += one.opened;
		sum.moderated += one.moderated;
	}
	if (c)
		*c = sum;
}

/*
 * Before: incidents of heating (Abakan, four citizens) and a road (Chernogorsk) exist. Then one
 * batch mixes everything the intake does: a join to an existing incident that raises it (the
 * fifth citizen), a join by address, new incidents and a report joining one of them inside the
 * batch, moderation, a non-incident, a replay, a higher revision of a grouped report, and a
 * message id twice (its second revision later in the batch).
 */
static const struct report_spec before[] = {
        {.id = "vk:1", .text = heat1, .municipality = "abakan", .author = "c1"},
        {.id = "vk:2", .text = heat2, .municipality = "abakan", .author = "c2", .posted_at = 1},
        {.id = "vk:3", .text = heat2, .municipality = "abakan", .author = "c3", .posted_at = 2},
        {.id = "vk:4", .text = heat1, .municipality = "abakan", .author = "c4", .posted_at = 3},
        {.id = "vk:5",
         .text = road,
         .topic = "roads",
         .municipality = "chernogorsk",
         .address = "Черногорск, ул. Пушкина, 10",
         .posted_at = 4},
};
static const struct report_spec mixed[] = {
        {.id = "vk:6",
         .text = heat2,
         .municipality = "abakan",
         .author = "c5",
         .posted_at = 5,
         .address = "Абакан, ул. Щетинкина, 18"},
        {.id = "vk:7",
         .text = "Жители просят помочь",
         .topic = "roads",
         .municipality = "chernogorsk",
         .address = "черногорск ул пушкина 10",
         .posted_at = 6},
        {.id = "vk:8",
         .text = "Во дворе не вывозят мусор уже неделю, контейнеры переполнены",
         .topic = "waste",
         .municipality = "sayanogorsk",
         .posted_at = 7},
        {.id = "vk:9",
         .text = "Прорвало трубу, топит подвал дома на Ленина 5",
         .municipality = NULL,
         .posted_at = 8},
        {.id = "vk:10",
         .text = "Продам диван",
         .topic = "other",
         .municipality = "abakan",
         .not_incident = true,
         .score = 0.1,
         .posted_at = 9},
        {.id = "vk:11",
         .text = "Контейнеры переполнены, мусор не вывозят неделю, во дворе",
         .topic = "waste",
         .municipality = "sayanogorsk",
         .urgency = "high",
         .posted_at = 10},
        {.id = "vk:5",
         .text = road,
         .topic = "roads",
         .municipality = "chernogorsk",
         .address = "Черногорск, ул. Пушкина, 10",
         .posted_at = 4},
        {.id = "vk:2",
         .revision = 2,
         .text = "исправленный текст",
         .municipality = "abakan",
         .author = "c2",
         .posted_at = 1},
        {.id = "vk:12",
         .text = heat1,
         .municipality = "chernogorsk",
         .score = 0.5,
         .posted_at = 11},
        {.id = "vk:13",
         .text = "Нет света во всём квартале",
         .topic = "housing",
         .municipality = "abakan",
         .posted_at = 12},
        {.id = "vk:13",
         .revision = 2,
         .text = "Нет света во всём квартале, второй день",
         .topic = "housing",
         .municipality = "abakan",
         .posted_at = 12},
        {.id = "vk:14",
         .text = "Нет света во всём квартале уже второй день",
         .topic = "housing",
         .municipality = "abakan",
         .posted_at = 13},
};

static void test_batch_same_end_state_as_one_by_one(void **state_)
{
	(void)state_;
	core.now = core_time(120);
	struct intake_counts c, one;
	store_timed(before, sizeof(before) / sizeof(before[0]), true, NULL);
	store_timed(mixed, sizeof(mixed) / sizeof(mixed[0]), true, &one);
	char *one_by_one = state();

	core_reset(&core);
	store_timed(before, sizeof(before) / sizeof(before[0]), false, NULL);
	store_timed(mixed, sizeof(mixed) / sizeof(mixed[0]), false, &c);
	char *batched = state();
	core.now = 0;
	assert_string_equal(batched, one_by_one);
	assert_memory_equal(&c, &one, sizeof(c));
	/* And the batch did what the comment above says. */
	assert_int_equal(c.replayed, 1);
	assert_int_equal(c.raised, 2); /* the fifth citizen; a high report */
	assert_int_equal(c.joined, 4); /* vk:6, vk:7 (address), vk:11, vk:14 */
	assert_int_equal(c.opened, 4); /* vk:8, vk:9, vk:12, vk:13 */
	assert_int_equal(c.moderated, 2);
	free(one_by_one);
	free(batched);
}

/* The same new problem told by several citizens in one batch is one incident. */
static void test_batch_groups_a_new_problem(void **state_)
{
	(void)state_;
	struct report_spec r[6];
	char ids[6][24], authors[6][24];
	citizens(r, ids, authors, 6, 1);
	struct intake_counts c = core_store(&core, r, 6);
	assert_int_equal(c.opened, 1);
	assert_int_equal(c.joined, 5);
	assert_int_equal(c.raised, 1); /* the fifth citizen, in the same batch */
	assert_int_equal(incidents(), 1);
	assert_int_equal(
	        core_int(&core, "SELECT reports * 10 + affected FROM assigner.incidents", NULL),
	        66);
	/* created, assigned, assigned again (high): each event lists the reports it had then. */
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.outbox WHERE"
	                          " jsonb_array_length(event->'reports') ="
	                          " CASE type WHEN 'incident.created' THEN 1"
	                          "  WHEN 'incident.assigned' THEN (CASE WHEN event->'incident'->>"
	                          "  'urgency' = 'high' THEN 5 ELSE 1 END) END",
	                          NULL),
	                 3);
}

/* A replayed batch changes nothing: the whole state is the same, row for row. */
static void test_batch_replayed_changes_nothing(void **state_)
{
	(void)state_;
	struct intake_counts c;
	store_timed(before, sizeof(before) / sizeof(before[0]), false, NULL);
	store_timed(mixed, sizeof(mixed) / sizeof(mixed[0]), false, NULL);
	char *first = state();
	store_timed(mixed, sizeof(mixed) / sizeof(mixed[0]), false, &c);
	char *again = state();
	assert_string_equal(again, first);
	assert_int_equal(c.replayed, sizeof(mixed) / sizeof(mixed[0]));
	free(first);
	free(again);
}

/* A replica of the intake: its own connection and stemmer, storing one batch on a thread. */
struct replica {
	const struct report_spec *specs;
	size_t n;
	pthread_barrier_t *start; /* or NULL */
	int rc;
	char err[512];
};

static void *replica_run(void *arg)
{
	struct replica *rp = arg;
	struct db *db = db_connect(testdb_url(), 10000, NULL, rp->err, sizeof(rp->err));
	struct grouping *g = grouping_new(rp->err, sizeof(rp->err));
	struct classified *r = xcalloc(rp->n, sizeof(*r));
	for (size_t i = 0; i < rp->n; i++)
		core_classified(&rp->specs[i], &r[i]);
	struct intake_counts c = {0};
	if (rp->start)
		pthread_barrier_wait(rp->start);
	rp->rc = db && g ? intake_store(db, g, &core.env, &core.settings, r, rp->n, time_now_ms(),
	                                &c, rp->err, sizeof(rp->err))
	                 : -1;
	for (size_t i = 0; i < rp->n; i++)
		classified_clear(&r[i]);
	free(r);
	grouping_free(g);
	db_free(db);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/*
 * An operator's change to an incident between the batch's reading it and its writing it: the
 * batch fails as a whole (nothing of it stays) and its retry sees the change.
 */
static void test_incident_changed_meanwhile_fails_the_batch(void **state_)
{
	(void)state_;
	struct report_spec first = {.id = "vk:1", .text = heat1, .municipality = "abakan"};
	struct report_spec second = {
	        .id = "vk:2", .text = heat2, .municipality = "abakan", .posted_at = core_time(5)};
	core_store(&core, &first, 1);
	char err[512];
	struct db *op = db_connect(testdb_url(), 10000, NULL, err, sizeof(err));
	assert_non_null(op);
	assert_int_equal(db_begin(op, err, sizeof(err)), 0);
	assert_int_equal(db_run(op,
	                        "UPDATE assigner.incidents SET address = 'Абакан, Щетинкина 18'"
	                        " WHERE id = 1",
	                        0, NULL, err, sizeof(err)),
	                 0);
	struct replica rp = {.specs = &second, .n = 1};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, replica_run, &rp), 0);
	sleep_ms(500); /* the batch has read the incident and waits to write it */
	assert_int_equal(db_commit(op, err, sizeof(err)), 0);
	pthread_join(t, NULL);
	db_free(op);
	assert_int_equal(rp.rc, -1);
	assert_non_null(strstr(rp.err, "changed while it was deciding"));
	assert_int_equal(core_int(&core, "SELECT count(*) FROM assigner.reports", NULL), 1);
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM assigner.audit WHERE action ="
	                          " 'joined'",
	                          NULL),
	                 0);

	struct intake_counts c = core_store(&core, &second, 1); /* the pipeline's retry */
	assert_int_equal(c.joined, 1);
	char *address = core_text(&core, "SELECT address FROM assigner.incidents", NULL);
	assert_string_equal(address, "Абакан, Щетинкина 18");
	free(address);
	assert_int_equal(core_int(&core, "SELECT reports FROM assigner.incidents", NULL), 2);
}

/*
 * Two replicas storing reports of the same problems at the same time: each problem is one
 * incident (the key locks make the second batch see what the first opened).
 */
static void test_two_replicas_open_each_problem_once(void **state_)
{
	(void)state_;
	static const char *const munis[] = {"abakan", "chernogorsk", "sayanogorsk"};
	static const char *const words[] = {"отопление", "яма",     "мусор",  "лифт",  "крыша",
	                                    "светофор",  "автобус", "подвал", "забор", "фонарь"};
	enum { PROBLEMS = 30, EACH = 4, N = PROBLEMS * EACH };
	static struct report_spec r[2][N / 2];
	static char ids[N][24], texts[PROBLEMS][160], authors[N][24];
	size_t k[2] = {0, 0};
	for (int p = 0; p < PROBLEMS; p++)
		/* Problems share a word at most: never similar enough to be one (Dice < 0.3). */
		snprintf(texts[p], sizeof(texts[p]), "%s: %d, %d, %d", words[p % 10], 100 + p,
		         1000 + p, 5000 + p);
	for (int i = 0; i < N; i++) {
		int p = i % PROBLEMS, side = i / PROBLEMS % 2;
		snprintf(ids[i], sizeof(ids[i]), "vk:%d", i + 1);
		snprintf(authors[i], sizeof(authors[i]), "c%d", i);
		r[side][k[side]++] = (struct report_spec){.id = ids[i],
		                                          .text = texts[p],
		                                          .municipality = munis[p % 3],
		                                          .author = authors[i],
		                                          .posted_at = core_time(i)};
	}
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 2);
	struct replica rp[2] = {{.specs = r[0], .n = N / 2, .start = &start},
	                        {.specs = r[1], .n = N / 2, .start = &start}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, replica_run, &rp[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < 2; i++)
		if (rp[i].rc < 0)
			fail_msg("replica %d: %s", i, rp[i].err);
	assert_int_equal(core_int(&core, "SELECT count(*) FROM assigner.reports", NULL), N);
	/* No problem's reports are split over two incidents. */
	assert_int_equal(core_int(&core,
	                          "SELECT count(*) FROM (SELECT text FROM assigner.reports"
	                          " GROUP BY text HAVING count(DISTINCT incident_id) > 1) s",
	                          NULL),
	                 0);
	assert_int_equal(
	        core_int(&core, "SELECT count(*) FROM assigner.incidents", NULL),
	        core_int(&core, "SELECT count(DISTINCT text) FROM assigner.reports", NULL));
}

/*
 * A figure, not a timed assertion: reports per second through intake_store in batches of 500,
 * over 13 municipalities x 4 topics, four reports a problem (printed).
 */
static void test_throughput_figure(void **state)
{
	(void)state;
	static const char *const munis[] = {
	        "abakan",     "chernogorsk",   "sayanogorsk", "abaza",     "sorsk",
	        "altaysky",   "askizsky",      "beysky",      "bogradsky", "ordzhonikidzevsky",
	        "tashtypsky", "ust_abakansky", "shirinsky"};
	static const char *const topics[] = {"housing", "roads", "waste", "transport"};
	static const char *const words[] = {
	        "отопление", "батареи",  "вода",   "канализация", "свет",     "яма",
	        "асфальт",   "светофор", "мусор",  "контейнер",   "автобус",  "маршрут",
	        "остановка", "подъезд",  "крыша",  "лифт",        "двор",     "площадка",
	        "снег",      "наледь",   "собаки", "школа",       "больница", "аптека",
	        "дорога",    "тротуар",  "фонарь", "забор",       "парковка", "газ",
	        "труба",     "колодец",  "подвал", "окна",        "сосульки", "горка",
	        "шум",       "запах",    "дым",    "пожар"};
	enum { N = 2000, BATCH = 500 };
	static struct report_spec r[N];
	static char ids[N][24], texts[N][160], authors[N][24];
	for (int i = 0; i < N; i++) {
		int p = i / 4; /* the problem: the same three of 40 words and a number */
		snprintf(ids[i], sizeof(ids[i]), "vk:%d", i);
		snprintf(authors[i], sizeof(authors[i]), "a%d", i % 700);
		snprintf(texts[i], sizeof(texts[i]), "%s %s %s %d", words[p % 40],
		         words[(p / 40 + 13) % 40], words[(p / 7 + 29) % 40], p);
		r[i] = (struct report_spec){.id = ids[i],
		                            .text = texts[i],
		                            .municipality = munis[p % 13],
		                            .topic = topics[p / 13 % 4],
		                            .author = authors[i],
		                            .posted_at = core_time(i)};
	}
	int64_t t0 = time_mono_ms();
	for (int i = 0; i < N; i += BATCH)
		core_store(&core, r + i, BATCH);
	double secs = (double)(time_mono_ms() - t0) / 1000.0;
	printf("intake: %d reports into %lld incidents in %.2f s, %.0f reports/s\n", N,
	       (long long)incidents(), secs, N / secs);
	assert_int_equal(core_int(&core, "SELECT count(*) FROM assigner.reports", NULL), N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_opens_routes_and_sets_deadlines, core_reset_test),
	        cmocka_unit_test_setup(test_related_reports_join_one_incident, core_reset_test),
	        cmocka_unit_test_setup(test_unrelated_reports_open_their_own, core_reset_test),
	        cmocka_unit_test_setup(test_same_address_joins, core_reset_test),
	        cmocka_unit_test_setup(test_affected_citizens_raise_urgency, core_reset_test),
	        cmocka_unit_test_setup(test_high_report_raises_urgency, core_reset_test),
	        cmocka_unit_test_setup(test_doubtful_incidents_wait_in_moderation, core_reset_test),
	        cmocka_unit_test_setup(test_non_incidents_kept_for_statistics, core_reset_test),
	        cmocka_unit_test_setup(test_replay_changes_nothing, core_reset_test),
	        cmocka_unit_test_setup(test_batch_same_end_state_as_one_by_one, core_reset_test),
	        cmocka_unit_test_setup(test_batch_groups_a_new_problem, core_reset_test),
	        cmocka_unit_test_setup(test_batch_replayed_changes_nothing, core_reset_test),
	        cmocka_unit_test_setup(test_incident_changed_meanwhile_fails_the_batch,
	                               core_reset_test),
	        cmocka_unit_test_setup(test_two_replicas_open_each_problem_once, core_reset_test),
	        cmocka_unit_test_setup(test_throughput_figure, core_reset_test),
	};
	return cmocka_run_group_tests(tests, core_group_setup, core_group_teardown);
}
