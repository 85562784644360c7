#!/bin/sh
# A KAFKA_OPTIONS entry librdkafka refuses is a bad configuration like any other: every service
# exits with status 2 at start-up, and its log says which Kafka client could not be made and
# names the property; it never runs without its producer or consumer.
set -u
cd "$(dirname "$0")/../.."
: "${TEST_BIN_DIR:?run through tests/run.sh}"
: "${TEST_DATABASE_URL:?run through tests/run.sh}"
: "${TEST_KAFKA_BROKERS:?run through tests/run.sh}"
: "${TEST_WORK_DIR:?run through tests/run.sh}"
. tests/lib/ports.sh
failed=0
for svc in collector classifier assigner notifier; do
	[ -x "$TEST_BIN_DIR/$svc" ] || continue
	log="$TEST_WORK_DIR/bad-kafka-$svc.log"
	rc=0
	env DATABASE_URL="$TEST_DATABASE_URL" KAFKA_BROKERS="$TEST_KAFKA_BROKERS" \
		KAFKA_OPTIONS="no.such.property=1" HTTP_ADDR=127.0.0.1 HTTP_PORT="$(free_port_block 1)" \
		API_TOKENS=t=operator INGEST_TOKENS=t=http \
		timeout 60 "$TEST_BIN_DIR/$svc" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 2 ]; then
		echo "FAIL: $svc exited $rc with a refused KAFKA_OPTIONS entry, want 2"
		tail -5 "$log"
		failed=1
	elif ! grep '"level":"error"' "$log" | grep '"msg":"cannot create the Kafka' | grep -q 'no.such.property'; then
		echo "FAIL: $svc's log does not name the refused property"
		tail -5 "$log"
		failed=1
	else
		echo "ok: $svc exits 2 naming no.such.property"
	fi
done
exit $failed
