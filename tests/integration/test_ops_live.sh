#!/bin/sh
# The dashboards and alerts against the live local stack (deploy/local/run.sh, as `make run`
# starts it, demo stream included): every metric a dashboard panel or an alert rule reads is
# exported on the /metrics of a running service (tests/ops/lib.sh: check_metric_names), the
# local Prometheus scrapes every service, evaluates every rule without error and answers every
# dashboard query, and the intake and classification panels show the demo's messages. A
# dashboard reading a metric no service exports must fail the check.
set -u
cd "$(dirname "$0")/../.."
OPS_ROOT=$(pwd)
: "${TEST_WORK_DIR:?run through tests/run.sh}"
: "${TEST_BIN_DIR:?run through tests/run.sh}"
OPS_TMP="$TEST_WORK_DIR/ops-live"
rm -rf "$OPS_TMP"
mkdir -p "$OPS_TMP/metrics"
. tests/ops/lib.sh
VAR="$TEST_WORK_DIR/ops-var"
# A pace slow enough for the demo to be still arriving when Prometheus scrapes (increase()
# sees only what comes after its first sample).
export VAR_DIR="$VAR" BIN="$TEST_BIN_DIR" DEMO_PACE=20
. tests/lib/ports.sh
RUN_PID=""

command -v prometheus >/dev/null 2>&1 || { echo "FAIL: prometheus is not installed (make deps)"; exit 1; }

finish() {
	if [ -n "$RUN_PID" ]; then
		kill -TERM "$RUN_PID" 2>/dev/null
		wait "$RUN_PID"
	fi
	sh deploy/local/run.sh --clean-data >/dev/null 2>&1
}
trap finish EXIT
# The stack's logs go with its data (finish wipes both): show their ends on a failure.
fail() {
	for f in "$VAR"/log/*.log; do
		[ -e "$f" ] && { echo "--- $f"; tail -5 "$f"; }
	done
	echo "FAIL: $*"
	exit 1
}

# Random ports; another set when one of them turns out to be taken (other tests run too).
tries=0
while :; do
	# run.sh uses HTTP_BASE_PORT+1 to +25; PostgreSQL gets the port after them.
	HTTP_BASE_PORT=$(free_port_block 27)
	export HTTP_BASE_PORT PG_PORT=$((HTTP_BASE_PORT + 26)) PROMETHEUS_PORT=$((HTTP_BASE_PORT + 10))
	sh deploy/local/run.sh >"$OPS_TMP/run.out" 2>&1 &
	RUN_PID=$!
	i=0
	while [ ! -e "$VAR/ready" ] && kill -0 "$RUN_PID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 900 ] || { cat "$OPS_TMP/run.out"; fail "the stack is not ready after 90 s"; }
		sleep 0.1
	done
	[ -e "$VAR/ready" ] && break
	wait "$RUN_PID"
	RUN_PID=""
	tries=$((tries + 1))
	grep -qs "in use" "$OPS_TMP/run.out" "$VAR"/log/*.log && [ $tries -lt 5 ] &&
		rm -rf "$VAR/log" && continue
	cat "$OPS_TMP/run.out"
	fail "run.sh exited early"
done
PROM="http://127.0.0.1:$PROMETHEUS_PORT"
grep -q "Prometheus   $PROM/" "$OPS_TMP/run.out" || fail "run.sh does not say where its Prometheus is"

# PromQL through the local Prometheus: prints the result as JSON, fails on any error.
query() {
	curl -fsS -G --data-urlencode "query=$1" "$PROM/api/v1/query" >"$OPS_TMP/q.json" 2>&1 ||
		{ cat "$OPS_TMP/q.json"; return 1; }
	jq -e '.status == "success"' "$OPS_TMP/q.json" >/dev/null || return 1
	cat "$OPS_TMP/q.json"
}

# ---- Prometheus scrapes every started service --------------------------------------------------
started=$(cut -d' ' -f1 "$VAR/ready" | sort | tr '\n' ' ')
i=0
while :; do
	up=$(query 'up == 1' | jq -r '[.data.result[].metric.job] | sort | join(" ")')
	[ "$up " = "$started" ] && break
	i=$((i + 1))
	[ $i -le 60 ] || fail "Prometheus scrapes '$up', want '$started'"
	sleep 1
done
echo "ok: the local Prometheus scrapes $started"
for s in $OPS_SERVICES; do
	case " $started" in *" $s "*) ;; *) echo "SKIP: $s is not built, so not running" ;; esac
done

# Let the demo flow through a few scrapes, so rates over 1m have two samples and more.
sleep 20

# ---- metric names against the live /metrics ----------------------------------------------------
while read -r s port; do
	curl -fsS "http://127.0.0.1:$port/metrics" >"$OPS_TMP/metrics/$s.metrics" || fail "$s /metrics"
done <"$VAR/ready"
check_metric_names deploy/grafana/dashboards deploy/prometheus/alerts.yml "$OPS_TMP/metrics" "$BIN" ||
	fail "the dashboards or the alerts read metrics no service exports"
echo "ok: every metric the dashboards and alerts read is exported by a running service"

# A broken copy: an expression of the first dashboard panel, or of the overdue alert, replaced.
mkdir -p "$OPS_TMP/broken"
must_reject() { # WHERE (panel|alert) EXPR EXPECTED
	cp deploy/grafana/dashboards/otklik-overview.json deploy/prometheus/alerts.yml "$OPS_TMP/broken/"
	if [ "$1" = panel ]; then
		jq --arg e "$2" '.panels[1].targets[0].expr = $e' deploy/grafana/dashboards/otklik-overview.json \
			>"$OPS_TMP/broken/otklik-overview.json"
	else
		yq -y --arg e "$2" '(.groups[].rules[] | select(.alert == "OtklikOverdueIncidents") | .expr) = $e' \
			deploy/prometheus/alerts.yml >"$OPS_TMP/broken/alerts.yml"
	fi
	out=$(check_metric_names "$OPS_TMP/broken" "$OPS_TMP/broken/alerts.yml" "$OPS_TMP/metrics" "$BIN") &&
		fail "a $1 reading $2 passed the check"
	echo "$out" | grep -q "$3" || fail "the check did not say '$3': $out"
}
must_reject panel 'sum(rate(collector_messages_totl[5m]))' "collector_messages_totl .*is not exported by collector"
must_reject panel 'rate(im_messages_processed[5m])' "im_messages_processed .*is not exported by any service"
if [ -x "$BIN/assigner" ]; then
	must_reject alert 'assigner_incidents_overdu > 10' "assigner_incidents_overdu .*is not exported by assigner"
fi
echo "ok: a panel or a rule reading a metric nobody exports fails the check"

# ---- every query answers, every rule evaluates -------------------------------------------------
ops_exprs deploy/grafana/dashboards deploy/prometheus/alerts.yml >"$OPS_TMP/exprs"
n=0
while read -r line; do
	e=$(printf '%s' "$line" | jq -r .)
	query "$e" >/dev/null || fail "Prometheus rejects: $e: $(cat "$OPS_TMP/q.json")"
	n=$((n + 1))
done <"$OPS_TMP/exprs"
echo "ok: Prometheus answers all $n dashboard and alert queries"

i=0
while :; do
	curl -fsS "$PROM/api/v1/rules" >"$OPS_TMP/rules.json" || fail "GET /api/v1/rules"
	want=$(yq '[.groups[].rules[]] | length' deploy/prometheus/alerts.yml)
	got=$(jq '[.data.groups[].rules[] | select(.health == "ok")] | length' "$OPS_TMP/rules.json")
	[ "$got" = "$want" ] && break
	i=$((i + 1))
	[ $i -le 30 ] || {
		jq -c '.data.groups[].rules[] | select(.health != "ok") | {name, health, lastError}' "$OPS_TMP/rules.json"
		fail "$got of $want rules evaluate without error"
	}
	sleep 1
done
echo "ok: the local Prometheus evaluates all $want alert rules without error"

# ---- the panels show the demo ------------------------------------------------------------------
if [ -x "$BIN/collector" ]; then
	# The pollers' first messages can come a few scrapes after the pushed ones on a busy
	# machine: wait (a minute at most) until the intake panel has every channel.
	i=0
	while :; do
		sources=$(query 'sum by (source) (collector_messages_total{outcome="accepted"}) > 0' |
			jq '.data.result | length')
		[ "$sources" -ge 5 ] && break
		i=$((i + 1))
		[ $i -le 60 ] || fail "the intake panel shows $sources sources, want the demo's 5 channels and more"
		sleep 1
	done
	total=$(query 'sum(increase(collector_messages_total{outcome="accepted"}[1h]))' | jq -r '.data.result[0].value[1]')
	[ "$(echo "$total" | cut -d. -f1)" -gt 0 ] || fail "the intake panels show no message arriving ($total)"
	echo "ok: the intake panels show $sources sources, $total messages"
fi
if [ -x "$BIN/classifier" ]; then
	share=$(query 'sum(increase(classifier_messages_total{incident="true"}[1h])) / sum(increase(classifier_messages_total[1h]))' |
		jq -r '.data.result[0].value[1] // "none"')
	case "$share" in 0.* | 1) ;; *) fail "the incident share panel shows $share" ;; esac
	echo "ok: the incident share panel shows $share"
fi
# The consumer-lag panel: every running consumer reports each partition of its input topic.
consumers=""
for s in classifier assigner notifier; do
	case " $started" in *" $s "*) consumers="$consumers $s" ;; esac
done
for s in $consumers; do
	i=0
	while :; do
		parts=$(query "count(im_consumer_lag_records{job=\"$s\"})" | jq -r '.data.result[0].value[1] // 0')
		[ "$parts" -ge 6 ] && break
		i=$((i + 1))
		[ $i -le 30 ] || fail "the lag panel shows $parts partitions of $s, want its topic's 6"
		sleep 1
	done
	lag=$(query "sum(im_consumer_lag_records{job=\"$s\"})" | jq -r '.data.result[0].value[1]')
	[ "$lag" -ge 0 ] 2>/dev/null || fail "the lag panel shows $lag for $s"
done
[ -z "$consumers" ] || echo "ok: the lag panel shows every partition of$consumers"

# The routing panels: a series for every authority of the pack, and the demo's incidents on them.
if [ -x "$BIN/assigner" ]; then
	want=$(jq '.authorities | length' deploy/regions/khakassia/authorities.json)
	got=$(query 'count(assigner_authority_incidents_open)' | jq -r '.data.result[0].value[1] // 0')
	[ "$got" = "$want" ] || fail "assigner_authority_incidents_open has $got authorities, want $want"
	echo "ok: the routing panels have all $want authorities of the pack"
fi

kill -TERM "$RUN_PID"
rc=0
wait "$RUN_PID" || rc=$?
RUN_PID=""
[ "$rc" -eq 0 ] || { cat "$OPS_TMP/run.out"; fail "run.sh exited with $rc on SIGTERM"; }
echo "ok: dashboards and alerts checked against the live stack"
