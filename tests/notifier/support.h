/*
 * support: the real servers the notifier's tests talk to, started by the tests themselves.
 *
 * A remote is one in-process HTTP server (shared/http.h, libmicrohttpd on loopback) standing
 * in for three kinds of remote: the Telegram Bot API (POST /telegram/bot<token>/sendMessage),
 * the VK API (POST /vk/wall.createComment) and a webhook receiver (POST /hook/<name>) that
 * verifies the HMAC-SHA256 signature itself with OpenSSL. Each request is recorded when it
 * arrives; each is answered as the real API answers success, unless a scripted answer for its
 * kind is queued (a status, a body, a delay to stand for a timeout or a stall).
 *
 * An SMTP server is Debian's aiosmtpd (tests/notifier/smtp_server.py) in its own process,
 * storing mail in a Maildir the test reads back with headers decoded.
 */
#ifndef TESTS_NOTIFIER_SUPPORT_H
#define TESTS_NOTIFIER_SUPPORT_H

#include <jansson.h>

#include "testproc.h"

#define REMOTE_TELEGRAM "telegram"
#define REMOTE_VK "vk"
#define REMOTE_WEBHOOK "webhook"

struct remote;

/* Starts on a free loopback port; webhooks are checked against `secret`. */
struct remote *remote_start(const char *secret);

/* Its base URL, "http://127.0.0.1:<port>" (static per remote, borrowed). */
const char *remote_base(const struct remote *r);

/*
 * Queues one answer for the next request of `kind`: `status` with `body` (NULL: the API's
 * own error shape for that status; Telegram's carries retry_after when > 0), after waiting
 * delay_ms (the wait ends early when the remote stops).
 */
void remote_script(struct remote *r, const char *kind, int status, const char *body, int delay_ms,
                   int retry_after);

/* The requests of `kind` so far (new reference): objects with "path", "body" (parsed JSON,
 * or the raw text for forms), and for webhooks "signature_ok", "delivery", "event",
 * "original_url". */
json_t *remote_requests(struct remote *r, const char *kind);

/* How many requests of `kind` arrived. */
int remote_count(struct remote *r, const char *kind);

/* Waits up to ms for at least n requests of kind; returns the count. */
int remote_wait(struct remote *r, const char *kind, int n, int ms);

void remote_stop(struct remote *r);

struct smtp_server {
	struct testproc proc;
	int port;
	char maildir[512];
};

/* Starts smtp_server.py on a free port with a fresh Maildir under TEST_WORK_DIR (or /tmp);
 * with credentials ("user:password", or NULL) it requires AUTH. */
void smtp_start(struct smtp_server *s, const char *name, const char *credentials);

void smtp_stop(struct smtp_server *s);

/* The mail received, oldest first (new reference): {"to", "from", "subject" (decoded from
 * RFC 2047), "subject_raw", "message_id", "content_type", "body" (decoded from base64)}. */
json_t *smtp_messages(const struct smtp_server *s);

/* RCPT attempts the server saw for `address`. */
int smtp_attempts(const struct smtp_server *s, const char *address);

/* A string form of a JSON member for assertions ("" when absent). */
const char *jstr(const json_t *o, const char *name);

#endif

/*
 * An incident_event.v1 object of `type` ("incident.assigned", ...) for incident `incident`,
 * with the members that type requires: the authority abakan_gkh (e-mail `email`, Telegram
 * chat -100200300, webhook <hook_base>/hook/gkh), for overdue/escalated the parent
 * abakan_admin (admin@abakan.example, chat -100999), for reassigned the previous authority
 * chernogorsk_gkh (prev@chernogorsk.example), for responded a final answer; reports from VK
 * (thread -170000001/4512), Telegram (chat -1001234, message 77) and RSS (no thread).
 * New reference.
 */
json_t *sample_event(const char *event_id, const char *type, long incident, const char *email,
                     const char *hook_base);
