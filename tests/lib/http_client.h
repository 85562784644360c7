/*
 * http_client: a small libcurl-based HTTP client for the tests (not linked into services).
 *
 * A struct http_client wraps one curl easy handle, so consecutive requests through it reuse a
 * keep-alive connection when the server allows it (check with the response's num_connects: 0
 * means the request went over a connection that was already open). The one-shot helpers
 * http_get() and http_post() use a fresh handle each time.
 *
 *     struct http_client_response r;
 *     if (http_get(url, &r, err, sizeof(err)) < 0) fail_msg("%s", err);
 *     assert_int_equal(r.status, 200);
 *     http_client_response_clear(&r);
 *
 * Requests time out after 10 seconds. Nothing here is thread-safe across one client; different
 * clients may be used from different threads.
 */
#ifndef TESTS_HTTP_CLIENT_H
#define TESTS_HTTP_CLIENT_H

#include <stddef.h>

struct http_client;

/* What a request returned. Strings are owned by the response: release with
 * http_client_response_clear(). */
struct http_client_response {
	long status;        /* HTTP status code */
	char *body;         /* NUL-terminated copy of the body ("" when empty); never NULL */
	size_t body_len;    /* body length, NUL bytes included */
	char *content_type; /* the Content-Type header, or NULL when absent */
	long num_connects;  /* new connections this request opened (0: reused one) */
};

/* New client. Never returns NULL (aborts if libcurl cannot be initialised). */
struct http_client *http_client_new(void);

/* Frees the client and closes its connections. NULL is accepted. */
void http_client_free(struct http_client *c);

/*
 * Sends one request. `method` is "GET", "POST", "PUT", "DELETE", "HEAD", ...; `url` is absolute
 * ("http://127.0.0.1:8080/v1/x?y=1"); `headers` is NULL or a NULL-terminated array of
 * "Name: value" lines; `body` (may be NULL) of body_len bytes is sent as is (NUL bytes
 * included; a POST with body NULL sends an empty body). Fills *out (zeroed first) and returns
 * 0 when an HTTP response arrived, whatever its status; -1 with err on a transport failure
 * (refused, timeout), with *out zeroed.
 */
int http_client_request(struct http_client *c, const char *method, const char *url,
                        const char *const *headers, const void *body, size_t body_len,
                        struct http_client_response *out, char *err, size_t errlen);

/* One-shot GET. Same results as http_client_request. */
int http_get(const char *url, struct http_client_response *out, char *err, size_t errlen);

/* One-shot POST with a Content-Type (NULL for none). Same results as http_client_request. */
int http_post(const char *url, const char *content_type, const void *body, size_t body_len,
              struct http_client_response *out, char *err, size_t errlen);

/* Frees the response's strings and zeroes it. NULL is accepted. */
void http_client_response_clear(struct http_client_response *r);

#endif
