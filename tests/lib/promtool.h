/*
 * promtool: Prometheus's own checker run on what our code renders, so that "the exposition is
 * valid" is decided by the tool Prometheus ships, not by our reading of the format.
 */
#ifndef TESTS_PROMTOOL_H
#define TESTS_PROMTOOL_H

#include <stddef.h>

/*
 * Runs `promtool check metrics` on text[0..len) and returns its exit status: 0 when it accepts
 * the exposition (lint included), non-zero when it rejects it. promtool's output, stdout and
 * stderr together, goes into out (NUL-terminated, truncated to outlen) or, when out is NULL, to
 * this process's stderr for the test log. Fails the running test when promtool cannot be run at
 * all (not installed, killed), so a missing tool never reads as a rejection.
 */
int promtool_check(const char *text, size_t len, char *out, size_t outlen);

#endif
