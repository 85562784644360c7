/*
 * telegram: the Telegram Bot API's sendMessage, for both uses the notifier has: a notice to an
 * authority's chat, and an official answer published as a reply (reply_to_message_id) to the
 * citizen's message in the chat it came from. Plain text, no parse_mode, so nothing in an
 * answer is read as markup.
 *
 * {"ok":true,"result":{"message_id":N}} is sent; {"ok":false,"error_code":429,
 * "parameters":{"retry_after":S}} is temporary with the wait Telegram asks for; other 4xx
 * (chat not found, bot blocked, message to reply to deleted) are permanent.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "fetch.h"
#include "xalloc.h"

void telegram_send(const struct channel_config *cfg, const json_t *payload, struct send_result *r)
{
	json_t *chat = json_object_get(payload, "chat_id");
	const char *text = json_string_value(json_object_get(payload, "text"));
	json_t *reply_to = json_object_get(payload, "reply_to_message_id");
	char err[256];

	if (!cfg->telegram_token || !*cfg->telegram_token) {
		channel_fail(r, SEND_TEMPORARY, "TELEGRAM_BOT_TOKEN is not set");
		return;
	}
	if (!(json_is_string(chat) || json_is_integer(chat)) || !text || !*text) {
		channel_fail(r, SEND_PERMANENT, "payload needs chat_id and text");
		return;
	}
	json_t *req = json_pack("{s:O, s:s}", "chat_id", chat, "text", text);
	if (json_is_integer(reply_to)) {
		json_object_set(req, "reply_to_message_id", reply_to);
		/* The reply must not go out as a loose message if the citizen's one is gone. */
		json_object_set_new(req, "allow_sending_without_reply", json_false());
	}
	char *body = json_dumps(req, JSON_COMPACT);
	char *url = xasprintf("%s/bot%s/sendMessage", cfg->telegram_api_url, cfg->telegram_token);
	const char *headers[] = {"Content-Type: application/json", NULL};
	struct fetch_request fr = {.method = "POST",
	                           .url = url,
	                           .headers = headers,
	                           .body = body,
	                           .body_len = strlen(body),
	                           .timeout_ms = cfg->timeout_ms,
	                           .stop = cfg->stop,
	                           .display_url = "Telegram sendMessage"};
	struct fetch_response resp;

	json_decref(req);
	if (fetch(&fr, &resp, err, sizeof(err)) < 0) {
		channel_fail(r, SEND_TEMPORARY, "%s", err);
		goto out;
	}
	json_t *answer = json_loadb(resp.body, resp.body_len, 0, NULL);
	json_t *result = json_object_get(answer, "result");
	if (resp.status == 200 && json_is_true(json_object_get(answer, "ok")) &&
	    json_is_integer(json_object_get(result, "message_id"))) {
		json_int_t id = json_integer_value(json_object_get(result, "message_id"));
		const char *chat_s = json_is_string(chat) ? json_string_value(chat) : NULL;
		char chat_buf[32];
		if (!chat_s) {
			snprintf(chat_buf, sizeof(chat_buf), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(chat));
			chat_s = chat_buf;
		}
		r->outcome = SEND_OK;
		snprintf(r->remote_id, sizeof(r->remote_id), "%s/%" JSON_INTEGER_FORMAT, chat_s,
		         id);
		/* A supergroup or channel (-100...) has a permanent t.me link to each message. */
		if (strncmp(chat_s, "-100", 4) == 0)
			snprintf(r->link, sizeof(r->link),
			         "https://t.me/c/%s/%" JSON_INTEGER_FORMAT, chat_s + 4, id);
	} else {
		const char *desc = json_string_value(json_object_get(answer, "description"));
		json_t *retry =
		        json_object_get(json_object_get(answer, "parameters"), "retry_after");
		channel_http_failure(r, resp.status == 200 ? 502 : resp.status,
		                     "Telegram sendMessage", desc ? desc : resp.body);
		if (json_is_integer(retry))
			r->retry_after_s = (int)json_integer_value(retry);
		else if (resp.retry_after_s >= 0)
			r->retry_after_s = resp.retry_after_s;
	}
	json_decref(answer);
	fetch_response_clear(&resp);
out:
	free(url);
	free(body);
}
