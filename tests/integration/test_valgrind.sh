#!/bin/sh
# Each service's start-process-stop cycle under valgrind: started with its real dependencies
# (this test's database, the local Kafka broker), fed a few records (the collector by its
# ingest API, the others by records produced into their input topics), stopped with SIGTERM.
# Each must exit 0 with no memory errors and "definitely lost: 0 bytes".
set -eu
cd "$(dirname "$0")/../.."
: "${TEST_DATABASE_URL:?}" "${TEST_KAFKA_BROKERS:?}" "${TEST_BIN_DIR:?}"
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
# Valgrind cannot run AddressSanitizer's binaries (make SAN=1 test): they check themselves.
if grep -q __asan_init "$TEST_BIN_DIR/collector"; then
	echo "skipped: the services are built with AddressSanitizer"
	exit 0
fi
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
run=vg$$
one_line() { python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), ensure_ascii=False))' "$1"; }

# cycle NAME FEED DONE ENV...: FEED is a shell command run once the service is ready; DONE one
# that succeeds once what was fed is processed (polled for up to 60 s).
cycle() {
	name=$1 feed=$2 done=$3
	shift 3
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	start=$(date +%s)
	env DATABASE_URL="$TEST_DATABASE_URL" KAFKA_BROKERS="$TEST_KAFKA_BROKERS" HTTP_PORT="$port" \
		KAFKA_OPTIONS=fetch.wait.max.ms=10 SHUTDOWN_TIMEOUT=30s "$@" \
		valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
		--error-exitcode=99 --log-file="$tmp/$name.vg" "$TEST_BIN_DIR/$name" >"$tmp/$name.log" 2>&1 &
	pid=$!
	i=0
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
			tail -20 "$tmp/$name.log" "$tmp/$name.vg"
			echo "FAIL: $name did not become ready under valgrind"
			exit 1
		fi
		sleep 0.2
	done
	PORT=$port eval "$feed"
	i=0
	until eval "$done"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { tail -20 "$tmp/$name.log"; echo "FAIL: $name did not process what it was fed"; exit 1; }
		sleep 0.2
	done
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	pid=""
	if [ "$rc" -ne 0 ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$tmp/$name.vg" ||
		! grep -Eq 'definitely lost: 0 bytes|no leaks are possible' "$tmp/$name.vg"; then
		tail -20 "$tmp/$name.log"
		cat "$tmp/$name.vg"
		echo "FAIL: $name exited $rc under valgrind"
		exit 1
	fi
	echo "$name: exit 0, $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$tmp/$name.vg"), $(grep -Eo 'definitely lost: [0-9,]* bytes|no leaks are possible' "$tmp/$name.vg") ($(($(date +%s) - start)) s)"
}

produce() { kcat -q -b "$TEST_KAFKA_BROKERS" -P -t "$1" -k valgrind; }
# The fed records were consumed: the bad one among them is in the dead-letter topic.
dead_lettered() {
	[ "$(kcat -q -b "$TEST_KAFKA_BROKERS" -C -t "$1.dlq" -o beginning -e 2>/dev/null | wc -l)" -ge 1 ]
}

cycle collector 'for i in 1 2 3; do curl -sf -o /dev/null -H "Authorization: Bearer vg-token" -H "Content-Type: application/json" --data-binary "{\"source\":\"http\",\"external_id\":\"vg-$i\",\"text\":\"Нет воды, Абакан, Щетинкина $i\",\"posted_at\":\"2026-11-28T03:15:00Z\"}" "http://127.0.0.1:$PORT/v1/messages"; done' \
	'[ "$(kcat -q -b "$TEST_KAFKA_BROKERS" -C -t $run.raw -o beginning -e 2>/dev/null | wc -l)" -ge 3 ]' \
	INGEST_TOKENS=vg-token=* RAW_TOPIC=$run.raw

head -3 tests/unit/data/message_good.ndjson >"$tmp/raw"
echo 'not a record' >>"$tmp/raw"
cycle classifier 'produce $run.raw2 <"$tmp/raw"' 'dead_lettered $run.raw2' INPUT_TOPIC=$run.raw2 OUTPUT_TOPIC=$run.classified \
	CONSUMER_GROUP=$run-classifier

one_line tests/fuzz/seeds/shared_classified/schema-example.json >"$tmp/classified"
echo 'not a record' >>"$tmp/classified"
cycle assigner 'produce $run.classified2 <"$tmp/classified"' 'dead_lettered $run.classified2' \
	INPUT_TOPIC=$run.classified2 \
	OUTPUT_TOPIC=$run.events CONSUMER_GROUP=$run-assigner API_TOKENS=vg-op=operator

one_line tests/fuzz/seeds/shared_incident_event/schema-example.json >"$tmp/events"
echo 'not a record' >>"$tmp/events"
cycle notifier 'produce $run.events2 <"$tmp/events"' 'dead_lettered $run.events2' \
	INPUT_TOPIC=$run.events2 \
	DEAD_LETTER_TOPIC=$run.events2.dlq CONSUMER_GROUP=$run-notifier OPERATOR_TOKENS=vg-op
