/*
 * message: the message.v1 record, one citizen's post or comment as the collector normalised
 * it, carried on the topic messages.raw (key: the message id) and embedded in the records of
 * later stages. The JSON shape is documented in shared/schemas/message.v1.md; this module is its
 * one encoder and its one decoder/validator.
 *
 * A struct message holds owned copies of its strings (message_clear frees them), so it can
 * outlive the JSON it came from.
 */
#ifndef SHARED_MESSAGE_H
#define SHARED_MESSAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fields.h"

#define MESSAGE_SCHEMA "message.v1"
#define MESSAGE_MAX_TEXT_CHARS 20000 /* longer posts are rejected, not truncated */
#define MESSAGE_MAX_ID_CHARS 256
#define MESSAGE_MAX_NAME_CHARS 256
#define MESSAGE_MAX_LIST 64 /* links, mentions */

struct message {
	/* Stable id assigned by the collector, unique per (source, external_id). */
	char *id;
	/* Feed that delivered it: "vk", "telegram", "rss", "open311", "http", ... */
	char *source;
	char *external_id; /* the id in the source system */
	char *kind;        /* "post", "comment", "report", "message" or NULL */
	/* 1 for the text as first seen; each edit the source reports increments it. */
	int64_t revision;
	/* For a comment: the id of the message it replies to, or NULL. */
	char *parent_id;
	char *text;          /* plain text, normalised */
	int64_t posted_at;   /* ms since epoch, UTC: when the citizen wrote it */
	int64_t received_at; /* ms since epoch, UTC: when the collector accepted it */
	char *url;           /* link to the original, or NULL */
	char *author_id;     /* personal data: masked in logs (log_mask); may be NULL */
	char *author_name;
	/* The page, group or channel it was posted in; may be NULL. */
	char *community_id;
	char *community_name;
	char *address; /* free-text address given by the source, or NULL */
	bool has_coords;
	double lat, lon;
	json_t *links;    /* array of strings, or NULL; owned reference */
	json_t *mentions; /* array of strings, or NULL; owned reference */
	/* Object of scalar values identifying where to reply in the source
	 * (e.g. {"owner_id":"-1","post_id":"5"}), or NULL; owned reference. */
	json_t *thread;
	/* Set by the decoders: every string above has been checked valid UTF-8 without NUL, so
	 * an encoder need not check it again. Whoever changes a string after decoding clears it. */
	bool strings_checked;
};

/*
 * Validates and decodes a message.v1 object into m (which must be zeroed or cleared). On error
 * returns -1, fills e naming the first offending field, and leaves m cleared. Unknown members
 * are ignored; obj that is not an object (or NULL) is an error with field "".
 */
int message_decode(const json_t *obj, struct message *m, struct field_error *e);

/* Same from raw bytes (a Kafka record): invalid JSON is reported with field "" and the parser's
 * line/column. */
int message_decode_bytes(const void *data, size_t len, struct message *m, struct field_error *e);

/* Encodes m as a new message.v1 object (caller owns the reference). Absent optional fields are
 * omitted. Times are written with rfc3339_format. m is not validated: a string that is not
 * valid UTF-8 is left out, so decoding the result is what reports it. */
json_t *message_encode(const struct message *m);

/* Frees m's strings and references and zeroes it. */
void message_clear(struct message *m);

#endif
