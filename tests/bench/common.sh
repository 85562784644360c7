# Sourced by the sections of tests/bench that need the local stack: starts what they ask for on
# loopback, the way deploy/local/run.sh does for `make run`, and stops it all on exit.
#
#   bench_pg                       a throw-away PostgreSQL (deploy/local/pg.sh) -> $DB
#   bench_broker PARTITIONS [TOPIC...]  the local Kafka broker, one broker, the topics (default
#                                  the platform's, with their dead-letter topics) with
#                                  PARTITIONS each (it auto-creates others with 4) -> $BROKERS
#   bench_smtp                     an aiosmtpd catcher into $WORK/mail -> $SMTP_PORT
#   bench_receiver                 demo-sources as webhook, Telegram and VK receiver -> $DEMO_PORT
#   bench_service NAME VAR=V...    a service with the common settings (HTTP port -> $PORT_<NAME>)
#   bench_ready NAME               wait until its /readyz answers 200
#   bench_rss NAME                 "VmRSS VmHWM" of the service, in kB
#   bench_cpu NAME...              "NAME ticks" of CPU used so far (user + system) by each
#                                  service, "broker ticks" and "<pid> ticks" of each PostgreSQL
#                                  process, for bench_cpu_delta
#   bench_cpu_delta FILE0 FILE1 NAME...  CPU seconds between two bench_cpu snapshots: each
#                                  NAME's, then PostgreSQL's (processes present at both ends)
#   bench_size SMALL FULL          the size for this run (BENCH_SIZE=small: the smoke test)
#   bench_limit KEY                a figure of the limits section (0 when it did not run)
#   bench_ratio A B                A / B with two decimals (0 when B is 0)
#   bench_row NAME COUNT SECONDS PER_SECOND RATIO BOUND   one line of the table
#
# Expects B and a section name in SECTION; makes $WORK, removed on exit (its logs are kept in
# $BENCH_LOGS/<section>/ when BENCH_LOGS is set).
WORK=$(mktemp -d "/tmp/incident-bench-$SECTION.XXXXXX")
chmod 755 "$WORK"
BENCH_PIDS="" PG_STARTED=""
# Kept as in deploy/local/run.sh: the local broker holds an empty fetch for fetch.wait.max.ms.
KAFKA_OPTIONS="fetch.wait.max.ms=10,session.timeout.ms=6000,heartbeat.interval.ms=1000"

bench_cleanup() {
	set +e # everything is tried, whatever already stopped
	# Last started first: the services drain (commit offsets, flush) while the broker is up.
	for pid in $BENCH_PIDS; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "${BENCH_LOGS:-}" ]; then
		mkdir -p "$BENCH_LOGS/$SECTION" && cp "$WORK"/*.log "$BENCH_LOGS/$SECTION/" 2>/dev/null
	fi
	[ -n "$PG_STARTED" ] && sh deploy/local/pg.sh stop "$WORK/pg" >/dev/null 2>&1
	real=$(readlink "$WORK/pg" 2>/dev/null || true)
	[ -n "$real" ] && rm -rf "$real"
	rm -rf "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE # the EXIT trap then stops the stack

now_ms() { date +%s%3N; }
fail() {
	echo "bench $SECTION: $*" >&2
	for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 5 "$f" >&2; }; done
	exit 1
}
# A port the kernel just gave out and took back: free unless someone races for it.
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
q() { psql "$DB" -qAt -F ' ' -c "$1"; }

bench_pg() {
	tries=0
	while :; do
		PG_PORT=$(free_port)
		if sh deploy/local/pg.sh start "$WORK/pg" "$PG_PORT" >"$WORK/pg-start.log" 2>&1; then
			PG_STARTED=1
			break
		fi
		tries=$((tries + 1))
		[ "$tries" -lt 8 ] || fail "could not start PostgreSQL"
	done
	DB=$(sh deploy/local/pg.sh url "$PG_PORT")
}

bench_broker() {
	parts=$1
	shift
	[ $# -gt 0 ] || set -- messages.raw messages.classified incidents.events messages.raw.dlq \
		messages.classified.dlq incidents.events.dlq
	topics=""
	for t in "$@"; do topics="$topics --topic $t"; done
	# shellcheck disable=SC2086
	"$B/bin/kafka-broker" --brokers 1 --partitions "$parts" --bootstrap-file "$WORK/bootstrap" \
		$topics >"$WORK/broker.log" 2>&1 &
	BENCH_PIDS="$! $BENCH_PIDS"
	PID_broker=$!
	i=0
	while [ ! -s "$WORK/bootstrap" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$WORK/bootstrap" ] || fail "the local Kafka broker did not start"
	BROKERS=$(cat "$WORK/bootstrap")
}

wait_port() {
	i=0
	until /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" \
		2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "nothing listens on port $1"
		sleep 0.1
	done
}

bench_smtp() {
	SMTP_PORT=$(free_port)
	mkdir -p "$WORK/mail/new" "$WORK/mail/cur" "$WORK/mail/tmp"
	/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox \
		"$WORK/mail" >"$WORK/smtp.log" 2>&1 &
	BENCH_PIDS="$! $BENCH_PIDS"
	wait_port "$SMTP_PORT"
}

bench_receiver() {
	DEMO_PORT=$(free_port)
	"$B/bin/demo-sources" --port "$DEMO_PORT" --posts deploy/demo/khakassia_posts.ndjson \
		--webhook-secret bench-secret --telegram-token bench --vk-token bench \
		>"$WORK/receiver.log" 2>&1 &
	BENCH_PIDS="$! $BENCH_PIDS"
	wait_port "$DEMO_PORT"
}

bench_service() {
	name=$1
	shift
	port=$(free_port)
	eval "PORT_$name=$port"
	env DATABASE_URL="$DB" KAFKA_BROKERS="$BROKERS" KAFKA_OPTIONS="$KAFKA_OPTIONS" \
		HTTP_ADDR=127.0.0.1 HTTP_PORT="$port" LOG_LEVEL=warn "$@" "$B/bin/$name" \
		>"$WORK/$name.log" 2>&1 &
	BENCH_PIDS="$! $BENCH_PIDS"
	eval "PID_$name=$!"
}

bench_ready() {
	eval "port=\$PORT_$1 pid=\$PID_$1"
	i=0
	until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
		i=$((i + 1))
		kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ] || fail "$1 is not ready"
		sleep 0.1
	done
}

bench_rss() {
	eval "pid=\$PID_$1"
	awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { print r + 0, h + 0 }' "/proc/$pid/status"
}

bench_cpu() {
	for name in "$@"; do
		eval "pid=\$PID_$name"
		awk -v n="$name" '{ print n, $14 + $15 }' "/proc/$pid/stat"
	done
	pm=$(head -n 1 "$WORK/pg/postmaster.pid")
	# A backend that comes and goes (a polling psql) is left out by bench_cpu_delta, which
	# compares the processes present at both ends.
	for p in "$pm" $(ps -o pid= --ppid "$pm"); do
		awk '{ print $1, $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true
	done
}
bench_cpu_delta() {
	f0=$1 f1=$2
	shift 2
	awk -v hz="$(getconf CLK_TCK)" -v names="$*" 'NR == FNR { a[$1] = $2; next }
		$1 in a { d[$1] = $2 - a[$1]; if ($1 ~ /^[0-9]+$/) pg += d[$1] }
		END { n = split(names, v, " ")
		      for (i = 1; i <= n; i++) printf "%.2f ", d[v[i]] / hz
		      printf "%.2f\n", pg / hz }' "$f0" "$f1"
}

bench_limit() {
	f=${BENCH_DIR:-/nonexistent}/limits.json
	v=""
	[ -f "$f" ] && v=$(sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$f")
	echo "${v:-0}"
}

# The figure for this run's size: $1 when BENCH_SIZE=small (the smoke test), else $2.
bench_size() { [ "${BENCH_SIZE:-}" = small ] && echo "$1" || echo "$2"; }

bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

bench_row() {
	printf '%-46s %9s %8s %12s %8s   %s\n' "$1" "$2" "$3" "$4" "$5" "$6"
}
bench_header() {
	echo
	bench_row "$1" "count" "seconds" "per second" "ratio" "of the limit"
}

# bench_items N FILE [message.v1]: N ingest items (one JSON object a line: source "http", a
# unique external_id, the text and community of one of the demo stream's posts, in turn, with
# a house number added from the second round on) into FILE; with "message.v1", the records the
# collector makes of them (schema, id and received_at too), for the Kafka limit's size.
# External ids are BENCH_TAG-<i> (default <section>-<pid>), posted at BENCH_POSTED_AT.
bench_items() {
	awk -v n="$1" -v full="${3:-}" -v tag="${BENCH_TAG:-$SECTION-$$}" \
		-v posted="${BENCH_POSTED_AT:-2026-11-28T00:00:00Z}" \
		-f tests/bench/posts.awk -f tests/bench/items.awk \
		deploy/demo/khakassia_posts.ndjson >"$2"
}
