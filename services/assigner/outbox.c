/* outbox: from the assigner's outbox table to incidents.events, acknowledged (see outbox.h). */
#include "outbox.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "kafka.h"
#include "strbuf.h"
#include "xalloc.h"

#define ACK_TIMEOUT_MS 15000

static long count_pending(struct db *db, char *err, size_t errlen)
{
	PGresult *res = db_exec(db, "SELECT count(*) FROM assigner.outbox WHERE NOT published", 0,
	                        NULL, err, errlen);
	if (!res)
		return -1;
	long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

/* Marks the acknowledged rows of res published. */
static int mark(struct db *db, PGresult *res, const bool *acked, char *err, size_t errlen)
{
	struct strbuf ids = {0};
	strbuf_addch(&ids, '{');
	for (int i = 0; i < PQntuples(res); i++)
		if (acked[i])
			strbuf_addf(&ids, "%s%s", ids.len > 1 ? "," : "", PQgetvalue(res, i, 0));
	strbuf_addch(&ids, '}');
	const char *p[] = {ids.buf};
	int rc = db_run(db,
	                "UPDATE assigner.outbox SET published = true, published_at = now()"
	                " WHERE id = ANY($1::bigint[])",
	                1, p, err, errlen);
	strbuf_release(&ids);
	return rc;
}

int outbox_round(struct db *db, struct kafka_producer *p, const char *topic, int batch,
                 int *published, long *pending, char *err, size_t errlen)
{
	*published = 0;
	if (db_begin(db, err, errlen) < 0)
		return -1;
	PGresult *lock =
	        db_exec(db, "SELECT pg_try_advisory_xact_lock(hashtext('assigner.outbox'))", 0,
	                NULL, err, errlen);
	if (!lock) {
		db_rollback(db);
		return -1;
	}
	bool mine = !strcmp(PQgetvalue(lock, 0, 0), "t");
	PQclear(lock);
	if (!mine) { /* another replica is publishing */
		db_rollback(db);
		*pending = -1;
		return 0;
	}
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", batch);
	const char *params[] = {lim};
	PGresult *res = db_exec(db,
	                        "SELECT id, incident_id, event::text FROM assigner.outbox"
	                        " WHERE NOT published ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
	                        1, params, err, errlen);
	if (!res) {
		db_rollback(db);
		return -1;
	}
	int n = PQntuples(res), rc = 0, produced = 0;
	struct kafka_delivery *d = xcalloc((size_t)n + 1, sizeof(*d));
	bool *acked = xcalloc((size_t)n + 1, sizeof(*acked));
	for (int i = 0; i < n && rc == 0; i++) {
		const char *key = PQgetvalue(res, i, 1), *value = PQgetvalue(res, i, 2);
		rc = kafka_produce(p, topic, key, strlen(key), value, strlen(value), NULL, &d[i],
		                   err, errlen);
		if (rc == 0)
			produced++;
	}
	/* Settled: whatever happens, no delivery in d is still open after this. */
	if (kafka_producer_settle(p, ACK_TIMEOUT_MS, NULL) < 0 && rc == 0) {
		snprintf(err, errlen, "Kafka did not acknowledge within %d ms", ACK_TIMEOUT_MS);
		rc = -1;
	}
	for (int i = 0; i < produced; i++) {
		acked[i] = d[i].done && d[i].err == 0;
		if (acked[i])
			(*published)++;
		else if (rc == 0) {
			snprintf(err, errlen, "Kafka rejected an event: %s",
			         d[i].done ? d[i].errstr : "not sent");
			rc = -1;
		}
	}
	/* Mark what the broker has, whatever happened to the rest: they stay queued. */
	char err2[256];
	if (*published && (mark(db, res, acked, err2, sizeof(err2)) < 0 ||
	                   db_commit(db, err2, sizeof(err2)) < 0)) {
		snprintf(err, errlen, "marking published: %s", err2);
		*published = 0;
		rc = -1;
	}
	if (!*published)
		db_rollback(db);
	PQclear(res);
	free(d);
	free(acked);
	*pending = count_pending(db, err2, sizeof(err2));
	return rc;
}
