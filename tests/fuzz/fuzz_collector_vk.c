/*
 * Fuzz target: the VK adapter's mapping of an API answer (services/collector/vk.c, included for
 * its static mappers): the "response" object of wall.get / newsfeed.search / wall.getComments
 * with its extended profiles and groups, every item mapped as a post and as a comment and
 * finished by normalize_message, as a poll does.
 */
#include "../../services/collector/vk.c"
#include "fuzz_collector_common.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct vk_community community = {.owner_id = "-10001", .name = "Типичный Абакан"};
	static const struct vk_impl vk = {.communities = &community, .ncommunities = 1};
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	const json_t *response = json_object_get(doc, "response");
	struct vk_names names = {json_object_get(response, "profiles"),
	                         json_object_get(response, "groups")};
	const json_t *item;
	size_t i;

	json_array_foreach(json_object_get(response, "items"), i, item)
	{
		struct message m;

		if (map_post(&vk, &names, item, &m) == 0)
			fuzz_check_message(&m);
		if (map_comment(&vk, &names, item, "-10001", 7, &m) == 0)
			fuzz_check_message(&m);
	}
	json_decref(doc);
	return 0;
}
