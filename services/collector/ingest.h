/*
 * ingest: the HTTP ingest API, POST /v1/messages, through which other regions' systems and
 * integrations push messages (and `collector replay` reads archives in the same item format).
 *
 * Body: one JSON message object, a JSON array of them, or NDJSON (Content-Type
 * application/x-ndjson), each item shaped as message.v1 without schema, id and received_at
 * (the collector sets those). Authentication: "Authorization: Bearer <token>"; each token may
 * submit for the sources configured for it. Answers:
 *   202  {"accepted":N,"duplicates":N,"updated":0,"rejected":N,"items":[{"index":0,
 *        "status":"accepted","id":"http:42"},{"index":1,"status":"rejected",
 *        "error":"invalid_field","field":"posted_at","message":"..."}]} when any item was taken
 *   400  the same body when every item was rejected, or the body is empty / not JSON
 *   401  no or unknown token; 403 an item names a source the token may not use (nothing is
 *        stored); 413 body over HTTP_MAX_BODY or more than INGEST_MAX_ITEMS items; 415 another
 *        Content-Type; 503 the database is unavailable (nothing stored: retry)
 * A bad item never takes its good neighbours down; accepted items are committed before 202.
 */
#ifndef COLLECTOR_INGEST_H
#define COLLECTOR_INGEST_H

#include <jansson.h>
#include <stddef.h>

#include "fields.h"
#include "message.h"

struct collector;
struct http_server;
struct ingest;

/*
 * Parses INGEST_TOKENS ("token=source|source,token2=*") and INGEST_SOURCES from the
 * collector's settings. Returns NULL with err naming the variable when malformed.
 */
struct ingest *ingest_new(struct collector *c, char *err, size_t errlen);

void ingest_free(struct ingest *in);

/* Registers POST /v1/messages on srv. Returns 0 or -1. */
int ingest_routes(struct ingest *in, struct http_server *srv);

/*
 * Decodes one item of the ingest format into m (zeroed), validating it as message.v1 would
 * (errors name the field). Sets received_at to now. Returns 0 or -1 with e.
 */
int ingest_decode_item(const json_t *item, struct message *m, struct field_error *e);

#endif
