/*
 * fake_rss: news and forum feeds made of the world's visible lines whose channel is "rss",
 * one feed per community, as RSS 2.0 and as Atom 1.0:
 *
 *   GET /rss/{slug}   (also /rss/{slug}.xml)    RSS 2.0, items newest first
 *   GET /atom/{slug}  (also /atom/{slug}.xml)   Atom 1.0, the same items
 *   GET /rss                                    JSON index: [{"slug","name","rss","atom","items"}]
 *
 * The slug is the community id (a feed URL such as "https://news.example/khakassia/rss") made
 * URL-safe: scheme dropped, lower-cased, every run of characters other than [a-z0-9] turned into
 * one '-', no '-' at either end: "news-example-khakassia-rss".
 *
 * How a line becomes an item: guid (isPermaLink="false") / Atom id = the line's id, so the
 * collector's external id is the demo id; title = "title" (or the start of the text); link =
 * "url"; description / Atom content (type="html") = the text as HTML paragraphs; pubDate in
 * Khakassia's time (RFC 822, +0700) and Atom published/updated in RFC 3339; dc:creator / Atom
 * author = author.name; the channel's title is community.name.
 *
 * Conditional GET as a static file server answers it: every answer carries ETag (a hash of the
 * body) and Last-Modified (the newest item's time); If-None-Match that matches, or else an
 * If-Modified-Since equal to Last-Modified (nginx's "exact" rule), gets 304 without a body.
 *
 * Faults (POST /control/fault, api "rss", optionally "method":"<slug>" for one feed):
 *   {"api":"rss","status":503,"retry_after":5}   that status (+ Retry-After), no feed
 *   {"api":"rss","body":"<rss><channel>"}        that body with status 200 (or "status")
 * Stats: "rss.<slug>" counts requests per feed, "rss.not_modified" the 304 answers.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "http.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xalloc.h"

#define KHAKASSIA_OFFSET_MS (7LL * 3600 * 1000)
#define TITLE_CHARS 80 /* a title made from the text: this many code points at most */

/* XML character data: markup escaped, control characters XML 1.0 forbids dropped. */
static void add_xml(struct strbuf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		switch (*p) {
		case '&':
			strbuf_addstr(b, "&amp;");
			break;
		case '<':
			strbuf_addstr(b, "&lt;");
			break;
		case '>':
			strbuf_addstr(b, "&gt;");
			break;
		case '"':
			strbuf_addstr(b, "&quot;");
			break;
		default:
			if (*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
				strbuf_addch(b, (char)*p);
		}
	}
}

/* open, then text as XML character data, then close: an element or an attribute with its value. */
static void add_wrapped(struct strbuf *b, const char *open, const char *text, const char *close)
{
	strbuf_addstr(b, open);
	add_xml(b, text);
	strbuf_addstr(b, close);
}

/* The text as HTML: paragraphs per line, itself XML-escaped by the caller. */
static char *text_html(const char *text)
{
	struct strbuf b = {0};
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, n);

		if (n) {
			/* HTML escaping is XML escaping for these characters */
			add_wrapped(&b, "<p>", line, "</p>");
		}
		free(line);
		p = nl ? nl + 1 : p + n;
	}
	return strbuf_detach(&b);
}

char *feed_slug(const char *community_id)
{
	const char *p = strstr(community_id, "://");
	struct strbuf b = {0};
	bool dash = false;

	for (p = p ? p + 3 : community_id; *p; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && b.len)
				strbuf_addch(&b, '-');
			dash = false;
			strbuf_addch(&b, c);
		} else {
			dash = true;
		}
	}
	return strbuf_detach(&b);
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static const char *const DAYS[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* RFC 822 date of unix seconds t as seen at offset_ms: "Sat, 28 Nov 2026 13:20:57 +0700",
 * or with zone "GMT" when offset_ms is 0 and gmt is set (HTTP's IMF-fixdate). */
static void rfc822(int64_t t, int64_t offset_ms, bool gmt, char out[48])
{
	int64_t local_ms = t * 1000 + offset_ms;
	int64_t days = local_ms >= 0 ? local_ms / 86400000 : (local_ms - 86399999) / 86400000;
	char iso[32];
	int month;

	rfc3339_format(local_ms, iso); /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
	month = (iso[5] - '0') * 10 + (iso[6] - '0');
	snprintf(out, 48, "%s, %.2s %s %.4s %.8s %s", DAYS[((days % 7) + 7) % 7], iso + 8,
	         MONTHS[month - 1], iso, iso + 11,
	         gmt                                ? "GMT"
	         : offset_ms == KHAKASSIA_OFFSET_MS ? "+0700"
	                                            : "+0000");
}

/* RFC 3339 in Khakassia's time: "2026-11-28T13:20:57+07:00". */
static void local_rfc3339(int64_t t, char out[32])
{
	char iso[32];

	rfc3339_format(t * 1000 + KHAKASSIA_OFFSET_MS, iso);
	snprintf(out, 32, "%.19s+07:00", iso);
}

/* One feed: the visible rss lines of one community, newest first. */
struct feed {
	json_t *lines; /* new references, newest first */
	const char *name;
	const char *id;
	int64_t newest; /* unix seconds */
};

static int by_time_desc(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	/* [0] = time, [1] = position: newest first, later lines first on a tie */
	if (x[0] != y[0])
		return x[0] < y[0] ? 1 : -1;
	return x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : 0;
}

/* Collects the feed with this slug from the visible lines. Returns false when no line of any
 * time (visible or not) belongs to it. */
static bool feed_build(struct fake_world *w, const char *slug, struct feed *f)
{
	json_t *visible = fake_visible_posts(w);
	size_t n = json_array_size(visible), k = 0;
	int64_t(*order)[2] = xcalloc(n + 1, sizeof(*order));
	bool known = false;

	memset(f, 0, sizeof(*f));
	f->lines = json_array();
	for (size_t i = 0; i < n; i++) {
		const json_t *line = json_array_get(visible, i);
		const json_t *community = json_object_get(line, "community");
		const char *channel = fake_str(line, "channel");
		const char *cid = fake_str(community, "id");
		char *s;

		if (!channel || strcmp(channel, "rss") != 0 || !cid || fake_str(line, "edit_of"))
			continue;
		s = feed_slug(cid);
		if (strcmp(s, slug) == 0) {
			order[k][0] = fake_post_time(w, line);
			order[k][1] = (int64_t)i;
			k++;
			f->name = fake_str(community, "name");
			f->id = cid;
		}
		free(s);
	}
	qsort(order, k, sizeof(*order), by_time_desc);
	for (size_t i = 0; i < k; i++) {
		json_array_append(f->lines, json_array_get(visible, (size_t)order[i][1]));
		if (i == 0)
			f->newest = order[i][0];
	}
	known = k > 0;
	if (!known) {
		/* A feed whose items are not visible yet still exists: an empty feed, not a 404. */
		pthread_mutex_lock(&w->lock);
		for (size_t i = 0; i < json_array_size(w->posts) && !known; i++) {
			const json_t *line = json_array_get(w->posts, i);
			const char *cid = fake_str(json_object_get(line, "community"), "id");
			const char *channel = fake_str(line, "channel");
			char *s;

			if (!channel || strcmp(channel, "rss") != 0 || !cid)
				continue;
			s = feed_slug(cid);
			known = strcmp(s, slug) == 0;
			free(s);
		}
		pthread_mutex_unlock(&w->lock);
		f->newest = w->start_ms / 1000;
	}
	free(order);
	/* The names point into lines that f->lines or the world keep alive. */
	json_decref(visible);
	return known;
}

/* A title: the line's own, or the text's first line cut to TITLE_CHARS code points. */
static char *item_title(const json_t *line)
{
	const char *title = fake_str(line, "title");
	const char *text = fake_str(line, "text");
	size_t n = 0, chars = 0;

	if (title)
		return xstrdup(title);
	while (text[n] && text[n] != '\n' && chars < TITLE_CHARS) {
		n++;
		while (((unsigned char)text[n] & 0xC0) == 0x80)
			n++; /* whole UTF-8 sequences only */
		chars++;
	}
	return xstrndup(text, n);
}

static char *render_rss(struct fake_world *w, const struct feed *f, const char *self)
{
	struct strbuf b = {0};
	char date[48];

	strbuf_addstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                  "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
	                  "xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n");
	add_wrapped(&b, "<title>", f->name ? f->name : "", "</title>\n");
	add_wrapped(&b, "<link>", f->id ? f->id : self, "</link>\n");
	add_wrapped(&b, "<description>", f->name ? f->name : "", "</description>\n");
	strbuf_addstr(&b, "<language>ru</language>\n");
	add_wrapped(&b, "<atom:link rel=\"self\" href=\"", self,
	            "\" type=\"application/rss+xml\"/>\n");
	rfc822(f->newest, KHAKASSIA_OFFSET_MS, false, date);
	add_wrapped(&b, "<lastBuildDate>", date, "</lastBuildDate>\n");
	for (size_t i = 0; i < json_array_size(f->lines); i++) {
		const json_t *line = json_array_get(f->lines, i);
		const char *url = fake_str(line, "url");
		const char *author = fake_str(json_object_get(line, "author"), "name");
		char *title = item_title(line);
		char *html = text_html(fake_str(line, "text"));

		strbuf_addstr(&b, "<item>\n");
		add_wrapped(&b, "<title>", title, "</title>\n");
		if (url)
			add_wrapped(&b, "<link>", url, "</link>\n");
		add_wrapped(&b, "<description>", html, "</description>\n");
		add_wrapped(&b, "<guid isPermaLink=\"false\">", fake_str(line, "id"), "</guid>\n");
		rfc822(fake_post_time(w, line), KHAKASSIA_OFFSET_MS, false, date);
		add_wrapped(&b, "<pubDate>", date, "</pubDate>\n");
		if (author)
			add_wrapped(&b, "<dc:creator>", author, "</dc:creator>\n");
		strbuf_addstr(&b, "</item>\n");
		free(title);
		free(html);
	}
	strbuf_addstr(&b, "</channel>\n</rss>\n");
	return strbuf_detach(&b);
}

static char *render_atom(struct fake_world *w, const struct feed *f, const char *self)
{
	struct strbuf b = {0};
	char date[32];

	strbuf_addstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                  "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"ru\">\n");
	add_wrapped(&b, "<title>", f->name ? f->name : "", "</title>\n");
	add_wrapped(&b, "<id>", f->id ? f->id : self, "</id>\n");
	add_wrapped(&b, "<link rel=\"self\" href=\"", self, "\"/>\n");
	local_rfc3339(f->newest, date);
	add_wrapped(&b, "<updated>", date, "</updated>\n");
	for (size_t i = 0; i < json_array_size(f->lines); i++) {
		const json_t *line = json_array_get(f->lines, i);
		const char *url = fake_str(line, "url");
		const char *author = fake_str(json_object_get(line, "author"), "name");
		char *title = item_title(line);
		char *html = text_html(fake_str(line, "text"));

		strbuf_addstr(&b, "<entry>\n");
		add_wrapped(&b, "<id>", fake_str(line, "id"), "</id>\n");
		add_wrapped(&b, "<title type=\"text\">", title, "</title>\n");
		if (url)
			add_wrapped(&b, "<link rel=\"alternate\" type=\"text/html\" href=\"", url,
			            "\"/>\n");
		local_rfc3339(fake_post_time(w, line), date);
		add_wrapped(&b, "<published>", date, "</published>\n");
		add_wrapped(&b, "<updated>", date, "</updated>\n");
		if (author)
			add_wrapped(&b, "<author><name>", author, "</name></author>\n");
		add_wrapped(&b, "<content type=\"html\">", html, "</content>\n");
		strbuf_addstr(&b, "</entry>\n");
		free(title);
		free(html);
	}
	strbuf_addstr(&b, "</feed>\n");
	return strbuf_detach(&b);
}

/* True when an If-None-Match list ("a", W/"b", *) names etag. */
static bool etag_matches(const char *header, const char *etag)
{
	const char *p = header;

	while (*p) {
		const char *end;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 1 && *p == '*')
			return true;
		if (n > 2 && strncmp(p, "W/", 2) == 0) {
			p += 2;
			n -= 2;
		}
		if (n == strlen(etag) && strncmp(p, etag, n) == 0)
			return true;
		p += n;
	}
	return false;
}

static void count(struct fake_world *w, const char *key)
{
	pthread_mutex_lock(&w->lock);
	json_object_set_new(w->stats, key,
	                    json_integer(json_integer_value(json_object_get(w->stats, key)) + 1));
	pthread_mutex_unlock(&w->lock);
}

/* Answers a fault taken from the world; false when there is none. A fault with a status but no
 * body gets an HTML error page, as a web server's. */
static bool answer_fault(const json_t *fault, const char *content_type, struct http_response *resp)
{
	int status;

	if (fake_answer_fault(fault, content_type, resp, &status))
		return true;
	if (!status)
		return false;
	resp->status = status;
	resp->body = xstrdup("<html><body>injected fault</body></html>\n");
	resp->body_len = strlen(resp->body);
	resp->content_type = "text/html; charset=utf-8";
	return true;
}

/* Drops a trailing ".xml" from the path's slug. Caller frees. */
static char *slug_param(const struct http_request *req)
{
	const char *s = http_request_param(req, "slug");
	size_t n = s ? strlen(s) : 0;

	if (n > 4 && strcmp(s + n - 4, ".xml") == 0)
		n -= 4;
	return xstrndup(s ? s : "", n);
}

static void serve_feed(struct fake_world *w, const struct http_request *req,
                       struct http_response *resp, bool atom)
{
	const char *content_type =
	        atom ? "application/atom+xml; charset=utf-8" : "application/rss+xml; charset=utf-8";
	char *slug = slug_param(req);
	json_t *fault = fake_take_fault(w, "rss", slug);
	struct feed f;
	char *body, *self, etag[24], last_modified[48];
	const char *inm = http_request_header(req, "If-None-Match");
	const char *ims = http_request_header(req, "If-Modified-Since");
	const char *host = http_request_header(req, "Host");

	if (answer_fault(fault, content_type, resp)) {
		json_decref(fault);
		free(slug);
		return;
	}
	json_decref(fault);
	if (!feed_build(w, slug, &f)) {
		http_respond_error(resp, 404, "not_found", NULL, "no such feed");
		json_decref(f.lines);
		free(slug);
		return;
	}
	self = xasprintf("http://%s%s", host ? host : "localhost", req->path);
	body = atom ? render_atom(w, &f, self) : render_rss(w, &f, self);
	snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)fnv1a(body, strlen(body)));
	rfc822(f.newest, 0, true, last_modified);
	http_response_header(resp, "ETag", etag);
	http_response_header(resp, "Last-Modified", last_modified);
	http_response_header(resp, "Cache-Control", "no-cache");
	if ((inm && etag_matches(inm, etag)) || (!inm && ims && strcmp(ims, last_modified) == 0)) {
		resp->status = 304;
		resp->content_type = NULL;
		free(body);
		count(w, "rss.not_modified");
	} else {
		resp->status = 200;
		resp->body = body;
		resp->body_len = strlen(body);
		resp->content_type = content_type;
	}
	free(self);
	json_decref(f.lines);
	free(slug);
}

static void rss_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	serve_feed(ctx, req, resp, false);
}

static void atom_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	serve_feed(ctx, req, resp, true);
}

/* GET /rss: every feed of the world (visible items or not), for wiring RSS_FEEDS. */
static void index_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct fake_world *w = ctx;
	json_t *feeds = json_object(), *out = json_array();
	const char *host = http_request_header(req, "Host");
	const char *key;
	json_t *v;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < json_array_size(w->posts); i++) {
		const json_t *line = json_array_get(w->posts, i);
		const json_t *community = json_object_get(line, "community");
		const char *channel = fake_str(line, "channel");
		const char *cid = fake_str(community, "id");
		const char *name = fake_str(community, "name");
		char *slug;
		json_t *entry;

		if (!channel || strcmp(channel, "rss") != 0 || !cid)
			continue;
		slug = feed_slug(cid);
		entry = json_object_get(feeds, slug);
		if (!entry) {
			entry = json_pack("{s:s, s:s?, s:s, s:s+++, s:s+++, s:i}", "slug", slug,
			                  "name", name, "community", cid, "rss", "http://",
			                  host ? host : "localhost", "/rss/", slug, "atom",
			                  "http://", host ? host : "localhost", "/atom/", slug,
			                  "items", 0);
			json_object_set_new(feeds, slug, entry);
		}
		json_object_set_new(
		        entry, "items",
		        json_integer(json_integer_value(json_object_get(entry, "items")) + 1));
		free(slug);
	}
	pthread_mutex_unlock(&w->lock);
	json_object_foreach(feeds, key, v)
	{
		json_array_append(out, v);
	}
	json_decref(feeds);
	http_respond_json(resp, 200, out);
}

void fake_rss_routes(struct http_server *srv, struct fake_world *w)
{
	http_server_route(srv, "GET /rss", index_handler, w);
	http_server_route(srv, "GET /rss/{slug}", rss_handler, w);
	http_server_route(srv, "GET /atom/{slug}", atom_handler, w);
}
