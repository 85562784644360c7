/*
 * telegram: the Telegram Bot API poller (one source "telegram" per bot token).
 *
 * getUpdates long polling (https://core.telegram.org/bots/api#getupdates) for the groups and
 * channels the bot is a member of: messages and channel posts, and their edits, which become
 * new revisions of the same message (same external id, edits[i] = true). The long poll is the
 * pacing, so the source's interval is 0. The cursor "offset" is the last update_id whose
 * messages intake stored; the next call asks for offset + 1, which also confirms the earlier
 * updates to Telegram. Updates without text or caption (stickers, joins, photos without a
 * caption) are passed over, and the cursor moves past them too.
 *
 * Errors ({"ok":false,"error_code":N,"description":...}): 401 (and 404, Telegram's answer to a
 * malformed token) mean the token is wrong; 409 means a webhook is set or another process
 * polls with the same token; both need an operator. 429 carries parameters.retry_after.
 * 5xx and network failures are retried. The token is part of the URL path and never goes
 * into an error or a log line.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "fetch.h"
#include "message.h"
#include "sources.h"
#include "store.h"
#include "xalloc.h"

#define TG_DEFAULT_API_URL "https://api.telegram.org"
#define TG_LIMIT 100
#define TG_ALLOWED_UPDATES                                                                         \
	"[\"message\",\"edited_message\",\"channel_post\",\"edited_channel_post\"]"

struct tg_impl {
	char *api_url;
	char *token;
	int timeout_s; /* getUpdates timeout */
};

/* Messages of one intake_submit call. */
struct tg_batch {
	struct message *msgs;
	bool *edits;
	size_t n, cap;
};

static void tg_impl_free(void *p)
{
	struct tg_impl *tg = p;

	if (!tg)
		return;
	free(tg->api_url);
	free(tg->token);
	free(tg);
}

/* ---- mapping ------------------------------------------------------------------------------ */

static char *chat_title(const json_t *chat)
{
	const char *title = json_string_value(json_object_get(chat, "title"));
	const char *first = json_string_value(json_object_get(chat, "first_name"));
	const char *last = json_string_value(json_object_get(chat, "last_name"));
	const char *username = json_string_value(json_object_get(chat, "username"));

	if (title && *title)
		return xstrdup(title);
	if (first && last && *last)
		return xasprintf("%s %s", first, last);
	if (first && *first)
		return xstrdup(first);
	if (username && *username)
		return xasprintf("@%s", username);
	return NULL;
}

/* The author: a chat speaking as itself (sender_chat: channels, anonymous group admins),
 * otherwise the user in "from". */
static void set_author(struct message *m, const json_t *msg)
{
	const json_t *sender_chat = json_object_get(msg, "sender_chat");
	const json_t *from = json_object_get(msg, "from");

	if (json_is_object(sender_chat)) {
		m->author_id = xasprintf(
		        "%lld", (long long)json_integer_value(json_object_get(sender_chat, "id")));
		m->author_name = chat_title(sender_chat);
	} else if (json_is_object(from)) {
		m->author_id = xasprintf(
		        "%lld", (long long)json_integer_value(json_object_get(from, "id")));
		const char *first = json_string_value(json_object_get(from, "first_name"));
		const char *last = json_string_value(json_object_get(from, "last_name"));
		const char *username = json_string_value(json_object_get(from, "username"));
		if (first && *first && last && *last)
			m->author_name = xasprintf("%s %s", first, last);
		else if (first && *first)
			m->author_name = xstrdup(first);
		else if (username && *username)
			m->author_name = xasprintf("@%s", username);
	}
}

/* A link to the message: t.me/<username>/<id> for public chats, t.me/c/<id>/<id> for other
 * supergroups and channels (whose ids are -100<id>); basic groups have none. */
static char *message_url(const json_t *chat, json_int_t message_id)
{
	const char *type = json_string_value(json_object_get(chat, "type"));
	const char *username = json_string_value(json_object_get(chat, "username"));
	json_int_t id = json_integer_value(json_object_get(chat, "id"));

	if (!type || (strcmp(type, "supergroup") != 0 && strcmp(type, "channel") != 0))
		return NULL;
	if (username && *username)
		return xasprintf("https://t.me/%s/%lld", username, (long long)message_id);
	if (id <= -1000000000000LL)
		return xasprintf("https://t.me/c/%lld/%lld", (long long)(-id - 1000000000000LL),
		                 (long long)message_id);
	return NULL;
}

static void set_location(struct message *m, const json_t *msg)
{
	const json_t *venue = json_object_get(msg, "venue");
	const json_t *loc = json_object_get(msg, "location");

	if (!json_is_object(loc))
		loc = json_object_get(venue, "location");
	const json_t *lat = json_object_get(loc, "latitude");
	const json_t *lon = json_object_get(loc, "longitude");
	if (json_is_number(lat) && json_is_number(lon)) {
		m->has_coords = true;
		m->lat = json_number_value(lat);
		m->lon = json_number_value(lon);
	}
	const char *addr = json_string_value(json_object_get(venue, "address"));
	if (addr && *addr)
		m->address = xstrdup(addr);
}

/*
 * Fills m from a Message object. kind is "message" or "post". Returns -1 when it has no text
 * or caption (nothing to collect), no usable ids or no usable date.
 */
static int map_message(const json_t *msg, const char *kind, struct message *m)
{
	const json_t *chat = json_object_get(msg, "chat");
	json_int_t chat_id = json_integer_value(json_object_get(chat, "id"));
	json_int_t message_id = json_integer_value(json_object_get(msg, "message_id"));
	const char *text = json_string_value(json_object_get(msg, "text"));
	/* An edit keeps the original "date" and adds "edit_date": the citizen wrote it then. */
	int64_t posted = source_unix_ms(json_integer_value(json_object_get(msg, "date")));

	if (!text || !*text)
		text = json_string_value(json_object_get(msg, "caption"));
	if (!text || !*text || !chat_id || message_id <= 0 || posted < 0)
		return -1;
	memset(m, 0, sizeof(*m));
	m->source = xstrdup("telegram");
	m->external_id = xasprintf("%lld_%lld", (long long)chat_id, (long long)message_id);
	m->kind = xstrdup(kind);
	m->text = xstrdup(text);
	m->posted_at = posted;
	m->url = message_url(chat, message_id);
	set_author(m, msg);
	m->community_id = xasprintf("%lld", (long long)chat_id);
	m->community_name = chat_title(chat);
	set_location(m, msg);

	const json_t *reply = json_object_get(msg, "reply_to_message");
	/* In a forum every message of a topic "replies" to the topic's creation, which is a
	 * service message, not a post anyone commented on. */
	if (json_is_object(reply) && !json_object_get(reply, "forum_topic_created")) {
		json_int_t reply_id = json_integer_value(json_object_get(reply, "message_id"));
		if (reply_id > 0)
			m->parent_id = xasprintf("telegram:%lld_%lld", (long long)chat_id,
			                         (long long)reply_id);
	}
	m->thread = json_pack("{s:I, s:I}", "chat_id", chat_id, "message_id", message_id);
	return 0;
}

/* ---- polling ------------------------------------------------------------------------------ */

static void batch_clear(struct tg_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		message_clear(&b->msgs[i]);
	b->n = 0;
}

static void batch_free(struct tg_batch *b)
{
	batch_clear(b);
	free(b->msgs);
	free(b->edits);
}

/* Submits the batch and empties it. Returns 0, or -1 with res set to RETRY. */
static int batch_flush(struct tg_batch *b, struct source *src, struct source_env *env,
                       struct poll_result *res)
{
	int rc = 0;

	if (b->n == 0)
		return 0;
	struct intake_result *out = xcalloc(b->n, sizeof(*out));
	char err[256];
	if (intake_submit(env->collector, env->db, src->name, b->msgs, b->edits, b->n, out, err,
	                  sizeof(err)) < 0) {
		poll_result_set(res, POLL_RETRY, "store: %.200s", err);
		rc = -1;
	} else {
		res->fetched += (int)b->n;
	}
	free(out);
	batch_clear(b);
	return rc;
}

/* Adds m (taking its contents). A message and its edit in one batch would make the edit a
 * duplicate of the first (store_messages), so a repeated id starts a new batch. */
static int batch_add(struct tg_batch *b, struct message *m, bool edit, struct source *src,
                     struct source_env *env, struct poll_result *res)
{
	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(b->msgs[i].external_id, m->external_id) == 0) {
			if (batch_flush(b, src, env, res) < 0) {
				message_clear(m);
				return -1;
			}
			break;
		}
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->msgs = xrealloc(b->msgs, b->cap * sizeof(*b->msgs));
		b->edits = xrealloc(b->edits, b->cap * sizeof(*b->edits));
	}
	b->msgs[b->n] = *m;
	b->edits[b->n] = edit;
	b->n++;
	memset(m, 0, sizeof(*m));
	return 0;
}

/* Sorts an unsuccessful answer (HTTP status and the {"ok":false} body, if any). */
static void classify_error(long status, const json_t *doc, int retry_after_header,
                           struct poll_result *res)
{
	json_int_t code = json_integer_value(json_object_get(doc, "error_code"));
	const char *desc = json_string_value(json_object_get(doc, "description"));

	if (!code)
		code = status;
	if (!desc)
		desc = "";
	switch (code) {
	case 401:
	case 404:
		poll_result_set(
		        res, POLL_FAILED,
		        "getUpdates: Telegram rejected the bot token (%lld %.100s); set a valid "
		        "TELEGRAM_BOT_TOKEN",
		        (long long)code, desc);
		return;
	case 409:
		poll_result_set(
		        res, POLL_FAILED,
		        "getUpdates: conflict (409 %.100s): a webhook is set for this bot "
		        "(deleteWebhook ends it) or another process polls with the same token",
		        desc);
		return;
	case 429: {
		json_int_t after = json_integer_value(
		        json_object_get(json_object_get(doc, "parameters"), "retry_after"));
		if (after <= 0 && retry_after_header > 0)
			after = retry_after_header;
		poll_result_set(res, POLL_RATE_LIMITED,
		                "getUpdates: too many requests (429 %.100s)", desc);
		res->retry_after_ms = after > 0 && after < 86400 ? (int)after * 1000 : 0;
		return;
	}
	default:
		poll_result_set(res, POLL_RETRY, "getUpdates: HTTP %ld, error %lld %.100s", status,
		                (long long)code, desc);
		return;
	}
}

static void tg_poll(struct source *src, struct source_env *env, struct poll_result *res)
{
	struct tg_impl *tg = src->impl;
	struct fetch_response resp = {0};
	struct tg_batch batch = {0};
	char *value = NULL, err[256];
	long long last = 0;
	json_t *doc = NULL;

	res->status = POLL_OK;
	if (store_cursor_get(env->db, src->name, "offset", &value, err, sizeof(err)) < 0) {
		poll_result_set(res, POLL_RETRY, "cursor offset: %.200s", err);
		return;
	}
	if (value)
		last = strtoll(value, NULL, 10);

	char offset[48] = "";
	if (value)
		snprintf(offset, sizeof(offset), "&offset=%lld", last + 1);
	free(value);
	char *allowed = fetch_escape(TG_ALLOWED_UPDATES);
	char *url = xasprintf("%s/bot%s/getUpdates?timeout=%d&limit=%d&allowed_updates=%s%s",
	                      tg->api_url, tg->token, tg->timeout_s, TG_LIMIT, allowed, offset);
	char *shown = xasprintf("%s/bot<token>/getUpdates", tg->api_url);
	struct fetch_request req = {
	        .url = url,
	        .timeout_ms = (tg->timeout_s + 10) * 1000,
	        .stop = env->stop,
	        .display_url = shown,
	};
	int frc = fetch(&req, &resp, err, sizeof(err));
	free(allowed);
	free(url);
	free(shown);
	if (frc < 0) {
		poll_result_set(res, POLL_RETRY, "%s", err);
		return;
	}

	json_error_t jerr;
	doc = json_loadb(resp.body, resp.body_len, 0, &jerr);
	if (resp.status != 200 || !json_is_true(json_object_get(doc, "ok"))) {
		if (resp.status == 200 && !json_is_object(doc)) {
			poll_result_set(res, POLL_RETRY,
			                "getUpdates: the answer is not a JSON object (%s)",
			                jerr.text);
		} else {
			classify_error(resp.status, doc, resp.retry_after_s, res);
		}
		goto out;
	}
	const json_t *result = json_object_get(doc, "result");
	if (!json_is_array(result)) {
		poll_result_set(res, POLL_RETRY, "getUpdates: the answer has no result array");
		goto out;
	}

	static const struct {
		const char *field, *kind;
		bool edit;
	} types[] = {
	        {"message", "message", false},
	        {"edited_message", "message", true},
	        {"channel_post", "post", false},
	        {"edited_channel_post", "post", true},
	};
	long long max = last;
	size_t i;
	const json_t *update;
	json_array_foreach(result, i, update)
	{
		json_int_t update_id = json_integer_value(json_object_get(update, "update_id"));
		if (update_id > max)
			max = update_id;
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			const json_t *msg = json_object_get(update, types[t].field);
			struct message m;
			if (!json_is_object(msg) || map_message(msg, types[t].kind, &m) < 0)
				continue;
			if (batch_add(&batch, &m, types[t].edit, src, env, res) < 0)
				goto out;
			break;
		}
	}
	if (batch_flush(&batch, src, env, res) < 0)
		goto out;
	if (max > last) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", max);
		if (store_cursor_set(env->db, src->name, "offset", v, err, sizeof(err)) < 0) {
			poll_result_set(res, POLL_RETRY, "cursor offset: %.200s", err);
		}
	}
out:
	batch_free(&batch);
	json_decref(doc);
	fetch_response_clear(&resp);
}

int telegram_sources(const struct telegram_settings *s, struct source_set *set, char *err,
                     size_t errlen)
{
	if (!s->bot_token || !*s->bot_token)
		return 0;

	const char *url = s->api_url && *s->api_url ? s->api_url : TG_DEFAULT_API_URL;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "TELEGRAM_API_URL: \"%.100s\" is not an http(s) URL", url);
		return -1;
	}
	if (strchr(s->bot_token, '/') || strchr(s->bot_token, '?') || strchr(s->bot_token, ' ')) {
		snprintf(err, errlen,
		         "TELEGRAM_BOT_TOKEN: not a bot token (it has '/', '?' or ' ')");
		return -1;
	}
	if (s->poll_timeout_ms < 0 || s->poll_timeout_ms > 600000) {
		snprintf(err, errlen,
		         "TELEGRAM_POLL_TIMEOUT: must be between 0 and 600s, got %lld ms",
		         (long long)s->poll_timeout_ms);
		return -1;
	}

	struct tg_impl *tg = xcalloc(1, sizeof(*tg));
	size_t ulen = strlen(url);
	while (ulen > 0 && url[ulen - 1] == '/')
		ulen--;
	tg->api_url = xstrndup(url, ulen);
	tg->token = xstrdup(s->bot_token);
	tg->timeout_s = (int)((s->poll_timeout_ms + 999) / 1000);

	/* The long poll paces the source; short polling (timeout 0) would spin without a pause. */
	struct source *src = source_new("telegram", tg->timeout_s > 0 ? 0 : 1000);
	src->impl = tg;
	src->poll = tg_poll;
	src->free_impl = tg_impl_free;
	source_set_add(set, src);
	return 0;
}
