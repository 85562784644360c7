#!/bin/sh
# `make bench`'s harness at a tiny size: every section runs on its own stack, the table prints
# every figure, and results.json is valid JSON holding the same sections and figures. Shape
# only: no speed is asserted (benchmarks print figures; timed tests would be flaky).
set -eu
cd "$(dirname "$0")/../.."
: "${TEST_WORK_DIR:?run through tests/run.sh}"
OUT="$TEST_WORK_DIR/bench"
export B="${TEST_BIN_DIR%/bin}" BENCH_SIZE=small BENCH_OUT="$OUT" BENCH_MESSAGES=2000 \
	BENCH_ASSIGNER_REPORTS=1000
fail() {
	echo "FAIL: $*"
	exit 1
}

sh tests/bench/run.sh >"$TEST_WORK_DIR/bench.out" 2>&1 || {
	cat "$TEST_WORK_DIR/bench.out"
	fail "tests/bench/run.sh failed"
}
for label in "Kafka produce->consume" "PostgreSQL COPY" "PostgreSQL INSERT unnest()" \
	"classify (full decision" "messages stored (202 answered)" \
	"messages published to messages.raw" \
	"end to end: intake -> assigned + notified" "notifier: email sent" "notifier: webhook sent" \
	"messages.raw -> messages.classified" "incident events handled" "deliveries sent: email" "deliveries sent: webhook" \
	"at 500 messages/s" "near saturation" "collector " "classifier " "assigner " "notifier " \
	$([ -f tests/bench/assigner.sh ] && echo "classified reports stored"); do
	grep -qF -- "$label" "$TEST_WORK_DIR/bench.out" || {
		cat "$TEST_WORK_DIR/bench.out"
		fail "the table has no \"$label\" line"
	}
done

/usr/bin/python3 - "$OUT/results.json" <<'PY' || fail "results.json lacks figures"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "bench.v1" and doc["machine"]["cores"] >= 1
sections = {s["section"]: s for s in doc["sections"]}
assert set(sections) >= {"limits", "classifier", "classifier_kafka", "collector", "notifier",
                         "pipeline"}, sections.keys()
def num(x):
    assert isinstance(x, (int, float)) and not isinstance(x, bool), x
    return x
lim = sections["limits"]["results"]
for k, f in (("kafka", "kafka_per_second"), ("pg_copy", "pg_copy_per_second"),
             ("pg_insert", "pg_insert_per_second")):
    assert num(lim[k][f]) > 0, k
assert num(sections["classifier"]["results"][0]["per_second_per_core"]) > 0
col = sections["collector"]["results"]
assert num(col["messages_per_second"]) > 0 and num(col["ratio_to_pg_insert"]) > 0
assert num(col["rss_kb"]["idle"]) > 0
if "assigner" in sections:  # its section, tests/bench/assigner.sh, may come later
    assert num(sections["assigner"]["results"]["reports_per_second"]) > 0
assert num(sections["classifier_kafka"]["results"]["messages_per_second"]) > 0
n = sections["notifier"]["results"]
assert num(n["events_per_second"]) > 0 and {"email", "webhook"} <= set(n["sent"]), n
p = sections["pipeline"]["results"]
assert num(p["end_to_end"]["messages_per_second"]) > 0
assert num(p["end_to_end"]["ratio_to_kafka_third"]) > 0
assert {"email", "webhook"} <= set(p["end_to_end"]["sent"]), p["end_to_end"]["sent"]
for run in ("comfortable", "saturation"):
    for f in ("p50", "p99", "max"):
        num(p["latency_ms"][run][f])
    assert p["latency_ms"][run]["reports"] > 0
for s in ("collector", "classifier", "assigner", "notifier"):
    for f in ("idle", "load", "peak"):
        assert num(p["rss_kb"][s][f]) > 0, (s, f)
PY
echo "PASS: bench harness prints every figure and writes valid results.json"
