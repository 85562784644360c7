/* testtopic: a topic read back for a test's checks (see testtopic.h). */
#include "testtopic.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "kafka.h"
#include "timefmt.h"

json_t *testtopic_read(const char *brokers, const char *topic, size_t want, int ms)
{
	static int groups;
	char group[128], err[256];
	const char *topics[] = {topic, NULL};
	struct kafka_options ko = {brokers, "test", "fetch.wait.max.ms=10"};
	json_t *out = json_array();

	snprintf(group, sizeof(group), "check-%d-%d", (int)getpid(), ++groups);
	struct kafka_consumer *c = kafka_consumer_new(&ko, group, topics, err, sizeof(err));
	if (!c)
		fail_msg("consumer of %s: %s", topic, err);
	int64_t deadline = time_mono_ms() + ms;
	while (json_array_size(out) < want && time_mono_ms() < deadline) {
		struct kafka_message m;
		if (kafka_consumer_poll(c, 100, &m, err, sizeof(err)) != KAFKA_POLL_MESSAGE)
			continue;
		size_t rlen = 0;
		const char *reason = kafka_message_header(&m, "dlq.reason", &rlen);
		json_t *value = json_loadb(m.value, m.len, 0, NULL);
		json_array_append_new(out, json_pack("{s:s%, s:o, s:s%}", "key", m.key ? m.key : "",
		                                     m.keylen, "value", value ? value : json_null(),
		                                     "reason", reason ? reason : "", rlen));
		kafka_message_release(&m);
	}
	kafka_consumer_free(c);
	return out;
}
