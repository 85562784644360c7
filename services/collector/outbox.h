/*
 * outbox: publishes stored messages to messages.raw and marks them published only after the
 * broker acknowledged them (invariant 1). A crash between the store's commit and the publish
 * leaves the rows queued, and the next round (after a restart, or on another replica: rows are
 * taken with SKIP LOCKED) publishes them. A crash after the acknowledgement but before the mark
 * publishes a record twice, which consumers absorb: they are idempotent on the message id.
 */
#ifndef COLLECTOR_OUTBOX_H
#define COLLECTOR_OUTBOX_H

#include <stddef.h>

struct collector;
struct db;

/*
 * One round: takes up to the configured batch of queued messages, produces each (key: its id),
 * waits for the acknowledgements and marks the acknowledged ones. Sets *published. Returns 0,
 * or -1 with err (database or broker trouble: the rows stay queued).
 */
int outbox_round(struct collector *c, struct db *db, int *published, char *err, size_t errlen);

/*
 * Runs rounds until lifecycle_stopping(): after each round that drained the queue it sleeps
 * until collector_wake_outbox() or 200 ms; after a failure it backs off. Keeps the backlog
 * gauge current. On stop it runs a last round so accepted messages leave promptly.
 */
void outbox_run(struct collector *c, struct db *db);

#endif
