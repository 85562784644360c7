/*
 * topics: the region's topic taxonomy as the assigner's API needs it — the top-level topic
 * codes with their Russian names and their sub-topics' names — read from the classifier's
 * taxonomy.json (taxonomy.v1), the one source of truth for topics, so the codes the API
 * validates and the services Open311 lists are always the ones the classifier decides between.
 *
 * Immutable after topics_load; may be shared across threads.
 */
#ifndef ASSIGNER_TOPICS_H
#define ASSIGNER_TOPICS_H

#include <stddef.h>

struct topic {
	char *code; /* "housing" */
	char *name; /* "ЖКХ и содержание домов" */
	char *keywords; /* the sub-topics' names, comma-separated ("Отопление, Водоснабжение") */
};

struct topics {
	struct topic *items; /* in file order */
	size_t n;
};

/* Reads taxonomy.json at path. Returns NULL with err naming the file and member
 * ("taxonomy.json: topics[3].name: is required"). Caller frees with topics_free. */
struct topics *topics_load(const char *path, char *err, size_t errlen);

void topics_free(struct topics *t);

/* The topic with this code, or NULL. */
const struct topic *topics_find(const struct topics *t, const char *code);

#endif
