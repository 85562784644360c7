/*
 * testtopic: what a service published, read back the way a test checks it. Every read is from
 * the beginning of the topic in a consumer group of its own, so two reads never share offsets and
 * a test sees every record the service ever produced there.
 */
#ifndef TESTS_TESTTOPIC_H
#define TESTS_TESTTOPIC_H

#include <stddef.h>

#include <jansson.h>

/*
 * Reads `topic` at `brokers` until `want` records arrived or `ms` passed, and returns them in the
 * order read as a new JSON array of {"key": the key ("" when none), "value": the value parsed
 * when it is JSON (null when it is not), "reason": the dlq.reason header ("" when none)}. Fewer
 * than `want` means they did not come in time: the caller asserts on the count. Fails the running
 * test when no consumer can be created.
 */
json_t *testtopic_read(const char *brokers, const char *topic, size_t want, int ms);

#endif
