/*
 * Fuzz target: the ingest API's body reading (services/collector/ingest.c, included for its
 * static NDJSON splitter): the body both as NDJSON and as a JSON object or array, each item
 * decoded with ingest_decode_item and finished with normalize_message, as POST /v1/messages
 * does before storing. Also the text normaliser on the raw bytes.
 */
#include "../../services/collector/ingest.c"
#include "fuzz_collector_common.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_item(const json_t *value)
{
	struct message m;
	struct field_error e;

	memset(&m, 0, sizeof(m));
	memset(&e, 0, sizeof(e));
	if (ingest_decode_item(value, &m, &e) != 0) {
		if (!e.message[0])
			abort();
		return;
	}
	fuzz_check_message(&m);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *body = (const char *)data;
	size_t n = 0;
	struct item *items = parse_ndjson(body, size, &n);

	for (size_t i = 0; i < n; i++) {
		if (items[i].value)
			check_item(items[i].value);
		else if (!items[i].parse_error[0])
			abort();
		json_decref(items[i].value);
	}
	free(items);

	json_t *doc = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_array(doc)) {
		for (size_t i = 0; i < json_array_size(doc); i++)
			check_item(json_array_get(doc, i));
	} else if (doc) {
		check_item(doc);
	}
	json_decref(doc);

	char *text = normalize_text(body, size);
	if (!text || utf8_invalid_at(text, strlen(text)) >= 0)
		abort();
	free(text);
	return 0;
}
