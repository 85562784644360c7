/*
 * http: the HTTP server every service embeds (libmicrohttpd), with the three operational
 * endpoints built in and a small router for a service's own JSON API.
 *
 *   GET /healthz  200 {"status":"ok"} while the process runs.
 *   GET /readyz   200 {"status":"ready","checks":{...}} when every readiness check passes
 *                 and the service is not draining; otherwise 503 with the failing checks.
 *   GET /metrics  the registry in the Prometheus text format.
 *
 * Routes are "METHOD /path" patterns where a segment "{name}" captures one path segment
 * ("GET /v1/incidents/{id}"). A handler gets the whole request (the body is complete, at most
 * the configured limit) and fills a response. Errors are JSON bodies:
 *     {"error":"invalid_field","field":"posted_at","message":"not an RFC 3339 time"}
 * The server answers by itself: 404 for an unknown path, 405 for a known path with another
 * method, 413 for a body over the limit, 400 for a malformed request.
 *
 * Threading: requests are served by libmicrohttpd's internal thread(s); handlers run there and
 * must only touch thread-safe state or state they lock. Readiness checks run on those threads
 * too.
 */
#ifndef SHARED_HTTP_H
#define SHARED_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_server;
struct metrics;

struct http_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* without the query string */
	const char *body;   /* NUL-terminated copy of the body ("" when none) */
	size_t body_len;    /* may be less than strlen() never; body may contain NUL bytes */
	void *internal;     /* the server's; use the accessors below */
};

/* A request header (case-insensitive name), or NULL. Valid during the handler call. */
const char *http_request_header(const struct http_request *req, const char *name);

/* The token of an "Authorization: Bearer <token>" header (scheme case-insensitive), or NULL when
 * the request has none. Borrowed from req. */
const char *http_request_bearer(const struct http_request *req);

/* Whether a secret someone gave equals the expected one, in time that does not depend on where
 * they differ (so the comparison does not leak the token a character at a time). */
bool http_secret_equal(const char *expected, const char *given);
/* A query-string argument (already URL-decoded), or NULL. Valid during the handler call. */
const char *http_request_query(const struct http_request *req, const char *name);
/* A "{name}" path parameter captured by the route, or NULL. Valid during the handler call. */
const char *http_request_param(const struct http_request *req, const char *name);

#define HTTP_MAX_RESPONSE_HEADERS 8

struct http_response {
	int status; /* default 200 */
	char *body; /* owned: malloc'd, freed by the server; NULL for empty */
	size_t body_len;
	const char *content_type; /* static string; default "application/json" */
	/* Extra headers (ETag, Last-Modified, Retry-After...), added with http_response_header;
	 * names and values are owned, sent and freed by the server. */
	struct {
		char *name;
		char *value;
	} headers[HTTP_MAX_RESPONSE_HEADERS];
	size_t nheaders;
};

/*
 * Adds a header to the response (name and value are copied). Returns 0, or -1 (nothing added)
 * when HTTP_MAX_RESPONSE_HEADERS are already set, the name is empty or not a token, or the
 * value holds a CR, LF or other control character (no header injection from data).
 */
int http_response_header(struct http_response *resp, const char *name, const char *value);

/* Sets status and a JSON body (takes the reference to `body`; it is serialised and released). */
void http_respond_json(struct http_response *resp, int status, json_t *body);
/*
 * Sets status and the standard error body {"error": code, "message": message} plus
 * "field": field when field is not NULL.
 */
void http_respond_error(struct http_response *resp, int status, const char *code, const char *field,
                        const char *message);

typedef void (*http_handler)(void *ctx, const struct http_request *req, struct http_response *resp);

/*
 * A readiness check: returns true when the dependency is usable; on false writes a short
 * reason into why. Called on every /readyz (the service decides whether to cache).
 */
typedef bool (*http_ready_check)(void *ctx, char *why, size_t whylen);

struct http_options {
	const char *bind_addr; /* "127.0.0.1" or "0.0.0.0"; NULL means 127.0.0.1 */
	uint16_t port;         /* 0 picks a free port (see http_server_port) */
	size_t max_body;       /* bytes; 0 means 1 MiB */
	unsigned threads;      /* worker threads; 0 means 1 */
};

/* New server, not yet listening. `metrics` (borrowed, may be NULL) is served at /metrics and
 * gets http_requests_total{route,code}. Caller frees with http_server_free. */
struct http_server *http_server_new(const struct http_options *opt, struct metrics *metrics);

/* Adds a route ("POST /v1/messages"). ctx is borrowed. Returns 0, or -1 on a bad pattern. */
int http_server_route(struct http_server *srv, const char *pattern, http_handler fn, void *ctx);

/* Adds a named readiness check ("postgres", "kafka"). ctx is borrowed. */
void http_server_ready_check(struct http_server *srv, const char *name, http_ready_check fn,
                             void *ctx);

/* From now on /readyz answers 503 {"status":"draining"}. Safe from any thread. */
void http_server_set_draining(struct http_server *srv);

/* Starts listening. Returns 0, or -1 with a reason in err (e.g. address in use). */
int http_server_start(struct http_server *srv, char *err, size_t errlen);

/* The bound port (useful after asking for port 0). 0 before start. */
uint16_t http_server_port(const struct http_server *srv);

/* Stops listening, waits for handlers in progress, frees. NULL is accepted. */
void http_server_free(struct http_server *srv);

#endif
