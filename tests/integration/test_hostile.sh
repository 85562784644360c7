#!/bin/sh
# Hostile input against the whole running platform (tests/hostile/): the four services on this
# test's database and their own topics; every HTTP case of tests/hostile/*.ndjson answered with
# its documented status and a JSON error naming the field, every service ready after each
# (tests/hostile/send_http.py); bad records produced straight into messages.raw,
# messages.classified and incidents.events dead-lettered to <topic>.dlq with a dlq.reason
# header; the valid messages sent among the bad ones stored, classified and published on; and
# no token or author's name in any service's log.
set -eu
cd "$(dirname "$0")/../.."
: "${TEST_DATABASE_URL:?}" "${TEST_KAFKA_BROKERS:?}" "${TEST_BIN_DIR:?}"
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() {
	for f in "$tmp"/*.log; do echo "--- $f" && tail -20 "$f"; done
	echo "FAIL: $*"
	exit 1
}

run=h$$
RAW=$run.raw CLASSIFIED=$run.classified EVENTS=$run.events
GOOD=hostile-ingest-token LIMITED=hostile-limited-token OPERATOR=hostile-operator VIEWER=hostile-viewer

start() { # start NAME PORT ENV...
	name=$1 port=$2
	shift 2
	env DATABASE_URL="$TEST_DATABASE_URL" KAFKA_BROKERS="$TEST_KAFKA_BROKERS" HTTP_PORT="$port" \
		KAFKA_OPTIONS=fetch.wait.max.ms=10 HTTP_MAX_BODY=1048576 "$@" \
		"$TEST_BIN_DIR/$name" >"$tmp/$name.log" 2>&1 &
	pids="$pids $!"
}
CP=$(free_port) KP=$(free_port) AP=$(free_port) NP=$(free_port)
start collector "$CP" INGEST_TOKENS="$GOOD=*,$LIMITED=http" INGEST_SOURCES=http,vk RAW_TOPIC="$RAW"
start classifier "$KP" INPUT_TOPIC="$RAW" OUTPUT_TOPIC="$CLASSIFIED" CONSUMER_GROUP="$run-classifier"
start assigner "$AP" INPUT_TOPIC="$CLASSIFIED" OUTPUT_TOPIC="$EVENTS" CONSUMER_GROUP="$run-assigner" \
	API_TOKENS="$OPERATOR=operator,$VIEWER=viewer"
start notifier "$NP" INPUT_TOPIC="$EVENTS" DEAD_LETTER_TOPIC="$EVENTS.dlq" CONSUMER_GROUP="$run-notifier" OPERATOR_TOKENS="$OPERATOR"
for port in $CP $KP $AP $NP; do
	i=0
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
		i=$((i + 1))
		[ $i -lt 300 ] || fail "a service on port $port did not become ready"
		sleep 0.1
	done
done

# ---- Kafka: bad records into each service's input topic --------------------------------------
produce() { # produce TOPIC FILE: one record a line of FILE ('\n'-separated, so no raw newline)
	kcat -q -b "$TEST_KAFKA_BROKERS" -P -t "$1" -k hostile <"$2" || fail "kcat could not produce to $1"
}
{
	echo 'not json at all'
	echo '{"schema":"message.v1"}'
	echo '{"schema":"message.v2","id":"x:1","source":"x","external_id":"1","text":"x","posted_at":"2026-11-28T03:15:00Z","received_at":"2026-11-28T03:15:00Z"}'
	echo '{"schema":"message.v1","id":"x:2","source":"x","external_id":"2","text":7,"posted_at":"2026-11-28T03:15:00Z","received_at":"2026-11-28T03:15:00Z"}'
	printf '{"schema":"message.v1","id":"x:3","source":"x","external_id":"3","text":"\300\257","posted_at":"2026-11-28T03:15:00Z","received_at":"2026-11-28T03:15:00Z"}\n'
	python3 -c 'print("[" * 50000 + "]" * 50000)'
} >"$tmp/bad.raw"
printf '%s\n' 'not json' '{"schema":"classified.v1","message":{}}' '[1,2,3]' >"$tmp/bad.classified"
printf '%s\n' 'not json' '{"schema":"incident_event.v1","type":"incident.exploded"}' '{}' >"$tmp/bad.events"
# A valid record among the bad ones in the same topic and partition (one key): it must flow on.
echo '{"schema":"message.v1","id":"kafka:valid-1","source":"kafka","external_id":"valid-1","text":"Прорыв трубы на Ленина 12, Абакан, вода заливает подъезд","posted_at":"2026-11-28T03:15:00Z","received_at":"2026-11-28T03:15:01Z"}' >"$tmp/good.raw"
produce "$RAW" "$tmp/bad.raw"
produce "$RAW" "$tmp/good.raw"
produce "$RAW" "$tmp/bad.raw"
produce "$CLASSIFIED" "$tmp/bad.classified"
produce "$EVENTS" "$tmp/bad.events"

# ---- HTTP ---------------------------------------------------------------------------------------
python3 tests/hostile/send_http.py collector="http://127.0.0.1:$CP" assigner="http://127.0.0.1:$AP" \
	notifier="http://127.0.0.1:$NP" token:good="$GOOD" token:wrong=not-a-token-of-ours \
	token:limited="$LIMITED" token:viewer="$VIEWER" token:operator="$OPERATOR" tests/hostile/collector.ndjson \
	tests/hostile/assigner.ndjson tests/hostile/notifier.ndjson >"$tmp/http.out" 2>&1 ||
	{ cat "$tmp/http.out"; fail "hostile HTTP cases"; }
tail -1 "$tmp/http.out"

# Clients that hang up mid-request are let go at once, not kept until the timeout.
python3 tests/hostile/hangups.py "$CP" || fail "connections of clients that hung up were kept"

# ---- what came out -------------------------------------------------------------------------------
consume() { # consume TOPIC FORMAT: everything in it so far
	kcat -q -b "$TEST_KAFKA_BROKERS" -C -t "$1" -o beginning -e -f "$2" 2>/dev/null || true
}
# The valid messages sent among the bad ones: stored once each, then classified.
good_ids="http:extra-1 http:mix-good http:nd-good-1 http:nd-good-2 http:emoji-1 http:html-1 http:sqli-1"
for id in $good_ids; do
	n=$(psql "$TEST_DATABASE_URL" -qAtX -c "SELECT count(*) FROM collector.messages WHERE id = '$id'")
	[ "$n" = 1 ] || fail "$id stored $n times"
done
[ "$(psql "$TEST_DATABASE_URL" -qAtX -c "SELECT count(*) FROM collector.messages WHERE id LIKE 'http:sqli-2%'")" = 1 ] ||
	fail "the external id with quotes was not stored as it is"
i=0
while :; do
	consume "$CLASSIFIED" '%s\n' >"$tmp/classified.out"
	missing=""
	for id in $good_ids kafka:valid-1; do grep -q "\"id\":\"$id\"" "$tmp/classified.out" || missing="$missing $id"; done
	[ -z "$missing" ] && break
	i=$((i + 1))
	[ $i -lt 150 ] || fail "not classified:$missing"
	sleep 0.2
done
# Each bad record in its topic's dead-letter topic, with the reason.
for t in raw classified events; do
	eval topic=\$"$(echo "$t" | tr a-z A-Z)"
	want=$(wc -l <"$tmp/bad.$t")
	[ "$t" = raw ] && want=$((want * 2))
	i=0
	while :; do
		consume "$topic.dlq" '%h\n' >"$tmp/dlq.$t"
		got=$(grep -c 'dlq.reason=' "$tmp/dlq.$t" || true)
		[ "$got" -ge "$want" ] && break
		i=$((i + 1))
		[ $i -lt 150 ] || { head -c 2000 "$tmp/dlq.$t"; fail "$topic.dlq holds $got records with a reason, expected $want"; }
		sleep 0.2
	done
	echo "$topic.dlq: $got dead letters, e.g. $(grep -o 'dlq.reason=[^,]*' "$tmp/dlq.$t" | head -1)"
done
# Still running and ready.
for port in $CP $KP $AP $NP; do
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || fail "the service on $port is not ready at the end"
done
for p in $pids; do kill -0 "$p" || fail "a service died"; done
# Whatever was logged about all that holds no token and no author's name or id.
if grep -n -e "$GOOD" -e "$LIMITED" -e "$OPERATOR" -e "$VIEWER" -e not-a-token-of-ours \
	-e 'Секретова' -e author-secret-77 "$tmp"/*.log; then
	fail "a token or an author's personal data is in a log (above)"
fi
echo "hostile: every case answered, every bad record dead-lettered, every good one flowed on"
