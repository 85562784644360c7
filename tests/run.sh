#!/bin/sh
# The test runner behind `make test`.
#
# 1. Unit tests: every build/<v>/tests/unit/test_* binary (cmocka), run from the repo root.
# 2. Integration tests: starts a throw-away PostgreSQL cluster and the local Kafka broker
#    (3 brokers) on free loopback ports, gives each test its own fresh database, runs every
#    build/<v>/tests/integration/test_* binary and every tests/integration/test_*.sh script,
#    and tears the servers down on any exit, failed tests included.
# Ends with one summary line "N passed, N failed" and exits non-zero if anything failed.
#
# Environment: B (build dir, default build/dev); TEST_FILTER (run only tests whose name
# contains it); TEST_KEEP=1 keeps the work directory for post-mortems.
set -u
cd "$(dirname "$0")/.."
. tests/lib/ports.sh
B=${B:-build/dev}
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/incident-tests.XXXXXX)
chmod 755 "$WORK"
PG_DIR="$WORK/pg"
BROKER_PID=""
PG_STARTED=""

passed=0
failed=0
failures=""

cleanup() {
	[ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	[ -n "$PG_STARTED" ] && sh deploy/local/pg.sh stop "$PG_DIR" >/dev/null 2>&1
	if [ "${TEST_KEEP:-}" = 1 ]; then
		echo "tests: work directory kept: $WORK"
	else
		real=$(readlink "$PG_DIR" 2>/dev/null || true)
		[ -n "$real" ] && rm -rf "$real"
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

selected() {
	[ -z "${TEST_FILTER:-}" ] && return 0
	case "$1" in *"$TEST_FILTER"*) return 0 ;; esac
	return 1
}

# Runs one cmocka binary or test script, adds its results to the totals. A cmocka binary's
# tests are counted one by one; a crash or non-zero exit that cmocka did not report counts as
# one failure of its own, so a test that dies half-way never reads as a pass.
run_one() {
	name=$1
	shift
	log="$WORK/$name.log"
	mkdir -p "$(dirname "$log")"
	echo "=== $name"
	timeout 900 "$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	if grep -q '^\[ RUN      \]' "$log"; then
		ran=$(grep -c '^\[ RUN      \]' "$log")
		ok=$(grep -c '^\[       OK \]' "$log")
		skipped=$(grep -c '^\[  SKIPPED \]' "$log")
		bad=$((ran - ok - skipped))
		[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
		passed=$((passed + ok))
	else
		if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); bad=0; else bad=1; fi
	fi
	if [ "$bad" -gt 0 ]; then
		failed=$((failed + bad))
		failures="$failures $name(exit $rc)"
	fi
}

# ---- unit tests -----------------------------------------------------------------------------
# Binaries are found from their sources, so a stale binary of a renamed test never runs.
for src in tests/unit/test_*.c; do
	t="$B/${src%.c}"
	[ -x "$t" ] || continue
	selected "$(basename "$t")" || continue
	run_one "unit/$(basename "$t")" "$t"
done

# ---- fuzzing: each libFuzzer target's regression inputs, then a short run (tests/fuzz/run.sh) --
for f in build/fuzz/fuzz/fuzz_*; do
	[ -x "$f" ] && selected "$(basename "$f")" || continue
	FUZZ_SECONDS=${FUZZ_SHORT_SECONDS:-10} FUZZ_MODEL_DIR="$B/share/classifier" \
		run_one "fuzz/$(basename "$f")" sh tests/fuzz/run.sh "$f"
done

# ---- integration tests ----------------------------------------------------------------------
integ=""
# Integration tests, and each service's own tests (tests/<service>/), which need the servers too.
for src in tests/*/test_*.c tests/integration/test_*.sh; do
	case "$src" in tests/unit/*) continue ;; *.c) t="$B/${src%.c}" ;; *) t=$src ;; esac
	# By path, so that a service's name selects its own tests (TEST_FILTER=classifier).
	[ -e "$t" ] && selected "$t" && integ="$integ $t"
done

if [ -n "$integ" ]; then
	# PostgreSQL on the first free port of a few random tries (postgres refuses a busy one).
	tries=0
	while :; do
		PG_PORT=$(free_port_block 1)
		if sh deploy/local/pg.sh start "$PG_DIR" "$PG_PORT" >"$WORK/pg-start.log" 2>&1; then
			PG_STARTED=1
			break
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 8 ]; then
			cat "$WORK/pg-start.log"
			echo "tests: could not start PostgreSQL"
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
	PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"

	"$B/bin/kafka-broker" --brokers 3 --partitions 4 --bootstrap-file "$WORK/kafka.bootstrap" \
		>"$WORK/broker.log" 2>&1 &
	BROKER_PID=$!
	i=0
	while [ ! -s "$WORK/kafka.bootstrap" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if [ ! -s "$WORK/kafka.bootstrap" ]; then
		cat "$WORK/broker.log"
		echo "tests: the local Kafka broker did not start"
		echo "0 passed, 1 failed"
		exit 1
	fi
	export TEST_KAFKA_BROKERS
	TEST_KAFKA_BROKERS=$(cat "$WORK/kafka.bootstrap")
	export TEST_BIN_DIR="$ROOT/$B/bin"
	export TEST_FIXTURE_DIR="$ROOT/$B/tests/fixtures"
	export TEST_PG_PORT="$PG_PORT"
	export TEST_WORK_DIR="$WORK"
	echo "tests: PostgreSQL on 127.0.0.1:$PG_PORT, Kafka at $TEST_KAFKA_BROKERS"

	for t in $integ; do
		name=$(basename "$(dirname "$t")")/$(basename "$t" .sh)
		db="t_$(printf '%s' "$name" | tr -c 'a-z0-9_' '_')"
		PGOPTIONS="-c client_min_messages=warning" psql "$PG_ADMIN_URL" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
		export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/$db"
		case "$t" in
		*.sh) run_one "$name" sh "$t" ;;
		*) run_one "$name" "$t" ;;
		esac
	done
fi

echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
