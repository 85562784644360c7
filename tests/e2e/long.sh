#!/bin/sh
# `make test-long`: the end-to-end test and the fault rounds of tests/e2e/faults.sh, long:
# more messages, every round E2E_ROUNDS times (default 3) with its random kill and outage
# times, each round ending with the exact end-state check. Starts its own stack (PostgreSQL,
# broker, fake APIs, services) under a throw-away directory; TEST_KEEP=1 keeps it.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build/dev}
TEST_WORK_DIR=$(mktemp -d /tmp/incident-e2e-long.XXXXXX)
chmod 755 "$TEST_WORK_DIR" # PostgreSQL runs as its own user when we are root
TEST_BIN_DIR=$(pwd)/$B/bin
export TEST_WORK_DIR TEST_BIN_DIR
export E2E_ROUNDS="${E2E_ROUNDS:-3}" E2E_INGEST="${E2E_INGEST:-2000}" E2E_REPLAY="${E2E_REPLAY:-1000}"
export E2E_PAUSE="${E2E_PAUSE:-0.1}" E2E_CHUNK_PAUSE="${E2E_CHUNK_PAUSE:-0.5}" E2E_SETTLE="${E2E_SETTLE:-300}"
rc=0
E2E_INGEST=10000 E2E_REPLAY=10000 sh tests/integration/test_e2e_pipeline.sh || rc=1
sh tests/e2e/faults.sh || rc=1
if [ "${TEST_KEEP:-}" = 1 ]; then echo "e2e: work directory kept: $TEST_WORK_DIR"; else rm -rf "$TEST_WORK_DIR"; fi
[ "$rc" = 0 ] && echo "e2e long: ok" || echo "e2e long: FAILED"
exit "$rc"
