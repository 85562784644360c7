#!/bin/sh
# Secrets and authors' personal data never reach the logs. Runs the collector with a database
# password, an ingest token, a VK token and a Telegram bot token (both APIs unreachable, so
# their failures are logged), sends it a message by an author with a known name, a wrong token
# and a bad item, then stops it and greps everything it wrote for each secret and the name.
set -eu
cd "$(dirname "$0")/../.."
: "${TEST_DATABASE_URL:?}" "${TEST_KAFKA_BROKERS:?}" "${TEST_BIN_DIR:?}"
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db_url=$(printf '%s' "$TEST_DATABASE_URL" | sed 's|://postgres@|://postgres:Pa55-SECRET-db@|')

DATABASE_URL=$db_url KAFKA_BROKERS=$TEST_KAFKA_BROKERS HTTP_PORT=$port LOG_LEVEL=debug \
	INGEST_TOKENS="ingest-SECRET-tok=*" \
	VK_ACCESS_TOKEN=vk-SECRET-token VK_API_URL=http://127.0.0.1:1/method VK_COMMUNITIES=-10001 \
	VK_INTERVAL=1s TELEGRAM_BOT_TOKEN=12345:tg-SECRET-bot TELEGRAM_API_URL=http://127.0.0.1:1 \
	"$TEST_BIN_DIR/collector" >"$tmp/log" 2>&1 &
pid=$!
i=0
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
	i=$((i + 1))
	if [ $i -gt 150 ] || ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/log"
		echo "the collector did not become ready"
		exit 1
	fi
	sleep 0.1
done

post() {
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' --data-binary "$2" \
		"http://127.0.0.1:$port/v1/messages"
}
msg='[{"source":"http","external_id":"sec-1","text":"Нет воды на Щетинкина 20","posted_at":"2026-11-28T03:15:00Z","author_id":"author-77","author_name":"Ирина Секретова"},{"source":"http","external_id":"sec-2","text":"","author_name":"Ирина Секретова"}]'
code=$(post ingest-SECRET-tok "$msg")
[ "$code" = 202 ] || { echo "valid ingest answered $code"; exit 1; }
code=$(post wrong-SECRET-guess "$msg")
[ "$code" = 401 ] || { echo "a wrong token answered $code"; exit 1; }
sleep 2.5 # a few failed VK and Telegram polls

kill -TERM "$pid"
wait "$pid" || { cat "$tmp/log"; echo "the collector did not exit 0"; exit 1; }
pid=""
[ -s "$tmp/log" ] || { echo "the collector logged nothing"; exit 1; }
if grep -n -e SECRET -e 'Секретова' -e 'author-77' "$tmp/log"; then
	echo "a secret or an author's personal data is in the log above"
	exit 1
fi
echo "logs: $(wc -l <"$tmp/log") lines, no secret, no author name"
