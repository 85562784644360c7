#!/bin/sh
# This machine's limits, measured in the same run as the services, that the other sections'
# figures are divided by: raw librdkafka produce -> consume through the local broker with
# records of the pipeline's size (message.v1 made of the demo stream's texts), and PostgreSQL
# inserts of collector.messages-shaped rows with COPY and with the services' batched statement
# (INSERT ... SELECT FROM unnest() of array parameters), by tests/bench/loadgen.c.
#
# Prints the figures and writes the section's JSON object to $1 (when given).
# Environment: B, BENCH_SIZE (small: a tiny run), BENCH_LIMIT_RECORDS (default 100000),
# BENCH_LIMIT_ROWS (default 100000), BENCH_LIMIT_BATCH (rows a statement, default 500).
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build/dev}
SECTION=limits
. tests/bench/common.sh
JSON_OUT=${1:-}
N=${BENCH_LIMIT_RECORDS:-$(bench_size 2000 100000)}
ROWS=${BENCH_LIMIT_ROWS:-$(bench_size 2000 100000)}
BATCH=${BENCH_LIMIT_BATCH:-500}

bench_items 5000 "$WORK/records.ndjson" message.v1
size=$(awk '{ s += length($0) + 0 } END { printf "%d", s / NR }' "$WORK/records.ndjson")
# The local broker keeps 5 MiB a partition: enough partitions that nothing is dropped unread.
parts=$((N * size / (3 * 1024 * 1024) + 2))
bench_pg
bench_broker "$parts" bench.limit

# shellcheck disable=SC2046
set -- $("$B/tests/bench/loadgen" kafka "$BROKERS" bench.limit \
	"$WORK/records.ndjson" "$N" | tr ' ' '\n' | sed -n 's/^\(seconds\|per_second\|bytes_per_record\)=//p')
[ $# = 3 ] || fail "loadgen kafka printed no figures"
k_bytes=$1 k_secs=$2 k_rate=$3
# shellcheck disable=SC2046
set -- $("$B/tests/bench/loadgen" pg "$DB" "$ROWS" "$BATCH" | tr ' ' '\n' |
	sed -n 's/^\(copy_seconds\|copy_per_second\|insert_seconds\|insert_per_second\)=//p')
[ $# = 4 ] || fail "loadgen pg printed no figures"
c_secs=$1 c_rate=$2 i_secs=$3 i_rate=$4

bench_header "limits of this machine"
bench_row "Kafka produce->consume ($k_bytes B, $parts partitions)" "$N" "$k_secs" "$k_rate" "1.00" \
	"librdkafka, the services' producer settings"
bench_row "PostgreSQL COPY" "$ROWS" "$c_secs" "$c_rate" "1.00" "collector.messages-shaped rows"
bench_row "PostgreSQL INSERT unnest(), $BATCH a transaction" "$ROWS" "$i_secs" "$i_rate" \
	"$(bench_ratio "$i_rate" "$c_rate")" "of COPY; the services' statement"
[ -n "$JSON_OUT" ] || exit 0
printf '{"section":"limits","results":{"kafka":{"records":%s,"bytes_per_record":%s,"partitions":%s,"seconds":%s,"kafka_per_second":%s},' \
	"$N" "$k_bytes" "$parts" "$k_secs" "$k_rate" >"$JSON_OUT"
printf '"pg_copy":{"rows":%s,"seconds":%s,"pg_copy_per_second":%s},' "$ROWS" "$c_secs" "$c_rate" >>"$JSON_OUT"
printf '"pg_insert":{"rows":%s,"batch":%s,"seconds":%s,"pg_insert_per_second":%s}}}\n' \
	"$ROWS" "$BATCH" "$i_secs" "$i_rate" >>"$JSON_OUT"
