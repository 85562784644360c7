/* http_client: libcurl-based HTTP client for the tests (see http_client.h). */
#include "http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

#define TIMEOUT_MS 10000L

struct http_client {
	CURL *curl;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t n = size * nmemb;

	strbuf_add(userdata, ptr, n);
	return n;
}

struct http_client *http_client_new(void)
{
	struct http_client *c = xcalloc(1, sizeof(*c));

	/* curl_global_init is implied by the first curl_easy_init (not thread-safe, but tests
	 * create their first client before starting threads). */
	c->curl = curl_easy_init();
	if (!c->curl) {
		fprintf(stderr, "http_client: curl_easy_init failed\n");
		abort();
	}
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

int http_client_request(struct http_client *c, const char *method, const char *url,
                        const char *const *headers, const void *body, size_t body_len,
                        struct http_client_response *out, char *err, size_t errlen)
{
	struct curl_slist *list = NULL;
	struct strbuf b = {0};
	char curl_err[CURL_ERROR_SIZE] = "";
	const char *ctype = NULL;
	CURLcode rc;
	CURL *h = c->curl;

	memset(out, 0, sizeof(*out));
	/* Reset keeps the handle's open connections, which is the point of a client. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	if (list)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);

	rc = curl_easy_perform(h);
	curl_slist_free_all(list);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s %s: %s", method, url,
		         *curl_err ? curl_err : curl_easy_strerror(rc));
		strbuf_release(&b);
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->num_connects);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	out->content_type = ctype ? xstrdup(ctype) : NULL;
	out->body_len = b.len;
	out->body = strbuf_detach(&b);
	return 0;
}

int http_get(const char *url, struct http_client_response *out, char *err, size_t errlen)
{
	struct http_client *c = http_client_new();
	int rc = http_client_request(c, "GET", url, NULL, NULL, 0, out, err, errlen);

	http_client_free(c);
	return rc;
}

int http_post(const char *url, const char *content_type, const void *body, size_t body_len,
              struct http_client_response *out, char *err, size_t errlen)
{
	struct http_client *c = http_client_new();
	char header[256];
	const char *headers[2] = {NULL, NULL};
	int rc;

	if (content_type) {
		snprintf(header, sizeof(header), "Content-Type: %s", content_type);
		headers[0] = header;
	}
	rc = http_client_request(c, "POST", url, headers, body, body_len, out, err, errlen);
	http_client_free(c);
	return rc;
}

void http_client_response_clear(struct http_client_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->content_type);
	memset(r, 0, sizeof(*r));
}
