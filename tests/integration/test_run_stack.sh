#!/bin/sh
# `make run`'s script end to end: it starts PostgreSQL and the Kafka broker (and every built
# service), kcat can produce to and consume from its broker, every service's /metrics passes
# `promtool check metrics`, the demo stream goes through every built service (collected,
# classified, made into routed incidents with their events), SIGTERM stops everything with
# exit 0, a second run keeps the data, and --clean-data wipes it.
set -eu
cd "$(dirname "$0")/../.."
: "${TEST_WORK_DIR:?run through tests/run.sh}"
VAR="$TEST_WORK_DIR/run-var"
export VAR_DIR="$VAR"
export BIN="$TEST_BIN_DIR"
. tests/lib/ports.sh
# run.sh uses HTTP_BASE_PORT+1 to +25; PostgreSQL gets the port after them.
HTTP_BASE_PORT=$(free_port_block 27)
export HTTP_BASE_PORT PG_PORT=$((HTTP_BASE_PORT + 26))
export DEMO_PACE=1000
RUN_PID=""

fail() {
	echo "FAIL: $*"
	[ -n "$RUN_PID" ] && kill -TERM "$RUN_PID" 2>/dev/null && wait "$RUN_PID"
	exit 1
}

start_stack() {
	sh deploy/local/run.sh >"$TEST_WORK_DIR/run.out" 2>&1 &
	RUN_PID=$!
	i=0
	while [ ! -e "$VAR/ready" ]; do
		kill -0 "$RUN_PID" 2>/dev/null || { cat "$TEST_WORK_DIR/run.out"; fail "run.sh exited early"; }
		i=$((i + 1))
		[ $i -le 600 ] || { cat "$TEST_WORK_DIR/run.out"; fail "not ready after 60 s"; }
		sleep 0.1
	done
}

stop_stack() {
	kill -TERM "$RUN_PID"
	rc=0
	wait "$RUN_PID" || rc=$?
	RUN_PID=""
	[ "$rc" -eq 0 ] || { cat "$TEST_WORK_DIR/run.out"; fail "run.sh exited with $rc on SIGTERM"; }
	[ ! -e "$VAR/pg/postmaster.pid" ] || fail "PostgreSQL still running after stop"
	[ ! -e "$VAR/kafka.bootstrap" ] || fail "the broker did not remove its bootstrap file"
}

start_stack
grep -q "the local stack is up" "$TEST_WORK_DIR/run.out" || fail "no summary printed"
BROKERS=$(cat "$VAR/kafka.bootstrap")
[ "$(echo "$BROKERS" | tr ',' '\n' | wc -l)" -eq 3 ] || fail "expected 3 brokers, got $BROKERS"

# kcat speaks the real protocol to it: metadata, produce, consume.
kcat -b "$BROKERS" -L -t messages.raw | grep -q "partition 5" || fail "messages.raw lacks 6 partitions"
printf 'k1:{"hello":"Абакан"}\nk2:second\n' | kcat -b "$BROKERS" -P -t run.check -K: ||
	fail "kcat could not produce"
out=$(kcat -b "$BROKERS" -C -t run.check -o beginning -e -q -f '%k=%s\n' 2>&1) || fail "kcat consume: $out"
echo "$out" | grep -qx 'k1={"hello":"Абакан"}' || fail "kcat did not read back k1: $out"
echo "$out" | grep -qx 'k2=second' || fail "kcat did not read back k2: $out"

# Every started service: ready, and its metrics valid for Prometheus.
while read -r svc port; do
	curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "$svc not ready"
	curl -fsS "http://127.0.0.1:$port/metrics" | promtool check metrics || fail "$svc /metrics rejected"
done <"$VAR/ready"

# The demo stream: every post of the demo file arrives through its adapter, is stored once and
# published to messages.raw once.
if [ -x "$BIN/collector" ]; then
	want=$(grep -c . deploy/demo/khakassia_posts.ndjson)
	url=$(sh deploy/local/pg.sh url "$PG_PORT")
	i=0
	while :; do
		got=$(psql "$url" -qAt -c "SELECT count(*) FILTER (WHERE published_revision >= revision) FROM collector.messages" 2>/dev/null || echo 0)
		[ "$got" = "$want" ] && break
		i=$((i + 1))
		[ $i -le 180 ] || fail "demo: $got of $want posts stored and published after 180 s"
		sleep 1
	done
	channels=$(psql "$url" -qAt -c "SELECT string_agg(DISTINCT source, ',' ORDER BY source) FROM collector.messages")
	[ "$channels" = "http,open311,rss,telegram,vk" ] || fail "demo came through: $channels"
	raw=$(kcat -b "$BROKERS" -C -t messages.raw -o beginning -e -q -f '%k\n' | grep -c ':') ||
		fail "kcat could not read messages.raw"
	[ "$raw" = "$want" ] || fail "messages.raw holds $raw demo records, want $want (once each)"
	# ...and every one is classified, with its decision stored once.
	if [ -x "$BIN/classifier" ]; then
		i=0
		while :; do
			got=$(psql "$url" -qAt -c "SELECT count(*) FROM classifier.classifications" 2>/dev/null || echo 0)
			[ "$got" = "$want" ] && break
			i=$((i + 1))
			[ $i -le 60 ] || fail "classifier: $got of $want messages classified after 60 s"
			sleep 1
		done
		out=$(kcat -b "$BROKERS" -C -t messages.classified -o beginning -e -q -f '%k\n' | grep -c '|') ||
			fail "kcat could not read messages.classified"
		[ "$out" -ge "$want" ] || fail "messages.classified holds $out records, want $want"
		# ...and the assigner makes the incidents of them: every message a report once, the
		# incidents routed with deadlines, their events on incidents.events, the API answering.
		if [ -x "$BIN/assigner" ]; then
			i=0
			while :; do
				got=$(psql "$url" -qAt -c "SELECT count(*) FROM assigner.reports" 2>/dev/null || echo 0)
				[ "$got" = "$want" ] && break
				i=$((i + 1))
				[ $i -le 60 ] || fail "assigner: $got of $want messages stored as reports after 60 s"
				sleep 1
			done
			routed=$(psql "$url" -qAt -c "SELECT count(*) FROM assigner.incidents WHERE status = 'assigned' AND authority_id IS NOT NULL AND rule_id IS NOT NULL AND first_answer_due IS NOT NULL")
			[ "$routed" -ge 100 ] || fail "assigner: only $routed incidents routed with deadlines"
			i=0
			while :; do
				pending=$(psql "$url" -qAt -c "SELECT count(*) FROM assigner.outbox WHERE NOT published")
				[ "$pending" = 0 ] && break
				i=$((i + 1))
				[ $i -le 30 ] || fail "assigner: $pending events still unpublished after 30 s"
				sleep 1
			done
			events=$(psql "$url" -qAt -c "SELECT count(*) FROM assigner.outbox")
			out=$(kcat -b "$BROKERS" -C -t incidents.events -o beginning -e -q -f '%s\n' | grep -c '"incident_event.v1"') ||
				fail "kcat could not read incidents.events"
			[ "$out" -ge "$events" ] || fail "incidents.events holds $out records, want $events"
			aport=$(awk '$1 == "assigner" {print $2}' "$VAR/ready")
			curl -fsS -H 'Authorization: Bearer demo-viewer-token' "http://127.0.0.1:$aport/v1/stats" |
				grep -q '"incidents"' || fail "assigner: /v1/stats did not answer for the demo"
		fi
	fi
fi

psql "$(sh deploy/local/pg.sh url "$PG_PORT")" -qc "CREATE TABLE run_marker(x int); INSERT INTO run_marker VALUES (42)" ||
	fail "could not write to the stack's PostgreSQL"
stop_stack

# A second run reuses the data directory.
start_stack
v=$(psql "$(sh deploy/local/pg.sh url "$PG_PORT")" -qAt -c "SELECT x FROM run_marker") || fail "marker lost"
[ "$v" = 42 ] || fail "second run lost the data: $v"
sh deploy/local/run.sh --clean-data >/dev/null 2>&1 && fail "--clean-data ran while the stack was up"
stop_stack

sh deploy/local/run.sh --clean-data >/dev/null || fail "--clean-data failed"
[ ! -e "$VAR" ] || fail "--clean-data left $VAR"
echo "ok: run.sh starts, serves kcat, stops cleanly, keeps and wipes data"
