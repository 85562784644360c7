/*
 * Integration tests of shared/http: a real server on a free port, spoken to with libcurl.
 * Routing (path and query parameters, headers), the server's own 404/405/413 answers, bodies
 * (empty, with NUL bytes), keep-alive reuse, the built-in /healthz, /readyz and /metrics, and
 * `promtool check metrics` on what /metrics serves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "http.h"
#include "http_client.h"
#include "metrics.h"
#include "promtool.h"
#include "xalloc.h"

#define MAX_BODY 1024

struct fixture {
	struct metrics *metrics;
	struct http_server *srv;
	char base[64];
};

static atomic_bool alpha_ok = true;
static atomic_bool body_unterminated = false;
/* What http_response_header answered inside the handler (no cmocka asserts on server threads). */
static atomic_int header_calls_ok = 0, header_calls_refused = 0;

/* GET /v1/items/{id}: echoes what the router and accessors saw. */
static void get_item(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const char *q = http_request_query(req, "q");
	const char *flag = http_request_query(req, "flag");
	const char *hdr = http_request_header(req, "x-test-header");

	(void)ctx;
	http_respond_json(resp, 200,
	                  json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b, s:I}", "method",
	                            req->method, "path", req->path, "id",
	                            http_request_param(req, "id"), "q", q, "header", hdr, "flag",
	                            flag, "missing_is_null",
	                            http_request_param(req, "nope") == NULL, "body_len",
	                            (json_int_t)req->body_len));
}

/* GET /v1/a/{x}/b/{y}: two captures. */
static void get_pair(void *ctx, const struct http_request *req, struct http_response *resp)
{
	(void)ctx;
	http_respond_json(resp, 200,
	                  json_pack("{s:s, s:s}", "x", http_request_param(req, "x"), "y",
	                            http_request_param(req, "y")));
}

/* POST /v1/items: answers 201 with the body's exact bytes, as octet-stream. */
static void post_item(void *ctx, const struct http_request *req, struct http_response *resp)
{
	(void)ctx;
	resp->status = 201;
	resp->content_type = "application/octet-stream";
	resp->body = req->body_len ? xmalloc(req->body_len) : NULL;
	if (resp->body)
		memcpy(resp->body, req->body, req->body_len);
	resp->body_len = req->body_len;
	/* The copy the handler gets is NUL-terminated even with NUL bytes inside. (No cmocka
	 * assertion here: handlers run on the server's threads.) */
	if (req->body[req->body_len] != '\0')
		atomic_store(&body_unterminated, true);
}

/*
 * GET /v1/feed: a conditional GET as a feed server answers it: ETag, Last-Modified and
 * Retry-After headers; 304 without a body when If-None-Match matches. Also tries the header
 * values that must be refused.
 */
static void get_feed(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const char *inm = http_request_header(req, "If-None-Match");
	static const char *const refused[][2] = {
	        {"X-Injected", "a\r\nSet-Cookie: b=c"},
	        {"X-Bell", "a\007"},
	        {"Bad Name", "v"},
	        {"", "v"},
	        {"Bad:Name", "v"},
	};

	(void)ctx;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (http_response_header(resp, refused[i][0], refused[i][1]) == 0)
			atomic_fetch_add(&header_calls_ok, 1);
		else
			atomic_fetch_add(&header_calls_refused, 1);
	}
	if (http_response_header(resp, "ETag", "\"v1\"") == 0 &&
	    http_response_header(resp, "Last-Modified", "Sat, 28 Nov 2026 06:20:57 GMT") == 0 &&
	    http_response_header(resp, "Retry-After", "7") == 0)
		atomic_fetch_add(&header_calls_ok, 3);
	if (inm && strcmp(inm, "\"v1\"") == 0) {
		resp->status = 304;
		return;
	}
	/* The table holds HTTP_MAX_RESPONSE_HEADERS; one more is refused. */
	for (int i = 3; i < HTTP_MAX_RESPONSE_HEADERS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "X-Extra-%d", i);
		if (http_response_header(resp, name, "\tok") == 0)
			atomic_fetch_add(&header_calls_ok, 1);
	}
	if (http_response_header(resp, "X-One-Too-Many", "v") < 0)
		atomic_fetch_add(&header_calls_refused, 1);
	http_respond_json(resp, 200, json_pack("{s:s}", "feed", "yes"));
}

/* GET /v1/badstatus: headers set, then an invalid status: the 500 must not leak them. */
static void get_bad_status(void *ctx, const struct http_request *req, struct http_response *resp)
{
	(void)ctx;
	(void)req;
	http_response_header(resp, "ETag", "\"lost\"");
	resp->status = 42;
}

static void delete_item(void *ctx, const struct http_request *req, struct http_response *resp)
{
	(void)ctx;
	(void)req;
	http_respond_error(resp, 409, "conflict", "id", "cannot delete");
}

static bool check_alpha(void *ctx, char *why, size_t whylen)
{
	(void)ctx;
	if (atomic_load(&alpha_ok))
		return true;
	snprintf(why, whylen, "down for test");
	return false;
}

static bool check_beta(void *ctx, char *why, size_t whylen)
{
	(void)ctx;
	(void)why;
	(void)whylen;
	return true;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct http_options opt = {.bind_addr = "127.0.0.1", .port = 0, .max_body = MAX_BODY};
	char err[256] = "";

	atomic_store(&alpha_ok, true);
	f->metrics = metrics_new();
	f->srv = http_server_new(&opt, f->metrics);
	assert_int_equal(http_server_route(f->srv, "GET /v1/items/{id}", get_item, NULL), 0);
	assert_int_equal(http_server_route(f->srv, "DELETE /v1/items/{id}", delete_item, NULL), 0);
	assert_int_equal(http_server_route(f->srv, "POST /v1/items", post_item, NULL), 0);
	assert_int_equal(http_server_route(f->srv, "GET /v1/a/{x}/b/{y}", get_pair, NULL), 0);
	assert_int_equal(http_server_route(f->srv, "GET /v1/feed", get_feed, NULL), 0);
	assert_int_equal(http_server_route(f->srv, "GET /v1/badstatus", get_bad_status, NULL), 0);
	http_server_ready_check(f->srv, "alpha", check_alpha, NULL);
	http_server_ready_check(f->srv, "beta", check_beta, NULL);
	assert_int_equal(http_server_port(f->srv), 0);
	if (http_server_start(f->srv, err, sizeof(err)) < 0)
		fail_msg("http_server_start: %s", err);
	assert_int_not_equal(http_server_port(f->srv), 0);
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->srv));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http_server_free(f->srv);
	metrics_free(f->metrics);
	free(f);
	return 0;
}

/* Sends a request that must get an HTTP answer. */
static void request(struct http_client *c, const char *method, const struct fixture *f,
                    const char *path, const char *const *headers, const void *body, size_t len,
                    struct http_client_response *r)
{
	char url[512], err[512] = "";

	snprintf(url, sizeof(url), "%s%s", f->base, path);
	if (http_client_request(c, method, url, headers, body, len, r, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static json_t *parse_json(const struct http_client_response *r)
{
	json_error_t jerr;
	json_t *j = json_loadb(r->body, r->body_len, 0, &jerr);

	if (!j)
		fail_msg("not JSON (%s): %s", jerr.text, r->body);
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void assert_json_content_type(const struct http_client_response *r)
{
	assert_non_null(r->content_type);
	assert_string_equal(r->content_type, "application/json");
}

/* ---- routing -------------------------------------------------------------------------------- */

static void test_get_with_params_query_and_header(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;
	const char *headers[] = {"X-Test-Header: hello there", NULL};
	json_t *j;

	request(c, "GET", f, "/v1/items/42?q=caf%C3%A9%20ok&flag", headers, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_json_content_type(&r);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "method"), "GET");
	assert_string_equal(jstr(j, "path"), "/v1/items/42");
	assert_string_equal(jstr(j, "id"), "42");
	assert_string_equal(jstr(j, "q"), "caf\xc3\xa9 ok");
	assert_string_equal(jstr(j, "header"), "hello there");
	assert_string_equal(jstr(j, "flag"), "");
	assert_true(json_is_true(json_object_get(j, "missing_is_null")));
	assert_int_equal(json_integer_value(json_object_get(j, "body_len")), 0);
	json_decref(j);
	http_client_response_clear(&r);

	/* Absent query argument and header are NULL. */
	request(c, "GET", f, "/v1/items/abc", NULL, NULL, 0, &r);
	j = parse_json(&r);
	assert_true(json_is_null(json_object_get(j, "q")));
	assert_true(json_is_null(json_object_get(j, "header")));
	assert_true(json_is_null(json_object_get(j, "flag")));
	json_decref(j);
	http_client_response_clear(&r);

	request(c, "GET", f, "/v1/a/first/b/second", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "x"), "first");
	assert_string_equal(jstr(j, "y"), "second");
	json_decref(j);
	http_client_response_clear(&r);
	http_client_free(c);
}

/* Tokens: equal only when equal whole, whatever the lengths (the services' bearer checks). */
static void test_secret_equal(void **state)
{
	(void)state;
	assert_true(http_secret_equal("s3cret-token", "s3cret-token"));
	assert_false(http_secret_equal("s3cret-token", "s3cret-tokeN"));
	assert_false(http_secret_equal("s3cret-token", "s3cret"));
	assert_false(http_secret_equal("s3cret", "s3cret-token"));
	assert_false(http_secret_equal("abc", "abcabc"));
	assert_false(http_secret_equal("abc", ""));
	assert_false(http_secret_equal("", "abc"));
	assert_true(http_secret_equal("", ""));
}

static void test_unknown_path_is_404_json(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;
	static const char *const paths[] = {"/nope", "/v1/item", "/v1/items/1/extra", "/v1/items/",
	                                    "/"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		json_t *j;

		request(c, "GET", f, paths[i], NULL, NULL, 0, &r);
		if (r.status != 404)
			fail_msg("GET %s: %ld", paths[i], r.status);
		assert_json_content_type(&r);
		j = parse_json(&r);
		assert_string_equal(jstr(j, "error"), "not_found");
		assert_non_null(jstr(j, "message"));
		json_decref(j);
		http_client_response_clear(&r);
	}
	http_client_free(c);
}

static void test_wrong_method_is_405(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;
	json_t *j;

	request(c, "PUT", f, "/v1/items/1", NULL, "{}", 2, &r);
	assert_int_equal(r.status, 405);
	assert_json_content_type(&r);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "error"), "method_not_allowed");
	json_decref(j);
	http_client_response_clear(&r);

	request(c, "POST", f, "/healthz", NULL, "", 0, &r);
	assert_int_equal(r.status, 405);
	http_client_response_clear(&r);

	/* The other method of the same path still reaches its own handler. */
	request(c, "DELETE", f, "/v1/items/1", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 409);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "error"), "conflict");
	assert_string_equal(jstr(j, "field"), "id");
	assert_string_equal(jstr(j, "message"), "cannot delete");
	json_decref(j);
	http_client_response_clear(&r);
	http_client_free(c);
}

/* ---- bodies --------------------------------------------------------------------------------- */

static void test_body_limit_is_413_json(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;
	char *big = xmalloc(MAX_BODY * 4);
	json_t *j;

	memset(big, 'x', MAX_BODY * 4);
	request(c, "POST", f, "/v1/items", NULL, big, MAX_BODY * 4, &r);
	assert_int_equal(r.status, 413);
	assert_json_content_type(&r);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "error"), "body_too_large");
	json_decref(j);
	http_client_response_clear(&r);

	/* One byte over and exactly at the limit. */
	request(c, "POST", f, "/v1/items", NULL, big, MAX_BODY + 1, &r);
	assert_int_equal(r.status, 413);
	http_client_response_clear(&r);
	request(c, "POST", f, "/v1/items", NULL, big, MAX_BODY, &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.body_len, MAX_BODY);
	http_client_response_clear(&r);
	free(big);
	http_client_free(c);
}

static void test_empty_and_binary_bodies(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;
	static const char with_nuls[] = {'a', '\0', 'b', '\0', '\0', 'c'};
	const char *headers[] = {"Content-Type: application/octet-stream", NULL};

	request(c, "POST", f, "/v1/items", headers, NULL, 0, &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.body_len, 0);
	http_client_response_clear(&r);

	request(c, "POST", f, "/v1/items", headers, with_nuls, sizeof(with_nuls), &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.content_type, "application/octet-stream");
	assert_int_equal(r.body_len, sizeof(with_nuls));
	assert_memory_equal(r.body, with_nuls, sizeof(with_nuls));
	http_client_response_clear(&r);
	assert_false(atomic_load(&body_unterminated));
	http_client_free(c);
}

/* ---- connections ---------------------------------------------------------------------------- */

static void test_keep_alive_reuses_connection(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;

	request(c, "GET", f, "/v1/items/1", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.num_connects, 1);
	http_client_response_clear(&r);

	/* Same connection for a second GET, a POST with a body, a 404, a 413 and the built-ins. */
	request(c, "GET", f, "/v1/items/2", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.num_connects, 0);
	http_client_response_clear(&r);
	request(c, "POST", f, "/v1/items", NULL, "abc", 3, &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.num_connects, 0);
	http_client_response_clear(&r);
	request(c, "GET", f, "/nope", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.num_connects, 0);
	http_client_response_clear(&r);
	{
		char big[MAX_BODY + 10];

		memset(big, 'y', sizeof(big));
		request(c, "POST", f, "/v1/items", NULL, big, sizeof(big), &r);
		assert_int_equal(r.status, 413);
		assert_int_equal(r.num_connects, 0);
		http_client_response_clear(&r);
	}
	request(c, "GET", f, "/healthz", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.num_connects, 0);
	http_client_response_clear(&r);
	request(c, "GET", f, "/metrics", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.num_connects, 0);
	http_client_response_clear(&r);
	http_client_free(c);
}

static void test_port_in_use_fails_with_reason(void **state)
{
	struct fixture *f = *state;
	struct http_options opt = {.bind_addr = "127.0.0.1", .port = http_server_port(f->srv)};
	struct http_server *other = http_server_new(&opt, NULL);
	char err[256] = "";

	assert_int_equal(http_server_start(other, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "did not start"));
	assert_true(strlen(err) > strlen("HTTP server on 127.0.0.1:1 did not start: "));
	assert_int_equal(http_server_port(other), 0);
	http_server_free(other);

	opt.bind_addr = "not-an-address";
	opt.port = 0;
	other = http_server_new(&opt, NULL);
	assert_int_equal(http_server_start(other, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not-an-address"));
	http_server_free(other);
}

/* Extra response headers, read back through shared/fetch (which parses these three). */
static void test_response_headers(void **state)
{
	struct fixture *f = *state;
	char url[128], err[256];
	struct fetch_request req = {.url = url};
	struct fetch_response resp;

	atomic_store(&header_calls_ok, 0);
	atomic_store(&header_calls_refused, 0);
	assert_int_equal(fetch_global_init(), 0);
	snprintf(url, sizeof(url), "%s/v1/feed", f->base);
	if (fetch(&req, &resp, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.etag, "\"v1\"");
	assert_string_equal(resp.last_modified, "Sat, 28 Nov 2026 06:20:57 GMT");
	assert_int_equal(resp.retry_after_s, 7);
	assert_string_equal(resp.body, "{\"feed\":\"yes\"}");
	fetch_response_clear(&resp);
	/* 3 + the 5 extra that fill the table went in; 5 bad ones and the 9th were refused. */
	assert_int_equal(atomic_load(&header_calls_ok), HTTP_MAX_RESPONSE_HEADERS);
	assert_int_equal(atomic_load(&header_calls_refused), 6);

	/* The conditional GET: 304, no body, the validators still sent. */
	req.if_none_match = "\"v1\"";
	if (fetch(&req, &resp, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(resp.status, 304);
	assert_int_equal(resp.body_len, 0);
	assert_string_equal(resp.etag, "\"v1\"");
	fetch_response_clear(&resp);

	/* An invalid status becomes a 500 without the handler's headers. */
	snprintf(url, sizeof(url), "%s/v1/badstatus", f->base);
	req.if_none_match = NULL;
	if (fetch(&req, &resp, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(resp.status, 500);
	assert_null(resp.etag);
	fetch_response_clear(&resp);

	{
		struct http_response r = {.status = 200};

		assert_int_equal(http_response_header(NULL, "A", "b"), -1);
		assert_int_equal(http_response_header(&r, NULL, "b"), -1);
		assert_int_equal(http_response_header(&r, "A", NULL), -1);
		assert_int_equal(r.nheaders, 0);
	}
}

static void test_bad_route_patterns(void **state)
{
	struct fixture *f = *state;
	struct http_options opt = {0};
	struct http_server *s = http_server_new(&opt, NULL);

	(void)f;
	assert_int_equal(http_server_route(s, "GET /ok/{id}", get_item, NULL), 0);
	assert_int_equal(http_server_route(s, "GET nopath", get_item, NULL), -1);
	assert_int_equal(http_server_route(s, "get /lower", get_item, NULL), -1);
	assert_int_equal(http_server_route(s, "GET /a//b", get_item, NULL), -1);
	assert_int_equal(http_server_route(s, "GET /a/{x", get_item, NULL), -1);
	assert_int_equal(http_server_route(s, "GET /a/{}", get_item, NULL), -1);
	assert_int_equal(http_server_route(s, "/no/method", get_item, NULL), -1);
	assert_int_equal(http_server_route(s, NULL, get_item, NULL), -1);
	assert_int_equal(http_server_route(s, "GET /x", NULL, NULL), -1);
	http_server_free(s);
	http_server_free(NULL);
}

static void test_thread_pool(void **state)
{
	struct http_options opt = {.threads = 4};
	struct metrics *m = metrics_new();
	struct http_server *s = http_server_new(&opt, m);
	struct http_client_response r;
	char url[128], err[256] = "";

	(void)state;
	assert_int_equal(http_server_route(s, "GET /v1/items/{id}", get_item, NULL), 0);
	if (http_server_start(s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	for (int i = 0; i < 8; i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/items/%d", http_server_port(s),
		         i);
		if (http_get(url, &r, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		assert_int_equal(r.status, 200);
		http_client_response_clear(&r);
	}
	http_server_free(s);
	metrics_free(m);
}

/* ---- built-in endpoints --------------------------------------------------------------------- */

static void test_healthz(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;
	json_t *j;

	request(c, "GET", f, "/healthz", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_json_content_type(&r);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "status"), "ok");
	json_decref(j);
	http_client_response_clear(&r);
	http_client_free(c);
}

static void test_readyz_checks_and_draining(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;
	json_t *j, *checks;

	request(c, "GET", f, "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "status"), "ready");
	checks = json_object_get(j, "checks");
	assert_string_equal(jstr(checks, "alpha"), "ok");
	assert_string_equal(jstr(checks, "beta"), "ok");
	json_decref(j);
	http_client_response_clear(&r);

	atomic_store(&alpha_ok, false);
	request(c, "GET", f, "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 503);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "status"), "not_ready");
	checks = json_object_get(j, "checks");
	assert_string_equal(jstr(checks, "alpha"), "down for test");
	assert_string_equal(jstr(checks, "beta"), "ok");
	json_decref(j);
	http_client_response_clear(&r);

	/* Recovers by itself: checks run on every request. */
	atomic_store(&alpha_ok, true);
	request(c, "GET", f, "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	http_client_response_clear(&r);

	http_server_set_draining(f->srv);
	request(c, "GET", f, "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 503);
	j = parse_json(&r);
	assert_string_equal(jstr(j, "status"), "draining");
	assert_string_equal(jstr(json_object_get(j, "checks"), "alpha"), "ok");
	json_decref(j);
	http_client_response_clear(&r);
	/* Draining does not stop the service from answering: liveness and the API still work. */
	request(c, "GET", f, "/healthz", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	http_client_response_clear(&r);
	http_client_free(c);
}

static void test_metrics_render_and_promtool(void **state)
{
	struct fixture *f = *state;
	struct http_client *c = http_client_new();
	struct http_client_response r;

	request(c, "GET", f, "/v1/items/7", NULL, NULL, 0, &r);
	http_client_response_clear(&r);
	request(c, "GET", f, "/v1/items/8", NULL, NULL, 0, &r);
	http_client_response_clear(&r);
	request(c, "GET", f, "/does/not/exist/12345", NULL, NULL, 0, &r);
	http_client_response_clear(&r);

	request(c, "GET", f, "/metrics", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(r.content_type);
	assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r.body, "# TYPE http_requests_total counter"));
	if (!strstr(r.body, "http_requests_total{route=\"GET /v1/items/{id}\",code=\"200\"} 2"))
		fail_msg("per-route series missing:\n%s", r.body);
	assert_non_null(strstr(r.body, "route=\"unmatched\",code=\"404\""));
	/* The raw path never becomes a label value: cardinality stays bounded. */
	assert_null(strstr(r.body, "12345"));
	assert_int_equal(promtool_check(r.body, r.body_len, NULL, 0), 0);
	http_client_response_clear(&r);

	/* The check can fail: a malformed exposition is refused. */
	{
		static const char bad[] = "# TYPE x counter\nx{a=\"1\" 1\n";

		assert_int_not_equal(promtool_check(bad, sizeof(bad) - 1, NULL, 0), 0);
	}
	http_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_get_with_params_query_and_header, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_path_is_404_json, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wrong_method_is_405, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_body_limit_is_413_json, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_empty_and_binary_bodies, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keep_alive_reuses_connection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_port_in_use_fails_with_reason, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_response_headers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_route_patterns, setup, teardown),
	        cmocka_unit_test(test_thread_pool),
	        cmocka_unit_test(test_secret_equal),
	        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readyz_checks_and_draining, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_metrics_render_and_promtool, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
