/* doc: JSON data files into jansson documents (see doc.h). */
#include "doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "files.h"

json_t *doc_read(const char *name, const char *data, size_t len, char *err, size_t errlen)
{
	char why[512] = "";
	char *owned = NULL;
	json_error_t je;
	json_t *root = NULL;

	if (!data && !(data = owned = file_read(name, &len, why, sizeof(why))))
		goto out;
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		snprintf(why, sizeof(why), "%s: line %d column %d: %s", name, je.line, je.column,
		         je.text);
out:
	if (!root)
		doc_err(err, errlen, "%s", why);
	free(owned);
	return root;
}

void *doc_load(const char *name, const char *data, size_t len,
               void *(*build)(const json_t *doc, const char *name, char *err, size_t errlen),
               char *err, size_t errlen)
{
	json_t *doc = doc_read(name, data, len, err, errlen);
	void *made = doc ? build(doc, name, err, errlen) : NULL;

	json_decref(doc);
	return made;
}

void doc_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
