/*
 * kafka: producer, group consumer and dead-letter helper over librdkafka (see kafka.h).
 *
 * What this file adds to librdkafka is the project's delivery discipline: every produced record
 * is tracked to its acknowledgement through a struct kafka_delivery, a consumed offset is stored
 * for the background commit only when the caller declares the effect durable, and a position
 * reset (data deleted before the group consumed it) is surfaced instead of being skipped.
 *
 * Library code never prints: librdkafka's log and error callbacks are captured here. The last
 * warning or error is kept to explain a failed reachability check; consumer errors and resets
 * are queued (the callbacks run on librdkafka's threads) and handed out by
 * kafka_consumer_poll() on the caller's thread. kafka_consumer_lag() asks the broker, from
 * whatever thread scrapes /metrics, for what the group still owes.
 */
#include "kafka.h"

#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define LAST_ERROR_MAX 256
#define EVENT_TEXT_MAX 512
#define EVENTS_MAX 32
#define QUEUE_FULL_WAIT_MS 1000
#define FREE_FLUSH_MS 5000
/* Bounds on what shutdown waits for from a broker that may be gone: a service must exit within
 * SHUTDOWN_TIMEOUT (10 s by default) even then. */
#define COMMIT_WAIT_MS 3000
#define CLOSE_PROBE_MS 1000
#define DESTROY_WAIT_MS 2000

/* What the producer and the consumer share: the handle and the last librdkafka complaint. */
struct kafka_common {
	rd_kafka_t *rk;
	pthread_mutex_t lock; /* guards last_error, and the owner's fields documented as such */
	char last_error[LAST_ERROR_MAX];
};

/* A dead-letter delivery whose caller stopped waiting; freed when its report arrives. */
struct abandoned {
	struct kafka_delivery *d;
	struct abandoned *next;
};

struct kafka_producer {
	struct kafka_common base; /* first: librdkafka's opaque points here */
	atomic_int outstanding;
	struct abandoned *abandoned; /* under base.lock */
};

struct consumer_event {
	enum kafka_poll_result kind; /* KAFKA_POLL_RESET or KAFKA_POLL_ERROR */
	char text[EVENT_TEXT_MAX];
};

struct kafka_consumer {
	struct kafka_common base; /* first: librdkafka's opaque points here */
	/* A ring of events from librdkafka's threads, under base.lock. */
	struct consumer_event events[EVENTS_MAX];
	int event_head;
	int event_count;
	atomic_uint_fast64_t resets;
	/* A record polled while an event was pending: returned by the next poll, after it. */
	rd_kafka_message_t *held;
	/* For kafka_consumer_lag: when the owner last polled, librdkafka's limit on the gap
	 * (max.poll.interval.ms), and the last non-empty assignment (under base.lock). */
	atomic_int_fast64_t polled_ms;
	int64_t max_poll_ms;
	rd_kafka_topic_partition_list_t *last_assignment;
};

/* ---- shared plumbing ---------------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* librdkafka prefixes its log lines with "[thrd:NAME]: "; the thread is noise to a reader. */
static const char *strip_thread(const char *buf)
{
	if (strncmp(buf, "[thrd:", 6) == 0) {
		const char *end = strstr(buf, "]: ");
		if (end)
			return end + 3;
	}
	return buf;
}

/* Copies src into dst, truncating to size - 1 bytes. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void note_error(struct kafka_common *b, const char *text)
{
	pthread_mutex_lock(&b->lock);
	copy_text(b->last_error, sizeof(b->last_error), text);
	pthread_mutex_unlock(&b->lock);
}

/* Logs of both clients: nothing is printed; warnings and errors are kept as the last error. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)fac;
	struct kafka_common *b = rk ? rd_kafka_opaque(rk) : NULL;
	if (b && level <= LOG_WARNING)
		note_error(b, strip_thread(buf));
}

static void on_producer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	char text[LAST_ERROR_MAX];
	snprintf(text, sizeof(text), "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
	note_error(opaque, text);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static void append_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Appends "; <message>" (or the message alone when err is empty), truncating at errlen. */
static void append_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	size_t n = strnlen(err, errlen);
	if (n > 0 && n + 2 < errlen) {
		memcpy(err + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/*
 * Applies kafka_options.extra. Pairs are separated by commas or newlines; when the text holds
 * a newline, only newlines separate, so that list values ("debug=cgrp,fetch") can be given one
 * per line. Every bad pair is named in err, not just the first. Returns 0 or -1.
 */
static int apply_extra(rd_kafka_conf_t *conf, const char *extra, const char *const *fixed,
                       char *err, size_t errlen)
{
	if (!extra)
		return 0;
	char *copy = xstrdup(extra);
	const char *seps = strchr(copy, '\n') ? "\n" : ",";
	int rc = 0;
	if (err && errlen)
		err[0] = '\0';
	char *save = NULL;
	int item = 0;
	for (char *tok = strtok_r(copy, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
		char *pair = trim(tok);
		item++;
		if (!*pair)
			continue;
		char *eq = strchr(pair, '=');
		if (!eq || eq == pair) {
			/* Not echoed: it may be the tail of a secret that held a comma. */
			append_err(err, errlen, "kafka options: item %d is not key=value", item);
			rc = -1;
			continue;
		}
		*eq = '\0';
		const char *key = trim(pair);
		const char *val = trim(eq + 1);
		bool is_fixed = false;
		for (const char *const *f = fixed; f && *f; f++)
			is_fixed = is_fixed || strcmp(*f, key) == 0;
		if (is_fixed) {
			append_err(err, errlen, "kafka options: %s is fixed by this module", key);
			rc = -1;
			continue;
		}
		char es[256];
		rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key, val, es, sizeof(es));
		if (r == RD_KAFKA_CONF_UNKNOWN) {
			append_err(err, errlen, "kafka options: unknown property \"%s\"", key);
			rc = -1;
		} else if (r != RD_KAFKA_CONF_OK) {
			append_err(err, errlen, "kafka options: %s: %s", key, es);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

/*
 * A configuration with defaults (name/value pairs ending with {NULL, NULL}), then opt->extra.
 * Returns NULL with err on any bad property.
 */
static rd_kafka_conf_t *conf_build(const struct kafka_options *opt,
                                   const char *const (*defaults)[2], const char *const *fixed,
                                   char *err, size_t errlen)
{
	if (!opt || !opt->brokers || !*opt->brokers) {
		set_err(err, errlen, "kafka: no brokers given");
		return NULL;
	}
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char es[256];
	const char *const base[][2] = {
	        {"bootstrap.servers", opt->brokers},
	        {"client.id", opt->client_id && *opt->client_id ? opt->client_id : "rdkafka"},
	        {NULL, NULL}};
	const char *const(*lists[])[2] = {base, defaults};
	for (size_t l = 0; l < 2; l++) {
		for (const char *const(*kv)[2] = lists[l]; kv && (*kv)[0]; kv++) {
			if (rd_kafka_conf_set(conf, (*kv)[0], (*kv)[1], es, sizeof(es)) !=
			    RD_KAFKA_CONF_OK) {
				set_err(err, errlen, "kafka: %s: %s", (*kv)[0], es);
				rd_kafka_conf_destroy(conf);
				return NULL;
			}
		}
	}
	if (apply_extra(conf, opt->extra, fixed, err, errlen) != 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_log_cb(conf, on_log);
	return conf;
}

/*
 * Sets up the part producers and consumers share and creates the handle from conf, whose opaque
 * and callbacks the caller has set to the object b heads. From a successful rd_kafka_new on the
 * handle owns conf; on failure this destroys conf and what it set up and says why in err
 * ("<what>: <reason>"), so the caller only frees its object. Returns 0 or -1.
 */
static int common_create(struct kafka_common *b, rd_kafka_type_t type, rd_kafka_conf_t *conf,
                         const char *what, char *err, size_t errlen)
{
	char es[512];

	pthread_mutex_init(&b->lock, NULL);
	b->last_error[0] = '\0';
	b->rk = rd_kafka_new(type, conf, es, sizeof(es));
	if (!b->rk) {
		rd_kafka_conf_destroy(conf);
		set_err(err, errlen, "%s: %s", what, es);
		pthread_mutex_destroy(&b->lock);
		return -1;
	}
	return 0;
}

/* Metadata round trip: proves a broker answers, not merely that a socket was once open. */
static bool common_reachable(struct kafka_common *b, int timeout_ms, char *why, size_t whylen)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e = rd_kafka_metadata(b->rk, 0, NULL, &md, timeout_ms);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md && md->broker_cnt > 0) {
		rd_kafka_metadata_destroy(md);
		return true;
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	char last[LAST_ERROR_MAX];
	pthread_mutex_lock(&b->lock);
	snprintf(last, sizeof(last), "%s", b->last_error);
	pthread_mutex_unlock(&b->lock);
	set_err(why, whylen, "no metadata from the cluster within %d ms: %s%s%s", timeout_ms,
	        e ? rd_kafka_err2str(e) : "no brokers", *last ? "; last error: " : "", last);
	return false;
}

/* ---- producer ---------------------------------------------------------------------------- */

/* Runs in whichever thread serves the producer's reports (kafka_producer_wait/poll/free). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	(void)rk;
	struct kafka_producer *p = opaque;
	struct kafka_delivery *d = rkm->_private;
	if (d) {
		d->err = rkm->err;
		d->partition = rkm->partition;
		d->offset = rkm->err ? -1 : rkm->offset;
		/* Not rd_kafka_message_errstr: in a delivery report the payload is the record
		 * itself (not NUL-terminated), which that function would return as the text. */
		if (rkm->err)
			snprintf(d->errstr, sizeof(d->errstr), "%s", rd_kafka_err2str(rkm->err));
		else
			d->errstr[0] = '\0';
		pthread_mutex_lock(&p->base.lock);
		d->done = true;
		for (struct abandoned **a = &p->abandoned; *a; a = &(*a)->next) {
			if ((*a)->d == d) {
				struct abandoned *gone = *a;
				*a = gone->next;
				free(gone->d);
				free(gone);
				break;
			}
		}
		pthread_mutex_unlock(&p->base.lock);
	}
	atomic_fetch_sub(&p->outstanding, 1);
}

struct kafka_producer *kafka_producer_new(const struct kafka_options *opt, char *err, size_t errlen)
{
	static const char *const defaults[][2] = {
	        {"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "5"}, {NULL, NULL}};
	rd_kafka_conf_t *conf = conf_build(opt, defaults, NULL, err, errlen);
	if (!conf)
		return NULL;
	struct kafka_producer *p = xcalloc(1, sizeof(*p));
	atomic_init(&p->outstanding, 0);
	rd_kafka_conf_set_opaque(conf, p);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_producer_error);
	if (common_create(&p->base, RD_KAFKA_PRODUCER, conf, "kafka producer", err, errlen) < 0) {
		free(p);
		return NULL;
	}
	return p; /* conf is owned by the handle now */
}

/* Turns the NULL-name-terminated pairs into librdkafka headers, or NULL when there are none. */
static rd_kafka_headers_t *headers_build(const char *const *headers)
{
	if (!headers || !headers[0])
		return NULL;
	size_t n = 0;
	while (headers[2 * n])
		n++;
	rd_kafka_headers_t *h = rd_kafka_headers_new(n);
	for (size_t i = 0; i < n; i++) {
		const char *v = headers[2 * i + 1];
		rd_kafka_header_add(h, headers[2 * i], -1, v, v ? -1 : 0);
	}
	return h;
}

/* Produces with librdkafka's headers object (ownership passes on success). */
static int produce_raw(struct kafka_producer *p, const char *topic, const void *key, size_t keylen,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs,
                       struct kafka_delivery *d, char *err, size_t errlen)
{
	char fatal[256];
	if (rd_kafka_fatal_error(p->base.rk, fatal, sizeof(fatal))) {
		set_err(err, errlen, "kafka producer is unusable: %s", fatal);
		if (hdrs)
			rd_kafka_headers_destroy(hdrs);
		return -1;
	}
	if (d) {
		memset(d, 0, sizeof(*d));
		d->partition = -1;
		d->offset = -1;
	}
	rd_kafka_vu_t vu[6];
	size_t n = 0;
	vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
	vu[n++].u.cstr = topic;
	vu[n].vtype = RD_KAFKA_VTYPE_KEY;
	vu[n].u.mem.ptr = (void *)(uintptr_t)key; /* librdkafka copies it: RD_KAFKA_MSG_F_COPY */
	vu[n++].u.mem.size = key ? keylen : 0;
	vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
	vu[n].u.mem.ptr = (void *)(uintptr_t)value;
	vu[n++].u.mem.size = value ? len : 0;
	vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
	vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
	vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
	vu[n++].u.ptr = d;
	if (hdrs) {
		vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
		vu[n++].u.headers = hdrs;
	}

	atomic_fetch_add(&p->outstanding, 1);
	int64_t deadline = time_mono_ms() + QUEUE_FULL_WAIT_MS;
	for (;;) {
		rd_kafka_error_t *e = rd_kafka_produceva(p->base.rk, vu, n);
		if (!e)
			return 0;
		rd_kafka_resp_err_t code = rd_kafka_error_code(e);
		if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL && time_mono_ms() < deadline) {
			rd_kafka_error_destroy(e);
			rd_kafka_poll(p->base.rk, 100);
			continue;
		}
		set_err(err, errlen, "kafka produce to %s: %s", topic, rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		atomic_fetch_sub(&p->outstanding, 1);
		if (hdrs)
			rd_kafka_headers_destroy(hdrs);
		return -1;
	}
}

int kafka_produce(struct kafka_producer *p, const char *topic, const void *key, size_t keylen,
                  const void *value, size_t len, const char *const *headers,
                  struct kafka_delivery *d, char *err, size_t errlen)
{
	if (!topic || !*topic) {
		set_err(err, errlen, "kafka produce: no topic");
		return -1;
	}
	return produce_raw(p, topic, key, keylen, value, len, headers_build(headers), d, err,
	                   errlen);
}

int kafka_producer_wait(struct kafka_producer *p, int timeout_ms)
{
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		rd_kafka_poll(p->base.rk, 0);
		if (atomic_load(&p->outstanding) <= 0)
			return 0;
		int64_t left = deadline - time_mono_ms();
		if (left <= 0)
			return -1;
		rd_kafka_poll(p->base.rk, left < 100 ? (int)left : 100);
	}
}

int kafka_producer_settle(struct kafka_producer *p, int timeout_ms,
                          const volatile sig_atomic_t *stop)
{
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	while (atomic_load(&p->outstanding) > 0) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0 || (stop && *stop)) {
			rd_kafka_purge(p->base.rk,
			               RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
			/* librdkafka reports every purged record; serving them is local and quick. */
			while (atomic_load(&p->outstanding) > 0)
				rd_kafka_poll(p->base.rk, 100);
			return -1;
		}
		rd_kafka_poll(p->base.rk, left < 100 ? (int)left : 100);
	}
	return 0;
}

void kafka_producer_poll(struct kafka_producer *p)
{
	rd_kafka_poll(p->base.rk, 0);
}

int kafka_producer_outstanding(struct kafka_producer *p)
{
	return atomic_load(&p->outstanding);
}

bool kafka_producer_reachable(struct kafka_producer *p, int timeout_ms, char *why, size_t whylen)
{
	return common_reachable(&p->base, timeout_ms, why, whylen);
}

void kafka_producer_free(struct kafka_producer *p)
{
	if (!p)
		return;
	/* Flushing is worth waiting for only while a broker answers. */
	if (atomic_load(&p->outstanding) > 0 && common_reachable(&p->base, CLOSE_PROBE_MS, NULL, 0))
		rd_kafka_flush(p->base.rk, FREE_FLUSH_MS);
	/* Give up on the rest: each delivery is reported as purged, so none stays open. */
	kafka_producer_settle(p, 0, NULL);
	rd_kafka_destroy(p->base.rk);
	while (p->abandoned) {
		struct abandoned *a = p->abandoned;
		p->abandoned = a->next;
		free(a->d);
		free(a);
	}
	pthread_mutex_destroy(&p->base.lock);
	free(p);
}

/* ---- consumer ---------------------------------------------------------------------------- */

/* Queues an event for the polling thread. A full ring drops its oldest event; resets are also
 * counted in c->resets, so none goes unnoticed. Call with base.lock held. */
static void event_push_locked(struct kafka_consumer *c, enum kafka_poll_result kind,
                              const char *text)
{
	if (c->event_count == EVENTS_MAX) {
		c->event_head = (c->event_head + 1) % EVENTS_MAX;
		c->event_count--;
	}
	struct consumer_event *ev = &c->events[(c->event_head + c->event_count) % EVENTS_MAX];
	ev->kind = kind;
	copy_text(ev->text, sizeof(ev->text), text);
	c->event_count++;
}

static bool event_pop(struct kafka_consumer *c, enum kafka_poll_result *kind, char *err,
                      size_t errlen)
{
	bool got = false;
	pthread_mutex_lock(&c->base.lock);
	if (c->event_count > 0) {
		struct consumer_event *ev = &c->events[c->event_head];
		*kind = ev->kind;
		set_err(err, errlen, "%s", ev->text);
		c->event_head = (c->event_head + 1) % EVENTS_MAX;
		c->event_count--;
		got = true;
	}
	pthread_mutex_unlock(&c->base.lock);
	return got;
}

/*
 * How an offset reset is detected (librdkafka 2.0.2). With auto.offset.reset=earliest,
 * librdkafka repositions a partition whose fetch fails with OFFSET_OUT_OF_RANGE and reports
 * that only as a log line, facility "OFFSET", level LOG_WARNING:
 *   "TOPIC [P]: offset reset (at offset X, broker N) to ...: ...: Broker: Offset out of range"
 * A group's first start (no committed offset, RD_KAFKA_RESP_ERR__NO_OFFSET) is logged at debug
 * level only, so the warning means exactly "a position the consumer had was lost". It is logged
 * before the fetch from the new position starts, so the reset event is queued before any
 * record after the reset reaches kafka_consumer_poll(), which returns pending events first.
 * The alternative, auto.offset.reset=error, stops the partition instead and needs the
 * application to tell "new group" from "data lost" by the error text and to seek by hand; that
 * is more code on the hot path for the same string matching, so it was not chosen. A
 * librdkafka upgrade must keep the test of this (tests/integration/test_kafka.c) passing.
 */
static bool is_offset_reset(int level, const char *fac, const char *text)
{
	return level <= LOG_WARNING && strcmp(fac, "OFFSET") == 0 &&
	       strstr(text, "offset reset") != NULL;
}

static void on_consumer_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct kafka_consumer *c = rk ? rd_kafka_opaque(rk) : NULL;
	if (!c)
		return;
	const char *text = strip_thread(buf);
	if (is_offset_reset(level, fac, text)) {
		char msg[EVENT_TEXT_MAX];
		snprintf(msg, sizeof(msg), "kafka consumer position lost: %s", text);
		atomic_fetch_add(&c->resets, 1);
		pthread_mutex_lock(&c->base.lock);
		event_push_locked(c, KAFKA_POLL_RESET, msg);
		copy_text(c->base.last_error, sizeof(c->base.last_error), text);
		pthread_mutex_unlock(&c->base.lock);
	} else if (level <= LOG_WARNING) {
		note_error(&c->base, text);
	}
}

/* Served on the polling thread (the main queue is forwarded to the consumer queue). */
static void on_consumer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	struct kafka_consumer *c = opaque;
	char msg[EVENT_TEXT_MAX];
	snprintf(msg, sizeof(msg), "kafka consumer: %s: %s",
	         rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
	pthread_mutex_lock(&c->base.lock);
	event_push_locked(c, KAFKA_POLL_ERROR, msg);
	copy_text(c->base.last_error, sizeof(c->base.last_error), msg);
	pthread_mutex_unlock(&c->base.lock);
}

struct kafka_consumer *kafka_consumer_new(const struct kafka_options *opt, const char *group,
                                          const char *const *topics, char *err, size_t errlen)
{
	/* Eager range/roundrobin, not cooperative-sticky: librdkafka 2.0.2 (Debian 12) aborts in
	 * rd_kafka_sticky_assignor_state_destroy() when a cooperative-sticky consumer is closed
	 * before its first assignment (librdkafka issue #4312, fixed in 2.3.0), which a SIGTERM
	 * during a group join would hit. Every member of a group must list the same strategy
	 * first (the local mock broker asserts on a mismatch). */
	const char *const defaults[][2] = {{"group.id", group},
	                                   {"enable.auto.offset.store", "false"},
	                                   {"enable.auto.commit", "true"},
	                                   {"auto.commit.interval.ms", "1000"},
	                                   {"auto.offset.reset", "earliest"},
	                                   {"partition.assignment.strategy", "range,roundrobin"},
	                                   {NULL, NULL}};
	/* Changing these would break invariant 1 or the reset detection above. */
	static const char *const fixed[] = {"enable.auto.offset.store", "auto.offset.reset",
	                                    "log_level", "log.queue", NULL};
	if (!group || !*group) {
		set_err(err, errlen, "kafka consumer: no group");
		return NULL;
	}
	if (!topics || !topics[0]) {
		set_err(err, errlen, "kafka consumer: no topics");
		return NULL;
	}
	rd_kafka_conf_t *conf = conf_build(opt, defaults, fixed, err, errlen);
	if (!conf)
		return NULL;
	struct kafka_consumer *c = xcalloc(1, sizeof(*c));
	atomic_init(&c->resets, 0);
	atomic_init(&c->polled_ms, time_mono_ms());
	char mpi[32];
	size_t mpilen = sizeof(mpi);
	c->max_poll_ms =
	        rd_kafka_conf_get(conf, "max.poll.interval.ms", mpi, &mpilen) == RD_KAFKA_CONF_OK
	                ? strtoll(mpi, NULL, 10)
	                : 300000;
	rd_kafka_conf_set_opaque(conf, c);
	rd_kafka_conf_set_log_cb(conf, on_consumer_log);
	rd_kafka_conf_set_error_cb(conf, on_consumer_error);
	if (common_create(&c->base, RD_KAFKA_CONSUMER, conf, "kafka consumer", err, errlen) < 0) {
		free(c);
		return NULL;
	}
	rd_kafka_poll_set_consumer(c->base.rk);

	size_t n = 0;
	while (topics[n])
		n++;
	rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new((int)n);
	for (size_t i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(c->base.rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (e) {
		set_err(err, errlen, "kafka consumer: subscribe: %s", rd_kafka_err2str(e));
		kafka_consumer_free(c);
		return NULL;
	}
	return c;
}

static void message_fill(struct kafka_message *out, rd_kafka_message_t *rkm)
{
	out->topic = rd_kafka_topic_name(rkm->rkt);
	out->partition = rkm->partition;
	out->offset = rkm->offset;
	out->key = rkm->key;
	out->keylen = rkm->key_len;
	out->value = rkm->payload;
	out->len = rkm->len;
	rd_kafka_timestamp_type_t tstype;
	out->timestamp_ms = rd_kafka_message_timestamp(rkm, &tstype);
	out->internal = rkm;
}

enum kafka_poll_result kafka_consumer_poll(struct kafka_consumer *c, int timeout_ms,
                                           struct kafka_message *out, char *err, size_t errlen)
{
	enum kafka_poll_result kind;
	memset(out, 0, sizeof(*out));
	atomic_store(&c->polled_ms, time_mono_ms());
	if (event_pop(c, &kind, err, errlen))
		return kind;
	rd_kafka_message_t *rkm = c->held;
	c->held = NULL;
	if (!rkm)
		rkm = rd_kafka_consumer_poll(c->base.rk, timeout_ms);
	/* An event queued meanwhile goes first: a reset must precede the records after it. */
	if (event_pop(c, &kind, err, errlen)) {
		c->held = rkm;
		return kind;
	}
	if (!rkm)
		return KAFKA_POLL_NONE;
	if (rkm->err) {
		if (rkm->rkt)
			set_err(err, errlen, "kafka consumer: %s [%" PRId32 "]: %s",
			        rd_kafka_topic_name(rkm->rkt), rkm->partition,
			        rd_kafka_message_errstr(rkm));
		else
			set_err(err, errlen, "kafka consumer: %s", rd_kafka_message_errstr(rkm));
		rd_kafka_message_destroy(rkm);
		return KAFKA_POLL_ERROR;
	}
	message_fill(out, rkm);
	return KAFKA_POLL_MESSAGE;
}

const void *kafka_message_header(const struct kafka_message *m, const char *name, size_t *len)
{
	rd_kafka_headers_t *hdrs = NULL;
	const void *val = NULL;
	size_t size = 0;
	*len = 0;
	if (!m || !m->internal)
		return NULL;
	if (rd_kafka_message_headers(m->internal, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	if (rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	*len = val ? size : 0;
	return val ? val : "";
}

int kafka_consumer_done(struct kafka_consumer *c, const struct kafka_message *m)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, m->topic, m->partition)->offset = m->offset + 1;
	rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->base.rk, l);
	if (!e)
		e = l->elems[0].err;
	rd_kafka_topic_partition_list_destroy(l);
	return e ? -1 : 0;
}

void kafka_message_release(struct kafka_message *m)
{
	if (!m)
		return;
	if (m->internal)
		rd_kafka_message_destroy(m->internal);
	memset(m, 0, sizeof(*m));
}

int kafka_consumer_commit(struct kafka_consumer *c, char *err, size_t errlen)
{
	/* Not rd_kafka_commit(): a synchronous commit waits for a coordinator without limit, so a
	 * service whose broker is gone would never exit. The result comes back on a private queue
	 * that is waited on for COMMIT_WAIT_MS at most. */
	rd_kafka_queue_t *q = rd_kafka_queue_new(c->base.rk);
	rd_kafka_resp_err_t e = rd_kafka_commit_queue(c->base.rk, NULL, q, NULL, NULL);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
		rd_kafka_event_t *ev = rd_kafka_queue_poll(q, COMMIT_WAIT_MS);
		e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
		if (ev)
			rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return 0;
	set_err(err, errlen, "kafka commit: %s", rd_kafka_err2str(e));
	return -1;
}

int kafka_consumer_assigned(struct kafka_consumer *c)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	if (rd_kafka_assignment(c->base.rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR || !l)
		return 0;
	int n = l->cnt;
	rd_kafka_topic_partition_list_destroy(l);
	return n;
}

/* Milliseconds left until deadline, at least 1 so a late call still asks once. */
static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - time_mono_ms();
	return left > 0 ? (int)left : 1;
}

struct kafka_partition_lag *kafka_consumer_lag(struct kafka_consumer *c, int timeout_ms, size_t *n,
                                               char *err, size_t errlen)
{
	int64_t deadline = time_mono_ms() + timeout_ms;
	rd_kafka_topic_partition_list_t *l = NULL;
	struct kafka_partition_lag *out = NULL;
	rd_kafka_resp_err_t e = rd_kafka_assignment(c->base.rk, &l);
	*n = 0;
	if (e) {
		set_err(err, errlen, "kafka lag: assignment: %s", rd_kafka_err2str(e));
		return NULL;
	}
	/* An owner stuck on a batch past max.poll.interval.ms is taken out of the group and its
	 * assignment emptied, while it still holds those records: keep reporting what it last held
	 * (the figures are the group's, the same a new owner reports) until it polls again. */
	pthread_mutex_lock(&c->base.lock);
	if (l->cnt > 0) {
		if (c->last_assignment)
			rd_kafka_topic_partition_list_destroy(c->last_assignment);
		c->last_assignment = rd_kafka_topic_partition_list_copy(l);
	} else if (c->last_assignment &&
	           time_mono_ms() - atomic_load(&c->polled_ms) > c->max_poll_ms) {
		rd_kafka_topic_partition_list_destroy(l);
		l = rd_kafka_topic_partition_list_copy(c->last_assignment);
	}
	pthread_mutex_unlock(&c->base.lock);
	if (l->cnt > 0 && (e = rd_kafka_committed(c->base.rk, l, remaining_ms(deadline)))) {
		set_err(err, errlen, "kafka lag: committed offsets: %s", rd_kafka_err2str(e));
		goto out;
	}
	out = xcalloc(l->cnt > 0 ? (size_t)l->cnt : 1, sizeof(*out));
	for (int i = 0; i < l->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &l->elems[i];
		int64_t low, high;
		/* Queried, not rd_kafka_get_watermark_offsets(): that cached value moves only with
		 * fetches, which stop while the owner is stuck on a batch. */
		e = tp->err ? tp->err
		            : rd_kafka_query_watermark_offsets(c->base.rk, tp->topic, tp->partition,
		                                               &low, &high, remaining_ms(deadline));
		if (e) {
			set_err(err, errlen, "kafka lag: %s [%" PRId32 "]: %s", tp->topic,
			        tp->partition, rd_kafka_err2str(e));
			free(out);
			out = NULL;
			goto out;
		}
		int64_t from = tp->offset >= 0 ? tp->offset : low;
		copy_text(out[i].topic, sizeof(out[i].topic), tp->topic);
		out[i].partition = tp->partition;
		out[i].lag = high > from ? high - from : 0;
	}
	*n = (size_t)l->cnt;
out:
	rd_kafka_topic_partition_list_destroy(l);
	return out;
}

uint64_t kafka_consumer_resets(struct kafka_consumer *c)
{
	return atomic_load(&c->resets);
}

bool kafka_consumer_reachable(struct kafka_consumer *c, int timeout_ms, char *why, size_t whylen)
{
	return common_reachable(&c->base, timeout_ms, why, whylen);
}

struct destroying {
	rd_kafka_t *rk;
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool done, abandoned; /* under lock; the last of the two threads frees the struct */
};

static void *destroy_thread(void *arg)
{
	struct destroying *d = arg;
	rd_kafka_destroy_flags(d->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	pthread_mutex_lock(&d->lock);
	d->done = true;
	bool abandoned = d->abandoned;
	pthread_cond_signal(&d->done_cond);
	pthread_mutex_unlock(&d->lock);
	if (abandoned) {
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->done_cond);
		free(d);
	}
	return NULL;
}

/* Destroys a consumer whose brokers are gone, waiting DESTROY_WAIT_MS at most. Even without
 * closing, librdkafka's group handler waits for the coordinator (up to the session timeout)
 * before its threads end; past the bound the handle is left to the exiting process. */
static void destroy_bounded(rd_kafka_t *rk)
{
	struct destroying *d = xcalloc(1, sizeof(*d));
	pthread_t t;
	pthread_condattr_t ca;

	d->rk = rk;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t, NULL, destroy_thread, d) != 0) {
		destroy_thread(d);
	} else {
		pthread_detach(t);
	}
	struct timespec until = time_after_ms(CLOCK_MONOTONIC, DESTROY_WAIT_MS);
	pthread_mutex_lock(&d->lock);
	while (!d->done && pthread_cond_timedwait(&d->done_cond, &d->lock, &until) == 0)
		;
	bool done = d->done;
	if (!done) {
		d->abandoned = true;
		log_warn("the Kafka consumer did not stop in time with no broker; left to exit",
		         "{s:i}", "waited_ms", DESTROY_WAIT_MS);
	}
	pthread_mutex_unlock(&d->lock);
	if (done) {
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->done_cond);
		free(d);
	}
}

void kafka_consumer_free(struct kafka_consumer *c)
{
	if (!c)
		return;
	if (c->held)
		rd_kafka_message_destroy(c->held);
	if (c->last_assignment)
		rd_kafka_topic_partition_list_destroy(c->last_assignment);
	/* Commits the stored offsets (auto commit is on) and leaves the group, when a broker still
	 * answers. Without one rd_kafka_consumer_close() waits for the coordinator forever: the
	 * handle is then destroyed without closing, and records not committed replay (they are
	 * idempotent by design). */
	if (common_reachable(&c->base, CLOSE_PROBE_MS, NULL, 0)) {
		rd_kafka_consumer_close(c->base.rk);
		rd_kafka_destroy(c->base.rk);
	} else {
		destroy_bounded(c->base.rk);
	}
	pthread_mutex_destroy(&c->base.lock);
	free(c);
}

/* ---- dead letters ------------------------------------------------------------------------ */

int kafka_dead_letter(struct kafka_producer *p, const struct kafka_message *m, const char *service,
                      const char *reason, int timeout_ms, char *err, size_t errlen)
{
	char topic[512], partition[16], offset[24], now[32];
	if (snprintf(topic, sizeof(topic), "%s.dlq", m->topic) >= (int)sizeof(topic)) {
		set_err(err, errlen, "dead letter: topic name too long");
		return -1;
	}
	snprintf(partition, sizeof(partition), "%" PRId32, m->partition);
	snprintf(offset, sizeof(offset), "%" PRId64, m->offset);
	rfc3339_format(time_now_ms(), now);

	/* The original headers travel along (trace ids, schema), the dlq.* ones after them. */
	rd_kafka_headers_t *orig = NULL;
	rd_kafka_headers_t *hdrs = NULL;
	if (m->internal && rd_kafka_message_headers(m->internal, &orig) == 0 && orig)
		hdrs = rd_kafka_headers_copy(orig);
	else
		hdrs = rd_kafka_headers_new(6);
	const char *const add[] = {"dlq.reason",
	                           reason ? reason : "",
	                           "dlq.service",
	                           service ? service : "",
	                           "dlq.topic",
	                           m->topic,
	                           "dlq.partition",
	                           partition,
	                           "dlq.offset",
	                           offset,
	                           "dlq.time",
	                           now,
	                           NULL};
	for (const char *const *kv = add; kv[0]; kv += 2)
		rd_kafka_header_add(hdrs, kv[0], -1, kv[1], -1);

	/* On the heap: if the wait times out, the report may still arrive later. */
	struct kafka_delivery *d = xcalloc(1, sizeof(*d));
	if (produce_raw(p, topic, m->key, m->keylen, m->value, m->len, hdrs, d, err, errlen) != 0) {
		free(d);
		return -1;
	}
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		rd_kafka_poll(p->base.rk, 0);
		pthread_mutex_lock(&p->base.lock);
		bool done = d->done;
		int64_t left = deadline - time_mono_ms();
		if (!done && left <= 0) {
			struct abandoned *a = xmalloc(sizeof(*a));
			a->d = d;
			a->next = p->abandoned;
			p->abandoned = a;
		}
		pthread_mutex_unlock(&p->base.lock);
		if (done)
			break;
		if (left <= 0) {
			set_err(err, errlen, "dead letter to %s: not acknowledged within %d ms",
			        topic, timeout_ms);
			return -1;
		}
		rd_kafka_poll(p->base.rk, left < 100 ? (int)left : 100);
	}
	int rc = 0;
	if (d->err) {
		set_err(err, errlen, "dead letter to %s: %s", topic, d->errstr);
		rc = -1;
	}
	free(d);
	return rc;
}
