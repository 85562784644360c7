/*
 * apiutil: what the operator API's handlers (api.c, stats.c, open311.c) share: the timestamp
 * format of answers in SQL, query-parameter readers that answer 400 naming the parameter, and
 * the region's names added to incidents.
 */
#ifndef ASSIGNER_APIUTIL_H
#define ASSIGNER_APIUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;
struct http_response;
struct region;
struct strbuf;

/* An SQL expression writing timestamptz column c as RFC 3339 UTC with milliseconds (NULL
 * stays NULL), the one time format of the API's answers. */
#define API_TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/*
 * Reads the query parameter `name` as an RFC 3339 time into *ms. Absent: 0 with *present false.
 * Invalid: answers 400 {"error":"invalid_parameter","field":name,...} into resp and returns -1.
 */
int api_query_time(const struct http_request *req, struct http_response *resp, const char *name,
                   int64_t *ms, bool *present);

/* Answers 400 invalid_parameter naming `name`, with a printf-formatted message. Returns -1. */
int api_bad_parameter(struct http_response *resp, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Appends s to sb percent-encoded for a query string (RFC 3986 unreserved characters kept). */
void api_url_encode(struct strbuf *sb, const char *s);

/* http_respond_json with reals written to 10 significant digits, so a share of 0.6667 reads
 * 0.6667 rather than 0.66669999999999996. Takes the reference to body. */
void api_respond(struct http_response *resp, int status, json_t *body);

/* Replaces obj["authority"] (an id or null) with {"id","name"} from the region, and adds
 * "municipality_name" for obj["municipality"]. Unknown ids keep the id with a null name. */
void api_name_incident(json_t *obj, const struct region *region);

#endif
