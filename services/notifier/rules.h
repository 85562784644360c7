/*
 * rules: which event notifies whom, and the deliveries that follows from it. An event type
 * maps to a set of roles; each role names people the event carries the addresses of:
 *
 *   authority  the authority responsible now (event "authority"), on each of its channels
 *   parent     the authority above it (event "parent_authority")
 *   previous   the authority it was taken from (event "previous_authority")
 *   citizens   the citizens' own threads (event "reports[].thread"), answered in place
 *
 * Defaults (the issue's): assigned and reminder -> authority; overdue and escalated ->
 * authority and parent; reassigned -> authority and previous; responded -> citizens; the
 * others -> nobody. NOTIFY_RULES overrides per type:
 * "incident.reminder=,incident.resolved=authority|parent" (an empty list turns a type off).
 * Besides, webhook subscribers (WEBHOOK_SUBSCRIBERS: a regional monitoring centre, a
 * dashboard) receive every event of every type, as role "subscriber".
 *
 * Planning renders each delivery completely (recipient, text, the event for webhooks) into a
 * JSON payload that is stored with it, so that what is sent later, and on every retry, is
 * what the event said at the time.
 */
#ifndef NOTIFIER_RULES_H
#define NOTIFIER_RULES_H

#include <jansson.h>
#include <stddef.h>

#include "incident_event.h"

enum notify_role {
	NOTIFY_AUTHORITY = 1,
	NOTIFY_PARENT = 2,
	NOTIFY_PREVIOUS = 4,
	NOTIFY_CITIZENS = 8,
	NOTIFY_SUBSCRIBER = 16,
};

struct notify_rules {
	unsigned roles[INCIDENT_EVENT_TYPES]; /* bit set of enum notify_role */
	char **subscribers;                   /* webhook URLs that get every event (owned) */
	size_t nsubscribers;
};

/* The role's name ("authority"), for rows and logs. Static string. */
const char *notify_role_name(enum notify_role role);

/* Fills r with the defaults, then applies spec (NULL or "" for none), and takes the
 * comma-separated webhook URLs of subscribers (NULL for none). Returns 0, or -1 with the bad
 * entry named in err. Release with notify_rules_free (after a failure too). */
int notify_rules_parse(const char *spec, const char *subscribers, struct notify_rules *r, char *err,
                       size_t errlen);

void notify_rules_free(struct notify_rules *r);

struct planned_delivery {
	char *channel;   /* CHANNEL_* of channel.h (owned) */
	char *recipient; /* address, chat, URL or thread, as in the idempotency key (owned) */
	const char *role;
	json_t *payload; /* what channel_send gets (owned) */
};

struct plan {
	struct planned_delivery *items; /* owned */
	size_t n;
};

/*
 * The deliveries ev asks for under r, appended to p (zeroed by the caller; several events
 * may be planned into one). utc_offset_min is the region's offset for the deadlines shown.
 * Channels of types this service does not know, and threads of sources it cannot answer in,
 * are skipped.
 */
void notify_plan(const struct notify_rules *r, const struct incident_event *ev, int utc_offset_min,
                 struct plan *p);

/* Frees the items and zeroes p. */
void plan_clear(struct plan *p);

#endif
