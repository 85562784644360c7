/* incident_event: the incident_event.v1 codec (see incident_event.h and
 * schemas/incident_event.v1.md). */
#include "incident_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "xalloc.h"

#define MAX_EVENT_ID_CHARS 128
#define MAX_ID_CHARS 256
#define MAX_NAME_CHARS 512
#define MAX_TEXT_CHARS 20000
#define MAX_URL_CHARS 2048
#define MAX_CHANNELS 32
#define MAX_REPORTS 100

static const char *const type_names[INCIDENT_EVENT_TYPES] = {
        [INCIDENT_CREATED] = "incident.created",       [INCIDENT_ASSIGNED] = "incident.assigned",
        [INCIDENT_REASSIGNED] = "incident.reassigned", [INCIDENT_REMINDER] = "incident.reminder",
        [INCIDENT_OVERDUE] = "incident.overdue",       [INCIDENT_ESCALATED] = "incident.escalated",
        [INCIDENT_RESPONDED] = "incident.responded",   [INCIDENT_RESOLVED] = "incident.resolved",
        [INCIDENT_REJECTED] = "incident.rejected",     [INCIDENT_REOPENED] = "incident.reopened",
        [INCIDENT_FEEDBACK] = "incident.feedback",
};

static const char *const statuses[] = {"moderation", "assigned", "responded", "resolved",
                                       "rejected"};

const char *incident_event_type_name(enum incident_event_type t)
{
	return (unsigned)t < INCIDENT_EVENT_TYPES ? type_names[t] : NULL;
}

int incident_event_type_parse(const char *name)
{
	for (int i = 0; i < INCIDENT_EVENT_TYPES; i++)
		if (name && strcmp(name, type_names[i]) == 0)
			return i;
	return -1;
}

static json_t *copy_or_null(const json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

json_t *incident_event_encode(const struct incident_event *ev)
{
	char at[32];
	rfc3339_format(ev->occurred_at, at);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "schema",
	                 INCIDENT_EVENT_SCHEMA, "event_id", ev->event_id, "type",
	                 incident_event_type_name(ev->type), "incident_id",
	                 (json_int_t)ev->incident_id, "occurred_at", at, "incident",
	                 copy_or_null(ev->incident), "authority", copy_or_null(ev->authority),
	                 "parent_authority", copy_or_null(ev->parent_authority),
	                 "previous_authority", copy_or_null(ev->previous_authority), "answer",
	                 copy_or_null(ev->answer), "feedback", copy_or_null(ev->feedback),
	                 "reports", ev->reports ? json_deep_copy(ev->reports) : json_array());
}

/* "path.name" or "name" into buf, for the nested readers' errors. */
static const char *join(char *buf, size_t len, const char *path, const char *name)
{
	snprintf(buf, len, "%s%s%s", path, path[0] ? "." : "", name);
	return buf;
}

static bool one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

static int decode_incident(const json_t *obj, int64_t incident_id, struct field_error *e)
{
	const json_t *inc;
	const char *s;
	int64_t id, at;
	if (field_object(obj, "", "incident", true, &inc, e) < 0 ||
	    field_integer(inc, "incident", "id", true, 1, INT64_MAX, &id, NULL, e) < 0)
		return -1;
	if (id != incident_id)
		return field_fail(e, "incident.id", "must equal incident_id");
	if (field_string(inc, "incident", "status", true, 32, &s, e) < 0)
		return -1;
	if (!one_of(s, statuses, sizeof(statuses) / sizeof(statuses[0])))
		return field_fail(e, "incident.status",
		                  "must be moderation, assigned, responded, resolved or rejected");
	if (field_string(inc, "incident", "topic", true, 64, &s, e) < 0 ||
	    field_string(inc, "incident", "urgency", true, 16, &s, e) < 0)
		return -1;
	if (strcmp(s, "high") && strcmp(s, "normal"))
		return field_fail(e, "incident.urgency", "must be high or normal");
	return field_time(inc, "incident", "opened_at", true, &at, NULL, e);
}

/* One channel: known types must carry their address; unknown types pass through. */
static int decode_channel(const json_t *ch, const char *path, struct field_error *e)
{
	const char *type, *s;
	if (!json_is_object(ch))
		return field_fail(e, path, "must be an object");
	if (field_string(ch, path, "type", true, 32, &type, e) < 0)
		return -1;
	if (strcmp(type, "email") == 0)
		return field_string(ch, path, "address", true, 320, &s, e);
	if (strcmp(type, "webhook") == 0)
		return field_string(ch, path, "url", true, MAX_URL_CHARS, &s, e);
	if (strcmp(type, "telegram") == 0) {
		if (json_is_integer(json_object_get(ch, "chat_id")))
			return 0;
		return field_string(ch, path, "chat_id", true, 64, &s, e);
	}
	return 0;
}

/* An authority object ("authority", "parent_authority", ...): absent or null unless required. */
static int decode_authority(const json_t *obj, const char *name, bool required, json_t **out,
                            struct field_error *e)
{
	const json_t *a;
	const char *s;
	if (field_object(obj, "", name, required, &a, e) < 0)
		return -1;
	if (!a)
		return 0;
	if (field_string(a, name, "id", true, MAX_ID_CHARS, &s, e) < 0 ||
	    field_string(a, name, "name", true, MAX_NAME_CHARS, &s, e) < 0 ||
	    field_string(a, name, "parent", false, MAX_ID_CHARS, &s, e) < 0)
		return -1;
	const json_t *channels = json_object_get(a, "channels");
	char path[96];
	if (channels && !json_is_null(channels)) {
		if (!json_is_array(channels))
			return field_fail(e, join(path, sizeof(path), name, "channels"),
			                  "must be an array");
		if (json_array_size(channels) > MAX_CHANNELS)
			return field_fail(e, join(path, sizeof(path), name, "channels"),
			                  "must have at most %d items", MAX_CHANNELS);
		size_t i;
		const json_t *ch;
		json_array_foreach(channels, i, ch)
		{
			snprintf(path, sizeof(path), "%s.channels[%zu]", name, i);
			if (decode_channel(ch, path, e) < 0)
				return -1;
		}
	}
	*out = json_deep_copy(a);
	return 0;
}

static int decode_answer(const json_t *obj, bool required, json_t **out, struct field_error *e)
{
	const json_t *a;
	const char *s;
	int64_t at;
	if (field_object(obj, "", "answer", required, &a, e) < 0)
		return -1;
	if (!a)
		return 0;
	if (field_string(a, "answer", "kind", true, 16, &s, e) < 0)
		return -1;
	if (strcmp(s, "interim") && strcmp(s, "final"))
		return field_fail(e, "answer.kind", "must be interim or final");
	if (field_string(a, "answer", "text", true, MAX_TEXT_CHARS, &s, e) < 0 ||
	    field_string(a, "answer", "author", false, MAX_NAME_CHARS, &s, e) < 0 ||
	    field_time(a, "answer", "at", false, &at, NULL, e) < 0)
		return -1;
	*out = json_deep_copy(a);
	return 0;
}

static int decode_feedback(const json_t *obj, bool required, json_t **out, struct field_error *e)
{
	const json_t *f;
	const char *s;
	if (field_object(obj, "", "feedback", required, &f, e) < 0)
		return -1;
	if (!f)
		return 0;
	if (!json_is_boolean(json_object_get(f, "satisfied")))
		return field_fail(e, "feedback.satisfied", "must be true or false");
	if (field_string(f, "feedback", "comment", false, MAX_TEXT_CHARS, &s, e) < 0)
		return -1;
	*out = json_deep_copy(f);
	return 0;
}

static int decode_reports(const json_t *obj, json_t **out, struct field_error *e)
{
	const json_t *reports = json_object_get(obj, "reports");
	if (!reports || json_is_null(reports)) {
		*out = json_array();
		return 0;
	}
	if (!json_is_array(reports))
		return field_fail(e, "reports", "must be an array");
	if (json_array_size(reports) > MAX_REPORTS)
		return field_fail(e, "reports", "must have at most %d items", MAX_REPORTS);
	size_t i;
	const json_t *r;
	json_array_foreach(reports, i, r)
	{
		char path[32];
		const char *s;
		const json_t *thread;
		snprintf(path, sizeof(path), "reports[%zu]", i);
		if (!json_is_object(r))
			return field_fail(e, path, "must be an object");
		if (field_string(r, path, "message_id", true, MAX_ID_CHARS, &s, e) < 0 ||
		    field_string(r, path, "source", true, 64, &s, e) < 0 ||
		    field_string(r, path, "external_id", true, MAX_ID_CHARS, &s, e) < 0 ||
		    field_string(r, path, "url", false, MAX_URL_CHARS, &s, e) < 0 ||
		    field_object(r, path, "thread", false, &thread, e) < 0)
			return -1;
	}
	*out = json_deep_copy(reports);
	return 0;
}

static bool needs_authority(enum incident_event_type t)
{
	return t == INCIDENT_ASSIGNED || t == INCIDENT_REASSIGNED || t == INCIDENT_REMINDER ||
	       t == INCIDENT_OVERDUE || t == INCIDENT_ESCALATED || t == INCIDENT_RESPONDED;
}

int incident_event_decode(const json_t *obj, struct incident_event *ev, struct field_error *e)
{
	const char *s;
	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(obj))
		return field_fail(e, "", "must be a JSON object");
	if (field_schema(obj, INCIDENT_EVENT_SCHEMA, e) < 0 ||
	    field_string(obj, "", "event_id", true, MAX_EVENT_ID_CHARS, &s, e) < 0)
		return -1;
	ev->event_id = xstrdup(s);
	if (field_string(obj, "", "type", true, 64, &s, e) < 0)
		goto fail;
	int type = incident_event_type_parse(s);
	if (type < 0) {
		field_fail(e, "type", "must be one of the incident_event.v1 types");
		goto fail;
	}
	ev->type = (enum incident_event_type)type;
	if (field_integer(obj, "", "incident_id", true, 1, INT64_MAX, &ev->incident_id, NULL, e) <
	            0 ||
	    field_time(obj, "", "occurred_at", true, &ev->occurred_at, NULL, e) < 0 ||
	    decode_incident(obj, ev->incident_id, e) < 0)
		goto fail;
	ev->incident = json_deep_copy(json_object_get(obj, "incident"));
	if (decode_authority(obj, "authority", needs_authority(ev->type), &ev->authority, e) < 0 ||
	    decode_authority(obj, "previous_authority", ev->type == INCIDENT_REASSIGNED,
	                     &ev->previous_authority, e) < 0 ||
	    decode_authority(obj, "parent_authority", ev->type == INCIDENT_ESCALATED,
	                     &ev->parent_authority, e) < 0 ||
	    decode_answer(obj, ev->type == INCIDENT_RESPONDED, &ev->answer, e) < 0 ||
	    decode_feedback(obj, ev->type == INCIDENT_FEEDBACK, &ev->feedback, e) < 0 ||
	    decode_reports(obj, &ev->reports, e) < 0)
		goto fail;
	return 0;
fail:
	incident_event_clear(ev);
	return -1;
}

int incident_event_decode_bytes(const void *data, size_t len, struct incident_event *ev,
                                struct field_error *e)
{
	json_error_t je;
	json_t *obj = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	memset(ev, 0, sizeof(*ev));
	if (!obj)
		return field_fail(e, "", "invalid JSON at line %d, column %d: %.100s", je.line,
		                  je.column, je.text);
	int rc = incident_event_decode(obj, ev, e);
	json_decref(obj);
	return rc;
}

char *incident_event_key(const struct incident_event *ev)
{
	return xasprintf("%lld", (long long)ev->incident_id);
}

void incident_event_clear(struct incident_event *ev)
{
	free(ev->event_id);
	json_decref(ev->incident);
	json_decref(ev->authority);
	json_decref(ev->previous_authority);
	json_decref(ev->parent_authority);
	json_decref(ev->answer);
	json_decref(ev->feedback);
	json_decref(ev->reports);
	memset(ev, 0, sizeof(*ev));
}
