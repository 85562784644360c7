/*
 * actions: the incident lifecycle as the operator API drives it. (Named actions, not lifecycle,
 * so that "lifecycle.h" keeps meaning shared/lifecycle.h on every include path.)
 *
 * Each function is one transaction: it locks the incident row, checks the transition, updates
 * the incident, writes an audit row (actor, action, details with the comment and the decision's
 * evidence) and an outbox row with the incident_event.v1 record for incidents.events. Either
 * all of it is committed or none of it.
 *
 * The state machine (action: from → to, the event published):
 *
 *   moderate  moderation → assigned  (decision "confirm": routed; incident.assigned)
 *             moderation → rejected  (decision "reject"; incident.rejected)
 *   reassign  assigned → assigned, responded → responded  (incident.reassigned)
 *   respond   assigned|responded → responded  (kind "interim" or "final"; incident.responded;
 *                                              a final answer may follow an interim one)
 *             assigned|responded → assigned   (kind "not_responsible": re-routed to the next
 *                                              candidate; incident.reassigned)
 *   resolve   assigned|responded → resolved   (incident.resolved)
 *   reopen    resolved → assigned, rejected → moderation  (incident.reopened)
 *   feedback  responded|resolved → unchanged  (incident.feedback)
 *
 * Anything else is ACTION_CONFLICT with the reason in e->message ("incident 7 is resolved:
 * reopen it first"). The consumer (intake.h) and the scheduler (scheduler.h) make the other
 * transitions: created, assigned, reminder, overdue, escalated.
 *
 * Clocks: deadlines are computed when an incident is first assigned (by the consumer's routing
 * or by a moderator's confirm), from that moment, with the region's deadline policy for its
 * urgency and the working calendar. Reassignment, «not our responsibility» and reopening keep
 * them (the citizen has been waiting since then). The first answer (interim or final) sets
 * first_answered_at and first_answer_ms (working time from the clock's start).
 *
 * «Not our responsibility» (respond kind "not_responsible", text = the reason) re-routes to the
 * next candidate that has not declined yet: the routing rules' authority, the municipality's
 * administration, the topic's regional ministry, then the declining authority's parent. The
 * declining authority is remembered in incidents.declined.
 *
 * Arguments are borrowed. Strings named by the API's JSON bodies are validated here, and a bad
 * one is reported with that name in e->field: "decision", "authority", "municipality", "kind",
 * "text", "comment" (each ≤ 4000 characters, valid UTF-8 is the caller's decoding job).
 */
#ifndef ASSIGNER_ACTIONS_H
#define ASSIGNER_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct region;

/* What the service's writers share: the region pack and how incidents are linked in events. */
struct action_env {
	const struct region *region; /* borrowed, required */
	const char *public_url; /* "http://host:8083": events carry <public_url>/v1/incidents/<id>;
	                              * NULL or "" leaves the link out */
};

/* Who acts, for the audit trail and for scoping. */
struct action_actor {
	const char *name;      /* "operator:alice", "authority:abakan_gkh:bob"; required */
	const char *authority; /* non-NULL: acting for this authority only — an incident not
	                        * currently assigned to it is reported as ACTION_NOT_FOUND */
};

/* The outcome, for the API to map onto HTTP. */
enum action_status {
	ACTION_OK = 0,       /* 200 */
	ACTION_NOT_FOUND,    /* 404: no such incident (or not visible to actor->authority) */
	ACTION_CONFLICT,     /* 409: illegal transition; message says why */
	ACTION_BAD_ARGUMENT, /* 400: field names the bad argument, message says what is wrong */
	ACTION_ERROR, /* 503: database trouble; message has the reason (log it, do not show) */
};

struct action_error {
	enum action_status status;
	char field[64];
	char message[256];
};

/*
 * decision "confirm" or "reject". On confirm, municipality (a region pack id, optional: the
 * moderator's resolution of an unresolved place; NULL keeps the incident's) and authority
 * (optional: assign to this authority id instead of routing by the rules) decide where it goes.
 * comment is optional.
 */
struct action_moderation {
	const char *decision;
	const char *municipality;
	const char *authority;
	const char *comment;
};

/* Each returns the status (ACTION_OK == 0) and fills e (always). */
enum action_status action_moderate(struct db *db, const struct action_env *env, int64_t id,
                                   const struct action_moderation *m,
                                   const struct action_actor *actor, struct action_error *e);

/* To authority (an id in the region pack, not the current one); the clock is kept. */
enum action_status action_reassign(struct db *db, const struct action_env *env, int64_t id,
                                   const char *authority, const char *comment,
                                   const struct action_actor *actor, struct action_error *e);

/* kind "interim", "final" or "not_responsible"; text required (the answer, or the reason). */
enum action_status action_respond(struct db *db, const struct action_env *env, int64_t id,
                                  const char *kind, const char *text,
                                  const struct action_actor *actor, struct action_error *e);

enum action_status action_resolve(struct db *db, const struct action_env *env, int64_t id,
                                  const char *comment, const struct action_actor *actor,
                                  struct action_error *e);

enum action_status action_reopen(struct db *db, const struct action_env *env, int64_t id,
                                 const char *comment, const struct action_actor *actor,
                                 struct action_error *e);

/* The citizen's satisfaction with the reaction (after an answer); comment optional. A later
 * feedback replaces an earlier one. */
enum action_status action_feedback(struct db *db, const struct action_env *env, int64_t id,
                                   bool satisfied, const char *comment,
                                   const struct action_actor *actor, struct action_error *e);

#endif
