/*
 * store: the collector's tables (migrations/): messages, their outbox state, poller cursors.
 *
 * Every accepted message is committed here before anyone is told it was accepted (the 202 of
 * the ingest API, a poller's cursor moving on); the outbox then publishes it. Writes are
 * idempotent on the message id ("source:external_id"), so a re-polled or re-sent message is a
 * duplicate, not a second row. All functions take a connection the caller owns (one per thread).
 */
#ifndef COLLECTOR_STORE_H
#define COLLECTOR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "message.h"

enum store_outcome {
	STORE_ACCEPTED,  /* new: stored, will be published */
	STORE_DUPLICATE, /* already stored with the same text: nothing changed */
	STORE_UPDATED,   /* an edit of a stored message: new revision, will be published */
};

/*
 * Stores n normalised messages (ids set, see normalize_message) in one transaction. A message
 * whose id is already stored is a duplicate, unless edits[i] is true (the source says it was
 * edited; edits may be NULL) and its text differs: then its revision is incremented and it is
 * queued for publishing again. Repeats of one id inside the batch count as duplicates of the
 * first. On success fills out[i] and, for updates, m[i].revision; returns 0. On failure nothing
 * is stored; returns -1 with err.
 */
int store_messages(struct db *db, struct message *m, const bool *edits, size_t n,
                   enum store_outcome *out, char *err, size_t errlen);

/* Reads a poller's cursor. Sets *value to a new string (caller frees) or NULL if none. */
int store_cursor_get(struct db *db, const char *source, const char *key, char **value, char *err,
                     size_t errlen);

/* Writes a poller's cursor (upsert). */
int store_cursor_set(struct db *db, const char *source, const char *key, const char *value,
                     char *err, size_t errlen);

/* One message waiting in the outbox. */
struct outbox_entry {
	char *id;
	int64_t revision;
	char *record; /* message.v1 JSON */
	size_t record_len;
};

/*
 * Starts a transaction and locks up to `limit` unpublished messages, oldest first, skipping
 * rows another replica holds (FOR UPDATE SKIP LOCKED). Sets *entries (caller frees with
 * store_outbox_free) and *n. The caller publishes them, then calls store_outbox_done, which
 * marks the acknowledged ones and commits; or db_rollback to leave them all queued.
 */
int store_outbox_take(struct db *db, int limit, struct outbox_entry **entries, size_t *n, char *err,
                      size_t errlen);

/* Marks entries whose acked[i] is true as published (at their revision) and commits. */
int store_outbox_done(struct db *db, const struct outbox_entry *entries, const bool *acked,
                      size_t n, char *err, size_t errlen);

void store_outbox_free(struct outbox_entry *entries, size_t n);

/* Messages waiting to be published (for the outbox backlog gauge). -1 on error. */
int64_t store_outbox_backlog(struct db *db, char *err, size_t errlen);

#endif
