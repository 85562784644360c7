#!/bin/sh
# Secrets and authors' personal data never reach the logs. Runs the collector, the assigner and
# the notifier with known secrets (a database password, ingest and API tokens, VK and Telegram
# tokens, an SMTP password, a webhook secret), with every outside server unreachable so that
# their failures are logged; sends a message by an author with a known name and id, requests
# with wrong tokens, and an incident event to deliver; stops each with SIGTERM and greps all
# they wrote for every secret and for the author.
set -eu
cd "$(dirname "$0")/../.."
: "${TEST_DATABASE_URL:?}" "${TEST_KAFKA_BROKERS:?}" "${TEST_BIN_DIR:?}"
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
db_url=$(printf '%s' "$TEST_DATABASE_URL" | sed 's|://postgres@|://postgres:Pa55-Zq9s3kr1t-db@|')
run=sec$$

# start NAME ENV...: starts the service on a free port ($port) and waits until it is ready.
start() {
	name=$1
	shift
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	env DATABASE_URL="$db_url" KAFKA_BROKERS="$TEST_KAFKA_BROKERS" HTTP_PORT="$port" LOG_LEVEL=debug \
		"$@" "$TEST_BIN_DIR/$name" >"$tmp/$name.log" 2>&1 &
	pid=$!
	i=0
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
		i=$((i + 1))
		if [ $i -gt 150 ] || ! kill -0 "$pid" 2>/dev/null; then
			cat "$tmp/$name.log"
			echo "FAIL: $name did not become ready"
			exit 1
		fi
		sleep 0.1
	done
}

# stop: SIGTERM, exit 0 expected.
stop() {
	kill -TERM "$pid"
	wait "$pid" || { cat "$tmp/$name.log"; echo "FAIL: $name did not exit 0"; exit 1; }
	pid=""
}

# status TOKEN METHOD PATH [BODY]: the HTTP status of one request.
status() {
	curl -s -o /dev/null -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' ${4:+--data-binary "$4"} "http://127.0.0.1:$port$3"
}
expect() { [ "$1" = "$2" ] || { echo "FAIL: $3 answered $1, expected $2"; exit 1; }; }

start collector INGEST_TOKENS="ingest-Zq9s3kr1t-tok=*" RAW_TOPIC=$run.raw \
	VK_ACCESS_TOKEN=vk-Zq9s3kr1t-token VK_API_URL=http://127.0.0.1:1/method VK_COMMUNITIES=-10001 \
	VK_INTERVAL=1s TELEGRAM_BOT_TOKEN=12345:tg-Zq9s3kr1t-bot TELEGRAM_API_URL=http://127.0.0.1:1
msg='[{"source":"http","external_id":"sec-1","text":"Нет воды на Щетинкина 20","posted_at":"2026-11-28T03:15:00Z","author_id":"author-Zq9s3kr1t-77","author_name":"Ирина Секретова"},{"source":"http","external_id":"sec-2","text":"","author_name":"Ирина Секретова"}]'
expect "$(status ingest-Zq9s3kr1t-tok POST /v1/messages "$msg")" 202 "a valid ingest"
expect "$(status wrong-Zq9s3kr1t-guess POST /v1/messages "$msg")" 401 "a wrong ingest token"
sleep 2.5 # a few failed VK and Telegram polls
stop

start assigner API_TOKENS="op-Zq9s3kr1t-token=operator" INPUT_TOPIC=$run.classified \
	OUTPUT_TOPIC=$run.events CONSUMER_GROUP=$run-assigner
expect "$(status wrong-Zq9s3kr1t-guess GET /v1/incidents)" 401 "a wrong API token"
expect "$(status op-Zq9s3kr1t-token GET /v1/incidents)" 200 "the operator's token"
stop

python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), ensure_ascii=False))' \
	tests/fuzz/seeds/shared_incident_event/schema-example.json >"$tmp/event"
start notifier INPUT_TOPIC=$run.events2 DEAD_LETTER_TOPIC=$run.events2.dlq \
	CONSUMER_GROUP=$run-notifier OPERATOR_TOKENS=op-Zq9s3kr1t-token \
	SMTP_URL="smtp://otklik:smtp-Zq9s3kr1t-pw@127.0.0.1:1" TELEGRAM_BOT_TOKEN=999:tg-Zq9s3kr1t-notify \
	TELEGRAM_API_URL=http://127.0.0.1:1 WEBHOOK_SECRET=hook-Zq9s3kr1t-key \
	WEBHOOK_SUBSCRIBERS=http://127.0.0.1:1/hook RETRY_BASE=1s DELIVERY_POLL=200ms
kcat -q -b "$TEST_KAFKA_BROKERS" -P -t $run.events2 -k 42 <"$tmp/event"
expect "$(status wrong-Zq9s3kr1t-guess GET /v1/deliveries)" 401 "a wrong operator token"
i=0
until grep -q 'deliver' "$tmp/notifier.log" || [ $i -ge 50 ]; do i=$((i + 1)); sleep 0.2; done
sleep 2 # failed delivery attempts logged
stop

for f in "$tmp"/*.log; do [ -s "$f" ] || { echo "FAIL: $f is empty"; exit 1; }; done
if grep -n -e Zq9s3kr1t -e 'Секретова' "$tmp"/*.log; then
	echo "FAIL: a secret or an author's personal data is in a log (above)"
	exit 1
fi
echo "logs: $(cat "$tmp"/*.log | wc -l) lines of three services, no secret, no author's name or id"
