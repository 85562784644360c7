/*
 * What the collector's fuzz targets share: a message an adapter mapped goes through
 * normalize_message, as intake does; when that accepts it, it must encode as a message.v1
 * record that decodes again (what the classifier reads from messages.raw). When it refuses,
 * the error must name what it refused.
 */
#ifndef FUZZ_COLLECTOR_COMMON_H
#define FUZZ_COLLECTOR_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/collector/normalize.h"
#include "message.h"

static inline void fuzz_check_message(struct message *m)
{
	struct field_error e;
	struct message again;

	memset(&e, 0, sizeof(e));
	memset(&again, 0, sizeof(again));
	if (normalize_message(m, &e) != 0) {
		if (!e.message[0])
			abort();
		message_clear(m);
		return;
	}
	json_t *j = message_encode(m);
	if (!j || message_decode(j, &again, &e) != 0) {
		fprintf(stderr, "a normalised message does not decode: %s: %s\n", e.field,
		        e.message);
		abort();
	}
	json_decref(j);
	message_clear(&again);
	message_clear(m);
}

#endif
