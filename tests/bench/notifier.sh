#!/bin/sh
# The notifier alone: BENCH_NOTIFIER_EVENTS incident.assigned events (incident_event.v1, one
# incident each, its authority reachable by e-mail and by webhook) produced with kcat to a
# local broker's incidents.events, while the notifier delivers to an aiosmtpd catcher and to
# demo-sources' webhook receiver. Timed from the first event produced until every delivery is
# sent; deliveries per second per channel. The ratio is to the Kafka limit: each event is one
# record in, two deliveries out.
#
# Prints the figures and writes the section's JSON object to $1 (when given).
# Environment: B, BENCH_SIZE (small: a tiny run), BENCH_NOTIFIER_EVENTS (default 2000),
# BENCH_NOTIFIER_WORKERS (the notifier's DELIVERY_WORKERS, default its own).
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build/dev}
SECTION=notifier
. tests/bench/common.sh
JSON_OUT=${1:-}
N=${BENCH_NOTIFIER_EVENTS:-$(bench_size 100 2000)}

bench_pg
bench_broker 4 incidents.events incidents.events.dlq
bench_smtp
bench_receiver
hook="http://127.0.0.1:$DEMO_PORT/webhook/bench"
awk -v n="$N" -v hook="$hook" 'BEGIN {
	for (i = 1; i <= n; i++) {
		printf "%d\t{\"schema\":\"incident_event.v1\",\"event_id\":\"bench:%d\"," \
		       "\"type\":\"incident.assigned\",\"incident_id\":%d," \
		       "\"occurred_at\":\"2026-11-28T10:00:00.000Z\",\"incident\":{\"id\":%d," \
		       "\"status\":\"assigned\",\"topic\":\"housing\",\"subtopic\":\"housing.heating\"," \
		       "\"municipality\":\"abakan\",\"municipality_name\":\"Абакан\",\"urgency\":\"normal\"," \
		       "\"summary\":\"Нет отопления в доме %d по ул. Щетинкина, батареи холодные\"," \
		       "\"address\":\"Абакан, ул. Щетинкина, %d\",\"reports\":1,\"affected\":1," \
		       "\"opened_at\":\"2026-11-28T09:00:00.000Z\"," \
		       "\"first_answer_due\":\"2026-11-28T13:00:00.000Z\"," \
		       "\"final_answer_due\":\"2026-12-03T09:00:00.000Z\"," \
		       "\"url\":\"http://127.0.0.1:8083/v1/incidents/%d\"}," \
		       "\"authority\":{\"id\":\"abakan_gkh\",\"name\":\"Управление ЖКХ Администрации г. Абакана\"," \
		       "\"parent\":null,\"channels\":[{\"type\":\"email\",\"address\":\"gkh@abakan.example\"}," \
		       "{\"type\":\"webhook\",\"url\":\"%s\"}]},\"parent_authority\":null," \
		       "\"previous_authority\":null,\"answer\":null,\"feedback\":null,\"reports\":[]}\n",
		       i, i, i, i, i % 200, i % 200, i, hook
	}
}' >"$WORK/events.tsv"

set --
[ -n "${BENCH_NOTIFIER_WORKERS:-}" ] && set -- DELIVERY_WORKERS="$BENCH_NOTIFIER_WORKERS"
bench_service notifier SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" SMTP_FROM=otklik@bench.local \
	WEBHOOK_SECRET=bench-secret DELIVERY_POLL=100ms "$@"
bench_ready notifier
sleep 2 # the consumer joins its group
set -- $(bench_rss notifier)
idle_rss=$1

t0=$(now_ms)
kcat -P -b "$BROKERS" -t incidents.events -K "$(printf '\t')" -l "$WORK/events.tsv" ||
	fail "kcat could not produce the events"
want=$((N * 2))
while :; do
	set -- $(q "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FROM notifier.deliveries")
	[ "$1" -ge "$want" ] && break
	[ $(($(now_ms) - t0)) -lt 600000 ] || fail "$1 of $want deliveries sent after 10 minutes ($2 recorded)"
	sleep 0.1
done
ms=$(($(now_ms) - t0))
set -- $(bench_rss notifier)
load_rss=$1 hwm=$2
secs=$(awk -v a="$ms" 'BEGIN { printf "%.2f", a / 1000 }')
rate() { awk -v a="$1" -v b="$ms" 'BEGIN { printf "%.0f", a * 1000 / b }'; }
channels=$(q "SELECT channel || ':' || count(*) FROM notifier.deliveries WHERE status = 'sent'
              GROUP BY channel ORDER BY channel")
kafka=$(bench_limit kafka_per_second)

bench_header "notifier (one process, e-mail and webhook per event)"
bench_row "incident events handled" "$N" "$secs" "$(rate "$N")" \
	"$(bench_ratio "$(rate "$N")" "$kafka")" "Kafka produce->consume"
for c in $channels; do
	bench_row "deliveries sent: ${c%%:*}" "${c##*:}" "$secs" "$(rate "${c##*:}")" "" \
		"local SMTP catcher / demo-sources"
done
echo "  notifier resident: idle $((idle_rss / 1024)) MB, under load $((load_rss / 1024)) MB" \
	"(peak $((hwm / 1024)) MB)"
[ -n "$JSON_OUT" ] || exit 0
{
	printf '{"section":"notifier","input":{"events":%s},"results":{"seconds":%s,' "$N" "$secs"
	printf '"events_per_second":%s,"ratio_to_kafka":%s,"sent":{' "$(rate "$N")" \
		"$(bench_ratio "$(rate "$N")" "$kafka")"
	sep=""
	for c in $channels; do
		printf '%s"%s":{"count":%s,"per_second":%s}' "$sep" "${c%%:*}" "${c##*:}" "$(rate "${c##*:}")"
		sep=","
	done
	printf '},"rss_kb":{"idle":%s,"load":%s,"peak":%s}}}\n' "$idle_rss" "$load_rss" "$hwm"
} >"$JSON_OUT"
