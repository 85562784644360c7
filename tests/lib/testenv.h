/*
 * testenv: what a test needs from the machine it runs on, read one way in every test: the TEST_*
 * variables that tests/run.sh exports, and loopback ports.
 *
 *     static int group_setup(void **state)
 *     {
 *             bin_dir = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
 *             ...
 *
 * Failing means cmocka's fail_msg: the running test, or the group setup that called it, fails
 * with the message and the binary exits non-zero, so a test never passes without what it needs.
 */
#ifndef TESTS_TESTENV_H
#define TESTS_TESTENV_H

/*
 * The value of the environment variable `name` (borrowed from the environment). When it is unset
 * or empty, fails with "NAME is not set: HOW", where `how` tells a person running the binary by
 * hand how to provide it. Never returns NULL.
 */
const char *testenv_require(const char *name, const char *how);

/* A TCP port on 127.0.0.1 that nobody listens on right now (bound, then closed): for a server
 * the test starts, or for a connection that must be refused. Fails when no socket can be bound. */
int testenv_free_port(void);

#endif
