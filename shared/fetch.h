/*
 * fetch: outbound HTTP(S) requests (libcurl), for the collector's source adapters and the
 * notifier's channels.
 *
 * One call is one request with a deadline. The response keeps what callers act on: status,
 * body, and the headers for conditional GET (ETag, Last-Modified) and back-off (Retry-After).
 * Thread-safe: every call uses its own curl handle (connection reuse across calls is not
 * needed at a poller's pace). Call fetch_global_init() once at start-up, before threads.
 */
#ifndef SHARED_FETCH_H
#define SHARED_FETCH_H

#include <signal.h>
#include <stddef.h>

struct fetch_request {
	const char *method;         /* NULL means GET, or POST when body is set */
	const char *url;            /* absolute http:// or https:// URL */
	const char *const *headers; /* NULL or a NULL-terminated array of "Name: value" */
	const void *body;           /* NULL for none; sent as is */
	size_t body_len;
	int timeout_ms;                /* whole request; 0 means 30 s */
	const char *if_none_match;     /* ETag of the copy we hold, or NULL */
	const char *if_modified_since; /* Last-Modified of the copy we hold, or NULL */
	size_t max_body;               /* larger bodies fail the request; 0 means 16 MiB */
	/* Checked while the request runs: once *stop is non-zero the request is abandoned as a
	 * transport failure ("stopped"), so a long poll does not hold up shutdown. NULL: never. */
	const volatile sig_atomic_t *stop;
	/* How error messages name the request when `url` carries a secret (a token in the query
	 * or the path, e.g. "api.vk.com wall.get"); NULL: errors quote `url`. */
	const char *display_url;
};

struct fetch_response {
	long status; /* HTTP status (304 when the conditional GET matched) */
	char *body;  /* NUL-terminated; never NULL after success ("" when empty) */
	size_t body_len;
	char *content_type;  /* or NULL */
	char *etag;          /* or NULL */
	char *last_modified; /* or NULL */
	int retry_after_s;   /* Retry-After in seconds (delta form), or -1 */
};

/* curl_global_init; call once before any thread uses fetch. Returns 0 or -1. */
int fetch_global_init(void);

/*
 * Performs the request. Returns 0 when a response arrived, whatever its status, with *resp
 * filled (caller clears it); -1 with err on a transport failure (refused, DNS, timeout, body
 * over the limit), *resp zeroed.
 */
int fetch(const struct fetch_request *req, struct fetch_response *resp, char *err, size_t errlen);

/* Frees the response's strings and zeroes it. NULL is accepted. */
void fetch_response_clear(struct fetch_response *resp);

/* Percent-encodes s for a query-string value (RFC 3986 unreserved kept). Caller frees. */
char *fetch_escape(const char *s);

#endif
