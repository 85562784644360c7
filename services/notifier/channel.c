/* channel: the dispatch from a delivery's channel name to its sender, and the failure
 * classification the HTTP channels share (see channel.h). */
#include "channel.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void channel_fail(struct send_result *r, enum send_outcome outcome, const char *fmt, ...)
{
	va_list ap;

	r->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

void channel_http_failure(struct send_result *r, long status, const char *what, const char *body)
{
	/* 408 and 429 say "later", 5xx "not now"; any other answer will be the same next time. */
	bool temporary = status >= 500 || status == 429 || status == 408;

	channel_fail(r, temporary ? SEND_TEMPORARY : SEND_PERMANENT, "%s: HTTP %ld: %.200s", what,
	             status, body ? body : "");
}

void channel_send(const struct channel_config *cfg, const char *channel, const char *delivery_key,
                  const json_t *payload, struct send_result *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	if (!json_is_object(payload)) {
		channel_fail(r, SEND_PERMANENT, "payload is not a JSON object");
		return;
	}
	if (strcmp(channel, CHANNEL_EMAIL) == 0)
		email_send(cfg, delivery_key, payload, r);
	else if (strcmp(channel, CHANNEL_TELEGRAM) == 0 ||
	         strcmp(channel, CHANNEL_TELEGRAM_REPLY) == 0)
		telegram_send(cfg, payload, r);
	else if (strcmp(channel, CHANNEL_WEBHOOK) == 0)
		webhook_send(cfg, delivery_key, payload, r);
	else if (strcmp(channel, CHANNEL_VK_REPLY) == 0)
		vk_reply_send(cfg, payload, r);
	else
		channel_fail(r, SEND_PERMANENT, "unknown channel \"%.60s\"", channel);
}
