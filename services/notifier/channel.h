/*
 * channel: one attempt to hand one delivery to the remote that carries it (an SMTP relay, the
 * Telegram Bot API, a webhook receiver, the VK API), and the verdict the worker acts on: sent
 * (with what the remote gave back: a message or comment id and, for published answers, a
 * link), a temporary failure to retry (5xx, 429, timeouts, refused connections, SMTP 4xx), or
 * a permanent one to dead-letter at once (other 4xx, SMTP 5xx, a payload the channel cannot
 * use).
 *
 * A channel never retries by itself: the attempt is one request with a deadline, so that every
 * attempt is a row update the operator can see and a kill -9 loses at most the one in flight.
 * Thread-safe: the configuration is read-only and each attempt uses its own handles.
 */
#ifndef NOTIFIER_CHANNEL_H
#define NOTIFIER_CHANNEL_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>

enum send_outcome {
	SEND_OK = 0,
	SEND_TEMPORARY, /* try again later */
	SEND_PERMANENT, /* trying again cannot help: dead-letter */
};

struct send_result {
	enum send_outcome outcome;
	int retry_after_s;  /* the remote's own "retry after" (429), or -1 */
	char remote_id[64]; /* message or comment id the remote assigned ("" when none) */
	char link[512];     /* where the published answer can be seen ("" when none) */
	char error[512];    /* why it failed, for last_error and the dead letter */
};

struct channel_config {
	/* e-mail: smtp://host:port or smtps://host:port, with user:password@ when the relay
	 * authenticates; STARTTLS is required when smtp_starttls is set. */
	const char *smtp_url;
	const char *smtp_from; /* envelope and header From */
	int smtp_starttls;
	/* Telegram Bot API: base URL (https://api.telegram.org) and the bot's token. */
	const char *telegram_api_url;
	const char *telegram_token;
	/* VK API: base URL (https://api.vk.com/method), the community token, the version. */
	const char *vk_api_url;
	const char *vk_token;
	const char *vk_version;
	/* Webhooks: the HMAC-SHA256 key, and (local runs) one URL every webhook goes to. */
	const char *webhook_secret;
	const char *webhook_redirect;
	int timeout_ms;                    /* one attempt's deadline */
	const volatile sig_atomic_t *stop; /* abandons an attempt at shutdown (may be NULL) */
};

/* The channels a delivery row may name; an unknown one is a permanent failure. */
#define CHANNEL_EMAIL "email"
#define CHANNEL_TELEGRAM "telegram"
#define CHANNEL_WEBHOOK "webhook"
#define CHANNEL_VK_REPLY "vk_reply"
#define CHANNEL_TELEGRAM_REPLY "telegram_reply"

/*
 * Attempts delivery `delivery_key` (the idempotency key, sent to receivers that can use it:
 * the e-mail Message-ID, the webhook's delivery header) over `channel` with `payload` (the
 * JSON object rules.c planned for it). Always fills *r.
 */
void channel_send(const struct channel_config *cfg, const char *channel, const char *delivery_key,
                  const json_t *payload, struct send_result *r);

/* The per-channel senders behind channel_send (same contract). */
void email_send(const struct channel_config *cfg, const char *delivery_key, const json_t *payload,
                struct send_result *r);
void telegram_send(const struct channel_config *cfg, const json_t *payload, struct send_result *r);
void webhook_send(const struct channel_config *cfg, const char *delivery_key, const json_t *payload,
                  struct send_result *r);
void vk_reply_send(const struct channel_config *cfg, const json_t *payload, struct send_result *r);

/* Sets r to a failure: temporary for 5xx, 429 and 408, permanent otherwise; `what` and the
 * response body's start go into r->error. */
void channel_http_failure(struct send_result *r, long status, const char *what, const char *body);

/* Sets r->outcome and formats r->error. */
void channel_fail(struct send_result *r, enum send_outcome outcome, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * HMAC-SHA256 of "<timestamp>.<body>" under `secret`, as lowercase hex (65 bytes with the
 * NUL): the webhook signature, exposed for receivers (the demo's, the tests').
 */
void webhook_signature(const char *secret, const char *timestamp, const char *body, size_t len,
                       char hex[65]);

#endif
