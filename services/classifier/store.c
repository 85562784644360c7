/* store: the classifier's decisions in PostgreSQL (see store.h). */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "xalloc.h"

enum { COLS = 11 };

static const char upsert_sql[] =
        "INSERT INTO classifier.classifications (message_id, revision, source, incident, topic,"
        " subtopic, municipality, urgency, model_version, classified_at, record)"
        " SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bool[], $5::text[],"
        "  $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::jsonb[])"
        " ON CONFLICT (message_id) DO UPDATE SET revision = EXCLUDED.revision,"
        "  incident = EXCLUDED.incident, topic = EXCLUDED.topic, subtopic = EXCLUDED.subtopic,"
        "  municipality = EXCLUDED.municipality, urgency = EXCLUDED.urgency,"
        "  model_version = EXCLUDED.model_version, classified_at = EXCLUDED.classified_at,"
        "  record = EXCLUDED.record"
        " WHERE classifications.revision < EXCLUDED.revision";

/* Another record of the batch supersedes r[i]: the same message at a later revision, or the
 * same revision earlier in the batch. One statement may touch a row only once. */
static bool superseded(const struct classified *r, size_t n, size_t i)
{
	for (size_t j = 0; j < n; j++) {
		if (j == i || strcmp(r[j].message.id, r[i].message.id) != 0)
			continue;
		if (r[j].message.revision > r[i].message.revision ||
		    (r[j].message.revision == r[i].message.revision && j < i))
			return true;
	}
	return false;
}

int store_classifications(struct db *db, const struct classified *r, size_t n, char *err,
                          size_t errlen)
{
	const char **cols[COLS];
	char(*rev)[16] = xcalloc(n ? n : 1, sizeof(*rev));
	char(*at)[32] = xcalloc(n ? n : 1, sizeof(*at));
	char **records = xcalloc(n ? n : 1, sizeof(*records));
	char *arrays[COLS];
	int rc;

	for (int c = 0; c < COLS; c++)
		cols[c] = xcalloc(n ? n : 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (superseded(r, n, i))
			continue;
		/* Keep the row for the classification alone: the message is the collector's. */
		json_t *whole = classified_encode(&r[i]);
		records[k] = json_dumps(json_object_get(whole, "classification"), JSON_COMPACT);
		json_decref(whole);
		snprintf(rev[k], sizeof(rev[k]), "%lld", (long long)r[i].message.revision);
		rfc3339_format(r[i].c.classified_at, at[k]);
		cols[0][k] = r[i].message.id;
		cols[1][k] = rev[k];
		cols[2][k] = r[i].message.source;
		cols[3][k] = r[i].c.incident ? "t" : "f";
		cols[4][k] = r[i].c.topic;
		cols[5][k] = r[i].c.subtopic;
		cols[6][k] = r[i].c.municipality;
		cols[7][k] = r[i].c.urgency;
		cols[8][k] = r[i].c.model_version;
		cols[9][k] = at[k];
		cols[10][k] = records[k];
		k++;
	}
	for (int c = 0; c < COLS; c++)
		arrays[c] = db_text_array(cols[c], k);
	rc = db_run(db, upsert_sql, COLS, (const char *const *)arrays, err, errlen);
	for (int c = 0; c < COLS; c++) {
		free(arrays[c]);
		free(cols[c]);
	}
	for (size_t i = 0; i < k; i++)
		free(records[i]);
	free(records);
	free(rev);
	free(at);
	return rc;
}
