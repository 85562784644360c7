/* support: the stand-in remotes and the SMTP server of the notifier's tests (see support.h). */
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "http.h"
#include "strbuf.h"
#include "testenv.h"
#include "timefmt.h"
#include "xalloc.h"

struct remote {
	struct http_server *srv;
	char base[64];
	char *secret;
	pthread_mutex_t lock;
	json_t *requests; /* {"<kind>": [request, ...]} */
	json_t *scripts;  /* {"<kind>": [answer, ...]} */
	long next_id;
	volatile int stopping;
};

const char *jstr(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s ? s : "";
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Records the request and takes the scripted answer for it, if any (new reference). */
static json_t *arrive(struct remote *r, const char *kind, json_t *request)
{
	pthread_mutex_lock(&r->lock);
	json_t *list = json_object_get(r->requests, kind);
	if (!list) {
		list = json_array();
		json_object_set_new(r->requests, kind, list);
	}
	json_array_append_new(list, request);
	json_t *queue = json_object_get(r->scripts, kind);
	json_t *answer = json_array_size(queue) ? json_incref(json_array_get(queue, 0)) : NULL;
	if (answer)
		json_array_remove(queue, 0);
	pthread_mutex_unlock(&r->lock);
	return answer;
}

/* Applies a scripted answer's delay; returns true when it also sets the response. */
static bool answer_scripted(struct remote *r, json_t *answer, struct http_response *resp)
{
	if (!answer)
		return false;
	int delay = (int)json_integer_value(json_object_get(answer, "delay_ms"));
	for (int waited = 0; waited < delay && !r->stopping; waited += 20)
		sleep_ms(20);
	int status = (int)json_integer_value(json_object_get(answer, "status"));
	const char *body = json_string_value(json_object_get(answer, "body"));
	/* Without a body the handler answers in its API's own shape for the status. */
	if (!body)
		return false;
	resp->status = status ? status : 200;
	resp->body = xstrdup(body ? body : "{}");
	resp->body_len = strlen(resp->body);
	return true;
}

static long next_id(struct remote *r)
{
	pthread_mutex_lock(&r->lock);
	long id = ++r->next_id;
	pthread_mutex_unlock(&r->lock);
	return id;
}

static void on_telegram(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct remote *r = ctx;
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	json_t *answer = arrive(r, REMOTE_TELEGRAM,
	                        json_pack("{s:s, s:o}", "path", req->path, "body",
	                                  body ? json_incref(body) : json_null()));
	bool scripted = answer_scripted(r, answer, resp);
	int status = answer ? (int)json_integer_value(json_object_get(answer, "status")) : 0;
	if (!scripted && status >= 400) {
		json_int_t ra = json_integer_value(json_object_get(answer, "retry_after"));
		json_t *err =
		        json_pack("{s:b, s:i, s:s}", "ok", 0, "error_code", status, "description",
		                  status == 429 ? "Too Many Requests: retry after"
		                                : "Bad Request: chat not found");
		if (ra > 0)
			json_object_set_new(err, "parameters",
			                    json_pack("{s:I}", "retry_after", ra));
		http_respond_json(resp, status, err);
	} else if (!scripted) {
		http_respond_json(resp, 200,
		                  json_pack("{s:b, s:{s:i, s:{s:O}}}", "ok", 1, "result",
		                            "message_id", (int)next_id(r), "chat", "id",
		                            json_object_get(body, "chat_id")));
	}
	json_decref(answer);
	json_decref(body);
}

static void on_vk(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct remote *r = ctx;
	json_t *answer =
	        arrive(r, REMOTE_VK, json_pack("{s:s, s:s}", "path", req->path, "body", req->body));
	bool scripted = answer_scripted(r, answer, resp);
	int status = answer ? (int)json_integer_value(json_object_get(answer, "status")) : 0;
	if (!scripted && status >= 400)
		http_respond_error(resp, status, "fault", NULL, "scripted");
	else if (!scripted)
		http_respond_json(
		        resp, 200,
		        json_pack("{s:{s:i}}", "response", "comment_id", (int)next_id(r)));
	json_decref(answer);
}

static void on_hook(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct remote *r = ctx;
	const char *sig = http_request_header(req, "X-Otklik-Signature");
	const char *ts = http_request_header(req, "X-Otklik-Timestamp");
	const char *delivery = http_request_header(req, "X-Otklik-Delivery");
	const char *event = http_request_header(req, "X-Otklik-Event");
	const char *orig = http_request_header(req, "X-Otklik-Original-Url");
	const char *role = http_request_header(req, "X-Otklik-Role");
	bool ok = false;

	/* The receiver's side of the contract, written from the README, not from webhook.c. */
	if (sig && ts && strncmp(sig, "sha256=", 7) == 0) {
		struct strbuf signed_part = {0};
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		strbuf_addf(&signed_part, "%s.", ts);
		strbuf_add(&signed_part, req->body, req->body_len);
		HMAC(EVP_sha256(), r->secret, (int)strlen(r->secret),
		     (const unsigned char *)signed_part.buf, signed_part.len, mac, &maclen);
		for (unsigned int i = 0; i < maclen; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		long age = labs((long)time(NULL) - atol(ts));
		ok = strcmp(sig + 7, hex) == 0 && age < 300;
		strbuf_release(&signed_part);
	}
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	json_t *answer =
	        arrive(r, REMOTE_WEBHOOK,
	               json_pack("{s:s, s:o, s:b, s:s, s:s, s:s, s:s}", "path", req->path, "body",
	                         body ? body : json_null(), "signature_ok", ok, "delivery",
	                         delivery ? delivery : "", "event", event ? event : "",
	                         "original_url", orig ? orig : "", "role", role ? role : ""));
	bool scripted = answer_scripted(r, answer, resp);
	int status = answer ? (int)json_integer_value(json_object_get(answer, "status")) : 0;
	if (!scripted && status >= 400)
		http_respond_error(resp, status, "fault", NULL, "scripted");
	else if (!scripted && !ok)
		http_respond_error(resp, 401, "bad_signature", NULL, "signature does not verify");
	else if (!scripted)
		http_respond_json(resp, 200, json_pack("{s:b}", "received", 1));
	json_decref(answer);
}

struct remote *remote_start(const char *secret)
{
	struct remote *r = xcalloc(1, sizeof(*r));
	struct http_options opt = {.port = 0, .threads = 8};
	char err[256];

	pthread_mutex_init(&r->lock, NULL);
	r->secret = xstrdup(secret);
	r->requests = json_object();
	r->scripts = json_object();
	r->srv = http_server_new(&opt, NULL);
	http_server_route(r->srv, "POST /telegram/{bot}/sendMessage", on_telegram, r);
	http_server_route(r->srv, "POST /vk/wall.createComment", on_vk, r);
	http_server_route(r->srv, "POST /hook/{name}", on_hook, r);
	if (http_server_start(r->srv, err, sizeof(err)) < 0)
		fail_msg("remote: %s", err);
	snprintf(r->base, sizeof(r->base), "http://127.0.0.1:%u", http_server_port(r->srv));
	return r;
}

const char *remote_base(const struct remote *r)
{
	return r->base;
}

void remote_script(struct remote *r, const char *kind, int status, const char *body, int delay_ms,
                   int retry_after)
{
	json_t *a = json_pack("{s:i, s:i, s:i}", "status", status, "delay_ms", delay_ms,
	                      "retry_after", retry_after);
	if (body)
		json_object_set_new(a, "body", json_string(body));
	pthread_mutex_lock(&r->lock);
	json_t *queue = json_object_get(r->scripts, kind);
	if (!queue) {
		queue = json_array();
		json_object_set_new(r->scripts, kind, queue);
	}
	json_array_append_new(queue, a);
	pthread_mutex_unlock(&r->lock);
}

json_t *remote_requests(struct remote *r, const char *kind)
{
	pthread_mutex_lock(&r->lock);
	json_t *list = json_object_get(r->requests, kind);
	json_t *copy = list ? json_deep_copy(list) : json_array();
	pthread_mutex_unlock(&r->lock);
	return copy;
}

int remote_count(struct remote *r, const char *kind)
{
	pthread_mutex_lock(&r->lock);
	int n = (int)json_array_size(json_object_get(r->requests, kind));
	pthread_mutex_unlock(&r->lock);
	return n;
}

int remote_wait(struct remote *r, const char *kind, int n, int ms)
{
	int64_t deadline = time_mono_ms() + ms;
	int got;
	while ((got = remote_count(r, kind)) < n && time_mono_ms() < deadline)
		sleep_ms(20);
	return got;
}

void remote_stop(struct remote *r)
{
	if (!r)
		return;
	r->stopping = 1;
	http_server_free(r->srv);
	json_decref(r->requests);
	json_decref(r->scripts);
	pthread_mutex_destroy(&r->lock);
	free(r->secret);
	free(r);
}

/* ---- SMTP ---------------------------------------------------------------------------------- */

static bool port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

void smtp_start(struct smtp_server *s, const char *name, const char *credentials)
{
	const char *work = getenv("TEST_WORK_DIR");
	char log[600], port[16];

	s->port = testenv_free_port();
	snprintf(s->maildir, sizeof(s->maildir), "%s/%s-%d-%d", work && *work ? work : "/tmp", name,
	         (int)getpid(), s->port);
	mkdir(s->maildir, 0755);
	snprintf(log, sizeof(log), "%s.log", s->maildir);
	snprintf(port, sizeof(port), "%d", s->port);
	/* Debian's interpreter, where python3-aiosmtpd is installed, whatever PATH prefers. */
	char *const argv[] = {"/usr/bin/python3", "tests/notifier/smtp_server.py", port,
	                      s->maildir,         (char *)(uintptr_t)credentials,  NULL};
	testproc_start(&s->proc, "/usr/bin/python3", argv, NULL, log);
	int64_t deadline = time_mono_ms() + 15000;
	while (!port_open(s->port)) {
		if (time_mono_ms() > deadline || !testproc_running(&s->proc)) {
			testproc_print_log(&s->proc, 30);
			fail_msg("the SMTP server did not start on port %d", s->port);
		}
		sleep_ms(50);
	}
}

void smtp_stop(struct smtp_server *s)
{
	testproc_stop(&s->proc, SIGTERM, 5000);
}

/* The header `name` of raw (unfolded), or NULL. Caller frees. */
static char *header(const char *raw, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = raw; line && *line && *line != '\r' && *line != '\n';) {
		const char *end = strchr(line, '\n');
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			struct strbuf sb = {0};
			const char *p = line + n + 1;
			for (;;) {
				const char *e = strchr(p, '\n');
				size_t len = e ? (size_t)(e - p) : strlen(p);
				if (len && p[len - 1] == '\r')
					len--;
				strbuf_add(&sb, p, len);
				if (!e || (e[1] != ' ' && e[1] != '\t'))
					break;
				p = e + 1;
			}
			char *v = strbuf_detach(&sb);
			char *start = v;
			while (*start == ' ')
				start++;
			char *out = xstrdup(start);
			free(v);
			return out;
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Base64 text (whitespace ignored) decoded. Caller frees. */
static char *unbase64(const char *text, size_t len)
{
	char *clean = xmalloc(len + 1);
	size_t k = 0;
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", text[i]))
			clean[k++] = text[i];
	clean[k] = '\0';
	unsigned char *out = xmalloc(k + 1);
	int n = EVP_DecodeBlock(out, (unsigned char *)clean, (int)k);
	if (n < 0)
		n = 0;
	/* EVP_DecodeBlock counts the padding's zero bytes: drop them. */
	while (k > 0 && clean[k - 1] == '=' && n > 0) {
		k--;
		n--;
	}
	out[n] = '\0';
	free(clean);
	return (char *)out;
}

/* "=?UTF-8?B?...?= =?UTF-8?B?...?=" decoded (only the B encoding, which the notifier uses). */
static char *decode_words(const char *v)
{
	struct strbuf sb = {0};
	const char *p = v;
	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		p += 10;
		const char *e = strstr(p, "?=");
		if (!e)
			break;
		char *part = unbase64(p, (size_t)(e - p));
		strbuf_addstr(&sb, part);
		free(part);
		p = e + 2;
	}
	return sb.buf ? strbuf_detach(&sb) : xstrdup(v);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *smtp_messages(const struct smtp_server *s)
{
	char dir[600], err[256];
	json_t *out = json_array();
	snprintf(dir, sizeof(dir), "%s/new", s->maildir);
	DIR *d = opendir(dir);
	if (!d)
		return out;
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	/* Maildir names start with the delivery time: sorted is oldest first. */
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		char path[1200];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *raw = file_read(path, &len, err, sizeof(err));
		free(names[i]);
		if (!raw)
			continue;
		const char *body = strstr(raw, "\r\n\r\n");
		body = body ? body + 4 : (body = strstr(raw, "\n\n")) ? body + 2 : raw + len;
		char *to = header(raw, "To"), *from = header(raw, "From");
		char *subject_raw = header(raw, "Subject"), *mid = header(raw, "Message-ID");
		char *ctype = header(raw, "Content-Type");
		char *subject = subject_raw ? decode_words(subject_raw) : xstrdup("");
		char *text = unbase64(body, strlen(body));
		json_array_append_new(
		        out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "to", to ? to : "",
		                       "from", from ? from : "", "subject", subject, "subject_raw",
		                       subject_raw ? subject_raw : "", "message_id", mid ? mid : "",
		                       "content_type", ctype ? ctype : "", "body", text));
		free(to);
		free(from);
		free(subject_raw);
		free(mid);
		free(ctype);
		free(subject);
		free(text);
		free(raw);
	}
	free(names);
	return out;
}

int smtp_attempts(const struct smtp_server *s, const char *address)
{
	char path[600], err[256];
	size_t len;
	snprintf(path, sizeof(path), "%s/attempts.log", s->maildir);
	char *log = file_read(path, &len, err, sizeof(err));
	int n = 0;
	size_t alen = strlen(address);
	for (const char *p = log; p && *p;) {
		if (strncmp(p, address, alen) == 0 && p[alen] == ' ')
			n++;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	free(log);
	return n;
}

/* ---- events ------------------------------------------------------------------------------- */

json_t *sample_event(const char *event_id, const char *type, long incident, const char *email,
                     const char *hook_base)
{
	char hook[256], url[128], at[32];
	snprintf(hook, sizeof(hook), "%s/hook/gkh", hook_base);
	snprintf(url, sizeof(url), "http://127.0.0.1:8083/v1/incidents/%ld", incident);
	rfc3339_format(time_now_ms(), at);
	json_t *ev = json_pack(
	        "{s:s, s:s, s:s, s:i, s:s,"
	        " s:{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s},"
	        " s:{s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]},"
	        " s:n, s:n, s:n, s:n,"
	        " s:[{s:s, s:s, s:s, s:s, s:{s:s, s:s}}, {s:s, s:s, s:s, s:{s:I, s:I}},"
	        "    {s:s, s:s, s:s, s:s}]}",
	        "schema", "incident_event.v1", "event_id", event_id, "type", type, "incident_id",
	        (int)incident, "occurred_at", at, "incident", "id", (int)incident, "status",
	        strcmp(type, "incident.responded") == 0 ? "responded" : "assigned", "topic",
	        "housing", "subtopic", "housing.heating", "municipality", "abakan",
	        "municipality_name", "Абакан", "urgency", "high", "summary",
	        "Третий день нет отопления в доме по ул. Щетинкина 18, батареи ледяные, дети "
	        "мёрзнут",
	        "address", "Абакан, ул. Щетинкина, 18", "reports", 3, "affected", 3, "opened_at",
	        "2026-11-28T03:15:02.120Z", "first_answer_due", "2026-11-28T07:15:02.120Z",
	        "final_answer_due", "2026-12-03T03:15:02.120Z", "url", url, "authority", "id",
	        "abakan_gkh", "name", "Управление ЖКХ Администрации г. Абакана", "parent",
	        "abakan_admin", "channels", "type", "email", "address", email, "type", "telegram",
	        "chat_id", "-100200300", "type", "webhook", "url", hook, "parent_authority",
	        "previous_authority", "answer", "feedback", "reports", "message_id",
	        "vk:-170000001_4512", "source", "vk", "external_id", "-170000001_4512", "url",
	        "https://vk.com/wall-170000001_4512", "thread", "owner_id", "-170000001", "post_id",
	        "4512", "message_id", "telegram:-1001234_77", "source", "telegram", "external_id",
	        "-1001234_77", "thread", "chat_id", (json_int_t)-1001234, "message_id",
	        (json_int_t)77, "message_id", "rss:news-1", "source", "rss", "external_id",
	        "news-1", "url", "https://news.example/1");
	if (!ev)
		fail_msg("sample_event: bad pack format");
	if (!strcmp(type, "incident.overdue") || !strcmp(type, "incident.escalated"))
		json_object_set_new(ev, "parent_authority",
		                    json_pack("{s:s, s:s, s:n, s:[{s:s, s:s}, {s:s, s:s}]}", "id",
		                              "abakan_admin", "name", "Администрация г. Абакана",
		                              "parent", "channels", "type", "email", "address",
		                              "admin@abakan.example", "type", "telegram", "chat_id",
		                              "-100999"));
	if (!strcmp(type, "incident.reassigned"))
		json_object_set_new(ev, "previous_authority",
		                    json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", "chernogorsk_gkh",
		                              "name", "Управление ЖКХ г. Черногорска", "channels",
		                              "type", "email", "address",
		                              "prev@chernogorsk.example"));
	if (!strcmp(type, "incident.responded"))
		json_object_set_new(ev, "answer",
		                    json_pack("{s:s, s:s, s:s, s:s}", "kind", "final", "text",
		                              "Отопление восстановлено 28.11 в 12:00, проведена "
		                              "промывка стояка.",
		                              "author", "Управление ЖКХ г. Абакана", "at", at));
	return ev;
}
