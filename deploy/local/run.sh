#!/bin/sh
# `make run`: the whole system on this machine, on loopback, until Ctrl-C.
#
# Starts a PostgreSQL cluster under var/pg (kept between runs), the local Kafka broker
# (3 brokers, the platform's topics), every service whose binary is built, waits until each
# /readyz is green, feeds the demo stream when the collector exists, starts a local Prometheus
# scraping the services (when Debian's prometheus is installed), prints where to look, and
# on Ctrl-C (or SIGTERM) stops the services (they drain), the broker and PostgreSQL.
#
#   run.sh                start (BIN = directory of the built binaries, default build/dev/bin)
#   run.sh --clean-data   delete var/ (the database and logs) when nothing is running
#
# Environment: VAR_DIR (default var), PG_PORT (default 54320), HTTP_BASE_PORT (default 8080:
# service i listens on HTTP_BASE_PORT+i), PROMETHEUS_PORT (default HTTP_BASE_PORT+10),
# KAFKA_PARTITIONS (default 6), RUN_FOR (seconds; stop by itself after that, for scripted checks).
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/dev/bin}
VAR_DIR=${VAR_DIR:-var}
PG_PORT=${PG_PORT:-54320}
HTTP_BASE_PORT=${HTTP_BASE_PORT:-8080}
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-6}

# The platform's topics: each stage's output, and a dead-letter topic for each consumed one.
TOPICS="messages.raw messages.classified incidents.events"
DLQ_TOPICS="messages.raw.dlq messages.classified.dlq incidents.events.dlq"
# Services in pipeline order; those not built yet are skipped.
SERVICES="collector classifier assigner notifier"
# The local broker holds an empty fetch for the whole fetch.wait.max.ms, and finishes a group's
# rejoin only session.timeout.ms - 1 s after a member left: keep both short locally
# (6000 ms is also the lowest session timeout a real Kafka accepts).
LOCAL_KAFKA_OPTIONS="fetch.wait.max.ms=10,session.timeout.ms=6000,heartbeat.interval.ms=1000"

if [ "${1:-}" = "--clean-data" ]; then
	if [ -e "$VAR_DIR/run.pid" ] && kill -0 "$(cat "$VAR_DIR/run.pid")" 2>/dev/null; then
		echo "run: the stack is running (pid $(cat "$VAR_DIR/run.pid")); stop it first" >&2
		exit 1
	fi
	real=$(readlink "$VAR_DIR/pg" 2>/dev/null || true)
	[ -n "$real" ] && rm -rf "$real"
	rm -rf "$VAR_DIR"
	echo "run: deleted $VAR_DIR/"
	exit 0
fi

mkdir -p "$VAR_DIR/log"
VAR_DIR=$(cd "$VAR_DIR" && pwd)
if [ -e "$VAR_DIR/run.pid" ] && kill -0 "$(cat "$VAR_DIR/run.pid")" 2>/dev/null; then
	echo "run: already running (pid $(cat "$VAR_DIR/run.pid"))" >&2
	exit 1
fi
echo $$ >"$VAR_DIR/run.pid"
rm -f "$VAR_DIR/ready"

say() { printf 'run: %s\n' "$*"; }
PIDS=""
NAMED_PIDS=""
DEMO_STARTED=""
BROKER_PID=""
PG_STARTED=""
STOPPING=""

stop_all() {
	[ -n "$STOPPING" ] && return
	STOPPING=1
	say "stopping"
	for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
	for pid in $PIDS; do wait "$pid" 2>/dev/null; done
	[ -n "$BROKER_PID" ] && kill -TERM "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	[ -n "$PG_STARTED" ] && sh deploy/local/pg.sh stop "$VAR_DIR/pg"
	rm -f "$VAR_DIR/run.pid" "$VAR_DIR/ready"
	say "stopped; data kept in $VAR_DIR/ (make clean-data wipes it)"
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

fail() {
	say "$*" >&2
	exit 1
}

# ---- PostgreSQL -----------------------------------------------------------------------------
sh deploy/local/pg.sh start "$VAR_DIR/pg" "$PG_PORT" ||
	fail "PostgreSQL did not start on 127.0.0.1:$PG_PORT (in use? set PG_PORT)"
PG_STARTED=1
DATABASE_URL=$(sh deploy/local/pg.sh url "$PG_PORT")

# ---- Kafka ----------------------------------------------------------------------------------
set --
for t in $TOPICS $DLQ_TOPICS; do set -- "$@" --topic "$t"; done
rm -f "$VAR_DIR/kafka.bootstrap"
"$BIN/kafka-broker" --brokers 3 --partitions "$KAFKA_PARTITIONS" \
	--bootstrap-file "$VAR_DIR/kafka.bootstrap" "$@" >"$VAR_DIR/log/kafka-broker.log" 2>&1 &
BROKER_PID=$!
i=0
while [ ! -s "$VAR_DIR/kafka.bootstrap" ]; do
	kill -0 "$BROKER_PID" 2>/dev/null || fail "the Kafka broker exited: see $VAR_DIR/log/kafka-broker.log"
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the Kafka broker did not report its address"
	sleep 0.1
done
KAFKA_BROKERS=$(cat "$VAR_DIR/kafka.bootstrap")

# ---- the demo stream ------------------------------------------------------------------------
# demo-sources stands in for VK, Telegram, the RSS/Atom feeds and Open311, serving the demo
# posts (deploy/demo/khakassia_posts.ndjson) at DEMO_PACE posts per second, and pushes the
# demo's HTTP-channel posts to the collector's ingest API. It writes the collector's poller
# settings for itself into var/demo/collector.env.
COLLECTOR_PORT=$((HTTP_BASE_PORT + 1))
DEMO_PORT=$((HTTP_BASE_PORT + 9))
DEMO_TOKEN=demo-ingest-token
mkdir -p "$VAR_DIR/demo"
: >"$VAR_DIR/demo/collector.env"
if [ "${DEMO:-1}" != 0 ] && [ -x "$BIN/demo-sources" ] && [ -x "$BIN/collector" ]; then
	rm -f "$VAR_DIR/demo/collector.env"
	"$BIN/demo-sources" --port "$DEMO_PORT" --posts deploy/demo/khakassia_posts.ndjson \
		--pace "${DEMO_PACE:-5}" --collector-env "$VAR_DIR/demo/collector.env" \
		--push "http://127.0.0.1:$COLLECTOR_PORT/v1/messages" --push-token "$DEMO_TOKEN" \
		>>"$VAR_DIR/log/demo-sources.log" 2>&1 &
	NAMED_PIDS="$NAMED_PIDS demo-sources:$!"
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$VAR_DIR/demo/collector.env" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "demo-sources did not start: see $VAR_DIR/log/demo-sources.log"
		sleep 0.1
	done
	DEMO_STARTED=1
fi

# The assigner's operator API: demo tokens for the centre's operator and a read-only viewer.
ASSIGNER_PORT=$((HTTP_BASE_PORT + 3))
OPERATOR_TOKEN=demo-operator-token
VIEWER_TOKEN=demo-viewer-token

# Settings of one service beyond the common ones (name=value words).
service_env() {
	case "$1" in
	collector)
		echo "INGEST_TOKENS=$DEMO_TOKEN=http INGEST_SOURCES=http"
		cat "$VAR_DIR/demo/collector.env"
		;;
	notifier)
		# Every channel stays on this machine: mail to the local SMTP catcher, Telegram and VK
		# to demo-sources, every webhook to demo-sources' receiver (whatever URL the region
		# pack gives; the original is in X-Otklik-Original-Url), signed with the secret the
		# receiver checks.
		echo "SMTP_URL=smtp://127.0.0.1:$SMTP_PORT SMTP_FROM=otklik@khakassia.local"
		echo "TELEGRAM_API_URL=http://127.0.0.1:$DEMO_PORT/telegram TELEGRAM_BOT_TOKEN=demo-telegram-token"
		echo "VK_API_URL=http://127.0.0.1:$DEMO_PORT/vk/method VK_ACCESS_TOKEN=demo-vk-token"
		echo "WEBHOOK_SECRET=demo-webhook-secret WEBHOOK_REDIRECT=http://127.0.0.1:$DEMO_PORT/webhook/local"
		# The region's monitoring centre follows every event through a webhook of its own.
		echo "WEBHOOK_SUBSCRIBERS=http://127.0.0.1:$DEMO_PORT/webhook/monitoring"
		echo "OPERATOR_TOKENS=$OPERATOR_TOKEN"
		;;
	assigner)
		echo "API_TOKENS=$OPERATOR_TOKEN=operator,$VIEWER_TOKEN=viewer"
		echo "PUBLIC_URL=http://127.0.0.1:$ASSIGNER_PORT"
		;;
	esac
}

# ---- mail -----------------------------------------------------------------------------------
# A local SMTP catcher for the notifier's e-mail (Debian's python3-aiosmtpd), storing every
# message in the Maildir var/mail (new/ holds one file per message).
SMTP_PORT=${SMTP_PORT:-$((HTTP_BASE_PORT + 25))}
SMTP_STARTED=""
if [ -x "$BIN/notifier" ]; then
	mkdir -p "$VAR_DIR/mail/new" "$VAR_DIR/mail/cur" "$VAR_DIR/mail/tmp"
	/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox \
		"$VAR_DIR/mail" >>"$VAR_DIR/log/smtp.log" 2>&1 &
	PIDS="$PIDS $!"
	NAMED_PIDS="$NAMED_PIDS smtp:$!"
	i=0
	until /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $SMTP_PORT), 1)" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "the SMTP catcher did not start: see $VAR_DIR/log/smtp.log"
		sleep 0.1
	done
	SMTP_STARTED=1
fi

# ---- services -------------------------------------------------------------------------------
port=$HTTP_BASE_PORT
STARTED=""
for svc in $SERVICES; do
	port=$((port + 1))
	[ -x "$BIN/$svc" ] || continue
	# shellcheck disable=SC2046
	env KAFKA_BROKERS="$KAFKA_BROKERS" KAFKA_OPTIONS="$LOCAL_KAFKA_OPTIONS" \
		DATABASE_URL="$DATABASE_URL" HTTP_ADDR=127.0.0.1 HTTP_PORT=$port \
		$(service_env "$svc") "$BIN/$svc" >>"$VAR_DIR/log/$svc.log" 2>&1 &
	PIDS="$PIDS $!"
	NAMED_PIDS="$NAMED_PIDS $svc:$!"
	STARTED="$STARTED $svc:$port"
done

# A service that exits, or is still not ready after 30 s, stops the stack; the end of its log
# and its /readyz answer (which names the failing check) are printed with the reason.
not_ready() {
	say "$1 $2; the end of $VAR_DIR/log/$1.log:" >&2
	tail -n 20 "$VAR_DIR/log/$1.log" >&2
	[ -z "${3:-}" ] || say "its /readyz: $(curl -sS "http://127.0.0.1:$3/readyz" 2>&1)" >&2
	exit 1
}
for entry in $STARTED; do
	svc=${entry%%:*} port=${entry##*:}
	pid=$(echo "$NAMED_PIDS" | tr ' ' '\n' | sed -n "s/^$svc://p")
	deadline=$(($(date +%s) + 30))
	until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || not_ready "$svc" "exited"
		[ "$(date +%s)" -lt "$deadline" ] || not_ready "$svc" "is not ready after 30 s" "$port"
		sleep 0.1
	done
done

# ---- Prometheus -----------------------------------------------------------------------------
# Debian's prometheus scrapes every started service with the production alert rules, so the
# dashboards' queries (deploy/grafana/dashboards) can be tried here; jobs are named after the
# services as in deploy/prometheus/prometheus.yml. Its data is kept in var/prometheus.
PROM_PORT=${PROMETHEUS_PORT:-$((HTTP_BASE_PORT + 10))}
PROM_STARTED=""
if command -v prometheus >/dev/null 2>&1; then
	mkdir -p "$VAR_DIR/prometheus"
	{
		echo "# Written by deploy/local/run.sh for this run."
		echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
		echo "rule_files: [\"$(pwd)/deploy/prometheus/alerts.yml\"]"
		echo "scrape_configs:"
		for entry in $STARTED; do
			echo "  - {job_name: ${entry%%:*}, static_configs: [{targets: [\"127.0.0.1:${entry##*:}\"]}]}"
		done
	} >"$VAR_DIR/prometheus/prometheus.yml"
	prometheus --config.file="$VAR_DIR/prometheus/prometheus.yml" \
		--storage.tsdb.path="$VAR_DIR/prometheus/data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" >>"$VAR_DIR/log/prometheus.log" 2>&1 &
	PIDS="$PIDS $!"
	NAMED_PIDS="$NAMED_PIDS prometheus:$!"
	prom_pid=$!
	i=0
	until curl -fsS "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1; do
		kill -0 "$prom_pid" 2>/dev/null ||
			fail "prometheus exited (port $PROM_PORT in use? set PROMETHEUS_PORT): see $VAR_DIR/log/prometheus.log"
		i=$((i + 1))
		[ $i -gt 300 ] && fail "prometheus is not ready after 30 s: see $VAR_DIR/log/prometheus.log"
		sleep 0.1
	done
	PROM_STARTED=1
fi

# ---- where to look --------------------------------------------------------------------------
echo
say "the local stack is up"
echo "  PostgreSQL   $DATABASE_URL"
echo "               psql '$DATABASE_URL'"
echo "  Kafka        $KAFKA_BROKERS (3 brokers, $KAFKA_PARTITIONS partitions per topic)"
echo "  topics       $TOPICS"
echo "  dead letters $DLQ_TOPICS"
echo "               kcat -b $KAFKA_BROKERS -L"
echo "               kcat -b $KAFKA_BROKERS -C -t messages.raw -o beginning"
if [ -z "$STARTED" ]; then
	echo "  services     none built yet (services/<name>/main.c)"
fi
for entry in $STARTED; do
	svc=${entry%%:*} port=${entry##*:}
	printf '  %-12s http://127.0.0.1:%s/  (/healthz /readyz /metrics)  log: %s\n' \
		"$svc" "$port" "$VAR_DIR/log/$svc.log"
done
if [ -n "$DEMO_STARTED" ]; then
	echo "  demo         $(grep -c . deploy/demo/khakassia_posts.ndjson) posts from Khakassia arriving at ${DEMO_PACE:-5}/s through" \
		"VK, Telegram, RSS/Atom, Open311 and HTTP (fake APIs at http://127.0.0.1:$DEMO_PORT/)"
	echo "               psql '$DATABASE_URL' -c 'SELECT source, count(*) FROM collector.messages GROUP BY 1'"
	echo "               curl -s http://127.0.0.1:$COLLECTOR_PORT/metrics | grep ^collector_messages_total"
	if [ -x "$BIN/classifier" ]; then
		echo "  classified   psql '$DATABASE_URL' -c 'SELECT topic, municipality, urgency, count(*) FROM classifier.classifications WHERE incident GROUP BY 1, 2, 3 ORDER BY 4 DESC'"
		echo "               kcat -b $KAFKA_BROKERS -C -t messages.classified -o beginning -e -f '%k %s\\n'"
	fi
	echo "  ingest API   curl -H 'Authorization: Bearer $DEMO_TOKEN' -H 'Content-Type: application/json' \\"
	echo "                 -d '{\"source\":\"http\",\"external_id\":\"1\",\"text\":\"Нет света\",\"posted_at\":\"2026-11-28T10:00:00Z\"}' \\"
	echo "                 http://127.0.0.1:$COLLECTOR_PORT/v1/messages"
fi
if [ -x "$BIN/assigner" ]; then
	echo "  incidents    curl -s -H 'Authorization: Bearer $OPERATOR_TOKEN' http://127.0.0.1:$ASSIGNER_PORT/v1/incidents"
	echo "               curl -s -H 'Authorization: Bearer $VIEWER_TOKEN' http://127.0.0.1:$ASSIGNER_PORT/v1/stats"
	echo "               curl -s http://127.0.0.1:$ASSIGNER_PORT/open311/v2/requests.json"
	echo "               psql '$DATABASE_URL' -c 'SELECT status, authority_id, rule_id, count(*) FROM assigner.incidents GROUP BY 1, 2, 3 ORDER BY 4 DESC'"
	echo "               kcat -b $KAFKA_BROKERS -C -t incidents.events -o beginning -e -f '%k %s\\\\n'"
fi
if [ -n "$PROM_STARTED" ]; then
	echo "  Prometheus   http://127.0.0.1:$PROM_PORT/  (alerts: /alerts; the rules of deploy/prometheus/alerts.yml)"
	echo "               curl -s 'http://127.0.0.1:$PROM_PORT/api/v1/query?query=up'"
fi
if [ -x "$BIN/notifier" ]; then
	NOTIFIER_PORT=$((HTTP_BASE_PORT + 4))
	echo "  notifier     e-mail caught by the local SMTP server on 127.0.0.1:$SMTP_PORT, mailbox: $VAR_DIR/mail/new/"
	echo "               psql '$DATABASE_URL' -c 'SELECT channel, status, count(*) FROM notifier.deliveries GROUP BY 1, 2'"
	echo "               curl -s -H 'Authorization: Bearer $OPERATOR_TOKEN' 'http://127.0.0.1:$NOTIFIER_PORT/v1/deliveries?status=dead'"
	echo "               curl -s http://127.0.0.1:$DEMO_PORT/control/published   (webhooks received, answers published to VK and Telegram)"
fi
echo "  logs         $VAR_DIR/log/"
echo
# The ready file lists "service port" per line: scripts (and tests) wait for it.
for entry in $STARTED; do echo "${entry%%:*} ${entry##*:}"; done >"$VAR_DIR/ready"
say "Ctrl-C stops everything"

# Wait until a signal arrives or a service dies; a dead service stops the whole stack, loudly.
elapsed=0
while :; do
	for entry in $NAMED_PIDS kafka-broker:$BROKER_PID; do
		kill -0 "${entry##*:}" 2>/dev/null ||
			fail "${entry%%:*} exited unexpectedly: see $VAR_DIR/log/${entry%%:*}.log"
	done
	sleep 1
	elapsed=$((elapsed + 1))
	if [ -n "${RUN_FOR:-}" ] && [ "$elapsed" -ge "$RUN_FOR" ]; then
		exit 0
	fi
done
