#!/bin/sh
# End to end, no faults: the whole local stack (tests/e2e/stack.sh) takes every demo post
# through the fake VK, Telegram, RSS and Open311 APIs and the demo's HTTP pushes, plus
# E2E_INGEST generated items through the ingest API and E2E_REPLAY through `collector replay`,
# all at once; then the exact end-state check (tests/e2e/check_end_state.sh): every message
# stored, classified, reported and (if an incident) in one incident once, every incident
# assigned with deadlines or in moderation, every notification delivered once, /v1/stats equal
# to the rows.
set -eu
cd "$(dirname "$0")/../.."
export LC_ALL=C
: "${TEST_WORK_DIR:?run through tests/run.sh}"
E2E="$TEST_WORK_DIR/e2e-pipeline"
BIN="$TEST_BIN_DIR"
. tests/e2e/stack.sh
. tests/e2e/check_end_state.sh
# shellcheck disable=SC2154 # rc is the trap's own
trap 'rc=$?; stack_stop; exit $rc' EXIT

expect_load 1 "${E2E_INGEST:-1000}" "${E2E_REPLAY:-1000}"
stack_start
say "stack up: PostgreSQL $DATABASE_URL, Kafka $KAFKA_BROKERS"
started=$(date +%s)
load_start
load_wait
check_end_state || die "the end state is wrong"
say "ok in $(($(date +%s) - started)) s"
