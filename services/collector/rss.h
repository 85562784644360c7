/*
 * rss: the RSS 2.0 / Atom adapter's parsing, separate from its polling (rss.c) so that the
 * unit tests can feed it documents and dates directly.
 *
 * Feeds are untrusted XML from the network. They are parsed with libxml2 without entity
 * substitution, DTD loading or network access (XML_PARSE_NOENT, XML_PARSE_DTDLOAD and
 * XML_PARSE_HUGE are never set), and text is read from text and CDATA nodes only: a
 * user-defined entity reference is skipped, never expanded, so an entity bomb costs nothing.
 */
#ifndef COLLECTOR_RSS_H
#define COLLECTOR_RSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"

/*
 * Parses an RFC 822 / RFC 5322 date as RSS 2.0's pubDate uses it:
 *     "Sat, 28 Nov 2026 13:20:57 +0700", "28 Nov 2026 06:20 GMT", "Sat, 28 Nov 26 ... EST"
 * The day name is optional (checked to be a day name, not against the date: feeds get it wrong
 * more often than the date); seconds are optional; a two-digit year is 19xx from 50, else 20xx
 * (RFC 5322 4.3); the zone is +hhmm / -hhmm, UT, GMT, UTC, Z, the obsolete North American
 * EST EDT CST CDT MST MDT PST PDT, or a military letter (read as UTC, RFC 5322 4.3). Runs of
 * spaces and tabs count as one; a trailing comment "(MSK)" after the zone is allowed. Month and
 * day names are case-insensitive. Day of month and ranges are checked (leap second as in
 * rfc3339_parse). Returns 0 and sets *ms (UTC), or -1.
 */
int rss_date_parse(const char *s, int64_t *ms);

/* One feed item mapped to a message (source "rss", kind "post"). */
struct rss_item {
	struct message msg; /* owned; rss_items_free clears it */
	bool dated;         /* posted_at came from the item (else it is the time of the poll) */
};

/*
 * Parses an RSS 2.0, RSS 1.0 (RDF) or Atom 1.0 document of len bytes fetched from `base_url`
 * (for relative links) for the feed configured as `feed_name`. Each item becomes a message:
 * external_id = the guid (Atom: id) when it is a URI, else the link; a guid that is not a URI,
 * or a hash of title and text when there is neither, prefixed with "<feed_name>/" (see
 * item_id in rss.c), text = title + "\n" +
 * description (Atom: summary or content; RSS: content:encoded when there is no description),
 * HTML left in for normalize_message; posted_at = pubDate / dc:date (Atom: published, else
 * updated), or now_ms when the item has none or it does not parse; url = link; author_name =
 * dc:creator or author (Atom: author/name); community_id = feed_name, community_name = the
 * channel's title. Sets *items (caller frees with rss_items_free) and *n, and returns 0; -1 with
 * the parser's message in err when the document is not well-formed XML or not a feed.
 */
int rss_parse(const char *xml, size_t len, const char *base_url, const char *feed_name,
              int64_t now_ms, struct rss_item **items, size_t *n, char *err, size_t errlen);

/* Clears every item's message and frees the array. NULL is accepted. */
void rss_items_free(struct rss_item *items, size_t n);

#endif
