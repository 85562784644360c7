#!/bin/sh
# Runs one libFuzzer target (build/fuzz/fuzz/fuzz_<service>_<what>) from the repository root:
#   1. replays every input in tests/fuzz/regressions/<target>/ (crashes found before, fixed:
#      each must now pass), then
#   2. fuzzes for FUZZ_SECONDS (default 15) from a corpus kept in build/fuzz/corpus/<target>,
#      seeded from the project's own test data (seeds_for below) and tests/fuzz/seeds/<target>/.
# A crash leaves its input in build/fuzz/crashes/<target>/ and fails; a fix commits that input
# to tests/fuzz/regressions/<target>/. Environment: FUZZ_SECONDS; FUZZ_MODEL_DIR (the
# classifier's models, default build/dev/share/classifier).
set -eu
cd "$(dirname "$0")/../.."
bin=$1
target=$(basename "$bin")
name=${target#fuzz_}
seconds=${FUZZ_SECONDS:-15}
corpus=build/fuzz/corpus/$target
crashes=build/fuzz/crashes/$target
export FUZZ_MODEL_DIR="${FUZZ_MODEL_DIR:-build/dev/share/classifier}"
export FUZZ_REGION_DIR="${FUZZ_REGION_DIR:-deploy/regions/khakassia}"
# Leaks are reported by the valgrind checks; a leak that libFuzzer sees is still a failure.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Writes each line of the given NDJSON files into $corpus as its own seed.
seed_lines() {
	cat "$@" | awk -v dir="$corpus" 'NF { f = sprintf("%s/seed-line-%d", dir, NR); printf "%s", $0 > f; close(f) }'
}

seeds_for() {
	case $name in
	shared_message | collector_ingest | classifier_decide)
		seed_lines tests/unit/data/message_good.ndjson tests/unit/data/message_bad.ndjson \
			tests/classifier/data/messages.ndjson ;;
	classifier_text)
		seed_lines deploy/demo/khakassia_posts.ndjson ;;
	assigner_region)
		i=0
		for f in authorities calendar deadlines municipalities routing; do
			for src in deploy/regions/khakassia/$f.json tests/assigner/data/*/$f.json; do
				[ -f "$src" ] || continue
				{ printf "\\$(printf '%03o' $i)"; cat "$src"; } >"$corpus/seed-$f-$(basename "$(dirname "$src")")"
			done
			i=$((i + 1))
		done ;;
	esac
}

mkdir -p "$corpus" "$crashes"
if [ -z "$(ls -A "$corpus")" ]; then
	seeds_for
	[ -d "tests/fuzz/seeds/$name" ] && cp tests/fuzz/seeds/"$name"/* "$corpus"/
fi

regressions=tests/fuzz/regressions/$name
if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
	echo "fuzz $target: replaying $(ls "$regressions" | wc -l) regression inputs"
	if ! "$bin" -runs=0 "$regressions"/* >"$crashes/replay.log" 2>&1; then
		tail -60 "$crashes/replay.log"
		echo "fuzz $target: FAILED on a regression input"
		exit 1
	fi
fi

echo "fuzz $target: ${seconds}s"
# -timeout: an input taking over 10 s is a hang, a bug of its own. -rss_limit_mb: the
# targets read up to 10 MB inputs with ASan's overhead.
# The HTTP target's server allocates on its own threads, which libFuzzer's per-input leak
# check misreads (the valgrind checks cover the server's leaks).
# Its inputs also wait for the server's answers: a loaded machine gets a longer timeout.
extra=""
[ "$name" = assigner_http ] && extra="-detect_leaks=0 -timeout=30"
# shellcheck disable=SC2086
if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 $extra \
	-print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$crashes/log" 2>&1; then
	tail -60 "$crashes/log"
	echo "fuzz $target: FAILED, input in $crashes/"
	exit 1
fi
grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|cov:' "$crashes/log" | tail -3
echo "fuzz $target: ok"
