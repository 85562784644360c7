# The whole local stack for the end-to-end and fault tests, as shell functions (sourced by
# tests/e2e/*.sh and tests/integration/test_e2e_*.sh): PostgreSQL (deploy/local/pg.sh), the
# local Kafka broker (3 brokers, E2E_PARTITIONS partitions per topic, a control FIFO to take
# brokers down and up), demo-sources (the fake VK/Telegram/RSS/Open311 APIs and the webhook
# receiver), the aiosmtpd catcher and the four services, each instance started, killed and
# restarted on its own. Unlike deploy/local/run.sh nothing here stops the stack when a service
# dies: that is what the fault tests do on purpose.
#
# Needs E2E (a fresh work directory) and BIN (the built binaries). Instance "svc.N" of a
# service listens on port_of svc.N; every instance of a service shares its consumer group.

E2E_PARTITIONS=${E2E_PARTITIONS:-6}
E2E_TOPICS="messages.raw messages.classified incidents.events messages.raw.dlq messages.classified.dlq incidents.events.dlq"
E2E_SERVICES="collector classifier assigner notifier"
INGEST_TOKEN=e2e-ingest-token
VIEWER_TOKEN=e2e-viewer-token
OPERATOR_TOKEN=e2e-operator-token

say() { printf '%s e2e: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
	say "FAIL: $*"
	exit 1
}

. tests/lib/ports.sh

# A free loopback TCP port (bound and released by the kernel's choice).
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls "$@" every 0.2 s until it succeeds or SECONDS pass; returns its last status.
wait_for() {
	limit=$(($(date +%s) + $1))
	shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt "$limit" ] || return 1
		sleep 0.2
	done
}

sql() { psql "$DATABASE_URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

stack_start() {
	mkdir -p "$E2E/log" "$E2E/pids" "$E2E/mail/new" "$E2E/mail/cur" "$E2E/mail/tmp"
	tries=0
	until PG_PORT=$(free_port_block 1) && sh deploy/local/pg.sh start "$E2E/pg" "$PG_PORT" >"$E2E/log/pg-start.log" 2>&1; do
		tries=$((tries + 1))
		[ $tries -lt 8 ] || die "PostgreSQL did not start: $(cat "$E2E/log/pg-start.log")"
	done
	DATABASE_URL=$(sh deploy/local/pg.sh url "$PG_PORT")

	broker_start
	SMTP_PORT=$(free_port)
	/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$E2E/mail" \
		>"$E2E/log/smtp.log" 2>&1 &
	echo $! >"$E2E/pids/smtp"
	wait_for 20 /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $SMTP_PORT), 1)" ||
		die "the SMTP catcher did not start"

	# demo-sources: every demo post visible at once (or E2E_DEMO_POSTS), http ones pushed.
	COLLECTOR_PORT=$(port_of collector.1)
	DEMO_PORT=$(free_port)
	"$BIN/demo-sources" --port "$DEMO_PORT" --posts "${E2E_DEMO_POSTS:-deploy/demo/khakassia_posts.ndjson}" \
		--collector-env "$E2E/collector.env" \
		--push "http://127.0.0.1:$COLLECTOR_PORT/v1/messages" --push-token "$INGEST_TOKEN" \
		>"$E2E/log/demo-sources.log" 2>&1 &
	echo $! >"$E2E/pids/demo"
	wait_for 20 test -s "$E2E/collector.env" || die "demo-sources did not start"
	for svc in $E2E_SERVICES; do svc_start "$svc.1"; done
	for svc in $E2E_SERVICES; do svc_wait_ready "$svc.1" 60; done
}

broker_start() {
	set --
	for t in $E2E_TOPICS; do set -- "$@" --topic "$t"; done
	rm -f "$E2E/kafka.bootstrap"
	"$BIN/kafka-broker" --brokers 3 --partitions "$E2E_PARTITIONS" --control "$E2E/kafka.control" \
		--bootstrap-file "$E2E/kafka.bootstrap" "$@" >"$E2E/log/kafka-broker.log" 2>&1 &
	echo $! >"$E2E/pids/broker"
	wait_for 20 test -s "$E2E/kafka.bootstrap" || die "the Kafka broker did not start"
	KAFKA_BROKERS=$(cat "$E2E/kafka.bootstrap")
}

# "down ID" / "up ID" (-1: every broker) through the broker's control FIFO.
broker_control() { echo "$1 $2" >"$E2E/kafka.control"; }

# Instance svc.N's HTTP port, fixed for the run (so a restart listens where it did).
port_of() {
	f="$E2E/pids/$1.port"
	[ -s "$f" ] || free_port >"$f"
	cat "$f"
}

service_env() {
	case "$1" in
	collector)
		echo "INGEST_TOKENS=$INGEST_TOKEN=* INGEST_SOURCES=http,e2e,archive"
		cat "$E2E/collector.env"
		;;
	assigner)
		echo "API_TOKENS=$OPERATOR_TOKEN=operator,$VIEWER_TOKEN=viewer"
		;;
	notifier)
		# Local channels only; rates high and leases short so the tests wait for little.
		echo "SMTP_URL=smtp://127.0.0.1:$SMTP_PORT SMTP_FROM=otklik@e2e.local"
		echo "TELEGRAM_API_URL=http://127.0.0.1:$DEMO_PORT/telegram TELEGRAM_BOT_TOKEN=demo-telegram-token"
		echo "TELEGRAM_CHAT_RATE=100 TELEGRAM_GLOBAL_RATE=100 VK_RATE=100"
		echo "VK_API_URL=http://127.0.0.1:$DEMO_PORT/vk/method VK_ACCESS_TOKEN=demo-vk-token"
		echo "WEBHOOK_SECRET=demo-webhook-secret WEBHOOK_REDIRECT=http://127.0.0.1:$DEMO_PORT/webhook/local"
		echo "WEBHOOK_SUBSCRIBERS=http://127.0.0.1:$DEMO_PORT/webhook/monitoring"
		echo "DELIVERY_TIMEOUT=3s DELIVERY_LEASE=5s RETRY_BASE=1s RETRY_MAX=2s"
		echo "OPERATOR_TOKENS=$OPERATOR_TOKEN"
		;;
	esac
}

# svc_start NAME.N: starts one instance (appending to its log).
svc_start() {
	svc=${1%.*}
	port=$(port_of "$1") # here, not in the background command: the caller reads it next
	# shellcheck disable=SC2046
	env KAFKA_BROKERS="$KAFKA_BROKERS" \
		KAFKA_OPTIONS="fetch.wait.max.ms=10,session.timeout.ms=6000,heartbeat.interval.ms=1000" \
		DATABASE_URL="$DATABASE_URL" HTTP_ADDR=127.0.0.1 HTTP_PORT="$port" \
		SHUTDOWN_TIMEOUT=10s $(service_env "$svc") "$BIN/$svc" >>"$E2E/log/$1.log" 2>&1 &
	echo $! >"$E2E/pids/$1"
	rm -f "$E2E/pids/$1.dead"
}

# Ready, or gone: a dead instance ends the wait at once (svc_wait_ready then fails).
svc_ready() { curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$(port_of "$1")/readyz" || ! svc_alive "$1"; }
svc_wait_ready() {
	if ! wait_for "${2:-60}" svc_ready "$1" || ! svc_alive "$1"; then
		die "$1 not ready after ${2:-60} s: $(curl -sS --max-time 5 "http://127.0.0.1:$(port_of "$1")/readyz" 2>&1); log: $(tail -n 2 "$E2E/log/$1.log")"
	fi
}
svc_pid() { cat "$E2E/pids/$1"; }
# svc_any NAME: a running instance of the service.
svc_any() {
	for f in "$E2E/pids/$1".[0-9]; do
		svc_alive "${f##*/}" && echo "${f##*/}" && return
	done
}
svc_alive() { kill -0 "$(svc_pid "$1")" 2>/dev/null; }

# svc_kill NAME.N: kill -9, reaped.
svc_kill() {
	kill -KILL "$(svc_pid "$1")" 2>/dev/null
	wait "$(svc_pid "$1")" 2>/dev/null || true
	: >"$E2E/pids/$1.dead"
	say "killed -9 $1"
}

# svc_restart NAME.N: kill -9 and start again, ready.
svc_restart() {
	svc_kill "$1"
	svc_start "$1"
	svc_wait_ready "$1" 60
}

# Stops everything this file started (the EXIT trap: `trap 'rc=$?; stack_stop; exit $rc' EXIT`);
# the processes' own exit statuses do not matter here.
stack_stop() {
	set +e
	for f in "$E2E"/pids/*.[0-9] "$E2E/pids/demo" "$E2E/pids/smtp"; do
		[ -s "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	for f in "$E2E"/pids/*.[0-9] "$E2E/pids/demo" "$E2E/pids/smtp"; do
		[ -s "$f" ] && wait "$(cat "$f")" 2>/dev/null
	done
	[ -s "$E2E/pids/broker" ] && kill -TERM "$(cat "$E2E/pids/broker")" 2>/dev/null && wait "$(cat "$E2E/pids/broker")" 2>/dev/null
	sh deploy/local/pg.sh stop "$E2E/pg" >/dev/null 2>&1
	real=$(readlink "$E2E/pg" 2>/dev/null || true)
	[ -n "$real" ] && [ "${E2E_KEEP:-}" != 1 ] && rm -rf "$real"
}

# ---- load -------------------------------------------------------------------------------------

# feed_ingest FILE [BATCH] [PAUSE]: POSTs FILE's items to the ingest API, BATCH per request,
# PAUSE seconds apart, as a client would: a batch is sent again until it is answered 202
# (the collector down, restarting or without its database answers nothing or 503).
feed_ingest() {
	split -l "${2:-50}" -d -a 5 "$1" "$1.part."
	for part in "$1".part.*; do
		until [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $INGEST_TOKEN" \
			-H 'Content-Type: application/x-ndjson' --data-binary "@$part" --max-time 10 \
			"http://127.0.0.1:$COLLECTOR_PORT/v1/messages" 2>/dev/null)" = 202 ]; do
			sleep 0.5
		done
		rm -f "$part"
		sleep "${3:-0.1}"
	done
}

# feed_replay FILE [CHUNK] [PAUSE]: `collector replay` of FILE in chunks, each run again until it exits 0.
feed_replay() {
	split -l "${2:-250}" -d -a 5 "$1" "$1.chunk."
	for chunk in "$1".chunk.*; do
		until env KAFKA_BROKERS="$KAFKA_BROKERS" DATABASE_URL="$DATABASE_URL" HTTP_PORT=0 \
			"$BIN/collector" replay "$chunk" >>"$E2E/log/replay.log" 2>&1; do
			sleep 0.5
		done
		rm -f "$chunk"
		sleep "${3:-0}"
	done
}

# expect_load ROUND INGEST REPLAY: generates that many items for the ingest API (source e2e)
# and for replay (source archive), ids tagged with ROUND and posted 7 × ROUND days back (so
# each round opens incidents of its own), and adds them to what the end state
# must hold ($E2E/expected.ids, $E2E/expected.counts: those ids, every demo post by channel).
expect_load() {
	mkdir -p "$E2E"
	sh tests/e2e/gen.sh "$2" e2e "i$1" 1 "$((7 * $1))" >"$E2E/ingest.ndjson"
	sh tests/e2e/gen.sh "$3" archive "r$1" 1 "$((7 * $1))" >"$E2E/replay.ndjson"
	cat "$E2E/ingest.ndjson" "$E2E/replay.ndjson" | jq -r '.source + ":" + .external_id' >>"$E2E/expected.ids"
	E2E_INGESTED=$((${E2E_INGESTED:-0} + $2))
	E2E_REPLAYED=$((${E2E_REPLAYED:-0} + $3))
	{
		jq -r .channel "${E2E_DEMO_POSTS:-deploy/demo/khakassia_posts.ndjson}" | sort | uniq -c | awk '{print $2, $1}'
		echo "e2e $E2E_INGESTED"
		echo "archive $E2E_REPLAYED"
	} | grep -v ' 0$' >"$E2E/expected.counts"
}

# load_start: both feeds in the background (FEED_PIDS); load_wait waits for them.
load_start() {
	feed_ingest "$E2E/ingest.ndjson" "${E2E_BATCH:-50}" "${E2E_PAUSE:-0.1}" &
	FEED_PIDS=$!
	feed_replay "$E2E/replay.ndjson" "${E2E_CHUNK:-250}" "${E2E_CHUNK_PAUSE:-0}" &
	FEED_PIDS="$FEED_PIDS $!"
}
load_wait() { for p in $FEED_PIDS; do wait "$p"; done; }
