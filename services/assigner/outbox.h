/*
 * outbox: publishes the queued incident_event.v1 records to incidents.events (key: the
 * incident id) and marks them published only after the broker acknowledged them (invariant
 * 1). A crash between an action's commit and the publish leaves its rows queued for the next
 * round; a crash after the acknowledgement but before the mark publishes a record twice, which
 * consumers absorb: they are idempotent on event_id.
 *
 * One incident's events must reach the topic in order, so one publisher works at a time: a
 * round holds a transaction-scoped advisory lock, and a second replica's round finds it taken
 * and publishes nothing (its rows are also taken FOR UPDATE SKIP LOCKED, so nothing is
 * published twice even without the lock).
 */
#ifndef ASSIGNER_OUTBOX_H
#define ASSIGNER_OUTBOX_H

#include <stddef.h>

struct db;
struct kafka_producer;

/*
 * One round: up to `batch` queued events in id order, produced to `topic`, acknowledgements
 * awaited, the acknowledged ones marked. Sets *published (and *pending: rows still queued
 * after the round, for the backlog gauge). Returns 0, or -1 with err (database or broker
 * trouble: the rows stay queued).
 */
int outbox_round(struct db *db, struct kafka_producer *p, const char *topic, int batch,
                 int *published, long *pending, char *err, size_t errlen);

#endif
