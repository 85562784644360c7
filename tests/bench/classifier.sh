#!/bin/sh
# The classifier alone, from `classifier classify`: a large message.v1 input made from the
# project's own texts (the labelled corpus services/classifier/data/corpus.ndjson and the demo
# stream deploy/demo/khakassia_posts.ndjson, with the demo's community names and coordinates),
# repeated with small variations up to BENCH_MESSAGES lines; run through `classifier classify`
# (the full decision, the service's code path) and `classifier classify --model` (the shipped
# topic model alone), one process pinned to one core; messages per second and the ratio to the
# reference: scikit-learn's TF-IDF + linear SVM at about 4,300 texts/s in one Python process on
# the St Petersburg appeals (../shared/datasets/README.md).
#
# Prints the figures and writes the section's JSON object to $1 (when given).
# Environment: B (build directory, default build/dev), BENCH_MESSAGES (default 200000),
# BENCH_CPU (the core to pin to, default 0).
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build/dev}
N=${BENCH_MESSAGES:-200000}
CPU=${BENCH_CPU:-0}
REFERENCE=4300
JSON_OUT=${1:-}
WORK=$(mktemp -d /tmp/incident-bench-classifier.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

pin=""
command -v taskset >/dev/null 2>&1 && taskset -c "$CPU" true 2>/dev/null && pin="taskset -c $CPU"

# ---- classifier -----------------------------------------------------------------------------
# The project's texts as message.v1 lines (tests/bench/posts.awk reads them,
# classifier_input.awk writes them).
awk -v n="$N" -f tests/bench/posts.awk -f tests/bench/classifier_input.awk \
	services/classifier/data/corpus.ndjson deploy/demo/khakassia_posts.ndjson >"$WORK/messages.ndjson"

bytes=$(wc -c <"$WORK/messages.ndjson")

# Runs one classify command over the input; prints its --stats line's figures as
# "messages seconds per_second decoding_us deciding_us writing_us cpu_seconds per_cpu_second".
run_classify() {
	# shellcheck disable=SC2086
	$pin "$B/bin/classifier" classify --stats "$@" <"$WORK/messages.ndjson" >"$WORK/out.ndjson" \
		2>"$WORK/stats.txt"
	bad=$(grep -c '"error"' "$WORK/out.ndjson" || true)
	if [ "$bad" != 0 ]; then
		echo "bench: $bad input lines were refused:" >&2
		grep -m 3 '"error"' "$WORK/out.ndjson" >&2
		exit 1
	fi
	sed -n 's/^classified \([0-9]*\) [a-z]* ([0-9]* bad lines) in \([0-9.]*\) s: \([0-9]*\) [a-z]*\/s; per [a-z]*: decoding \([0-9.]*\) us, [a-z]* \([0-9.]*\) us, writing \([0-9.]*\) us; CPU \([0-9.]*\) s: \([0-9]*\) [a-z]*\/s$/\1 \2 \3 \4 \5 \6 \7 \8/p' \
		"$WORK/stats.txt"
}

set -- $(run_classify)
full="$*"
set -- $(run_classify --model "$B/share/classifier/topic.model")
model="$*"
[ -n "$full" ] && [ -n "$model" ] || { echo "bench: classify printed no figures" >&2; exit 1; }

echo
echo "classifier: $N messages ($((bytes / 1024 / 1024)) MB of message.v1) from the project's own" \
	"texts, one process${pin:+ pinned to core $CPU}"
# "per second" is over the wall clock, "per CPU second" over the process's CPU time, which is
# the figure per core when other work shares the core; the ratio is taken on the latter.
printf '%-46s %9s %8s %12s %14s %10s   %s\n' "classifier" "messages" "seconds" "per second" \
	"per CPU second" "x 4,300/s" "us per message: decoding, deciding, writing"
row() {
	# name messages seconds per_second decoding deciding writing cpu_seconds per_cpu_second
	printf '%-46s %9s %8s %12s %14s %10s   %s, %s, %s\n' "$1" "$2" "$3" "$4" "$9" \
		"$(awk -v r="$9" -v ref="$REFERENCE" 'BEGIN { printf "%.1f", r / ref }')" "$5" "$6" "$7"
}
# shellcheck disable=SC2086
row "classify (full decision, classified.v1 out)" $full
# shellcheck disable=SC2086
row "classify --model (topic model alone)" $model

json_row() {
	awk -v name="$1" -v what="$2" -v ref="$REFERENCE" -v m="$3" -v s="$4" -v r="$5" -v d="$6" \
		-v c="$7" -v w="$8" -v cs="$9" -v cr="${10}" 'BEGIN {
		printf "{\"name\":\"%s\",\"what\":\"%s\",\"messages\":%d,\"seconds\":%s," \
		       "\"per_second_per_core\":%d,\"cpu_seconds\":%s,\"per_cpu_second\":%d," \
		       "\"ratio_to_reference\":%.2f," \
		       "\"us_per_message\":{\"decoding\":%s,\"deciding\":%s,\"writing\":%s}}",
		       name, what, m, s, r, cs, cr, cr / ref, d, c, w
	}'
}
[ -n "$JSON_OUT" ] || exit 0
{
	printf '{"section":"classifier","input":{"messages":%s,"bytes":%s,"pinned":%s,' "$N" "$bytes" \
		"$([ -n "$pin" ] && echo true || echo false)"
	printf '"from":["services/classifier/data/corpus.ndjson","deploy/demo/khakassia_posts.ndjson"]},'
	printf '"reference":{"per_second":%s,"what":"scikit-learn TF-IDF + linear SVM, one Python process, St Petersburg appeals"},' "$REFERENCE"
	printf '"results":['
	# shellcheck disable=SC2086
	json_row classify "full decision: incident and topic models, lexicon, gazetteer, urgency; classified.v1 out" $full
	printf ','
	# shellcheck disable=SC2086
	json_row classify_model "the shipped topic model alone (classify --model)" $model
	printf ']}\n'
} >"$JSON_OUT"
