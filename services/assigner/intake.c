/*
 * intake: reports, grouping into incidents, moderation or routing (see intake.h).
 *
 * A batch costs a fixed number of statements whatever its size: which reports change is read
 * in one, what grouping needs of the open incidents they may join in one, the decisions are
 * made in memory — where each report goes first, then what each record does, in order, seeing
 * what the records before it did — the rows of the incidents joined and their authors are
 * read, and the new incidents, the changed ones, the reports (with their incidents), the audit
 * rows and the events are written with one statement each.
 */
#include "intake.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "grouping.h"
#include "incidents.h"
#include "region.h"
#include "strbuf.h"
#include "timefmt.h"
#include "utf8.h"
#include "xalloc.h"

#define SUMMARY_CHARS 300
#define CANDIDATES 20                  /* open incidents compared with a new report */
#define CANDIDATE_TEXTS 20             /* of each, its latest reports' texts */
#define EVENT_REPORTS 100              /* reports an event lists, oldest first */
#define FRESH_ORDER (INT64_C(1) << 62) /* new incidents sort after existing ids */

static const char *const actor = "assigner";

/* A report text of an incident, for the similarity. */
struct text {
	int64_t posted;
	char *id;                /* the report's message id */
	struct grouping_text *t; /* borrowed from the record or owned (owned_t) */
	bool owned;
};

/*
 * An open incident the batch may touch: loaded from the table, or opened by the batch. What
 * grouping looks at (last, opened, texts, addr_key) is kept apart from the row, because the
 * batch first decides where every record goes and then applies the records one by one.
 */
struct inc {
	json_t *row;     /* as to_jsonb shows it (plus its "xmin"), kept current in memory */
	bool fresh;      /* opened by this batch: inserted at the end, its id allocated then */
	bool changed;    /* a loaded one the batch changed */
	bool joined;     /* a record of the batch goes into it */
	int64_t order;   /* for "latest first, then highest id" */
	int64_t last;    /* last_report_at */
	int64_t opened;  /* opened_at */
	json_t *authors; /* {coalesce(author_id, message_id): true}, loaded when joined */
	struct text texts[CANDIDATE_TEXTS]; /* latest first */
	size_t ntexts;
	char *addr_key;
	char *xmin;   /* a loaded one's row version when its candidacy was read */
	size_t *mine; /* this batch's records in it, in joining order */
	size_t nmine;
	json_t *earlier; /* loaded incidents with events: their reports before the batch */
};

/* Incidents of one topic and municipality. */
struct key {
	const char *topic, *muni;
	int64_t lo, hi; /* the posted_at range of the batch's reports of this key */
	struct inc **incs;
	size_t n;
};

/* One record of the batch. */
struct rec {
	const struct classified *r;
	int changed;            /* the upsert changed the row */
	int64_t incident_id;    /* the incident it already belonged to */
	struct inc *inc;        /* the incident it opened or joined */
	bool opens;             /* it opened inc */
	json_t *classification; /* classified.v1's "classification" object of it */
	const char *how;        /* joined: by "text" or "address", with its similarity */
	double score;
	struct grouping_text *t;
};

/* An event, built once the ids are known: the row as it was, and how many of the
 * incident's batch records it counted then. */
struct pending_event {
	struct inc *inc;
	enum incident_event_type type;
	json_t *row;
	size_t nmine;
};

struct audit_row {
	struct inc *inc; /* or NULL with incident_id */
	int64_t incident_id;
	const char *action;
	json_t *details;
};

struct batch {
	struct db *db;
	struct grouping *g;
	const struct action_env *env;
	const struct intake_settings *s;
	struct intake_counts *c;
	int64_t now;
	char now_s[32];
	struct rec *recs;
	size_t n;
	struct key *keys;
	size_t nkeys;
	struct inc **incs; /* all, for freeing */
	size_t nincs;
	json_t *loaded; /* {"<id>": index in incs} of the loaded ones */
	size_t nfresh;
	struct pending_event *events;
	size_t nevents;
	struct audit_row *audits;
	size_t naudits;
	char *err;
	size_t errlen;
};

#define GROW(arr, n) ((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))), &(arr)[(n)++])

static void audit(struct batch *b, struct inc *inc, int64_t id, const char *action, json_t *details)
{
	*GROW(b->audits, b->naudits) = (struct audit_row){inc, id, action, details};
}

static void event(struct batch *b, struct inc *inc, enum incident_event_type type)
{
	*GROW(b->events, b->nevents) =
	        (struct pending_event){inc, type, json_deep_copy(inc->row), inc->nmine};
}

static char *json_text(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static json_t *time_json(int64_t ms)
{
	char buf[32];
	return incidents_time(ms, buf) ? json_string(buf) : json_null();
}

/* Runs a statement whose one parameter is a JSON document. */
static PGresult *exec_json(struct batch *b, const char *sql, const json_t *doc)
{
	char *d = json_text(doc);
	const char *p[] = {d};
	PGresult *res = db_exec(b->db, sql, 1, p, b->err, b->errlen);
	free(d);
	return res;
}

static int run_json(struct batch *b, const char *sql, const json_t *doc)
{
	PGresult *res = exec_json(b, sql, doc);
	PQclear(res);
	return res ? 0 : -1;
}

/* The key string of a topic and municipality, for locks and lookups. */
static char *key_name(const char *topic, const char *muni)
{
	return xasprintf("%s\x1f%s", topic, muni ? muni : "");
}

/*
 * Transaction-scoped advisory locks on the (topic, municipality) keys of the batch's incident
 * reports, taken in one order: two replicas deciding the same key's grouping wait for each
 * other instead of opening the same problem twice.
 */
static int lock_keys(struct batch *b)
{
	json_t *names = json_array();
	for (size_t i = 0; i < b->n; i++) {
		if (!b->recs[i].r->c.incident)
			continue;
		char *k = key_name(b->recs[i].r->c.topic, b->recs[i].r->c.municipality);
		json_array_append_new(names, json_string(k));
		free(k);
	}
	int rc = json_array_size(names) == 0
	                 ? 0
	                 : run_json(b,
	                            "SELECT count(pg_advisory_xact_lock(k)) FROM"
	                            " (SELECT DISTINCT hashtext(n) AS k"
	                            "  FROM jsonb_array_elements_text($1::jsonb) n ORDER BY 1) s",
	                            names);
	json_decref(names);
	return rc;
}

static int cmp_rec_id(const void *a, const void *b)
{
	const struct rec *x = *(struct rec *const *)a, *y = *(struct rec *const *)b;
	return strcmp(x->r->message.id, y->r->message.id);
}

/* classified.v1's "classification" object of the record (encoded once; borrowed). */
static json_t *classification_of(struct rec *rc)
{
	if (!rc->classification) {
		json_t *rec = classified_encode(rc->r);
		rc->classification = json_incref(json_object_get(rec, "classification"));
		json_decref(rec);
	}
	return rc->classification;
}

/* The report row of a record, as the reports table names its columns. */
static json_t *report_row(struct rec *rc)
{
	const struct classified *r = rc->r;
	const struct message *m = &r->message;
	json_t *row = json_pack(
	        "{s:s, s:I, s:b, s:s, s:s?, s:s?, s:s, s:f, s:s, s:s, s:s?, s:O?, s:s?, s:s, s:s?,"
	        " s:o, s:o, s:O}",
	        "message_id", m->id, "revision", (json_int_t)m->revision, "is_incident",
	        r->c.incident, "topic", r->c.topic, "subtopic", r->c.subtopic, "municipality",
	        r->c.municipality, "urgency", r->c.urgency, "incident_score", r->c.incident_score,
	        "source", m->source, "external_id", m->external_id, "url", m->url, "thread",
	        m->thread, "author_id", m->author_id, "text", m->text, "address", m->address,
	        "posted_at", time_json(m->posted_at), "classified_at",
	        time_json(r->c.classified_at), "classification", classification_of(rc));
	return row;
}

/* Which records change their report row (new, or of a higher revision), and the incident a
 * changing one already belongs to. The rows are written with the decisions (store_reports). */
static int read_reports(struct batch *b)
{
	json_t *ids = json_array();
	for (size_t i = 0; i < b->n; i++)
		json_array_append_new(ids, json_string(b->recs[i].r->message.id));
	PGresult *res = exec_json(b,
	                          "SELECT message_id, revision, coalesce(incident_id, 0)"
	                          " FROM assigner.reports WHERE message_id IN"
	                          "  (SELECT jsonb_array_elements_text($1))",
	                          ids);
	json_decref(ids);
	if (!res)
		return -1;
	struct rec **by_id = xcalloc(b->n, sizeof(*by_id));
	for (size_t i = 0; i < b->n; i++) {
		by_id[i] = &b->recs[i];
		b->recs[i].changed = 1;
	}
	qsort(by_id, b->n, sizeof(*by_id), cmp_rec_id);
	for (int i = 0; i < PQntuples(res); i++) {
		struct message m = {.id = PQgetvalue(res, i, 0)};
		struct classified probe = {.message = m};
		struct rec pr = {.r = &probe}, *ppr = &pr;
		struct rec **hit = bsearch(&ppr, by_id, b->n, sizeof(*by_id), cmp_rec_id);
		if (!hit)
			continue;
		(*hit)->changed =
		        (*hit)->r->message.revision > strtoll(PQgetvalue(res, i, 1), NULL, 10);
		(*hit)->incident_id =
		        (*hit)->changed ? strtoll(PQgetvalue(res, i, 2), NULL, 10) : 0;
	}
	free(by_id);
	PQclear(res);
	return 0;
}

/* Upserts the changing records' reports with the incidents they went into. A row someone
 * else wrote since read_reports fails the batch. */
static int store_reports(struct batch *b)
{
	json_t *rows = json_array();
	for (size_t i = 0; i < b->n; i++) {
		struct rec *r = &b->recs[i];
		if (!r->changed)
			continue;
		json_t *row = report_row(r);
		if (r->inc)
			json_object_set(row, "incident_id", json_object_get(r->inc->row, "id"));
		json_array_append_new(rows, row);
	}
	if (!json_array_size(rows)) {
		json_decref(rows);
		return 0;
	}
	PGresult *res = exec_json(
	        b,
	        "INSERT INTO assigner.reports (message_id, revision, incident_id, is_incident,"
	        " topic, subtopic, municipality, urgency, incident_score, source, external_id,"
	        " url, thread,"
	        " author_id, text, address, posted_at, classified_at, classification)"
	        " SELECT message_id, revision, incident_id, is_incident, topic, subtopic,"
	        "  municipality, urgency, incident_score, source, external_id, url, thread,"
	        "  author_id, text, address, posted_at, classified_at, classification"
	        " FROM jsonb_populate_recordset(NULL::assigner.reports, $1::jsonb)"
	        " ON CONFLICT (message_id) DO UPDATE SET revision = EXCLUDED.revision,"
	        " incident_id = coalesce(reports.incident_id, EXCLUDED.incident_id),"
	        " is_incident = EXCLUDED.is_incident, topic = EXCLUDED.topic,"
	        " subtopic = EXCLUDED.subtopic, municipality = EXCLUDED.municipality,"
	        " urgency = EXCLUDED.urgency, incident_score = EXCLUDED.incident_score,"
	        " url = EXCLUDED.url, thread = EXCLUDED.thread, author_id = EXCLUDED.author_id,"
	        " text = EXCLUDED.text, address = EXCLUDED.address,"
	        " classified_at = EXCLUDED.classified_at, classification = EXCLUDED.classification,"
	        " updated_at = now()"
	        " WHERE reports.revision < EXCLUDED.revision",
	        rows);
	size_t want = json_array_size(rows);
	json_decref(rows);
	if (!res)
		return -1;
	size_t stored = strtoul(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (stored == want)
		return 0;
	snprintf(b->err, b->errlen,
	         "%zu of this batch's reports were written by someone else meanwhile; retried",
	         want - stored);
	return -1;
}

static struct key *find_key(struct batch *b, const char *topic, const char *muni)
{
	for (size_t i = 0; i < b->nkeys; i++) {
		struct key *k = &b->keys[i];
		if (!strcmp(k->topic, topic) &&
		    (k->muni == muni || (k->muni && muni && !strcmp(k->muni, muni))))
			return k;
	}
	return NULL;
}

static void add_author(struct inc *inc, const struct classified *r)
{
	json_object_set_new(inc->authors,
	                    r->message.author_id ? r->message.author_id : r->message.id,
	                    json_true());
}

/* Keeps the latest CANDIDATE_TEXTS texts, latest first. */
/* The loaded incident of an id (text), or NULL. */
static struct inc *loaded_inc(struct batch *b, const char *id)
{
	json_t *at = json_object_get(b->loaded, id);
	return at ? b->incs[json_integer_value(at)] : NULL;
}

static void text_clear(struct text *t)
{
	if (t->owned)
		grouping_text_free(t->t);
	free(t->id);
}

static void add_text(struct inc *inc, int64_t posted, const char *id, struct grouping_text *t,
                     bool owned)
{
	struct text x = {posted, xstrdup(id), t, owned};
	size_t at = 0;
	while (at < inc->ntexts && inc->texts[at].posted >= posted)
		at++;
	if (at == CANDIDATE_TEXTS) {
		text_clear(&x);
		return;
	}
	if (inc->ntexts == CANDIDATE_TEXTS)
		text_clear(&inc->texts[--inc->ntexts]);
	memmove(&inc->texts[at + 1], &inc->texts[at], (inc->ntexts - at) * sizeof(inc->texts[0]));
	inc->texts[at] = x;
	inc->ntexts++;
}

/* A higher revision of a report of a loaded incident: later records compare with its new
 * text, as they would after it was stored. */
static void replace_text(struct batch *b, struct rec *r)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)r->incident_id);
	struct inc *inc = loaded_inc(b, id);
	for (size_t i = 0; inc && i < inc->ntexts; i++)
		if (!strcmp(inc->texts[i].id, r->r->message.id)) {
			if (inc->texts[i].owned)
				grouping_text_free(inc->texts[i].t);
			inc->texts[i].t = grouping_text_new(b->g, r->r->message.text);
			inc->texts[i].owned = true;
		}
}

static struct inc *new_inc(struct batch *b, struct key *k)
{
	struct inc *inc = xcalloc(1, sizeof(*inc));
	inc->authors = json_object();
	*GROW(b->incs, b->nincs) = inc;
	*GROW(k->incs, k->n) = inc;
	return inc;
}

/*
 * Loads what grouping needs of the open incidents of the batch's keys in its time range: their
 * times, address, latest texts, and row version (xmin). They are not locked: the rows of those
 * the batch joins are read later (load_joined) and written only if their version is still the
 * one read here, so an operator's action in between fails the batch, which is retried.
 */
static int load_candidates(struct batch *b)
{
	int64_t w = b->s->group_window_ms;
	for (size_t i = 0; i < b->n; i++) {
		struct rec *r = &b->recs[i];
		if (!r->changed || r->incident_id || !r->r->c.incident)
			continue;
		int64_t t = r->r->message.posted_at;
		struct key *k = find_key(b, r->r->c.topic, r->r->c.municipality);
		if (!k) {
			k = GROW(b->keys, b->nkeys);
			*k = (struct key){r->r->c.topic, r->r->c.municipality, t, t, NULL, 0};
		}
		k->lo = t < k->lo ? t : k->lo;
		k->hi = t > k->hi ? t : k->hi;
	}
	if (!b->nkeys)
		return 0;
	json_t *keys = json_array();
	for (size_t i = 0; i < b->nkeys; i++)
		json_array_append_new(keys,
		                      json_pack("{s:I, s:s, s:s?, s:o, s:o}", "n", (json_int_t)i,
		                                "topic", b->keys[i].topic, "muni", b->keys[i].muni,
		                                "lo", time_json(b->keys[i].lo - w), "hi",
		                                time_json(b->keys[i].hi + w)));
	/* One row per candidate and text (the candidate's columns repeated): decoding them as
	 * columns costs a fraction of a json_agg document per candidate. */
	PGresult *res = exec_json(
	        b,
	        "SELECT k.n, c.id, c.xmin, (extract(epoch FROM c.last_report_at) * 1000)::bigint,"
	        " (extract(epoch FROM c.opened_at) * 1000)::bigint, c.address,"
	        " (extract(epoch FROM t.posted_at) * 1000)::bigint, t.text, t.message_id"
	        " FROM jsonb_to_recordset($1::jsonb)"
	        "  AS k(n bigint, topic text, muni text, lo timestamptz, hi timestamptz)"
	        " CROSS JOIN LATERAL (SELECT i.id, i.xmin::text AS xmin, i.last_report_at,"
	        "  i.opened_at, i.address FROM assigner.incidents i"
	        "  WHERE i.topic = k.topic AND coalesce(i.municipality, '') = coalesce(k.muni, '')"
	        "   AND i.status IN ('moderation', 'assigned', 'responded')"
	        "   AND i.last_report_at >= k.lo AND i.opened_at <= k.hi"
	        "  ORDER BY i.last_report_at DESC, i.id DESC LIMIT 20) c"
	        " LEFT JOIN LATERAL (SELECT posted_at, text, message_id FROM assigner.reports"
	        "  WHERE incident_id = c.id ORDER BY posted_at DESC LIMIT 20) t ON true",
	        keys);
	json_decref(keys);
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct inc *inc = loaded_inc(b, PQgetvalue(res, i, 1));
		if (!inc) { /* an incident belongs to one key: its first row */
			inc = new_inc(b, &b->keys[strtoll(PQgetvalue(res, i, 0), NULL, 10)]);
			json_object_set_new(b->loaded, PQgetvalue(res, i, 1),
			                    json_integer((json_int_t)b->nincs - 1));
			inc->order = strtoll(PQgetvalue(res, i, 1), NULL, 10);
			inc->xmin = xstrdup(PQgetvalue(res, i, 2));
			inc->last = strtoll(PQgetvalue(res, i, 3), NULL, 10);
			inc->opened = strtoll(PQgetvalue(res, i, 4), NULL, 10);
			inc->addr_key = PQgetisnull(res, i, 5)
			                        ? NULL
			                        : grouping_address_key(PQgetvalue(res, i, 5));
		}
		if (!PQgetisnull(res, i, 8))
			add_text(inc, strtoll(PQgetvalue(res, i, 6), NULL, 10),
			         PQgetvalue(res, i, 8),
			         grouping_text_new(b->g, PQgetvalue(res, i, 7)), true);
	}
	PQclear(res);
	return 0;
}

static int cmp_candidates(const void *a, const void *b)
{
	const struct inc *x = *(struct inc *const *)a, *y = *(struct inc *const *)b;
	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	return x->order > y->order ? -1 : x->order < y->order;
}

/* The open incident the record joins, or NULL; *how and *score say why (as the one-record
 * query did: the latest 20 candidates in the window, an address match decides at once). */
static struct inc *find_incident(struct batch *b, struct rec *r, const char **how, double *score)
{
	const struct classified *c = r->r;
	struct key *k = find_key(b, c->c.topic, c->c.municipality);
	int64_t t = c->message.posted_at, w = b->s->group_window_ms;
	struct inc **cand = xcalloc(k->n + 1, sizeof(*cand));
	size_t n = 0;
	for (size_t i = 0; i < k->n; i++)
		if (k->incs[i]->last >= t - w && k->incs[i]->opened <= t + w)
			cand[n++] = k->incs[i];
	qsort(cand, n, sizeof(*cand), cmp_candidates);
	struct inc *best = NULL;
	*score = 0;
	char *addr = grouping_address_key(c->message.address);
	for (size_t i = 0; i < n && i < CANDIDATES; i++) {
		if (addr && cand[i]->addr_key && !strcmp(addr, cand[i]->addr_key)) {
			best = cand[i];
			*how = "address";
			*score = 1;
			break;
		}
		for (size_t j = 0; j < cand[i]->ntexts; j++) {
			double d = grouping_dice(r->t, cand[i]->texts[j].t);
			if (d >= b->s->similarity && d > *score) {
				*score = d;
				best = cand[i];
				*how = "text";
			}
		}
	}
	free(addr);
	free(cand);
	return best;
}

static void set_time(json_t *row, const char *column, int64_t ms)
{
	json_object_set_new(row, column, time_json(ms));
}

/* Raises a normal incident to high urgency when this report is high or the affected count
 * reached the threshold; deadlines recomputed from the same clock start. */
static void maybe_raise(struct batch *b, struct inc *inc, const struct classified *r)
{
	json_t *row = inc->row;
	const char *why = !strcmp(r->c.urgency, "high")                     ? "report"
	                  : row_int(row, "affected") >= b->s->affected_high ? "affected"
	                                                                    : NULL;
	if (!why || !strcmp(row_str(row, "urgency"), "high"))
		return;
	int64_t start = row_time(row, "assigned_at");
	int64_t first = 0, final = 0, reminder = 0;
	if (start) /* in moderation the clock has not started: nothing to recompute */
		incidents_deadlines(b->env->region, "high", start, &first, &final, &reminder);
	json_object_set_new(row, "urgency", json_string("high"));
	json_object_set_new(row, "updated_at", json_string(b->now_s));
	if (start) {
		set_time(row, "first_answer_due", first);
		set_time(row, "final_answer_due", final);
		set_time(row, "reminder_at", reminder);
	}
	b->c->raised++;
	char t_first[32], t_final[32];
	audit(b, inc, 0, "urgency_raised",
	      json_pack("{s:s, s:I, s:s, s:s?, s:s?}", "reason", why, "affected",
	                (json_int_t)row_int(row, "affected"), "message_id", r->message.id,
	                "first_answer_due", incidents_time(first, t_first), "final_answer_due",
	                incidents_time(final, t_final)));
	if (!strcmp(row_str(row, "status"), "assigned"))
		event(b, inc, INCIDENT_ASSIGNED);
}

/* What grouping the next records sees of the incident once the record is in it. */
static void group_into(struct batch *b, struct inc *inc, size_t i)
{
	const struct classified *r = b->recs[i].r;
	b->recs[i].inc = inc;
	inc->joined = true;
	add_text(inc, r->message.posted_at, r->message.id, b->recs[i].t, false);
	if (!inc->addr_key)
		inc->addr_key = grouping_address_key(r->message.address);
	if (r->message.posted_at > inc->last)
		inc->last = r->message.posted_at;
}

/* Counts the record's report in the incident. */
static void take(struct inc *inc, size_t i, const struct classified *r)
{
	*GROW(inc->mine, inc->nmine) = i;
	add_author(inc, r);
}

/* Decides where a new incident report goes: the open incident it joins, or a new one. */
static void decide(struct batch *b, size_t i)
{
	struct rec *r = &b->recs[i];
	r->t = grouping_text_new(b->g, r->r->message.text);
	struct inc *inc = find_incident(b, r, &r->how, &r->score);
	if (!inc) {
		inc = new_inc(b, find_key(b, r->r->c.topic, r->r->c.municipality));
		inc->fresh = true;
		inc->order = FRESH_ORDER + (int64_t)b->nfresh++;
		inc->last = inc->opened = r->r->message.posted_at;
		r->opens = true;
	}
	group_into(b, inc, i);
}

static void join(struct batch *b, struct inc *inc, size_t i, const char *how, double score)
{
	const struct classified *r = b->recs[i].r;
	json_t *row = inc->row;
	take(inc, i, r);
	inc->changed = true;
	json_object_set_new(row, "reports", json_integer(row_int(row, "reports") + 1));
	json_object_set_new(row, "affected",
	                    json_integer((json_int_t)json_object_size(inc->authors)));
	if (r->message.posted_at > row_time(row, "last_report_at"))
		set_time(row, "last_report_at", r->message.posted_at);
	if (!row_str(row, "address") && r->message.address)
		json_object_set_new(row, "address", json_string(r->message.address));
	json_object_set_new(row, "updated_at", json_string(b->now_s));
	audit(b, inc, 0, "joined",
	      json_pack("{s:s, s:s, s:f, s:I}", "message_id", r->message.id, "by", how,
	                "similarity", score, "affected", (json_int_t)row_int(row, "affected")));
	b->c->joined++;
	maybe_raise(b, inc, r);
}

/* The first SUMMARY_CHARS characters of the text, cut at a character boundary. */
static char *summary_of(const char *text)
{
	size_t len = strlen(text), i = 0;
	for (size_t chars = 0; i < len && chars < SUMMARY_CHARS; chars++) {
		size_t n = utf8_seq_len(text + i, len - i);
		i += n ? n : 1;
	}
	return i < len ? xasprintf("%.*s…", (int)i, text) : xstrdup(text);
}

/* Why a new incident needs a moderator, or NULL when the rules may route it. */
static const char *moderation_reason(const struct batch *b, const struct classification *c)
{
	if (!c->municipality)
		return "municipality_unresolved";
	if (c->municipality_ambiguous)
		return "municipality_ambiguous";
	if (!region_municipality(b->env->region, c->municipality))
		return "municipality_unknown";
	if (c->incident_score < b->s->min_confidence)
		return "low_confidence";
	return NULL;
}

/* Opens an incident from the record: created, then moderation or routing. */
static void open_incident(struct batch *b, size_t i)
{
	const struct classified *r = b->recs[i].r;
	const char *reason = moderation_reason(b, &r->c);
	bool high = !strcmp(r->c.urgency, "high") || b->s->affected_high <= 1;
	char *summary = summary_of(r->message.text);
	json_t *row = json_pack(
	        "{s:I, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s?, s:i, s:i, s:o, s:o, s:s?, s:s, s:s,"
	        " s:b, s:b}",
	        "id", (json_int_t)0, "status", "moderation", "topic", r->c.topic, "subtopic",
	        r->c.subtopic, "municipality", r->c.municipality, "urgency",
	        high ? "high" : "normal", "summary", summary, "address", r->message.address,
	        "reports", 1, "affected", 1, "opened_at", time_json(r->message.posted_at),
	        "last_report_at", time_json(r->message.posted_at), "moderation_reason", reason,
	        "created_at", b->now_s, "updated_at", b->now_s, "overdue", 0, "escalated", 0);
	free(summary);
	struct inc *inc = b->recs[i].inc;
	inc->row = row;
	take(inc, i, r);
	b->c->opened++;
	audit(b, inc, 0, "opened",
	      json_pack("{s:s, s:O}", "message_id", r->message.id, "classification",
	                classification_of(&b->recs[i])));
	event(b, inc, INCIDENT_CREATED);
	if (reason) {
		b->c->moderated++;
		audit(b, inc, 0, "moderation",
		      json_pack("{s:s, s:f}", "reason", reason, "incident_score",
		                r->c.incident_score));
		return;
	}
	/* Routed now; the clock starts now (incidents_assign's decisions, made in memory). */
	struct region_route route =
	        region_route(b->env->region, r->c.topic, r->c.subtopic, r->c.municipality);
	int64_t first, final, reminder;
	incidents_deadlines(b->env->region, row_str(row, "urgency"), b->now, &first, &final,
	                    &reminder);
	json_object_set_new(row, "status", json_string("assigned"));
	json_object_set_new(row, "authority_id", json_string(route.authority->id));
	json_object_set_new(row, "rule_id", json_string(route.rule_id));
	json_object_set_new(row, "moderation_reason", json_null());
	json_object_set_new(row, "assigned_at", json_string(b->now_s));
	set_time(row, "first_answer_due", first);
	set_time(row, "final_answer_due", final);
	set_time(row, "reminder_at", reminder);
	char t_first[32], t_final[32];
	audit(b, inc, 0, "assigned",
	      json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s?, s:s}}", "authority",
	                route.authority->id, "rule_id", route.rule_id, "first_answer_due",
	                incidents_time(first, t_first), "final_answer_due",
	                incidents_time(final, t_final), "evidence", "topic", r->c.topic, "subtopic",
	                r->c.subtopic, "municipality", r->c.municipality));
	event(b, inc, INCIDENT_ASSIGNED);
}

/* Ids for the batch's new incidents, in the order they were opened. */
static int allocate_ids(struct batch *b)
{
	if (!b->nfresh)
		return 0;
	char n[24];
	snprintf(n, sizeof(n), "%zu", b->nfresh);
	const char *p[] = {n};
	PGresult *res = db_exec(b->db,
	                        "SELECT nextval('assigner.incidents_id_seq')"
	                        " FROM generate_series(1, $1::int)",
	                        1, p, b->err, b->errlen);
	if (!res)
		return -1;
	for (size_t i = 0; i < b->nincs; i++)
		if (b->incs[i]->fresh)
			json_object_set_new(
			        b->incs[i]->row, "id",
			        json_integer(strtoll(
			                PQgetvalue(res, (int)(b->incs[i]->order - FRESH_ORDER), 0),
			                NULL, 10)));
	PQclear(res);
	return 0;
}

/* The event's report item of a record (as incidents.c lists an incident's reports). */
static json_t *report_item(const struct classified *r)
{
	const struct message *m = &r->message;
	return json_pack("{s:s, s:s, s:s, s:s*, s:O*}", "message_id", m->id, "source", m->source,
	                 "external_id", m->external_id, "url", m->url, "thread", m->thread);
}

/* Fails the batch: n of the incidents it joins changed since grouping read them. */
static int changed_meanwhile(struct batch *b, size_t n)
{
	snprintf(b->err, b->errlen,
	         "%zu of the incidents this batch joins changed while it was deciding; retried", n);
	return -1;
}

/*
 * Loads the rows of the loaded incidents the batch joins, and their distinct authors (the
 * affected count). A row whose version is no longer the one grouping read fails the batch.
 */
static int load_joined(struct batch *b)
{
	json_t *ids = json_array();
	for (size_t i = 0; i < b->nincs; i++)
		if (!b->incs[i]->fresh && b->incs[i]->joined)
			json_array_append_new(ids, json_integer(b->incs[i]->order));
	size_t want = json_array_size(ids), got = 0;
	PGresult *res = NULL, *authors = NULL;
	if (want)
		res = exec_json(
		        b,
		        "SELECT i.id, i.xmin::text, to_jsonb(i)::text FROM assigner.incidents i"
		        " WHERE i.id IN (SELECT value::bigint FROM jsonb_array_elements($1))",
		        ids);
	if (res)
		authors = exec_json(b,
		                    "SELECT DISTINCT incident_id, coalesce(author_id, message_id)"
		                    " FROM assigner.reports WHERE incident_id IN"
		                    "  (SELECT value::bigint FROM jsonb_array_elements($1))",
		                    ids);
	json_decref(ids);
	if (!want)
		return 0;
	for (int i = 0; authors && i < PQntuples(res); i++) {
		struct inc *inc = loaded_inc(b, PQgetvalue(res, i, 0));
		if (!inc || strcmp(inc->xmin, PQgetvalue(res, i, 1)))
			continue;
		inc->row = json_loads(PQgetvalue(res, i, 2), 0, NULL);
		json_object_set_new(inc->row, "xmin", json_string(inc->xmin));
		got++;
	}
	for (int i = 0; authors && i < PQntuples(authors); i++) {
		struct inc *inc = loaded_inc(b, PQgetvalue(authors, i, 0));
		if (inc)
			json_object_set_new(inc->authors, PQgetvalue(authors, i, 1), json_true());
	}
	int rc = authors ? 0 : -1;
	if (authors && got < want) {
		rc = changed_meanwhile(b, want - got);
	}
	PQclear(res);
	PQclear(authors);
	return rc;
}

/* Loads, for the loaded incidents that have events, their reports from before the batch. */
static int load_earlier(struct batch *b)
{
	json_t *ids = json_array();
	for (size_t i = 0; i < b->nevents; i++)
		if (!b->events[i].inc->fresh && !b->events[i].inc->earlier) {
			b->events[i].inc->earlier = json_array();
			json_array_append_new(ids,
			                      json_integer(row_int(b->events[i].inc->row, "id")));
		}
	if (!json_array_size(ids)) {
		json_decref(ids);
		return 0;
	}
	PGresult *res = exec_json(
	        b,
	        "SELECT r.incident_id, to_jsonb(r.posted_at) #>> '{}',"
	        " json_strip_nulls(json_build_object("
	        " 'message_id', r.message_id, 'source', r.source, 'external_id', r.external_id,"
	        " 'url', r.url, 'thread', r.thread))::text"
	        " FROM jsonb_array_elements_text($1::jsonb) u(id)"
	        " CROSS JOIN LATERAL (SELECT * FROM assigner.reports"
	        "  WHERE incident_id = u.id::bigint ORDER BY posted_at, message_id LIMIT 100) r",
	        ids);
	json_decref(ids);
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct inc *inc = loaded_inc(b, PQgetvalue(res, i, 0));
		if (inc)
			json_array_append_new(
			        inc->earlier,
			        json_pack("[s, o]", PQgetvalue(res, i, 1),
			                  json_loads(PQgetvalue(res, i, 2), 0, NULL)));
	}
	PQclear(res);
	return 0;
}

struct listed {
	int64_t posted;
	const char *id;
	json_t *item;
};

static int cmp_listed(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	if (x->posted != y->posted)
		return x->posted < y->posted ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The event's reports: the incident's earlier ones and the first nmine of the batch's. */
static json_t *event_reports(struct batch *b, const struct pending_event *e)
{
	size_t ne = json_array_size(e->inc->earlier), n = 0;
	struct listed *l = xcalloc(ne + e->nmine + 1, sizeof(*l));
	for (size_t i = 0; i < ne; i++) {
		json_t *pair = json_array_get(e->inc->earlier, i);
		json_t *item = json_array_get(pair, 1);
		l[n].item = json_incref(item);
		l[n].id = json_string_value(json_object_get(item, "message_id"));
		rfc3339_parse(json_string_value(json_array_get(pair, 0)), &l[n++].posted);
	}
	for (size_t i = 0; i < e->nmine; i++) {
		const struct classified *r = b->recs[e->inc->mine[i]].r;
		l[n++] = (struct listed){r->message.posted_at, r->message.id, report_item(r)};
	}
	qsort(l, n, sizeof(*l), cmp_listed);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		if (i < EVENT_REPORTS)
			json_array_append(out, l[i].item);
		json_decref(l[i].item);
	}
	free(l);
	return out;
}

/* Writes the changed loaded incidents, each only if no one changed it since it was read. */
static int update_changed(struct batch *b, const json_t *rows)
{
	PGresult *res = exec_json(
	        b,
	        "UPDATE assigner.incidents i SET urgency = r.urgency, reports = r.reports,"
	        " affected = r.affected, last_report_at = r.last_report_at, address = r.address,"
	        " first_answer_due = r.first_answer_due, final_answer_due = r.final_answer_due,"
	        " reminder_at = r.reminder_at, updated_at = r.updated_at"
	        " FROM jsonb_array_elements($1::jsonb) e,"
	        "  jsonb_populate_record(NULL::assigner.incidents, e.value) r"
	        " WHERE i.id = r.id AND i.xmin::text = e.value->>'xmin'",
	        rows);
	if (!res)
		return -1;
	size_t updated = strtoul(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (updated == json_array_size(rows))
		return 0;
	return changed_meanwhile(b, json_array_size(rows) - updated);
}

/* Writes what the decisions made: incidents, reports, audit rows, events. */
static int write_all(struct batch *b)
{
	json_t *fresh = json_array(), *changed = json_array();
	json_t *audits = json_array(), *events = json_array();
	for (size_t i = 0; i < b->nincs; i++)
		if (b->incs[i]->fresh || b->incs[i]->changed)
			json_array_append(b->incs[i]->fresh ? fresh : changed, b->incs[i]->row);
	for (size_t i = 0; i < b->naudits; i++) {
		struct audit_row *a = &b->audits[i];
		json_array_append_new(audits,
		                      json_pack("{s:I, s:s, s:s, s:s, s:O}", "incident_id",
		                                (json_int_t)(a->inc ? row_int(a->inc->row, "id")
		                                                    : a->incident_id),
		                                "at", b->now_s, "actor", actor, "action", a->action,
		                                "details", a->details));
	}
	for (size_t i = 0; i < b->nevents; i++) {
		struct pending_event *e = &b->events[i];
		json_object_set(e->row, "id", json_object_get(e->inc->row, "id"));
		json_t *reports = event_reports(b, e);
		json_array_append_new(events, json_pack("{s:I, s:s, s:o, s:s}", "incident_id",
		                                        (json_int_t)row_int(e->row, "id"), "type",
		                                        incident_event_type_name(e->type), "event",
		                                        incidents_event(b->env, e->type, b->now,
		                                                        e->row, NULL, reports),
		                                        "created_at", b->now_s));
		json_decref(reports);
	}
	int rc = 0;
	if (json_array_size(fresh))
		rc = run_json(
		        b,
		        "INSERT INTO assigner.incidents (id, status, topic, subtopic, municipality,"
		        " urgency, authority_id, rule_id, moderation_reason, summary, address,"
		        " reports,"
		        " affected, opened_at, last_report_at, assigned_at, first_answer_due,"
		        " final_answer_due, reminder_at, created_at, updated_at)"
		        " SELECT id, status, topic, subtopic, municipality, urgency, authority_id,"
		        "  rule_id, moderation_reason, summary, address, reports, affected,"
		        "  opened_at,"
		        "  last_report_at, assigned_at, first_answer_due, final_answer_due,"
		        "  reminder_at, created_at, updated_at"
		        " FROM jsonb_populate_recordset(NULL::assigner.incidents, $1::jsonb)",
		        fresh);
	if (rc == 0 && json_array_size(changed))
		rc = update_changed(b, changed);
	if (rc == 0)
		rc = store_reports(b);
	if (rc == 0 && json_array_size(audits))
		rc = incidents_audit_rows(b->db, audits, b->err, b->errlen);
	if (rc == 0 && json_array_size(events))
		rc = incidents_queue(b->db, events, b->err, b->errlen);
	json_decref(fresh);
	json_decref(changed);
	json_decref(audits);
	json_decref(events);
	return rc;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nincs; i++) {
		struct inc *inc = b->incs[i];
		for (size_t j = 0; j < inc->ntexts; j++)
			text_clear(&inc->texts[j]);
		json_decref(inc->row);
		json_decref(inc->authors);
		json_decref(inc->earlier);
		free(inc->addr_key);
		free(inc->xmin);
		free(inc->mine);
		free(inc);
	}
	for (size_t i = 0; i < b->n; i++) {
		grouping_text_free(b->recs[i].t);
		json_decref(b->recs[i].classification);
	}
	for (size_t i = 0; i < b->nkeys; i++)
		free(b->keys[i].incs);
	for (size_t i = 0; i < b->nevents; i++)
		json_decref(b->events[i].row);
	for (size_t i = 0; i < b->naudits; i++)
		json_decref(b->audits[i].details);
	json_decref(b->loaded);
	free(b->incs);
	free(b->recs);
	free(b->keys);
	free(b->events);
	free(b->audits);
}

/* One part of the batch whose message ids are distinct (an upsert touches a row once). */
static int store_part(struct batch *b)
{
	if (lock_keys(b) < 0 || read_reports(b) < 0 || load_candidates(b) < 0)
		return -1;
	/* Where each new incident report goes (grouping sees the records before it)... */
	for (size_t i = 0; i < b->n; i++) {
		struct rec *r = &b->recs[i];
		if (r->changed && r->incident_id)
			replace_text(b, r);
		else if (r->changed && r->r->c.incident)
			decide(b, i);
	}
	if (load_joined(b) < 0)
		return -1;
	/* ...then what each record does, in order, as if stored one at a time. */
	for (size_t i = 0; i < b->n; i++) {
		struct rec *r = &b->recs[i];
		if (!r->changed) {
			b->c->replayed++;
			continue;
		}
		b->c->reports++;
		if (r->incident_id) /* a new revision of a grouped report: its incident keeps it */
			audit(b, NULL, r->incident_id, "report_updated",
			      json_pack("{s:s, s:I}", "message_id", r->r->message.id, "revision",
			                (json_int_t)r->r->message.revision));
		else if (r->opens)
			open_incident(b, i);
		else if (r->inc)
			join(b, r->inc, i, r->how, r->score);
	}
	if (allocate_ids(b) < 0 || load_earlier(b) < 0)
		return -1;
	return write_all(b);
}

/* The length of the run of r[0..n) without a repeated message id. */
static size_t distinct_run(const struct classified *r, size_t n)
{
	json_t *seen = json_object();
	size_t k = 0;
	for (; k < n && !json_object_get(seen, r[k].message.id); k++)
		json_object_set_new(seen, r[k].message.id, json_true());
	json_decref(seen);
	return k;
}

int intake_store(struct db *db, struct grouping *g, const struct action_env *env,
                 const struct intake_settings *s, const struct classified *r, size_t n, int64_t now,
                 struct intake_counts *c, char *err, size_t errlen)
{
	struct intake_counts counts = {0};
	err[0] = '\0';
	/* The candidates query's estimate crosses jit_above_cost; compiling it costs more than
	 * running it. */
	if (db_begin(db, err, errlen) < 0)
		return -1;
	int rc = db_run(db, "SET LOCAL jit = off", 0, NULL, err, errlen);
	for (size_t at = 0; at < n && rc == 0;) {
		size_t k = distinct_run(r + at, n - at);
		struct batch b = {.db = db,
		                  .g = g,
		                  .env = env,
		                  .s = s,
		                  .c = &counts,
		                  .now = now,
		                  .n = k,
		                  .err = err,
		                  .errlen = errlen};
		rfc3339_format(now, b.now_s);
		b.recs = xcalloc(k, sizeof(*b.recs));
		b.loaded = json_object();
		for (size_t i = 0; i < k; i++)
			b.recs[i].r = &r[at + i];
		rc = store_part(&b);
		batch_free(&b);
		at += k;
	}
	if (rc < 0 || db_commit(db, err, errlen) < 0) {
		db_rollback(db);
		return -1;
	}
	c->reports += counts.reports;
	c->replayed += counts.replayed;
	c->opened += counts.opened;
	c->joined += counts.joined;
	c->moderated += counts.moderated;
	c->raised += counts.raised;
	return 0;
}
