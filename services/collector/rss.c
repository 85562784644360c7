/*
 * rss: the RSS 2.0 / Atom poller. One source per RSS_FEEDS entry ("rss:<name>"). A poll is one
 * conditional GET (If-None-Match / If-Modified-Since from the cursors "etag" and
 * "last_modified"); a 304 costs nothing more. A changed feed is parsed (rss.h) and every item
 * is submitted: the store drops the ones it has in the same single INSERT. No item is skipped
 * by its date, since feeds do publish items late with an earlier date (scheduled posts, forum
 * topics) and a skipped item would be lost. Cursors move only after intake_submit committed.
 */
#include "rss.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collector.h"
#include "fetch.h"
#include "log.h"
#include "sources.h"
#include "store.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xalloc.h"

#define NS_ATOM "http://www.w3.org/2005/Atom"
#define NS_RSS1 "http://purl.org/rss/1.0/"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_CONTENT "http://purl.org/rss/1.0/modules/content/"

#define RSS_MAX_BODY (8u << 20)
#define RSS_TIMEOUT_MS 30000
/* Longer guids (some are whole URLs with tracking queries) are replaced by their hash: the id
 * must stay within MESSAGE_MAX_ID_CHARS with the "rss:" prefix. */
#define RSS_MAX_GUID 200
#define MAX_URL_CHARS 2048

/* libxml2's BAD_CAST casts const away from literals. */
#define XS(s) ((const xmlChar *)(s))

/* ---- dates ---------------------------------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Index of the three-letter name at *p in names[0..n), case-insensitive, or -1. */
static int read_name(const char **p, const char *const *names, int n)
{
	for (int i = 0; i < n; i++) {
		if (strncasecmp(*p, names[i], 3) == 0 && !isalpha((unsigned char)(*p)[3])) {
			*p += 3;
			return i;
		}
	}
	return -1;
}

/* Reads min..max digits; returns the count read (0 when fewer than min). */
static int read_num(const char **p, int min, int max, int *out)
{
	int n = 0, v = 0;

	while (n < max && (*p)[n] >= '0' && (*p)[n] <= '9') {
		v = v * 10 + ((*p)[n] - '0');
		n++;
	}
	if (n < min || ((*p)[n] >= '0' && (*p)[n] <= '9'))
		return 0;
	*p += n;
	*out = v;
	return n;
}

/* Zone names RFC 5322 4.3 keeps as obsolete syntax, with their offsets in minutes. */
static int named_zone(const char *name, size_t len, int *offset_min)
{
	static const struct {
		const char *name;
		int offset;
	} zones[] = {
	        {"UT", 0},        {"GMT", 0},       {"UTC", 0},       {"EST", -5 * 60},
	        {"EDT", -4 * 60}, {"CST", -6 * 60}, {"CDT", -5 * 60}, {"MST", -7 * 60},
	        {"MDT", -6 * 60}, {"PST", -8 * 60}, {"PDT", -7 * 60},
	};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strlen(zones[i].name) == len && strncasecmp(name, zones[i].name, len) == 0) {
			*offset_min = zones[i].offset;
			return 0;
		}
	}
	/* Military zones: RFC 5322 says their signs were defined backwards in RFC 822, so they
	 * carry no reliable offset and count as UTC ("-0000"). J is not a zone. */
	if (len == 1 && isalpha((unsigned char)name[0]) && toupper((unsigned char)name[0]) != 'J') {
		*offset_min = 0;
		return 0;
	}
	return -1;
}

int rss_date_parse(const char *s, int64_t *ms)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	const char *p;
	int day, mon, year, hour, min, sec = 0, offset_min, ndigits;
	char iso[96];

	if (!s)
		return -1;
	p = skip_ws(s);
	if (isalpha((unsigned char)*p)) {
		if (read_name(&p, days, 7) < 0)
			return -1;
		p = skip_ws(p);
		if (*p++ != ',')
			return -1;
		p = skip_ws(p);
	}
	if (!read_num(&p, 1, 2, &day) || (*p != ' ' && *p != '\t'))
		return -1;
	p = skip_ws(p);
	if ((mon = read_name(&p, months, 12)) < 0 || (*p != ' ' && *p != '\t'))
		return -1;
	p = skip_ws(p);
	ndigits = read_num(&p, 2, 4, &year);
	if (!ndigits || (*p != ' ' && *p != '\t'))
		return -1;
	if (ndigits == 2)
		year += year >= 50 ? 1900 : 2000;
	else if (ndigits == 3)
		year += 1900;
	p = skip_ws(p);
	if (!read_num(&p, 2, 2, &hour) || *p++ != ':' || !read_num(&p, 2, 2, &min))
		return -1;
	if (*p == ':') {
		p++;
		if (!read_num(&p, 2, 2, &sec))
			return -1;
	}
	if (*p != ' ' && *p != '\t')
		return -1;
	p = skip_ws(p);
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hhmm;

		p++;
		if (read_num(&p, 4, 4, &hhmm) != 4 || hhmm / 100 > 23 || hhmm % 100 > 59)
			return -1;
		offset_min = sign * (hhmm / 100 * 60 + hhmm % 100);
	} else {
		const char *start = p;

		while (isalpha((unsigned char)*p))
			p++;
		if (p == start || named_zone(start, (size_t)(p - start), &offset_min) < 0)
			return -1;
	}
	p = skip_ws(p);
	if (*p == '(') {
		const char *close = strchr(p, ')');

		if (!close)
			return -1;
		p = skip_ws(close + 1);
	}
	if (*p != '\0' || hour > 23 || min > 59)
		return -1;
	/* rfc3339_parse checks the day of that month, the leap second and the year range. */
	snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", year, mon + 1, day,
	         hour, min, sec, offset_min < 0 ? '-' : '+', abs(offset_min) / 60,
	         abs(offset_min) % 60);
	return rfc3339_parse(iso, ms);
}

/* ---- XML helpers ---------------------------------------------------------------------------- */

/* The string, trimmed of surrounding whitespace; NULL when empty. Frees the buffer. */
static char *detach_trimmed(struct strbuf *b)
{
	size_t start = 0, end = b->len;
	char *out;

	while (start < end && isspace((unsigned char)b->buf[start]))
		start++;
	while (end > start && isspace((unsigned char)b->buf[end - 1]))
		end--;
	out = end > start ? xstrndup(b->buf + start, end - start) : NULL;
	strbuf_release(b);
	return out;
}

static bool is_el(const xmlNode *n, const char *ns, const char *name)
{
	if (!n || n->type != XML_ELEMENT_NODE || !xmlStrEqual(n->name, XS(name)))
		return false;
	if (!ns)
		return n->ns == NULL;
	return n->ns && n->ns->href && xmlStrEqual(n->ns->href, XS(ns));
}

static xmlNode *child(const xmlNode *parent, const char *ns, const char *name)
{
	for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if (is_el(c, ns, name))
			return c;
	return NULL;
}

/*
 * Text and CDATA under n, in document order. Entity references other than the predefined
 * five (which the parser already turned into text) are skipped: following them would expand
 * the entities this parser was told not to substitute.
 */
static void collect_text(const xmlNode *n, struct strbuf *b)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
			strbuf_addstr(b, (const char *)c->content);
		else if (c->type == XML_ELEMENT_NODE)
			collect_text(c, b);
	}
}

/* Trimmed text of n, or NULL when n is NULL or holds only whitespace. */
static char *text_of(const xmlNode *n)
{
	struct strbuf b = {0};

	if (!n)
		return NULL;
	collect_text(n, &b);
	return detach_trimmed(&b);
}

static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, XS(name));
	char *out = v ? xstrdup((const char *)v) : NULL;

	xmlFree(v);
	return out;
}

/* Appends s with &, < and > escaped, so normalize_message reads plain text as text. */
static void add_escaped(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			strbuf_addstr(b, "&amp;");
		else if (*s == '<')
			strbuf_addstr(b, "&lt;");
		else if (*s == '>')
			strbuf_addstr(b, "&gt;");
		else
			strbuf_add(b, s, 1);
	}
}

/* An Atom text construct (title, summary, content) as HTML or escaped text, or NULL. */
static char *atom_text(const xmlNode *n)
{
	struct strbuf b = {0};
	char *type, *plain;

	if (!n)
		return NULL;
	type = attr(n, "type");
	if (type && strcmp(type, "xhtml") == 0) {
		/* The markup itself: normalize strips tags and turns blocks into line breaks. */
		xmlBuffer *xb = xmlBufferCreate();

		for (xmlNode *c = n->children; c; c = c->next)
			xmlNodeDump(xb, n->doc, c, 0, 0);
		strbuf_add(&b, (const char *)xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
		xmlBufferFree(xb);
		free(type);
		return detach_trimmed(&b);
	}
	plain = text_of(n);
	if (!plain || (type && strcmp(type, "html") == 0) ||
	    (type && strstr(type, "html") != NULL)) {
		free(type);
		return plain;
	}
	free(type);
	add_escaped(&b, plain);
	free(plain);
	return detach_trimmed(&b);
}

/* ---- items ---------------------------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static char *hash_id(const char *a, const char *b)
{
	uint64_t h = fnv1a(fnv1a(14695981039346656037ULL, a), "\n");

	return xasprintf("h:%016llx", (unsigned long long)fnv1a(h, b));
}

/* True when s starts with a URI scheme (RFC 3986: a letter, then letters, digits, '+', '-' or
 * '.', then ':'), as "https://…", "urn:uuid:…" and "tag:…" ids do. */
static bool has_uri_scheme(const char *s)
{
	if (!isalpha((unsigned char)*s))
		return false;
	while (isalnum((unsigned char)*s) || *s == '+' || *s == '-' || *s == '.')
		s++;
	return *s == ':';
}

/* What the format-specific readers found in one item; strings owned. */
struct raw_item {
	char *id, *title, *body, *link, *date, *author;
	bool date_rfc3339; /* date is dc:date / Atom (RFC 3339), else pubDate (RFC 822) */
};

static void raw_item_clear(struct raw_item *r)
{
	free(r->id);
	free(r->title);
	free(r->body);
	free(r->link);
	free(r->date);
	free(r->author);
	memset(r, 0, sizeof(*r));
}

/* Resolves a relative link against the feed's URL; keeps only http(s) links that fit. */
static char *absolute_link(const char *link, const char *base)
{
	xmlChar *abs;
	char *out = NULL;

	if (!link)
		return NULL;
	abs = xmlBuildURI(XS(link), XS(base ? base : ""));
	if (abs &&
	    (strncasecmp((const char *)abs, "http://", 7) == 0 ||
	     strncasecmp((const char *)abs, "https://", 8) == 0) &&
	    strlen((const char *)abs) <= MAX_URL_CHARS)
		out = xstrdup((const char *)abs);
	xmlFree(abs);
	return out;
}

/*
 * The item's external id. A guid (Atom: id) that is a URI, or else the item's link, names the
 * item wherever it appears: the same post in a town's feed and in an aggregator's is one
 * message. Any other guid ("r102", "12345", as many CMSs write with isPermaLink="false"), and
 * the hash of the title and text of an item with neither, is unique only within its feed, so
 * it is prefixed with the feed's name ("abaza/r102"): two feeds numbering their posts alike
 * must not merge. Ids longer than RSS_MAX_GUID are replaced by their hash.
 */
static char *item_id(const struct raw_item *r, const char *url, const char *feed_name)
{
	const char *global = r->id ? (has_uri_scheme(r->id) ? r->id : NULL) : url;
	char *local, *scoped;

	if (global)
		return strlen(global) <= RSS_MAX_GUID ? xstrdup(global) : hash_id(global, "");
	if (r->id && strlen(feed_name) + 1 + strlen(r->id) <= RSS_MAX_GUID)
		return xasprintf("%s/%s", feed_name, r->id);
	local = r->id ? hash_id(r->id, "")
	              : hash_id(r->title ? r->title : "", r->body ? r->body : "");
	scoped = xasprintf("%s/%s", feed_name, local);
	free(local);
	return scoped;
}

static void item_to_message(struct raw_item *r, const char *base_url, const char *feed_name,
                            const char *feed_title, int64_t now_ms, struct rss_item *out)
{
	struct message *m = &out->msg;
	struct strbuf text = {0};
	int64_t t;

	if (r->title)
		strbuf_addstr(&text, r->title);
	if (r->title && r->body)
		strbuf_addstr(&text, "\n");
	if (r->body)
		strbuf_addstr(&text, r->body);
	m->source = xstrdup("rss");
	m->kind = xstrdup("post");
	m->url = absolute_link(r->link, base_url);
	m->external_id = item_id(r, m->url, feed_name);
	/* An empty text is left for normalize_message to reject (and count), not dropped here. */
	m->text = strbuf_detach(&text);
	out->dated = r->date && (r->date_rfc3339 ? rfc3339_parse(r->date, &t)
	                                         : (rss_date_parse(r->date, &t) < 0 &&
	                                            rfc3339_parse(r->date, &t))) == 0;
	m->posted_at = out->dated ? t : now_ms;
	m->author_name = r->author ? xstrdup(r->author) : NULL;
	m->community_id = xstrdup(feed_name);
	m->community_name = feed_title ? xstrdup(feed_title) : NULL;
}

/* RSS 2.0's <author> is an e-mail address, often with the name in parentheses. */
static char *rss_author(const xmlNode *item)
{
	char *creator = text_of(child(item, NS_DC, "creator"));
	char *author, *open, *close;

	if (creator)
		return creator;
	author = text_of(child(item, NULL, "author"));
	if (author && (open = strchr(author, '(')) && (close = strrchr(author, ')')) &&
	    close > open + 1) {
		char *name = xstrndup(open + 1, (size_t)(close - open - 1));

		free(author);
		return name;
	}
	return author;
}

/* RSS 2.0 (ns NULL) and RSS 1.0 (ns NS_RSS1) items. */
static void read_rss_item(const xmlNode *item, const char *ns, struct raw_item *r)
{
	xmlNode *date = child(item, NULL, "pubDate");

	r->id = ns ? NULL : text_of(child(item, NULL, "guid"));
	if (!r->id && ns) {
		xmlChar *about = xmlGetNsProp(item, XS("about"), XS(NS_RDF));

		r->id = about && *about ? xstrdup((const char *)about) : NULL;
		xmlFree(about);
	}
	r->title = text_of(child(item, ns, "title"));
	r->body = text_of(child(item, ns, "description"));
	if (!r->body)
		r->body = text_of(child(item, NS_CONTENT, "encoded"));
	r->link = text_of(child(item, ns, "link"));
	if (date && !ns) {
		r->date = text_of(date);
	} else {
		r->date = text_of(child(item, NS_DC, "date"));
		r->date_rfc3339 = true;
	}
	r->author = rss_author(item);
}

/* The entry's alternate link: rel absent or "alternate", the first one. */
static char *atom_link(const xmlNode *entry)
{
	for (xmlNode *c = entry->children; c; c = c->next) {
		char *rel, *href;

		if (!is_el(c, NS_ATOM, "link"))
			continue;
		rel = attr(c, "rel");
		if (rel && strcmp(rel, "alternate") != 0) {
			free(rel);
			continue;
		}
		free(rel);
		href = attr(c, "href");
		if (href && *href)
			return href;
		free(href);
	}
	return NULL;
}

static void read_atom_entry(const xmlNode *entry, const char *feed_author, struct raw_item *r)
{
	xmlNode *content = child(entry, NS_ATOM, "content");

	r->id = text_of(child(entry, NS_ATOM, "id"));
	r->title = atom_text(child(entry, NS_ATOM, "title"));
	/* content with src= points elsewhere; then the summary is all there is. */
	if (content && !xmlHasProp(content, XS("src")))
		r->body = atom_text(content);
	if (!r->body)
		r->body = atom_text(child(entry, NS_ATOM, "summary"));
	r->link = atom_link(entry);
	r->date = text_of(child(entry, NS_ATOM, "published"));
	if (!r->date)
		r->date = text_of(child(entry, NS_ATOM, "updated"));
	r->date_rfc3339 = true;
	r->author = text_of(child(child(entry, NS_ATOM, "author"), NS_ATOM, "name"));
	if (!r->author && feed_author)
		r->author = xstrdup(feed_author);
}

int rss_parse(const char *xml, size_t len, const char *base_url, const char *feed_name,
              int64_t now_ms, struct rss_item **items, size_t *n, char *err, size_t errlen)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	xmlNode *root, *channel = NULL, *container = NULL;
	const char *item_ns = NULL, *item_name = "item";
	char *title = NULL, *feed_author = NULL;
	struct rss_item *out = NULL;
	size_t count = 0;
	int rc = -1;

	*items = NULL;
	*n = 0;
	if (len > INT_MAX) {
		snprintf(err, errlen, "XML: document too large");
		return -1;
	}
	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		snprintf(err, errlen, "XML: cannot create a parser");
		return -1;
	}
	/* Deliberately not XML_PARSE_NOENT (entity substitution), XML_PARSE_DTDLOAD or
	 * XML_PARSE_HUGE: see rss.h. NOERROR/NOWARNING keep libxml2 off stderr; the error is
	 * still recorded in the context. */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, base_url, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[200];
		size_t ml;

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed");
		ml = strlen(msg);
		while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
			msg[--ml] = '\0';
		snprintf(err, errlen, "XML: %s (line %d)", msg, e ? e->line : 0);
		xmlFreeParserCtxt(ctxt);
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	if (is_el(root, NULL, "rss")) {
		channel = child(root, NULL, "channel");
		container = channel;
		title = text_of(child(channel, NULL, "title"));
	} else if (is_el(root, NS_RDF, "RDF")) {
		channel = child(root, NS_RSS1, "channel");
		container = root;
		item_ns = NS_RSS1;
		title = text_of(child(channel, NS_RSS1, "title"));
	} else if (is_el(root, NS_ATOM, "feed")) {
		container = root;
		item_ns = NS_ATOM;
		item_name = "entry";
		title = atom_text(child(root, NS_ATOM, "title"));
		feed_author = text_of(child(child(root, NS_ATOM, "author"), NS_ATOM, "name"));
	}
	if (!container) {
		snprintf(err, errlen, "not an RSS 2.0, RSS 1.0 or Atom feed (root element <%.40s>)",
		         root && root->name ? (const char *)root->name : "none");
		goto out;
	}
	for (xmlNode *c = container->children; c; c = c->next) {
		struct raw_item r = {0};

		if (!is_el(c, item_ns, item_name))
			continue;
		if (item_ns && strcmp(item_ns, NS_ATOM) == 0)
			read_atom_entry(c, feed_author, &r);
		else
			read_rss_item(c, item_ns, &r);
		out = xrealloc(out, (count + 1) * sizeof(*out));
		memset(&out[count], 0, sizeof(out[count]));
		item_to_message(&r, base_url, feed_name, title, now_ms, &out[count]);
		count++;
		raw_item_clear(&r);
	}
	*items = out;
	*n = count;
	out = NULL;
	rc = 0;
out:
	free(title);
	free(feed_author);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

void rss_items_free(struct rss_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++)
		message_clear(&items[i].msg);
	free(items);
}

/* ---- the source ----------------------------------------------------------------------------- */

struct rss_feed {
	char *name; /* as configured: "abakan-news" */
	char *url;
};

static void rss_feed_free(void *impl)
{
	struct rss_feed *f = impl;

	if (!f)
		return;
	free(f->name);
	free(f->url);
	free(f);
}

/* A non-success HTTP status as the poll's result (poll_status_of_http); 404 and 410 mean the
 * feed is gone. */
static void http_failure(struct poll_result *res, const struct fetch_response *resp,
                         const char *what)
{
	long st = resp->status;
	int retry_after_ms;
	enum poll_status status = poll_status_of_http(resp, &retry_after_ms);

	if (status == POLL_RATE_LIMITED)
		poll_result_set(res, status, "%s: HTTP %ld (rate limited)", what, st);
	else if (st == 404 || st == 410)
		poll_result_set(res, status, "%s: HTTP %ld: the feed is gone; check RSS_FEEDS",
		                what, st);
	else
		poll_result_set(res, status, "%s: HTTP %ld", what, st);
	res->retry_after_ms = retry_after_ms;
}

/* Reads cursor `key`; "" counts as unset. Returns 0 or -1 with res filled. */
static int cursor_get(struct source *src, struct source_env *env, const char *key, char **value,
                      struct poll_result *res)
{
	char err[256];

	if (store_cursor_get(env->db, src->name, key, value, err, sizeof(err)) < 0) {
		poll_result_set(res, POLL_RETRY, "reading cursor %s: %s", key, err);
		return -1;
	}
	if (*value && !**value) {
		free(*value);
		*value = NULL;
	}
	return 0;
}

static void rss_poll(struct source *src, struct source_env *env, struct poll_result *res)
{
	struct rss_feed *f = src->impl;
	char *etag = NULL, *last_modified = NULL;
	static const char *const headers[] = {
	        "Accept: application/rss+xml, application/atom+xml, application/rdf+xml, "
	        "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
	        NULL};
	struct fetch_request req = {
	        .url = f->url,
	        .headers = headers,
	        .timeout_ms = RSS_TIMEOUT_MS,
	        .max_body = RSS_MAX_BODY,
	};
	struct fetch_response resp = {0};
	struct rss_item *items = NULL;
	size_t n = 0, k = 0;
	struct message *batch = NULL;
	struct intake_result *results = NULL;
	char err[512];

	memset(res, 0, sizeof(*res));
	if (cursor_get(src, env, "etag", &etag, res) < 0 ||
	    cursor_get(src, env, "last_modified", &last_modified, res) < 0)
		goto out;
	req.if_none_match = etag;
	req.if_modified_since = last_modified;
	if (fetch(&req, &resp, err, sizeof(err)) < 0) {
		/* fetch's reason starts with the URL, which may carry a private feed key. */
		const char *reason = strncmp(err, f->url, strlen(f->url)) == 0
		                             ? err + strlen(f->url) + (err[strlen(f->url)] ? 2 : 0)
		                             : err;

		poll_result_set(res, POLL_RETRY, "feed %s: %s", f->name, reason);
		goto out;
	}
	if (resp.status == 304) {
		res->status = POLL_OK;
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		char what[128];

		snprintf(what, sizeof(what), "feed %s", f->name);
		http_failure(res, &resp, what);
		goto out;
	}
	if (rss_parse(resp.body, resp.body_len, f->url, f->name, time_now_ms(), &items, &n, err,
	              sizeof(err)) < 0) {
		poll_result_set(res, POLL_RETRY, "feed %s: %s", f->name, err);
		goto out;
	}

	batch = xcalloc(n ? n : 1, sizeof(*batch));
	for (size_t i = 0; i < n; i++) {
		/* Moved: intake_submit normalises the batch in place, and the batch owns it. */
		batch[k++] = items[i].msg;
		memset(&items[i].msg, 0, sizeof(items[i].msg));
	}
	if (k) {
		results = xcalloc(k, sizeof(*results));
		if (intake_submit(env->collector, env->db, src->name, batch, NULL, k, results, err,
		                  sizeof(err)) < 0) {
			poll_result_set(res, POLL_RETRY, "feed %s: storing items: %s", f->name,
			                err);
			goto out;
		}
	}
	res->fetched = (int)k;

	/* Committed: now the cursors may move. */
	if ((resp.last_modified || last_modified) &&
	    store_cursor_set(env->db, src->name, "last_modified",
	                     resp.last_modified ? resp.last_modified : "", err, sizeof(err)) < 0)
		goto cursor_failed;
	if ((resp.etag || etag) &&
	    store_cursor_set(env->db, src->name, "etag", resp.etag ? resp.etag : "", err,
	                     sizeof(err)) < 0)
		goto cursor_failed;
	res->status = POLL_OK;
	goto out;
cursor_failed:
	/* The items are stored; the next poll fetches them again and the store drops them. */
	poll_result_set(res, POLL_RETRY, "feed %s: writing cursor: %s", f->name, err);
out:
	for (size_t i = 0; i < k; i++)
		message_clear(&batch[i]);
	free(results);
	free(batch);
	rss_items_free(items, n);
	fetch_response_clear(&resp);
	free(etag);
	free(last_modified);
}

int rss_sources(const struct rss_settings *s, struct source_set *set, char *err, size_t errlen)
{
	static const struct source_url_words words = {
	        .variable = "RSS_FEEDS", .syntax = "name=url", .entry = "feed", .url = "URL"};
	struct source_url *feeds;
	size_t n;

	if (!s || !s->feeds || !*s->feeds)
		return 0;
	xmlInitParser(); /* once, before the source threads exist */
	if (source_urls_parse(s->feeds, &words, NULL, &feeds, &n, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct rss_feed *f = xcalloc(1, sizeof(*f));
		char *label = xasprintf("rss:%s", feeds[i].name);
		struct source *src = source_new(label, s->interval_ms);

		free(label);
		f->name = feeds[i].name;
		f->url = feeds[i].url;
		src->impl = f;
		src->poll = rss_poll;
		src->free_impl = rss_feed_free;
		source_set_add(set, src);
	}
	free(feeds);
	return 0;
}
