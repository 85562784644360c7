-- The notifier's own schema: one row per notification to send (an event, a channel, a
-- recipient), written before it is attempted, so that a replayed event finds its rows and a
-- crash finds what was in flight.
CREATE TABLE deliveries (
	id              bigserial PRIMARY KEY,
	idempotency_key text NOT NULL UNIQUE, -- event_id|channel|recipient
	event_id        text NOT NULL,
	event_type      text NOT NULL,
	incident_id     bigint NOT NULL,
	channel         text NOT NULL,        -- email, telegram, webhook, vk_reply, telegram_reply
	recipient       text NOT NULL,
	role            text NOT NULL,        -- authority, parent, previous, citizen
	payload         jsonb NOT NULL,       -- what to send, rendered when the event arrived
	occurred_at     timestamptz NOT NULL, -- the event's time: latency is measured from it
	status          text NOT NULL DEFAULT 'pending'
	                CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	lease_until     timestamptz,          -- while sending: another worker may take it after
	last_error      text,
	remote_id       text,                 -- what the remote gave back (message or comment id)
	link            text,                 -- where a published answer can be seen
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	sent_at         timestamptz
);

-- The worker's question: what is due (pending and its time has come, or sending with an
-- expired lease).
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
-- The operator's questions.
CREATE INDEX deliveries_incident ON deliveries (incident_id, id);
CREATE INDEX deliveries_status ON deliveries (status, id);
