#!/bin/sh
# The assigner alone, as a process: BENCH_ASSIGNER_REPORTS classified.v1 records (default
# 50000) over the region's 13 municipalities and 14 topics — one in ten a non-incident, some
# unresolved or doubtful (moderation), the rest reports of problems told three times by
# different citizens, a third with an address, posted a second apart — produced with kcat to
# the local broker's messages.classified, keyed as the classifier keys them
# (municipality|topic), while the assigner runs against a throw-away PostgreSQL with the
# shipped Khakassia pack. Timed from the first record produced until every report is stored,
# and until every event of the outbox is acknowledged by the broker; the CPU seconds the
# assigner and PostgreSQL spent meanwhile are printed too (on a shared machine the wall clock
# says less). The ratio is to PostgreSQL's batched-insert limit (the limits section): each
# report is at least one such row.
#
# Prints the figures and writes the section's JSON object to $1 (when given).
# Environment: B, BENCH_SIZE (small: a tiny run), BENCH_ASSIGNER_REPORTS,
# BENCH_ASSIGNER_BATCH (the assigner's BATCH_SIZE, default its own 1000).
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build/dev}
SECTION=assigner
. tests/bench/common.sh
JSON_OUT=${1:-}
N=${BENCH_ASSIGNER_REPORTS:-$(bench_size 1000 50000)}
BATCH=${BENCH_ASSIGNER_BATCH:-1000}

# ---- input ------------------------------------------------------------------------------------
awk -v n="$N" 'BEGIN {
	split("abakan chernogorsk sayanogorsk abaza sorsk altaysky askizsky beysky bogradsky " \
	      "ordzhonikidzevsky tashtypsky ust_abakansky shirinsky", muni, " ")
	split("housing roads waste transport improvement healthcare education social ecology " \
	      "animals safety telecom trade culture_sport", topic, " ")
	split("отопление батареи вода канализация свет яма асфальт светофор мусор контейнер " \
	      "автобус маршрут остановка подъезд крыша лифт двор площадка снег наледь собаки " \
	      "школа больница аптека дорога тротуар фонарь забор парковка газ труба колодец " \
	      "подвал окна сосульки горка шум запах дым пожар", word, " ")
	split("!|?|!!|...|)|!?", tail, "|")
	split("Ленина Пушкина Щетинкина Вяткина Чертыгашева Кирова Советская Крылова " \
	      "Комарова Маршала_Жукова Некрасова Торговая Буденного Хакасская Лермонтова Мира",
	      street, " ")
	base = 1795996800 # 2026-11-30T00:00:00Z
	block = 1500
	for (i = 0; i < n; i++) {
		# Positions within a block of 1500 permuted, so a problem'"'"'s reports arrive
		# in different batches; three reports a problem.
		j = (i % block) * 7 % block
		p = int((int(i / block) * block + j) / 3)
		m = muni[1 + p % 13]
		t = topic[1 + int(p / 13) % 14]
		incident = i % 10 != 0
		mj = m
		if (i % 10 == 0)
			t = "other"
		if (i % 37 == 5)
			mj = ""
		score = i % 29 == 3 ? 0.55 : 0.93
		# A problem is three of 40 words, a street of 16, a house and a number, and no
		# template words: another problem of the same key shares one of those as a rule.
		text = word[1 + p % 40] " и " word[1 + (int(p / 40) + 13) % 40] ", " \
		       word[1 + (int(p / 7) + 29) % 40] ", " street[1 + int(p / 3) % 16] " " p % 211 \
		       ", №" p ", кв " i % 90 tail[1 + i % 6]
		secs = base + i
		posted = strftime("%Y-%m-%dT%H:%M:%SZ", secs, 1)
		loc = i % 3 == 0 ? ",\"location\":{\"address\":\"ул. Ленина, " p % 500 "\"}" : ""
		printf "%s|%s\t", mj == "" ? "-" : mj, t
		printf "{\"schema\":\"classified.v1\",\"message\":{\"schema\":\"message.v1\"," \
		       "\"id\":\"bench:%d\",\"source\":\"bench\",\"external_id\":\"%d\"," \
		       "\"revision\":1,\"text\":\"%s\",\"posted_at\":\"%s\",\"received_at\":\"%s\"," \
		       "\"author\":{\"id\":\"citizen%d\"},\"url\":\"https://vk.com/wall-1_%d\"," \
		       "\"thread\":{\"post_id\":\"%d\"}%s},", i, i, text, posted, posted, i % 9973, i, i, loc
		printf "\"classification\":{\"incident\":%s,\"incident_score\":%s,\"topic\":\"%s\"," \
		       "\"topic_score\":0.9,\"municipality\":%s,\"municipality_method\":\"%s\"," \
		       "\"municipality_confidence\":0.9,\"municipality_ambiguous\":false," \
		       "\"municipality_evidence\":[],\"urgency\":\"%s\",\"urgency_terms\":[]," \
		       "\"model_version\":\"bench\",\"classified_at\":\"%s\"}}\n",
		       incident ? "true" : "false", incident ? score : 0.1, t,
		       mj == "" ? "null" : "\"" mj "\"", mj == "" ? "none" : "text",
		       i % 50 == 7 ? "high" : "normal", posted
	}
}' >"$WORK/classified.tsv"
bytes=$(wc -c <"$WORK/classified.tsv")
# The local broker keeps 5 MiB a partition: enough partitions that nothing is dropped unread.
parts=$((bytes / (3 * 1024 * 1024) + 4))

# ---- the stack ----------------------------------------------------------------------------------
bench_pg
bench_broker "$parts"
bench_service assigner INPUT_TOPIC=messages.classified OUTPUT_TOPIC=incidents.events \
	CONSUMER_GROUP=bench BATCH_SIZE="$BATCH"
bench_ready assigner
sleep 2 # the consumer joins its group

# ---- the run --------------------------------------------------------------------------------
bench_cpu assigner >"$WORK/cpu0"
t0=$(now_ms)
kcat -P -b "$BROKERS" -t messages.classified -K "$(printf '\t')" -z lz4 -l "$WORK/classified.tsv" ||
	fail "kcat could not produce the input"
stored="" published=""
while [ -z "$published" ]; do
	kill -0 "$PID_assigner" 2>/dev/null || fail "the assigner exited"
	set -- $(q "SELECT (SELECT count(*) FROM assigner.reports),
	                   (SELECT count(*) FROM assigner.outbox WHERE NOT published)")
	t=$(now_ms)
	[ -z "$stored" ] && [ "$1" -ge "$N" ] && stored=$t
	[ -n "$stored" ] && [ "$2" = 0 ] && published=$t
	[ $((t - t0)) -lt 1800000 ] || fail "not done after 30 minutes ($1 reports stored)"
	# Polled twice a second: each psql is a new backend, and polling more often costs the
	# machine a visible share of what is measured.
	[ -n "$published" ] || sleep 0.5
done
bench_cpu assigner >"$WORK/cpu1"
set -- $(bench_cpu_delta "$WORK/cpu0" "$WORK/cpu1" assigner)
cpu_a=$1 cpu_pg=$2
set -- $(bench_rss assigner)
rss=$1 hwm=$2
set -- $(q "SELECT (SELECT count(*) FROM assigner.incidents),
                   (SELECT count(*) FROM assigner.outbox),
                   (SELECT count(*) FROM assigner.reports WHERE incident_id IS NOT NULL),
                   (SELECT count(*) FROM assigner.incidents WHERE status = 'moderation')")
incidents=$1 events=$2 grouped=$3 moderation=$4

secs() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1000 }'; }
rate() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a * 1000 / (b > 0 ? b : 1) }'; }
store_ms=$((stored - t0)) pub_ms=$((published - t0))
stored_rate=$(rate "$N" $store_ms) events_rate=$(rate "$events" $pub_ms)
limit=$(bench_limit pg_insert_per_second)
ratio=$(bench_ratio "$stored_rate" "$limit")
bench_header "assigner (one process, batches of $BATCH)"
bench_row "classified reports stored" "$N" "$(secs $store_ms)" "$stored_rate" "$ratio" \
	"PostgreSQL INSERT unnest()"
bench_row "incident events published (acknowledged)" "$events" "$(secs $pub_ms)" \
	"$events_rate" "" ""
echo "  $incidents incidents ($moderation in moderation), $grouped reports in them;" \
	"assigner resident $((rss / 1024)) MB (peak $((hwm / 1024)) MB)"
echo "  CPU meanwhile: assigner $cpu_a s, PostgreSQL $cpu_pg s" \
	"(load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores)"
[ -n "$JSON_OUT" ] || exit 0
printf '{"section":"assigner","input":{"reports":%s,"bytes":%s,"batch":%s},' "$N" "$bytes" \
	"$BATCH" >"$JSON_OUT"
printf '"results":{"stored_seconds":%s,"reports_per_second":%s,"ratio_to_pg_insert":%s,' \
	"$(secs $store_ms)" "$stored_rate" "$ratio" >>"$JSON_OUT"
printf '"events":%s,"published_seconds":%s,"events_per_second":%s,"incidents":%s,' \
	"$events" "$(secs $pub_ms)" "$events_rate" "$incidents" >>"$JSON_OUT"
printf '"moderation":%s,"grouped_reports":%s,"rss_kb":{"load":%s,"peak":%s},' "$moderation" \
	"$grouped" "$rss" "$hwm" >>"$JSON_OUT"
printf '"cpu_seconds":{"assigner":%s,"postgresql":%s}}}\n' "$cpu_a" "$cpu_pg" >>"$JSON_OUT"
