/*
 * email: the e-mail channel. One SMTP transaction per delivery through libcurl (STARTTLS and
 * authentication when the SMTP URL and settings ask for them), the message built here as
 * plain text: UTF-8 subject as RFC 2047 encoded words, body base64 (so long Russian lines
 * survive any relay), a Message-ID derived from the idempotency key so that a duplicate that
 * slips through after a crash is recognisable as one by the receiving side.
 *
 * The relay's reply code decides: 4xx (greylisting, mailbox busy) is temporary, 5xx (no such
 * user, policy) permanent; a transport failure (refused, timeout) is temporary.
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "strbuf.h"
#include "xalloc.h"

/* Bytes of UTF-8 text per encoded word: 45 bytes make 60 base64 characters, so a word with
 * its "=?UTF-8?B?" and "?=" stays within RFC 2047's 75. */
#define WORD_BYTES 45

static void add_base64(struct strbuf *sb, const unsigned char *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	strbuf_add(sb, out, (size_t)n);
	free(out);
}

/* The subject as encoded words, cut only between UTF-8 characters. */
static void add_subject(struct strbuf *sb, const char *subject)
{
	const unsigned char *p = (const unsigned char *)subject;
	size_t left = strlen(subject);
	bool first = true;

	strbuf_addstr(sb, "Subject:");
	while (left > 0 || first) {
		size_t n = left < WORD_BYTES ? left : WORD_BYTES;
		while (n < left && n > 0 && (p[n] & 0xC0) == 0x80)
			n--;
		strbuf_addstr(sb, first ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?");
		add_base64(sb, p, n);
		strbuf_addstr(sb, "?=");
		p += n;
		left -= n;
		first = false;
	}
	strbuf_addstr(sb, "\r\n");
}

static bool has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* The whole message, CRLF line ends, body base64 in 76-character lines. */
static char *build_message(const char *from, const char *to, const char *subject, const char *body,
                           const char *delivery_key)
{
	struct strbuf sb = {0};
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	SHA256((const unsigned char *)delivery_key, strlen(delivery_key), digest);
	strbuf_addf(&sb, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date, from, to);
	add_subject(&sb, subject);
	strbuf_addstr(&sb, "Message-ID: <");
	for (size_t i = 0; i < 16; i++)
		strbuf_addf(&sb, "%02x", digest[i]);
	strbuf_addstr(&sb, "@notifier.otklik>\r\nMIME-Version: 1.0\r\n"
	                   "Content-Type: text/plain; charset=UTF-8\r\n"
	                   "Content-Transfer-Encoding: base64\r\n\r\n");
	const unsigned char *b = (const unsigned char *)body;
	size_t left = strlen(body);
	while (left > 0) {
		size_t n = left < 57 ? left : 57; /* 57 bytes: one 76-character line */
		add_base64(&sb, b, n);
		strbuf_addstr(&sb, "\r\n");
		b += n;
		left -= n;
	}
	return strbuf_detach(&sb);
}

struct upload {
	const char *data;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *userdata)
{
	struct upload *u = userdata;
	size_t n = size * nmemb < u->left ? size * nmemb : u->left;

	memcpy(buf, u->data, n);
	u->data += n;
	u->left -= n;
	return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	const struct channel_config *cfg = userdata;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return cfg->stop && *cfg->stop ? 1 : 0;
}

void email_send(const struct channel_config *cfg, const char *delivery_key, const json_t *payload,
                struct send_result *r)
{
	const char *to = json_string_value(json_object_get(payload, "to"));
	const char *subject = json_string_value(json_object_get(payload, "subject"));
	const char *body = json_string_value(json_object_get(payload, "body"));

	if (!cfg->smtp_url || !*cfg->smtp_url) {
		/* Not configured yet: keep the mail queued until an operator sets SMTP_URL. */
		channel_fail(r, SEND_TEMPORARY, "SMTP_URL is not set");
		return;
	}
	if (!to || !subject || !body || !*to || has_line_break(to) || has_line_break(subject)) {
		channel_fail(r, SEND_PERMANENT,
		             "payload needs to, subject and body (no line breaks "
		             "in to and subject)");
		return;
	}
	char *message = build_message(cfg->smtp_from, to, subject, body, delivery_key);
	char *from = xasprintf("<%s>", cfg->smtp_from);
	char *rcpt = xasprintf("<%s>", to);
	struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
	struct upload up = {message, strlen(message)};
	struct channel_config progress = *cfg; /* a copy libcurl may hold as a plain pointer */
	CURL *h = curl_easy_init();
	char curlerr[CURL_ERROR_SIZE] = "";
	long code = 0;

	curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.left);
	curl_easy_setopt(h, CURLOPT_USE_SSL,
	                 cfg->smtp_starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
	                 (long)(cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &progress);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		r->outcome = SEND_OK;
	} else {
		const char *why = curlerr[0] ? curlerr : curl_easy_strerror(rc);
		/* Only a 5xx reply is final; everything else (4xx, no reply at all) may pass later. */
		channel_fail(r, code >= 500 && code <= 599 ? SEND_PERMANENT : SEND_TEMPORARY,
		             "SMTP %ld: %s", code, why);
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpts);
	free(rcpt);
	free(from);
	free(message);
}
