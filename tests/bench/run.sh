#!/bin/sh
# The benchmarks behind `make bench`: they print figures and write them to
# $BENCH_OUT/results.json; nothing is asserted (throughput is measured by benchmarks that print,
# not by timed tests). One script a section, tests/bench/<section>.sh, each run as
# `sh <section>.sh <json file>`: it prints its rows and writes its JSON object to the file.
# Sections, in order (those whose script is missing are skipped):
#
#   limits      this machine's limits, measured in the same run: raw librdkafka
#               produce->consume through the local broker, PostgreSQL COPY and batched inserts
#   classifier  `classifier classify` on one core, against the scikit-learn reference
#   classifier_kafka  the classifier service from messages.raw to messages.classified
#   collector   HTTP ingest, batches of 100
#   assigner    classified.v1 records to incidents, one process
#   notifier    deliveries to a local SMTP server and a webhook receiver
#   pipeline    the four services together: sustained end-to-end rate, intake->assigned
#               latency at a comfortable rate and near saturation, resident memory
#
# A section reads the limits measured before it from $BENCH_DIR/limits.json (bench_limit in
# common.sh) to print its ratio to the limit that bounds it.
#
# Environment: B (build directory, default build/dev; the binaries must be built: `make bench`
# does), BENCH_OUT (where results.json goes, default $B/bench), BENCH_SECTIONS (default all,
# in the order above), BENCH_SIZE (small: a quick run of every section at a tiny size, for the
# smoke test; default full), and each section's own settings (see its script).
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build/dev}
OUT=${BENCH_OUT:-$B/bench}
SECTIONS=${BENCH_SECTIONS:-limits classifier classifier_kafka collector assigner notifier pipeline}
BENCH_DIR=$(mktemp -d /tmp/incident-bench.XXXXXX)
trap 'rm -rf "$BENCH_DIR"' EXIT
export B BENCH_DIR
mkdir -p "$OUT"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
cores=$(nproc 2>/dev/null || echo 1)
mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo 2>/dev/null || echo 0)
echo "bench: ${cpu:-unknown CPU}, $cores cores, $mem MB; the whole stack on this machine"

done_sections=""
for s in $SECTIONS; do
	[ -f "tests/bench/$s.sh" ] || continue
	sh "tests/bench/$s.sh" "$BENCH_DIR/$s.json"
	done_sections="$done_sections $s"
done

{
	printf '{"schema":"bench.v1","created_at":"%s",' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf '"machine":{"cpu":"%s","cores":%s,"memory_mb":%s},"sections":[' "$cpu" "$cores" "$mem"
	sep=""
	for s in $done_sections; do
		printf '%s' "$sep"
		tr -d '\n' <"$BENCH_DIR/$s.json"
		sep=","
	done
	printf ']}\n'
} >"$OUT/results.json"
echo
echo "bench: written to $OUT/results.json"
