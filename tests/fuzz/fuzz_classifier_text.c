/*
 * Fuzz target: the classifier's text normaliser and tokeniser (services/classifier/text.c) on
 * raw bytes, invalid UTF-8 and NULs included. Every token must be a non-empty, NUL-terminated
 * word with a non-empty stem, as the featurizer assumes.
 */
#include <stdlib.h>
#include <string.h>

#include "../../services/classifier/text.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct text_pipeline *p;
	static struct token_list l;

	if (!p && !(p = text_new(NULL, 0)))
		abort();
	size_t n = text_tokenize(p, (const char *)data, size, &l);
	for (size_t i = 0; i < n; i++) {
		const struct token *t = &l.items[i];

		if (t->word_len == 0 || strlen(t->word) != t->word_len || t->stem_len == 0 ||
		    strlen(t->stem) != t->stem_len)
			abort();
	}
	return 0;
}
