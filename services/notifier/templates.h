/*
 * templates: the Russian texts people receive. A notice to an authority says what happened,
 * where, how many citizens are affected, by when the answer is due (in the region's time) and
 * where the incident is; its wording depends on the event and on why this reader gets it
 * (responsible, supervising, or the one it was taken from). An answer published to a
 * citizen's thread is the authority's text with who answered.
 *
 * Missing optional members of the incident are left out, never printed as "(null)".
 */
#ifndef NOTIFIER_TEMPLATES_H
#define NOTIFIER_TEMPLATES_H

#include "incident_event.h"
#include "rules.h"

struct notice {
	char *subject; /* one line (owned) */
	char *body;    /* plain text, LF line ends (owned) */
};

/* The notice to `role` about ev. Caller clears with notice_clear. */
void template_notice(const struct incident_event *ev, enum notify_role role, int utc_offset_min,
                     struct notice *out);

/* The answer as published in the citizen's thread, or NULL when ev carries no answer text.
 * Caller frees. */
char *template_answer(const struct incident_event *ev);

/* "28.11.2026 14:15 (UTC+07:00)" for an RFC 3339 time, or NULL when it is not one. Caller
 * frees. */
char *template_time(const char *rfc3339, int utc_offset_min);

void notice_clear(struct notice *n);

#endif
