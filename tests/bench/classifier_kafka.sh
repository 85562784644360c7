#!/bin/sh
# The classifier service through Kafka: BENCH_CLASSIFIER_KAFKA_MESSAGES message.v1 records (the
# demo stream's texts, bench_items in common.sh) produced with kcat to a local broker's
# messages.raw while the classifier runs (its consume loop, its PostgreSQL writes, its
# producer); timed from the first record produced until the last classified.v1 record is read
# back from messages.classified. The ratio is to the Kafka limit (each message is consumed
# once and produced once) and to the scikit-learn reference of the classifier section.
#
# Prints the figures and writes the section's JSON object to $1 (when given).
# Environment: B, BENCH_SIZE (small: a tiny run), BENCH_CLASSIFIER_KAFKA_MESSAGES (default 50000).
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build/dev}
SECTION=classifier_kafka
. tests/bench/common.sh
JSON_OUT=${1:-}
N=${BENCH_CLASSIFIER_KAFKA_MESSAGES:-$(bench_size 1000 50000)}

bench_items "$N" "$WORK/records.ndjson" message.v1
# classified.v1 carries the message and its evidence: ~2 kB a record.
bench_pg
bench_broker $((N * 2500 / (3 * 1024 * 1024) + 2)) messages.raw messages.classified \
	messages.raw.dlq
bench_service classifier
bench_ready classifier
sleep 2 # the consumer joins its group
set -- $(bench_rss classifier)
idle_rss=$1

bench_cpu classifier broker >"$WORK/cpu0"
t0=$(now_ms)
timeout 600 kcat -C -b "$BROKERS" -t messages.classified -o beginning -c "$N" -q -f '\n' \
	>"$WORK/classified.count" 2>"$WORK/kcat.log" &
reader=$!
# Spread evenly: the sticky partitioner fills one partition at a time, past what the local
# broker keeps of a partition (older records are dropped and never classified).
kcat -P -b "$BROKERS" -X sticky.partitioning.linger.ms=0 -t messages.raw -l "$WORK/records.ndjson" || fail "kcat could not produce"
wait "$reader" || fail "fewer than $N records on messages.classified after 10 minutes"
ms=$(($(now_ms) - t0))
bench_cpu classifier broker >"$WORK/cpu1"
set -- $(bench_cpu_delta "$WORK/cpu0" "$WORK/cpu1" classifier broker)
cpu_c=$1 cpu_b=$2 cpu_pg=$3
set -- $(bench_rss classifier)
load_rss=$1 hwm=$2
secs=$(awk -v a="$ms" 'BEGIN { printf "%.2f", a / 1000 }')
rate=$(awk -v a="$N" -v b="$ms" 'BEGIN { printf "%.0f", a * 1000 / b }')
kafka=$(bench_limit kafka_per_second)

bench_header "classifier service through Kafka (one process)"
bench_row "messages.raw -> messages.classified" "$N" "$secs" "$rate" \
	"$(bench_ratio "$rate" "$kafka")" "Kafka produce->consume; $(bench_ratio "$rate" 4300) x 4,300/s"
echo "  classifier resident: idle $((idle_rss / 1024)) MB, under load $((load_rss / 1024)) MB" \
	"(peak $((hwm / 1024)) MB)"
echo "  CPU meanwhile: classifier $cpu_c s, broker $cpu_b s, PostgreSQL $cpu_pg s" \
	"(load average $(cut -d ' ' -f 1 /proc/loadavg) on $(nproc) cores)"
[ -n "$JSON_OUT" ] || exit 0
printf '{"section":"classifier_kafka","input":{"messages":%s},"results":{"seconds":%s,' "$N" \
	"$secs" >"$JSON_OUT"
printf '"messages_per_second":%s,"ratio_to_kafka":%s,"ratio_to_reference":%s,' "$rate" \
	"$(bench_ratio "$rate" "$kafka")" "$(bench_ratio "$rate" 4300)" >>"$JSON_OUT"
printf '"rss_kb":{"idle":%s,"load":%s,"peak":%s},' "$idle_rss" "$load_rss" "$hwm" >>"$JSON_OUT"
printf '"cpu_seconds":{"classifier":%s,"broker":%s,"postgresql":%s}}}\n' "$cpu_c" "$cpu_b" \
	"$cpu_pg" >>"$JSON_OUT"
