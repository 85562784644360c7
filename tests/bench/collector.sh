#!/bin/sh
# The collector alone: BENCH_COLLECTOR_MESSAGES ingest items (the demo stream's texts, see
# bench_items in common.sh) POSTed to /v1/messages as NDJSON in batches of 100 over a few
# keep-alive connections (tests/bench/loadgen.c), against a throw-away PostgreSQL and the local
# broker its outbox publishes to. Timed from the first request until the last is answered
# (every item stored, committed before its 202), and until the outbox has published them all.
# The ratio is to PostgreSQL's batched-insert limit (the limits section), the statement the
# collector stores with.
#
# Prints the figures and writes the section's JSON object to $1 (when given).
# Environment: B, BENCH_SIZE (small: a tiny run), BENCH_COLLECTOR_MESSAGES (default 100000),
# BENCH_COLLECTOR_CONNECTIONS (default 4).
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build/dev}
SECTION=collector
. tests/bench/common.sh
JSON_OUT=${1:-}
N=${BENCH_COLLECTOR_MESSAGES:-$(bench_size 1000 100000)}
CONNS=${BENCH_COLLECTOR_CONNECTIONS:-4}

bench_items "$N" "$WORK/items.ndjson"
bench_pg
bench_broker $((N * 450 / (3 * 1024 * 1024) + 2)) messages.raw
bench_service collector INGEST_TOKENS=bench-token=http INGEST_SOURCES=http
bench_ready collector
set -- $(bench_rss collector)
idle_rss=$1

t0=$(now_ms)
out=$("$B/tests/bench/loadgen" http "http://127.0.0.1:$PORT_collector/v1/messages" bench-token \
	"$WORK/items.ndjson" 100 "$CONNS")
field() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
accepted=$(field accepted) secs=$(field seconds) rate=$(field per_second)
[ "$accepted" = "$N" ] || fail "$accepted of $N items accepted ($out)"
set -- $(bench_rss collector)
load_rss=$1 hwm=$2
while [ "$(q "SELECT count(*) FROM collector.messages WHERE published_revision < revision")" != 0 ]; do
	[ $(($(now_ms) - t0)) -lt 600000 ] || fail "the outbox did not drain in 10 minutes"
	sleep 0.1
done
pub_ms=$(($(now_ms) - t0))
pub_secs=$(awk -v a="$pub_ms" 'BEGIN { printf "%.3f", a / 1000 }')
pub_rate=$(awk -v a="$N" -v b="$pub_ms" 'BEGIN { printf "%.0f", a * 1000 / b }')
limit=$(bench_limit pg_insert_per_second)

bench_header "collector (HTTP ingest, batches of 100, $CONNS connections)"
bench_row "messages stored (202 answered)" "$N" "$secs" "$rate" "$(bench_ratio "$rate" "$limit")" \
	"PostgreSQL INSERT unnest()"
bench_row "messages published to messages.raw" "$N" "$pub_secs" "$pub_rate" \
	"$(bench_ratio "$pub_rate" "$(bench_limit kafka_per_second)")" "Kafka produce->consume"
echo "  collector resident: idle $((idle_rss / 1024)) MB, under load $((load_rss / 1024)) MB" \
	"(peak $((hwm / 1024)) MB)"
[ -n "$JSON_OUT" ] || exit 0
printf '{"section":"collector","input":{"messages":%s,"batch":100,"connections":%s},' "$N" "$CONNS" >"$JSON_OUT"
printf '"results":{"stored_seconds":%s,"messages_per_second":%s,"ratio_to_pg_insert":%s,' \
	"$secs" "$rate" "$(bench_ratio "$rate" "$limit")" >>"$JSON_OUT"
printf '"published_seconds":%s,"published_per_second":%s,"ratio_to_kafka":%s,' "$pub_secs" \
	"$pub_rate" "$(bench_ratio "$pub_rate" "$(bench_limit kafka_per_second)")" >>"$JSON_OUT"
printf '"rss_kb":{"idle":%s,"load":%s,"peak":%s}}}\n' "$idle_rss" "$load_rss" "$hwm" >>"$JSON_OUT"
