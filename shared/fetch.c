/* fetch: outbound HTTP requests through libcurl (see fetch.h). */
#include "fetch.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"
#include "xalloc.h"

/* The response body being received, up to max bytes. */
struct buffer {
	struct strbuf data;
	size_t max;
	bool too_big;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buffer *b = userdata;
	size_t n = size * nmemb;

	if (b->data.len + n > b->max) {
		b->too_big = true;
		return 0; /* aborts the transfer */
	}
	strbuf_add(&b->data, ptr, n);
	return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	const volatile sig_atomic_t *stop = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return *stop ? 1 : 0; /* non-zero aborts the transfer */
}

/* Copies the value of header `name` from a raw header line, trimmed, when it matches. */
static void take_header(const char *line, size_t len, const char *name, char **dst)
{
	size_t nlen = strlen(name);

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return;
	const char *v = line + nlen + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	free(*dst);
	*dst = xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct fetch_response *r = userdata;
	size_t len = size * nmemb;
	char *retry = NULL;

	/* A new status line (redirects, 100 Continue) starts a new set of headers. */
	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		free(r->etag);
		free(r->last_modified);
		r->etag = r->last_modified = NULL;
		r->retry_after_s = -1;
	}
	take_header(line, len, "ETag", &r->etag);
	take_header(line, len, "Last-Modified", &r->last_modified);
	take_header(line, len, "Retry-After", &retry);
	if (retry) {
		char *end;
		long s = strtol(retry, &end, 10);
		if (end != retry && *end == '\0' && s >= 0 && s < 86400)
			r->retry_after_s = (int)s;
		free(retry);
	}
	return len;
}

int fetch_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int fetch(const struct fetch_request *req, struct fetch_response *resp, char *err, size_t errlen)
{
	struct buffer body = {.max = req->max_body ? req->max_body : 16u << 20};
	struct curl_slist *headers = NULL;
	char line[1024];
	CURL *curl = curl_easy_init();
	int rc = -1;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	if (!curl) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	for (const char *const *h = req->headers; h && *h; h++)
		headers = curl_slist_append(headers, *h);
	if (req->if_none_match) {
		snprintf(line, sizeof(line), "If-None-Match: %s", req->if_none_match);
		headers = curl_slist_append(headers, line);
	}
	if (req->if_modified_since) {
		snprintf(line, sizeof(line), "If-Modified-Since: %s", req->if_modified_since);
		headers = curl_slist_append(headers, line);
	}
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
	                 (long)(req->timeout_ms > 0 ? req->timeout_ms : 30000));
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "otklik/0.1");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	if (req->body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (req->method)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->stop) {
		/* libcurl calls this about once a second even while nothing arrives. */
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)(uintptr_t)req->stop);
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	}

	CURLcode cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		const char *name = req->display_url ? req->display_url : req->url;
		if (body.too_big)
			snprintf(err, errlen, "%s: response body over %zu bytes", name, body.max);
		else if (cc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(err, errlen, "%s: stopped", name);
		else
			snprintf(err, errlen, "%s: %s", name, curl_easy_strerror(cc));
		strbuf_release(&body.data);
		fetch_response_clear(resp);
		goto out;
	}
	char *ct = NULL;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
	resp->content_type = xstrdup(ct);
	resp->body_len = body.data.len;
	resp->body = strbuf_detach(&body.data);
	rc = 0;
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return rc;
}

void fetch_response_clear(struct fetch_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	free(resp->content_type);
	free(resp->etag);
	free(resp->last_modified);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
}

char *fetch_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}
