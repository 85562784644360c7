-- Indexes for the batched intake and for a scheduler that stays cheap with 100k open incidents.

-- The intake's candidates of a (topic, municipality) key, latest first: one index range per
-- key, NULL municipalities (unresolved, in moderation) included.
CREATE INDEX incidents_candidates ON incidents
	(topic, coalesce(municipality, ''), last_report_at DESC, id DESC)
	WHERE status IN ('moderation', 'assigned', 'responded');
DROP INDEX incidents_joinable;

-- The scheduler's reminders due: only the rows still waiting for one (without it, a seq scan
-- of every incident each round; overdue marks already have incidents_due and
-- incidents_final_due).
CREATE INDEX incidents_reminder_due ON incidents (reminder_at)
	WHERE status = 'assigned' AND first_answered_at IS NULL AND reminder_sent_at IS NULL
	AND NOT overdue;
