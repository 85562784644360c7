/*
 * vk: the VK API poller (one source "vk" per access token).
 *
 * Each poll reads, for every configured community, its wall (wall.get, newest first, paged
 * with offset until it reaches the highest post id already stored), the comments of its most
 * recent posts (wall.getComments, newest first, down to the last comment id stored), and then
 * runs newsfeed.search for every keyword from the date of the newest post it found last time
 * (paged with next_from). Every page goes through intake_submit; a cursor moves only after
 * everything it covers is stored, so a crash or an error re-reads rather than skips.
 *
 * VK allows 3 requests per second per token: requests are spaced 334 ms apart. Errors
 * (https://dev.vk.com/ru/reference/errors): 6 "too many requests per second", 9 "flood
 * control" and 29 "rate limit reached" slow the source down; 5 "authorization failed" and
 * 15, 17, 27, 28 (access, validation, group and application authorization) need an operator;
 * 10 "internal server error", HTTP 5xx and network failures are retried. The access token
 * travels as the access_token query parameter, as VK documents, and never into an error or
 * a log line.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "fetch.h"
#include "log.h"
#include "message.h"
#include "sources.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

#define VK_DEFAULT_API_URL "https://api.vk.com/method"
#define VK_DEFAULT_VERSION "5.199"
#define VK_PAGE 100 /* wall.get, wall.getComments and newsfeed.search page size */
#define VK_MAX_PAGES                                                                               \
	10                    /* per wall, post or keyword in one poll: a first poll of a
                                 busy community takes its newest 1000 posts, not its history */
#define VK_REQUEST_GAP_MS 334 /* 3 requests per second per token */
#define VK_TIMEOUT_MS 30000

struct vk_community {
	char *owner_id; /* "-10001" */
	char *name; /* from the configuration ("-10001=Типичный Абакан"), or NULL */
};

struct vk_impl {
	char *api_url;
	char *token;
	char *version;
	struct vk_community *communities;
	size_t ncommunities;
	char **keywords;
	size_t nkeywords;
	int comment_posts;
	int64_t next_request_ms; /* monotonic: when the next request may go out */
};

/* The extended=1 lists of a response, for authors' and communities' names. */
struct vk_names {
	const json_t *profiles;
	const json_t *groups;
};

/* A post whose comments this poll reads. */
struct vk_recent {
	json_int_t post_id;
	json_int_t comments;
};

/* ---- configuration ------------------------------------------------------------------------ */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static bool parse_owner_id(const char *s, long long *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || v == 0)
		return false;
	*out = v;
	return true;
}

static void vk_impl_free(void *p)
{
	struct vk_impl *vk = p;

	if (!vk)
		return;
	for (size_t i = 0; i < vk->ncommunities; i++) {
		free(vk->communities[i].owner_id);
		free(vk->communities[i].name);
	}
	for (size_t i = 0; i < vk->nkeywords; i++)
		free(vk->keywords[i]);
	free(vk->communities);
	free(vk->keywords);
	free(vk->api_url);
	free(vk->token);
	free(vk->version);
	free(vk);
}

/* Reads "-10001,-10002=Name" into vk->communities. */
static int parse_communities(struct vk_impl *vk, const char *list, char *err, size_t errlen)
{
	char *copy = xstrdup(list ? list : ""), *save = NULL;
	int rc = 0;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *item = trim(tok), *name = NULL, *eq = strchr(item, '=');
		long long id;

		if (*item == '\0')
			continue;
		if (eq) {
			*eq = '\0';
			name = trim(eq + 1);
			item = trim(item);
		}
		if (!parse_owner_id(item, &id)) {
			snprintf(err, errlen,
			         "VK_COMMUNITIES: \"%.60s\" is not an owner id (a number, negative "
			         "for a community: -10001 or -10001=Name)",
			         item);
			rc = -1;
			break;
		}
		vk->communities = xrealloc(vk->communities,
		                           (vk->ncommunities + 1) * sizeof(*vk->communities));
		vk->communities[vk->ncommunities].owner_id = xasprintf("%lld", id);
		vk->communities[vk->ncommunities].name = name && *name ? xstrdup(name) : NULL;
		vk->ncommunities++;
	}
	free(copy);
	return rc;
}

static void parse_keywords(struct vk_impl *vk, const char *list)
{
	char *copy = xstrdup(list ? list : ""), *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *kw = trim(tok);
		if (*kw == '\0')
			continue;
		vk->keywords = xrealloc(vk->keywords, (vk->nkeywords + 1) * sizeof(*vk->keywords));
		vk->keywords[vk->nkeywords++] = xstrdup(kw);
	}
	free(copy);
}

/* ---- requests ----------------------------------------------------------------------------- */

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits for the request slot; false when the service stops meanwhile. */
static bool wait_turn(struct vk_impl *vk, const volatile sig_atomic_t *stop)
{
	for (;;) {
		if (stop && *stop)
			return false;
		int64_t left = vk->next_request_ms - time_mono_ms();
		if (left <= 0)
			break;
		sleep_ms(left < 50 ? left : 50);
	}
	return true;
}

/* Sorts a VK error code into what the runner should do. */
static enum poll_status error_status(json_int_t code)
{
	switch (code) {
	case 6:  /* too many requests per second */
	case 9:  /* flood control */
	case 29: /* rate limit reached */
		return POLL_RATE_LIMITED;
	case 5:  /* user authorization failed */
	case 15: /* access denied */
	case 17: /* validation required */
	case 27: /* group authorization failed */
	case 28: /* application authorization failed */
		return POLL_FAILED;
	default: /* 10 internal server error, and whatever else: try again later */
		return POLL_RETRY;
	}
}

/*
 * Calls `method` with `params` (an encoded query string without the token and version) and
 * sets *out to a new reference to the "response" member. Returns 0, or -1 with res filled.
 */
static int vk_call(struct vk_impl *vk, struct source_env *env, const char *method,
                   const char *params, json_t **out, struct poll_result *res)
{
	struct fetch_response resp;
	char err[256];
	json_t *doc = NULL;
	int rc = -1;

	*out = NULL;
	if (!wait_turn(vk, env->stop)) {
		poll_result_set(res, POLL_RETRY, "%s: stopped", method);
		return -1;
	}
	char *tok = fetch_escape(vk->token);
	char *ver = fetch_escape(vk->version);
	char *url =
	        xasprintf("%s/%s?%s&access_token=%s&v=%s", vk->api_url, method, params, tok, ver);
	char *shown = xasprintf("%s/%s", vk->api_url, method);
	struct fetch_request req = {
	        .url = url,
	        .timeout_ms = VK_TIMEOUT_MS,
	        .stop = env->stop,
	        .display_url = shown,
	};
	int frc = fetch(&req, &resp, err, sizeof(err));
	vk->next_request_ms = time_mono_ms() + VK_REQUEST_GAP_MS;
	free(tok);
	free(ver);
	free(url);
	free(shown);
	if (frc < 0) {
		poll_result_set(res, POLL_RETRY, "%s", err);
		return -1;
	}
	if (resp.status != 200) {
		poll_result_set(res, POLL_RETRY, "%s: HTTP %ld", method, resp.status);
		if (resp.status == 429) {
			res->status = POLL_RATE_LIMITED;
			res->retry_after_ms =
			        resp.retry_after_s > 0 ? resp.retry_after_s * 1000 : 0;
		}
		goto out;
	}
	json_error_t jerr;
	doc = json_loadb(resp.body, resp.body_len, 0, &jerr);
	if (!json_is_object(doc)) {
		poll_result_set(res, POLL_RETRY, "%s: the answer is not a JSON object (%s)", method,
		                doc ? "not an object" : jerr.text);
		goto out;
	}
	json_t *error = json_object_get(doc, "error");
	if (error) {
		json_int_t code = json_integer_value(json_object_get(error, "error_code"));
		const char *msg = json_string_value(json_object_get(error, "error_msg"));
		if (!msg || strstr(msg, vk->token))
			msg = "";
		if (code == 5)
			poll_result_set(res, error_status(code),
			                "%s: VK rejected the access token (error 5: %.120s); set a "
			                "valid VK_ACCESS_TOKEN",
			                method, msg);
		else
			poll_result_set(res, error_status(code), "%s: VK error %lld: %.160s",
			                method, (long long)code, msg);
		/* Error 6 is a per-second limit: one second is what it asks for. */
		res->retry_after_ms = code == 6 ? 1000 : 0;
		goto out;
	}
	json_t *response = json_object_get(doc, "response");
	if (!json_is_object(response)) {
		poll_result_set(res, POLL_RETRY, "%s: the answer has no response object", method);
		goto out;
	}
	*out = json_incref(response);
	rc = 0;
out:
	json_decref(doc);
	fetch_response_clear(&resp);
	return rc;
}

/* ---- mapping ------------------------------------------------------------------------------ */

static const json_t *find_by_id(const json_t *list, json_int_t id)
{
	size_t i;
	const json_t *v;

	json_array_foreach(list, i, v)
	{
		if (json_integer_value(json_object_get(v, "id")) == id)
			return v;
	}
	return NULL;
}

static const char *group_name(const struct vk_names *names, json_int_t owner_id)
{
	const json_t *g = find_by_id(names->groups, owner_id < 0 ? -owner_id : owner_id);
	const char *name = json_string_value(json_object_get(g, "name"));
	return name && *name ? name : NULL;
}

static const char *config_name(const struct vk_impl *vk, const char *owner_id)
{
	for (size_t i = 0; i < vk->ncommunities; i++)
		if (strcmp(vk->communities[i].owner_id, owner_id) == 0)
			return vk->communities[i].name;
	return NULL;
}

/* Author id and name of a user (id > 0) or a community (id < 0). */
static void set_author(struct message *m, const struct vk_names *names, json_int_t from_id)
{
	if (from_id > 0) {
		const json_t *p = find_by_id(names->profiles, from_id);
		const char *first = json_string_value(json_object_get(p, "first_name"));
		const char *last = json_string_value(json_object_get(p, "last_name"));
		m->author_id = xasprintf("id%lld", (long long)from_id);
		if (first && last && *last)
			m->author_name = xasprintf("%s %s", first, last);
		else if (first)
			m->author_name = xstrdup(first);
	} else if (from_id < 0) {
		m->author_id = xasprintf("club%lld", -(long long)from_id);
		m->author_name = xstrdup(group_name(names, from_id));
	}
}

static void set_community(struct message *m, const struct vk_impl *vk, const struct vk_names *names,
                          json_int_t owner_id)
{
	m->community_id = xasprintf("%lld", (long long)owner_id);
	const char *name = owner_id < 0 ? group_name(names, owner_id) : NULL;
	if (!name)
		name = config_name(vk, m->community_id);
	m->community_name = xstrdup(name);
}

/* geo: {"type":"point","coordinates":"53.72 91.44","place":{"latitude":..,"address":..}} */
static void set_geo(struct message *m, const json_t *geo)
{
	const char *coords = json_string_value(json_object_get(geo, "coordinates"));
	const json_t *place = json_object_get(geo, "place");
	double lat = 0, lon = 0;
	bool ok = false;

	if (coords) {
		char *end;
		lat = strtod(coords, &end);
		if (end != coords) {
			const char *p = end;
			lon = strtod(p, &end);
			ok = end != p;
		}
	}
	if (!ok && json_is_number(json_object_get(place, "latitude")) &&
	    json_is_number(json_object_get(place, "longitude"))) {
		lat = json_number_value(json_object_get(place, "latitude"));
		lon = json_number_value(json_object_get(place, "longitude"));
		ok = true;
	}
	if (ok && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && (lat != 0 || lon != 0)) {
		m->has_coords = true;
		m->lat = lat;
		m->lon = lon;
	}
	const char *addr = json_string_value(json_object_get(place, "address"));
	if (!addr || !*addr)
		addr = json_string_value(json_object_get(place, "title"));
	if (addr && *addr)
		m->address = xstrdup(addr);
}

/*
 * Fills m from a wall post (wall.get or newsfeed.search item). Returns -1 for an item that
 * carries no text to collect (a photo without a caption, a deleted post) or no usable date.
 */
static int map_post(const struct vk_impl *vk, const struct vk_names *names, const json_t *item,
                    struct message *m)
{
	json_int_t owner = json_integer_value(json_object_get(item, "owner_id"));
	json_int_t id = json_integer_value(json_object_get(item, "id"));
	const char *text = json_string_value(json_object_get(item, "text"));
	json_int_t from = json_integer_value(json_object_get(item, "from_id"));
	json_int_t signer = json_integer_value(json_object_get(item, "signer_id"));
	int64_t posted = source_unix_ms(json_integer_value(json_object_get(item, "date")));

	if (!owner || id <= 0 || !text || !*text || posted < 0 ||
	    json_is_true(json_object_get(item, "is_deleted")))
		return -1;
	memset(m, 0, sizeof(*m));
	m->source = xstrdup("vk");
	m->external_id = xasprintf("%lld_%lld", (long long)owner, (long long)id);
	m->kind = xstrdup("post");
	m->text = xstrdup(text);
	m->posted_at = posted;
	m->url = xasprintf("https://vk.com/wall%lld_%lld", (long long)owner, (long long)id);
	/* A community post signed by a person names the person. */
	set_author(m, names, from < 0 && signer > 0 ? signer : from);
	set_community(m, vk, names, owner);
	set_geo(m, json_object_get(item, "geo"));
	char owner_s[32], id_s[32];
	snprintf(owner_s, sizeof(owner_s), "%lld", (long long)owner);
	snprintf(id_s, sizeof(id_s), "%lld", (long long)id);
	m->thread = json_pack("{s:s, s:s}", "owner_id", owner_s, "post_id", id_s);
	return 0;
}

/* Fills m from a wall.getComments item of post owner_post_id. */
static int map_comment(const struct vk_impl *vk, const struct vk_names *names, const json_t *item,
                       const char *owner, json_int_t post_id, struct message *m)
{
	json_int_t id = json_integer_value(json_object_get(item, "id"));
	const char *text = json_string_value(json_object_get(item, "text"));
	int64_t posted = source_unix_ms(json_integer_value(json_object_get(item, "date")));

	if (id <= 0 || !text || !*text || posted < 0 ||
	    json_is_true(json_object_get(item, "deleted")))
		return -1;
	memset(m, 0, sizeof(*m));
	m->source = xstrdup("vk");
	m->external_id = xasprintf("%s_%lld_c%lld", owner, (long long)post_id, (long long)id);
	m->kind = xstrdup("comment");
	m->parent_id = xasprintf("vk:%s_%lld", owner, (long long)post_id);
	m->text = xstrdup(text);
	m->posted_at = posted;
	m->url = xasprintf("https://vk.com/wall%s_%lld?reply=%lld", owner, (long long)post_id,
	                   (long long)id);
	set_author(m, names, json_integer_value(json_object_get(item, "from_id")));
	set_community(m, vk, names, strtoll(owner, NULL, 10));
	char post_s[32], id_s[32];
	snprintf(post_s, sizeof(post_s), "%lld", (long long)post_id);
	snprintf(id_s, sizeof(id_s), "%lld", (long long)id);
	m->thread = json_pack("{s:s, s:s, s:s}", "owner_id", owner, "post_id", post_s, "comment_id",
	                      id_s);
	return 0;
}

/* ---- submitting and cursors --------------------------------------------------------------- */

/* Hands msgs[0..n) to intake and clears them. Returns 0, or -1 with res set to RETRY. */
static int submit(struct source *src, struct source_env *env, struct message *msgs, size_t n,
                  struct poll_result *res)
{
	int rc = 0;

	if (n > 0) {
		struct intake_result *out = xcalloc(n, sizeof(*out));
		char err[256];
		if (intake_submit(env->collector, env->db, src->name, msgs, NULL, n, out, err,
		                  sizeof(err)) < 0) {
			poll_result_set(res, POLL_RETRY, "store: %.200s", err);
			rc = -1;
		} else {
			res->fetched += (int)n;
		}
		free(out);
	}
	for (size_t i = 0; i < n; i++)
		message_clear(&msgs[i]);
	return rc;
}

/* One page of a list method's answer, and the messages made of its items. */
struct vk_page {
	json_t *response;    /* the answer's "response" object */
	const json_t *items; /* its items (borrowed from response) */
	size_t nitems;
	struct vk_names names; /* its profiles and groups (extended=1) */
	struct message *msgs;  /* room for a message per item; the first n are made */
	size_t n;
};

/* Calls method with params (takes ownership) and readies page for mapping its items. Returns
 * 0, or -1 with res filled (page then holds nothing). */
static int page_get(struct vk_impl *vk, struct source_env *env, const char *method, char *params,
                    struct vk_page *page, struct poll_result *res)
{
	int rc = vk_call(vk, env, method, params, &page->response, res);

	free(params);
	if (rc < 0)
		return -1;
	page->items = json_object_get(page->response, "items");
	page->nitems = json_array_size(page->items);
	page->names.profiles = json_object_get(page->response, "profiles");
	page->names.groups = json_object_get(page->response, "groups");
	page->msgs = xcalloc(page->nitems ? page->nitems : 1, sizeof(*page->msgs));
	page->n = 0;
	return 0;
}

/* Hands the page's messages to intake (submit) and frees the page. Returns 0, or -1 with res
 * set to RETRY. */
static int page_submit(struct source *src, struct source_env *env, struct vk_page *page,
                       struct poll_result *res)
{
	int rc = submit(src, env, page->msgs, page->n, res);

	free(page->msgs);
	json_decref(page->response);
	memset(page, 0, sizeof(*page));
	return rc;
}

/* Reads an integer cursor; *has is false when none is stored. */
static int cursor_get(struct source *src, struct source_env *env, const char *key, long long *v,
                      bool *has, struct poll_result *res)
{
	char *value = NULL, err[256];

	*v = 0;
	*has = false;
	if (store_cursor_get(env->db, src->name, key, &value, err, sizeof(err)) < 0) {
		poll_result_set(res, POLL_RETRY, "cursor %.60s: %.160s", key, err);
		return -1;
	}
	if (value) {
		*v = strtoll(value, NULL, 10);
		*has = true;
		free(value);
	}
	return 0;
}

static int cursor_set(struct source *src, struct source_env *env, const char *key, long long v,
                      struct poll_result *res)
{
	char value[32], err[256];

	snprintf(value, sizeof(value), "%lld", v);
	if (store_cursor_set(env->db, src->name, key, value, err, sizeof(err)) < 0) {
		poll_result_set(res, POLL_RETRY, "cursor %.60s: %.160s", key, err);
		return -1;
	}
	return 0;
}

/* ---- the three readers -------------------------------------------------------------------- */

/* New comments of one post, newest first down to the stored last comment id. */
static int poll_comments(struct source *src, struct source_env *env, const char *owner,
                         json_int_t post_id, struct poll_result *res)
{
	struct vk_impl *vk = src->impl;
	char *key = xasprintf("comments:%s_%lld", owner, (long long)post_id);
	long long last, max;
	bool has;
	int rc = -1;

	if (cursor_get(src, env, key, &last, &has, res) < 0)
		goto out;
	max = last;
	bool reached = false;
	for (int page_no = 0, offset = 0; !reached && page_no < VK_MAX_PAGES; page_no++) {
		struct vk_page page;

		if (page_get(vk, env, "wall.getComments",
		             xasprintf("owner_id=%s&post_id=%lld&offset=%d&count=%d&sort=desc"
		                       "&preview_length=0&extended=1",
		                       owner, (long long)post_id, offset, VK_PAGE),
		             &page, res) < 0)
			goto out;
		for (size_t i = 0; i < page.nitems; i++) {
			const json_t *item = json_array_get(page.items, i);
			json_int_t id = json_integer_value(json_object_get(item, "id"));
			if (id <= last) {
				reached = true;
				break;
			}
			if (id > max)
				max = id;
			if (map_comment(vk, &page.names, item, owner, post_id,
			                &page.msgs[page.n]) == 0)
				page.n++;
		}
		size_t nitems = page.nitems;
		offset += (int)nitems;
		json_int_t total = json_integer_value(json_object_get(page.response, "count"));
		if (page_submit(src, env, &page, res) < 0)
			goto out;
		if (nitems == 0 || offset >= total)
			break;
	}
	if (max > last && cursor_set(src, env, key, max, res) < 0)
		goto out;
	rc = 0;
out:
	free(key);
	return rc;
}

/* New posts of one wall, then the comments of its most recent posts. */
static int poll_wall(struct source *src, struct source_env *env, const struct vk_community *cm,
                     struct poll_result *res)
{
	struct vk_impl *vk = src->impl;
	char *key = xasprintf("wall:%s", cm->owner_id);
	struct vk_recent *recent = xcalloc((size_t)vk->comment_posts + 1, sizeof(*recent));
	size_t nrecent = 0;
	long long last, max;
	bool has, reached = false, more = false;
	int rc = -1;

	if (cursor_get(src, env, key, &last, &has, res) < 0)
		goto out;
	max = last;
	for (int page_no = 0, offset = 0; !reached && page_no < VK_MAX_PAGES; page_no++) {
		struct vk_page page;

		if (page_get(vk, env, "wall.get",
		             xasprintf("owner_id=%s&offset=%d&count=%d&extended=1", cm->owner_id,
		                       offset, VK_PAGE),
		             &page, res) < 0)
			goto out;
		for (size_t i = 0; i < page.nitems; i++) {
			const json_t *item = json_array_get(page.items, i);
			json_int_t id = json_integer_value(json_object_get(item, "id"));
			bool pinned = json_integer_value(json_object_get(item, "is_pinned")) == 1;
			if (page_no == 0 && nrecent < (size_t)vk->comment_posts) {
				recent[nrecent].post_id = id;
				recent[nrecent].comments = json_integer_value(json_object_get(
				        json_object_get(item, "comments"), "count"));
				nrecent++;
			}
			if (id <= last) {
				/* A pinned post heads the wall whatever its age. */
				if (!pinned)
					reached = true;
				continue;
			}
			if (id > max)
				max = id;
			if (map_post(vk, &page.names, item, &page.msgs[page.n]) == 0)
				page.n++;
		}
		size_t nitems = page.nitems;
		offset += (int)nitems;
		json_int_t total = json_integer_value(json_object_get(page.response, "count"));
		if (page_submit(src, env, &page, res) < 0)
			goto out;
		more = nitems > 0 && offset < total;
		if (!more)
			break;
	}
	if (!reached && more && has)
		log_warn("vk wall: more new posts than one poll reads; the oldest are skipped",
		         "{s:s, s:s, s:i}", "source", src->name, "owner_id", cm->owner_id, "pages",
		         VK_MAX_PAGES);
	if (max > last && cursor_set(src, env, key, max, res) < 0)
		goto out;
	for (size_t i = 0; i < nrecent; i++) {
		if (recent[i].comments <= 0)
			continue; /* VK says there is nothing to read: spare the request */
		if (poll_comments(src, env, cm->owner_id, recent[i].post_id, res) < 0)
			goto out;
	}
	rc = 0;
out:
	free(recent);
	free(key);
	return rc;
}

/* Posts matching a keyword since the newest date seen for it. */
static int poll_search(struct source *src, struct source_env *env, const char *keyword,
                       struct poll_result *res)
{
	struct vk_impl *vk = src->impl;
	char *key = xasprintf("search:%s", keyword);
	char *q = fetch_escape(keyword), *next_from = NULL;
	long long since, max;
	bool has;
	int rc = -1;

	if (cursor_get(src, env, key, &since, &has, res) < 0)
		goto out;
	max = since;
	for (int page_no = 0; page_no < VK_MAX_PAGES; page_no++) {
		char start_time[48] = "", *from = NULL;
		struct vk_page page;
		if (has)
			snprintf(start_time, sizeof(start_time), "&start_time=%lld", since);
		if (next_from)
			from = fetch_escape(next_from);
		char *params = xasprintf("q=%s&count=%d&extended=1%s%s%s", q, VK_PAGE, start_time,
		                         from ? "&start_from=" : "", from ? from : "");
		free(from);
		if (page_get(vk, env, "newsfeed.search", params, &page, res) < 0)
			goto out;
		for (size_t i = 0; i < page.nitems; i++) {
			const json_t *item = json_array_get(page.items, i);
			long long date = json_integer_value(json_object_get(item, "date"));
			if (date > max)
				max = date;
			if (map_post(vk, &page.names, item, &page.msgs[page.n]) == 0)
				page.n++;
		}
		size_t nitems = page.nitems;
		free(next_from);
		const char *nf = json_string_value(json_object_get(page.response, "next_from"));
		next_from = nf && *nf ? xstrdup(nf) : NULL;
		if (page_submit(src, env, &page, res) < 0)
			goto out;
		if (!next_from || nitems == 0)
			break;
	}
	/* start_time is inclusive: the posts of that second come again and are duplicates. */
	if (max > since && cursor_set(src, env, key, max, res) < 0)
		goto out;
	rc = 0;
out:
	free(next_from);
	free(q);
	free(key);
	return rc;
}

static void vk_poll(struct source *src, struct source_env *env, struct poll_result *res)
{
	struct vk_impl *vk = src->impl;

	res->status = POLL_OK;
	for (size_t i = 0; i < vk->ncommunities; i++)
		if (poll_wall(src, env, &vk->communities[i], res) < 0)
			return;
	for (size_t i = 0; i < vk->nkeywords; i++)
		if (poll_search(src, env, vk->keywords[i], res) < 0)
			return;
}

int vk_sources(const struct vk_settings *s, struct source_set *set, char *err, size_t errlen)
{
	if (!s->access_token || !*s->access_token)
		return 0;

	const char *url = s->api_url && *s->api_url ? s->api_url : VK_DEFAULT_API_URL;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "VK_API_URL: \"%.100s\" is not an http(s) URL", url);
		return -1;
	}
	if (s->comment_posts < 0 || s->comment_posts > VK_PAGE) {
		snprintf(err, errlen, "VK_COMMENT_POSTS: must be between 0 and %d, got %lld",
		         VK_PAGE, (long long)s->comment_posts);
		return -1;
	}

	struct vk_impl *vk = xcalloc(1, sizeof(*vk));
	size_t ulen = strlen(url);
	while (ulen > 0 && url[ulen - 1] == '/')
		ulen--;
	vk->api_url = xstrndup(url, ulen);
	vk->token = xstrdup(s->access_token);
	vk->version =
	        xstrdup(s->api_version && *s->api_version ? s->api_version : VK_DEFAULT_VERSION);
	vk->comment_posts = (int)s->comment_posts;
	if (parse_communities(vk, s->communities, err, errlen) < 0) {
		vk_impl_free(vk);
		return -1;
	}
	parse_keywords(vk, s->keywords);
	if (vk->ncommunities == 0 && vk->nkeywords == 0) {
		snprintf(
		        err, errlen,
		        "VK_ACCESS_TOKEN is set but VK_COMMUNITIES and VK_KEYWORDS are both empty: "
		        "VK has nothing to poll");
		vk_impl_free(vk);
		return -1;
	}

	struct source *src = source_new("vk", s->interval_ms);
	src->impl = vk;
	src->poll = vk_poll;
	src->free_impl = vk_impl_free;
	source_set_add(set, src);
	return 0;
}
