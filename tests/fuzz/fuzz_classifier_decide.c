/*
 * Fuzz target: the classifier's decision (classify.c) with the shipped models, taxonomy and
 * the Khakassia gazetteer. The input is a message.v1 record when it decodes as one, else (when
 * it is valid UTF-8) the text of a VK post. Whatever the classifier decides must encode as a
 * classified.v1 record that decodes again: what the assigner reads from messages.classified.
 * FUZZ_MODEL_DIR (default build/dev/share/classifier) and FUZZ_REGION_DIR (default
 * deploy/regions/khakassia) are relative to the repository root, where tests/fuzz/run.sh runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/classifier/classify.h"
#include "classified.h"
#include "utf8.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct classifier *open_classifier(void)
{
	const char *models = getenv("FUZZ_MODEL_DIR");
	const char *region = getenv("FUZZ_REGION_DIR");
	char err[512];
	struct classifier *c = classifier_open_dirs(models ? models : "build/dev/share/classifier",
	                                            region ? region : "deploy/regions/khakassia",
	                                            0.5, err, sizeof(err));

	if (!c) {
		fprintf(stderr, "fuzz_classifier_decide: %s\n", err);
		abort();
	}
	return c;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct classifier *c;
	struct classified r, again;
	struct field_error e;

	if (!c)
		c = open_classifier();
	memset(&r, 0, sizeof(r));
	memset(&again, 0, sizeof(again));
	if (message_decode_bytes(data, size, &r.message, &e) != 0) {
		if (size == 0 || size > 4 * MESSAGE_MAX_TEXT_CHARS ||
		    utf8_invalid_at((const char *)data, size) >= 0)
			return 0;
		r.message.id = xstrdup("vk:1");
		r.message.source = xstrdup("vk");
		r.message.external_id = xstrdup("1");
		r.message.revision = 1;
		r.message.text = xstrndup((const char *)data, size);
		r.message.posted_at = r.message.received_at = 1764300000000;
	}
	if (classifier_decide(c, &r.message, &r.c) != 0)
		abort();
	char *line = classifier_encode(&r);
	if (!line || classified_decode_bytes(line, strlen(line), &again, &e) != 0) {
		fprintf(stderr, "classified.v1 does not decode: %s: %s\n%s\n", e.field, e.message,
		        line ? line : "(null)");
		abort();
	}
	free(line);
	classified_clear(&again);
	classified_clear(&r);
	return 0;
}
