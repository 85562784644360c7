/*
 * Fuzz target: the Open311 adapter's mapping of a GeoReport v2 requests.json answer
 * (services/collector/open311.c, included for its static mapper): every request mapped and
 * finished by normalize_message, as a poll does; a refused request names its field.
 */
#include "../../services/collector/open311.c"
#include "fuzz_collector_common.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const struct open311_endpoint endpoint = {.name = "abakan",
	                                                 .base = "https://open311.example.org/v2"};
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	const json_t *req;
	size_t i;

	json_array_foreach(doc, i, req)
	{
		struct message m;
		const char *bad = NULL;

		if (map_request(&endpoint, req, &m, &bad) == 0)
			fuzz_check_message(&m);
		else if (!bad)
			abort();
	}
	json_decref(doc);
	return 0;
}
