/*
 * http: the embedded HTTP server (libmicrohttpd) with /healthz, /readyz, /metrics and a small
 * pattern router for a service's JSON API (see http.h).
 *
 * libmicrohttpd calls the access handler several times per request: once when the headers are
 * in, once per chunk of body, and once more when the body is complete. A response queued on the
 * first call makes libmicrohttpd close a keep-alive connection (measured on Debian's 0.9.75), so
 * every request is answered on its final call, even one without a body: the first call only
 * allocates the per-request state, upload calls only accumulate the body.
 */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics.h"
#include "strbuf.h"
#include "xalloc.h"

#define DEFAULT_MAX_BODY (1024 * 1024)
/* Idle keep-alive connections are closed after this many seconds. */
#define CONNECTION_TIMEOUT_S 60
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define UNMATCHED "unmatched"

struct route {
	char *pattern; /* "GET /v1/incidents/{id}", also the metrics label */
	char *method;
	char **segs; /* path segments; "{id}" segments capture */
	size_t nsegs;
	http_handler fn;
	void *ctx;
};

struct ready_check {
	char *name;
	http_ready_check fn;
	void *ctx;
};

struct http_server {
	char *bind_addr;
	uint16_t port;
	size_t max_body;
	unsigned threads;
	struct metrics *metrics;
	struct metric *requests;
	struct route *routes;
	size_t nroutes;
	struct ready_check *checks;
	size_t nchecks;
	atomic_bool draining;
	struct MHD_Daemon *daemon;
	uint16_t bound_port;
	/* The last message libmicrohttpd reported, for http_server_start's error. */
	pthread_mutex_t log_lock;
	char last_error[256];
};

/* Per-request state, from the first handler call to the completion callback. */
struct request_state {
	struct strbuf body;
	bool too_large;
};

/* What http_request.internal points to while a handler runs. */
struct request_internal {
	struct MHD_Connection *conn;
	const struct route *route;
	char **values; /* captured segment values, parallel to route->segs (NULL elsewhere) */
};

/* ---- responses ------------------------------------------------------------------------------ */

void http_respond_json(struct http_response *resp, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	free(resp->body);
	resp->content_type = "application/json";
	if (!text) {
		resp->status = 500;
		resp->body = xstrdup("{\"error\":\"internal\",\"message\":\"response not "
		                     "serialisable\"}");
		resp->body_len = strlen(resp->body);
		return;
	}
	resp->status = status;
	resp->body = text;
	resp->body_len = strlen(text);
}

void http_respond_error(struct http_response *resp, int status, const char *code, const char *field,
                        const char *message)
{
	json_t *o = json_object();
	json_t *msg = json_string(message ? message : "");

	/* json_string refuses invalid UTF-8 (a field name or message echoing input); the caller
	 * is still owed an answer. */
	json_object_set_new(o, "error", json_string(code ? code : "error"));
	if (field) {
		json_t *f = json_string(field);

		json_object_set_new(o, "field", f ? f : json_string("?"));
	}
	json_object_set_new(o, "message", msg ? msg : json_string("(not valid UTF-8)"));
	http_respond_json(resp, status, o);
}

/* RFC 9110 token characters. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-.^_`|~", *p)))
			return false;
	}
	return true;
}

int http_response_header(struct http_response *resp, const char *name, const char *value)
{
	if (!resp || !name || !value || resp->nheaders >= HTTP_MAX_RESPONSE_HEADERS ||
	    !is_token(name))
		return -1;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return -1;
	}
	resp->headers[resp->nheaders].name = xstrdup(name);
	resp->headers[resp->nheaders].value = xstrdup(value);
	resp->nheaders++;
	return 0;
}

static void response_clear_headers(struct http_response *resp)
{
	for (size_t i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
		resp->headers[i].name = resp->headers[i].value = NULL;
	}
	resp->nheaders = 0;
}

/* ---- routes --------------------------------------------------------------------------------- */

static void route_clear(struct route *r)
{
	for (size_t i = 0; i < r->nsegs; i++)
		free(r->segs[i]);
	free(r->segs);
	free(r->pattern);
	free(r->method);
}

/* Splits "/a/b/c" into segments; "/" has none. */
static char **split_path(const char *path, size_t *n)
{
	char **segs = NULL;
	size_t count = 0;
	const char *p = path;

	while (*p == '/') {
		const char *start = p + 1;
		const char *end = strchr(start, '/');

		if (!end)
			end = start + strlen(start);
		if (end == start && !*end && count == 0)
			break; /* the root path "/" */
		segs = xrealloc(segs, (count + 1) * sizeof(*segs));
		segs[count++] = xstrndup(start, (size_t)(end - start));
		p = end;
	}
	*n = count;
	return segs;
}

static void free_segs(char **segs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
}

static bool is_capture(const char *seg)
{
	size_t len = strlen(seg);

	return len > 2 && seg[0] == '{' && seg[len - 1] == '}';
}

int http_server_route(struct http_server *srv, const char *pattern, http_handler fn, void *ctx)
{
	const char *space = pattern ? strchr(pattern, ' ') : NULL;
	struct route r;

	if (!srv || !fn || !space || space == pattern || space[1] != '/' || srv->daemon)
		return -1;
	memset(&r, 0, sizeof(r));
	r.method = xstrndup(pattern, (size_t)(space - pattern));
	for (const char *c = r.method; *c; c++) {
		if (*c < 'A' || *c > 'Z') {
			free(r.method);
			return -1;
		}
	}
	r.segs = split_path(space + 1, &r.nsegs);
	for (size_t i = 0; i < r.nsegs; i++) {
		const char *s = r.segs[i];

		/* Empty segments, spaces, queries and half-open braces are mistakes. */
		if (!*s || strpbrk(s, " ?#") ||
		    (!is_capture(s) && (strchr(s, '{') || strchr(s, '}')))) {
			route_clear(&r);
			return -1;
		}
	}
	r.pattern = xstrdup(pattern);
	r.fn = fn;
	r.ctx = ctx;
	srv->routes = xrealloc(srv->routes, (srv->nroutes + 1) * sizeof(*srv->routes));
	srv->routes[srv->nroutes++] = r;
	return 0;
}

static bool route_matches_path(const struct route *r, char **segs, size_t nsegs)
{
	if (r->nsegs != nsegs)
		return false;
	for (size_t i = 0; i < nsegs; i++) {
		if (is_capture(r->segs[i]) ? !*segs[i] : strcmp(r->segs[i], segs[i]) != 0)
			return false;
	}
	return true;
}

void http_server_ready_check(struct http_server *srv, const char *name, http_ready_check fn,
                             void *ctx)
{
	if (!srv || !name || !fn || srv->daemon)
		return;
	srv->checks = xrealloc(srv->checks, (srv->nchecks + 1) * sizeof(*srv->checks));
	srv->checks[srv->nchecks].name = xstrdup(name);
	srv->checks[srv->nchecks].fn = fn;
	srv->checks[srv->nchecks].ctx = ctx;
	srv->nchecks++;
}

void http_server_set_draining(struct http_server *srv)
{
	if (srv)
		atomic_store(&srv->draining, true);
}

/* ---- request accessors ---------------------------------------------------------------------- */

const char *http_request_header(const struct http_request *req, const char *name)
{
	const struct request_internal *in = req ? req->internal : NULL;

	if (!in || !name)
		return NULL;
	return MHD_lookup_connection_value(in->conn, MHD_HEADER_KIND, name);
}

const char *http_request_bearer(const struct http_request *req)
{
	const char *auth = http_request_header(req, "Authorization");

	return auth && strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
}

bool http_secret_equal(const char *expected, const char *given)
{
	size_t le = strlen(expected), lg = strlen(given);
	unsigned char diff = (unsigned char)(le != lg);

	for (size_t i = 0; i < lg; i++)
		diff |= (unsigned char)(given[i] ^ expected[le ? i % le : 0]);
	return diff == 0 && le == lg;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
	const struct request_internal *in = req ? req->internal : NULL;
	const char *value = NULL;

	if (!in || !name)
		return NULL;
	if (MHD_lookup_connection_value_n(in->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name),
	                                  &value, NULL) != MHD_YES)
		return NULL;
	return value ? value : ""; /* "?flag" without '=' is present and empty */
}

const char *http_request_param(const struct http_request *req, const char *name)
{
	const struct request_internal *in = req ? req->internal : NULL;

	if (!in || !in->route || !name)
		return NULL;
	for (size_t i = 0; i < in->route->nsegs; i++) {
		const char *seg = in->route->segs[i];
		size_t len = strlen(name);

		if (is_capture(seg) && strlen(seg) == len + 2 && strncmp(seg + 1, name, len) == 0)
			return in->values[i];
	}
	return NULL;
}

/* ---- built-in endpoints --------------------------------------------------------------------- */

static void serve_healthz(struct http_response *resp)
{
	http_respond_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static void serve_readyz(struct http_server *srv, struct http_response *resp)
{
	json_t *checks = json_object();
	bool all_ok = true;
	bool draining = atomic_load(&srv->draining);
	const char *status;

	for (size_t i = 0; i < srv->nchecks; i++) {
		char why[256] = "";
		bool ok = srv->checks[i].fn(srv->checks[i].ctx, why, sizeof(why));
		json_t *v;

		if (!ok) {
			all_ok = false;
			v = json_string(*why ? why : "failed");
			if (!v)
				v = json_string("failed");
		} else {
			v = json_string("ok");
		}
		json_object_set_new(checks, srv->checks[i].name, v);
	}
	status = draining ? "draining" : all_ok ? "ready" : "not_ready";
	http_respond_json(resp, draining || !all_ok ? 503 : 200,
	                  json_pack("{s:s, s:o}", "status", status, "checks", checks));
}

static void serve_metrics(struct http_server *srv, struct http_response *resp)
{
	free(resp->body);
	resp->body = metrics_render(srv->metrics);
	resp->body_len = strlen(resp->body);
	resp->status = 200;
	resp->content_type = METRICS_CONTENT_TYPE;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static enum MHD_Result send_response(struct http_server *srv, struct MHD_Connection *conn,
                                     const char *route_label, struct http_response *resp,
                                     const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	char code[8];

	if (resp->body && resp->body_len == 0) {
		free(resp->body);
		resp->body = NULL;
	}
	if (resp->body) {
		/* MUST_FREE: libmicrohttpd releases the body with free() once sent. */
		r = MHD_create_response_from_buffer(resp->body_len, resp->body,
		                                    MHD_RESPMEM_MUST_FREE);
		resp->body = NULL;
	} else {
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	}
	if (!r) {
		response_clear_headers(resp);
		return MHD_NO;
	}
	if (resp->body_len > 0 || resp->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		                        resp->content_type ? resp->content_type
		                                           : "application/json");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	for (size_t i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	response_clear_headers(resp);
	rc = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	if (srv->requests) {
		snprintf(code, sizeof(code), "%d", resp->status);
		metric_add(srv->requests, 1, route_label, code);
	}
	return rc;
}

/* The methods the routes accept for this path, "GET, POST", for a 405's Allow header. */
static char *allowed_methods(struct http_server *srv, char **segs, size_t nsegs)
{
	char *allow = xstrdup("");

	for (size_t i = 0; i < srv->nroutes; i++) {
		char *next;

		if (!route_matches_path(&srv->routes[i], segs, nsegs) ||
		    strstr(allow, srv->routes[i].method))
			continue;
		next = xasprintf("%s%s%s", allow, *allow ? ", " : "", srv->routes[i].method);
		free(allow);
		allow = next;
	}
	return allow;
}

static bool is_builtin(const char *path, const char *name)
{
	return strcmp(path, name) == 0;
}

static enum MHD_Result dispatch(struct http_server *srv, struct MHD_Connection *conn,
                                const char *url, const char *method, struct request_state *st)
{
	struct http_response resp = {.status = 200};
	/* HEAD is answered like GET; libmicrohttpd leaves the body out. */
	const char *match_method = strcmp(method, "HEAD") == 0 ? "GET" : method;
	const struct route *route = NULL;
	bool path_known = false;
	size_t nsegs = 0;
	char **segs;
	enum MHD_Result rc;

	if (is_builtin(url, "/healthz") || is_builtin(url, "/readyz") ||
	    (srv->metrics && is_builtin(url, "/metrics"))) {
		char label[32];

		snprintf(label, sizeof(label), "GET %s", url);
		if (strcmp(match_method, "GET") != 0) {
			http_respond_error(&resp, 405, "method_not_allowed", NULL,
			                   "only GET is allowed here");
			return send_response(srv, conn, UNMATCHED, &resp, "GET");
		}
		if (is_builtin(url, "/healthz"))
			serve_healthz(&resp);
		else if (is_builtin(url, "/readyz"))
			serve_readyz(srv, &resp);
		else
			serve_metrics(srv, &resp);
		return send_response(srv, conn, label, &resp, NULL);
	}

	segs = split_path(url, &nsegs);
	for (size_t i = 0; i < srv->nroutes && !route; i++) {
		if (!route_matches_path(&srv->routes[i], segs, nsegs))
			continue;
		path_known = true;
		if (strcmp(srv->routes[i].method, match_method) == 0)
			route = &srv->routes[i];
	}
	if (!route) {
		char *allow = path_known ? allowed_methods(srv, segs, nsegs) : NULL;

		if (path_known)
			http_respond_error(&resp, 405, "method_not_allowed", NULL,
			                   "method not allowed for this path");
		else
			http_respond_error(&resp, 404, "not_found", NULL, "no such path");
		rc = send_response(srv, conn, UNMATCHED, &resp, allow);
		free(allow);
		free_segs(segs, nsegs);
		return rc;
	}
	if (st->too_large) {
		char msg[96];

		snprintf(msg, sizeof(msg), "request body exceeds %zu bytes", srv->max_body);
		http_respond_error(&resp, 413, "body_too_large", NULL, msg);
		rc = send_response(srv, conn, route->pattern, &resp, NULL);
		free_segs(segs, nsegs);
		return rc;
	}

	{
		struct request_internal in = {.conn = conn, .route = route, .values = segs};
		struct http_request req = {
		        .method = method,
		        .path = url,
		        .body = st->body.buf ? st->body.buf : "",
		        .body_len = st->body.len,
		        .internal = &in,
		};

		route->fn(route->ctx, &req, &resp);
		if (resp.status < 100 || resp.status > 599) {
			response_clear_headers(&resp);
			http_respond_error(&resp, 500, "internal", NULL,
			                   "handler set an invalid status");
		}
		rc = send_response(srv, conn, route->pattern, &resp, NULL);
		free(resp.body);
	}
	free_segs(segs, nsegs);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct request_state *st = *con_cls;

	(void)version;
	if (!st) {
		/* First call: headers only. Answering now would cost the keep-alive connection. */
		*con_cls = xcalloc(1, sizeof(*st));
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (st->too_large)
			return MHD_YES;
		if (n > srv->max_body - st->body.len) {
			/* Keep reading (and dropping) the rest so the 413 goes out cleanly. */
			st->too_large = true;
			strbuf_release(&st->body);
			return MHD_YES;
		}
		strbuf_add(&st->body, upload_data, n);
		return MHD_YES;
	}
	return dispatch(srv, conn, url, method, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct request_state *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st) {
		strbuf_release(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/* libmicrohttpd's diagnostics are kept, not printed (library code does not log); the last
 * one explains a failed start. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	size_t len;

	pthread_mutex_lock(&srv->log_lock);
	vsnprintf(srv->last_error, sizeof(srv->last_error), fmt, ap);
	len = strlen(srv->last_error);
	while (len > 0 && (srv->last_error[len - 1] == '\n' || srv->last_error[len - 1] == ' '))
		srv->last_error[--len] = '\0';
	pthread_mutex_unlock(&srv->log_lock);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

struct http_server *http_server_new(const struct http_options *opt, struct metrics *metrics)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));

	srv->bind_addr = xstrdup(opt && opt->bind_addr ? opt->bind_addr : "127.0.0.1");
	srv->port = opt ? opt->port : 0;
	srv->max_body = opt && opt->max_body ? opt->max_body : DEFAULT_MAX_BODY;
	srv->threads = opt && opt->threads ? opt->threads : 1;
	srv->metrics = metrics;
	atomic_init(&srv->draining, false);
	pthread_mutex_init(&srv->log_lock, NULL);
	if (metrics)
		srv->requests = metrics_counter(
		        metrics, "http_requests_total",
		        "HTTP requests answered, by route pattern (\"unmatched\" for unknown "
		        "paths and methods) and status code.",
		        "route,code");
	return srv;
}

int http_server_start(struct http_server *srv, char *err, size_t errlen)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	/* poll(), not MHD_USE_AUTO's epoll: with epoll libmicrohttpd 0.9.75 misses a client's close
	 * that comes with its last bytes and keeps the connection (CLOSE_WAIT) until the timeout,
	 * so a thousand clients that hang up within a minute lock everyone out
	 * (tests/integration/test_hostile.sh, tests/fuzz/fuzz_assigner_http.c). */
	unsigned int flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;

	if (srv->daemon) {
		snprintf(err, errlen, "HTTP server already started");
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, srv->bind_addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(srv->port);
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, srv->bind_addr, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(srv->port);
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "HTTP address %s is not an IPv4 or IPv6 address",
		         srv->bind_addr);
		return -1;
	}
	srv->last_error[0] = '\0';
	if (srv->threads > 1)
		srv->daemon = MHD_start_daemon(
		        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, sa,
		        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_EXTERNAL_LOGGER,
		        on_mhd_log, srv, MHD_OPTION_CONNECTION_TIMEOUT,
		        (unsigned int)CONNECTION_TIMEOUT_S, MHD_OPTION_THREAD_POOL_SIZE,
		        (unsigned int)srv->threads, MHD_OPTION_END);
	else
		srv->daemon = MHD_start_daemon(
		        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, sa,
		        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_EXTERNAL_LOGGER,
		        on_mhd_log, srv, MHD_OPTION_CONNECTION_TIMEOUT,
		        (unsigned int)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!srv->daemon) {
		pthread_mutex_lock(&srv->log_lock);
		snprintf(err, errlen, "HTTP server on %s:%u did not start: %s", srv->bind_addr,
		         (unsigned)srv->port, *srv->last_error ? srv->last_error : "unknown error");
		pthread_mutex_unlock(&srv->log_lock);
		return -1;
	}
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->bound_port = info && info->port ? info->port : srv->port;
	return 0;
}

uint16_t http_server_port(const struct http_server *srv)
{
	return srv && srv->daemon ? srv->bound_port : 0;
}

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	for (size_t i = 0; i < srv->nroutes; i++)
		route_clear(&srv->routes[i]);
	free(srv->routes);
	for (size_t i = 0; i < srv->nchecks; i++)
		free(srv->checks[i].name);
	free(srv->checks);
	pthread_mutex_destroy(&srv->log_lock);
	free(srv->bind_addr);
	free(srv);
}
