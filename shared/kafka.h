/*
 * kafka: the producer, the group consumer and the dead-letter helper every service uses
 * (librdkafka), built around invariant 1 of the design: an offset is stored for commit only
 * after the caller says the message's effect is durable.
 *
 * Producer: idempotent (enable.idempotence, acks=all), asynchronous. Each produce names a
 * struct kafka_delivery that the delivery report fills; kafka_producer_wait() serves reports
 * until every outstanding message is acknowledged or failed, so a caller produces a batch, waits,
 * and then knows exactly which records the broker has.
 *
 * Consumer: joins a group, enable.auto.offset.store=false, enable.auto.commit=true (only stored
 * offsets are ever committed, in the background and on close). The caller processes a message,
 * makes its effect durable, then calls kafka_consumer_done(); a crash before that replays the
 * message. A partition whose position the broker resets (offset out of range, i.e. data the
 * consumer never saw was deleted) is an error: kafka_consumer_poll() reports it as
 * KAFKA_POLL_RESET with the details, and kafka_consumer_resets() counts them; never silent.
 *
 * Every rd_kafka_message_t polled is destroyed by kafka_message_release(); ownership of
 * librdkafka configuration objects passes to librdkafka inside this module.
 */
#ifndef SHARED_KAFKA_H
#define SHARED_KAFKA_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kafka_producer;
struct kafka_consumer;

/*
 * Extra librdkafka properties, "key=value" pairs separated by commas or newlines
 * ("fetch.wait.max.ms=10,linger.ms=5"), applied after the module's defaults; NULL for none.
 * Local defaults (deploy/local) set fetch.wait.max.ms low because the local broker holds an
 * empty fetch for the whole wait.
 */
struct kafka_options {
	const char *brokers;   /* bootstrap "host:port,host:port" (KAFKA_BROKERS) */
	const char *client_id; /* service name */
	const char *extra;     /* extra properties as above, or NULL */
};

/* ---- producer ---------------------------------------------------------------------------- */

/* Filled by the delivery report. Zero it before producing; `done` becomes true exactly once. */
struct kafka_delivery {
	bool done;
	int err; /* 0 when acknowledged; else an rd_kafka_resp_err_t */
	int32_t partition;
	int64_t offset;
	char errstr[128];
};

/* New producer. Returns NULL with a reason in err. Caller frees with kafka_producer_free. */
struct kafka_producer *kafka_producer_new(const struct kafka_options *opt, char *err,
                                          size_t errlen);

/*
 * Enqueues one record (copied). `key` may be NULL (then the partitioner spreads records);
 * the same key always lands on the same partition. `headers` is NULL or an array of
 * name/value string pairs terminated by a NULL name. `d` (borrowed, may be NULL) must stay
 * valid until it is done. Returns 0, or -1 with a reason (unknown topic, queue full after
 * serving reports for up to 1 s).
 */
int kafka_produce(struct kafka_producer *p, const char *topic, const void *key, size_t keylen,
                  const void *value, size_t len, const char *const *headers,
                  struct kafka_delivery *d, char *err, size_t errlen);

/*
 * Serves delivery reports until nothing is outstanding or timeout_ms passes. Returns 0 when
 * every record is done (check each delivery's err), -1 on timeout.
 */
int kafka_producer_wait(struct kafka_producer *p, int timeout_ms);

/*
 * Like kafka_producer_wait, but never returns with a record outstanding: when timeout_ms passes,
 * or *stop (may be NULL) becomes true, the records not yet acknowledged are purged and reported
 * as failed through their deliveries (err set, done) before it returns -1. So the caller may free
 * its deliveries whatever the result; a purged record may still have reached the broker, and is
 * sent again by whoever retries it (readers are idempotent). Returns 0 when every record was
 * done in time (check each delivery's err).
 */
int kafka_producer_settle(struct kafka_producer *p, int timeout_ms,
                          const volatile sig_atomic_t *stop);

/* Serves delivery reports without waiting. */
void kafka_producer_poll(struct kafka_producer *p);

/* Records produced and not yet done. */
int kafka_producer_outstanding(struct kafka_producer *p);

/*
 * True when the cluster answered a metadata request within timeout_ms (for /readyz);
 * thread-safe. On false writes why.
 */
bool kafka_producer_reachable(struct kafka_producer *p, int timeout_ms, char *why, size_t whylen);

/* Flushes (up to 5 s, and only while a broker answers) and frees. NULL is accepted. Records
 * still not acknowledged after the flush are reported through their deliveries (err set, done). */
void kafka_producer_free(struct kafka_producer *p);

/* ---- consumer ---------------------------------------------------------------------------- */

/* A polled record. Borrowed views into librdkafka's message, valid until released. */
struct kafka_message {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const void *key;
	size_t keylen;
	const void *value;
	size_t len;
	int64_t timestamp_ms; /* broker/producer timestamp, -1 if none */
	void *internal;       /* the rd_kafka_message_t */
};

/* A header of a polled record, or NULL. Sets *len. Valid until the message is released. */
const void *kafka_message_header(const struct kafka_message *m, const char *name, size_t *len);

enum kafka_poll_result {
	KAFKA_POLL_MESSAGE = 1, /* *out holds a record: process it, then done + release */
	KAFKA_POLL_NONE = 0,    /* nothing within the timeout */
	KAFKA_POLL_RESET = -2,  /* the broker reset a position: data was skipped; err says where */
	KAFKA_POLL_ERROR = -1,  /* a transient or fatal consumer error; err says what */
};

/*
 * New consumer in `group`, subscribed to the topics (NULL-terminated array). A group with no
 * committed offset starts at the earliest record. Returns NULL with a reason in err.
 */
struct kafka_consumer *kafka_consumer_new(const struct kafka_options *opt, const char *group,
                                          const char *const *topics, char *err, size_t errlen);

/* Waits up to timeout_ms for one record. See enum kafka_poll_result. */
enum kafka_poll_result kafka_consumer_poll(struct kafka_consumer *c, int timeout_ms,
                                           struct kafka_message *out, char *err, size_t errlen);

/*
 * Declares the message's effect durable: stores offset+1 for commit. Call in order per
 * partition. Returns 0, or -1 (e.g. the partition was revoked meanwhile; the new owner will
 * replay it, which idempotent effects make harmless).
 */
int kafka_consumer_done(struct kafka_consumer *c, const struct kafka_message *m);

/* Destroys the underlying librdkafka message. Must be called once per polled message. */
void kafka_message_release(struct kafka_message *m);

/* Commits the stored offsets now, waiting up to 3 s for the result. Returns 0 or -1 with err. */
int kafka_consumer_commit(struct kafka_consumer *c, char *err, size_t errlen);

/* Number of partitions assigned to this member now. */
int kafka_consumer_assigned(struct kafka_consumer *c);

/* The lag of one partition assigned to this member. */
struct kafka_partition_lag {
	char topic[250]; /* a Kafka topic name has at most 249 characters */
	int32_t partition;
	int64_t lag; /* records */
};

/*
 * Lag of every partition assigned to this member now: the partition's high watermark, asked of
 * its leader at each call, minus the group's committed offset (the low watermark when the group
 * has committed nothing, as the consumer then starts at the earliest record). The committed
 * offset, not the position: a record polled but not yet done is still owed, so a batch retrying
 * while its database is down keeps counting, and the figure keeps growing as records arrive
 * even though this member polls nothing. Offsets done are committed within
 * auto.commit.interval.ms (1 s), so the lag may read up to a second of work high.
 *
 * A partition revoked by a rebalance is no longer listed (its new owner reports it), with one
 * exception: an owner that has not polled for longer than max.poll.interval.ms (stuck on a
 * batch) is taken out of the group by librdkafka, which empties its assignment; it then goes on
 * listing the partitions it last held, until it polls again. Another replica may list them too,
 * with the same figures (they are the group's): sum lag over max by partition.
 *
 * Thread-safe (librdkafka's calls are; nothing of this struct is read), so /metrics may call it
 * on the HTTP server's threads while the owner polls; it must return before kafka_consumer_free.
 * Blocks on the broker for up to timeout_ms in all. Returns an array of *n entries (possibly
 * none) the caller frees, or NULL with a reason in err.
 */
struct kafka_partition_lag *kafka_consumer_lag(struct kafka_consumer *c, int timeout_ms, size_t *n,
                                               char *err, size_t errlen);

/* Offset resets seen since start (also reported one by one as KAFKA_POLL_RESET). */
uint64_t kafka_consumer_resets(struct kafka_consumer *c);

/* Same contract as kafka_producer_reachable, through the consumer's handle. */
bool kafka_consumer_reachable(struct kafka_consumer *c, int timeout_ms, char *why, size_t whylen);

/* Commits stored offsets, leaves the group, frees; when no broker answers within 1 s it frees
 * without closing (bounded: a service exits even with its broker gone). NULL is accepted. */
void kafka_consumer_free(struct kafka_consumer *c);

/* ---- dead letters ------------------------------------------------------------------------ */

/*
 * Publishes a record that cannot be processed to `<original topic>.dlq` with its original key
 * and bytes unchanged, and the why in headers: dlq.reason, dlq.service, dlq.topic,
 * dlq.partition, dlq.offset, dlq.time (RFC 3339). Waits for the acknowledgement (up to
 * timeout_ms), so the caller may then mark the original done. Returns 0, or -1 with err.
 */
int kafka_dead_letter(struct kafka_producer *p, const struct kafka_message *m, const char *service,
                      const char *reason, int timeout_ms, char *err, size_t errlen);

#endif
