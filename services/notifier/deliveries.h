/*
 * deliveries: the notifier's table of notifications (migrations/001_init.sql), the one place
 * their state lives:
 *
 *   pending --claim--> sending --remote accepted--> sent
 *      ^                  |  \--temporary failure, attempts left--> pending (later)
 *      |                  \----permanent, or out of attempts------> dead
 *      \--------------------- operator retry <---------------------/
 *
 * Rows are written before anything is attempted, keyed event_id|channel|recipient with
 * INSERT ... ON CONFLICT DO NOTHING, so a replayed event adds nothing. A claim takes one due
 * row with FOR UPDATE SKIP LOCKED (workers and replicas never take the same row), counts the
 * attempt and leases it: a worker killed mid-attempt leaves it "sending" until the lease
 * expires, then it is due again. So a crash costs at most one more attempt of that one row and
 * loses none.
 *
 * Every function takes a connection of the caller's (not shared between threads) and returns
 * 0 (or a count) or -1 with err.
 */
#ifndef NOTIFIER_DELIVERIES_H
#define NOTIFIER_DELIVERIES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "incident_event.h"
#include "rules.h"

/* Key of one planned delivery: "<event_id>|<channel>|<recipient>". Caller frees. */
char *delivery_key(const char *event_id, const char *channel, const char *recipient);

/*
 * Records the planned deliveries of n events (plans[i] belongs to events[i]) in one
 * statement; rows already there are left alone. Returns the number of new rows, or -1.
 */
int deliveries_insert(struct db *db, const struct incident_event *events, const struct plan *plans,
                      size_t n, char *err, size_t errlen);

/* A claimed row: what the worker needs to attempt it. */
struct delivery {
	int64_t id;
	char key[512];
	char channel[32];
	int64_t incident_id;
	int attempts;        /* including the one just claimed */
	int64_t occurred_at; /* the event's time, ms */
	json_t *payload;     /* owned */
};

void delivery_clear(struct delivery *d);

/* Claims one due row of one of `channels` (a PostgreSQL text array literal, "{email}";
 * NULL: any) and leases it for lease_ms. Returns 1 with *d filled, 0 when nothing is due, -1
 * on error. */
int deliveries_claim(struct db *db, int64_t lease_ms, const char *channels, struct delivery *d,
                     char *err, size_t errlen);

/* The remote accepted: sent, with what it gave back ("" for none). */
int deliveries_mark_sent(struct db *db, int64_t id, const char *remote_id, const char *link,
                         char *err, size_t errlen);

/* A temporary failure: due again after delay_ms, with the reason kept. */
int deliveries_mark_retry(struct db *db, int64_t id, int64_t delay_ms, const char *reason,
                          char *err, size_t errlen);

/* Not attempted after all (a rate limit): due again after delay_ms, attempt not counted. */
int deliveries_defer(struct db *db, int64_t id, int64_t delay_ms, char *err, size_t errlen);

/* Given up: dead, with the reason. */
int deliveries_mark_dead(struct db *db, int64_t id, const char *reason, char *err, size_t errlen);

/*
 * Operator retry of a dead row: pending now, attempts from zero. Returns 1 when requeued, 0
 * when no such row, 2 when the row is not dead (nothing changed), -1 on error.
 */
int deliveries_requeue(struct db *db, int64_t id, char *err, size_t errlen);

struct delivery_filter {
	int64_t incident_id; /* 0: any */
	const char *channel; /* NULL: any */
	const char *status;  /* NULL: any */
	int64_t before_id;   /* pagination: rows with a smaller id; 0: from the newest */
	int limit;           /* 1..500 */
};

/* Rows matching f, newest first, as a JSON array of objects (new reference), or NULL. */
json_t *deliveries_list(struct db *db, const struct delivery_filter *f, char *err, size_t errlen);

/* One row as the list shows it, or json null when there is none; NULL on error. */
json_t *deliveries_get(struct db *db, int64_t id, char *err, size_t errlen);

/* Rows per status ("pending", "sending", "sent", "dead") into counts[0..4). */
int deliveries_count(struct db *db, int64_t counts[4], char *err, size_t errlen);

#endif
