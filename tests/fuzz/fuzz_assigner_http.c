/*
 * Fuzz target: HTTP request parsing, end to end without a network. Each input is sent as raw
 * bytes over loopback to a real http_server (shared/http.c on libmicrohttpd) in this process,
 * whose routes run the assigner API's own readers of untrusted request parts (api.c and
 * open311.c, included for their static helpers): the incident {id} in the path, the list's
 * limit and cursor, the JSON action body and every action's decoder, the Open311 time and
 * service_request_id parameters, the RFC 3339 query times. What they answer is not checked;
 * what is: nothing crashes (ASan/UBSan in the server's threads end the run) and the server
 * answers the next request.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../services/assigner/api.c"
#include "../../services/assigner/open311.c"
#include "log.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void on_list(void *ctx, const struct http_request *req, struct http_response *resp)
{
	long limit;
	long long cursor_us, cursor_id;
	bool has_cursor, present;
	int64_t ms;

	(void)ctx;
	if (page_params(req, resp, &limit, &cursor_us, &cursor_id, &has_cursor) < 0 ||
	    api_query_time(req, resp, "from", &ms, &present) < 0)
		return;
	http_respond_json(resp, 200, json_pack("{s:I}", "limit", (json_int_t)limit));
}

static void on_action(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const char *name = http_request_param(req, "action");
	int64_t id;
	json_t *body;
	bool refused = false;

	(void)ctx;
	if (path_id(req, resp, &id) < 0 || !(body = read_body(req, resp)))
		return;
	for (size_t i = 0; i < sizeof(action_routes) / sizeof(action_routes[0]); i++) {
		struct action_body b;
		struct field_error e;

		memset(&b, 0, sizeof(b));
		if (strcmp(action_routes[i].name, name) == 0 &&
		    action_routes[i].decode(body, &b, &e) < 0) {
			http_respond_error(resp, 400, "invalid_field", e.field, e.message);
			refused = true;
		}
	}
	json_decref(body);
	if (!refused)
		http_respond_json(resp, 202, json_object());
}

static void on_open311(void *ctx, const struct http_request *req, struct http_response *resp)
{
	int64_t ms;
	bool present;
	const char *ids = http_request_query(req, "service_request_id");
	char *list = NULL;

	(void)ctx;
	if (time_param(req, resp, "start_date", &ms, &present) < 0 ||
	    (ids && !(list = id_list(ids, resp))))
		return;
	free(list);
	http_respond_json(resp, 200, json_array());
}

static uint16_t start_server(void)
{
	static const struct http_options opt = {.max_body = 64 * 1024, .threads = 2};
	struct http_server *srv = http_server_new(&opt, metrics_new());
	char err[256];

	log_init("fuzz", LOG_LEVEL_ERROR);
	if (!srv || http_server_route(srv, "GET /v1/incidents", on_list, NULL) < 0 ||
	    http_server_route(srv, "POST /v1/incidents/{id}/{action}", on_action, NULL) < 0 ||
	    http_server_route(srv, "GET /open311/v2/requests.json", on_open311, NULL) < 0 ||
	    http_server_start(srv, err, sizeof(err)) < 0)
		abort();
	return http_server_port(srv); /* serves until the process ends */
}

/* Sends data, half-closes, and reads the answer until the server closes, or until nothing
 * more came for idle_ms (an incomplete request, or a kept-alive connection, is never closed
 * by the server). Returns the number of bytes answered. */
static size_t exchange(uint16_t port, const void *data, size_t size, int idle_ms)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 2};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	char buf[4096];
	ssize_t r;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (size_t off = 0; off < size; off += (size_t)r) {
		r = send(fd, (const char *)data + off, size - off, MSG_NOSIGNAL);
		if (r <= 0)
			break;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, idle_ms) <= 0 || (r = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return got;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char probe[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	static uint16_t port;

	if (!port)
		port = start_server();
	exchange(port, data, size, 10);
	/* Whatever that was, the server still answers; a machine under load gets three tries
	 * of 5 s (a dead or hung server gets none right). */
	for (int tries = 0; exchange(port, probe, sizeof(probe) - 1, 5000) == 0; tries++) {
		if (tries == 2) {
			fprintf(stderr, "the server stopped answering\n");
			abort();
		}
	}
	return 0;
}
