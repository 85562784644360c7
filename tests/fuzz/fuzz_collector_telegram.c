/*
 * Fuzz target: the Telegram adapter's mapping of a getUpdates answer
 * (services/collector/telegram.c, included for its static mapper): every update's message,
 * edited message, channel post and edited channel post mapped and finished by
 * normalize_message, as a poll does.
 */
#include "../../services/collector/telegram.c"
#include "fuzz_collector_common.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const kinds[][2] = {{"message", "message"},
	                                       {"edited_message", "message"},
	                                       {"channel_post", "post"},
	                                       {"edited_channel_post", "post"}};
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	const json_t *update;
	size_t i;

	json_array_foreach(json_object_get(doc, "result"), i, update)
	{
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			const json_t *msg = json_object_get(update, kinds[k][0]);
			struct message m;

			if (msg && map_message(msg, kinds[k][1], &m) == 0)
				fuzz_check_message(&m);
		}
	}
	json_decref(doc);
	return 0;
}
