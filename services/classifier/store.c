/* store: the classifier's decisions in PostgreSQL (see store.h). */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "xalloc.h"

enum { COLS = 11 };

/* The record column is the line's "classification" member, taken by PostgreSQL from the line
 * already written for Kafka: encoding it a second time with jansson cost the service more than
 * deciding (18 us a record against 11, measured in the classifier_kafka bench). */
static const char upsert_sql[] =
        "INSERT INTO classifier.classifications (message_id, revision, source, incident, topic,"
        " subtopic, municipality, urgency, model_version, classified_at, record)"
        " SELECT id, rev, src, inc, top, sub, mun, urg, ver, at, (line -> 'classification')::jsonb"
        " FROM unnest($1::text[], $2::int[], $3::text[], $4::bool[], $5::text[], $6::text[],"
        "  $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::json[])"
        "  AS b(id, rev, src, inc, top, sub, mun, urg, ver, at, line)"
        " ON CONFLICT (message_id) DO UPDATE SET revision = EXCLUDED.revision,"
        "  incident = EXCLUDED.incident, topic = EXCLUDED.topic, subtopic = EXCLUDED.subtopic,"
        "  municipality = EXCLUDED.municipality, urgency = EXCLUDED.urgency,"
        "  model_version = EXCLUDED.model_version, classified_at = EXCLUDED.classified_at,"
        "  record = EXCLUDED.record"
        " WHERE classifications.revision < EXCLUDED.revision";

struct ref {
	const struct classified *r;
	size_t i;
};

/* By message id, then the latest revision first, then the earliest in the batch first: the
 * first of each id is the one to store. */
static int by_id_latest(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = strcmp(x->r->message.id, y->r->message.id);
	if (c)
		return c;
	if (x->r->message.revision != y->r->message.revision)
		return x->r->message.revision > y->r->message.revision ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int store_classifications(struct db *db, const struct classified *r, char *const *lines, size_t n,
                          char *err, size_t errlen)
{
	const char **cols[COLS];
	struct ref *refs = xcalloc(n ? n : 1, sizeof(*refs));
	char(*rev)[16] = xcalloc(n ? n : 1, sizeof(*rev));
	char(*at)[32] = xcalloc(n ? n : 1, sizeof(*at));
	char *arrays[COLS];
	int rc;

	for (int c = 0; c < COLS; c++)
		cols[c] = xcalloc(n ? n : 1, sizeof(char *));
	/* One statement may touch a row only once: of the records of one message, only the one
	 * that supersedes the others. Sorting (not comparing every pair: a quadratic cost that
	 * showed at 2,000 a batch) also makes every batch lock its rows in the same order. */
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct ref){&r[i], i};
	qsort(refs, n, sizeof(*refs), by_id_latest);
	size_t k = 0;
	for (size_t j = 0; j < n; j++) {
		const struct classified *x = refs[j].r;
		if (j && !strcmp(x->message.id, refs[j - 1].r->message.id))
			continue;
		snprintf(rev[k], sizeof(rev[k]), "%lld", (long long)x->message.revision);
		rfc3339_format(x->c.classified_at, at[k]);
		cols[0][k] = x->message.id;
		cols[1][k] = rev[k];
		cols[2][k] = x->message.source;
		cols[3][k] = x->c.incident ? "t" : "f";
		cols[4][k] = x->c.topic;
		cols[5][k] = x->c.subtopic;
		cols[6][k] = x->c.municipality;
		cols[7][k] = x->c.urgency;
		cols[8][k] = x->c.model_version;
		cols[9][k] = at[k];
		cols[10][k] = lines[refs[j].i];
		k++;
	}
	for (int c = 0; c < COLS; c++)
		arrays[c] = db_text_array(cols[c], k);
	rc = db_run(db, upsert_sql, COLS, (const char *const *)arrays, err, errlen);
	for (int c = 0; c < COLS; c++) {
		free(arrays[c]);
		free(cols[c]);
	}
	free(refs);
	free(rev);
	free(at);
	return rc;
}
