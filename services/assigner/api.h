/*
 * api: the assigner's operator HTTP API, served on the service's own HTTP server next to
 * /healthz, /readyz and /metrics:
 *
 *   GET  /v1/incidents                       list with filters and pagination
 *   GET  /v1/incidents/{id}                  one incident: reports, evidence, deadlines, audit
 *   POST /v1/incidents/{id}/moderate|reassign|respond|resolve|reopen|feedback
 *   GET  /v1/stats?from=&to=                 the centre's figures over a period
 *   GET  /open311/v2/services.json           GeoReport v2: our top-level topics
 *   GET  /open311/v2/requests.json           GeoReport v2: incidents, with the standard filters
 *   GET  /open311/v2/requests/{id}.json      GeoReport v2: one incident
 *
 * plus the assigner_* headline gauges on /metrics, refreshed from the database on each scrape.
 *
 * Authentication: "Authorization: Bearer <token>", tokens from API_TOKENS, each with a role:
 *   operator            the management centre: sees every incident, may do every action;
 *   authority:<id>      an authority's user: sees only incidents currently assigned to that
 *                       authority or to one below it in the region pack's hierarchy (an
 *                       administration oversees its departments), and may only respond and
 *                       resolve them; its /v1/stats cover those incidents only; an incident outside its scope is answered 404, exactly as
 *                       an unknown one, so ids reveal nothing about other authorities' work;
 *   viewer              read-only (dashboards): lists, details and statistics, no actions (403).
 * The Open311 endpoints are public reads as the GeoReport v2 spec intends, unless
 * OPEN311_PUBLIC=false; they never carry reports' authors, and citizens' text in them has
 * phone numbers and e-mail addresses masked.
 *
 * Errors have the house shape of shared/http.h: {"error": code, "field": name, "message": why}.
 *
 * Threading: handlers run on the HTTP server's threads; the api holds only immutable state and
 * a database pool, so any number of them may run at once.
 */
#ifndef ASSIGNER_API_H
#define ASSIGNER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct api;
struct db_pool;
struct region;
struct service;

struct api_settings {
	char *tokens;        /* API_TOKENS, secret */
	char *taxonomy_file; /* TAXONOMY_FILE, NULL: <binary>/../share/classifier/taxonomy.json */
	int64_t stats_min_sample; /* STATS_MIN_SAMPLE: fewer cases give null shares and no ranking */
	bool open311_public;      /* OPEN311_PUBLIC: Open311 reads need no token */
	char *public_url;         /* PUBLIC_URL: base of links in answers, NULL for relative ones */
};

/*
 * The api's settings as config_var entries, for the service's own table: `type` is the
 * service's settings struct and `member` its struct api_settings member, e.g.
 *     static const struct config_var vars[] = {
 *             API_SETTINGS_VARS(struct assigner_settings, api),
 *             ...};
 */
/* One entry a line reads better than the formatter's one member a line. */
/* clang-format off */
#define API_SETTINGS_VARS(type, member) \
	{"API_TOKENS", CONFIG_STRING, NULL, false, true, \
	 "operator API tokens and roles: token=operator,token2=authority:<id>,token3=viewer", \
	 offsetof(type, member.tokens), 0, 0}, \
	{"TAXONOMY_FILE", CONFIG_STRING, NULL, false, false, \
	 "topic names for filters and Open311 (default: <binary>/../share/classifier/taxonomy.json)", \
	 offsetof(type, member.taxonomy_file), 0, 0}, \
	{"STATS_MIN_SAMPLE", CONFIG_INT, "5", true, false, \
	 "fewest cases behind a share, a mean or a ranking in /v1/stats", \
	 offsetof(type, member.stats_min_sample), 1, 1000}, \
	{"OPEN311_PUBLIC", CONFIG_BOOL, "true", true, false, \
	 "Open311 GeoReport v2 reads without a token", \
	 offsetof(type, member.open311_public), 0, 0}, \
	{"PUBLIC_URL", CONFIG_STRING, NULL, false, false, \
	 "base URL of this API in links (default: relative links)", \
	 offsetof(type, member.public_url), 0, 0}
/* clang-format on */

/*
 * Parses the settings (tokens, roles naming authorities of `region`, the taxonomy), registers
 * the routes on svc->http (before service_listen) and the gauges on svc->metrics. svc, pool and
 * region are borrowed and must outlive the api (free the api after the HTTP server stopped).
 * Returns NULL with err naming the bad variable ("API_TOKENS: entry 2: unknown authority
 * \"x\""; a token's text is never echoed).
 */
struct api *api_new(struct service *svc, struct db_pool *pool, const struct region *region,
                    const struct api_settings *s, char *err, size_t errlen);

/* Frees. Call it after the HTTP server stopped (handlers and /metrics renders use the api).
 * NULL is accepted. */
void api_free(struct api *api);

#endif
