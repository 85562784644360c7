#!/bin/sh
# Fault rounds against the whole local stack (tests/e2e/stack.sh), each during a run of
# generated messages (E2E_INGEST through the ingest API and E2E_REPLAY through `collector
# replay` at a steady rate, besides the demo stream's pollers and pushes), each ending with the
# exact end-state check (tests/e2e/check_end_state.sh) over everything sent so far:
#
#   kill9     kill -9 of each service at a random moment of the run (a consumer just after it
#             resumed from a pause with a backlog), restarted at once
#   kill9x2   kill -9 of two services at the same moment (every pair in turn, one per round)
#   pg        PostgreSQL stopped for a few seconds mid-run and started again; a consumer with a
#             backlog killed -9 and restarted while it is down
#   kafka     every broker down for a few seconds, then one broker down, mid-run
#   sigterm   SIGTERM of each service mid-run: /readyz turns 503, it exits 0 within
#             SHUTDOWN_TIMEOUT + 5 s, restarted; then, with the pipeline quiet, each consumer
#             SIGTERMed and restarted processes nothing again (its offsets were committed)
#   replicas  a second instance of each consumer in the same group; one of each pair killed
#             -9 mid-run and left dead: its partitions move to the other, nothing lost or doubled
#
#   faults.sh [ROUND...]     (default: every round once, in that order)
#
# Environment: TEST_WORK_DIR, TEST_BIN_DIR (as tests/run.sh sets them); E2E_ROUNDS (how many
# times each named round runs, default 1); E2E_INGEST, E2E_REPLAY (messages per round, default
# 400 and 300); E2E_SETTLE (longest wait for the pipeline to be quiet, seconds).
set -eu
cd "$(dirname "$0")/../.."
export LC_ALL=C
: "${TEST_WORK_DIR:?run through tests/run.sh (or set TEST_WORK_DIR and TEST_BIN_DIR)}"
E2E="$TEST_WORK_DIR/e2e-faults"
BIN="$TEST_BIN_DIR"
# A steady rate spanning the round's faults: ~100 items/s through the ingest API, 50 every
# second by replay.
export E2E_BATCH="${E2E_BATCH:-20}" E2E_PAUSE="${E2E_PAUSE:-0.2}" E2E_CHUNK="${E2E_CHUNK:-50}" E2E_CHUNK_PAUSE="${E2E_CHUNK_PAUSE:-1}"
. tests/e2e/stack.sh
. tests/e2e/check_end_state.sh
# shellcheck disable=SC2154 # rc is the trap's own
trap 'rc=$?; stack_stop; exit $rc' EXIT

# A notifier killed mid-attempt (or unable to mark an attempt sent while PostgreSQL is down)
# repeats that attempt (at-least-once to the outside world, each with its idempotency key): at
# most one per worker thread (DELIVERY_WORKERS=2 for each of 4 groups).
NOTIFIER_REPEATS_PER_KILL=8
E2E_REPEATS_ALLOWED=0
notifier_may_repeat() { E2E_REPEATS_ALLOWED=$((E2E_REPEATS_ALLOWED + NOTIFIER_REPEATS_PER_KILL)); }

# rand_sleep MIN_MS MAX_MS: sleeps a random time between them.
rand_sleep() {
	ms=$(($1 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ($2 - $1 + 1)))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
}

# kill9 NAME.N...: kill -9 of these instances at once, then each started again.
kill9() {
	for i in "$@"; do
		svc_kill "$i"
		case "$i" in notifier.*) notifier_may_repeat ;; esac
	done
	for i in "$@"; do svc_start "$i"; done
	for i in "$@"; do svc_wait_ready "$i" 60; done
}

# The rows a consumer writes, one a record it handled.
written() {
	case "$1" in
	classifier) sql "SELECT count(*) FROM classifier.classifications" ;;
	assigner) sql "SELECT count(*) FROM assigner.reports" ;;
	notifier) sql "SELECT count(*) FROM notifier.deliveries" ;;
	esac
}
grown() { [ "$(written "$1")" -gt "$2" ]; }

# Each service killed at a random moment; a consumer right after it wrote a batch of a backlog
# (paused with SIGSTOP while records piled up, resumed, killed as soon as its rows grow), so it
# dies before the auto-commit (every second) records that batch's offsets: the batch comes
# again and must not be doubled, and whatever it had not written must not be lost.
fault_kill9() {
	# Downstream first, so that each victim's upstream is still flowing while it is paused.
	for svc in notifier assigner classifier collector; do
		rand_sleep 300 1500
		if [ "$svc" != collector ]; then
			kill -STOP "$(svc_pid "$svc.1")"
			rand_sleep 1000 2000
			n=$(written "$svc")
			kill -CONT "$(svc_pid "$svc.1")"
			wait_for 5 grown "$svc" "$n" || say "$svc.1 wrote nothing in 5 s after resuming"
		fi
		kill9 "$svc.1"
	done
}

PAIRS="collector+classifier classifier+assigner assigner+notifier collector+notifier classifier+notifier collector+assigner"
fault_kill9x2() {
	# shellcheck disable=SC2046
	set -- $(echo "$PAIRS" | tr ' ' '\n' | sed -n "$((ROUND_NO % 6 + 1))p" | tr '+' ' ')
	rand_sleep 500 3000
	kill9 "$1.1" "$2.1"
}

# PostgreSQL down for seconds while one consumer (in turn) is catching up: it was paused
# (SIGSTOP) so records piled up for it, resumes during the outage with a batch it cannot write,
# and is killed -9 then; what it had not written must come again once it is back, so its
# offsets must not have moved past it.
fault_pg() {
	victim=$(echo "classifier assigner notifier" | cut -d' ' -f$((ROUND_NO % 3 + 1)))
	rand_sleep 500 1500
	kill -STOP "$(svc_pid "$victim.1")"
	rand_sleep 1000 2500
	sh deploy/local/pg.sh stop "$E2E/pg"
	say "$victim.1 paused, then PostgreSQL stopped"
	notifier_may_repeat # an attempt that went out but could not be marked sent goes again
	kill -CONT "$(svc_pid "$victim.1")"
	sleep 2 # it fetches, fails to write, and its consumer's auto-commit (1 s) comes round
	svc_kill "$victim.1"
	[ "$victim" != notifier ] || notifier_may_repeat
	svc_start "$victim.1"
	rand_sleep 500 2000
	sh deploy/local/pg.sh start "$E2E/pg" "$PG_PORT" >/dev/null
	say "PostgreSQL started"
	svc_wait_ready "$victim.1" 60
}

fault_kafka() {
	rand_sleep 500 2000
	broker_control down -1
	say "every broker down"
	rand_sleep 2000 5000
	broker_control up -1
	say "every broker up"
	rand_sleep 500 2000
	b=$(($(od -An -N1 -tu1 /dev/urandom | tr -d ' ') % 3 + 1))
	broker_control down "$b"
	say "broker $b down"
	rand_sleep 2000 4000
	broker_control up "$b"
	say "broker $b up"
}

# sigterm NAME.N: SIGTERM, /readyz watched every 20 ms until the process is gone: once it stops
# answering 200 it answers 503 until its listener closes (a consumer's drain is often quicker
# than one poll; the collector's is seen); it logs the drain and exits 0 in time.
sigterm() {
	pid=$(svc_pid "$1")
	url="http://127.0.0.1:$(port_of "$1")/readyz"
	codes=""
	since=$(date +%s)
	# Probes hitting /readyz through the whole drain (as an orchestrator's would): the checks
	# behind it must not touch what the drain has freed.
	for _ in 1 2 3; do
		(while kill -0 "$pid" 2>/dev/null; do curl -s -o /dev/null --max-time 2 "$url"; done) &
	done
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null && [ "$(($(date +%s) - since))" -le 15 ]; do
		codes="$codes $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null || true)"
		sleep 0.02
	done
	rc=0
	wait "$pid" || rc=$?
	took=$(($(date +%s) - since))
	say "SIGTERM $1: exit $rc after ${took} s, /readyz answered:$(echo "$codes" | tr ' ' '\n' | sort | uniq -c | awk '{printf " %s×%s", $2, $1}')"
	[ "$rc" = 0 ] || die "$1 exited $rc on SIGTERM"
	[ "$took" -le 15 ] || die "$1 took $took s to stop on SIGTERM (SHUTDOWN_TIMEOUT 10s)"
	# Once not ready, never ready again: after the first answer that is not 200 (a signal takes
	# a moment to reach the loop), only 503 or a refused connection.
	after=$(echo "$codes" | sed 's/^\( 200\)*//')
	case "$after" in *200*) die "$1: /readyz answered 200 again while draining:$codes" ;; esac
	grep -q '"msg":"draining"' "$E2E/log/$1.log" || die "$1 logged no drain"
	svc_start "$1"
	svc_wait_ready "$1" 60
}

# processed NAME.N: records the instance's pipeline has handled since it started.
processed() {
	curl -fsS "http://127.0.0.1:$(port_of "$1")/metrics" |
		awk '/^im_messages_processed_total/ {n += $NF} END {print n + 0}'
}

fault_sigterm() {
	for svc in $E2E_SERVICES; do
		rand_sleep 300 2000
		sigterm "$svc.1"
	done
}

# After a quiet pipeline: consumers stopped by SIGTERM committed their offsets, so once back
# in their groups they have nothing to do again.
sigterm_when_quiet() {
	for svc in classifier assigner notifier; do sigterm "$svc.1"; done
	sleep 8 # the groups' rejoin (session.timeout.ms - 1 s) and a fetch
	for svc in classifier assigner notifier; do
		n=$(processed "$svc.1")
		[ "$n" = 0 ] || die "$svc processed $n records again after a SIGTERM: offsets not committed"
	done
}

# A second instance of each consumer joins its group (svc.2, or svc.1 again when an earlier
# round left svc.2), then the one that was there is killed -9 and left dead.
fault_replicas() {
	old="" added=""
	for svc in classifier assigner notifier; do
		running=$(svc_any "$svc")
		new=$svc.1
		[ "$running" != "$svc.1" ] || new=$svc.2
		svc_start "$new"
		old="$old $running" added="$added $new"
	done
	for i in $added; do svc_wait_ready "$i" 60; done
	sleep 6 # the groups rebalance over both members
	rand_sleep 500 2500
	for i in $old; do
		svc_kill "$i"
		case "$i" in notifier.*) notifier_may_repeat ;; esac
		rand_sleep 200 1000
	done
}

stack_start
say "stack up: PostgreSQL $DATABASE_URL, Kafka $KAFKA_BROKERS"
ROUND_NO=0
[ $# -gt 0 ] || set -- kill9 kill9x2 pg kafka sigterm replicas
for name in "$@"; do
	r=0
	while [ "$r" -lt "${E2E_ROUNDS:-1}" ]; do
		r=$((r + 1))
		ROUND_NO=$((ROUND_NO + 1))
		t0=$(date +%s)
		say "round $ROUND_NO: $name"
		# kill9's four pauses and kills take longer: a load twice as long.
		x=1
		[ "$name" = kill9 ] && x=2
		expect_load "$ROUND_NO" "$((x * ${E2E_INGEST:-400}))" "$((x * ${E2E_REPLAY:-300}))"
		load_start
		"fault_$name"
		load_wait
		check_end_state || die "round $ROUND_NO ($name): the end state is wrong"
		[ "$name" = sigterm ] && sigterm_when_quiet && { check_end_state || die "after the quiet SIGTERMs"; }
		say "round $ROUND_NO ($name) ok in $(($(date +%s) - t0)) s"
	done
done
say "ok: $ROUND_NO rounds"
