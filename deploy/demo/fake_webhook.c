/*
 * fake_webhook: a receiver of the notifier's webhooks, as an authority's system would run one:
 * POST /webhook/<name> is accepted (200) only when X-Otklik-Signature is
 * "sha256=" + hex HMAC-SHA256 under the shared secret (--webhook-secret) of
 * "<X-Otklik-Timestamp>.<body>" and the timestamp is within five minutes; otherwise 401.
 * Every call is counted in /control/stats ("webhook.<name>"); accepted ones are listed in
 * /control/published with the event's id and type. A fault for api "webhook" answers with
 * its status instead.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake.h"
#include "http.h"
#include "strbuf.h"

#define MAX_SKEW_S 300

static bool signature_ok(const struct fake_world *w, const struct http_request *req)
{
	const char *sig = http_request_header(req, "X-Otklik-Signature");
	const char *ts = http_request_header(req, "X-Otklik-Timestamp");
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
	struct strbuf signed_part = {0};

	if (!w->webhook_secret || !sig || !ts || strncmp(sig, "sha256=", 7) != 0)
		return false;
	if (llabs((long long)time(NULL) - (long long)fake_int(ts, 0)) > MAX_SKEW_S)
		return false;
	strbuf_addf(&signed_part, "%s.", ts);
	strbuf_add(&signed_part, req->body, req->body_len);
	HMAC(EVP_sha256(), w->webhook_secret, (int)strlen(w->webhook_secret),
	     (const unsigned char *)signed_part.buf, signed_part.len, mac, &maclen);
	strbuf_release(&signed_part);
	for (unsigned int i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return strlen(sig + 7) == strlen(hex) && CRYPTO_memcmp(sig + 7, hex, strlen(hex)) == 0;
}

static void webhook_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;
	const char *name = http_request_param(req, "name");
	json_t *fault = fake_take_fault(w, "webhook", name);
	json_int_t status = json_integer_value(json_object_get(fault, "status"));

	json_decref(fault);
	if (status >= 400 && status <= 599) {
		http_respond_error(resp, (int)status, "injected_fault", NULL,
		                   "fault injected through /control/fault");
		return;
	}
	if (!signature_ok(w, req)) {
		http_respond_error(resp, 401, "bad_signature", "X-Otklik-Signature",
		                   "missing, stale or not signed with the shared secret");
		return;
	}
	json_t *event = json_loadb(req->body, req->body_len, 0, NULL);
	const char *original = http_request_header(req, "X-Otklik-Original-Url");
	const char *event_id = fake_str(event, "event_id"), *type = fake_str(event, "type");
	json_t *item =
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "api", "webhook", "name",
	                  name ? name : "", "event_id", event_id ? event_id : "", "type",
	                  type ? type : "", "original_url", original ? original : "", "incident_id",
	                  json_integer_value(json_object_get(event, "incident_id")));
	fake_publish(w, item);
	json_decref(item);
	json_decref(event);
	http_respond_json(resp, 200, json_pack("{s:b}", "received", 1));
}

void fake_webhook_routes(struct http_server *srv, struct fake_world *w)
{
	http_server_route(srv, "POST /webhook/{name}", webhook_handler, w);
}
