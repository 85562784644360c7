#!/bin/sh
# The fault rounds of tests/e2e/faults.sh, short: each round once (kill -9 of each service and
# of two at once, PostgreSQL and Kafka outages, SIGTERM drains, replicas), ~1,000 messages a
# round, each ending with the exact end-state check. `make test-long` runs the long variant.
exec sh "$(dirname "$0")/../e2e/faults.sh"
