/*
 * Each channel against a real server on loopback: mail through aiosmtpd (read back from its
 * Maildir: To, the Russian Subject as RFC 2047 words, the base64 body), Telegram sendMessage
 * and VK wall.createComment against local HTTP stand-ins that answer as the APIs do, and a
 * webhook receiver that verifies the HMAC signature itself. And the verdicts the worker acts
 * on: 5xx, 429 (with retry_after), timeouts, refused connections and SMTP 4xx are temporary;
 * other 4xx, VK's permanent error codes and SMTP 5xx are permanent.
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
#include "fetch.h"
#include "support.h"
#include "testenv.h"
#include "timefmt.h"

#define SECRET "test-webhook-secret"

static struct remote *remote;
static struct smtp_server smtp;
static struct channel_config cfg;
static char smtp_url[64], tg_url[128], vk_url[128];

static int setup(void **state)
{
	(void)state;
	fetch_global_init();
	remote = remote_start(SECRET);
	smtp_start(&smtp, "channels-smtp", NULL);
	snprintf(smtp_url, sizeof(smtp_url), "smtp://127.0.0.1:%d", smtp.port);
	snprintf(tg_url, sizeof(tg_url), "%s/telegram", remote_base(remote));
	snprintf(vk_url, sizeof(vk_url), "%s/vk", remote_base(remote));
	cfg = (struct channel_config){.smtp_url = smtp_url,
	                              .smtp_from = "otklik@region.example",
	                              .telegram_api_url = tg_url,
	                              .telegram_token = "123:abc",
	                              .vk_api_url = vk_url,
	                              .vk_token = "vk-token",
	                              .vk_version = "5.199",
	                              .webhook_secret = SECRET,
	                              .timeout_ms = 1500};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remote_stop(remote);
	smtp_stop(&smtp);
	return 0;
}

static void send(const char *channel, json_t *payload, struct send_result *r)
{
	channel_send(&cfg, channel, "ev-1|test|recipient", payload, r);
	json_decref(payload);
}

static json_t *mail(const char *to)
{
	return json_pack("{s:s, s:s, s:s}", "to", to, "subject",
	                 "Вам назначено обращение №42: нет отопления, Абакан, ул. Щетинкина 18 — "
	                 "дети мёрзнут третий день",
	                 "body",
	                 "Вам назначено обращение №42.\n\nЧто: нет отопления\nГде: Абакан, ул. "
	                 "Щетинкина, 18\nСсылка: http://127.0.0.1:8083/v1/incidents/42\n");
}

static void test_email_delivered(void **state)
{
	(void)state;
	struct send_result r;
	send(CHANNEL_EMAIL, mail("gkh@abakan.example"), &r);
	assert_int_equal(r.outcome, SEND_OK);

	json_t *box = smtp_messages(&smtp);
	assert_int_equal(json_array_size(box), 1);
	json_t *m = json_array_get(box, 0);
	assert_string_equal(jstr(m, "to"), "gkh@abakan.example");
	assert_string_equal(jstr(m, "from"), "otklik@region.example");
	assert_string_equal(
	        jstr(m, "subject"),
	        "Вам назначено обращение №42: нет отопления, Абакан, ул. Щетинкина 18 — "
	        "дети мёрзнут третий день");
	/* Properly encoded: the raw header is ASCII encoded words of at most 75 characters. */
	const char *raw = jstr(m, "subject_raw");
	assert_true(strncmp(raw, "=?UTF-8?B?", 10) == 0);
	for (const unsigned char *p = (const unsigned char *)raw; *p; p++)
		assert_true(*p < 128);
	assert_string_equal(jstr(m, "content_type"), "text/plain; charset=UTF-8");
	assert_non_null(strstr(jstr(m, "body"), "Где: Абакан, ул. Щетинкина, 18\n"));
	assert_non_null(strstr(jstr(m, "message_id"), "@notifier.otklik>"));
	json_decref(box);
}

static void test_email_4xx_temporary_5xx_permanent(void **state)
{
	(void)state;
	struct send_result r;
	send(CHANNEL_EMAIL, mail("tempfail1-busy@abakan.example"), &r);
	assert_int_equal(r.outcome, SEND_TEMPORARY);
	assert_non_null(strstr(r.error, "451"));
	/* The server accepts the second attempt. */
	send(CHANNEL_EMAIL, mail("tempfail1-busy@abakan.example"), &r);
	assert_int_equal(r.outcome, SEND_OK);
	assert_int_equal(smtp_attempts(&smtp, "tempfail1-busy@abakan.example"), 2);

	send(CHANNEL_EMAIL, mail("reject-nobody@abakan.example"), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT);
	assert_non_null(strstr(r.error, "550"));

	/* Nobody listening: temporary. */
	char refused[64];
	snprintf(refused, sizeof(refused), "smtp://127.0.0.1:%d", testenv_free_port());
	cfg.smtp_url = refused;
	send(CHANNEL_EMAIL, mail("gkh@abakan.example"), &r);
	cfg.smtp_url = smtp_url;
	assert_int_equal(r.outcome, SEND_TEMPORARY);

	/* A header injection attempt never reaches the server. */
	send(CHANNEL_EMAIL, mail("a@b.c\r\nBcc: victim@x.y"), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT);
}

/* Credentials in SMTP_URL: AUTH against a server that requires it; wrong ones are final
 * (535); requiring STARTTLS from a server that does not offer it fails without sending. */
static void test_email_auth_and_starttls(void **state)
{
	(void)state;
	struct smtp_server authed;
	struct send_result r;
	char url[128];
	smtp_start(&authed, "channels-smtp-auth", "otklik:s3cret");
	snprintf(url, sizeof(url), "smtp://otklik:s3cret@127.0.0.1:%d", authed.port);
	cfg.smtp_url = url;
	send(CHANNEL_EMAIL, mail("gkh@abakan.example"), &r);
	assert_int_equal(r.outcome, SEND_OK);
	snprintf(url, sizeof(url), "smtp://otklik:wrong@127.0.0.1:%d", authed.port);
	send(CHANNEL_EMAIL, mail("gkh@abakan.example"), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT);
	assert_non_null(strstr(r.error, "535"));
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", authed.port);
	send(CHANNEL_EMAIL, mail("gkh@abakan.example"), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT); /* 530: authentication required */
	json_t *box = smtp_messages(&authed);
	assert_int_equal(json_array_size(box), 1);
	json_decref(box);
	smtp_stop(&authed);

	cfg.smtp_url = smtp_url;
	cfg.smtp_starttls = 1;
	send(CHANNEL_EMAIL, mail("tls-only@abakan.example"), &r);
	cfg.smtp_starttls = 0;
	assert_int_equal(r.outcome, SEND_TEMPORARY);
	assert_int_equal(smtp_attempts(&smtp, "tls-only@abakan.example"), 0);
}

static void test_telegram(void **state)
{
	(void)state;
	struct send_result r;
	send(CHANNEL_TELEGRAM, json_pack("{s:s, s:s}", "chat_id", "-100200300", "text", "Привет"),
	     &r);
	assert_int_equal(r.outcome, SEND_OK);
	assert_true(strncmp(r.remote_id, "-100200300/", 11) == 0);
	assert_true(strncmp(r.link, "https://t.me/c/200300/", 22) == 0);
	json_t *reqs = remote_requests(remote, REMOTE_TELEGRAM);
	json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
	assert_string_equal(jstr(last, "path"), "/telegram/bot123:abc/sendMessage");
	assert_string_equal(jstr(json_object_get(last, "body"), "text"), "Привет");
	json_decref(reqs);

	/* The citizen's thread: a reply to their message. */
	send(CHANNEL_TELEGRAM_REPLY,
	     json_pack("{s:s, s:i, s:s}", "chat_id", "-1001234", "reply_to_message_id", 77, "text",
	               "Ответ"),
	     &r);
	assert_int_equal(r.outcome, SEND_OK);
	reqs = remote_requests(remote, REMOTE_TELEGRAM);
	last = json_array_get(reqs, json_array_size(reqs) - 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(last, "body"),
	                                                    "reply_to_message_id")),
	                 77);
	json_decref(reqs);

	remote_script(remote, REMOTE_TELEGRAM, 429, NULL, 0, 7);
	send(CHANNEL_TELEGRAM, json_pack("{s:s, s:s}", "chat_id", "1", "text", "x"), &r);
	assert_int_equal(r.outcome, SEND_TEMPORARY);
	assert_int_equal(r.retry_after_s, 7);

	remote_script(remote, REMOTE_TELEGRAM, 502, "<html>Bad Gateway</html>", 0, 0);
	send(CHANNEL_TELEGRAM, json_pack("{s:s, s:s}", "chat_id", "1", "text", "x"), &r);
	assert_int_equal(r.outcome, SEND_TEMPORARY);

	remote_script(remote, REMOTE_TELEGRAM, 400, NULL, 0, 0);
	send(CHANNEL_TELEGRAM, json_pack("{s:s, s:s}", "chat_id", "1", "text", "x"), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT);
	assert_non_null(strstr(r.error, "chat not found"));

	/* Slower than the deadline: temporary. */
	remote_script(remote, REMOTE_TELEGRAM, 200, NULL, 3000, 0);
	int64_t t0 = time_mono_ms();
	send(CHANNEL_TELEGRAM, json_pack("{s:s, s:s}", "chat_id", "1", "text", "x"), &r);
	assert_int_equal(r.outcome, SEND_TEMPORARY);
	assert_true(time_mono_ms() - t0 < 2900);
}

static void test_vk_reply(void **state)
{
	(void)state;
	struct send_result r;
	send(CHANNEL_VK_REPLY,
	     json_pack("{s:s, s:s, s:s}", "owner_id", "-170000001", "post_id", "4512", "text",
	               "Отопление восстановлено & проверено"),
	     &r);
	assert_int_equal(r.outcome, SEND_OK);
	char want[128];
	snprintf(want, sizeof(want), "https://vk.com/wall-170000001_4512?reply=%s", r.remote_id);
	assert_string_equal(r.link, want);
	json_t *reqs = remote_requests(remote, REMOTE_VK);
	const char *form = jstr(json_array_get(reqs, json_array_size(reqs) - 1), "body");
	assert_non_null(strstr(form, "owner_id=-170000001"));
	assert_non_null(strstr(form, "post_id=4512"));
	assert_non_null(strstr(form, "from_group=170000001"));
	assert_non_null(strstr(form, "access_token=vk-token"));
	assert_non_null(strstr(form, "v=5.199"));
	/* The text is form-encoded: "&" does not cut it. */
	assert_non_null(strstr(form, "%26"));
	json_decref(reqs);

	/* VK's answer and the verdict: error 6 passes with time, 15 does not, a 5xx may. */
	static const struct {
		int status;
		const char *body;
		enum send_outcome want;
	} cases[] = {
	        {200, "{\"error\":{\"error_code\":6,\"error_msg\":\"Too many requests\"}}",
	         SEND_TEMPORARY},
	        {503, NULL, SEND_TEMPORARY},
	        {200, "{\"error\":{\"error_code\":15,\"error_msg\":\"Access denied\"}}",
	         SEND_PERMANENT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		remote_script(remote, REMOTE_VK, cases[i].status, cases[i].body, 0, 0);
		send(CHANNEL_VK_REPLY,
		     json_pack("{s:s, s:s, s:s}", "owner_id", "-1", "post_id", "2", "text", "x"),
		     &r);
		assert_int_equal(r.outcome, cases[i].want);
	}
	assert_non_null(strstr(r.error, "Access denied"));
}

static json_t *hook_payload(const char *url)
{
	return json_pack("{s:s, s:{s:s, s:s, s:s}}", "url", url, "event", "schema",
	                 "incident_event.v1", "event_id", "ev-9", "type", "incident.assigned");
}

static void test_webhook_signed(void **state)
{
	(void)state;
	struct send_result r;
	char url[160];
	snprintf(url, sizeof(url), "%s/hook/gkh", remote_base(remote));
	send(CHANNEL_WEBHOOK, hook_payload(url), &r);
	assert_int_equal(r.outcome, SEND_OK);
	json_t *reqs = remote_requests(remote, REMOTE_WEBHOOK);
	json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
	assert_true(json_is_true(json_object_get(last, "signature_ok")));
	assert_string_equal(jstr(last, "delivery"), "ev-1|test|recipient");
	assert_string_equal(jstr(last, "event"), "incident.assigned");
	assert_string_equal(jstr(json_object_get(last, "body"), "event_id"), "ev-9");
	json_decref(reqs);

	/* Another secret: the receiver refuses (401), which is final. */
	cfg.webhook_secret = "not-the-shared-secret";
	send(CHANNEL_WEBHOOK, hook_payload(url), &r);
	cfg.webhook_secret = SECRET;
	assert_int_equal(r.outcome, SEND_PERMANENT);
	reqs = remote_requests(remote, REMOTE_WEBHOOK);
	assert_false(json_is_true(
	        json_object_get(json_array_get(reqs, json_array_size(reqs) - 1), "signature_ok")));
	json_decref(reqs);

	/* The receiver's answer (a 3 s stall standing for a timeout) and the verdict. */
	static const struct {
		int status, delay_ms;
		enum send_outcome want;
	} cases[] = {{500, 0, SEND_TEMPORARY},
	             {404, 0, SEND_PERMANENT},
	             {429, 0, SEND_TEMPORARY},
	             {200, 3000, SEND_TEMPORARY}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		remote_script(remote, REMOTE_WEBHOOK, cases[i].status, NULL, cases[i].delay_ms, 0);
		send(CHANNEL_WEBHOOK, hook_payload(url), &r);
		assert_int_equal(r.outcome, cases[i].want);
	}

	/* Local runs: every webhook to one receiver, the registered URL named in a header. */
	char redirect[160];
	snprintf(redirect, sizeof(redirect), "%s/hook/local", remote_base(remote));
	cfg.webhook_redirect = redirect;
	send(CHANNEL_WEBHOOK, hook_payload("https://abakan.example/hooks/im"), &r);
	cfg.webhook_redirect = NULL;
	assert_int_equal(r.outcome, SEND_OK);
	reqs = remote_requests(remote, REMOTE_WEBHOOK);
	last = json_array_get(reqs, json_array_size(reqs) - 1);
	assert_string_equal(jstr(last, "path"), "/hook/local");
	assert_string_equal(jstr(last, "original_url"), "https://abakan.example/hooks/im");
	json_decref(reqs);
}

static void test_bad_payloads_permanent(void **state)
{
	(void)state;
	struct send_result r;
	send(CHANNEL_TELEGRAM, json_pack("{s:s}", "text", "no chat"), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT);
	send(CHANNEL_WEBHOOK, json_pack("{s:s, s:{}}", "url", "ftp://x/y", "event"), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT);
	send("pigeon", json_pack("{}"), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT);
	assert_non_null(strstr(r.error, "pigeon"));
	/* Unconfigured: kept for later, not thrown away. */
	cfg.telegram_token = NULL;
	send(CHANNEL_TELEGRAM, json_pack("{s:s, s:s}", "chat_id", "1", "text", "x"), &r);
	cfg.telegram_token = "123:abc";
	assert_int_equal(r.outcome, SEND_TEMPORARY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_email_delivered),
	        cmocka_unit_test(test_email_4xx_temporary_5xx_permanent),
	        cmocka_unit_test(test_email_auth_and_starttls),
	        cmocka_unit_test(test_telegram),
	        cmocka_unit_test(test_vk_reply),
	        cmocka_unit_test(test_webhook_signed),
	        cmocka_unit_test(test_bad_payloads_permanent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
