/*
 * webhook: the incident event as a signed JSON POST to the URL an authority registered, so
 * its own system can act on it. The receiver checks
 *
 *   X-Otklik-Signature: sha256=<hex HMAC-SHA256 under the shared secret of "<ts>.<body>">
 *   X-Otklik-Timestamp: <ts, Unix seconds when this attempt was signed>
 *
 * (signing the timestamp with the body lets it refuse stale replays), and may use
 * X-Otklik-Delivery, the same on every attempt of one delivery, to drop a repeat after our
 * crash; X-Otklik-Event names the event type and X-Otklik-Role why this receiver gets it
 * (authority, parent, previous, subscriber). Any 2xx is accepted; 408, 429 and 5xx are
 * retried; other 4xx are final.
 * WEBHOOK_REDIRECT (local runs) sends every webhook to one receiver instead, naming the
 * registered URL in X-Otklik-Original-Url.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "fetch.h"
#include "xalloc.h"

void webhook_signature(const char *secret, const char *timestamp, const char *body, size_t len,
                       char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t tlen = strlen(timestamp);
	unsigned char *signed_part = xmalloc(tlen + 1 + len);

	memcpy(signed_part, timestamp, tlen);
	signed_part[tlen] = '.';
	memcpy(signed_part + tlen + 1, body, len);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), signed_part, tlen + 1 + len, mac, &maclen);
	for (unsigned int i = 0; i < maclen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[64] = '\0';
	free(signed_part);
}

void webhook_send(const struct channel_config *cfg, const char *delivery_key, const json_t *payload,
                  struct send_result *r)
{
	const char *url = json_string_value(json_object_get(payload, "url"));
	const json_t *event = json_object_get(payload, "event");
	const char *type = json_string_value(json_object_get(event, "type"));
	char err[256], ts[24], sig[65];

	if (!cfg->webhook_secret || !*cfg->webhook_secret) {
		channel_fail(r, SEND_TEMPORARY, "WEBHOOK_SECRET is not set");
		return;
	}
	if (!url || strpbrk(url, "\r\n") || !json_is_object(event)) {
		channel_fail(r, SEND_PERMANENT, "payload needs url and event");
		return;
	}
	const char *target =
	        cfg->webhook_redirect && *cfg->webhook_redirect ? cfg->webhook_redirect : url;
	if (strncmp(target, "http://", 7) != 0 && strncmp(target, "https://", 8) != 0) {
		channel_fail(r, SEND_PERMANENT, "not an http(s) URL: %.200s", target);
		return;
	}
	char *body = json_dumps(event, JSON_COMPACT);
	size_t len = strlen(body);
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	webhook_signature(cfg->webhook_secret, ts, body, len, sig);
	char *h_sig = xasprintf("X-Otklik-Signature: sha256=%s", sig);
	char *h_ts = xasprintf("X-Otklik-Timestamp: %s", ts);
	char *h_id = xasprintf("X-Otklik-Delivery: %s", delivery_key);
	char *h_type = xasprintf("X-Otklik-Event: %s", type ? type : "");
	const char *role = json_string_value(json_object_get(payload, "role"));
	char *h_role = xasprintf("X-Otklik-Role: %s", role ? role : "authority");
	char *h_orig = xasprintf("X-Otklik-Original-Url: %s", url);
	const char *headers[] = {
	        "Content-Type: application/json", h_sig, h_ts, h_id, h_type, h_role,
	        target != url ? h_orig : NULL,    NULL};
	struct fetch_request fr = {
	        .method = "POST",
	        .url = target,
	        .headers = headers,
	        .body = body,
	        .body_len = len,
	        .timeout_ms = cfg->timeout_ms,
	        .stop = cfg->stop,
	};
	struct fetch_response resp;

	if (fetch(&fr, &resp, err, sizeof(err)) < 0) {
		channel_fail(r, SEND_TEMPORARY, "%s", err);
	} else {
		if (resp.status >= 200 && resp.status <= 299)
			r->outcome = SEND_OK;
		else
			channel_http_failure(r, resp.status, "webhook", resp.body);
		r->retry_after_s = resp.retry_after_s;
		fetch_response_clear(&resp);
	}
	free(h_sig);
	free(h_ts);
	free(h_id);
	free(h_type);
	free(h_role);
	free(h_orig);
	free(body);
}
