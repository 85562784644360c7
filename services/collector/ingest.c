/* ingest: POST /v1/messages (see ingest.h). */
#include "ingest.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collector.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"
#include "xalloc.h"

struct token {
	char *secret;
	char **sources; /* NULL-terminated; {"*"} means any accepted source */
};

struct ingest {
	struct collector *c;
	struct token *tokens;
	size_t ntokens;
	char **sources; /* accepted over HTTP, NULL-terminated */
};

/* Splits s at sep into a NULL-terminated array of trimmed, non-empty copies. */
static char **split(const char *s, char sep)
{
	char **out = xcalloc(1, sizeof(*out));
	size_t n = 0;

	while (s && *s) {
		const char *end = strchr(s, sep);
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *a = s, *b = s + len;
		while (a < b && (*a == ' ' || *a == '\t' || *a == '\n'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n'))
			b--;
		if (b > a) {
			out = xrealloc(out, (n + 2) * sizeof(*out));
			out[n++] = xstrndup(a, (size_t)(b - a));
			out[n] = NULL;
		}
		s = end ? end + 1 : NULL;
	}
	return out;
}

static void free_list(char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}

static bool in_list(char *const *list, const char *s)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(list[i], s) || !strcmp(list[i], "*"))
			return true;
	return false;
}

struct ingest *ingest_new(struct collector *c, char *err, size_t errlen)
{
	struct ingest *in = xcalloc(1, sizeof(*in));
	char **entries = split(c->settings.ingest_tokens, ',');

	in->c = c;
	in->sources = split(c->settings.ingest_sources, ',');
	for (size_t i = 0; entries[i]; i++) {
		char *eq = strchr(entries[i], '=');
		if (!eq || eq == entries[i] || !eq[1]) {
			/* The entry holds a secret: name its position, never its text. */
			snprintf(err, errlen, "INGEST_TOKENS: entry %zu is not token=source|source",
			         i + 1);
			free_list(entries);
			ingest_free(in);
			return NULL;
		}
		*eq = '\0';
		in->tokens = xrealloc(in->tokens, (in->ntokens + 1) * sizeof(*in->tokens));
		in->tokens[in->ntokens].secret = xstrdup(entries[i]);
		in->tokens[in->ntokens].sources = split(eq + 1, '|');
		in->ntokens++;
	}
	free_list(entries);
	return in;
}

void ingest_free(struct ingest *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->ntokens; i++) {
		free(in->tokens[i].secret);
		free_list(in->tokens[i].sources);
	}
	free(in->tokens);
	free_list(in->sources);
	free(in);
}

static const struct token *authenticate(const struct ingest *in, const struct http_request *req)
{
	const char *given = http_request_bearer(req);
	if (!given)
		return NULL;
	const struct token *found = NULL;
	for (size_t i = 0; i < in->ntokens; i++)
		if (http_secret_equal(in->tokens[i].secret, given))
			found = &in->tokens[i];
	return found;
}

int ingest_decode_item(const json_t *item, struct message *m, struct field_error *e)
{
	char now[32];

	if (!json_is_object(item))
		return field_fail(e, "", "must be a JSON object");
	/* The collector owns these: a message.v1 record is made by adding them. */
	json_t *record = json_deep_copy(item);
	rfc3339_format(time_now_ms(), now);
	json_object_set_new(record, "schema", json_string(MESSAGE_SCHEMA));
	json_object_set_new(record, "id", json_string("pending"));
	json_object_set_new(record, "received_at", json_string(now));
	json_object_del(record, "revision");
	int rc = message_decode(record, m, e);
	json_decref(record);
	return rc;
}

/* The items of the body, each either a parsed value or the parse error of its NDJSON line. */
struct item {
	json_t *value;
	int line; /* NDJSON line number, 0 for JSON bodies */
	char parse_error[160];
};

static void item_result(json_t *items, size_t index, const struct item *it, const char *status,
                        const char *id, const char *error, const struct field_error *fe)
{
	json_t *r = json_pack("{s:I, s:s}", "index", (json_int_t)index, "status", status);
	if (it->line)
		json_object_set_new(r, "line", json_integer(it->line));
	if (id)
		json_object_set_new(r, "id", json_string(id));
	if (error) {
		json_object_set_new(r, "error", json_string(error));
		json_object_set_new(r, "field", json_string(fe->field));
		json_object_set_new(r, "message", json_string(fe->message));
	}
	json_array_append_new(items, r);
}

static bool content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	return ct && !strncasecmp(ct, want, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Splits an NDJSON body into items; blank lines are skipped. */
static struct item *parse_ndjson(const char *body, size_t len, size_t *n)
{
	struct item *items = NULL;
	size_t count = 0;
	int line = 0;

	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - body) : len;
		line++;
		size_t a = pos;
		while (a < end && (body[a] == ' ' || body[a] == '\t' || body[a] == '\r'))
			a++;
		if (a < end) {
			json_error_t je;
			items = xrealloc(items, (count + 1) * sizeof(*items));
			memset(&items[count], 0, sizeof(items[count]));
			items[count].line = line;
			items[count].value =
			        json_loadb(body + a, end - a, JSON_REJECT_DUPLICATES, &je);
			if (!items[count].value)
				snprintf(items[count].parse_error, sizeof(items[count].parse_error),
				         "invalid JSON at column %d: %.100s", je.column, je.text);
			count++;
		}
		pos = end + 1;
	}
	*n = count;
	return items;
}

static void handle_post(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct ingest *in = ctx;
	struct collector *c = in->c;
	const struct token *token = authenticate(in, req);
	const char *ct = http_request_header(req, "Content-Type");
	struct item *items = NULL;
	size_t n = 0;

	if (!token) {
		http_respond_error(resp, 401, "unauthorized", NULL,
		                   http_request_header(req, "Authorization")
		                           ? "unknown token"
		                           : "missing Authorization: Bearer <token>");
		return;
	}
	bool ndjson = content_type_is(ct, "application/x-ndjson");
	if (!ndjson && !content_type_is(ct, "application/json")) {
		http_respond_error(resp, 415, "unsupported_media_type", NULL,
		                   "Content-Type must be application/json or application/x-ndjson");
		return;
	}
	if (req->body_len == 0) {
		http_respond_error(resp, 400, "invalid_request", NULL, "the body is empty");
		return;
	}
	if (ndjson) {
		items = parse_ndjson(req->body, req->body_len, &n);
	} else {
		json_error_t je;
		json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!doc) {
			char msg[256];
			snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s",
			         je.line, je.column, je.text);
			http_respond_error(resp, 400, "invalid_json", "", msg);
			return;
		}
		if (json_is_array(doc)) {
			n = json_array_size(doc);
			items = xcalloc(n ? n : 1, sizeof(*items));
			for (size_t i = 0; i < n; i++)
				items[i].value = json_incref(json_array_get(doc, i));
		} else {
			n = 1;
			items = xcalloc(1, sizeof(*items));
			items[0].value = json_incref(doc);
		}
		json_decref(doc);
	}
	struct message *msgs = xcalloc(n ? n : 1, sizeof(*msgs));
	struct intake_result *res = xcalloc(n ? n : 1, sizeof(*res));
	bool *valid = xcalloc(n ? n : 1, sizeof(*valid));
	json_t *out_items = json_array();
	struct db *db = NULL;
	char err[512];
	size_t counts[4] = {0};

	if (n == 0) {
		http_respond_error(resp, 400, "invalid_request", NULL, "no messages in the body");
		goto out;
	}
	if ((int64_t)n > c->settings.ingest_max_items) {
		snprintf(err, sizeof(err), "at most %lld messages per request, got %zu",
		         (long long)c->settings.ingest_max_items, n);
		http_respond_error(resp, 413, "too_many_items", NULL, err);
		goto out;
	}
	/* Decode all first: a forbidden source anywhere refuses the whole request. */
	for (size_t i = 0; i < n; i++) {
		if (!items[i].value) {
			res[i].status = INTAKE_REJECTED;
			field_fail(&res[i].error, "", "%s", items[i].parse_error);
			continue;
		}
		if (ingest_decode_item(items[i].value, &msgs[i], &res[i].error) < 0) {
			res[i].status = INTAKE_REJECTED;
			continue;
		}
		if (!in_list(in->sources, msgs[i].source) || !strcmp(msgs[i].source, "*")) {
			res[i].status = INTAKE_REJECTED;
			field_fail(&res[i].error, "source", "unknown source \"%s\"",
			           msgs[i].source);
			continue;
		}
		if (!in_list(token->sources, msgs[i].source)) {
			snprintf(err, sizeof(err),
			         "this token may not submit messages for source \"%s\"",
			         msgs[i].source);
			http_respond_error(resp, 403, "forbidden", "source", err);
			goto out;
		}
		valid[i] = true;
	}
	/* Submit the valid ones together, keeping their positions for the answer. */
	size_t k = 0;
	size_t *index = xcalloc(n, sizeof(*index));
	struct message *batch = xcalloc(n, sizeof(*batch));
	struct intake_result *batch_res = xcalloc(n, sizeof(*batch_res));
	for (size_t i = 0; i < n; i++)
		if (valid[i]) {
			batch[k] = msgs[i];
			memset(&msgs[i], 0, sizeof(msgs[i])); /* moved */
			index[k++] = i;
		}
	int rc = 0;
	if (k) {
		db = db_pool_acquire(c->pool, 5000, err, sizeof(err));
		rc = db ? intake_submit(c, db, NULL, batch, NULL, k, batch_res, err, sizeof(err))
		        : -1;
	}
	for (size_t j = 0; j < k; j++) {
		res[index[j]] = batch_res[j];
		msgs[index[j]] = batch[j]; /* moved back: ids are read below */
	}
	free(index);
	free(batch);
	free(batch_res);
	if (rc < 0) {
		log_error("ingest: nothing stored", "{s:s}", "error", err);
		http_response_header(resp, "Retry-After", "1");
		http_respond_error(resp, 503, "unavailable", NULL,
		                   "the database is unavailable; nothing was stored, retry");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		static const char *const names[] = {"accepted", "duplicate", "updated", "rejected"};
		counts[res[i].status]++;
		if (res[i].status != INTAKE_REJECTED) {
			item_result(out_items, i, &items[i], names[res[i].status], msgs[i].id, NULL,
			            NULL);
			continue;
		}
		/* intake_submit counted its own rejections; these never reached it. */
		if (!valid[i])
			intake_count_rejected(c, "http", &res[i].error);
		item_result(out_items, i, &items[i], "rejected", NULL,
		            items[i].value ? "invalid_field" : "invalid_json", &res[i].error);
	}
	json_t *body = json_pack("{s:I, s:I, s:I, s:I, s:O}", "accepted",
	                         (json_int_t)counts[INTAKE_ACCEPTED], "duplicates",
	                         (json_int_t)counts[INTAKE_DUPLICATE], "updated",
	                         (json_int_t)counts[INTAKE_UPDATED], "rejected",
	                         (json_int_t)counts[INTAKE_REJECTED], "items", out_items);
	http_respond_json(resp, counts[INTAKE_REJECTED] == n ? 400 : 202, body);
out:
	db_pool_release(c->pool, db);
	json_decref(out_items);
	for (size_t i = 0; i < n; i++) {
		json_decref(items[i].value);
		message_clear(&msgs[i]);
	}
	free(items);
	free(msgs);
	free(res);
	free(valid);
}

int ingest_routes(struct ingest *in, struct http_server *srv)
{
	return http_server_route(srv, "POST /v1/messages", handle_post, in);
}
