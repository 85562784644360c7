/*
 * fake_vk: the VK API methods the collector calls (wall.get, wall.getComments,
 * newsfeed.search), answering from the world's visible lines whose channel is "vk", and the
 * one the notifier calls (wall.createComment, POSTed as a form, the comment recorded in the
 * world's published list), in the shapes of VK's JSON schema
 * (github.com/VKCOM/vk-api-schema, version 5.199: wall_get_response, wall_getComments_response,
 * newsfeed_search_response, wall_createComment_response, their extended variants with profiles
 * and groups, and base_error).
 *
 * How a demo line becomes a VK object:
 *   - post and comment ids are the line's position in the world + 1. Like VK's, they grow
 *     with publication order and posts and comments of one wall share one sequence;
 *   - owner_id is community.id; a line whose author has the community's name was posted by
 *     the community (from_id = owner_id), otherwise from_id is author.id (a user);
 *   - a comment ("kind":"comment") belongs to the post whose line id is its "parent";
 *   - "lat"/"lon" become geo {"type":"point","coordinates":"<lat> <lon>"}, and "address" a
 *     geo.place (base_place: title, address);
 *   - a line with "edit_of":"<id>" edits that earlier line: its text replaces the original's
 *     and its time is the post's "edited" date. It is not a post of its own.
 *
 * Every answer is HTTP 200 with {"response":...} or {"error":{"error_code",...}}, as VK's.
 * A wrong access_token gets error 5, a missing v error 8, and a fault taken from the world
 * (fake_take_fault) is answered with its error_code, or with its HTTP status.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake.h"
#include "http.h"
#include "timefmt.h"
#include "xalloc.h"

#define VK_CONTENT_TYPE "application/json; charset=utf-8"

/* One post or comment as VK shows it. */
struct vk_item {
	const json_t *line;
	json_int_t id;
	json_int_t owner_id;
	json_int_t from_id;
	json_int_t post_id; /* comments: the post's id; posts: 0 */
	int64_t date;
	int64_t edited; /* 0: never */
	const char *text;
	int ncomments; /* posts: how many comments */
};

struct vk_view {
	struct vk_item *items;
	size_t n;
	json_t *lines; /* the visible lines (keeps the items' borrowed pointers alive) */
};

/* ---- small helpers ------------------------------------------------------------------------ */

static const char *community_name(const json_t *line)
{
	return fake_str(json_object_get(line, "community"), "name");
}

/* from_id of a line: the community itself when the author has its name, else the user. */
static json_int_t line_from_id(const json_t *line, json_int_t owner_id)
{
	const json_t *author = json_object_get(line, "author");
	const char *aname = fake_str(author, "name");
	const char *cname = community_name(line);
	json_int_t uid = fake_int(fake_str(author, "id"), 0);

	if (!author || uid <= 0 || (aname && cname && strcmp(aname, cname) == 0))
		return owner_id;
	return uid;
}

static void view_free(struct vk_view *v)
{
	free(v->items);
	json_decref(v->lines);
}

/* Builds the VK view of the world's visible lines. */
static void view_build(struct fake_world *w, struct vk_view *v)
{
	json_t *index = json_object(); /* line id -> position in v->items */
	size_t i;
	json_t *line;

	memset(v, 0, sizeof(*v));
	v->lines = fake_visible_posts(w);
	v->items = xcalloc(json_array_size(v->lines) + 1, sizeof(*v->items));
	json_array_foreach(v->lines, i, line)
	{
		const char *channel = fake_str(line, "channel");
		const char *id = fake_str(line, "id");
		const char *edit_of = fake_str(line, "edit_of");
		const char *text = fake_str(line, "text");

		if (!channel || strcmp(channel, "vk") != 0 || !text)
			continue;
		if (edit_of) {
			json_t *pos = json_object_get(index, edit_of);
			if (pos) {
				struct vk_item *orig = &v->items[json_integer_value(pos)];
				orig->text = text;
				orig->edited = fake_post_time(w, line);
			}
			continue;
		}
		struct vk_item it = {
		        .line = line,
		        .id = (json_int_t)i + 1,
		        .owner_id = fake_int(fake_str(json_object_get(line, "community"), "id"), 0),
		        .date = fake_post_time(w, line),
		        .text = text,
		};
		if (!it.owner_id)
			continue;
		it.from_id = line_from_id(line, it.owner_id);
		const char *kind = fake_str(line, "kind");
		if (kind && strcmp(kind, "comment") == 0) {
			json_t *pos = json_object_get(index, fake_str(line, "parent"));
			if (!pos)
				continue; /* its post is not on any wall we show */
			struct vk_item *post = &v->items[json_integer_value(pos)];
			if (post->post_id)
				continue; /* a comment on a comment: not a wall thread */
			it.post_id = post->id;
			it.owner_id = post->owner_id;
			post->ncomments++;
		}
		if (id)
			json_object_set_new(index, id, json_integer((json_int_t)v->n));
		v->items[v->n++] = it;
	}
	json_decref(index);
}

/* Lower-cases Latin and Cyrillic letters (ё as е), for VK's case-insensitive search. */
static char *fold(const char *s)
{
	size_t n = strlen(s);
	unsigned char *out = xmalloc(n + 1), *o = out;
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		if (*p >= 'A' && *p <= 'Z') {
			*o++ = (unsigned char)(*p++ + 32);
		} else if (p[0] == 0xD0 && p[1] >= 0x90 && p[1] <= 0x9F) { /* А..П */
			*o++ = 0xD0;
			*o++ = (unsigned char)(p[1] + 0x20);
			p += 2;
		} else if (p[0] == 0xD0 && p[1] >= 0xA0 && p[1] <= 0xAF) { /* Р..Я */
			*o++ = 0xD1;
			*o++ = (unsigned char)(p[1] - 0x20);
			p += 2;
		} else if ((p[0] == 0xD0 && p[1] == 0x81) ||
		           (p[0] == 0xD1 && p[1] == 0x91)) { /* Ёё */
			*o++ = 0xD0;
			*o++ = 0xB5;
			p += 2;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return (char *)out;
}

/* Cuts text to at most `chars` code points (wall.getComments preview_length). */
static char *truncate_chars(const char *text, long chars)
{
	const char *p = text;
	long k = 0;

	while (*p && k < chars) {
		p++;
		while ((*p & 0xC0) == 0x80)
			p++;
		k++;
	}
	return xstrndup(text, (size_t)(p - text));
}

/* ---- JSON shapes -------------------------------------------------------------------------- */

static json_t *post_json(const struct vk_item *it)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:{s:i, s:i, s:b}, s:{s:i, s:i, s:i, "
	                      "s:i}, s:{s:i, s:i}}",
	                      "id", it->id, "owner_id", it->owner_id, "from_id", it->from_id,
	                      "date", (json_int_t)it->date, "post_type", "post", "text", it->text,
	                      "comments", "count", it->ncomments, "can_post", 1, "groups_can_post",
	                      1, "likes", "count", 0, "user_likes", 0, "can_like", 1, "can_publish",
	                      1, "reposts", "count", 0, "user_reposted", 0);
	if (it->edited)
		json_object_set_new(o, "edited", json_integer((json_int_t)it->edited));
	const json_t *lat = json_object_get(it->line, "lat");
	const json_t *lon = json_object_get(it->line, "lon");
	const char *address = fake_str(it->line, "address");
	json_t *geo = NULL;
	if (json_is_number(lat) && json_is_number(lon)) {
		char coords[64];
		snprintf(coords, sizeof(coords), "%.6f %.6f", json_number_value(lat),
		         json_number_value(lon));
		geo = json_pack("{s:s, s:s, s:i}", "type", "point", "coordinates", coords,
		                "showmap", 1);
	}
	if (address && *address) {
		if (!geo)
			geo = json_pack("{s:s}", "type", "place");
		json_t *place = json_pack("{s:s, s:s}", "title", address, "address", address);
		if (json_is_number(lat) && json_is_number(lon)) {
			json_object_set_new(place, "latitude", json_real(json_number_value(lat)));
			json_object_set_new(place, "longitude", json_real(json_number_value(lon)));
		}
		json_object_set_new(geo, "place", place);
	}
	if (geo)
		json_object_set_new(o, "geo", geo);
	return o;
}

static json_t *comment_json(const struct vk_item *it, long preview_length)
{
	char *text = preview_length > 0 ? truncate_chars(it->text, preview_length) : NULL;
	json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:I, s:I, s:[], s:{s:i, s:[], s:b, s:b, s:b}, "
	                      "s:{s:i, s:i, s:i}}",
	                      "id", it->id, "from_id", it->from_id, "date", (json_int_t)it->date,
	                      "text", text ? text : it->text, "post_id", it->post_id, "owner_id",
	                      it->owner_id, "parents_stack", "thread", "count", 0, "items",
	                      "can_post", 1, "show_reply_button", 1, "groups_can_post", 1, "likes",
	                      "count", 0, "user_likes", 0, "can_like", 1);
	free(text);
	return o;
}

/* Adds the extended=1 lists: users and communities named by the items' from_id/owner_id. */
static void add_extended(json_t *response, const struct vk_item *const *items, size_t n)
{
	json_t *profiles = json_array(), *groups = json_array(), *seen = json_object();

	for (size_t i = 0; i < n; i++) {
		const struct vk_item *it = items[i];
		json_int_t ids[2] = {it->from_id, it->owner_id};
		for (int k = 0; k < 2; k++) {
			char key[32];
			snprintf(key, sizeof(key), "%lld", (long long)ids[k]);
			if (json_object_get(seen, key))
				continue;
			json_object_set_new(seen, key, json_true());
			if (ids[k] > 0) {
				const char *name =
				        fake_str(json_object_get(it->line, "author"), "name");
				const char *sp = name ? strchr(name, ' ') : NULL;
				char *first = name ? (sp ? xstrndup(name, (size_t)(sp - name))
				                         : xstrdup(name))
				                   : xstrdup("");
				json_array_append_new(profiles,
				                      json_pack("{s:I, s:s, s:s, s:b, s:b}", "id",
				                                ids[k], "first_name", first,
				                                "last_name", sp ? sp + 1 : "",
				                                "can_access_closed", 1, "is_closed",
				                                0));
				free(first);
			} else {
				const char *name = community_name(it->line);
				char screen[40];
				snprintf(screen, sizeof(screen), "club%lld", -(long long)ids[k]);
				json_array_append_new(groups,
				                      json_pack("{s:I, s:s, s:s, s:i, s:s}", "id",
				                                -ids[k], "name", name ? name : "",
				                                "screen_name", screen, "is_closed",
				                                0, "type", "page"));
			}
		}
	}
	json_object_set_new(response, "profiles", profiles);
	json_object_set_new(response, "groups", groups);
	json_decref(seen);
}

static void respond_ok(struct http_response *resp, json_t *response)
{
	http_respond_json(resp, 200, json_pack("{s:o}", "response", response));
	resp->content_type = VK_CONTENT_TYPE;
}

static void respond_error(struct http_response *resp, const struct http_request *req,
                          const char *method, json_int_t code, const char *msg)
{
	json_t *params = json_pack("[{s:s, s:s}, {s:s, s:s}]", "key", "method", "value",
	                           method ? method : "", "key", "oauth", "value", "1");
	static const char *const echoed[] = {"v", "owner_id", "post_id", "q", NULL};
	for (const char *const *p = echoed; *p; p++) {
		const char *v = http_request_query(req, *p);
		if (v)
			json_array_append_new(params,
			                      json_pack("{s:s, s:s}", "key", *p, "value", v));
	}
	http_respond_json(resp, 200,
	                  json_pack("{s:{s:I, s:s, s:o}}", "error", "error_code", code, "error_msg",
	                            msg, "request_params", params));
	resp->content_type = VK_CONTENT_TYPE;
}

/* The error_msg VK gives for the codes a fault may ask for. */
static const char *error_text(json_int_t code)
{
	switch (code) {
	case 1:
		return "Unknown error occurred";
	case 5:
		return "User authorization failed: invalid access_token (4).";
	case 6:
		return "Too many requests per second";
	case 9:
		return "Flood control";
	case 10:
		return "Internal server error";
	case 15:
		return "Access denied";
	case 17:
		return "Validation required";
	case 18:
		return "User was deleted or banned";
	case 27:
		return "Group authorization failed";
	case 28:
		return "Application authorization failed";
	case 29:
		return "Rate limit reached";
	case 30:
		return "This profile is private";
	case 100:
		return "One of the parameters specified was missing or invalid";
	default:
		return "Unknown error occurred";
	}
}

/* ---- methods ------------------------------------------------------------------------------ */

static long query_long(const struct http_request *req, const char *name, long dflt)
{
	return (long)fake_int(http_request_query(req, name), dflt);
}

static bool query_flag(const struct http_request *req, const char *name)
{
	const char *v = http_request_query(req, name);
	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
}

static long clamp(long v, long lo, long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int by_id_desc(const void *a, const void *b)
{
	const struct vk_item *x = *(const struct vk_item *const *)a;
	const struct vk_item *y = *(const struct vk_item *const *)b;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static int by_id_asc(const void *a, const void *b)
{
	return by_id_desc(b, a);
}

static int by_date_desc(const void *a, const void *b)
{
	const struct vk_item *x = *(const struct vk_item *const *)a;
	const struct vk_item *y = *(const struct vk_item *const *)b;
	if (x->date != y->date)
		return x->date < y->date ? 1 : -1;
	return by_id_desc(a, b);
}

/* wall.get: a wall's posts, newest first; offset/count (at most 100). */
static void wall_get(const struct http_request *req, struct http_response *resp,
                     const struct vk_view *v)
{
	json_int_t owner = fake_int(http_request_query(req, "owner_id"), 0);
	long offset = clamp(query_long(req, "offset", 0), 0, 1L << 30);
	long count = clamp(query_long(req, "count", 20), 0, 100);

	if (!owner) {
		respond_error(resp, req, "wall.get", 100,
		              "One of the parameters specified was missing or invalid: owner_id is "
		              "undefined");
		return;
	}
	const struct vk_item **sel = xcalloc(v->n + 1, sizeof(*sel));
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++)
		if (!v->items[i].post_id && v->items[i].owner_id == owner)
			sel[n++] = &v->items[i];
	qsort(sel, n, sizeof(*sel), by_id_desc);
	json_t *items = json_array();
	size_t from = (size_t)offset < n ? (size_t)offset : n;
	size_t to = from + (size_t)count < n ? from + (size_t)count : n;
	for (size_t i = from; i < to; i++)
		json_array_append_new(items, post_json(sel[i]));
	json_t *r = json_pack("{s:I, s:o}", "count", (json_int_t)n, "items", items);
	if (query_flag(req, "extended"))
		add_extended(r, sel + from, to - from);
	free(sel);
	respond_ok(resp, r);
}

/* wall.getComments: a post's comments, sort asc (default) or desc, from start_comment_id,
 * then offset/count (default 10, at most 100); text cut to preview_length (default 90). */
static void wall_get_comments(const struct http_request *req, struct http_response *resp,
                              const struct vk_view *v)
{
	json_int_t owner = fake_int(http_request_query(req, "owner_id"), 0);
	json_int_t post_id = fake_int(http_request_query(req, "post_id"), 0);
	long offset = clamp(query_long(req, "offset", 0), 0, 1L << 30);
	long count = clamp(query_long(req, "count", 10), 0, 100);
	long preview = query_long(req, "preview_length", 90);
	json_int_t start = fake_int(http_request_query(req, "start_comment_id"), 0);
	const char *sort = http_request_query(req, "sort");
	bool desc = sort && strcmp(sort, "desc") == 0;
	const struct vk_item *post = NULL;

	for (size_t i = 0; i < v->n; i++)
		if (!v->items[i].post_id && v->items[i].id == post_id &&
		    v->items[i].owner_id == owner)
			post = &v->items[i];
	if (!post) {
		respond_error(resp, req, "wall.getComments", 100,
		              "One of the parameters specified was missing or invalid: post_id is "
		              "invalid");
		return;
	}
	const struct vk_item **sel = xcalloc(v->n + 1, sizeof(*sel));
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++)
		if (v->items[i].post_id == post_id && v->items[i].owner_id == owner)
			sel[n++] = &v->items[i];
	qsort(sel, n, sizeof(*sel), desc ? by_id_desc : by_id_asc);
	size_t begin = 0;
	if (start > 0)
		while (begin < n && (desc ? sel[begin]->id > start : sel[begin]->id < start))
			begin++;
	size_t from = begin + (size_t)offset < n ? begin + (size_t)offset : n;
	size_t to = from + (size_t)count < n ? from + (size_t)count : n;
	json_t *items = json_array();
	for (size_t i = from; i < to; i++)
		json_array_append_new(items, comment_json(sel[i], preview));
	json_t *r = json_pack("{s:I, s:I, s:i, s:b, s:b, s:o}", "count", (json_int_t)n,
	                      "current_level_count", (json_int_t)n, "can_post", 1,
	                      "show_reply_button", 1, "groups_can_post", 1, "items", items);
	if (query_flag(req, "extended"))
		add_extended(r, sel + from, to - from);
	free(sel);
	respond_ok(resp, r);
}

/* newsfeed.search: posts whose text holds q (case-insensitive), start_time (default 24 hours
 * ago) to end_time (default now), newest first, count (default 30, at most 200), paged with
 * next_from / start_from. */
static void newsfeed_search(const struct http_request *req, struct http_response *resp,
                            const struct vk_view *v)
{
	const char *q = http_request_query(req, "q");
	int64_t now = time_now_ms() / 1000;
	int64_t start_time = fake_int(http_request_query(req, "start_time"), now - 86400);
	int64_t end_time = fake_int(http_request_query(req, "end_time"), now);
	long count = clamp(query_long(req, "count", 30), 0, 200);
	const char *start_from = http_request_query(req, "start_from");
	long offset =
	        start_from && start_from[0] == 'o' ? clamp(atol(start_from + 1), 0, 1L << 30) : 0;
	char *needle = fold(q ? q : "");
	const struct vk_item **sel = xcalloc(v->n + 1, sizeof(*sel));
	size_t n = 0;

	for (size_t i = 0; *needle && i < v->n; i++) {
		const struct vk_item *it = &v->items[i];
		if (it->post_id || it->date < start_time || it->date > end_time)
			continue;
		char *hay = fold(it->text);
		if (strstr(hay, needle))
			sel[n++] = it;
		free(hay);
	}
	free(needle);
	qsort(sel, n, sizeof(*sel), by_date_desc);
	size_t from = (size_t)offset < n ? (size_t)offset : n;
	size_t to = from + (size_t)count < n ? from + (size_t)count : n;
	json_t *items = json_array();
	for (size_t i = from; i < to; i++)
		json_array_append_new(items, post_json(sel[i]));
	json_t *r = json_pack("{s:o, s:I, s:I}", "items", items, "count", (json_int_t)n,
	                      "total_count", (json_int_t)n);
	if (to < n) {
		char next[32];
		snprintf(next, sizeof(next), "o%zu", to);
		json_object_set_new(r, "next_from", json_string(next));
	}
	if (query_flag(req, "extended"))
		add_extended(r, sel + from, to - from);
	free(sel);
	respond_ok(resp, r);
}

/* Percent-decoding of one form value ("+" is a space). Caller frees. */
static char *form_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned hi, lo;
		if (s[i] == '+') {
			out[k++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%1x%1x", &hi, &lo) == 2) {
			out[k++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
	return out;
}

/* An application/x-www-form-urlencoded body as an object of strings (new reference). */
static json_t *form_params(const char *body)
{
	json_t *o = json_object();
	for (const char *p = body; p && *p;) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		if (eq) {
			char *name = form_decode(p, (size_t)(eq - p));
			char *value = form_decode(eq + 1, (size_t)(p + n - eq - 1));
			json_object_set_new(o, name, json_string(value));
			free(name);
			free(value);
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return o;
}

/*
 * wall.createComment (VK accepts every method as GET or POST; the notifier POSTs a form):
 * owner_id, post_id and message required, from_group and reply_to_comment optional. The
 * comment is recorded in the world's published list; its id is its position there.
 */
static void wall_create_comment(struct fake_world *w, const json_t *form,
                                const struct http_request *req, struct http_response *resp)
{
	const char *owner = fake_str(form, "owner_id"), *post = fake_str(form, "post_id");
	const char *message = fake_str(form, "message");
	if (fake_int(owner, 0) == 0 || fake_int(post, 0) <= 0 || !message || !*message) {
		respond_error(resp, req, "wall.createComment", 100,
		              "One of the parameters specified was missing or invalid: owner_id, "
		              "post_id and message are required");
		return;
	}
	json_t *item = json_pack("{s:s, s:s, s:s, s:s}", "api", "vk", "owner_id", owner, "post_id",
	                         post, "message", message);
	if (fake_str(form, "reply_to_comment"))
		json_object_set(item, "reply_to_comment",
		                json_object_get(form, "reply_to_comment"));
	json_int_t id = fake_publish(w, item);
	json_decref(item);
	respond_ok(resp, json_pack("{s:I, s:[]}", "comment_id", id, "parents_stack"));
}

static void vk_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;
	const char *method = http_request_param(req, "method");
	json_t *fault = fake_take_fault(w, "vk", method ? method : "");
	bool post = strcmp(req->method, "POST") == 0;

	if (fault) {
		json_int_t code = json_integer_value(json_object_get(fault, "error_code"));
		json_int_t status = json_integer_value(json_object_get(fault, "status"));
		const char *msg = fake_str(fault, "error_msg");
		if (code)
			respond_error(resp, req, method, code, msg ? msg : error_text(code));
		else if (status >= 400 && status <= 599)
			http_respond_error(resp, (int)status, "injected_fault", NULL,
			                   "fault injected through /control/fault");
		json_decref(fault);
		if (code || (status >= 400 && status <= 599))
			return;
	}
	/* A POST carries its parameters in the form body, a GET in the query string. */
	json_t *form = post ? form_params(req->body) : NULL;
	const char *token =
	        post ? fake_str(form, "access_token") : http_request_query(req, "access_token");
	const char *version = post ? fake_str(form, "v") : http_request_query(req, "v");
	if (!token || !w->vk_token || strcmp(token, w->vk_token) != 0) {
		respond_error(resp, req, method, 5, error_text(5));
	} else if (!version) {
		respond_error(resp, req, method, 8, "Invalid request: v (version) is required");
	} else if (post) {
		if (method && strcmp(method, "wall.createComment") == 0)
			wall_create_comment(w, form, req, resp);
		else
			respond_error(resp, req, method, 3, "Unknown method passed");
	} else {
		struct vk_view v;
		view_build(w, &v);
		if (method && strcmp(method, "wall.get") == 0)
			wall_get(req, resp, &v);
		else if (method && strcmp(method, "wall.getComments") == 0)
			wall_get_comments(req, resp, &v);
		else if (method && strcmp(method, "newsfeed.search") == 0)
			newsfeed_search(req, resp, &v);
		else
			respond_error(resp, req, method, 3, "Unknown method passed");
		view_free(&v);
	}
	json_decref(form);
}

void fake_vk_routes(struct http_server *srv, struct fake_world *w)
{
	http_server_route(srv, "GET /vk/method/{method}", vk_handler, w);
	http_server_route(srv, "POST /vk/method/{method}", vk_handler, w);
}
