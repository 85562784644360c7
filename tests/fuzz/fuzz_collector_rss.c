/* Fuzz target: the RSS / RDF / Atom parser (services/collector/rss.c) on a fetched document,
 * and each item it maps through normalize_message. */
#include "../../services/collector/rss.h"
#include "fuzz_collector_common.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct rss_item *items = NULL;
	size_t n = 0;
	char err[256];

	if (rss_parse((const char *)data, size, "https://example.org/news/", "example",
	              1764300000000, &items, &n, err, sizeof(err)) != 0) {
		if (!err[0] || items || n)
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		fuzz_check_message(&items[i].msg);
	rss_items_free(items, n);
	return 0;
}
