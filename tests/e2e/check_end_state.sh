# The exact end-state check of the whole pipeline, written once and run after every scenario
# (sourced: needs stack.sh's DATABASE_URL, DEMO_PORT, E2E, port_of). check_end_state waits
# until the pipeline is quiet (or E2E_SETTLE seconds pass), then asserts, naming each
# difference:
#   collector   every expected message stored once, the explicit ids exactly ($E2E/expected.ids:
#               "source:external_id" lines) and the count of every source ($E2E/expected.counts:
#               "source count" lines), every one published to messages.raw;
#   classifier  exactly one decision per stored message, of its stored revision;
#   assigner    exactly one report per decision, agreeing on incident-or-not; every incident
#               message in exactly one incident, each incident's count of reports equal to its
#               rows, one "opened" audit row and one incident.created event per incident, every
#               incident assigned with an authority, a rule and deadlines (or in moderation with
#               a reason), every event published;
#   notifier    every event's delivery to the monitoring webhook (which subscribes to all)
#               planned once, every delivery sent (none pending, in flight or dead), and on the
#               far side, by idempotency key: the mailbox's Message-IDs are exactly the sent
#               e-mails', the webhook receiver's (event, URL) pairs exactly the sent webhooks',
#               Telegram and VK posts as many as sent; raw repeats (the same key received twice)
#               only when $E2E_REPEATS_ALLOWED says how many at most (a kill -9 of the notifier
#               mid-attempt may repeat that attempt: at-least-once to the outside world);
#   statistics  GET /v1/stats: overall incidents = the rows, and every municipality's and
#               topic's figure = its rows;
#   processes   every service instance not killed on purpose still running, no sanitizer
#               report in any log.
# Returns 0 when everything holds; prints every failed check and returns 1 otherwise.

CHECK_FAILS=0
check_fail() {
	say "CHECK FAILED: $*"
	CHECK_FAILS=$((CHECK_FAILS + 1))
}

# want NAME EXPECTED ACTUAL
want() { [ "$2" = "$3" ] || check_fail "$1: expected $2, got $3"; }

# want_empty NAME QUERY: the query must return no rows (it lists the offenders).
want_empty() {
	out=$(sql "$2" 2>&1)
	[ -z "$out" ] || check_fail "$1: $(echo "$out" | head -n 5 | tr '\n' ' ') ($(echo "$out" | wc -l) rows)"
}

published_json() { curl -fsS "http://127.0.0.1:$DEMO_PORT/control/published"; }

# One line summing up where the pipeline is; equal twice in a row (and complete) = quiet.
pipeline_progress() {
	sql "SELECT (SELECT count(*) FROM collector.messages) || ' ' ||
	            (SELECT count(*) FROM collector.messages WHERE published_revision < revision) || ' ' ||
	            (SELECT count(*) FROM classifier.classifications) || ' ' ||
	            (SELECT count(*) FROM assigner.reports) || ' ' ||
	            (SELECT count(*) FROM assigner.outbox WHERE NOT published) || ' ' ||
	            (SELECT count(*) FROM assigner.outbox) || ' ' ||
	            (SELECT count(*) FROM notifier.deliveries WHERE status IN ('pending', 'sending')) || ' ' ||
	            (SELECT count(DISTINCT event_id) FROM notifier.deliveries)" 2>/dev/null
}

wait_quiet() {
	expected=$(awk '{n += $2} END {print n + 0}' "$E2E/expected.counts")
	limit=$(($(date +%s) + ${E2E_SETTLE:-120}))
	last=""
	while [ "$(date +%s)" -lt "$limit" ]; do
		p=$(pipeline_progress)
		# shellcheck disable=SC2086
		set -- $p
		if [ $# -eq 8 ] && [ "$1" = "$expected" ] && [ "$2" = 0 ] && [ "$3" = "$1" ] &&
			[ "$4" = "$1" ] && [ "$5" = 0 ] && [ "$7" = 0 ] && [ "$8" = "$6" ] && [ "$p" = "$last" ]; then
			say "quiet: $p (messages, unpublished, decisions, reports, events unpublished, events, deliveries due, events delivered)"
			return 0
		fi
		last=$p
		sleep 1
	done
	say "not quiet after ${E2E_SETTLE:-120} s: $p (messages, unpublished, decisions, reports, events unpublished, events, deliveries due, events delivered)"
	return 1
}

check_end_state() {
	CHECK_FAILS=0
	wait_quiet
	# ---- collector
	sort "$E2E/expected.counts" >"$E2E/want.counts"
	sql "SELECT source || ' ' || count(*) FROM collector.messages GROUP BY source ORDER BY 1" >"$E2E/got.counts"
	sort -o "$E2E/got.counts" "$E2E/got.counts"
	cmp -s "$E2E/want.counts" "$E2E/got.counts" ||
		check_fail "messages by source: expected $(tr '\n' ' ' <"$E2E/want.counts"), got $(tr '\n' ' ' <"$E2E/got.counts")"
	sort -u "$E2E/expected.ids" >"$E2E/want.ids"
	sql "SELECT id FROM collector.messages WHERE source IN ($(cut -d: -f1 "$E2E/want.ids" | sort -u | sed "s/.*/'&'/" | paste -sd,))" | sort >"$E2E/got.ids"
	missing=$(comm -23 "$E2E/want.ids" "$E2E/got.ids" | wc -l)
	extra=$(comm -13 "$E2E/want.ids" "$E2E/got.ids" | wc -l)
	want "expected messages missing" 0 "$missing"
	want "unexpected messages stored" 0 "$extra"
	want_empty "stored but not published" "SELECT id FROM collector.messages WHERE published_revision < revision"
	# ---- classifier
	want_empty "messages without their decision" "SELECT m.id FROM collector.messages m
		LEFT JOIN classifier.classifications c ON c.message_id = m.id
		WHERE c.message_id IS NULL OR c.revision <> m.revision"
	want_empty "decisions of no message" "SELECT c.message_id FROM classifier.classifications c
		LEFT JOIN collector.messages m ON m.id = c.message_id WHERE m.id IS NULL"
	# ---- assigner
	want_empty "decisions without their report" "SELECT c.message_id FROM classifier.classifications c
		LEFT JOIN assigner.reports r ON r.message_id = c.message_id
		WHERE r.message_id IS NULL OR r.is_incident <> c.incident OR r.revision <> c.revision"
	want_empty "reports of no decision" "SELECT r.message_id FROM assigner.reports r
		LEFT JOIN classifier.classifications c ON c.message_id = r.message_id WHERE c.message_id IS NULL"
	want_empty "incident messages in no incident (or others in one)" "SELECT message_id FROM assigner.reports
		WHERE is_incident <> (incident_id IS NOT NULL)"
	want_empty "incidents whose reports count differs from their rows" "SELECT i.id, i.reports, count(r.message_id)
		FROM assigner.incidents i LEFT JOIN assigner.reports r ON r.incident_id = i.id
		GROUP BY i.id HAVING i.reports <> count(r.message_id) OR count(r.message_id) = 0"
	want_empty "incidents not opened exactly once (audit)" "SELECT i.id, count(a.id) FROM assigner.incidents i
		LEFT JOIN assigner.audit a ON a.incident_id = i.id AND a.action = 'opened'
		GROUP BY i.id HAVING count(a.id) <> 1"
	want_empty "incidents not created exactly once (events)" "SELECT i.id, count(o.id) FROM assigner.incidents i
		LEFT JOIN assigner.outbox o ON o.incident_id = i.id AND o.type = 'incident.created'
		GROUP BY i.id HAVING count(o.id) <> 1"
	want_empty "incidents neither assigned with deadlines nor in moderation with a reason" "SELECT id, status
		FROM assigner.incidents WHERE NOT (
		  (status = 'assigned' AND authority_id IS NOT NULL AND rule_id IS NOT NULL AND assigned_at IS NOT NULL
		   AND first_answer_due > assigned_at AND final_answer_due >= first_answer_due)
		  OR (status = 'moderation' AND moderation_reason IS NOT NULL AND authority_id IS NULL))"
	want_empty "assigned incidents without their incident.assigned event" "SELECT i.id FROM assigner.incidents i
		WHERE i.status = 'assigned' AND NOT EXISTS (SELECT 1 FROM assigner.outbox o
		  WHERE o.incident_id = i.id AND o.type = 'incident.assigned')"
	want_empty "events not published" "SELECT id FROM assigner.outbox WHERE NOT published"
	# ---- notifier
	monitoring="http://127.0.0.1:$DEMO_PORT/webhook/monitoring"
	want_empty "events not delivered once to the monitoring webhook" "SELECT o.event->>'event_id', count(d.id)
		FROM assigner.outbox o LEFT JOIN notifier.deliveries d
		  ON d.event_id = o.event->>'event_id' AND d.channel = 'webhook' AND d.recipient = '$monitoring'
		GROUP BY 1 HAVING count(d.id) <> 1"
	want_empty "deliveries of no event" "SELECT d.event_id FROM notifier.deliveries d
		WHERE NOT EXISTS (SELECT 1 FROM assigner.outbox o WHERE o.event->>'event_id' = d.event_id)"
	want_empty "deliveries not sent" "SELECT status, channel, count(*) FROM notifier.deliveries
		WHERE status <> 'sent' GROUP BY 1, 2"
	repeats=0
	# E-mail: Message-ID is the first 16 bytes of SHA-256 of the idempotency key (email.c).
	sql "SELECT encode(substr(sha256(convert_to(idempotency_key, 'UTF8')), 1, 16), 'hex')
		FROM notifier.deliveries WHERE channel = 'email' AND status = 'sent'" | sort >"$E2E/want.mail"
	cat "$E2E"/mail/new/* 2>/dev/null | sed -n 's/^Message-ID: <\([0-9a-f]*\)@.*/\1/p' | sort >"$E2E/got.mail.all"
	sort -u "$E2E/got.mail.all" >"$E2E/got.mail"
	cmp -s "$E2E/want.mail" "$E2E/got.mail" ||
		check_fail "mailbox: $(comm -23 "$E2E/want.mail" "$E2E/got.mail" | wc -l) sent e-mails not received, $(comm -13 "$E2E/want.mail" "$E2E/got.mail" | wc -l) received that are not sent"
	repeats=$((repeats + $(wc -l <"$E2E/got.mail.all") - $(wc -l <"$E2E/got.mail")))
	# Webhooks: the receiver lists every accepted call with its event and original URL.
	published_json >"$E2E/published.json" || check_fail "GET /control/published failed"
	jq -r '.published[] | select(.api == "webhook") | .event_id + "|" + .original_url' "$E2E/published.json" | sort >"$E2E/got.hooks.all"
	sort -u "$E2E/got.hooks.all" >"$E2E/got.hooks"
	sql "SELECT event_id || '|' || recipient FROM notifier.deliveries WHERE channel = 'webhook' AND status = 'sent'" | sort >"$E2E/want.hooks"
	cmp -s "$E2E/want.hooks" "$E2E/got.hooks" ||
		check_fail "webhooks: $(comm -23 "$E2E/want.hooks" "$E2E/got.hooks" | wc -l) sent not received, $(comm -13 "$E2E/want.hooks" "$E2E/got.hooks" | wc -l) received not sent"
	repeats=$((repeats + $(wc -l <"$E2E/got.hooks.all") - $(wc -l <"$E2E/got.hooks")))
	# Telegram and VK posts carry no key: their counts.
	for pair in "telegram telegram,telegram_reply" "vk vk_reply"; do
		api=${pair%% *} channels=$(echo "${pair#* }" | sed "s/[a-z_]*/'&'/g")
		got=$(jq "[.published[] | select(.api == \"$api\")] | length" "$E2E/published.json")
		sent=$(sql "SELECT count(*) FROM notifier.deliveries WHERE channel IN ($channels) AND status = 'sent'")
		[ "$got" -ge "$sent" ] || check_fail "$api: $sent sent, only $got received"
		repeats=$((repeats + got - sent))
	done
	[ "$repeats" -le "${E2E_REPEATS_ALLOWED:-0}" ] ||
		check_fail "$repeats notifications received more than once (at most ${E2E_REPEATS_ALLOWED:-0} allowed)"
	# ---- statistics
	# A pooled connection that PostgreSQL's restart broke answers 503 once (the API's "retry").
	stats_url="http://127.0.0.1:$(port_of "$(svc_any assigner)")/v1/stats?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"
	wait_for 10 curl -fsS -o "$E2E/stats.json" -H "Authorization: Bearer $VIEWER_TOKEN" "$stats_url" ||
		check_fail "GET /v1/stats failed"
	want "stats: overall incidents" "$(sql "SELECT count(*) FROM assigner.incidents WHERE status <> 'rejected'")" \
		"$(jq '.overall.incidents' "$E2E/stats.json")"
	for dim in municipality topic; do
		sql "SELECT coalesce($dim, 'null') || ' ' || count(*) FROM assigner.incidents
			WHERE status <> 'rejected' GROUP BY $dim" | sort >"$E2E/want.stats.$dim"
		jq -r ".by_${dim}[] | (.$dim // \"null\" | tostring) + \" \" + (.incidents | tostring)" "$E2E/stats.json" | sort >"$E2E/got.stats.$dim"
		cmp -s "$E2E/want.stats.$dim" "$E2E/got.stats.$dim" ||
			check_fail "stats by $dim differ from the rows: $(diff "$E2E/want.stats.$dim" "$E2E/got.stats.$dim" | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
	done
	# ---- the processes: none died unasked, no sanitizer report
	for f in "$E2E"/pids/*.[0-9]; do
		i=${f##*/}
		[ -e "$f.dead" ] || svc_alive "$i" || check_fail "$i exited on its own: $(tail -n 2 "$E2E/log/$i.log")"
	done
	bad=$(grep -l 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$E2E"/log/*.log 2>/dev/null || true)
	[ -z "$bad" ] || check_fail "sanitizer reports in $bad"
	say "end state: $(sql "SELECT (SELECT count(*) FROM collector.messages) || ' messages, ' ||
		(SELECT count(*) FROM assigner.reports WHERE is_incident) || ' incident reports in ' ||
		(SELECT count(*) FROM assigner.incidents) || ' incidents (' ||
		(SELECT count(*) FROM assigner.incidents WHERE status = 'moderation') || ' in moderation), ' ||
		(SELECT count(*) FROM assigner.outbox) || ' events, ' ||
		(SELECT count(*) FROM notifier.deliveries) || ' deliveries'"), $repeats repeats received, $CHECK_FAILS failed checks"
	[ "$CHECK_FAILS" -eq 0 ]
}
