/*
 * auth: who is calling the operator API. API_TOKENS ("token=operator,token2=authority:<id>,
 * token3=viewer") gives each bearer token a role:
 *   operator        the management centre: every incident, every action;
 *   authority:<id>  an authority's user: the incidents assigned to that authority or to any
 *                   authority below it in the region pack's parent hierarchy; respond and
 *                   resolve only;
 *   viewer          read-only.
 * Tokens are compared in constant time and never echoed (errors name an entry's position).
 *
 * Immutable after auth_new; may be shared across threads.
 */
#ifndef ASSIGNER_AUTH_H
#define ASSIGNER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct region;
struct http_request;

enum auth_role { AUTH_OPERATOR, AUTH_AUTHORITY, AUTH_VIEWER };

struct auth_principal {
	enum auth_role role;
	char *authority;      /* AUTH_AUTHORITY: its authority id; else NULL */
	char *scope;          /* AUTH_AUTHORITY: a PostgreSQL text[] literal of the authority and
	                       * every one below it, for "authority_id = ANY($n)"; else NULL */
	const char **members; /* the same ids, NULL-terminated (for checks in C) */
};

struct auth;

/* Parses the tokens; roles naming an authority must name one of region's. NULL with err
 * ("API_TOKENS: entry 2: unknown authority \"x\""). tokens may be NULL (nobody gets in). */
struct auth *auth_new(const char *tokens, const struct region *region, char *err, size_t errlen);

void auth_free(struct auth *a);

/* The principal of the request's "Authorization: Bearer <token>", or NULL (borrowed from a). */
const struct auth_principal *auth_check(const struct auth *a, const struct http_request *req);

/* Whether the principal may see an incident currently assigned to authority_id (may be NULL:
 * unassigned, in moderation). */
bool auth_sees(const struct auth_principal *p, const char *authority_id);

#endif
