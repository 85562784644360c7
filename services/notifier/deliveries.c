/* deliveries: the delivery rows and their state changes (see deliveries.h). */
#include "deliveries.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "xalloc.h"

char *delivery_key(const char *event_id, const char *channel, const char *recipient)
{
	return xasprintf("%s|%s|%s", event_id, channel, recipient);
}

int deliveries_insert(struct db *db, const struct incident_event *events, const struct plan *plans,
                      size_t n, char *err, size_t errlen)
{
	size_t total = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		total += plans[i].n;
	if (total == 0)
		return 0;

	/* Nine columns of `total` text values each, sent as nine array parameters. */
	enum { KEY, EVENT, TYPE, INCIDENT, CHANNEL, RECIPIENT, ROLE, PAYLOAD, OCCURRED, NCOLS };
	char **cols[NCOLS];
	for (int c = 0; c < NCOLS; c++)
		cols[c] = xcalloc(total, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char at[32];
		rfc3339_format(events[i].occurred_at, at);
		for (size_t j = 0; j < plans[i].n; j++, k++) {
			const struct planned_delivery *p = &plans[i].items[j];
			cols[KEY][k] = delivery_key(events[i].event_id, p->channel, p->recipient);
			cols[EVENT][k] = xstrdup(events[i].event_id);
			cols[TYPE][k] = xstrdup(incident_event_type_name(events[i].type));
			cols[INCIDENT][k] = xasprintf("%" PRId64, events[i].incident_id);
			cols[CHANNEL][k] = xstrdup(p->channel);
			cols[RECIPIENT][k] = xstrdup(p->recipient);
			cols[ROLE][k] = xstrdup(p->role);
			cols[PAYLOAD][k] = json_dumps(p->payload, JSON_COMPACT);
			cols[OCCURRED][k] = xstrdup(at);
		}
	}
	char *arrays[NCOLS];
	const char *params[NCOLS];
	for (int c = 0; c < NCOLS; c++) {
		arrays[c] = db_text_array((const char *const *)cols[c], total);
		params[c] = arrays[c];
	}
	PGresult *res = db_exec(
	        db,
	        "INSERT INTO notifier.deliveries (idempotency_key, event_id, event_type, "
	        "incident_id,"
	        " channel, recipient, role, payload, occurred_at)"
	        " SELECT k, e, t, i::bigint, c, r, ro, p::jsonb, o::timestamptz"
	        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
	        " $6::text[], $7::text[], $8::text[], $9::text[]) AS u(k, e, t, i, c, r, ro, p, o)"
	        " ON CONFLICT (idempotency_key) DO NOTHING",
	        NCOLS, params, err, errlen);
	int inserted = res ? atoi(PQcmdTuples(res)) : -1;
	PQclear(res);
	for (int c = 0; c < NCOLS; c++) {
		for (size_t i = 0; i < total; i++)
			free(cols[c][i]);
		free(cols[c]);
		free(arrays[c]);
	}
	return inserted;
}

void delivery_clear(struct delivery *d)
{
	json_decref(d->payload);
	memset(d, 0, sizeof(*d));
}

int deliveries_claim(struct db *db, int64_t lease_ms, const char *channels, struct delivery *d,
                     char *err, size_t errlen)
{
	char lease[24];
	snprintf(lease, sizeof(lease), "%" PRId64, lease_ms);
	const char *params[] = {lease, channels};
	/* Due: pending whose time has come, or sending whose worker's lease ran out (it died). */
	PGresult *res = db_exec(
	        db,
	        "UPDATE notifier.deliveries SET status = 'sending', attempts = attempts + 1,"
	        " lease_until = now() + $1::bigint * interval '1 millisecond', updated_at = now()"
	        " WHERE id = (SELECT id FROM notifier.deliveries"
	        "  WHERE ((status = 'pending' AND next_attempt_at <= now())"
	        "     OR (status = 'sending' AND lease_until < now()))"
	        "    AND ($2::text[] IS NULL OR channel = ANY ($2::text[]))"
	        "  ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
	        " RETURNING id, idempotency_key, channel, attempts, incident_id,"
	        " (extract(epoch FROM occurred_at) * 1000)::bigint, payload::text",
	        2, params, err, errlen);
	if (!res)
		return -1;
	int found = PQntuples(res) == 1;
	if (found) {
		memset(d, 0, sizeof(*d));
		d->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		snprintf(d->key, sizeof(d->key), "%s", PQgetvalue(res, 0, 1));
		snprintf(d->channel, sizeof(d->channel), "%s", PQgetvalue(res, 0, 2));
		d->attempts = atoi(PQgetvalue(res, 0, 3));
		d->incident_id = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
		d->occurred_at = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
		d->payload = json_loads(PQgetvalue(res, 0, 6), 0, NULL);
	}
	PQclear(res);
	return found;
}

/* One state change of row id: sql with $1 = id and the extra parameters after it. */
static int update(struct db *db, const char *sql, int64_t id, const char *a, const char *b,
                  char *err, size_t errlen)
{
	char idbuf[24];
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	const char *params[] = {idbuf, a, b};
	int n = 1 + (a || b ? 1 : 0) + (b ? 1 : 0);
	return db_run(db, sql, n, params, err, errlen);
}

int deliveries_mark_sent(struct db *db, int64_t id, const char *remote_id, const char *link,
                         char *err, size_t errlen)
{
	return update(db,
	              "UPDATE notifier.deliveries SET status = 'sent', sent_at = now(),"
	              " lease_until = NULL, last_error = NULL, remote_id = NULLIF($2, ''),"
	              " link = NULLIF($3, ''), updated_at = now() WHERE id = $1",
	              id, remote_id ? remote_id : "", link ? link : "", err, errlen);
}

int deliveries_mark_retry(struct db *db, int64_t id, int64_t delay_ms, const char *reason,
                          char *err, size_t errlen)
{
	char delay[24];
	snprintf(delay, sizeof(delay), "%" PRId64, delay_ms);
	return update(db,
	              "UPDATE notifier.deliveries SET status = 'pending', lease_until = NULL,"
	              " next_attempt_at = now() + $2::bigint * interval '1 millisecond',"
	              " last_error = $3, updated_at = now() WHERE id = $1",
	              id, delay, reason, err, errlen);
}

int deliveries_defer(struct db *db, int64_t id, int64_t delay_ms, char *err, size_t errlen)
{
	char delay[24];
	snprintf(delay, sizeof(delay), "%" PRId64, delay_ms);
	return update(db,
	              "UPDATE notifier.deliveries SET status = 'pending', lease_until = NULL,"
	              " attempts = greatest(attempts - 1, 0),"
	              " next_attempt_at = now() + $2::bigint * interval '1 millisecond',"
	              " updated_at = now() WHERE id = $1",
	              id, delay, NULL, err, errlen);
}

int deliveries_mark_dead(struct db *db, int64_t id, const char *reason, char *err, size_t errlen)
{
	return update(db,
	              "UPDATE notifier.deliveries SET status = 'dead', lease_until = NULL,"
	              " last_error = $2, updated_at = now() WHERE id = $1",
	              id, reason, NULL, err, errlen);
}

int deliveries_requeue(struct db *db, int64_t id, char *err, size_t errlen)
{
	char idbuf[24];
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	const char *params[] = {idbuf};
	PGresult *res = db_exec(db,
	                        "WITH r AS (UPDATE notifier.deliveries SET status = 'pending',"
	                        " attempts = 0, next_attempt_at = now(), updated_at = now()"
	                        " WHERE id = $1 AND status = 'dead' RETURNING id)"
	                        " SELECT (SELECT count(*) FROM r),"
	                        " (SELECT count(*) FROM notifier.deliveries WHERE id = $1)",
	                        1, params, err, errlen);
	if (!res)
		return -1;
	int requeued = atoi(PQgetvalue(res, 0, 0)), exists = atoi(PQgetvalue(res, 0, 1));
	PQclear(res);
	return requeued ? 1 : exists ? 2 : 0;
}

/* The columns an operator sees, as one JSON object per row. */
#define ROW_JSON                                                                                   \
	"json_build_object('id', id, 'idempotency_key', idempotency_key, 'event_id', event_id,"    \
	" 'event_type', event_type, 'incident_id', incident_id, 'channel', channel,"               \
	" 'recipient', recipient, 'role', role, 'status', status, 'attempts', attempts,"           \
	" 'next_attempt_at', next_attempt_at, 'last_error', last_error, 'remote_id', remote_id,"   \
	" 'link', link, 'occurred_at', occurred_at, 'created_at', created_at, 'sent_at', sent_at," \
	" 'payload', payload)"

static json_t *query_json(struct db *db, const char *sql, int n, const char *const *params,
                          char *err, size_t errlen)
{
	PGresult *res = db_exec(db, sql, n, params, err, errlen);
	if (!res)
		return NULL;
	json_t *out = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
	PQclear(res);
	if (!out)
		snprintf(err, errlen, "the database returned JSON that does not parse");
	return out;
}

json_t *deliveries_list(struct db *db, const struct delivery_filter *f, char *err, size_t errlen)
{
	char incident[24], before[24], limit[16];
	snprintf(incident, sizeof(incident), "%" PRId64, f->incident_id);
	snprintf(before, sizeof(before), "%" PRId64, f->before_id);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	const char *params[] = {incident, f->channel, f->status, before, limit};
	return query_json(db,
	                  "SELECT coalesce(json_agg(" ROW_JSON " ORDER BY id DESC), '[]')::text"
	                  " FROM (SELECT * FROM notifier.deliveries"
	                  "  WHERE ($1::bigint = 0 OR incident_id = $1::bigint)"
	                  "    AND ($2::text IS NULL OR channel = $2)"
	                  "    AND ($3::text IS NULL OR status = $3)"
	                  "    AND ($4::bigint = 0 OR id < $4::bigint)"
	                  "  ORDER BY id DESC LIMIT $5::int) d",
	                  5, params, err, errlen);
}

json_t *deliveries_get(struct db *db, int64_t id, char *err, size_t errlen)
{
	char idbuf[24];
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	const char *params[] = {idbuf};
	return query_json(db,
	                  "SELECT coalesce((SELECT " ROW_JSON " FROM notifier.deliveries"
	                  " WHERE id = $1::bigint), 'null'::json)::text",
	                  1, params, err, errlen);
}

int deliveries_count(struct db *db, int64_t counts[4], char *err, size_t errlen)
{
	static const char *const statuses[] = {"pending", "sending", "sent", "dead"};
	PGresult *res = db_exec(db, "SELECT status, count(*) FROM notifier.deliveries GROUP BY 1",
	                        0, NULL, err, errlen);
	if (!res)
		return -1;
	memset(counts, 0, 4 * sizeof(counts[0]));
	for (int r = 0; r < PQntuples(res); r++)
		for (int s = 0; s < 4; s++)
			if (strcmp(PQgetvalue(res, r, 0), statuses[s]) == 0)
				counts[s] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
	PQclear(res);
	return 0;
}
