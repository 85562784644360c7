/*
 * store: the collector's PostgreSQL tables (see store.h and migrations/). A batch of messages is
 * one INSERT over unnest()ed array parameters: one round trip however many messages a request
 * or a poll brings.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "xalloc.h"

static const char insert_sql[] =
        "INSERT INTO collector.messages (id, source, external_id, posted_at, received_at, record)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],"
        "                      $5::timestamptz[], $6::jsonb[])"
        " ON CONFLICT (id) DO NOTHING RETURNING id";

/* An edit whose text differs becomes the next revision and goes back into the outbox. */
static const char edit_sql[] =
        "UPDATE collector.messages"
        " SET revision = revision + 1,"
        "     record = jsonb_set($2::jsonb, '{revision}', to_jsonb(revision + 1))"
        " WHERE id = $1 AND record->>'text' IS DISTINCT FROM $2::jsonb->>'text'"
        " RETURNING revision";

static bool seen_before(struct message *m, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(m[j].id, m[i].id))
			return true;
	return false;
}

int store_messages(struct db *db, struct message *m, const bool *edits, size_t n,
                   enum store_outcome *out, char *err, size_t errlen)
{
	const char **cols[6];
	char(*times)[2][32] = xcalloc(n ? n : 1, sizeof(*times));
	char **records = xcalloc(n ? n : 1, sizeof(*records));
	bool *repeat = xcalloc(n ? n : 1, sizeof(*repeat));
	char *arrays[6] = {0};
	PGresult *res = NULL;
	size_t k = 0;
	int rc = -1;

	for (int c = 0; c < 6; c++)
		cols[c] = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		repeat[i] = seen_before(m, i);
		if (repeat[i])
			continue;
		json_t *record = message_encode(&m[i]);
		records[i] = json_dumps(record, JSON_COMPACT);
		json_decref(record);
		rfc3339_format(m[i].posted_at, times[i][0]);
		rfc3339_format(m[i].received_at, times[i][1]);
		cols[0][k] = m[i].id;
		cols[1][k] = m[i].source;
		cols[2][k] = m[i].external_id;
		cols[3][k] = times[i][0];
		cols[4][k] = times[i][1];
		cols[5][k] = records[i];
		k++;
	}
	for (int c = 0; c < 6; c++)
		arrays[c] = db_text_array(cols[c], k);

	if (db_begin(db, err, errlen) < 0)
		goto out;
	res = db_exec(db, insert_sql, 6, (const char *const *)arrays, err, errlen);
	if (!res)
		goto rollback;
	for (size_t i = 0; i < n; i++) {
		out[i] = STORE_DUPLICATE;
		if (repeat[i])
			continue;
		for (int r = 0; r < PQntuples(res); r++)
			if (!strcmp(PQgetvalue(res, r, 0), m[i].id)) {
				out[i] = STORE_ACCEPTED;
				break;
			}
	}
	PQclear(res);
	res = NULL;
	for (size_t i = 0; edits && i < n; i++) {
		if (!edits[i] || repeat[i] || out[i] != STORE_DUPLICATE)
			continue;
		const char *p[2] = {m[i].id, records[i]};
		res = db_exec(db, edit_sql, 2, p, err, errlen);
		if (!res)
			goto rollback;
		if (PQntuples(res) == 1) {
			out[i] = STORE_UPDATED;
			m[i].revision = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		}
		PQclear(res);
		res = NULL;
	}
	if (db_commit(db, err, errlen) < 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	db_rollback(db);
out:
	PQclear(res);
	for (int c = 0; c < 6; c++) {
		free(arrays[c]);
		free(cols[c]);
	}
	for (size_t i = 0; i < n; i++)
		free(records[i]);
	free(records);
	free(times);
	free(repeat);
	return rc;
}

int store_cursor_get(struct db *db, const char *source, const char *key, char **value, char *err,
                     size_t errlen)
{
	const char *p[2] = {source, key};
	PGresult *res =
	        db_exec(db, "SELECT value FROM collector.cursors WHERE source = $1 AND key = $2", 2,
	                p, err, errlen);

	*value = NULL;
	if (!res)
		return -1;
	if (PQntuples(res) == 1)
		*value = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int store_cursor_set(struct db *db, const char *source, const char *key, const char *value,
                     char *err, size_t errlen)
{
	const char *p[3] = {source, key, value};
	return db_run(db,
	              "INSERT INTO collector.cursors (source, key, value) VALUES ($1, $2, $3)"
	              " ON CONFLICT (source, key) DO UPDATE SET value = EXCLUDED.value,"
	              " updated_at = now()",
	              3, p, err, errlen);
}

int store_outbox_take(struct db *db, int limit, struct outbox_entry **entries, size_t *n, char *err,
                      size_t errlen)
{
	char lim[16];
	const char *p[1] = {lim};
	PGresult *res;

	*entries = NULL;
	*n = 0;
	snprintf(lim, sizeof(lim), "%d", limit);
	if (db_begin(db, err, errlen) < 0)
		return -1;
	res = db_exec(db,
	              "SELECT id, revision, record::text FROM collector.messages"
	              " WHERE published_revision < revision ORDER BY received_at LIMIT $1"
	              " FOR UPDATE SKIP LOCKED",
	              1, p, err, errlen);
	if (!res) {
		db_rollback(db);
		return -1;
	}
	*n = (size_t)PQntuples(res);
	*entries = xcalloc(*n ? *n : 1, sizeof(**entries));
	for (size_t i = 0; i < *n; i++) {
		(*entries)[i].id = xstrdup(PQgetvalue(res, (int)i, 0));
		(*entries)[i].revision = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
		(*entries)[i].record = xstrdup(PQgetvalue(res, (int)i, 2));
		(*entries)[i].record_len = (size_t)PQgetlength(res, (int)i, 2);
	}
	PQclear(res);
	return 0;
}

int store_outbox_done(struct db *db, const struct outbox_entry *entries, const bool *acked,
                      size_t n, char *err, size_t errlen)
{
	const char **ids = xcalloc(n ? n : 1, sizeof(*ids));
	const char **revs = xcalloc(n ? n : 1, sizeof(*revs));
	char(*rev)[24] = xcalloc(n ? n : 1, sizeof(*rev));
	size_t k = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (!acked[i])
			continue;
		snprintf(rev[k], sizeof(rev[k]), "%lld", (long long)entries[i].revision);
		ids[k] = entries[i].id;
		revs[k] = rev[k];
		k++;
	}
	char *a = db_text_array(ids, k), *b = db_text_array(revs, k);
	const char *p[2] = {a, b};
	if (k && db_run(db,
	                "UPDATE collector.messages m SET published_revision = u.rev,"
	                " published_at = now()"
	                " FROM unnest($1::text[], $2::int[]) AS u(id, rev)"
	                " WHERE m.id = u.id AND m.published_revision < u.rev",
	                2, p, err, errlen) < 0)
		rc = -1;
	if (rc == 0 && db_commit(db, err, errlen) < 0)
		rc = -1;
	if (rc < 0)
		db_rollback(db);
	free(a);
	free(b);
	free(ids);
	free(revs);
	free(rev);
	return rc;
}

void store_outbox_free(struct outbox_entry *entries, size_t n)
{
	for (size_t i = 0; entries && i < n; i++) {
		free(entries[i].id);
		free(entries[i].record);
	}
	free(entries);
}

int64_t store_outbox_backlog(struct db *db, char *err, size_t errlen)
{
	PGresult *res = db_exec(db,
	                        "SELECT count(*) FROM collector.messages"
	                        " WHERE published_revision < revision",
	                        0, NULL, err, errlen);
	if (!res)
		return -1;
	int64_t v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}
