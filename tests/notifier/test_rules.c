/*
 * Which event notifies whom, and what they read: the default mapping of event types to
 * roles and channels, NOTIFY_RULES overriding it (and its errors naming the bad entry), the
 * Russian notices (what, where, how many, deadline in the region's time, link), the answer as
 * published to citizens, and the pure parts of the worker: backoff with jitter and the
 * Telegram rate limiter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "incident_event.h"
#include "ratelimit.h"
#include "rules.h"
#include "support.h"
#include "templates.h"
#include "worker.h"

#define KHAKASSIA 420

static void decode(json_t *obj, struct incident_event *ev)
{
	struct field_error fe;
	if (incident_event_decode(obj, ev, &fe) < 0)
		fail_msg("sample event does not decode: %s: %s", fe.field, fe.message);
	json_decref(obj);
}

/* Plans `type` under `spec` and returns "channel:recipient:role" lines, sorted by plan order. */
static char *plan_of(const char *spec, const char *type)
{
	struct notify_rules r;
	struct incident_event ev = {0};
	struct plan p = {0};
	char err[256];
	static char out[2048];

	assert_int_equal(notify_rules_parse(spec, NULL, &r, err, sizeof(err)), 0);
	decode(sample_event("e1", type, 42, "gkh@abakan.example", "http://hooks.example"), &ev);
	notify_plan(&r, &ev, KHAKASSIA, &p);
	out[0] = '\0';
	for (size_t i = 0; i < p.n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s:%s:%s", i ? " " : "",
		         p.items[i].channel, p.items[i].recipient, p.items[i].role);
	plan_clear(&p);
	incident_event_clear(&ev);
	return out;
}

static void test_default_mapping(void **state)
{
	(void)state;
	const char *authority = "email:gkh@abakan.example:authority "
	                        "telegram:-100200300:authority "
	                        "webhook:http://hooks.example/hook/gkh:authority";
	assert_string_equal(plan_of(NULL, "incident.assigned"), authority);
	assert_string_equal(plan_of(NULL, "incident.reminder"), authority);
	char both[1024];
	snprintf(both, sizeof(both), "%s email:admin@abakan.example:parent telegram:-100999:parent",
	         authority);
	assert_string_equal(plan_of(NULL, "incident.overdue"), both);
	assert_string_equal(plan_of(NULL, "incident.escalated"), both);
	snprintf(both, sizeof(both), "%s email:prev@chernogorsk.example:previous", authority);
	assert_string_equal(plan_of(NULL, "incident.reassigned"), both);
	/* The answer goes to the threads it can be posted in: VK and Telegram, not RSS. */
	assert_string_equal(plan_of(NULL, "incident.responded"),
	                    "vk_reply:-170000001_4512:citizens "
	                    "telegram_reply:-1001234/77:citizens");
	assert_string_equal(plan_of(NULL, "incident.created"), "");
	assert_string_equal(plan_of(NULL, "incident.resolved"), "");
}

static void test_rules_override(void **state)
{
	(void)state;
	assert_string_equal(plan_of("incident.reminder=", "incident.reminder"), "");
	assert_string_equal(plan_of("resolved=authority", "incident.assigned"),
	                    plan_of(NULL, "incident.assigned"));
	assert_string_equal(plan_of("incident.overdue=parent", "incident.overdue"),
	                    "email:admin@abakan.example:parent telegram:-100999:parent");

	struct notify_rules r;
	char err[256];
	assert_int_equal(
	        notify_rules_parse("incident.nonsense=authority", NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NOTIFY_RULES"));
	assert_non_null(strstr(err, "incident.nonsense"));
	assert_int_equal(notify_rules_parse("assigned=authority|boss", NULL, &r, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "\"boss\""));
	assert_int_equal(notify_rules_parse("assigned", NULL, &r, err, sizeof(err)), -1);
	/* "subscriber" is not a role a type can be given: subscribers get every type. */
	assert_int_equal(notify_rules_parse("assigned=subscriber", NULL, &r, err, sizeof(err)), -1);
	assert_int_equal(notify_rules_parse(NULL, "ftp://x", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "WEBHOOK_SUBSCRIBERS"));
	notify_rules_free(&r);
}

/* Subscribers get every event, whatever its type, on top of its own recipients. */
static void test_subscribers(void **state)
{
	(void)state;
	struct notify_rules r;
	struct incident_event ev = {0};
	struct plan p = {0};
	char err[128];
	assert_int_equal(notify_rules_parse(NULL, "http://cur.example/all, https://b.example/x", &r,
	                                    err, sizeof(err)),
	                 0);
	decode(sample_event("s1", "incident.created", 9, "a@b.c", "http://h"), &ev);
	notify_plan(&r, &ev, KHAKASSIA, &p);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.items[0].channel, "webhook");
	assert_string_equal(p.items[0].recipient, "http://cur.example/all");
	assert_string_equal(p.items[0].role, "subscriber");
	assert_string_equal(p.items[1].recipient, "https://b.example/x");
	assert_string_equal(jstr(json_object_get(p.items[1].payload, "event"), "type"),
	                    "incident.created");
	plan_clear(&p);
	incident_event_clear(&ev);
	notify_rules_free(&r);
}

static void test_payloads(void **state)
{
	(void)state;
	struct notify_rules r;
	struct incident_event ev = {0};
	struct plan p = {0};
	char err[64];

	notify_rules_parse(NULL, NULL, &r, err, sizeof(err));
	decode(sample_event("e2", "incident.assigned", 42, "GKH@Abakan.example", "http://h"), &ev);
	notify_plan(&r, &ev, KHAKASSIA, &p);
	assert_int_equal(p.n, 3);
	/* The key is case-folded, the address kept as the authority wrote it. */
	assert_string_equal(p.items[0].recipient, "gkh@abakan.example");
	assert_string_equal(jstr(p.items[0].payload, "to"), "GKH@Abakan.example");
	assert_non_null(strstr(jstr(p.items[0].payload, "subject"), "№42"));
	assert_string_equal(jstr(p.items[1].payload, "chat_id"), "-100200300");
	assert_non_null(strstr(jstr(p.items[1].payload, "text"), "Щетинкина"));
	/* The webhook carries the whole event, as the schema documents it. */
	json_t *event = json_object_get(p.items[2].payload, "event");
	assert_string_equal(jstr(event, "schema"), "incident_event.v1");
	assert_string_equal(jstr(event, "event_id"), "e2");
	assert_string_equal(jstr(event, "type"), "incident.assigned");
	plan_clear(&p);
	incident_event_clear(&ev);

	decode(sample_event("e3", "incident.responded", 42, "a@b.c", "http://h"), &ev);
	notify_plan(&r, &ev, KHAKASSIA, &p);
	assert_int_equal(p.n, 2);
	assert_string_equal(jstr(p.items[0].payload, "owner_id"), "-170000001");
	assert_string_equal(jstr(p.items[0].payload, "post_id"), "4512");
	assert_string_equal(jstr(p.items[1].payload, "chat_id"), "-1001234");
	assert_int_equal(
	        json_integer_value(json_object_get(p.items[1].payload, "reply_to_message_id")), 77);
	assert_non_null(strstr(jstr(p.items[1].payload, "text"), "Отопление восстановлено"));
	plan_clear(&p);
	incident_event_clear(&ev);

	/* A citizen's VK comment is answered under it; numeric ids are taken as text. */
	json_t *obj = sample_event("e3b", "incident.responded", 42, "a@b.c", "http://h");
	json_t *vk = json_object_get(json_array_get(json_object_get(obj, "reports"), 0), "thread");
	json_object_set_new(vk, "owner_id", json_integer(-170000001));
	json_object_set_new(vk, "comment_id", json_string("4520"));
	decode(obj, &ev);
	notify_plan(&r, &ev, KHAKASSIA, &p);
	assert_string_equal(p.items[0].recipient, "-170000001_4512#4520");
	assert_string_equal(jstr(p.items[0].payload, "owner_id"), "-170000001");
	assert_string_equal(jstr(p.items[0].payload, "comment_id"), "4520");
	plan_clear(&p);
	incident_event_clear(&ev);
}

static void test_notice_content(void **state)
{
	(void)state;
	struct incident_event ev = {0};
	struct notice n = {0};

	decode(sample_event("e4", "incident.assigned", 42, "a@b.c", "http://h"), &ev);
	template_notice(&ev, NOTIFY_AUTHORITY, KHAKASSIA, &n);
	assert_string_equal(n.subject, "Вам назначено обращение №42: Третий день нет отопления в "
	                               "доме по ул. Щетинкина 18,…");
	assert_non_null(strstr(n.body, "Что: Третий день нет отопления"));
	assert_non_null(strstr(n.body, "Где: Абакан, ул. Щетинкина, 18\n"));
	assert_non_null(strstr(n.body, "Сколько жителей обратились: 3 (сообщений: 3)"));
	assert_non_null(strstr(n.body, "Срочность: высокая"));
	/* 07:15 UTC is 14:15 in Abakan. */
	assert_non_null(strstr(n.body, "Срок первого ответа: 28.11.2026 14:15 (UTC+07:00)"));
	assert_non_null(strstr(n.body, "Срок окончательного ответа: 03.12.2026 10:15 (UTC+07:00)"));
	assert_non_null(strstr(n.body, "Ссылка: http://127.0.0.1:8083/v1/incidents/42"));
	assert_null(strstr(n.body, "(null)"));
	notice_clear(&n);
	incident_event_clear(&ev);

	/* A summary of several lines makes a one-line subject. */
	json_t *lines = sample_event("e4b", "incident.assigned", 43, "a@b.c", "http://h");
	json_object_set_new(json_object_get(lines, "incident"), "summary",
	                    json_string("Наледь на Луговой\nВода во дворах"));
	decode(lines, &ev);
	template_notice(&ev, NOTIFY_AUTHORITY, KHAKASSIA, &n);
	assert_string_equal(n.subject,
	                    "Вам назначено обращение №43: Наледь на Луговой Вода во дворах");
	notice_clear(&n);
	incident_event_clear(&ev);

	decode(sample_event("e5", "incident.overdue", 42, "a@b.c", "http://h"), &ev);
	template_notice(&ev, NOTIFY_PARENT, KHAKASSIA, &n);
	assert_non_null(strstr(n.subject, "Подведомственный исполнитель просрочил ответ"));
	assert_non_null(strstr(n.body, "Исполнитель: Управление ЖКХ Администрации г. Абакана"));
	notice_clear(&n);
	template_notice(&ev, NOTIFY_AUTHORITY, KHAKASSIA, &n);
	assert_non_null(strstr(n.subject, "Просрочен ответ по обращению №42"));
	notice_clear(&n);
	incident_event_clear(&ev);

	decode(sample_event("e6", "incident.reassigned", 42, "a@b.c", "http://h"), &ev);
	template_notice(&ev, NOTIFY_PREVIOUS, KHAKASSIA, &n);
	assert_non_null(strstr(n.subject, "передано другому исполнителю"));
	assert_non_null(strstr(n.body, "Новый исполнитель: Управление ЖКХ Администрации"));
	notice_clear(&n);
	template_notice(&ev, NOTIFY_AUTHORITY, KHAKASSIA, &n);
	assert_non_null(strstr(n.subject, "Вам передано обращение №42"));
	assert_non_null(strstr(n.body, "Прежний исполнитель: Управление ЖКХ г. Черногорска"));
	notice_clear(&n);
	incident_event_clear(&ev);

	/* An incident with only the required members: no empty lines, no "(null)". */
	json_t *bare = sample_event("e7", "incident.reminder", 7, "a@b.c", "http://h");
	json_t *inc = json_object_get(bare, "incident");
	const char *drop[] = {"summary",  "address",          "municipality_name", "reports",
	                      "affected", "first_answer_due", "final_answer_due",  "url"};
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		json_object_del(inc, drop[i]);
	decode(bare, &ev);
	template_notice(&ev, NOTIFY_AUTHORITY, KHAKASSIA, &n);
	assert_string_equal(n.subject, "Напоминание: истекает срок ответа по обращению №7");
	assert_null(strstr(n.body, "(null)"));
	assert_null(strstr(n.body, "Где:"));
	notice_clear(&n);
	incident_event_clear(&ev);
}

static void test_answer_text(void **state)
{
	(void)state;
	struct incident_event ev = {0};

	decode(sample_event("e8", "incident.responded", 42, "a@b.c", "http://h"), &ev);
	char *text = template_answer(&ev);
	assert_string_equal(text, "Отопление восстановлено 28.11 в 12:00, проведена промывка "
	                          "стояка.\n\n— Управление ЖКХ г. Абакана");
	free(text);
	json_object_set_new(ev.answer, "kind", json_string("interim"));
	text = template_answer(&ev);
	assert_true(strncmp(text, "Промежуточный ответ. ", strlen("Промежуточный ответ. ")) == 0);
	free(text);
	incident_event_clear(&ev);

	char *t = template_time("2026-11-28T20:30:00Z", -180);
	assert_string_equal(t, "28.11.2026 17:30 (UTC-03:00)");
	free(t);
	assert_null(template_time("yesterday", 0));
}

static void test_backoff(void **state)
{
	(void)state;
	unsigned seed = 42;
	for (int attempt = 1; attempt <= 12; attempt++) {
		int64_t full = 1000;
		for (int i = 1; i < attempt && full < 60000; i++)
			full *= 2;
		if (full > 60000)
			full = 60000;
		int64_t lo = full, hi = 0;
		for (int i = 0; i < 200; i++) {
			int64_t d = worker_backoff_ms(1000, 60000, attempt, &seed);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		/* Within [full/2, full], and actually spread out. */
		assert_true(lo >= full / 2);
		assert_true(hi <= full);
		assert_true(hi - lo > full / 10);
	}
}

static void test_ratelimit(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_new(1, 3);
	/* One per second per chat. */
	assert_int_equal(ratelimit_take(rl, "a", 10000), 0);
	assert_int_equal(ratelimit_take(rl, "a", 10100), 900);
	assert_int_equal(ratelimit_take(rl, "a", 11000), 0);
	/* Three per second in all: b and c fit, d waits for the oldest to be a second old. */
	assert_int_equal(ratelimit_take(rl, "b", 11100), 0);
	assert_int_equal(ratelimit_take(rl, "c", 11200), 0);
	assert_int_equal(ratelimit_take(rl, "d", 11300), 700);
	assert_int_equal(ratelimit_take(rl, "d", 12000), 0);
	/* Telegram's retry_after holds the chat. */
	ratelimit_block(rl, "e", 20000);
	assert_int_equal(ratelimit_take(rl, "e", 15000), 5000);
	assert_int_equal(ratelimit_take(rl, "e", 20000), 0);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_default_mapping), cmocka_unit_test(test_rules_override),
	        cmocka_unit_test(test_subscribers),     cmocka_unit_test(test_payloads),
	        cmocka_unit_test(test_notice_content),  cmocka_unit_test(test_answer_text),
	        cmocka_unit_test(test_backoff),         cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
