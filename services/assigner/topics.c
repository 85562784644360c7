/* topics: the taxonomy's topic codes and names for the API (see topics.h). */
#include "topics.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "strbuf.h"
#include "xalloc.h"

void topics_free(struct topics *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->items[i].code);
		free(t->items[i].name);
		free(t->items[i].keywords);
	}
	free(t->items);
	free(t);
}

/* The sub-topics' names joined with ", " (Open311's keywords). */
static char *subtopic_names(const json_t *topic, size_t ti, struct field_error *e)
{
	const json_t *subs = json_object_get(topic, "subtopics");
	struct strbuf sb = {0};
	size_t i;
	json_t *sub;
	char path[64];

	json_array_foreach(subs, i, sub)
	{
		const char *name;
		snprintf(path, sizeof(path), "topics[%zu].subtopics[%zu]", ti, i);
		if (field_string(sub, path, "name", true, 200, &name, e) < 0) {
			strbuf_release(&sb);
			return NULL;
		}
		strbuf_addf(&sb, "%s%s", i ? ", " : "", name);
	}
	return strbuf_detach(&sb);
}

struct topics *topics_load(const char *path, char *err, size_t errlen)
{
	json_error_t je;
	struct field_error e = {{0}, {0}};
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	struct topics *t = xcalloc(1, sizeof(*t));

	if (!doc) {
		snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
		goto fail;
	}
	const json_t *list = json_object_get(doc, "topics");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		snprintf(err, errlen, "%s: topics: must be a non-empty array", path);
		goto fail;
	}
	t->items = xcalloc(json_array_size(list), sizeof(*t->items));
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *topic = json_array_get(list, i);
		const char *code, *name;
		char at[32];
		snprintf(at, sizeof(at), "topics[%zu]", i);
		if (field_string(topic, at, "code", true, 64, &code, &e) < 0 ||
		    field_string(topic, at, "name", true, 200, &name, &e) < 0)
			goto field_fail;
		if (topics_find(t, code)) {
			field_fail(&e, at, "topic \"%s\" appears twice", code);
			goto field_fail;
		}
		char *keywords = subtopic_names(topic, i, &e);
		if (!keywords)
			goto field_fail;
		t->items[t->n].code = xstrdup(code);
		t->items[t->n].name = xstrdup(name);
		t->items[t->n].keywords = keywords;
		t->n++;
	}
	json_decref(doc);
	return t;
field_fail:
	snprintf(err, errlen, "%s: %s: %s", path, e.field, e.message);
fail:
	json_decref(doc);
	topics_free(t);
	return NULL;
}

const struct topic *topics_find(const struct topics *t, const char *code)
{
	for (size_t i = 0; t && code && i < t->n; i++)
		if (!strcmp(t->items[i].code, code))
			return &t->items[i];
	return NULL;
}
