/*
 * vk: the official answer published as a comment under the citizen's VK post (VK API
 * wall.createComment, as the community: from_group), replying to the citizen's comment when
 * the report was one, and the comment's link recorded: https://vk.com/wall<owner>_<post>?reply=<id>.
 *
 * VK answers HTTP 200 either way: {"response":{"comment_id":N}} or {"error":{"error_code":C}}.
 * Codes 1 (unknown), 6 (too many requests per second), 9 (flood control), 10 (internal) and
 * 29 (rate limit) pass with time; the others (token, access, deleted post, closed comments)
 * do not.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "fetch.h"
#include "strbuf.h"
#include "xalloc.h"

static bool vk_error_temporary(json_int_t code)
{
	return code == 1 || code == 6 || code == 9 || code == 10 || code == 29;
}

static void add_param(struct strbuf *sb, const char *name, const char *value)
{
	char *v = fetch_escape(value);
	strbuf_addf(sb, "%s%s=%s", sb->len ? "&" : "", name, v);
	free(v);
}

void vk_reply_send(const struct channel_config *cfg, const json_t *payload, struct send_result *r)
{
	const char *owner = json_string_value(json_object_get(payload, "owner_id"));
	const char *post = json_string_value(json_object_get(payload, "post_id"));
	const char *comment = json_string_value(json_object_get(payload, "comment_id"));
	const char *text = json_string_value(json_object_get(payload, "text"));
	struct strbuf form = {0};
	char err[256];

	if (!cfg->vk_token || !*cfg->vk_token) {
		channel_fail(r, SEND_TEMPORARY, "VK_ACCESS_TOKEN is not set");
		return;
	}
	if (!owner || !post || !text || !*text) {
		channel_fail(r, SEND_PERMANENT, "payload needs owner_id, post_id and text");
		return;
	}
	add_param(&form, "owner_id", owner);
	add_param(&form, "post_id", post);
	add_param(&form, "message", text);
	if (owner[0] == '-')
		add_param(&form, "from_group", owner + 1);
	if (comment)
		add_param(&form, "reply_to_comment", comment);
	add_param(&form, "access_token", cfg->vk_token);
	add_param(&form, "v", cfg->vk_version);
	char *url = xasprintf("%s/wall.createComment", cfg->vk_api_url);
	const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	struct fetch_request fr = {.method = "POST",
	                           .url = url,
	                           .headers = headers,
	                           .body = form.buf,
	                           .body_len = form.len,
	                           .timeout_ms = cfg->timeout_ms,
	                           .stop = cfg->stop};
	struct fetch_response resp;

	if (fetch(&fr, &resp, err, sizeof(err)) < 0) {
		channel_fail(r, SEND_TEMPORARY, "%s", err);
		goto out;
	}
	json_t *answer = json_loadb(resp.body, resp.body_len, 0, NULL);
	json_t *id = json_object_get(json_object_get(answer, "response"), "comment_id");
	json_t *error = json_object_get(answer, "error");
	if (resp.status == 200 && json_is_integer(id)) {
		r->outcome = SEND_OK;
		snprintf(r->remote_id, sizeof(r->remote_id), "%" JSON_INTEGER_FORMAT,
		         json_integer_value(id));
		snprintf(r->link, sizeof(r->link), "https://vk.com/wall%s_%s?reply=%s", owner, post,
		         r->remote_id);
	} else if (resp.status == 200 && json_is_object(error)) {
		json_int_t code = json_integer_value(json_object_get(error, "error_code"));
		const char *msg = json_string_value(json_object_get(error, "error_msg"));
		channel_fail(r, vk_error_temporary(code) ? SEND_TEMPORARY : SEND_PERMANENT,
		             "VK wall.createComment error %" JSON_INTEGER_FORMAT ": %.200s", code,
		             msg ? msg : "");
	} else {
		channel_http_failure(r, resp.status == 200 ? 502 : resp.status,
		                     "VK wall.createComment", resp.body);
		r->retry_after_s = resp.retry_after_s;
	}
	json_decref(answer);
	fetch_response_clear(&resp);
out:
	free(url);
	strbuf_release(&form);
}
