-- The assigner's own schema: incidents (one problem someone is accountable for), the citizens'
-- reports grouped into them (and the non-incidents, kept for statistics), the audit trail of
-- every decision, and the outbox of incident_event.v1 records waiting for incidents.events.
-- Times are timestamptz; the region's working calendar is applied in C (workcal.h).

-- One incident. Its clock starts at the first assignment (assigned_at): a re-assignment or a
-- «not our responsibility» answer keeps it, so the deadlines stay where they were.
CREATE TABLE incidents (
	id                bigserial PRIMARY KEY,
	status            text NOT NULL
	                  CHECK (status IN ('moderation', 'assigned', 'responded', 'resolved', 'rejected')),
	topic             text NOT NULL,
	subtopic          text,
	municipality      text,             -- region pack id; NULL while unresolved
	urgency           text NOT NULL CHECK (urgency IN ('high', 'normal')),
	authority_id      text,             -- responsible now; NULL in moderation
	rule_id           text,             -- the routing rule (or fallback) that chose it
	moderation_reason text,             -- why it waits for a moderator ("low_confidence", ...)
	declined          text[] NOT NULL DEFAULT '{}', -- authorities that answered «not ours»
	summary           text NOT NULL,    -- the first report's text, shortened
	address           text,
	reports           integer NOT NULL DEFAULT 0,
	affected          integer NOT NULL DEFAULT 0, -- distinct authors among the reports
	opened_at         timestamptz NOT NULL,       -- the first report's posted_at
	last_report_at    timestamptz NOT NULL,       -- grouping window is counted from here
	assigned_at       timestamptz,                -- the clock's start
	first_answer_due  timestamptz,
	final_answer_due  timestamptz,
	reminder_at       timestamptz,                -- when the reminder is due (policy's share)
	reminder_sent_at  timestamptz,
	first_answered_at timestamptz,
	first_answer_ms   bigint,                     -- working ms from assigned_at to first answer
	final_answered_at timestamptz,
	resolved_at       timestamptz,
	overdue           boolean NOT NULL DEFAULT false,
	overdue_at        timestamptz,
	escalated         boolean NOT NULL DEFAULT false,
	escalated_to      text,                       -- the parent authority it was escalated to
	escalated_at      timestamptz,
	satisfied         boolean,                    -- the citizen's feedback; NULL: none yet
	feedback_comment  text,
	feedback_at       timestamptz,
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now()
);

-- The API's filters and the grouping lookup.
CREATE INDEX incidents_opened ON incidents (opened_at DESC, id DESC);
CREATE INDEX incidents_status ON incidents (status, opened_at DESC);
CREATE INDEX incidents_topic ON incidents (topic, municipality, opened_at DESC);
CREATE INDEX incidents_municipality ON incidents (municipality, opened_at DESC);
CREATE INDEX incidents_authority ON incidents (authority_id, status, opened_at DESC);
CREATE INDEX incidents_overdue ON incidents (opened_at DESC) WHERE overdue;
-- Open incidents a new report may join.
CREATE INDEX incidents_joinable ON incidents (topic, municipality, last_report_at)
	WHERE status IN ('moderation', 'assigned', 'responded');
-- The scheduler's work: unanswered incidents with a deadline.
CREATE INDEX incidents_due ON incidents (first_answer_due)
	WHERE status = 'assigned' AND first_answered_at IS NULL;
CREATE INDEX incidents_final_due ON incidents (final_answer_due)
	WHERE status IN ('assigned', 'responded') AND final_answered_at IS NULL;

-- One row per classified message (its latest revision). incident_id is NULL for the
-- non-incidents (statistics only) and is kept when a later revision changes the decision.
CREATE TABLE reports (
	message_id     text PRIMARY KEY,
	revision       integer NOT NULL,
	incident_id    bigint REFERENCES incidents (id),
	is_incident    boolean NOT NULL,
	topic          text NOT NULL,
	subtopic       text,
	municipality   text,
	urgency        text NOT NULL,
	incident_score double precision NOT NULL,
	source         text NOT NULL,
	external_id    text NOT NULL,
	url            text,
	thread         jsonb,          -- message.v1 thread: where to answer the citizen
	author_id      text,           -- personal data: for the affected count only
	text           text NOT NULL,
	address        text,
	posted_at      timestamptz NOT NULL,
	classified_at  timestamptz NOT NULL,
	classification jsonb NOT NULL, -- the classified.v1 "classification" object: the evidence
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX reports_incident ON reports (incident_id, posted_at);
CREATE INDEX reports_posted ON reports (posted_at);
CREATE INDEX reports_topic ON reports (topic, municipality, posted_at) WHERE is_incident;

-- Every step of every incident, with why: routing rule and classification evidence, the
-- operator's decision and comment, the scheduler's reminders, overdue marks and escalations.
CREATE TABLE audit (
	id          bigserial PRIMARY KEY,
	incident_id bigint NOT NULL REFERENCES incidents (id),
	at          timestamptz NOT NULL DEFAULT now(),
	actor       text NOT NULL,  -- "assigner", "scheduler", or the API's actor name
	action      text NOT NULL,  -- "opened", "joined", "assigned", "moderated", "respond", ...
	details     jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_incident ON audit (incident_id, id);

-- incident_event.v1 records waiting to be published (event_id "assigner:<id>"); a row is
-- marked only after Kafka acknowledged it.
CREATE TABLE outbox (
	id           bigserial PRIMARY KEY,
	incident_id  bigint NOT NULL REFERENCES incidents (id),
	type         text NOT NULL,
	event        jsonb NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	published    boolean NOT NULL DEFAULT false,
	published_at timestamptz
);

CREATE INDEX outbox_pending ON outbox (id) WHERE NOT published;
