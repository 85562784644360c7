#!/bin/sh
# The whole pipeline on this machine: the four services on one PostgreSQL and the local broker,
# the notifier delivering to an aiosmtpd catcher and to demo-sources (webhooks, Telegram, VK),
# fed through the collector's HTTP ingest API with the demo stream's texts (bench_items).
#
#   idle        each service's resident memory after start-up (VmRSS)
#   comfortable BENCH_RATE items/s (default 500) for BENCH_COMFORT_SECONDS (default 20)
#   saturation  BENCH_PIPELINE_MESSAGES items (default 30000) as fast as the collector takes them
#
# For each run: the latency from intake to incident assigned, from the rows themselves
# (collector.messages.received_at to the assigner's reports.created_at, for the reports put
# into an incident; p50, p99, max), and for the saturation run the sustained rate: messages
# from the first request until the last report is stored and the last notification recorded
# (notifier.deliveries), its ratio to the Kafka limit (every message crosses the broker three
# times: raw, classified, events), deliveries sent per channel, and each service's resident
# memory under load (the highest VmRSS sampled, and VmHWM).
#
# Prints the figures and writes the section's JSON object to $1 (when given).
# Environment: B, BENCH_SIZE (small: a tiny run), BENCH_RATE, BENCH_COMFORT_SECONDS,
# BENCH_PIPELINE_MESSAGES, BENCH_PIPELINE_CONNECTIONS (default 2), BENCH_ASSIGNER_BATCH (the
# assigner's BATCH_SIZE; default its own).
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build/dev}
SECTION=pipeline
. tests/bench/common.sh
JSON_OUT=${1:-}
RATE=${BENCH_RATE:-500}
COMFORT=${BENCH_COMFORT_SECONDS:-$(bench_size 2 20)}
N=${BENCH_PIPELINE_MESSAGES:-$(bench_size 1000 30000)}
CONNS=${BENCH_PIPELINE_CONNECTIONS:-2}
SERVICES="collector classifier assigner notifier"

# ---- the stack ----------------------------------------------------------------------------------
bench_pg
# A message is ~0.5 kB raw, ~2 kB classified, an incident event ~2 kB: partitions enough that
# the broker's 5 MiB a partition keeps everything unread.
bench_broker $(((N + RATE * COMFORT) * 2500 / (3 * 1024 * 1024) + 4))
bench_smtp
bench_receiver
bench_service collector INGEST_TOKENS=bench-token=http INGEST_SOURCES=http
bench_service classifier
bench_service assigner ${BENCH_ASSIGNER_BATCH:+BATCH_SIZE=$BENCH_ASSIGNER_BATCH}
bench_service notifier SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" SMTP_FROM=otklik@bench.local \
	TELEGRAM_API_URL="http://127.0.0.1:$DEMO_PORT/telegram" TELEGRAM_BOT_TOKEN=bench \
	VK_API_URL="http://127.0.0.1:$DEMO_PORT/vk/method" VK_ACCESS_TOKEN=bench \
	WEBHOOK_SECRET=bench-secret WEBHOOK_REDIRECT="http://127.0.0.1:$DEMO_PORT/webhook/local" \
	WEBHOOK_SUBSCRIBERS="http://127.0.0.1:$DEMO_PORT/webhook/monitoring"
for s in $SERVICES; do bench_ready "$s"; done
sleep 3 # the consumers join their groups; start-up allocations settle
idle=""
for s in $SERVICES; do
	set -- $(bench_rss "$s")
	idle="$idle $1"
done

# Samples every service's VmRSS while $1 (a pid) runs; leaves the highest in $WORK/rss.
sample_rss() {
	: >"$WORK/rss.samples"
	while kill -0 "$1" 2>/dev/null; do
		for s in $SERVICES; do echo "$s $(bench_rss "$s")"; done >>"$WORK/rss.samples"
		sleep 0.5
	done
}

# Feeds items from $1 (tag) at rate $3 (0: as fast as taken); the loadgen line in $WORK/$1.out.
# Each run's posts are a week apart (BENCH_POSTED_AT $4), beyond the assigner's grouping window:
# a run opens incidents of its own, which the notifier announces.
feed() {
	BENCH_TAG=$1 BENCH_POSTED_AT=$4 bench_items "$2" "$WORK/$1.ndjson"
	"$B/tests/bench/loadgen" http "http://127.0.0.1:$PORT_collector/v1/messages" bench-token \
		"$WORK/$1.ndjson" 100 "$CONNS" ${3:+$3} >"$WORK/$1.out" &
	feeder=$!
	sample_rss "$feeder"
	wait "$feeder" || fail "loadgen failed: $(cat "$WORK/$1.out")"
	accepted=$(tr ' ' '\n' <"$WORK/$1.out" | sed -n 's/^accepted=//p')
	[ "$accepted" = "$2" ] || fail "$accepted of $2 items accepted: $(cat "$WORK/$1.out")"
}

# Waits until every message of tag $1 ($2 of them) has its report, the assigner's outbox is
# published and the notifier's deliveries stop growing.
settle() {
	t_start=$(now_ms)
	last=-1
	while :; do
		set -- "$1" "$2" $(q "SELECT (SELECT count(*) FROM assigner.reports
		                              WHERE external_id LIKE '$1-%'),
		                             (SELECT count(*) FROM assigner.outbox WHERE NOT published),
		                             (SELECT count(*) FROM notifier.deliveries)")
		if [ "$3" -ge "$2" ] && [ "$4" = 0 ] && [ "$5" = "$last" ]; then
			break
		fi
		last=$5
		[ $(($(now_ms) - t_start)) -lt 600000 ] || fail "$3 of $2 reports after 10 minutes"
		sleep 1
	done
}

# Latency of tag $1 in ms, from the rows: "p50 p99 max reports_in_incidents".
latency() {
	q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)),
	          round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)), round(max(ms)), count(*)
	   FROM (SELECT extract(epoch FROM r.created_at - m.received_at) * 1000 AS ms
	         FROM assigner.reports r JOIN collector.messages m ON m.id = r.message_id
	         WHERE r.external_id LIKE '$1-%' AND r.incident_id IS NOT NULL) l"
}

# Where the time of tag $1 goes, p50 and p99 of each hop in ms: stored -> published by the
# collector's outbox, published -> classified, classified -> the assigner's report:
# "out50 out99 cls50 cls99 asg50 asg99".
hops() {
	q "SELECT $(for h in out cls asg; do
		for p in 0.5 0.99; do
			printf 'round(percentile_cont(%s) WITHIN GROUP (ORDER BY %s)),' "$p" "$h"
		done
	done | sed 's/,$//')
	   FROM (SELECT extract(epoch FROM m.published_at - m.received_at) * 1000 AS out,
	                extract(epoch FROM c.classified_at - m.published_at) * 1000 AS cls,
	                extract(epoch FROM r.created_at - c.classified_at) * 1000 AS asg
	         FROM assigner.reports r JOIN collector.messages m ON m.id = r.message_id
	         JOIN classifier.classifications c ON c.message_id = m.id
	         WHERE r.external_id LIKE '$1-%' AND r.incident_id IS NOT NULL) l"
}

# ---- comfortable rate, then saturation ----------------------------------------------------------
feed comfort $((RATE * COMFORT)) "$RATE" 2026-11-28T00:00:00Z
settle comfort $((RATE * COMFORT))
set -- $(latency comfort)
c_p50=$1 c_p99=$2 c_max=$3 c_n=$4
c_hops=$(hops comfort)

t0=$(q "SELECT clock_timestamp()")
feed saturation "$N" "" 2026-11-20T00:00:00Z
load_rss=""
for s in $SERVICES; do
	load_rss="$load_rss $(awk -v s="$s" '$1 == s && $2 > m { m = $2 } $1 == s && $3 > h { h = $3 }
		END { print m + 0 ":" h + 0 }' "$WORK/rss.samples")"
done
intake=$(tr ' ' '\n' <"$WORK/saturation.out" | sed -n 's/^per_second=//p')
settle saturation "$N"
set -- $(latency saturation)
s_p50=$1 s_p99=$2 s_max=$3 s_n=$4
s_hops=$(hops saturation)
# The end: the last report stored or notification recorded for the run.
set -- $(q "SELECT round(extract(epoch FROM greatest(
	               (SELECT max(created_at) FROM assigner.reports WHERE external_id LIKE 'saturation-%'),
	               (SELECT max(created_at) FROM notifier.deliveries)) - '$t0'::timestamptz) * 1000),
	        (SELECT count(*) FROM notifier.deliveries WHERE created_at >= '$t0')")
e2e_ms=$1 deliveries=$2
e2e_secs=$(awk -v a="$e2e_ms" 'BEGIN { printf "%.2f", a / 1000 }')
e2e_rate=$(awk -v a="$N" -v b="$e2e_ms" 'BEGIN { printf "%.0f", a * 1000 / b }')
kafka=$(bench_limit kafka_per_second)
kafka3=$(awk -v k="$kafka" 'BEGIN { printf "%.0f", k / 3 }')
# Deliveries sent per channel since the saturation run began, and their rate over that run.
channels=$(q "SELECT channel || ':' || count(*) || ':' ||
                     round(count(*) / greatest(extract(epoch FROM max(sent_at) - '$t0'::timestamptz), 0.001))
              FROM notifier.deliveries WHERE status = 'sent' AND created_at >= '$t0'
              GROUP BY channel ORDER BY channel")

bench_header "pipeline (4 services, 1 PostgreSQL, local broker)"
bench_row "end to end: intake -> assigned + notified" "$N" "$e2e_secs" "$e2e_rate" \
	"$(bench_ratio "$e2e_rate" "$kafka3")" "Kafka limit / 3 (raw, classified, events)"
bench_row "  collector intake during the run" "$N" "" "$intake" \
	"$(bench_ratio "$intake" "$(bench_limit pg_insert_per_second)")" "PostgreSQL INSERT unnest()"
bench_row "  notifications recorded" "$deliveries" "" "" "" ""
for c in $channels; do
	bench_row "  notifier: $(echo "$c" | cut -d: -f1) sent" "$(echo "$c" | cut -d: -f2)" "" \
		"$(echo "$c" | cut -d: -f3)" "" "local SMTP catcher / demo-sources"
done
echo
printf '%-46s %9s %8s %8s %8s\n' "latency intake -> incident assigned (ms)" "reports" "p50" "p99" "max"
printf '%-46s %9s %8s %8s %8s\n' "at $RATE messages/s" "$c_n" "$c_p50" "$c_p99" "$c_max"
printf '%-46s %9s %8s %8s %8s\n' "near saturation ($intake messages/s offered)" "$s_n" "$s_p50" \
	"$s_p99" "$s_max"
echo "  where it goes, p50/p99 ms: stored -> published (collector outbox), -> classified, -> report"
hop_line() { printf '  %-44s %s/%s, %s/%s, %s/%s\n' "$@"; }
# shellcheck disable=SC2086
hop_line "at $RATE messages/s" $c_hops
# shellcheck disable=SC2086
hop_line "near saturation" $s_hops
echo
printf '%-46s %9s %8s %8s\n' "resident memory (MB)" "idle" "load" "peak"
set -- $idle
i=0
for s in $SERVICES; do
	i=$((i + 1))
	l=$(echo "$load_rss" | tr ' ' '\n' | grep . | sed -n "${i}p")
	printf '%-46s %9s %8s %8s\n' "$s" "$(($1 / 1024))" "$((${l%%:*} / 1024))" "$((${l##*:} / 1024))"
	shift
done
[ -n "$JSON_OUT" ] || exit 0
{
	printf '{"section":"pipeline","input":{"comfortable_rate":%s,"comfortable_seconds":%s,' "$RATE" "$COMFORT"
	printf '"saturation_messages":%s,"connections":%s},"results":{' "$N" "$CONNS"
	printf '"end_to_end":{"messages":%s,"seconds":%s,"messages_per_second":%s,' "$N" "$e2e_secs" "$e2e_rate"
	printf '"ratio_to_kafka_third":%s,"intake_per_second":%s,"deliveries":%s,"sent":{' \
		"$(bench_ratio "$e2e_rate" "$kafka3")" "$intake" "$deliveries"
	sep=""
	for c in $channels; do
		printf '%s"%s":{"count":%s,"per_second":%s}' "$sep" "$(echo "$c" | cut -d: -f1)" \
			"$(echo "$c" | cut -d: -f2)" "$(echo "$c" | cut -d: -f3)"
		sep=","
	done
	printf '}},"latency_ms":{"comfortable":{"rate":%s,"reports":%s,"p50":%s,"p99":%s,"max":%s},' \
		"$RATE" "$c_n" "$c_p50" "$c_p99" "$c_max"
	printf '"saturation":{"rate":%s,"reports":%s,"p50":%s,"p99":%s,"max":%s}},' \
		"$intake" "$s_n" "$s_p50" "$s_p99" "$s_max"
	hop_json() {
		printf '"%s":{"outbox":{"p50":%s,"p99":%s},"classifier":{"p50":%s,"p99":%s},' "$1" "$2" "$3" "$4" "$5"
		printf '"assigner":{"p50":%s,"p99":%s}}' "$6" "$7"
	}
	printf '"hops_ms":{'
	# shellcheck disable=SC2086
	hop_json comfortable $c_hops
	printf ','
	# shellcheck disable=SC2086
	hop_json saturation $s_hops
	printf '},"rss_kb":{'
	set -- $idle
	sep=""
	i=0
	for s in $SERVICES; do
		i=$((i + 1))
		l=$(echo "$load_rss" | tr ' ' '\n' | grep . | sed -n "${i}p")
		printf '%s"%s":{"idle":%s,"load":%s,"peak":%s}' "$sep" "$s" "$1" "${l%%:*}" "${l##*:}"
		sep=","
		shift
	done
	printf '}}}\n'
} >"$JSON_OUT"
