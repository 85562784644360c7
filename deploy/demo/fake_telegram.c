/*
 * fake_telegram: the Telegram Bot API's getUpdates (https://core.telegram.org/bots/api),
 * answering from the world's visible lines whose channel is "telegram" as Update objects, and
 * sendMessage (POST), through which the notifier reaches authorities and answers citizens:
 * recorded in the world's published list (/control/published).
 *
 * How a demo line becomes an update:
 *   - update_id is the line's rank among the telegram lines + 1 (sequential, as Telegram's);
 *   - message_id counts the messages of its chat (1, 2, ...), as Telegram's do;
 *   - the chat is {"id": community.id, "type": "supergroup", "title": community.name}, or a
 *     "channel" when the line's community says "type":"channel"; a channel's lines are
 *     channel_post updates with sender_chat, a group's are message updates from the author
 *     (a User); a group line whose author has the group's name was sent on behalf of the group
 *     (sender_chat, and "from" the placeholder user GroupAnonymousBot, as Telegram does);
 *   - a comment becomes a reply: reply_to_message is its parent's message (without that
 *     message's own reply_to_message, as the Bot API documents);
 *   - a line with "edit_of":"<id>" is an edited_message (or edited_channel_post): the earlier
 *     message with its original date, the new text and edit_date;
 *   - an empty "text" stands for a message without text (a sticker, say): no "text" member;
 *   - lat/lon are not sent: in Telegram a text message carries no location (a location is a
 *     message of its own, without text).
 *
 * getUpdates honours offset (confirming the updates before it, as Telegram forgets them;
 * a negative offset counts from the end), limit (1-100), timeout (long poll: with nothing new
 * it waits up to min(timeout, 2 s) for new lines) and allowed_updates. Answers are
 * {"ok":true,"result":[...]}, or {"ok":false,"error_code":N,"description":...} with HTTP
 * status N: 401 for a wrong token, 404 for an unknown method, and an injected fault's status
 * (429 with parameters.retry_after, 409, 5xx...).
 */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fake.h"
#include "http.h"
#include "timefmt.h"
#include "xalloc.h"

#define TG_MAX_WAIT_MS 2000
#define TG_ANON_BOT_ID 1087968824 /* GroupAnonymousBot, the "from" of anonymous group admins */

/* Messages the bot sends get ids from their own range, clear of the demo's chats' ones. */
#define TG_SENT_ID_BASE 100000

/* Telegram forgets updates once getUpdates is called with a higher offset. One world per
 * process, so this is process state. */
static pthread_mutex_t confirmed_lock = PTHREAD_MUTEX_INITIALIZER;
static json_int_t confirmed; /* highest update_id confirmed */

static void respond_tg_error(struct http_response *resp, int code, const char *description,
                             json_int_t retry_after)
{
	json_t *body = json_pack("{s:b, s:i, s:s}", "ok", 0, "error_code", code, "description",
	                         description);
	if (retry_after > 0)
		json_object_set_new(body, "parameters",
		                    json_pack("{s:I}", "retry_after", retry_after));
	http_respond_json(resp, code, body);
}

static json_t *user_json(const json_t *author)
{
	const char *name = fake_str(author, "name");
	const char *sp = name ? strchr(name, ' ') : NULL;
	char *first =
	        name ? (sp ? xstrndup(name, (size_t)(sp - name)) : xstrdup(name)) : xstrdup("User");
	json_t *u = json_pack("{s:I, s:b, s:s}", "id", fake_int(fake_str(author, "id"), 1),
	                      "is_bot", 0, "first_name", first);
	if (sp && sp[1])
		json_object_set_new(u, "last_name", json_string(sp + 1));
	free(first);
	return u;
}

/* All updates of the visible lines, in order. */
static json_t *build_updates(struct fake_world *w)
{
	json_t *lines = fake_visible_posts(w);
	json_t *updates = json_array();
	json_t *messages = json_object(); /* line id -> its Message object */
	json_t *counters = json_object(); /* chat id -> messages so far */
	json_int_t rank = 0;
	size_t i;
	json_t *line;

	json_array_foreach(lines, i, line)
	{
		const char *channel = fake_str(line, "channel");
		const json_t *community = json_object_get(line, "community");
		const char *text = fake_str(line, "text");
		const char *edit_of = fake_str(line, "edit_of");

		if (!channel || strcmp(channel, "telegram") != 0)
			continue;
		json_int_t update_id = ++rank;
		if (!text)
			continue;
		if (edit_of) {
			const json_t *orig = json_object_get(messages, edit_of);
			if (!orig)
				continue;
			json_t *msg = json_deep_copy(orig);
			const char *otype = fake_str(json_object_get(msg, "chat"), "type");
			bool channel_chat = otype && strcmp(otype, "channel") == 0;
			json_object_set_new(msg, "text", json_string(text));
			json_object_set_new(msg, "edit_date",
			                    json_integer(fake_post_time(w, line)));
			json_array_append_new(
			        updates,
			        json_pack("{s:I, s:o}", "update_id", update_id,
			                  channel_chat ? "edited_channel_post" : "edited_message",
			                  msg));
			continue;
		}
		const char *chat_id_s = fake_str(community, "id");
		json_int_t chat_id = fake_int(chat_id_s, 0);
		if (!chat_id)
			continue;
		const char *ctype = fake_str(community, "type");
		bool channel_chat = ctype && strcmp(ctype, "channel") == 0;
		const char *title = fake_str(community, "name");
		json_t *chat = json_pack("{s:I, s:s, s:s}", "id", chat_id, "type",
		                         channel_chat ? "channel" : "supergroup", "title",
		                         title ? title : "");
		const char *username = fake_str(community, "username");
		if (username)
			json_object_set_new(chat, "username", json_string(username));

		json_int_t message_id =
		        json_integer_value(json_object_get(counters, chat_id_s)) + 1;
		json_object_set_new(counters, chat_id_s, json_integer(message_id));
		json_t *msg = json_pack("{s:I, s:I, s:o}", "message_id", message_id, "date",
		                        (json_int_t)fake_post_time(w, line), "chat", chat);
		/* An empty line stands for a message without text (a sticker, a photo without a
		 * caption): Telegram sends no "text" then. */
		if (*text)
			json_object_set_new(msg, "text", json_string(text));
		const json_t *author = json_object_get(line, "author");
		const char *aname = fake_str(author, "name");
		bool as_chat = !author || (aname && title && strcmp(aname, title) == 0);
		if (channel_chat) {
			json_object_set(msg, "sender_chat", chat);
			if (!as_chat && aname)
				json_object_set_new(msg, "author_signature", json_string(aname));
		} else if (as_chat) {
			json_object_set(msg, "sender_chat", chat);
			json_object_set_new(msg, "from",
			                    json_pack("{s:i, s:b, s:s, s:s}", "id", TG_ANON_BOT_ID,
			                              "is_bot", 1, "first_name", "Group",
			                              "username", "GroupAnonymousBot"));
		} else {
			json_object_set_new(msg, "from", user_json(author));
		}
		const char *parent = fake_str(line, "parent");
		const json_t *parent_msg = parent ? json_object_get(messages, parent) : NULL;
		if (parent_msg) {
			json_t *reply = json_deep_copy(parent_msg);
			json_object_del(reply, "reply_to_message");
			json_object_set_new(msg, "reply_to_message", reply);
		}
		const char *id = fake_str(line, "id");
		if (id)
			json_object_set(messages, id, msg);
		json_array_append_new(updates,
		                      json_pack("{s:I, s:o}", "update_id", update_id,
		                                channel_chat ? "channel_post" : "message", msg));
	}
	json_decref(counters);
	json_decref(messages);
	json_decref(lines);
	return updates;
}

/* The kind of an update: the name of its one optional member. */
static const char *update_type(const json_t *u)
{
	static const char *const types[] = {"message", "edited_message", "channel_post",
	                                    "edited_channel_post", NULL};
	for (const char *const *t = types; *t; t++)
		if (json_object_get(u, *t))
			return *t;
	return "";
}

/* Updates from `from` on (update_id), at most limit, of the allowed types (NULL: all). */
static json_t *select_updates(const json_t *all, json_int_t from, long limit, const json_t *allowed)
{
	json_t *out = json_array();
	size_t i, k;
	json_t *u, *a;

	json_array_foreach(all, i, u)
	{
		if ((long)json_array_size(out) >= limit)
			break;
		if (json_integer_value(json_object_get(u, "update_id")) < from)
			continue;
		bool ok = !allowed || json_array_size(allowed) == 0;
		json_array_foreach(allowed, k, a)
		{
			if (json_is_string(a) && strcmp(json_string_value(a), update_type(u)) == 0)
				ok = true;
		}
		if (ok)
			json_array_append(out, u);
	}
	return out;
}

static void get_updates(struct fake_world *w, const struct http_request *req,
                        struct http_response *resp)
{
	const char *offset_s = http_request_query(req, "offset");
	json_int_t offset = fake_int(offset_s, 0);
	long limit = (long)fake_int(http_request_query(req, "limit"), 100);
	long timeout = (long)fake_int(http_request_query(req, "timeout"), 0);
	const char *allowed_s = http_request_query(req, "allowed_updates");
	json_t *allowed = NULL;

	if (limit < 1 || limit > 100)
		limit = 100;
	if (allowed_s) {
		json_error_t jerr;
		allowed = json_loads(allowed_s, 0, &jerr);
		if (!json_is_array(allowed)) {
			json_decref(allowed);
			respond_tg_error(resp, 400, "Bad Request: can't parse allowed updates", 0);
			return;
		}
	}

	int64_t deadline =
	        time_mono_ms() +
	        (timeout > 0 ? (timeout * 1000 < TG_MAX_WAIT_MS ? timeout * 1000 : TG_MAX_WAIT_MS)
	                     : 0);
	json_t *result;
	for (;;) {
		json_t *all = build_updates(w);
		json_int_t last = json_integer_value(json_object_get(
		        json_array_get(all, json_array_size(all) - 1), "update_id"));
		json_int_t from;

		pthread_mutex_lock(&confirmed_lock);
		if (offset_s && offset < 0) {
			from = last + offset + 1;
			if (from - 1 > confirmed)
				confirmed = from - 1;
		} else if (offset_s && offset > 0) {
			from = offset;
			if (offset - 1 > confirmed)
				confirmed = offset - 1;
		} else {
			from = confirmed + 1;
		}
		if (from <= confirmed)
			from = confirmed + 1; /* forgotten: never sent again */
		pthread_mutex_unlock(&confirmed_lock);
		result = select_updates(all, from, limit, allowed);
		json_decref(all);
		if (json_array_size(result) > 0 || time_mono_ms() >= deadline)
			break;
		json_decref(result);
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	json_decref(allowed);
	http_respond_json(resp, 200, json_pack("{s:b, s:o}", "ok", 1, "result", result));
}

/*
 * sendMessage (POST, JSON body, as the notifier sends it): chat_id and a non-empty text are
 * required, reply_to_message_id optional. The message is recorded in the world's published
 * list and answered with the Message Telegram returns.
 */
static void send_message(struct fake_world *w, const struct http_request *req,
                         struct http_response *resp)
{
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	json_t *chat = json_object_get(body, "chat_id");
	const char *text = fake_str(body, "text");
	json_t *reply_to = json_object_get(body, "reply_to_message_id");

	if (!json_is_integer(chat) && !(json_is_string(chat) && *json_string_value(chat))) {
		respond_tg_error(resp, 400, "Bad Request: chat_id is empty", 0);
	} else if (!text || !*text) {
		respond_tg_error(resp, 400, "Bad Request: message text is empty", 0);
	} else {
		json_t *item = json_pack("{s:s, s:O, s:s}", "api", "telegram", "chat_id", chat,
		                         "text", text);
		if (json_is_integer(reply_to))
			json_object_set(item, "reply_to_message_id", reply_to);
		json_int_t id = TG_SENT_ID_BASE + fake_publish(w, item);
		json_decref(item);
		json_t *msg = json_pack("{s:I, s:I, s:{s:O, s:s}, s:s}", "message_id", id, "date",
		                        (json_int_t)(time_now_ms() / 1000), "chat", "id", chat,
		                        "type", "supergroup", "text", text);
		if (json_is_integer(reply_to))
			json_object_set_new(msg, "reply_to_message",
			                    json_pack("{s:O}", "message_id", reply_to));
		http_respond_json(resp, 200, json_pack("{s:b, s:o}", "ok", 1, "result", msg));
	}
	json_decref(body);
}

static void telegram_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;
	const char *bot = http_request_param(req, "bot");
	const char *method = http_request_param(req, "method");
	json_t *fault = fake_take_fault(w, "telegram", method ? method : "");

	if (fault) {
		json_int_t status = json_integer_value(json_object_get(fault, "status"));
		json_int_t retry_after = json_integer_value(json_object_get(fault, "retry_after"));
		const char *desc = fake_str(fault, "description");
		char buf[96];
		if (!desc) {
			switch (status) {
			case 401:
				desc = "Unauthorized";
				break;
			case 409:
				desc = "Conflict: can't use getUpdates method while webhook is "
				       "active; "
				       "use deleteWebhook to delete the webhook first";
				break;
			case 429:
				snprintf(buf, sizeof(buf), "Too Many Requests: retry after %lld",
				         (long long)retry_after);
				desc = buf;
				break;
			case 502:
				desc = "Bad Gateway";
				break;
			default:
				desc = status >= 500 ? "Internal Server Error" : "Bad Request";
			}
		}
		json_decref(fault);
		if (status >= 400 && status <= 599) {
			respond_tg_error(resp, (int)status, desc, retry_after);
			return;
		}
	}
	if (!bot || strncmp(bot, "bot", 3) != 0) {
		respond_tg_error(resp, 404, "Not Found", 0);
		return;
	}
	if (!w->tg_token || strcmp(bot + 3, w->tg_token) != 0) {
		respond_tg_error(resp, 401, "Unauthorized", 0);
		return;
	}
	/* Bot API method names are case-insensitive. */
	if (method && strcasecmp(method, "getUpdates") == 0)
		get_updates(w, req, resp);
	else if (method && strcasecmp(method, "sendMessage") == 0 &&
	         strcmp(req->method, "POST") == 0)
		send_message(w, req, resp);
	else
		respond_tg_error(resp, 404, "Not Found", 0);
}

void fake_telegram_routes(struct http_server *srv, struct fake_world *w)
{
	http_server_route(srv, "GET /telegram/{bot}/{method}", telegram_handler, w);
	http_server_route(srv, "POST /telegram/{bot}/{method}", telegram_handler, w);
}
