/* auth: bearer tokens and roles of the operator API (see auth.h). */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "http.h"
#include "region.h"
#include "xalloc.h"

struct token {
	char *secret;
	struct auth_principal who;
};

struct auth {
	struct token *tokens;
	size_t n;
};

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->tokens[i].secret);
		free(a->tokens[i].who.authority);
		free(a->tokens[i].who.scope);
		free(a->tokens[i].who.members);
	}
	free(a->tokens);
	free(a);
}

/* Whether `id` is `top` or lies below it in the parent hierarchy. */
static bool below(const struct region *r, const char *id, const char *top)
{
	/* The pack is validated, but a cycle must not hang a request: bound the walk. */
	for (size_t hops = 0; id && hops <= region_authority_count(r); hops++) {
		if (!strcmp(id, top))
			return true;
		const struct region_authority *a = region_authority(r, id);
		id = a ? a->parent : NULL;
	}
	return false;
}

static void set_scope(struct auth_principal *p, const struct region *r)
{
	size_t n = region_authority_count(r), k = 0;
	p->members = xcalloc(n + 1, sizeof(*p->members));
	for (size_t i = 0; i < n; i++) {
		const struct region_authority *a = region_authority_at(r, i);
		if (below(r, a->id, p->authority))
			p->members[k++] = a->id;
	}
	p->scope = db_text_array(p->members, k);
}

static int parse_role(const char *role, struct auth_principal *p, const struct region *r,
                      size_t entry, char *err, size_t errlen)
{
	if (!strcmp(role, "operator")) {
		p->role = AUTH_OPERATOR;
	} else if (!strcmp(role, "viewer")) {
		p->role = AUTH_VIEWER;
	} else if (!strncmp(role, "authority:", 10)) {
		p->role = AUTH_AUTHORITY;
		if (!region_authority(r, role + 10)) {
			snprintf(err, errlen, "API_TOKENS: entry %zu: unknown authority \"%s\"",
			         entry, role + 10);
			return -1;
		}
		p->authority = xstrdup(role + 10);
		set_scope(p, r);
	} else {
		snprintf(err, errlen,
		         "API_TOKENS: entry %zu: role must be operator, viewer or authority:<id>",
		         entry);
		return -1;
	}
	return 0;
}

struct auth *auth_new(const char *tokens, const struct region *region, char *err, size_t errlen)
{
	struct auth *a = xcalloc(1, sizeof(*a));
	char *copy = xstrdup(tokens ? tokens : "");
	char *save = NULL;
	size_t entry = 0;

	for (char *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		entry++;
		while (*e == ' ')
			e++;
		char *eq = strrchr(e, '=');
		if (!eq || eq == e || !eq[1]) {
			/* The entry holds a secret: name its position, never its text. */
			snprintf(err, errlen, "API_TOKENS: entry %zu is not token=role", entry);
			goto fail;
		}
		*eq = '\0';
		struct token t = {xstrdup(e), {0}};
		if (parse_role(eq + 1, &t.who, region, entry, err, errlen) < 0) {
			free(t.secret);
			free(t.who.authority);
			goto fail;
		}
		a->tokens = xrealloc(a->tokens, (a->n + 1) * sizeof(*a->tokens));
		a->tokens[a->n++] = t;
	}
	free(copy);
	return a;
fail:
	free(copy);
	auth_free(a);
	return NULL;
}

const struct auth_principal *auth_check(const struct auth *a, const struct http_request *req)
{
	const char *given = http_request_bearer(req);
	const struct auth_principal *found = NULL;

	if (!given)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		if (http_secret_equal(a->tokens[i].secret, given))
			found = &a->tokens[i].who;
	return found;
}

bool auth_sees(const struct auth_principal *p, const char *authority_id)
{
	if (p->role != AUTH_AUTHORITY)
		return true;
	for (size_t i = 0; authority_id && p->members[i]; i++)
		if (!strcmp(p->members[i], authority_id))
			return true;
	return false;
}
