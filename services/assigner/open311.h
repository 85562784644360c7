/*
 * open311: the Open311 GeoReport v2 read endpoints, so other regions' systems and civic apps
 * pull our incidents in a standard form:
 *
 *   GET /open311/v2/services.json        the top-level topics as services (service_code = the
 *                                        topic code, service_name its Russian name, keywords the
 *                                        sub-topics, type realtime, metadata false)
 *   GET /open311/v2/requests.json        incidents as service requests; filters
 *                                        service_request_id (comma list, overrides the others),
 *                                        service_code, start_date, end_date (on opened_at;
 *                                        default: the last 90 days, at most 90 days), status
 *                                        open|closed; newest first, at most 1000
 *   GET /open311/v2/requests/{id}.json   one, as a one-element array
 *
 * What is published: incidents an authority is accountable for (assigned, responded: "open";
 * resolved: "closed"). Incidents waiting in moderation and those rejected as not incidents are
 * not, as a moderator has not confirmed them. No author of a report is ever included, and the
 * description (the incident's summary, a citizen's words) has phone numbers and e-mail addresses
 * masked. status_notes carries the authority's latest published answer.
 *
 * Errors have the GeoReport v2 shape, [{"code": 400, "description": "start_date: ..."}], the
 * description naming the parameter.
 */
#ifndef ASSIGNER_OPEN311_H
#define ASSIGNER_OPEN311_H

#include <stddef.h>

struct auth;
struct db_pool;
struct http_server;
struct region;
struct topics;

struct open311_deps {
	struct db_pool *pool;
	const struct region *region;
	const struct topics *topics;
	const struct auth *auth; /* NULL: public reads; else any API token is required */
};

/* Registers the three routes; d is borrowed and must outlive the server. Returns 0 or -1. */
int open311_routes(struct http_server *srv, struct open311_deps *d);

/* Masks phone numbers (7 or more digits, separators allowed) and e-mail addresses in text.
 * Caller frees. */
char *open311_mask(const char *text);

#endif
