/*
 * The notifier's channels against demo-sources, the fakes `make run` points it at: an answer
 * under a VK post (wall.createComment) and in a Telegram chat (sendMessage with
 * reply_to_message_id), and a webhook to the demo's receiver, which accepts only a valid
 * signature; each listed by /control/published and counted in /control/stats. So the local
 * stack's chain works as the real APIs' would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "fetch.h"
#include "http_client.h"
#include "support.h"
#include "testenv.h"
#include "testproc.h"

static struct testproc demo;
static struct channel_config cfg;
static char base[64], vk_url[96], tg_url[96], hook[128];

static int setup(void **state)
{
	(void)state;
	const char *bin = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	const char *work = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	char path[512], log[512], port_s[16];
	int port = testenv_free_port();
	snprintf(path, sizeof(path), "%s/demo-sources", bin);
	snprintf(log, sizeof(log), "%s/notifier-demo-sources.log", work);
	snprintf(port_s, sizeof(port_s), "%d", port);
	char *const argv[] = {path,
	                      "--port",
	                      port_s,
	                      "--posts",
	                      "deploy/demo/khakassia_posts.ndjson",
	                      "--webhook-secret",
	                      "demo-secret",
	                      NULL};
	fetch_global_init();
	testproc_start(&demo, path, argv, NULL, log);
	testproc_wait_http(&demo, port, "/healthz", 20000);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	snprintf(vk_url, sizeof(vk_url), "%s/vk/method", base);
	snprintf(tg_url, sizeof(tg_url), "%s/telegram", base);
	snprintf(hook, sizeof(hook), "%s/webhook/abakan_gkh", base);
	cfg = (struct channel_config){.vk_api_url = vk_url,
	                              .vk_token = "demo-vk-token",
	                              .vk_version = "5.199",
	                              .telegram_api_url = tg_url,
	                              .telegram_token = "demo-telegram-token",
	                              .webhook_secret = "demo-secret",
	                              .timeout_ms = 5000};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testproc_stop(&demo, SIGTERM, 5000);
	return 0;
}

static json_t *control(const char *what)
{
	char url[128], err[256];
	struct http_client_response r;
	snprintf(url, sizeof(url), "%s/control/%s", base, what);
	if (http_get(url, &r, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	json_t *j = json_loads(r.body, 0, NULL);
	http_client_response_clear(&r);
	return j;
}

static void send(const char *channel, json_t *payload, struct send_result *r)
{
	channel_send(&cfg, channel, "demo-ev|x|y", payload, r);
	json_decref(payload);
}

static void test_published_answers(void **state)
{
	(void)state;
	struct send_result r;
	send(CHANNEL_VK_REPLY,
	     json_pack("{s:s, s:s, s:s}", "owner_id", "-170000001", "post_id", "12", "text",
	               "Ответ: бригада выехала"),
	     &r);
	assert_int_equal(r.outcome, SEND_OK);
	assert_true(strncmp(r.link, "https://vk.com/wall-170000001_12?reply=", 39) == 0);
	send(CHANNEL_TELEGRAM_REPLY,
	     json_pack("{s:s, s:i, s:s}", "chat_id", "-1001500600700", "reply_to_message_id", 3,
	               "text", "Ответ в чате"),
	     &r);
	assert_int_equal(r.outcome, SEND_OK);
	assert_true(strncmp(r.link, "https://t.me/c/1500600700/", 26) == 0);

	/* A wrong token is refused as the real APIs refuse it: permanently. */
	cfg.vk_token = "stolen";
	send(CHANNEL_VK_REPLY,
	     json_pack("{s:s, s:s, s:s}", "owner_id", "-1", "post_id", "2", "text", "x"), &r);
	cfg.vk_token = "demo-vk-token";
	assert_int_equal(r.outcome, SEND_PERMANENT);
	send(CHANNEL_TELEGRAM, json_pack("{s:s, s:s}", "chat_id", "1", "text", ""), &r);
	assert_int_equal(r.outcome, SEND_PERMANENT);

	json_t *all = control("published");
	json_t *pub = json_object_get(all, "published");
	assert_int_equal(json_array_size(pub), 2);
	json_t *vk = json_array_get(pub, 0), *tg = json_array_get(pub, 1);
	assert_string_equal(jstr(vk, "api"), "vk");
	assert_string_equal(jstr(vk, "post_id"), "12");
	assert_string_equal(jstr(vk, "message"), "Ответ: бригада выехала");
	assert_string_equal(jstr(tg, "api"), "telegram");
	assert_int_equal(json_integer_value(json_object_get(tg, "reply_to_message_id")), 3);
	json_decref(all);
}

static void test_webhook_receiver(void **state)
{
	(void)state;
	struct send_result r;
	json_t *payload = json_pack("{s:s, s:{s:s, s:s, s:s, s:i}}", "url", hook, "event", "schema",
	                            "incident_event.v1", "event_id", "demo:1", "type",
	                            "incident.assigned", "incident_id", 5);
	channel_send(&cfg, CHANNEL_WEBHOOK, "demo:1|webhook|x", payload, &r);
	assert_int_equal(r.outcome, SEND_OK);
	cfg.webhook_secret = "wrong-secret";
	channel_send(&cfg, CHANNEL_WEBHOOK, "demo:1|webhook|x", payload, &r);
	cfg.webhook_secret = "demo-secret";
	assert_int_equal(r.outcome, SEND_PERMANENT);
	json_decref(payload);

	json_t *all = control("published");
	json_t *pub = json_object_get(all, "published");
	json_t *last = json_array_get(pub, json_array_size(pub) - 1);
	assert_string_equal(jstr(last, "api"), "webhook");
	assert_string_equal(jstr(last, "event_id"), "demo:1");
	assert_string_equal(jstr(last, "name"), "abakan_gkh");
	json_decref(all);
	json_t *stats = control("stats");
	assert_int_equal(json_integer_value(json_object_get(stats, "webhook.abakan_gkh")), 2);
	assert_int_equal(json_integer_value(json_object_get(stats, "vk.wall.createComment")), 2);
	json_decref(stats);
}

/* A clean exit (and, under the sanitizers, no leak) after what the notifier sent. */
static void test_sigterm(void **state)
{
	(void)state;
	assert_int_equal(testproc_stop(&demo, SIGTERM, 5000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_published_answers),
	        cmocka_unit_test(test_webhook_receiver),
	        cmocka_unit_test(test_sigterm),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
